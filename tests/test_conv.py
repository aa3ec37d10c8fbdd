"""Convolutions and unfold/fold: forward against naive NumPy loops, gradients against finite
differences (and second derivatives), float32, errors, the Conv modules and their state dicts,
optionally everything against PyTorch, a small CNN against PyTorch, and the CNN example."""

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import microgradnn as mg
from microgradnn import nn
from microgradnn.errors import ShapeError
from microgradnn.nn import functional as F

R = np.random.default_rng(3)
ROOT = Path(__file__).resolve().parent.parent


# ------------------------------------------------------------------ naive references
def naive_conv2d(x, w, b=None, stride=(1, 1), pads=(0, 0, 0, 0), dilation=(1, 1), groups=1):
    """The definition, one output element at a time."""
    x = np.pad(x, ((0, 0), (0, 0), (pads[0], pads[1]), (pads[2], pads[3])))
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    ho = (h - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    wo = (wd - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    out = np.zeros((n, o, ho, wo))
    og = o // groups
    for ni in range(n):
        for oc in range(o):
            g = oc // og
            for i in range(ho):
                for j in range(wo):
                    acc = 0.0
                    for ci in range(cg):
                        for a in range(kh):
                            for bb in range(kw):
                                acc += (
                                    w[oc, ci, a, bb]
                                    * x[
                                        ni,
                                        g * cg + ci,
                                        i * stride[0] + a * dilation[0],
                                        j * stride[1] + bb * dilation[1],
                                    ]
                                )
                    out[ni, oc, i, j] = acc + (0 if b is None else b[oc])
    return out


def naive_conv_transpose2d(
    x, w, b=None, stride=(1, 1), padding=(0, 0), output_padding=(0, 0), dilation=(1, 1), groups=1
):
    """Scatter each input element times the kernel onto the output, then crop the padding."""
    n, cin, h, wd = x.shape
    _, og, kh, kw = w.shape
    full_h = (h - 1) * stride[0] + dilation[0] * (kh - 1) + 1 + output_padding[0]
    full_w = (wd - 1) * stride[1] + dilation[1] * (kw - 1) + 1 + output_padding[1]
    out = np.zeros((n, og * groups, full_h, full_w))
    cg = cin // groups
    for ni in range(n):
        for ci in range(cin):
            g = ci // cg
            for i in range(h):
                for j in range(wd):
                    for a in range(kh):
                        for bb in range(kw):
                            out[
                                ni,
                                g * og : (g + 1) * og,
                                i * stride[0] + a * dilation[0],
                                j * stride[1] + bb * dilation[1],
                            ] += x[ni, ci, i, j] * w[ci, :, a, bb]
    out = out[:, :, padding[0] : full_h - padding[0], padding[1] : full_w - padding[1]]
    return out if b is None else out + b.reshape(1, -1, 1, 1)


CONV2D = [
    ({}, (2, 3, 6, 7), (4, 3, 3, 2)),
    ({"stride": 2, "padding": 1}, (2, 3, 7, 7), (4, 3, 3, 3)),
    ({"stride": (2, 1), "padding": (1, 2), "dilation": (1, 2)}, (1, 2, 7, 8), (3, 2, 2, 3)),
    ({"groups": 2, "padding": 1}, (2, 4, 5, 5), (6, 2, 3, 3)),
    ({"groups": 3, "stride": 2}, (1, 3, 6, 6), (3, 1, 2, 2)),
    ({"padding": "same"}, (1, 2, 5, 6), (2, 2, 2, 3)),
    ({"padding": "same", "dilation": 2}, (1, 2, 6, 5), (2, 2, 3, 2)),
    ({"padding": "valid"}, (1, 2, 4, 4), (2, 2, 3, 3)),
]


def _pads(kwargs, kernel):
    padding = kwargs.get("padding", 0)
    dil = kwargs.get("dilation", 1)
    dil = (dil, dil) if isinstance(dil, int) else dil
    if padding == "same":
        totals = [d * (k - 1) for k, d in zip(kernel, dil, strict=True)]
        return (totals[0] // 2, totals[0] - totals[0] // 2, totals[1] // 2, totals[1] - totals[1] // 2)
    if padding == "valid":
        return (0, 0, 0, 0)
    p = (padding, padding) if isinstance(padding, int) else padding
    return (p[0], p[0], p[1], p[1])


def _pair(v, default):
    v = default if v is None else v
    return (v, v) if isinstance(v, int) else tuple(v)


@pytest.mark.parametrize("kwargs,xs,ws", CONV2D)
def test_conv2d_matches_the_naive_loop(kwargs, xs, ws):
    x, w, b = R.standard_normal(xs), R.standard_normal(ws), R.standard_normal(ws[0])
    got = F.conv2d(mg.Tensor(x), mg.Tensor(w), mg.Tensor(b), **kwargs).data
    expected = naive_conv2d(
        x,
        w,
        b,
        _pair(kwargs.get("stride"), 1),
        _pads(kwargs, ws[2:]),
        _pair(kwargs.get("dilation"), 1),
        kwargs.get("groups", 1),
    )
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kwargs,xs,ws", CONV2D)
def test_conv2d_gradients_match_finite_differences(kwargs, xs, ws):
    x = mg.Tensor(R.standard_normal(xs), requires_grad=True)
    w = mg.Tensor(R.standard_normal(ws), requires_grad=True)
    b = mg.Tensor(R.standard_normal(ws[0]), requires_grad=True)
    mg.gradcheck(lambda x, w, b: F.conv2d(x, w, b, **kwargs), (x, w, b))


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("nd", [1, 2])
def test_padding_modes_gradcheck(mode, nd):
    layer = (nn.Conv1d if nd == 1 else nn.Conv2d)(2, 3, 3, padding=2 if nd == 1 else (1, 2), padding_mode=mode, rng=R)
    x = mg.Tensor(R.standard_normal((2, 2, 5) if nd == 1 else (1, 2, 4, 5)), requires_grad=True)

    def call(x, w, b):
        layer.weight, layer.bias = w, b
        return layer(x)

    w, b = (mg.Tensor(p.data, requires_grad=True) for p in (layer.weight, layer.bias))
    mg.gradcheck(call, (x, w, b))


def test_padding_modes_match_numpy_pad():
    x, w = R.standard_normal((1, 2, 4, 5)), R.standard_normal((3, 2, 3, 3))
    for mode, np_mode in (("reflect", "reflect"), ("replicate", "edge"), ("circular", "wrap")):
        layer = nn.Conv2d(2, 3, 3, padding=(1, 2), padding_mode=mode, bias=False)
        layer.weight.data = w
        expected = naive_conv2d(np.pad(x, ((0, 0), (0, 0), (1, 1), (2, 2)), mode=np_mode), w)
        np.testing.assert_allclose(layer(mg.Tensor(x)).data, expected, rtol=1e-12, atol=1e-12)


CONV_T = [
    ({}, (1, 2, 3, 4), (2, 3, 2, 2)),
    ({"stride": 2, "padding": 1, "output_padding": 1}, (2, 2, 3, 3), (2, 2, 3, 3)),
    ({"stride": (2, 3), "output_padding": (1, 2), "dilation": (1, 2)}, (1, 2, 3, 2), (2, 1, 2, 2)),
    ({"groups": 2, "stride": 2, "padding": (0, 1)}, (1, 4, 2, 3), (4, 2, 3, 3)),
    ({"dilation": 3, "output_padding": 2}, (1, 1, 2, 2), (1, 2, 2, 2)),
]


@pytest.mark.parametrize("kwargs,xs,ws", CONV_T)
def test_conv_transpose2d_matches_the_naive_loop_and_finite_differences(kwargs, xs, ws):
    x, w = R.standard_normal(xs), R.standard_normal(ws)
    groups = kwargs.get("groups", 1)
    b = R.standard_normal(ws[1] * groups)
    got = F.conv_transpose2d(mg.Tensor(x), mg.Tensor(w), mg.Tensor(b), **kwargs).data
    expected = naive_conv_transpose2d(
        x,
        w,
        b,
        _pair(kwargs.get("stride"), 1),
        _pair(kwargs.get("padding"), 0),
        _pair(kwargs.get("output_padding"), 0),
        _pair(kwargs.get("dilation"), 1),
        groups,
    )
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
    xt, wt, bt = (mg.Tensor(a, requires_grad=True) for a in (x, w, b))
    mg.gradcheck(lambda x, w, b: F.conv_transpose2d(x, w, b, **kwargs), (xt, wt, bt))


def test_conv1d_and_conv_transpose1d_are_the_2d_ops_of_height_one():
    x, w = R.standard_normal((2, 4, 9)), R.standard_normal((6, 2, 3))
    got = F.conv1d(mg.Tensor(x), mg.Tensor(w), stride=2, padding=1, dilation=2, groups=2).data
    expected = naive_conv2d(x[:, :, None], w[:, :, None], None, (1, 2), (0, 0, 1, 1), (1, 2), 2)[:, :, 0]
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
    wt = R.standard_normal((4, 3, 3))
    got = F.conv_transpose1d(mg.Tensor(x), mg.Tensor(wt), stride=3, padding=1, output_padding=2).data
    expected = naive_conv_transpose2d(x[:, :, None], wt[:, :, None], None, (1, 3), (0, 1), (0, 2))[:, :, 0]
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
    xs = [mg.Tensor(a, requires_grad=True) for a in (x[:1, :, :5], w)]
    mg.gradcheck(lambda a, b: F.conv1d(a, b, padding="same", groups=2), xs)
    xs = [mg.Tensor(a, requires_grad=True) for a in (x[:1, :, :4], wt)]
    mg.gradcheck(lambda a, b: F.conv_transpose1d(a, b, stride=2, output_padding=1, dilation=2), xs)


def test_second_derivatives():
    x = mg.Tensor(R.standard_normal((1, 2, 4, 4)), requires_grad=True)
    w = mg.Tensor(R.standard_normal((2, 2, 2, 2)), requires_grad=True)
    b = mg.Tensor(R.standard_normal(2), requires_grad=True)
    mg.gradgradcheck(lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1), (x, w, b))
    mg.gradgradcheck(lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, output_padding=1), (x, w, b))
    mg.gradgradcheck(lambda x: F.fold(F.unfold(x, 2, padding=1) * 2.0, (4, 4), 2, padding=1), (x,))


def test_unbatched_inputs_and_float32():
    conv = nn.Conv2d(2, 3, 3, padding=1, dtype=np.float32, rng=R)
    x = mg.Tensor(R.standard_normal((2, 5, 5)), dtype=np.float32, requires_grad=True)
    y = conv(x)
    assert y.shape == (3, 5, 5) and y.dtype == np.float32
    np.testing.assert_allclose(y.data, conv(x.reshape(1, 2, 5, 5)).data[0], rtol=1e-6)
    y.sum().backward()
    assert x.grad.dtype == np.float32 and conv.weight.grad.dtype == np.float32 and conv.bias.grad.dtype == np.float32
    for layer, shape in (
        (nn.Conv1d(2, 3, 2, dtype=np.float32), (2, 6)),
        (nn.ConvTranspose1d(2, 3, 2, dtype=np.float32), (2, 6)),
        (nn.ConvTranspose2d(2, 3, 2, stride=2, dtype=np.float32), (2, 3, 3)),
    ):
        out = layer(mg.Tensor(np.ones(shape, np.float32)))
        assert out.dtype == np.float32 and out.ndim == len(shape)


def test_unfold_and_fold():
    x = R.standard_normal((2, 3, 5, 6))
    cols = F.unfold(mg.Tensor(x), (2, 3), dilation=(2, 1), padding=1, stride=(1, 2))
    # column l holds the window at (i, j), channel-major then kernel row, kernel column
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    ho, wo = (7 - 2 - 1) // 1 + 1, (8 - 2 - 1) // 2 + 1
    assert cols.shape == (2, 3 * 6, ho * wo)
    i, j = 2, 1
    window = xp[:, :, i : i + 3 : 2, 2 * j : 2 * j + 3]
    np.testing.assert_array_equal(cols.data[:, :, i * wo + j], window.reshape(2, -1))
    # fold(unfold(x)) multiplies each pixel by the number of windows that cover it
    counts = F.fold(F.unfold(mg.ones((1, 1, 5, 6)), 3, padding=1), (5, 6), 3, padding=1).data
    np.testing.assert_allclose(
        F.fold(F.unfold(mg.Tensor(x), 3, padding=1), (5, 6), 3, padding=1).data, x * counts, rtol=1e-14
    )
    assert counts[0, 0, 2, 2] == 9 and counts[0, 0, 0, 0] == 4
    # they are adjoint: <unfold(x), c> == <x, fold(c)>
    c = R.standard_normal(cols.shape)
    lhs = (cols.data * c).sum()
    rhs = (x * F.fold(mg.Tensor(c), (5, 6), (2, 3), dilation=(2, 1), padding=1, stride=(1, 2)).data).sum()
    np.testing.assert_allclose(lhs, rhs, rtol=1e-12)
    xt = mg.Tensor(x[:1, :2, :4, :4], requires_grad=True)
    mg.gradcheck(lambda a: F.unfold(a, 2, stride=2, padding=1), (xt,))
    ct = mg.Tensor(R.standard_normal((1, 8, 15)), requires_grad=True)  # 2 channels, 5 x 3 windows
    mg.gradcheck(lambda a: F.fold(a, (4, 4), 2, padding=1, stride=(1, 2)), (ct,))
    assert F.unfold(mg.ones((3, 4, 4)), 2).shape == (12, 9)
    assert F.fold(mg.ones((12, 9)), (4, 4), 2).shape == (3, 4, 4)


# ------------------------------------------------------------------ modules and errors
def test_module_parameters_init_and_state_dict():
    conv = nn.Conv2d(4, 6, (3, 2), groups=2, rng=np.random.default_rng(0))
    assert conv.weight.shape == (6, 2, 3, 2) and conv.bias.shape == (6,)
    bound = 1 / np.sqrt(2 * 3 * 2)
    assert np.abs(conv.weight.data).max() <= bound and np.abs(conv.bias.data).max() <= bound
    assert list(conv.state_dict()) == ["weight", "bias"]
    up = nn.ConvTranspose2d(4, 6, 3, groups=2, bias=False)
    assert up.weight.shape == (4, 3, 3, 3) and up.bias is None
    assert np.abs(up.weight.data).max() <= 1 / np.sqrt(3 * 9)
    other = nn.Conv2d(4, 6, (3, 2), groups=2)
    other.load_state_dict(conv.state_dict())
    x = mg.Tensor(R.standard_normal((1, 4, 5, 5)))
    np.testing.assert_array_equal(other(x).data, conv(x).data)
    assert "kernel_size=(3, 2)" in repr(conv) and "groups=2" in repr(conv)


def test_conv_transpose_output_size_picks_output_padding():
    up = nn.ConvTranspose2d(2, 1, 3, stride=2, padding=1)
    x = mg.ones((1, 2, 4, 4))
    assert up(x).shape == (1, 1, 7, 7)
    assert up(x, output_size=(8, 8)).shape == (1, 1, 8, 8)
    assert up(x, output_size=(1, 1, 7, 8)).shape == (1, 1, 7, 8)
    with pytest.raises(ValueError, match="ConvTranspose2d: output_size"):
        up(x, output_size=(9, 9))


def test_errors_name_the_layer_and_sizes():
    conv = nn.Conv2d(3, 4, 3)
    with pytest.raises(ShapeError, match=r"Conv2d: expected input with 3 channels.*\(2, 5, 6, 6\)"):
        conv(mg.ones((2, 5, 6, 6)))
    with pytest.raises(ShapeError, match=r"Conv2d: kernel size \(3, 3\).*larger than the padded input \(2, 6\)"):
        conv(mg.ones((1, 3, 2, 6)))
    with pytest.raises(ShapeError, match=r"Conv1d: expected a 3-d input"):
        nn.Conv1d(3, 4, 3)(mg.ones((1, 3, 5, 5)))
    with pytest.raises(ValueError, match="Conv2d: in_channels 3 must be divisible by groups 2"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="Conv1d: out_channels 3 must be divisible by groups 2"):
        nn.Conv1d(4, 3, 3, groups=2)
    with pytest.raises(ValueError, match="strided"):
        nn.Conv2d(1, 1, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="padding_mode"):
        nn.Conv2d(1, 1, 3, padding_mode="mirror")
    with pytest.raises(ValueError, match="zeros"):
        nn.ConvTranspose2d(1, 1, 3, padding_mode="reflect")
    with pytest.raises(ValueError, match="output_padding"):
        F.conv_transpose2d(mg.ones((1, 1, 3, 3)), mg.ones((1, 1, 2, 2)), stride=2, output_padding=2)
    with pytest.raises(ShapeError, match="conv_transpose2d: expected input with 2 channels"):
        F.conv_transpose2d(mg.ones((1, 3, 3, 3)), mg.ones((2, 1, 2, 2)))
    with pytest.raises(ValueError, match="conv2d: out_channels 3 .* not divisible by groups 2"):
        F.conv2d(mg.ones((1, 2, 3, 3)), mg.ones((3, 1, 2, 2)), groups=2)
    with pytest.raises(ShapeError, match="conv2d: bias must have shape"):
        F.conv2d(mg.ones((1, 2, 3, 3)), mg.ones((3, 2, 2, 2)), mg.ones(2))
    with pytest.raises(ValueError, match="stride"):
        F.conv2d(mg.ones((1, 2, 3, 3)), mg.ones((3, 2, 2, 2)), stride=0)
    with pytest.raises(ShapeError, match="fold: input of shape"):
        F.fold(mg.ones((1, 4, 5)), (3, 3), 2)
    with pytest.raises(TypeError, match="device"):
        nn.Conv2d(1, 1, 3, device="cpu")


# ------------------------------------------------------------------ against PyTorch
def _close(ours, theirs):
    theirs = theirs.detach().numpy() if hasattr(theirs, "detach") else np.asarray(theirs)
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-10)


