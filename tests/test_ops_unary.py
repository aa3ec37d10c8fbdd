"""Elementwise maths (ops/unary.py): forward against NumPy/SciPy, gradients against finite
differences (float64, hypothesis-drawn values away from kinks and poles), second derivatives,
float32 kept, broadcasting, hostile inputs without warnings, and an optional PyTorch check."""

import math
import sys
import warnings

import numpy as np
import pytest
import scipy.special as sp
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import microgradnn as mg
from microgradnn.testing import assert_grads_close, broadcastable_shapes

TOL = dict(atol=1e-6, rtol=1e-5)

# name: (reference, low, high, smooth: differentiable twice and checked with gradgradcheck)
UNARY = {
    "sin": (np.sin, -3, 3, True),
    "cos": (np.cos, -3, 3, True),
    "tan": (np.tan, -1.2, 1.2, True),
    "arcsin": (np.arcsin, -0.9, 0.9, True),
    "asin": (np.arcsin, -0.9, 0.9, True),
    "arccos": (np.arccos, -0.9, 0.9, True),
    "acos": (np.arccos, -0.9, 0.9, True),
    "arctan": (np.arctan, -3, 3, True),
    "atan": (np.arctan, -3, 3, True),
    "sinh": (np.sinh, -3, 3, True),
    "cosh": (np.cosh, -3, 3, True),
    "arcsinh": (np.arcsinh, -3, 3, True),
    "asinh": (np.arcsinh, -3, 3, True),
    "arccosh": (np.arccosh, 1.2, 4, True),
    "acosh": (np.arccosh, 1.2, 4, True),
    "arctanh": (np.arctanh, -0.9, 0.9, True),
    "atanh": (np.arctanh, -0.9, 0.9, True),
    "sinc": (np.sinc, 0.1, 3, True),
    "deg2rad": (np.deg2rad, -3, 3, True),
    "rad2deg": (np.rad2deg, -3, 3, True),
    "log1p": (np.log1p, -0.8, 3, True),
    "expm1": (np.expm1, -3, 3, True),
    "log2": (np.log2, 0.2, 4, True),
    "log10": (np.log10, 0.2, 4, True),
    "exp2": (np.exp2, -3, 3, True),
    "square": (np.square, -3, 3, True),
    "reciprocal": (np.reciprocal, 0.3, 3, True),
    "rsqrt": (lambda x: 1 / np.sqrt(x), 0.3, 3, True),
    "erf": (sp.erf, -2.5, 2.5, True),
    "erfc": (sp.erfc, -2.5, 2.5, True),
    "erfinv": (sp.erfinv, -0.9, 0.9, True),
    "frac": (lambda x: x - np.trunc(x), 0.1, 0.9, True),
    "sign": (np.sign, -3, 3, False),
    "sgn": (np.sign, -3, 3, False),
    "floor": (np.floor, -3, 3, False),
    "ceil": (np.ceil, -3, 3, False),
    "round": (np.round, -3, 3, False),
    "trunc": (np.trunc, -3, 3, False),
    "nan_to_num": (np.nan_to_num, -3, 3, True),
}
ZERO_GRADIENT = {"sign", "sgn", "floor", "ceil", "round", "trunc"}


def floats(low, high):
    return st.floats(low, high, allow_nan=False, allow_infinity=False)


def arrays(shape, low=-3.0, high=3.0):
    return hnp.arrays(np.float64, shape, elements=floats(low, high))


def leaf(a, dtype=None):
    return mg.Tensor(a, requires_grad=True, dtype=dtype)


def away_from_integers(x):
    return bool(np.all(np.abs(x - np.round(x)) > 1e-3) and np.all(np.abs(x - np.round(x) - 0.5) > 1e-3))


@pytest.mark.parametrize("name", sorted(UNARY))
@given(data=st.data(), shape=hnp.array_shapes(min_dims=0, max_dims=2, max_side=3))
def test_unary_forward_matches_numpy_and_gradient_matches_finite_differences(name, data, shape):
    reference, low, high, _ = UNARY[name]
    x = data.draw(arrays(shape, low, high))
    fn = getattr(mg, name)
    np.testing.assert_allclose(fn(mg.Tensor(x)).data, reference(x), rtol=1e-14, atol=1e-14)
    if name in ZERO_GRADIENT:
        assume(away_from_integers(x))
    assert_grads_close(fn, leaf(x), **TOL)


