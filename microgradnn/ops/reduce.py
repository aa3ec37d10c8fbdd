"""Reductions: sum, mean, prod, amax/amin, max/min, var/std, logsumexp, norms, median,
quantile, all/any, count_nonzero and argmax/argmin.

Each takes PyTorch's ``dim`` (None, an int or a tuple, negative counting from the end) and
``keepdim``, or NumPy's ``axis`` and ``keepdims`` (see ops/arguments.py). Where the two disagree
PyTorch wins: ``max(x, dim)`` returns ``(values, indices)``, and ``var``/``std`` default to
``correction=1``. Backward first puts the gradient back into the "kept" shape (reduced axes of
size 1), then spreads it over the input.
"""

from __future__ import annotations

import builtins
import math
from collections.abc import Callable
from typing import Any, ClassVar, NamedTuple

import numpy as np

from ..autograd import Function
from ..errors import ShapeError
from ..tensor import Tensor
from . import backmath
from .arguments import dim_of, dims_of, keepdim_of

__all__ = [
    "sum",
    "mean",
    "prod",
    "max",
    "min",
    "amax",
    "amin",
    "var",
    "std",
    "logsumexp",
    "argmax",
    "argmin",
    "all",
    "any",
    "count_nonzero",
    "median",
    "quantile",
    "nansum",
    "nanmean",
    "norm",
    "vector_norm",
    "matrix_norm",
    "linalg_norm",
    "ValuesIndices",
    "take_along_dim_grad",
    "normalize_axes",
    "kept_shape",
]


class ValuesIndices(NamedTuple):
    """What ``max(x, dim)``, ``sort``, ``topk``... return, as PyTorch's ``return_types``: the
    values (differentiable) and their int64 indices along the dim.

    >>> import microgradnn as mg
    >>> values, indices = mg.Tensor([[1.0, 5.0], [7.0, 2.0]]).max(dim=1)
    >>> indices.tolist()
    [1, 0]
    """

    values: Tensor
    indices: Tensor


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


def _dims(op: str, x: Tensor, dim: Any, axis: Any) -> tuple[int, ...] | None:
    """The checked axes; None for "all of them" (a 0-d tensor's dim 0 is all of it too)."""
    dims = dims_of(op, dim, axis, x.shape)
    return None if dims is None or x.ndim == 0 else dims


def _dim(op: str, x: Tensor, dim: Any, axis: Any) -> int | None:
    return dim_of(op, dim, axis, x.shape)


class _Reduction(Function):
    """Shared set-up: the checked axes and the kept shape, on ctx."""

    __slots__ = ("in_shape", "keepdims", "axes", "kept")

    differentiable_twice = True

    @staticmethod
    def prepare(ctx: Any, x: np.ndarray, axes: tuple[int, ...] | None, keepdims: bool) -> tuple[int, ...] | None:
        """Keep what backward needs; ``axes`` are already checked (None: all of them)."""
        ctx.in_shape, ctx.keepdims, ctx.axes = x.shape, keepdims, axes
        ctx.kept = None if axes is None else kept_shape(x.shape, axes)
        return axes

    @staticmethod
    def to_kept(ctx: Any, g: Any) -> Any:
        """The output's gradient in the kept shape, ready to broadcast over the input."""
        if ctx.keepdims or ctx.kept is None:
            return g  # already broadcastable: same rank, or a scalar from a full reduction
        return g.reshape(ctx.kept)

    @staticmethod
    def count(x: np.ndarray, axes: tuple[int, ...] | None) -> int:
        return x.size if axes is None else math.prod(x.shape[a] for a in axes)


class Sum(_Reduction):
    __slots__ = ()
    name = "sum"
    may_warn = True

    @staticmethod
    def forward(ctx: Any, x: np.ndarray, axes: Any = None, keepdims: bool = False) -> np.ndarray:
        axes = _Reduction.prepare(ctx, x, axes, keepdims)
        # The ufunc's own reduce: x.sum() takes a detour through Python code in NumPy. (NumPy's
        # stubs overload reduce on a literal keepdims, so a bool argument matches none.)
        return np.add.reduce(x, axis=axes, keepdims=keepdims)  # type: ignore[call-overload]

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return backmath.broadcast_to(_Reduction.to_kept(ctx, g), ctx.in_shape)


class Mean(_Reduction):
    __slots__ = ("n",)
    name = "mean"
    may_warn = True

    @staticmethod
    def forward(ctx: Any, x: np.ndarray, axes: Any = None, keepdims: bool = False) -> np.ndarray:
        axes = _Reduction.prepare(ctx, x, axes, keepdims)
        ctx.n = _Reduction.count(x, axes)
        # The sum and one division, as np.mean computes it, minus its detour through Python.
        total = np.add.reduce(x, axis=axes, keepdims=keepdims)  # type: ignore[call-overload]
        return total / ctx.n

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return backmath.broadcast_to(_Reduction.to_kept(ctx, g) / ctx.n, ctx.in_shape)


