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
    return t * mg.Tensor(np.arange(t.numel()).reshape(t.shape) * 0.5 + 1.0)


@given(x=arrays(hnp.array_shapes(min_dims=0, max_dims=4, max_side=3)), data=st.data())
def test_reshape_transpose_flatten_gradients(x, data):
    perm = tuple(data.draw(st.permutations(range(x.ndim))))
    assert_grads_close(lambda t: weighted(t.permute(*perm)) if perm else weighted(t), leaf(x), **TOL)
    np.testing.assert_array_equal(mg.Tensor(x).permute(*perm).data if perm else x, np.transpose(x, perm) if perm else x)
    assert_grads_close(lambda t: weighted(t.reshape(-1)), leaf(x), **TOL)
    assert_grads_close(lambda t: weighted(t.flatten()), leaf(x), **TOL)
    assert_grads_close(lambda t: weighted(t.T), leaf(x), **TOL)


def test_squeeze_expand_dims_swapaxes():
    x = leaf(np.arange(6.0).reshape(1, 2, 1, 3))
    assert x.squeeze().shape == (2, 3)
    assert x.squeeze(axis=2).shape == (1, 2, 3)
    assert x.squeeze(1).shape == (1, 2, 1, 3)  # PyTorch: a dim whose size is not 1 stays
    assert x.squeeze((0, 2)).shape == (2, 3)
    assert x.squeeze().expand_dims(0).shape == (1, 2, 3)
    assert mg.expand_dims(mg.ones((2, 3)), (0, 3)).shape == np.expand_dims(np.ones((2, 3)), (0, 3)).shape
    assert x.swapaxes(0, 3).shape == (3, 2, 1, 1)
    assert x.mT.shape == (1, 2, 3, 1)
    assert_grads_close(lambda t: weighted(t.squeeze(axis=0).expand_dims(-1).swapaxes(0, 2)), x, **TOL)
    with pytest.raises(mg.ShapeError, match=r"squeeze: dim 4 is out of range for a tensor of shape \(1, 2, 1, 3\)"):
        x.squeeze(4)


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


# ------------------------------------------------------------------ issue 9: PyTorch's shape vocabulary
def test_transpose_swaps_two_dims_and_permutes_with_a_full_permutation():
    x = mg.zeros(2, 3, 4)
    assert x.transpose(0, 2).shape == (4, 3, 2) and mg.transpose(x, -1, 0).shape == (4, 3, 2)
    assert x.transpose(2, 0, 1).shape == (4, 2, 3) and x.transpose().shape == (4, 3, 2)
    assert x.permute((1, 2, 0)).shape == (3, 4, 2) and mg.zeros(2, 3).t().shape == (3, 2)
    with pytest.raises(mg.ShapeError, match="t: expects a tensor of at most 2 dims"):
        x.t()
    with pytest.raises(mg.ShapeError, match=r"transpose: dim 3 is out of range for a tensor of shape \(2, 3, 4\)"):
        x.transpose(0, 3)


def test_size_numel_dim_view_unsqueeze_flatten_unflatten_expand():
    x = mg.zeros(2, 3, 4)
    assert x.size() == (2, 3, 4) and x.size(1) == 3 and x.numel() == 24 and x.dim() == 3
    assert x.view(6, -1).shape == (6, 4) and x.reshape((4, 6)).shape == (4, 6)
    assert x.unsqueeze(-1).shape == (2, 3, 4, 1) and x.unsqueeze(0).shape == (1, 2, 3, 4)
    assert x.flatten(1).shape == (2, 12) and x.flatten(0, 1).shape == (6, 4) and mg.Tensor(1.0).flatten().shape == (1,)
    assert x.flatten(1).unflatten(1, (3, -1)).shape == (2, 3, 4)
    assert mg.zeros(3, 1).expand(2, -1, 5).shape == (2, 3, 5)
    s = mg.Tensor(2.0)
    assert s.squeeze(0).shape == () and s.squeeze(-1).shape == () and s.unsqueeze(0).shape == (1,)
    with pytest.raises(mg.ShapeError, match="unflatten: sizes"):
        x.unflatten(1, (2, 2))


