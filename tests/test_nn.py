"""nn: modules, registration, state dicts, precision, layers, initialisers and losses."""

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import microgradnn as mg
from microgradnn import nn
from microgradnn.nn import functional as F
from microgradnn.testing import assert_grads_close

TOL = dict(atol=1e-7, rtol=1e-6)
TRASK_X = np.array([[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]], dtype=float)
Y = np.array([[0.0, 1.0, 1.0, 0.0]]).T


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Dense(3, 4, rng=np.random.default_rng(0)), nn.Tanh())
        self.heads = nn.ModuleList([nn.Dense(4, 1, rng=np.random.default_rng(1)), nn.Dense(4, 2, bias=False)])
        self.scale = nn.Parameter([2.0])
        self.note = "not registered"

    def forward(self, x):
        h = self.body(x)
        return self.heads[0](h) * self.scale, self.heads[1](h)


# ------------------------------------------------------------------ Module
def test_parameters_and_submodules_register_themselves():
    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["scale", "body.0.weight", "body.0.bias", "heads.0.weight", "heads.0.bias", "heads.1.weight"]
    assert [type(m).__name__ for m in net.children()] == ["Sequential", "ModuleList"]
    assert [n for n, _ in net.named_modules()] == ["", "body", "body.0", "body.1", "heads", "heads.0", "heads.1"]
    assert len(list(net.parameters())) == 6
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in net.parameters())


def test_reassigning_and_deleting_update_the_registry():
    net = Net()
    net.scale = nn.Parameter([3.0])
    assert [p.item() for n, p in net.named_parameters() if n == "scale"] == [3.0]
    net.scale = 5.0  # a plain value replaces the parameter
    assert "scale" not in dict(net.named_parameters())
    del net.heads
    assert "heads.0.weight" not in dict(net.named_parameters())


def test_shared_parameters_appear_once():
    layer = nn.Dense(2, 2)
    model = nn.Sequential(layer, nn.Tanh(), layer)
    assert len(list(model.parameters())) == 2


def test_forgetting_super_init_gives_a_clear_error():
    class Broken(nn.Module):
        def __init__(self):
            self.layer = nn.Dense(2, 2)

    with pytest.raises(
        AttributeError, match=r"Broken: call super\(\).__init__\(\) before assigning attributes such as 'layer'"
    ):
        Broken()


def test_train_eval_zero_grad_and_call():
    net = Net()
    assert net.training and all(m.training for m in net.modules())
    net.eval()
    assert not any(m.training for m in net.modules())
    net.train()
    out, _ = net(mg.ones((5, 3)))
    out.sum().backward()
    assert all(p.grad is not None for n, p in net.named_parameters() if not n.startswith("heads.1"))
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_repr_is_nested_and_readable():
    text = repr(Net())
    assert text.startswith(
        "Net(\n  (body): Sequential(\n    (0): Dense(in_features=3, out_features=4, bias=True)\n    (1): Tanh()\n  )"
    )
    assert "(1): Dense(in_features=4, out_features=2, bias=False)" in text


def test_state_dict_is_copies_and_load_state_dict_casts():
    net = Net()
    sd = net.state_dict()
    sd["scale"][0] = 100.0
    assert net.scale.item() == 2.0
    sd32 = {k: v.astype(np.float32) for k, v in sd.items()}
    net.load_state_dict(sd32)
    assert net.scale.item() == 100.0 and net.scale.dtype == np.float64


