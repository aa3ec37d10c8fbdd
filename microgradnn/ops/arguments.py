"""The argument spellings every op shares: PyTorch's ``dim``/``keepdim``, NumPy's ``axis``/``keepdims``.

microgradnn follows PyTorch where the two disagree, and accepts NumPy's spelling where they mean
the same thing. An op takes both, each defaulting to None, and resolves them here, so that the
rule (and its error when both are given) lives in one place:

    def sum(x, dim=None, keepdim=None, *, axis=None, keepdims=None):
        dims = dims_of("sum", dim, axis, x.ndim)
        keep = keepdim_of("sum", keepdim, keepdims)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import ShapeError

__all__ = ["dim_of", "dims_of", "keepdim_of", "check_dim"]


def _either(op: str, torch_value: Any, numpy_value: Any, torch_name: str, numpy_name: str) -> Any:
    if numpy_value is None:
        return torch_value
    if torch_value is not None:
        raise TypeError(f"{op}: give {torch_name}= or {numpy_name}=, not both")
    return numpy_value


def keepdim_of(op: str, keepdim: bool | None, keepdims: bool | None) -> bool:
    """``keepdim`` (PyTorch) or ``keepdims`` (NumPy), False when neither is given.

    >>> keepdim_of("sum", None, True)
    True
    """
    return bool(_either(op, keepdim, keepdims, "keepdim", "keepdims"))


def check_dim(op: str, dim: Any, shape: Sequence[int]) -> int:
    """One axis, made non-negative; out of range raises ShapeError naming the op and shape.

    As in PyTorch, a 0-d tensor takes dim 0 or -1 (and the result is over its one element).

    >>> check_dim("softmax", -1, (2, 3))
    1
    >>> check_dim("sum", 0, ())
    0
    """
    if isinstance(dim, bool) or not hasattr(dim, "__index__"):
        raise TypeError(f"{op}: dim must be an int, not {type(dim).__name__} {dim!r}")
    dim = dim.__index__()
    ndim = max(len(shape), 1)
    if not -ndim <= dim < ndim:
        raise ShapeError(
            f"{op}: dim {dim} is out of range for a tensor of shape {tuple(shape)} "
            f"(expected a dim in [{-ndim}, {ndim - 1}])"
        )
    return dim % ndim if shape else 0


def dim_of(op: str, dim: Any, axis: Any, shape: Sequence[int]) -> int | None:
    """One axis given as ``dim`` or ``axis`` (not both), checked; None when neither is given.

    >>> dim_of("argmax", None, -1, (4, 5))
    1
    """
    chosen = _either(op, dim, axis, "dim", "axis")
    return None if chosen is None else check_dim(op, chosen, shape)


def dims_of(op: str, dim: Any, axis: Any, shape: Sequence[int]) -> tuple[int, ...] | None:
    """Axes given as ``dim`` or ``axis`` (an int or a sequence of ints, not both), checked,
    non-negative and sorted; None when neither is given (reduce over everything). A repeated
    axis raises.

    >>> dims_of("sum", (0, -1), None, (2, 3, 4))
    (0, 2)
    """
    chosen = _either(op, dim, axis, "dim", "axis")
    if chosen is None:
        return None
    if isinstance(chosen, (list, tuple)):
        dims = [check_dim(op, d, shape) for d in chosen]
    else:
        dims = [check_dim(op, chosen, shape)]
    if len(set(dims)) != len(dims):
        raise ShapeError(f"{op}: dim {tuple(chosen)} repeats an axis of a tensor of shape {tuple(shape)}")
    return tuple(sorted(dims))
