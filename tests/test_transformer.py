"""Transformer layers (nn/transformer.py): PyTorch's submodule and parameter names, the pre- and
post-norm formulas, gradients against finite differences, masks and errors, the encoder stack's
copies, an optional PyTorch oracle (state_dict loaded; outputs, input and parameter gradients
within 1e-10, train and eval mode) and the names example."""

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

TOL = dict(atol=1e-6, rtol=1e-5)
ENCODER_KEYS = [
    "self_attn.in_proj_weight",
    "self_attn.in_proj_bias",
    "self_attn.out_proj.weight",
    "self_attn.out_proj.bias",
    "linear1.weight",
    "linear1.bias",
    "linear2.weight",
    "linear2.bias",
    "norm1.weight",
    "norm1.bias",
    "norm2.weight",
    "norm2.bias",
]


def leaf(a, dtype=None):
    return mg.Tensor(a, requires_grad=True, dtype=dtype)


def encoder(**kwargs):
    kwargs = {"dim_feedforward": 6, "dropout": 0.0, "rng": np.random.default_rng(0), **kwargs}
    return nn.TransformerEncoderLayer(4, 2, **kwargs)


def decoder(**kwargs):
    kwargs = {"dim_feedforward": 6, "dropout": 0.0, "rng": np.random.default_rng(0), **kwargs}
    return nn.TransformerDecoderLayer(4, 2, **kwargs)


def test_encoder_layer_names_match_pytorch():
    layer = encoder()
    assert list(layer.state_dict()) == ENCODER_KEYS
    assert [name for name, _ in layer.named_children()] == [
        "self_attn",
        "linear1",
        "dropout",
        "linear2",
        "norm1",
        "norm2",
        "dropout1",
        "dropout2",
    ]
    assert list(nn.TransformerEncoderLayer(4, 2, bias=False).state_dict()) == [
        "self_attn.in_proj_weight",
        "self_attn.out_proj.weight",
        "linear1.weight",
        "linear2.weight",
        "norm1.weight",
        "norm2.weight",
    ]
    assert layer.linear1.weight.shape == (6, 4) and nn.TransformerEncoderLayer(4, 2).linear1.weight.shape == (2048, 4)


def test_activation_module_is_a_submodule_without_state(rng):
    layer = encoder(activation=nn.GELU())
    assert isinstance(layer.activation, nn.GELU) and list(layer.state_dict()) == ENCODER_KEYS
    x = mg.Tensor(rng.standard_normal((3, 2, 4)))
    same = encoder(activation="gelu")
    np.testing.assert_allclose(layer(x).data, same(x).data, rtol=1e-12)


def test_decoder_layer_names_match_pytorch():
    names = list(decoder().state_dict())
    assert names[:4] == ENCODER_KEYS[:4]
    assert names[4:8] == [n.replace("self_attn", "multihead_attn") for n in ENCODER_KEYS[:4]]
    assert names[8:] == ENCODER_KEYS[4:] + ["norm3.weight", "norm3.bias"]


def test_encoder_layer_is_the_post_norm_formula(rng):
    layer = encoder(batch_first=True, activation="gelu")
    x = mg.Tensor(rng.standard_normal((2, 3, 4)))
    mask = np.triu(np.ones((3, 3), bool), 1)
    sa = layer.self_attn(x, x, x, attn_mask=mask, need_weights=False)[0]
    h = layer.norm1(x + sa)
    expected = layer.norm2(h + layer.linear2(F.gelu(layer.linear1(h))))
    np.testing.assert_allclose(layer(x, src_mask=mask).data, expected.data, rtol=1e-12, atol=1e-13)


def test_encoder_layer_is_the_pre_norm_formula(rng):
    layer = encoder(norm_first=True)
    x = mg.Tensor(rng.standard_normal((3, 2, 4)))
    n1 = layer.norm1(x)
    h = x + layer.self_attn(n1, n1, n1, need_weights=False)[0]
    expected = h + layer.linear2(F.relu(layer.linear1(layer.norm2(h))))
    np.testing.assert_allclose(layer(x).data, expected.data, rtol=1e-12, atol=1e-13)


