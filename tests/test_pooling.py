"""Pooling and resizing: forward against naive NumPy loops (PyTorch's window, divisor and bin
rules), indices in PyTorch's flat layout, gradients against finite differences, float32,
errors, and optionally every layer against PyTorch."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import microgradnn as mg
from microgradnn import nn
from microgradnn.errors import ShapeError
from microgradnn.nn import functional as F

R = np.random.default_rng(5)


def _out(n, k, s, p, d, ceil):
    span = n + 2 * p - d * (k - 1) - 1
    o = (span + (s - 1 if ceil else 0)) // s + 1
    if ceil and (o - 1) * s >= n + p:
        o -= 1
    return o


def naive_max_pool2d(x, k, s, p, d, ceil):
    """Each window's in-bounds cells in row-major order; the first maximum wins."""
    n, c, h, w = x.shape
    ho, wo = _out(h, k[0], s[0], p[0], d[0], ceil), _out(w, k[1], s[1], p[1], d[1], ceil)
    out, idx = np.zeros((n, c, ho, wo)), np.zeros((n, c, ho, wo), np.int64)
    for a in range(n):
        for b in range(c):
            for i in range(ho):
                for j in range(wo):
                    best, where = -np.inf, -1
                    for u in range(k[0]):
                        for v in range(k[1]):
                            r, q = i * s[0] - p[0] + u * d[0], j * s[1] - p[1] + v * d[1]
                            if 0 <= r < h and 0 <= q < w and (x[a, b, r, q] > best or where < 0):
                                best, where = x[a, b, r, q], r * w + q
                    out[a, b, i, j], idx[a, b, i, j] = best, where
    return out, idx


def naive_avg_pool2d(x, k, s, p, ceil, include):
    """PyTorch's divisor: the window clipped to the padded input (count_include_pad) or to the input."""
    n, c, h, w = x.shape
    ho, wo = _out(h, k[0], s[0], p[0], 1, ceil), _out(w, k[1], s[1], p[1], 1, ceil)
    out = np.zeros((n, c, ho, wo))
    for i in range(ho):
        for j in range(wo):
            r0, q0 = i * s[0] - p[0], j * s[1] - p[1]
            r1, q1 = min(r0 + k[0], h + p[0]), min(q0 + k[1], w + p[1])
            size = (r1 - r0) * (q1 - q0)
            r0c, q0c, r1c, q1c = max(r0, 0), max(q0, 0), min(r1, h), min(q1, w)
            total = x[:, :, r0c:r1c, q0c:q1c].sum(axis=(2, 3))
            out[:, :, i, j] = total / (size if include else (r1c - r0c) * (q1c - q0c))
    return out


MAX_CASES = [
    ((2, 2), (2, 2), (0, 0), (1, 1), False),
    ((3, 3), (2, 2), (1, 1), (1, 1), True),
    ((2, 3), (1, 2), (1, 1), (2, 1), False),
    ((3, 2), (2, 3), (1, 0), (1, 1), True),
    ((3, 3), (3, 3), (0, 0), (1, 1), True),
]


@pytest.mark.parametrize("k,s,p,d,ceil", MAX_CASES)
def test_max_pool2d_matches_the_naive_loop_with_indices(k, s, p, d, ceil):
    x = np.round(R.standard_normal((2, 2, 7, 8)), 1)  # rounding makes ties, to check the first-max rule
    y, idx = F.max_pool2d(mg.Tensor(x), k, s, p, d, ceil, return_indices=True)
    ey, eidx = naive_max_pool2d(x, k, s, p, d, ceil)
    np.testing.assert_array_equal(y.data, ey)
    np.testing.assert_array_equal(idx, eidx)
    assert idx.dtype == np.int64
    # the index is into each (n, c) plane, flattened
    np.testing.assert_array_equal(
        np.take_along_axis(x.reshape(2, 2, -1), idx.reshape(2, 2, -1), 2), ey.reshape(2, 2, -1)
    )


@pytest.mark.parametrize("k,s,p,d,ceil", MAX_CASES)
def test_max_pool2d_gradient_goes_to_the_first_maximum(k, s, p, d, ceil):
    x = mg.Tensor(np.round(R.standard_normal((1, 2, 6, 7)), 1), requires_grad=True)
    y, idx = F.max_pool2d(x, k, s, p, d, ceil, return_indices=True)
    g = R.standard_normal(y.shape)
    y.backward(g)
    expected = np.zeros((1, 2, 42))
    for c in range(2):
        np.add.at(expected[0, c], idx[0, c].ravel(), g[0, c].ravel())
    np.testing.assert_allclose(x.grad, expected.reshape(x.shape), rtol=1e-14)
    smooth = mg.Tensor(R.standard_normal((1, 2, 6, 7)), requires_grad=True)  # no ties: finite differences work
    mg.gradcheck(lambda a: F.max_pool2d(a, k, s, p, d, ceil), (smooth,))


