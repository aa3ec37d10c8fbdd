"""Benchmarks: microgradnn against hand-written NumPy (and PyTorch, when installed).

Run ``python benchmarks/run.py`` (``--quick`` for a short run). Every implementation runs in
this one process, interleaved round by round, so a busy neighbour slows all of them alike; the
table gives the median of the rounds and its ratio to hand-written NumPy. BLAS is pinned to one
thread when threadpoolctl is installed (``pip install "microgradnn[bench]"``).

This measures; it asserts nothing. Timed assertions do not belong in tests on shared machines.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from contextlib import nullcontext
from typing import Callable

import numpy as np

import microgradnn as mg

try:  # optional: a reference, never a requirement
    import torch
except ImportError:  # pragma: no cover - depends on the machine
    torch = None

try:
    from threadpoolctl import threadpool_limits
except ImportError:  # pragma: no cover
    threadpool_limits = None

NEURON_X = np.array([[0, 0, 1], [1, 1, 1], [1, 0, 1], [0, 1, 1]], dtype=float)
TRASK_X = np.array([[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]], dtype=float)
Y = np.array([[0.0, 1.0, 1.0, 0.0]]).T


def start_weights(*shapes: tuple[int, int]) -> list[np.ndarray]:
    """The tutorials' start: np.random.seed(1), then 2 * random - 1 per matrix."""
    np.random.seed(1)
    return [2 * np.random.random(shape) - 1 for shape in shapes]


# ---------------------------------------------------------------- tutorial 1
def neuron_numpy(steps: int) -> np.ndarray:
    (w,) = start_weights((3, 1))
    x, y = NEURON_X, Y
    for _ in range(steps):
        out = 1 / (1 + np.exp(-(x @ w)))
        w += x.T @ ((y - out) * out * (1 - out))
    return w


def neuron_microgradnn(steps: int) -> np.ndarray:
    (w0,) = start_weights((3, 1))
    w = mg.Tensor(w0, requires_grad=True)
    x, y = mg.Tensor(NEURON_X), mg.Tensor(Y)
    for _ in range(steps):
        out = (x @ w).sigmoid()
        loss = 0.5 * ((y - out) ** 2).sum()
        w.grad = None
        loss.backward()
        w.data -= 1.0 * w.grad
    return w.data


def neuron_torch(steps: int) -> np.ndarray:
    (w0,) = start_weights((3, 1))
    w = torch.tensor(w0, requires_grad=True)
    x, y = torch.tensor(NEURON_X), torch.tensor(Y)
    for _ in range(steps):
        out = torch.sigmoid(x @ w)
        loss = 0.5 * ((y - out) ** 2).sum()
        w.grad = None
        loss.backward()
        with torch.no_grad():
            w -= 1.0 * w.grad
    return w.detach().numpy()


# ---------------------------------------------------------------- tutorial 2
def two_layer_numpy(steps: int, hidden: int = 4) -> np.ndarray:
    syn0, syn1 = start_weights((3, hidden), (hidden, 1))
    x, y = TRASK_X, Y
    for _ in range(steps):
        l1 = 1 / (1 + np.exp(-(x @ syn0)))
        l2 = 1 / (1 + np.exp(-(l1 @ syn1)))
        l2_delta = (y - l2) * l2 * (1 - l2)
        l1_delta = l2_delta @ syn1.T * l1 * (1 - l1)
        syn1 += l1.T @ l2_delta
        syn0 += x.T @ l1_delta
    return syn1


def two_layer_microgradnn(steps: int, hidden: int = 4) -> np.ndarray:
    s0, s1 = start_weights((3, hidden), (hidden, 1))
    syn0, syn1 = mg.Tensor(s0, requires_grad=True), mg.Tensor(s1, requires_grad=True)
    x, y = mg.Tensor(TRASK_X), mg.Tensor(Y)
    for _ in range(steps):
        l2 = ((x @ syn0).sigmoid() @ syn1).sigmoid()
        loss = 0.5 * ((y - l2) ** 2).sum()
        syn0.grad = syn1.grad = None
        loss.backward()
        syn0.data -= syn0.grad
        syn1.data -= syn1.grad
    return syn1.data


def two_layer_torch(steps: int, hidden: int = 4) -> np.ndarray:
    s0, s1 = start_weights((3, hidden), (hidden, 1))
    syn0, syn1 = torch.tensor(s0, requires_grad=True), torch.tensor(s1, requires_grad=True)
    x, y = torch.tensor(TRASK_X), torch.tensor(Y)
    for _ in range(steps):
        l2 = torch.sigmoid(torch.sigmoid(x @ syn0) @ syn1)
        loss = 0.5 * ((y - l2) ** 2).sum()
        syn0.grad = syn1.grad = None
        loss.backward()
        with torch.no_grad():
            syn0 -= syn0.grad
            syn1 -= syn1.grad
    return syn1.detach().numpy()


# ---------------------------------------------------------------- harness
def interleaved_medians(runs: dict[str, Callable[[], object]], rounds: int) -> dict[str, float]:
    """Median seconds of each run, timing them in turn, ``rounds`` times over."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(ts) for name, ts in times.items()}


def benchmark(title: str, steps: int, rounds: int, numpy_fn: Callable, mg_fn: Callable, torch_fn: Callable) -> list[str]:
    runs = {"hand-written NumPy": lambda: numpy_fn(steps), "microgradnn": lambda: mg_fn(steps)}
    if torch is not None:
        runs["PyTorch (CPU)"] = lambda: torch_fn(steps)
    medians = interleaved_medians(runs, rounds)
    base = medians["hand-written NumPy"]
    return [
        f"| {title} | {name} | {seconds * 1e3:.1f} ms | {seconds / steps * 1e6:.1f} µs | {seconds / base:.2f}× |"
        for name, seconds in medians.items()
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10_000, help="training steps per run (default 10000)")
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds; the median is reported (default 7)")
    parser.add_argument("--quick", action="store_true", help="1,000 steps, 3 rounds")
    args = parser.parse_args()
    steps, rounds = (1_000, 3) if args.quick else (args.steps, args.rounds)

    limits = threadpool_limits(limits=1, user_api="blas") if threadpool_limits else nullcontext()
    if torch is not None:
        torch.set_num_threads(1)
    with limits:
        rows = benchmark(f"tutorial 1: 3→1 neuron, {steps:,} steps", steps, rounds, neuron_numpy, neuron_microgradnn, neuron_torch)
        rows += benchmark(f"tutorial 2: 3→4→1 network, {steps:,} steps", steps, rounds, two_layer_numpy, two_layer_microgradnn, two_layer_torch)

    print(f"Machine: {platform.machine()}, {platform.processor() or platform.system()}; "
          f"Python {platform.python_version()}, NumPy {np.__version__}, microgradnn {mg.__version__}"
          + (f", PyTorch {torch.__version__}" if torch is not None else ", PyTorch not installed"))
    print(f"BLAS threads: {'1 (threadpoolctl)' if threadpool_limits else 'not pinned (threadpoolctl not installed)'}; "
          f"median of {rounds} interleaved rounds\n")
    print("| benchmark | implementation | time per run | per step | vs NumPy |")
    print("|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
