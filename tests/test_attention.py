"""Attention (ops/attention.py, nn/attention.py): scaled_dot_product_attention against a NumPy
closed form, gradients against finite differences (masks boolean and float, causal, scale,
broadcast batch dims), MultiheadAttention's layout, masks, weights and errors, and an optional
PyTorch oracle (state_dict loaded, outputs and every gradient within 1e-10)."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import microgradnn as mg
from microgradnn import nn
from microgradnn.errors import ShapeError
from microgradnn.nn import functional as F

TOL = dict(atol=1e-6, rtol=1e-5)


def leaf(a, dtype=None):
    return mg.Tensor(a, requires_grad=True, dtype=dtype)


def sdpa_ref(q, k, v, allowed=None, additive=None, scale=None):
    """The closed form with NumPy: softmax(q k^T scale + mask) v, fully masked rows zero."""
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
    s = q @ np.swapaxes(k, -1, -2) * scale
    if additive is not None:
        s = s + additive
    if allowed is not None:
        s = np.where(allowed, s, -np.inf)
    top = s.max(-1, keepdims=True)
    dead = np.isneginf(top)
    e = np.exp(s - np.where(dead, 0, top))
    total = e.sum(-1, keepdims=True)
    p = e / np.where(dead, 1, total)
    return p @ v


# ------------------------------------------------------------------ scaled_dot_product_attention
@given(
    batch=st.sampled_from([(), (2,), (2, 3)]),
    length=st.integers(1, 4),
    source=st.integers(1, 4),
    e=st.integers(1, 3),
    ev=st.integers(1, 3),
    seed=st.integers(0, 2**16),
)
def test_sdpa_matches_the_closed_form_and_finite_differences(batch, length, source, e, ev, seed):
    rng = np.random.default_rng(seed)
    q, k = rng.standard_normal(batch + (length, e)), rng.standard_normal(batch + (source, e))
    v = rng.standard_normal(batch + (source, ev))
    out = F.scaled_dot_product_attention(mg.Tensor(q), mg.Tensor(k), mg.Tensor(v))
    np.testing.assert_allclose(out.data, sdpa_ref(q, k, v), rtol=1e-12, atol=1e-13)
    assert out.shape == batch + (length, ev)
    mg.gradcheck(lambda a, b, c: F.scaled_dot_product_attention(a, b, c), (leaf(q), leaf(k), leaf(v)), **TOL)


def test_sdpa_boolean_mask_is_true_where_allowed_and_float_mask_is_added(rng):
    q, k, v = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 5, 4)), rng.standard_normal((2, 5, 2))
    allowed = rng.random((3, 5)) > 0.4
    allowed[:, 0] = True
    out = F.scaled_dot_product_attention(mg.Tensor(q), mg.Tensor(k), mg.Tensor(v), attn_mask=allowed)
    np.testing.assert_allclose(out.data, sdpa_ref(q, k, v, allowed=allowed), rtol=1e-12)
    # A comparison's result (a bool Tensor) means the same.
    as_tensor = F.scaled_dot_product_attention(
        mg.Tensor(q), mg.Tensor(k), mg.Tensor(v), attn_mask=mg.Tensor(allowed.astype(float)) > 0.5
    )
    np.testing.assert_array_equal(as_tensor.data, out.data)
    bias = rng.standard_normal((2, 3, 5))
    out = F.scaled_dot_product_attention(mg.Tensor(q), mg.Tensor(k), mg.Tensor(v), attn_mask=bias)
    np.testing.assert_allclose(out.data, sdpa_ref(q, k, v, additive=bias), rtol=1e-12)


def test_sdpa_causal_is_the_top_left_triangle_and_scale_is_used(rng):
    q, k, v = rng.standard_normal((3, 4)), rng.standard_normal((5, 4)), rng.standard_normal((5, 2))
    out = F.scaled_dot_product_attention(mg.Tensor(q), mg.Tensor(k), mg.Tensor(v), is_causal=True, scale=0.3)
    np.testing.assert_allclose(out.data, sdpa_ref(q, k, v, allowed=np.tri(3, 5, dtype=bool), scale=0.3), rtol=1e-12)
    np.testing.assert_allclose(out.data[0], v[0], rtol=1e-12)  # the first query sees only the first key


@pytest.mark.parametrize("mask", ["bool", "float", "causal", "learned", "broadcast"])
def test_sdpa_gradients_with_masks(mask, rng):
    q, k, v = rng.standard_normal((2, 3, 2)), rng.standard_normal((2, 4, 2)), rng.standard_normal((2, 4, 3))
    allowed = rng.random((3, 4)) > 0.3
    allowed[:, 0] = True
    inputs = [leaf(q), leaf(k), leaf(v)]
    kwargs = {"scale": 0.7}
    if mask == "bool":
        kwargs["attn_mask"] = allowed
    elif mask == "float":
        kwargs["attn_mask"] = rng.standard_normal((3, 4))
    elif mask == "causal":
        kwargs["is_causal"] = True
    elif mask == "learned":
        inputs.append(leaf(rng.standard_normal((2, 1, 4))))  # a float mask Tensor gets a gradient
    else:  # q and k broadcast over a batch axis that only v has
        inputs = [leaf(q[:1]), leaf(k[:1]), leaf(v)]

    def fn(a, b, c, m=None):
        return (
            F.scaled_dot_product_attention(a, b, c, attn_mask=m, **kwargs)
            if m is not None
            else (F.scaled_dot_product_attention(a, b, c, **kwargs))
        )

    mg.gradcheck(fn, tuple(inputs), **TOL)


def test_sdpa_fully_masked_rows_give_zeros_and_zero_gradients(rng):
    q, k, v = leaf(rng.standard_normal((3, 2))), leaf(rng.standard_normal((4, 2))), leaf(rng.standard_normal((4, 2)))
    allowed = np.ones((3, 4), bool)
    allowed[1] = False
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed)
    assert np.all(out.data[1] == 0) and np.isfinite(out.data).all()
    out.sum().backward()
    assert np.all(q.grad[1] == 0) and np.isfinite(k.grad).all()


def test_sdpa_dropout_uses_the_generator_and_keeps_the_expectation(rng):
    q, k, v = (mg.Tensor(rng.standard_normal((2, 8, 4))) for _ in range(3))
    a = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5, rng=np.random.default_rng(3))
    b = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5, rng=np.random.default_rng(3))
    plain = F.scaled_dot_product_attention(q, k, v)
    np.testing.assert_array_equal(a.data, b.data)
    assert not np.allclose(a.data, plain.data)
    # The same drawn mask in forward and backward: check the gradient with a fixed generator.
    x = leaf(rng.standard_normal((2, 3, 2)))
    mg.gradcheck(lambda t: F.scaled_dot_product_attention(t, t, t, dropout_p=0.3, rng=np.random.default_rng(5)), x)
    mean = np.mean(
        [F.scaled_dot_product_attention(q, k, v, dropout_p=0.5, rng=np.random.default_rng(s)).data for s in range(300)],
        axis=0,
    )
    np.testing.assert_allclose(mean, plain.data, atol=0.25)


def test_sdpa_float32_stays_float32(rng):
    q, k, v = (leaf(rng.standard_normal((2, 3, 4)), dtype=np.float32) for _ in range(3))
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=np.zeros((3, 3)), dropout_p=0.1)
    assert out.dtype == np.float32
    out.sum().backward()
    assert q.grad.dtype == k.grad.dtype == v.grad.dtype == np.float32


def test_sdpa_errors(rng):
    q, k, v = mg.Tensor(rng.standard_normal((2, 3, 4))), mg.Tensor(rng.standard_normal((2, 5, 4))), mg.ones((2, 5, 2))
    with pytest.raises(ValueError, match="attn_mask or is_causal"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=np.ones((3, 5), bool), is_causal=True)
    with pytest.raises(ShapeError, match=r"scaled_dot_product_attention: attn_mask of shape \(3, 4\).*\(2, 3, 5\)"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=np.ones((3, 4), bool))
    with pytest.raises(ShapeError, match="same last dim"):
        F.scaled_dot_product_attention(q, mg.ones((2, 5, 3)), v)
    with pytest.raises(ShapeError, match="same length"):
        F.scaled_dot_product_attention(q, k, mg.ones((2, 4, 2)))
    with pytest.raises(ShapeError, match="at least 2 dims"):
        F.scaled_dot_product_attention(mg.ones(4), k, v)
    with pytest.raises(ShapeError, match="do not broadcast"):
        F.scaled_dot_product_attention(mg.ones((3, 3, 4)), k, v)
    with pytest.raises(TypeError, match="one dtype"):
        F.scaled_dot_product_attention(q.astype(np.float32), k, v)
    with pytest.raises(TypeError, match="boolean or floating"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=np.ones((3, 5), int))
    with pytest.raises(ValueError, match="dropout_p"):
        F.scaled_dot_product_attention(q, k, v, dropout_p=1.5)


def test_sdpa_double_backward_raises_clearly(rng):
    x = leaf(rng.standard_normal((3, 2)))
    (g,) = mg.grad(F.scaled_dot_product_attention(x, x, x).sum(), x, create_graph=False)
    assert g.shape == (3, 2)
    with pytest.raises(RuntimeError, match="differentiable once"):
        mg.grad(F.scaled_dot_product_attention(x, x, x).sum(), x, create_graph=True)


# ------------------------------------------------------------------ MultiheadAttention
def mha(e=4, h=2, **kwargs):
    m = nn.MultiheadAttention(e, h, rng=np.random.default_rng(0), **kwargs)
    m.in_proj_bias.data = np.random.default_rng(1).standard_normal(3 * e)  # non-zero, to test it
    m.out_proj.bias.data = np.random.default_rng(2).standard_normal(e)
    return m


def mha_ref(m, q, k, v, additive=None):
    """Batch-first MultiheadAttention with NumPy: per-head closed form, then out_proj."""
    e, h = m.embed_dim, m.num_heads
    w, b = m.in_proj_weight.data, m.in_proj_bias.data
    qp, kp, vp = q @ w[:e].T + b[:e], k @ w[e : 2 * e].T + b[e : 2 * e], v @ w[2 * e :].T + b[2 * e :]
    d = e // h
    if additive is not None:
        additive = np.broadcast_to(additive, (q.shape[0], h, q.shape[1], k.shape[1]))
    heads = [
        sdpa_ref(
            qp[..., i * d : (i + 1) * d],
            kp[..., i * d : (i + 1) * d],
            vp[..., i * d : (i + 1) * d],
            additive=None if additive is None else additive[:, i],
        )
        for i in range(h)
    ]
    return np.concatenate(heads, -1) @ m.out_proj.weight.data.T + m.out_proj.bias.data


def test_mha_parameters_init_and_state_dict_names():
    m = nn.MultiheadAttention(6, 3, rng=np.random.default_rng(0))
    assert list(m.state_dict()) == ["in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"]
    assert m.in_proj_weight.shape == (18, 6) and m.in_proj_bias.shape == (18,)
    assert np.all(m.in_proj_bias.data == 0) and np.all(m.out_proj.bias.data == 0)
    assert np.abs(m.in_proj_weight.data).max() <= math.sqrt(6 / 24)  # xavier_uniform on (18, 6)
    assert np.abs(m.out_proj.weight.data).max() <= 1 / math.sqrt(6)
    assert isinstance(m.out_proj, nn.Linear)
    no_bias = nn.MultiheadAttention(6, 3, bias=False)
    assert list(no_bias.state_dict()) == ["in_proj_weight", "out_proj.weight"]
    f32 = nn.MultiheadAttention(4, 2, dtype=np.float32)
    assert all(p.dtype == np.float32 for p in f32.parameters())
    copy = nn.MultiheadAttention(6, 3)
    copy.load_state_dict(m.state_dict())
    x = mg.Tensor(np.random.default_rng(3).standard_normal((2, 1, 6)))
    np.testing.assert_array_equal(copy(x, x, x)[0].data, m(x, x, x)[0].data)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("need_weights", [False, True])
@pytest.mark.parametrize("inputs", ["self", "kv", "separate"])
def test_mha_matches_the_closed_form(batch_first, need_weights, inputs, rng):
    m = mha(batch_first=batch_first)
    q = rng.standard_normal((2, 3, 4))
    k = q if inputs == "self" else rng.standard_normal((2, 5, 4))
    v = k if inputs != "separate" else rng.standard_normal(k.shape)
    s = k.shape[1]
    kpm = np.zeros((2, s), bool)
    kpm[1, 0] = True
    attn = rng.standard_normal((3, s))
    expected = mha_ref(m, q, k, v, additive=attn[None, None] + np.where(kpm, -np.inf, 0)[:, None, None, :])

    def layout(a):
        return mg.Tensor(a if batch_first else a.swapaxes(0, 1))

    tq = layout(q)
    tk = tq if inputs == "self" else layout(k)
    tv = tk if inputs != "separate" else layout(v)
    out, weights = m(tq, tk, tv, key_padding_mask=kpm, attn_mask=attn, need_weights=need_weights)
    got = out.data if batch_first else out.data.swapaxes(0, 1)
    np.testing.assert_allclose(got, expected, rtol=1e-11, atol=1e-12)
    assert (weights is None) == (not need_weights)
    if need_weights:
        assert weights.shape == (2, 3, s)
        np.testing.assert_allclose(weights.data.sum(-1), 1.0, rtol=1e-12)
        assert np.all(weights.data[1, :, 0] == 0)


def test_mha_weights_per_head_and_average(rng):
    m = mha(batch_first=True)
    x = mg.Tensor(rng.standard_normal((2, 3, 4)))
    _, per_head = m(x, x, x, average_attn_weights=False)
    _, mean = m(x, x, x)
    assert per_head.shape == (2, 2, 3, 3)
    np.testing.assert_allclose(per_head.data.mean(1), mean.data, rtol=1e-12)


def test_mha_boolean_masks_block_where_true_and_3d_masks_are_per_head(rng):
    m = mha(batch_first=True)
    x = mg.Tensor(rng.standard_normal((2, 3, 4)))
    blocked = np.triu(np.ones((3, 3), bool), 1)
    _, w = m(x, x, x, attn_mask=blocked, average_attn_weights=False)
    assert np.all(w.data[..., blocked] == 0) and np.all(w.data[..., ~blocked] > 0)
    # A comparison's result (a bool Tensor) means the same as the NumPy bool array.
    _, w2 = m(x, x, x, attn_mask=mg.Tensor(blocked.astype(float)) > 0.5, average_attn_weights=False)
    np.testing.assert_array_equal(w.data, w2.data)
    per_head = np.zeros((2 * 2, 3, 3), bool)
    per_head[1, :, 2] = True  # batch 0, head 1 may not look at key 2
    _, w3 = m(x, x, x, attn_mask=per_head, average_attn_weights=False)
    assert np.all(w3.data[0, 1, :, 2] == 0) and np.all(w3.data[0, 0, :, 2] > 0) and np.all(w3.data[1, :, :, 2] > 0)


def test_mha_need_weights_paths_agree_in_value_and_gradient(rng):
    x = rng.standard_normal((3, 2, 4))
    mask = np.triu(np.ones((3, 3), bool), 1)
    results = []
    for need in (False, True):
        m = mha()
        t = leaf(x)
        out, _ = m(t, t, t, attn_mask=mask, need_weights=need)
        (out * out).sum().backward()
        results.append([out.data, t.grad] + [p.grad for p in m.parameters()])
    for a, b in zip(*results, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-12)


def test_mha_unbatched_inputs(rng):
    for batch_first in (False, True):
        m = mha(batch_first=batch_first)
        q, kv = rng.standard_normal((3, 4)), rng.standard_normal((5, 4))
        out, w = m(mg.Tensor(q), mg.Tensor(kv), mg.Tensor(kv), key_padding_mask=np.zeros(5, bool))
        batched, wb = m(
            mg.Tensor(q[None] if batch_first else q[:, None]),
            mg.Tensor(kv[None] if batch_first else kv[:, None]),
            mg.Tensor(kv[None] if batch_first else kv[:, None]),
        )
        assert out.shape == (3, 4) and w.shape == (3, 5)
        np.testing.assert_allclose(out.data, batched.data.reshape(3, 4), rtol=1e-12)
        np.testing.assert_allclose(w.data, wb.data[0], rtol=1e-12)
        _, wh = m(mg.Tensor(q), mg.Tensor(kv), mg.Tensor(kv), attn_mask=np.zeros((2, 3, 5)), average_attn_weights=False)
        assert wh.shape == (2, 3, 5)


@pytest.mark.parametrize("need_weights", [False, True])
def test_mha_gradcheck(need_weights, rng):
    m = mha(4, 2)
    q, kv = leaf(rng.standard_normal((3, 2, 4))), leaf(rng.standard_normal((2, 2, 4)))
    mask = rng.standard_normal((3, 2))

    def fn(a, b):
        return m(a, b, b, attn_mask=mask, need_weights=need_weights)[0]

    mg.gradcheck(fn, (q, kv), **TOL)
    mg.gradcheck_module(Cross(m, kv, mask, need_weights), lambda out, _: (out**2).sum(), q, None, **TOL)


class Cross(nn.Module):
    """Attention from x to fixed keys/values, as a model for gradcheck_module."""

    def __init__(self, attn, kv, mask, need_weights):
        super().__init__()
        self.attn, self.kv, self.mask, self.need_weights = attn, kv, mask, need_weights

    def forward(self, x):
        return self.attn(x, self.kv, self.kv, attn_mask=self.mask, need_weights=self.need_weights)[0]


def test_mha_self_attention_gradcheck_of_the_parameters(rng):
    m = mha(4, 2, batch_first=True).eval()
    x = mg.Tensor(rng.standard_normal((2, 3, 4)))

    class Self(nn.Module):
        def __init__(self):
            super().__init__()
            self.attn = m

        def forward(self, t):
            return self.attn(t, t, t, need_weights=False, key_padding_mask=np.array([[0, 0, 1], [0, 0, 0]], bool))[0]

    mg.gradcheck_module(Self(), lambda out, _: (out * out).sum(), x, None, **TOL)


def test_mha_fully_masked_rows_follow_pytorch(rng):
    m = mha(batch_first=True)
    x = mg.Tensor(rng.standard_normal((2, 3, 4)))
    kpm = np.array([[True] * 3, [False] * 3])
    out, w = m(x, x, x, key_padding_mask=kpm)
    assert np.isnan(out.data[0]).all() and np.isnan(w.data[0]).all() and np.isfinite(out.data[1]).all()
    out, _ = m(x, x, x, key_padding_mask=kpm, need_weights=False)
    np.testing.assert_allclose(out.data[0], np.broadcast_to(m.out_proj.bias.data, (3, 4)))


def test_mha_dropout_in_training_only(rng):
    m = nn.MultiheadAttention(4, 2, dropout=0.5, batch_first=True, rng=np.random.default_rng(0))
    x = mg.Tensor(rng.standard_normal((2, 6, 4)))
    a = m(x, x, x, need_weights=False)[0].data
    b = m(x, x, x, need_weights=False)[0].data
    assert not np.allclose(a, b)
    m.eval()
    np.testing.assert_array_equal(m(x, x, x, need_weights=False)[0].data, m(x, x, x, need_weights=False)[0].data)
    _, w = m.train()(x, x, x, average_attn_weights=False)
    assert np.any(w.data == 0)  # the returned weights are the dropped-out ones, as PyTorch's


def test_mha_float32_stays_float32(rng):
    m = nn.MultiheadAttention(4, 2, dtype=np.float32, dropout=0.1)
    x = leaf(rng.standard_normal((3, 2, 4)), dtype=np.float32)
    for need in (False, True):
        out, _ = m(x, x, x, need_weights=need, attn_mask=np.triu(np.ones((3, 3), bool), 1))
        assert out.dtype == np.float32
        out.sum().backward()
        assert x.grad.dtype == np.float32 and all(p.grad.dtype == np.float32 for p in m.parameters())


def test_mha_errors(rng):
    m = mha(batch_first=True)
    x = mg.Tensor(rng.standard_normal((2, 3, 4)))
    with pytest.raises(ShapeError, match=r"MultiheadAttention: attn_mask of shape \(3, 4\).*\(3, 3\).*\(4, 3, 3\)"):
        m(x, x, x, attn_mask=np.zeros((3, 4)))
    with pytest.raises(ShapeError, match=r"MultiheadAttention: key_padding_mask of shape \(3, 2\).*\(2, 3\)"):
        m(x, x, x, key_padding_mask=np.zeros((3, 2), bool))
    with pytest.raises(ShapeError, match=r"MultiheadAttention: query of shape \(2, 3, 5\).*embed_dim = 4"):
        m(mg.ones((2, 3, 5)), x, x)
    with pytest.raises(ShapeError, match="MultiheadAttention: query must be"):
        m(mg.ones(4), mg.ones(4), mg.ones(4))
    with pytest.raises(ShapeError, match="MultiheadAttention: key"):
        m(x, mg.ones((3, 3, 4)), mg.ones((3, 3, 4)))
    with pytest.raises(ShapeError, match="same shape"):
        m(x, x, mg.ones((2, 4, 4)))
    with pytest.raises(ValueError, match="is_causal=True is a hint"):
        m(x, x, x, is_causal=True)
    with pytest.raises(ValueError, match="requires grad"):
        m(x, x, x, attn_mask=leaf(np.zeros((3, 3))))
    with pytest.raises(TypeError, match="boolean or floating"):
        m(x, x, x, attn_mask=np.zeros((3, 3), int))
    with pytest.raises(ValueError, match="divisible"):
        nn.MultiheadAttention(5, 2)
    with pytest.raises(ValueError, match="positive int"):
        nn.MultiheadAttention(0, 1)
    with pytest.raises(ValueError, match="dropout"):
        nn.MultiheadAttention(4, 2, dropout=2.0)
    with pytest.raises(TypeError, match="kdim"):
        nn.MultiheadAttention(4, 2, kdim=3)


def test_mha_is_causal_hint_uses_the_mask(rng):
    m = mha(batch_first=True)
    x = mg.Tensor(rng.standard_normal((2, 3, 4)))
    causal = np.triu(np.ones((3, 3), bool), 1)
    a = m(x, x, x, attn_mask=causal, is_causal=True, need_weights=False)[0]
    b = m(x, x, x, attn_mask=causal, need_weights=False)[0]
    np.testing.assert_array_equal(a.data, b.data)


# ------------------------------------------------------------------ the PyTorch oracle
def close(ours, theirs, what):
    theirs = theirs.detach().numpy() if hasattr(theirs, "detach") else np.asarray(theirs)
    assert ours.shape == theirs.shape, what
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-10, err_msg=what)


@pytest.mark.parametrize("mask", ["none", "bool", "float", "causal"])
def test_sdpa_against_pytorch(mask, rng):
    torch = pytest.importorskip("torch")
    q, k, v = rng.standard_normal((2, 3, 4, 5)), rng.standard_normal((2, 3, 6, 5)), rng.standard_normal((2, 3, 6, 2))
    kwargs, torch_kwargs = {}, {}
    if mask == "bool":
        allowed = rng.random((4, 6)) > 0.5
        allowed[2] = False  # a fully masked row too
        kwargs["attn_mask"], torch_kwargs["attn_mask"] = allowed, torch.tensor(allowed)
    elif mask == "float":
        bias = rng.standard_normal((3, 4, 6))
        kwargs["attn_mask"], torch_kwargs["attn_mask"] = bias, torch.tensor(bias)
    elif mask == "causal":
        kwargs["is_causal"] = torch_kwargs["is_causal"] = True
    ours = [leaf(a) for a in (q, k, v)]
    theirs = [torch.tensor(a, requires_grad=True) for a in (q, k, v)]
    out = F.scaled_dot_product_attention(*ours, scale=0.4, **kwargs)
    tout = torch.nn.functional.scaled_dot_product_attention(*theirs, scale=0.4, **torch_kwargs)
    close(out.data, tout, "output")
    g = rng.standard_normal(out.shape)
    out.backward(g)
    tout.backward(torch.tensor(g))
    for name, a, b in zip("qkv", ours, theirs, strict=True):
        close(a.grad, b.grad, f"grad of {name}")


@pytest.mark.filterwarnings("ignore:Support for mismatched key_padding_mask")  # PyTorch's, for a bool and a float mask
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("need_weights", [False, True])
@pytest.mark.parametrize("inputs", ["self", "kv", "separate"])
def test_mha_against_pytorch(batch_first, need_weights, inputs, rng):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    e, h, n, length, source = 6, 3, 2, 4, 5
    theirs = torch.nn.MultiheadAttention(e, h, batch_first=batch_first).double()
    with torch.no_grad():
        theirs.in_proj_bias.normal_()
        theirs.out_proj.bias.normal_()
    ours = nn.MultiheadAttention(e, h, batch_first=batch_first)
    ours.load_state_dict({name: t.detach().numpy() for name, t in theirs.state_dict().items()})
    s = length if inputs == "self" else source

    def draw(t):
        return rng.standard_normal((n, t, e) if batch_first else (t, n, e))

    arrays = [draw(length)] + ([] if inputs == "self" else [draw(s)]) + ([draw(s)] if inputs == "separate" else [])
    mine = [leaf(a) for a in arrays]
    torchs = [torch.tensor(a, requires_grad=True) for a in arrays]

    def pick(xs):
        if inputs == "self":
            return xs[0], xs[0], xs[0]
        if inputs == "kv":
            return xs[0], xs[1], xs[1]
        return xs[0], xs[1], xs[2]

    kpm = np.zeros((n, s), bool)
    kpm[0, -1] = True
    attn = np.where(rng.random((n * h, length, s)) > 0.8, -np.inf, rng.standard_normal((n * h, length, s)))
    attn[..., 0] = 0.0  # every query keeps a key
    for train in (True, False):
        ours.train(train)
        theirs.train(train)
        for a in mine:
            a.grad = None
        for p in ours.parameters():
            p.grad = None
        theirs.zero_grad()
        for t in torchs:
            t.grad = None
        out, w = ours(*pick(mine), key_padding_mask=kpm, attn_mask=attn, need_weights=need_weights)
        tout, tw = theirs(
            *pick(torchs),
            key_padding_mask=torch.tensor(kpm),
            attn_mask=torch.tensor(attn),
            need_weights=need_weights,
        )
        close(out.data, tout, "output")
        if need_weights:
            close(w.data, tw, "weights")
        g = rng.standard_normal(out.shape)
        out.backward(g)
        tout.backward(torch.tensor(g))
        for i, (a, t) in enumerate(zip(mine, torchs, strict=True)):
            close(a.grad, t.grad, f"input grad {i}")
        tparams = dict(theirs.named_parameters())
        for name, p in ours.named_parameters():
            close(p.grad, tparams[name].grad, f"grad of {name}")


def test_mha_weights_not_averaged_against_pytorch(rng):
    torch = pytest.importorskip("torch")
    torch.manual_seed(1)
    theirs = torch.nn.MultiheadAttention(4, 2).double()
    ours = nn.MultiheadAttention(4, 2)
    ours.load_state_dict({name: t.detach().numpy() for name, t in theirs.state_dict().items()})
    x = rng.standard_normal((3, 4))  # unbatched
    mask = np.triu(np.ones((3, 3), bool), 1)
    out, w = ours(mg.Tensor(x), mg.Tensor(x), mg.Tensor(x), attn_mask=mask, average_attn_weights=False)
    tx = torch.tensor(x)
    tout, tw = theirs(tx, tx, tx, attn_mask=torch.tensor(mask), average_attn_weights=False)
    close(out.data, tout, "output")
    close(w.data, tw, "weights")
