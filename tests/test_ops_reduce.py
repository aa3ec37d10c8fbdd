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
    "amax": (mg.amax, np.max),
    "amin": (mg.amin, np.min),
    "var": (lambda t, **kw: mg.var(t, ddof=0, **kw), np.var),
    "logsumexp": (mg.logsumexp, None),
    "prod": (mg.prod, np.prod),
    "vector_norm": (
        mg.linalg.vector_norm,
        lambda a, axis, keepdims: np.sqrt((a * a).sum(axis=axis, keepdims=keepdims)),
    ),
}


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
@given(case=array_and_axis())
def test_reduction_values_and_gradients(name, case):
    x, axis, keepdims = case
    op, reference = REDUCTIONS[name]
    if name in ("amax", "amin"):
        # Keep the extremum unique so finite differences see a smooth function.
        flat = np.sort(x.ravel())
        assume(flat.size < 2 or np.min(np.diff(flat)) > 1e-3)
    if name == "vector_norm":
        assume(np.all(np.abs(x) > 1e-3))  # away from the kink at 0 (and from underflow)
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


def test_amax_amin_and_full_max_min_split_the_gradient_evenly_among_ties():
    x = mg.Tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]], requires_grad=True)
    x.amax(axis=1).sum().backward()
    np.testing.assert_allclose(x.grad, [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]])
    y = mg.Tensor([[1.0, 1.0], [5.0, 0.0]], requires_grad=True)
    y.min().backward()
    np.testing.assert_allclose(y.grad, [[0, 0], [0, 1.0]])


def test_var_correction_and_mean_gradient_by_hand():
    x = mg.Tensor([1.0, 2.0, 4.0], requires_grad=True)
    v = x.var()  # PyTorch's default: correction=1
    assert v.item() == pytest.approx(np.var([1, 2, 4], ddof=1))
    v.backward()
    np.testing.assert_allclose(x.grad, 2 * (x.data - x.data.mean()) / 2)
    assert x.var(ddof=0).item() == pytest.approx(np.var([1, 2, 4]))
    assert x.var(unbiased=False).item() == x.var(correction=0).item() == x.var(ddof=0).item()
    assert np.isnan(x.var(ddof=3).item()) and np.isnan(x.std(correction=5).item())


def test_argmax_and_argmin_are_integers_without_grad():
    x = mg.Tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]], requires_grad=True)
    assert x.argmax().item() == 3
    np.testing.assert_array_equal(x.argmax(axis=1).data, [1, 0])
    np.testing.assert_array_equal(x.argmin(dim=0).data, [0, 1, 0])
    assert x.argmax(1, keepdim=True).shape == (2, 1) and x.argmax(keepdim=True).shape == (1, 1)
    assert not x.argmax().requires_grad and x.argmax(dim=-1).dtype == np.int64


# ---------------------------------------------------------------- the PyTorch rule
def distinct(shape, seed=0):
    """Values far apart (no ties), so extremes, sorting and medians are smooth."""
    rng = np.random.default_rng(seed)
    return (rng.permutation(int(np.prod(shape))).reshape(shape) * 0.37 - 2.0).astype(np.float64)


@st.composite
def distinct_and_dim(draw, min_dims=1):
    shape = draw(hnp.array_shapes(min_dims=min_dims, max_dims=3, max_side=4))
    return distinct(shape, draw(st.integers(0, 100))), draw(st.integers(-len(shape), len(shape) - 1))


@pytest.mark.parametrize("name", ["max", "min"])
@given(case=distinct_and_dim(), keepdim=st.booleans())
def test_max_min_with_a_dim_return_values_and_indices(name, case, keepdim):
    x, dim = case
    out = getattr(mg, name)(mg.Tensor(x), dim=dim, keepdim=keepdim)
    assert isinstance(out, mg.ValuesIndices)
    values, indices = out
    np.testing.assert_array_equal(values.data, getattr(np, name)(x, axis=dim, keepdims=keepdim))
    np.testing.assert_array_equal(indices.data, getattr(np, "arg" + name)(x, axis=dim, keepdims=keepdim))
    assert indices.dtype == np.int64 and not indices.requires_grad
    assert_grads_close(lambda t: getattr(t, name)(dim, keepdim).values, mg.Tensor(x, requires_grad=True), **TOL)


