"""Activations (ops/activation.py, nn/activation.py): forward against closed forms, gradients
against finite differences away from kinks, second derivatives of the smooth ones, stability at
±1000 in float32 and float64 without warnings, the modules, and an optional PyTorch check."""

import math
import warnings

import numpy as np
import pytest
import scipy.special as sp
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import microgradnn as mg
from microgradnn import nn
from microgradnn.nn import functional as F
from microgradnn.testing import assert_grads_close

TOL = dict(atol=1e-6, rtol=1e-5)
SELU_ALPHA, SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


def softplus_ref(x, beta=1.0, threshold=20.0):
    return np.where(x * beta > threshold, x, np.logaddexp(0, beta * x) / beta)


def gelu_tanh_ref(x):
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))


# name: (our call, closed form, PyTorch's call as (name, kwargs), kinks, smooth)
ACTS = {
    "gelu": (F.gelu, lambda x: 0.5 * x * (1 + sp.erf(x / math.sqrt(2))), ("gelu", {}), (), True),
    "gelu_tanh": (lambda x: F.gelu(x, approximate="tanh"), gelu_tanh_ref, ("gelu", {"approximate": "tanh"}), (), True),
    "silu": (F.silu, lambda x: x * sp.expit(x), ("silu", {}), (), True),
    "mish": (F.mish, lambda x: x * np.tanh(np.logaddexp(0, x)), ("mish", {}), (), True),
    "softplus": (F.softplus, softplus_ref, ("softplus", {}), (), True),
    "softplus_beta": (
        lambda x: F.softplus(x, beta=2.0, threshold=3.0),
        lambda x: softplus_ref(x, 2.0, 3.0),
        ("softplus", {"beta": 2.0, "threshold": 3.0}),
        (1.5,),
        True,
    ),
    "elu": (
        lambda x: F.elu(x, alpha=0.7),
        lambda x: np.where(x > 0, x, 0.7 * np.expm1(np.minimum(x, 0))),
        ("elu", {"alpha": 0.7}),
        (0.0,),
        True,
    ),
    "celu": (
        lambda x: F.celu(x, alpha=1.5),
        lambda x: np.where(x > 0, x, 1.5 * np.expm1(np.minimum(x, 0) / 1.5)),
        ("celu", {"alpha": 1.5}),
        (0.0,),
        True,
    ),
    "selu": (
        F.selu,
        lambda x: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(np.minimum(x, 0))),
        ("selu", {}),
        (0.0,),
        True,
    ),
    "hardtanh": (
        lambda x: F.hardtanh(x, -0.5, 2.0),
        lambda x: np.clip(x, -0.5, 2.0),
        ("hardtanh", {"min_val": -0.5, "max_val": 2.0}),
        (-0.5, 2.0),
        False,
    ),
    "relu6": (F.relu6, lambda x: np.clip(x, 0, 6), ("relu6", {}), (0.0, 6.0), False),
    "hardsigmoid": (F.hardsigmoid, lambda x: np.clip(x / 6 + 0.5, 0, 1), ("hardsigmoid", {}), (-3.0, 3.0), False),
    "hardswish": (F.hardswish, lambda x: x * np.clip(x + 3, 0, 6) / 6, ("hardswish", {}), (-3.0, 3.0), False),
    "logsigmoid": (F.logsigmoid, lambda x: -np.logaddexp(0, -x), ("logsigmoid", {}), (), True),
    "softsign": (F.softsign, lambda x: x / (1 + np.abs(x)), ("softsign", {}), (0.0,), True),
    "tanhshrink": (F.tanhshrink, lambda x: x - np.tanh(x), ("tanhshrink", {}), (), True),
    "softshrink": (
        lambda x: F.softshrink(x, 0.7),
        lambda x: np.sign(x) * np.maximum(np.abs(x) - 0.7, 0),
        ("softshrink", {"lambd": 0.7}),
        (-0.7, 0.7),
        False,
    ),
    "hardshrink": (F.hardshrink, lambda x: np.where(np.abs(x) > 0.5, x, 0), ("hardshrink", {}), (-0.5, 0.5), False),
    "threshold": (
        lambda x: F.threshold(x, 0.3, -2.0),
        lambda x: np.where(x > 0.3, x, -2.0),
        ("threshold", {"threshold": 0.3, "value": -2.0}),
        (0.3,),
        False,
    ),
}


