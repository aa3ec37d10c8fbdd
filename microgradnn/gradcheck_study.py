"""Gradient-check studies: the finite-difference error as the step shrinks, in float64 and float32.

A central difference ``(f(x + eps) - f(x - eps)) / (2 eps)`` has two errors: truncation, which
shrinks as ``eps**2``, and rounding, which grows as ``unit roundoff / eps``. Plotted against the
step on log-log axes they make a V, with its tip near ``eps = roundoff**(1/3)``: about 1e-5 in
float64 and 1e-2 in float32. :func:`gradcheck_study` draws that V for a function or a model,
one step per decade, so you can see which step to trust in which dtype, and whether an op is
wrong (its error stays large at every step) or only badly conditioned.

The error at each step is ``max |analytical - numerical| / max(1, |analytical|)`` over the
elements of the Jacobian (absolute for small derivatives, relative for large ones). Each dtype
is studied wholly in that dtype: the inputs (for a model: a copy of it, and its data) are cast,
and backward and the finite differences both run on the cast values. Constants that ``fn``
makes itself keep their own dtype.

A row fails when its error is above ``THRESHOLDS[dtype]`` even at its own best step (the
constant below says how the thresholds were measured); ``DEFAULT_EPS`` is the default sweep.
"""

from __future__ import annotations

import copy
import math
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .autograd import Function, enable_grad, no_grad
from .gradcheck import _analytical_jacobian, _as_inputs
from .tensor import Tensor

__all__ = [
    "gradcheck_study",
    "study_checks",
    "parse_eps",
    "GradcheckStudy",
    "StudyRow",
]

#: The steps studied when none are given: one per decade, from 1e-1 down to 1e-12.
DEFAULT_EPS = "1e-1:1e-12"
#: The largest error an op may have at its best step and pass, per dtype. Measured on the
#: built-in catalogue (``microgradnn gradcheck --eps``) over 30 seeds: the worst correct op
#: (F.group_norm, whose small variances amplify rounding) reaches 1e-8 in float64 and 1e-2
#: in float32 at its best step; the thresholds leave 100x and 5x of room. A backward wrong by
#: 1% has an error near 1e-2 at every step: float64 catches it by four orders of magnitude,
#: float32 only when it is off by more than 5% (float32 cannot tell finer errors from rounding).
THRESHOLDS: dict[str, float] = {"float64": 1e-6, "float32": 5e-2}
#: The dtypes studied when none are given.
DTYPES = ("float64", "float32")
# Steps outside this range are surely a typo: below it even float64's differences are all
# rounding (and float32's steps are subnormal), above it nothing is local any more.
_SMALLEST_STEP, _LARGEST_STEP = 1e-30, 1.0


# ------------------------------------------------------------------ steps
def _decade_steps(first: float, last: float) -> list[float]:
    """``first``, ``first / 10``, ... down to ``last`` (in either order), written exactly as
    decimal numbers (``1e-05``, not ``1.0000000000000001e-05``)."""
    high, low = max(first, last), min(first, last)
    mantissa, exponent = f"{high:.12e}".split("e")
    steps = []
    k = 0
    while True:
        step = float(f"{mantissa}e{int(exponent) - k}")
        if step < low * (1 - 1e-9):
            break
        steps.append(step)
        k += 1
    return steps


