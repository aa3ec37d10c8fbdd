"""The exceptions microgradnn raises, and the one helper that formats shapes in them."""

from __future__ import annotations

from typing import Any

import numpy as np


class ShapeError(ValueError):
    """Operands whose shapes do not fit the operation (broadcasting, matmul, reshape, ...).

    A ``ValueError``, so code that catches NumPy's own shape errors keeps working.

    >>> import microgradnn as mg
    >>> mg.ones((2, 3)) @ mg.ones((4, 5))
    Traceback (most recent call last):
    ...
    microgradnn.errors.ShapeError: matmul: shapes (2, 3) and (4, 5) are not aligned: 3 (last axis ...) != 4 ...
    """


def shape_of(value: Any) -> tuple[int, ...]:
    """The shape of a Tensor, array or Python scalar, as a plain tuple of ints."""
    shape = getattr(value, "shape", None)
    if shape is None:
        shape = np.shape(value)
    return tuple(int(n) for n in shape)
