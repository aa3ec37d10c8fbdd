"""Recurrent layers: cells against NumPy closed forms, whole networks against a NumPy loop over
those cells, gradients against finite differences, dropout between layers, long sequences,
float32, state_dict names, errors, the example; optionally everything against PyTorch."""

import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import microgradnn as mg
from microgradnn import nn
from microgradnn.errors import ShapeError

ROOT = Path(__file__).resolve().parent.parent
R = np.random.default_rng(11)


# ------------------------------------------------------------------ NumPy references
def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def np_rnn_cell(x, h, w_ih, w_hh, b_ih, b_hh, relu=False):
    pre = x @ w_ih.T + b_ih + h @ w_hh.T + b_hh
    return np.maximum(pre, 0) if relu else np.tanh(pre)


def np_lstm_cell(x, h, c, w_ih, w_hh, b_ih, b_hh):
    i, f, g, o = np.split(x @ w_ih.T + b_ih + h @ w_hh.T + b_hh, 4, axis=-1)
    c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
    return _sigmoid(o) * np.tanh(c), c


def np_gru_cell(x, h, w_ih, w_hh, b_ih, b_hh):
    xr, xz, xn = np.split(x @ w_ih.T + b_ih, 3, axis=-1)
    hr, hz, hn = np.split(h @ w_hh.T + b_hh, 3, axis=-1)
    r, z = _sigmoid(xr + hr), _sigmoid(xz + hz)
    n = np.tanh(xn + r * hn)
    return (1 - z) * n + z * h


def np_network(model, x, h0=None, c0=None):
    """The model's computation as a plain loop over time, layers and directions (time first)."""
    kind = type(model).__name__
    p = {k: v for k, v in model.state_dict().items()}
    H, D = model.hidden_size, 2 if model.bidirectional else 1
    L, N = x.shape[:2]
    zeros = np.zeros((model.num_layers * D, N, H))
    h0 = zeros if h0 is None else h0
    c0 = zeros if c0 is None else c0
    layer_input, hs, cs = x, [], []
    for layer in range(model.num_layers):
        outs = []
        for d in range(D):
            sfx = f"_l{layer}" + ("_reverse" if d else "")
            w = [p[f"weight_ih{sfx}"], p[f"weight_hh{sfx}"]]
            w += [p[f"bias_ih{sfx}"], p[f"bias_hh{sfx}"]] if model.bias else [0.0, 0.0]
            k = layer * D + d
            h, c = h0[k], c0[k]
            out = np.zeros((L, N, H))
            for t in range(L - 1, -1, -1) if d else range(L):
                if kind == "LSTM":
                    h, c = np_lstm_cell(layer_input[t], h, c, *w)
                elif kind == "GRU":
                    h = np_gru_cell(layer_input[t], h, *w)
                else:
                    h = np_rnn_cell(layer_input[t], h, *w, relu=model.nonlinearity == "relu")
                out[t] = h
            outs.append(out)
            hs.append(h)
            cs.append(c)
        layer_input = np.concatenate(outs, axis=-1)
    return layer_input, np.stack(hs), np.stack(cs)


def _params(layer):
    return [p.data for p in (layer.weight_ih, layer.weight_hh, layer.bias_ih, layer.bias_hh)]


# ------------------------------------------------------------------ cells, closed forms
@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_rnn_cell_matches_the_closed_form(nonlinearity):
    cell = nn.RNNCell(3, 4, nonlinearity=nonlinearity, rng=np.random.default_rng(0))
    x, h = R.standard_normal((5, 3)), R.standard_normal((5, 4))
    expected = np_rnn_cell(x, h, *_params(cell), relu=nonlinearity == "relu")
    np.testing.assert_allclose(cell(mg.Tensor(x), mg.Tensor(h)).data, expected, rtol=1e-12, atol=1e-14)
    # No state means zeros; an unbatched input gives an unbatched state.
    np.testing.assert_allclose(cell(x).data, np_rnn_cell(x, 0 * h, *_params(cell), relu=nonlinearity == "relu"))
    np.testing.assert_allclose(cell(x[0], h[0]).data, expected[0], rtol=1e-12, atol=1e-14)