def floats(low, high):
    return st.floats(low, high, allow_nan=False, allow_infinity=False)


def leaf(a, dtype=None):
    return mg.Tensor(a, requires_grad=True, dtype=dtype)


@pytest.mark.parametrize("name", sorted(ACTS))
@given(x=hnp.arrays(np.float64, hnp.array_shapes(min_dims=0, max_dims=2, max_side=3), elements=floats(-5, 5)))
def test_forward_matches_the_closed_form_and_gradient_matches_finite_differences(name, x):
    fn, reference, _, kinks, _ = ACTS[name]
    np.testing.assert_allclose(fn(mg.Tensor(x)).data, reference(x), rtol=1e-12, atol=1e-14)
    for kink in kinks:
        assume(np.all(np.abs(x - kink) > 1e-3))
    assert_grads_close(fn, leaf(x), **TOL)


@pytest.mark.parametrize("name", sorted(n for n, spec in ACTS.items() if spec[4]))
def test_smooth_activations_have_second_derivatives(name, rng):
    fn, _, _, kinks, _ = ACTS[name]
    x = rng.uniform(-4, 4, size=(3, 3))
    for kink in kinks:
        x = np.where(np.abs(x - kink) < 0.05, x + 0.1, x)
    assert mg.gradgradcheck(fn, leaf(x), **TOL)


@pytest.mark.parametrize("name", sorted(ACTS))
def test_stable_at_plus_minus_1000_without_warnings_in_float32_and_float64(name):
    fn = ACTS[name][0]
    for dtype in (np.float64, np.float32):
        x = leaf([-1000.0, -30.0, 0.0, 30.0, 1000.0], dtype=dtype)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            out = fn(x)
            out.sum().backward()
        assert out.dtype == dtype and x.grad.dtype == dtype
        assert np.all(np.isfinite(out.data)) and np.all(np.isfinite(x.grad))
        np.testing.assert_allclose(out.data[[0, -1]], ACTS[name][1](np.array([-1000.0, 1000.0])), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", sorted(ACTS))
def test_nan_and_inf_inputs_give_no_warning(name):
    x = leaf([np.nan, np.inf, -np.inf, 0.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ACTS[name][0](x).sum().backward()


@pytest.mark.parametrize(
    "fn",
    [
        F.silu,
        F.mish,
        F.elu,
        F.celu,
        F.selu,
        F.hardtanh,
        F.relu6,
        F.hardsigmoid,
        F.hardswish,
        lambda x, **k: F.threshold(x, 0, 0, **k),
    ],
)
def test_inplace_true_is_refused_by_name(fn):
    assert fn(mg.ones(2), inplace=False).shape == (2,)
    with pytest.raises(TypeError, match="inplace"):
        fn(mg.ones(2), inplace=True)


def test_bad_arguments_name_the_function():
    with pytest.raises(ValueError, match="gelu: approximate"):
        F.gelu(mg.ones(2), approximate="sigmoid")
    with pytest.raises(ValueError, match="hardtanh"):
        F.hardtanh(mg.ones(2), 1.0, -1.0)
    with pytest.raises(ValueError, match="softshrink"):
        F.softshrink(mg.ones(2), -1.0)


def test_piecewise_activations_use_pytorchs_gradients_at_the_kinks():
    x = leaf([-1.0, 1.0])
    F.hardtanh(x).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0]
    x = leaf([-3.0, 3.0])
    F.hardswish(x).sum().backward()
    assert x.grad.tolist() == [-0.5, 1.5]
    x = leaf([0.0])
    F.elu(x).sum().backward()
    assert x.grad.tolist() == [1.0]


# ------------------------------------------------------------------ glu, prelu
@given(data=st.data())
def test_glu_splits_the_dim_in_halves(data):
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=3, max_side=3))
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    shape = tuple(2 * n if i == dim % len(shape) else n for i, n in enumerate(shape))
    x = data.draw(hnp.arrays(np.float64, shape, elements=floats(-3, 3)))
    a, b = np.split(x, 2, axis=dim)
    np.testing.assert_allclose(F.glu(mg.Tensor(x), dim).data, a * sp.expit(b), rtol=1e-12)
    assert_grads_close(lambda t: F.glu(t, dim), leaf(x), **TOL)


