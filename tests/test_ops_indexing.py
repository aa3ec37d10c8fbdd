"""Indexing ops: gather, scatter, scatter_add, index_select, take_along_axis, masked_select,
nonzero and where(cond): values against NumPy (and PyTorch when installed), gradients against
finite differences (repeated indices accumulate), second derivatives, and clear errors."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import microgradnn as mg
from microgradnn.testing import assert_grads_close

TOL = dict(atol=1e-7, rtol=1e-6)


def arrays(shape):
    return hnp.arrays(np.float64, shape, elements=st.floats(-3, 3, allow_nan=False))


def leaf(a):
    return mg.Tensor(a, requires_grad=True)


def weighted(t):
    return t * mg.Tensor(np.arange(t.numel()).reshape(t.shape) * 0.5 + 1.0)


@given(x=arrays(hnp.array_shapes(min_dims=1, max_dims=3, max_side=4)), data=st.data())
def test_gather_scatter_index_select_take_along_axis(x, data):
    d = data.draw(st.integers(-x.ndim, x.ndim - 1))
    n = x.shape[d]
    rng = np.random.default_rng(data.draw(st.integers(0, 100)))
    shape = list(x.shape)
    shape[d] = 3  # more picks than entries: repeated indices accumulate
    index = mg.Tensor(rng.integers(0, n, shape), dtype=np.int64)
    expected = np.take_along_axis(x, index.data, d)
    np.testing.assert_array_equal(mg.gather(mg.Tensor(x), d, index).data, expected)
    np.testing.assert_array_equal(mg.take_along_axis(mg.Tensor(x), index, d).data, expected)
    assert_grads_close(lambda t: weighted(t.gather(d, index)), leaf(x), **TOL)
    mg.gradgradcheck(lambda t: t.gather(d, index) ** 2, leaf(x))
    picks = mg.Tensor(rng.integers(0, n, 4), dtype=np.int64)
    np.testing.assert_array_equal(mg.index_select(mg.Tensor(x), d, picks).data, np.take(x, picks.data, d))
    assert_grads_close(lambda t: weighted(t.index_select(d, picks)), leaf(x), **TOL)
    # scatter_add: the src entries at repeated indices add up; both inputs are differentiable.
    src = rng.standard_normal(shape)
    out = np.array(x)
    np.add.at(out, tuple(np.indices(shape)[k] if k != d % x.ndim else index.data for k in range(x.ndim)), src)
    np.testing.assert_allclose(mg.scatter_add(mg.Tensor(x), d, index, mg.Tensor(src)).data, out)
    assert_grads_close(lambda t, s: weighted(t.scatter_add(d, index, s)), (leaf(x), leaf(src)), **TOL)
    mg.gradgradcheck(lambda t, s: t.scatter_add(d, index, s) ** 2, (leaf(x), leaf(src)))
    unique = mg.Tensor(np.argsort(rng.random(x.shape), axis=d), dtype=np.int64)  # a permutation per line
    np.testing.assert_array_equal(
        mg.scatter(mg.Tensor(x), d, unique, mg.Tensor(x)).data,
        np.put_along_axis(out := np.array(x), unique.data, x, d) or out,
    )
    assert_grads_close(lambda t, s: weighted(t.scatter(d, unique, s)), (leaf(x), leaf(x * 2)), **TOL)
    np.testing.assert_array_equal(mg.Tensor(x).scatter(d, unique, 7.0).data, np.full(x.shape, 7.0))


def test_torch_cross_check_of_gather_and_scatter_add(rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((3, 4))
    index = rng.integers(0, 4, (3, 5))
    t, tt = leaf(x), torch.tensor(x, requires_grad=True)
    ours = t.gather(1, mg.Tensor(index, dtype=np.int64))
    theirs = tt.gather(1, torch.tensor(index))
    np.testing.assert_array_equal(ours.data, theirs.detach().numpy())
    w = rng.standard_normal(ours.shape)
    (ours * w).sum().backward()
    (theirs * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(t.grad, tt.grad.numpy())
    src = rng.standard_normal((3, 5))
    np.testing.assert_allclose(
        mg.scatter_add(mg.Tensor(x), 1, mg.Tensor(index, dtype=np.int64), mg.Tensor(src)).data,
        torch.tensor(x).scatter_add(1, torch.tensor(index), torch.tensor(src)).numpy(),
    )


def test_masked_select_nonzero_and_where_with_one_argument(rng):
    x = rng.standard_normal((3, 4))
    t = leaf(x)
    picked = t.masked_select(t > 0)
    np.testing.assert_array_equal(picked.data, x[x > 0])
    picked.sum().backward()
    np.testing.assert_array_equal(t.grad, (x > 0).astype(float))
    row_mask = mg.Tensor(np.array([True, False, True, False]), dtype=bool)
    assert mg.masked_select(mg.Tensor(x), row_mask).shape == (6,)  # the mask broadcasts
    nz = mg.Tensor(x > 0, dtype=bool).nonzero()
    assert nz.dtype == np.int64 and not nz.requires_grad
    np.testing.assert_array_equal(nz.data, np.argwhere(x > 0))
    for ours, theirs in zip(mg.where(t > 0), np.where(x > 0), strict=True):
        assert ours.dtype == np.int64
        np.testing.assert_array_equal(ours.data, theirs)
    np.testing.assert_array_equal(t[mg.where(t > 0)].data, x[x > 0])  # index tensors index
    assert mg.where(t > 0, t, 0.0).requires_grad


def test_bad_indices_give_errors_naming_the_op_and_shapes():
    x = mg.zeros(2, 3)
    with pytest.raises(TypeError, match="gather: the index must hold integers, not float64"):
        x.gather(1, mg.Tensor([[0.0]]))
    with pytest.raises(
        IndexError, match=r"gather: index 3 is out of range for dim 1 of size 3 \(tensor of shape \(2, 3\)\)"
    ):
        x.gather(1, mg.Tensor([[3]], dtype=np.int64))
    with pytest.raises(mg.ShapeError, match=r"gather: index of shape \(3,\) must have as many dims"):
        x.gather(0, [0, 1, 1])
    with pytest.raises(mg.ShapeError, match="gather: dim 2 is out of range"):
        x.gather(2, [[0]])
    with pytest.raises(
        mg.ShapeError, match=r"scatter_add: src of shape \(1, 1\) is smaller than the index's shape \(1, 2\)"
    ):
        x.scatter_add(1, [[0, 1]], mg.zeros(1, 1))
    with pytest.raises(IndexError, match="index_select: index -1 is out of range"):
        x.index_select(0, [-1])
    with pytest.raises(TypeError, match="masked_select: the mask must be boolean"):
        x.masked_select(mg.ones(2, 3))
    with pytest.raises(IndexError, match="getitem: tensors used as indices must hold integers or booleans"):
        x[mg.Tensor([0.0])]
    with pytest.raises(TypeError, match="where: give the condition alone, or with both"):
        mg.where(x > 0, x)


# ------------------------------------------------------------ take_along_dim, where, scatter(reduce)
def test_take_along_dim_with_and_without_dim(rng):
    x = rng.normal(size=(3, 4))
    order = np.argsort(x, axis=1)
    np.testing.assert_array_equal(mg.take_along_dim(mg.Tensor(x), order, dim=1).data, np.sort(x, axis=1))
    np.testing.assert_array_equal(mg.Tensor(x).take_along_dim(np.array([0, 11, 5])).data, x.ravel()[[0, 11, 5]])
    assert mg.gradcheck(lambda t: mg.take_along_dim(t, order[:, :2], 1) ** 2, (leaf(x),))
    with pytest.raises(IndexError, match="take_along_axis: index 12"):
        mg.take_along_dim(mg.Tensor(x), np.array([12]))


def test_tensor_where_method_is_pytorchs(rng):
    x = leaf(rng.normal(size=(3, 4)))
    out = x.where(x.data > 0, -1.0)
    np.testing.assert_array_equal(out.data, np.where(x.data > 0, x.data, -1.0))
    out.sum().backward()
    np.testing.assert_array_equal(x.grad, (x.data > 0).astype(float))


def test_scatter_with_reduce_add_is_scatter_add(rng):
    x, src = rng.normal(size=(2, 3)), rng.normal(size=(2, 2))
    index = np.array([[0, 0], [2, 1]])
    got = mg.scatter(mg.Tensor(x), 1, index, mg.Tensor(src), reduce="add")
    np.testing.assert_allclose(got.data, mg.scatter_add(mg.Tensor(x), 1, index, mg.Tensor(src)).data)
    number = mg.scatter(mg.Tensor(x), 1, index, 1.0, reduce="add").data
    expected = x.copy()
    np.add.at(expected, (np.arange(2)[:, None], index), 1.0)
    np.testing.assert_allclose(number, expected)
    with pytest.raises(ValueError, match="reduce must be None or 'add'"):
        mg.scatter(mg.Tensor(x), 1, index, 1.0, reduce="multiply")


@pytest.mark.filterwarnings("ignore:The reduce argument of torch.scatter")
def test_scatter_reduce_matches_pytorch(rng):
    torch = pytest.importorskip("torch")
    x, src = rng.normal(size=(2, 3)), rng.normal(size=(2, 2))
    index = np.array([[0, 0], [2, 1]])
    ours = mg.scatter(mg.Tensor(x), 1, index, mg.Tensor(src), reduce="add").data
    theirs = torch.tensor(x).scatter(1, torch.tensor(index), torch.tensor(src), reduce="add").numpy()
    np.testing.assert_allclose(ours, theirs)
