"""LeNet training step: microgradnn against a hand-written NumPy im2col step (and PyTorch).

LeNet on 1x28x28 inputs: conv 6@5x5, ReLU, 2x2 max-pool, conv 16@5x5, ReLU, 2x2 max-pool,
Linear 256-120-84-10 with ReLU, cross-entropy, batch 64, float32, SGD. A step is zero_grad,
forward, loss, backward and the SGD update. The hand-written step below does the same
arithmetic as plainly as NumPy allows (im2col through a strided view and one matmul per
convolution, col2im by strided slices, max-pool by a reshape), with no framework around it.

Run ``python benchmarks/bench_lenet.py`` (``--quick`` for a short run). BLAS and PyTorch run on
one thread; all implementations are timed in interleaved rounds in one process, medians.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from contextlib import nullcontext

import numpy as np
from numpy.lib.stride_tricks import as_strided

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import table, threadpool_limits, torch  # noqa: E402

import microgradnn as mg  # noqa: E402
from microgradnn import nn, optim  # noqa: E402

BATCH = 64
LR = 0.01


def lenet_data(batch: int = BATCH) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.standard_normal((batch, 1, 28, 28)).astype(np.float32), rng.integers(0, 10, batch)


def lenet_microgradnn(dtype: type = np.float32) -> nn.Module:
    """The model, as a user writes it."""
    rng = np.random.default_rng(1)
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, dtype=dtype, rng=rng),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5, dtype=dtype, rng=rng),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(256, 120, dtype=dtype, rng=rng),
        nn.ReLU(),
        nn.Linear(120, 84, dtype=dtype, rng=rng),
        nn.ReLU(),
        nn.Linear(84, 10, dtype=dtype, rng=rng),
    )


def microgradnn_steps() -> Callable[[int], None]:
    x, y = lenet_data()
    model = lenet_microgradnn()
    opt = optim.SGD(model.parameters(), lr=LR)
    loss_fn = nn.CrossEntropyLoss()
    xt = mg.Tensor(x)

    def run(steps: int) -> None:
        for _ in range(steps):
            opt.zero_grad()
            loss = loss_fn(model(xt), y)
            loss.backward()
            opt.step()

    return run


# ---------------------------------------------------------------- the hand-written step
def _im2col(x: np.ndarray, k: int) -> np.ndarray:
    """(N, C, H, W) -> contiguous (N, C*k*k, Ho*Wo), stride 1, no padding."""
    n, c, h, w = x.shape
    ho, wo = h - k + 1, w - k + 1
    s = x.strides
    view = as_strided(x, (n, c, k, k, ho, wo), (s[0], s[1], s[2], s[3], s[2], s[3]), writeable=False)
    return np.ascontiguousarray(view).reshape(n, c * k * k, ho * wo)


def _col2im(cols: np.ndarray, c: int, k: int, h: int, w: int) -> np.ndarray:
    """The adjoint of _im2col: (N, C*k*k, Ho*Wo) -> (N, C, H, W)."""
    n = cols.shape[0]
    ho, wo = h - k + 1, w - k + 1
    cols = cols.reshape(n, c, k, k, ho, wo)
    out = np.zeros((n, c, h, w), cols.dtype)
    for i in range(k):
        for j in range(k):
            out[:, :, i : i + ho, j : j + wo] += cols[:, :, i, j]
    return out


def _pool_forward(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """2x2 max-pool by a reshape; returns the output and the mask of the (first) maxima."""
    n, c, h, w = a.shape
    blocks = a.reshape(n, c, h // 2, 2, w // 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(n, c, h // 2, w // 2, 4)
    arg = blocks.argmax(axis=4)
    out = np.take_along_axis(blocks, arg[..., None], axis=4)[..., 0]
    return out, arg


def _pool_backward(g: np.ndarray, arg: np.ndarray) -> np.ndarray:
    n, c, ho, wo = g.shape
    spread = (arg[..., None] == np.arange(4)) * g[..., None]  # (n, c, ho, wo, 4)
    return spread.reshape(n, c, ho, wo, 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(n, c, 2 * ho, 2 * wo)


def numpy_steps() -> Callable[[int], None]:
    x, y = lenet_data()
    model = lenet_microgradnn()  # the same starting weights, as plain arrays
    params = [p.data.copy() for p in model.parameters()]
    w1, b1, w2, b2, w3, b3, w4, b4, w5, b5 = params
    onehot = np.eye(10, dtype=np.float32)[y]
    n, lr = len(x), np.float32(LR)

    def run(steps: int) -> None:
        for _ in range(steps):
            # forward
            cols1 = _im2col(x, 5)  # (n, 25, 576)
            h1 = (w1.reshape(6, 25) @ cols1).reshape(n, 6, 24, 24) + b1.reshape(1, 6, 1, 1)
            a1 = np.maximum(h1, 0)
            p1, arg1 = _pool_forward(a1)  # (n, 6, 12, 12)
            cols2 = _im2col(p1, 5)  # (n, 150, 64)
            h2 = (w2.reshape(16, 150) @ cols2).reshape(n, 16, 8, 8) + b2.reshape(1, 16, 1, 1)
            a2 = np.maximum(h2, 0)
            p2, arg2 = _pool_forward(a2)  # (n, 16, 4, 4)
            f = p2.reshape(n, 256)
            h3 = f @ w3.T + b3
            a3 = np.maximum(h3, 0)
            h4 = a3 @ w4.T + b4
            a4 = np.maximum(h4, 0)
            logits = a4 @ w5.T + b5
            shifted = logits - logits.max(axis=1, keepdims=True)
            e = np.exp(shifted)
            prob = e / e.sum(axis=1, keepdims=True)
            # backward
            d5 = (prob - onehot) / np.float32(n)
            g_w5, g_b5 = d5.T @ a4, d5.sum(axis=0)
            d4 = (d5 @ w5) * (h4 > 0)
            g_w4, g_b4 = d4.T @ a3, d4.sum(axis=0)
            d3 = (d4 @ w4) * (h3 > 0)
            g_w3, g_b3 = d3.T @ f, d3.sum(axis=0)
            dp2 = (d3 @ w3).reshape(n, 16, 4, 4)
            dh2 = _pool_backward(dp2, arg2) * (h2 > 0)
            d2 = dh2.reshape(n, 16, 64)
            g_w2 = (d2 @ cols2.transpose(0, 2, 1)).sum(axis=0).reshape(w2.shape)
            g_b2 = d2.sum(axis=(0, 2))
            dp1 = _col2im(w2.reshape(16, 150).T @ d2, 6, 5, 12, 12)
            dh1 = _pool_backward(dp1, arg1) * (h1 > 0)
            d1 = dh1.reshape(n, 6, 576)
            g_w1 = (d1 @ cols1.transpose(0, 2, 1)).sum(axis=0).reshape(w1.shape)
            g_b1 = d1.sum(axis=(0, 2))
            grads = (g_w1, g_b1, g_w2, g_b2, g_w3, g_b3, g_w4, g_b4, g_w5, g_b5)
            for param, grad in zip(params, grads, strict=True):
                param -= lr * grad

    run.params = params  # type: ignore[attr-defined]  # for check_same_step
    return run


def torch_steps() -> Callable[[int], None]:
    x, y = lenet_data()
    torch.manual_seed(1)
    tn = torch.nn
    model = tn.Sequential(
        tn.Conv2d(1, 6, 5),
        tn.ReLU(),
        tn.MaxPool2d(2),
        tn.Conv2d(6, 16, 5),
        tn.ReLU(),
        tn.MaxPool2d(2),
        tn.Flatten(),
        tn.Linear(256, 120),
        tn.ReLU(),
        tn.Linear(120, 84),
        tn.ReLU(),
        tn.Linear(84, 10),
    )
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    loss_fn = tn.CrossEntropyLoss()
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def run(steps: int) -> None:
        for _ in range(steps):
            opt.zero_grad()
            loss = loss_fn(model(xt), yt)
            loss.backward()
            opt.step()

    return run


def check_same_step() -> float:
    """The largest difference between the two implementations' weights after 3 steps."""
    x, y = lenet_data()
    ours = lenet_microgradnn()
    opt = optim.SGD(ours.parameters(), lr=LR)
    for _ in range(3):
        opt.zero_grad()
        nn.CrossEntropyLoss()(ours(mg.Tensor(x)), y).backward()
        opt.step()
    run = numpy_steps()
    run(3)
    return max(float(np.abs(p.data - q).max()) for p, q in zip(ours.parameters(), run.params, strict=True))


