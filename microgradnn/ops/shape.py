"""Shape operations: views and permutations (reshape, transpose/permute, squeeze, flatten,
expand...), copies that move elements (flip, roll, tile, repeat_interleave, rot90, diff),
indexing with ``[]``, and joining and splitting (cat, stack, split, chunk, unbind...).

Dims follow PyTorch (``transpose(a, b)`` swaps two dims, ``squeeze(d)`` leaves a dim whose size
is not 1 alone); NumPy's spellings stay accepted where they mean the same (``axis=`` for
``dim=``). Like NumPy, reshape, transpose, broadcast_to and basic indexing return views that
share the input's memory.

Every op here is linear, so each backward is another op of this module applied to the
gradient (:func:`_linear`): recorded on a Tensor, so everything is differentiable twice.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..autograd import Function, sum_to
from ..errors import ShapeError
from ..tensor import Tensor, as_tensor
from . import backmath
from .arguments import check_dim
from .elementwise import operand

__all__ = [
    "reshape",
    "view",
    "transpose",
    "permute",
    "movedim",
    "moveaxis",
    "swapaxes",
    "t",
    "squeeze",
    "unsqueeze",
    "expand_dims",
    "flatten",
    "unflatten",
    "broadcast_to",
    "expand",
    "tile",
    "repeat_interleave",
    "flip",
    "roll",
    "rot90",
    "diff",
    "clone",
    "getitem",
    "cat",
    "concatenate",
    "stack",
    "hstack",
    "vstack",
    "dstack",
    "column_stack",
    "split",
    "array_split",
    "chunk",
    "unbind",
]


def _linear(cls: type[Function], g: Any, **options: Any) -> Any:
    """Apply a linear op to a gradient: recorded on a Tensor (``create_graph``), directly on an
    ndarray. Linear ops' backwards are other linear ops, so this keeps them differentiable."""
    if isinstance(g, Tensor):
        return cls.apply(g, **options)
    return cls.forward(object.__new__(cls), g, **options)


def _pick(op: str, dim: Any, axis: Any, default: Any) -> Any:
    """``dim`` (PyTorch) or ``axis`` (NumPy) for an op whose dim has a default other than None."""
    if axis is None:
        return dim
    if dim is not default:
        raise TypeError(f"{op}: give dim= or axis=, not both")
    return axis


# ------------------------------------------------------------------ the ops
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
        ctx.inverse = tuple(int(i) for i in np.argsort(axes))
        return x.transpose(axes)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return _linear(Transpose, g, axes=ctx.inverse)


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


class Clone(Function):
    __slots__ = ()
    name = "clone"
    differentiable_twice = True

    @staticmethod
    def forward(ctx: Any, x: np.ndarray) -> np.ndarray:
        return x.copy()

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return g


class Flip(Function):
    __slots__ = ("dims",)
    name = "flip"
    differentiable_twice = True

    @staticmethod
    def forward(ctx: Any, x: np.ndarray, dims: tuple[int, ...]) -> np.ndarray:
        ctx.dims = dims
        return np.flip(x, dims).copy()  # a copy, as PyTorch's flip (a view would alias x)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return _linear(Flip, g, dims=ctx.dims)


class Roll(Function):
    __slots__ = ("shifts", "dims")
    name = "roll"
    differentiable_twice = True

    @staticmethod
    def forward(ctx: Any, x: np.ndarray, shifts: tuple[int, ...], dims: tuple[int, ...]) -> np.ndarray:
        ctx.shifts, ctx.dims = shifts, dims
        return np.roll(x, shifts, dims)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return _linear(Roll, g, shifts=tuple(-s for s in ctx.shifts), dims=ctx.dims)


class Tile(Function):
    """``np.tile`` with one repetition count per dim (``reps`` as long as ``x.ndim``)."""

    __slots__ = ("in_shape", "reps")
    name = "tile"
    differentiable_twice = True

    @staticmethod
    def forward(ctx: Any, x: np.ndarray, reps: tuple[int, ...]) -> np.ndarray:
        ctx.in_shape, ctx.reps = x.shape, reps
        return np.tile(x, reps)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        # Output dim i is (reps[i] copies) x (size i): split it in two and sum the copies.
        split = tuple(n for pair in zip(ctx.reps, ctx.in_shape, strict=True) for n in pair)
        return g.reshape(split).sum(axis=tuple(range(0, len(split), 2)))


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


