"""Factories (zeros, ones, full, empty, eye, rand, randn, arange, linspace, logspace, meshgrid,
tril_indices, ..._like) and the default generator (ops/random.py samples from it too)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .autograd import no_fp_warnings
from .tensor import DTypeLike, Tensor, as_float_array

__all__ = [
    "manual_seed",
    "default_generator",
    "zeros",
    "ones",
    "full",
    "rand",
    "randn",
    "arange",
    "zeros_like",
    "ones_like",
    "eye",
    "linspace",
    "logspace",
    "meshgrid",
    "full_like",
    "empty",
    "empty_like",
    "tril_indices",
    "triu_indices",
]

_generator = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Reset the generator that random factories and initialisers use when given no ``rng``.

    >>> import microgradnn as mg
    >>> _ = mg.manual_seed(0); a = mg.rand(2)
    >>> _ = mg.manual_seed(0); b = mg.rand(2)
    >>> bool((a == b).data.all())
    True
    """
    global _generator
    _generator = np.random.default_rng(seed)
    return _generator


def default_generator() -> np.random.Generator:
    """The generator used when no ``rng=`` is given (reset by :func:`manual_seed`).

    >>> import microgradnn as mg
    >>> mg.manual_seed(0) is mg.default_generator()
    True
    """
    return _generator


def _shape(size: tuple[Any, ...], op: str) -> tuple[int, ...]:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    if not all(isinstance(n, (int, np.integer)) and n >= 0 for n in size):
        raise ValueError(f"{op}: a size is non-negative ints, not {size!r}")
    return tuple(int(n) for n in size)


def _dtype(dtype: DTypeLike, op: str) -> np.dtype:
    return np.dtype(np.float64) if dtype is None else as_float_array(np.empty(0), dtype, op).dtype


def _pick(rng: np.random.Generator | None, generator: np.random.Generator | None, op: str) -> np.random.Generator:
    """``rng=`` (this library's older spelling) or ``generator=`` (PyTorch's), else the default."""
    if rng is not None and generator is not None:
        raise TypeError(f"{op}: give rng= or generator=, not both")
    return rng if rng is not None else generator if generator is not None else _generator


def _make(array: np.ndarray, requires_grad: bool) -> Tensor:
    return Tensor(array, requires_grad=requires_grad)


