"""Benchmark: an LSTM training step, microgradnn against PyTorch and a hand-written NumPy LSTM.

The model is ``LSTM(64, 128)`` on sequences of 32 steps, batch 32, with a 128 → 10 Linear head
on the last step's output and cross-entropy, in float32; a step is zero_grad, forward, loss,
backward and an SGD update. Run ``python benchmarks/bench_lstm.py`` (``--quick`` for a short
run). BLAS and PyTorch run on one thread; the implementations are timed in turn, round by round,
in this one process (``interleaved_medians`` of benchmarks/run.py), and each row gives the
median and its ratio to the first row, microgradnn.

This measures; it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from contextlib import nullcontext

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import table, threadpool_limits, torch  # noqa: E402

import microgradnn as mg  # noqa: E402
from microgradnn import nn, optim  # noqa: E402

INPUT, HIDDEN, STEPS, BATCH, CLASSES = 64, 128, 32, 32, 10
LR = 0.01


def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.standard_normal((STEPS, BATCH, INPUT)).astype(np.float32), rng.integers(0, CLASSES, BATCH)


def lstm_microgradnn() -> Callable[[int], None]:
    x, y = data()
    rng = np.random.default_rng(0)
    lstm = nn.LSTM(INPUT, HIDDEN, dtype=np.float32, rng=rng)
    head = nn.Linear(HIDDEN, CLASSES, dtype=np.float32, rng=rng)
    params = list(lstm.parameters()) + list(head.parameters())
    opt = optim.SGD(params, lr=LR)
    loss_fn = nn.CrossEntropyLoss()
    xt = mg.Tensor(x)

    def run(steps: int) -> None:
        for _ in range(steps):
            opt.zero_grad()
            output, _ = lstm(xt)
            loss = loss_fn(head(output[-1]), y)
            loss.backward()
            opt.step()

    return run


def lstm_torch() -> Callable[[int], None]:
    x, y = data()
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(INPUT, HIDDEN)
    head = torch.nn.Linear(HIDDEN, CLASSES)
    opt = torch.optim.SGD(list(lstm.parameters()) + list(head.parameters()), lr=LR)
    loss_fn = torch.nn.CrossEntropyLoss()
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def run(steps: int) -> None:
        for _ in range(steps):
            opt.zero_grad()
            output, _ = lstm(xt)
            loss = loss_fn(head(output[-1]), yt)
            loss.backward()
            opt.step()

    return run


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-z))


def lstm_numpy() -> Callable[[int], None]:
    """The same step written out by hand: forward with the gates saved, BPTT, SGD."""
    x, y = data()
    rng = np.random.default_rng(0)
    bound = np.float32(1 / np.sqrt(HIDDEN))

    def uniform(*shape: int) -> np.ndarray:
        return rng.uniform(-bound, bound, shape).astype(np.float32)

    w_ih, w_hh, b = uniform(4 * HIDDEN, INPUT), uniform(4 * HIDDEN, HIDDEN), uniform(4 * HIDDEN)
    w_out, b_out = uniform(CLASSES, HIDDEN), uniform(CLASSES)
    H = HIDDEN

    def run(steps: int) -> None:
        nonlocal w_ih, w_hh, b, w_out, b_out
        for _ in range(steps):
            z = (x.reshape(-1, INPUT) @ w_ih.T + b).reshape(STEPS, BATCH, 4 * H)
            h = np.zeros((BATCH, H), np.float32)
            c = np.zeros((BATCH, H), np.float32)
            hs, cs, gates = [h], [c], []
            for t in range(STEPS):
                a = z[t] + h @ w_hh.T
                i, f, g, o = (
                    _sigmoid(a[:, :H]),
                    _sigmoid(a[:, H : 2 * H]),
                    np.tanh(a[:, 2 * H : 3 * H]),
                    _sigmoid(a[:, 3 * H :]),
                )
                c = f * c + i * g
                h = o * np.tanh(c)
                hs.append(h)
                cs.append(c)
                gates.append((i, f, g, o))
            logits = h @ w_out.T + b_out
            p = np.exp(logits - logits.max(axis=1, keepdims=True))
            p /= p.sum(axis=1, keepdims=True)
            p[np.arange(BATCH), y] -= 1
            dlogits = p / BATCH
            dw_out, db_out = dlogits.T @ h, dlogits.sum(axis=0)
            dh = dlogits @ w_out
            dc = np.zeros_like(dh)
            dz = np.empty_like(z)
            for t in range(STEPS - 1, -1, -1):
                i, f, g, o = gates[t]
                tc = np.tanh(cs[t + 1])
                dc = dc + dh * o * (1 - tc * tc)
                dz[t] = np.concatenate(
                    [dc * g * i * (1 - i), dc * cs[t] * f * (1 - f), dc * i * (1 - g * g), dh * tc * o * (1 - o)],
                    axis=1,
                )
                dc = dc * f
                dh = dz[t] @ w_hh
            flat = dz.reshape(-1, 4 * H)
            dw_ih = flat.T @ x.reshape(-1, INPUT)
            dw_hh = flat.T @ np.stack(hs[:-1]).reshape(-1, H)
            db = flat.sum(axis=0)
            w_ih = w_ih - LR * dw_ih
            w_hh = w_hh - LR * dw_hh
            b = b - LR * db
            w_out = w_out - LR * dw_out
            b_out = b_out - LR * db_out

    return run


def rows(steps: int, rounds: int) -> list[str]:
    """The benchmark table's rows: PyTorch first when installed (the issue's target is a ratio
    to it), then microgradnn and the hand-written NumPy step."""
    built = {"PyTorch (CPU)": lstm_torch()} if torch is not None else {}
    built["microgradnn"] = lstm_microgradnn()
    built["hand-written NumPy"] = lstm_numpy()
    runs = {name: (lambda r=r: r(steps)) for name, r in built.items()}
    for run in runs.values():  # warm up: first-call costs out of the timing
        run()
    title = f"LSTM({INPUT}, {HIDDEN}), sequence {STEPS}, batch {BATCH}, 128→10 head, cross-entropy, SGD, float32"
    return table(title, runs, rounds, steps, "step")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10, help="training steps per run (default 10)")
    parser.add_argument("--rounds", type=int, default=15, help="interleaved rounds; the median is reported")
    parser.add_argument("--quick", action="store_true", help="fewer steps and rounds")
    args = parser.parse_args()
    steps, rounds = (3, 3) if args.quick else (args.steps, args.rounds)
    limits = threadpool_limits(limits=1, user_api="blas") if threadpool_limits else nullcontext()
    if torch is not None:
        torch.set_num_threads(1)
    with limits:
        lines = rows(steps, rounds)
    print(f"BLAS threads: {'1 (threadpoolctl)' if threadpool_limits else 'not pinned'}; medians of {rounds} rounds")
    print("| benchmark | implementation | time per run | per unit | ratio |")
    print("|---|---|---|---|---|")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