def test_decoder_layer_is_the_formula(rng):
    for norm_first in (False, True):
        layer = decoder(norm_first=norm_first, activation=lambda t: t.tanh())
        x, mem = mg.Tensor(rng.standard_normal((3, 2, 4))), mg.Tensor(rng.standard_normal((5, 2, 4)))

        def sa(t, layer=layer):
            return layer.self_attn(t, t, t, need_weights=False)[0]

        def ca(t, layer=layer, mem=mem):
            return layer.multihead_attn(t, mem, mem, need_weights=False)[0]

        def ff(t, layer=layer):
            return layer.linear2(layer.linear1(t).tanh())

        if norm_first:
            h = x + sa(layer.norm1(x))
            h = h + ca(layer.norm2(h))
            expected = h + ff(layer.norm3(h))
        else:
            h = layer.norm1(x + sa(x))
            h = layer.norm2(h + ca(h))
            expected = layer.norm3(h + ff(h))
        np.testing.assert_allclose(layer(x, mem).data, expected.data, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_layer_gradcheck(norm_first, rng):
    layer = encoder(norm_first=norm_first, activation="gelu")
    x = leaf(rng.standard_normal((3, 2, 4)))
    mask = np.triu(np.ones((3, 3), bool), 1)
    kpm = np.array([[False, False, True], [False, False, False]])
    mg.gradcheck(lambda t: layer(t, src_mask=mask, src_key_padding_mask=kpm), x, **TOL)
    mg.gradcheck_module(layer, lambda out, _: (out * out).sum(), x, None, **TOL)


def test_decoder_layer_gradcheck(rng):
    layer = decoder(batch_first=True)
    x, mem = leaf(rng.standard_normal((2, 3, 4))), leaf(rng.standard_normal((2, 2, 4)))
    mask = np.triu(np.ones((3, 3), bool), 1)
    mg.gradcheck(lambda a, b: layer(a, b, tgt_mask=mask, memory_mask=np.zeros((3, 2))), (x, mem), **TOL)


def test_unbatched_input(rng):
    layer = encoder()
    x = rng.standard_normal((3, 4))
    np.testing.assert_allclose(layer(mg.Tensor(x)).data, layer(mg.Tensor(x[:, None]))[:, 0].data, rtol=1e-12)
    dec = decoder(batch_first=True)
    mem = rng.standard_normal((2, 4))
    np.testing.assert_allclose(
        dec(mg.Tensor(x), mg.Tensor(mem)).data, dec(mg.Tensor(x[None]), mg.Tensor(mem[None]))[0].data, rtol=1e-12
    )


def test_masks_block_where_true(rng):
    layer = encoder(batch_first=True)
    x = rng.standard_normal((1, 4, 4))
    causal = np.triu(np.ones((4, 4), bool), 1)
    full = layer(mg.Tensor(x), src_mask=causal).data
    changed = x.copy()
    changed[0, 3] += 1.0  # the last token changes: with the causal mask, earlier outputs do not
    out = layer(mg.Tensor(changed), src_mask=causal).data
    np.testing.assert_allclose(out[0, :3], full[0, :3], rtol=1e-12)
    assert not np.allclose(out[0, 3], full[0, 3])
    float_mask = np.where(causal, -np.inf, 0.0)
    np.testing.assert_allclose(layer(mg.Tensor(x), src_mask=float_mask).data, full, rtol=1e-12)


def test_dropout_is_active_in_training_only():
    layer = nn.TransformerEncoderLayer(4, 2, dim_feedforward=8, dropout=0.5, rng=np.random.default_rng(0))
    x = mg.Tensor(np.random.default_rng(1).standard_normal((5, 2, 4)))
    assert not np.allclose(layer(x).data, layer(x).data)
    layer.eval()
    np.testing.assert_array_equal(layer(x).data, layer(x).data)


def test_float32_stays_float32(rng):
    layer = nn.TransformerEncoderLayer(4, 2, dim_feedforward=8, dtype=np.float32, dropout=0.1)
    assert all(p.dtype == np.float32 for p in layer.parameters())
    x = leaf(rng.standard_normal((3, 2, 4)), dtype=np.float32)
    out = layer(x, src_mask=np.triu(np.ones((3, 3), bool), 1))
    assert out.dtype == np.float32
    out.sum().backward()
    assert x.grad.dtype == np.float32 and all(p.grad.dtype == np.float32 for p in layer.parameters())
    dec = nn.TransformerDecoderLayer(4, 2, dim_feedforward=8, dtype=np.float32)
    assert dec(x, x).dtype == np.float32


def test_errors(rng):
    layer = encoder(batch_first=True)
    x = mg.Tensor(rng.standard_normal((2, 3, 4)))
    with pytest.raises(ShapeError, match=r"TransformerEncoderLayer: src must be \(N, L, d_model\).*\(2, 3, 5\)"):
        layer(mg.ones((2, 3, 5)))
    with pytest.raises(ShapeError, match=r"TransformerEncoderLayer: src_mask of shape \(2, 2\).*\(3, 3\)"):
        layer(x, src_mask=np.zeros((2, 2), bool))
    with pytest.raises(ShapeError, match=r"TransformerEncoderLayer: src_key_padding_mask of shape \(2, 4\).*\(2, 3\)"):
        layer(x, src_key_padding_mask=np.zeros((2, 4), bool))
    with pytest.raises(ValueError, match="is_causal=True is a hint that src_mask"):
        layer(x, is_causal=True)
    dec = decoder()
    with pytest.raises(ShapeError, match=r"TransformerDecoderLayer: memory_mask of shape \(3, 3\).*\(3, 5\)"):
        dec(mg.ones((3, 2, 4)), mg.ones((5, 2, 4)), memory_mask=np.zeros((3, 3)))
    with pytest.raises(ShapeError, match=r"TransformerDecoderLayer: tgt_key_padding_mask"):
        dec(mg.ones((3, 2, 4)), mg.ones((5, 2, 4)), tgt_key_padding_mask=np.zeros((2, 5), bool))
    with pytest.raises(ShapeError, match="TransformerDecoderLayer: memory must be"):
        dec(mg.ones((3, 2, 4)), mg.ones((5, 2, 3)))
    with pytest.raises(ShapeError, match="both be batched"):
        dec(mg.ones((3, 2, 4)), mg.ones((5, 4)))
    with pytest.raises(ValueError, match="activation must be"):
        nn.TransformerEncoderLayer(4, 2, activation="tanh")
    with pytest.raises(TypeError, match="activation must be"):
        nn.TransformerDecoderLayer(4, 2, activation=3)
    with pytest.raises(ValueError, match="divisible"):
        nn.TransformerEncoderLayer(5, 2)
    with pytest.raises(TypeError, match="device"):
        nn.TransformerEncoderLayer(4, 2, device="cpu")
    with pytest.raises(ValueError, match="num_layers"):
        nn.TransformerEncoder(layer, -1)
    with pytest.raises(TypeError, match="encoder_layer"):
        nn.TransformerEncoder("layer", 2)


def test_encoder_stack_copies_the_layer_and_shares_its_generator(rng):
    gen = np.random.default_rng(0)
    layer = nn.TransformerEncoderLayer(4, 2, dim_feedforward=6, dropout=0.2, rng=gen)
    stack = nn.TransformerEncoder(layer, 2, norm=nn.LayerNorm(4))
    names = list(stack.state_dict())
    assert names == [f"layers.{i}.{k}" for i in range(2) for k in ENCODER_KEYS] + ["norm.weight", "norm.bias"]
    first, second = stack.layers[0], stack.layers[1]
    assert first is not layer and first.linear1.weight is not second.linear1.weight
    np.testing.assert_array_equal(first.linear1.weight.data, second.linear1.weight.data)  # PyTorch's deep copies
    assert first.dropout.rng is gen and second.self_attn.rng is gen  # one stream, not copies drawing alike
    assert len(stack.layers) == stack.num_layers == 2
    assert list(nn.TransformerEncoder(layer, 1).state_dict()) == [f"layers.0.{k}" for k in ENCODER_KEYS]


def test_encoder_stack_is_the_layers_in_turn(rng):
    layer = encoder()
    stack = nn.TransformerEncoder(layer, 2, norm=nn.LayerNorm(4))
    stack.layers[1].linear1.weight.data = rng.standard_normal((6, 4))
    x = mg.Tensor(rng.standard_normal((3, 2, 4)))
    mask = np.triu(np.ones((3, 3), bool), 1)
    kpm = np.array([[False, False, True], [False, False, False]])
    expected = stack.norm(stack.layers[1](stack.layers[0](x, mask, kpm), mask, kpm))
    np.testing.assert_allclose(stack(x, mask=mask, src_key_padding_mask=kpm).data, expected.data, rtol=1e-12)
    np.testing.assert_allclose(stack(x, mask=mask, is_causal=True).data, stack(x, mask=mask).data, rtol=1e-12)
    with pytest.raises(ValueError, match="is_causal"):
        stack(x, is_causal=True)


def test_causal_mask_detection():
    from microgradnn.nn.transformer import _is_causal_mask

    causal = np.triu(np.ones((3, 3), bool), 1)
    assert _is_causal_mask(causal, 3) and _is_causal_mask(np.where(causal, -np.inf, 0.0), 3)
    assert not _is_causal_mask(causal, 4) and not _is_causal_mask(~causal, 3) and not _is_causal_mask(causal * 1.0, 3)


def test_state_dict_round_trip(rng):
    a, b = encoder(), nn.TransformerEncoderLayer(4, 2, dim_feedforward=6, dropout=0.0)
    b.load_state_dict(a.state_dict())
    x = mg.Tensor(rng.standard_normal((3, 2, 4)))
    np.testing.assert_array_equal(a(x).data, b(x).data)


# ------------------------------------------------------------------ the PyTorch oracle
def close(ours, theirs, what):
    theirs = theirs.detach().numpy()
    assert ours.shape == tuple(theirs.shape), what
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-10, err_msg=what)


