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
from microgradnn.nn import functional as F
from microgradnn.ops.attention import HeadAttention
from microgradnn.ops.recurrent import gru_layer, lstm_layer, rnn_layer
from microgradnn.ops.shape import ScatterAdd
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
    # Keep what the collector finds, to look at it: only the library's own objects count, as
    # other threads of the test process (a joblib or Dask pool left by another test) may make
    # garbage of their own meanwhile.
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        train_steps(model, opt, x, y, 20)
        with warnings.catch_warnings():
            mg.grad((model(x) ** 2).sum(), list(model.parameters()), create_graph=True)
        gc.collect()
        ours = [o for o in gc.garbage if isinstance(o, mg.Tensor | mg.Function | nn.Module)]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert not ours, f"{len(ours)} of the library's objects were only freed by the cycle collector: {ours[:3]}"


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
    ("var", lambda a: a.var(axis=-1, keepdims=True, ddof=0) if a.ndim else a * a),
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


# ------------------------------------------------------------------ hostile values, no warnings
# Every built-in op, forward and backward (and backward recorded, for a second derivative), on
# zeros of both signs, infinities, NaN, the largest and the smallest numbers of each dtype. NumPy
# would warn about overflow, division by zero and invalid values; the library computes as
# PyTorch does instead (inf or NaN is the result), and detect_anomaly() names the op. The test
# run turns RuntimeWarning into an error (pyproject.toml), and each case does so explicitly too.
def hostile(dtype):
    info = np.finfo(dtype)
    return np.array(
        [0.0, -0.0, np.inf, -np.inf, np.nan, info.max, -info.max, info.tiny, info.smallest_subnormal, 1.0, -1.0, 0.5],
        dtype=dtype,
    )


def hostile_grid(dtype):
    """a[i, j] = v[i] and b[i, j] = v[j]: every hostile value meets every other one."""
    v = hostile(dtype)
    a = np.repeat(v, len(v)).reshape(len(v), len(v))
    return a, a.T.copy()


def index_with_repeats():
    """Twelve rows, some of them more than once (their gradients add up)."""
    return np.array([0, 0, 3, 11, 3, 5, 5, 5, 1, 2, 0, 11])


# name of the op, number of tensor inputs, function (one op, applied to leaves)
def steps(a):
    """A leaf of a's values as a sequence (12 steps, batch 4, 3 features) for the recurrent ops."""
    return mg.Tensor(a.data.reshape(12, 4, 3), requires_grad=True)


H0 = np.zeros((4, 2))  # the recurrent ops' initial state
ONE_HEAD = dict(spec=((0, 0), (0, 1), (0, 2)), heads=1, embed=1, batch_first=False, dropout_p=0.0, rng=None)


def leaf_as(a, *shape):
    """A leaf of a's values in ``shape`` (a new leaf, so the op under test is the first to see them)."""
    return mg.Tensor(a.data.reshape(shape), requires_grad=True)


def image(a):
    """A leaf of a's values as an image batch (N=1, C=1, 12, 12) for the conv and pooling ops."""
    return leaf_as(a, 1, 1, 12, 12)


