"""Shape operations: reshape (and squeeze, expand_dims, flatten), transpose, broadcast_to,
indexing, concatenate and stack.

Like NumPy, reshape, transpose, broadcast_to and basic indexing return views that share the
input's memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..autograd import Function, sum_to
from ..errors import ShapeError
from ..tensor import Tensor, as_tensor
from . import backmath
from .elementwise import operand
from .reduce import normalize_axes

__all__ = [
    "reshape",
    "transpose",
    "swapaxes",
    "squeeze",
    "expand_dims",
    "flatten",
    "broadcast_to",
    "getitem",
    "concatenate",
    "stack",
]


class Reshape(Function):
    __slots__ = ("in_shape",)
    name = "reshape"
    differentiable_twice = True

    @staticmethod
    def forward(ctx: Any, x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        ctx.in_shape = x.shape
        return x.reshape(shape)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return g.reshape(ctx.in_shape)


class Transpose(Function):
    __slots__ = ("inverse",)
    name = "transpose"
    differentiable_twice = True

    @staticmethod
    def forward(ctx: Any, x: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
        ctx.inverse = tuple(np.argsort(axes))
        return x.transpose(axes)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return g.transpose(ctx.inverse)


class BroadcastTo(Function):
    __slots__ = ("in_shape",)
    name = "broadcast_to"
    differentiable_twice = True

    @staticmethod
    def forward(ctx: Any, x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        ctx.in_shape = x.shape
        return np.broadcast_to(x, shape)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return sum_to(g, ctx.in_shape, "broadcast_to")


class GetItem(Function):
    __slots__ = ("index", "in_shape", "basic")
    name = "getitem"
    differentiable_twice = True

    @staticmethod
    def forward(ctx: Any, x: np.ndarray, index: Any) -> np.ndarray:
        ctx.index, ctx.in_shape = index, x.shape
        ctx.basic = _is_basic(index)
        return x[index]

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return backmath.scatter_add(g, ctx.index, ctx.in_shape, ctx.basic)


class ScatterAdd(Function):
    """Zeros of ``shape`` with ``g`` added at ``index``: getitem's backward, and its adjoint."""

    __slots__ = ("index",)

    name = "scatter_add"
    may_warn = True
    differentiable_twice = True

    @staticmethod
    def forward(ctx: Any, g: np.ndarray, index: Any, shape: tuple[int, ...], basic: bool) -> np.ndarray:
        ctx.index = index
        return backmath.scatter_add(g, index, shape, basic)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return g[ctx.index]


class Concatenate(Function):
    __slots__ = ("axis", "sizes")
    name = "concatenate"
    differentiable_twice = True

    @staticmethod
    def forward(ctx: Any, *arrays: np.ndarray, axis: int = 0) -> np.ndarray:
        out = np.concatenate(arrays, axis=axis)
        ctx.axis = axis % out.ndim
        ctx.sizes = [a.shape[ctx.axis] for a in arrays]
        return out

    @staticmethod
    def backward(ctx: Any, g: Any) -> tuple[Any, ...]:
        lead = (slice(None),) * ctx.axis
        grads, start = [], 0
        for size, needed in zip(ctx.sizes, ctx.needs_input_grad, strict=True):
            grads.append(g[lead + (slice(start, start + size),)] if needed else None)
            start += size
        return tuple(grads)


class Stack(Function):
    __slots__ = ("axis",)
    name = "stack"
    differentiable_twice = True

    @staticmethod
    def forward(ctx: Any, *arrays: np.ndarray, axis: int = 0) -> np.ndarray:
        out = np.stack(arrays, axis=axis)
        ctx.axis = axis % out.ndim
        return out

    @staticmethod
    def backward(ctx: Any, g: Any) -> tuple[Any, ...]:
        lead = (slice(None),) * ctx.axis
        return tuple(g[lead + (i,)] if needed else None for i, needed in enumerate(ctx.needs_input_grad))


