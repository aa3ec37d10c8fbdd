"""Benchmarks: microgradnn against hand-written NumPy (and PyTorch, when installed).

Run ``python benchmarks/run.py`` (``--quick`` for a short run, ``--only NAME`` for one
section). Every implementation runs in this one process, interleaved round by round, so a busy
neighbour slows all of them alike; each table gives the median of the rounds and its ratio to
hand-written NumPy. BLAS is pinned to one thread when threadpoolctl is installed
(``pip install "microgradnn[bench]"``).

Sections: the two tutorials' training loops (with the "floor": the NumPy calls that an eager
framework makes, timed without the framework), an MLP 784-256-10 training step in float32 and
float64, the overhead of one small expression, a chain of 100,000 operations, the memory
of a 10,000-step training loop, and training steps of the layers of real models (LeNet, an
LSTM and a Transformer encoder layer, in bench_lenet.py, bench_lstm.py and
bench_transformer.py, each against hand-written NumPy or PyTorch), and a sweep of the tutorial
network serially, on joblib and on Dask (bench_sweep.py). Rows named "mg.compile" replay a
recorded step (microgradnn/jit); their recordings are the first calls of each run (timed
apart in the notes), and jax.jit's rows appear when jax is installed.

This measures; it asserts nothing. Timed assertions do not belong in tests on shared machines.
"""

from __future__ import annotations

import argparse
import functools
import os
import platform
import statistics
import time
import tracemalloc
from collections.abc import Callable
from contextlib import nullcontext
from typing import Any

import numpy as np

import microgradnn as mg
from microgradnn import nn, optim

try:  # optional: a reference, never a requirement
    import torch
except ImportError:  # pragma: no cover - depends on the machine
    torch = None

try:
    from threadpoolctl import threadpool_limits
except ImportError:  # pragma: no cover
    threadpool_limits = None

try:  # optional: jax.jit, the reference for compiled steps
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)  # the tutorials compute in float64
except ImportError:  # pragma: no cover - depends on the machine
    jax = jnp = None

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


def neuron_floor(steps: int) -> np.ndarray:
    """The NumPy calls microgradnn makes for tutorial 1, with no framework around them."""
    (w,) = start_weights((3, 1))
    x, y = NEURON_X, Y
    one = np.array(1.0)
    for _ in range(steps):
        z = np.dot(x, w)
        t = np.negative(z)  # sigmoid, as the library computes it
        np.exp(t, out=t)
        t += one
        out = np.reciprocal(t, out=t)
        diff = y - out
        loss = 0.5 * np.add.reduce(diff**2, axis=None)  # noqa: F841 - forward only
        g = np.float64(1.0) * 0.5  # backward, op by op
        g_sq = np.empty(diff.shape)
        g_sq[...] = g
        g_diff = g_sq * (diff + diff)
        g_out = -g_diff
        g_z = g_out * out * (1 - out)
        grad = np.array(np.dot(x.T, g_z), dtype=w.dtype)
        w -= 1.0 * grad
    return w


class _Node:
    """A value in the minimal closure engine below: data, grad, parents, backward closure."""

    __slots__ = ("data", "grad", "parents", "backward")

    def __init__(self, data: Any, parents: tuple = (), backward: Any = None) -> None:
        self.data, self.grad, self.parents, self.backward = data, None, parents, backward