def test_load_state_dict_lists_every_problem_and_changes_nothing():
    net = Net()
    before = net.state_dict()
    bad = dict(before)
    del bad["scale"]
    bad["extra"] = np.zeros(1)
    bad["body.0.weight"] = np.zeros((4, 3))
    bad["heads.0.bias"] = np.full(1, 9.0)
    with pytest.raises(RuntimeError) as info:
        net.load_state_dict(bad)
    message = str(info.value)
    assert message.startswith("Error(s) in loading state_dict for Net")
    assert "missing key: scale" in message and "unexpected key: extra" in message
    assert "body.0.weight: shape (4, 3) in the state dict, (3, 4) in the model" in message
    for name, value in net.state_dict().items():
        np.testing.assert_array_equal(value, before[name])
    result = net.load_state_dict({"heads.0.bias": np.full(1, 9.0), "extra": 1.0}, strict=False)
    assert result.unexpected_keys == ["extra"] and "scale" in result.missing_keys
    assert net.heads[0].bias.item() == 9.0


def test_to_float_and_double_convert_every_parameter_and_keep_float32_end_to_end():
    model = nn.MLP(3, 4, 2, activation=nn.ReLU, rng=np.random.default_rng(0)).float()
    assert all(p.dtype == np.float32 for p in model.parameters())
    x = mg.Tensor(np.ones((5, 3), dtype=np.float32))
    loss = F.cross_entropy(model(x), [0, 1, 0, 1, 1])
    assert loss.dtype == np.float32
    loss.backward()
    assert all(p.grad.dtype == np.float32 for p in model.parameters())
    for opt in (
        mg.optim.SGD(model.parameters(), lr=0.1, momentum=0.9),
        mg.optim.Adam(model.parameters()),
        mg.optim.AdamW(model.parameters()),
        mg.optim.RMSprop(model.parameters(), centered=True, momentum=0.5),
        mg.optim.Adagrad(model.parameters()),
    ):
        opt.step()
        assert all(p.dtype == np.float32 for p in model.parameters())
        assert all(v.dtype == np.float32 for s in opt.state.values() for v in s.values() if isinstance(v, np.ndarray))
    model.double()
    assert all(p.dtype == np.float64 and p.grad.dtype == np.float64 for p in model.parameters())


def test_parameter_owns_a_copy():
    data = np.ones(3)
    p = nn.Parameter(data)
    p.data[0] = 5.0
    assert data[0] == 1.0
    assert "Parameter containing" in repr(p)


# ------------------------------------------------------------------ layers
def test_dense_layout_init_and_forward():
    layer = nn.Dense(100, 3, rng=np.random.default_rng(0))
    assert layer.weight.shape == (100, 3) and layer.bias.shape == (3,)
    assert np.abs(layer.weight.data).max() <= 0.1 and np.abs(layer.bias.data).max() <= 0.1
    assert np.abs(layer.weight.data).max() > 0.09  # uniform over the whole range
    x = np.random.default_rng(1).standard_normal((4, 100))
    np.testing.assert_allclose(layer(mg.Tensor(x)).data, x @ layer.weight.data + layer.bias.data)
    assert nn.Dense(2, 2, bias=False).bias is None
    assert nn.Dense(2, 3, dtype=np.float32).weight.dtype == np.float32
    with pytest.raises(ValueError, match="Dense: out_features must be a positive int, got 0"):
        nn.Dense(2, 0)


def test_layers_are_reproducible_from_rng_or_manual_seed():
    a = nn.Dense(3, 2, rng=np.random.default_rng(7))
    b = nn.Dense(3, 2, rng=np.random.default_rng(7))
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    mg.manual_seed(3)
    c = nn.MLP(3, 2)
    mg.manual_seed(3)
    d = nn.MLP(3, 2)
    np.testing.assert_array_equal(c[0].weight.data, d[0].weight.data)


@pytest.mark.parametrize(
    "layer, reference",
    [
        (nn.Sigmoid(), lambda x: 1 / (1 + np.exp(-x))),
        (nn.Tanh(), np.tanh),
        (nn.ReLU(), lambda x: np.maximum(x, 0)),
        (nn.LeakyReLU(0.1), lambda x: np.where(x > 0, x, 0.1 * x)),
        (nn.Identity(), lambda x: x),
        (nn.Softmax(axis=1), lambda x: np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)),
    ],
)
def test_activation_modules(layer, reference, rng):
    x = rng.standard_normal((3, 4))
    np.testing.assert_allclose(layer(mg.Tensor(x)).data, reference(x), rtol=1e-12)
    assert_grads_close(
        lambda t: layer(t) * mg.Tensor(np.arange(12.0).reshape(3, 4)), mg.Tensor(x, requires_grad=True), **TOL
    )


