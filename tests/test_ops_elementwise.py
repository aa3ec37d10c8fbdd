"""Elementwise ops: gradients against central finite differences (float64, hypothesis-drawn
shapes and values) and against hand-derived formulas; stability; ties; dtypes."""

import warnings

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import microgradnn as mg
from microgradnn.testing import assert_grads_close, broadcastable_shapes, tensors

TOL = dict(atol=1e-7, rtol=1e-6)  # relative error below 1e-6, with a floor for values near 0


def floats(low, high):
    return st.floats(low, high, allow_nan=False, allow_infinity=False)


def arrays(shape, low=-3.0, high=3.0):
    return hnp.arrays(np.float64, shape, elements=floats(low, high))


def leaf(a):
    return mg.Tensor(a, requires_grad=True)


BINARY = {
    "add": (lambda a, b: a + b, None),
    "sub": (lambda a, b: a - b, None),
    "mul": (lambda a, b: a * b, None),
    "div": (lambda a, b: a / b, "b_away_from_zero"),
    "maximum": (mg.maximum, "apart"),
    "minimum": (mg.minimum, "apart"),
    "pow": (lambda a, b: a**b, "positive_base"),
}


@pytest.mark.parametrize("name", sorted(BINARY))
@given(data=st.data(), shapes=broadcastable_shapes(2))
def test_binary_op_gradients_match_finite_differences_under_broadcasting(name, data, shapes):
    fn, condition = BINARY[name]
    low = 0.2 if condition == "positive_base" else -3.0
    a = data.draw(arrays(shapes[0], low=low))
    b = data.draw(arrays(shapes[1]))
    if condition == "b_away_from_zero":
        assume(np.all(np.abs(b) > 0.3))
    if condition == "apart":
        assume(np.all(np.abs(np.subtract(a, b)) > 1e-3))
    assert_grads_close(fn, (leaf(a), leaf(b)), **TOL)


UNARY = {
    "exp": (mg.exp, -3, 3),
    "log": (mg.log, 0.1, 3),
    "sqrt": (mg.sqrt, 0.1, 3),
    "abs": (mg.abs, -3, 3),
    "tanh": (mg.tanh, -3, 3),
    "sigmoid": (mg.sigmoid, -3, 3),
    "relu": (mg.relu, -3, 3),
    "neg": (lambda x: -x, -3, 3),
    "clip": (lambda x: x.clip(-1.0, 1.5), -3, 3),
    "pow_scalar": (lambda x: x**3, -3, 3),
    "pow_fraction": (lambda x: x**0.5, 0.1, 3),
    "rpow": (lambda x: 2.0**x, -3, 3),
    "rsub": (lambda x: 1 - x, -3, 3),
    "rdiv": (lambda x: 2 / x, 0.3, 3),
    "square": (lambda x: x**2, -3, 3),
}
KINKS = {"abs": (0.0,), "relu": (0.0,), "clip": (-1.0, 1.5)}


@pytest.mark.parametrize("name", sorted(UNARY))
@given(data=st.data(), shape=hnp.array_shapes(min_dims=0, max_dims=3, max_side=4))
def test_unary_op_gradients_match_finite_differences(name, data, shape):
    fn, low, high = UNARY[name]
    x = data.draw(arrays(shape, low, high))
    for kink in KINKS.get(name, ()):
        assume(np.all(np.abs(x - kink) > 1e-3))
    assert_grads_close(fn, leaf(x), **TOL)


def test_gradients_equal_the_hand_derived_formulas(rng):
    x = rng.standard_normal((3, 4))
    cases = {
        mg.sigmoid: lambda s: s * (1 - s),
        mg.tanh: lambda t: 1 - t**2,
        mg.exp: lambda e: e,
    }
    for op, derivative in cases.items():
        t = leaf(x)
        out = op(t)
        out.backward(np.ones_like(x))
        np.testing.assert_allclose(t.grad, derivative(out.data), rtol=0, atol=1e-15)
    t = leaf(np.abs(x) + 0.1)
    mg.log(t).sum().backward()
    np.testing.assert_allclose(t.grad, 1 / (np.abs(x) + 0.1), rtol=1e-15)
    a, b = leaf(x), leaf(x.T @ x + 1)
    (a @ b).sum().backward()
    np.testing.assert_allclose(a.grad, np.ones((3, 4)) @ b.data.T, rtol=1e-14)


@pytest.mark.parametrize("op", [mg.sigmoid, mg.tanh, mg.softmax, mg.log_softmax, mg.logsumexp])
def test_stable_ops_give_no_warning_and_no_nan_at_plus_minus_1000(op):
    for dtype in (np.float64, np.float32):
        x = mg.Tensor([[-1000.0, 0.0, 1000.0], [1000.0, 1000.0, -1000.0]], requires_grad=True, dtype=dtype)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            out = op(x)
            out.sum().backward()
        assert np.all(np.isfinite(out.data)) and np.all(np.isfinite(x.grad))
        assert out.dtype == dtype and x.grad.dtype == dtype


