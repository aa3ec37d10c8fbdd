"""Tensor construction, dtype rules, attributes and factories."""

import numpy as np
import pytest

import microgradnn as mg


def test_scalars_lists_and_integers_become_float64():
    for data in (3, 2.5, True, [1, 2], [[1.0, 2.0]], np.arange(3), np.array([True, False])):
        t = mg.Tensor(data)
        assert t.dtype == np.float64
        np.testing.assert_array_equal(t.data, np.asarray(data, dtype=np.float64))


def test_an_array_of_the_wanted_dtype_is_shared_not_copied():
    a = np.zeros(3)
    assert mg.Tensor(a).data is a
    b = np.zeros(3, dtype=np.float32)
    assert mg.Tensor(b).data is b
    assert mg.Tensor(b, dtype=np.float32).data is b
    c = mg.Tensor(b, dtype=np.float64)
    assert c.dtype == np.float64 and c.data is not b


@pytest.mark.parametrize("bad", ["abc", None, object(), [1, [2, 3]], [[1, 2], [3]], {"a": 1}, 1 + 2j])
def test_non_numeric_data_raises_type_error_naming_it(bad):
    with pytest.raises(TypeError, match=rf"Tensor: cannot make a tensor from {type(bad).__name__}"):
        mg.Tensor(bad)


def test_explicit_integer_dtype_makes_an_index_tensor_that_cannot_require_grad():
    i = mg.Tensor([1, 2], dtype=np.int64)
    assert i.dtype == np.int64 and not i.requires_grad
    with pytest.raises(TypeError, match="only floating tensors can require grad"):
        mg.Tensor([1, 2], dtype=np.int64, requires_grad=True)
    assert mg.Tensor([1, 2]).dtype == np.float64  # integer data without a dtype: float64
    with pytest.raises(TypeError, match="not a dtype"):
        mg.Tensor([1.0], dtype="nonsense")


def test_attributes():
    t = mg.Tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    assert (
        t.shape == (2, 3)
        and t.ndim == 2
        and t.numel() == 6
        and t.size() == (2, 3)
        and t.size(-1) == 3
        and t.dtype == np.float64
    )
    assert t.is_leaf and t.requires_grad and t.grad is None and t.grad_fn is None
    assert t.T.shape == (3, 2)
    assert t.numpy() is t.data
    assert mg.Tensor([[7.0]]).item() == 7.0
    with pytest.raises(ValueError, match=r"item: only a one-element tensor .* shape \(2, 3\)"):
        t.item()
    d = t.detach()
    assert d.data is t.data and not d.requires_grad and d.is_leaf
    assert t.astype(np.float32).dtype == np.float32
    assert t.astype(np.float64) is t
    assert len(t) == 2 and [row.shape for row in t] == [(3,), (3,)]
    assert np.asarray(t) is t.data
    assert t.tolist() == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]


def test_requires_grad_and_retain_grad_rules():
    t = mg.Tensor([1.0])
    assert t.requires_grad_() is t and t.requires_grad
    y = t * 2
    with pytest.raises(RuntimeError, match="only a leaf's requires_grad can be turned off"):
        y.requires_grad_(False)
    with pytest.raises(RuntimeError, match="retain_grad: this tensor does not require grad"):
        mg.Tensor([1.0]).retain_grad()


def test_requires_grad_can_be_set_on_leaves_only_and_on_floating_ones_only():
    t = mg.Tensor([1.0])
    t.requires_grad = True
    assert t.requires_grad and t.is_leaf
    y = t * 2
    for value in (False, True):  # PyTorch refuses both on a non-leaf
        with pytest.raises(RuntimeError, match=r"requires_grad: only a leaf's requires_grad can be set .* mul"):
            y.requires_grad = value
    assert y.requires_grad and y.grad_fn is not None  # unchanged: no silent detach
    assert y.requires_grad_(True) is y  # already so: allowed, as in PyTorch
    t.requires_grad = False
    assert not t.requires_grad and not (t * 2).requires_grad
    with mg.no_grad():
        z = t * 2
    z.requires_grad = True  # made without recording: a leaf
    assert z.requires_grad
    index = mg.Tensor([1.0, 3.0]).argmax()
    for make_it in (lambda: setattr(index, "requires_grad", True), lambda: index.requires_grad_(True)):
        with pytest.raises(TypeError, match="only floating tensors can require grad, not int64"):
            make_it()
    index.requires_grad = False
    assert not index.requires_grad


