"""Scans along one dim: cumsum, cumprod, logcumsumexp, cummax and cummin.

PyTorch's names and its required ``dim`` (NumPy's ``axis`` is accepted too). cummax and cummin
return ``(values, indices)``; their gradient goes to the entry each running extreme came from.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import Function
from ..tensor import Tensor
from .arguments import check_dim
from .reduce import ValuesIndices, take_along_dim_grad

__all__ = ["cumsum", "cumprod", "logcumsumexp", "cummax", "cummin"]


def _scan_dim(op: str, x: Tensor, dim: Any, axis: Any) -> int:
    if dim is not None and axis is not None:
        raise TypeError(f"{op}: give dim= or axis=, not both")
    chosen = dim if dim is not None else axis
    if chosen is None:
        raise TypeError(f"{op}: dim is required")
    return check_dim(op, chosen, x.shape)


def _flip(a: Any, dim: int) -> Any:
    """``a`` reversed along ``dim`` (indexing: the same on ndarrays and Tensors)."""
    return a[(slice(None),) * dim + (slice(None, None, -1),)]


def _reverse_cumsum(a: Any, dim: int) -> Any:
    """sum over j >= i along ``dim``: cumsum's adjoint."""
    return _flip(_flip(a, dim).cumsum(dim), dim)


class _Scan(Function):
    __slots__ = ("dim",)
    differentiable_twice = True
    may_warn = True


class CumSum(_Scan):
    __slots__ = ()
    name = "cumsum"

    @staticmethod
    def forward(ctx: Any, x: np.ndarray, dim: int) -> np.ndarray:
        ctx.dim = dim
        return np.cumsum(x, axis=dim)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return _reverse_cumsum(g, ctx.dim)


class CumProd(_Scan):
    __slots__ = ()
    name = "cumprod"

    @staticmethod
    def forward(ctx: Any, x: np.ndarray, dim: int) -> np.ndarray:
        ctx.dim = dim
        out = np.cumprod(x, axis=dim)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        # grad_i = sum_{j >= i} g_j * prod_{k <= j, k != i} x_k. Before a slice's first zero
        # that is reverse_cumsum(g * out) / x_i; at the first zero it is reverse_cumsum(g * c)
        # with c the running product that skips that zero; after it, 0.
        x, out = ctx.saved_tensors
        xs, d = np.asarray(x._data if isinstance(x, Tensor) else x), ctx.dim
        zero = xs == 0
        seen = np.cumsum(zero, axis=d)
        if not zero.any():
            return _reverse_cumsum(g * out, d) / x
        if isinstance(x, Tensor):
            return _cumprod_grad_recorded(x, g, d)
        # Masks as floats of x's dtype, constant to the derivative.
        before, first = (seen == 0).astype(xs.dtype), (zero & (seen == 1)).astype(xs.dtype)
        safe = x * (1 - zero) + zero
        skipping = x * (1 - first) + first
        c = skipping.cumprod(d) if isinstance(skipping, Tensor) else np.cumprod(skipping, axis=d)
        return _reverse_cumsum(g * out, d) / safe * before + _reverse_cumsum(g * c, d) * first


def _cumprod_grad_recorded(x: Tensor, g: Tensor, d: int) -> Tensor:
    """cumprod's gradient as recorded Tensor ops, exact through any number of zeros (for
    differentiating twice): row k of an (n, n) matrix is the slice with x_k replaced by 1, so
    its running product at i is prod_{j <= i, j != k} x_j; grad_k sums g_i of it over i >= k.
    O(n^2) along the dim, paid only with zeros in the input under create_graph."""
    from .elementwise import where  # elementwise imports the reductions this module uses

    n = x.shape[d]
    xs, gs = x.swapaxes(d, -1), g.swapaxes(d, -1)
    rows = where(np.eye(n, dtype=bool), 1.0, xs.unsqueeze(-2))  # [..., k, j]
    running = CumProd._apply1(rows, rows.ndim - 1)  # [..., k, i]
    later = np.triu(np.ones((n, n), dtype=bool))  # [k, i]: i >= k
    return (where(later, running, 0.0) * gs.unsqueeze(-2)).sum(-1).swapaxes(d, -1)


