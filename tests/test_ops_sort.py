"""Ordering: sort, argsort, topk and kthvalue against NumPy, their gradients against finite
differences (distinct values, so the order is smooth), ties and bad arguments."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import microgradnn as mg
from microgradnn.testing import assert_grads_close

TOL = dict(atol=1e-7, rtol=1e-6)


@st.composite
def distinct_and_dim(draw):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, max_side=4))
    rng = np.random.default_rng(draw(st.integers(0, 100)))
    x = rng.permutation(int(np.prod(shape))).reshape(shape) * 0.37 - 2.0
    return x, draw(st.integers(-len(shape), len(shape) - 1))


@given(case=distinct_and_dim(), descending=st.booleans())
def test_sort_and_argsort(case, descending):
    x, dim = case
    values, indices = mg.sort(mg.Tensor(x), dim, descending)
    expected = np.sort(x, axis=dim)
    np.testing.assert_array_equal(values.data, np.flip(expected, dim) if descending else expected)
    np.testing.assert_array_equal(np.take_along_axis(x, indices.data, dim), values.data)
    np.testing.assert_array_equal(mg.argsort(mg.Tensor(x), dim, descending).data, indices.data)
    assert indices.dtype == np.int64 and not indices.requires_grad
    assert_grads_close(lambda t: t.sort(dim, descending).values, mg.Tensor(x, requires_grad=True), **TOL)


@given(case=distinct_and_dim(), largest=st.booleans(), data=st.data())
def test_topk(case, largest, data):
    x, dim = case
    k = data.draw(st.integers(0, x.shape[dim]))
    values, indices = mg.Tensor(x).topk(k, dim, largest)
    order = np.sort(x, axis=dim)
    expected = np.take(np.flip(order, dim) if largest else order, np.arange(k), axis=dim)
    np.testing.assert_array_equal(values.data, expected)
    np.testing.assert_array_equal(np.take_along_axis(x, indices.data, dim), expected)
    assert_grads_close(lambda t: t.topk(k, dim, largest).values, mg.Tensor(x, requires_grad=True), **TOL)


@given(case=distinct_and_dim(), keepdim=st.booleans(), data=st.data())
def test_kthvalue(case, keepdim, data):
    x, dim = case
    k = data.draw(st.integers(1, x.shape[dim]))
    values, indices = mg.kthvalue(mg.Tensor(x), k, dim, keepdim)
    expected = np.take(np.sort(x, axis=dim), [k - 1], axis=dim)
    np.testing.assert_array_equal(values.data, expected if keepdim else np.squeeze(expected, dim))
    assert indices.shape == values.shape
    assert_grads_close(lambda t: t.kthvalue(k, dim, keepdim).values, mg.Tensor(x, requires_grad=True), **TOL)


def test_ties_keep_their_order_and_gradients_go_to_the_picked_entries():
    x = mg.Tensor([2.0, 1.0, 2.0, 1.0], requires_grad=True)
    assert x.sort().indices.tolist() == [1, 3, 0, 2]
    assert x.sort(descending=True, stable=True).indices.tolist() == [0, 2, 1, 3]
    x.topk(1).values.sum().backward()
    np.testing.assert_array_equal(x.grad, [1, 0, 0, 0])


def test_second_derivatives_and_float32():
    x = mg.Tensor(np.array([[0.3, -1.2, 2.0], [1.1, 0.4, -0.7]]), requires_grad=True)
    assert mg.gradgradcheck(lambda t: t.sort(1).values ** 2, (x,))
    assert mg.gradgradcheck(lambda t: t.topk(2, 0).values ** 3, (x,))
    y = mg.Tensor(x.data, dtype=np.float32, requires_grad=True)
    assert y.sort().values.dtype == np.float32 and y.topk(1).values.dtype == np.float32


def test_bad_arguments():
    x = mg.Tensor(np.zeros((2, 3)))
    with pytest.raises(mg.ShapeError, match=r"topk: k=4 is out of range for dim 1 of a tensor of shape \(2, 3\)"):
        x.topk(4)
    with pytest.raises(mg.ShapeError, match=r"kthvalue: k=0 is out of range"):
        x.kthvalue(0)
    with pytest.raises(mg.ShapeError, match=r"sort: dim 2 is out of range for a tensor of shape \(2, 3\)"):
        x.sort(2)
    with pytest.raises(TypeError, match="sort: give dim= or axis=, not both"):
        mg.sort(x, dim=0, axis=1)


def test_against_torch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(3).standard_normal((3, 5))
    for ours, theirs in [
        (lambda t: t.sort(1, descending=True).values, lambda t: t.sort(1, descending=True).values),
        (lambda t: t.topk(2, 0).values, lambda t: t.topk(2, 0).values),
        (lambda t: t.kthvalue(3, 1).values, lambda t: t.kthvalue(3, 1).values),
    ]:
        a, b = mg.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        out, ref = ours(a), theirs(b)
        np.testing.assert_array_equal(out.data, ref.detach().numpy())
        w = np.arange(1.0, out.data.size + 1).reshape(out.shape)
        (out * mg.Tensor(w)).sum().backward()
        (ref * torch.tensor(w)).sum().backward()
        np.testing.assert_array_equal(a.grad, b.grad.numpy())
