"""mg.compile's lowered programs: NumPy lines in place of op calls, byte-identical to eager.

Every op with a lowering (microgradnn/jit/lowering.py) is replayed on hostile values (inf,
NaN of both signs and another payload, -0.0, the largest and the smallest numbers) and
compared with eager bit for bit; the rewrites (dead values, in-place reuse, folded constants,
the written-out SGD step) and the guards get tests of their own.
"""

import threading
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import microgradnn as mg
from microgradnn import nn, optim
from microgradnn.jit import CompileWarning, compile, lowering
from microgradnn.nn import functional as F

OTHER_NAN = np.array([0x7FF8000000000123], dtype=np.uint64).view(np.float64)[0]
HOSTILE = [0.0, -0.0, np.inf, -np.inf, np.nan, -np.nan, OTHER_NAN, 1e308, -1e308, 5e-324, 1.0, -2.5, 0.5, 3.0, 710.0]


def identical(a, b):
    """Byte for byte (NaN payloads, -0.0 and all), array by array."""
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        x, y = np.asarray(x), np.asarray(y)
        assert x.dtype == y.dtype and x.shape == y.shape and x.tobytes() == y.tobytes()


def quiet(fn, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no CompileWarning (the step replays) and no NumPy warning
        return fn(*args)


LABELS = np.array([0, 3, 1])
E, R, S = mg.ops.elementwise, mg.ops.reduce, mg.ops.shape
# name -> (f(x, w) on x (3, 4) and w (4,), the op with a lowering it tests)
OPS = {
    "add": (lambda x, w: x + w, E.Add),
    "sub": (lambda x, w: x - w, E.Sub),
    "rsub": (lambda x, w: 2.0 - x * w, E.Sub),
    "mul": (lambda x, w: x * w, E.Mul),
    "div": (lambda x, w: x / w, E.Div),
    "neg": (lambda x, w: -(x * w), E.Neg),
    "square": (lambda x, w: (x - w) ** 2, E.Pow),
    "cube": (lambda x, w: (x * w) ** 3, E.Pow),
    "pow0": (lambda x, w: (x * w) ** 0 + w, E.Pow),
    "exp": (lambda x, w: (x * w).exp(), E.Exp),
    "log": (lambda x, w: (x * w).log(), E.Log),
    "tanh": (lambda x, w: (x * w).tanh(), E.Tanh),
    "sigmoid": (lambda x, w: (x * w).sigmoid(), E.Sigmoid),
    "relu": (lambda x, w: (x * w).relu(), E.ReLU),
    "sum": (lambda x, w: (x * w).sum(axis=0), R.Sum),
    "sum_keep": (lambda x, w: (x * w).sum(axis=1, keepdims=True), R.Sum),
    "mean": (lambda x, w: (x * w).mean(axis=1), R.Mean),
    "mean_all": (lambda x, w: (x * w).mean(), R.Mean),
    "matmul": (lambda x, w: x @ w.reshape(4, 1) * 0.5, mg.ops.linalg.MatMul),
    "reshape": (lambda x, w: (x * w).reshape(2, 6) * w[:2].reshape(2, 1), S.Reshape),
    "transpose": (lambda x, w: (x * w).T @ x, S.Transpose),
    "broadcast_to": (lambda x, w: w.broadcast_to((3, 4)) * x, S.BroadcastTo),
    "softmax": (lambda x, w: (x * w).softmax(axis=1), mg.ops.softmax.Softmax),
    "log_softmax": (lambda x, w: mg.log_softmax(x * w, axis=0), mg.ops.softmax.LogSoftmax),
    "cross_entropy": (lambda x, w: F.cross_entropy(x * w, LABELS), F.CrossEntropy),
    "cross_entropy_sum": (lambda x, w: F.cross_entropy(x * w, LABELS, reduction="sum"), F.CrossEntropy),
}


def make_step(op, w, returns):
    def step(x, v):
        w.grad = None
        out = op(x, w)
        loss = (out * v).sum()  # v is the gradient that reaches the op: hostile values there too
        loss.backward()
        return (loss, out) if returns else None

    return step


def run_both(op, values, grads, dtype, returns):
    """The eager step and the compiled one (recorded on ones, then replayed on hostile values)."""
    rng = np.random.default_rng(0)
    start = rng.uniform(0.5, 2.0, 4).astype(dtype)
    w_eager, w_compiled = (mg.Tensor(start.copy(), requires_grad=True) for _ in range(2))
    eager, compiled = make_step(op, w_eager, returns), compile(make_step(op, w_compiled, returns))
    ones = mg.Tensor(np.ones((3, 4), dtype))
    v_shape = op(ones, w_eager).shape
    v_ones = mg.Tensor(np.ones(v_shape, dtype))
    for _ in range(2):  # a recording; the second call is recorded again (w.grad was None first)
        eager(ones, v_ones)
        compiled(ones, v_ones)
    x = mg.Tensor(np.asarray(values, dtype=dtype).reshape(3, 4))
    v = mg.Tensor(np.resize(np.asarray(grads, dtype=dtype), v_shape))
    replays = compiled.replays
    got, want = quiet(compiled, x, v), eager(x, v)
    assert compiled.replays == replays + 1
    arrays = [w_compiled.grad] + ([got[0].data, got[1].data] if returns else [])
    expected = [w_eager.grad] + ([want[0].data, want[1].data] if returns else [])
    identical(arrays, expected)
    return compiled


@pytest.mark.parametrize("name", sorted(OPS))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@settings(max_examples=25, deadline=None)
@given(
    values=st.lists(st.sampled_from(HOSTILE), min_size=12, max_size=12),
    grads=st.lists(st.sampled_from(HOSTILE), min_size=12, max_size=12),
    returns=st.booleans(),
)
def test_each_lowered_op_replays_hostile_values_byte_identical(name, dtype, values, grads, returns):
    with np.errstate(all="ignore"):  # the casts of the hostile values to float32 may overflow
        values, grads = np.asarray(values).astype(dtype), np.asarray(grads).astype(dtype)
    op, cls = OPS[name]
    compiled = run_both(op, values, grads, dtype, returns)
    assert f"{cls.__name__}_forward(" not in compiled.source  # lowered, not called


def test_every_lowering_is_exercised_by_the_test_above():
    assert {cls for _, cls in OPS.values()} == set(lowering.LOWERINGS)


# ------------------------------------------------------------------ the rewrites
def test_values_nobody_reads_are_dropped_and_returned_ones_are_computed():
    w = mg.Tensor(np.ones((3, 1)), requires_grad=True)
    x = mg.Tensor(np.ones((4, 3)))

    def step(returns):
        w.grad = None
        loss = 0.5 * ((x @ w).sigmoid() ** 2).sum()
        loss.backward()
        return loss if returns else None

    silent, loud = compile(lambda: step(False)), compile(lambda: step(True))
    for f in (silent, loud):
        f(), f()
    assert "np.add.reduce" not in silent.source and "** 2" not in silent.source  # the loss: nobody reads it
    assert "np.add.reduce" in loud.source and "** 2" in loud.source


def test_a_dead_temporary_is_reused_in_place_but_nothing_a_caller_holds():
    w = mg.Tensor(np.full((64, 64), 0.5), requires_grad=True)  # large enough for out=
    x = mg.Tensor(np.random.default_rng(0).normal(size=(64, 64)))

    @compile
    def step():
        w.grad = None
        h = (x * w).tanh()
        y = h * h + 1.0
        y.sum().backward()
        return h

    kept = [step() for _ in range(4)]
    grads = [w.grad.copy()]
    assert " += " in step.source or "out=" in step.source
    step()
    grads.append(w.grad)
    identical(kept[1:], [np.tanh(x.data * w.data)] * 3)  # returned values are copies: untouched
    identical(grads[:1], [grads[1]])


def test_multiplying_by_one_is_folded_only_for_computed_values():
    w = mg.Tensor(np.ones(3), requires_grad=True)

    @compile
    def step(x):
        w.grad = None
        (x * w).sum().backward()  # backward: seed 1 * x; x is an argument, so it stays a product

    signaling = np.array([0x7FF0000000000001], dtype=np.uint64).view(np.float64)
    x = mg.Tensor(np.array([1.0, 2.0, signaling[0]]))
    step(x), step(x), step(x)
    eager_w = mg.Tensor(np.ones(3), requires_grad=True)
    (x * eager_w).sum().backward()
    identical([w.grad], [eager_w.grad])


def test_a_lowering_that_disagrees_with_its_op_leaves_the_op_called(monkeypatch):
    def wrong_tanh(L, args, kwargs, needs):
        out = L.unary("sin", args[0])  # not what Tanh computes
        return out, lambda g: (g,)

    monkeypatch.setitem(lowering.LOWERINGS, mg.ops.elementwise.Tanh, wrong_tanh)
    w = mg.Tensor(np.array([0.3, -0.2]), requires_grad=True)

    @compile
    def step():
        w.grad = None
        out = w.tanh().sum()
        out.backward()
        return out

    values = [step().item() for _ in range(3)]
    assert values == [np.tanh(0.3) + np.tanh(-0.2)] * 3 and step.replays == 1
    assert "Tanh_forward(" in step.source  # the whole program calls the ops as they are


# ------------------------------------------------------------------ the written-out SGD step
@pytest.mark.parametrize(
    "change",
    [
        lambda g: g.update(lr=0.25),
        lambda g: g.update(lr=np.float64(0.3)),  # a NumPy number computes in float64: the plain line
        lambda g: g.update(lr=1),
        lambda g: g.update(momentum=0.9),
        lambda g: g.update(weight_decay=0.1),
        lambda g: g.update(maximize=True),
    ],
)
def test_sgd_written_out_follows_hyper_parameters_changed_between_replays(change):
    def setup():
        model = nn.Sequential(
            nn.Linear(40, 40, rng=np.random.default_rng(0), dtype=np.float32),
            nn.Tanh(),
            nn.Linear(40, 1, rng=np.random.default_rng(1), dtype=np.float32),
        )
        return model, optim.SGD(model.parameters(), lr=1.0)

    x = mg.Tensor(np.random.default_rng(2).normal(size=(8, 40)).astype(np.float32))
    (m_eager, o_eager), (m_compiled, o_compiled) = setup(), setup()

    def step(model, opt):
        opt.zero_grad()
        model(x).square().mean().backward()
        opt.step()

    compiled = compile(lambda: step(m_compiled, o_compiled))
    for i in range(6):
        if i == 3:
            change(o_eager.param_groups[0])
            change(o_compiled.param_groups[0])
        step(m_eager, o_eager)
        quiet(compiled)
    assert compiled.recordings == 2 and "_d -= _lr * _grad" in compiled.source
    identical([p.data for p in m_compiled.parameters()], [p.data for p in m_eager.parameters()])
    identical([p.grad for p in m_compiled.parameters()], [p.grad for p in m_eager.parameters()])
    assert [p._version for p in m_compiled.parameters()] == [p._version for p in m_eager.parameters()]


# ------------------------------------------------------------------ guards
@pytest.mark.parametrize("kind", [float, np.float64, np.float32, complex])
def test_a_number_argument_is_matched_to_the_bit(kind):
    w = mg.Tensor(np.array([1.0, -1.0]), requires_grad=True)
    f = compile(lambda c: w * (c.real if kind is complex else c))
    for c in (0.0, 0.0, -0.0, -0.0, float("nan"), float("nan")):
        c = kind(c)
        identical([f(c).data], [(w * (c.real if kind is complex else c)).data])
    assert f.recordings == 3 and f.replays == 3


def test_containers_of_arguments_are_part_of_the_match():
    f = compile(lambda pair: pair[0] * 2.0 + pair[1] if isinstance(pair, tuple) else pair[1] * 3.0 + pair[0])
    a, b = mg.Tensor([1.0]), mg.Tensor([5.0])
    assert f((a, b)).item() == 7.0 and f((a, b)).item() == 7.0
    assert f([a, b]).item() == 16.0  # a list, not a tuple: recorded anew, not replayed
    g = compile(lambda d: d["x"] * 2.0 if "x" in d else d["y"] * 3.0)
    assert g({"x": a}).item() == 2.0 and g({"x": a}).item() == 2.0 and g({"y": b}).item() == 15.0


def test_names_a_function_looks_up_are_guarded_and_attribute_names_are_not():
    scope = {"mg": mg}
    exec(  # noqa: S102 - a module-level function with a global tensor of its own
        "factor = mg.Tensor([2.0])\ndef f(x):\n    return x.exp() * factor\n",
        scope,
    )
    f = compile(scope["f"])
    x = mg.Tensor([0.0])
    assert f(x).item() == 2.0 and f(x).item() == 2.0
    assert "'factor'" in f.source and "'exp'" not in f.source
    scope["factor"] = mg.Tensor([5.0])  # the global now holds another tensor: recorded anew
    assert f(x).item() == 5.0 and f.recordings == 2


def test_a_replayed_step_bumps_version_counters_as_eager():
    w = mg.Tensor(np.ones(2), requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    saved = (w * 1.0).sum()  # a graph made before: it saved w

    @compile
    def step():
        opt.zero_grad()
        (w * w).sum().backward()
        opt.step()

    for _ in range(3):
        quiet(step)
    assert w._version == 3 and step.replays == 1
    with pytest.raises(RuntimeError, match="modified in place"):
        saved.backward()  # w changed in place after the graph saved it, in a replay too


def test_warnings_stay_silent_in_replays():
    w = mg.Tensor(np.array([800.0, -800.0]), requires_grad=True)

    @compile
    def step():
        w.grad = None
        (w.exp() * w.sigmoid()).sum().backward()

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(3):
            step()
    assert step.replays == 1 and np.isnan(w.grad[0])
    with pytest.warns(CompileWarning):
        compile(lambda: w.sum().item())()


@pytest.mark.filterwarnings("ignore::microgradnn.jit.CompileWarning")  # calls while another thread records: eager
def test_one_compiled_step_trains_separate_models_in_separate_threads():
    def setup():
        layers = (
            nn.Linear(64, 64, rng=np.random.default_rng(0)),
            nn.Tanh(),
            nn.Linear(64, 1, rng=np.random.default_rng(2)),
        )
        model = nn.Sequential(*layers)
        return model, optim.SGD(model.parameters(), lr=0.05)

    x = mg.Tensor(np.random.default_rng(1).normal(size=(32, 64)))

    def step(model, opt):
        opt.zero_grad()
        model(x).square().mean().backward()
        opt.step()

    compiled = compile(step)
    pairs, eager = [setup() for _ in range(4)], setup()

    def train(pair):
        for _ in range(50):
            compiled(*pair)

    threads = [threading.Thread(target=train, args=(pair,)) for pair in pairs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for _ in range(50):
        step(*eager)
    for model, _ in pairs:  # same shapes, separate parameters: no scratch memory shared between them
        identical([p.data for p in model.parameters()], [p.data for p in eager[0].parameters()])


# ------------------------------------------------------------------ compositions
UNARY = [
    lambda a: -a,
    lambda a: a.exp(),
    lambda a: a.tanh(),
    lambda a: a.sigmoid(),
    lambda a: a.relu(),
    lambda a: a**2,
    lambda a: a * 0.5,
    lambda a: 1.0 - a,
    lambda a: a.T.T,
    lambda a: a.sum(axis=0) * a,
    lambda a: a.softmax(axis=0),
    lambda a: a.log_softmax(axis=1),
]
BINARY = [lambda a, b: a + b, lambda a, b: a - b, lambda a, b: a * b, lambda a, b: a / b]


@settings(max_examples=60, deadline=None)
@given(
    plan=st.lists(
        st.tuples(st.booleans(), st.integers(0, 11), st.integers(0, 99), st.integers(0, 99)), min_size=1, max_size=8
    ),
    returned=st.lists(st.integers(0, 99), max_size=3),
    large=st.booleans(),
    hostile=st.lists(st.sampled_from(HOSTILE), min_size=4, max_size=4),
)
def test_random_compositions_of_lowered_ops_replay_byte_identical(plan, returned, large, hostile):
    """Chains of lowered ops over shared values (so that some die and are computed into,
    some are returned, some reach the gradient twice), on small and on large arrays (out=)."""
    n = 40 if large else 3
    rng = np.random.default_rng(0)

    def make(w):
        def step(x):
            w.grad = None
            pool = [x * w, w, x + 0.0]
            for binary, op, i, j in plan:
                a, b = pool[i % len(pool)], pool[j % len(pool)]
                pool.append(BINARY[op % 4](a, b) if binary else UNARY[op](a))
            (pool[-1].sum() + pool[len(pool) // 2].sum() + pool[0].sum()).backward()
            computed = [pool[0], *pool[3:]]  # (returning w itself is a reason to stay eager)
            return tuple(computed[k % len(computed)] for k in returned)

        return step

    start = rng.uniform(0.5, 1.5, (n, n))
    w_eager, w_compiled = (mg.Tensor(start.copy(), requires_grad=True) for _ in range(2))
    eager, compiled = make(w_eager), compile(make(w_compiled))
    benign = mg.Tensor(rng.uniform(0.5, 1.5, (n, n)))
    for _ in range(2):
        eager(benign)
        compiled(benign)
    values = rng.uniform(-2, 2, (n, n))
    values.flat[:4] = hostile
    x = mg.Tensor(values)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # eager's own arithmetic of the hostile values
        want = eager(x)
    got = quiet(compiled, x)
    assert compiled.replays == 1
    identical([w_compiled.grad, *[t.data for t in got]], [w_eager.grad, *[t.data for t in want]])


@pytest.mark.parametrize("make", [lambda ps: optim.SGD(ps, lr=0.1), lambda ps: optim.Adam(ps, lr=0.1)])
def test_a_gradient_assigned_by_hand_is_checked_and_cast_as_step_does(make):
    by_hand = np.array([np.inf, 0.1], dtype=np.float32)  # float32, for a float64 parameter

    def train(compiled):
        w, v = mg.Tensor([1.0, 2.0], requires_grad=True), mg.Tensor([3.0, 4.0], requires_grad=True)
        opt = make([w, v])

        def step():
            (w * w).sum().backward()  # v's gradient is not the program's: it was assigned by hand
            opt.step()

        f = compile(step) if compiled else step
        for _ in range(4):
            w.grad, v.grad = None, by_hand.copy()
            quiet(f) if compiled else f()
        assert not compiled or (f.recordings, f.replays) == (2, 2)  # no optimizer state, then state
        return [w.data, v.data]

    identical(train(False), train(True))