@pytest.mark.parametrize("name", sorted(n for n, spec in UNARY.items() if spec[3]))
def test_smooth_unary_ops_have_second_derivatives(name, rng):
    _, low, high, _ = UNARY[name]
    x = leaf(rng.uniform(low, high, size=(2, 3)))
    assert mg.gradgradcheck(getattr(mg, name), x, **TOL)


@pytest.mark.parametrize("name", sorted(ZERO_GRADIENT))
def test_rounding_ops_have_zero_gradient(name):
    x = leaf([-1.5, -0.3, 0.0, 0.7, 2.5])
    getattr(mg, name)(x).sum().backward()
    np.testing.assert_array_equal(x.grad, np.zeros(5))


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_ops_keep_float32_and_are_methods(name, rng):
    _, low, high, _ = UNARY[name]
    x = leaf(rng.uniform(low, high, size=4), dtype=np.float32)
    out = getattr(mg, name)(x)
    assert out.dtype == np.float32
    out.sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(getattr(x, name)().data, out.data)


HOSTILE = [0.0, -0.0, 1.0, -1.0, np.inf, -np.inf, np.nan, 1000.0, -1000.0, 1e-300]


@pytest.mark.parametrize("name", sorted(UNARY))
def test_hostile_inputs_give_no_warning(name):
    for dtype in (np.float64, np.float32):
        x = leaf(HOSTILE, dtype=dtype)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            out = getattr(mg, name)(x)
            out.sum().backward()
        assert out.dtype == dtype


def test_round_decimals_and_half_to_even():
    assert mg.round(mg.Tensor([0.5, 1.5, 2.5, -0.5])).tolist() == [0.0, 2.0, 2.0, -0.0]
    assert mg.Tensor([1.2345]).round(2).tolist() == [1.23]
    with pytest.raises(TypeError, match="round: decimals"):
        mg.round(mg.Tensor([1.0]), 1.5)


def test_nan_to_num_options_and_gradient():
    x = leaf([np.nan, np.inf, -np.inf, 2.0])
    out = x.nan_to_num(nan=1.0, posinf=2.0, neginf=-3.0)
    assert out.tolist() == [1.0, 2.0, -3.0, 2.0]
    out.sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0, 1.0]
    assert mg.nan_to_num(mg.Tensor([np.inf], dtype="float32")).item() == np.finfo(np.float32).max


def test_sinc_is_one_at_zero_with_zero_gradient():
    x = leaf([0.0])
    out = mg.sinc(x)
    out.sum().backward()
    assert out.item() == 1.0 and x.grad.tolist() == [0.0]


def test_erf_names_the_scipy_extra_when_scipy_is_missing(monkeypatch):
    monkeypatch.setitem(sys.modules, "scipy.special", None)
    with pytest.raises(ImportError, match=r"microgradnn\[scipy\]"):
        mg.erf(mg.Tensor([0.0]))


def test_unary_ops_take_tensor_like_input_and_name_themselves_in_errors():
    assert mg.sin([0.0]).tolist() == [0.0]
    with pytest.raises(TypeError, match="sin"):
        mg.sin("x")


# ------------------------------------------------------------------ binary
# name: (reference, condition on the drawn values)
BINARY = {
    "logaddexp": (np.logaddexp, None),
    "logaddexp2": (np.logaddexp2, None),
    "fmod": (np.fmod, "no_jumps"),
    "remainder": (np.remainder, "no_jumps"),
    "copysign": (np.copysign, "a_nonzero"),
    "hypot": (np.hypot, "not_origin"),
    "atan2": (np.arctan2, "off_the_cut"),
    "arctan2": (np.arctan2, "off_the_cut"),
    "xlogy": (sp.xlogy, "positive_b"),
    "floor_divide": (np.floor_divide, "no_jumps"),
}
SMOOTH_BINARY = ["logaddexp", "logaddexp2", "hypot", "atan2", "xlogy"]


