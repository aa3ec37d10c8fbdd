"""Shape ops and matmul: gradients against finite differences, NumPy-equal values."""

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


# Weights make every output element count differently, so a gradient sent to the wrong place
# cannot pass by symmetry.
def weighted(t):
    return t * mg.Tensor(np.arange(t.size).reshape(t.shape) * 0.5 + 1.0)


@given(x=arrays(hnp.array_shapes(min_dims=0, max_dims=4, max_side=3)), data=st.data())
def test_reshape_transpose_flatten_gradients(x, data):
    perm = tuple(data.draw(st.permutations(range(x.ndim))))
    assert_grads_close(lambda t: weighted(t.transpose(*perm)) if perm else weighted(t), leaf(x), **TOL)
    np.testing.assert_array_equal(
        mg.Tensor(x).transpose(*perm).data if perm else x, np.transpose(x, perm) if perm else x
    )
    assert_grads_close(lambda t: weighted(t.reshape(-1)), leaf(x), **TOL)
    assert_grads_close(lambda t: weighted(t.flatten()), leaf(x), **TOL)
    assert_grads_close(lambda t: weighted(t.T), leaf(x), **TOL)


def test_squeeze_expand_dims_swapaxes():
    x = leaf(np.arange(6.0).reshape(1, 2, 1, 3))
    assert x.squeeze().shape == (2, 3)
    assert x.squeeze(axis=2).shape == (1, 2, 3)
    assert x.squeeze().expand_dims(0).shape == (1, 2, 3)
    assert mg.expand_dims(mg.ones((2, 3)), (0, 3)).shape == np.expand_dims(np.ones((2, 3)), (0, 3)).shape
    assert x.swapaxes(0, 3).shape == (3, 2, 1, 1)
    assert x.mT.shape == (1, 2, 3, 1)
    assert_grads_close(lambda t: weighted(t.squeeze(axis=0).expand_dims(-1).swapaxes(0, 2)), x, **TOL)
    with pytest.raises(mg.ShapeError, match=r"squeeze: axis 1 of shape \(1, 2, 1, 3\) has size 2"):
        x.squeeze(axis=1)


@given(data=st.data())
def test_broadcast_to_gradient(data):
    shape = data.draw(hnp.array_shapes(min_dims=0, max_dims=3, max_side=3))
    target = data.draw(
        hnp.broadcastable_shapes(shape, max_dims=4, max_side=3).map(lambda s: np.broadcast_shapes(s, shape))
    )
    x = data.draw(arrays(shape))
    assert_grads_close(lambda t: weighted(t.broadcast_to(target)), leaf(x), **TOL)


INDICES = [
    (slice(1, 3),),
    (Ellipsis, 0),
    (0, slice(None, None, -1)),
    ([2, 0, 2, 2],),
    (np.array([[0, 1], [3, 3]]),),
    (slice(None), [1, 1, 0]),
    (None, 1),
    (-1,),
    ([0, 3], [2, 2]),
]


@pytest.mark.parametrize("index", INDICES, ids=[repr(i) for i in INDICES])
def test_getitem_gradients_accumulate_repeated_indices(index, rng):
    x = rng.standard_normal((4, 3))
    index = index[0] if len(index) == 1 else index
    np.testing.assert_array_equal(mg.Tensor(x)[index].data, x[index])
    assert_grads_close(lambda t: weighted(t[index]), leaf(x), **TOL)


def test_getitem_with_boolean_mask_and_tensor_index(rng):
    x = rng.standard_normal((3, 4))
    t = leaf(x)
    mask = t > 0
    picked = t[mask]
    np.testing.assert_array_equal(picked.data, x[x > 0])
    picked.sum().backward()
    np.testing.assert_array_equal(t.grad, (x > 0).astype(float))
    u = leaf(x)
    u[mg.Tensor([0, 0]).data.astype(int)].sum().backward()
    np.testing.assert_array_equal(u.grad, np.vstack([2 * np.ones(4), np.zeros((2, 4))]))


def test_repeated_integer_index_accumulates_by_hand():
    x = leaf([1.0, 2.0, 3.0])
    x[[0, 0, 2]].sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 0.0, 1.0])


@given(data=st.data())
def test_concatenate_and_stack_gradients(data):
    base = data.draw(hnp.array_shapes(min_dims=1, max_dims=3, max_side=3))
    axis = data.draw(st.integers(-len(base), len(base) - 1))
    sizes = data.draw(st.lists(st.integers(1, 3), min_size=1, max_size=3))
    parts = []
    for size in sizes:
        shape = list(base)
        shape[axis] = size
        parts.append(leaf(data.draw(arrays(tuple(shape)))))
    np.testing.assert_array_equal(
        mg.concatenate(parts, axis=axis).data, np.concatenate([p.data for p in parts], axis=axis)
    )
    assert_grads_close(lambda *ts: weighted(mg.concatenate(list(ts), axis=axis)), tuple(parts), **TOL)
    same = [leaf(data.draw(arrays(base))) for _ in sizes]
    stack_axis = data.draw(st.integers(-len(base) - 1, len(base)))
    np.testing.assert_array_equal(
        mg.stack(same, axis=stack_axis).data, np.stack([p.data for p in same], axis=stack_axis)
    )
    assert_grads_close(lambda *ts: weighted(mg.stack(list(ts), axis=stack_axis)), tuple(same), **TOL)


def test_lists_joined_with_float32_tensors_stay_float32():
    x = mg.Tensor([0.1, 0.2], dtype=np.float32, requires_grad=True)
    for joined in (mg.concatenate([x, [0.1, 0.2]]), mg.stack([[0.1, 0.2], x]), mg.stack([x, np.array([1, 2])])):
        assert joined.dtype == np.float32
        joined.sum().backward()
        assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(mg.stack([x, [0.1, 0.2]]).data[1], x.data)  # the same float32 numbers
    assert mg.concatenate([x, np.array([1.0])]).dtype == np.float64  # a float64 array promotes, as NumPy does
    assert mg.concatenate([[1.0], [2.0]]).dtype == np.float64


MATMUL_SHAPES = [
    ((3,), (3,)),
    ((3,), (3, 2)),
    ((2, 3), (3,)),
    ((2, 3), (3, 4)),
    ((5, 2, 3), (3, 4)),
    ((2, 3), (5, 3, 4)),
    ((5, 2, 3), (5, 3, 4)),
    ((1, 2, 3), (4, 3, 2)),
    ((3,), (4, 3, 2)),
    ((4, 2, 3), (3,)),
]


@pytest.mark.parametrize("shapes", MATMUL_SHAPES, ids=[f"{a}@{b}" for a, b in MATMUL_SHAPES])
def test_matmul_gradients_for_1d_2d_and_batched(shapes, rng):
    a, b = (rng.standard_normal(s) for s in shapes)
    np.testing.assert_allclose((mg.Tensor(a) @ mg.Tensor(b)).data, a @ b, rtol=1e-14)
    assert_grads_close(lambda x, y: weighted(x @ y) if (x @ y).ndim else x @ y, (leaf(a), leaf(b)), **TOL)
    # With a constant on either side.
    assert_grads_close(lambda x: (x @ b).sum(), leaf(a), **TOL)
    assert_grads_close(lambda y: (a @ y).sum(), leaf(b), **TOL)