def parse_eps(spec: str | float | Sequence[float]) -> list[float]:
    """The finite-difference steps a study runs, largest first.

    ``spec`` is ``"FIRST:LAST"`` (one step per decade from FIRST down to LAST, both included
    when LAST is a whole number of decades below FIRST), one number, or a sequence of numbers.
    Every step must lie between 1e-30 and 1; anything else raises ``ValueError`` naming it.

    >>> parse_eps("1e-1:1e-4")
    [0.1, 0.01, 0.001, 0.0001]
    >>> parse_eps([1e-3, 1e-6])
    [0.001, 1e-06]
    >>> parse_eps("1e-1:0")
    Traceback (most recent call last):
    ...
    ValueError: eps '1e-1:0': a step must be a number between 1e-30 and 1, got '0'
    """
    if isinstance(spec, str):
        parts = [p.strip() for p in spec.split(":")]
        if len(parts) > 2 or not all(parts):
            raise ValueError(f"eps {spec!r}: give FIRST:LAST (e.g. 1e-1:1e-12) or one step")
        values = []
        for part in parts:
            try:
                value = float(part)
            except ValueError:
                raise ValueError(f"eps {spec!r}: {part!r} is not a number") from None
            if not (math.isfinite(value) and _SMALLEST_STEP <= value <= _LARGEST_STEP):
                raise ValueError(f"eps {spec!r}: a step must be a number between 1e-30 and 1, got {part!r}")
            values.append(value)
        return _decade_steps(values[0], values[-1])
    raw = [spec] if isinstance(spec, (int, float)) else list(spec)
    if not raw:
        raise ValueError("eps: no steps given")
    steps = []
    for value in raw:
        if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
            raise ValueError(f"eps: {value!r} is not a number")
        if not (math.isfinite(value) and _SMALLEST_STEP <= value <= _LARGEST_STEP):
            raise ValueError(f"eps: a step must be a number between 1e-30 and 1, got {value!r}")
        steps.append(float(value))
    return sorted(set(steps), reverse=True)


def _dtype_names(dtypes: Sequence[Any]) -> list[str]:
    names = []
    for d in dtypes:
        try:
            dtype = np.dtype(d)
        except TypeError:
            raise ValueError(f"dtypes: {d!r} is not a dtype") from None
        if dtype.kind != "f":
            raise ValueError(f"dtypes: {dtype.name} is not a floating dtype")
        names.append(dtype.name)
    if not names:
        raise ValueError("dtypes: no dtype given")
    return list(dict.fromkeys(names))


# ------------------------------------------------------------------ the result
@dataclass
class StudyRow:
    """One op's (or one parameter's) error at each step, per dtype.

    >>> import microgradnn as mg
    >>> row = mg.gradcheck_study(mg.tanh, mg.Tensor([0.5, -1.0], requires_grad=True)).rows[0]
    >>> row.name, row.kind, len(row.errors["float64"])
    ('fn', 'op', 12)
    """

    name: str
    #: ``"op"`` (a function, or one op of a model's graph) or ``"parameter"`` (of a model).
    kind: str
    #: dtype name -> the error at each step of the study (float64 values, ``inf`` where a
    #: gradient was not finite).
    errors: dict[str, np.ndarray] = field(default_factory=dict)
    #: What went wrong at some steps: fn raised there (a large step may leave its domain).
    notes: list[str] = field(default_factory=list)

    def best(self, dtype: str) -> tuple[int, float]:
        """(index of the step, error) where this row's error in ``dtype`` is smallest."""
        errors = self.errors[dtype]
        i = int(np.argmin(np.where(np.isnan(errors), np.inf, errors)))
        return i, float(errors[i])