def test_max_pool1d_and_nan():
    x = np.array([[[1.0, 5.0, 5.0, 2.0, np.nan, 3.0, 0.0]]])
    y, idx = F.max_pool1d(mg.Tensor(x), 3, 2, 1, return_indices=True)
    np.testing.assert_array_equal(y.data, [[[5.0, 5.0, np.nan, 3.0]]])
    np.testing.assert_array_equal(idx, [[[1, 1, 4, 5]]])
    y, idx = F.max_pool1d(mg.Tensor(x[0]), 2, ceil_mode=True, return_indices=True)  # unbatched
    assert y.shape == (1, 4) and idx.tolist() == [[1, 2, 4, 6]]
    xs = mg.Tensor(R.standard_normal((2, 3, 9)), requires_grad=True)
    mg.gradcheck(lambda a: F.max_pool1d(a, 3, 2, 1, dilation=2, ceil_mode=True), (xs,))


AVG_CASES = [
    ((2, 2), (2, 2), (0, 0), False, True),
    ((3, 3), (2, 2), (1, 1), True, True),
    ((3, 3), (2, 2), (1, 1), True, False),
    ((2, 3), (3, 2), (1, 1), True, True),
    ((3, 2), (1, 3), (0, 1), False, False),
]


@pytest.mark.parametrize("k,s,p,ceil,include", AVG_CASES)
def test_avg_pool2d_matches_the_naive_loop_and_finite_differences(k, s, p, ceil, include):
    x = R.standard_normal((2, 2, 7, 6))
    got = F.avg_pool2d(mg.Tensor(x), k, s, p, ceil_mode=ceil, count_include_pad=include).data
    np.testing.assert_allclose(got, naive_avg_pool2d(x, k, s, p, ceil, include), rtol=1e-13)
    xt = mg.Tensor(x[:1], requires_grad=True)
    mg.gradcheck(lambda a: F.avg_pool2d(a, k, s, p, ceil_mode=ceil, count_include_pad=include), (xt,))


def test_avg_pool1d_ceil_mode_divisor():
    # L=5, k=2, s=2, ceil: the last window holds one element, and the divisor is 1 (past the input)
    y = F.avg_pool1d(mg.Tensor([[[1.0, 2.0, 3.0, 4.0, 5.0]]]), 2, ceil_mode=True)
    assert y.tolist() == [[[1.5, 3.5, 5.0]]]
    y = F.avg_pool1d(mg.Tensor([[[1.0, 2.0, 3.0]]]), 2, padding=1, count_include_pad=True)
    assert y.tolist() == [[[0.5, 2.5]]]
    xs = mg.Tensor(R.standard_normal((2, 2, 7)), requires_grad=True)
    mg.gradcheck(lambda a: F.avg_pool1d(a, 3, 2, 1, ceil_mode=True, count_include_pad=False), (xs,))


def test_second_derivatives_through_pooling():
    x = mg.Tensor(R.standard_normal((1, 2, 5, 5)), requires_grad=True)
    mg.gradgradcheck(lambda a: F.max_pool2d(a, 3, 2, 1) * a.sum(), (x,))
    mg.gradgradcheck(lambda a: F.avg_pool2d(a, 2, 1, ceil_mode=True) ** 2, (x,))
    mg.gradgradcheck(lambda a: F.adaptive_avg_pool2d(a, (2, 3)) ** 2, (x,))
    mg.gradgradcheck(lambda a: F.interpolate(a, size=(7, 3), mode="bilinear") ** 2, (x,))


@given(n=st.integers(1, 12), out=st.integers(1, 12))
def test_adaptive_bins_follow_pytorchs_rule(n, out):
    x = R.standard_normal((1, 1, n))
    y = F.adaptive_avg_pool1d(mg.Tensor(x), out).data
    for i in range(out):
        start, end = (i * n) // out, -(-((i + 1) * n) // out)
        np.testing.assert_allclose(y[0, 0, i], x[0, 0, start:end].mean(), rtol=1e-13)


