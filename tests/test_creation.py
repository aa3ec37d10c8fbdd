"""Factories and random sampling: values against NumPy, dtypes, shapes, reproducibility from
manual_seed, distribution sanity (seeded, loose bounds), and bad arguments."""

import numpy as np
import pytest

import microgradnn as mg


def test_eye_linspace_logspace():
    np.testing.assert_array_equal(mg.eye(3).data, np.eye(3))
    np.testing.assert_array_equal(mg.eye(2, 4).data, np.eye(2, 4))
    assert mg.eye(2, dtype="float32").dtype == np.float32
    assert mg.eye(2, requires_grad=True).requires_grad
    np.testing.assert_allclose(mg.linspace(-1, 2, 7).data, np.linspace(-1, 2, 7))
    np.testing.assert_allclose(mg.logspace(0, 3, 4, base=2.0).data, [1.0, 2.0, 4.0, 8.0])
    assert mg.linspace(0, 1, 3, dtype="float32").dtype == np.float32
    assert mg.linspace(0, 1, 0).shape == (0,)
    with pytest.raises(ValueError, match="linspace"):
        mg.linspace(0, 1, -1)
    with pytest.raises(ValueError, match="eye"):
        mg.eye(-2)


@pytest.mark.parametrize("indexing", ["ij", "xy"])
def test_meshgrid_matches_numpy_and_is_differentiable(indexing):
    x, y, z = mg.Tensor([1.0, 2.0, 3.0], requires_grad=True), mg.Tensor([4.0, 5.0]), mg.Tensor([6.0, 7.0, 8.0, 9.0])
    ours = mg.meshgrid(x, y, z, indexing=indexing)
    theirs = np.meshgrid(x.data, y.data, z.data, indexing=indexing)
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(a.data, b)
    ours[0].sum().backward()
    np.testing.assert_array_equal(x.grad, [8.0, 8.0, 8.0])
    assert mg.meshgrid([x, y])[0].shape == (3, 2)
    with pytest.raises(ValueError, match="meshgrid"):
        mg.meshgrid(x, indexing="ji")


def test_full_like_empty_empty_like():
    base = mg.zeros((2, 3), dtype="float32")
    filled = mg.full_like(base, 2.5)
    assert filled.dtype == np.float32 and filled.tolist() == [[2.5] * 3] * 2
    assert mg.full_like(base, 1.0, dtype="float64").dtype == np.float64
    assert mg.empty(2, 3).shape == (2, 3) and mg.empty((4,), dtype="float32").dtype == np.float32
    assert mg.empty_like(base).shape == (2, 3) and mg.empty_like(base).dtype == np.float32


@pytest.mark.parametrize("row,col,offset", [(3, 3, 0), (3, 4, 1), (4, 2, -1), (0, 3, 0)])
def test_tril_triu_indices(row, col, offset):
    lower, upper = mg.tril_indices(row, col, offset), mg.triu_indices(row, col, offset)
    assert lower.dtype == np.int64 and not lower.requires_grad
    np.testing.assert_array_equal(lower.data, np.stack(np.tril_indices(row, offset, col)).reshape(2, -1))
    np.testing.assert_array_equal(upper.data, np.stack(np.triu_indices(row, offset, col)).reshape(2, -1))


def test_tril_indices_match_torch():
    torch = pytest.importorskip("torch")
    for args in [(3, 3, 0), (3, 5, 1), (5, 3, -2)]:
        np.testing.assert_array_equal(mg.tril_indices(*args).data, torch.tril_indices(*args).numpy())
        np.testing.assert_array_equal(mg.triu_indices(*args).data, torch.triu_indices(*args).numpy())


# ------------------------------------------------------------------ random
def draws():
    probs = mg.Tensor([[0.1, 0.2, 0.7], [0.5, 0.5, 0.0]])
    return [
        mg.multinomial(probs, 2),
        mg.multinomial(probs, 5, replacement=True),
        mg.randint(0, 10, (3,)),
        mg.randperm(5),
        mg.normal(0.0, 1.0, (3,)),
        mg.bernoulli(mg.full((4,), 0.5)),
    ]


def test_random_is_reproducible_from_manual_seed_and_generator():
    mg.manual_seed(7)
    first = draws()
    mg.manual_seed(7)
    second = draws()
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a.data, b.data)
    a = mg.randint(0, 100, (5,), generator=np.random.default_rng(3))
    b = mg.randint(0, 100, (5,), generator=np.random.default_rng(3))
    np.testing.assert_array_equal(a.data, b.data)
    with pytest.raises(TypeError, match="generator"):
        mg.randperm(3, generator=3)
    c = mg.rand(3, generator=np.random.default_rng(5))
    np.testing.assert_array_equal(c.data, mg.rand(3, rng=np.random.default_rng(5)).data)
    with pytest.raises(TypeError, match="randn"):
        mg.randn(2, rng=np.random.default_rng(), generator=np.random.default_rng())
    assert mg.normal(0.0, 1.0, (2,), requires_grad=True).requires_grad