def compare_with_torch(ours, theirs, inputs, call, torch_call, rng):
    """Load the torch model's weights into ours; compare outputs, input and parameter grads in
    train and eval mode (dropout 0; inputs that require grad keep PyTorch off its fast path)."""
    torch = pytest.importorskip("torch")
    ours.load_state_dict({name: t.detach().numpy() for name, t in theirs.state_dict().items()})
    for train in (True, False):
        ours.train(train)
        theirs.train(train)
        mine = [leaf(a) for a in inputs]
        torchs = [torch.tensor(a, requires_grad=True) for a in inputs]
        for p in ours.parameters():
            p.grad = None
        theirs.zero_grad()
        out, tout = call(*mine), torch_call(*torchs)
        close(out.data, tout, f"output (train={train})")
        g = rng.standard_normal(out.shape)
        out.backward(g)
        tout.backward(torch.tensor(g))
        for i, (a, t) in enumerate(zip(mine, torchs, strict=True)):
            close(a.grad, t.grad, f"grad of input {i} (train={train})")
        tparams = dict(theirs.named_parameters())
        assert sorted(tparams) == sorted(n for n, _ in ours.named_parameters())
        for name, p in ours.named_parameters():
            close(p.grad, tparams[name].grad, f"grad of {name} (train={train})")