def test_sigmoid_extremes_are_exact_limits():
    out = mg.sigmoid(mg.Tensor([-1000.0, -30.0, 0.0, 30.0, 1000.0]))
    np.testing.assert_allclose(
        out.data, [0.0, 1 / (1 + np.exp(30.0)), 0.5, 1 / (1 + np.exp(-30.0)), 1.0], rtol=1e-15, atol=1e-300
    )


def test_relu_and_abs_have_zero_gradient_at_zero():
    for op in (mg.relu, mg.abs):
        x = leaf([-1.0, 0.0, 2.0])
        op(x).sum().backward()
        assert x.grad[1] == 0.0


@pytest.mark.parametrize("op", [mg.maximum, mg.minimum])
def test_maximum_and_minimum_split_the_gradient_at_ties(op):
    a, b = leaf([1.0, 2.0, 3.0]), leaf([1.0, 5.0, 0.0])
    op(a, b).backward(np.array([1.0, 1.0, 1.0]))
    winner_a = [0.5, 0.0, 1.0] if op is mg.maximum else [0.5, 1.0, 0.0]
    np.testing.assert_array_equal(a.grad, winner_a)
    np.testing.assert_array_equal(b.grad, 1 - np.array(winner_a))


def test_clip_passes_the_gradient_inside_the_range_inclusive():
    x = leaf([-2.0, -1.0, 0.0, 1.0, 2.0])
    x.clip(-1.0, 1.0).sum().backward()
    np.testing.assert_array_equal(x.grad, [0, 1, 1, 1, 0])
    with pytest.raises(ValueError, match="clip"):
        x.clip()


def test_where_routes_the_gradient_by_the_condition():
    x, y = leaf([1.0, -2.0, 3.0]), leaf([10.0, 20.0, 30.0])
    mg.where(x > 0, x, y).sum().backward()
    np.testing.assert_array_equal(x.grad, [1, 0, 1])
    np.testing.assert_array_equal(y.grad, [0, 1, 0])
    with pytest.raises(TypeError, match="where: condition must be boolean"):
        mg.where(x, x, y)


def test_pow_with_tensor_exponent_at_zero_base_has_finite_gradient():
    base, exponent = leaf([0.0, 2.0]), leaf([2.0, 3.0])
    (base**exponent).sum().backward()
    np.testing.assert_allclose(exponent.grad, [0.0, 8 * np.log(2.0)])
    np.testing.assert_allclose(base.grad, [0.0, 12.0])


INF, NAN = np.inf, np.nan
# x, y, d(x**y)/dx, d(x**y)/dy, derived by hand: y * x**(y-1) and x**y * log(x), with PyTorch's
# values where those meet 0 * inf: d/dx = 0 for y = 0 (x**0 is constant), d/dy = 0 at x = 0 for
# y >= 0, and -inf for y < 0 (inf * log(0)). A negative base has no real log: d/dy is NaN.
POW_FAMILY = [
    (0.0, 0.0, 0.0, 0.0),
    (0.0, 1.0, 1.0, 0.0),  # 1 * 0**0
    (0.0, 2.0, 0.0, 0.0),
    (0.0, 3.0, 0.0, 0.0),
    (0.0, 1.5, 0.0, 0.0),  # 1.5 * sqrt(0)
    (0.0, 0.5, INF, 0.0),  # 0.5 / sqrt(0)
    (0.0, -1.0, -INF, -INF),  # -1 / 0**2, and inf * -inf
    (0.0, -2.0, -INF, -INF),
    (0.0, -0.5, -INF, -INF),
    (-2.0, 0.0, 0.0, NAN),
    (-2.0, 1.0, 1.0, NAN),
    (-2.0, 2.0, -4.0, NAN),
    (-2.0, 3.0, 12.0, NAN),
    (-2.0, -1.0, -0.25, NAN),
    (-2.0, -2.0, 0.25, NAN),
    (-2.0, 0.5, NAN, NAN),  # (-2)**0.5 is not real
    (2.0, 0.0, 0.0, np.log(2.0)),
    (2.0, 3.0, 12.0, 8 * np.log(2.0)),
    (2.0, -1.0, -0.25, 0.5 * np.log(2.0)),
]


@pytest.mark.parametrize(("x", "y", "dx", "dy"), POW_FAMILY)
def test_pow_gradients_at_zero_and_negative_bases_are_pytorchs(x, y, dx, dy):
    base, exponent = leaf(x), leaf(y)
    (base**exponent).backward()
    np.testing.assert_allclose([base.grad, exponent.grad], [dx, dy], rtol=1e-15)
    base = leaf([x])  # a constant exponent
    (base**y).sum().backward()
    np.testing.assert_allclose(base.grad, [dx], rtol=1e-15)
    exponent = leaf([y])  # a constant base
    (x**exponent).sum().backward()
    np.testing.assert_allclose(exponent.grad, [dy], rtol=1e-15)