def test_integer_results_are_int64_without_grad():
    for t in (mg.multinomial(mg.ones(3), 2), mg.randint(5, (2, 2)), mg.randperm(4)):
        assert t.dtype == np.int64 and not t.requires_grad


def test_randint_randperm_ranges(rng):
    x = mg.randint(-3, 4, (1000,), generator=rng)
    assert x.data.min() == -3 and x.data.max() == 3
    assert mg.randint(3, (2, 5)).shape == (2, 5)
    np.testing.assert_array_equal(np.sort(mg.randperm(10, generator=rng).data), np.arange(10))
    assert mg.randperm(0).shape == (0,)
    with pytest.raises(ValueError, match="randint"):
        mg.randint(5, 5, (2,))
    with pytest.raises(TypeError, match="randint"):
        mg.randint(5)
    with pytest.raises(ValueError, match="randperm"):
        mg.randperm(-1)


def test_multinomial_distribution_and_shapes(rng):
    probs = np.array([0.1, 0.2, 0.3, 0.4])
    samples = mg.multinomial(mg.Tensor(probs * 10), 20000, replacement=True, generator=rng)
    assert samples.shape == (20000,)
    frequencies = np.bincount(samples.data, minlength=4) / 20000
    np.testing.assert_allclose(frequencies, probs, atol=0.02)
    rows = mg.multinomial(mg.Tensor([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]), 3, replacement=True, generator=rng)
    np.testing.assert_array_equal(rows.data, [[1, 1, 1], [0, 0, 0]])


def test_multinomial_without_replacement_is_distinct_and_weighted(rng):
    weights = mg.Tensor(np.tile([1.0, 2.0, 3.0, 4.0, 0.0], (2000, 1)))
    samples = mg.multinomial(weights, 3, generator=rng).data
    assert samples.shape == (2000, 3)
    assert all(len(set(row)) == 3 for row in samples)
    assert not (samples == 4).any()  # a zero weight is never drawn
    first = np.bincount(samples[:, 0], minlength=5) / 2000
    np.testing.assert_allclose(first, [0.1, 0.2, 0.3, 0.4, 0.0], atol=0.04)
    with pytest.raises(ValueError, match="multinomial"):
        mg.multinomial(mg.Tensor([1.0, 0.0]), 2)


def test_multinomial_bad_arguments():
    with pytest.raises(ValueError, match="multinomial"):
        mg.multinomial(mg.Tensor([1.0, -1.0]), 1)
    with pytest.raises(ValueError, match="multinomial"):
        mg.multinomial(mg.Tensor([0.0, 0.0]), 1)
    with pytest.raises(ValueError, match="multinomial"):
        mg.multinomial(mg.Tensor([1.0, 1.0]), 0)
    with pytest.raises(mg.ShapeError, match="multinomial"):
        mg.multinomial(mg.ones((2, 2, 2)), 1)


def test_normal_and_bernoulli(rng):
    x = mg.normal(2.0, 3.0, (20000,), generator=rng)
    assert x.dtype == np.float64 and not x.requires_grad
    assert abs(x.data.mean() - 2.0) < 0.1 and abs(x.data.std() - 3.0) < 0.1
    means = mg.Tensor([0.0, 100.0], dtype="float32")
    y = mg.normal(means, mg.Tensor([1e-3, 1e-3], dtype="float32"), generator=rng)
    assert y.dtype == np.float32 and abs(y.data[1] - 100) < 0.1
    assert mg.normal(means, 1.0).shape == (2,)
    with pytest.raises(ValueError, match="normal"):
        mg.normal(0.0, -1.0, (2,))
    with pytest.raises(mg.ShapeError, match="normal"):
        mg.normal(mg.zeros(3), mg.ones(2))
    p = mg.full((20000,), 0.3, dtype="float32")
    b = mg.bernoulli(p, generator=rng)
    assert b.dtype == np.float32 and set(np.unique(b.data)) <= {0.0, 1.0}
    assert abs(b.data.mean() - 0.3) < 0.02
    assert p.bernoulli(0.0).data.sum() == 0.0
    with pytest.raises(ValueError, match="bernoulli"):
        mg.bernoulli(mg.Tensor([1.5]))
    counts = mg.Tensor([[0.0, 1.0]]).multinomial(1)
    assert counts.tolist() == [[1]]


def test_randint_takes_a_dtype():
    mg.manual_seed(0)
    ints = mg.randint(0, 7, (50,))
    mg.manual_seed(0)
    floats = mg.randint(0, 7, (50,), dtype=np.float32)
    assert ints.dtype == np.int64 and floats.dtype == np.float32
    np.testing.assert_array_equal(ints.data, floats.data)
    assert mg.randint(3, (2,), dtype=np.int32).dtype == np.int32
    with pytest.raises(TypeError, match="randint: dtype must be an integer or floating type"):
        mg.randint(3, (2,), dtype=bool)
