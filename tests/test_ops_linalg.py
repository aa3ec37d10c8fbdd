"""Products, matrices and mg.linalg: forward against NumPy, gradients against central finite
differences (float64, hypothesis-drawn shapes), second derivatives, dtypes, bad arguments."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import microgradnn as mg
from microgradnn.ops import linalg as L
from microgradnn.testing import assert_grads_close

TOL = dict(atol=1e-6, rtol=1e-5)


def leaf(a):
    return mg.Tensor(np.asarray(a, dtype=np.float64), requires_grad=True)


def randn(rng, *shape):
    return rng.standard_normal(shape)


def spd(rng, *shape):
    """Well-conditioned symmetric positive definite matrices: A A^T + n I."""
    a = rng.standard_normal(shape)
    n = shape[-1]
    return a @ a.swapaxes(-1, -2) + n * np.eye(n)


def check(fn, *arrays, second=True):
    leaves = tuple(leaf(a) for a in arrays)
    assert_grads_close(fn, leaves, **TOL)
    if second:
        mg.gradgradcheck(fn, leaves, **TOL)


# ------------------------------------------------------------------ einsum
EINSUM_CASES = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("ij,jk", [(2, 3), (3, 4)]),
    ("ii->i", [(3, 3)]),
    ("ii", [(3, 3)]),
    ("ij->", [(2, 3)]),
    ("ij->j", [(2, 3)]),
    ("ij->ji", [(2, 3)]),
    ("i,i->", [(4,), (4,)]),
    ("i,j->ij", [(2,), (3,)]),
    ("...ij,...jk->...ik", [(5, 2, 3), (3, 4)]),
    ("...ij,...jk", [(2, 1, 2, 3), (4, 3, 2)]),
    ("b i j, b j k -> b i k", [(2, 2, 3), (2, 3, 2)]),
    ("ijk,ikl,l->ij", [(2, 3, 2), (2, 2, 3), (3,)]),
    ("i...->...", [(3, 2, 2)]),
    ("iij->ij", [(2, 2, 3)]),
    ("ij,ij->ij", [(3, 1), (3, 4)]),
    ("ba", [(2, 3)]),
    ("Ab,bA", [(2, 3), (3, 2)]),
]


@pytest.mark.parametrize("subscripts,shapes", EINSUM_CASES)
def test_einsum_matches_numpy_and_finite_differences(subscripts, shapes, rng):
    arrays = [randn(rng, *s) for s in shapes]
    out = mg.einsum(subscripts, *[mg.Tensor(a) for a in arrays])
    np.testing.assert_allclose(out.data, np.einsum(subscripts, *arrays), rtol=1e-12, atol=1e-12)
    check(lambda *ts: mg.einsum(subscripts, *ts), *arrays)


@given(
    data=st.data(),
    n=st.integers(1, 3),
    m=st.integers(1, 3),
    k=st.integers(1, 3),
    batch=hnp.array_shapes(min_dims=0, max_dims=2, max_side=3),
)
def test_einsum_batched_contraction_on_drawn_shapes(data, n, m, k, batch):
    a = data.draw(hnp.arrays(np.float64, batch + (n, m), elements=st.floats(-2, 2)))
    b = data.draw(hnp.arrays(np.float64, (m, k), elements=st.floats(-2, 2)))
    out = mg.einsum("...nm,mk->...nk", mg.Tensor(a), mg.Tensor(b))
    np.testing.assert_allclose(out.data, np.einsum("...nm,mk->...nk", a, b), atol=1e-12)
    assert_grads_close(lambda x, y: mg.einsum("...nm,mk->...nk", x, y), (leaf(a), leaf(b)), **TOL)


def test_einsum_takes_a_list_and_keeps_float32():
    a = mg.ones((2, 3), dtype="float32")
    out = mg.einsum("ij,kj->ik", [a, a])
    assert out.dtype == np.float32 and out.shape == (2, 2)


def test_einsum_bad_arguments_name_the_op():
    with pytest.raises(mg.ShapeError, match="einsum"):
        mg.einsum("ij,jk->ik", mg.ones((2, 3)), mg.ones((4, 5)))
    with pytest.raises(ValueError, match="einsum"):
        mg.einsum("ij,jk->ik", mg.ones((2, 3)))
    with pytest.raises(mg.ShapeError, match="einsum"):
        mg.einsum("ijk->i", mg.ones((2, 3)))
    with pytest.raises(ValueError, match="einsum"):
        mg.einsum("i1->i", mg.ones((2, 3)))
    with pytest.raises(TypeError, match="einsum"):
        mg.einsum(mg.ones(2), "i->")


# ------------------------------------------------------------------ products
def test_tensordot_int_and_pair_forms(rng):
    a, b = randn(rng, 2, 3, 4), randn(rng, 3, 4, 2)
    np.testing.assert_allclose(mg.tensordot(mg.Tensor(a), mg.Tensor(b)).data, np.tensordot(a, b), atol=1e-12)
    np.testing.assert_allclose(
        mg.tensordot(mg.Tensor(a), mg.Tensor(b), dims=([0, -1], [2, 1])).data,
        np.tensordot(a, b, axes=([0, 2], [2, 1])),
        atol=1e-12,
    )
    np.testing.assert_allclose(
        mg.tensordot(mg.Tensor(a), mg.Tensor(b[0]), axes=1).data, np.tensordot(a, b[0], 1), atol=1e-12
    )
    check(lambda x, y: mg.tensordot(x, y, dims=([1], [0])), a, b)
    with pytest.raises(mg.ShapeError, match="tensordot"):
        mg.tensordot(mg.Tensor(a), mg.Tensor(b), dims=([0], [0]))
    with pytest.raises(TypeError, match="tensordot"):
        mg.tensordot(mg.Tensor(a), mg.Tensor(b), dims=1, axes=1)


def test_outer_inner_dot(rng):
    u, v = randn(rng, 3), randn(rng, 4)
    np.testing.assert_allclose(mg.outer(mg.Tensor(u), mg.Tensor(v)).data, np.outer(u, v))
    check(mg.outer, u, v)
    a, b = randn(rng, 2, 3), randn(rng, 4, 3)
    np.testing.assert_allclose(mg.inner(mg.Tensor(a), mg.Tensor(b)).data, np.inner(a, b), atol=1e-12)
    check(mg.inner, a, b)
    w = randn(rng, 3)
    assert mg.dot(mg.Tensor(u), mg.Tensor(w)).item() == pytest.approx(np.dot(u, w))
    check(mg.dot, u, w)
    assert mg.Tensor(u).dot(mg.Tensor(w)).shape == ()
    with pytest.raises(mg.ShapeError, match="dot"):
        mg.dot(mg.ones((2, 2)), mg.ones((2, 2)))
    with pytest.raises(mg.ShapeError, match="dot"):
        mg.dot(mg.ones(2), mg.ones(3))
    with pytest.raises(mg.ShapeError, match="outer"):
        mg.outer(mg.ones((2, 2)), mg.ones(2))


def test_cross_with_dim_broadcasting_and_default(rng):
    a, b = randn(rng, 4, 3), randn(rng, 3)
    np.testing.assert_allclose(mg.cross(mg.Tensor(a), mg.Tensor(b), dim=-1).data, np.cross(a, b), atol=1e-12)
    check(lambda x, y: mg.cross(x, y, dim=1), a, b)
    c, d = randn(rng, 3, 2), randn(rng, 3, 2)
    # Without dim, the first axis of length 3 (as torch.cross).
    np.testing.assert_allclose(mg.cross(mg.Tensor(c), mg.Tensor(d)).data, np.cross(c, d, axis=0), atol=1e-12)
    with pytest.raises(mg.ShapeError, match="cross"):
        mg.cross(mg.ones((2, 2)), mg.ones((2, 2)))
    with pytest.raises(mg.ShapeError, match="cross"):
        mg.cross(mg.ones((3, 2)), mg.ones((3, 2)), dim=1)


def test_kron(rng):
    a, b = randn(rng, 2, 3), randn(rng, 2, 2)
    np.testing.assert_allclose(mg.kron(mg.Tensor(a), mg.Tensor(b)).data, np.kron(a, b), atol=1e-12)
    v = randn(rng, 3)
    np.testing.assert_allclose(mg.kron(mg.Tensor(a), mg.Tensor(v)).data, np.kron(a, v), atol=1e-12)
    check(mg.kron, a, b)


@given(shapes=hnp.mutually_broadcastable_shapes(signature="(n,m),(m,k)->(n,k)", max_side=3))
def test_batched_matmul_broadcasts(shapes):
    rng = np.random.default_rng(0)
    a, b = randn(rng, *shapes.input_shapes[0]), randn(rng, *shapes.input_shapes[1])
    np.testing.assert_allclose((mg.Tensor(a) @ mg.Tensor(b)).data, a @ b, atol=1e-12)
    assert_grads_close(lambda x, y: x.matmul(y), (leaf(a), leaf(b)), **TOL)


# ------------------------------------------------------------------ triangles and diagonals
@pytest.mark.parametrize("k", [-1, 0, 2])
def test_tril_triu(k, rng):
    x = randn(rng, 2, 3, 4)
    np.testing.assert_array_equal(mg.tril(mg.Tensor(x), k).data, np.tril(x, k))
    np.testing.assert_array_equal(mg.Tensor(x).triu(diagonal=k).data, np.triu(x, k))
    check(lambda t: mg.tril(t, k) * t, x)
    check(lambda t: mg.triu(t, k) * t, x)
    with pytest.raises(mg.ShapeError, match="tril"):
        mg.tril(mg.ones(3))


@pytest.mark.parametrize("offset,dim1,dim2", [(0, 0, 1), (1, 0, 1), (-1, -2, -1), (0, 2, 0), (2, 1, 2)])
def test_diagonal_and_diag_embed(offset, dim1, dim2, rng):
    x = randn(rng, 3, 4, 5)
    np.testing.assert_array_equal(
        mg.diagonal(mg.Tensor(x), offset, dim1, dim2).data, np.diagonal(x, offset, dim1, dim2)
    )
    check(lambda t: mg.diagonal(t, offset, dim1, dim2) ** 2, x)
    v = randn(rng, 2, 3)
    embedded = mg.diag_embed(mg.Tensor(v), offset, dim1, dim2)
    np.testing.assert_array_equal(mg.diagonal(embedded, offset, dim1, dim2).data, v)
    assert embedded.data.sum() == pytest.approx(v.sum())
    check(lambda t: mg.diag_embed(t, offset, dim1, dim2) ** 2, v)


@given(
    x=hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=4, max_side=3), elements=st.floats(-2, 2)),
    k=st.integers(-2, 2),
)
def test_triangles_and_diagonals_on_drawn_shapes(x, k):
    np.testing.assert_array_equal(mg.tril(mg.Tensor(x), k).data, np.tril(x, k))
    np.testing.assert_array_equal(mg.diagonal(mg.Tensor(x), k, -1, 0).data, np.diagonal(x, k, -1, 0))
    assert_grads_close(lambda t: mg.triu(t, k) * t, leaf(x), **TOL)
    assert_grads_close(lambda t: mg.diagonal(t, k, -1, 0) * 2, leaf(x), **TOL)


def test_diag_embed_matches_torch_layout():
    v = np.arange(6.0).reshape(2, 3)
    out = mg.diag_embed(mg.Tensor(v)).data
    np.testing.assert_array_equal(out, np.stack([np.diag(row) for row in v]))


def test_diag_trace(rng):
    v, m = randn(rng, 3), randn(rng, 3, 4)
    for k in (-1, 0, 2):
        np.testing.assert_array_equal(mg.diag(mg.Tensor(v), k).data, np.diag(v, k))
        np.testing.assert_array_equal(mg.Tensor(m).diag(k).data, np.diag(m, k))
    check(lambda t: mg.diag(t, 1), v)
    check(lambda t: mg.diag(t, -1) ** 2, m)
    assert mg.trace(mg.Tensor(m)).item() == pytest.approx(np.trace(m))
    check(lambda t: mg.trace(t * t), m)
    with pytest.raises(mg.ShapeError, match="diag"):
        mg.diag(mg.ones((2, 2, 2)))
    with pytest.raises(mg.ShapeError, match="trace"):
        mg.trace(mg.ones(3))
    with pytest.raises(mg.ShapeError, match="diagonal"):
        mg.diagonal(mg.ones((2, 2)), dim1=0, dim2=0)
    with pytest.raises(mg.ShapeError, match="diagonal"):
        mg.diagonal(mg.ones((2, 2)), dim1=0, dim2=2)


def test_matrix_ops_keep_float32():
    x = mg.ones((3, 3), dtype="float32")
    for out in (
        mg.tril(x),
        mg.diagonal(x),
        mg.diag_embed(x),
        mg.trace(x),
        mg.kron(x, x),
        L.inv(x + mg.eye(3, dtype="float32")),
    ):
        assert out.dtype == np.float32


# ------------------------------------------------------------------ mg.linalg
@given(n=st.integers(1, 4), batch=hnp.array_shapes(min_dims=0, max_dims=1, max_side=2), seed=st.integers(0, 99))
def test_inv_det_slogdet_on_drawn_shapes(n, batch, seed):
    rng = np.random.default_rng(seed)
    a = spd(rng, *batch, n, n) + rng.standard_normal(batch + (n, n)) * 0.3  # not symmetric
    np.testing.assert_allclose(L.inv(mg.Tensor(a)).data, np.linalg.inv(a), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(L.det(mg.Tensor(a)).data, np.linalg.det(a), rtol=1e-10)
    sign, logabsdet = L.slogdet(mg.Tensor(a))
    np.testing.assert_allclose(sign.data, np.linalg.slogdet(a)[0])
    np.testing.assert_allclose(logabsdet.data, np.linalg.slogdet(a)[1], rtol=1e-10, atol=1e-12)
    check(L.inv, a)
    check(L.det, a)
    check(lambda t: L.slogdet(t).logabsdet, a)


@given(n=st.integers(1, 4), k=st.integers(0, 2), seed=st.integers(0, 99))
def test_solve_vectors_and_matrices(n, k, seed):
    rng = np.random.default_rng(seed)
    a = spd(rng, 2, n, n) + 0.3 * rng.standard_normal((2, n, n))
    b = rng.standard_normal((2, n) if k == 0 else (2, n, k))
    expected = np.linalg.solve(a, b[..., None])[..., 0] if k == 0 else np.linalg.solve(a, b)
    np.testing.assert_allclose(L.solve(mg.Tensor(a), mg.Tensor(b)).data, expected, rtol=1e-10, atol=1e-12)
    check(L.solve, a, b)


def test_solve_one_vector_and_broadcast_batch(rng):
    a = spd(rng, 3, 3)
    b = randn(rng, 3)
    np.testing.assert_allclose(L.solve(mg.Tensor(a), mg.Tensor(b)).data, np.linalg.solve(a, b))
    bs = randn(rng, 4, 3, 2)
    np.testing.assert_allclose(L.solve(mg.Tensor(a), mg.Tensor(bs)).data, np.linalg.solve(a, bs), atol=1e-12)
    check(L.solve, a, bs)
    with pytest.raises(mg.ShapeError, match="linalg.solve"):
        L.solve(mg.Tensor(a), mg.ones(4))


@given(n=st.integers(1, 4), seed=st.integers(0, 99))
def test_cholesky(n, seed):
    rng = np.random.default_rng(seed)
    a = spd(rng, 2, n, n)
    low = L.cholesky(mg.Tensor(a))
    np.testing.assert_allclose(low.data, np.linalg.cholesky(a), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(L.cholesky(mg.Tensor(a), upper=True).data, low.data.swapaxes(-1, -2))

    # Symmetrize inside, so finite differences stay on symmetric matrices.
    def fn(t):
        return L.cholesky((t + t.mT) * 0.5)

    check(fn, a)


@given(m=st.integers(1, 4), n=st.integers(1, 4), seed=st.integers(0, 99))
def test_qr(m, n, seed):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((2, m, n))
    q, r = L.qr(mg.Tensor(a))
    q_np, r_np = np.linalg.qr(a)
    np.testing.assert_allclose(q.data, q_np, atol=1e-12)
    np.testing.assert_allclose(r.data, r_np, atol=1e-12)
    if m >= n:
        check(lambda t: L.qr(t).Q, a)
        check(lambda t: L.qr(t).R, a)
        check(lambda t: L.qr(t).Q * L.qr(t).R.sum(), a, second=False)


def test_qr_modes_other_than_reduced_are_a_clear_error():
    a = leaf(np.arange(6.0).reshape(2, 3) + np.eye(2, 3))
    with pytest.raises(ValueError, match="linalg.qr"):
        L.qr(a, mode="complete")


def test_singular_matrices():
    s = mg.Tensor([[1.0, 2.0], [2.0, 4.0]])
    with pytest.raises(np.linalg.LinAlgError, match="linalg.inv"):
        L.inv(s)
    with pytest.raises(np.linalg.LinAlgError, match="linalg.solve"):
        L.solve(s, mg.ones(2))
    with pytest.raises(np.linalg.LinAlgError, match="linalg.cholesky"):
        L.cholesky(mg.Tensor([[1.0, 2.0], [2.0, 1.0]]))
    assert L.det(s).item() == 0.0
    sign, logabsdet = L.slogdet(s)
    assert sign.item() == 0.0 and logabsdet.item() == -np.inf
    # det's gradient at a singular matrix is its cofactor matrix, as in PyTorch.
    x = leaf(s.data)
    L.det(x).backward()
    np.testing.assert_allclose(x.grad, [[4.0, -2.0], [-2.0, 1.0]], atol=1e-12)
    y = leaf(s.data)
    with pytest.raises(np.linalg.LinAlgError, match="linalg.slogdet"):
        L.slogdet(y).logabsdet.backward()


def test_linalg_bad_shapes_name_the_op():
    for fn, name in ((L.inv, "linalg.inv"), (L.det, "linalg.det"), (L.cholesky, "linalg.cholesky")):
        with pytest.raises(mg.ShapeError, match=name):
            fn(mg.ones((2, 3)))
    with pytest.raises(mg.ShapeError, match="linalg.qr"):
        L.qr(mg.ones(3))


def test_tensor_methods(rng):
    a = mg.Tensor(spd(rng, 3, 3))
    np.testing.assert_allclose(a.inverse().data, np.linalg.inv(a.data))
    assert a.det().item() == pytest.approx(np.linalg.det(a.data))
    assert a.trace().item() == pytest.approx(np.trace(a.data))
    np.testing.assert_allclose(a.cholesky().data, np.linalg.cholesky(a.data))
    v = mg.Tensor([1.0, 2.0, 3.0])
    assert v.outer(v).shape == (3, 3) and v.kron(v).shape == (9,) and v.cross(v).tolist() == [0.0, 0.0, 0.0]
    assert v.diag().shape == (3, 3) and a.diagonal().shape == (3,) and v.diag_embed().shape == (3, 3)


def test_linalg_namespace():
    for name in ("inv", "det", "slogdet", "solve", "cholesky", "qr"):
        assert getattr(mg.linalg, name) is getattr(L, name)


# ------------------------------------------------------------------ PyTorch cross-check
def test_values_and_gradients_match_torch(rng):
    torch = pytest.importorskip("torch")
    a = spd(rng, 3, 3) + 0.2 * randn(rng, 3, 3)
    b = randn(rng, 3, 2)
    cases = [
        (lambda x, y: mg.einsum("ij,jk->ik", x, y), lambda x, y: torch.einsum("ij,jk->ik", x, y)),
        (lambda x, y: L.solve(x, y), lambda x, y: torch.linalg.solve(x, y)),
        (lambda x, y: L.inv(x) @ y, lambda x, y: torch.linalg.inv(x) @ y),
        (lambda x, y: L.det(x) * y, lambda x, y: torch.linalg.det(x) * y),
        (lambda x, y: mg.tril(x, -1) @ y, lambda x, y: torch.tril(x, -1) @ y),
        (lambda x, y: mg.diag_embed(y, 1, 0, 2), lambda x, y: torch.diag_embed(y, 1, 0, 2)),
        (lambda x, y: mg.cross(x, x.T, dim=0), lambda x, y: torch.cross(x, x.T, dim=0)),
        (lambda x, y: L.qr(x @ x.T).Q @ y, lambda x, y: torch.linalg.qr(x @ x.T).Q @ y),
        (lambda x, y: L.cholesky(x @ x.T) @ y, lambda x, y: torch.linalg.cholesky(x @ x.T) @ y),
    ]
    for ours, theirs in cases:
        x, y = leaf(a), leaf(b)
        out = ours(x, y)
        out.backward(np.ones(out.shape))
        tx = torch.tensor(a, requires_grad=True)
        ty = torch.tensor(b, requires_grad=True)
        tout = theirs(tx, ty)
        tout.backward(torch.ones_like(tout))
        np.testing.assert_allclose(out.data, tout.detach().numpy(), atol=1e-10)
        for mine, ref in ((x.grad, tx.grad), (y.grad, ty.grad)):
            if ref is None:
                assert mine is None or not mine.any()
            else:
                np.testing.assert_allclose(mine, ref.numpy(), atol=1e-9)


# ------------------------------------------------------------ svdvals, spectral norms, logdet
def test_svdvals_and_spectral_and_nuclear_norms_match_numpy(rng):
    a = rng.normal(size=(2, 4, 3))
    s = np.linalg.svd(a, compute_uv=False)
    np.testing.assert_allclose(mg.linalg.svdvals(mg.Tensor(a)).data, s, rtol=1e-12)
    for ord, ref in ((2, s.max(-1)), (-2, s.min(-1)), ("nuc", s.sum(-1))):
        np.testing.assert_allclose(mg.linalg.matrix_norm(mg.Tensor(a), ord=ord).data, ref, rtol=1e-12)
    kept = mg.linalg.matrix_norm(mg.Tensor(a), ord="nuc", dim=(0, 2), keepdim=True)
    assert kept.shape == (1, 4, 1)
    np.testing.assert_allclose(kept.data.ravel(), np.linalg.norm(a.transpose(1, 0, 2), "nuc", axis=(1, 2)))
    np.testing.assert_allclose(mg.norm(mg.Tensor(a[0]), p="nuc").item(), np.linalg.norm(a[0], "nuc"))
    x = mg.Tensor(a, requires_grad=True)
    for ord in (2, -2, "nuc"):
        assert mg.gradcheck(lambda t, o=ord: mg.linalg.matrix_norm(t, ord=o), (x,))
    # The gradient of the nuclear norm is U V^T; of the spectral norm u1 v1^T.
    u, _, vh = np.linalg.svd(a[0], full_matrices=False)
    y = mg.Tensor(a[0], requires_grad=True)
    mg.linalg.matrix_norm(y, ord="nuc").backward()
    np.testing.assert_allclose(y.grad, u @ vh, atol=1e-12)
    with pytest.raises(RuntimeError, match="differentiable once"):
        mg.grad(mg.linalg.svdvals(y).sum(), y, create_graph=True)[0].sum().backward()
    with pytest.raises(ValueError, match="ord 3 is not supported"):
        mg.linalg.matrix_norm(x, ord=3)


def test_logdet_is_log_det_with_nan_for_a_negative_determinant(rng):
    a = rng.normal(size=(3, 3)) + 3 * np.eye(3)
    np.testing.assert_allclose(mg.logdet(mg.Tensor(a)).item(), np.log(np.linalg.det(a)), rtol=1e-12)
    assert np.isnan(mg.logdet(mg.Tensor(np.diag([2.0, -1.0]))).item())
    assert mg.logdet(mg.Tensor(np.zeros((2, 2)))).item() == -np.inf
    assert mg.gradgradcheck(mg.logdet, (mg.Tensor(a, requires_grad=True),))


def test_linalg_cross_takes_the_last_dim(rng):
    a, b = rng.normal(size=(3, 3)), rng.normal(size=(3,))
    np.testing.assert_allclose(mg.linalg.cross(mg.Tensor(a), mg.Tensor(b)).data, np.cross(a, b))
    np.testing.assert_allclose(mg.linalg.cross(mg.Tensor(a), mg.Tensor(a.T), dim=0).data, np.cross(a, a.T, axis=0))


@pytest.mark.parametrize("shape", [(3, 5), (2, 2, 4), (4, 4), (5, 3)])
def test_qr_gradients_for_wide_square_and_tall_matrices(shape, rng):
    a = mg.Tensor(rng.normal(size=shape), requires_grad=True)
    m, n = shape[-2:]
    k = min(m, n)
    wq, wr = mg.Tensor(rng.normal(size=shape[:-2] + (m, k))), mg.Tensor(rng.normal(size=shape[:-2] + (k, n)))

    def loss(t):
        q, r = mg.linalg.qr(t)
        return (q * wq).sum() + (r * wr).sum()

    assert mg.gradcheck(loss, (a,))
    assert mg.gradgradcheck(loss, (a,), atol=1e-5, rtol=1e-4)


def test_qr_gradient_of_a_wide_matrix_matches_pytorch(rng):
    torch = pytest.importorskip("torch")
    a = rng.normal(size=(3, 5))
    wq, wr = rng.normal(size=(3, 3)), rng.normal(size=(3, 5))
    x = mg.Tensor(a, requires_grad=True)
    q, r = mg.linalg.qr(x)
    ((q * mg.Tensor(wq)).sum() + (r * mg.Tensor(wr)).sum()).backward()
    t = torch.tensor(a, requires_grad=True)
    tq, tr = torch.linalg.qr(t)
    ((tq * torch.tensor(wq)).sum() + (tr * torch.tensor(wr)).sum()).backward()
    np.testing.assert_allclose(x.grad, t.grad.numpy(), atol=1e-12)