class Prod(_Reduction):
    __slots__ = ()
    name = "prod"
    may_warn = True

    @staticmethod
    def forward(ctx: Any, x: np.ndarray, axes: Any = None, keepdims: bool = False) -> np.ndarray:
        axes = _Reduction.prepare(ctx, x, axes, keepdims)
        out = np.multiply.reduce(x, axis=axes, keepdims=keepdims)  # type: ignore[call-overload]
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        # d prod / d x_i is the product of the others. out / x_i is that wherever x_i != 0; at a
        # slice's only zero it is the product of the slice's non-zero entries; at a zero of a
        # slice with two or more zeros it is 0.
        x, out = ctx.saved_tensors
        xs = backmath.constant(x)
        zero = xs == 0
        keep = dict(axis=ctx.axes, keepdims=True)
        if not zero.any():
            return _Reduction.to_kept(ctx, g) * (_Reduction.to_kept(ctx, out) / x)
        if isinstance(x, Tensor):
            return _Reduction.to_kept(ctx, g) * _products_of_others(x, ctx.axes)
        nonzero = ~zero
        only_zero = zero & (zero.sum(**keep) == 1)
        filled = x * nonzero + zero  # the zeros replaced by ones
        rest: Any
        if isinstance(filled, Tensor):
            rest = Prod._apply1(filled, ctx.axes, True)
        else:
            rest = np.multiply.reduce(filled, axis=ctx.axes, keepdims=True)
        others = _Reduction.to_kept(ctx, out) / filled * nonzero + rest * only_zero
        return _Reduction.to_kept(ctx, g) * others


def _products_of_others(x: Tensor, axes: tuple[int, ...] | None) -> Tensor:
    """For each entry, the product of the other entries of its slice over ``axes`` (kept
    dims), as recorded Tensor ops that stay exact through any number of zeros: row i of an
    (n, n) matrix holds the slice with entry i replaced by 1. Used when differentiating prod
    twice with zeros in the input (O(n^2) per slice, paid only then)."""
    from .elementwise import where  # elementwise imports this module

    reduced = tuple(range(x.ndim)) if axes is None else axes
    kept = [d for d in range(x.ndim) if d not in reduced]
    moved = x.permute(*kept, *reduced)
    n = int(np.prod([x.shape[d] for d in reduced]))
    flat = moved.reshape(moved.shape[: len(kept)] + (n,))
    rows = where(np.eye(n, dtype=bool), 1.0, flat.unsqueeze(-2))  # [..., i, j]
    others = Prod._apply1(rows, (rows.ndim - 1,), False).reshape(moved.shape)
    return others.permute(*np.argsort(kept + list(reduced)).tolist())


class _Extreme(_Reduction):
    """amax or amin over axes; tied entries share the gradient evenly (as PyTorch's)."""

    __slots__ = ()
    #: The NumPy reduction (np.max or np.min), set by each subclass.
    reduce: ClassVar[Callable[..., np.ndarray]]

    @classmethod
    def forward(cls, ctx: Any, x: np.ndarray, axes: Any = None, keepdims: bool = False) -> np.ndarray:
        axes = _Reduction.prepare(ctx, x, axes, keepdims)
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


class AMax(_Extreme):
    __slots__ = ()
    name = "amax"
    reduce = staticmethod(np.max)


class AMin(_Extreme):
    __slots__ = ()
    name = "amin"
    reduce = staticmethod(np.min)


class Max(AMax):
    """``max(x)`` without a dim: amax of everything, under the name the user called."""

    __slots__ = ()
    name = "max"


class Min(AMin):
    __slots__ = ()
    name = "min"


class Var(_Reduction):
    __slots__ = ("divisor",)
    name = "var"
    may_warn = True

    @staticmethod
    def forward(ctx: Any, x: np.ndarray, axes: Any = None, keepdims: bool = False, correction: float = 1) -> np.ndarray:
        axes = _Reduction.prepare(ctx, x, axes, keepdims)
        ctx.divisor = _Reduction.count(x, axes) - correction
        ctx.save_for_backward(x)
        centred = x - np.add.reduce(x, axis=axes, keepdims=True) / builtins.max(_Reduction.count(x, axes), 1)
        squares = np.add.reduce(centred * centred, axis=axes, keepdims=keepdims)  # type: ignore[call-overload]
        if ctx.divisor <= 0:  # no degrees of freedom left: NaN, as the issue asks (no warning)
            return np.full_like(squares, np.nan)
        return squares / ctx.divisor

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (x,) = ctx.saved_tensors
        centred = x - x.mean(ctx.axes, keepdims=True)
        divisor = ctx.divisor if ctx.divisor > 0 else math.nan
        return _Reduction.to_kept(ctx, g) * centred * (2 / divisor)