class LogCumSumExp(_Scan):
    __slots__ = ()
    name = "logcumsumexp"
    differentiable_twice = True
    may_warn = True

    @staticmethod
    def forward(ctx: Any, x: np.ndarray, dim: int) -> np.ndarray:
        ctx.dim = dim
        out = np.logaddexp.accumulate(x, axis=dim)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        # grad_i = sum_{j >= i} g_j exp(x_i - out_j), with x_i <= out_j for every j >= i.
        x, out = ctx.saved_tensors
        d = ctx.dim
        if isinstance(g, Tensor):
            return _logcumsumexp_grad_recorded(x, out, g, d)
        # On arrays: summed in log space for each sign of g, in O(n), so nothing overflows:
        # exp(x_i + reverse_logcumsumexp(log|g_j| - out_j)).
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            total = np.zeros_like(x)
            for sign in (1.0, -1.0):
                part = np.log(np.maximum(sign * g, 0)) - out
                acc = _flip(np.logaddexp.accumulate(_flip(part, d), axis=d), d)
                total = total + sign * np.exp(x + acc)
        return total


def _logcumsumexp_grad_recorded(x: Tensor, out: Tensor, g: Tensor, d: int) -> Tensor:
    """logcumsumexp's gradient as recorded Tensor ops (for create_graph): the matrix of
    weights exp(x_i - out_j) for j >= i, each at most 1, so nothing overflows. O(n^2) along
    the dim, paid only when differentiating twice."""
    from .elementwise import where  # elementwise imports the reductions this module uses

    n = x.shape[d]
    xs, outs, gs = x.swapaxes(d, -1), out.swapaxes(d, -1), g.swapaxes(d, -1)
    later = np.triu(np.ones((n, n), dtype=bool))  # [i, j]: j >= i
    weights = where(later, xs.unsqueeze(-1) - outs.unsqueeze(-2), -np.inf).exp()
    return (weights * gs.unsqueeze(-2)).sum(-1).swapaxes(d, -1)


def cumsum(x: Tensor, dim: int | None = None, *, axis: int | None = None) -> Tensor:
    """Running sum along ``dim``.

    >>> import microgradnn as mg
    >>> mg.cumsum(mg.Tensor([1.0, 2.0, 3.0]), dim=0).tolist()
    [1.0, 3.0, 6.0]
    """
    return CumSum._apply1(x, _scan_dim("cumsum", x, dim, axis))


def cumprod(x: Tensor, dim: int | None = None, *, axis: int | None = None) -> Tensor:
    """Running product along ``dim``; the gradient is right with zeros in the input.

    >>> import microgradnn as mg
    >>> x = mg.Tensor([2.0, 0.0, 3.0], requires_grad=True)
    >>> mg.cumprod(x, 0).sum().backward()
    >>> x.grad.tolist()
    [1.0, 8.0, 0.0]
    """
    return CumProd._apply1(x, _scan_dim("cumprod", x, dim, axis))


def logcumsumexp(x: Tensor, dim: int | None = None, *, axis: int | None = None) -> Tensor:
    """Running log(sum(exp(x))) along ``dim``; no overflow for large inputs.

    >>> import microgradnn as mg
    >>> mg.logcumsumexp(mg.Tensor([1000.0, 1000.0]), 0).tolist()
    [1000.0, 1000.6931471805599]
    """
    return LogCumSumExp._apply1(x, _scan_dim("logcumsumexp", x, dim, axis))


def _cumextreme(op: str, accumulate: Any, x: Tensor, dim: Any, axis: Any) -> ValuesIndices:
    d = _scan_dim(op, x, dim, axis)
    data = x._data if x.ndim else x._data.reshape(1)
    running = accumulate(data, axis=d)
    shape = [1] * data.ndim
    shape[d] = data.shape[d]
    positions = np.arange(data.shape[d]).reshape(shape)
    # The latest entry equal to the running extreme is where it came from (PyTorch's choice on
    # ties); NaN is its own extreme from where it appears on.
    hit = (data == running) | np.isnan(data)
    index = np.maximum.accumulate(np.where(hit, positions, 0), axis=d)
    if not x.ndim:
        return ValuesIndices(x, Tensor._wrap(np.zeros((), np.int64), None))
    return ValuesIndices(take_along_dim_grad(x, index, d), Tensor._wrap(index.astype(np.int64), None))


def cummax(x: Tensor, dim: int | None = None, *, axis: int | None = None) -> ValuesIndices:
    """Running maximum along ``dim``: ``(values, indices)``.

    >>> import microgradnn as mg
    >>> mg.cummax(mg.Tensor([1.0, 3.0, 2.0]), 0).indices.tolist()
    [0, 1, 1]
    """
    return _cumextreme("cummax", np.maximum.accumulate, x, dim, axis)


def cummin(x: Tensor, dim: int | None = None, *, axis: int | None = None) -> ValuesIndices:
    """Running minimum along ``dim``: ``(values, indices)``.

    >>> import microgradnn as mg
    >>> mg.cummin(mg.Tensor([3.0, 1.0, 2.0]), 0).values.tolist()
    [3.0, 1.0, 1.0]
    """
    return _cumextreme("cummin", np.minimum.accumulate, x, dim, axis)