@dataclass
class GradcheckStudy:
    """The result of :func:`gradcheck_study` or :func:`study_checks`: truthy when every row
    passes at its own best step in every dtype.

    >>> import microgradnn as mg
    >>> study = mg.gradcheck_study(mg.exp, mg.Tensor([0.5, 1.0], requires_grad=True), eps="1e-1:1e-8")
    >>> study.passed, study.steps[:2], study.best_step_line()
    (True, [0.1, 0.01], 'best step: float64 1e-05, float32 1e-02')
    """

    #: The steps, largest first.
    steps: list[float]
    dtypes: list[str]
    rows: list[StudyRow] = field(default_factory=list)
    thresholds: dict[str, float] = field(default_factory=lambda: dict(THRESHOLDS))
    fast_mode: bool = False
    #: For a model: the ops of its graph that could not be checked alone, because their class
    #: cannot be re-applied to their recorded inputs alone (an option passed to forward, such
    #: as an axis, is not recorded) or is random (Dropout).
    skipped_ops: list[str] = field(default_factory=list)

    @property
    def parameters(self) -> list[StudyRow]:
        """The rows of a model's parameters (empty for a function)."""
        return [r for r in self.rows if r.kind == "parameter"]

    @property
    def ops(self) -> list[StudyRow]:
        """The rows of ops: the function, the catalogue's entries, or a model's graph."""
        return [r for r in self.rows if r.kind == "op"]

    def largest_errors(self, dtype: str) -> np.ndarray:
        """The largest error over the rows at each step: the envelope whose minimum is the best step."""
        table = np.array([r.errors[dtype] for r in self.rows]) if self.rows else np.zeros((1, len(self.steps)))
        return np.max(np.where(np.isnan(table), np.inf, table), axis=0)

    def best_step(self, dtype: str) -> float:
        """The step that minimises the largest error over the rows, in ``dtype``."""
        return self.steps[int(np.argmin(self.largest_errors(dtype)))]

    @property
    def best_steps(self) -> dict[str, float]:
        """dtype name -> :meth:`best_step`."""
        return {d: self.best_step(d) for d in self.dtypes}

    def best_step_line(self) -> str:
        """``best step: float64 1e-05, float32 1e-02``: the line the command line prints."""
        return "best step: " + ", ".join(f"{d} {s:.0e}" for d, s in self.best_steps.items())

    def badness(self, row: StudyRow) -> float:
        """The row's worst ratio, over the dtypes, of its error at its best step to the threshold (> 1: it fails)."""
        return max(row.best(d)[1] / self.thresholds[d] for d in self.dtypes)

    def failures(self) -> list[tuple[str, str, float, float]]:
        """(row name, dtype, its best step, its error there) for each row that fails in a dtype:
        its error is above the dtype's threshold even at its own best step."""
        failed = []
        for row in self.rows:
            for d in self.dtypes:
                i, error = row.best(d)
                if not error <= self.thresholds[d]:  # (a NaN or inf fails too)
                    failed.append((row.name, d, self.steps[i], error))
        return failed

    @property
    def passed(self) -> bool:
        """Whether every row passes, in every dtype, at its own best step."""
        return not self.failures()

    def __bool__(self) -> bool:
        return self.passed

    def _worst(self, rows: list[StudyRow]) -> str | None:
        return max(rows, key=self.badness).name if rows else None

    @property
    def worst_parameter(self) -> str | None:
        """The parameter whose error, relative to the threshold, is largest (None for a function)."""
        return self._worst(self.parameters)

    @property
    def worst_op(self) -> str | None:
        """The op whose own local check has the largest error relative to the threshold: in a
        model whose parameters fail, the op to suspect (``passed`` says whether it fails)."""
        return self._worst(self.ops)

    def __str__(self) -> str:
        mode = "fast (random projections)" if self.fast_mode else "full Jacobian"
        limits = ", ".join(f"{d} {self.thresholds[d]:g}" for d in self.dtypes)
        lines = [f"gradcheck study ({mode}; error = max|analytical - numerical| / max(1, |analytical|))"]
        lines.append("largest error over the rows at each step:")
        head = "  " + "step".ljust(9) + "".join(f"{d:>10}" for d in self.dtypes)
        lines.append(head)
        envelopes = {d: self.largest_errors(d) for d in self.dtypes}
        for i, step in enumerate(self.steps):
            lines.append("  " + f"{step:.0e}".ljust(9) + "".join(f"{envelopes[d][i]:10.1e}" for d in self.dtypes))
        width = max([len(r.name) for r in self.rows] + [len("operation")])
        cols = "".join(f"  {d + ' best step':>18}  {'error':>8}" for d in self.dtypes)
        for kind, title in (("parameter", "parameter"), ("op", "operation")):
            rows = [r for r in self.rows if r.kind == kind]
            if rows:
                lines.append(f"{title.ljust(width)}{cols}  result")
            for row in rows:
                cells = ""
                for d in self.dtypes:
                    i, error = row.best(d)
                    cells += f"  {self.steps[i]:18.0e}  {error:8.1e}"
                lines.append(f"{row.name.ljust(width)}{cells}  {'ok' if self.badness(row) <= 1 else 'FAILED'}")
                if self.badness(row) > 1:
                    lines += [f"  {note}" for note in row.notes[:3]]
        if self.skipped_ops:
            lines.append(f"not checked alone (options not recorded, or random): {', '.join(self.skipped_ops)}")
        if self.parameters:
            lines.append(f"worst parameter: {self.worst_parameter}")
            lines.append(f"worst op: {self.worst_op}")
        failed = {name for name, *_ in self.failures()}
        lines.append(f"thresholds at each row's best step: {limits}")
        lines.append(f"{len(self.rows) - len(failed)} passed, {len(failed)} failed")
        lines.append(self.best_step_line())
        return "\n".join(lines)

    def plot(self, path: str | os.PathLike[str]) -> None:
        """Save a PNG of error against step, log-log, one panel per dtype, atomically: one thin
        line per row, the largest error over the rows in bold, the threshold dashed and the
        best step marked. Needs matplotlib (the ``plot`` extra).

        >>> import os, tempfile, microgradnn as mg
        >>> study = mg.gradcheck_study(mg.sin, mg.Tensor([0.3], requires_grad=True), eps="1e-1:1e-3")
        >>> path = os.path.join(tempfile.mkdtemp(), "study.png")
        >>> try:
        ...     study.plot(path)
        ...     ok = open(path, "rb").read(4) == b"\\x89PNG"
        ... except ImportError:
        ...     ok = True  # matplotlib is not installed here
        >>> ok
        True
        """
        from .io import atomic_write
        from .viz import require_matplotlib

        figure = require_matplotlib()(figsize=(5 * len(self.dtypes), 4))
        panels = figure.subplots(1, len(self.dtypes), squeeze=False)[0]
        # Zeros (an exactly right difference) and infinities cannot sit on a log axis: clip.
        floor = 1e-20
        for axes, d in zip(panels, self.dtypes, strict=True):
            for row in self.rows:
                values = np.clip(np.nan_to_num(row.errors[d], nan=1e3, posinf=1e3), floor, 1e3)
                failing = row.best(d)[1] > self.thresholds[d]
                axes.plot(
                    self.steps, values, color="tab:red" if failing else "0.6", linewidth=1.5 if failing else 0.6,
                    alpha=1.0 if failing else 0.5,
                )  # fmt: skip
            envelope = np.clip(self.largest_errors(d), floor, 1e3)
            axes.plot(self.steps, envelope, color="black", linewidth=2, label="largest error")
            axes.axhline(self.thresholds[d], color="tab:blue", linestyle="--", linewidth=1, label="threshold")
            best = self.best_step(d)
            axes.axvline(best, color="tab:green", linestyle=":", linewidth=1, label=f"best step {best:.0e}")
            axes.set_xscale("log")
            axes.set_yscale("log")
            axes.invert_xaxis()  # steps shrink to the right, as the study runs
            axes.set(xlabel="finite-difference step", ylabel="error", title=d)
            axes.legend(fontsize="small")
        figure.tight_layout()
        with atomic_write(path) as f:
            figure.savefig(f, format="png", dpi=100)