@given(x=arrays(hnp.array_shapes(min_dims=2, max_dims=3, max_side=3)), data=st.data())
def test_moving_ops_match_numpy_and_finite_differences(x, data):
    d = data.draw(st.integers(-x.ndim, x.ndim - 1))
    k = data.draw(st.integers(-1, 3))
    reps = data.draw(st.lists(st.integers(1, 2), min_size=x.ndim, max_size=x.ndim + 1))
    cases = [
        (lambda t: t.flip(d), np.flip(x, d)),
        (lambda t: t.roll(1, d), np.roll(x, 1, d)),
        (lambda t: t.roll(2), np.roll(x, 2)),
        (lambda t: t.repeat(*reps), np.tile(x, reps)),
        (lambda t: t.tile(reps[:1]), np.tile(x, reps[:1])),
        (lambda t: t.repeat_interleave(2, d), np.repeat(x, 2, d)),
        (lambda t: mg.repeat_interleave(t, 2), np.repeat(x, 2)),
        (lambda t: t.rot90(k, (0, d % x.ndim or 1)), np.rot90(x, k, (0, d % x.ndim or 1))),
        (lambda t: t.diff(dim=d), np.diff(x, axis=d)),
        (lambda t: mg.diff(t, 2, 0, prepend=mg.ones((1,) + x.shape[1:])), np.diff(x, 2, 0, prepend=1.0)),
        (lambda t: t.clone(), x),
        (lambda t: mg.pad(t, 1, mode="reflect"), np.pad(x, 1, mode="reflect")),
        (lambda t: mg.pad(t, ((0, 1),), mode="symmetric"), np.pad(x, ((0, 1),), mode="symmetric")),
        (lambda t: mg.pad(t, (2, 1), mode="wrap"), np.pad(x, (2, 1), mode="wrap")),
        (lambda t: mg.pad(t, 1, mode="edge"), np.pad(x, 1, mode="edge")),
        (lambda t: mg.pad(t, (1, 0), constant_values=2.0), np.pad(x, (1, 0), constant_values=2.0)),
    ]
    for fn, expected in cases:
        np.testing.assert_array_equal(fn(mg.Tensor(x)).data, expected)
        assert_grads_close(lambda t, fn=fn: weighted(fn(t)), leaf(x), **TOL)
    mg.gradgradcheck(lambda t: cases[3][0](t) ** 2, leaf(x))
    mg.gradgradcheck(lambda t: cases[11][0](t) ** 2, leaf(x))


def test_torch_style_pad_modes_and_negative_pads_crop(rng):
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    x = rng.standard_normal((2, 3, 4, 5))
    for mode, pads in [
        ("constant", (1, 2, -1, 1)),
        ("reflect", (2, 1, 1, 2)),
        ("replicate", (3, 0, 0, 2)),
        ("circular", (1, 2, 2, 1)),
    ]:
        t = leaf(x)
        out = mg.nn.functional.pad(t, pads, mode=mode, **({"value": 1.5} if mode == "constant" else {}))
        tx = torch.tensor(x, requires_grad=True)
        expected = tf.pad(tx, pads, mode=mode, **({"value": 1.5} if mode == "constant" else {}))
        np.testing.assert_allclose(out.data, expected.detach().numpy())
        w = rng.standard_normal(out.shape)
        (out * w).sum().backward()
        (expected * torch.tensor(w)).sum().backward()
        np.testing.assert_allclose(t.grad, tx.grad.numpy(), atol=1e-12)
    with pytest.raises(mg.ShapeError, match="pad: pad must be an even number"):
        mg.nn.functional.pad(mg.zeros(2), (1, 2, 3))


@given(data=st.data())
def test_split_chunk_unbind_and_the_stacks(data):
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5))
    x = data.draw(arrays(shape))
    d = data.draw(st.integers(-len(shape), len(shape) - 1))
    n = shape[d]
    size = data.draw(st.integers(1, 5))
    t = mg.Tensor(x)
    pieces = t.split(size, d)
    assert [p.shape[d] for p in pieces] == [min(size, n - s) for s in range(0, n, size)]
    np.testing.assert_array_equal(mg.cat(list(pieces), dim=d).data, x)
    k = data.draw(st.integers(1, 5))
    for got, want in zip(mg.array_split(t, k, axis=d), np.array_split(x, k, axis=d), strict=True):
        np.testing.assert_array_equal(got.data, want)
    chunks = t.chunk(k, d)
    assert len(chunks) == -(-n // -(-n // k)) and sum(c.shape[d] for c in chunks) == n
    np.testing.assert_array_equal(mg.stack(list(t.unbind(d)), dim=d).data, x)
    assert_grads_close(
        lambda u: weighted(mg.cat([p * (i + 1) for i, p in enumerate(u.split(size, d))], d)), leaf(x), **TOL
    )
    for ours, theirs in [
        (mg.hstack, np.hstack),
        (mg.vstack, np.vstack),
        (mg.dstack, np.dstack),
        (mg.column_stack, np.column_stack),
    ]:
        if theirs is np.column_stack and x.ndim > 2:
            continue
        np.testing.assert_array_equal(ours([t, t]).data, theirs([x, x]))


def test_item_assignment_counts_as_a_change_and_is_refused_on_tensors_that_require_grad():
    x = mg.zeros(3)
    x[1] = 5.0
    x[mg.Tensor([0], dtype=np.int64)] = mg.Tensor([2.0])
    assert x.tolist() == [2.0, 5.0, 0.0] and x._version == 2
    w = mg.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="setitem: in-place assignment into a tensor that requires grad"):
        w[0] = 0.0
    with mg.no_grad():
        w[0] = 0.0
    assert w.tolist() == [0.0, 1.0, 1.0]
    a = mg.ones(2)
    b = mg.ones(2, requires_grad=True)
    y = a * b
    a[0] = 3.0
    with pytest.raises(RuntimeError, match="modified in place"):
        y.sum().backward()
    with pytest.raises(IndexError, match="setitem: tensors used as indices must hold integers"):
        x[mg.Tensor([0.0])] = 1.0