def test_lstm_cell_matches_the_closed_form():
    cell = nn.LSTMCell(3, 4, rng=np.random.default_rng(0))
    x, h, c = R.standard_normal((5, 3)), R.standard_normal((5, 4)), R.standard_normal((5, 4))
    h1, c1 = cell(x, (h, c))
    eh, ec = np_lstm_cell(x, h, c, *_params(cell))
    np.testing.assert_allclose(h1.data, eh, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(c1.data, ec, rtol=1e-12, atol=1e-14)
    h2, c2 = cell(x[1])
    eh, ec = np_lstm_cell(x[1], np.zeros(4), np.zeros(4), *_params(cell))
    assert h2.shape == c2.shape == (4,)
    np.testing.assert_allclose(h2.data, eh, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(c2.data, ec, rtol=1e-12, atol=1e-14)


def test_gru_cell_matches_the_closed_form():
    cell = nn.GRUCell(3, 4, rng=np.random.default_rng(0))
    x, h = R.standard_normal((5, 3)), R.standard_normal((5, 4))
    np.testing.assert_allclose(cell(x, h).data, np_gru_cell(x, h, *_params(cell)), rtol=1e-12, atol=1e-14)


def test_cells_without_bias():
    for cls, gates in ((nn.RNNCell, 1), (nn.LSTMCell, 4), (nn.GRUCell, 3)):
        cell = cls(3, 2, bias=False)
        assert [n for n, _ in cell.named_parameters()] == ["weight_ih", "weight_hh"]
        assert cell.weight_ih.shape == (gates * 2, 3) and cell.bias_ih is None
        out = cell(R.standard_normal((4, 3)))
        assert (out[0] if isinstance(out, tuple) else out).shape == (4, 2)


# ------------------------------------------------------------------ networks vs the NumPy loop
CONFIGS = [
    {},
    {"num_layers": 2},
    {"bidirectional": True},
    {"num_layers": 2, "bidirectional": True},
    {"batch_first": True},
    {"bias": False, "num_layers": 2},
]


@pytest.mark.parametrize("cls", [nn.RNN, nn.LSTM, nn.GRU])
@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()) or "default")
def test_networks_match_a_numpy_loop_over_cells(cls, config):
    model = cls(3, 4, rng=np.random.default_rng(1), **config)
    D = (2 if model.bidirectional else 1) * model.num_layers
    x = R.standard_normal((6, 2, 3))  # (L, N, I)
    h0, c0 = R.standard_normal((D, 2, 4)), R.standard_normal((D, 2, 4))
    given = x.transpose(1, 0, 2) if model.batch_first else x
    state = (h0, c0) if cls is nn.LSTM else h0
    output, final = model(mg.Tensor(given), state)
    out, hs, cs = np_network(model, x, h0, c0)
    np.testing.assert_allclose(output.data, out.transpose(1, 0, 2) if model.batch_first else out, atol=1e-12)
    h_n, c_n = final if cls is nn.LSTM else (final, None)
    np.testing.assert_allclose(h_n.data, hs, atol=1e-12)
    if c_n is not None:
        np.testing.assert_allclose(c_n.data, cs, atol=1e-12)


def test_rnn_relu_matches_the_numpy_loop():
    model = nn.RNN(3, 4, num_layers=2, nonlinearity="relu", bidirectional=True, rng=np.random.default_rng(2))
    x = R.standard_normal((5, 3, 3))
    output, h_n = model(x)
    out, hs, _ = np_network(model, x)
    np.testing.assert_allclose(output.data, out, atol=1e-12)
    np.testing.assert_allclose(h_n.data, hs, atol=1e-12)


@pytest.mark.parametrize("cls", [nn.RNN, nn.LSTM, nn.GRU])
def test_unbatched_input_is_a_batch_of_one(cls):
    model = cls(3, 4, num_layers=2, bidirectional=True, rng=np.random.default_rng(3))
    x, h0 = R.standard_normal((5, 3)), R.standard_normal((4, 4))
    state = (h0, h0 * 0.5) if cls is nn.LSTM else h0
    out1, final1 = model(x, state)
    batched_state = (h0[:, None], h0[:, None] * 0.5) if cls is nn.LSTM else h0[:, None]
    out2, final2 = model(x[:, None], batched_state)
    assert out1.shape == (5, 8)
    np.testing.assert_allclose(out1.data, out2.data[:, 0], atol=1e-14)
    for a, b in zip(final1 if cls is nn.LSTM else (final1,), final2 if cls is nn.LSTM else (final2,), strict=True):
        assert a.shape == (4, 4)
        np.testing.assert_allclose(a.data, b.data[:, 0], atol=1e-14)