def neuron_minimal_engine(steps: int) -> np.ndarray:
    """A reference, not the library: the least an eager engine must do per op in Python
    (micrograd's closures, an iterative topological sort), with no broadcasting, dtype,
    version or error handling. How close any per-op Python engine can get."""
    (w0,) = start_weights((3, 1))
    w, x, y = _Node(w0), _Node(NEURON_X), Y

    def op(data: Any, parents: tuple, backward: Any) -> _Node:
        return _Node(data, parents, backward)

    def run_backward(root: _Node) -> None:
        order, seen, stack = [], set(), [(root, False)]
        while stack:
            node, done = stack.pop()
            if done:
                order.append(node)
            elif id(node) not in seen:
                seen.add(id(node))
                stack.append((node, True))
                stack.extend((p, False) for p in node.parents)
        root.grad = np.float64(1.0)
        for node in reversed(order):
            if node.backward is not None:
                node.backward(node.grad)

    for _ in range(steps):
        z = op(x.data @ w.data, (x, w), None)
        z.backward = lambda g, z=z: setattr(w, "grad", x.data.T @ g)
        s = 1 / (1 + np.exp(-z.data))
        out = op(s, (z,), None)
        out.backward = lambda g, s=s, z=z: setattr(z, "grad", g * s * (1 - s))
        diff = op(y - out.data, (out,), None)
        diff.backward = lambda g, out=out: setattr(out, "grad", -g)
        sq = op(diff.data * diff.data, (diff,), None)
        sq.backward = lambda g, diff=diff: setattr(diff, "grad", g * (diff.data + diff.data))
        total = op(sq.data.sum(), (sq,), None)
        total.backward = lambda g, sq=sq: setattr(sq, "grad", np.full(sq.data.shape, g))
        loss = op(0.5 * total.data, (total,), lambda g, total=total: setattr(total, "grad", g * 0.5))
        w.grad = None
        run_backward(loss)
        w.data -= 1.0 * w.grad
    return w.data


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


def neuron_compiled(returns: bool = False) -> Callable[[int], np.ndarray]:
    """Tutorial 1's step under mg.compile (SGD with lr 1 is the tutorial's update), recorded
    here (its first two calls), so that the returned ``run(steps)`` times replays only. With
    ``returns`` the step returns its loss (which the replay then computes)."""
    (w0,) = start_weights((3, 1))
    w = mg.Tensor(w0, requires_grad=True)
    x, y = mg.Tensor(NEURON_X), mg.Tensor(Y)
    opt = optim.SGD([w], lr=1.0)

    @mg.compile
    def step() -> mg.Tensor | None:
        out = (x @ w).sigmoid()
        loss = 0.5 * ((y - out) ** 2).sum()
        w.grad = None
        loss.backward()
        opt.step()
        return loss if returns else None

    def run(steps: int) -> np.ndarray:
        for _ in range(steps):
            step()
        return w.data

    run(2)  # the recordings: no gradient yet, then one
    return run


def neuron_jax() -> Callable[[int], np.ndarray]:
    """Tutorial 1's step as a jax.jit-compiled function (when jax is installed), compiled here."""
    (w0,) = start_weights((3, 1))
    x, y = jnp.asarray(NEURON_X), jnp.asarray(Y)

    def loss(w: Any) -> Any:
        out = jax.nn.sigmoid(x @ w)
        return 0.5 * jnp.sum((y - out) ** 2)

    step = jax.jit(lambda w: w - jax.grad(loss)(w))
    state = [jnp.asarray(w0)]

    def run(steps: int) -> np.ndarray:
        w = state[0]
        for _ in range(steps):
            w = step(w)
        state[0] = w
        return np.asarray(w.block_until_ready())

    run(1)
    return run


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


def two_layer_floor(steps: int, hidden: int = 4) -> np.ndarray:
    """The NumPy calls microgradnn makes for tutorial 2, with no framework around them."""
    syn0, syn1 = start_weights((3, hidden), (hidden, 1))
    x, y = TRASK_X, Y
    one = np.array(1.0)

    def sigmoid(z: np.ndarray) -> np.ndarray:
        t = np.negative(z)
        np.exp(t, out=t)
        t += one
        return np.reciprocal(t, out=t)

    for _ in range(steps):
        l1 = sigmoid(np.dot(x, syn0))
        l2 = sigmoid(np.dot(l1, syn1))
        diff = y - l2
        loss = 0.5 * np.add.reduce(diff**2, axis=None)  # noqa: F841
        g_sq = np.empty(diff.shape)
        g_sq[...] = np.float64(1.0) * 0.5
        g_l2 = -(g_sq * (diff + diff))
        g_z2 = g_l2 * l2 * (1 - l2)
        g_syn1 = np.array(np.dot(l1.T, g_z2))
        g_l1 = np.dot(g_z2, syn1.T)
        g_z1 = g_l1 * l1 * (1 - l1)
        g_syn0 = np.array(np.dot(x.T, g_z1))
        syn0 -= g_syn0
        syn1 -= g_syn1
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