class LogSumExp(_Reduction):
    __slots__ = ()
    name = "logsumexp"
    may_warn = True

    @staticmethod
    def forward(ctx: Any, x: np.ndarray, axes: Any = None, keepdims: bool = False) -> np.ndarray:
        axes = _Reduction.prepare(ctx, x, axes, keepdims)
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


class Norm2(_Reduction):
    """sqrt(sum(x**2)); its gradient x / norm is 0 (not NaN) where the norm is 0, as PyTorch's."""

    __slots__ = ()
    name = "vector_norm"
    may_warn = True

    @staticmethod
    def forward(ctx: Any, x: np.ndarray, axes: Any = None, keepdims: bool = False) -> np.ndarray:
        axes = _Reduction.prepare(ctx, x, axes, keepdims)
        out = np.sqrt(np.add.reduce(x * x, axis=axes, keepdims=keepdims))  # type: ignore[call-overload]
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        x, out = ctx.saved_tensors
        out = _Reduction.to_kept(ctx, out)
        safe = out + (backmath.constant(out) == 0)  # x is 0 wherever the norm is: x / 1 = 0
        return _Reduction.to_kept(ctx, g) * x / safe


class NormP(_Reduction):
    """(sum |x|**p) ** (1/p) for a finite p other than 2; its gradient
    sign(x) |x|**(p-1) / norm**(p-1) is 0 (not NaN) where the norm is 0, as PyTorch's."""

    __slots__ = ("p",)
    name = "vector_norm"
    may_warn = True
    differentiable_twice = True

    @staticmethod
    def forward(ctx: Any, x: np.ndarray, p: float, axes: Any = None, keepdims: bool = False) -> np.ndarray:
        axes = _Reduction.prepare(ctx, x, axes, keepdims)
        ctx.p = p
        out = np.add.reduce(np.abs(x) ** p, axis=axes, keepdims=keepdims) ** (1 / p)  # type: ignore[call-overload]
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        x, out = ctx.saved_tensors
        out = _Reduction.to_kept(ctx, out)
        safe = out + (backmath.constant(out) == 0)  # x is 0 wherever the norm is
        sign = x.sign() if isinstance(x, Tensor) else np.sign(x)
        return _Reduction.to_kept(ctx, g) * sign * (abs(x) / safe) ** (ctx.p - 1)


def stable_logsumexp(x: np.ndarray, axes: tuple[int, ...] | None) -> np.ndarray:
    """log(sum(exp(x))) over ``axes`` with kept dims, shifting by the maximum first."""
    shift = x.max(axis=axes, keepdims=True)
    # A slice that is all -inf (or inf) would give nan after shifting; shift it by 0 instead.
    shift = np.where(np.isfinite(shift), shift, 0)
    return np.log(np.exp(x - shift).sum(axis=axes, keepdims=True)) + shift


class TakeAlongDim(Function):
    """``x[where]`` for a full advanced index ``where``: the values that max(dim), sort, topk,
    median, kthvalue and cummax pick; the gradient goes back to the picked entries."""

    __slots__ = ("shape", "where")
    name = "take_along_dim"
    differentiable_twice = True

    @staticmethod
    def forward(ctx: Any, x: np.ndarray, where: tuple[np.ndarray, ...]) -> np.ndarray:
        ctx.shape, ctx.where = x.shape, where
        return x[where]

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return backmath.scatter_add(g, ctx.where, ctx.shape, basic=False)


def take_along_dim_grad(x: Tensor, index: np.ndarray, dim: int) -> Tensor:
    """``np.take_along_axis(x, index, dim)`` as a differentiable op (``index`` of x's rank).

    >>> import numpy as np, microgradnn as mg
    >>> take_along_dim_grad(mg.Tensor([[1.0, 2.0], [3.0, 4.0]]), np.array([[1], [0]]), 1).tolist()
    [[2.0], [3.0]]
    """
    if x.ndim == 0:
        return x
    grids = np.ogrid[tuple(slice(n) for n in index.shape)]
    where = tuple(index if d == dim else grids[d] for d in range(x.ndim))
    return TakeAlongDim.apply(x, where=where)


def _indices(array: np.ndarray) -> Tensor:
    return Tensor._wrap(np.asarray(array).astype(np.int64, copy=False), None)


