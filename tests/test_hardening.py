"""Hardening: anomaly detection, hooks, gradient clipping, memory that does not grow, no
reference cycles, and random graphs of 2-30 ops checked against finite differences."""

import gc
import math
import tracemalloc
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import microgradnn as mg
from microgradnn import nn, optim
from microgradnn.testing import assert_grads_close


def quiet():
    """NumPy's own warnings for the NaN and inf these tests make on purpose."""
    return np.errstate(all="ignore")


# ------------------------------------------------------------------ detect_anomaly
def test_anomaly_in_forward_names_the_op_shapes_and_user_line():
    x = mg.Tensor([1.0, -1.0], requires_grad=True)
    with quiet(), mg.detect_anomaly(), pytest.raises(mg.AnomalyError) as info:
        y = x * 2
        z = y.log()  # the line that should be named  # noqa: F841
    message = str(info.value)
    assert "log produced nan in its result of shape (2,) (inputs of shapes (2,))" in message
    assert "test_hardening.py" in message and "z = y.log()  # the line that should be named" in message


def test_anomaly_in_backward_names_the_op_and_where_it_was_made():
    x = mg.Tensor([0.0, 4.0], requires_grad=True)
    with quiet(), mg.detect_anomaly():
        loss = x.sqrt().sum()  # sqrt's gradient at 0 is inf
        with pytest.raises(mg.AnomalyError) as info:
            loss.backward()
    message = str(info.value)
    assert "the backward of sqrt produced inf in the gradient for its input 0 (shape (2,))" in message
    assert "loss = x.sqrt().sum()" in message


def test_anomaly_mode_is_off_by_default_and_restored_after_nesting():
    x = mg.Tensor([1.0], requires_grad=True)
    y = x * 2
    assert "anomaly_site" not in y.grad_fn.__dict__
    with quiet():
        inf = x * float("inf")  # no error when off
    assert np.isinf(inf.data).all()
    with mg.detect_anomaly():
        with mg.detect_anomaly():
            pass
        with pytest.raises(mg.AnomalyError):
            x * float("inf")
    x * float("inf")


def test_anomaly_mode_leaves_healthy_training_alone():
    model = nn.MLP(3, 4, 1, rng=np.random.default_rng(0))
    with mg.detect_anomaly():
        loss = nn.MSELoss()(model(mg.ones((2, 3))), np.zeros((2, 1)))
        loss.backward()
    assert all(p.grad is not None for p in model.parameters())


# ------------------------------------------------------------------ hooks
def test_hooks_replace_or_observe_gradients_in_order():
    x = mg.Tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    seen = []
    h.register_hook(lambda g: seen.append(g.copy()))  # observe: returns None
    h.register_hook(lambda g: g * 2)  # replace
    handle = h.register_hook(lambda g: g + 1)
    (h * h).sum().backward()
    np.testing.assert_array_equal(seen[0], 2 * h.data)
    np.testing.assert_array_equal(x.grad, 3 * (2 * (2 * h.data) + 1))
    handle.remove()
    handle.remove()
    x.grad = None
    (x * 3 * 1).sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 3.0])


def test_leaf_hooks_run_before_accumulation_and_apply_to_grad():
    w = mg.Tensor([1.0, -4.0], requires_grad=True)
    w.register_hook(lambda g: np.clip(g, -1, 1))
    (w * 10).sum().backward()
    np.testing.assert_array_equal(w.grad, [1.0, 1.0])
    (gw,) = mg.grad((w * -10).sum(), w)
    np.testing.assert_array_equal(gw.data, [-1.0, -1.0])


def test_hooks_see_tensors_under_create_graph():
    x = mg.Tensor([2.0], requires_grad=True)
    kinds = []
    x.register_hook(lambda g: kinds.append(type(g).__name__))
    (g,) = mg.grad(x**3, x, create_graph=True)
    assert kinds == ["Tensor"] and g.item() == 12.0


def test_hook_errors():
    with pytest.raises(RuntimeError, match="register_hook: this tensor does not require grad"):
        mg.Tensor([1.0]).register_hook(lambda g: g)
    x = mg.Tensor([1.0, 2.0], requires_grad=True)
    x.register_hook(lambda g: g[:1])
    with pytest.raises(
        mg.ShapeError, match=r"register_hook: a hook returned a gradient of shape \(1,\) for a tensor of shape \(2,\)"
    ):
        x.sum().backward()


