"""Matrix multiplication: 1-d, 2-d and batched, with NumPy's ``@`` rules."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import Function
from ..errors import ShapeError, shape_of
from ..tensor import Tensor
from .elementwise import _pair

__all__ = ["matmul"]


class MatMul(Function):
    """a @ b. A 1-d operand acts as a row (left) or column (right) vector, then loses that axis."""

    __slots__ = ()

    name = "matmul"
    may_warn = True
    differentiable_twice = True

    @staticmethod
    def forward(ctx: Any, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(a, b)
        return a @ b

    @staticmethod
    def backward(ctx: Any, g: Any) -> tuple[Any, Any]:
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        if a.ndim == 2 and b.ndim == 2:  # the common case, kept short
            return (g @ b.T if need_a else None), (a.T @ g if need_b else None)
        # Treat 1-d operands as (1, n) and (n, 1) matrices, then drop the added axis again.
        # Batch axes that broadcasting added are summed away by the engine.
        if a.ndim == 1:
            a = a.reshape((1,) + a.shape)
            g = g.reshape(g.shape[:-1] + (1,) + g.shape[-1:]) if b.ndim > 1 else g.reshape(g.shape + (1,))
        if b.ndim == 1:
            b = b.reshape(b.shape + (1,))
            g = g.reshape(g.shape + (1,))
        grad_a = grad_b = None
        if need_a:
            grad_a = g @ b.swapaxes(-1, -2)
            if ctx.inputs[0].ndim == 1:
                grad_a = grad_a.reshape(grad_a.shape[:-2] + grad_a.shape[-1:])
        if need_b:
            grad_b = a.swapaxes(-1, -2) @ g
            if ctx.inputs[1].ndim == 1:
                grad_b = grad_b.reshape(grad_b.shape[:-1])
        return grad_a, grad_b


def matmul(a: Any, b: Any) -> Tensor:
    """a @ b, as NumPy's matmul (1-d, 2-d, and batched with broadcasting batch axes).

    >>> import microgradnn as mg
    >>> (mg.ones((2, 3)) @ mg.ones(3)).shape
    (2,)
    """
    if not (isinstance(a, Tensor) and isinstance(b, Tensor)):
        a, b = _pair(a, b, "matmul")
    try:
        return MatMul._apply2(a, b)
    except ValueError:
        raise _mismatch(shape_of(a), shape_of(b)) from None


def _mismatch(a_shape: tuple[int, ...], b_shape: tuple[int, ...]) -> ShapeError:
    """Say which axes of a failed matmul disagree."""
    if not a_shape or not b_shape:
        return ShapeError(f"matmul: both operands need at least 1 dimension, got shapes {a_shape} and {b_shape}")
    inner_b = b_shape[0] if len(b_shape) == 1 else b_shape[-2]
    if a_shape[-1] != inner_b:
        where_b = "only" if len(b_shape) == 1 else "second-to-last"
        return ShapeError(
            f"matmul: shapes {a_shape} and {b_shape} are not aligned: {a_shape[-1]} (last axis of "
            f"the first) != {inner_b} ({where_b} axis of the second)"
        )
    return ShapeError(f"matmul: batch axes of shapes {a_shape} and {b_shape} cannot be broadcast together")