def _picked(x: Tensor, index: np.ndarray, dim: int, keepdim: bool) -> ValuesIndices:
    """(values, indices) for a per-slice index of kept shape along ``dim``."""
    values = take_along_dim_grad(x, index, dim)
    if not keepdim and x.ndim:
        index = np.squeeze(index, dim)
        values = values.reshape(index.shape)
    return ValuesIndices(values, _indices(index))


# ------------------------------------------------------------------ the public functions
def sum(
    x: Tensor, dim: Any = None, keepdim: bool | None = None, *, axis: Any = None, keepdims: bool | None = None
) -> Tensor:
    """Sum over ``dim`` (all dims when None).

    >>> import microgradnn as mg
    >>> mg.Tensor([[1.0, 2.0], [3.0, 4.0]]).sum(0)
    Tensor([4., 6.])
    """
    return Sum._apply1(x, _dims("sum", x, dim, axis), keepdim_of("sum", keepdim, keepdims))


def mean(
    x: Tensor, dim: Any = None, keepdim: bool | None = None, *, axis: Any = None, keepdims: bool | None = None
) -> Tensor:
    """Mean over ``dim`` (all dims when None).

    >>> import microgradnn as mg
    >>> mg.Tensor([[1.0, 2.0], [3.0, 4.0]]).mean(dim=1).tolist()
    [1.5, 3.5]
    """
    return Mean._apply1(x, _dims("mean", x, dim, axis), keepdim_of("mean", keepdim, keepdims))


def prod(
    x: Tensor, dim: Any = None, keepdim: bool | None = None, *, axis: Any = None, keepdims: bool | None = None
) -> Tensor:
    """Product over ``dim`` (all dims when None); the gradient is right with zeros in the input.

    >>> import microgradnn as mg
    >>> x = mg.Tensor([2.0, 0.0, 3.0], requires_grad=True)
    >>> x.prod().backward()
    >>> x.grad.tolist()
    [0.0, 6.0, 0.0]
    """
    return Prod._apply1(x, _dims("prod", x, dim, axis), keepdim_of("prod", keepdim, keepdims))


def amax(
    x: Tensor, dim: Any = None, keepdim: bool | None = None, *, axis: Any = None, keepdims: bool | None = None
) -> Tensor:
    """Maximum over ``dim`` (all dims when None); tied entries share the gradient evenly.

    >>> import microgradnn as mg
    >>> mg.amax(mg.Tensor([[1.0, 5.0], [7.0, 2.0]]), dim=0).tolist()
    [7.0, 5.0]
    """
    return AMax._apply1(x, _dims("amax", x, dim, axis), keepdim_of("amax", keepdim, keepdims))


def amin(
    x: Tensor, dim: Any = None, keepdim: bool | None = None, *, axis: Any = None, keepdims: bool | None = None
) -> Tensor:
    """Minimum over ``dim`` (all dims when None); tied entries share the gradient evenly.

    >>> import microgradnn as mg
    >>> mg.amin(mg.Tensor([[1.0, 5.0], [7.0, 2.0]]), dim=1).tolist()
    [1.0, 2.0]
    """
    return AMin._apply1(x, _dims("amin", x, dim, axis), keepdim_of("amin", keepdim, keepdims))


def _extreme(
    op: str, arg: Callable[..., Any], whole: type[Function], x: Tensor, dim: Any, keepdim: Any, axis: Any, keepdims: Any
) -> Any:
    d = _dim(op, x, dim, axis)
    keep = keepdim_of(op, keepdim, keepdims)
    if d is None:
        if keep:
            raise TypeError(f"{op}: keepdim needs a dim (use amax/amin to keep all dims)")
        return whole._apply1(x, None, False)
    if x.numel() == 0:
        raise ShapeError(f"{op}: cannot reduce an empty tensor of shape {x.shape}")
    index = arg(x._data, axis=d, keepdims=True) if x.ndim else np.zeros((), np.int64)
    return _picked(x, index, d, keep)


def max(
    x: Tensor, dim: Any = None, keepdim: bool | None = None, *, axis: Any = None, keepdims: bool | None = None
) -> Any:
    """The maximum: without ``dim`` a 0-d tensor (ties share the gradient, as ``amax``); with
    ``dim`` (one int) a named tuple ``(values, indices)``, the gradient going to the index.

    >>> import microgradnn as mg
    >>> x = mg.Tensor([[1.0, 5.0], [7.0, 2.0]])
    >>> x.max().item()
    7.0
    >>> values, indices = x.max(dim=0)
    >>> values.tolist(), indices.tolist()
    ([7.0, 5.0], [1, 0])
    """
    return _extreme("max", np.argmax, Max, x, dim, keepdim, axis, keepdims)