def two_layer_compiled(returns: bool = False, hidden: int = 4) -> Callable[[int], np.ndarray]:
    """Tutorial 2's step under mg.compile, recorded here (see neuron_compiled)."""
    s0, s1 = start_weights((3, hidden), (hidden, 1))
    syn0, syn1 = mg.Tensor(s0, requires_grad=True), mg.Tensor(s1, requires_grad=True)
    x, y = mg.Tensor(TRASK_X), mg.Tensor(Y)
    opt = optim.SGD([syn0, syn1], lr=1.0)

    @mg.compile
    def step() -> mg.Tensor | None:
        l2 = ((x @ syn0).sigmoid() @ syn1).sigmoid()
        loss = 0.5 * ((y - l2) ** 2).sum()
        syn0.grad = syn1.grad = None
        loss.backward()
        opt.step()
        return loss if returns else None

    def run(steps: int) -> np.ndarray:
        for _ in range(steps):
            step()
        return syn1.data

    run(2)
    return run


def two_layer_jax(hidden: int = 4) -> Callable[[int], np.ndarray]:
    """Tutorial 2's step as a jax.jit-compiled function (when jax is installed), compiled here."""
    s0, s1 = start_weights((3, hidden), (hidden, 1))
    x, y = jnp.asarray(TRASK_X), jnp.asarray(Y)

    def loss(params: Any) -> Any:
        syn0, syn1 = params
        l2 = jax.nn.sigmoid(jax.nn.sigmoid(x @ syn0) @ syn1)
        return 0.5 * jnp.sum((y - l2) ** 2)

    step = jax.jit(lambda params: jax.tree_util.tree_map(lambda p, g: p - g, params, jax.grad(loss)(params)))
    state = [(jnp.asarray(s0), jnp.asarray(s1))]

    def run(steps: int) -> np.ndarray:
        params = state[0]
        for _ in range(steps):
            params = step(params)
        state[0] = params
        return np.asarray(params[1].block_until_ready())

    run(1)
    return run


def recording_times() -> list[str]:
    """How long mg.compile's recordings take: the first two calls of each tutorial step (the
    first finds no gradient yet, the second one, so each records), timed apart from the rows."""
    notes = []
    for name, build in (("tutorial 1", neuron_compiled), ("tutorial 2", two_layer_compiled)):
        times = []
        for _ in range(5):
            start = time.perf_counter()
            build()
            times.append(time.perf_counter() - start)
        milliseconds = statistics.median(times) * 1e3
        notes.append(f"- mg.compile, {name}: recording (the first 2 calls, not in the rows) {milliseconds:.2f} ms")
    return notes


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


# ---------------------------------------------------------------- MLP 784-256-10
def mlp_data(dtype: type, batch: int = 128) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.standard_normal((batch, 784)).astype(dtype), rng.integers(0, 10, batch)


def mlp_numpy(dtype: type) -> Callable[[int], None]:
    """A hand-written forward and backward of the MLP with cross-entropy, and an SGD step."""
    x, y = mlp_data(dtype)
    rng = np.random.default_rng(1)
    w1 = rng.uniform(-1 / 28, 1 / 28, (784, 256)).astype(dtype)
    b1 = np.zeros(256, dtype)
    w2 = rng.uniform(-1 / 16, 1 / 16, (256, 10)).astype(dtype)
    b2 = np.zeros(10, dtype)
    onehot = np.eye(10, dtype=dtype)[y]
    n, lr = len(x), dtype(0.01)

    def run(steps: int) -> None:
        for _ in range(steps):
            h = x @ w1 + b1
            a = np.maximum(h, 0)
            logits = a @ w2 + b2
            shifted = logits - logits.max(axis=1, keepdims=True)
            e = np.exp(shifted)
            p = e / e.sum(axis=1, keepdims=True)
            d = (p - onehot) / n
            g_w2, g_b2 = a.T @ d, d.sum(axis=0)
            da = (d @ w2.T) * (h > 0)
            g_w1, g_b1 = x.T @ da, da.sum(axis=0)
            for param, grad in ((w1, g_w1), (b1, g_b1), (w2, g_w2), (b2, g_b2)):
                param -= lr * grad

    return run


