"""Products and matrices: matmul (1-d, 2-d and batched, with NumPy's ``@`` rules), einsum and
the products built on it (tensordot, outer, inner, dot, kron), cross, triangles and diagonals,
and the decompositions behind ``mg.linalg`` (inv, det, slogdet, solve, cholesky, qr).

Every product that is a contraction is one :class:`Einsum` node, whose backward is again an
einsum, so one formula serves them all (and differentiates twice).
"""

from __future__ import annotations

import operator
import string
from typing import Any, NamedTuple

import numpy as np

from ..autograd import Function, no_fp_warnings
from ..errors import ShapeError, shape_of
from ..tensor import Tensor
from .arguments import check_dim
from .elementwise import _pair

__all__ = [
    "matmul",
    "einsum",
    "tensordot",
    "outer",
    "inner",
    "dot",
    "cross",
    "kron",
    "tril",
    "triu",
    "diag",
    "diagonal",
    "diag_embed",
    "trace",
    "inv",
    "det",
    "slogdet",
    "SlogdetResult",
    "solve",
    "cholesky",
    "qr",
    "QRResult",
]


class MatMul(Function):
    """a @ b. A 1-d operand acts as a row (left) or column (right) vector, then loses that axis."""

    __slots__ = ()

    name = "matmul"
    may_warn = True
    differentiable_twice = True

    @staticmethod
    def forward(ctx: Any, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(a, b)
        # Two matrices: np.dot, the same BLAS product as @ with less of NumPy's dispatch around
        # it (a third less time on the tutorials' 4x3 matrices), and what the tutorials write.
        return np.dot(a, b) if a.ndim == 2 and b.ndim == 2 else a @ b

    @staticmethod
    def backward(ctx: Any, g: Any) -> tuple[Any, Any]:
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        if a.ndim == 2 and b.ndim == 2:  # the common case, kept short
            dot = np.dot if type(g) is np.ndarray else operator.matmul  # Tensors when recorded (create_graph)
            return (dot(g, b.T) if need_a else None), (dot(a.T, g) if need_b else None)
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


# ------------------------------------------------------------------ helpers
def _tensor(x: Any, op: str) -> Tensor:
    """A Tensor operand (lists and ndarrays are made Tensors, which do not require grad)."""
    if isinstance(x, Tensor):
        return x
    try:
        return Tensor(x)
    except TypeError as err:
        raise TypeError(f"{op}: {err}") from None


def _on(x: Any, tensor_fn: Any, array_fn: Any, *args: Any) -> Any:
    """Run the recorded op on a Tensor, the NumPy function on an ndarray (for backward
    formulas that must work on both; see backmath)."""
    return tensor_fn(x, *args) if isinstance(x, Tensor) else array_fn(x, *args)


def _linalg_error(op: str, x: np.ndarray, err: Exception) -> np.linalg.LinAlgError:
    return np.linalg.LinAlgError(f"{op}: {err} (input of shape {x.shape})")


def _square(op: str, a: Tensor) -> None:
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ShapeError(f"{op}: expected a square matrix or a batch of them (shape (*, n, n)), got shape {a.shape}")


# ------------------------------------------------------------------ einsum and products
_LETTERS = string.ascii_letters


def _parse_einsum(subscripts: str, shapes: list[tuple[int, ...]]) -> tuple[list[str], str]:
    """Explicit subscripts: one letter per axis of each operand (``...`` spelled out with
    unused letters, right-aligned as broadcasting aligns them) and the output's letters
    (NumPy's implicit output when there is no ``->``: the ellipsis, then the letters that
    appear once, in ASCII order)."""
    text = subscripts.replace(" ", "")
    lhs, arrow, out = text.partition("->")
    specs = lhs.split(",")
    if len(specs) != len(shapes):
        raise ValueError(f"einsum: {subscripts!r} names {len(specs)} operand(s) but {len(shapes)} were given")
    for part in specs + [out]:
        body = part.replace("...", "")
        if "." in body or any(c not in _LETTERS for c in body):
            raise ValueError(f"einsum: {subscripts!r} is not a valid subscript string (letters, ',', '->', '...')")
    used = set(text) - set(",->.")
    free = [c for c in _LETTERS if c not in used]
    # How many axes each operand's "..." stands for (0 where it has none).
    widths = [len(shape) - len(s) + 3 if "..." in s else 0 for s, shape in zip(specs, shapes, strict=True)]
    for s, shape, w in zip(specs, shapes, widths, strict=True):
        if ("..." not in s and len(s) != len(shape)) or w < 0:
            raise ShapeError(f"einsum: operand {s!r} of {subscripts!r} does not fit shape {shape}")
    ell = "".join(free[: max(widths, default=0)])
    explicit = [s.replace("...", ell[len(ell) - w :]) for s, w in zip(specs, widths, strict=True)]
    if arrow:
        out = out.replace("...", ell)
    else:
        letters = "".join(s.replace("...", "") for s in specs)
        out = ell + "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    return explicit, out


class Einsum(Function):
    """NumPy's einsum on explicit subscripts; each operand's gradient is an einsum of the
    output's gradient and the other operands."""

    __slots__ = ("specs", "out")
    name = "einsum"
    may_warn = True
    differentiable_twice = True

    @staticmethod
    def forward(ctx: Any, *arrays: np.ndarray, specs: list[str], out: str) -> np.ndarray:
        ctx.save_for_backward(*arrays)
        ctx.specs, ctx.out = specs, out
        return np.asarray(np.einsum(",".join(specs) + "->" + out, *arrays, optimize=True))

    @staticmethod
    def backward(ctx: Any, g: Any) -> tuple[Any, ...]:
        arrays, specs = ctx.saved_tensors, ctx.specs
        grads = []
        for i, needed in enumerate(ctx.needs_input_grad):
            grads.append(_einsum_grad(i, g, arrays, specs, ctx.out) if needed else None)
        return tuple(grads)


def _einsum_grad(i: int, g: Any, arrays: tuple[Any, ...], specs: list[str], out: str) -> Any:
    """d(einsum)/d(operand i), contracted with g: an einsum of g and the other operands.

    A letter repeated in operand i ("ii->i") puts the gradient on a diagonal: the repeat is
    renamed and an identity matrix joins the two names. A letter only operand i has ("ij->i")
    was summed over: a vector of ones gives it back its length."""
    target = ""
    operands: list[Any] = [g] + [a for j, a in enumerate(arrays) if j != i]
    subs = [out] + [s for j, s in enumerate(specs) if j != i]
    taken = set("".join(specs) + out)
    fresh = (c for c in _LETTERS if c not in taken)
    shape = arrays[i].shape
    dtype = arrays[i].dtype
    for axis, letter in enumerate(specs[i]):
        if letter in target:
            new = next(fresh)
            operands.append(np.eye(shape[axis], dtype=dtype))
            subs.append(letter + new)
            letter = new
        target += letter
    present = set("".join(subs))
    for axis, letter in enumerate(target):
        if letter not in present:
            operands.append(np.ones(shape[axis], dtype=dtype))
            subs.append(letter)
    if any(isinstance(a, Tensor) for a in operands):
        return Einsum.apply(*[_tensor(a, "einsum") for a in operands], specs=subs, out=target)
    return np.einsum(",".join(subs) + "->" + target, *operands, optimize=True)


def einsum(subscripts: str, *operands: Any) -> Tensor:
    """Einstein summation, as ``torch.einsum``/``np.einsum``: any subscript string, spaces
    and ``...`` included, with or without ``->`` (NumPy's implicit output), computed along
    NumPy's optimized contraction path. Operands may also be given as one list.

    >>> import microgradnn as mg
    >>> a, b = mg.ones((2, 3)), mg.ones((3, 4))
    >>> mg.einsum("ij,jk->ik", a, b).shape
    (2, 4)
    >>> mg.einsum("ii", mg.eye(3)).item()
    3.0
    >>> mg.einsum("...ij->...ji", mg.ones((5, 2, 3))).shape
    (5, 3, 2)
    """
    if not isinstance(subscripts, str):
        raise TypeError(f"einsum: the subscripts come first, as a string, not {type(subscripts).__name__}")
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    tensors = [_tensor(x, "einsum") for x in operands]
    specs, out = _parse_einsum(subscripts, [t.shape for t in tensors])
    try:
        return Einsum.apply(*tensors, specs=specs, out=out)
    except ValueError as err:
        shapes = ", ".join(str(t.shape) for t in tensors)
        raise ShapeError(f"einsum: {subscripts!r} does not fit operands of shapes {shapes} ({err})") from None


def tensordot(a: Any, b: Any, dims: Any = 2, *, axes: Any = None) -> Tensor:
    """Contract the last ``dims`` axes of ``a`` with the first of ``b``, or the axes given as
    a pair of lists, as ``torch.tensordot`` (``axes=`` as NumPy spells it).

    >>> import microgradnn as mg
    >>> mg.tensordot(mg.ones((2, 3, 4)), mg.ones((3, 4, 5))).shape
    (2, 5)
    >>> mg.tensordot(mg.ones((2, 3)), mg.ones((2, 4)), dims=([0], [0])).shape
    (3, 4)
    """
    if axes is not None:
        if dims != 2:
            raise TypeError("tensordot: give dims= or axes=, not both")
        dims = axes
    a, b = _tensor(a, "tensordot"), _tensor(b, "tensordot")
    if isinstance(dims, (int, np.integer)):
        if not 0 <= dims <= min(a.ndim, b.ndim):
            raise ShapeError(f"tensordot: cannot contract {dims} axes of shapes {a.shape} and {b.shape}")
        dims_a, dims_b = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        dims_a, dims_b = ([d] if isinstance(d, int) else list(d) for d in dims)
        dims_a = [check_dim("tensordot", d, a.shape) for d in dims_a]
        dims_b = [check_dim("tensordot", d, b.shape) for d in dims_b]
    if len(dims_a) != len(dims_b) or any(a.shape[i] != b.shape[j] for i, j in zip(dims_a, dims_b, strict=False)):
        raise ShapeError(f"tensordot: axes {dims_a} of shape {a.shape} do not match axes {dims_b} of shape {b.shape}")
    sa = _LETTERS[: a.ndim]
    sb = list(_LETTERS[a.ndim : a.ndim + b.ndim])
    for i, j in zip(dims_a, dims_b, strict=True):
        sb[j] = sa[i]
    out = "".join(c for k, c in enumerate(sa) if k not in dims_a) + "".join(
        c for k, c in enumerate(sb) if k not in dims_b
    )
    return Einsum.apply(a, b, specs=[sa, "".join(sb)], out=out)


def outer(input: Any, vec2: Any) -> Tensor:
    """The outer product of two 1-d tensors, as ``torch.outer``.

    >>> import microgradnn as mg
    >>> mg.outer(mg.Tensor([1.0, 2.0]), mg.Tensor([1.0, 10.0, 100.0])).tolist()
    [[1.0, 10.0, 100.0], [2.0, 20.0, 200.0]]
    """
    a, b = _tensor(input, "outer"), _tensor(vec2, "outer")
    if a.ndim != 1 or b.ndim != 1:
        raise ShapeError(f"outer: expected two 1-d tensors, got shapes {a.shape} and {b.shape}")
    return Einsum.apply(a, b, specs=["i", "j"], out="ij")


def inner(input: Any, other: Any) -> Tensor:
    """The sum of products over the last axes, as ``torch.inner`` (shape
    ``input.shape[:-1] + other.shape[:-1]``; a 0-d operand multiplies).

    >>> import microgradnn as mg
    >>> mg.inner(mg.ones((2, 3)), mg.ones((4, 3))).shape
    (2, 4)
    """
    a, b = _tensor(input, "inner"), _tensor(other, "inner")
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    if a.shape[-1] != b.shape[-1]:
        raise ShapeError(f"inner: the last axes of shapes {a.shape} and {b.shape} differ")
    return tensordot(a, b, ([-1], [-1]))


def dot(input: Any, other: Any) -> Tensor:
    """The dot product of two 1-d tensors of one length, as ``torch.dot`` (for matrices use
    ``matmul`` or ``@``; for NumPy's n-d ``dot``, ``tensordot``).

    >>> import microgradnn as mg
    >>> mg.dot(mg.Tensor([1.0, 2.0]), mg.Tensor([3.0, 4.0])).item()
    11.0
    """
    a, b = _tensor(input, "dot"), _tensor(other, "dot")
    if a.ndim != 1 or b.ndim != 1 or a.shape != b.shape:
        raise ShapeError(
            f"dot: expected two 1-d tensors of one length (as torch.dot), got shapes {a.shape} and {b.shape}; "
            "use matmul (@) for matrices"
        )
    return Einsum.apply(a, b, specs=["i", "i"], out="")


class Cross(Function):
    __slots__ = ("dim",)
    name = "cross"
    may_warn = True
    differentiable_twice = True

    @staticmethod
    def forward(ctx: Any, a: np.ndarray, b: np.ndarray, dim: int) -> np.ndarray:
        ctx.save_for_backward(a, b)
        ctx.dim = dim
        return np.cross(a, b, axis=dim)

    @staticmethod
    def backward(ctx: Any, g: Any) -> tuple[Any, Any]:
        # g . (a x b) = a . (b x g) = b . (g x a)
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        return (_cross(b, g, ctx.dim) if need_a else None), (_cross(g, a, ctx.dim) if need_b else None)


def _cross(a: Any, b: Any, dim: int) -> Any:
    if isinstance(a, Tensor) or isinstance(b, Tensor):
        return Cross.apply(_tensor(a, "cross"), _tensor(b, "cross"), dim=dim)
    return np.cross(a, b, axis=dim)


def cross(input: Any, other: Any, dim: int | None = None) -> Tensor:
    """The cross product of 3-vectors along ``dim``, with broadcasting, as ``torch.cross``:
    without ``dim``, the first axis of length 3 (``torch.linalg.cross`` takes the last).

    >>> import microgradnn as mg
    >>> mg.cross(mg.Tensor([1.0, 0.0, 0.0]), mg.Tensor([0.0, 1.0, 0.0])).tolist()
    [0.0, 0.0, 1.0]
    """
    a, b = _tensor(input, "cross"), _tensor(other, "cross")
    try:
        shape = np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ShapeError(f"cross: shapes {a.shape} and {b.shape} cannot be broadcast together") from None
    if dim is None:
        threes = [d for d, n in enumerate(shape) if n == 3]
        if not threes:
            raise ShapeError(f"cross: no axis of length 3 in shapes {a.shape} and {b.shape}")
        dim = threes[0]
    dim = check_dim("cross", dim, shape) - len(shape)
    if a.shape[dim:][:1] != (3,) or b.shape[dim:][:1] != (3,) or a.ndim < -dim or b.ndim < -dim:
        raise ShapeError(f"cross: dim {dim} must have length 3 in both shapes {a.shape} and {b.shape}")
    return Cross.apply(a, b, dim=dim)


def linalg_cross(input: Any, other: Any, *, dim: int = -1) -> Tensor:
    """The cross product along ``dim`` (the last by default), as ``torch.linalg.cross``.

    >>> import microgradnn as mg
    >>> mg.linalg.cross(mg.Tensor([[0.0, 1.0, 0.0]]), mg.Tensor([0.0, 0.0, 1.0])).tolist()
    [[1.0, 0.0, 0.0]]
    """
    return cross(input, other, dim)


def kron(input: Any, other: Any) -> Tensor:
    """The Kronecker product, as ``torch.kron`` (the shorter shape is padded with leading 1s).

    >>> import microgradnn as mg
    >>> mg.kron(mg.eye(2), mg.ones((2, 2))).shape
    (4, 4)
    """
    a, b = _tensor(input, "kron"), _tensor(other, "kron")
    n = max(a.ndim, b.ndim)
    a = a.reshape((1,) * (n - a.ndim) + a.shape)
    b = b.reshape((1,) * (n - b.ndim) + b.shape)
    sa, sb = _LETTERS[:n], _LETTERS[n : 2 * n]
    product = Einsum.apply(a, b, specs=[sa, sb], out="".join(x + y for x, y in zip(sa, sb, strict=True)))
    return product.reshape(tuple(p * q for p, q in zip(a.shape, b.shape, strict=True)))


# ------------------------------------------------------------------ triangles and diagonals
class Triangle(Function):
    __slots__ = ("k", "lower")
    name = "tril"
    differentiable_twice = True

    @staticmethod
    def forward(ctx: Any, x: np.ndarray, k: int, lower: bool) -> np.ndarray:
        ctx.k, ctx.lower = k, lower
        return np.tril(x, k) if lower else np.triu(x, k)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return _triangle(g, ctx.k, ctx.lower)


class Triu(Triangle):
    """The same op, named for error messages and graphs."""

    __slots__ = ()
    name = "triu"


def _triangle(x: Any, k: int, lower: bool) -> Any:
    if isinstance(x, Tensor):
        return (Triangle if lower else Triu)._apply1(x, k, lower)
    return np.tril(x, k) if lower else np.triu(x, k)


def tril(input: Any, diagonal: int = 0) -> Tensor:
    """The lower triangle of a matrix (or of each in a batch): entries above the
    ``diagonal``-th diagonal become 0.

    >>> import microgradnn as mg
    >>> mg.tril(mg.ones((2, 2))).tolist()
    [[1.0, 0.0], [1.0, 1.0]]
    """
    x = _tensor(input, "tril")
    if x.ndim < 2:
        raise ShapeError(f"tril: expected a tensor of at least 2 dimensions, got shape {x.shape}")
    return Triangle._apply1(x, int(diagonal), True)


def triu(input: Any, diagonal: int = 0) -> Tensor:
    """The upper triangle of a matrix (or of each in a batch): entries below the
    ``diagonal``-th diagonal become 0.

    >>> import microgradnn as mg
    >>> mg.triu(mg.ones((2, 2)), diagonal=1).tolist()
    [[0.0, 1.0], [0.0, 0.0]]
    """
    x = _tensor(input, "triu")
    if x.ndim < 2:
        raise ShapeError(f"triu: expected a tensor of at least 2 dimensions, got shape {x.shape}")
    return Triu._apply1(x, int(diagonal), False)


def _embed_array(g: np.ndarray, shape: tuple[int, ...], offset: int, dim1: int, dim2: int) -> np.ndarray:
    """Zeros of ``shape`` with ``g`` (diagonal last) on the ``offset`` diagonal of dims
    ``dim1``, ``dim2``: the adjoint of ``np.diagonal``."""
    out = np.zeros(shape, dtype=g.dtype)
    view = np.moveaxis(out, (dim1, dim2), (-2, -1))
    steps = np.arange(g.shape[-1])
    view[..., steps + max(-offset, 0), steps + max(offset, 0)] = g
    return out


class Diagonal(Function):
    __slots__ = ("shape", "offset", "dim1", "dim2")
    name = "diagonal"
    differentiable_twice = True

    @staticmethod
    def forward(ctx: Any, x: np.ndarray, offset: int, dim1: int, dim2: int) -> np.ndarray:
        ctx.shape, ctx.offset, ctx.dim1, ctx.dim2 = x.shape, offset, dim1, dim2
        return np.diagonal(x, offset, dim1, dim2).copy()

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        if isinstance(g, Tensor):
            return Embed._apply1(g, ctx.shape, ctx.offset, ctx.dim1, ctx.dim2)
        return _embed_array(g, ctx.shape, ctx.offset, ctx.dim1, ctx.dim2)


class Embed(Function):
    """The adjoint of Diagonal: a diagonal put into a tensor of zeros."""

    __slots__ = ("offset", "dim1", "dim2")
    name = "diag_embed"
    differentiable_twice = True

    @staticmethod
    def forward(ctx: Any, g: np.ndarray, shape: tuple[int, ...], offset: int, dim1: int, dim2: int) -> np.ndarray:
        ctx.offset, ctx.dim1, ctx.dim2 = offset, dim1, dim2
        return _embed_array(g, shape, offset, dim1, dim2)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        if isinstance(g, Tensor):
            return Diagonal._apply1(g, ctx.offset, ctx.dim1, ctx.dim2)
        return np.diagonal(g, ctx.offset, ctx.dim1, ctx.dim2).copy()


def _two_dims(op: str, dim1: int, dim2: int, shape: tuple[int, ...]) -> tuple[int, int]:
    if len(shape) < 2:
        raise ShapeError(f"{op}: expected a tensor of at least 2 dimensions, got shape {shape}")
    d1, d2 = check_dim(op, dim1, shape), check_dim(op, dim2, shape)
    if d1 == d2:
        raise ShapeError(f"{op}: dim1 and dim2 must differ, both are {dim1} (shape {shape})")
    return d1, d2


def diagonal(input: Any, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """The ``offset`` diagonal of the matrices in dims ``dim1``, ``dim2``, as a new last axis
    (``torch.diagonal``; offset > 0 above the main diagonal).

    >>> import microgradnn as mg
    >>> mg.diagonal(mg.Tensor([[1.0, 2.0], [3.0, 4.0]])).tolist()
    [1.0, 4.0]
    >>> mg.diagonal(mg.ones((5, 2, 3)), dim1=-2, dim2=-1).shape
    (5, 2)
    """
    x = _tensor(input, "diagonal")
    d1, d2 = _two_dims("diagonal", dim1, dim2, x.shape)
    return Diagonal._apply1(x, int(offset), d1, d2)


def diag_embed(input: Any, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """Matrices (in dims ``dim1``, ``dim2`` of the result) with the last axis of ``input``
    on their ``offset`` diagonal and zeros elsewhere, as ``torch.diag_embed``.

    >>> import microgradnn as mg
    >>> mg.diag_embed(mg.Tensor([[1.0, 2.0]])).tolist()
    [[[1.0, 0.0], [0.0, 2.0]]]
    """
    x = _tensor(input, "diag_embed")
    if x.ndim < 1:
        raise ShapeError(f"diag_embed: expected a tensor of at least 1 dimension, got shape {x.shape}")
    offset = int(offset)
    n = x.shape[-1] + abs(offset)
    d1, d2 = _two_dims("diag_embed", dim1, dim2, (n,) * (x.ndim + 1))
    batch = iter(x.shape[:-1])
    shape = tuple(n if d in (d1, d2) else next(batch) for d in range(x.ndim + 1))
    return Embed._apply1(x, shape, offset, d1, d2)


def diag(input: Any, diagonal: int = 0) -> Tensor:
    """As ``torch.diag``: a 1-d tensor becomes a square matrix with it on the ``diagonal``-th
    diagonal; a matrix gives its ``diagonal``-th diagonal as a 1-d tensor.

    >>> import microgradnn as mg
    >>> mg.diag(mg.Tensor([1.0, 2.0])).tolist()
    [[1.0, 0.0], [0.0, 2.0]]
    >>> mg.diag(mg.Tensor([[1.0, 2.0], [3.0, 4.0]]), 1).tolist()
    [2.0]
    """
    x = _tensor(input, "diag")
    if x.ndim == 1:
        return diag_embed(x, diagonal, 0, 1)
    if x.ndim == 2:
        return Diagonal._apply1(x, int(diagonal), 0, 1)
    raise ShapeError(f"diag: expected a 1-d or 2-d tensor, got shape {x.shape}")


def trace(input: Any) -> Tensor:
    """The sum of the main diagonal of a matrix, as ``torch.trace`` (2-d only).

    >>> import microgradnn as mg
    >>> mg.trace(mg.Tensor([[1.0, 2.0], [3.0, 4.0]])).item()
    5.0
    """
    x = _tensor(input, "trace")
    if x.ndim != 2:
        raise ShapeError(f"trace: expected a 2-d tensor, got shape {x.shape}")
    return Diagonal._apply1(x, 0, 0, 1).sum()


# ------------------------------------------------------------------ mg.linalg
def _inv_of(x: Any, op: str = "linalg.inv") -> Any:
    if isinstance(x, Tensor):
        return inv(x)
    try:
        return np.linalg.inv(x)
    except np.linalg.LinAlgError as err:
        raise _linalg_error(f"{op} (backward)", x, err) from None


def _adjugate_t(a: np.ndarray) -> np.ndarray:
    """The transposed adjugate (cofactor matrix), d det(A) / dA, also where A is singular:
    from the SVD A = U S V^T it is det(U) det(V^T) U diag(prod of the other s) V^T."""
    u, s, vt = np.linalg.svd(a)
    n = s.shape[-1]
    others = np.stack([np.prod(np.delete(s, i, axis=-1), axis=-1) for i in range(n)], axis=-1)
    signs = np.linalg.det(u) * np.linalg.det(vt)
    return signs[..., None, None] * (u * others[..., None, :]) @ vt


class Inv(Function):
    __slots__ = ()
    name = "linalg.inv"
    may_warn = True
    differentiable_twice = True

    @staticmethod
    def forward(ctx: Any, a: np.ndarray) -> np.ndarray:
        try:
            y = np.linalg.inv(a)
        except np.linalg.LinAlgError as err:
            raise _linalg_error("linalg.inv", a, err) from None
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (y,) = ctx.saved_tensors
        return -(y.mT @ g @ y.mT)


def inv(A: Any) -> Tensor:
    """The inverse of a square matrix (or of each in a batch), as ``torch.linalg.inv``; a
    singular matrix raises ``numpy.linalg.LinAlgError``.

    >>> import microgradnn as mg
    >>> mg.linalg.inv(mg.Tensor([[2.0, 0.0], [0.0, 4.0]])).tolist()
    [[0.5, 0.0], [0.0, 0.25]]
    """
    a = _tensor(A, "linalg.inv")
    _square("linalg.inv", a)
    return Inv._apply1(a)


class Det(Function):
    __slots__ = ()
    name = "linalg.det"
    may_warn = True
    differentiable_twice = True

    @staticmethod
    def forward(ctx: Any, a: np.ndarray) -> np.ndarray:
        d = np.asarray(np.linalg.det(a))
        ctx.save_for_backward(a, d)
        return d

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        # d det(A) = det(A) tr(A^-1 dA). At a singular matrix, where A^-1 does not exist, the
        # cofactors (as PyTorch, from the SVD); a recorded backward there raises instead.
        a, d = ctx.saved_tensors
        if not isinstance(a, Tensor):
            try:
                return (g * d)[..., None, None] * np.linalg.inv(a).mT
            except np.linalg.LinAlgError:
                return g[..., None, None] * _adjugate_t(a)
        return (g * d)[..., None, None] * _inv_of(a).mT


def det(A: Any) -> Tensor:
    """The determinant of a square matrix (or of each in a batch), as ``torch.linalg.det``.

    >>> import microgradnn as mg
    >>> round(mg.linalg.det(mg.Tensor([[2.0, 1.0], [1.0, 3.0]])).item(), 12)
    5.0
    """
    a = _tensor(A, "linalg.det")
    _square("linalg.det", a)
    return Det._apply1(a)


class LogAbsDet(Function):
    __slots__ = ()
    name = "linalg.slogdet"
    may_warn = True
    differentiable_twice = True

    @staticmethod
    def forward(ctx: Any, a: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(a)
        return np.asarray(np.linalg.slogdet(a)[1])

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (a,) = ctx.saved_tensors
        return g[..., None, None] * _inv_of(a, "linalg.slogdet").mT


class SlogdetResult(NamedTuple):
    """What :func:`slogdet` returns: the sign and the log of the absolute determinant.

    >>> import microgradnn as mg
    >>> mg.linalg.slogdet(mg.eye(2) * 2).logabsdet.item() == 2 * 0.6931471805599453
    True
    """

    sign: Tensor
    logabsdet: Tensor


def slogdet(A: Any) -> SlogdetResult:
    """``(sign, logabsdet)`` of the determinant, as ``torch.linalg.slogdet``: stable where
    ``det`` over- or underflows. ``logabsdet`` is differentiable; a singular matrix gives sign
    0 and logabsdet -inf.

    >>> import microgradnn as mg
    >>> sign, logabsdet = mg.linalg.slogdet(mg.Tensor([[-2.0, 0.0], [0.0, 3.0]]))
    >>> sign.item(), round(logabsdet.item(), 4)
    (-1.0, 1.7918)
    """
    a = _tensor(A, "linalg.slogdet")
    _square("linalg.slogdet", a)
    with no_fp_warnings():  # inf or NaN entries give a NaN sign, as in PyTorch
        sign = Tensor._wrap(np.asarray(np.linalg.slogdet(a.data)[0]), None)
    return SlogdetResult(sign, LogAbsDet._apply1(a))


def _solve_of(a: Any, b: Any) -> Any:
    if isinstance(a, Tensor) or isinstance(b, Tensor):
        return Solve.apply(_tensor(a, "linalg.solve"), _tensor(b, "linalg.solve"), quiet=True)
    return _solve_array(a, b, True)


def _solve_array(a: np.ndarray, b: np.ndarray, quiet: bool) -> np.ndarray:
    try:
        return np.linalg.solve(a, b)
    except np.linalg.LinAlgError as err:
        if not quiet:
            raise _linalg_error("linalg.solve", a, err) from None
        # In backward, for an A that forward could solve with: non-finite values that LAPACK
        # reads as singular in A^T. NaN, as reusing forward's factorization would give.
        return np.full(np.broadcast_shapes(a.shape[:-2], b.shape[:-2]) + b.shape[-2:], np.nan, b.dtype)


class Solve(Function):
    """X with A X = B, for B a matrix (or a batch of them)."""

    __slots__ = ()
    name = "linalg.solve"
    may_warn = True
    differentiable_twice = True

    @staticmethod
    def forward(ctx: Any, a: np.ndarray, b: np.ndarray, quiet: bool = False) -> np.ndarray:
        x = _solve_array(a, b, quiet)
        ctx.save_for_backward(a, x)
        return x

    @staticmethod
    def backward(ctx: Any, g: Any) -> tuple[Any, Any]:
        a, x = ctx.saved_tensors
        grad_b = _solve_of(a.mT, g)
        return (-(grad_b @ x.mT) if ctx.needs_input_grad[0] else None), grad_b


def solve(A: Any, B: Any) -> Tensor:
    """The solution X of ``A @ X = B``, as ``torch.linalg.solve``: ``B`` is a batch of vectors
    when it has shape ``A.shape[:-1]`` (or is 1-d), else a batch of matrices; batch axes
    broadcast. A singular ``A`` raises ``numpy.linalg.LinAlgError``.

    >>> import microgradnn as mg
    >>> mg.linalg.solve(mg.Tensor([[2.0, 0.0], [0.0, 4.0]]), mg.Tensor([2.0, 2.0])).tolist()
    [1.0, 0.5]
    """
    a, b = _tensor(A, "linalg.solve"), _tensor(B, "linalg.solve")
    _square("linalg.solve", a)
    vector = b.ndim == 1 or (b.ndim == a.ndim - 1 and b.shape == a.shape[:-1])
    if vector:
        b = b.reshape(b.shape + (1,))
    if b.ndim < 2 or b.shape[-2] != a.shape[-1]:
        raise ShapeError(
            f"linalg.solve: A of shape {a.shape} does not fit B of shape {B.shape if hasattr(B, 'shape') else b.shape}"
        )
    try:
        x = Solve.apply(a, b)
    except np.linalg.LinAlgError:  # (a ValueError too, but a singular A, not a shape)
        raise
    except ValueError:
        raise ShapeError(
            f"linalg.solve: batch axes of shapes {a.shape} and {b.shape} cannot be broadcast together"
        ) from None
    return x.reshape(x.shape[:-1]) if vector else x


class Cholesky(Function):
    __slots__ = ()
    name = "linalg.cholesky"
    may_warn = True
    differentiable_twice = True

    @staticmethod
    def forward(ctx: Any, a: np.ndarray) -> np.ndarray:
        try:
            low = np.linalg.cholesky(a)
        except np.linalg.LinAlgError as err:
            raise _linalg_error("linalg.cholesky", a, err) from None
        ctx.save_for_backward(low)
        return low

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        # PyTorch's formula: L^-T Phi(L^T gL) L^-1, symmetrized, where Phi keeps the lower
        # triangle and halves the diagonal.
        (low,) = ctx.saved_tensors
        p = low.mT @ g
        phi = (_triangle(p, 0, True) + _triangle(p, -1, True)) * 0.5
        low_inv = _inv_of(low)
        s = low_inv.mT @ phi @ low_inv
        return (s + s.mT) * 0.5


def cholesky(A: Any, *, upper: bool = False) -> Tensor:
    """The Cholesky factor L (lower triangular, ``A = L @ L.mT``) of a symmetric positive
    definite matrix (or of each in a batch), as ``torch.linalg.cholesky``; ``upper=True``
    gives ``L.mT``. Only the lower triangle of ``A`` is read; one that is not positive
    definite raises ``numpy.linalg.LinAlgError``.

    >>> import microgradnn as mg
    >>> mg.linalg.cholesky(mg.Tensor([[4.0, 2.0], [2.0, 2.0]])).tolist()
    [[2.0, 0.0], [1.0, 1.0]]
    """
    a = _tensor(A, "linalg.cholesky")
    _square("linalg.cholesky", a)
    low = Cholesky._apply1(a)
    return low.mT if upper else low


class SvdVals(Function):
    """The singular values, largest first; d sigma_i = u_i^T dA v_i. The backward holds U and
    V fixed, so the op is differentiable once (the second derivative needs U's and V's)."""

    __slots__ = ()
    name = "linalg.svdvals"
    may_warn = True

    @staticmethod
    def forward(ctx: Any, a: np.ndarray) -> np.ndarray:
        try:
            u, s, vh = np.linalg.svd(a, full_matrices=False)
        except np.linalg.LinAlgError as err:  # inf or NaN entries: SVD does not converge
            raise _linalg_error("linalg.svdvals", a, err) from None
        ctx.save_for_backward(u, vh)
        return s

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        u, vh = ctx.saved_tensors
        with no_fp_warnings():  # an inf in g gives inf * 0 = NaN, as PyTorch's
            return (u * g[..., None, :]) @ vh


def svdvals(A: Any) -> Tensor:
    """The singular values of a matrix (or of each in a batch), in descending order, as
    ``torch.linalg.svdvals``; differentiable once, where they are distinct.

    >>> import microgradnn as mg
    >>> mg.linalg.svdvals(mg.Tensor([[3.0, 0.0], [0.0, -4.0]])).tolist()
    [4.0, 3.0]
    """
    a = _tensor(A, "linalg.svdvals")
    if a.ndim < 2:
        raise ShapeError(f"linalg.svdvals: expected a matrix or a batch of them, got shape {a.shape}")
    return SvdVals._apply1(a)


def logdet(A: Any) -> Tensor:
    """The log of the determinant, as ``torch.logdet``: NaN for a negative determinant, -inf
    for a singular matrix; differentiable where the determinant is positive.

    >>> import microgradnn as mg
    >>> round(mg.logdet(mg.eye(2) * 3).item(), 4)
    2.1972
    """
    sign, logabsdet = slogdet(A)
    with no_fp_warnings():
        return logabsdet + Tensor._wrap(np.log(sign.data), None)


class QRResult(NamedTuple):
    """What :func:`qr` returns: Q (orthonormal columns) and R (upper triangular).

    >>> import microgradnn as mg
    >>> mg.linalg.qr(mg.ones((3, 2))).R.shape
    (2, 2)
    """

    Q: Tensor
    R: Tensor


class QR(Function):
    """Q and R packed in one array (Q above R for a tall matrix, beside it for a wide one),
    so one node gives both; qr() slices them apart."""

    __slots__ = ("m",)
    name = "linalg.qr"
    may_warn = True
    differentiable_twice = True

    @staticmethod
    def forward(ctx: Any, a: np.ndarray) -> np.ndarray:
        q, r = np.linalg.qr(a)
        ctx.m = a.shape[-2]
        packed = np.concatenate([q, r], axis=-2 if a.shape[-2] >= a.shape[-1] else -1)
        # The output itself is saved (not q and r), so that a recorded backward sees Q and R
        # as functions of A: slices of the output.
        ctx.save_for_backward(packed)
        return packed

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (packed,) = ctx.saved_tensors
        m = ctx.m
        if packed.shape[-2] != m:  # tall (or square): Q (m, n) above R (n, n)
            return _qr_grad(packed[..., :m, :], packed[..., m:, :], g[..., :m, :], g[..., m:, :])
        # Wide, A = [X | Y] with X square: X = Q U and R = [U | V] with V = Q^T Y, so Y = Q V
        # and Y's gradient is Q gV, while V's dependence on Q adds Y gV^T to Q's gradient.
        q, u, v = packed[..., :, :m], packed[..., :, m : 2 * m], packed[..., :, 2 * m :]
        gq, gu, gv = g[..., :, :m], g[..., :, m : 2 * m], g[..., :, 2 * m :]
        x_bar = _qr_grad(q, u, gq + (q @ v) @ gv.mT, gu)
        return _on(x_bar, _cat_last, _np_cat_last, q @ gv)


def _cat_last(a: Tensor, b: Tensor) -> Tensor:
    from .shape import concatenate  # shape imports this module's neighbours

    return concatenate([a, b], axis=-1)


def _np_cat_last(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.concatenate([a, b], axis=-1)


def _qr_grad(q: Any, r: Any, gq: Any, gr: Any) -> Any:
    """The gradient of A = Q R for a tall or square A of full column rank (TensorFlow's and
    PyTorch's formula): A-bar = [gQ + Q copyltu(M)] R^-T, M = R gR^T - gQ^T Q."""
    qgq = q.mT @ gq
    rgr = r @ gr.mT
    low = _triangle(qgq - qgq.mT + rgr - rgr.mT, 0, True)
    r_inv_t = _inv_of(r).mT
    return q @ (gr + low @ r_inv_t) + (gq - q @ qgq) @ r_inv_t


def qr(A: Any, mode: str = "reduced") -> QRResult:
    """The QR decomposition ``A = Q @ R`` (or of each matrix in a batch), as
    ``torch.linalg.qr`` in its default "reduced" mode: a named tuple ``(Q, R)``. Gradients
    need the first min(m, n) columns of ``A`` to be independent (as PyTorch's).

    >>> import microgradnn as mg
    >>> Q, R = mg.linalg.qr(mg.Tensor([[3.0, 0.0], [4.0, 5.0]]))
    >>> bool(abs((Q @ R).data - [[3.0, 0.0], [4.0, 5.0]]).max() < 1e-12)
    True
    """
    if mode != "reduced":
        raise ValueError(f"linalg.qr: only mode='reduced' is supported, not {mode!r}")
    a = _tensor(A, "linalg.qr")
    if a.ndim < 2:
        raise ShapeError(f"linalg.qr: expected a matrix or a batch of them, got shape {a.shape}")
    m, n = a.shape[-2:]
    k = min(m, n)
    packed = QR._apply1(a)
    if m >= n:
        return QRResult(packed[..., :m, :], packed[..., m:, :])
    return QRResult(packed[..., :, :k], packed[..., :, k:])
