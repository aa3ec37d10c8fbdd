"""Finite-difference gradient checks, and the report they give.

``gradcheck(fn, inputs)`` compares the gradients backward computes with central finite
differences, for every input that requires grad, as ``torch.autograd.gradcheck`` does. It never
changes the tensors it is given: it runs ``fn`` on copies.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .autograd import grad
from .tensor import Tensor

__all__ = [
    "gradcheck",
    "gradgradcheck",
    "gradcheck_module",
    "GradcheckError",
    "GradcheckReport",
    "InputReport",
    "numerical_jacobian",
]


class GradcheckError(RuntimeError):
    """Raised by :func:`gradcheck` when an analytical gradient disagrees with finite differences.

    >>> import microgradnn as mg
    >>> class Wrong(mg.Function):
    ...     @staticmethod
    ...     def forward(ctx, x):
    ...         return 2 * x
    ...     @staticmethod
    ...     def backward(ctx, grad_output):
    ...         return 3 * grad_output
    >>> mg.gradcheck(Wrong.apply, mg.Tensor([1.0], requires_grad=True))
    Traceback (most recent call last):
    ...
    microgradnn.gradcheck.GradcheckError: gradcheck FAILED ...
    """


@dataclass
class InputReport:
    """How one input's gradient compared with finite differences.

    >>> import microgradnn as mg
    >>> entry = mg.gradcheck(mg.tanh, mg.Tensor([0.5], requires_grad=True)).inputs[0]
    >>> entry.passed, entry.max_abs_error < 1e-8
    (True, True)
    """

    position: int
    shape: tuple[int, ...]
    max_abs_error: float
    max_rel_error: float
    #: (output element, input element) of the worst disagreement, as flat indices; in fast
    #: mode both are None (a projection has no single element).
    worst_index: tuple[int | None, int | None]
    analytical: float
    numerical: float
    passed: bool

    def describe(self) -> str:
        """One line for this input."""
        verdict = "ok" if self.passed else "MISMATCH"
        out_i, in_i = self.worst_index
        where = "" if in_i is None else f" at input element {tuple(int(i) for i in np.unravel_index(in_i, self.shape))}"
        if out_i is not None:
            where += f", output element {out_i}"
        return (
            f"input {self.position} {self.shape}: {verdict}; max abs error {self.max_abs_error:.3g}, "
            f"max rel error {self.max_rel_error:.3g}{where} (analytical {self.analytical:.10g}, "
            f"numerical {self.numerical:.10g})"
        )


@dataclass
class GradcheckReport:
    """The result of a gradient check: truthy when every input passed.

    >>> import microgradnn as mg
    >>> report = mg.gradcheck(mg.exp, mg.Tensor([0.5, 1.0], requires_grad=True))
    >>> report.passed, len(report.inputs), report.inputs[0].shape
    (True, 1, (2,))
    """

    inputs: list[InputReport] = field(default_factory=list)
    #: Parameter names, for a report from gradcheck_module (empty otherwise).
    names: list[str] = field(default_factory=list)
    eps: float = 1e-6
    atol: float = 1e-5
    rtol: float = 1e-3
    fast_mode: bool = False

    @property
    def passed(self) -> bool:
        """Whether every checked input agreed within ``atol + rtol * |numerical|``."""
        return all(r.passed for r in self.inputs)

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        mode = "fast (random projections)" if self.fast_mode else "full Jacobian"
        head = (
            f"gradcheck {'passed' if self.passed else 'FAILED'} ({mode}, "
            f"eps={self.eps:g}, atol={self.atol:g}, rtol={self.rtol:g})"
        )
        lines = [r.describe() for r in self.inputs]
        if self.names:
            lines = [f"{name}: {line}" for name, line in zip(self.names, lines, strict=True)]
        return "\n".join([head] + ["  " + line for line in lines])


def _as_inputs(inputs: Any) -> tuple[Any, ...]:
    return (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)


def _call(fn: Callable[..., Any], arrays: Sequence[Any], template: Sequence[Any]) -> np.ndarray:
    """fn on Tensors made from ``arrays`` (non-Tensor inputs pass as they are), as a flat array."""
    # Inputs keep requires_grad: fn may itself differentiate them (gradgradcheck does).
    args = [
        Tensor(a, requires_grad=t.requires_grad) if isinstance(t, Tensor) else t
        for a, t in zip(arrays, template, strict=True)
    ]
    out = fn(*args)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradcheck: fn must return a Tensor, not {type(out).__name__}")
    # A copy: the output may be a view of the very input array being nudged (reshape, slicing).
    return np.array(out.data, dtype=np.float64).ravel()


def numerical_jacobian(fn: Callable[..., Any], inputs: Any, position: int, eps: float = 1e-6) -> np.ndarray:
    """d fn(inputs).ravel() / d inputs[position].ravel() by central differences.

    Shape ``(output size, input size)``.

    >>> import microgradnn as mg
    >>> numerical_jacobian(lambda t: t * 3, (mg.Tensor([1.0, 2.0]),), 0).round(6).tolist()
    [[3.0, 0.0], [0.0, 3.0]]
    """
    template = _as_inputs(inputs)
    arrays = [t.data.copy() if isinstance(t, Tensor) else t for t in template]
    x = arrays[position]
    flat = x.reshape(-1)
    columns = []
    for j in range(flat.size):
        original = flat[j]
        flat[j] = original + eps
        plus = _call(fn, arrays, template)
        flat[j] = original - eps
        minus = _call(fn, arrays, template)
        flat[j] = original
        columns.append((plus - minus) / (2 * eps))
    size = _call(fn, arrays, template).size
    return np.stack(columns, axis=1) if columns else np.zeros((size, 0))


def _analytical_jacobian(fn: Callable[..., Any], template: Sequence[Any], checked: list[int]) -> list[np.ndarray]:
    leaves = [Tensor(t.data.copy(), requires_grad=t.requires_grad) if isinstance(t, Tensor) else t for t in template]
    out = fn(*leaves)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradcheck: fn must return a Tensor, not {type(out).__name__}")
    wrt = [leaves[i] for i in checked]
    rows: list[list[np.ndarray]] = [[] for _ in checked]
    for k in range(out.numel()):
        seed = np.zeros(out.numel(), dtype=out.dtype)
        seed[k] = 1
        if out.requires_grad:
            grads = grad(out, wrt, grad_outputs=Tensor(seed.reshape(out.shape)), retain_graph=True, allow_unused=True)
        else:
            grads = (None,) * len(wrt)
        for r, g, leaf in zip(rows, grads, wrt, strict=True):
            r.append(np.zeros(leaf.numel()) if g is None else np.asarray(g.data, dtype=np.float64).ravel())
    return [np.stack(r, axis=0) if r else np.zeros((0, leaf.numel())) for r, leaf in zip(rows, wrt, strict=True)]


def _compare(
    position: int,
    shape: tuple[int, ...],
    analytical: np.ndarray,
    numerical: np.ndarray,
    atol: float,
    rtol: float,
    fast: bool,
) -> InputReport:
    abs_err = np.abs(analytical - numerical)
    rel_err = abs_err / np.maximum(np.abs(numerical), np.finfo(np.float64).tiny)
    excess = abs_err - (atol + rtol * np.abs(numerical))
    if abs_err.size == 0:
        return InputReport(position, shape, 0.0, 0.0, (None, None), 0.0, 0.0, True)
    # The element that fails worst; when none fails, the one with the largest error.
    worst = int(np.argmax(excess)) if np.any(excess > 0) else int(np.argmax(abs_err))
    index: tuple[int | None, int | None] = (None, None)
    if not fast and analytical.ndim == 2:
        out_i, in_i = np.unravel_index(worst, analytical.shape)
        index = (int(out_i), int(in_i))
    finite = bool(np.all(np.isfinite(analytical)) and np.all(np.isfinite(numerical)))
    return InputReport(
        position=position,
        shape=shape,
        max_abs_error=float(abs_err.max()),
        max_rel_error=float(rel_err.max()),
        worst_index=index,
        analytical=float(analytical.flat[worst]),
        numerical=float(numerical.flat[worst]),
        passed=finite and bool(np.all(excess <= 0)),
    )


def gradcheck(
    fn: Callable[..., Tensor],
    inputs: Any,
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    fast_mode: bool = False,
    seed: int = 0,
) -> GradcheckReport:
    """Check ``fn``'s gradients against central finite differences, as PyTorch's gradcheck.

    ``inputs`` is a Tensor or a tuple of them (other values pass to ``fn`` unchanged); every
    Tensor that requires grad is checked. An element passes when
    ``|analytical - numerical| <= atol + rtol * |numerical|``. Returns a
    :class:`GradcheckReport` (truthy when passed); on failure raises :class:`GradcheckError`
    with the same report unless ``raise_exception=False``.

    ``fast_mode=True`` compares one random projection per input (a vector-Jacobian product
    against one directional difference, drawn from ``seed``) instead of whole Jacobians: cheap
    for large models. Use float64 inputs: float32 has too few digits for finite differences.

    >>> import microgradnn as mg
    >>> x = mg.Tensor([0.5, -1.0], requires_grad=True)
    >>> bool(mg.gradcheck(lambda t: (t * t).sigmoid(), x))
    True
    """
    template = _as_inputs(inputs)
    checked = [i for i, t in enumerate(template) if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad, so there is nothing to check")
    if any(template[i].dtype != np.float64 for i in checked):
        warnings.warn(
            "gradcheck: some inputs are not float64; finite differences in lower precision are "
            "unreliable, so a failure may be a false alarm",
            stacklevel=2,
        )
    report = GradcheckReport(eps=eps, atol=atol, rtol=rtol, fast_mode=fast_mode)
    if fast_mode:
        report.inputs = _fast_reports(fn, template, checked, eps, atol, rtol, seed)
    else:
        jacobians = _analytical_jacobian(fn, template, checked)
        for i, analytical in zip(checked, jacobians, strict=True):
            numerical = numerical_jacobian(fn, template, i, eps)
            report.inputs.append(_compare(i, template[i].shape, analytical, numerical, atol, rtol, fast=False))
    if not report.passed and raise_exception:
        raise GradcheckError(str(report))
    return report


def _fast_reports(
    fn: Callable[..., Any], template: Sequence[Any], checked: list[int], eps: float, atol: float, rtol: float, seed: int
) -> list[InputReport]:
    rng = np.random.default_rng(seed)
    leaves = [Tensor(t.data.copy(), requires_grad=t.requires_grad) if isinstance(t, Tensor) else t for t in template]
    out = fn(*leaves)
    u = rng.standard_normal(out.shape)
    if out.requires_grad:
        grads = grad(out, [leaves[i] for i in checked], grad_outputs=Tensor(u.astype(out.dtype)), allow_unused=True)
    else:
        grads = (None,) * len(checked)
    arrays = [t.data.copy() if isinstance(t, Tensor) else t for t in template]
    reports = []
    for i, g in zip(checked, grads, strict=True):
        v = rng.standard_normal(template[i].shape)
        analytical = 0.0 if g is None else float(np.sum(np.asarray(g.data, np.float64) * v))
        base = arrays[i]
        arrays[i] = base + eps * v
        plus = _call(fn, arrays, template)
        arrays[i] = base - eps * v
        minus = _call(fn, arrays, template)
        arrays[i] = base
        numerical = float(np.dot(u.ravel(), (plus - minus) / (2 * eps)))
        reports.append(
            _compare(i, template[i].shape, np.array([analytical]), np.array([numerical]), atol, rtol, fast=True)
        )
    return reports


def gradgradcheck(
    fn: Callable[..., Tensor],
    inputs: Any,
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    seed: int = 0,
) -> GradcheckReport:
    """Check second derivatives: gradcheck of the vector-Jacobian product of ``fn``.

    The first derivatives come from ``grad(..., create_graph=True)`` with a fixed random
    ``grad_outputs`` (drawn from ``seed``), so every op on the way must be differentiable twice.

    >>> import microgradnn as mg
    >>> x = mg.Tensor([0.3, -0.7], requires_grad=True)
    >>> bool(mg.gradgradcheck(lambda t: t.tanh() * t, x))
    True
    """
    template = _as_inputs(inputs)
    checked = [i for i, t in enumerate(template) if isinstance(t, Tensor) and t.requires_grad]
    probe = fn(*template)
    weights = Tensor(np.random.default_rng(seed).standard_normal(probe.shape).astype(probe.dtype))

    def first_derivatives(*args: Any) -> Tensor:
        from .ops.shape import concatenate

        out = fn(*args)
        wrt = [args[i] for i in checked]
        grads = grad(out, wrt, grad_outputs=weights, create_graph=True, allow_unused=True)
        parts = [
            g.reshape(-1) if g is not None else Tensor(np.zeros(a.size, dtype=a.dtype))
            for g, a in zip(grads, wrt, strict=True)
        ]
        return concatenate(parts)

    return gradcheck(first_derivatives, template, eps=eps, atol=atol, rtol=rtol, raise_exception=raise_exception)


def gradcheck_module(
    model: Any,
    loss_fn: Callable[[Tensor, Any], Tensor],
    x: Any,
    y: Any,
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    fast_mode: bool = False,
    seed: int = 0,
) -> GradcheckReport:
    """Check the gradient of ``loss_fn(model(x), y)`` for every parameter of ``model``.

    Each parameter is nudged in place and put back exactly; its ``.grad`` is left as it was.
    The report names each parameter (``report.names``). Random layers must be off: a model
    in training mode with an active Dropout raises (call ``model.eval()`` first).

    >>> import microgradnn as mg, numpy as np
    >>> model = mg.nn.MLP(3, 4, 1, rng=np.random.default_rng(0))
    >>> x, y = mg.Tensor(np.eye(3)), mg.Tensor(np.ones((3, 1)))
    >>> bool(mg.gradcheck_module(model, mg.nn.MSELoss(), x, y))
    True
    """
    from .autograd import no_grad
    from .nn.layers import Dropout  # nn builds on this module, so it is imported here

    for module in model.modules():
        if isinstance(module, Dropout) and module.training and module.p > 0:
            raise ValueError(
                "gradcheck_module: the model has an active Dropout, so its loss is random; call model.eval() first"
            )
    named = list(model.named_parameters())
    if not named:
        raise ValueError("gradcheck_module: the model has no parameters")
    if any(p.dtype != np.float64 for _, p in named):
        warnings.warn(
            "gradcheck_module: some parameters are not float64; the check is unreliable (model.double())", stacklevel=2
        )

    def loss_value() -> float:
        with no_grad():
            return float(loss_fn(model(x), y).item())

    kept_grads = [p.grad for _, p in named]
    try:
        for _, p in named:
            p.grad = None
        loss = loss_fn(model(x), y)
        if loss.numel() != 1:
            raise ValueError(f"gradcheck_module: the loss must be a single number, got shape {loss.shape}")
        loss.backward()
        analytical = [np.zeros(p.shape) if p.grad is None else np.asarray(p.grad, np.float64) for _, p in named]
    finally:
        for (_, p), g in zip(named, kept_grads, strict=True):
            p.grad = g

    rng = np.random.default_rng(seed)
    report = GradcheckReport(eps=eps, atol=atol, rtol=rtol, fast_mode=fast_mode)
    for position, ((name, p), grad_p) in enumerate(zip(named, analytical, strict=True)):
        # Raw writes into the array, each undone right after: no graph is alive to notice.
        flat = p.data.reshape(-1)
        if fast_mode:
            direction = rng.standard_normal(p.shape)
            original = p.data.copy()
            p.data[...] = original + eps * direction
            plus = loss_value()
            p.data[...] = original - eps * direction
            minus = loss_value()
            p.data[...] = original
            numerical = np.array([(plus - minus) / (2 * eps)])
            value = np.array([float(np.sum(grad_p * direction))])
        else:
            numerical = np.empty(flat.size)
            for j in range(flat.size):
                original = flat[j]
                flat[j] = original + eps
                plus = loss_value()
                flat[j] = original - eps
                minus = loss_value()
                flat[j] = original
                numerical[j] = (plus - minus) / (2 * eps)
            value = grad_p.reshape(1, -1)
            numerical = numerical.reshape(1, -1)
        entry = _compare(position, p.shape, value, numerical, atol, rtol, fast=fast_mode)
        report.inputs.append(entry)
        report.names.append(name)
    if not report.passed and raise_exception:
        raise GradcheckError(str(report))
    return report
