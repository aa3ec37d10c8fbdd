"""Indexing ops: gather, scatter, scatter_add, index_select, take_along_axis, masked_select, and
the index-producing nonzero and one-argument where.

Each gathering op is ``x[index]`` for an integer index built from its arguments, so one pair of
ops serves them all: :class:`~microgradnn.ops.shape.GetItem`, whose backward adds the gradient
back at the index (repeated indices accumulate), and its adjoint ``ScatterAdd``. Index tensors
are int64 (or any integer dtype); they are never differentiated.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import Function
from ..errors import ShapeError, shape_of
from ..tensor import Tensor, as_tensor
from . import elementwise
from .arguments import check_dim
from .shape import GetItem, ScatterAdd, broadcast_to, getitem

__all__ = [
    "gather",
    "scatter",
    "scatter_add",
    "index_select",
    "take_along_axis",
    "take_along_dim",
    "masked_select",
    "nonzero",
    "where",
    "masked_fill",
    "clamp",
    "clamp_min",
    "clamp_max",
]


def index_array(index: Any, op: str) -> np.ndarray:
    """An index given as an int Tensor, an integer ndarray or a list, as an integer ndarray;
    anything else (a float tensor, say) raises a TypeError naming ``op``."""
    array = index._data if isinstance(index, Tensor) else np.asarray(index)
    if array.dtype.kind not in "iu" and not (array.size == 0 and array.dtype.kind == "f"):
        raise TypeError(
            f"{op}: the index must hold integers, not {array.dtype} (make it with dtype=np.int64, or call .long())"
        )
    return array.astype(np.int64, copy=False)


def _in_range(op: str, index: np.ndarray, n: int, shape: tuple[int, ...], dim: int, negative: bool) -> None:
    low = -n if negative else 0
    if index.size and (index.min() < low or index.max() >= n):
        bad = index.min() if index.min() < low else index.max()
        raise IndexError(f"{op}: index {bad} is out of range for dim {dim} of size {n} (tensor of shape {shape})")


def _along(index: np.ndarray, dim: int, sizes: tuple[int, ...]) -> tuple[np.ndarray, ...]:
    """The full integer index that picks ``index`` along ``dim`` and position ``k`` along every
    other dim (``sizes[k]`` of them, broadcast against the index)."""
    ndim = index.ndim
    parts = []
    for k in range(ndim):
        if k == dim:
            parts.append(index)
        else:
            shape = [1] * ndim
            shape[k] = sizes[k]
            parts.append(np.arange(sizes[k]).reshape(shape))
    return tuple(parts)


def _gather_index(op: str, x: Tensor, dim: int, index: Any) -> tuple[int, np.ndarray, tuple[np.ndarray, ...]]:
    """Check a PyTorch-style (gather, scatter) index against ``x`` and build the full index."""
    idx = index_array(index, op)
    d = check_dim(op, dim, x.shape)
    if idx.ndim != x.ndim:
        raise ShapeError(f"{op}: index of shape {idx.shape} must have as many dims as the input's shape {x.shape}")
    if any(i > n for k, (i, n) in enumerate(zip(idx.shape, x.shape, strict=True)) if k != d):
        raise ShapeError(
            f"{op}: index of shape {idx.shape} is larger than the input's shape {x.shape} outside dim {dim}"
        )
    if x.ndim == 0:
        _in_range(op, idx, 1, x.shape, d, False)
        return d, idx, ()
    _in_range(op, idx, x.shape[d], x.shape, d, False)
    return d, idx, _along(idx, d, idx.shape)


def gather(input: Tensor, dim: int, index: Any) -> Tensor:
    """``out[i][j][k] = input[index[i][j][k]][j][k]`` for ``dim=0`` (and so on), as
    ``torch.gather``: the index has the input's number of dims and is no larger outside ``dim``.

    >>> import numpy as np, microgradnn as mg
    >>> x = mg.Tensor([[1.0, 2.0], [3.0, 4.0]])
    >>> mg.gather(x, 1, mg.Tensor([[0, 0], [1, 0]], dtype=np.int64)).tolist()
    [[1.0, 1.0], [4.0, 3.0]]
    """
    _, _, full = _gather_index("gather", input, dim, index)
    return GetItem.apply(input, index=full)


def _trimmed_src(op: str, src: Tensor, idx: np.ndarray) -> Tensor:
    """The part of ``src`` that an index of ``idx.shape`` reads (PyTorch allows a larger src)."""
    if src.ndim != idx.ndim or any(i > n for i, n in zip(idx.shape, src.shape, strict=True)):
        raise ShapeError(f"{op}: src of shape {src.shape} is smaller than the index's shape {idx.shape}")
    if src.shape == idx.shape:
        return src
    return getitem(src, tuple(slice(0, n) for n in idx.shape))


class Scatter(Function):
    """``input`` with ``src`` written at ``index``; written places take no gradient from input."""

    __slots__ = ("index", "keep")
    name = "scatter"
    differentiable_twice = True

    @staticmethod
    def forward(ctx: Any, x: np.ndarray, src: Any, index: tuple[np.ndarray, ...]) -> np.ndarray:
        out = x.copy()
        out[index] = src
        ctx.index = index
        ctx.keep = np.ones(x.shape, dtype=bool)
        ctx.keep[index] = False
        return out

    @staticmethod
    def backward(ctx: Any, g: Any) -> tuple[Any, Any]:
        # Where an index repeats, NumPy (like PyTorch) keeps one of the writes; each gets g.
        return g * ctx.keep, g[ctx.index]


def scatter(
    input: Tensor, dim: int, index: Any, src: Any = None, *, value: Any = None, reduce: str | None = None
) -> Tensor:
    """A copy of ``input`` with ``src`` (a tensor, or a number) written at ``index`` along
    ``dim`` (the inverse of gather), as ``torch.scatter``. Differentiable in input and src.
    ``reduce="add"`` adds instead of writing (``scatter_add``; a number is added too);
    PyTorch's ``"multiply"`` is not supported.

    >>> import numpy as np, microgradnn as mg
    >>> mg.scatter(mg.zeros(2, 3), 1, mg.Tensor([[2], [0]], dtype=np.int64), 5.0).tolist()
    [[0.0, 0.0, 5.0], [5.0, 0.0, 0.0]]
    """
    if (src is None) == (value is None):
        raise TypeError("scatter: give src (a tensor or a number) or value=, one of them")
    src = value if src is None else src
    if reduce is not None:
        if reduce != "add":
            raise ValueError(f"scatter: reduce must be None or 'add', not {reduce!r}")
        if isinstance(src, (int, float, bool, np.number)):
            src = Tensor._wrap(np.full(index_array(index, "scatter").shape, src, dtype=input.dtype), None)
        return scatter_add(input, dim, index, src)
    _, idx, full = _gather_index("scatter", input, dim, index)
    if isinstance(src, (int, float, bool, np.number)):
        return Scatter.apply(input, np.asarray(src, dtype=input.dtype), index=full)
    part = _trimmed_src("scatter", as_tensor(src, input.dtype if not isinstance(src, Tensor) else None), idx)
    return Scatter.apply(input, part, index=full)


def scatter_add(input: Tensor, dim: int, index: Any, src: Any) -> Tensor:
    """A copy of ``input`` with ``src`` added at ``index`` along ``dim``; repeated indices add
    up, as ``torch.scatter_add``. Differentiable in input and src.

    >>> import numpy as np, microgradnn as mg
    >>> mg.scatter_add(mg.zeros(3), 0, mg.Tensor([0, 0, 2], dtype=np.int64), mg.ones(3)).tolist()
    [2.0, 0.0, 1.0]
    """
    _, idx, full = _gather_index("scatter_add", input, dim, index)
    part = _trimmed_src("scatter_add", as_tensor(src, input.dtype if not isinstance(src, Tensor) else None), idx)
    if input.ndim == 0:
        return input + part.sum()
    return input + ScatterAdd.apply(part, index=full, shape=input.shape, basic=False)


def index_select(input: Tensor, dim: int, index: Any) -> Tensor:
    """The entries at positions ``index`` (a 1-d integer tensor) along ``dim``.

    >>> import numpy as np, microgradnn as mg
    >>> x = mg.Tensor([[1.0, 2.0], [3.0, 4.0]])
    >>> mg.index_select(x, 0, mg.Tensor([1, 1], dtype=np.int64)).tolist()
    [[3.0, 4.0], [3.0, 4.0]]
    """
    idx = index_array(index, "index_select")
    d = check_dim("index_select", dim, input.shape)
    if idx.ndim > 1:
        raise ShapeError(f"index_select: the index must be 1-d, got shape {idx.shape}")
    if input.ndim == 0:
        _in_range("index_select", idx, 1, input.shape, d, False)
        return GetItem.apply(input.reshape(1), index=idx)
    _in_range("index_select", idx, input.shape[d], input.shape, d, False)
    return GetItem.apply(input, index=(slice(None),) * d + (idx.reshape(-1),))


def take_along_axis(arr: Tensor, indices: Any, axis: int | None = -1) -> Tensor:
    """NumPy's ``take_along_axis``: pick ``indices`` along ``axis``, the index broadcasting
    against ``arr`` on the other axes (negative indices count from the end); ``axis=None``
    works on the flattened tensor.

    >>> import numpy as np, microgradnn as mg
    >>> x = mg.Tensor([[10.0, 30.0, 20.0]])
    >>> mg.take_along_axis(x, np.argsort(x.data, axis=1), axis=1).tolist()
    [[10.0, 20.0, 30.0]]
    """
    idx = index_array(indices, "take_along_axis")
    if axis is None:
        arr, axis = arr.reshape(-1), 0
    d = check_dim("take_along_axis", axis, arr.shape)
    if idx.ndim != arr.ndim or arr.ndim == 0:
        raise ShapeError(
            f"take_along_axis: indices of shape {idx.shape} must have as many dims as arr's shape {arr.shape}"
        )
    try:
        np.broadcast_shapes(idx.shape[:d] + idx.shape[d + 1 :], arr.shape[:d] + arr.shape[d + 1 :])
    except ValueError:
        raise ShapeError(
            f"take_along_axis: indices of shape {idx.shape} do not broadcast against shape {arr.shape}"
        ) from None
    _in_range("take_along_axis", idx, arr.shape[d], arr.shape, d, True)
    return GetItem.apply(arr, index=_along(idx, d, arr.shape))


def take_along_dim(input: Tensor, indices: Any, dim: int | None = None) -> Tensor:
    """Pick ``indices`` along ``dim``, as ``torch.take_along_dim`` (the index broadcasting
    against ``input`` on the other dims); without ``dim``, on the flattened tensor.

    >>> import microgradnn as mg
    >>> x = mg.Tensor([[10.0, 30.0, 20.0]])
    >>> mg.take_along_dim(x, x.argsort(dim=1), dim=1).tolist()
    [[10.0, 20.0, 30.0]]
    """
    if dim is None:
        return take_along_axis(input.reshape(-1), index_array(indices, "take_along_dim").reshape(-1), 0)
    return take_along_axis(input, indices, dim)


def masked_select(input: Tensor, mask: Any) -> Tensor:
    """The 1-d tensor of the entries where ``mask`` (boolean, broadcast with input) is true.

    >>> import microgradnn as mg
    >>> x = mg.Tensor([[1.0, -2.0], [-3.0, 4.0]])
    >>> mg.masked_select(x, x > 0).tolist()
    [1.0, 4.0]
    """
    m = mask._data if isinstance(mask, Tensor) else np.asarray(mask)
    if m.dtype != bool:
        raise TypeError(f"masked_select: the mask must be boolean, not {m.dtype}")
    try:
        shape = np.broadcast_shapes(input.shape, m.shape)
    except ValueError:
        raise ShapeError(
            f"masked_select: mask of shape {m.shape} does not broadcast with the input's {input.shape}"
        ) from None
    if shape != input.shape:
        input = broadcast_to(input, shape)
    return GetItem.apply(input, index=np.broadcast_to(m, shape))


def nonzero(input: Any, *, as_tuple: bool = False) -> Any:
    """The indices of the non-zero entries: an ``(n, ndim)`` int64 tensor, one row per entry in
    row-major order, or with ``as_tuple=True`` one 1-d int64 tensor per dim (NumPy's
    ``nonzero``). Not differentiable.

    >>> import microgradnn as mg
    >>> mg.Tensor([[0.0, 1.0], [2.0, 0.0]]).nonzero().tolist()
    [[0, 1], [1, 0]]
    """
    data = input._data if isinstance(input, Tensor) else np.asarray(input)
    if as_tuple:
        # (a 0-d input counts as 1-d, as in PyTorch and NumPy's atleast_1d)
        return tuple(Tensor._wrap(i.astype(np.int64, copy=False), None) for i in np.nonzero(np.atleast_1d(data)))
    return Tensor._wrap(np.argwhere(data).astype(np.int64, copy=False), None)


def where(condition: Any, input: Any = None, other: Any = None) -> Any:
    """``input`` where ``condition`` is true, else ``other`` (differentiable, broadcasting);
    with the condition alone, ``nonzero(condition, as_tuple=True)``: a tuple of int64 index
    tensors, as ``torch.where(cond)`` and ``np.where(cond)``.

    >>> import microgradnn as mg
    >>> x = mg.Tensor([-1.0, 2.0, 3.0])
    >>> mg.where(x > 0, x, 0.0).tolist()
    [0.0, 2.0, 3.0]
    >>> mg.where(x > 0)[0].tolist()
    [1, 2]
    """
    if input is None and other is None:
        return nonzero(condition, as_tuple=True)
    if input is None or other is None:
        raise TypeError(
            f"where: give the condition alone, or with both input and other (got shapes "
            f"{shape_of(condition)} and {shape_of(input if other is None else other)})"
        )
    return elementwise.where(condition, input, other)


# ------------------------------------------------------------------ masks and bounds (built on where)
def masked_fill(input: Tensor, mask: Any, value: Any) -> Tensor:
    """``input`` with ``value`` (a number or a 0-d tensor) where ``mask`` is true, as
    ``torch.masked_fill``; the mask broadcasts to the input's shape.

    >>> import microgradnn as mg
    >>> x = mg.Tensor([1.0, -2.0, 3.0])
    >>> x.masked_fill(x < 0, 0.0).tolist()
    [1.0, 0.0, 3.0]
    """
    m = mask._data if isinstance(mask, Tensor) else np.asarray(mask)
    if m.dtype != bool:
        raise TypeError(f"masked_fill: the mask must be boolean, not {m.dtype}")
    try:
        if np.broadcast_shapes(input.shape, m.shape) != input.shape:
            raise ValueError
    except ValueError:
        raise ShapeError(
            f"masked_fill: mask of shape {m.shape} does not broadcast to the input's shape {input.shape}"
        ) from None
    if isinstance(value, Tensor) and value.ndim:
        raise ShapeError(f"masked_fill: value must be a number or a 0-d tensor, got shape {value.shape}")
    return elementwise.where(m, value, input)


def clamp(input: Tensor, min: Any = None, max: Any = None) -> Tensor:
    """Limit each element to [min, max], as ``torch.clamp``; either bound may be None, a
    number or a tensor (broadcasting). The gradient goes to ``input`` where it lies inside the
    bounds (inclusive), and to a tensor bound where that bound is taken.

    >>> import microgradnn as mg
    >>> mg.clamp(mg.Tensor([-2.0, 0.5, 2.0]), min=-1.0, max=1.0).tolist()
    [-1.0, 0.5, 1.0]
    """
    if min is None and max is None:
        raise ValueError("clamp: give min, max or both")
    if not isinstance(min, Tensor) and not isinstance(max, Tensor):
        return elementwise.clip(input, min, max)
    out = input
    if min is not None:
        out = elementwise.where(out < min, min, out)
    if max is not None:
        # Applied last, so min > max gives max everywhere, as in PyTorch.
        out = elementwise.where(out > max, max, out)
    return out


def clamp_min(input: Tensor, min: Any) -> Tensor:
    """``clamp(input, min=min)``.

    >>> import microgradnn as mg
    >>> mg.clamp_min(mg.Tensor([-2.0, 2.0]), 0.0).tolist()
    [0.0, 2.0]
    """
    return clamp(input, min=min)


def clamp_max(input: Tensor, max: Any) -> Tensor:
    """``clamp(input, max=max)``.

    >>> import microgradnn as mg
    >>> mg.clamp_max(mg.Tensor([-2.0, 2.0]), 0.0).tolist()
    [-2.0, 0.0]
    """
    return clamp(input, max=max)