# ------------------------------------------------------------------ the numbers
def _cast(value: Any, dtype: np.dtype) -> Any:
    """A fresh copy of a Tensor input, floating ones in ``dtype``; other values as they are."""
    if not isinstance(value, Tensor):
        return value
    data = value.data
    if data.dtype.kind == "f":
        return Tensor(data.astype(dtype, copy=True), requires_grad=value.requires_grad)
    return Tensor(data.copy(), dtype=data.dtype)


def _output(fn: Callable[..., Any], arrays: Sequence[Any], template: Sequence[Any]) -> np.ndarray:
    """fn on Tensors made from ``arrays``, flat and in its own dtype (a copy: it may be a view
    of the very array being nudged)."""
    # Index and mask tensors pass as they are: only floating inputs are nudged.
    args = [
        Tensor(a, requires_grad=t.requires_grad) if isinstance(t, Tensor) and t.dtype.kind == "f" else t
        for a, t in zip(arrays, template, strict=True)
    ]
    out = fn(*args)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradcheck_study: fn must return a Tensor, not {type(out).__name__}")
    return np.array(out.data).ravel()


def _error(analytical: np.ndarray, numerical: np.ndarray) -> float:
    """max |analytical - numerical| / max(1, |analytical|), inf when either is not finite."""
    if analytical.size == 0:
        return 0.0
    a = np.asarray(analytical, np.float64)
    n = np.asarray(numerical, np.float64)
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(n))):
        return math.inf
    return float(np.max(np.abs(a - n) / np.maximum(1.0, np.abs(a))))


