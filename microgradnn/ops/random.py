"""Sampling: multinomial, randint, randperm, normal, bernoulli.

Each draws from the library's generator (the one :func:`microgradnn.manual_seed` resets) unless
given ``generator=`` (a ``numpy.random.Generator``, where PyTorch takes a ``torch.Generator``).
Samples are not differentiable: integer results are int64 tensors, as PyTorch's indices are,
and floating ones keep the dtype of their parameters (float64 by default).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import creation
from ..autograd import no_fp_warnings
from ..errors import ShapeError
from ..tensor import DTypeLike, Tensor, as_float_array

__all__ = ["multinomial", "randint", "randperm", "normal", "bernoulli"]


def _rng(generator: np.random.Generator | None, op: str) -> np.random.Generator:
    if generator is None:
        return creation.default_generator()
    if not isinstance(generator, np.random.Generator):
        raise TypeError(f"{op}: generator must be a numpy.random.Generator, not {type(generator).__name__}")
    return generator


def _indices(array: np.ndarray) -> Tensor:
    return Tensor._wrap(array.astype(np.int64, copy=False), None)


def _size(size: Any, op: str) -> tuple[int, ...]:
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
        size = (size,)
    if not isinstance(size, (tuple, list)) or not all(
        isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n >= 0 for n in size
    ):
        raise ValueError(f"{op}: size must be a tuple of non-negative ints, not {size!r}")
    return tuple(int(n) for n in size)


def multinomial(
    input: Any, num_samples: int, replacement: bool = False, *, generator: np.random.Generator | None = None
) -> Tensor:
    """Category indices drawn from each row of non-negative weights (``input`` of shape
    ``(n,)`` or ``(rows, n)``; they need not sum to 1), as ``torch.multinomial``: an int64
    tensor of shape ``(num_samples,)`` or ``(rows, num_samples)``. Without replacement a row's
    samples are distinct, so ``num_samples`` may not exceed its count of non-zero weights.

    >>> import microgradnn as mg
    >>> _ = mg.manual_seed(0)
    >>> mg.multinomial(mg.Tensor([0.0, 1.0, 0.0]), 4, replacement=True).tolist()
    [1, 1, 1, 1]
    >>> sorted(mg.multinomial(mg.Tensor([1.0, 1.0, 1.0]), 3).tolist())
    [0, 1, 2]
    """
    rng = _rng(generator, "multinomial")
    probs = as_float_array(input, None, "multinomial").astype(np.float64)
    if probs.ndim not in (1, 2) or probs.shape[-1] == 0:
        raise ShapeError(f"multinomial: expected weights of shape (n,) or (rows, n) with n > 0, got {probs.shape}")
    if isinstance(num_samples, bool) or not isinstance(num_samples, (int, np.integer)) or num_samples <= 0:
        raise ValueError(f"multinomial: num_samples must be a positive int, not {num_samples!r}")
    rows = probs.reshape(-1, probs.shape[-1])
    totals = rows.sum(axis=1)
    if not np.all(np.isfinite(rows)) or np.any(rows < 0) or np.any(totals <= 0):
        raise ValueError("multinomial: each row of weights must be finite and non-negative, with a positive sum")
    n = rows.shape[1]
    if replacement:
        # Inverse CDF, every row at once: row i's CDF is shifted by i, so one sorted array
        # holds them all and one searchsorted finds every sample.
        cdf = np.cumsum(rows / totals[:, None], axis=1)
        cdf[:, -1] = 1.0
        offsets = np.arange(len(rows))[:, None]
        u = rng.random((len(rows), num_samples))
        found = np.searchsorted((cdf + offsets).ravel(), (u + offsets).ravel(), side="right")
        samples = np.minimum(found.reshape(u.shape) - offsets * n, n - 1)
    else:
        if np.any(np.count_nonzero(rows, axis=1) < num_samples):
            raise ValueError(
                f"multinomial: cannot draw {num_samples} distinct samples without replacement from a row "
                "with fewer non-zero weights"
            )
        # The Gumbel-top-k trick: the k largest log(w) + Gumbel noise are a sample of k
        # distinct categories, drawn one after another in proportion to their weights.
        with no_fp_warnings():  # log(0) = -inf: a zero weight is never drawn
            keys = np.log(rows) + rng.gumbel(size=rows.shape)
        samples = np.argsort(-keys, axis=1, kind="stable")[:, :num_samples]
    return _indices(samples.reshape(probs.shape[:-1] + (num_samples,)))


def randint(
    low: int,
    high: Any = None,
    size: Any = None,
    *,
    generator: np.random.Generator | None = None,
    dtype: Any = None,
) -> Tensor:
    """Integers drawn uniformly from [low, high), as ``torch.randint``: ``randint(high, size)``
    or ``randint(low, high, size)``; an int64 tensor, or of ``dtype`` (an integer or floating
    type: floats hold the same whole numbers).

    >>> import microgradnn as mg
    >>> x = mg.randint(0, 10, (2, 3))
    >>> x.shape, x.dtype, bool((x.data >= 0).all() and (x.data < 10).all())
    ((2, 3), dtype('int64'), True)
    >>> mg.randint(5, (4,)).shape
    (4,)
    """
    if size is None:
        if not isinstance(high, (tuple, list)):
            raise TypeError("randint: give a size, as randint(high, size) or randint(low, high, size)")
        low, high, size = 0, low, high
    shape = _size(size, "randint")
    if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in (low, high)) or high <= low:
        raise ValueError(f"randint: low and high must be ints with low < high, not {low!r} and {high!r}")
    drawn = _rng(generator, "randint").integers(low, high, shape, dtype=np.int64)
    if dtype is None:
        return _indices(drawn)
    kind = np.dtype(dtype)
    if kind.kind not in "iuf":
        raise TypeError(f"randint: dtype must be an integer or floating type, not {kind}")
    return Tensor._wrap(drawn.astype(kind), None)


def randperm(n: int, *, generator: np.random.Generator | None = None) -> Tensor:
    """A random permutation of 0 .. n-1, as an int64 tensor (``torch.randperm``).

    >>> import microgradnn as mg
    >>> sorted(mg.randperm(4).tolist())
    [0, 1, 2, 3]
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"randperm: n must be a non-negative int, not {n!r}")
    return _indices(_rng(generator, "randperm").permutation(int(n)))