def test_glu_refuses_odd_sizes_and_bad_dims():
    with pytest.raises(mg.ShapeError, match="glu.*odd"):
        F.glu(mg.ones((2, 3)))
    with pytest.raises(mg.ShapeError, match="glu"):
        F.glu(mg.ones((2, 4)), dim=2)


def test_prelu_module_learns_one_slope_or_one_per_channel(rng):
    act = nn.PReLU()
    assert isinstance(act.weight, nn.Parameter) and act.weight.tolist() == [0.25]
    assert [name for name, _ in act.named_parameters()] == ["weight"]
    x = leaf(rng.standard_normal((4, 3, 2)))
    act(x).sum().backward()
    np.testing.assert_allclose(act.weight.grad, [np.minimum(x.data, 0).sum()])
    per_channel = nn.PReLU(3, init=0.1)
    out = per_channel(x)
    np.testing.assert_allclose(out.data, np.where(x.data > 0, x.data, 0.1 * x.data))
    w = leaf(rng.uniform(0.1, 0.5, size=3))
    assert_grads_close(F.prelu, (x, w), **TOL)
    assert mg.gradgradcheck(lambda t, s: F.prelu(t, s) ** 2, (x, w), **TOL)
    with pytest.raises(mg.ShapeError, match="prelu"):
        nn.PReLU(4)(x)
    assert nn.PReLU(dtype="float32")(x.astype("float32")).dtype == np.float32


# ------------------------------------------------------------------ modules
MODULES = [
    (nn.GELU(), F.gelu),
    (nn.GELU("tanh"), lambda x: F.gelu(x, approximate="tanh")),
    (nn.SiLU(), F.silu),
    (nn.Mish(), F.mish),
    (nn.Softplus(2.0, 5.0), lambda x: F.softplus(x, 2.0, 5.0)),
    (nn.ELU(0.5), lambda x: F.elu(x, 0.5)),
    (nn.CELU(0.5), lambda x: F.celu(x, 0.5)),
    (nn.SELU(), F.selu),
    (nn.Hardtanh(-2.0, 2.0), lambda x: F.hardtanh(x, -2.0, 2.0)),
    (nn.ReLU6(), F.relu6),
    (nn.Hardsigmoid(), F.hardsigmoid),
    (nn.Hardswish(), F.hardswish),
    (nn.LogSigmoid(), F.logsigmoid),
    (nn.Softsign(), F.softsign),
    (nn.Tanhshrink(), F.tanhshrink),
    (nn.Softshrink(0.3), lambda x: F.softshrink(x, 0.3)),
    (nn.Hardshrink(0.3), lambda x: F.hardshrink(x, 0.3)),
    (nn.Threshold(0.1, 20.0), lambda x: F.threshold(x, 0.1, 20.0)),
    (nn.GLU(dim=0), lambda x: F.glu(x, 0)),
    (nn.Softmin(dim=1), lambda x: F.softmin(x, dim=1)),
    (nn.LogSoftmax(dim=0), lambda x: F.log_softmax(x, dim=0)),
]


@pytest.mark.parametrize("module, function", MODULES, ids=lambda v: type(v).__name__)
def test_modules_call_their_functions_and_have_no_parameters(module, function, rng):
    x = mg.Tensor(rng.standard_normal((4, 3)))
    np.testing.assert_array_equal(module(x).data, function(x).data)
    assert list(module.parameters()) == []
    assert repr(module).startswith(type(module).__name__ + "(")


