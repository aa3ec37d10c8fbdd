"""gradcheck, gradgradcheck, gradcheck_module and custom Functions: they pass what is right,
catch what is wrong, and report it readably."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import microgradnn as mg
from microgradnn import nn
from microgradnn.gradcheck import GradcheckError
from microgradnn.testing import assert_grads_close, broadcastable_shapes, tensors


class Softplus(mg.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * 0.5 * (1 + np.tanh(x / 2))


class WrongSoftplus(Softplus):
    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * 0.5 * (1 + np.tanh(x / 2)) * 1.01


class ScaledAdd(mg.Function):
    """Two inputs and an option; returns None for the constant."""

    @staticmethod
    def forward(ctx, a, b, scale=1.0):
        ctx.scale = scale
        return a + scale * b

    @staticmethod
    def backward(ctx, g):
        return g, (g * ctx.scale if ctx.needs_input_grad[1] else None)


def test_a_correct_custom_function_passes_and_a_wrong_one_is_caught(rng):
    x = mg.Tensor(rng.standard_normal((3, 2)), requires_grad=True)
    report = mg.gradcheck(Softplus.apply, x)
    assert report.passed and bool(report)
    assert report.inputs[0].max_abs_error < 1e-8
    with pytest.raises(GradcheckError) as info:
        mg.gradcheck(WrongSoftplus.apply, x)
    message = str(info.value)
    assert "gradcheck FAILED" in message and "input 0 (3, 2): MISMATCH" in message
    assert "analytical" in message and "numerical" in message and "at input element" in message
    assert message.count("\n") < 5  # a report, not a dump of Jacobians
    failed = mg.gradcheck(WrongSoftplus.apply, x, raise_exception=False)
    assert not failed and failed.inputs[0].max_rel_error > 5e-3


def test_custom_function_with_options_and_constants():
    a, b = mg.Tensor([1.0, 2.0], requires_grad=True), mg.Tensor([3.0, 4.0])
    out = ScaledAdd.apply(a, b, scale=2.0)
    np.testing.assert_array_equal(out.data, [7.0, 10.0])
    out.sum().backward()
    np.testing.assert_array_equal(a.grad, [1.0, 1.0])
    c = mg.Tensor([3.0, 4.0], requires_grad=True)
    assert mg.gradcheck(lambda p, q: ScaledAdd.apply(p, q, scale=3.0), (a, c))


def test_fast_mode_checks_projections_and_catches_errors(rng):
    x = mg.Tensor(rng.standard_normal((20, 10)), requires_grad=True)
    w = mg.Tensor(rng.standard_normal((10, 5)), requires_grad=True)
    report = mg.gradcheck(lambda a, b: (a @ b).tanh(), (x, w), fast_mode=True)
    assert report.passed and len(report.inputs) == 2 and report.fast_mode
    with pytest.raises(GradcheckError, match="fast"):
        mg.gradcheck(WrongSoftplus.apply, x, fast_mode=True)


def test_only_inputs_that_require_grad_are_checked_and_none_is_an_error(rng):
    a = mg.Tensor(rng.standard_normal(3), requires_grad=True)
    b = mg.Tensor(rng.standard_normal(3))
    report = mg.gradcheck(lambda p, q: p * q, (a, b))
    assert [r.position for r in report.inputs] == [0]
    with pytest.raises(ValueError, match="no input requires grad"):
        mg.gradcheck(lambda q: q * 2, b)


def test_gradcheck_does_not_change_its_inputs(rng):
    x = mg.Tensor(rng.standard_normal(4), requires_grad=True)
    before = x.data.copy()
    mg.gradcheck(mg.exp, x)
    np.testing.assert_array_equal(x.data, before)
    assert x.grad is None and x._version == 0


def test_float32_inputs_warn():
    x = mg.Tensor([0.5, 1.0], dtype=np.float32, requires_grad=True)
    with pytest.warns(UserWarning, match="finite differences in lower precision are unreliable"):
        mg.gradcheck(mg.sigmoid, x, raise_exception=False)


def test_custom_function_is_differentiable_once():
    x = mg.Tensor([0.5], requires_grad=True)
    with pytest.raises(
        RuntimeError, match="Softplus: this custom Function's backward works on ndarrays, so it is differentiable once"
    ):
        mg.gradgradcheck(Softplus.apply, x)


def test_gradgradcheck_catches_a_wrong_second_derivative():
    class BadSquare(mg.Function):
        differentiable_twice = True  # claims it, with a backward that is right once, wrong twice

        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 2 * mg.Tensor(x.data) if isinstance(x, mg.Tensor) else g * 2 * x

    x = mg.Tensor([0.5, -1.0], requires_grad=True)
    assert mg.gradcheck(BadSquare.apply, x)
    assert not mg.gradgradcheck(BadSquare.apply, x, raise_exception=False)


def test_gradcheck_module_checks_every_parameter_by_name(rng):
    model = nn.MLP(3, 4, 2, activation=nn.Tanh, rng=np.random.default_rng(0))
    x, y = mg.Tensor(rng.standard_normal((5, 3))), np.array([0, 1, 1, 0, 1])
    report = mg.gradcheck_module(model, nn.CrossEntropyLoss(), x, y)
    assert report.passed and report.names == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert "0.weight: input 0 (3, 4): ok" in str(report)
    assert all(p.grad is None for p in model.parameters())
    assert mg.gradcheck_module(model, nn.CrossEntropyLoss(), x, y, fast_mode=True)


def test_gradcheck_module_catches_a_wrong_layer_and_refuses_dropout(rng):
    class WrongLayer(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(rng.standard_normal(3))

        def forward(self, x):
            return WrongSoftplus.apply(x * self.w)

    with pytest.raises(GradcheckError, match="w: input 0 \\(3,\\): MISMATCH"):
        mg.gradcheck_module(
            WrongLayer(), lambda out, target: (out - target).sum(), mg.Tensor(rng.standard_normal((2, 3))), 0.0
        )
    dropped = nn.Sequential(nn.Dense(2, 2), nn.Dropout(0.5))
    with pytest.raises(ValueError, match=r"active Dropout.*model.eval\(\)"):
        mg.gradcheck_module(dropped, nn.MSELoss(), mg.ones((2, 2)), np.zeros((2, 2)))
    assert mg.gradcheck_module(dropped.eval(), nn.MSELoss(), mg.ones((2, 2)), np.zeros((2, 2)))


@given(shapes=broadcastable_shapes(2), data=st.data())
def test_testing_strategies_draw_what_they_promise(shapes, data):
    a = data.draw(tensors(shape=shapes[0], requires_grad=True))
    b = data.draw(tensors(shape=shapes[1]))
    assert a.shape == shapes[0] and a.requires_grad and a.dtype == np.float64
    assert np.all(np.abs(a.data) <= 3)
    assert_grads_close(lambda t: (t * b).tanh(), a, atol=1e-7, rtol=1e-6)
    f32 = data.draw(tensors(shape=(2,), dtype=np.float32))
    assert f32.dtype == np.float32


def test_assert_grads_close_fails_with_the_report():
    x = mg.Tensor([0.3, 0.7], requires_grad=True)
    with pytest.raises(AssertionError, match="gradcheck FAILED"):
        assert_grads_close(WrongSoftplus.apply, x)


@pytest.mark.parametrize(
    "view", [lambda t: t.T, lambda t: t.reshape(-1), lambda t: t[1:], lambda t: t.broadcast_to((2, 3))]
)
def test_gradcheck_of_a_view_of_the_input_itself(view):
    # The output shares the input's memory: the finite differences must not see it move.
    assert mg.gradcheck(view, mg.Tensor([1.0, 2.0, 3.0], requires_grad=True))
    assert mg.gradcheck(lambda t: t.T, mg.Tensor(0.5, requires_grad=True))