HOSTILE_OPS = [
    # (LINALG: products, matrices, mg.linalg. cross needs axes of length 3, and inv, slogdet and
    # solve a matrix that stays invertible once made finite, so they get leaves of their own.)
    ("einsum", 2, lambda a, b: mg.einsum("ij,jk->ik", a, b)),
    ("einsum", 1, lambda a: mg.einsum("ii->i", a)),
    ("cross", 2, lambda a, b: mg.cross(*(mg.Tensor(t.data.reshape(48, 3), requires_grad=True) for t in (a, b)))),
    ("tril", 1, lambda a: mg.tril(a, -1)),
    ("triu", 1, lambda a: mg.triu(a, 1)),
    ("diagonal", 1, lambda a: mg.diagonal(a, 1)),
    ("diag_embed", 1, lambda a: mg.diag_embed(a)),
    ("linalg.inv", 1, lambda a: mg.linalg.inv(invertible(a))),
    ("linalg.det", 1, lambda a: mg.linalg.det(a)),
    # (SVD refuses inf and NaN entries, with an error naming the op: the finite ones only.)
    (
        "linalg.svdvals",
        1,
        lambda a: mg.linalg.svdvals(mg.Tensor(np.nan_to_num(a.data, posinf=9, neginf=-9), requires_grad=True)),
    ),
    ("linalg.slogdet", 1, lambda a: mg.linalg.slogdet(invertible(a)).logabsdet),
    ("linalg.solve", 2, lambda a, b: mg.linalg.solve(invertible(a), b)),
    ("linalg.cholesky", 1, lambda a: mg.linalg.cholesky(a[9:, 9:] + a[9:, 9:].mT + mg.eye(3, dtype=a.dtype) * 10)),
    ("linalg.qr", 1, lambda a: mg.ops.linalg.QR.apply(a)),
    ("add", 2, lambda a, b: a + b),
    ("sub", 2, lambda a, b: a - b),
    ("mul", 2, lambda a, b: a * b),
    ("div", 2, lambda a, b: a / b),
    ("pow", 2, lambda a, b: a**b),
    ("pow", 1, lambda a: a**2),
    ("pow", 1, lambda a: a**0),
    ("pow", 1, lambda a: a**0.5),
    ("pow", 1, lambda a: a**-1),
    ("pow", 1, lambda a: a**-0.5),
    ("pow", 1, lambda a: a**3),
    ("pow", 1, lambda a: 2.0**a),
    ("pow", 1, lambda a: 0.0**a),
    ("pow", 1, lambda a: (-2.0) ** a),
    ("neg", 1, lambda a: -a),
    ("exp", 1, lambda a: a.exp()),
    ("log", 1, lambda a: a.log()),
    ("sqrt", 1, lambda a: a.sqrt()),
    ("abs", 1, lambda a: a.abs()),
    ("tanh", 1, lambda a: a.tanh()),
    ("sigmoid", 1, lambda a: a.sigmoid()),
    ("relu", 1, lambda a: a.relu()),
    ("leaky_relu", 1, lambda a: mg.leaky_relu(a, 0.01)),
    ("leaky_relu", 1, lambda a: mg.leaky_relu(a, 0.0)),
    ("leaky_relu", 1, lambda a: mg.leaky_relu(a, 3.0)),
    ("clip", 1, lambda a: a.clip(-1.0, 1.0)),
    ("maximum", 2, mg.maximum),
    ("minimum", 2, mg.minimum),
    ("where", 2, lambda a, b: mg.where(a.data > 0, a, b)),
    ("astype", 1, lambda a: a.astype(np.float32 if a.dtype == np.float64 else np.float64)),
    ("matmul", 2, lambda a, b: a @ b),
    ("matmul", 2, lambda a, b: a[0] @ b),
    ("sum", 1, lambda a: a.sum()),
    ("sum", 1, lambda a: a.sum(axis=0)),
    ("mean", 1, lambda a: a.mean()),
    ("mean", 1, lambda a: a.mean(axis=0)),
    ("mean", 1, lambda a: a[:0].mean()),  # of nothing: NaN, as NumPy's and PyTorch's
    ("max", 1, lambda a: a.max()),
    ("min", 1, lambda a: a.min()),
    ("amax", 1, lambda a: a.amax(axis=0)),
    ("amax", 1, lambda a: a.amax(axis=1)),
    ("amin", 1, lambda a: a.amin(axis=0)),
    ("take_along_dim", 1, lambda a: a.max(dim=1, keepdim=True).values),
    ("take_along_dim", 1, lambda a: a.sort(0).values),
    ("prod", 1, lambda a: a.prod(0)),
    ("prod", 1, lambda a: a.prod()),
    # Recurrent layers: the leaf's values as 12 steps of a batch of 4 with 3 features, H = 2.
    ("RNNLayer", 1, lambda a: rnn_layer(steps(a), H0, np.ones((2, 3)), np.ones((2, 2)), None, None)),
    ("LSTMLayer", 1, lambda a: lstm_layer(steps(a), H0, H0, np.ones((8, 3)), np.ones((8, 2)), None, None)),
    ("GRULayer", 1, lambda a: gru_layer(steps(a), H0, np.ones((6, 3)), np.ones((6, 2)), None, None)),
    # Convolution, pooling and attention: the leaf's values as images or sequences.
    ("conv", 1, lambda a: F.conv2d(image(a), np.ones((2, 1, 3, 3)), padding=1)),
    ("conv", 2, lambda a, b: F.conv2d(leaf_as(a, 2, 6, 12, 1), leaf_as(b, 6, 6, 4, 1), stride=2)),
    ("conv_transpose", 1, lambda a: F.conv_transpose2d(image(a), np.ones((1, 2, 2, 2)), stride=2)),
    ("unfold", 1, lambda a: F.unfold(image(a), 3)),
    ("fold", 1, lambda a: F.fold(leaf_as(a, 1, 4, 36), (7, 7), 2)),
    ("max_pool", 1, lambda a: F.max_pool2d(image(a), 2)),
    ("avg_pool", 1, lambda a: F.avg_pool2d(image(a), 3, stride=2, padding=1)),
    ("scaled_dot_product_attention", 1, lambda a: F.scaled_dot_product_attention(*[steps(a)] * 3, is_causal=True)),
    # (MultiheadAttention's core, on q|k|v side by side in steps(a)'s 3 features, one head each.)
    ("multi_head_attention", 1, lambda a: HeadAttention.apply(steps(a), None, None, None, **ONE_HEAD)),
    ("dropout", 1, lambda a: F.dropout(a, 0.5, rng=np.random.default_rng(0))),
    ("embedding", 1, lambda a: F.embedding(index_with_repeats().reshape(3, 4), a, padding_idx=3)),
    ("layer_norm", 1, lambda a: F.layer_norm(a, (a.shape[-1],))),
    ("rms_norm", 1, lambda a: F.rms_norm(a, (a.shape[-1],))),
    ("batch_norm", 1, lambda a: F.batch_norm(a, None, None, training=True)),
    ("batch_norm", 1, lambda a: F.batch_norm(a, np.zeros(12, a.dtype), np.ones(12, a.dtype))),
    ("group_norm", 1, lambda a: F.group_norm(a, 2)),
    ("instance_norm", 1, lambda a: F.instance_norm(mg.Tensor(a.data.reshape(12, 2, 6), requires_grad=True))),
    ("vector_norm", 1, lambda a: a.norm(dim=1)),
    ("vector_norm", 1, lambda a: mg.linalg.vector_norm(a, ord=3, dim=0)),
    ("cumsum", 1, lambda a: a.cumsum(0)),
    ("cumprod", 1, lambda a: a.cumprod(1)),
    ("logcumsumexp", 1, lambda a: a.logcumsumexp(0)),
    ("var", 1, lambda a: a.var(axis=0)),
    ("var", 1, lambda a: a.var(axis=1, ddof=1)),
    ("logsumexp", 1, lambda a: a.logsumexp(axis=0)),
    ("logsumexp", 1, lambda a: a.logsumexp(axis=1)),
    ("softmax", 1, lambda a: a.softmax(axis=0)),
    ("softmax", 1, lambda a: a.softmax(axis=1)),
    ("log_softmax", 1, lambda a: a.log_softmax(axis=0)),
    ("log_softmax", 1, lambda a: a.log_softmax(axis=1)),
    ("reshape", 1, lambda a: a.reshape(-1)),
    ("transpose", 1, lambda a: a.T),
    ("broadcast_to", 1, lambda a: a[:1].broadcast_to(a.shape)),
    ("getitem", 1, lambda a: a[1:3]),
    ("getitem", 1, lambda a: a[index_with_repeats()]),
    ("scatter_add", 1, lambda a: ScatterAdd.apply(a, index=index_with_repeats(), shape=(12, 12), basic=False)),
    ("concatenate", 2, lambda a, b: mg.concatenate([a, b])),
    ("clone", 1, lambda a: a.clone()),
    ("flip", 1, lambda a: a.flip(0)),
    ("roll", 1, lambda a: a.roll(1, 1)),
    ("tile", 1, lambda a: a.repeat(2, 1)),
    ("pad", 1, lambda a: mg.nn.functional.pad(a, (1, 1))),
    ("scatter", 2, lambda a, b: a.scatter(0, mg.Tensor(np.zeros(a.shape), dtype=np.int64), b)),
    ("stack", 2, lambda a, b: mg.stack([a, b])),
    # ops/unary.py and ops/activation.py
    ("arccos", 1, lambda a: a.arccos()),
    ("arccosh", 1, lambda a: a.arccosh()),
    ("arcsin", 1, lambda a: a.arcsin()),
    ("arcsinh", 1, lambda a: a.arcsinh()),
    ("arctan", 1, lambda a: a.arctan()),
    ("arctanh", 1, lambda a: a.arctanh()),
    ("ceil", 1, lambda a: a.ceil()),
    ("cos", 1, lambda a: a.cos()),
    ("cosh", 1, lambda a: a.cosh()),
    ("deg2rad", 1, lambda a: a.deg2rad()),
    ("erf", 1, lambda a: a.erf()),
    ("erfc", 1, lambda a: a.erfc()),
    ("erfinv", 1, lambda a: a.erfinv()),
    ("exp2", 1, lambda a: a.exp2()),
    ("expm1", 1, lambda a: a.expm1()),
    ("floor", 1, lambda a: a.floor()),
    ("frac", 1, lambda a: a.frac()),
    ("log10", 1, lambda a: a.log10()),
    ("log1p", 1, lambda a: a.log1p()),
    ("log2", 1, lambda a: a.log2()),
    ("nan_to_num", 1, lambda a: a.nan_to_num()),
    ("rad2deg", 1, lambda a: a.rad2deg()),
    ("reciprocal", 1, lambda a: a.reciprocal()),
    ("round", 1, lambda a: a.round()),
    ("rsqrt", 1, lambda a: a.rsqrt()),
    ("sign", 1, lambda a: a.sign()),
    ("sgn", 1, lambda a: mg.sgn(a)),
    ("sin", 1, lambda a: a.sin()),
    ("sinc", 1, lambda a: a.sinc()),
    ("sinh", 1, lambda a: a.sinh()),
    ("square", 1, lambda a: a.square()),
    ("tan", 1, lambda a: a.tan()),
    ("trunc", 1, lambda a: a.trunc()),
    ("celu", 1, lambda a: F.celu(a, 0.5)),
    ("elu", 1, lambda a: F.elu(a)),
    ("gelu", 1, lambda a: F.gelu(a)),
    ("gelu_tanh", 1, lambda a: F.gelu(a, approximate="tanh")),
    ("hardshrink", 1, lambda a: F.hardshrink(a)),
    ("hardsigmoid", 1, lambda a: F.hardsigmoid(a)),
    ("hardswish", 1, lambda a: F.hardswish(a)),
    ("hardtanh", 1, lambda a: F.relu6(a)),
    ("logsigmoid", 1, lambda a: F.logsigmoid(a)),
    ("mish", 1, lambda a: F.mish(a)),
    ("selu", 1, lambda a: F.selu(a)),
    ("silu", 1, lambda a: F.silu(a)),
    ("softplus", 1, lambda a: F.softplus(a, 2.0, 5.0)),
    ("softshrink", 1, lambda a: F.softshrink(a)),
    ("softsign", 1, lambda a: F.softsign(a)),
    ("tanhshrink", 1, lambda a: F.tanhshrink(a)),
    ("threshold", 1, lambda a: F.threshold(a, 0.5, -1.0)),
    ("atan2", 2, mg.atan2),
    ("copysign", 2, mg.copysign),
    ("floor_divide", 2, mg.floor_divide),
    ("fmod", 2, mg.fmod),
    ("hypot", 2, mg.hypot),
    ("logaddexp", 2, mg.logaddexp),
    ("logaddexp2", 2, mg.logaddexp2),
    ("remainder", 2, mg.remainder),
    ("xlogy", 2, mg.xlogy),
    ("remainder", 2, lambda a, b: a % b),
    ("floor_divide", 2, lambda a, b: a // b),
    ("binary_cross_entropy", 2, lambda p, t: F.binary_cross_entropy(*probabilities(p, t), reduction="none")),
    (
        "binary_cross_entropy_with_logits",
        2,
        lambda x, t: F.binary_cross_entropy_with_logits(x, t.detach(), reduction="none"),
    ),
    ("cross_entropy", 1, lambda x: F.cross_entropy(x, np.arange(12) % 3, reduction="none")),
]


def finite(a):
    """A leaf of a's values with inf and NaN replaced by finite ones."""
    return mg.Tensor(np.nan_to_num(a.data, posinf=9, neginf=-9), requires_grad=True)


def invertible(a):
    """A leaf of a's values plus 3 I: the finite grid is of rank 1, this is then invertible."""
    return mg.Tensor(a.data + 3 * np.eye(len(a.data), dtype=a.dtype), requires_grad=True)


def probabilities(p, t):
    """The elements where p is a probability (binary_cross_entropy refuses the others), and
    the targets there (hostile themselves)."""
    keep = ~np.isnan(p.data) & (p.data >= 0) & (p.data <= 1)
    return p[keep], t.data[keep]


def built_in_ops():
    found, todo = set(), [mg.Function]
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.__module__.startswith("microgradnn.") and "forward" in {k for c in cls.__mro__[:-2] for k in vars(c)}:
            found.add(cls.name)
    return found


def test_the_hostile_value_cases_cover_every_built_in_op():
    # (Base classes, and class_targets: it turns integer targets into class weights, never a node.)
    internal = {"Function", "_Extremum", "_Reduction", "_Extreme", "_Unary", "_Binary", "_Normalize", "class_targets"}
    assert built_in_ops() - internal == {name for name, _, _ in HOSTILE_OPS}


def hostile_leaves(n, dtype):
    a, b = hostile_grid(dtype)
    return [mg.Tensor(x, requires_grad=True) for x in (a, b)[:n]]


def hostile_seed(out):
    return np.resize(hostile(out.dtype), out.shape)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(("name", "n", "fn"), HOSTILE_OPS, ids=[f"{c[0]}-{i}" for i, c in enumerate(HOSTILE_OPS)])
def test_no_numpy_warning_escapes_from_any_op_forward_or_backward(name, n, fn, dtype):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        leaves = hostile_leaves(n, dtype)
        out = fn(*leaves)
        assert out.grad_fn.name == name
        out.backward(np.ones(out.shape), retain_graph=True)
        out.backward(hostile_seed(out), retain_graph=True)
        if out.grad_fn.differentiable_twice:
            grads = mg.grad(out, leaves, hostile_seed(out), create_graph=True, allow_unused=True)
            second = sum((g * g).sum() for g in grads if g is not None and g.requires_grad)
            if isinstance(second, mg.Tensor):
                second.backward()


@pytest.mark.parametrize(("name", "n", "fn"), HOSTILE_OPS, ids=[f"{c[0]}-{i}" for i, c in enumerate(HOSTILE_OPS)])
def test_detect_anomaly_names_the_op_that_makes_inf_or_nan(name, n, fn):
    leaves = hostile_leaves(n, np.float64)
    out = fn(*leaves)
    if not np.isfinite(out.data).all():
        expected = f"^detect_anomaly: {name} produced (nan|inf|-inf) in its result"
        with mg.detect_anomaly(), pytest.raises(mg.AnomalyError, match=expected):
            fn(*hostile_leaves(n, np.float64))
    # Backward from finite leaves and a seed of ones, where the gradient alone turns bad.
    finite = [mg.Tensor(np.nan_to_num(t.data, posinf=1.0, neginf=-1.0), requires_grad=True) for t in leaves]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the plain result may itself be bad; only gradients matter here
        out = fn(*finite)
    grads = mg.grad(out, finite, np.ones(out.shape), retain_graph=True, allow_unused=True)
    if any(g is not None and not np.isfinite(g.data).all() for g in grads):
        with mg.detect_anomaly(), pytest.raises(mg.AnomalyError, match=f"^detect_anomaly: the backward of {name} "):
            out.backward(np.ones(out.shape))


def test_losses_optimizers_and_in_place_updates_give_no_warning_on_hostile_values():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for dtype in (np.float64, np.float32):
            a, b = hostile_grid(dtype)
            x = mg.Tensor(a, requires_grad=True)
            F.mse_loss(x, b).backward()
            F.nll_loss(x, np.arange(12) % 4).backward()
            F.dropout(x, 1.0).sum().backward()
            F.binary_cross_entropy(*probabilities(x, mg.Tensor(b))).backward()
            with pytest.raises(ValueError, match="probabilities in \\[0, 1\\]"):
                F.binary_cross_entropy(x, b)  # NaN and values outside [0, 1]: an error, no warning
            with pytest.raises(ValueError, match="probabilities"):
                F.binary_cross_entropy(mg.Tensor([np.nan, np.nan], dtype=dtype), [0.0, 1.0])
            for make in (
                lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1),
                lambda ps: optim.Adam(ps, lr=0.1, eps=0.0, weight_decay=0.1, amsgrad=True),
                lambda ps: optim.AdamW(ps, lr=0.1, eps=0.0),
                lambda ps: optim.RMSprop(ps, lr=0.1, eps=0.0, momentum=0.5, centered=True, weight_decay=0.1),
                lambda ps: optim.Adagrad(ps, lr=0.1, eps=0.0, weight_decay=0.1, lr_decay=0.1),
            ):
                p = mg.Tensor(a.copy(), requires_grad=True)
                opt = make([p])
                for grad in (b, a, np.zeros_like(a)):
                    p.grad = grad.copy()
                    opt.step()
                p.grad = hostile_grid(np.float64 if dtype == np.float32 else np.float32)[1]  # step casts it
                opt.step()
            with mg.no_grad():
                p = mg.Tensor(a.copy(), requires_grad=True)
                p += b
                p -= b
                p *= b
                p /= b
            t = mg.Tensor(a.copy())
            t /= 0.0
            with pytest.raises(IndexError, match="class index 1e[+]300 is out of range for 12 classes"):
                F.cross_entropy(x, np.full(12, 1e300))  # a whole number too large for int64
            assert np.isinf((mg.Tensor([1.0], dtype=np.float16) + np.array([10**6])).data).all()
            mg.Tensor([1e308, -1e308], dtype=np.float32)  # inf, as PyTorch gives
            mg.full((2,), 1e308, dtype=np.float32)
            mg.Tensor(a).astype(np.float16)
