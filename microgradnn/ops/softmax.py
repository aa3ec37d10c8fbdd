"""Softmax and log-softmax along one axis, stable for inputs of any size."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import Function
from ..tensor import Tensor
from . import backmath
from .reduce import normalize_axes, stable_logsumexp

__all__ = ["softmax", "log_softmax"]


class Softmax(Function):
    __slots__ = ("axis",)
    name = "softmax"
    may_warn = True
    differentiable_twice = True

    @staticmethod
    def forward(ctx: Any, x: np.ndarray, axis: int = -1) -> np.ndarray:
        ctx.axis = normalize_axes(axis, x.ndim, "softmax")
        # Shifting by the maximum keeps exp() from overflowing; the result is unchanged.
        e = np.exp(x - x.max(axis=ctx.axis, keepdims=True))
        out = e / e.sum(axis=ctx.axis, keepdims=True)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (out,) = ctx.saved_tensors
        return out * (g - (g * out).sum(axis=ctx.axis, keepdims=True))


class LogSoftmax(Function):
    __slots__ = ("axis",)
    name = "log_softmax"
    may_warn = True
    differentiable_twice = True

    @staticmethod
    def forward(ctx: Any, x: np.ndarray, axis: int = -1) -> np.ndarray:
        ctx.axis = normalize_axes(axis, x.ndim, "log_softmax")
        out = x - stable_logsumexp(x, ctx.axis)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (out,) = ctx.saved_tensors
        return g - backmath.exp(out) * g.sum(axis=ctx.axis, keepdims=True)


def _one_axis(axis: Any, op: str) -> int:
    if not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{op}: axis must be one int, not {axis!r}")
    return int(axis)


def softmax(x: Tensor, axis: int = -1) -> Tensor:
    """exp(x) / sum(exp(x)) along ``axis``; no overflow for large inputs.

    >>> import microgradnn as mg
    >>> mg.softmax(mg.Tensor([1000.0, 1000.0]))
    Tensor([0.5, 0.5])
    """
    return Softmax.apply(x, axis=_one_axis(axis, "softmax"))


def log_softmax(x: Tensor, axis: int = -1) -> Tensor:
    """x - logsumexp(x) along ``axis``; no overflow for large inputs.

    >>> import microgradnn as mg
    >>> mg.log_softmax(mg.Tensor([0.0, 0.0])).exp().tolist()
    [0.5, 0.5]
    """
    return LogSoftmax.apply(x, axis=_one_axis(axis, "log_softmax"))
