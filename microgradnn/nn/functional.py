"""Losses and activations as plain functions (the modules in ``losses`` and ``layers`` call
these), as ``torch.nn.functional``.

Every loss takes ``reduction="mean" | "sum" | "none"``. The binary cross-entropies are single
operations with their own backward, so they stay finite at the edges; the others are built
from Tensor ops.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import Function
from ..creation import default_generator
from ..errors import ShapeError, shape_of
from ..ops import backmath
from ..ops.elementwise import leaky_relu, relu, sigmoid, tanh
from ..ops.reduce import stable_logsumexp
from ..ops.softmax import log_softmax, softmax
from ..tensor import Tensor, as_tensor

__all__ = [
    "mse_loss",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "nll_loss",
    "sigmoid",
    "tanh",
    "relu",
    "leaky_relu",
    "softmax",
    "log_softmax",
    "dropout",
]

_REDUCTIONS = ("mean", "sum", "none")


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _check_reduction(reduction: str, op: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: reduction must be 'mean', 'sum' or 'none', not {reduction!r}")


def _same_shape_target(input: Tensor, target: Any, op: str) -> Tensor:
    """The target as a Tensor of the input's shape and dtype; never differentiated."""
    target = as_tensor(target, dtype=input.dtype)
    if target.shape != input.shape:
        raise ShapeError(f"{op}: target shape {target.shape} does not match input shape {input.shape}")
    return target