@given(
    L=st.integers(1, 4),
    N=st.integers(1, 3),
    H=st.integers(1, 3),
    layers=st.integers(1, 2),
    bidirectional=st.booleans(),
    batch_first=st.booleans(),
    kind=st.sampled_from(["RNN", "LSTM", "GRU"]),
)
def test_shapes_and_values_for_drawn_sizes(L, N, H, layers, bidirectional, batch_first, kind):
    model = getattr(nn, kind)(2, H, layers, batch_first=batch_first, bidirectional=bidirectional)
    x = R.standard_normal((L, N, 2))
    output, final = model(x.transpose(1, 0, 2) if batch_first else x)
    D = 2 if bidirectional else 1
    assert output.shape == ((N, L, D * H) if batch_first else (L, N, D * H))
    out, hs, cs = np_network(model, x)
    np.testing.assert_allclose(output.data, out.transpose(1, 0, 2) if batch_first else out, atol=1e-12)
    h_n = final[0] if kind == "LSTM" else final
    assert h_n.shape == (layers * D, N, H)
    np.testing.assert_allclose(h_n.data, hs, atol=1e-12)


# ------------------------------------------------------------------ gradients
def _sequence_fn(model, with_state, lstm):
    """fn(x, h0[, c0]) -> every output and final state, flattened together, for gradcheck."""

    def fn(x, *state):
        given = None
        if with_state:
            given = (state[0], state[1]) if lstm else state[0]
        output, final = model(x, given)
        parts = [output.reshape(-1)] + [s.reshape(-1) for s in (final if lstm else (final,))]
        return mg.cat(parts)

    return fn


GRAD_CASES = [
    ("LSTM", {}, True),
    ("LSTM", {"bidirectional": True}, True),
    ("LSTM", {"num_layers": 2, "batch_first": True}, False),
    ("GRU", {"num_layers": 2, "bidirectional": True}, True),
    ("GRU", {"batch_first": True}, False),
    ("RNN", {"nonlinearity": "relu", "bidirectional": True}, True),
    ("RNN", {"num_layers": 2, "bias": False}, True),
]


@pytest.mark.parametrize("kind, config, with_state", GRAD_CASES)
def test_gradients_match_finite_differences(kind, config, with_state):
    model = getattr(nn, kind)(2, 3, rng=np.random.default_rng(4), **config)
    lstm = kind == "LSTM"
    D = (2 if model.bidirectional else 1) * model.num_layers
    x = mg.Tensor(R.standard_normal((2, 3, 2) if model.batch_first else (3, 2, 2)), requires_grad=True)
    state = [mg.Tensor(R.standard_normal((D, 2, 3)), requires_grad=True) for _ in range(2 if lstm else 1)]
    inputs = (x, *state) if with_state else (x,)
    assert mg.gradcheck(_sequence_fn(model, with_state, lstm), inputs, atol=1e-7, rtol=1e-6)
    # Every parameter, through a scalar loss of the outputs and final states.
    weights = R.standard_normal(_sequence_fn(model, False, lstm)(x).shape)

    def loss(outputs, _):
        output, final = outputs
        parts = [output.reshape(-1)] + [s.reshape(-1) for s in (final if lstm else (final,))]
        return (mg.cat(parts) * mg.Tensor(weights)).sum()

    report = mg.gradcheck_module(model, loss, x.detach(), None, atol=1e-7, rtol=1e-6)
    assert report and len(report.inputs) == len(list(model.parameters()))


@pytest.mark.parametrize("cls", [nn.RNNCell, nn.LSTMCell, nn.GRUCell])
def test_cell_gradients_match_finite_differences(cls):
    cell = cls(2, 3, rng=np.random.default_rng(5))
    x = mg.Tensor(R.standard_normal((4, 2)), requires_grad=True)
    h = mg.Tensor(R.standard_normal((4, 3)), requires_grad=True)
    c = mg.Tensor(R.standard_normal((4, 3)), requires_grad=True)
    if cls is nn.LSTMCell:
        assert mg.gradcheck(lambda x, h, c: mg.cat([t.reshape(-1) for t in cell(x, (h, c))]), (x, h, c), atol=1e-7)
    else:
        assert mg.gradcheck(lambda x, h: cell(x, h), (x, h), atol=1e-7)
        assert mg.gradcheck(lambda x: cell(x[0]), (x,), atol=1e-7)  # unbatched
    assert mg.gradcheck_module(cell, lambda out, _: (out[0] if isinstance(out, tuple) else out).sum(), x.detach(), None)


