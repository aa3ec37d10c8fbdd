"""Hypothesis strategies and assertions for property-testing models and ops.

The project's own tests use these; users get the same ones for their own models::

    from hypothesis import given
    from microgradnn.testing import tensors, assert_grads_close

    @given(tensors(shape=(3, 2)))
    def test_my_op(x):
        assert_grads_close(my_op, x.requires_grad_())

Needs hypothesis (``pip install "microgradnn[test]"``); the rest of the package does not.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from .gradcheck import gradcheck
from .tensor import Tensor

__all__ = ["tensors", "shapes", "broadcastable_shapes", "assert_grads_close"]


def shapes(
    min_dims: int = 0, max_dims: int = 3, min_side: int = 1, max_side: int = 4
) -> st.SearchStrategy[tuple[int, ...]]:
    """Array shapes, 0-d included by default, sides kept small for finite differences.

    >>> from hypothesis import given
    >>> @given(shapes(max_dims=2))
    ... def check(shape):
    ...     assert len(shape) <= 2 and all(1 <= n <= 4 for n in shape)
    >>> check()
    """
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)


def broadcastable_shapes(
    num_shapes: int = 2, min_dims: int = 0, max_dims: int = 3, max_side: int = 4
) -> st.SearchStrategy[tuple[tuple[int, ...], ...]]:
    """Tuples of ``num_shapes`` shapes that broadcast together (size-1 and missing axes).

    >>> import numpy as np
    >>> from hypothesis import given
    >>> @given(broadcastable_shapes(2))
    ... def check(pair):
    ...     np.broadcast_shapes(*pair)  # never raises
    >>> check()
    """
    return hnp.mutually_broadcastable_shapes(
        num_shapes=num_shapes, min_dims=min_dims, max_dims=max_dims, max_side=max_side
    ).map(lambda result: result.input_shapes)


def tensors(
    shape: tuple[int, ...] | st.SearchStrategy[tuple[int, ...]] | None = None,
    dtype: Any = np.float64,
    elements: st.SearchStrategy[float] | None = None,
    requires_grad: bool = False,
) -> st.SearchStrategy[Tensor]:
    """Tensors of ``shape`` (a shape, a strategy of shapes, or any small shape) and ``dtype``.

    ``elements`` defaults to finite floats in [-3, 3], a range where every built-in op is
    smooth enough for finite differences.

    >>> from hypothesis import given
    >>> @given(tensors(shape=(2, 3), requires_grad=True))
    ... def check(t):
    ...     assert t.shape == (2, 3) and t.requires_grad
    >>> check()
    """
    if shape is None:
        shape = shapes()
    if elements is None:
        if np.dtype(dtype) == np.float32:
            elements = st.floats(-3, 3, allow_nan=False, allow_infinity=False, width=32)
        else:
            elements = st.floats(-3, 3, allow_nan=False, allow_infinity=False, width=64)
    return hnp.arrays(dtype, shape, elements=elements).map(lambda a: Tensor(a, requires_grad=requires_grad))


def assert_grads_close(
    fn: Callable[..., Tensor], inputs: Any, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3
) -> None:
    """Fail with gradcheck's report unless ``fn``'s gradients match finite differences.

    >>> import microgradnn as mg
    >>> assert_grads_close(mg.tanh, mg.Tensor([0.1, -0.2], requires_grad=True))
    """
    report = gradcheck(fn, inputs, eps=eps, atol=atol, rtol=rtol, raise_exception=False)
    if not report.passed:
        raise AssertionError(str(report))