def _shape_arg(shape: tuple[Any, ...], op: str) -> tuple[int, ...]:
    """Accept ``f(2, 3)`` and ``f((2, 3))``, as NumPy's methods and PyTorch do."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    if not all(isinstance(n, (int, np.integer)) for n in shape):
        raise TypeError(f"{op}: a shape is a tuple of ints, not {shape!r}")
    return tuple(int(n) for n in shape)


def reshape(x: Tensor, *shape: Any) -> Tensor:
    """The same elements in a new shape; one axis may be -1 (inferred).

    >>> import microgradnn as mg
    >>> mg.arange(6).reshape(2, -1).shape
    (2, 3)
    """
    new_shape = _shape_arg(shape, "reshape")
    try:
        return Reshape.apply(x, shape=new_shape)
    except ValueError:
        raise ShapeError(
            f"reshape: cannot reshape a tensor of shape {x.shape} ({x.size} elements) into {new_shape}"
        ) from None


def transpose(x: Tensor, *axes: Any) -> Tensor:
    """Permute the axes as ``np.transpose``: no axes reverses them.

    >>> import microgradnn as mg
    >>> mg.zeros(2, 3, 4).transpose(2, 0, 1).shape
    (4, 2, 3)
    """
    order = _shape_arg(axes, "transpose") if axes else tuple(range(x.ndim))[::-1]
    if sorted(a % x.ndim if x.ndim else a for a in order) != list(range(x.ndim)):
        raise ShapeError(f"transpose: axes {order} are not a permutation of the {x.ndim} axes of shape {x.shape}")
    return Transpose.apply(x, axes=tuple(a % x.ndim for a in order))


def swapaxes(x: Tensor, axis1: int, axis2: int) -> Tensor:
    """Exchange two axes.

    >>> import microgradnn as mg
    >>> mg.zeros(2, 3, 4).swapaxes(0, 2).shape
    (4, 3, 2)
    """
    a1, a2 = (normalize_axes(a, x.ndim, "swapaxes")[0] for a in (axis1, axis2))
    order = list(range(x.ndim))
    order[a1], order[a2] = order[a2], order[a1]
    return Transpose.apply(x, axes=tuple(order))


def squeeze(x: Tensor, axis: int | Sequence[int] | None = None) -> Tensor:
    """Remove size-1 axes (only those in ``axis`` when given).

    >>> import microgradnn as mg
    >>> mg.zeros(1, 3, 1).squeeze().shape
    (3,)
    """
    if axis is None:
        axes = tuple(i for i, n in enumerate(x.shape) if n == 1)
    else:
        axes = normalize_axes(axis, x.ndim, "squeeze")
        for a in axes:
            if x.shape[a] != 1:
                raise ShapeError(f"squeeze: axis {a} of shape {x.shape} has size {x.shape[a]}, not 1")
    return Reshape.apply(x, shape=tuple(n for i, n in enumerate(x.shape) if i not in axes))


def expand_dims(x: Tensor, axis: int | Sequence[int]) -> Tensor:
    """Insert size-1 axes so that they sit at ``axis`` in the result (as ``np.expand_dims``).

    >>> import microgradnn as mg
    >>> mg.zeros(3).expand_dims(0).shape
    (1, 3)
    """
    ndim = x.ndim + (1 if isinstance(axis, (int, np.integer)) else len(tuple(axis)))
    axes = normalize_axes(axis, ndim, "expand_dims")
    rest = iter(x.shape)
    return Reshape.apply(x, shape=tuple(1 if i in axes else next(rest) for i in range(ndim)))


def flatten(x: Tensor) -> Tensor:
    """All elements in one axis.

    >>> import microgradnn as mg
    >>> mg.zeros(2, 3).flatten().shape
    (6,)
    """
    return Reshape.apply(x, shape=(x.size,))


def broadcast_to(x: Tensor, shape: Sequence[int]) -> Tensor:
    """Repeat along size-1 and new leading axes to ``shape`` (a read-only view, as NumPy's).

    >>> import microgradnn as mg
    >>> mg.Tensor([1.0, 2.0]).broadcast_to((3, 2)).shape
    (3, 2)
    """
    target = _shape_arg(tuple(shape) if isinstance(shape, (tuple, list)) else (shape,), "broadcast_to")
    try:
        return BroadcastTo.apply(x, shape=target)
    except ValueError:
        raise ShapeError(f"broadcast_to: cannot broadcast shape {x.shape} to {target}") from None


def _plain_index(index: Any) -> Any:
    """Tensors inside an index become their arrays (indices are never differentiated)."""
    if isinstance(index, Tensor):
        return index._data
    if isinstance(index, tuple):
        return tuple(i._data if isinstance(i, Tensor) else i for i in index)
    return index


def _is_basic(index: Any) -> bool:
    """Whether an index can name no element twice: ints, slices, None, Ellipsis, bool masks."""
    parts = index if isinstance(index, tuple) else (index,)
    for part in parts:
        if part is None or part is Ellipsis or isinstance(part, (int, np.integer, slice)):
            continue
        if isinstance(part, np.ndarray) and part.dtype == bool:
            continue
        return False
    return True


def getitem(x: Tensor, index: Any) -> Tensor:
    """``x[index]`` with NumPy's rules: slices, integer arrays (repeated indices accumulate
    their gradients) and boolean masks.

    >>> import microgradnn as mg
    >>> x = mg.Tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> x[[0, 0, 2]].sum().backward(); x.grad
    array([2., 0., 1.])
    """
    index = _plain_index(index)
    try:
        return GetItem.apply(x, index=index)
    except IndexError as err:
        raise IndexError(f"getitem: {err} (tensor of shape {x.shape})") from None


def _tensors(values: Sequence[Any], op: str) -> list[Tensor]:
    """The parts as Tensors; one given as a list (or an integer array) takes the dtype of the
    first floating tensor among them, as it would in a binary op (see ``operand``)."""
    if isinstance(values, Tensor) or not isinstance(values, (list, tuple)) or not values:
        raise TypeError(f"{op}: expected a non-empty list or tuple of tensors")
    dtype = next((v.dtype for v in values if isinstance(v, Tensor) and v.dtype.kind == "f"), None)
    if dtype is None:
        return [as_tensor(v) for v in values]
    return [v if isinstance(v, Tensor) else Tensor(operand(v, dtype, op)) for v in values]


def concatenate(tensors: Sequence[Any], axis: int = 0) -> Tensor:
    """Join tensors along an existing axis.

    >>> import microgradnn as mg
    >>> mg.concatenate([mg.ones(2), mg.zeros(1)]).tolist()
    [1.0, 1.0, 0.0]
    """
    parts = _tensors(tensors, "concatenate")
    try:
        return Concatenate.apply(*parts, axis=axis)
    except ValueError:
        shapes = ", ".join(str(p.shape) for p in parts)
        raise ShapeError(f"concatenate: shapes {shapes} cannot be joined along axis {axis}") from None


def stack(tensors: Sequence[Any], axis: int = 0) -> Tensor:
    """Join tensors of one shape along a new axis.

    >>> import microgradnn as mg
    >>> mg.stack([mg.ones(2), mg.zeros(2)], axis=1).tolist()
    [[1.0, 0.0], [1.0, 0.0]]
    """
    parts = _tensors(tensors, "stack")
    try:
        return Stack.apply(*parts, axis=axis)
    except ValueError:
        shapes = ", ".join(str(p.shape) for p in parts)
        raise ShapeError(f"stack: shapes {shapes} cannot be stacked along axis {axis}") from None