@pytest.mark.parametrize(
    "cls", [nn.SiLU, nn.Mish, nn.ELU, nn.CELU, nn.SELU, nn.Hardtanh, nn.ReLU6, nn.Hardsigmoid, nn.Hardswish]
)
def test_modules_refuse_inplace_true(cls):
    cls(inplace=False)
    with pytest.raises(TypeError, match="inplace"):
        cls(inplace=True)


def test_module_reprs_show_their_arguments():
    assert repr(nn.Softplus(2.0)) == "Softplus(beta=2.0, threshold=20.0)"
    assert repr(nn.Threshold(0.1, 20.0)) == "Threshold(threshold=0.1, value=20.0)"
    assert repr(nn.PReLU(3)) == "PReLU(num_parameters=3)"


def test_a_model_with_new_activations_trains():
    X = mg.Tensor([[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]])
    y = mg.Tensor([[0], [1], [1], [0]])
    rng = np.random.default_rng(0)
    model = nn.Sequential(
        nn.Dense(3, 8, rng=rng), nn.GELU(), nn.Dense(8, 8, rng=rng), nn.PReLU(), nn.Dense(8, 1, rng=rng)
    )
    optimizer = mg.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(300):
        loss = ((model(X) - y) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.01


# ------------------------------------------------------------------ PyTorch, where installed
@pytest.mark.parametrize("name", sorted(ACTS))
def test_values_and_gradients_match_pytorch(name, rng):
    torch = pytest.importorskip("torch")
    fn, _, (torch_name, kwargs), kinks, _ = ACTS[name]
    x = np.concatenate([rng.uniform(-5, 5, size=20), [-1000.0, -25.0, 25.0, 1000.0]])
    for kink in kinks:
        x = np.where(np.abs(x - kink) < 1e-3, x + 0.01, x)
    t = torch.tensor(x, requires_grad=True)
    expected = getattr(torch.nn.functional, torch_name)(t, **kwargs)
    expected.sum().backward()
    ours = leaf(x)
    out = fn(ours)
    out.sum().backward()
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    # (PyTorch's hardsigmoid slope is 1/6 rounded to float32, also in float64)
    rtol = 1e-7 if name == "hardsigmoid" else 1e-10
    np.testing.assert_allclose(ours.grad, t.grad.numpy(), rtol=rtol, atol=1e-12)


def test_glu_prelu_softmin_and_modules_match_pytorch(rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 4, 3))
    w = rng.uniform(0.1, 0.5, size=4)
    for ours_fn, theirs_fn in [
        (lambda a, s: F.glu(a, 1) * s.sum(), lambda a, s: torch.nn.functional.glu(a, 1) * s.sum()),
        (F.prelu, torch.nn.functional.prelu),
        (lambda a, s: F.softmin(a, dim=1) * s.sum(), lambda a, s: torch.nn.functional.softmin(a, dim=1) * s.sum()),
    ]:
        ta, tw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
        (theirs_fn(ta, tw) ** 2).sum().backward()
        oa, ow = leaf(x), leaf(w)
        (ours_fn(oa, ow) ** 2).sum().backward()
        np.testing.assert_allclose(oa.grad, ta.grad.numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(ow.grad, tw.grad.numpy(), rtol=1e-10, atol=1e-12)
    for ours, theirs in [
        (nn.Softplus(2.0, 3.0), torch.nn.Softplus(2.0, 3.0)),
        (nn.PReLU(4, 0.3), torch.nn.PReLU(4, 0.3, dtype=torch.float64)),
        (nn.LogSoftmax(dim=1), torch.nn.LogSoftmax(dim=1)),
        (nn.CELU(0.5), torch.nn.CELU(0.5)),
    ]:
        np.testing.assert_allclose(ours(mg.Tensor(x)).data, theirs(torch.tensor(x)).detach().numpy(), rtol=1e-12)
