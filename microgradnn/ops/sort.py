"""Ordering: sort, argsort, topk and kthvalue, as PyTorch's.

The values are differentiable (each gradient goes back to the entry it came from); the indices
are int64 tensors without grad. Sorting is always stable, so ties keep their order (a valid
result of PyTorch's unstable sort too, and the one ``stable=True`` promises).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ShapeError
from ..tensor import Tensor
from .arguments import check_dim
from .reduce import ValuesIndices, take_along_dim_grad

__all__ = ["sort", "argsort", "topk", "kthvalue"]


def _one_dim(op: str, x: Tensor, dim: Any, axis: Any) -> int:
    if axis is not None:
        if dim != -1 and dim is not None:
            raise TypeError(f"{op}: give dim= or axis=, not both")
        dim = axis
    return check_dim(op, -1 if dim is None else dim, x.shape)


def _order(data: np.ndarray, dim: int, descending: bool) -> np.ndarray:
    """Stable argsort along ``dim``; descending keeps tied entries in their original order."""
    if not descending:
        return np.argsort(data, axis=dim, kind="stable")
    # Reversing, sorting ascending stably and reversing back would reverse the ties: instead sort
    # the negated values (NaN, largest in PyTorch's order, stays last in NumPy's: move it first).
    key = np.where(np.isnan(data), -np.inf, -data)
    order = np.argsort(key, axis=dim, kind="stable")
    nan_first = np.argsort(~np.isnan(np.take_along_axis(data, order, dim)), axis=dim, kind="stable")
    return np.take_along_axis(order, nan_first, dim)


def _result(x: Tensor, index: np.ndarray, dim: int) -> ValuesIndices:
    if x.ndim == 0:
        return ValuesIndices(x, Tensor._wrap(np.zeros((), np.int64), None))
    return ValuesIndices(take_along_dim_grad(x, index, dim), Tensor._wrap(index.astype(np.int64), None))


def sort(
    x: Tensor, dim: int = -1, descending: bool = False, stable: bool = False, *, axis: int | None = None
) -> ValuesIndices:
    """The values along ``dim`` in order, and where each came from: ``(values, indices)``.

    >>> import microgradnn as mg
    >>> values, indices = mg.sort(mg.Tensor([3.0, 1.0, 2.0]), descending=True)
    >>> values.tolist(), indices.tolist()
    ([3.0, 2.0, 1.0], [0, 2, 1])
    """
    d = _one_dim("sort", x, dim, axis)
    data = x._data if x.ndim else x._data.reshape(1)
    return _result(x, _order(data, d, descending), d)


def argsort(
    x: Tensor, dim: int = -1, descending: bool = False, stable: bool = False, *, axis: int | None = None
) -> Tensor:
    """The indices that sort ``x`` along ``dim`` (int64, no grad).

    >>> import microgradnn as mg
    >>> mg.argsort(mg.Tensor([3.0, 1.0, 2.0])).tolist()
    [1, 2, 0]
    """
    return sort(x, dim, descending, stable, axis=axis).indices


def topk(
    x: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True, *, axis: int | None = None
) -> ValuesIndices:
    """The ``k`` largest (``largest=False``: smallest) entries along ``dim``, in order.

    >>> import microgradnn as mg
    >>> mg.topk(mg.Tensor([1.0, 5.0, 3.0, 4.0]), 2).values.tolist()
    [5.0, 4.0]
    """
    d = _one_dim("topk", x, dim, axis)
    n = x.shape[d] if x.ndim else 1
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 0 <= k <= n:
        raise ShapeError(f"topk: k={k!r} is out of range for dim {d} of a tensor of shape {x.shape}")
    data = x._data if x.ndim else x._data.reshape(1)
    order = np.take(_order(data, d, largest), np.arange(k), axis=d)
    return _result(x, order, d)


def kthvalue(
    x: Tensor, k: int, dim: int = -1, keepdim: bool = False, *, axis: int | None = None, keepdims: bool | None = None
) -> ValuesIndices:
    """The ``k``-th smallest entry (k counts from 1) along ``dim``: ``(values, indices)``.

    >>> import microgradnn as mg
    >>> mg.kthvalue(mg.Tensor([4.0, 1.0, 3.0]), 2).values.item()
    3.0
    """
    from .arguments import keepdim_of

    d = _one_dim("kthvalue", x, dim, axis)
    keep = keepdim_of("kthvalue", keepdim or None, keepdims)
    n = x.shape[d] if x.ndim else 1
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= n:
        raise ShapeError(f"kthvalue: k={k!r} is out of range for dim {d} of a tensor of shape {x.shape}")
    data = x._data if x.ndim else x._data.reshape(1)
    index = np.take(_order(data, d, False), [k - 1], axis=d)
    values, indices = _result(x, index, d)
    if not keep and x.ndim:
        return ValuesIndices(
            values.reshape(indices.shape[:d] + indices.shape[d + 1 :]), Tensor._wrap(np.squeeze(indices._data, d), None)
        )
    return ValuesIndices(values, indices)