def normal(
    mean: Any = 0.0,
    std: Any = 1.0,
    size: Any = None,
    *,
    generator: np.random.Generator | None = None,
    dtype: DTypeLike = None,
    requires_grad: bool = False,
) -> Tensor:
    """Normal samples, as ``torch.normal``: ``mean`` and ``std`` (numbers or tensors, which
    broadcast) give each element's; with numbers, ``size`` gives the shape. The samples keep
    the parameters' floating dtype (float64 for numbers); they are a new leaf, not
    differentiable with respect to ``mean`` or ``std`` (``requires_grad=True`` makes the leaf
    require grad, as PyTorch's factory form does).

    >>> import microgradnn as mg
    >>> mg.normal(0.0, 1.0, (2, 3)).shape
    (2, 3)
    >>> mg.normal(mg.zeros(4, dtype="float32"), 1.0).dtype
    dtype('float32')
    """
    m = as_float_array(mean, dtype, "normal")
    s = as_float_array(std, dtype, "normal")
    if np.any(s < 0) or not np.all(np.isfinite(s)):
        raise ValueError("normal: std must be finite and non-negative")
    try:
        shape = np.broadcast_shapes(m.shape, s.shape) if size is None else _size(size, "normal")
        np.broadcast_shapes(m.shape, s.shape, shape)
    except ValueError:
        raise ShapeError(
            f"normal: mean of shape {m.shape}, std of shape {s.shape} and size {size!r} do not fit"
        ) from None
    # Python numbers are weak, as in NumPy and PyTorch: a float32 tensor gives float32 samples.
    given = [a.dtype for a, v in ((m, mean), (s, std)) if isinstance(v, (Tensor, np.ndarray))]
    out_dtype = m.dtype if dtype is not None else np.result_type(*given) if given else np.dtype(np.float64)
    z = _rng(generator, "normal").standard_normal(shape)
    samples = Tensor._wrap((m + s * z).astype(out_dtype, copy=False), None)
    return samples.requires_grad_() if requires_grad else samples


def bernoulli(input: Any, p: float | None = None, *, generator: np.random.Generator | None = None) -> Tensor:
    """0/1 samples, each 1 with probability the element of ``input`` (or ``p`` for every
    element, when given), as ``torch.bernoulli``: the dtype of ``input``, without grad.

    >>> import microgradnn as mg
    >>> mg.bernoulli(mg.Tensor([0.0, 1.0, 1.0])).tolist()
    [0.0, 1.0, 1.0]
    """
    x = as_float_array(input, None, "bernoulli")
    probs = x if p is None else np.full(x.shape, p, dtype=x.dtype)
    if not np.all((probs >= 0) & (probs <= 1)):
        raise ValueError("bernoulli: probabilities must be in [0, 1]")
    samples = _rng(generator, "bernoulli").random(x.shape) < probs
    return Tensor._wrap(samples.astype(x.dtype), None)