def test_adaptive_pools():
    x = R.standard_normal((2, 3, 7, 5))
    y = F.adaptive_avg_pool2d(mg.Tensor(x), (3, None)).data
    assert y.shape == (2, 3, 3, 5)
    np.testing.assert_allclose(y[:, :, 1], x[:, :, 2:5].mean(axis=2), rtol=1e-13)
    y, idx = F.adaptive_max_pool2d(mg.Tensor(x), (3, 2), return_indices=True)
    np.testing.assert_array_equal(y.data[:, :, 2, 1], x[:, :, 4:7, 2:5].max(axis=(2, 3)))
    np.testing.assert_array_equal(
        np.take_along_axis(x.reshape(2, 3, -1), idx.reshape(2, 3, -1), 2), y.data.reshape(2, 3, -1)
    )
    xt = mg.Tensor(x[:1, :2], requires_grad=True)
    mg.gradcheck(lambda a: F.adaptive_avg_pool2d(a, (3, 2)), (xt,))
    mg.gradcheck(lambda a: F.adaptive_max_pool2d(a, (3, 2)), (xt,))
    assert nn.AdaptiveAvgPool2d(1)(mg.ones((3, 4, 4))).shape == (3, 1, 1)


def test_interpolate():
    x = mg.Tensor(np.arange(6.0).reshape(1, 1, 2, 3))
    assert F.interpolate(x, scale_factor=2).data[0, 0].tolist() == [
        [0.0, 0.0, 1.0, 1.0, 2.0, 2.0],
        [0.0, 0.0, 1.0, 1.0, 2.0, 2.0],
        [3.0, 3.0, 4.0, 4.0, 5.0, 5.0],
        [3.0, 3.0, 4.0, 4.0, 5.0, 5.0],
    ]
    # nearest: source = floor(dst * in / out)
    assert F.interpolate(mg.Tensor([[[0.0, 1.0, 2.0, 3.0, 4.0]]]), size=3).tolist() == [[[0.0, 1.0, 3.0]]]
    # bilinear, align_corners: corners kept, the middle averaged
    y = F.interpolate(x, size=(3, 5), mode="bilinear", align_corners=True).data[0, 0]
    assert y[0].tolist() == [0.0, 0.5, 1.0, 1.5, 2.0] and y[1, 0] == 1.5 and y[2, 4] == 5.0
    # align_corners=False: half-pixel centres, clamped at the edge
    y = F.interpolate(mg.Tensor([[[0.0, 1.0]]]), size=4, mode="linear").data
    np.testing.assert_allclose(y, [[[0.0, 0.25, 0.75, 1.0]]])
    xt = mg.Tensor(R.standard_normal((1, 2, 3, 4)), requires_grad=True)
    for kwargs in (
        {"size": (5, 3)},
        {"scale_factor": 1.5, "mode": "bilinear"},
        {"size": 7, "mode": "bilinear", "align_corners": True},
    ):
        mg.gradcheck(lambda a, kw=kwargs: F.interpolate(a, **kw), (xt,))
    assert nn.Upsample(scale_factor=(2, 3))(xt).shape == (1, 2, 6, 12)


def test_float32_and_modules():
    x = mg.Tensor(R.standard_normal((2, 3, 6, 6)), dtype=np.float32, requires_grad=True)
    for layer in (
        nn.MaxPool2d(2),
        nn.AvgPool2d(3, 2, 1, ceil_mode=True),
        nn.AdaptiveAvgPool2d((2, 3)),
        nn.AdaptiveMaxPool2d(2),
        nn.Upsample(size=(9, 4), mode="bilinear"),
        nn.Upsample(scale_factor=2),
    ):
        x.grad = None
        y = layer(x)
        assert y.dtype == np.float32, layer
        y.sum().backward()
        assert x.grad.dtype == np.float32, layer
    x1 = mg.Tensor(np.ones((2, 3, 8), np.float32))
    for layer in (nn.MaxPool1d(2), nn.AvgPool1d(2), nn.AdaptiveAvgPool1d(3), nn.Upsample(size=5, mode="linear")):
        assert layer(x1).dtype == np.float32
    y, idx = nn.MaxPool1d(3, return_indices=True)(x1)
    assert idx.shape == y.shape == (2, 3, 2)
    assert "kernel_size=2" in repr(nn.MaxPool2d(2)) and nn.MaxPool2d(2).state_dict() == {}


def test_errors():
    with pytest.raises(ShapeError, match=r"MaxPool2d: expected a 4-d input"):
        nn.MaxPool2d(2)(mg.ones((2, 3)))
    with pytest.raises(ShapeError, match=r"MaxPool2d: kernel_size \(5, 5\).*\(1, 1, 3, 3\)"):
        nn.MaxPool2d(5)(mg.ones((1, 1, 3, 3)))
    with pytest.raises(ValueError, match="AvgPool1d: padding .* at most half"):
        nn.AvgPool1d(2, padding=2)(mg.ones((1, 1, 8)))
    with pytest.raises(ValueError, match="interpolate: give exactly one"):
        F.interpolate(mg.ones((1, 1, 2, 2)))
    with pytest.raises(ValueError, match="align_corners"):
        F.interpolate(mg.ones((1, 1, 2, 2)), size=3, align_corners=True)
    with pytest.raises(ShapeError, match="bilinear"):
        F.interpolate(mg.ones((1, 1, 2)), size=3, mode="bilinear")
    with pytest.raises(ValueError, match="mode"):
        F.interpolate(mg.ones((1, 1, 2)), size=3, mode="bicubic")
    with pytest.raises(ValueError, match="output_size"):
        F.adaptive_avg_pool2d(mg.ones((1, 1, 2, 2)), (1, 2, 3))
    with pytest.raises(TypeError, match="divisor_override"):
        nn.AvgPool2d(2, divisor_override=3)


