"""The engine: backward semantics, grad(), second derivatives, no_grad, in-place rules,
version checks, deep graphs and memory release."""

import gc
import weakref

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import microgradnn as mg
from microgradnn.gradcheck import gradgradcheck, numerical_jacobian
from microgradnn.testing import tensors


def leaf(a):
    return mg.Tensor(a, requires_grad=True)


# ------------------------------------------------------------------ backward
def test_gradients_accumulate_across_backward_calls_like_pytorch():
    w = leaf([1.0, 2.0])
    (w * 3).sum().backward()
    (w * 3).sum().backward()
    np.testing.assert_array_equal(w.grad, [6.0, 6.0])
    w.grad = None
    (w * w).sum().backward()
    np.testing.assert_array_equal(w.grad, [2.0, 4.0])


def test_a_tensor_used_twice_gets_both_contributions():
    x = leaf(3.0)
    y = x * x + x  # dy/dx = 2x + 1
    y.backward()
    assert x.grad.item() == 7.0
    assert isinstance(x.grad, np.ndarray) and x.grad.shape == ()


def test_grads_are_independent_arrays():
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    seed = np.array([1.0, 1.0])
    (a + b).backward(seed)
    assert a.grad is not b.grad and a.grad is not seed
    a.grad[0] = 100.0
    assert b.grad[0] == 1.0 and seed[0] == 1.0


def test_non_scalar_backward_needs_a_gradient_of_its_shape():
    x = leaf([1.0, 2.0])
    y = x * 2
    with pytest.raises(RuntimeError, match=r"backward: the output has shape \(2,\); pass `gradient`"):
        y.backward()
    with pytest.raises(mg.ShapeError, match=r"gradient of shape \(3,\) does not match the output's shape \(2,\)"):
        y.backward(np.ones(3))
    y.backward(np.array([1.0, 10.0]))
    np.testing.assert_array_equal(x.grad, [2.0, 20.0])


def test_single_element_non_scalar_needs_no_gradient():
    x = leaf([[2.0]])
    (x * x).backward()
    assert x.grad.tolist() == [[4.0]]


def test_backward_on_a_tensor_without_grad_says_so():
    with pytest.raises(RuntimeError, match=r"backward: this tensor \(shape \(2,\)\) does not require grad"):
        mg.Tensor([1.0, 2.0]).backward(np.ones(2))


def test_intermediate_results_keep_grad_only_with_retain_grad():
    x = leaf([1.0, 2.0])
    h = x * 3
    k = x * 4
    h.retain_grad()
    (h * k).sum().backward()
    np.testing.assert_array_equal(h.grad, k.data)
    assert k.grad is None
    assert not h.is_leaf and x.is_leaf


def test_second_backward_through_a_freed_graph_raises_unless_retained():
    x = leaf(2.0)
    y = x.exp() * x
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad, 2 * (np.exp(2.0) * 3))
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()


def test_walk_is_iterative_for_a_chain_of_100000_ops_and_the_graph_is_released():
    x = leaf(1.0)
    y = x
    for _ in range(100_000):
        y = y * 1.000001
    middle = weakref.ref(y.grad_fn.inputs[0])
    y.backward()
    assert x.grad.item() == pytest.approx(1.000001**100_000, rel=1e-9)
    del y
    gc.collect()
    assert middle() is None


def test_backward_releases_saved_arrays_while_the_output_is_still_held():
    x = leaf(np.ones(1000))
    h = x.exp()
    loss = (h * 2).sum()
    node = h.grad_fn
    loss.backward()
    assert node.saved_tensors is None


# ------------------------------------------------------------------ grad()
def test_grad_returns_tensors_and_leaves_dot_grad_alone():
    x, w = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    loss = (x * w).sum()
    gx, gw = mg.grad(loss, (x, w))
    assert isinstance(gx, mg.Tensor) and not gx.requires_grad
    np.testing.assert_array_equal(gx.data, [3.0, 4.0])
    np.testing.assert_array_equal(gw.data, [1.0, 2.0])
    assert x.grad is None and w.grad is None