def min(
    x: Tensor, dim: Any = None, keepdim: bool | None = None, *, axis: Any = None, keepdims: bool | None = None
) -> Any:
    """The minimum: without ``dim`` a 0-d tensor; with ``dim`` a named tuple ``(values, indices)``.

    >>> import microgradnn as mg
    >>> mg.Tensor([[1.0, 5.0], [7.0, 2.0]]).min(1).values.tolist()
    [1.0, 2.0]
    """
    return _extreme("min", np.argmin, Min, x, dim, keepdim, axis, keepdims)


def _correction(op: str, correction: float | None, unbiased: bool | None, ddof: float | None) -> float:
    given = [name for name, v in (("correction", correction), ("unbiased", unbiased), ("ddof", ddof)) if v is not None]
    if len(given) > 1:
        raise TypeError(f"{op}: give one of correction=, unbiased= or ddof=, not {' and '.join(given)}")
    if unbiased is not None:
        return 1 if unbiased else 0
    chosen = correction if correction is not None else ddof
    return 1 if chosen is None else chosen


def var(
    x: Tensor,
    dim: Any = None,
    unbiased: bool | None = None,
    keepdim: bool | None = None,
    *,
    correction: float | None = None,
    ddof: float | None = None,
    axis: Any = None,
    keepdims: bool | None = None,
) -> Tensor:
    """Variance over ``dim``, dividing by ``count - correction`` (PyTorch's default 1; ``ddof=0``
    or ``unbiased=False`` give NumPy's). A correction at least the count gives NaN.

    >>> import microgradnn as mg
    >>> x = mg.Tensor([1.0, 2.0, 3.0, 4.0])
    >>> round(x.var().item(), 4), x.var(ddof=0).item()
    (1.6667, 1.25)
    """
    c = _correction("var", correction, unbiased, ddof)
    return Var._apply1(x, _dims("var", x, dim, axis), keepdim_of("var", keepdim, keepdims), c)


def std(
    x: Tensor,
    dim: Any = None,
    unbiased: bool | None = None,
    keepdim: bool | None = None,
    *,
    correction: float | None = None,
    ddof: float | None = None,
    axis: Any = None,
    keepdims: bool | None = None,
) -> Tensor:
    """Standard deviation: the square root of :func:`var` (same arguments and defaults).

    >>> import microgradnn as mg
    >>> mg.std(mg.Tensor([1.0, 3.0])).item() ** 2
    2.0000000000000004
    """
    c = _correction("std", correction, unbiased, ddof)
    return Var._apply1(x, _dims("std", x, dim, axis), keepdim_of("std", keepdim, keepdims), c).sqrt()


def logsumexp(
    x: Tensor, dim: Any = None, keepdim: bool | None = None, *, axis: Any = None, keepdims: bool | None = None
) -> Tensor:
    """log(sum(exp(x))) over ``dim``; no overflow for large inputs.

    >>> import microgradnn as mg
    >>> mg.logsumexp(mg.Tensor([1000.0, 1000.0])).item()
    1000.6931471805599
    """
    return LogSumExp._apply1(x, _dims("logsumexp", x, dim, axis), keepdim_of("logsumexp", keepdim, keepdims))


def _arg(op: str, reducer: Any, x: Tensor, dim: Any, keepdim: Any, axis: Any, keepdims: Any) -> Tensor:
    d = _dim(op, x, dim, axis)
    keep = keepdim_of(op, keepdim, keepdims)
    if x.numel() == 0:
        raise ShapeError(f"{op}: cannot reduce an empty tensor of shape {x.shape}")
    if x.ndim == 0:
        return _indices(np.zeros((), np.int64))
    if d is None:
        flat = reducer(x._data)
        return _indices(np.full((1,) * x.ndim, flat) if keep else flat)
    return _indices(reducer(x._data, axis=d, keepdims=keep))


def argmax(
    x: Tensor,
    dim: int | None = None,
    keepdim: bool | None = None,
    *,
    axis: int | None = None,
    keepdims: bool | None = None,
) -> Tensor:
    """Index of the maximum (of the flattened tensor when ``dim`` is None); int64, no grad.

    >>> import microgradnn as mg
    >>> mg.argmax(mg.Tensor([[1.0, 5.0], [7.0, 2.0]]), dim=1).tolist()
    [1, 0]
    """
    return _arg("argmax", np.argmax, x, dim, keepdim, axis, keepdims)