# ------------------------------------------------------------------ argument helpers
def _shape_arg(shape: tuple[Any, ...], op: str) -> tuple[int, ...]:
    """Accept ``f(2, 3)`` and ``f((2, 3))``, as NumPy's methods and PyTorch do."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    if not all(isinstance(n, (int, np.integer)) and not isinstance(n, bool) for n in shape):
        raise TypeError(f"{op}: a shape is a tuple of ints, not {shape!r}")
    return tuple(int(n) for n in shape)


def _dims(op: str, dims: Any, shape: Sequence[int]) -> tuple[int, ...]:
    """One dim or a sequence of dims, each checked and made non-negative; no repeats."""
    listed = tuple(dims) if isinstance(dims, (tuple, list)) else (dims,)
    result = tuple(check_dim(op, d, shape) for d in listed)
    if len(set(result)) != len(result):
        raise ShapeError(f"{op}: dims {listed} repeat a dim of a tensor of shape {tuple(shape)}")
    return result


# ------------------------------------------------------------------ views and permutations
def reshape(x: Tensor, *shape: Any) -> Tensor:
    """The same elements in a new shape; one dim may be -1 (inferred). Also ``x.view(...)``.

    >>> import microgradnn as mg
    >>> mg.arange(6).reshape(2, -1).shape
    (2, 3)
    """
    new_shape = _shape_arg(shape, "reshape")
    try:
        return Reshape.apply(x, shape=new_shape)
    except ValueError:
        raise ShapeError(
            f"reshape: cannot reshape a tensor of shape {x.shape} ({x.numel()} elements) into {new_shape}"
        ) from None


def view(x: Tensor, *shape: Any) -> Tensor:
    """PyTorch's name for :func:`reshape` (there is no separate contiguity rule here).

    >>> import microgradnn as mg
    >>> mg.zeros(2, 3).view(-1).shape
    (6,)
    """
    return reshape(x, *shape)


def permute(x: Tensor, *dims: Any) -> Tensor:
    """Reorder the dims: ``dims[i]`` is the input dim that becomes dim ``i``.

    >>> import microgradnn as mg
    >>> mg.zeros(2, 3, 4).permute(2, 0, 1).shape
    (4, 2, 3)
    """
    order = _shape_arg(dims, "permute")
    if len(order) != x.ndim:
        raise ShapeError(f"permute: dims {order} are not a permutation of the {x.ndim} dims of shape {x.shape}")
    checked = tuple(check_dim("permute", d, x.shape) for d in order) if x.ndim else ()
    if sorted(checked) != list(range(x.ndim)):
        raise ShapeError(f"permute: dims {order} are not a permutation of the {x.ndim} dims of shape {x.shape}")
    return Transpose.apply(x, axes=checked)


def movedim(x: Tensor, source: int | Sequence[int], destination: int | Sequence[int]) -> Tensor:
    """Move dims ``source`` to the places ``destination``, the others keeping their order, as
    ``torch.movedim`` (NumPy's ``moveaxis``, exported under both names).

    >>> import microgradnn as mg
    >>> mg.movedim(mg.zeros(2, 3, 4), 0, -1).shape
    (3, 4, 2)
    """
    src = [source] if isinstance(source, (int, np.integer)) else list(source)
    dst = [destination] if isinstance(destination, (int, np.integer)) else list(destination)
    if len(src) != len(dst):
        raise ShapeError(f"movedim: {len(src)} source dims {tuple(src)} but {len(dst)} destinations {tuple(dst)}")
    s = [check_dim("movedim", d, x.shape) for d in src]
    t = [check_dim("movedim", d, x.shape) for d in dst]
    if len(set(s)) != len(s) or len(set(t)) != len(t):
        raise ShapeError(f"movedim: repeated dims in source {tuple(src)} or destination {tuple(dst)}")
    rest = iter(d for d in range(x.ndim) if d not in s)
    placed = dict(zip(t, s, strict=True))
    return permute(x, *[placed[i] if i in placed else next(rest) for i in range(x.ndim)])


def moveaxis(a: Tensor, source: int | Sequence[int], destination: int | Sequence[int]) -> Tensor:
    """NumPy's name for :func:`movedim`.

    >>> import microgradnn as mg
    >>> mg.moveaxis(mg.zeros(2, 3, 4), (0, 1), (2, 0)).shape
    (3, 4, 2)
    """
    return movedim(a, source, destination)


def transpose(x: Tensor, *dims: Any) -> Tensor:
    """Swap two dims, as ``torch.transpose(x, dim0, dim1)``.

    With no dims it reverses them all, and with a full permutation of more than two dims (or
    one tuple, NumPy's ``axes``) it permutes, as ``np.transpose``. So ``transpose(0, 2)`` of a
    3-d tensor swaps dims 0 and 2 (PyTorch's meaning), where NumPy would refuse it.

    >>> import microgradnn as mg
    >>> mg.zeros(2, 3, 4).transpose(0, 2).shape
    (4, 3, 2)
    >>> mg.zeros(2, 3, 4).transpose(2, 0, 1).shape
    (4, 2, 3)
    """
    if not dims:
        return Transpose.apply(x, axes=tuple(range(x.ndim))[::-1])
    if len(dims) == 2 and not isinstance(dims[0], (tuple, list)):
        return swapaxes(x, dims[0], dims[1])
    if len(dims) == 1 and not isinstance(dims[0], (tuple, list)) and x.ndim != 1:
        raise TypeError(f"transpose: give two dims to swap, or a permutation of all {x.ndim} dims; got {dims}")
    return permute(x, *dims)


def swapaxes(x: Tensor, axis1: int, axis2: int) -> Tensor:
    """Exchange two dims (NumPy's name for ``transpose(a, b)``).

    >>> import microgradnn as mg
    >>> mg.zeros(2, 3, 4).swapaxes(0, 2).shape
    (4, 3, 2)
    """
    a1 = check_dim("transpose", axis1, x.shape)
    a2 = check_dim("transpose", axis2, x.shape)
    order = list(range(x.ndim))
    if order:
        order[a1], order[a2] = order[a2], order[a1]
    return Transpose.apply(x, axes=tuple(order))


def t(x: Tensor) -> Tensor:
    """The transpose of a tensor of at most 2 dims (0-d and 1-d ones come back as they are).

    >>> import microgradnn as mg
    >>> mg.zeros(2, 3).t().shape
    (3, 2)
    """
    if x.ndim > 2:
        raise ShapeError(f"t: expects a tensor of at most 2 dims, got shape {x.shape}; use transpose(a, b)")
    return transpose(x) if x.ndim == 2 else x


def squeeze(x: Tensor, dim: int | Sequence[int] | None = None, *, axis: int | Sequence[int] | None = None) -> Tensor:
    """Remove size-1 dims: all of them, or those among ``dim`` (an int or a tuple). As in
    PyTorch, a named dim whose size is not 1 is left alone.

    >>> import microgradnn as mg
    >>> mg.zeros(1, 3, 1).squeeze().shape
    (3,)
    >>> mg.zeros(1, 3, 1).squeeze(1).shape
    (1, 3, 1)
    """
    chosen = _pick("squeeze", dim, axis, None)
    if chosen is None:
        dims: tuple[int, ...] = tuple(i for i, n in enumerate(x.shape) if n == 1)
    else:
        dims = tuple(d for d in _dims("squeeze", chosen, x.shape) if x.ndim and x.shape[d] == 1)
    if not dims:
        return x
    return Reshape.apply(x, shape=tuple(n for i, n in enumerate(x.shape) if i not in dims))


def unsqueeze(x: Tensor, dim: int) -> Tensor:
    """Insert a size-1 dim so that it is dim ``dim`` of the result (-1: the last).

    >>> import microgradnn as mg
    >>> mg.zeros(2, 3).unsqueeze(1).shape
    (2, 1, 3)
    """
    d = check_dim("unsqueeze", dim, (1,) * (x.ndim + 1))
    return Reshape.apply(x, shape=x.shape[:d] + (1,) + x.shape[d:])


def expand_dims(x: Tensor, axis: int | Sequence[int]) -> Tensor:
    """Insert size-1 axes so that they sit at ``axis`` in the result (as ``np.expand_dims``).

    >>> import microgradnn as mg
    >>> mg.zeros(3).expand_dims(0).shape
    (1, 3)
    """
    ndim = x.ndim + (len(axis) if isinstance(axis, (tuple, list)) else 1)
    axes = _dims("expand_dims", axis, (1,) * ndim)
    rest = iter(x.shape)
    return Reshape.apply(x, shape=tuple(1 if i in axes else next(rest) for i in range(ndim)))


def flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Dims ``start_dim`` to ``end_dim`` (inclusive) joined into one; a 0-d tensor becomes 1-d.

    >>> import microgradnn as mg
    >>> mg.zeros(2, 3, 4).flatten().shape, mg.zeros(2, 3, 4).flatten(1).shape
    ((24,), (2, 12))
    """
    if x.ndim == 0:
        check_dim("flatten", start_dim, ())
        check_dim("flatten", end_dim, ())
        return Reshape.apply(x, shape=(1,))
    start = check_dim("flatten", start_dim, x.shape)
    end = check_dim("flatten", end_dim, x.shape)
    if start > end:
        raise ShapeError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} (shape {x.shape})")
    shape = x.shape[:start] + (math.prod(x.shape[start : end + 1]),) + x.shape[end + 1 :]
    return Reshape.apply(x, shape=shape)


def unflatten(x: Tensor, dim: int, sizes: Sequence[int]) -> Tensor:
    """Split dim ``dim`` into ``sizes`` (one of them may be -1), the inverse of flatten.

    >>> import microgradnn as mg
    >>> mg.zeros(2, 12).unflatten(1, (3, -1)).shape
    (2, 3, 4)
    """
    d = check_dim("unflatten", dim, x.shape)
    parts = _shape_arg((sizes,), "unflatten")
    n = x.shape[d] if x.ndim else 1
    known = math.prod(s for s in parts if s != -1)
    if parts.count(-1) > 1 or (-1 in parts and (known == 0 or n % known)) or (-1 not in parts and known != n):
        raise ShapeError(f"unflatten: sizes {parts} do not multiply to {n}, the size of dim {dim} of shape {x.shape}")
    parts = tuple(n // known if s == -1 else s for s in parts)
    return Reshape.apply(x, shape=x.shape[:d] + parts + x.shape[d + 1 :])


def broadcast_to(x: Tensor, shape: Sequence[int]) -> Tensor:
    """Repeat along size-1 and new leading dims to ``shape`` (a read-only view, as NumPy's).

    >>> import microgradnn as mg
    >>> mg.Tensor([1.0, 2.0]).broadcast_to((3, 2)).shape
    (3, 2)
    """
    target = _shape_arg(tuple(shape) if isinstance(shape, (tuple, list)) else (shape,), "broadcast_to")
    try:
        return BroadcastTo.apply(x, shape=target)
    except ValueError:
        raise ShapeError(f"broadcast_to: cannot broadcast shape {x.shape} to {target}") from None


def expand(x: Tensor, *sizes: Any) -> Tensor:
    """``broadcast_to`` with PyTorch's ``-1`` for "keep this dim's size".

    >>> import microgradnn as mg
    >>> mg.zeros(3, 1).expand(-1, 4).shape
    (3, 4)
    """
    target = list(_shape_arg(sizes, "expand"))
    lead = len(target) - x.ndim
    if lead < 0:
        raise ShapeError(f"expand: {len(target)} sizes {tuple(target)} for a tensor of {x.ndim} dims (shape {x.shape})")
    for i, n in enumerate(target):
        if n == -1:
            if i < lead:
                raise ShapeError(f"expand: -1 is not allowed for a new leading dim (sizes {tuple(sizes)})")
            target[i] = x.shape[i - lead]
    try:
        return BroadcastTo.apply(x, shape=tuple(target))
    except ValueError:
        raise ShapeError(f"expand: cannot expand shape {x.shape} to {tuple(target)}") from None


# ------------------------------------------------------------------ moving elements
def clone(x: Tensor) -> Tensor:
    """A copy with its own memory; the gradient passes through unchanged.

    >>> import microgradnn as mg
    >>> x = mg.ones(2)
    >>> x.clone().data is x.data
    False
    """
    return Clone.apply(x)


def tile(x: Tensor, dims: Sequence[int]) -> Tensor:
    """Repeat the whole tensor ``dims[i]`` times along dim ``i`` (as ``np.tile``/``torch.tile``:
    shorter ``dims`` get leading 1s, a longer one adds leading dims). ``x.repeat(*sizes)`` is
    the same with PyTorch's rule that ``sizes`` has at least ``x.ndim`` entries.

    >>> import microgradnn as mg
    >>> mg.Tensor([1.0, 2.0]).tile((2,)).tolist()
    [1.0, 2.0, 1.0, 2.0]
    """
    reps = _shape_arg(tuple(dims) if isinstance(dims, (tuple, list)) else (dims,), "tile")
    if any(r < 0 for r in reps):
        raise ValueError(f"tile: repetition counts must be non-negative, got {reps}")
    ndim = max(len(reps), x.ndim)
    reps = (1,) * (ndim - len(reps)) + reps
    if x.ndim < ndim:
        x = Reshape.apply(x, shape=(1,) * (ndim - x.ndim) + x.shape)
    return Tile.apply(x, reps=reps)


def repeat_interleave(x: Tensor, repeats: Any, dim: int | None = None, *, axis: int | None = None) -> Tensor:
    """Repeat each element ``repeats`` times (an int, or one count per element) along ``dim``,
    or over the flattened tensor when ``dim`` is None: NumPy's ``repeat``.

    >>> import microgradnn as mg
    >>> mg.Tensor([1.0, 2.0]).repeat_interleave(2).tolist()
    [1.0, 1.0, 2.0, 2.0]
    """
    chosen = _pick("repeat_interleave", dim, axis, None)
    if chosen is None:
        x, d = flatten(x), 0
    else:
        d = check_dim("repeat_interleave", chosen, x.shape)
        if x.ndim == 0:
            x = Reshape.apply(x, shape=(1,))
    counts = np.asarray(repeats._data if isinstance(repeats, Tensor) else repeats)
    if counts.dtype.kind not in "iu" or counts.ndim > 1:
        raise TypeError(
            f"repeat_interleave: repeats must be an int or a 1-d integer tensor, not {counts.dtype} {counts.shape}"
        )
    if np.any(counts < 0) or (counts.ndim == 1 and counts.shape[0] not in (1, x.shape[d])):
        raise ShapeError(
            f"repeat_interleave: repeats {counts.tolist()} do not fit dim {d} of size {x.shape[d]} "
            "(one non-negative count per element, or one count for all)"
        )
    # Gathering positions arange(n) repeated: the backward adds the copies' gradients back.
    index = np.repeat(np.arange(x.shape[d]), counts)
    return GetItem.apply(x, index=(slice(None),) * d + (index,))


def flip(x: Tensor, dims: int | Sequence[int]) -> Tensor:
    """Reverse the order of the elements along ``dims``.

    >>> import microgradnn as mg
    >>> mg.Tensor([[1.0, 2.0], [3.0, 4.0]]).flip(1).tolist()
    [[2.0, 1.0], [4.0, 3.0]]
    """
    if x.ndim == 0:
        _dims("flip", dims, ())
        return Clone.apply(x)
    return Flip.apply(x, dims=_dims("flip", dims, x.shape))


def roll(x: Tensor, shifts: int | Sequence[int], dims: int | Sequence[int] | None = None) -> Tensor:
    """Shift the elements along ``dims`` by ``shifts``, those pushed off one end coming back at
    the other; with ``dims`` None over the flattened tensor (shape kept).

    >>> import microgradnn as mg
    >>> mg.Tensor([1.0, 2.0, 3.0]).roll(1).tolist()
    [3.0, 1.0, 2.0]
    """
    steps = _shape_arg(tuple(shifts) if isinstance(shifts, (tuple, list)) else (shifts,), "roll")
    if dims is None:
        if len(steps) != 1:
            raise ValueError(f"roll: {len(steps)} shifts need as many dims")
        return Reshape.apply(Roll.apply(flatten(x), shifts=steps, dims=(0,)), shape=x.shape)
    listed = tuple(dims) if isinstance(dims, (tuple, list)) else (dims,)
    if len(listed) != len(steps):
        raise ValueError(f"roll: {len(steps)} shifts for {len(listed)} dims")
    axes = tuple(check_dim("roll", d, x.shape) for d in listed)
    if x.ndim == 0:
        return Clone.apply(x)
    return Roll.apply(x, shifts=steps, dims=axes)


def rot90(x: Tensor, k: int = 1, dims: Sequence[int] = (0, 1)) -> Tensor:
    """Rotate by 90 degrees ``k`` times in the plane of ``dims``, from the first dim towards
    the second (as ``torch.rot90``, and ``np.rot90`` with ``axes``).

    >>> import microgradnn as mg
    >>> mg.Tensor([[1.0, 2.0], [3.0, 4.0]]).rot90().tolist()
    [[2.0, 4.0], [1.0, 3.0]]
    """
    if len(dims) != 2:
        raise ValueError(f"rot90: dims must name two dims, got {tuple(dims)}")
    if x.ndim < 2:
        raise ShapeError(f"rot90: needs a tensor of at least 2 dims, got shape {x.shape}")
    a, b = _dims("rot90", dims, x.shape)
    k %= 4
    if k == 0:
        return Clone.apply(x)
    if k == 2:
        return Flip.apply(x, dims=(a, b))
    # One quarter turn: flip along b, then swap a and b (the other way round for three).
    flipped = Flip.apply(x, dims=(b,) if k == 1 else (a,))
    return swapaxes(flipped, a, b)


def diff(
    x: Tensor, n: int = 1, dim: int = -1, prepend: Any = None, append: Any = None, *, axis: int | None = None
) -> Tensor:
    """The ``n``-th forward difference along ``dim`` (``out[i] = x[i + 1] - x[i]``), after
    joining ``prepend`` and ``append`` to ``x`` there, as ``torch.diff``/``np.diff``.

    >>> import microgradnn as mg
    >>> mg.Tensor([1.0, 4.0, 9.0]).diff().tolist()
    [3.0, 5.0]
    """
    d = check_dim("diff", _pick("diff", dim, axis, -1), x.shape)
    if x.ndim == 0:
        raise ShapeError("diff: needs a tensor of at least 1 dim, got shape ()")
    if not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"diff: n must be a non-negative int, got {n!r}")
    parts = [p for p in (prepend, x, append) if p is not None]
    if len(parts) > 1:
        x = cat(parts, d)
    lead = (slice(None),) * d
    for _ in range(n):
        x = x[lead + (slice(1, None),)] - x[lead + (slice(None, -1),)]
    return x


# ------------------------------------------------------------------ indexing with []
def _plain_index(index: Any, op: str = "getitem") -> Any:
    """Tensors inside an index become their arrays (indices are never differentiated); a
    floating index is refused, as PyTorch refuses one."""
    parts = index if isinstance(index, tuple) else (index,)
    plain = []
    for part in parts:
        if isinstance(part, Tensor):
            part = part._data
        if isinstance(part, np.ndarray) and part.dtype.kind not in "biu":
            raise IndexError(
                f"{op}: tensors used as indices must hold integers or booleans, not {part.dtype} "
                "(make them with dtype=np.int64, or call .long())"
            )
        plain.append(part)
    return tuple(plain) if isinstance(index, tuple) else plain[0]


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
    """``x[index]`` with NumPy's rules: slices, integer arrays or int64 tensors (repeated
    indices accumulate their gradients) and boolean masks.

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


# ------------------------------------------------------------------ joining
def _tensors(values: Sequence[Any], op: str) -> list[Tensor]:
    """The parts as Tensors; one given as a list (or an integer array) takes the dtype of the
    first floating tensor among them, as it would in a binary op (see ``operand``)."""
    if isinstance(values, Tensor) or not isinstance(values, (list, tuple)) or not values:
        raise TypeError(f"{op}: expected a non-empty list or tuple of tensors")
    dtype = next((v.dtype for v in values if isinstance(v, Tensor) and v.dtype.kind == "f"), None)
    if dtype is None:
        return [as_tensor(v) for v in values]
    return [v if isinstance(v, Tensor) else Tensor(operand(v, dtype, op)) for v in values]


def _shapes(parts: Sequence[Tensor]) -> str:
    return ", ".join(str(p.shape) for p in parts)


def cat(tensors: Sequence[Any], dim: int = 0, *, axis: int | None = None) -> Tensor:
    """Join tensors along an existing dim (``torch.cat``; also ``concatenate``).

    >>> import microgradnn as mg
    >>> mg.cat([mg.ones(2), mg.zeros(1)]).tolist()
    [1.0, 1.0, 0.0]
    """
    return _cat(tensors, _pick("cat", dim, axis, 0), "cat")


def _cat(tensors: Sequence[Any], dim: int, op: str) -> Tensor:
    parts = _tensors(tensors, op)
    if parts[0].ndim == 0:
        raise ShapeError(f"{op}: 0-d tensors cannot be joined along a dim (shapes {_shapes(parts)}); use stack")
    d = check_dim(op, dim, parts[0].shape)
    try:
        return Concatenate.apply(*parts, axis=d)
    except ValueError:
        raise ShapeError(f"{op}: shapes {_shapes(parts)} cannot be joined along axis {dim}") from None


def concatenate(tensors: Sequence[Any], axis: int = 0, *, dim: int | None = None) -> Tensor:
    """NumPy's name for :func:`cat`.

    >>> import microgradnn as mg
    >>> mg.concatenate([mg.ones(2), mg.zeros(1)]).tolist()
    [1.0, 1.0, 0.0]
    """
    return _cat(tensors, _pick("concatenate", axis, dim, 0), "concatenate")


def stack(tensors: Sequence[Any], dim: int = 0, *, axis: int | None = None) -> Tensor:
    """Join tensors of one shape along a new dim.

    >>> import microgradnn as mg
    >>> mg.stack([mg.ones(2), mg.zeros(2)], dim=1).tolist()
    [[1.0, 0.0], [1.0, 0.0]]
    """
    parts = _tensors(tensors, "stack")
    chosen = _pick("stack", dim, axis, 0)
    d = check_dim("stack", chosen, (1,) * (parts[0].ndim + 1))
    if any(p.shape != parts[0].shape for p in parts):
        raise ShapeError(f"stack: shapes {_shapes(parts)} cannot be stacked (stack needs tensors of one shape)")
    return Stack.apply(*parts, axis=d)


def _at_least(parts: list[Tensor], ndim: int) -> list[Tensor]:
    """NumPy's atleast_2d/3d: 0-d -> (1, 1[, 1]), 1-d (n,) -> (1, n[, 1]), 2-d (m, n) -> (m, n, 1)."""
    out = []
    for p in parts:
        if p.ndim < ndim:
            shape = {0: (1,) * ndim, 1: (1,) + p.shape + (1,) * (ndim - 2), 2: p.shape + (1,)}[p.ndim]
            p = Reshape.apply(p, shape=shape)
        out.append(p)
    return out


def hstack(tensors: Sequence[Any]) -> Tensor:
    """Join along dim 1 (dim 0 for 1-d tensors), as ``np.hstack``.

    >>> import microgradnn as mg
    >>> mg.hstack([mg.ones(2), mg.zeros(1)]).shape
    (3,)
    """
    parts = [p if p.ndim else Reshape.apply(p, shape=(1,)) for p in _tensors(tensors, "hstack")]
    return cat(parts, 0 if parts[0].ndim == 1 else 1)


def vstack(tensors: Sequence[Any]) -> Tensor:
    """Join along dim 0, 1-d tensors of length n first becoming rows (1, n), as ``np.vstack``.

    >>> import microgradnn as mg
    >>> mg.vstack([mg.ones(2), mg.zeros(2)]).shape
    (2, 2)
    """
    return cat(_at_least(_tensors(tensors, "vstack"), 2), 0)


def dstack(tensors: Sequence[Any]) -> Tensor:
    """Join along dim 2 (depth), after making every tensor at least 3-d, as ``np.dstack``.

    >>> import microgradnn as mg
    >>> mg.dstack([mg.ones(2, 2), mg.zeros(2, 2)]).shape
    (2, 2, 2)
    """
    return cat(_at_least(_tensors(tensors, "dstack"), 3), 2)


def column_stack(tensors: Sequence[Any]) -> Tensor:
    """Join as columns: 1-d tensors of length n become (n, 1) columns, as ``np.column_stack``.

    >>> import microgradnn as mg
    >>> mg.column_stack([mg.ones(3), mg.zeros(3)]).shape
    (3, 2)
    """
    parts = _tensors(tensors, "column_stack")
    return cat([Reshape.apply(p, shape=(p.numel(), 1)) if p.ndim < 2 else p for p in parts], 1)


# ------------------------------------------------------------------ splitting
def _pieces(x: Tensor, d: int, sizes: Sequence[int]) -> tuple[Tensor, ...]:
    lead = (slice(None),) * d
    out, start = [], 0
    for size in sizes:
        out.append(GetItem.apply(x, index=lead + (slice(start, start + size),)))
        start += size
    return tuple(out)


def split(
    x: Tensor, split_size_or_sections: int | Sequence[int], dim: int = 0, *, axis: int | None = None
) -> tuple[Tensor, ...]:
    """Pieces along ``dim``, as ``torch.split``: an int is each piece's size (the last may be
    smaller), a list gives every piece's size. (NumPy's ``split`` by count is ``array_split``.)

    >>> import microgradnn as mg
    >>> [p.shape for p in mg.zeros(5, 2).split(2)]
    [(2, 2), (2, 2), (1, 2)]
    >>> [p.shape for p in mg.zeros(5, 2).split([1, 4])]
    [(1, 2), (4, 2)]
    """
    d = check_dim("split", _pick("split", dim, axis, 0), x.shape)
    if x.ndim == 0:
        raise ShapeError("split: cannot split a 0-d tensor")
    n = x.shape[d]
    if isinstance(split_size_or_sections, (int, np.integer)) and not isinstance(split_size_or_sections, bool):
        size = int(split_size_or_sections)
        if size <= 0 and not (size == 0 and n == 0):
            raise ValueError(f"split: split_size must be a positive int, got {size}")
        sizes = [min(size, n - s) for s in range(0, n, size)] if n else [0]
    else:
        sizes = list(_shape_arg((split_size_or_sections,), "split"))
        if sum(sizes) != n or any(s < 0 for s in sizes):
            raise ShapeError(f"split: sizes {sizes} do not add up to {n}, the size of dim {d} of shape {x.shape}")
    return _pieces(x, d, sizes)


def array_split(
    x: Tensor, indices_or_sections: int | Sequence[int], axis: int = 0, *, dim: int | None = None
) -> tuple[Tensor, ...]:
    """NumPy's ``array_split``: an int ``k`` gives ``k`` pieces as equal as can be (the first
    ones one longer); a list gives the indices to cut at.

    >>> import microgradnn as mg
    >>> [p.shape[0] for p in mg.array_split(mg.zeros(5), 3)]
    [2, 2, 1]
    """
    d = check_dim("array_split", _pick("array_split", axis, dim, 0), x.shape)
    if x.ndim == 0:
        raise ShapeError("array_split: cannot split a 0-d tensor")
    n = x.shape[d]
    if isinstance(indices_or_sections, (int, np.integer)) and not isinstance(indices_or_sections, bool):
        k = int(indices_or_sections)
        if k <= 0:
            raise ValueError(f"array_split: the number of sections must be positive, got {k}")
        sizes = [n // k + 1] * (n % k) + [n // k] * (k - n % k)
    else:
        cuts = [min(max(c if c >= 0 else c + n, 0), n) for c in _shape_arg((indices_or_sections,), "array_split")]
        bounds = [0, *cuts, n]
        # As NumPy: a cut before the previous one gives an empty piece.
        return tuple(
            GetItem.apply(x, index=(slice(None),) * d + (slice(a, max(a, b)),))
            for a, b in zip(bounds[:-1], bounds[1:], strict=True)
        )
    return _pieces(x, d, sizes)


def chunk(x: Tensor, chunks: int, dim: int = 0, *, axis: int | None = None) -> tuple[Tensor, ...]:
    """At most ``chunks`` pieces along ``dim``, each of size ceil(n / chunks) but the last, as
    ``torch.chunk`` (which may give fewer pieces: ``array_split`` always gives ``chunks``).

    >>> import microgradnn as mg
    >>> [p.shape[0] for p in mg.zeros(6).chunk(4)]
    [2, 2, 2]
    """
    d = check_dim("chunk", _pick("chunk", dim, axis, 0), x.shape)
    if not isinstance(chunks, (int, np.integer)) or chunks <= 0:
        raise ValueError(f"chunk: chunks must be a positive int, got {chunks!r}")
    if x.ndim == 0:
        raise ShapeError("chunk: cannot split a 0-d tensor")
    return split(x, max(-(-x.shape[d] // int(chunks)), 1), d)


def unbind(x: Tensor, dim: int = 0, *, axis: int | None = None) -> tuple[Tensor, ...]:
    """The slices along ``dim``, that dim removed (the inverse of ``stack``).

    >>> import microgradnn as mg
    >>> [p.shape for p in mg.zeros(2, 3).unbind(1)]
    [(2,), (2,), (2,)]
    """
    d = check_dim("unbind", _pick("unbind", dim, axis, 0), x.shape)
    if x.ndim == 0:
        raise ShapeError("unbind: cannot unbind a 0-d tensor")
    lead = (slice(None),) * d
    return tuple(GetItem.apply(x, index=lead + (i,)) for i in range(x.shape[d]))