def _function_errors(
    fn: Callable[..., Any],
    inputs: Any,
    steps: Sequence[float],
    dtype: np.dtype,
    fast_mode: bool,
    seed: int,
    notes: list[str],
) -> np.ndarray:
    """The error of fn's gradients at each step, everything computed in ``dtype``: the largest
    over the inputs that require grad. A step at which fn raises (a large step can leave its
    domain) gets an infinite error, and a line in ``notes``."""
    template = [_cast(t, dtype) for t in _as_inputs(inputs)]
    checked = [i for i, t in enumerate(template) if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise ValueError("gradcheck_study: no input requires grad, so there is nothing to study")
    if fast_mode:
        return _projection_errors(fn, template, checked, steps, np.random.default_rng(seed), notes)
    return _jacobian_errors(fn, template, checked, steps, notes)


def _projection_errors(
    fn: Callable[..., Any],
    template: list[Any],
    checked: list[int],
    steps: Sequence[float],
    rng: np.random.Generator,
    notes: list[str],
) -> np.ndarray:
    """fast_mode: ``u . J . v`` from backward against one directional difference, per input."""
    from .autograd import grad

    leaves = [_cast(t, t.dtype) if isinstance(t, Tensor) else t for t in template]
    out = fn(*leaves)
    u = rng.standard_normal(out.shape).astype(out.dtype)
    wrt = [leaves[i] for i in checked]
    grads = grad(out, wrt, grad_outputs=Tensor(u), allow_unused=True) if out.requires_grad else (None,) * len(wrt)
    arrays = [t.data.copy() if isinstance(t, Tensor) else t for t in template]
    errors = np.zeros(len(steps))
    for i, g in zip(checked, grads, strict=True):
        base = arrays[i]
        v = rng.standard_normal(base.shape).astype(base.dtype)
        analytical = np.array([0.0 if g is None else np.sum(np.asarray(g.data, np.float64) * v)])
        for s, step in enumerate(steps):
            h = base.dtype.type(step)
            try:
                arrays[i] = base + h * v
                plus = _output(fn, arrays, template)
                arrays[i] = base - h * v
                minus = _output(fn, arrays, template)
            except Exception as err:  # noqa: BLE001 - a large step may leave fn's domain
                notes.append(f"{base.dtype.name} step {step:.0e}: {type(err).__name__}: {err}")
                errors[s] = math.inf
                continue
            finally:
                arrays[i] = base
            numerical = np.array([np.dot(u.ravel().astype(np.float64), (plus - minus) / (2 * h))])
            errors[s] = max(errors[s], _error(analytical, numerical))
    return errors


def _jacobian_errors(
    fn: Callable[..., Any], template: list[Any], checked: list[int], steps: Sequence[float], notes: list[str]
) -> np.ndarray:
    """Whole Jacobians: one backward per output element, two forwards per input element and step."""
    arrays = [t.data.copy() if isinstance(t, Tensor) else t for t in template]
    errors = np.zeros(len(steps))
    for i, analytical in zip(checked, _analytical_jacobian(fn, template, checked), strict=True):
        flat = arrays[i].reshape(-1)
        for s, step in enumerate(steps):
            h = flat.dtype.type(step)
            columns = []
            try:
                for j in range(flat.size):
                    original = flat[j]
                    try:
                        flat[j] = original + h
                        plus = _output(fn, arrays, template)
                        flat[j] = original - h
                        minus = _output(fn, arrays, template)
                    finally:
                        flat[j] = original
                    columns.append((plus - minus) / (2 * h))
            except Exception as err:  # noqa: BLE001 - a large step may leave fn's domain
                notes.append(f"{flat.dtype.name} step {step:.0e}: {type(err).__name__}: {err}")
                errors[s] = math.inf
                continue
            numerical = np.stack(columns, axis=1) if columns else np.zeros_like(analytical)
            errors[s] = max(errors[s], _error(analytical, numerical))
    return errors


def study_checks(
    checks: Iterable[tuple[str, Callable[..., Tensor], Any]],
    *,
    eps: str | float | Sequence[float] = DEFAULT_EPS,
    dtypes: Sequence[Any] = DTYPES,
    fast_mode: bool = False,
    seed: int = 0,
    thresholds: dict[str, float] | None = None,
) -> GradcheckStudy:
    """Study several functions at once: one row per ``(name, fn, inputs)`` entry, as
    ``microgradnn.builtin_checks.builtin_checks(rng)`` lists the built-in ops (``microgradnn
    gradcheck --eps`` studies that catalogue). Options as for :func:`gradcheck_study`.

    >>> import microgradnn as mg
    >>> x = mg.Tensor([0.5, 1.5], requires_grad=True)
    >>> study = study_checks([("exp", mg.exp, (x,)), ("sin", mg.sin, (x,))], eps="1e-2:1e-7")
    >>> [row.name for row in study.rows], study.passed
    (['exp', 'sin'], True)
    """
    steps = parse_eps(eps)
    names = _dtype_names(dtypes)
    limits = _thresholds(names, thresholds)
    study = GradcheckStudy(steps=steps, dtypes=names, thresholds=limits, fast_mode=fast_mode)
    for name, fn, inputs in checks:
        row = StudyRow(name, "op")
        for d in names:
            row.errors[d] = _function_errors(fn, inputs, steps, np.dtype(d), fast_mode, seed, row.notes)
        study.rows.append(row)
    return study


def _thresholds(names: list[str], given: dict[str, float] | None) -> dict[str, float]:
    limits = dict(THRESHOLDS)
    limits.update(given or {})
    missing = [d for d in names if d not in limits]
    if missing:
        raise ValueError(f"thresholds: no threshold for {', '.join(missing)}; pass thresholds={{dtype: error}}")
    return {d: float(limits[d]) for d in names}


# ------------------------------------------------------------------ a model
def _recorded_nodes(root: Tensor) -> list[tuple[Function, Tensor]]:
    """(node, its output) for every node of root's graph, in the order the forward made them."""
    found: dict[int, tuple[Function, Tensor]] = {}
    stack = [root]
    while stack:
        t = stack.pop()
        node = t.grad_fn
        if node is None or id(node) in found:
            continue
        found[id(node)] = (node, t)
        stack.extend(inp for inp in node.inputs if isinstance(inp, Tensor))
    return sorted(found.values(), key=lambda pair: pair[0]._sequence)


def _replayable(node: Function, output: Tensor) -> tuple[Any, ...] | None:
    """Copies of the node's inputs, if applying its class to them alone gives back its output
    (so the class can stand for the op in a check of its own); None otherwise."""
    args = tuple(_cast(inp, inp.dtype) if isinstance(inp, Tensor) else inp for inp in node.inputs)
    if not any(isinstance(a, Tensor) and a.requires_grad for a in args):
        return None
    try:
        with enable_grad():
            again = type(node).apply(*args)
    except Exception:  # noqa: BLE001 - any failure means: not re-applicable from its inputs alone
        return None
    if not isinstance(again, Tensor) or again.shape != output.shape:
        return None
    tol = 1e-5 if output.dtype == np.float32 else 1e-10
    if not np.allclose(again.data, output.data, rtol=tol, atol=tol, equal_nan=True):
        return None  # an option that forward took was not recorded, or the op is random
    return args


def _unique_names(names: list[str]) -> list[str]:
    counts: dict[str, int] = {}
    for n in names:
        counts[n] = counts.get(n, 0) + 1
    seen: dict[str, int] = {}
    unique = []
    for n in names:
        if counts[n] == 1:
            unique.append(n)
        else:
            seen[n] = seen.get(n, 0) + 1
            unique.append(f"{n} #{seen[n]}")
    return unique


def _model_errors(
    model: Any,
    loss_fn: Callable[[Tensor, Any], Tensor],
    x: Any,
    y: Any,
    steps: Sequence[float],
    dtype: np.dtype,
    fast_mode: bool,
    seed: int,
) -> tuple[dict[str, np.ndarray], dict[str, tuple[np.ndarray, list[str]]], list[str]]:
    """({parameter: errors}, {op: (errors, notes)}, skipped ops) for a copy of the model in ``dtype``."""
    twin = copy.deepcopy(model).to(dtype)  # the caller's model is never touched
    data_x, data_y = _cast_data(x, dtype), _cast_data(y, dtype)
    named = list(twin.named_parameters())
    for _, p in named:
        p.grad = None

    with enable_grad():
        loss = loss_fn(twin(data_x), data_y)
    if not isinstance(loss, Tensor) or loss.numel() != 1:
        raise ValueError(f"gradcheck_study: the loss must be a single number, got {getattr(loss, 'shape', loss)!r}")
    # Walk the graph before backward releases it, and take the op inputs' values now.
    replays: list[tuple[str, Function, tuple[Any, ...] | None]] = [
        (node.name, node, _replayable(node, out)) for node, out in _recorded_nodes(loss)
    ]
    loss.backward()
    analytical = [np.zeros(p.shape) if p.grad is None else np.asarray(p.grad, np.float64) for _, p in named]

    def loss_value() -> np.ndarray:
        with no_grad():
            return np.array(loss_fn(twin(data_x), data_y).data)

    rng = np.random.default_rng(seed)
    parameters: dict[str, np.ndarray] = {}
    for (name, p), grad_p in zip(named, analytical, strict=True):
        errors = np.zeros(len(steps))
        flat = p.data.reshape(-1)  # raw writes, each undone at once: no graph is alive to notice
        direction = rng.standard_normal(p.shape).astype(dtype) if fast_mode else None
        for s, step in enumerate(steps):
            h = dtype.type(step)
            if direction is not None:
                original = p.data.copy()
                p.data[...] = original + h * direction
                plus = loss_value()
                p.data[...] = original - h * direction
                minus = loss_value()
                p.data[...] = original
                numerical = np.array([(plus - minus) / (2 * h)], dtype=np.float64).ravel()
                value = np.array([float(np.sum(grad_p * direction))])
            else:
                numerical = np.empty(flat.size)
                for j in range(flat.size):
                    original = flat[j]
                    flat[j] = original + h
                    plus = loss_value()
                    flat[j] = original - h
                    minus = loss_value()
                    flat[j] = original
                    numerical[j] = ((plus - minus) / (2 * h)).item()
                value = grad_p.ravel()
            errors[s] = _error(value, numerical)
        parameters[name] = errors

    ops: dict[str, tuple[np.ndarray, list[str]]] = {}
    skipped = []
    for name, (_, node, args) in zip(_unique_names([r[0] for r in replays]), replays, strict=True):
        if args is None:
            skipped.append(name)
            continue
        notes: list[str] = []
        ops[name] = (_function_errors(type(node).apply, args, steps, dtype, fast_mode, seed, notes), notes)
    return parameters, ops, skipped


def _cast_data(value: Any, dtype: np.dtype) -> Any:
    """Floating data (a Tensor or an ndarray) in ``dtype``; labels and other values as they are."""
    if isinstance(value, Tensor):
        return _cast(value, dtype)
    if isinstance(value, np.ndarray) and value.dtype.kind == "f":
        return value.astype(dtype)
    return value


def gradcheck_study(
    fn_or_module: Any,
    inputs: Any,
    *,
    loss_fn: Callable[[Tensor, Any], Tensor] | None = None,
    eps: str | float | Sequence[float] = DEFAULT_EPS,
    dtypes: Sequence[Any] = DTYPES,
    fast_mode: bool = False,
    seed: int = 0,
    thresholds: dict[str, float] | None = None,
    name: str = "fn",
) -> GradcheckStudy:
    """Sweep the finite-difference step and report the gradient error at each, per dtype.

    With a function, ``inputs`` is a Tensor or a tuple (as for :func:`~microgradnn.gradcheck`)
    and the study has one row, named ``name``. With a :class:`~microgradnn.nn.Module`,
    ``inputs`` is ``(x, y)`` and ``loss_fn(model(x), y)`` the scalar loss (as for
    :func:`~microgradnn.gradcheck_module`): one row per parameter, and one per op of the
    recorded graph, checked alone on its own recorded inputs, so that a wrong backward is
    located (``.worst_op``), not only seen in the parameters upstream of it
    (``.worst_parameter``). An op is checked alone when its class, applied again to its
    recorded inputs alone (``cls.apply(*node.inputs)``), gives back its output: custom
    Functions without options, and the built-ins whose forward takes only tensors (add, mul,
    matmul, tanh, exp...); the others are listed in ``.skipped_ops``.

    ``eps`` is ``"FIRST:LAST"`` (one step per decade; default 1e-1 down to 1e-12) or a list
    of steps; ``dtypes`` the floating dtypes to study (default float64 and float32), each
    computed wholly in that dtype, on copies (the model and the inputs are never changed). A
    row fails in a dtype when its error at its own best step is above ``thresholds[dtype]``
    (default ``THRESHOLDS``). ``fast_mode`` compares random projections instead of whole
    Jacobians, as gradcheck's. Random layers must be off (``model.eval()``).

    >>> import microgradnn as mg, numpy as np
    >>> x = mg.Tensor(np.linspace(-1, 1, 4), requires_grad=True)
    >>> study = mg.gradcheck_study(lambda t: (t * t).sigmoid(), x)
    >>> study.best_step_line()
    'best step: float64 1e-05, float32 1e-03'
    >>> errors = study.rows[0].errors["float64"]
    >>> bool(errors[0] > errors[4] < errors[-1])  # the V: truncation left, rounding right
    True
    """
    from .nn.module import Module  # nn builds on the core, so it is imported here

    steps = parse_eps(eps)
    names = _dtype_names(dtypes)
    limits = _thresholds(names, thresholds)
    if not isinstance(fn_or_module, Module):
        if loss_fn is not None:
            raise ValueError("gradcheck_study: loss_fn is for a Module; a function's output is checked as it is")
        if not callable(fn_or_module):
            raise TypeError(f"gradcheck_study: expected a function or a Module, got {type(fn_or_module).__name__}")
        return study_checks(
            [(name, fn_or_module, inputs)], eps=steps, dtypes=names, fast_mode=fast_mode, seed=seed, thresholds=limits
        )

    from .nn.layers import Dropout

    model = fn_or_module
    if loss_fn is None:
        raise ValueError("gradcheck_study: a Module needs loss_fn (inputs is then (x, y))")
    if not (isinstance(inputs, (tuple, list)) and len(inputs) == 2):
        raise ValueError("gradcheck_study: for a Module, inputs must be (x, y)")
    for module in model.modules():
        if isinstance(module, Dropout) and module.training and module.p > 0:
            raise ValueError(
                "gradcheck_study: the model has an active Dropout, so its loss is random; call model.eval() first"
            )
    if not list(model.named_parameters()):
        raise ValueError("gradcheck_study: the model has no parameters")
    x, y = inputs
    study = GradcheckStudy(steps=steps, dtypes=names, thresholds=limits, fast_mode=fast_mode)
    rows: dict[tuple[str, str], StudyRow] = {}
    for d in names:
        parameters, ops, skipped = _model_errors(model, loss_fn, x, y, steps, np.dtype(d), fast_mode, seed)
        for row_name, errors in parameters.items():
            rows.setdefault(("parameter", row_name), StudyRow(row_name, "parameter")).errors[d] = errors
        for row_name, (errors, notes) in ops.items():
            row = rows.setdefault(("op", row_name), StudyRow(row_name, "op"))
            row.errors[d] = errors
            row.notes += notes
        study.skipped_ops = list(dict.fromkeys(study.skipped_ops + skipped))
    # A row that one dtype could check and another could not (its replay did not match):
    # treated as skipped, so every row has every dtype.
    for (_, row_name), row in rows.items():
        if len(row.errors) == len(names):
            study.rows.append(row)
        elif row_name not in study.skipped_ops:
            study.skipped_ops.append(row_name)
    return study