def draw_pair(data, name, shapes):
    a = data.draw(arrays(shapes[0]))
    b = data.draw(arrays(shapes[1], 0.3 if BINARY[name][1] == "positive_b" else -3.0))
    condition = BINARY[name][1]
    if condition == "no_jumps":  # divisors away from 0, of either sign; quotients off the integers
        b = data.draw(arrays(shapes[1], 0.3, 3.0)) * data.draw(
            hnp.arrays(np.float64, shapes[1], elements=st.sampled_from([-1.0, 1.0]))
        )
        q = a / b
        assume(np.all(np.abs(q - np.round(q)) > 1e-3))
    if condition == "a_nonzero":
        assume(np.all(np.abs(a) > 1e-3) and np.all(np.abs(b) > 1e-3))
    if condition in ("not_origin", "off_the_cut"):
        assume(np.all(np.hypot(a, b) > 0.3))
    if condition == "off_the_cut":  # atan2(y, x) jumps by 2 pi where y crosses 0 with x < 0
        assume(not np.any((np.abs(a) < 1e-3) & (b < 0)))
    return a, b


@pytest.mark.parametrize("name", sorted(BINARY))
@given(data=st.data(), shapes=broadcastable_shapes(2, max_dims=2, max_side=3))
def test_binary_forward_and_gradients_under_broadcasting(name, data, shapes):
    reference = BINARY[name][0]
    a, b = draw_pair(data, name, shapes)
    fn = getattr(mg, name)
    np.testing.assert_allclose(fn(mg.Tensor(a), mg.Tensor(b)).data, reference(a, b), rtol=1e-13, atol=1e-13)
    assert_grads_close(fn, (leaf(a), leaf(b)), **TOL)


