"""Reductions, softmax and log-softmax: gradients against finite differences for every axis
choice, keepdims, ties, and NumPy-equal forward values."""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import microgradnn as mg
from microgradnn.testing import assert_grads_close

TOL = dict(atol=1e-7, rtol=1e-6)


@st.composite
def array_and_axis(draw, min_dims=0):
    shape = draw(hnp.array_shapes(min_dims=min_dims, max_dims=3, max_side=4))
    x = draw(hnp.arrays(np.float64, shape, elements=st.floats(-3, 3, allow_nan=False)))
    ndim = len(shape)
    choice = draw(st.sampled_from(["none", "int", "tuple"] if ndim else ["none"]))
    if choice == "none":
        axis = None
    elif choice == "int":
        axis = draw(st.integers(-ndim, ndim - 1))
    else:
        axis = tuple(draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True)))
    return x, axis, draw(st.booleans())


REDUCTIONS = {
    "sum": (mg.sum, np.sum),
    "mean": (mg.mean, np.mean),
    "max": (mg.max, np.max),
    "min": (mg.min, np.min),
    "var": (mg.var, np.var),
    "logsumexp": (mg.logsumexp, None),
}


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
@given(case=array_and_axis())
def test_reduction_values_and_gradients(name, case):
    x, axis, keepdims = case
    op, reference = REDUCTIONS[name]
    if name in ("max", "min"):
        # Keep the extremum unique so finite differences see a smooth function.
        flat = np.sort(x.ravel())
        assume(flat.size < 2 or np.min(np.diff(flat)) > 1e-3)
    out = op(mg.Tensor(x), axis=axis, keepdims=keepdims)
    if reference is not None:
        np.testing.assert_allclose(out.data, reference(x, axis=axis, keepdims=keepdims), rtol=1e-12, atol=1e-12)
    else:
        np.testing.assert_allclose(np.exp(out.data), np.exp(x).sum(axis=axis, keepdims=keepdims), rtol=1e-12)
    assert_grads_close(lambda t: op(t, axis=axis, keepdims=keepdims), mg.Tensor(x, requires_grad=True), **TOL)


@pytest.mark.parametrize("op", [mg.softmax, mg.log_softmax])
@given(case=array_and_axis(min_dims=1))
def test_softmax_family_gradients(op, case):
    x, _, _ = case
    for axis in range(-x.ndim, x.ndim):
        assert_grads_close(
            lambda t, axis=axis: op(t, axis=axis) * mg.Tensor(np.arange(x.size).reshape(x.shape) % 3 + 1.0),
            mg.Tensor(x, requires_grad=True),
            **TOL,
        )


def test_softmax_rows_sum_to_one_and_log_softmax_is_its_log(rng):
    x = rng.standard_normal((4, 5)) * 10
    s = mg.softmax(mg.Tensor(x), axis=1).data
    np.testing.assert_allclose(s.sum(axis=1), 1.0, rtol=1e-14)
    np.testing.assert_allclose(mg.log_softmax(mg.Tensor(x), axis=1).data, np.log(s), rtol=1e-12, atol=1e-12)


def test_max_and_min_split_the_gradient_evenly_among_ties():
    x = mg.Tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]], requires_grad=True)
    x.max(axis=1).sum().backward()
    np.testing.assert_allclose(x.grad, [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]])
    y = mg.Tensor([[1.0, 1.0], [5.0, 0.0]], requires_grad=True)
    y.min().backward()
    np.testing.assert_allclose(y.grad, [[0, 0], [0, 1.0]])


def test_var_ddof_and_mean_gradient_by_hand():
    x = mg.Tensor([1.0, 2.0, 4.0], requires_grad=True)
    v = x.var(ddof=1)
    assert v.item() == pytest.approx(np.var([1, 2, 4], ddof=1))
    v.backward()
    np.testing.assert_allclose(x.grad, 2 * (x.data - x.data.mean()) / 2)
    with pytest.raises(ValueError, match="var: ddof=3"):
        x.var(ddof=3)


def test_argmax_and_argmin_are_integers_without_grad():
    x = mg.Tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]], requires_grad=True)
    assert x.argmax().item() == 3
    np.testing.assert_array_equal(x.argmax(axis=1).data, [1, 0])
    np.testing.assert_array_equal(x.argmin(axis=0).data, [0, 1, 0])
    assert not x.argmax().requires_grad
