"""gradcheck_study: the error of finite differences against the step, per dtype, and a wrong
backward located in a model's graph."""

import re

import numpy as np
import pytest

import microgradnn as mg
from microgradnn import nn
from microgradnn.builtin_checks import builtin_checks
from microgradnn.gradcheck_study import THRESHOLDS, GradcheckStudy, parse_eps, study_checks


# ------------------------------------------------------------------ custom ops for the models
class Tanh(mg.Function):
    @staticmethod
    def forward(ctx, x):
        y = np.tanh(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad_output):
        (y,) = ctx.saved_tensors
        return grad_output * (1 - y * y)


class Softplus(mg.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.logaddexp(0, x)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output / (1 + np.exp(-x))


class WrongSoftplus(Softplus):
    """Its backward is 5% too large: a plausible slip in a hand-written derivative."""

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output / (1 + np.exp(-x)) * 1.05


class Apply(nn.Module):
    """A layer that applies a custom Function."""

    def __init__(self, function):
        super().__init__()
        self.function = function

    def forward(self, x):
        return self.function.apply(x)


def model_with(middle, rng):
    """Three Linear layers with custom activations between them; ``middle`` is the second."""
    return nn.Sequential(
        nn.Linear(3, 4, rng=rng), Apply(Tanh), nn.Linear(4, 4, rng=rng), Apply(middle), nn.Linear(4, 2, rng=rng)
    )


@pytest.fixture
def data(rng):
    return mg.Tensor(rng.standard_normal((5, 3))), mg.Tensor(rng.standard_normal((5, 2)))


# ------------------------------------------------------------------ steps
def test_steps_are_one_per_decade_written_exactly():
    steps = parse_eps("1e-1:1e-12")
    assert len(steps) == 12 and steps[0] == 0.1 and steps[-1] == 1e-12
    assert [f"{s:.0e}" for s in steps][4] == "1e-05" and steps[4] == 1e-5
    assert parse_eps("1e-12:1e-1") == steps  # either order
    assert parse_eps("3e-2:3e-4") == [0.03, 0.003, 0.0003]
    assert parse_eps("1e-3") == [1e-3]
    assert parse_eps([1e-6, 1e-2, 1e-6]) == [1e-2, 1e-6]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("1e-1:x", "'x' is not a number"),
        ("0:1e-3", "between 1e-30 and 1"),
        ("1e-1:-1e-3", "between 1e-30 and 1"),
        ("10:1e-3", "between 1e-30 and 1"),
        ("1e-1:nan", "between 1e-30 and 1"),
        ("1e-1:1e-40", "between 1e-30 and 1"),
        ("1e-1:1e-2:1e-3", "FIRST:LAST"),
        (":1e-3", "FIRST:LAST"),
        ([], "no steps"),
        (["a"], "is not a number"),
    ],
)
def test_bad_steps_are_refused_naming_them(spec, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_eps(spec)


# ------------------------------------------------------------------ a function
def test_a_smooth_op_draws_the_v_in_float64():
    x = mg.Tensor(np.linspace(-1.5, 1.5, 6), requires_grad=True)
    study = mg.gradcheck_study(mg.tanh, x)
    assert isinstance(study, GradcheckStudy) and study.passed and len(study.rows) == 1
    errors = study.rows[0].errors["float64"]
    best = study.best_step("float64")
    at_best = errors[study.steps.index(best)]
    # Truncation on the left, rounding on the right, both far above the tip.
    assert errors[0] > 100 * at_best and errors[-1] > 100 * at_best
    assert at_best < 1e-9 and best in (1e-4, 1e-5, 1e-6, 1e-7)
    # Truncation error falls as eps**2: two decades a decade on the left arm.
    assert 50 < errors[1] / errors[2] < 200


def test_the_best_step_line_and_the_report():
    x = mg.Tensor(np.linspace(0.2, 1.0, 4), requires_grad=True)
    study = mg.gradcheck_study(mg.exp, x)
    line = study.best_step_line()
    assert re.fullmatch(r"best step: float64 \de-\d\d, float32 \de-\d\d", line), line
    assert line == f"best step: float64 {study.best_steps['float64']:.0e}, float32 {study.best_steps['float32']:.0e}"
    # The best step minimises the largest error over the rows, in each dtype.
    for d in ("float64", "float32"):
        envelope = study.largest_errors(d)
        assert study.best_step(d) == study.steps[int(np.argmin(envelope))]
    text = str(study)
    assert text.endswith(line) and "1 passed, 0 failed" in text and "fn" in text


def test_float32_is_computed_in_float32():
    seen = []

    class Recorded(mg.Function):
        @staticmethod
        def forward(ctx, x):
            seen.append(("forward", x.dtype))
            ctx.save_for_backward(x)
            return np.sin(x)

        @staticmethod
        def backward(ctx, grad_output):
            seen.append(("backward", grad_output.dtype))
            (x,) = ctx.saved_tensors
            return grad_output * np.cos(x)

    x = mg.Tensor(np.linspace(0.5, 1.5, 3), requires_grad=True)
    study = mg.gradcheck_study(Recorded.apply, x, dtypes=["float32"])
    assert study.dtypes == ["float32"] and x.dtype == np.float64  # the caller's input is untouched
    assert {dtype for _, dtype in seen} == {np.dtype(np.float32)}
    assert {"forward", "backward"} == {what for what, _ in seen}
    # float32 rounding: at 1e-7 a difference is mostly noise, where float64 is near its best.
    both = mg.gradcheck_study(Recorded.apply, x)
    f32, f64 = both.rows[0].errors["float32"], both.rows[0].errors["float64"]
    i = both.steps.index(1e-7)
    assert f32[i] > 1e-3 > 1e-6 > f64[i]
    assert both.best_step("float32") >= 1e-4 and both.best_step("float64") <= 1e-4
    # At the smallest step x + eps == x in float32: the difference is 0, the error |cos x|.
    assert f32[-1] == pytest.approx(np.max(np.abs(np.cos(np.float32(x.data)))), rel=1e-6)


def test_a_step_that_leaves_the_domain_counts_as_infinite_and_says_why():
    def only_positive(t):
        if np.any(t.data <= 0):
            raise ValueError("needs positive inputs")
        return t.log()

    x = mg.Tensor([0.05, 0.5], requires_grad=True)
    study = mg.gradcheck_study(only_positive, x, eps="1e-1:1e-8", dtypes=["float64"])
    row = study.rows[0]
    assert row.errors["float64"][0] == np.inf and np.all(np.isfinite(row.errors["float64"][1:]))
    assert study.passed and "step 1e-01: ValueError: needs positive inputs" in row.notes[0]


def test_a_wrong_op_fails_at_every_step_and_is_named():
    rng = np.random.default_rng(0)
    x = mg.Tensor(rng.standard_normal((2, 3)), requires_grad=True)
    study = study_checks([("softplus", Softplus.apply, (x,)), ("wrong", WrongSoftplus.apply, (x,))], eps="1e-2:1e-8")
    assert not study.passed and not study
    failed = {(name, d) for name, d, _, _ in study.failures()}
    assert ("wrong", "float64") in failed and all(name == "wrong" for name, _ in failed)
    wrong = study.rows[1]
    assert np.all(wrong.errors["float64"] > 1e-3)
    assert "1 passed, 1 failed" in str(study) and re.search(r"^wrong .* FAILED$", str(study), re.M)


def test_a_few_catalogue_entries_pass_in_both_modes():
    checks = [c for c in builtin_checks(np.random.default_rng(0)) if c[0] in {"matmul", "softmax", "F.layer_norm"}]
    for fast in (False, True):
        study = study_checks(checks, fast_mode=fast)
        assert study.passed, str(study)
        assert [r.name for r in study.rows] == ["matmul", "softmax", "F.layer_norm"]
        for row in study.rows:
            assert row.best("float64")[1] < THRESHOLDS["float64"] / 100


def test_the_plot_is_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    study = mg.gradcheck_study(mg.sin, mg.Tensor([0.3, 0.9], requires_grad=True), eps="1e-1:1e-6")
    path = tmp_path / "study.png"
    study.plot(path)
    assert path.read_bytes()[:4] == b"\x89PNG"
    folder = tmp_path / "folder"
    folder.mkdir()
    with pytest.raises(OSError, match="folder"):
        study.plot(folder)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder", "study.png"] and not list(folder.iterdir())


# ------------------------------------------------------------------ a model
@pytest.mark.parametrize("fast_mode", [False, True])
def test_a_wrong_custom_op_in_a_model_is_located(rng, data, fast_mode):
    model = model_with(WrongSoftplus, rng)
    before = {name: p.data.copy() for name, p in model.named_parameters()}
    study = mg.gradcheck_study(model, data, loss_fn=nn.MSELoss(), fast_mode=fast_mode)
    assert not study.passed
    assert study.worst_op == "WrongSoftplus"
    failed_ops = {name for name, *_ in study.failures() if name in {r.name for r in study.ops}}
    assert failed_ops == {"WrongSoftplus"}  # the correct ops around it pass their own checks
    # Its error shows in the parameters upstream of it, not in those after it.
    assert study.worst_parameter in {"0.weight", "0.bias", "2.weight", "2.bias"}
    rows = {r.name: r for r in study.parameters}
    assert study.badness(rows["4.weight"]) < 1 and study.badness(rows["4.bias"]) < 1
    assert study.badness(rows["2.bias"]) > 1
    # The model is never changed: not its values, not its dtype, not its gradients.
    for name, p in model.named_parameters():
        assert p.dtype == np.float64 and np.array_equal(p.data, before[name]) and p.grad is None
    text = str(study)
    assert "worst op: WrongSoftplus" in text and f"worst parameter: {study.worst_parameter}" in text


def test_a_correct_model_passes_and_names_what_it_could_not_check_alone(rng, data):
    model = model_with(Softplus, rng)
    study = mg.gradcheck_study(model, data, loss_fn=nn.MSELoss(), eps="1e-2:1e-8")
    assert study.passed, str(study)
    names = [r.name for r in study.ops]
    assert {"Tanh", "Softplus", "matmul #1", "matmul #3"} <= set(names)
    assert [r.name for r in study.parameters] == ["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"]
    assert study.worst_op in names and study.worst_parameter is not None
    # Linear's transpose takes its axes as options, which the graph does not record.
    assert study.skipped_ops and all(name.startswith("transpose") for name in study.skipped_ops)
    assert "not checked alone" in str(study)


def test_a_model_with_integer_labels(rng):
    model = nn.MLP(3, 4, 3, activation=nn.Tanh, rng=rng)
    x = rng.standard_normal((4, 3))
    study = mg.gradcheck_study(model, (mg.Tensor(x), [0, 2, 1, 2]), loss_fn=nn.CrossEntropyLoss(), fast_mode=True)
    assert study.passed, str(study)


def test_bad_calls_are_refused(rng, data):
    model = model_with(Softplus, rng)
    x = mg.Tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match="needs loss_fn"):
        mg.gradcheck_study(model, data)
    with pytest.raises(ValueError, match=r"inputs must be \(x, y\)"):
        mg.gradcheck_study(model, data[0], loss_fn=nn.MSELoss())
    with pytest.raises(ValueError, match="loss_fn is for a Module"):
        mg.gradcheck_study(mg.exp, x, loss_fn=nn.MSELoss())
    with pytest.raises(ValueError, match="nothing to study"):
        mg.gradcheck_study(mg.exp, mg.Tensor([1.0]))
    with pytest.raises(TypeError, match="a function or a Module"):
        mg.gradcheck_study(3, x)
    with pytest.raises(ValueError, match="int64 is not a floating dtype"):
        mg.gradcheck_study(mg.exp, x, dtypes=["int64"])
    with pytest.raises(ValueError, match="no threshold for float16"):
        mg.gradcheck_study(mg.exp, x, dtypes=["float16"])
    dropout = nn.Sequential(nn.Linear(3, 2, rng=rng), nn.Dropout(0.5))
    with pytest.raises(ValueError, match=r"model\.eval\(\)"):
        mg.gradcheck_study(dropout, data, loss_fn=nn.MSELoss())
    assert mg.gradcheck_study(dropout.eval(), data, loss_fn=nn.MSELoss(), eps="1e-4:1e-6").passed