def test_clamp_masked_fill_type_as_and_casts():
    x = leaf([-2.0, 0.5, 2.0])
    lo = mg.Tensor([-1.0, 1.0, -1.0], requires_grad=True)
    out = x.clamp(min=lo, max=1.5)
    assert out.tolist() == [-1.0, 1.0, 1.5]
    out.sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0] and lo.grad.tolist() == [1.0, 1.0, 0.0]
    assert mg.Tensor([1.0, 3.0]).clamp_max(2.0).tolist() == [1.0, 2.0]
    assert mg.Tensor([1.0, 3.0]).clamp_min(2.0).tolist() == [2.0, 3.0]
    assert x.masked_fill(x.data > 0, 0.0).tolist() == [-2.0, 0.0, 0.0]
    assert x.float().dtype == np.float32 and x.float().double().dtype == np.float64
    assert x.long().dtype == np.int64 and x.type_as(mg.zeros(1, dtype=np.float32)).dtype == np.float32


# ------------------------------------------------------------ movedim, per-axis pad constants
@pytest.mark.parametrize(
    ("source", "destination"), [(0, -1), (-1, 0), ((0, 1), (2, 0)), ([2], [1]), ((0, 1, 2), (2, 1, 0))]
)
def test_movedim_matches_numpy_moveaxis(source, destination, rng):
    x = rng.normal(size=(2, 3, 4))
    got = mg.movedim(mg.Tensor(x), source, destination)
    np.testing.assert_array_equal(got.data, np.moveaxis(x, source, destination))
    assert mg.moveaxis(mg.Tensor(x), source, destination).shape == got.shape
    assert mg.Tensor(x).movedim(source, destination).shape == got.shape
    assert mg.gradcheck(lambda t: mg.movedim(t, source, destination) ** 2, (mg.Tensor(x, requires_grad=True),))


def test_movedim_refuses_mismatched_or_repeated_dims():
    x = mg.zeros(2, 3)
    with pytest.raises(mg.ShapeError, match="movedim: 2 source dims"):
        mg.movedim(x, (0, 1), 0)
    with pytest.raises(mg.ShapeError, match="repeated"):
        mg.movedim(x, (0, 0), (0, 1))
    with pytest.raises(mg.ShapeError, match="movedim"):
        mg.movedim(x, 2, 0)


@pytest.mark.parametrize("values", [((1, 2), (3, 4)), (5, 6), [[7, 8]], 9])
def test_numpy_pad_takes_per_axis_constant_values(values, rng):
    x = rng.normal(size=(2, 3))
    widths = ((1, 2), (2, 1))
    t = mg.Tensor(x, requires_grad=True)
    out = mg.pad(t, widths, constant_values=values)
    np.testing.assert_array_equal(out.data, np.pad(x, widths, constant_values=values))
    (out * mg.Tensor(rng.normal(size=out.shape))).sum().backward()
    assert t.grad is not None and t.grad.shape == x.shape
    assert mg.gradcheck(lambda a: mg.pad(a, widths, constant_values=values) ** 2, (mg.Tensor(x, requires_grad=True),))


def test_numpy_pad_refuses_constant_pairs_that_do_not_fit():
    with pytest.raises(mg.ShapeError, match="constant_values"):
        mg.pad(mg.zeros(2, 2), 1, constant_values=((1, 2, 3),))
    with pytest.raises(ValueError, match="constant_values is for mode='constant'"):
        mg.pad(mg.zeros(2, 2), 1, mode="edge", constant_values=((1, 2), (3, 4)))