def test_max_with_a_dim_sends_the_gradient_to_the_returned_index():
    x = mg.Tensor([[1.0, 3.0, 3.0]], requires_grad=True)
    values, indices = x.max(dim=1)
    assert indices.tolist() == [1]  # the first of the ties, as NumPy's argmax and PyTorch's CPU
    values.sum().backward()
    np.testing.assert_array_equal(x.grad, [[0, 1, 0]])
    y = mg.Tensor([[1.0, 3.0, 3.0]], requires_grad=True)
    y.max().backward()  # no dim: a 0-d tensor, ties share
    np.testing.assert_allclose(y.grad, [[0, 0.5, 0.5]])
    assert y.max().shape == () and mg.max(y, axis=1).values.shape == (1,)


def test_both_spellings_and_the_both_given_error():
    x = mg.Tensor(distinct((2, 3, 4)))
    np.testing.assert_allclose(x.sum(1).data, x.data.sum(axis=1))
    np.testing.assert_allclose(x.mean(dim=(0, 2), keepdim=True).data, x.data.mean(axis=(0, 2), keepdims=True))
    np.testing.assert_allclose(x.sum(axis=-1, keepdims=True).data, x.data.sum(axis=-1, keepdims=True))
    for call in (
        lambda: x.sum(dim=0, axis=0),
        lambda: x.mean(keepdim=True, keepdims=True),
        lambda: x.max(dim=0, axis=1),
        lambda: x.var(ddof=0, correction=1),
        lambda: x.std(unbiased=True, ddof=1),
        lambda: x.argmax(dim=0, axis=0),
        lambda: mg.cumsum(x, dim=0, axis=0),
        lambda: mg.norm(x, dim=0, axis=0),
    ):
        with pytest.raises(TypeError, match="not both|one of"):
            call()


@pytest.mark.parametrize(
    "call",
    [
        lambda x: x.sum(3),
        lambda x: x.mean(dim=(0, -4)),
        lambda x: x.max(dim=-4),
        lambda x: x.argmin(5),
        lambda x: x.prod(axis=3),
        lambda x: x.var(3),
        lambda x: x.median(3),
        lambda x: x.cumsum(3),
        lambda x: x.sort(3),
        lambda x: x.topk(1, dim=-4),
        lambda x: mg.linalg.vector_norm(x, dim=7),
        lambda x: x.all(dim=3),
    ],
)
def test_out_of_range_dims_name_the_op_and_the_shape(call):
    with pytest.raises(mg.ShapeError, match=r"dim -?\d is out of range for a tensor of shape \(2, 3, 4\)"):
        call(mg.Tensor(distinct((2, 3, 4))))


def test_float32_stays_float32():
    x = mg.Tensor(distinct((3, 4)), dtype=np.float32, requires_grad=True)
    outs = [
        x.sum(1), x.mean(), x.prod(0), x.amax(1), x.max(0).values, x.var(1), x.std(), x.logsumexp(0),
        x.norm(), mg.linalg.matrix_norm(x, ord=1), x.median(), x.quantile(0.3, dim=1),
        x.cumsum(1), x.cumprod(0), x.logcumsumexp(1), x.cummax(0).values, x.sort(1).values,
        x.topk(2).values, x.kthvalue(2, 0).values,
    ]  # fmt: skip
    for out in outs:
        assert out.dtype == np.float32
        out.sum().backward()
        assert x.grad.dtype == np.float32
        x.grad = None


def test_zero_dimensional_tensors_take_dim_0_and_minus_1():
    x = mg.Tensor(2.5, requires_grad=True)
    assert x.sum(0).item() == 2.5 and x.max(-1).values.item() == 2.5 and x.max(0).indices.item() == 0
    assert x.argmax(0).item() == 0 and x.cumsum(0).item() == 2.5 and x.sort().values.item() == 2.5
    with pytest.raises(mg.ShapeError):
        x.sum(1)