def argmin(
    x: Tensor,
    dim: int | None = None,
    keepdim: bool | None = None,
    *,
    axis: int | None = None,
    keepdims: bool | None = None,
) -> Tensor:
    """Index of the minimum (of the flattened tensor when ``dim`` is None); int64, no grad.

    >>> import microgradnn as mg
    >>> mg.argmin(mg.Tensor([[1.0, 5.0], [7.0, 2.0]]), axis=1).tolist()
    [0, 1]
    """
    return _arg("argmin", np.argmin, x, dim, keepdim, axis, keepdims)


def _logical(op: str, reducer: Any, x: Tensor, dim: Any, keepdim: Any, axis: Any, keepdims: Any) -> Tensor:
    dims = _dims(op, x, dim, axis)
    return Tensor._wrap(np.asarray(reducer(x._data != 0, axis=dims, keepdims=keepdim_of(op, keepdim, keepdims))), None)


def all(
    x: Tensor, dim: Any = None, keepdim: bool | None = None, *, axis: Any = None, keepdims: bool | None = None
) -> Tensor:
    """Whether every element (over ``dim``) is non-zero: a boolean tensor without grad.

    >>> import microgradnn as mg
    >>> mg.all(mg.Tensor([[1.0, 0.0], [2.0, 3.0]]), dim=1).tolist()
    [False, True]
    """
    return _logical("all", np.all, x, dim, keepdim, axis, keepdims)


def any(
    x: Tensor, dim: Any = None, keepdim: bool | None = None, *, axis: Any = None, keepdims: bool | None = None
) -> Tensor:
    """Whether some element (over ``dim``) is non-zero: a boolean tensor without grad.

    >>> import microgradnn as mg
    >>> mg.any(mg.Tensor([[1.0, 0.0], [0.0, 0.0]]), dim=1).tolist()
    [True, False]
    """
    return _logical("any", np.any, x, dim, keepdim, axis, keepdims)


def count_nonzero(x: Tensor, dim: Any = None, *, axis: Any = None) -> Tensor:
    """How many elements (over ``dim``) are non-zero: an int64 tensor without grad.

    >>> import microgradnn as mg
    >>> mg.count_nonzero(mg.Tensor([[1.0, 0.0], [2.0, 3.0]]), dim=0).tolist()
    [2, 1]
    """
    dims = _dims("count_nonzero", x, dim, axis)
    return _indices(np.asarray(np.count_nonzero(x._data, axis=dims)))


def median(
    x: Tensor,
    dim: int | None = None,
    keepdim: bool | None = None,
    *,
    axis: int | None = None,
    keepdims: bool | None = None,
) -> Any:
    """The lower middle value, as PyTorch: without ``dim`` a 0-d tensor of all elements; with
    ``dim`` a named tuple ``(values, indices)``. The gradient goes to the picked element.

    >>> import microgradnn as mg
    >>> mg.median(mg.Tensor([4.0, 1.0, 3.0, 2.0])).item()
    2.0
    >>> mg.median(mg.Tensor([[4.0, 1.0, 3.0]]), dim=1).indices.tolist()
    [2]
    """
    d = _dim("median", x, dim, axis)
    keep = keepdim_of("median", keepdim, keepdims)
    if x.numel() == 0:
        raise ShapeError(f"median: cannot take the median of an empty tensor of shape {x.shape}")
    if d is None:
        if keep:
            raise TypeError("median: keepdim needs a dim")
        flat = x.reshape(-1)
        return _picked(flat, _middle(flat._data, 0), 0, False).values
    if x.ndim == 0:
        return ValuesIndices(x, _indices(np.zeros((), np.int64)))
    return _picked(x, _middle(x._data, d), d, keep)


def _middle(data: np.ndarray, dim: int) -> np.ndarray:
    """Index of the lower middle value of each slice along ``dim``, in kept shape."""
    k = (data.shape[dim] - 1) // 2
    order = np.argsort(data, axis=dim, kind="stable")
    return np.take(order, [k], axis=dim)