def test_leaky_relu_gradient_at_zero_is_the_slope():
    x = mg.Tensor([0.0, -1.0, 2.0], requires_grad=True)
    mg.leaky_relu(x, 0.2).sum().backward()
    np.testing.assert_allclose(x.grad, [0.2, 0.2, 1.0])


def test_dropout_is_inverted_and_off_in_eval():
    drop = nn.Dropout(0.25, rng=np.random.default_rng(0))
    x = mg.Tensor(np.ones((200, 50)), requires_grad=True)
    out = drop(x)
    kept = out.data != 0
    assert np.allclose(out.data[kept], 1 / 0.75)
    assert abs(kept.mean() - 0.75) < 0.02
    out.sum().backward()
    np.testing.assert_allclose(x.grad, kept / 0.75)
    drop.eval()
    assert drop(x) is x
    assert np.all(nn.Dropout(1.0)(x).data == 0)
    assert nn.Dropout(0.5)(mg.Tensor(np.ones(4, dtype=np.float32))).dtype == np.float32
    with pytest.raises(ValueError, match=r"Dropout: p must be in \[0, 1\], got 1.5"):
        nn.Dropout(1.5)


def test_mlp_structure_and_trask_network_in_one_line():
    model = nn.MLP(3, 6, 1, bias=False, output_activation=nn.Sigmoid)
    assert [type(m).__name__ for m in model] == ["Dense", "Sigmoid", "Dense", "Sigmoid"]
    assert list(model.state_dict()) == ["0.weight", "2.weight"]
    logits = nn.MLP(4, 8, 8, 3, activation=nn.ReLU)
    assert [type(m).__name__ for m in logits] == ["Dense", "ReLU", "Dense", "ReLU", "Dense"]
    with pytest.raises(ValueError, match="MLP: give at least an input and an output size"):
        nn.MLP(3)


def test_loading_the_tutorial_weights_reproduces_the_tutorial():
    np.random.seed(1)
    syn0 = 2 * np.random.random((3, 4)) - 1
    syn1 = 2 * np.random.random((4, 1)) - 1
    model = nn.MLP(3, 4, 1, bias=False, output_activation=nn.Sigmoid)
    model.load_state_dict({"0.weight": syn0, "2.weight": syn1})
    expected = 1 / (1 + np.exp(-(1 / (1 + np.exp(-(TRASK_X @ syn0))) @ syn1)))
    np.testing.assert_array_equal(model(mg.Tensor(TRASK_X)).data, expected)


# ------------------------------------------------------------------ init
def test_initialisers_use_the_in_out_layout():
    w = mg.zeros(30, 50)
    nn.init.xavier_uniform_(w, rng=np.random.default_rng(0))
    assert np.abs(w.data).max() <= np.sqrt(6 / 80)
    nn.init.kaiming_uniform_(w, nonlinearity="relu", rng=np.random.default_rng(0))
    assert np.abs(w.data).max() <= np.sqrt(2) * np.sqrt(3 / 30) and np.abs(w.data).max() > 0.9 * np.sqrt(6 / 30)
    nn.init.kaiming_uniform_(w, mode="fan_out", nonlinearity="relu", rng=np.random.default_rng(0))
    assert np.abs(w.data).max() <= np.sqrt(6 / 50)
    assert nn.init.fans(w) == (30, 50)
    nn.init.normal_(w, 1.0, 0.01, rng=np.random.default_rng(0))
    assert abs(w.data.mean() - 1.0) < 0.01
    nn.init.constant_(w, 0.5)
    assert np.all(w.data == 0.5)
    nn.init.zeros_(w)
    assert not w.data.any() and w.dtype == np.float64
    with pytest.raises(ValueError, match=r"fans: need a weight with at least 2 axes, got shape \(3,\)"):
        nn.init.xavier_uniform_(mg.zeros(3))
    w32 = nn.init.uniform_(mg.zeros(2, 2, dtype=np.float32), rng=np.random.default_rng(0))
    assert w32.dtype == np.float32