def test_double_backward_raises_clearly():
    lstm = nn.LSTM(2, 3)
    x = mg.Tensor(R.standard_normal((3, 1, 2)), requires_grad=True)
    output, _ = lstm(x)
    with pytest.raises(RuntimeError, match="create_graph"):
        mg.grad(output.sum(), x, create_graph=True)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_backward_twice_with_retain_graph_doubles_the_gradients(kind):
    model = getattr(nn, kind)(2, 3, bidirectional=True, rng=np.random.default_rng(13))
    x = mg.Tensor(R.standard_normal((4, 2, 2)), requires_grad=True)
    output, final = model(x)
    loss = (output**2).sum() + ((final[1] if kind == "LSTM" else final) ** 2).sum()
    loss.backward(retain_graph=True)
    once = [x.grad.copy()] + [p.grad.copy() for p in model.parameters()]
    loss.backward()
    twice = [x.grad] + [p.grad for p in model.parameters()]
    for a, b in zip(once, twice, strict=True):
        np.testing.assert_allclose(b, 2 * a, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_a_500_step_sequence_backward_needs_no_recursion(kind):
    import inspect

    model = getattr(nn, kind)(2, 4, num_layers=2, rng=np.random.default_rng(6))
    x = mg.Tensor(R.standard_normal((500, 2, 2)) * 0.5, requires_grad=True)
    limit = sys.getrecursionlimit()
    # Leave a little room above the current depth only: a recursive walk of 500 steps would fail.
    sys.setrecursionlimit(len(inspect.stack()) + 100)
    try:
        output, _ = model(x)
        output[-1].sum().backward()
    finally:
        sys.setrecursionlimit(limit)
    assert np.isfinite(x.grad).all() and np.abs(x.grad[0]).sum() > 0
    assert all(np.isfinite(p.grad).all() for p in model.parameters())


# ------------------------------------------------------------------ dropout between layers
def test_dropout_acts_between_layers_in_training_only():
    x = R.standard_normal((4, 3, 2))

    def make(rng_seed):
        return nn.LSTM(2, 5, num_layers=3, dropout=0.5, rng=np.random.default_rng(rng_seed))

    plain = nn.LSTM(2, 5, num_layers=3, rng=np.random.default_rng(0))
    a, b = make(0), make(0)
    out_a, out_b = a(x)[0].data, b(x)[0].data
    np.testing.assert_array_equal(out_a, out_b)  # the same seeded rng, the same masks
    assert not np.allclose(out_a, plain(x)[0].data)  # dropout changed something
    assert not np.allclose(out_a, a(x)[0].data)  # new masks on the next call
    a.eval()
    np.testing.assert_array_equal(a(x)[0].data, plain(x)[0].data)  # eval: no dropout at all


def test_dropout_is_not_applied_after_the_last_layer():
    # p = 1 drops everything between the layers: layer 1 then sees zeros, so the output is
    # layer 1's response to zeros, not zeros (the last layer's output is never dropped).
    model = nn.GRU(2, 3, num_layers=2, dropout=1.0, rng=np.random.default_rng(7))
    output, h_n = model(R.standard_normal((4, 2, 2)))
    second = nn.GRU(3, 3)
    second.load_state_dict({k.replace("_l1", "_l0"): v for k, v in model.state_dict().items() if "_l1" in k})
    expected, _ = second(np.zeros((4, 2, 3)))
    np.testing.assert_allclose(output.data, expected.data, atol=1e-14)
    assert np.abs(output.data).sum() > 0


def test_dropout_with_one_layer_warns_as_pytorch():
    with pytest.warns(UserWarning, match="dropout"):
        nn.RNN(2, 3, dropout=0.3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nn.RNN(2, 3, num_layers=2, dropout=0.3)


# ------------------------------------------------------------------ dtypes, names, repr
@pytest.mark.parametrize("cls", [nn.RNN, nn.LSTM, nn.GRU, nn.RNNCell, nn.LSTMCell, nn.GRUCell])
def test_float32_stays_float32(cls):
    cell = cls in (nn.RNNCell, nn.LSTMCell, nn.GRUCell)
    kwargs = {} if cell else {"num_layers": 2, "bidirectional": True}
    model = cls(3, 4, dtype=np.float32, **kwargs)
    x = mg.Tensor(R.standard_normal((2, 3) if cell else (5, 2, 3)).astype(np.float32), requires_grad=True)
    result = model(x)
    flat = []
    for r in result if isinstance(result, tuple) else (result,):
        flat += list(r) if isinstance(r, tuple) else [r]
    assert all(t.dtype == np.float32 for t in flat)
    sum(t.sum() for t in flat).backward()
    assert x.grad.dtype == np.float32
    assert all(p.dtype == np.float32 and p.grad.dtype == np.float32 for p in model.parameters())


def _torch_names(layers, bidirectional, bias=True):
    names = []
    for layer in range(layers):
        for sfx in [""] + (["_reverse"] if bidirectional else []):
            kinds = ["weight_ih", "weight_hh"] + (["bias_ih", "bias_hh"] if bias else [])
            names += [f"{k}_l{layer}{sfx}" for k in kinds]
    return names


def test_state_dict_names_and_shapes_are_pytorchs():
    lstm = nn.LSTM(3, 5, num_layers=2, bidirectional=True)
    assert list(lstm.state_dict()) == _torch_names(2, True)
    assert lstm.weight_ih_l0.shape == (20, 3) and lstm.weight_ih_l1.shape == (20, 10)
    assert lstm.weight_hh_l1_reverse.shape == (20, 5) and lstm.bias_hh_l0_reverse.shape == (20,)
    assert list(nn.GRU(3, 5, bias=False).state_dict()) == _torch_names(1, False, bias=False)
    assert nn.GRU(3, 5).weight_ih_l0.shape == (15, 3) and nn.RNN(3, 5).weight_hh_l0.shape == (5, 5)
    assert list(nn.LSTMCell(2, 3).state_dict()) == ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]


def test_initialisation_is_uniform_in_one_over_sqrt_hidden():
    lstm = nn.LSTM(10, 64, num_layers=2, rng=np.random.default_rng(8))
    bound = 1 / np.sqrt(64)
    for name, p in lstm.named_parameters():
        assert np.abs(p.data).max() <= bound, name
        assert np.abs(p.data).max() > 0.9 * bound, name
    values = np.concatenate([p.data.ravel() for p in lstm.parameters()])
    assert abs(values.mean()) < 0.01 and abs(values.std() - bound / np.sqrt(3)) < 0.005
    # rng makes it reproducible.
    again = nn.LSTM(10, 64, num_layers=2, rng=np.random.default_rng(8))
    assert all(
        np.array_equal(a, b) for a, b in zip(lstm.state_dict().values(), again.state_dict().values(), strict=True)
    )


def test_state_dict_round_trip():
    source = nn.GRU(3, 4, num_layers=2, bidirectional=True, rng=np.random.default_rng(9))
    target = nn.GRU(3, 4, num_layers=2, bidirectional=True, rng=np.random.default_rng(10))
    target.load_state_dict(source.state_dict())
    x = R.standard_normal((3, 2, 3))
    np.testing.assert_array_equal(source(x)[0].data, target(x)[0].data)


def test_repr_follows_pytorch():
    assert repr(nn.LSTM(3, 5)) == "LSTM(3, 5)"
    assert (
        repr(nn.GRU(3, 5, num_layers=2, batch_first=True, dropout=0.5, bidirectional=True))
        == "GRU(3, 5, num_layers=2, batch_first=True, dropout=0.5, bidirectional=True)"
    )
    assert repr(nn.RNN(3, 5, nonlinearity="relu", bias=False)) == "RNN(3, 5, nonlinearity='relu', bias=False)"
    assert repr(nn.LSTMCell(3, 5)) == "LSTMCell(3, 5)"
    assert repr(nn.RNNCell(3, 5, nonlinearity="relu")) == "RNNCell(3, 5, nonlinearity='relu')"


def test_a_model_with_an_lstm_trains():
    rng = np.random.default_rng(12)
    lstm, head = nn.LSTM(1, 8, rng=rng), nn.Linear(8, 1, rng=rng)
    opt = mg.optim.Adam(list(lstm.parameters()) + list(head.parameters()), lr=0.05)
    x = R.standard_normal((6, 16, 1))
    y = x.sum(axis=0)  # the sum of a sequence: needs memory
    losses = []
    for _ in range(60):
        loss = nn.MSELoss()(head(lstm(x)[0][-1]), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] / 5


# ------------------------------------------------------------------ errors
@pytest.mark.parametrize("cls", [nn.RNN, nn.LSTM, nn.GRU])
def test_bad_shapes_raise_naming_the_layer_and_the_shapes(cls):
    name = cls.__name__
    model = cls(3, 4, num_layers=2)
    with pytest.raises(ShapeError, match=rf"{name}: input.size\(-1\) must equal input_size: expected 3, got 5"):
        model(np.zeros((6, 2, 5)))
    with pytest.raises(ShapeError, match=rf"{name}: expected a 2-d .*got shape \(6, 2, 3, 1\)"):
        model(np.zeros((6, 2, 3, 1)))
    with pytest.raises(ShapeError, match=rf"{name}: .*must not be empty"):
        model(np.zeros((0, 2, 3)))
    wrong = np.zeros((2, 3, 4))
    state = (wrong, wrong) if cls is nn.LSTM else wrong
    what = "h0" if cls is nn.LSTM else "hx"
    with pytest.raises(ShapeError, match=rf"{name}: expected {what} of shape \(2, 2, 4\).*got \(2, 3, 4\)"):
        model(np.zeros((6, 2, 3)), state)
    with pytest.raises(ShapeError, match=rf"{name}: expected {what} of shape \(2, 4\).*got \(2, 3, 4\)"):
        model(np.zeros((6, 3)), state)  # unbatched input, batched state


def test_lstm_state_errors():
    lstm = nn.LSTM(3, 4)
    good = np.zeros((1, 2, 4))
    with pytest.raises(ShapeError, match=r"LSTM: expected c0 of shape \(1, 2, 4\).*got \(1, 2, 5\)"):
        lstm(np.zeros((5, 2, 3)), (good, np.zeros((1, 2, 5))))
    with pytest.raises(TypeError, match=r"LSTM: hx must be a tuple \(h0, c0\)"):
        lstm(np.zeros((5, 2, 3)), good)


@pytest.mark.parametrize("cls", [nn.RNNCell, nn.LSTMCell, nn.GRUCell])
def test_cell_errors(cls):
    name = cls.__name__
    cell = cls(3, 4)
    with pytest.raises(ShapeError, match=rf"{name}: input.size\(-1\) must equal input_size: expected 3, got 2"):
        cell(np.zeros((5, 2)))
    with pytest.raises(ShapeError, match=rf"{name}: expected a 1-d .*got shape \(1, 5, 3\)"):
        cell(np.zeros((1, 5, 3)))
    bad = np.zeros((5, 3))
    state = (bad, bad) if cls is nn.LSTMCell else bad
    with pytest.raises(ShapeError, match=rf"{name}: expected \w+ of shape \(5, 4\), got \(5, 3\)"):
        cell(np.zeros((5, 3)), state)
    with pytest.raises(ShapeError, match=rf"{name}: expected \w+ of shape \(4,\), got \(5, 3\)"):
        cell(np.zeros(3), state)
    if cls is nn.LSTMCell:
        with pytest.raises(TypeError, match=r"LSTMCell: hx must be a tuple"):
            cell(np.zeros((5, 3)), np.zeros((5, 4)))


def test_bad_arguments():
    with pytest.raises(ValueError, match="RNN: unknown nonlinearity 'gelu'"):
        nn.RNN(2, 3, nonlinearity="gelu")
    with pytest.raises(ValueError, match="RNNCell: unknown nonlinearity"):
        nn.RNNCell(2, 3, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="LSTM: hidden_size must be a positive int, got 0"):
        nn.LSTM(2, 0)
    with pytest.raises(ValueError, match="GRU: num_layers must be a positive int"):
        nn.GRU(2, 3, num_layers=0)
    with pytest.raises(ValueError, match="LSTM: dropout must be a number in \\[0, 1\\], got 1.5"):
        nn.LSTM(2, 3, num_layers=2, dropout=1.5)
    with pytest.raises(ValueError, match="GRUCell: input_size must be a positive int"):
        nn.GRUCell(2.5, 3)
    with pytest.raises(TypeError, match="proj_size"):
        nn.LSTM(2, 3, proj_size=2)
    with pytest.raises(TypeError, match="device"):
        nn.GRU(2, 3, device="cpu")


# ------------------------------------------------------------------ the example
def test_sequence_example_quick_run_prints_the_loss(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "sequence.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "Warning" not in result.stderr, result.stderr
    last = result.stdout.strip().splitlines()[-1]
    match = re.fullmatch(r"loss: (\d+\.\d+) -> (\d+\.\d+)", last)
    assert match, last
    assert float(match[2]) < float(match[1]) / 3


# ------------------------------------------------------------------ PyTorch as the oracle
def _close(ours, theirs, what):
    theirs = np.asarray(theirs)
    assert ours.shape == theirs.shape, what
    tol = 1e-10 * np.maximum(1, np.abs(theirs))
    assert np.all(np.abs(np.asarray(ours) - theirs) <= tol), f"{what}: max error {np.abs(ours - theirs).max()}"


def _torch_pair(torch, kind, args, config):
    torch.manual_seed(0)
    theirs = getattr(torch.nn, kind)(*args, **config).double()
    ours = getattr(nn, kind)(*args, **config)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    return ours, theirs


def _compare_with_torch(torch, ours, theirs, x, state, train):
    ours.train(train)
    theirs.train(train)
    xt = torch.tensor(x, requires_grad=True)
    xm = mg.Tensor(x, requires_grad=True)
    st_t = [torch.tensor(s, requires_grad=True) for s in state]
    st_m = [mg.Tensor(s, requires_grad=True) for s in state]
    pack = (lambda s: tuple(s)) if len(state) == 2 else (lambda s: s[0] if s else None)
    out_t, out_m = theirs(xt, pack(st_t)), ours(xm, pack(st_m))

    def flat(result):
        items = []
        for r in result if isinstance(result, tuple) else (result,):
            items += list(r) if isinstance(r, tuple) else [r]
        return items

    flat_t, flat_m = flat(out_t), flat(out_m)
    assert len(flat_t) == len(flat_m)
    loss_t = loss_m = 0
    for k, (a, b) in enumerate(zip(flat_t, flat_m, strict=True)):
        _close(b.data, a.detach().numpy(), f"result {k}")
        w = R.standard_normal(tuple(a.shape))
        loss_t = loss_t + (a * torch.tensor(w)).sum()
        loss_m = loss_m + (b * mg.Tensor(w)).sum()
    loss_t.backward()
    loss_m.backward()
    _close(xm.grad, xt.grad.numpy(), "input grad")
    for k, (a, b) in enumerate(zip(st_t, st_m, strict=True)):
        _close(b.grad, a.grad.numpy(), f"state {k} grad")
    theirs_params = dict(theirs.named_parameters())
    names = [n for n, _ in ours.named_parameters()]
    assert names == list(theirs_params)
    for name, p in ours.named_parameters():
        _close(p.grad, theirs_params[name].grad.numpy(), f"{name} grad")


TORCH_CASES = [
    ("RNN", {}, True),
    ("RNN", {"nonlinearity": "relu", "num_layers": 2, "batch_first": True}, False),
    ("RNN", {"bidirectional": True, "bias": False}, True),
    ("LSTM", {}, True),
    ("LSTM", {"num_layers": 2, "bidirectional": True}, True),
    ("LSTM", {"num_layers": 2, "bidirectional": True, "batch_first": True}, False),
    ("LSTM", {"bias": False}, False),
    ("GRU", {}, True),
    ("GRU", {"num_layers": 2, "bidirectional": True}, True),
    ("GRU", {"batch_first": True, "bias": False}, False),
]


@pytest.mark.parametrize("kind, config, with_state", TORCH_CASES)
@pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
def test_networks_against_pytorch(kind, config, with_state, train):
    torch = pytest.importorskip("torch")
    ours, theirs = _torch_pair(torch, kind, (3, 4), config)
    D = (2 if config.get("bidirectional") else 1) * config.get("num_layers", 1)
    x = R.standard_normal((2, 5, 3) if config.get("batch_first") else (5, 2, 3))
    state = [R.standard_normal((D, 2, 4)) for _ in range(2 if kind == "LSTM" else 1)] if with_state else []
    _compare_with_torch(torch, ours, theirs, x, state, train)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_unbatched_against_pytorch(kind):
    torch = pytest.importorskip("torch")
    ours, theirs = _torch_pair(torch, kind, (3, 4), {"num_layers": 2, "bidirectional": True})
    state = [R.standard_normal((4, 4)) for _ in range(2 if kind == "LSTM" else 1)]
    _compare_with_torch(torch, ours, theirs, R.standard_normal((5, 3)), state, True)


@pytest.mark.parametrize("kind", ["RNNCell", "LSTMCell", "GRUCell"])
@pytest.mark.parametrize("batched", [True, False])
def test_cells_against_pytorch(kind, batched):
    torch = pytest.importorskip("torch")
    ours, theirs = _torch_pair(torch, kind, (3, 4), {"nonlinearity": "relu"} if kind == "RNNCell" else {})
    shape = (5,) if batched else ()
    state = [R.standard_normal((*shape, 4)) for _ in range(2 if kind == "LSTMCell" else 1)]
    _compare_with_torch(torch, ours, theirs, R.standard_normal((*shape, 3)), state, True)


def test_a_two_layer_bidirectional_lstm_model_against_pytorch():
    """The issue's model: a 2-layer bidirectional LSTM with a Linear head, loss through both."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(1)
    t_lstm = torch.nn.LSTM(4, 6, num_layers=2, bidirectional=True, batch_first=True).double()
    t_head = torch.nn.Linear(12, 3).double()
    m_lstm = nn.LSTM(4, 6, num_layers=2, bidirectional=True, batch_first=True)
    m_head = nn.Linear(12, 3)
    m_lstm.load_state_dict({k: v.detach().numpy() for k, v in t_lstm.state_dict().items()})
    m_head.load_state_dict({k: v.detach().numpy() for k, v in t_head.state_dict().items()})
    x = R.standard_normal((3, 7, 4))
    y = np.array([0, 2, 1])
    xt, xm = torch.tensor(x, requires_grad=True), mg.Tensor(x, requires_grad=True)
    out_t, (h_t, c_t) = t_lstm(xt)
    out_m, (h_m, c_m) = m_lstm(xm)
    loss_t = torch.nn.functional.cross_entropy(t_head(out_t[:, -1]), torch.tensor(y)) + (c_t**2).mean()
    loss_m = nn.CrossEntropyLoss()(m_head(out_m[:, -1]), y) + (c_m**2).mean()
    _close(np.array(loss_m.item()), loss_t.item(), "loss")
    _close(h_m.data, h_t.detach().numpy(), "h_n")
    loss_t.backward()
    loss_m.backward()
    _close(xm.grad, xt.grad.numpy(), "input grad")
    theirs = dict(t_lstm.named_parameters())
    for name, p in m_lstm.named_parameters():
        _close(p.grad, theirs[name].grad.numpy(), name)


# ------------------------------------------------------------------ hostile values
def _hostile(dtype):
    info = np.finfo(dtype)
    v = [0.0, -0.0, np.inf, -np.inf, np.nan, info.max, -info.max, info.tiny, info.smallest_subnormal, 1.0, -1.0, 0.5]
    return np.array(v, dtype=dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_inf_and_nan_propagate_without_numpy_warnings(kind, dtype):
    from microgradnn.ops import recurrent as ops

    v = _hostile(dtype)
    a = np.repeat(v, len(v)).reshape(12, 12)  # every hostile value meets every other one
    gates = {"RNN": 1, "LSTM": 4, "GRU": 3}[kind]
    x = mg.Tensor(a.reshape(12, 4, 3), requires_grad=True)
    w_ih = mg.Tensor(np.resize(a.T, (gates * 2, 3)), requires_grad=True)
    w_hh = mg.Tensor(np.resize(v, (gates * 2, 2)), requires_grad=True)
    b = mg.Tensor(np.resize(v[::-1], gates * 2), requires_grad=True)
    h0 = mg.Tensor(np.resize(v, (4, 2)), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for reverse in (False, True):
            if kind == "LSTM":
                out = ops.lstm_layer(x, h0, h0, w_ih, w_hh, b, b, reverse=reverse)
            elif kind == "GRU":
                out = ops.gru_layer(x, h0, w_ih, w_hh, b, b, reverse=reverse)
            else:
                out = ops.rnn_layer(x, h0, w_ih, w_hh, b, b, reverse=reverse, relu=reverse)
            assert out.dtype == dtype
            out.backward(np.resize(v, out.shape), retain_graph=True)
            out.backward(np.ones(out.shape))