def quantile(
    x: Tensor,
    q: Any,
    dim: int | None = None,
    keepdim: bool | None = None,
    *,
    interpolation: str = "linear",
    axis: int | None = None,
    keepdims: bool | None = None,
) -> Tensor:
    """The ``q``-th quantiles (q in [0, 1], a number or a 1-d list/tensor) over ``dim`` (of all
    elements when None), interpolating linearly between neighbours as ``torch.quantile``. A 1-d
    ``q`` adds a leading dim. Differentiable through the sorted values.

    >>> import microgradnn as mg
    >>> mg.quantile(mg.Tensor([1.0, 2.0, 3.0, 4.0]), 0.5).item()
    2.5
    """
    from .shape import stack

    if interpolation != "linear":
        raise ValueError(f"quantile: only interpolation='linear' is supported, not {interpolation!r}")
    d = _dim("quantile", x, dim, axis)
    keep = keepdim_of("quantile", keepdim, keepdims)
    qs = np.asarray(q._data if isinstance(q, Tensor) else q, dtype=np.float64)
    if qs.ndim > 1 or np.any((qs < 0) | (qs > 1)) or np.any(np.isnan(qs)):
        raise ValueError(f"quantile: q must be a number or a 1-d sequence in [0, 1], not {q!r}")
    if x.numel() == 0:
        raise ShapeError(f"quantile: cannot take quantiles of an empty tensor of shape {x.shape}")
    source = x.reshape(-1) if d is None or x.ndim == 0 else x
    sd = 0 if d is None or x.ndim == 0 else d
    order = np.argsort(source._data, axis=sd, kind="stable")
    n = source.shape[sd]
    results = []
    for value in qs.reshape(-1):
        position = float(value) * (n - 1)
        lo, hi = math.floor(position), math.ceil(position)
        low = take_along_dim_grad(source, np.take(order, [lo], axis=sd), sd)
        high = take_along_dim_grad(source, np.take(order, [hi], axis=sd), sd)
        out = low + (high - low) * float(position - lo)
        if d is None:
            out = out.reshape((1,) * x.ndim if keep else ())
        elif not keep and x.ndim:
            out = out.reshape(tuple(s for i, s in enumerate(x.shape) if i != d))
        results.append(out)
    return results[0] if qs.ndim == 0 else stack(results, axis=0)


def nansum(
    x: Tensor, dim: Any = None, keepdim: bool | None = None, *, axis: Any = None, keepdims: bool | None = None
) -> Tensor:
    """Sum treating NaN as 0 (their gradient is 0).

    >>> import microgradnn as mg
    >>> mg.nansum(mg.Tensor([1.0, float("nan"), 2.0])).item()
    3.0
    """
    from .elementwise import where

    return sum(where(np.isnan(x._data), 0.0, x), dim, keepdim, axis=axis, keepdims=keepdims)


def nanmean(
    x: Tensor, dim: Any = None, keepdim: bool | None = None, *, axis: Any = None, keepdims: bool | None = None
) -> Tensor:
    """Mean of the non-NaN elements (NaN where a slice has none).

    >>> import microgradnn as mg
    >>> mg.nanmean(mg.Tensor([1.0, float("nan"), 2.0])).item()
    1.5
    """
    dims = _dims("nanmean", x, dim, axis)
    keep = keepdim_of("nanmean", keepdim, keepdims)
    counts = np.sum(~np.isnan(x._data), axis=dims, keepdims=keep).astype(x.dtype)
    return nansum(x, dims, keep) / counts


# ------------------------------------------------------------------ norms
def vector_norm(
    x: Tensor,
    ord: float = 2,
    dim: Any = None,
    keepdim: bool | None = None,
    *,
    axis: Any = None,
    keepdims: bool | None = None,
) -> Tensor:
    """The vector ``ord``-norm over ``dim`` (all elements when None), as
    ``torch.linalg.vector_norm``: ``inf``/``-inf`` the largest/smallest absolute value, 0 the
    count of non-zeros, else ``sum(|x|**ord) ** (1/ord)``.

    >>> import microgradnn as mg
    >>> mg.linalg.vector_norm(mg.Tensor([3.0, -4.0])).item()
    5.0
    >>> mg.linalg.vector_norm(mg.Tensor([3.0, -4.0]), ord=1).item()
    7.0
    """
    dims = _dims("vector_norm", x, dim, axis)
    keep = keepdim_of("vector_norm", keepdim, keepdims)
    if isinstance(ord, str) or isinstance(ord, bool) or not isinstance(ord, (int, float, np.number)):
        raise TypeError(f"vector_norm: ord must be a number, not {ord!r}")
    if ord == 2:
        return Norm2._apply1(x, dims, keep)
    if ord == math.inf:
        return amax(x.abs(), dims, keep)
    if ord == -math.inf:
        return amin(x.abs(), dims, keep)
    if ord == 0:  # not differentiable: a count (gradient 0, as PyTorch)
        return sum(Tensor._wrap((x._data != 0).astype(x.dtype), None), dims, keep)
    if ord == 1:
        return sum(x.abs(), dims, keep)
    return NormP._apply1(x, float(ord), dims, keep)