def mse_loss(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """Mean (or summed) squared error; input and target must have one shape.

    >>> import microgradnn as mg
    >>> mg.nn.functional.mse_loss(mg.Tensor([1.0, 2.0]), [1.0, 4.0]).item()
    2.0
    """
    _check_reduction(reduction, "mse_loss")
    target = _same_shape_target(input, target, "mse_loss")
    return _reduce((input - target) ** 2, reduction)


class BinaryCrossEntropy(Function):
    """-(t log p + (1 - t) log(1 - p)), each log clamped at -100 as PyTorch does; the gradient
    (p - t) / max(p (1 - p), 1e-12) stays finite at p = 0 and p = 1."""

    __slots__ = ()
    name = "binary_cross_entropy"
    may_warn = True
    differentiable_twice = True

    @staticmethod
    def forward(ctx: Any, p: np.ndarray, t: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(p, t)
        return -(t * _clamped_log(p) + (1 - t) * _clamped_log(1 - p))

    @staticmethod
    def backward(ctx: Any, g: Any) -> tuple[Any, None]:
        p, t = ctx.saved_tensors
        return g * (p - t) / (p * (1 - p)).clip(1e-12, None), None


def _clamped_log(x: np.ndarray) -> np.ndarray:
    """log(x), with log(0) = -inf clamped to -100 and no divide-by-zero warning."""
    out = np.full(x.shape, -100.0, dtype=x.dtype)
    np.log(x, out=out, where=x > 0)
    return np.maximum(out, -100, out=out)


def binary_cross_entropy(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """Cross-entropy of probabilities ``input`` (in [0, 1]) against 0/1 (or soft) targets.

    >>> import microgradnn as mg
    >>> round(mg.nn.functional.binary_cross_entropy(mg.Tensor([0.9]), [1.0]).item(), 4)
    0.1054
    """
    _check_reduction(reduction, "binary_cross_entropy")
    target = _same_shape_target(input, target, "binary_cross_entropy")
    p = input.data
    if not ((p >= 0) & (p <= 1)).all():  # NaN fails both comparisons
        numbers = p[~np.isnan(p)]  # (nanmin would warn when there are none)
        found = f"values from {numbers.min():.4g} to {numbers.max():.4g}" if numbers.size else "only NaN"
        if 0 < numbers.size < p.size:
            found += " and NaN"
        raise ValueError(
            f"binary_cross_entropy: input must be probabilities in [0, 1]; got {found} "
            "(for logits use binary_cross_entropy_with_logits)"
        )
    return _reduce(BinaryCrossEntropy.apply(input, target.detach()), reduction)


class BinaryCrossEntropyWithLogits(Function):
    """max(x, 0) - x t + log(1 + exp(-|x|)): no overflow for any logit x; gradient sigmoid(x) - t."""

    __slots__ = ()
    name = "binary_cross_entropy_with_logits"
    may_warn = True
    differentiable_twice = True

    @staticmethod
    def forward(ctx: Any, x: np.ndarray, t: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(x, t)
        return np.maximum(x, 0) - x * t + np.log1p(np.exp(-np.abs(x)))

    @staticmethod
    def backward(ctx: Any, g: Any) -> tuple[Any, None]:
        x, t = ctx.saved_tensors
        return g * (backmath.sigmoid(x) - t), None


def binary_cross_entropy_with_logits(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """Binary cross-entropy of ``sigmoid(input)``, computed stably from the logits.

    >>> import microgradnn as mg
    >>> mg.nn.functional.binary_cross_entropy_with_logits(mg.Tensor([-1000.0]), [1.0]).item()
    1000.0
    """
    _check_reduction(reduction, "binary_cross_entropy_with_logits")
    target = _same_shape_target(input, target, "binary_cross_entropy_with_logits")
    return _reduce(BinaryCrossEntropyWithLogits.apply(input, target.detach()), reduction)


def _class_indices(target: Any, n: int, classes: int, op: str) -> np.ndarray:
    """Integer class indices of shape (n,), each in [0, classes), from an array, list or Tensor."""
    values = np.asarray(target.data if isinstance(target, Tensor) else target)
    if values.dtype.kind == "b" or values.dtype.kind not in "iuf":
        raise TypeError(f"{op}: target must hold integer class indices, not {values.dtype} values")
    if values.shape != (n,):
        raise ShapeError(f"{op}: target shape {shape_of(values)} does not match (N,) = ({n},) for input of {n} rows")
    if values.dtype.kind == "f":
        if not np.all(np.isfinite(values)) or np.any(values != np.round(values)):
            bad = values[~np.isfinite(values) | (values != np.round(values))][0]
            raise ValueError(f"{op}: target must hold whole numbers (class indices), found {bad}")
    # Checked before the cast: a whole number beyond int64 (1e300) has no int64 to become.
    out_of_range = (values < 0) | (values >= classes)
    if out_of_range.any():
        bad = values[out_of_range][0]
        raise IndexError(f"{op}: class index {bad:.15g} is out of range for {classes} classes")
    return values.astype(np.int64)


def nll_loss(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of log-probabilities ``input`` of shape (N, C) at the target
    classes (integer indices of shape (N,)).

    >>> import microgradnn as mg
    >>> mg.nn.functional.nll_loss(mg.Tensor([[-0.5, -1.5]]), [0]).item()
    0.5
    """
    _check_reduction(reduction, "nll_loss")
    if input.ndim != 2:
        raise ShapeError(f"nll_loss: input must have shape (N, C), got {input.shape}")
    n, classes = input.shape
    indices = _class_indices(target, n, classes, "nll_loss")
    return _reduce(-input[np.arange(n), indices], reduction)


class CrossEntropy(Function):
    """Cross-entropy of logits (N, C) at class indices (N,), reduced: one op, because its
    gradient is simply ``softmax(x) - onehot(target)`` (per row, times the output's gradient)."""

    __slots__ = ("indices", "reduction")
    name = "cross_entropy"
    may_warn = True
    differentiable_twice = True

    @staticmethod
    def forward(ctx: Any, x: np.ndarray, indices: np.ndarray, reduction: str) -> np.ndarray:
        ctx.indices, ctx.reduction = indices, reduction
        log_probs = x - stable_logsumexp(x, (1,))
        ctx.save_for_backward(x, np.exp(log_probs))
        losses = -log_probs[np.arange(len(x)), indices]
        if reduction == "none":
            return losses
        total = np.add.reduce(losses)
        return total / len(x) if reduction == "mean" else total

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        x, probs = ctx.saved_tensors
        if isinstance(x, Tensor):  # recorded (create_graph): softmax as an op of x
            probs = x.softmax(axis=1)
        n = len(ctx.indices)
        onehot = np.zeros(probs.shape, dtype=backmath.constant(probs).dtype)
        onehot[np.arange(n), ctx.indices] = 1
        if ctx.reduction == "none":
            g = g.reshape(n, 1)
        elif ctx.reduction == "mean":
            g = g / n
        return (probs - onehot) * g


def cross_entropy(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """Cross-entropy of logits ``input`` of shape (N, C) against class indices of shape (N,):
    ``nll_loss(log_softmax(input, axis=1), target)``, computed as one stable op.

    >>> import microgradnn as mg
    >>> round(mg.nn.functional.cross_entropy(mg.Tensor([[1000.0, 0.0]]), [1]).item(), 6)
    1000.0
    """
    _check_reduction(reduction, "cross_entropy")
    if input.ndim != 2:
        raise ShapeError(f"cross_entropy: input must have shape (N, C), got {input.shape}")
    n, classes = input.shape
    indices = _class_indices(target, n, classes, "cross_entropy")
    return CrossEntropy._apply1(input, indices, reduction)


def dropout(input: Tensor, p: float = 0.5, training: bool = True, rng: np.random.Generator | None = None) -> Tensor:
    """Inverted dropout: when ``training``, zero each element with probability ``p`` (drawn
    from ``rng``, else the default generator) and scale the rest by 1 / (1 - p).

    >>> import microgradnn as mg
    >>> mg.nn.functional.dropout(mg.ones(3), 0.5, training=False).tolist()
    [1.0, 1.0, 1.0]
    """
    if not 0 <= p <= 1:
        raise ValueError(f"dropout: p must be in [0, 1], got {p}")
    if not training or p == 0:
        return input
    if p == 1:
        return input * np.zeros(input.shape, input.dtype)
    keep = (rng if rng is not None else default_generator()).random(input.shape) >= p
    return input * (keep / (1 - p)).astype(input.dtype)