# ---------------------------------------------------------------- prod, std, norms
@given(shape=hnp.array_shapes(min_dims=1, max_dims=3, max_side=4), seed=st.integers(0, 50), zeros=st.integers(0, 2))
def test_prod_gradient_is_right_with_zeros(shape, seed, zeros):
    x = np.random.default_rng(seed).uniform(0.5, 1.5, shape) * np.random.default_rng(seed).choice([-1, 1], shape)
    x.reshape(-1)[:zeros] = 0.0
    for dim in [None, 0, -1]:
        np.testing.assert_allclose(mg.prod(mg.Tensor(x), dim).data, np.prod(x, axis=dim), rtol=1e-12)
        assert_grads_close(lambda t, dim=dim: t.prod(dim), mg.Tensor(x, requires_grad=True), **TOL)


def test_prod_gradients_by_hand_and_second_derivatives():
    x = mg.Tensor([[2.0, 0.0, 3.0], [0.0, 0.0, 5.0], [1.0, 2.0, 4.0]], requires_grad=True)
    x.prod(1).sum().backward()
    np.testing.assert_allclose(x.grad, [[0, 6, 0], [0, 0, 0], [8, 4, 2]])
    assert mg.gradgradcheck(lambda t: t.prod(1), (mg.Tensor(distinct((2, 3)) * 0.5 + 0.1, requires_grad=True),))
    one_zero = mg.Tensor([[2.0, 0.0, 3.0]], requires_grad=True)
    assert mg.gradgradcheck(lambda t: t.prod(1), (one_zero,), atol=1e-5, rtol=1e-4)


@given(case=array_and_axis(min_dims=1))
def test_std_is_the_root_of_var_and_matches_numpy(case):
    x, axis, keepdims = case
    assume(np.ptp(x) > 1e-2)
    for ddof in (0, 1):
        n = x.size if axis is None else np.prod([x.shape[a] for a in np.atleast_1d(axis)])
        assume(n > ddof)
        out = mg.std(mg.Tensor(x), axis, keepdim=keepdims, ddof=ddof)
        np.testing.assert_allclose(out.data, np.std(x, axis=axis, keepdims=keepdims, ddof=ddof), rtol=1e-10, atol=1e-12)


def test_smooth_reductions_are_differentiable_twice():
    x = mg.Tensor(distinct((3, 4)) * 0.3 + 0.05, requires_grad=True)
    for fn in (
        lambda t: t.var(1),
        lambda t: t.std(0),
        lambda t: t.norm(dim=1),
        lambda t: mg.linalg.vector_norm(t, ord=3, dim=0),
        lambda t: mg.linalg.matrix_norm(t),
        lambda t: t.max(1).values * t.sum(1),
        lambda t: t.median(0).values ** 2,
        lambda t: t.quantile(0.4, dim=1) ** 2,
        lambda t: t.logsumexp(dim=(0, 1)),
    ):
        assert mg.gradgradcheck(fn, (x,), atol=1e-5, rtol=1e-4)


def test_norms_match_numpy():
    x = distinct((3, 4))
    t = mg.Tensor(x)
    for ord in (2, 1, 3, np.inf, -np.inf, 0):
        np.testing.assert_allclose(mg.linalg.vector_norm(t, ord, dim=1).data, np.linalg.norm(x, ord, axis=1))
    for ord in ("fro", 1, -1, np.inf, -np.inf):
        np.testing.assert_allclose(mg.linalg.matrix_norm(t, ord).data, np.linalg.norm(x, ord))
    np.testing.assert_allclose(mg.linalg.norm(t).data, np.linalg.norm(x))
    np.testing.assert_allclose(mg.linalg.norm(t, 1).data, np.linalg.norm(x, 1))
    np.testing.assert_allclose(mg.linalg.norm(t, 1, dim=0).data, np.linalg.norm(x, 1, axis=0))
    np.testing.assert_allclose(t.norm(p=1, dim=1, keepdim=True).data, np.linalg.norm(x, 1, axis=1, keepdims=True))
    np.testing.assert_allclose(mg.norm(t).data, np.linalg.norm(x))
    for ord in (1, np.inf, 3):
        assert_grads_close(
            lambda a, ord=ord: mg.linalg.vector_norm(a, ord, dim=0), mg.Tensor(x, requires_grad=True), **TOL
        )
        assert_grads_close(
            lambda a, ord=ord: mg.linalg.matrix_norm(a, ord if ord != 3 else "fro"),
            mg.Tensor(x, requires_grad=True),
            **TOL,
        )
    zero = mg.Tensor(np.zeros(3), requires_grad=True)
    zero.norm().backward()
    np.testing.assert_array_equal(zero.grad, 0)  # as PyTorch: not NaN
    with pytest.raises(ValueError, match="matrix_norm: ord 'spectral'"):
        mg.linalg.matrix_norm(t, "spectral")