def test_grad_of_non_leaf_inputs_and_unused_inputs():
    x = leaf([1.0, 2.0])
    h = x * x
    unused = leaf(1.0)
    (gh,) = mg.grad((h * 3).sum(), h, retain_graph=True)
    np.testing.assert_array_equal(gh.data, [3.0, 3.0])
    assert h.grad is None
    with pytest.raises(RuntimeError, match="was not used"):
        mg.grad((h * 3).sum(), unused, retain_graph=True)
    assert mg.grad((h * 3).sum(), [x, unused], allow_unused=True)[1] is None


def test_second_derivatives_by_hand():
    x = leaf(np.array([-1.5, 0.2, 2.0]))
    cases = {
        "sigmoid": (mg.sigmoid, lambda v: (s := 1 / (1 + np.exp(-v))) * (1 - s) * (1 - 2 * s)),
        "tanh": (mg.tanh, lambda v: -2 * np.tanh(v) * (1 - np.tanh(v) ** 2)),
        "exp": (mg.exp, np.exp),
        "cube": (lambda t: t**3, lambda v: 6 * v),
    }
    for name, (op, second) in cases.items():
        (first,) = mg.grad(op(x).sum(), x, create_graph=True)
        assert first.requires_grad, name
        (again,) = mg.grad(first.sum(), x)
        np.testing.assert_allclose(again.data, second(x.data), rtol=1e-12, err_msg=name)
    y = leaf(np.array([0.5, 1.0, 3.0]))
    (first,) = mg.grad(mg.log(y).sum(), y, create_graph=True)
    np.testing.assert_allclose(mg.grad(first.sum(), y)[0].data, -1 / y.data**2, rtol=1e-12)


@pytest.mark.parametrize(
    "fn",
    [
        mg.sigmoid,
        mg.tanh,
        mg.exp,
        lambda t: mg.log(t.abs() + 0.5),
        lambda t: t**3,
        lambda t: mg.softmax(t, axis=-1),
        lambda t: mg.log_softmax(t, axis=0),
        lambda t: t.logsumexp(axis=1),
        lambda t: t.var(axis=0),
        lambda t: t @ t.T,
        lambda t: t / (t * t + 1),
        lambda t: (t * t + 1).sqrt(),
        lambda t: t[[0, 0, 1]].reshape(-1).mean(),
        lambda t: mg.concatenate([t, t * 2], axis=1).max(dim=1).values,
        lambda t: mg.stack([t, t.exp()]).sum(axis=0) ** 2,
        lambda t: t.T.broadcast_to((2, 3, 2)).sum(axis=0),
        lambda t: 2.0**t,
        lambda t: (t * t + 1) ** t,
    ],
)
def test_second_derivatives_match_finite_differences_of_first_derivatives(fn, rng):
    x = leaf(rng.uniform(-1, 1, (2, 3)))
    assert gradgradcheck(fn, x, atol=1e-6, rtol=1e-5)