def rows(steps: int, rounds: int) -> list[str]:
    """The benchmark table's rows (hand-written NumPy first, so ratios are against it)."""
    built = {"hand-written NumPy": numpy_steps(), "microgradnn": microgradnn_steps()}
    if torch is not None:
        built["PyTorch (CPU)"] = torch_steps()
    runs = {name: (lambda r=r: r(steps)) for name, r in built.items()}
    for run in runs.values():  # warm up caches and allocators
        run()
    return table("LeNet, batch 64, float32, SGD", runs, rounds, steps, "step")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10, help="training steps per timed run (default 10)")
    parser.add_argument("--rounds", type=int, default=15, help="interleaved rounds; the median is reported")
    parser.add_argument("--quick", action="store_true", help="fewer steps and rounds")
    args = parser.parse_args()
    steps, rounds = (3, 5) if args.quick else (args.steps, args.rounds)
    limits = threadpool_limits(limits=1, user_api="blas") if threadpool_limits else nullcontext()
    if torch is not None:
        torch.set_num_threads(1)
    with limits:
        print(f"same weights after 3 steps (max difference): {check_same_step():.2e}")
        print("| benchmark | implementation | time per run | per unit | ratio |")
        print("|---|---|---|---|---|")
        print("\n".join(rows(steps, rounds)))


if __name__ == "__main__":
    main()
