"""Reductions: sum, mean, max, min, var, logsumexp (and argmax/argmin, not differentiable).

Each takes NumPy's ``axis`` (None, an int or a tuple, negative counting from the end) and
``keepdims``. Backward first puts the gradient back into the "kept" shape (reduced axes of
size 1), then spreads it over the input.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from ..autograd import Function
from ..errors import ShapeError
from ..tensor import Tensor
from . import backmath

__all__ = ["sum", "mean", "max", "min", "var", "logsumexp", "argmax", "argmin", "normalize_axes", "kept_shape"]


def normalize_axes(axis: Any, ndim: int, op: str) -> tuple[int, ...]:
    """``axis`` as a sorted tuple of non-negative ints (all axes for None), checked.

    >>> normalize_axes(-1, 3, "sum"), normalize_axes(None, 2, "sum")
    ((2,), (0, 1))
    """
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    result = []
    for a in axes:
        if not isinstance(a, (int, np.integer)) or not -ndim <= a < ndim:
            raise ShapeError(f"{op}: axis {a!r} is out of range for a tensor with {ndim} dimension(s)")
        result.append(int(a) % ndim)
    if len(set(result)) != len(result):
        raise ShapeError(f"{op}: axis {axis!r} repeats an axis")
    return tuple(sorted(result))


def kept_shape(shape: tuple[int, ...], axes: tuple[int, ...]) -> tuple[int, ...]:
    """``shape`` with each reduced axis set to 1 (what ``keepdims=True`` gives).

    >>> kept_shape((2, 3, 4), (1,))
    (2, 1, 4)
    """
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


class _Reduction(Function):
    """Shared set-up: the checked axes and the kept shape, on ctx."""

    __slots__ = ("in_shape", "keepdims", "axes", "kept")

    differentiable_twice = True

    @staticmethod
    def prepare(ctx: Any, x: np.ndarray, axis: Any, keepdims: bool) -> tuple[int, ...] | None:
        """Check ``axis``; keep what backward needs. Returns the axes to hand to NumPy."""
        ctx.in_shape, ctx.keepdims = x.shape, keepdims
        if axis is None:  # the common case (a loss), kept cheap
            ctx.axes, ctx.kept = None, None
            return None
        ctx.axes = normalize_axes(axis, x.ndim, ctx.name)
        ctx.kept = kept_shape(x.shape, ctx.axes)
        return ctx.axes

    @staticmethod
    def to_kept(ctx: Any, g: Any) -> Any:
        """The output's gradient in the kept shape, ready to broadcast over the input."""
        if ctx.keepdims or ctx.kept is None:
            return g  # already broadcastable: same rank, or a scalar from a full reduction
        return g.reshape(ctx.kept)


class Sum(_Reduction):
    __slots__ = ()
    name = "sum"
    may_warn = True

    @staticmethod
    def forward(ctx: Any, x: np.ndarray, axis: Any = None, keepdims: bool = False) -> np.ndarray:
        axes = _Reduction.prepare(ctx, x, axis, keepdims)
        # The ufunc's own reduce: x.sum() takes a detour through Python code in NumPy. (NumPy's
        # stubs overload reduce on a literal keepdims, so a bool argument matches none.)
        return np.add.reduce(x, axis=axes, keepdims=keepdims)  # type: ignore[call-overload]

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return backmath.broadcast_to(_Reduction.to_kept(ctx, g), ctx.in_shape)


class Mean(_Reduction):
    __slots__ = ("count",)
    name = "mean"
    may_warn = True

    @staticmethod
    def forward(ctx: Any, x: np.ndarray, axis: Any = None, keepdims: bool = False) -> np.ndarray:
        axes = _Reduction.prepare(ctx, x, axis, keepdims)
        ctx.count = x.size if axes is None else math.prod(x.shape[a] for a in axes)
        # The sum and one division, as np.mean computes it, minus its detour through Python.
        total = np.add.reduce(x, axis=axes, keepdims=keepdims)  # type: ignore[call-overload]
        return total / ctx.count

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return backmath.broadcast_to(_Reduction.to_kept(ctx, g) / ctx.count, ctx.in_shape)


class _Extreme(_Reduction):
    """max or min over axes; tied entries share the gradient evenly (as PyTorch's amax)."""

    __slots__ = ()
    #: The NumPy reduction (np.maximum.reduce or np.minimum.reduce), set by each subclass.
    reduce: ClassVar[Callable[..., np.ndarray]]

    @classmethod
    def forward(cls, ctx: Any, x: np.ndarray, axis: Any = None, keepdims: bool = False) -> np.ndarray:
        axes = _Reduction.prepare(ctx, x, axis, keepdims)
        if x.size == 0:
            raise ShapeError(f"{cls.name}: cannot reduce an empty tensor of shape {x.shape}")
        out = cls.reduce(x, axis=axes, keepdims=keepdims)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        x, out = (backmath.constant(v) for v in ctx.saved_tensors)
        hits = x == (out if ctx.kept is None else out.reshape(ctx.kept))
        share = (hits / hits.sum(axis=ctx.axes, keepdims=True)).astype(x.dtype, copy=False)
        return _Reduction.to_kept(ctx, g) * share


class Max(_Extreme):
    __slots__ = ()
    name = "max"
    reduce = staticmethod(np.max)


class Min(_Extreme):
    __slots__ = ()
    name = "min"
    reduce = staticmethod(np.min)