@pytest.mark.parametrize("name", SMOOTH_BINARY)
def test_smooth_binary_ops_have_second_derivatives(name, rng):
    a = leaf(rng.uniform(0.5, 2, size=(2, 3)))
    b = leaf(rng.uniform(0.5, 2, size=(3,)))
    assert mg.gradgradcheck(getattr(mg, name), (a, b), **TOL)


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_ops_keep_float32_with_scalars_and_lists_and_are_methods(name):
    x = leaf([0.5, 1.5, 2.5], dtype=np.float32)
    fn = getattr(mg, name)
    for other in (0.7, [0.7, 1.1, 1.9]):
        out = fn(x, other)
        assert out.dtype == np.float32
        out.sum().backward()
        assert x.grad.dtype == np.float32
    assert fn(2.0, x).dtype == np.float32
    np.testing.assert_array_equal(getattr(x, name)(0.7).data, fn(x, 0.7).data)


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_ops_name_themselves_when_shapes_do_not_broadcast(name):
    op = "atan2" if name == "arctan2" else name
    with pytest.raises(mg.ShapeError, match=f"{op}: shapes \\(2,\\) and \\(3,\\)"):
        getattr(mg, name)(mg.ones(2), mg.ones(3))


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_hostile_inputs_give_no_warning(name):
    a = leaf(np.repeat(HOSTILE, len(HOSTILE)))
    b = leaf(np.tile(HOSTILE, len(HOSTILE)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        getattr(mg, name)(a, b).sum().backward()


def test_percent_and_floor_division_follow_python_signs():
    x = mg.Tensor([-7.0, 7.0, -7.0, 7.0])
    d = mg.Tensor([3.0, -3.0, -3.0, 3.0])
    assert (x % d).tolist() == [(-7) % 3, 7 % -3, -7 % -3, 7 % 3]
    assert (x // d).tolist() == [(-7) // 3, 7 // -3, -7 // -3, 7 // 3]
    assert (10.0 % mg.Tensor([3.0])).tolist() == [1.0]
    assert (10.0 // mg.Tensor([3.0])).tolist() == [3.0]
    assert mg.fmod(x, d).tolist() == [math.fmod(-7, 3), math.fmod(7, -3), math.fmod(-7, -3), math.fmod(7, 3)]


def test_remainder_gradient_is_minus_floor_of_the_quotient():
    a, b = leaf([3.5, -2.5]), leaf([2.0, 1.5])
    mg.remainder(a, b).sum().backward()
    assert a.grad.tolist() == [1.0, 1.0] and b.grad.tolist() == [-1.0, 2.0]


def test_xlogy_is_zero_where_x_is_zero():
    x, y = leaf([0.0, 0.0, 2.0]), leaf([0.0, 3.0, np.e])
    out = mg.xlogy(x, y)
    assert out.tolist() == [0.0, 0.0, 2.0]
    out.sum().backward()
    assert x.grad.tolist() == [0.0, math.log(3.0), 1.0]
    assert np.isnan(mg.xlogy(mg.Tensor([0.0]), mg.Tensor([np.nan])).item())


@given(data=st.data(), shapes=broadcastable_shapes(3, max_dims=2, max_side=3))
def test_lerp_matches_its_formula_with_gradients_for_all_three(data, shapes):
    start, end, weight = (data.draw(arrays(s)) for s in shapes)
    out = mg.lerp(mg.Tensor(start), mg.Tensor(end), mg.Tensor(weight))
    np.testing.assert_allclose(out.data, start + weight * (end - start), rtol=1e-12, atol=1e-12)
    assert_grads_close(mg.lerp, (leaf(start), leaf(end), leaf(weight)), **TOL)
    assert mg.Tensor([0.0], dtype="float32").lerp([4.0], 0.5).dtype == np.float32


# ------------------------------------------------------------------ predicates
def test_predicates_are_boolean_tensors_without_grad():
    x = leaf([1.0, np.nan, np.inf, -np.inf])
    for name, expected in {
        "isnan": [False, True, False, False],
        "isinf": [False, False, True, True],
        "isfinite": [True, False, False, False],
    }.items():
        out = getattr(mg, name)(x)
        assert out.dtype == bool and not out.requires_grad and out.tolist() == expected
        assert getattr(x, name)().tolist() == expected


def test_isclose_allclose_and_equal():
    a = mg.Tensor([[1.0, 2.0], [3.0, np.nan]])
    assert mg.isclose(a, [1.0, 2.0 + 1e-9]).tolist() == [[True, True], [False, False]]
    assert mg.isclose(a, a, equal_nan=True).tolist() == [[True, True], [True, True]]
    assert a.isclose(a).dtype == bool
    assert mg.allclose(mg.ones(3), mg.ones(3) + 1e-9) is True
    assert mg.allclose(mg.ones(3), 1.1) is False
    assert mg.equal(mg.ones(2), mg.ones(2)) is True
    assert mg.equal(mg.ones(2), mg.ones((1, 2))) is False
    assert mg.ones(2).equal(mg.zeros(2)) is False
    with pytest.raises(mg.ShapeError, match="isclose"):
        mg.isclose(mg.ones(2), mg.ones(3))


# ------------------------------------------------------------------ PyTorch, where installed
TORCH_UNARY = {name: name for name in UNARY} | {"arctan": "arctan", "sinc": "sinc"}
TORCH_BINARY = {
    "logaddexp": "logaddexp",
    "logaddexp2": "logaddexp2",
    "fmod": "fmod",
    "remainder": "remainder",
    "copysign": "copysign",
    "hypot": "hypot",
    "atan2": "atan2",
    "xlogy": "xlogy",
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_values_and_gradients_match_pytorch(name, rng):
    torch = pytest.importorskip("torch")
    _, low, high, _ = UNARY[name]
    x = rng.uniform(low, high, size=6)
    if name in ZERO_GRADIENT:
        x = x + 0.01  # away from half-integers drawn exactly
    t = torch.tensor(x, requires_grad=True)
    getattr(torch, name)(t).sum().backward()
    ours = leaf(x)
    out = getattr(mg, name)(ours)
    out.sum().backward()
    np.testing.assert_allclose(out.data, getattr(torch, name)(t).detach().numpy(), rtol=1e-12, atol=1e-12)
    # force=True: torch.sgn's gradient is a lazy "ZeroTensor", which refuses a plain .numpy().
    np.testing.assert_allclose(ours.grad, t.grad.numpy(force=True), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", sorted(TORCH_BINARY))
def test_binary_values_and_gradients_match_pytorch(name, rng):
    torch = pytest.importorskip("torch")
    a = np.concatenate([rng.uniform(-3, 3, size=5), [0.0, 0.0, 2.0]])
    b = np.concatenate([rng.uniform(0.3, 3, size=5) * rng.choice([-1, 1], 5), [0.0, 2.0, -0.0]])
    if name == "xlogy":
        b = np.abs(b)
    ta, tb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    expected = getattr(torch, name)(ta, tb)
    expected.sum().backward()
    oa, ob = leaf(a), leaf(b)
    out = getattr(mg, name)(oa, ob)
    out.sum().backward()
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-12, atol=1e-12)
    finite = np.isfinite(ta.grad.numpy()) & np.isfinite(tb.grad.numpy())
    if name in ("hypot", "atan2"):  # the origin is a pole; PyTorch and we both give nan or inf there
        finite &= (a != 0) | (b != 0)
    np.testing.assert_allclose(oa.grad[finite], ta.grad.numpy()[finite], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ob.grad[finite], tb.grad.numpy()[finite], rtol=1e-10, atol=1e-12)