# ------------------------------------------------------------------ against PyTorch
LAYERS = [
    ("MaxPool1d", (3,), {"stride": 2, "padding": 1, "dilation": 2, "ceil_mode": True}, (2, 3, 10)),
    ("MaxPool2d", (2,), {}, (2, 3, 8, 8)),
    ("MaxPool2d", ((3, 2),), {"stride": (2, 1), "padding": (1, 1), "ceil_mode": True}, (2, 3, 7, 6)),
    ("AvgPool1d", (3,), {"stride": 2, "padding": 1, "ceil_mode": True, "count_include_pad": False}, (2, 3, 10)),
    ("AvgPool2d", (3,), {"stride": 2, "padding": 1, "ceil_mode": True}, (2, 3, 8, 7)),
    ("AvgPool2d", ((2, 3),), {"padding": (1, 1), "count_include_pad": False}, (3, 7, 6)),
    ("AdaptiveAvgPool1d", (4,), {}, (2, 3, 10)),
    ("AdaptiveAvgPool2d", ((3, 4),), {}, (2, 3, 7, 10)),
    ("AdaptiveMaxPool2d", ((3, 4),), {}, (2, 3, 7, 10)),
    ("Upsample", (), {"scale_factor": 2}, (2, 3, 4, 5)),
    ("Upsample", (), {"size": (7, 3)}, (2, 3, 4, 5)),
    ("Upsample", (), {"size": 9, "mode": "linear"}, (2, 3, 5)),
    ("Upsample", (), {"scale_factor": (1.5, 2.5), "mode": "bilinear"}, (2, 3, 4, 5)),
    ("Upsample", (), {"size": (6, 3), "mode": "bilinear", "align_corners": True}, (2, 3, 4, 5)),
]


@pytest.mark.parametrize("name,args,kwargs,shape", LAYERS)
def test_layers_against_torch(name, args, kwargs, shape):
    torch = pytest.importorskip("torch")
    x = R.standard_normal(shape)
    xo, xt = mg.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    yo, yt = getattr(nn, name)(*args, **kwargs)(xo), getattr(torch.nn, name)(*args, **kwargs)(xt)
    np.testing.assert_allclose(yo.data, yt.detach().numpy(), rtol=1e-10, atol=1e-10)
    g = R.standard_normal(yo.shape)
    yo.backward(g)
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(xo.grad, xt.grad.numpy(), rtol=1e-10, atol=1e-10)


def test_indices_against_torch():
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    x = np.round(R.standard_normal((2, 3, 9, 8)), 1)
    for k, s, p, d, ceil in MAX_CASES:
        _, ours = F.max_pool2d(mg.Tensor(x), k, s, p, d, ceil, return_indices=True)
        _, theirs = tf.max_pool2d(torch.tensor(x), k, s, p, d, ceil, return_indices=True)
        np.testing.assert_array_equal(ours, theirs.numpy())
    _, ours = F.adaptive_max_pool2d(mg.Tensor(x), (4, 3), return_indices=True)
    np.testing.assert_array_equal(ours, tf.adaptive_max_pool2d(torch.tensor(x), (4, 3), return_indices=True)[1].numpy())


def test_nearest_rule_against_torch():
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    for n in range(1, 20):
        for out in range(1, 40):
            x = np.arange(n, dtype=np.float32).reshape(1, 1, n)
            ours = F.interpolate(mg.Tensor(x, dtype=np.float32), size=out).data
            np.testing.assert_array_equal(ours, tf.interpolate(torch.tensor(x), size=out).numpy())
        for scale in (0.6, 1.1, 1.7, 2.0, 3.3):
            if int(n * scale) < 1:
                continue
            x = np.arange(n * 2, dtype=np.float32).reshape(1, 1, 2, n)
            ours = F.interpolate(mg.Tensor(x, dtype=np.float32), scale_factor=(1.0, scale)).data
            np.testing.assert_array_equal(ours, tf.interpolate(torch.tensor(x), scale_factor=(1.0, scale)).numpy())
