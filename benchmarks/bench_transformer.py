"""Benchmark: one training step of a Transformer encoder layer, microgradnn against PyTorch.

``TransformerEncoderLayer(128, 4, dim_feedforward=512, dropout=0, batch_first=True)``, batch 16,
sequence 64, mean-square loss against a fixed target, float32, SGD; a step is zero_grad,
forward, loss, backward and the update. BLAS and PyTorch run on one thread; the table gives
medians of interleaved rounds and the ratio to the first row (PyTorch, when installed). The issue's target:
within 1.5x of PyTorch. Run ``python benchmarks/bench_transformer.py`` (``--quick`` for fewer
rounds).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from collections.abc import Callable
from contextlib import nullcontext

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from run import table, threadpool_limits, torch  # noqa: E402

import microgradnn as mg  # noqa: E402
from microgradnn import nn, optim  # noqa: E402

D_MODEL, HEADS, FF, BATCH, SEQ = 128, 4, 512, 16, 64


def data(dtype: type = np.float32) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return (
        rng.standard_normal((BATCH, SEQ, D_MODEL)).astype(dtype),
        rng.standard_normal((BATCH, SEQ, D_MODEL)).astype(dtype),
    )


def microgradnn_step() -> Callable[[int], None]:
    layer = nn.TransformerEncoderLayer(
        D_MODEL,
        HEADS,
        dim_feedforward=FF,
        dropout=0.0,
        batch_first=True,
        dtype=np.float32,
        rng=np.random.default_rng(0),
    )
    opt = optim.SGD(layer.parameters(), lr=0.01)
    loss_fn = nn.MSELoss()
    x, y = (mg.Tensor(a) for a in data())

    def run(steps: int) -> None:
        for _ in range(steps):
            opt.zero_grad()
            loss = loss_fn(layer(x), y)
            loss.backward()
            opt.step()

    return run


def torch_step() -> Callable[[int], None]:
    torch.manual_seed(0)
    layer = torch.nn.TransformerEncoderLayer(D_MODEL, HEADS, dim_feedforward=FF, dropout=0.0, batch_first=True)
    opt = torch.optim.SGD(layer.parameters(), lr=0.01)
    loss_fn = torch.nn.MSELoss()
    x, y = (torch.from_numpy(a) for a in data())

    def run(steps: int) -> None:
        for _ in range(steps):
            opt.zero_grad()
            loss = loss_fn(layer(x), y)
            loss.backward()
            opt.step()

    return run


def rows(steps: int, rounds: int) -> list[str]:
    """The benchmark's table rows: PyTorch first when installed (the ratios are against it), then microgradnn."""
    built = {"PyTorch (CPU)": torch_step()} if torch is not None else {}
    built["microgradnn"] = microgradnn_step()
    runs = {name: (lambda r=r: r(steps)) for name, r in built.items()}
    for run in runs.values():  # warm up: first-call costs out of the timing
        run()
    title = (
        f"TransformerEncoderLayer({D_MODEL}, {HEADS}, dim_feedforward={FF}), batch {BATCH}, sequence {SEQ}, "
        "MSE, SGD, float32"
    )
    return table(title, runs, rounds, steps, "step")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="interleaved rounds; the median is reported")
    parser.add_argument("--steps", type=int, default=5, help="training steps per round")
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    args = parser.parse_args()
    rounds = 3 if args.quick else args.rounds
    limits = threadpool_limits(limits=1, user_api="blas") if threadpool_limits else nullcontext()
    if torch is not None:
        torch.set_num_threads(1)
    with limits:
        lines = rows(args.steps, rounds)
    print(
        f"Machine: {platform.machine()}, {os.cpu_count()} cores; NumPy {np.__version__}, microgradnn {mg.__version__}"
        + (f", PyTorch {torch.__version__}" if torch is not None else ", PyTorch not installed")
    )
    print("| benchmark | implementation | time per run | per unit | ratio |")
    print("|---|---|---|---|---|")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