# ---------------------------------------------------------------- all, any, median, quantile
def test_all_any_count_nonzero():
    x = np.array([[1.0, 0.0, 2.0], [0.0, 0.0, 3.0]])
    t = mg.Tensor(x)
    assert t.all().item() is False and t.any().item() is True
    np.testing.assert_array_equal(mg.all(t, dim=0).data, np.all(x, axis=0))
    np.testing.assert_array_equal(t.any(1, keepdim=True).data, np.any(x, axis=1, keepdims=True))
    np.testing.assert_array_equal(t.count_nonzero(dim=1).data, [2, 1])
    assert mg.count_nonzero(t).dtype == np.int64 and mg.count_nonzero(t).item() == 3


@given(case=distinct_and_dim(), keepdim=st.booleans())
def test_median_is_the_lower_middle_value(case, keepdim):
    x, dim = case
    n = x.shape[dim]
    values, indices = mg.median(mg.Tensor(x), dim, keepdim)
    expected = np.take(np.sort(x, axis=dim), [(n - 1) // 2], axis=dim)
    np.testing.assert_array_equal(values.data, expected if keepdim else np.squeeze(expected, dim))
    np.testing.assert_array_equal(
        np.take_along_axis(x, indices.data if keepdim else np.expand_dims(indices.data, dim), dim), expected
    )
    assert mg.median(mg.Tensor(x)).item() == np.sort(x.ravel())[(x.size - 1) // 2]
    assert_grads_close(lambda t: t.median(dim, keepdim).values, mg.Tensor(x, requires_grad=True), **TOL)
    assert_grads_close(lambda t: t.median(), mg.Tensor(x, requires_grad=True), **TOL)


@given(case=distinct_and_dim(), q=st.lists(st.floats(0, 1), min_size=1, max_size=3))
def test_quantile_matches_numpy_linear(case, q):
    x, dim = case
    np.testing.assert_allclose(
        mg.quantile(mg.Tensor(x), q, dim).data, np.quantile(x, q, axis=dim), rtol=1e-12, atol=1e-12
    )
    np.testing.assert_allclose(mg.quantile(mg.Tensor(x), q[0]).data, np.quantile(x, q[0]), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(
        mg.quantile(mg.Tensor(x), q[0], dim, keepdim=True).data,
        np.quantile(x, q[0], axis=dim, keepdims=True),
        atol=1e-12,
    )
    assert_grads_close(lambda t: t.quantile(q, dim), mg.Tensor(x, requires_grad=True), **TOL)
    with pytest.raises(ValueError, match="quantile: q"):
        mg.quantile(mg.Tensor(x), 1.5)


def test_nansum_and_nanmean():
    x = mg.Tensor([[1.0, np.nan], [2.0, 4.0]], requires_grad=True)
    np.testing.assert_allclose(x.nansum(1).data, [1.0, 6.0])
    np.testing.assert_allclose(mg.nanmean(x, dim=0).data, [1.5, 4.0])
    x.nanmean().backward()
    np.testing.assert_allclose(x.grad, [[1 / 3, 0], [1 / 3, 1 / 3]])


# ---------------------------------------------------------------- scans
@pytest.mark.parametrize(
    ("name", "reference"), [("cumsum", np.cumsum), ("cumprod", np.cumprod), ("logcumsumexp", None)]
)
@given(case=array_and_axis(min_dims=1))
def test_scans_match_numpy_and_finite_differences(name, reference, case):
    x, _, _ = case
    for dim in range(-x.ndim, x.ndim):
        out = getattr(mg, name)(mg.Tensor(x), dim)
        if reference is None:
            np.testing.assert_allclose(out.data, np.log(np.cumsum(np.exp(x), axis=dim)), rtol=1e-10, atol=1e-12)
        else:
            np.testing.assert_allclose(out.data, reference(x, axis=dim), rtol=1e-10, atol=1e-12)
        assert_grads_close(lambda t, dim=dim: getattr(t, name)(dim), mg.Tensor(x, requires_grad=True), **TOL)


def test_cumprod_gradient_with_zeros_and_second_derivatives():
    for row in ([2.0, 0.0, 3.0, 4.0], [0.0, 2.0, 0.0, 3.0], [1.5, 2.0, 0.5, 0.0], [0.0, 0.0, 0.0, 1.0]):
        assert_grads_close(lambda t: t.cumprod(0), mg.Tensor(row, requires_grad=True), **TOL)
    assert mg.gradgradcheck(lambda t: t.cumprod(1), (mg.Tensor(distinct((2, 4)) * 0.4 + 0.1, requires_grad=True),))
    assert mg.gradgradcheck(lambda t: t.cumsum(0) ** 2, (mg.Tensor(distinct((3, 2)), requires_grad=True),))


def test_logcumsumexp_is_stable():
    x = mg.Tensor([1000.0, -1000.0, 1000.0, 0.0], requires_grad=True)
    out = x.logcumsumexp(0)
    np.testing.assert_allclose(out.data, [1000.0, 1000.0, 1000.0 + np.log(2), 1000.0 + np.log(2)])
    out.sum().backward()
    assert np.all(np.isfinite(x.grad))
    np.testing.assert_allclose(x.grad, [1 + 1 + 0.5 + 0.5, 0, 0.5 + 0.5, 0], atol=1e-12)


@pytest.mark.parametrize("name", ["cummax", "cummin"])
@given(case=distinct_and_dim())
def test_cummax_cummin(name, case):
    x, dim = case
    values, indices = getattr(mg, name)(mg.Tensor(x), dim)
    acc = np.maximum if name == "cummax" else np.minimum
    np.testing.assert_array_equal(values.data, acc.accumulate(x, axis=dim))
    np.testing.assert_array_equal(np.take_along_axis(x, indices.data, dim), values.data)
    assert indices.dtype == np.int64
    assert_grads_close(lambda t: getattr(t, name)(dim).values, mg.Tensor(x, requires_grad=True), **TOL)


def test_cummax_ties_take_the_latest_index_as_pytorch():
    assert mg.cummax(mg.Tensor([1.0, 3.0, 3.0, 2.0]), 0).indices.tolist() == [0, 1, 2, 2]
    with pytest.raises(TypeError, match="cumsum: dim is required"):
        mg.cumsum(mg.Tensor([1.0]))


# ---------------------------------------------------------------- against PyTorch
def test_against_torch():
    torch = pytest.importorskip("torch")
    x = distinct((3, 4)) * 0.3
    x[0, 1] = 0.0
    cases = [
        (lambda t: t.prod(1), lambda t: t.prod(1)),
        (lambda t: t.var(0), lambda t: t.var(0)),
        (lambda t: t.std(), lambda t: t.std()),
        (lambda t: t.max(1).values, lambda t: t.max(1).values),
        (lambda t: t.median(1).values, lambda t: t.median(1).values),
        (lambda t: t.quantile(0.3, dim=0), lambda t: t.quantile(0.3, dim=0)),
        (lambda t: t.norm(dim=1), lambda t: t.norm(dim=1)),
        (lambda t: mg.linalg.matrix_norm(t, 1), lambda t: torch.linalg.matrix_norm(t, 1)),
        (lambda t: t.cumprod(1), lambda t: t.cumprod(1)),
        (lambda t: t.logcumsumexp(0), lambda t: t.logcumsumexp(0)),
        (lambda t: t.cummin(1).values, lambda t: t.cummin(1).values),
    ]
    weights = np.arange(1.0, 13.0)
    for ours, theirs in cases:
        a = mg.Tensor(x, requires_grad=True)
        b = torch.tensor(x, requires_grad=True)
        out, ref = ours(a), theirs(b)
        np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-12, atol=1e-12)
        w = weights[: out.data.size].reshape(out.shape)
        (out * mg.Tensor(w)).sum().backward()
        (ref * torch.tensor(w)).sum().backward()
        np.testing.assert_allclose(a.grad, b.grad.numpy(), rtol=1e-10, atol=1e-12)


# ------------------------------------------------------------ p-norms at zero, inf norms in F
@pytest.mark.parametrize("ord", [1.5, 3, 4.0])
def test_p_norm_gradient_is_zero_at_a_zero_vector_and_right_elsewhere(ord, rng):
    zero = mg.Tensor(np.zeros((2, 3)), requires_grad=True)
    mg.linalg.vector_norm(zero, ord=ord, dim=1).sum().backward()
    np.testing.assert_array_equal(zero.grad, np.zeros((2, 3)))
    x = mg.Tensor(rng.uniform(0.2, 2, (2, 3)) * rng.choice([-1, 1], (2, 3)), requires_grad=True)
    np.testing.assert_allclose(
        mg.linalg.vector_norm(x, ord=ord, dim=1).data, np.linalg.norm(x.data, ord=ord, axis=1), rtol=1e-12
    )
    assert mg.gradcheck(lambda t: mg.linalg.vector_norm(t, ord=ord, dim=1), (x,))
    assert mg.gradgradcheck(lambda t: mg.linalg.vector_norm(t, ord=ord, dim=0), (x,), atol=1e-5, rtol=1e-4)


def test_normalize_and_cosine_similarity_of_a_zero_vector_have_pytorchs_finite_gradient():
    F = mg.nn.functional
    zero = mg.Tensor(np.zeros((1, 3)), requires_grad=True)
    F.normalize(zero).sum().backward()
    np.testing.assert_allclose(zero.grad, np.full((1, 3), 1e12))  # 1 / eps, as PyTorch
    zero.grad = None
    F.cosine_similarity(zero, mg.ones((1, 3))).sum().backward()
    np.testing.assert_allclose(zero.grad, np.full((1, 3), 1 / np.sqrt(3) / 1e-8))
    assert np.isfinite(zero.grad).all()


def test_infinity_norms_in_normalize_pairwise_distance_and_triplet_loss(rng):
    F = mg.nn.functional
    x, y = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    np.testing.assert_allclose(F.normalize(mg.Tensor(x), p=np.inf).data, x / np.abs(x).max(1, keepdims=True))
    np.testing.assert_allclose(
        F.pairwise_distance(mg.Tensor(x), mg.Tensor(y), p=np.inf, eps=0.0).data, np.abs(x - y).max(1)
    )
    loss = F.triplet_margin_loss(mg.Tensor(x), mg.Tensor(y), mg.Tensor(-y), p=np.inf, eps=0.0, margin=5.0)
    expected = np.maximum(np.abs(x - y).max(1) - np.abs(x + y).max(1) + 5.0, 0).mean()
    np.testing.assert_allclose(loss.item(), expected)
    with pytest.raises(ValueError, match="normalize: p must be a positive number"):
        F.normalize(mg.Tensor(x), p=0)


@pytest.mark.parametrize(
    "values", [[0.0, 2.0, 0.0, 3.0], [0.0, 0.0, 0.0, 1.5], [1.0, 0.0, 2.0, -3.0], [[0.0, 2.0], [0.0, 0.0]]]
)
def test_prod_and_cumprod_second_derivatives_are_exact_with_several_zeros(values):
    x = mg.Tensor(np.array(values), requires_grad=True)
    weights = mg.Tensor(np.linspace(0.5, 1.5, x.numel()).reshape(x.shape))
    assert mg.gradgradcheck(lambda t: t.prod(), (x,), atol=1e-6, rtol=1e-5)
    assert mg.gradgradcheck(lambda t: mg.prod(t, dim=-1), (x,), atol=1e-6, rtol=1e-5)
    assert mg.gradgradcheck(lambda t: mg.cumprod(t, dim=-1) * weights, (x,), atol=1e-6, rtol=1e-5)
    # The Hessian of prod at [0, 2, 0, 3] is the closed form: d2/dx_i dx_k = prod of the rest.
    if np.array(values).shape == (4,):
        (g,) = mg.grad(x.prod(), x, create_graph=True)
        hessian = np.stack([mg.grad(g[i], x, retain_graph=True)[0] for i in range(4)])
        v = np.array(values)
        expected = np.array([[0.0 if i == k else np.prod(np.delete(v, [i, k])) for k in range(4)] for i in range(4)])
        np.testing.assert_allclose(hessian, expected, atol=1e-12)