def mlp_microgradnn(dtype: type) -> Callable[[int], None]:
    x, y = mlp_data(dtype)
    model = nn.MLP(784, 256, 10, activation=nn.ReLU, dtype=dtype, rng=np.random.default_rng(1))
    opt = optim.SGD(model.parameters(), lr=0.01)
    loss_fn = nn.CrossEntropyLoss()
    xt = mg.Tensor(x)

    def run(steps: int) -> None:
        for _ in range(steps):
            loss = loss_fn(model(xt), y)
            opt.zero_grad()
            loss.backward()
            opt.step()

    return run


def mlp_compiled(dtype: type) -> Callable[[int], None]:
    """The MLP step under mg.compile (the same step as mlp_microgradnn's)."""
    x, y = mlp_data(dtype)
    model = nn.MLP(784, 256, 10, activation=nn.ReLU, dtype=dtype, rng=np.random.default_rng(1))
    opt = optim.SGD(model.parameters(), lr=0.01)
    loss_fn = nn.CrossEntropyLoss()
    xt = mg.Tensor(x)

    @mg.compile
    def step(xb: mg.Tensor, yb: np.ndarray) -> None:
        loss = loss_fn(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()

    def run(steps: int) -> None:
        for _ in range(steps):
            step(xt, y)

    return run


def mlp_torch(dtype: type) -> Callable[[int], None]:
    x, y = mlp_data(dtype)
    torch.manual_seed(1)
    model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10)).to(
        torch.float32 if dtype == np.float32 else torch.float64
    )
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    loss_fn = torch.nn.CrossEntropyLoss()
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def run(steps: int) -> None:
        for _ in range(steps):
            loss = loss_fn(model(xt), yt)
            opt.zero_grad()
            loss.backward()
            opt.step()

    return run


# ---------------------------------------------------------------- one small expression
def small_numpy() -> Callable[[int], None]:
    """(a * b + c).sum() and its hand-written backward, on 4x4 arrays."""
    rng = np.random.default_rng(0)
    a, b, c = (rng.standard_normal((4, 4)) for _ in range(3))

    def run(steps: int) -> None:
        for _ in range(steps):
            out = (a * b + c).sum()  # noqa: F841
            g = np.ones((4, 4))
            grad_a, grad_b, grad_c = g * b, g * a, g.copy()  # noqa: F841

    return run


def small_microgradnn() -> Callable[[int], None]:
    rng = np.random.default_rng(0)
    a, b, c = (mg.Tensor(rng.standard_normal((4, 4)), requires_grad=True) for _ in range(3))

    def run(steps: int) -> None:
        for _ in range(steps):
            a.grad = b.grad = c.grad = None
            (a * b + c).sum().backward()

    return run


def small_compiled() -> Callable[[int], None]:
    rng = np.random.default_rng(0)
    a, b, c = (mg.Tensor(rng.standard_normal((4, 4)), requires_grad=True) for _ in range(3))

    @mg.compile
    def step() -> mg.Tensor:
        a.grad = b.grad = c.grad = None
        out = (a * b + c).sum()
        out.backward()
        return out

    def run(steps: int) -> None:
        for _ in range(steps):
            step()

    return run


def small_torch() -> Callable[[int], None]:
    rng = np.random.default_rng(0)
    a, b, c = (torch.tensor(rng.standard_normal((4, 4)), requires_grad=True) for _ in range(3))

    def run(steps: int) -> None:
        for _ in range(steps):
            a.grad = b.grad = c.grad = None
            (a * b + c).sum().backward()

    return run


# ---------------------------------------------------------------- a long chain
CHAIN = 100_000


def chain_tape() -> float:
    """A hand-written tape: the same 100,000 products forward, their derivative backward."""
    value = np.array(1.0)
    tape = []
    for _ in range(CHAIN):
        tape.append(value)
        value = value * 1.000001
    grad = np.float64(1.0)
    for _ in reversed(tape):
        grad = grad * 1.000001
    return float(grad)


def chain_microgradnn() -> float:
    x = mg.Tensor(1.0, requires_grad=True)
    y = x
    for _ in range(CHAIN):
        y = y * 1.000001
    y.backward()
    return float(x.grad)