def torch_randomised(module):
    """Non-trivial biases and norms (PyTorch starts them at 0 and 1), so the check sees them."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    with torch.no_grad():
        for name, p in module.named_parameters():
            if name.endswith("bias") or "norm" in name:
                p.add_(0.3 * torch.randn_like(p))
    return module


@pytest.mark.parametrize("activation", ["relu", "gelu"])
@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
def test_encoder_layer_against_pytorch(activation, norm_first, batch_first, rng):
    torch = pytest.importorskip("torch")
    kwargs = dict(
        dim_feedforward=16, dropout=0.0, activation=activation, norm_first=norm_first, batch_first=batch_first
    )
    theirs = torch_randomised(torch.nn.TransformerEncoderLayer(8, 2, **kwargs).double())
    ours = nn.TransformerEncoderLayer(8, 2, **kwargs)
    n, length = 2, 5
    x = rng.standard_normal((n, length, 8) if batch_first else (length, n, 8))
    mask = np.triu(np.ones((length, length), bool), 1)
    kpm = np.zeros((n, length), bool)
    kpm[1, -2:] = True
    compare_with_torch(
        ours,
        theirs,
        [x],
        lambda t: ours(t, src_mask=mask, src_key_padding_mask=kpm),
        lambda t: theirs(t, src_mask=torch.tensor(mask), src_key_padding_mask=torch.tensor(kpm)),
        rng,
    )


@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_layer_against_pytorch(norm_first, rng):
    torch = pytest.importorskip("torch")
    kwargs = dict(dim_feedforward=16, dropout=0.0, norm_first=norm_first, batch_first=True)
    theirs = torch_randomised(torch.nn.TransformerDecoderLayer(8, 4, **kwargs).double())
    ours = nn.TransformerDecoderLayer(8, 4, **kwargs)
    tgt, memory = rng.standard_normal((2, 4, 8)), rng.standard_normal((2, 6, 8))
    tgt_mask = np.where(np.triu(np.ones((4, 4), bool), 1), -np.inf, 0.0)
    mem_kpm = np.zeros((2, 6), bool)
    mem_kpm[0, 0] = True
    memory_mask = rng.standard_normal((4, 6))
    compare_with_torch(
        ours,
        theirs,
        [tgt, memory],
        lambda a, b: ours(a, b, tgt_mask=tgt_mask, memory_mask=memory_mask, memory_key_padding_mask=mem_kpm),
        lambda a, b: theirs(
            a,
            b,
            tgt_mask=torch.tensor(tgt_mask),
            memory_mask=torch.tensor(memory_mask),
            memory_key_padding_mask=torch.tensor(mem_kpm).double().masked_fill(torch.tensor(mem_kpm), -np.inf),
        ),
        rng,
    )


def test_two_layer_encoder_against_pytorch(rng):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    layer = torch.nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0)
    theirs = torch.nn.TransformerEncoder(layer, 2, norm=torch.nn.LayerNorm(8), enable_nested_tensor=False).double()
    theirs = torch_randomised(theirs)
    ours = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0), 2, nn.LayerNorm(8))
    x = rng.standard_normal((5, 3, 8))
    mask = np.triu(np.ones((5, 5), bool), 1)
    compare_with_torch(
        ours, theirs, [x], lambda t: ours(t, mask=mask), lambda t: theirs(t, mask=torch.tensor(mask)), rng
    )


# ------------------------------------------------------------------ the names example
ROOT = Path(__file__).resolve().parent.parent


def test_names_example_quick_run_beats_the_bigram(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "names.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "Warning" not in result.stderr, result.stderr
    out = result.stdout
    losses = dict(re.findall(r"^(\w+) dev loss: (\S+)", out, re.M))
    assert set(losses) == {"bigram", "mlp", "transformer"}, out
    bigram = float(losses.pop("bigram"))
    assert all(float(v) < bigram for v in losses.values()), out