# ------------------------------------------------------------------ clipping
def test_clip_grad_norm_matches_the_hand_computation(rng):
    params = [mg.Tensor(np.zeros(s), requires_grad=True) for s in ((3, 2), (4,))]
    grads = [rng.standard_normal(s) * 5 for s in ((3, 2), (4,))]
    for p, g in zip(params, grads, strict=True):
        p.grad = g.copy()
    total = nn.utils.clip_grad_norm_(params, max_norm=1.0)
    expected = math.sqrt(sum(float((g**2).sum()) for g in grads))
    assert total == pytest.approx(expected)
    for p, g in zip(params, grads, strict=True):
        np.testing.assert_allclose(p.grad, g * 1.0 / (expected + 1e-6))
    assert nn.utils.clip_grad_norm_(params, max_norm=10.0) == pytest.approx(1.0, rel=1e-5)  # no change below max
    inf_norm = nn.utils.clip_grad_norm_(params, max_norm=0.1, norm_type=math.inf)
    assert inf_norm == pytest.approx(max(np.abs(p.grad).max() for p in params) / (0.1 / (inf_norm + 1e-6)), rel=1e-5)


def test_clip_grad_value_and_dtypes_and_skipping_missing_grads():
    a = mg.Tensor(np.zeros(3, dtype=np.float32), requires_grad=True)
    b = mg.Tensor(np.zeros(2), requires_grad=True)
    a.grad = np.array([-3.0, 0.5, 9.0], dtype=np.float32)
    nn.utils.clip_grad_value_([a, b], 1.0)
    np.testing.assert_array_equal(a.grad, [-1.0, 0.5, 1.0])
    assert a.grad.dtype == np.float32 and b.grad is None
    a.grad = np.full(3, 100.0, dtype=np.float32)
    nn.utils.clip_grad_norm_(a, 1.0)
    assert a.grad.dtype == np.float32
    with pytest.raises(ValueError, match="max_norm must be >= 0"):
        nn.utils.clip_grad_norm_([a], -1)


# ------------------------------------------------------------------ memory
def train_steps(model, opt, x, y, steps):
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(steps):
        loss = loss_fn(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()


def test_a_training_loop_does_not_grow_memory():
    rng = np.random.default_rng(0)
    model = nn.MLP(8, 16, 3, activation=nn.ReLU, rng=rng)
    opt = optim.Adam(model.parameters(), lr=1e-3)
    x, y = mg.Tensor(rng.standard_normal((32, 8))), rng.integers(0, 3, 32)
    train_steps(model, opt, x, y, 50)  # optimizer state

    def our_bytes():
        # Only what the library's own lines allocated and still hold (not pytest's, nor
        # tracemalloc's own bookkeeping).
        snapshot = tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(True, "*microgradnn*")])
        return sum(stat.size for stat in snapshot.statistics("filename"))

    tracemalloc.start()
    try:
        # Warm up first: Python keeps up to 2,000 freed tuples of each size for reuse, and
        # tracemalloc counts them until that cache is full.
        train_steps(model, opt, x, y, 3000)
        before, objects_before = our_bytes(), len(gc.get_objects())
        train_steps(model, opt, x, y, 1500)
        after, objects_after = our_bytes(), len(gc.get_objects())
    finally:
        tracemalloc.stop()
    assert after - before < 4_000, f"memory grew by {after - before} bytes over 1500 steps"
    assert objects_after - objects_before < 20, f"{objects_after - objects_before} more live objects"


def test_training_creates_no_reference_cycles():
    rng = np.random.default_rng(0)
    model = nn.MLP(4, 8, 2, rng=rng)
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x, y = mg.Tensor(rng.standard_normal((8, 4))), rng.integers(0, 2, 8)
    train_steps(model, opt, x, y, 3)
    gc.collect()
    gc.disable()
    try:
        train_steps(model, opt, x, y, 20)
        with warnings.catch_warnings():
            mg.grad((model(x) ** 2).sum(), list(model.parameters()), create_graph=True)
        unreachable = gc.collect()
    finally:
        gc.enable()
    assert unreachable == 0, f"{unreachable} objects were only freed by the cycle collector"


def test_the_graph_is_freed_once_the_loss_is_dropped():
    import weakref

    x = mg.Tensor(np.ones((3, 3)), requires_grad=True)
    hidden = (x @ x).tanh()
    probe = weakref.ref(hidden)
    loss = (hidden * 2).sum()
    del hidden
    assert probe() is not None  # held by the graph of `loss`
    loss.backward()
    assert probe() is None  # backward released the graph, though `loss` is still alive
    assert loss.grad_fn.saved_tensors is None and loss.grad_fn.inputs == ()


