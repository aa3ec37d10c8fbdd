"""mg.compile: replays are byte-identical to eager; guards record again; fallbacks say why."""

import re
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import microgradnn as mg
from microgradnn import nn, optim
from microgradnn.jit import CompileWarning, compile

NEURON_X = np.array([[0, 0, 1], [1, 1, 1], [1, 0, 1], [0, 1, 1]], dtype=float)
TRASK_X = np.array([[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]], dtype=float)
Y = np.array([[0.0, 1.0, 1.0, 0.0]]).T


def identical(a, b):
    """Byte for byte (NaN, -0.0 and all), array by array."""
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        x, y = np.asarray(x), np.asarray(y)
        assert x.dtype == y.dtype and x.shape == y.shape and x.tobytes() == y.tobytes()


def no_warnings(fn, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("error", CompileWarning)
        return fn(*args)


# ------------------------------------------------------------------ the tutorials, 10,000 steps
def neuron(compiled, steps=10_000):
    np.random.seed(1)
    w = mg.Tensor(2 * np.random.random((3, 1)) - 1, requires_grad=True)
    x, y = mg.Tensor(NEURON_X), mg.Tensor(Y)
    opt = optim.SGD([w], lr=1.0)

    def step():
        out = (x @ w).sigmoid()
        loss = 0.5 * ((y - out) ** 2).sum()
        w.grad = None
        loss.backward()
        opt.step()

    f = compile(step) if compiled else step
    for _ in range(steps):
        no_warnings(f)
    return [w.data, w.grad], f


def two_layer(compiled, steps=10_000):
    np.random.seed(1)
    s0 = mg.Tensor(2 * np.random.random((3, 4)) - 1, requires_grad=True)
    s1 = mg.Tensor(2 * np.random.random((4, 1)) - 1, requires_grad=True)
    x, y = mg.Tensor(TRASK_X), mg.Tensor(Y)
    opt = optim.SGD([s0, s1], lr=1.0)

    def step():
        l2 = ((x @ s0).sigmoid() @ s1).sigmoid()
        loss = 0.5 * ((y - l2) ** 2).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    f = compile(step) if compiled else step
    losses = [no_warnings(f).data for _ in range(steps)]
    return [s0.data, s1.data, s0.grad, s1.grad, *losses[:: steps // 100]], f


@pytest.mark.parametrize("tutorial", [neuron, two_layer])
def test_tutorials_replay_byte_identical_for_10000_steps(tutorial):
    eager, _ = tutorial(False)
    replayed, f = tutorial(True)
    identical(eager, replayed)
    assert f.recordings <= 2 and f.replays >= 9_998


# ------------------------------------------------------------------ an MLP with Adam and a scheduler
def mlp_run(compiled, steps=200, batch=7, last_short_every=5):
    rng = np.random.default_rng(0)
    model = nn.Sequential(
        nn.Linear(5, 16, rng=np.random.default_rng(1)), nn.Tanh(), nn.Linear(16, 1, rng=np.random.default_rng(2))
    )
    opt = optim.Adam(model.parameters(), lr=0.01, weight_decay=0.01, amsgrad=True)
    scheduler = optim.lr_scheduler.StepLR(opt, 20, 0.5)
    loss_fn = nn.MSELoss()

    def step(x, y):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss

    f = compile(step) if compiled else step
    xs = rng.normal(size=(steps * batch, 5))
    ys = np.sin(xs.sum(1, keepdims=True))
    losses = []
    for i in range(steps):
        n = batch if i % last_short_every else 3  # batches of unequal size
        losses.append(
            no_warnings(f, mg.Tensor(xs[i * batch : i * batch + n]), mg.Tensor(ys[i * batch : i * batch + n]))
        )
        scheduler.step()  # between compiled calls: the next replay reads the new lr
    state = opt.state_dict()
    arrays = [v for s in state["state"].values() for v in s.values()]
    return [p.data for p in model.parameters()] + [p.grad for p in model.parameters()] + losses + arrays, f


def test_mlp_with_adam_and_a_scheduler_over_unequal_batches_is_byte_identical():
    eager, _ = mlp_run(False)
    replayed, f = mlp_run(True)
    identical([np.asarray(getattr(v, "data", v)) for v in eager], [np.asarray(getattr(v, "data", v)) for v in replayed])
    # the first step (no optimizer state), then one program per batch size
    assert f.recordings == 3 and f.replays == 197


def test_hyper_parameters_are_read_at_each_replay():
    def run(compiled):
        w = mg.Tensor([[1.0], [2.0]], requires_grad=True)
        opt = optim.SGD([w], lr=0.1, momentum=0.9)

        def step(x):
            opt.zero_grad()
            ((x @ w) ** 2).sum().backward()
            opt.step()

        f = compile(step) if compiled else step
        for i in range(6):
            opt.param_groups[0]["lr"] = 0.1 / (i + 1)
            f(mg.ones((3, 2)))
        return [w.data, opt.state[w]["momentum_buffer"]]

    identical(run(False), run(True))


# ------------------------------------------------------------------ guards
def test_a_new_signature_records_a_new_program_and_the_cache_is_bounded():
    w = mg.Tensor(np.ones((2, 1)), requires_grad=True)

    @compile
    def f(x):
        return x @ w

    for n in (1, 2, 1, 2):
        assert f(mg.ones((n, 2))).shape == (n, 1)
    assert (f.recordings, f.replays) == (2, 2)
    for n in range(3, 3 + 12):
        f(mg.ones((n, 2)))
    assert sum(len(v) for v in f.programs.values()) <= 8
    with mg.no_grad():
        assert not f(mg.ones((1, 2))).requires_grad
    assert f.recordings == 15  # grad mode is part of the signature


@pytest.mark.parametrize("own_rng", [False, True])
def test_dropout_draws_anew_at_each_replay_in_train_mode_and_eval_records_separately(own_rng):
    def run(compiled):
        mg.manual_seed(5)
        rng = np.random.default_rng(9) if own_rng else None
        model = nn.Sequential(
            nn.Linear(3, 8, rng=np.random.default_rng(0)),
            nn.ReLU(),
            nn.Dropout(0.3, rng=rng),
            nn.Linear(8, 1, rng=np.random.default_rng(1)),
        )
        opt = optim.SGD(model.parameters(), lr=0.1)

        def step(x, y):
            opt.zero_grad()
            loss = ((model(x) - y) ** 2).mean()
            loss.backward()
            opt.step()
            return loss

        f = compile(step) if compiled else step
        data = np.random.default_rng(2)
        losses = []
        for i in range(30):
            if i == 15:
                mg.manual_seed(7)  # replays draw from the generator as it is now
            if i in (20, 25):
                model.train(i == 25)
            losses.append(no_warnings(f, mg.Tensor(data.normal(size=(4, 3))), mg.Tensor(data.normal(size=(4, 1)))))
        return [p.data for p in model.parameters()] + [loss.data for loss in losses], f

    eager, _ = run(False)
    replayed, f = run(True)
    identical(eager, replayed)
    assert f.recordings == 3 and f.replays == 27  # train (twice: no grads yet, then grads), eval


@pytest.mark.parametrize("momentum", [0.1, None])
def test_batchnorm_updates_its_running_statistics_at_each_replay_and_reads_them_live_in_eval(momentum):
    def run(compiled):
        model = nn.Sequential(
            nn.Linear(3, 6, rng=np.random.default_rng(0)),
            nn.BatchNorm1d(6, momentum=momentum),
            nn.ReLU(),
            nn.Linear(6, 1, rng=np.random.default_rng(1)),
        )
        opt = optim.SGD(model.parameters(), lr=0.1)

        def step(x, y):
            opt.zero_grad()
            loss = ((model(x) - y) ** 2).mean()
            loss.backward()
            opt.step()
            return loss

        f = compile(step) if compiled else step
        data = np.random.default_rng(2)
        losses = []
        for i in range(20):
            if i == 15:
                model.eval()
            if i == 18:  # changed between calls: an eval replay reads the statistics live
                model[1].running_mean = model[1].running_mean + 1.0
            losses.append(no_warnings(f, mg.Tensor(data.normal(size=(5, 3))), mg.Tensor(data.normal(size=(5, 1)))))
        bn = model[1]
        buffers = [bn.running_mean, bn.running_var, bn.num_batches_tracked]
        return [p.data for p in model.parameters()] + [loss.data for loss in losses] + buffers, f

    eager, _ = run(False)
    replayed, f = run(True)
    identical(eager, replayed)
    assert int(replayed[-1]) == 15 and f.replays == 17


def test_a_small_cnn_and_a_bidirectional_lstm_replay_byte_identical():
    def cnn(compiled):
        r = np.random.default_rng
        model = nn.Sequential(
            nn.Conv2d(1, 4, 3, padding=1, rng=r(0)),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(4, 4, 3, rng=r(1)),
            nn.Tanh(),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(4, 3, rng=r(2)),
        )
        opt = optim.Adam(model.parameters(), lr=0.01)
        loss_fn = nn.CrossEntropyLoss()

        def step(x, y):
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
            return loss

        f = compile(step) if compiled else step
        data = r(3)
        losses = [no_warnings(f, mg.Tensor(data.normal(size=(5, 1, 8, 8))), data.integers(0, 3, 5)) for _ in range(8)]
        return [p.data for p in model.parameters()] + [loss.data for loss in losses], f

    def lstm(compiled):
        r = np.random.default_rng
        rnn, head = nn.LSTM(3, 6, num_layers=2, bidirectional=True, rng=r(0)), nn.Linear(12, 2, rng=r(1))
        opt = optim.RMSprop([*rnn.parameters(), *head.parameters()], lr=0.01)

        def step(x, y):
            opt.zero_grad()
            out, _ = rnn(x)
            loss = ((head(out[-1]) - y) ** 2).mean()
            loss.backward()
            opt.step()
            return loss

        f = compile(step) if compiled else step
        data = r(3)
        losses = [
            no_warnings(f, mg.Tensor(data.normal(size=(7, 4, 3))), mg.Tensor(data.normal(size=(4, 2))))
            for _ in range(8)
        ]
        return [p.data for p in rnn.parameters()] + [loss.data for loss in losses], f

    for run in (cnn, lstm):
        eager, _ = run(False)
        replayed, f = run(True)
        identical(eager, replayed)
        assert f.replays == 6


def test_changes_of_parameters_and_optimizer_state_record_again():
    w = mg.Tensor(np.ones((2, 1)), requires_grad=True)
    opt = optim.Adam([w], lr=0.1)

    @compile
    def f(x):
        opt.zero_grad()
        (x @ w).sum().backward()
        opt.step()

    x = mg.ones((3, 2))
    f(x)  # no Adam state yet
    f(x)  # state exists now: another program
    f(x)
    assert (f.recordings, f.replays) == (2, 1)
    w.data = np.ones((2, 1), dtype=np.float32)  # another dtype: the program no longer applies
    opt.state.clear()
    f(mg.ones((3, 2), dtype=np.float32))
    assert f.recordings == 3


def test_grad_that_is_not_cleared_accumulates_as_eager():
    def run(compiled):
        w = mg.Tensor([1.0, -2.0], requires_grad=True)

        def f(x):
            (x * w * w).sum().backward()

        g = compile(f) if compiled else f
        for _ in range(4):
            g(mg.Tensor([0.5, 3.0]))
        return [w.grad]

    identical(run(False), run(True))


# ------------------------------------------------------------------ fallbacks
@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (lambda x, w: (x * w).sum().item(), r"\.item\(\)"),
        (lambda x, w: float((x * w).sum()), r"float\(\)"),
        (lambda x, w: bool((x * w).sum() > 0), r"bool\(\)"),
        (lambda x, w: [(x * w).register_hook(lambda g: g), None][1], "hook"),
        (lambda x, w: [(x * w).retain_grad(), None][1], "retain"),
        (lambda x, w: mg.grad((x * w).sum(), w), r"mg\.grad"),
        (lambda x, w: mg.randn(3) * w, "random"),
    ],
)
def test_what_a_replay_cannot_honour_runs_eagerly_with_one_warning(body, reason):
    w = mg.Tensor([1.0, 2.0, 3.0], requires_grad=True)

    @compile
    def f(x):
        return body(x, w)

    x = mg.ones(3)
    with pytest.warns(CompileWarning, match=reason):
        first = f(x)
    with warnings.catch_warnings():
        warnings.simplefilter("error", CompileWarning)  # once per reason
        second = f(x)
    assert f.replays == 0
    assert type(first) is type(second)


def test_writes_the_recording_cannot_see_are_refused():
    w = mg.Tensor([1.0, 2.0], requires_grad=True)

    @compile
    def assign(x):
        w.data = w.data - x.data

    @compile
    def setitem(x):
        y = x * 2
        y[0] = 5.0
        return y

    with pytest.warns(CompileWarning, match=r"\.data"):
        assign(mg.ones(2))
    with pytest.warns(CompileWarning, match="items"):
        setitem(mg.ones(2))


def test_integer_labels_replay_and_bad_ones_raise_as_eager():
    def run(compiled):
        model = nn.MLP(4, 8, 3, activation=nn.ReLU, rng=np.random.default_rng(0))
        opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        loss_fn = nn.CrossEntropyLoss(weight=np.array([1.0, 2.0, 0.5]), ignore_index=1, label_smoothing=0.1)

        def step(x, y):
            opt.zero_grad()
            loss = loss_fn(model(x), y) + nn.functional.nll_loss(model(x).log_softmax(1), y)
            loss.backward()
            opt.step()
            return loss

        f = compile(step) if compiled else step
        rng = np.random.default_rng(1)
        losses = [no_warnings(f, mg.Tensor(rng.normal(size=(5, 4))), rng.integers(0, 3, 5)).data for _ in range(20)]
        return [p.data for p in model.parameters()] + losses, f

    eager, _ = run(False)
    replayed, f = run(True)
    identical(eager, replayed)
    assert f.replays == 18
    with pytest.raises(IndexError, match="cross_entropy: class index 3 is out of range for 3 classes"):
        f(mg.Tensor(np.ones((5, 4))), np.array([0, 1, 2, 3, 0]))
    all_ignored = f(mg.Tensor(np.ones((5, 4))), np.ones(5, dtype=np.int64))  # every target ignored: NaN, as eager
    assert np.isnan(all_ignored.item())


def test_anomaly_mode_runs_eagerly():
    w = mg.Tensor([1.0], requires_grad=True)

    @compile
    def f(x):
        return x * w

    with mg.detect_anomaly(), pytest.warns(CompileWarning, match="detect_anomaly"):
        f(mg.ones(1))
    assert f.recordings == 0
    f(mg.ones(1))
    f(mg.ones(1))  # recorded, then replayed
    with mg.detect_anomaly(), pytest.raises(mg.AnomalyError, match="mul produced inf"):
        f(mg.Tensor([np.inf]))  # a recording exists, but anomaly mode runs eagerly: the check runs
    assert f.replays == 1


def test_a_compiled_function_called_inside_another_ones_recording_is_recorded_by_it():
    w = mg.Tensor([2.0], requires_grad=True)
    inner = compile(lambda x: x * w)
    inner(mg.ones(1))
    inner(mg.ones(1))  # inner has a program now; inside outer's recording it must not replay

    @compile
    def outer(x):
        return inner(x) + 1.0

    for value in (1.0, 2.0, 3.0):
        assert outer(mg.Tensor([value])).item() == 2.0 * value + 1.0
    assert outer.replays == 2 and re.search(r"s\d+ = s0 \* s\d+", outer.source)


def test_bad_arguments_are_refused_naming_them():
    f = compile(lambda x: x)
    with pytest.raises(TypeError, match="argument 1 of the flattened arguments is object"):
        f(mg.ones(1), object())
    with pytest.raises(TypeError, match="expected a function"):
        compile(3)


# ------------------------------------------------------------------ results and source
def test_results_are_fresh_tensors_and_nan_propagates():
    w = mg.Tensor([1.0, 2.0], requires_grad=True)

    @compile
    def f(x):
        y = x * w
        return y, y.sum(), 3

    f(mg.ones(2))
    a, total, three = f(mg.ones(2))
    b, _, _ = f(mg.ones(2))
    a.data[0] = 100.0
    assert b.data[0] == 1.0 and three == 3 and total.item() == 3.0
    assert a.grad_fn is None
    nan, total, _ = f(mg.Tensor([np.nan, 1.0]))
    assert np.isnan(nan.data[0]) and np.isnan(total.item())


def test_source_reads_as_the_steps_with_parameter_names():
    model = nn.Sequential(nn.Linear(2, 2, rng=np.random.default_rng(0)), nn.ReLU())
    opt = optim.SGD(model.parameters(), lr=0.1)

    @compile
    def step(x):
        opt.zero_grad()
        model(x).sum().backward()
        opt.step()

    assert "nothing recorded" in step.source
    step(mg.ones((1, 2)))
    source = step.source
    assert source.startswith("def replay(*args):") and "s0 = a0._data" in source
    # NumPy lines for the ops (the ReLU's mask, the weight's transpose), and both paths of SGD
    for piece in (
        "np.dot(",
        "> k0",
        ".transpose((1, 0))",
        "SGD.step()",
        "SGD_update(",
        "_0_weight._data",
        "_d -= _lr * _grad",
    ):
        assert piece in source, piece


# ------------------------------------------------------------------ random small training steps
ACTIVATIONS = [nn.Tanh, nn.Sigmoid, nn.ReLU, nn.GELU, nn.SiLU]
OPTIMIZERS = [
    lambda p: optim.SGD(p, lr=0.1, momentum=0.5, nesterov=True),
    lambda p: optim.Adam(p, lr=0.01),
    lambda p: optim.RMSprop(p, lr=0.01, centered=True),
    lambda p: optim.AdamW(p, lr=0.01),
]


@settings(max_examples=10, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 5), min_size=2, max_size=4),
    activation=st.sampled_from(ACTIVATIONS),
    make_optimizer=st.sampled_from(OPTIMIZERS),
    batch=st.integers(1, 4),
    dtype=st.sampled_from([np.float64, np.float32]),
    seed=st.integers(0, 2**16),
)
def test_random_small_training_steps_replay_byte_identical(sizes, activation, make_optimizer, batch, dtype, seed):
    def run(compiled):
        rng = np.random.default_rng(seed)
        layers = []
        for a, b in zip(sizes, sizes[1:], strict=False):
            layers += [nn.Linear(a, b, dtype=dtype, rng=rng), activation()]
        model = nn.Sequential(*layers)
        opt = make_optimizer(model.parameters())
        data = rng.normal(size=(5, batch, sizes[0])).astype(dtype)
        target = rng.normal(size=(5, batch, sizes[-1])).astype(dtype)

        def step(x, y):
            opt.zero_grad()
            loss = ((model(x) - y) ** 2).mean()
            loss.backward()
            opt.step()
            return loss

        f = compile(step) if compiled else step
        losses = [no_warnings(f, mg.Tensor(data[i]), mg.Tensor(target[i])).data for i in range(5)]
        return [p.data for p in model.parameters()] + [p.grad for p in model.parameters()] + losses

    identical(run(False), run(True))