def test_comparisons_are_boolean_and_not_differentiable():
    x = leaf([1.0, 2.0, 3.0])
    for result, expected in [
        (x < 2, [True, False, False]),
        (x <= 2, [True, True, False]),
        (x > 2, [False, False, True]),
        (x >= 2, [False, True, True]),
        (x == 2, [False, True, False]),
        (x != 2, [True, False, True]),
    ]:
        assert result.dtype == bool and not result.requires_grad
        np.testing.assert_array_equal(result.data, expected)


@pytest.mark.parametrize(
    "op",
    [
        lambda t: t + 1,
        lambda t: 2.5 * t,
        lambda t: t / 3,
        lambda t: 1 - t,
        lambda t: t**2,
        lambda t: t * np.arange(3),
        lambda t: t + np.array([True, False, True]),
        mg.exp,
        mg.sigmoid,
        mg.tanh,
        mg.relu,
        lambda t: t.clip(0, 1),
        lambda t: mg.maximum(t, 0.5),
        lambda t: mg.where(t > 0, t, 0.0),
        lambda t: t.sum(),
        lambda t: t.softmax(),
    ],
)
def test_float32_stays_float32_with_python_scalars_and_integer_arrays(op):
    x = mg.Tensor([0.5, -1.0, 2.0], dtype=np.float32, requires_grad=True)
    out = op(x)
    assert out.dtype == np.float32
    out.sum().backward()
    assert x.grad.dtype == np.float32


@pytest.mark.parametrize(
    "op",
    [
        lambda t: t + [1, 2, 3],
        lambda t: [1, 2, 3] + t,
        lambda t: t - [0.5, 0.5, 0.5],
        lambda t: (0.5, 0.25, 2.0) - t,
        lambda t: t * [0.5, 0.5, 0.5],
        lambda t: [0.1, 0.2, 0.3] * t,
        lambda t: t / [3.0, 3.0, 3.0],
        lambda t: [1.0, 2.0, 3.0] / t,
        lambda t: t ** [2.0, 2.0, 2.0],
        lambda t: [2.0, 2.0, 2.0] ** t,
        lambda t: t * [[0.5, 0.5, 0.5], [1.5, 1.5, 1.5]],  # nested
        lambda t: t + [True, False, True],
        lambda t: mg.maximum(t, [0.1, 0.1, 0.1]),
        lambda t: mg.minimum([0.1, 0.1, 0.1], t),
        lambda t: mg.where(t.data > 0, t, [0.1, 0.2, 0.3]),
        lambda t: mg.where(t.data > 0, [0.1, 0.2, 0.3], t),
        lambda t: t @ [0.1, 0.2, 0.3],
        lambda t: [[0.1], [0.2], [0.3]] @ t.reshape(1, 3),
    ],
)
def test_float32_stays_float32_with_python_lists_and_tuples(op):
    x = mg.Tensor([0.5, -1.0, 2.0], dtype=np.float32, requires_grad=True)
    out = op(x)
    assert out.dtype == np.float32
    out.sum().backward()
    assert x.grad.dtype == np.float32


def test_a_list_is_as_weak_as_the_python_numbers_in_it():
    x = mg.Tensor([0.1, 0.2], dtype=np.float32)
    # float32(0.1) is not float64(0.1): a list cast to float64 would make these False.
    assert (x == [0.1, 0.2]).data.all() and (x == 0.1).data[0]
    assert not (x != [0.1, 0.2]).data.any() and (x <= [0.1, 0.2]).data.all() and (x >= (0.1, 0.2)).data.all()
    np.testing.assert_array_equal((x * [0.1, 0.1]).data, (x * 0.1).data)
    np.testing.assert_array_equal((x - [0.1, 0.1]).data, (x - 0.1).data)
    with mg.no_grad():
        x += [0.5, 0.5]
        x *= (2, 2)
    assert x.dtype == np.float32
    np.testing.assert_array_equal(x.data, (np.float32([0.1, 0.2]) + np.float32(0.5)) * np.float32(2))
    assert (mg.Tensor([1.0, 2.0]) * [0.1, 0.1]).dtype == np.float64
    assert ((x > 0) + [1, 2]).dtype == np.float64  # a boolean tensor: as before, float64
    with pytest.raises(TypeError, match="mul: cannot make a tensor from list"):
        x * [1, [2, 3]]


def test_mixing_float32_and_float64_promotes_and_casts_each_gradient_back():
    a = mg.Tensor([1.0, 2.0], dtype=np.float32, requires_grad=True)
    b = mg.Tensor([3.0, 4.0], requires_grad=True)
    out = a * b
    assert out.dtype == np.float64
    out.sum().backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64
    np.testing.assert_array_equal(a.grad, [3.0, 4.0])


@given(x=tensors(shape=(2, 3)), y=tensors(shape=(3,)))
def test_arrays_and_scalars_work_on_either_side(x, y):
    a = y.data
    np.testing.assert_array_equal((a * x).data, a * x.data)
    np.testing.assert_array_equal((x - a).data, x.data - a)
    np.testing.assert_array_equal((a - x).data, a - x.data)
    np.testing.assert_array_equal((2.0 / (x.abs() + 1)).data, 2.0 / (np.abs(x.data) + 1))
    assert isinstance(a + x, mg.Tensor)