def _against_torch(ours, theirs, shape):
    torch = pytest.importorskip("torch")
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x = R.standard_normal(shape)
    xo, xt = mg.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    yo, yt = ours(xo), theirs(xt)
    _close(yo.data, yt)
    g = R.standard_normal(yo.shape)
    yo.backward(g)
    yt.backward(torch.tensor(g))
    _close(xo.grad, xt.grad)
    for (name, p), (tname, tp) in zip(ours.named_parameters(), theirs.named_parameters(), strict=True):
        assert name == tname
        _close(p.grad, tp.grad)


LAYERS = [
    ("Conv1d", (3, 4, 3), {"stride": 2, "padding": 1, "dilation": 2}, (2, 3, 11)),
    ("Conv1d", (4, 6, 4), {"padding": "same", "groups": 2, "padding_mode": "circular"}, (2, 4, 9)),
    ("Conv1d", (2, 2, 3), {"padding": 2, "padding_mode": "reflect", "bias": False}, (2, 8)),
    ("Conv2d", (3, 4, (3, 2)), {"stride": (2, 1), "padding": (1, 0)}, (2, 3, 7, 6)),
    ("Conv2d", (4, 4, 3), {"padding": "same", "groups": 4, "padding_mode": "replicate"}, (2, 4, 5, 5)),
    ("Conv2d", (2, 3, 2), {"padding": "same", "dilation": (1, 2), "padding_mode": "reflect"}, (1, 2, 6, 6)),
    ("Conv2d", (2, 3, 3), {"padding": 1, "padding_mode": "circular"}, (2, 5, 4)),
    ("ConvTranspose1d", (3, 4, 3), {"stride": 2, "padding": 1, "output_padding": 1}, (2, 3, 5)),
    (
        "ConvTranspose2d",
        (4, 6, 3),
        {"stride": 2, "groups": 2, "output_padding": (1, 0), "dilation": (1, 2)},
        (1, 4, 3, 4),
    ),
    ("ConvTranspose2d", (2, 3, (2, 3)), {"padding": (1, 1), "bias": False}, (2, 3, 3)),
]


