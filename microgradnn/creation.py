"""Factories (zeros, ones, full, rand, randn, arange, ..._like) and the default generator."""

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
    *size: Any, dtype: DTypeLike = None, requires_grad: bool = False, rng: np.random.Generator | None = None
) -> Tensor:
    """Uniform samples in [0, 1) from ``rng`` (or the generator :func:`manual_seed` resets).

    >>> import numpy as np, microgradnn as mg
    >>> mg.rand(2, 3, rng=np.random.default_rng(0)).shape
    (2, 3)
    """
    generator = rng if rng is not None else _generator
    dt = _dtype(dtype, "rand")
    return _make(generator.random(_shape(size, "rand")).astype(dt, copy=False), requires_grad)


def randn(
    *size: Any, dtype: DTypeLike = None, requires_grad: bool = False, rng: np.random.Generator | None = None
) -> Tensor:
    """Standard normal samples from ``rng`` (or the generator :func:`manual_seed` resets).

    >>> import numpy as np, microgradnn as mg
    >>> mg.randn(4, rng=np.random.default_rng(0), requires_grad=True).requires_grad
    True
    """
    generator = rng if rng is not None else _generator
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
