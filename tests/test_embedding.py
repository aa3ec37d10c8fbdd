"""Embedding (ops/embedding.py, nn/embedding.py): lookups against NumPy indexing, gradients
(repeated indices accumulate, the padding row gets none) against finite differences and a
np.add.at reference, second derivatives, index checks, from_pretrained, state_dict, float32,
and an optional PyTorch oracle."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import microgradnn as mg
from microgradnn import nn
from microgradnn.errors import ShapeError
from microgradnn.nn import functional as F


def _reference_grad(indices, g, num, padding_idx=None):
    out = np.zeros((num, g.shape[-1]))
    np.add.at(out, indices.reshape(-1), g.reshape(-1, g.shape[-1]))
    if padding_idx is not None:
        out[padding_idx] = 0
    return out


# ------------------------------------------------------------------ forward and backward
@given(
    num=st.integers(1, 6),
    dim=st.integers(1, 4),
    shape=st.lists(st.integers(0, 3), min_size=0, max_size=3).map(tuple),
    seed=st.integers(0, 2**16),
)
def test_lookup_and_gradient_match_numpy(num, dim, shape, seed):
    r = np.random.default_rng(seed)
    weight = r.standard_normal((num, dim))
    idx = r.integers(0, num, shape)
    w = mg.Tensor(weight, requires_grad=True)
    out = F.embedding(idx, w)
    assert out.shape == shape + (dim,)
    np.testing.assert_array_equal(out.data, weight[idx])
    g = r.standard_normal(out.shape)
    out.backward(g)
    np.testing.assert_allclose(w.grad, _reference_grad(idx, g, num), rtol=1e-12, atol=1e-12)


@given(num=st.integers(1, 5), dim=st.integers(1, 3), n=st.integers(1, 6), seed=st.integers(0, 2**16))
def test_gradcheck(num, dim, n, seed):
    r = np.random.default_rng(seed)
    idx = r.integers(0, num, (n,))
    w = mg.Tensor(r.standard_normal((num, dim)), requires_grad=True)
    c = r.standard_normal((n, dim))
    mg.gradcheck(lambda t: (F.embedding(idx, t) ** 2 * c).sum(), w)


def test_repeated_indices_accumulate():
    emb = nn.Embedding(4, 2, rng=np.random.default_rng(0))
    emb([[1, 1], [1, 3]]).sum().backward()
    np.testing.assert_array_equal(emb.weight.grad, [[0, 0], [3, 3], [0, 0], [1, 1]])


def test_second_derivative():
    r = np.random.default_rng(1)
    idx = np.array([[0, 2], [2, 2]])
    w = mg.Tensor(r.standard_normal((3, 2)), requires_grad=True)
    (g,) = mg.grad((F.embedding(idx, w, padding_idx=0) ** 3).sum(), w, create_graph=True)
    counts = np.bincount(idx.ravel(), minlength=3)[:, None] * np.array([[0], [1], [1]])
    np.testing.assert_allclose(g.data, 3 * w.data**2 * counts)
    (h,) = mg.grad(g.sum(), w)
    np.testing.assert_allclose(h.data, 6 * w.data * counts)


def test_index_forms_are_equivalent():
    emb = nn.Embedding(5, 3, rng=np.random.default_rng(2))
    expected = emb.weight.data[[[4, 0], [1, 1]]]
    for idx in ([[4, 0], [1, 1]], np.array([[4, 0], [1, 1]], np.int32), mg.Tensor([[4, 0], [1, 1]])):
        np.testing.assert_array_equal(emb(idx).data, expected)
    np.testing.assert_array_equal(emb(np.uint8(3)).data, emb.weight.data[3])  # a 0-d index: one row
    assert emb(np.zeros((2, 0), np.int64)).shape == (2, 0, 3)


# ------------------------------------------------------------------ the layer
def test_init_is_standard_normal_and_seeded():
    a = nn.Embedding(400, 50, rng=np.random.default_rng(3))
    b = nn.Embedding(400, 50, rng=np.random.default_rng(3))
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    assert abs(a.weight.data.mean()) < 0.02 and abs(a.weight.data.std() - 1) < 0.02
    assert a.weight.shape == (400, 50) and a.weight.requires_grad
    assert [name for name, _ in a.named_parameters()] == ["weight"]


@pytest.mark.parametrize("padding_idx, row", [(2, 2), (-1, 4), (-5, 0)])
def test_padding_row_is_zero_and_gets_no_gradient(padding_idx, row):
    emb = nn.Embedding(5, 3, padding_idx=padding_idx, rng=np.random.default_rng(4))
    assert emb.padding_idx == row
    np.testing.assert_array_equal(emb.weight.data[row], 0)
    g = np.random.default_rng(5).standard_normal((3, 3))
    idx = np.array([row, 1, row])
    emb(idx).backward(g)
    np.testing.assert_allclose(emb.weight.grad, _reference_grad(idx, g, 5, row))
    assert "padding_idx" in repr(emb)


def test_from_pretrained():
    table = np.arange(6.0).reshape(3, 2)
    emb = nn.Embedding.from_pretrained(table)
    assert not emb.weight.requires_grad and emb.num_embeddings == 3 and emb.embedding_dim == 2
    np.testing.assert_array_equal(emb([2, 0]).data, [[4, 5], [0, 1]])
    table[0, 0] = 100  # the layer keeps a copy
    assert emb.weight.data[0, 0] == 0
    trainable = nn.Embedding.from_pretrained(np.ones((3, 2), np.float32), freeze=False, padding_idx=1)
    assert trainable.weight.requires_grad and trainable.weight.dtype == np.float32
    np.testing.assert_array_equal(trainable.weight.data[1], 1)  # kept as given, as in PyTorch
    trainable([1, 2]).sum().backward()
    np.testing.assert_array_equal(trainable.weight.grad, [[0, 0], [0, 0], [1, 1]])
    with pytest.raises(ShapeError, match=r"Embedding.from_pretrained.*2-D.*\(6,\)"):
        nn.Embedding.from_pretrained(np.ones(6))


def test_float32_end_to_end():
    emb = nn.Embedding(4, 3, dtype=np.float32, rng=np.random.default_rng(6))
    out = emb([0, 3, 3])
    assert emb.weight.dtype == np.float32 and out.dtype == np.float32
    (out * out).sum().backward()
    assert emb.weight.grad.dtype == np.float32
    assert nn.Embedding(4, 3).to(np.float32)([1]).dtype == np.float32


def test_state_dict_round_trip():
    a = nn.Embedding(6, 2, rng=np.random.default_rng(7))
    b = nn.Embedding(6, 2, rng=np.random.default_rng(8))
    assert list(a.state_dict()) == ["weight"]
    b.load_state_dict(a.state_dict())
    np.testing.assert_array_equal(b([5, 1]).data, a([5, 1]).data)


# ------------------------------------------------------------------ errors
@pytest.mark.parametrize(
    "indices, error, message",
    [
        ([0, 4], IndexError, r"Embedding: index 4 is out of range for 4 embeddings \(valid indices: 0 to 3\)"),
        ([[-1, 0]], IndexError, r"Embedding: index -1 is out of range for 4 embeddings"),
        (mg.Tensor([1.0, 2.5]), TypeError, r"Embedding: indices must be whole numbers; got 2.5"),
        (np.array([np.nan]), TypeError, r"Embedding: indices must be whole numbers"),
        (np.array([True, False]), TypeError, r"Embedding: indices must be integers, not bool"),
        (["a"], TypeError, r"Embedding: indices must be integers"),
    ],
)
def test_bad_indices_raise(indices, error, message):
    emb = nn.Embedding(4, 2)
    with pytest.raises(error, match=message):
        emb(indices)


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match=r"Embedding: padding_idx 5 is out of range for 5 embeddings"):
        nn.Embedding(5, 2, padding_idx=5)
    with pytest.raises(ValueError, match=r"Embedding: padding_idx -6"):
        nn.Embedding(5, 2, padding_idx=-6)
    with pytest.raises(TypeError, match="padding_idx must be an int"):
        nn.Embedding(5, 2, padding_idx=1.0)
    with pytest.raises(ValueError, match="num_embeddings must be a non-negative int"):
        nn.Embedding(-1, 2)
    with pytest.raises(TypeError, match="max_norm"):
        nn.Embedding(5, 2, max_norm=1.0)
    with pytest.raises(ShapeError, match=r"embedding: weight must be 2-D.*\(3,\)"):
        F.embedding([0], mg.ones(3))
    with pytest.raises(IndexError, match="embedding: index 3 is out of range for 3"):
        F.embedding([3], mg.ones((3, 2)))
    with pytest.raises(ValueError, match="embedding: padding_idx 7"):
        F.embedding([0], mg.ones((3, 2)), padding_idx=7)


# ------------------------------------------------------------------ PyTorch
def test_matches_pytorch():
    torch = pytest.importorskip("torch")
    r = np.random.default_rng(9)
    idx = r.integers(0, 7, (3, 4))
    idx[0, :2] = 5  # the padding row appears, and repeats
    for padding_idx in (None, 5, -2):
        theirs = torch.nn.Embedding(7, 3, padding_idx=padding_idx, dtype=torch.float64)
        ours = nn.Embedding(7, 3, padding_idx=padding_idx)
        ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
        g = r.standard_normal((3, 4, 3))
        t_out = theirs(torch.from_numpy(idx))
        t_out.backward(torch.from_numpy(g))
        out = ours(idx)
        out.backward(g)
        assert ours.padding_idx == theirs.padding_idx
        np.testing.assert_allclose(out.data, t_out.detach().numpy(), rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(ours.weight.grad, theirs.weight.grad.numpy(), rtol=1e-10, atol=1e-10)
