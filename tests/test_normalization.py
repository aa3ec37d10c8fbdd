"""Normalization (ops/normalization.py, nn/normalization.py): each function against its NumPy
closed form, gradients (train and eval statistics) against finite differences, second
derivatives, the running-statistics rule written out in NumPy (momentum and momentum=None),
buffers and state_dict, float32 end to end, every error path, and an optional PyTorch oracle
for every layer in train and eval mode."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import microgradnn as mg
from microgradnn import nn
from microgradnn.errors import ShapeError
from microgradnn.nn import functional as F

TOL = {"rtol": 1e-10, "atol": 1e-10}


def _normalize(x, axes, eps, center=True):
    mean = x.mean(axis=axes, keepdims=True) if center else 0.0
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    return (x - mean) / np.sqrt(var + eps)


def _channel(v, ndim):
    return v.reshape((-1,) + (1,) * (ndim - 2))


# ------------------------------------------------------------------ forward: closed forms
@given(lead=st.lists(st.integers(1, 3), max_size=2), trail=st.lists(st.integers(1, 3), min_size=1, max_size=2))
def test_layer_norm_and_rms_norm_forward(lead, trail):
    r = np.random.default_rng(len(lead) * 10 + len(trail))
    shape, norm = tuple(lead + trail), tuple(trail)
    x, w, b = r.standard_normal(shape), r.standard_normal(norm), r.standard_normal(norm)
    axes = tuple(range(len(lead), len(shape)))
    out = F.layer_norm(mg.Tensor(x), norm, mg.Tensor(w), mg.Tensor(b), eps=1e-3)
    np.testing.assert_allclose(out.data, _normalize(x, axes, 1e-3) * w + b, **TOL)
    out = F.rms_norm(mg.Tensor(x), norm, mg.Tensor(w), eps=1e-3)
    rms = np.sqrt((x**2).mean(axis=axes, keepdims=True) + 1e-3)
    np.testing.assert_allclose(out.data, x / rms * w, **TOL)


@given(n=st.integers(1, 3), groups=st.integers(1, 3), per=st.integers(1, 2), spatial=st.integers(0, 2))
def test_group_norm_forward(n, groups, per, spatial):
    r = np.random.default_rng(n + 3 * groups + 7 * per)
    c = groups * per
    shape = (n, c) + (2,) * spatial
    x, w, b = r.standard_normal(shape), r.standard_normal(c), r.standard_normal(c)
    grouped = x.reshape(n, groups, -1)
    expected = _normalize(grouped, (2,), 1e-5).reshape(shape) * _channel(w, x.ndim) + _channel(b, x.ndim)
    np.testing.assert_allclose(F.group_norm(mg.Tensor(x), groups, mg.Tensor(w), mg.Tensor(b)).data, expected, **TOL)


@given(n=st.integers(2, 4), c=st.integers(1, 3), spatial=st.lists(st.integers(1, 3), max_size=2))
def test_batch_norm_forward_train_and_eval(n, c, spatial):
    r = np.random.default_rng(n * 5 + c)
    shape = (n, c) + tuple(spatial)
    x, w, b = r.standard_normal(shape), r.standard_normal(c), r.standard_normal(c)
    axes = (0,) + tuple(range(2, x.ndim))
    rm, rv = r.standard_normal(c), r.uniform(0.5, 2, c)
    train = F.batch_norm(mg.Tensor(x), rm.copy(), rv.copy(), mg.Tensor(w), mg.Tensor(b), training=True)
    expected = _normalize(x, axes, 1e-5) * _channel(w, x.ndim) + _channel(b, x.ndim)
    np.testing.assert_allclose(train.data, expected, **TOL)
    evaluated = F.batch_norm(mg.Tensor(x), rm, rv, mg.Tensor(w), mg.Tensor(b))
    expected = (x - _channel(rm, x.ndim)) / np.sqrt(_channel(rv, x.ndim) + 1e-5) * _channel(w, x.ndim)
    np.testing.assert_allclose(evaluated.data, expected + _channel(b, x.ndim), **TOL)


def test_instance_norm_forward():
    r = np.random.default_rng(1)
    x = r.standard_normal((2, 3, 4, 5))
    np.testing.assert_allclose(F.instance_norm(mg.Tensor(x)).data, _normalize(x, (2, 3), 1e-5), **TOL)
    rm, rv = r.standard_normal(3), r.uniform(0.5, 2, 3)
    out = F.instance_norm(mg.Tensor(x), rm, rv, use_input_stats=False, eps=1e-3)
    np.testing.assert_allclose(out.data, (x - _channel(rm, 4)) / np.sqrt(_channel(rv, 4) + 1e-3), **TOL)


# ------------------------------------------------------------------ gradients
def _check(fn, *arrays, second=False):
    r = np.random.default_rng(sum(a.size for a in arrays))
    tensors = tuple(mg.Tensor(a, requires_grad=True) for a in arrays)
    out_shape = fn(*tensors).shape
    c = r.standard_normal(out_shape)
    mg.gradcheck(lambda *t: (fn(*t) * c).sum(), tensors)
    if second:  # the gradients' own gradients, through create_graph

        def grad_norm(*t):
            grads = mg.grad((fn(*t) ** 3 * c).sum(), t, create_graph=True)
            return sum((gr * gr).sum() for gr in grads)

        mg.gradcheck(grad_norm, tensors)


@given(rows=st.integers(1, 3), k=st.integers(2, 4), seed=st.integers(0, 1000))
def test_layer_and_rms_norm_gradients(rows, k, seed):
    r = np.random.default_rng(seed)
    x, w, b = r.standard_normal((rows, k)), r.standard_normal(k), r.standard_normal(k)
    _check(lambda x, w, b: F.layer_norm(x, (k,), w, b), x, w, b)
    _check(lambda x, w: F.rms_norm(x, (k,), w, eps=1e-3), x, w)
    _check(lambda x: F.layer_norm(x, (rows, k)), x)


@given(n=st.integers(2, 3), c=st.integers(1, 2), length=st.integers(1, 2), seed=st.integers(0, 1000))
def test_batch_norm_gradients_train_and_eval(n, c, length, seed):
    r = np.random.default_rng(seed)
    x, w, b = r.standard_normal((n, c, length)), r.standard_normal(c), r.standard_normal(c)
    _check(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), x, w, b)
    rm, rv = r.standard_normal(c), r.uniform(0.5, 2, c)
    _check(lambda x, w, b: F.batch_norm(x, rm, rv, w, b, training=False), x, w, b)


def test_group_and_instance_norm_gradients():
    r = np.random.default_rng(2)
    x, w, b = r.standard_normal((2, 4, 3)), r.standard_normal(4), r.standard_normal(4)
    _check(lambda x, w, b: F.group_norm(x, 2, w, b), x, w, b)
    _check(lambda x, w, b: F.instance_norm(x, weight=w, bias=b), x, w, b)
    rm, rv = r.standard_normal(4), r.uniform(0.5, 2, 4)
    _check(lambda x, w, b: F.instance_norm(x, rm, rv, w, b, use_input_stats=False), x, w, b)


def test_second_derivatives():
    r = np.random.default_rng(3)
    x, w, b = r.standard_normal((3, 4)), r.standard_normal(4), r.standard_normal(4)
    _check(lambda x, w, b: F.layer_norm(x, (4,), w, b), x, w, b, second=True)
    _check(lambda x, w: F.rms_norm(x, (4,), w), x, w, second=True)
    x3 = r.standard_normal((3, 4, 2))
    _check(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), x3, w, b, second=True)
    _check(lambda x, w, b: F.batch_norm(x, np.ones(4), np.full(4, 2.0), w, b), x3, w, b, second=True)
    _check(lambda x, w, b: F.group_norm(x, 2, w, b), x3, w, b, second=True)


def test_module_gradients_in_train_and_eval():
    r = np.random.default_rng(4)
    x, y = mg.Tensor(r.standard_normal((4, 3, 2))), mg.Tensor(r.standard_normal((4, 3, 2)))
    bn = nn.BatchNorm1d(3)
    for p in bn.parameters():
        p.data = r.standard_normal(3)
    mg.gradcheck_module(bn, nn.MSELoss(), x, y)  # training: batch statistics
    bn.running_mean, bn.running_var = r.standard_normal(3), r.uniform(0.5, 2, 3)
    mg.gradcheck_module(bn.eval(), nn.MSELoss(), x, y)


# ------------------------------------------------------------------ running statistics
@pytest.mark.parametrize("momentum", [0.1, 0.7, None])
def test_running_statistics_rule(momentum):
    r = np.random.default_rng(5)
    bn = nn.BatchNorm2d(3, momentum=momentum)
    mean, var = np.zeros(3), np.ones(3)
    for step in range(1, 4):
        x = r.standard_normal((2, 3, 2, 3)) * step + step
        bn(mg.Tensor(x))
        m = 1 / step if momentum is None else momentum
        mean = (1 - m) * mean + m * x.mean(axis=(0, 2, 3))
        var = (1 - m) * var + m * x.var(axis=(0, 2, 3), ddof=1)  # the unbiased variance
        np.testing.assert_allclose(bn.running_mean, mean, **TOL)
        np.testing.assert_allclose(bn.running_var, var, **TOL)
        assert bn.num_batches_tracked.dtype == np.int64 and bn.num_batches_tracked.shape == ()
        assert int(bn.num_batches_tracked) == step
    bn.eval()
    x = r.standard_normal((2, 3, 2, 3))
    out = bn(mg.Tensor(x))  # evaluation: the running statistics, and no update
    np.testing.assert_allclose(out.data, (x - _channel(mean, 4)) / np.sqrt(_channel(var, 4) + 1e-5), **TOL)
    np.testing.assert_allclose(bn.running_mean, mean, **TOL)
    assert int(bn.num_batches_tracked) == 3


def test_instance_norm_running_statistics():
    r = np.random.default_rng(6)
    layer = nn.InstanceNorm1d(2, momentum=0.2, track_running_stats=True)
    x = r.standard_normal((3, 2, 5))
    layer(mg.Tensor(x))
    np.testing.assert_allclose(layer.running_mean, 0.2 * x.mean(axis=2).mean(axis=0), **TOL)
    np.testing.assert_allclose(layer.running_var, 0.8 + 0.2 * x.var(axis=2, ddof=1).mean(axis=0), **TOL)
    assert int(layer.num_batches_tracked) == 0  # as PyTorch: kept, never counted
    out = layer.eval()(mg.Tensor(x[0]))  # unbatched (C, L), running statistics
    rm, rv = layer.running_mean[:, None], layer.running_var[:, None]
    np.testing.assert_allclose(out.data, (x[0] - rm) / np.sqrt(rv + 1e-5), **TOL)


def test_without_tracking_batch_statistics_always():
    bn = nn.BatchNorm1d(2, track_running_stats=False, affine=False)
    assert bn.running_mean is None and bn.running_var is None and bn.num_batches_tracked is None
    assert list(bn.state_dict()) == [] and list(bn.parameters()) == []
    x = np.random.default_rng(7).standard_normal((4, 2))
    expected = _normalize(x, (0,), 1e-5)
    np.testing.assert_allclose(bn(mg.Tensor(x)).data, expected, **TOL)
    np.testing.assert_allclose(bn.eval()(mg.Tensor(x)).data, expected, **TOL)


# ------------------------------------------------------------------ layers: state and dtypes
def test_parameters_buffers_and_state_dict():
    bn = nn.BatchNorm2d(4)
    assert [n for n, _ in bn.named_parameters()] == ["weight", "bias"]
    assert [n for n, _ in bn.named_buffers()] == ["running_mean", "running_var", "num_batches_tracked"]
    assert list(bn.state_dict()) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    np.testing.assert_array_equal(bn.weight.data, 1)
    np.testing.assert_array_equal(bn.running_var, 1)
    bn(mg.Tensor(np.random.default_rng(8).standard_normal((2, 4, 3, 3))))
    fresh = nn.BatchNorm2d(4)
    fresh.load_state_dict(bn.state_dict())
    for key, value in bn.state_dict().items():
        np.testing.assert_array_equal(fresh.state_dict()[key], value)
    assert fresh.num_batches_tracked.dtype == np.int64
    assert list(nn.InstanceNorm2d(3).state_dict()) == []
    assert list(nn.InstanceNorm2d(3, affine=True, track_running_stats=True).state_dict()) == list(bn.state_dict())
    assert list(nn.GroupNorm(2, 4).state_dict()) == ["weight", "bias"]
    assert list(nn.RMSNorm(3).state_dict()) == ["weight"]
    assert list(nn.LayerNorm(3, bias=False).state_dict()) == ["weight"]
    assert "momentum=0.1" in repr(bn) and "GroupNorm(2, 4" in repr(nn.GroupNorm(2, 4))


def test_reset_running_stats():
    bn = nn.BatchNorm1d(2)
    bn(mg.Tensor(np.random.default_rng(9).standard_normal((3, 2))))
    bn.reset_parameters()
    np.testing.assert_array_equal(bn.running_mean, 0)
    np.testing.assert_array_equal(bn.running_var, 1)
    assert int(bn.num_batches_tracked) == 0


LAYERS = [
    (lambda dt: nn.BatchNorm1d(3, dtype=dt), (4, 3, 2)),
    (lambda dt: nn.BatchNorm2d(3, dtype=dt), (2, 3, 2, 2)),
    (lambda dt: nn.InstanceNorm1d(3, affine=True, track_running_stats=True, dtype=dt), (2, 3, 4)),
    (lambda dt: nn.InstanceNorm2d(3, affine=True, dtype=dt), (2, 3, 2, 2)),
    (lambda dt: nn.GroupNorm(3, 3, dtype=dt), (2, 3, 4)),
    (lambda dt: nn.LayerNorm(4, dtype=dt), (2, 3, 4)),
    (lambda dt: nn.RMSNorm(4, dtype=dt), (2, 3, 4)),
]


@pytest.mark.parametrize("make, shape", LAYERS)
def test_float32_end_to_end(make, shape):
    x = mg.Tensor(np.random.default_rng(10).standard_normal(shape).astype(np.float32), requires_grad=True)
    for layer in (make(np.float32), make(None).to(np.float32)):
        for mode in (True, False):
            layer.train(mode)
            out = layer(x)
            assert out.dtype == np.float32
            out.sum().backward()
            assert x.grad.dtype == np.float32 and all(p.grad.dtype == np.float32 for p in layer.parameters())
            for name, buffer in layer.named_buffers():
                assert buffer.dtype == (np.int64 if name == "num_batches_tracked" else np.float32), name


def test_to_keeps_num_batches_tracked_int64():
    bn = nn.BatchNorm1d(2).to(np.float32)
    assert bn.running_mean.dtype == np.float32 and bn.num_batches_tracked.dtype == np.int64
    bn.double()
    assert bn.running_var.dtype == np.float64 and bn.num_batches_tracked.dtype == np.int64


def test_rms_norm_default_eps_is_the_dtype_machine_epsilon():
    x = np.zeros((1, 2))
    out = nn.RMSNorm(2, elementwise_affine=False)(mg.Tensor(x + 1e-9))
    np.testing.assert_allclose(out.data, 1e-9 / np.sqrt(1e-18 + np.finfo(np.float64).eps), rtol=1e-12)
    out32 = F.rms_norm(mg.Tensor(np.full((1, 2), 1e-3, np.float32)), 2)
    np.testing.assert_allclose(out32.data, 1e-3 / np.sqrt(1e-6 + np.finfo(np.float32).eps), rtol=1e-5)


# ------------------------------------------------------------------ errors
@pytest.mark.parametrize(
    "layer, shape, message",
    [
        (nn.BatchNorm1d(3), (4, 2), r"BatchNorm1d: expected 3 channels \(input dim 1\), got 2"),
        (nn.BatchNorm1d(3), (4, 3, 2, 2), r"BatchNorm1d: expected a 2-D \(N, C\) or 3-D \(N, C, L\) input"),
        (nn.BatchNorm2d(3), (4, 3, 2), r"BatchNorm2d: expected a 4-D \(N, C, H, W\) input, got shape \(4, 3, 2\)"),
        (nn.BatchNorm2d(3), (1, 4, 2, 2), r"BatchNorm2d: expected 3 channels \(input dim 1\), got 4"),
        (nn.InstanceNorm1d(3), (2, 4), r"InstanceNorm1d: expected 3 channels \(input dim 0\), got 2"),
        (nn.InstanceNorm2d(3), (2, 3), r"InstanceNorm2d: expected a 4-D \(N, C, H, W\) or 3-D \(C, H, W\)"),
        (nn.GroupNorm(2, 4), (2, 3, 5), r"GroupNorm: expected an \(N, 4, \.\.\.\) input .*got shape \(2, 3, 5\)"),
        (nn.LayerNorm((2, 3)), (2, 3, 2), r"LayerNorm: input of shape \(2, 3, 2\) does not end in .*\(2, 3\)"),
        (nn.RMSNorm(3), (3,) * 0 + (2,), r"RMSNorm: input of shape \(2,\) does not end in normalized_shape \(3,\)"),
    ],
)
def test_wrong_shapes_raise(layer, shape, message):
    with pytest.raises(ShapeError, match=message):
        layer(mg.zeros(shape))


def test_one_value_per_channel_raises_in_training():
    bn = nn.BatchNorm1d(3)
    with pytest.raises(ValueError, match=r"BatchNorm1d: expected more than 1 value per channel when training"):
        bn(mg.zeros((1, 3)))
    assert int(bn.num_batches_tracked) == 0  # nothing changed
    assert bn.eval()(mg.zeros((1, 3))).shape == (1, 3)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm2d(2, track_running_stats=False).eval()(mg.zeros((1, 2, 1, 1)))
    with pytest.raises(ValueError, match="InstanceNorm2d: expected more than 1 spatial element"):
        nn.InstanceNorm2d(2)(mg.zeros((3, 2, 1, 1)))
    with pytest.raises(ValueError, match="batch_norm: expected more than 1 value per channel"):
        F.batch_norm(mg.zeros((1, 2)), None, None, training=True)


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match=r"GroupNorm: num_channels \(6\) must be divisible by num_groups \(4\)"):
        nn.GroupNorm(4, 6)
    with pytest.raises(ValueError, match="BatchNorm1d: num_features must be a positive int"):
        nn.BatchNorm1d(0)
    with pytest.raises(TypeError, match="device"):
        nn.BatchNorm2d(3, device="cpu")
    with pytest.raises(ShapeError, match=r"group_norm: the input's 3 channels .* do not divide into 2 groups"):
        F.group_norm(mg.zeros((1, 3, 2)), 2)
    with pytest.raises(ShapeError, match=r"layer_norm: weight of shape \(3,\) does not match the expected shape \(4"):
        F.layer_norm(mg.zeros((2, 4)), (4,), mg.ones(3))
    with pytest.raises(ShapeError, match=r"batch_norm: running_mean of shape \(2,\) does not match the 3 channels"):
        F.batch_norm(mg.zeros((2, 3)), np.zeros(2), np.ones(3))
    with pytest.raises(ValueError, match="batch_norm: running_mean and running_var are needed when not training"):
        F.batch_norm(mg.zeros((2, 3)), None, None)
    with pytest.raises(ShapeError, match=r"instance_norm: input must have at least 2 dims"):
        F.instance_norm(mg.zeros(3))


# ------------------------------------------------------------------ PyTorch
def _oracle_cases():
    cases = []
    for kw in (
        {"momentum": 0.1},
        {"momentum": None},
        {"affine": False, "momentum": 0.3},
        {"track_running_stats": False},
    ):
        cases += [
            ("BatchNorm1d", (3,), kw, (5, 3)),
            ("BatchNorm1d", (3,), kw, (4, 3, 2)),
            ("BatchNorm2d", (3,), {**kw, "eps": 1e-3}, (2, 3, 2, 3)),
            ("InstanceNorm1d", (3,), {**kw, "affine": not kw.get("affine", True)}, (2, 3, 4)),
            ("InstanceNorm1d", (3,), {**kw, "track_running_stats": True}, (3, 4)),
            ("InstanceNorm2d", (3,), {**kw, "affine": True, "track_running_stats": True}, (2, 3, 2, 3)),
            ("InstanceNorm2d", (3,), kw, (3, 2, 3)),
        ]
    for affine in (True, False):
        cases += [
            ("GroupNorm", (2, 4), {"affine": affine}, (3, 4, 5)),
            ("GroupNorm", (3, 6), {"affine": affine, "eps": 1e-2}, (2, 6, 2, 2)),
            ("LayerNorm", ((3, 4),), {"elementwise_affine": affine}, (2, 3, 4)),
            ("RMSNorm", ((3, 4),), {"elementwise_affine": affine}, (2, 3, 4)),
        ]
    cases += [("LayerNorm", (4,), {"bias": False}, (2, 3, 4)), ("RMSNorm", (4,), {"eps": 1e-3}, (5, 4))]
    return cases


@pytest.fixture
def torch():
    """PyTorch on one thread: its thread pool's waits cost more than these tiny ops (restored after)."""
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield torch
    torch.set_num_threads(threads)