class Var(_Reduction):
    __slots__ = ("divisor",)
    name = "var"
    may_warn = True

    @staticmethod
    def forward(ctx: Any, x: np.ndarray, axis: Any = None, keepdims: bool = False, ddof: int = 0) -> np.ndarray:
        axes = _Reduction.prepare(ctx, x, axis, keepdims)
        count = x.size if axes is None else math.prod(x.shape[a] for a in axes)
        ctx.divisor = count - ddof
        if ctx.divisor <= 0:
            raise ValueError(
                f"var: ddof={ddof} leaves no degrees of freedom over {count} element(s) of shape {x.shape}"
            )
        ctx.save_for_backward(x)
        return x.var(axis=axes, keepdims=keepdims, ddof=ddof)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (x,) = ctx.saved_tensors
        centred = x - x.mean(axis=ctx.axes, keepdims=True)
        return _Reduction.to_kept(ctx, g) * centred * (2 / ctx.divisor)


class LogSumExp(_Reduction):
    __slots__ = ()
    name = "logsumexp"
    may_warn = True

    @staticmethod
    def forward(ctx: Any, x: np.ndarray, axis: Any = None, keepdims: bool = False) -> np.ndarray:
        axes = _Reduction.prepare(ctx, x, axis, keepdims)
        out = stable_logsumexp(x, axes)
        if not keepdims:
            out = out.reshape([n for i, n in enumerate(x.shape) if axes is not None and i not in axes])
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        # d/dx logsumexp(x) = softmax(x) = exp(x - logsumexp(x)).
        x, out = ctx.saved_tensors
        return _Reduction.to_kept(ctx, g) * backmath.exp(x - (out if ctx.kept is None else out.reshape(ctx.kept)))


def stable_logsumexp(x: np.ndarray, axes: tuple[int, ...] | None) -> np.ndarray:
    """log(sum(exp(x))) over ``axes`` with kept dims, shifting by the maximum first."""
    shift = x.max(axis=axes, keepdims=True)
    # A slice that is all -inf (or inf) would give nan after shifting; shift it by 0 instead.
    shift = np.where(np.isfinite(shift), shift, 0)
    return np.log(np.exp(x - shift).sum(axis=axes, keepdims=True)) + shift


def sum(x: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor:
    """Sum over ``axis`` (all axes when None).

    >>> import microgradnn as mg
    >>> mg.Tensor([[1.0, 2.0], [3.0, 4.0]]).sum(axis=0)
    Tensor([4., 6.])
    """
    return Sum._apply1(x, axis, keepdims)


def mean(x: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor:
    """Mean over ``axis`` (all axes when None).

    >>> import microgradnn as mg
    >>> mg.Tensor([[1.0, 2.0], [3.0, 4.0]]).mean(axis=1).tolist()
    [1.5, 3.5]
    """
    return Mean._apply1(x, axis, keepdims)


def max(x: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor:
    """Maximum over ``axis``; tied entries share the gradient evenly.

    >>> import microgradnn as mg
    >>> mg.Tensor([[1.0, 5.0], [7.0, 2.0]]).max(axis=0).tolist()
    [7.0, 5.0]
    """
    return Max._apply1(x, axis, keepdims)


def min(x: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor:
    """Minimum over ``axis``; tied entries share the gradient evenly.

    >>> import microgradnn as mg
    >>> mg.Tensor([[1.0, 5.0], [7.0, 2.0]]).min(axis=1).tolist()
    [1.0, 2.0]
    """
    return Min._apply1(x, axis, keepdims)


def var(x: Tensor, axis: Any = None, keepdims: bool = False, ddof: int = 0) -> Tensor:
    """Variance over ``axis`` with NumPy's ``ddof`` (0 by default; PyTorch defaults to 1).

    >>> import microgradnn as mg
    >>> mg.var(mg.Tensor([1.0, 2.0, 3.0, 4.0])).item()
    1.25
    """
    return Var.apply(x, axis=axis, keepdims=keepdims, ddof=ddof)


def logsumexp(x: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor:
    """log(sum(exp(x))) over ``axis``; no overflow for large inputs.

    >>> import microgradnn as mg
    >>> mg.logsumexp(mg.Tensor([1000.0, 1000.0])).item()
    1000.6931471805599
    """
    return LogSumExp._apply1(x, axis, keepdims)


def _arg(x: Tensor, axis: int | None, reducer: Any, op: str) -> Tensor:
    if axis is not None:
        normalize_axes(axis, x.ndim, op)
    if x.size == 0:
        raise ShapeError(f"{op}: cannot reduce an empty tensor of shape {x.shape}")
    return Tensor._wrap(np.asarray(reducer(x._data, axis=axis)), None)


def argmax(x: Tensor, axis: int | None = None) -> Tensor:
    """Index of the maximum (flattened when ``axis`` is None); integer, not differentiable.

    >>> import microgradnn as mg
    >>> mg.argmax(mg.Tensor([[1.0, 5.0], [7.0, 2.0]]), axis=1).tolist()
    [1, 0]
    """
    return _arg(x, axis, np.argmax, "argmax")


def argmin(x: Tensor, axis: int | None = None) -> Tensor:
    """Index of the minimum (flattened when ``axis`` is None); integer, not differentiable.

    >>> import microgradnn as mg
    >>> mg.argmin(mg.Tensor([[1.0, 5.0], [7.0, 2.0]]), axis=1).tolist()
    [0, 1]
    """
    return _arg(x, axis, np.argmin, "argmin")