def test_hessian_vector_product_of_a_two_layer_network(rng):
    x = mg.Tensor(rng.standard_normal((5, 3)))
    y = mg.Tensor(rng.uniform(0, 1, (5, 1)))
    w1 = leaf(rng.standard_normal((3, 4)))
    w2 = leaf(rng.standard_normal((4, 1)))
    v1, v2 = rng.standard_normal((3, 4)), rng.standard_normal((4, 1))

    def loss_of(a, b):
        return ((((x @ a).sigmoid() @ b).sigmoid() - y) ** 2).mean()

    g1, g2 = mg.grad(loss_of(w1, w2), (w1, w2), create_graph=True)
    hv1, hv2 = mg.grad((g1 * mg.Tensor(v1)).sum() + (g2 * mg.Tensor(v2)).sum(), (w1, w2))

    def gradient_at(a, b):
        ta, tb = leaf(a), leaf(b)
        return [g.data for g in mg.grad(loss_of(ta, tb), (ta, tb))]

    eps = 1e-6
    plus = gradient_at(w1.data + eps * v1, w2.data + eps * v2)
    minus = gradient_at(w1.data - eps * v1, w2.data - eps * v2)
    np.testing.assert_allclose(hv1.data, (plus[0] - minus[0]) / (2 * eps), rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(hv2.data, (plus[1] - minus[1]) / (2 * eps), rtol=1e-5, atol=1e-9)


# ------------------------------------------------------------------ no_grad and in-place
def test_no_grad_as_context_manager_and_decorator():
    w = leaf([1.0])
    with mg.no_grad():
        y = w * 2
        with mg.enable_grad():
            z = w * 2
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad

    @mg.no_grad()
    def step():
        return w * 2, mg.is_grad_enabled()

    out, enabled = step()
    assert not out.requires_grad and not enabled and mg.is_grad_enabled()


def test_ops_on_tensors_without_grad_record_nothing():
    a = mg.Tensor([1.0, 2.0])
    out = (a * 2).exp().sum()
    assert out.grad_fn is None and not out.requires_grad


def test_in_place_operators_need_no_grad_on_tensors_that_require_grad():
    w = leaf([1.0, 2.0])
    data = w.data
    with pytest.raises(RuntimeError, match=r"-=: in-place change of a tensor that requires grad.*no_grad\(\).*\.data"):
        w -= 1.0
    with mg.no_grad():
        w -= 1.0
        w *= 2
        w += mg.Tensor([1.0, 1.0])
        w /= 2
    assert w.data is data
    np.testing.assert_array_equal(w.data, [0.5, 1.5])
    plain = mg.Tensor([1.0])
    plain += 1  # no grad needed: allowed anywhere
    assert plain.item() == 2.0


def test_backward_refuses_a_saved_tensor_changed_in_place():
    w = leaf([1.0, 2.0])
    x = mg.Tensor([3.0, 4.0])
    loss = (w * x).sum()
    x += 1.0
    with pytest.raises(
        RuntimeError, match=r"mul: its input 1 \(shape \(2,\)\) was modified in place \(now at version 1\)"
    ):
        loss.backward()


def test_assigning_data_counts_as_a_change():
    w = leaf([1.0, 2.0])
    out = w.exp().sum()
    w.data -= 0.5  # `t.data -= x` is an assignment to .data
    assert w._version == 1
    with pytest.raises(RuntimeError, match="exp: its input 0 .* modified in place"):
        out.backward()
    out2 = (w + 1).sum()  # add saves nothing: a change does not matter to it
    w.data = np.zeros(2)
    out2.backward()
    np.testing.assert_array_equal(w.grad, [1.0, 1.0])


def test_changes_after_backward_are_the_normal_training_step():
    w = leaf([1.0, 2.0])
    for _ in range(3):
        loss = (w * w).sum()
        w.grad = None
        loss.backward()
        with mg.no_grad():
            w -= 0.1 * w.grad
    np.testing.assert_allclose(w.data, np.array([1.0, 2.0]) * 0.8**3)


# ------------------------------------------------------------------ property tests
@given(x=tensors(shape=(3, 2)), w=tensors(shape=(2, 4)))
def test_random_small_network_gradient_matches_numerical_jacobian(x, w):
    def f(wt):
        return ((x @ wt).tanh() * (x @ wt).sigmoid()).sum(axis=0)

    wt = leaf(w.data)
    out = f(wt)
    rows = []
    for k in range(out.numel()):
        seed = np.zeros(out.numel())
        seed[k] = 1
        rows.append(mg.grad(out, wt, grad_outputs=mg.Tensor(seed), retain_graph=True)[0].data.ravel())
    np.testing.assert_allclose(np.array(rows), numerical_jacobian(f, (wt,), 0), rtol=1e-6, atol=1e-8)


@given(st.integers(1, 30))
def test_sum_of_repeated_use_accumulates(n):
    x = leaf(2.0)
    total = x
    for _ in range(n - 1):
        total = total + x
    total.backward()
    assert x.grad.item() == n


def test_leaf_grads_never_alias_each_other_the_seed_or_a_custom_ops_arrays():
    a, b = leaf(np.ones((2, 2))), leaf(np.ones((2, 2)))
    seed = np.ones((2, 2))
    (a + b).backward(seed)
    assert not np.shares_memory(a.grad, b.grad) and not np.shares_memory(a.grad, seed)
    c = leaf(np.ones(4))
    c.reshape(2, 2).backward(seed)  # a view of the seed comes back
    assert not np.shares_memory(c.grad, seed)
    kept = np.full(3, 7.0)

    class Keeps(mg.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1

        @staticmethod
        def backward(ctx, g):
            return kept  # returns an array it holds on to

    d = leaf(np.zeros(3))
    Keeps.apply(d).sum().backward()
    d.grad[0] = 0.0
    assert kept[0] == 7.0
    e = leaf(np.ones(3))
    hooked = np.full(3, 2.0)
    e.register_hook(lambda g: hooked)
    (e * 1).sum().backward()
    e.grad[0] = 0.0
    assert hooked[0] == 2.0


# Public functions that are not differentiable ops, by why: they are checked elsewhere.
NOT_OPS = {
    "engine and tools": "backward grad is_grad_enabled sum_to gradcheck gradgradcheck gradcheck_module gradcheck_study "
    "save load compile",
    "creation (no inputs to differentiate)": "as_tensor zeros ones full rand randn arange zeros_like ones_like "
    "empty empty_like eye full_like linspace logspace meshgrid tril_indices triu_indices",
    "sampling and generators": "manual_seed default_generator multinomial randint randperm normal bernoulli",
    "dtype casts (differentiable through Tensor.astype, checked in test_tensor)": "astype",
    "indices and predicates (no gradient)": "argmax argmin argsort nonzero count_nonzero isnan isinf isfinite "
    "isclose allclose equal",
    "random masks (checked with a fixed mask in test_nn)": "dropout dropout1d dropout2d dropout3d alpha_dropout "
    "feature_alpha_dropout",
    "integer to one-hot (no gradient)": "one_hot",
}


def test_every_public_op_is_in_the_catalogue_of_checks():
    import inspect

    from microgradnn.builtin_checks import builtin_checks

    checked = {name.split(" ")[0] for name, _, _ in builtin_checks(np.random.default_rng(0))}
    excluded = {name for names in NOT_OPS.values() for name in names.split()}
    missing = []
    for module, prefix in ((mg, ""), (mg.nn.functional, "F."), (mg.linalg, "linalg.")):
        for name in module.__all__:
            obj = getattr(module, name)
            if not callable(obj) or inspect.isclass(obj) or inspect.ismodule(obj) or name in excluded:
                continue
            if name not in checked and prefix + name not in checked:
                missing.append(prefix + name)
    assert not missing, f"add these to microgradnn/builtin_checks.py (or to NOT_OPS, with the reason): {missing}"


def test_every_built_in_op_is_differentiable_twice():
    from microgradnn.builtin_checks import DIFFERENTIABLE_ONCE, builtin_checks

    for name, fn, inputs in builtin_checks(np.random.default_rng(0)):
        if name in DIFFERENTIABLE_ONCE:
            with pytest.raises(RuntimeError, match="differentiable once"):
                mg.gradgradcheck(fn, inputs)
            continue
        report = mg.gradgradcheck(fn, inputs, raise_exception=False, atol=1e-5, rtol=1e-4)
        assert report.passed, f"{name}:\n{report}"
