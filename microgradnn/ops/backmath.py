"""Helpers for backward formulas that must run on ndarrays and on Tensors alike.

A built-in backward runs on ndarrays in a plain ``backward()``, and on Tensors under
``grad(..., create_graph=True)``, where each step is recorded so it can be differentiated again.
Operators and methods (``*``, ``@``, ``.sum``, ``.reshape``) already work on both; the few
functions below pick the NumPy or the Tensor version by the type of their argument.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..tensor import Tensor


def constant(x: Any) -> Any:
    """The plain values of ``x``, for masks and counts that are constant to the derivative."""
    return x._data if isinstance(x, Tensor) else x


def exp(x: Any) -> Any:
    """``np.exp`` on an ndarray, the recorded op on a Tensor."""
    return x.exp() if isinstance(x, Tensor) else np.exp(x)


def log(x: Any) -> Any:
    """``np.log`` on an ndarray, the recorded op on a Tensor."""
    return x.log() if isinstance(x, Tensor) else np.log(x)


def sigmoid(x: Any) -> Any:
    """The sigmoid op's value: on an ndarray computed directly, on a Tensor recorded."""
    if isinstance(x, Tensor):
        return x.sigmoid()
    from .elementwise import sigmoid_array  # elementwise imports this module

    return sigmoid_array(x)


def broadcast_to(g: Any, shape: tuple[int, ...]) -> Any:
    """Repeat ``g`` over ``shape``: a fresh writable array (``np.broadcast_to`` is a slow,
    read-only view), or the recorded op on a Tensor."""
    if isinstance(g, Tensor):
        return g.broadcast_to(shape)
    out = np.empty(shape, dtype=g.dtype)
    out[...] = g
    return out


def scatter_add(g: Any, index: Any, shape: tuple[int, ...], basic: bool) -> Any:
    """A zero array of ``shape`` with ``g`` added at ``index`` (repeated indices add up)."""
    if isinstance(g, Tensor):
        from .shape import ScatterAdd  # shape.py imports this module

        return ScatterAdd.apply(g, index=index, shape=shape, basic=basic)
    out = np.zeros(shape, dtype=g.dtype)
    if basic:
        # Slices and single integers cannot repeat an element: plain assignment is enough.
        out[index] = g
    else:
        np.add.at(out, index, g)
    return out