# ------------------------------------------------------------------ random graphs
UNARY = [
    ("tanh", lambda a: a.tanh()),
    ("sigmoid", lambda a: a.sigmoid()),
    ("square", lambda a: a * a),
    ("exp_tanh", lambda a: a.tanh().exp()),
    ("neg", lambda a: -a),
    ("scale", lambda a: a * 1.5 - 0.25),
    ("softmax", lambda a: a.softmax(axis=-1) if a.ndim else a.sigmoid()),
    ("log_softmax", lambda a: a.log_softmax(axis=0) if a.ndim else a.tanh()),
    ("sum_keep", lambda a: a.sum(axis=-1, keepdims=True) if a.ndim else a * 2),
    ("mean", lambda a: a.mean()),
    ("transpose", lambda a: a.T),
    ("flatten", lambda a: a.reshape(-1)),
    ("logsumexp", lambda a: a.logsumexp(axis=0) if a.ndim else a),
    ("slice", lambda a: a[..., :1] if a.ndim else a),
    ("var", lambda a: a.var(axis=-1, keepdims=True) if a.ndim else a * a),
    ("pow3", lambda a: (a * 0.5) ** 3),
    ("broadcast", lambda a: a.broadcast_to((2,) + a.shape)),
]
BINARY = [
    ("add", lambda a, b: a + b),
    ("sub", lambda a, b: a - b),
    ("mul", lambda a, b: a * b),
    ("div", lambda a, b: a / (1 + b * b)),
    ("stack", lambda a, b: mg.stack([a, b]).sum(axis=0)),
]


def broadcastable(*shapes):
    try:
        np.broadcast_shapes(*shapes)
        return True
    except ValueError:
        return False


@st.composite
def programs(draw):
    """A random graph: leaves of broadcast-compatible shapes, then 2-30 smooth ops on them."""
    n_leaves = draw(st.integers(1, 3))
    shapes = draw(
        hnp.mutually_broadcastable_shapes(num_shapes=n_leaves, min_dims=0, max_dims=3, max_side=3)
    ).input_shapes
    leaves = tuple(
        mg.Tensor(draw(hnp.arrays(np.float64, s, elements=st.floats(-2, 2))), requires_grad=True) for s in shapes
    )
    steps = []
    pool_shapes = list(shapes)
    for _ in range(draw(st.integers(2, 30))):
        if len(pool_shapes) > 1 and draw(st.booleans()):
            name = draw(st.sampled_from([n for n, _ in BINARY]))
            i = draw(st.integers(0, len(pool_shapes) - 1))
            j = draw(st.integers(0, len(pool_shapes) - 1))
            if name == "stack" and pool_shapes[i] != pool_shapes[j]:
                name = "add"
            if not broadcastable(pool_shapes[i], pool_shapes[j]):
                steps.append(("sum_then", name, i, j))  # combine with the other's sum instead
                pool_shapes.append(pool_shapes[i])
                continue
            steps.append(("binary", name, i, j))
            pool_shapes.append(np.broadcast_shapes(pool_shapes[i], pool_shapes[j]))
        else:
            name = draw(st.sampled_from([n for n, _ in UNARY]))
            i = draw(st.integers(0, len(pool_shapes) - 1))
            if name == "broadcast" and len(pool_shapes[i]) >= 3:
                name = "tanh"
            steps.append(("unary", name, i, None))
            pool_shapes.append(dict(UNARY)[name](mg.zeros(pool_shapes[i])).shape)
    return leaves, steps


def replay(steps):
    unary, binary = dict(UNARY), dict(BINARY)

    def run(*leaves):
        pool = list(leaves)
        for kind, name, i, j in steps:
            if kind == "unary":
                pool.append(unary[name](pool[i]))
            elif kind == "binary":
                pool.append(binary[name](pool[i], pool[j]))
            else:
                pool.append(binary[name if name != "stack" else "add"](pool[i], pool[j].sum()))
        return pool[-1]

    return run


@given(programs())
def test_random_graphs_of_2_to_30_ops_have_correct_gradients(program):
    leaves, steps = program
    assert_grads_close(replay(steps), leaves, atol=1e-6, rtol=1e-5)