@pytest.mark.parametrize("name,args,kwargs,shape", LAYERS)
def test_layers_against_torch(name, args, kwargs, shape):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    theirs = getattr(torch.nn, name)(*args, **kwargs).double()
    _against_torch(getattr(nn, name)(*args, **kwargs), theirs, shape)


def test_small_cnn_against_torch():
    torch = pytest.importorskip("torch")
    tn = torch.nn
    torch.manual_seed(0)
    theirs = tn.Sequential(
        tn.Conv2d(2, 4, 3, padding=1),
        tn.ReLU(),
        tn.MaxPool2d(2),
        tn.Conv2d(4, 6, 3),
        tn.ReLU(),
        tn.AvgPool2d(2),
        tn.Flatten(),
        tn.Linear(6 * 2 * 2, 5),
    ).double()
    ours = nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(4, 6, 3),
        nn.ReLU(),
        nn.AvgPool2d(2),
        nn.Flatten(),
        nn.Linear(6 * 2 * 2, 5),
    )
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for train in (True, False):
        ours.train(train)
        theirs.train(train)
        ours.zero_grad()
        theirs.zero_grad()
        _against_torch(ours, theirs, (3, 2, 12, 12))


def test_functional_against_torch():
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    x = R.standard_normal((2, 3, 6, 7))
    for kwargs in ({"kernel_size": 2}, {"kernel_size": (2, 3), "dilation": (2, 1), "padding": 1, "stride": (1, 2)}):
        _close(F.unfold(mg.Tensor(x), **kwargs).data, tf.unfold(torch.tensor(x), **kwargs))
        cols = tf.unfold(torch.tensor(x), **kwargs)
        _close(F.fold(mg.Tensor(cols.numpy()), (6, 7), **kwargs).data, tf.fold(cols, (6, 7), **kwargs))


# ------------------------------------------------------------------ the example
def _run_example(*args):
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "cnn_digits.py"), *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "Warning" not in result.stderr, result.stderr
    return result.stdout


def test_cnn_digits_example_quick():
    pytest.importorskip("sklearn")
    out = _run_example("--quick")
    last = out.strip().splitlines()[-1]
    assert re.fullmatch(r"held-out accuracy: \d{1,3}\.\d\d%", last), last
    assert float(last.split()[-1][:-1]) > 50


@pytest.mark.skipif(os.environ.get("MICROGRADNN_SLOW") != "1", reason="the full example run: set MICROGRADNN_SLOW=1")
def test_cnn_digits_example_reaches_98_5_percent():
    pytest.importorskip("sklearn")
    last = _run_example().strip().splitlines()[-1]
    assert float(re.fullmatch(r"held-out accuracy: (\S+)%", last).group(1)) >= 98.5