# ------------------------------------------------------------------ losses
REDUCTIONS = ["mean", "sum", "none"]


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_loss_values_and_gradients(reduction, rng):
    x, t = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    out = nn.MSELoss(reduction)(mg.Tensor(x), mg.Tensor(t))
    squared = (x - t) ** 2
    np.testing.assert_allclose(out.data, {"mean": squared.mean(), "sum": squared.sum(), "none": squared}[reduction])
    assert_grads_close(lambda a: F.mse_loss(a, t, reduction).sum(), mg.Tensor(x, requires_grad=True), **TOL)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_loss_values_gradients_and_clamping(reduction, rng):
    p, t = rng.uniform(0.05, 0.95, (5, 2)), rng.integers(0, 2, (5, 2)).astype(float)
    out = nn.BCELoss(reduction=reduction)(mg.Tensor(p), t)
    terms = -(t * np.log(p) + (1 - t) * np.log(1 - p))
    np.testing.assert_allclose(
        out.data, {"mean": terms.mean(), "sum": terms.sum(), "none": terms}[reduction], rtol=1e-12
    )
    assert_grads_close(
        lambda a: F.binary_cross_entropy(a, t, reduction=reduction).sum(), mg.Tensor(p, requires_grad=True), **TOL
    )
    edge = mg.Tensor([0.0, 1.0, 0.0, 1.0], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = F.binary_cross_entropy(edge, [1.0, 0.0, 0.0, 1.0], reduction="none")
        loss.sum().backward()
    np.testing.assert_array_equal(loss.data, [100.0, 100.0, 0.0, 0.0])
    assert np.all(np.isfinite(edge.grad))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits_is_stable_and_matches_bce_of_sigmoid(reduction, rng):
    x, t = rng.standard_normal((6,)) * 3, rng.uniform(0, 1, 6)
    a = F.binary_cross_entropy_with_logits(mg.Tensor(x), t, reduction=reduction)
    b = F.binary_cross_entropy(mg.sigmoid(mg.Tensor(x)), t, reduction=reduction)
    np.testing.assert_allclose(a.data, b.data, rtol=1e-10)
    assert_grads_close(
        lambda v: F.binary_cross_entropy_with_logits(v, t, reduction=reduction).sum(),
        mg.Tensor(x, requires_grad=True),
        **TOL,
    )
    big = mg.Tensor([-1000.0, 0.0, 1000.0], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = nn.BCEWithLogitsLoss(reduction="none")(big, [1.0, 0.5, 0.0])
        loss.sum().backward()
    np.testing.assert_allclose(loss.data, [1000.0, np.log(2), 1000.0])
    np.testing.assert_allclose(big.grad, [-1.0, 0.0, 1.0])


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_and_nll_values_and_gradients(reduction, rng):
    logits, target = rng.standard_normal((5, 4)), np.array([0, 3, 1, 1, 2])
    log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    picked = -log_p[np.arange(5), target]
    expected = {"mean": picked.mean(), "sum": picked.sum(), "none": picked}[reduction]
    np.testing.assert_allclose(
        nn.CrossEntropyLoss(reduction=reduction)(mg.Tensor(logits), target).data, expected, rtol=1e-12
    )
    np.testing.assert_allclose(
        nn.NLLLoss(reduction=reduction)(mg.Tensor(log_p), list(target)).data, expected, rtol=1e-12
    )
    assert_grads_close(
        lambda a: F.cross_entropy(a, target, reduction=reduction).sum(), mg.Tensor(logits, requires_grad=True), **TOL
    )
    x = mg.Tensor(logits, requires_grad=True)
    F.cross_entropy(x, target, reduction="sum").backward()
    softmax = np.exp(log_p)
    np.testing.assert_allclose(x.grad, softmax - np.eye(4)[target], rtol=1e-12, atol=1e-15)


def test_cross_entropy_is_stable_for_huge_logits():
    x = mg.Tensor([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 1000.0]], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = nn.CrossEntropyLoss()(x, mg.Tensor([1.0, 2.0]))
        loss.backward()
    np.testing.assert_allclose(loss.item(), (2000 + np.log(2)) / 2)
    assert np.all(np.isfinite(x.grad))


@pytest.mark.parametrize(
    "call, error, pattern",
    [
        (
            lambda: F.cross_entropy(mg.ones((3, 4)), [0, 1]),
            mg.ShapeError,
            r"cross_entropy: target shape \(2,\) does not match \(N,\) = \(3,\)",
        ),
        (
            lambda: F.cross_entropy(mg.ones((2, 4)), [0.5, 1]),
            ValueError,
            "cross_entropy: target must hold whole numbers .* found 0.5",
        ),
        (
            lambda: F.cross_entropy(mg.ones((2, 4)), [0, 4]),
            IndexError,
            "cross_entropy: class index 4 is out of range for 4 classes",
        ),
        (lambda: F.nll_loss(mg.ones((2, 4)), [-1, 0]), IndexError, "nll_loss: class index -1 is out of range"),
        (
            lambda: F.cross_entropy(mg.ones((2, 4)), ["a", "b"]),
            TypeError,
            "cross_entropy: target must hold integer class indices",
        ),
        (
            lambda: F.cross_entropy(mg.Tensor(1.0), 0),
            mg.ShapeError,
            r"cross_entropy: input must have shape \(C,\), \(N, C\) or \(N, C, d1, ...\), got \(\)",
        ),
        (
            lambda: F.mse_loss(mg.ones((2, 1)), np.ones(2)),
            mg.ShapeError,
            r"mse_loss: target shape \(2,\) does not match input shape \(2, 1\)",
        ),
        (
            lambda: F.binary_cross_entropy(mg.Tensor([1.5]), [1.0]),
            ValueError,
            "binary_cross_entropy: input must be probabilities in \\[0, 1\\]",
        ),
        (
            lambda: nn.MSELoss(reduction="avg"),
            ValueError,
            "MSELoss: reduction must be 'mean', 'sum' or 'none', not 'avg'",
        ),
    ],
)
def test_loss_errors_are_clear(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()


@given(data=st.data())
def test_losses_gradients_on_drawn_batches(data):
    n = data.draw(st.integers(1, 5))
    c = data.draw(st.integers(2, 4))
    logits = data.draw(hnp.arrays(np.float64, (n, c), elements=st.floats(-5, 5)))
    target = data.draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, c - 1)))
    assert_grads_close(lambda a: F.cross_entropy(a, target), mg.Tensor(logits, requires_grad=True), **TOL)


def test_clip_grad_norm_of_inf_or_huge_gradients_gives_pytorchs_values_without_warnings():
    w = mg.Tensor([1.0, 2.0], requires_grad=True)
    w.grad = np.array([np.inf, 1e308])
    assert nn.utils.clip_grad_norm_([w], 1.0) == np.inf
    assert np.isnan(w.grad[0]) and w.grad[1] == 0.0  # scaled by max_norm / inf = 0, as PyTorch
    w.grad = np.array([1e300, 1e300])
    assert nn.utils.clip_grad_norm_([w], 1.0) == np.inf  # the squares overflow, quietly


@pytest.mark.parametrize("init", [nn.init.kaiming_uniform_, nn.init.xavier_uniform_])
def test_initialising_an_empty_weight_is_a_no_op(init):
    t = mg.zeros((0, 3))
    assert init(t) is t and t.shape == (0, 3)