def zeros(*size: Any, dtype: DTypeLike = None, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros: ``zeros(2, 3)`` or ``zeros((2, 3))``.

    >>> import microgradnn as mg
    >>> mg.zeros(2, 3).shape
    (2, 3)
    """
    return _make(np.zeros(_shape(size, "zeros"), _dtype(dtype, "zeros")), requires_grad)


def ones(*size: Any, dtype: DTypeLike = None, requires_grad: bool = False) -> Tensor:
    """A tensor of ones: ``ones(2, 3)`` or ``ones((2, 3))``.

    >>> import microgradnn as mg
    >>> mg.ones(2, dtype="float32")
    Tensor([1., 1.], dtype=float32)
    """
    return _make(np.ones(_shape(size, "ones"), _dtype(dtype, "ones")), requires_grad)


def full(size: Any, fill_value: float, dtype: DTypeLike = None, requires_grad: bool = False) -> Tensor:
    """A tensor of ``size`` filled with ``fill_value``.

    >>> import microgradnn as mg
    >>> mg.full((2,), 7.0).tolist()
    [7.0, 7.0]
    """
    shape = _shape((size,) if isinstance(size, (tuple, list)) else (size,), "full")
    with no_fp_warnings():  # a value too large for the dtype gives inf, as in PyTorch
        values = np.full(shape, fill_value, _dtype(dtype, "full"))
    return _make(values, requires_grad)


def rand(
    *size: Any,
    dtype: DTypeLike = None,
    requires_grad: bool = False,
    rng: np.random.Generator | None = None,
    generator: np.random.Generator | None = None,
) -> Tensor:
    """Uniform samples in [0, 1) from ``rng`` (or ``generator=``, PyTorch's spelling; by default
    the generator :func:`manual_seed` resets).

    >>> import numpy as np, microgradnn as mg
    >>> mg.rand(2, 3, rng=np.random.default_rng(0)).shape
    (2, 3)
    """
    generator = _pick(rng, generator, "rand")
    dt = _dtype(dtype, "rand")
    return _make(generator.random(_shape(size, "rand")).astype(dt, copy=False), requires_grad)


def randn(
    *size: Any,
    dtype: DTypeLike = None,
    requires_grad: bool = False,
    rng: np.random.Generator | None = None,
    generator: np.random.Generator | None = None,
) -> Tensor:
    """Standard normal samples from ``rng`` (or ``generator=``, PyTorch's spelling; by default
    the generator :func:`manual_seed` resets).

    >>> import numpy as np, microgradnn as mg
    >>> mg.randn(4, rng=np.random.default_rng(0), requires_grad=True).requires_grad
    True
    """
    generator = _pick(rng, generator, "randn")
    dt = _dtype(dtype, "randn")
    return _make(generator.standard_normal(_shape(size, "randn")).astype(dt, copy=False), requires_grad)


def arange(
    start: float, stop: float | None = None, step: float = 1, dtype: DTypeLike = None, requires_grad: bool = False
) -> Tensor:
    """Evenly spaced values in [start, stop), as ``np.arange`` (float64 unless ``dtype``).

    >>> import microgradnn as mg
    >>> mg.arange(3).tolist()
    [0.0, 1.0, 2.0]
    """
    values = np.arange(start, stop, step) if stop is not None else np.arange(start)
    return _make(as_float_array(values, _dtype(dtype, "arange"), "arange"), requires_grad)


def zeros_like(t: Any, dtype: DTypeLike = None, requires_grad: bool = False) -> Tensor:
    """Zeros with the shape (and dtype, unless given) of ``t``.

    >>> import microgradnn as mg
    >>> mg.zeros_like(mg.ones(2, 2)).tolist()
    [[0.0, 0.0], [0.0, 0.0]]
    """
    like = as_float_array(t, None, "zeros_like")
    return _make(np.zeros(like.shape, like.dtype if dtype is None else _dtype(dtype, "zeros_like")), requires_grad)


def ones_like(t: Any, dtype: DTypeLike = None, requires_grad: bool = False) -> Tensor:
    """Ones with the shape (and dtype, unless given) of ``t``.

    >>> import numpy as np, microgradnn as mg
    >>> mg.ones_like(np.zeros(2)).tolist()
    [1.0, 1.0]
    """
    like = as_float_array(t, None, "ones_like")
    return _make(np.ones(like.shape, like.dtype if dtype is None else _dtype(dtype, "ones_like")), requires_grad)


def eye(n: int, m: int | None = None, *, dtype: DTypeLike = None, requires_grad: bool = False) -> Tensor:
    """An ``n`` x ``m`` (default square) matrix with ones on the diagonal, as ``torch.eye``.

    >>> import microgradnn as mg
    >>> mg.eye(2).tolist()
    [[1.0, 0.0], [0.0, 1.0]]
    >>> mg.eye(2, 3).shape
    (2, 3)
    """
    rows, cols = _shape((n, n if m is None else m), "eye")
    return _make(np.eye(rows, cols, dtype=_dtype(dtype, "eye")), requires_grad)


def _steps(steps: Any, op: str) -> int:
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"{op}: steps must be a non-negative int, not {steps!r}")
    return int(steps)


def linspace(start: float, end: float, steps: int, *, dtype: DTypeLike = None, requires_grad: bool = False) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end``, both included, as
    ``torch.linspace`` (``steps`` is required, as in PyTorch).

    >>> import microgradnn as mg
    >>> mg.linspace(0, 1, 5).tolist()
    [0.0, 0.25, 0.5, 0.75, 1.0]
    """
    values = np.linspace(start, end, _steps(steps, "linspace"))
    return _make(values.astype(_dtype(dtype, "linspace"), copy=False), requires_grad)


def logspace(
    start: float,
    end: float,
    steps: int,
    base: float = 10.0,
    *,
    dtype: DTypeLike = None,
    requires_grad: bool = False,
) -> Tensor:
    """``steps`` values from ``base ** start`` to ``base ** end``, evenly spaced in the
    exponent, as ``torch.logspace``.

    >>> import microgradnn as mg
    >>> mg.logspace(0, 2, 3).tolist()
    [1.0, 10.0, 100.0]
    """
    with no_fp_warnings():  # a huge exponent gives inf, as in PyTorch
        values = np.logspace(start, end, _steps(steps, "logspace"), base=base)
    return _make(values.astype(_dtype(dtype, "logspace"), copy=False), requires_grad)


def meshgrid(*tensors: Any, indexing: str = "ij") -> tuple[Tensor, ...]:
    """Coordinate grids from 1-d tensors, as ``torch.meshgrid``: ``indexing="ij"`` (PyTorch's
    default; the first tensor varies along the first axis) or ``"xy"`` (NumPy's default).
    Differentiable: each grid is its tensor broadcast.

    >>> import microgradnn as mg
    >>> x, y = mg.meshgrid(mg.arange(3), mg.arange(2))
    >>> x.shape, y.tolist()
    ((3, 2), [[0.0, 1.0], [0.0, 1.0], [0.0, 1.0]])
    """
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid: indexing must be 'ij' or 'xy', not {indexing!r}")
    ts = [t if isinstance(t, Tensor) else Tensor(t) for t in tensors]
    for t in ts:
        if t.ndim > 1:
            raise ValueError(f"meshgrid: expects 0-d or 1-d tensors, got shape {t.shape}")
    ts = [t.reshape(-1) for t in ts]
    sizes = [t.shape[0] for t in ts]
    if indexing == "xy" and len(ts) >= 2:
        sizes[0], sizes[1] = sizes[1], sizes[0]
    grids = []
    for i, t in enumerate(ts):
        axis = (1 - i if i < 2 else i) if indexing == "xy" and len(ts) >= 2 else i
        view = [1] * len(ts)
        view[axis] = t.shape[0]
        grids.append(t.reshape(tuple(view)).broadcast_to(tuple(sizes)))
    return tuple(grids)


def full_like(input: Any, fill_value: float, *, dtype: DTypeLike = None, requires_grad: bool = False) -> Tensor:
    """A tensor of the shape (and dtype, unless given) of ``input``, filled with ``fill_value``.

    >>> import microgradnn as mg
    >>> mg.full_like(mg.zeros(2), 3.0).tolist()
    [3.0, 3.0]
    """
    like = as_float_array(input, None, "full_like")
    return full(like.shape, fill_value, like.dtype if dtype is None else dtype, requires_grad)


def empty(*size: Any, dtype: DTypeLike = None, requires_grad: bool = False) -> Tensor:
    """A tensor whose values are not set (whatever the memory held), as ``torch.empty``.

    >>> import microgradnn as mg
    >>> mg.empty(2, 3).shape
    (2, 3)
    """
    return _make(np.empty(_shape(size, "empty"), _dtype(dtype, "empty")), requires_grad)


def empty_like(input: Any, *, dtype: DTypeLike = None, requires_grad: bool = False) -> Tensor:
    """A tensor of the shape (and dtype, unless given) of ``input``, its values not set.

    >>> import microgradnn as mg
    >>> mg.empty_like(mg.zeros((2, 2), dtype="float32")).dtype
    dtype('float32')
    """
    like = as_float_array(input, None, "empty_like")
    return _make(np.empty(like.shape, like.dtype if dtype is None else _dtype(dtype, "empty_like")), requires_grad)


def _indices(op: str, row: int, col: int, offset: int, lower: bool) -> Tensor:
    rows, cols = _shape((row, col), op)
    found = np.tril_indices(rows, offset, cols) if lower else np.triu_indices(rows, offset, cols)
    return Tensor._wrap(np.stack(found).astype(np.int64).reshape(2, -1), None)


def tril_indices(row: int, col: int, offset: int = 0) -> Tensor:
    """The (row, column) indices of the lower triangle of a ``row`` x ``col`` matrix, as a
    ``(2, N)`` int64 tensor (``torch.tril_indices``).

    >>> import microgradnn as mg
    >>> mg.tril_indices(2, 2).tolist()
    [[0, 1, 1], [0, 0, 1]]
    """
    return _indices("tril_indices", row, col, offset, True)


def triu_indices(row: int, col: int, offset: int = 0) -> Tensor:
    """The (row, column) indices of the upper triangle of a ``row`` x ``col`` matrix, as a
    ``(2, N)`` int64 tensor (``torch.triu_indices``).

    >>> import microgradnn as mg
    >>> mg.triu_indices(2, 2).tolist()
    [[0, 0, 1], [0, 1, 1]]
    """
    return _indices("triu_indices", row, col, offset, False)