def chain_torch() -> float:
    x = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
    y = x
    for _ in range(CHAIN):
        y = y * 1.000001
    y.backward()
    return float(x.grad)


def peak_bytes(fn: Callable[[], object]) -> int:
    """Peak memory that Python allocations reach while ``fn`` runs (tracemalloc)."""
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def training_memory(steps: int = 10_000) -> tuple[int, int]:
    """Memory held by the library after 1,000 and after ``steps`` MLP training steps."""
    rng = np.random.default_rng(0)
    model = nn.MLP(8, 16, 3, activation=nn.ReLU, rng=rng)
    opt = optim.Adam(model.parameters(), lr=1e-3)
    x, y = mg.Tensor(rng.standard_normal((32, 8))), rng.integers(0, 3, 32)
    loss_fn = nn.CrossEntropyLoss()
    held = []
    tracemalloc.start()
    try:
        for step in range(1, steps + 1):
            loss = loss_fn(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            if step in (1_000, steps):
                held.append(tracemalloc.get_traced_memory()[0])
    finally:
        tracemalloc.stop()
    return held[0], held[1]


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


def table(title: str, runs: dict[str, Callable[[], object]], rounds: int, per: int, unit: str) -> list[str]:
    """Rows of one benchmark: median time, time per ``unit``, ratio to the first run."""
    medians = interleaved_medians(runs, rounds)
    base = next(iter(medians.values()))
    return [
        f"| {title} | {name} | {seconds * 1e3:.1f} ms | {seconds / per * 1e6:.1f} µs/{unit} | {seconds / base:.2f}× |"
        for name, seconds in medians.items()
    ]


def steps_of(build: Callable[..., Callable[[int], object]], steps: int, *args: object) -> Callable[[], object]:
    """Build a model once (outside the timing) and return a call that runs ``steps`` steps of it."""
    run = build(*args)
    return lambda: run(steps)


def with_torch(
    runs: dict[str, Callable[[], object]], torch_run: Callable[[], Callable[[], object]]
) -> dict[str, Callable[[], object]]:
    if torch is not None:
        runs["PyTorch (CPU)"] = torch_run()
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10_000, help="tutorial training steps per run (default 10000)")
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds; the median is reported (default 7)")
    parser.add_argument("--quick", action="store_true", help="fewer steps and rounds")
    parser.add_argument(
        "--only", choices=["tutorials", "mlp", "small", "chain", "memory", "layers", "sweep"], help="run one section"
    )
    args = parser.parse_args()
    steps, rounds = (1_000, 3) if args.quick else (args.steps, args.rounds)
    mlp_steps, mlp_rounds = (5, 5) if args.quick else (20, 15)
    small_steps = 2_000 if args.quick else 20_000

    limits = threadpool_limits(limits=1, user_api="blas") if threadpool_limits else nullcontext()
    if torch is not None:
        torch.set_num_threads(1)
    rows: list[str] = []
    notes: list[str] = []
    with limits:
        if args.only in (None, "tutorials"):
            for title, fns in (
                (
                    f"tutorial 1: 3→1 neuron, {steps:,} steps",
                    (
                        neuron_numpy,
                        neuron_floor,
                        neuron_minimal_engine,
                        neuron_microgradnn,
                        neuron_compiled,
                        neuron_torch,
                        neuron_jax,
                    ),
                ),
                (
                    f"tutorial 2: 3→4→1 network, {steps:,} steps",
                    (
                        two_layer_numpy,
                        two_layer_floor,
                        None,
                        two_layer_microgradnn,
                        two_layer_compiled,
                        two_layer_torch,
                        two_layer_jax,
                    ),
                ),
            ):
                numpy_fn, floor_fn, minimal_fn, mg_fn, compiled_fn, torch_fn, jax_fn = fns
                runs = {
                    "hand-written NumPy": lambda f=numpy_fn: f(steps),
                    "floor: the framework's NumPy calls": lambda f=floor_fn: f(steps),
                }
                if minimal_fn is not None:
                    runs["reference: a minimal closure engine, no checks"] = lambda f=minimal_fn: f(steps)
                runs["microgradnn"] = lambda f=mg_fn: f(steps)
                # recorded (and jit-compiled) once, outside the timing: the rows time replays
                replays, replays_loss = compiled_fn(), compiled_fn(True)
                runs["microgradnn, mg.compile"] = lambda r=replays: r(steps)
                runs["microgradnn, mg.compile, the step returns its loss"] = lambda r=replays_loss: r(steps)
                if jax is not None:
                    jitted = jax_fn()
                    runs["jax.jit (CPU)"] = lambda r=jitted: r(steps)
                rows += table(title, with_torch(runs, lambda f=torch_fn: lambda: f(steps)), rounds, steps, "step")
            notes += recording_times()
        if args.only in (None, "mlp"):
            for dtype in (np.float32, np.float64):
                name = np.dtype(dtype).name
                # Build each model once, outside the timing.
                built = {
                    "hand-written NumPy": mlp_numpy(dtype),
                    "microgradnn": mlp_microgradnn(dtype),
                    "microgradnn, mg.compile": mlp_compiled(dtype),
                }
                runs = {k: (lambda r=r: r(mlp_steps)) for k, r in built.items()}
                runs = with_torch(runs, functools.partial(steps_of, mlp_torch, mlp_steps, dtype))
                rows += table(
                    f"MLP 784→256→10, ReLU, cross-entropy, batch 128, SGD, {name}", runs, mlp_rounds, mlp_steps, "step"
                )
        if args.only in (None, "small"):
            built = {
                "NumPy, hand-written backward": small_numpy(),
                "microgradnn": small_microgradnn(),
                "microgradnn, mg.compile": small_compiled(),
            }
            runs = {k: (lambda r=r: r(small_steps)) for k, r in built.items()}
            runs = with_torch(runs, functools.partial(steps_of, small_torch, small_steps))
            rows += table("(a * b + c).sum(), forward and backward, 4×4", runs, rounds, small_steps, "call")
        if args.only in (None, "chain"):
            runs = with_torch({"hand-written tape": chain_tape, "microgradnn": chain_microgradnn}, lambda: chain_torch)
            rows += table(f"a chain of {CHAIN:,} products, forward and backward", runs, 3, CHAIN, "op")
            for name, fn in (("hand-written tape", chain_tape), ("microgradnn", chain_microgradnn)):
                peak = peak_bytes(fn)
                notes.append(
                    f"- chain of {CHAIN:,} ops, peak memory ({name}): "
                    f"{peak / 1e6:.1f} MB, {peak / CHAIN:.0f} bytes per op"
                )
        if args.only in (None, "layers"):
            # The layers of real models: each file also runs alone (python benchmarks/bench_lenet.py).
            import bench_lenet
            import bench_lstm
            import bench_transformer

            layer_steps, layer_rounds = (2, 3) if args.quick else (5, 9)
            for bench in (bench_lenet, bench_lstm, bench_transformer):
                rows += bench.rows(layer_steps, layer_rounds)
        if args.only in (None, "sweep"):
            import bench_sweep  # sweeps of the tutorial network: serial, joblib, Dask (bench_sweep.py)

            rows += bench_sweep.rows(quick=args.quick)
        if args.only in (None, "memory"):
            early, late = training_memory()
            notes.append(
                "- MLP training loop: memory held after 1,000 steps "
                f"{early / 1e3:.1f} kB, after 10,000 steps {late / 1e3:.1f} kB"
            )

    print(
        f"Machine: {platform.machine()}, {os.cpu_count()} cores; Python {platform.python_version()}, "
        f"NumPy {np.__version__}, microgradnn {mg.__version__}"
        + (f", PyTorch {torch.__version__}" if torch is not None else ", PyTorch not installed")
    )
    print(
        f"BLAS threads: {'1 (threadpoolctl)' if threadpool_limits else 'not pinned (threadpoolctl not installed)'}; "
        "medians of interleaved rounds; ratios against the first row of each benchmark\n"
    )
    print("| benchmark | implementation | time per run | per unit | ratio |")
    print("|---|---|---|---|---|")
    print("\n".join(rows))
    if notes:
        print()
        print("\n".join(notes))


if __name__ == "__main__":
    main()