@pytest.mark.parametrize("name, args, kwargs, shape", _oracle_cases())
def test_matches_pytorch(torch, name, args, kwargs, shape):
    r = np.random.default_rng(11)
    theirs = getattr(torch.nn, name)(*args, **kwargs, dtype=torch.float64)
    ours = getattr(nn, name)(*args, **kwargs)
    with torch.no_grad():
        for p in theirs.parameters():  # not the ones and zeros they start at
            p.copy_(torch.from_numpy(r.uniform(0.5, 1.5, tuple(p.shape))))
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})

    def close(a, b, what):
        a, b = np.asarray(a), np.asarray(b)
        assert a.shape == b.shape and a.dtype == b.dtype, (what, a.shape, b.shape, a.dtype, b.dtype)
        np.testing.assert_array_less(np.abs(a - b), 1e-10 * np.maximum(1, np.abs(b)) + 1e-300, err_msg=what)

    for mode in (True, False, True):
        ours.train(mode)
        theirs.train(mode)
        for _ in range(2):
            x, g = r.standard_normal(shape) * 2 + 0.5, r.standard_normal(shape)
            tx = torch.tensor(x, requires_grad=True)
            t_out = theirs(tx)
            t_out.backward(torch.from_numpy(g))
            xo = mg.Tensor(x, requires_grad=True)
            ours.zero_grad()
            out = ours(xo)
            out.backward(g)
            close(out.data, t_out.detach().numpy(), f"output ({'train' if mode else 'eval'})")
            close(xo.grad, tx.grad.numpy(), f"input grad ({'train' if mode else 'eval'})")
            for (n, p), (tn, tp) in zip(ours.named_parameters(), theirs.named_parameters(), strict=True):
                assert n == tn
                close(p.grad, tp.grad.numpy(), n)
                tp.grad = None
            t_state, o_state = theirs.state_dict(), ours.state_dict()
            assert list(o_state) == list(t_state)
            for key in t_state:
                close(o_state[key], t_state[key].numpy(), key)


def test_non_contiguous_and_empty_inputs():
    r = np.random.default_rng(12)
    base = r.standard_normal((4, 3))
    g = r.standard_normal((3, 4))
    for fn in (lambda t: F.layer_norm(t, (4,)), lambda t: F.batch_norm(t, None, None, training=True)):
        grads = []
        for data in (base.T, np.ascontiguousarray(base.T)):  # a transposed view, then a copy
            x = mg.Tensor(data, requires_grad=True)
            out = fn(x)
            out.backward(g.T.copy().T)  # a non-contiguous gradient too
            grads.append((out.data, x.grad))
        np.testing.assert_allclose(grads[0][0], grads[1][0], **TOL)
        np.testing.assert_allclose(grads[0][1], grads[1][1], **TOL)
    x = mg.Tensor(np.zeros((0, 4)), requires_grad=True)
    F.layer_norm(x, (4,), mg.ones(4), mg.zeros(4)).sum().backward()
    assert x.grad.shape == (0, 4)
    assert nn.GroupNorm(2, 4)(mg.zeros((0, 4, 3))).shape == (0, 4, 3)