def matrix_norm(
    x: Tensor,
    ord: Any = "fro",
    dim: tuple[int, int] = (-2, -1),
    keepdim: bool | None = None,
    *,
    keepdims: bool | None = None,
) -> Tensor:
    """The matrix norm over the two dims ``dim``, as ``torch.linalg.matrix_norm``: ``"fro"``
    (Frobenius), ``"nuc"`` (the sum of the singular values), 2/-2 (the largest/smallest
    singular value; these three are differentiable once), 1/-1 (largest/smallest column sum of
    ``|x|``), inf/-inf (row sums).

    >>> import microgradnn as mg
    >>> mg.linalg.matrix_norm(mg.Tensor([[1.0, -2.0], [3.0, 4.0]]), ord=1).item()
    6.0
    """
    keep = keepdim_of("matrix_norm", keepdim, keepdims)
    if x.ndim < 2:
        raise ShapeError(f"matrix_norm: needs a tensor of at least 2 dims, not shape {x.shape}")
    if not isinstance(dim, (tuple, list)) or len(dim) != 2:
        raise TypeError(f"matrix_norm: dim must be a pair of dims, not {dim!r}")
    r, c = dims_of("matrix_norm", dim[0], None, x.shape), dims_of("matrix_norm", dim[1], None, x.shape)
    assert r is not None and c is not None
    rows, cols = r[0], c[0]
    if rows == cols:
        raise ShapeError(f"matrix_norm: dim {tuple(dim)} names one dim twice for shape {x.shape}")
    if ord == "fro":
        return Norm2._apply1(x, tuple(sorted((rows, cols))), keep)
    if ord in (1, -1, math.inf, -math.inf):
        # 1: sum over rows (each column's sum), then the extreme over columns; inf the other way.
        inner, outer = (rows, cols) if ord in (1, -1) else (cols, rows)
        sums = sum(x.abs(), inner, True)
        pick = amax if ord > 0 else amin
        out = pick(sums, outer, True)
        return out if keep else out.reshape(tuple(n for i, n in enumerate(x.shape) if i not in (rows, cols)))
    if ord in (2, -2, "nuc"):
        from .linalg import svdvals  # linalg imports the reductions

        last = x.permute(*[i for i in range(x.ndim) if i not in (rows, cols)], rows, cols)
        values = svdvals(last)
        out = amax(values, -1) if ord == 2 else amin(values, -1) if ord == -2 else sum(values, -1)
        if keep:
            kept = list(x.shape)
            kept[rows] = kept[cols] = 1
            out = out.reshape(tuple(kept))
        return out
    raise ValueError(f"matrix_norm: ord {ord!r} is not supported (use 'fro', 'nuc', 1, -1, 2, -2, inf or -inf)")


def linalg_norm(
    x: Tensor, ord: Any = None, dim: Any = None, keepdim: bool | None = None, *, keepdims: bool | None = None
) -> Tensor:
    """``torch.linalg.norm``: a vector norm for an int ``dim`` (or a 1-d tensor), a matrix norm
    for a pair of dims (or a 2-d tensor when ``ord`` is given); the 2-norm of all elements when
    ``ord`` and ``dim`` are both None.

    >>> import microgradnn as mg
    >>> mg.linalg.norm(mg.Tensor([[3.0, 0.0], [0.0, 4.0]])).item()
    5.0
    """
    keep = keepdim_of("norm", keepdim, keepdims)
    if dim is None and ord is None:
        return vector_norm(x, 2, None, keep)
    if isinstance(dim, (tuple, list)) and len(dim) == 2 or (dim is None and x.ndim == 2):
        return matrix_norm(x, "fro" if ord is None else ord, (-2, -1) if dim is None else tuple(dim), keep)
    if dim is None and x.ndim != 1:
        raise ShapeError(f"norm: ord={ord!r} without dim needs a 1-d or 2-d tensor, not shape {x.shape}")
    return vector_norm(x, 2 if ord is None else ord, dim, keep)


def norm(x: Tensor, p: Any = "fro", dim: Any = None, keepdim: bool = False, *, axis: Any = None) -> Tensor:
    """``torch.norm``: ``p="fro"`` (or 2) the 2-norm over ``dim`` (all elements when None); a
    number ``p`` the vector p-norm over ``dim``; ``"nuc"`` the nuclear norm of a matrix (or
    over the two dims ``dim``).

    >>> import microgradnn as mg
    >>> mg.norm(mg.Tensor([[3.0, 4.0], [0.0, 0.0]]), dim=1).tolist()
    [5.0, 0.0]
    """
    if axis is not None:
        if dim is not None:
            raise TypeError("norm: give dim= or axis=, not both")
        dim = axis
    if p == "nuc":
        return matrix_norm(x, "nuc", (-2, -1) if dim is None else tuple(dim), keepdim)
    if p == "fro":
        p = 2
    if isinstance(p, str):
        raise ValueError(f"norm: p={p!r} is not supported (use 'fro', 'nuc' or a number)")
    return vector_norm(x, p, dim, keepdim)