def test_format_specs_apply_to_one_value_and_no_spec_is_str():
    assert f"{mg.Tensor(2.0 / 3):.4f}" == "0.6667" and format(mg.Tensor([[1.5]]), ".1e") == "1.5e+00"
    assert f"{mg.Tensor([7.0], requires_grad=True):>6.1f}" == "   7.0"
    assert f"{mg.Tensor([1.0, 2.0]) > 1.5}" == str(mg.Tensor([1.0, 2.0]) > 1.5)
    assert format(mg.Tensor([True]), "") == str(mg.Tensor([True]))
    for t in (mg.Tensor(1.0), mg.Tensor([1.0, 2.0]), mg.zeros(2, 3), mg.Tensor([2.0], requires_grad=True) * 2):
        assert f"{t}" == format(t, "") == str(t) == repr(t)
    with pytest.raises(TypeError, match=r"format: a format spec \('.2f'\) applies to one value.*shape \(2,\)"):
        f"{mg.Tensor([1.0, 2.0]):.2f}"
    with pytest.raises(TypeError, match=r"shape \(0,\)"):
        format(mg.zeros(0), ".2f")


def test_astype_is_differentiable():
    x = mg.Tensor([1.0, 2.0], requires_grad=True)
    y = x.astype(np.float32)
    (y * y).sum().backward()
    assert x.grad.dtype == np.float64
    np.testing.assert_array_equal(x.grad, [2.0, 4.0])


def test_data_assignment_converts_and_counts():
    t = mg.Tensor([1.0, 2.0])
    t.data = [3, 4]
    assert t.dtype == np.float64 and t._version == 1
    with pytest.raises(TypeError, match="Tensor.data: cannot make a tensor from str"):
        t.data = "x"


def test_repr_is_short():
    assert repr(mg.Tensor([1.0, 2.0])) == "Tensor([1., 2.])"
    assert repr(mg.Tensor([1.0], requires_grad=True)) == "Tensor([1.], requires_grad=True)"
    assert repr(mg.Tensor([1.0], requires_grad=True) * 2) == "Tensor([2.], grad_fn=<mul>)"
    assert repr(mg.Tensor([1.0], dtype=np.float32)) == "Tensor([1.], dtype=float32)"
    assert len(repr(mg.zeros(1000, 1000))) < 400


def test_bool_of_one_element_only():
    assert bool(mg.Tensor([2.0]) > 1)
    with pytest.raises(ValueError, match="ambiguous"):
        bool(mg.Tensor([1.0, 2.0]))


def test_factories_take_dtype_and_requires_grad():
    for make in (mg.zeros, mg.ones):
        assert make(2, 3).shape == (2, 3) and make((2, 3)).shape == (2, 3)
        t = make(4, dtype=np.float32, requires_grad=True)
        assert t.dtype == np.float32 and t.requires_grad
    assert mg.full((2, 2), 7.0).data.tolist() == [[7.0, 7.0], [7.0, 7.0]]
    assert mg.arange(5).data.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert mg.arange(1, 2, 0.5, dtype=np.float32).dtype == np.float32
    base = mg.Tensor(np.ones((2, 3), dtype=np.float32))
    assert mg.zeros_like(base).dtype == np.float32 and mg.ones_like(base).shape == (2, 3)
    assert mg.zeros_like(base, dtype=np.float64).dtype == np.float64
    with pytest.raises(ValueError, match="zeros: a size is non-negative ints"):
        mg.zeros(-1)


def test_random_factories_are_reproducible_from_rng_or_manual_seed():
    a = mg.rand(3, 2, rng=np.random.default_rng(5))
    b = mg.rand(3, 2, rng=np.random.default_rng(5))
    np.testing.assert_array_equal(a.data, b.data)
    assert np.all((a.data >= 0) & (a.data < 1))
    mg.manual_seed(42)
    c = mg.randn(4, dtype=np.float32, requires_grad=True)
    mg.manual_seed(42)
    d = mg.randn(4, dtype=np.float32)
    np.testing.assert_array_equal(c.data, d.data)
    assert c.dtype == np.float32 and c.requires_grad
    mg.manual_seed(43)
    assert not np.array_equal(mg.randn(4, dtype=np.float32).data, d.data)


def test_tensor_hashes_by_identity():
    a, b = mg.Tensor([1.0]), mg.Tensor([1.0])
    assert len({a, b}) == 2
