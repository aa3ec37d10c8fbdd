"""Losses and activations as plain functions (the modules in ``losses`` and ``layers`` call
these), as ``torch.nn.functional``.

Every loss takes ``reduction="mean" | "sum" | "none"``. The binary cross-entropies are single
operations with their own backward, so they stay finite at the edges; the others are built
from Tensor ops.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import Function
from ..creation import default_generator
from ..errors import ShapeError, shape_of
from ..ops import backmath
from ..ops import softmax as softmax_ops
from ..ops.arguments import check_dim, dim_of, keepdim_of
from ..ops.elementwise import leaky_relu, minimum, relu, sigmoid, tanh, where
from ..ops.pad import pad as pad  # F.pad lives with the shape ops
from ..ops.reduce import stable_logsumexp, vector_norm
from ..tensor import DTypeLike, Tensor, as_tensor

__all__ = [
    "linear",
    "mse_loss",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "nll_loss",
    "sigmoid",
    "tanh",
    "relu",
    "leaky_relu",
    "softmax",
    "log_softmax",
    "dropout",
    "l1_loss",
    "smooth_l1_loss",
    "huber_loss",
    "kl_div",
    "poisson_nll_loss",
    "gaussian_nll_loss",
    "cosine_embedding_loss",
    "margin_ranking_loss",
    "hinge_embedding_loss",
    "multi_margin_loss",
    "soft_margin_loss",
    "triplet_margin_loss",
    "one_hot",
    "normalize",
    "cosine_similarity",
    "pairwise_distance",
    "softmin",
    "dropout1d",
    "dropout2d",
    "dropout3d",
    "alpha_dropout",
    "feature_alpha_dropout",
]

# The activations of ops/activation.py, by PyTorch's names.
from ..ops.activation import (  # noqa: E402
    celu,
    elu,
    gelu,
    glu,
    hardshrink,
    hardsigmoid,
    hardswish,
    hardtanh,
    logsigmoid,
    mish,
    prelu,
    relu6,
    selu,
    silu,
    softplus,
    softshrink,
    softsign,
    tanhshrink,
    threshold,
)

__all__ += [
    "gelu",
    "silu",
    "mish",
    "softplus",
    "elu",
    "celu",
    "selu",
    "hardtanh",
    "relu6",
    "hardsigmoid",
    "hardswish",
    "logsigmoid",
    "softsign",
    "tanhshrink",
    "softshrink",
    "hardshrink",
    "threshold",
    "glu",
    "prelu",
]

_REDUCTIONS = ("mean", "sum", "none")


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``input @ weight.T + bias`` with ``weight`` of shape ``(out_features, in_features)``, as
    ``torch.nn.functional.linear``.

    >>> import microgradnn as mg
    >>> mg.nn.functional.linear(mg.ones((2, 3)), mg.ones((4, 3)), mg.zeros(4)).data.tolist()[0]
    [3.0, 3.0, 3.0, 3.0]
    """
    input, weight = as_tensor(input), as_tensor(weight)
    if weight.ndim != 2 or input.ndim < 1 or input.shape[-1] != weight.shape[1]:
        raise ShapeError(
            f"linear: input of shape {input.shape} does not match weight of shape {weight.shape} "
            f"(the input's last dim must be in_features = weight.shape[1])"
        )
    if input.ndim > 2:
        # The tokens as rows of one matrix: the weight's gradient is then one matrix product,
        # not one per leading index summed afterwards.
        lead = input.shape[:-1]
        out = linear(input.reshape(-1, input.shape[-1]), weight, bias)
        return out.reshape(*lead, weight.shape[0])
    out = input @ weight.T
    return out if bias is None else out + bias


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _check_reduction(reduction: str, op: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: reduction must be 'mean', 'sum' or 'none', not {reduction!r}")


def _same_shape_target(input: Tensor, target: Any, op: str) -> Tensor:
    """The target as a Tensor of the input's shape and dtype; never differentiated."""
    target = as_tensor(target, dtype=input.dtype)
    if target.shape != input.shape:
        raise ShapeError(f"{op}: target shape {target.shape} does not match input shape {input.shape}")
    return target


def mse_loss(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """Mean (or summed) squared error; input and target must have one shape.

    >>> import microgradnn as mg
    >>> mg.nn.functional.mse_loss(mg.Tensor([1.0, 2.0]), [1.0, 4.0]).item()
    2.0
    """
    _check_reduction(reduction, "mse_loss")
    target = _same_shape_target(input, target, "mse_loss")
    return _reduce((input - target) ** 2, reduction)


class BinaryCrossEntropy(Function):
    """-(t log p + (1 - t) log(1 - p)), each log clamped at -100 as PyTorch does; the gradient
    (p - t) / max(p (1 - p), 1e-12) stays finite at p = 0 and p = 1. The target's gradient is
    log(1 - p) - log(p), with the same clamps."""

    __slots__ = ()
    name = "binary_cross_entropy"
    may_warn = True
    differentiable_twice = True

    @staticmethod
    def forward(ctx: Any, p: np.ndarray, t: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(p, t)
        return -(t * _clamped_log(p) + (1 - t) * _clamped_log(1 - p))

    @staticmethod
    def backward(ctx: Any, g: Any) -> tuple[Any, Any]:
        p, t = ctx.saved_tensors
        gp = g * (p - t) / (p * (1 - p)).clip(1e-12, None)
        gt = g * (_clamped_log(1 - p) - _clamped_log(p)) if ctx.needs_input_grad[1] else None
        return gp, gt


_LOG_FLOOR = float(np.exp(-100.0))


def _clamped_log(x: Any) -> Any:
    """log(x), with log(0) = -inf clamped to -100 and no divide-by-zero warning (on a Tensor,
    the recorded log(max(x, e^-100)), which is the same for x >= 0)."""
    if isinstance(x, Tensor):
        return x.clip(_LOG_FLOOR, None).log()
    out = np.full(x.shape, -100.0, dtype=x.dtype)
    np.log(x, out=out, where=x > 0)
    return np.maximum(out, -100, out=out)


def _check_weight(weight: Any, shape: tuple[int, ...], what: str, op: str) -> np.ndarray | None:
    """A constant weight that broadcasts to ``shape`` (PyTorch's rule for BCE's weights)."""
    if weight is None:
        return None
    if isinstance(weight, str):
        raise TypeError(
            f"{op}: {what} must be a tensor of weights, not the string {weight!r} (pass reduction= by keyword)"
        )
    w = np.asarray(weight.data if isinstance(weight, Tensor) else weight)
    if w.dtype.kind not in "biuf":
        raise TypeError(f"{op}: {what} must hold numbers, not {w.dtype} values")
    try:
        fits = np.broadcast_shapes(w.shape, shape) == tuple(shape)
    except ValueError:
        fits = False
    if not fits:
        raise ShapeError(f"{op}: {what} of shape {w.shape} does not broadcast to the input's shape {tuple(shape)}")
    return w


def binary_cross_entropy(input: Tensor, target: Any, weight: Any = None, reduction: str = "mean") -> Tensor:
    """Cross-entropy of probabilities ``input`` (in [0, 1]) against 0/1 (or soft) targets; each
    element's loss is multiplied by ``weight`` (broadcast to the input's shape) when given.
    Differentiable with respect to ``target`` too, as in PyTorch.

    >>> import microgradnn as mg
    >>> round(mg.nn.functional.binary_cross_entropy(mg.Tensor([0.9]), [1.0]).item(), 4)
    0.1054
    """
    _check_reduction(reduction, "binary_cross_entropy")
    w = _check_weight(weight, input.shape, "weight", "binary_cross_entropy")
    target = _same_shape_target(input, target, "binary_cross_entropy")
    p = input.data
    if not ((p >= 0) & (p <= 1)).all():  # NaN fails both comparisons
        numbers = p[~np.isnan(p)]  # (nanmin would warn when there are none)
        found = f"values from {numbers.min():.4g} to {numbers.max():.4g}" if numbers.size else "only NaN"
        if 0 < numbers.size < p.size:
            found += " and NaN"
        raise ValueError(
            f"binary_cross_entropy: input must be probabilities in [0, 1]; got {found} "
            "(for logits use binary_cross_entropy_with_logits)"
        )
    loss = BinaryCrossEntropy.apply(input, target)
    return _reduce(loss if w is None else loss * w.astype(input.dtype), reduction)


def _softplus_of_negative(x: Any) -> Any:
    """log(1 + exp(-x)) = max(-x, 0) + log1p(exp(-``|x|``)), finite for any x; recorded on a Tensor."""
    if isinstance(x, Tensor):
        return (-x).clip(0, None) + (1 + (-abs(x)).exp()).log()
    return np.maximum(-x, 0) + np.log1p(np.exp(-np.abs(x)))


class BinaryCrossEntropyWithLogits(Function):
    """(1 - t) x + (1 + (w⁺ - 1) t) log(1 + exp(-x)), PyTorch's form with ``pos_weight`` w⁺ (1
    without it), and the softplus written so that no logit x overflows. The gradients are
    (1 + (w⁺ - 1) t)(sigmoid(x) - 1) + 1 - t (sigmoid(x) - t when w⁺ = 1) for x, and
    (w⁺ - 1) log(1 + exp(-x)) - x for t."""

    __slots__ = ("pos_weight",)
    name = "binary_cross_entropy_with_logits"
    may_warn = True
    differentiable_twice = True

    @staticmethod
    def forward(ctx: Any, x: np.ndarray, t: np.ndarray, pos_weight: np.ndarray | None = None) -> np.ndarray:
        ctx.pos_weight = pos_weight
        ctx.save_for_backward(x, t)
        softplus = _softplus_of_negative(x)
        if pos_weight is None:
            return (1 - t) * x + softplus
        return (1 - t) * x + (1 + (pos_weight - 1) * t) * softplus

    @staticmethod
    def backward(ctx: Any, g: Any) -> tuple[Any, Any]:
        x, t = ctx.saved_tensors
        pw = ctx.pos_weight
        if pw is None:
            gx = g * (backmath.sigmoid(x) - t)
            gt = -g * x if ctx.needs_input_grad[1] else None
        else:
            gx = g * ((1 + (pw - 1) * t) * (backmath.sigmoid(x) - 1) + 1 - t)
            gt = g * ((pw - 1) * _softplus_of_negative(x) - x) if ctx.needs_input_grad[1] else None
        return gx, gt


def binary_cross_entropy_with_logits(
    input: Tensor, target: Any, weight: Any = None, reduction: str = "mean", pos_weight: Any = None
) -> Tensor:
    """Binary cross-entropy of ``sigmoid(input)``, computed stably from the logits. ``weight``
    multiplies each element's loss; ``pos_weight`` (broadcast along the last dim, one per
    class) multiplies the positive term, as in PyTorch. Differentiable with respect to ``target``.

    >>> import microgradnn as mg
    >>> mg.nn.functional.binary_cross_entropy_with_logits(mg.Tensor([-1000.0]), [1.0]).item()
    1000.0
    """
    op = "binary_cross_entropy_with_logits"
    _check_reduction(reduction, op)
    w = _check_weight(weight, input.shape, "weight", op)
    pw = _check_weight(pos_weight, input.shape, "pos_weight", op)
    target = _same_shape_target(input, target, op)
    pw = None if pw is None else pw.astype(input.dtype)
    loss = BinaryCrossEntropyWithLogits.apply(input, target, pos_weight=pw)
    return _reduce(loss if w is None else loss * w.astype(input.dtype), reduction)


# ------------------------------------------------------------------ class-index losses
# Cross-entropy and NLL share one reading of their target. Either way the loss of sample n is
# -sum_c q[n, c] * log_p[n, c] over the class axis (1, or 0 for an input of shape (C,)), and the
# "mean" divides the summed losses by a denominator, so one op serves every option:
#   class indices y: q = (1 - s) w_y onehot(y) + (s / C) w, zero where y == ignore_index, and the
#     denominator is sum of w_y over the samples kept (PyTorch's weighted mean);
#   class probabilities t (the input's shape): q = ((1 - s) t + s / C) w, and the denominator is
#     the number of samples. q is then a Tensor made from t, so the loss differentiates in t.
# (s is label_smoothing, w the class weights, 1 when not given.)


def _class_layout(input: Tensor, op: str) -> tuple[int, int, tuple[int, ...]]:
    """The class axis, the number of classes, and the shape of one loss per sample."""
    if input.ndim == 0:
        raise ShapeError(f"{op}: input must have shape (C,), (N, C) or (N, C, d1, ...), got ()")
    axis = 1 if input.ndim >= 2 else 0
    shape = input.shape
    return axis, shape[axis], shape[:axis] + shape[axis + 1 :]


def _class_weight(weight: Any, classes: int, dtype: np.dtype, op: str) -> np.ndarray | None:
    if weight is None:
        return None
    if isinstance(weight, str):
        raise TypeError(
            f"{op}: weight must be a tensor of {classes} class weights, not {weight!r} (pass reduction= by keyword)"
        )
    w = np.asarray(weight.data if isinstance(weight, Tensor) else weight)
    if w.dtype.kind not in "biuf":
        raise TypeError(f"{op}: weight must hold numbers, not {w.dtype} values")
    if w.shape != (classes,):
        raise ShapeError(
            f"{op}: weight of shape {w.shape} does not match the {classes} classes (expected ({classes},))"
        )
    return w.astype(dtype)


def _class_indices(
    target: Any, sample_shape: tuple[int, ...], classes: int, ignore_index: int | None, op: str
) -> np.ndarray:
    """Integer class indices of ``sample_shape``, each in [0, classes) or ``ignore_index``."""
    values = np.asarray(target.data if isinstance(target, Tensor) else target)
    if values.dtype.kind == "b" or values.dtype.kind not in "iuf":
        raise TypeError(f"{op}: target must hold integer class indices, not {values.dtype} values")
    if values.shape != sample_shape:
        n = f"(N,) = ({sample_shape[0]},)" if len(sample_shape) == 1 else f"{sample_shape}"
        raise ShapeError(
            f"{op}: target shape {shape_of(values)} does not match {n}: class indices need the input's "
            "shape without its class dim (or the input's own shape for class probabilities)"
        )
    if values.dtype.kind == "f":
        if not np.all(np.isfinite(values)) or np.any(values != np.round(values)):
            bad = values[~np.isfinite(values) | (values != np.round(values))][0]
            raise ValueError(f"{op}: target must hold whole numbers (class indices), found {bad}")
    # Checked before the cast: a whole number beyond int64 (1e300) has no int64 to become.
    out_of_range = (values < 0) | (values >= classes)
    if ignore_index is not None:
        out_of_range &= values != ignore_index
    if out_of_range.any():
        bad = values[out_of_range][0]
        raise IndexError(f"{op}: class index {bad:.15g} is out of range for {classes} classes")
    return values.astype(np.int64)


def _index_weights(
    input_shape: tuple[int, ...],
    dtype: np.dtype,
    target: Any,
    weight: Any,
    ignore_index: int,
    label_smoothing: float,
    op: str,
) -> tuple[np.ndarray, Any]:
    """q and the mean's denominator for class-index targets (see the comment above)."""
    axis = 1 if len(input_shape) >= 2 else 0
    classes, sample_shape = input_shape[axis], input_shape[:axis] + input_shape[axis + 1 :]
    indices = _class_indices(target, sample_shape, classes, ignore_index, op)
    w = _class_weight(weight, classes, dtype, op)
    kept = indices != ignore_index
    safe = np.where(kept, indices, 0)
    w_y = kept.astype(dtype) if w is None else w[safe] * kept  # 1 (or the class weight), 0 if ignored
    q = np.zeros(sample_shape + (classes,), dtype)  # the class axis last, moved below
    # Each sample's target entry, through a flat index (np.put_along_axis costs several times more).
    rows = q.reshape(-1, classes)
    rows[np.arange(len(rows)), safe.reshape(-1)] = ((1 - label_smoothing) * w_y).reshape(-1)
    if label_smoothing:
        q += (label_smoothing / classes) * (np.ones(classes, dtype) if w is None else w) * kept[..., None]
    return np.moveaxis(q, -1, axis), w_y.sum()


class ClassTargets(Function):
    """Class-index targets as the distribution ``q`` over the classes (weights, ignore_index and
    label smoothing applied), checked: one op, so that a compiled step checks each new batch's
    targets and rebuilds ``q`` from them (mg.compile replays ops). With ``per_kept`` the mean's
    denominator, ``sum(w_y)``, is divided into ``q`` already. Not differentiable."""

    __slots__ = ()
    name = "class_targets"
    may_warn = True  # sum(w_y) may be 0 (every target ignored): NaN, as PyTorch

    @staticmethod
    def forward(
        ctx: Any,
        target: Any,
        input_shape: tuple[int, ...],
        dtype: np.dtype,
        weight: Any,
        ignore_index: int,
        label_smoothing: float,
        per_kept: bool,
        op: str,
    ) -> np.ndarray:
        q, denominator = _index_weights(input_shape, dtype, target, weight, ignore_index, label_smoothing, op)
        return q / denominator if per_kept else q


def _class_targets(
    input: Tensor, target: Any, weight: Any, ignore_index: int, label_smoothing: float, per_kept: bool, op: str
) -> Tensor:
    if isinstance(target, Tensor):
        target = target._data  # an integer Tensor (or whole floats): an operand, never differentiated
    return ClassTargets.apply(target, input.shape, input.dtype, weight, ignore_index, label_smoothing, per_kept, op)


class CrossEntropy(Function):
    """-sum_c q_c log_softmax(x)_c along the class axis, reduced: one op, because its gradient
    is simply ``sum_c(q) softmax(x) - q`` per sample (times the output's gradient), and the
    target's is ``-log_softmax(x)``."""

    __slots__ = ("axis", "denominator", "reduction")
    name = "cross_entropy"
    may_warn = True
    differentiable_twice = True

    @staticmethod
    def forward(ctx: Any, x: np.ndarray, q: np.ndarray, axis: int, denominator: float, reduction: str) -> np.ndarray:
        ctx.axis, ctx.denominator, ctx.reduction = axis, denominator, reduction
        log_probs = x - stable_logsumexp(x, (axis,))
        ctx.save_for_backward(x, q, log_probs)
        losses = -np.add.reduce(q * log_probs, axis=axis)
        if reduction == "none":
            return losses
        total = np.add.reduce(losses, axis=None)
        return total / denominator if reduction == "mean" else total

    @staticmethod
    def backward(ctx: Any, g: Any) -> tuple[Any, Any]:
        x, q, log_probs = ctx.saved_tensors
        if isinstance(x, Tensor):  # recorded (create_graph): log-softmax as an op of x
            log_probs = x.log_softmax(ctx.axis)
        if ctx.reduction == "none":
            shape = list(x.shape)
            shape[ctx.axis] = 1
            g = g.reshape(tuple(shape))
        elif ctx.reduction == "mean":
            g = g / ctx.denominator
        gx = (q.sum(axis=ctx.axis, keepdims=True) * backmath.exp(log_probs) - q) * g
        return gx, (-log_probs * g if ctx.needs_input_grad[1] else None)


def cross_entropy(
    input: Tensor,
    target: Any,
    weight: Any = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Cross-entropy of logits ``input`` of shape (N, C), (N, C, d1, ...) or (C,), as PyTorch's:
    ``target`` holds class indices (the input's shape without dim 1) or class probabilities
    (the input's shape; then differentiable). ``weight`` (C,) weighs the classes, and the mean
    is then ``sum(w_y l) / sum(w_y)``; targets equal to ``ignore_index`` count for nothing;
    ``label_smoothing`` mixes the target with the uniform distribution. One stable op.

    >>> import microgradnn as mg
    >>> round(mg.nn.functional.cross_entropy(mg.Tensor([[1000.0, 0.0]]), [1]).item(), 6)
    1000.0
    >>> round(mg.nn.functional.cross_entropy(mg.Tensor([[1.0, 0.0]]), [[0.5, 0.5]]).item(), 6)
    0.813262
    """
    op = "cross_entropy"
    _check_reduction(reduction, op)
    if not 0 <= label_smoothing <= 1:
        raise ValueError(f"{op}: label_smoothing must be in [0, 1], got {label_smoothing}")
    axis, classes, sample_shape = _class_layout(input, op)
    if _target_shape(target) == input.shape:  # class probabilities
        w = _class_weight(weight, classes, input.dtype, op)
        q = as_tensor(target, dtype=input.dtype)
        if label_smoothing:
            q = q * (1 - label_smoothing) + label_smoothing / classes
        if w is not None:
            q = q * w.reshape((classes,) + (1,) * (input.ndim - 1 - axis))
        denominator = float(np.prod(sample_shape))
        return CrossEntropy.apply(input, q, axis=axis, denominator=denominator, reduction=reduction)
    # Class indices: q (per kept weight, for the mean) from one op that checks the targets.
    q_index = _class_targets(input, target, weight, ignore_index, label_smoothing, reduction == "mean", op)
    summed = "sum" if reduction == "mean" else reduction
    return CrossEntropy.apply(input, q_index, axis=axis, denominator=1.0, reduction=summed)


def _target_shape(target: Any) -> tuple[int, ...]:
    return target.shape if isinstance(target, (Tensor, np.ndarray)) else np.shape(target)


def nll_loss(
    input: Tensor, target: Any, weight: Any = None, ignore_index: int = -100, reduction: str = "mean"
) -> Tensor:
    """Negative log-likelihood of log-probabilities ``input`` of shape (N, C), (N, C, d1, ...)
    or (C,) at the target class indices; ``weight`` and ``ignore_index`` as in
    :func:`cross_entropy` (the mean is ``sum(w_y l) / sum(w_y)``).

    >>> import microgradnn as mg
    >>> mg.nn.functional.nll_loss(mg.Tensor([[-0.5, -1.5]]), [0]).item()
    0.5
    """
    _check_reduction(reduction, "nll_loss")
    axis = _class_layout(input, "nll_loss")[0]
    q = _class_targets(input, target, weight, ignore_index, 0.0, reduction == "mean", "nll_loss")
    losses = -(input * q).sum(axis)
    if reduction == "mean":  # q is per kept weight already: the mean is the sum
        return losses.sum()
    return _reduce(losses, reduction)


def dropout(input: Tensor, p: float = 0.5, training: bool = True, rng: np.random.Generator | None = None) -> Tensor:
    """Inverted dropout: when ``training``, zero each element with probability ``p`` (drawn
    from ``rng``, else the default generator) and scale the rest by 1 / (1 - p).

    >>> import microgradnn as mg
    >>> mg.nn.functional.dropout(mg.ones(3), 0.5, training=False).tolist()
    [1.0, 1.0, 1.0]
    """
    if not 0 <= p <= 1:
        raise ValueError(f"dropout: p must be in [0, 1], got {p}")
    if not training or p == 0:
        return input
    return _drop(input, p, input.shape, rng)


# ------------------------------------------------------------------ regression and margin losses
def _pair(input: Tensor, target: Any, op: str, reduction: str) -> Tensor:
    _check_reduction(reduction, op)
    return _same_shape_target(input, target, op)


def l1_loss(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """Mean (or summed) absolute error ``|input - target|``; differentiable in both.

    >>> import microgradnn as mg
    >>> mg.nn.functional.l1_loss(mg.Tensor([1.0, 2.0]), [1.0, 4.0]).item()
    1.0
    """
    target = _pair(input, target, "l1_loss", reduction)
    return _reduce(abs(input - target), reduction)


def smooth_l1_loss(input: Tensor, target: Any, reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """0.5 d² / beta where ``|d|`` < beta, else ``|d|`` - 0.5 beta (d = input - target); beta = 0 is
    the L1 loss.

    >>> import microgradnn as mg
    >>> mg.nn.functional.smooth_l1_loss(mg.Tensor([0.0, 0.0]), [0.5, 3.0], reduction="none").tolist()
    [0.125, 2.5]
    """
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be non-negative, got {beta}")
    target = _pair(input, target, "smooth_l1_loss", reduction)
    d = input - target
    if beta == 0:
        return _reduce(abs(d), reduction)
    size = abs(d)
    return _reduce(where(size.data < beta, 0.5 * d * d / beta, size - 0.5 * beta), reduction)


def huber_loss(input: Tensor, target: Any, reduction: str = "mean", delta: float = 1.0) -> Tensor:
    """0.5 d² where ``|d|`` < delta, else delta (``|d|`` - 0.5 delta): ``delta * smooth_l1(beta=delta)``.

    >>> import microgradnn as mg
    >>> mg.nn.functional.huber_loss(mg.Tensor([0.0, 0.0]), [0.5, 3.0], reduction="none", delta=2.0).tolist()
    [0.125, 4.0]
    """
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}")
    target = _pair(input, target, "huber_loss", reduction)
    d = input - target
    size = abs(d)
    return _reduce(where(size.data < delta, 0.5 * d * d, delta * (size - 0.5 * delta)), reduction)


def _xlogx(t: Tensor) -> Tensor:
    """t log t, with 0 log 0 = 0 (and no log(0) on the way)."""
    positive = t.data > 0
    return t * where(positive, t, 1.0).log() * positive


def kl_div(input: Tensor, target: Any, reduction: str = "mean", log_target: bool = False) -> Tensor:
    """KL divergence of the target from the model: ``input`` holds log-probabilities, ``target``
    probabilities (log-probabilities with ``log_target=True``); elementwise
    ``target * (log(target) - input)``. ``reduction="batchmean"`` divides the sum by the batch
    size (the true KL divergence per sample); "mean", PyTorch's default, by the element count.

    >>> import microgradnn as mg, math
    >>> loss = mg.nn.functional.kl_div(mg.Tensor([math.log(0.5)] * 2), [1.0, 0.0], reduction="sum")
    >>> round(loss.item(), 6)
    0.693147
    """
    if reduction not in ("mean", "batchmean", "sum", "none"):
        raise ValueError(f"kl_div: reduction must be 'mean', 'batchmean', 'sum' or 'none', not {reduction!r}")
    target = _same_shape_target(input, target, "kl_div")
    loss = target.exp() * (target - input) if log_target else _xlogx(target) - target * input
    if reduction == "batchmean":
        return loss.sum() / (input.shape[0] if input.ndim else 1)
    return _reduce(loss, reduction)


def poisson_nll_loss(
    input: Tensor,
    target: Any,
    log_input: bool = True,
    full: bool = False,
    eps: float = 1e-8,
    reduction: str = "mean",
) -> Tensor:
    """Negative log-likelihood of ``target`` counts under a Poisson of rate ``exp(input)``
    (``log_input=True``: ``exp(input) - target * input``) or of rate ``input``
    (``input - target * log(input + eps)``); ``full`` adds Stirling's approximation of
    log(target!) where target > 1.

    >>> import microgradnn as mg
    >>> mg.nn.functional.poisson_nll_loss(mg.Tensor([0.0]), [2.0]).item()
    1.0
    """
    target = _pair(input, target, "poisson_nll_loss", reduction)
    loss = input.exp() - target * input if log_input else input - target * (input + eps).log()
    if full:
        big = target.data > 1
        t = where(big, target, 1.0)
        loss = loss + where(big, t * t.log() - t + 0.5 * (2 * np.pi * t).log(), 0.0)
    return _reduce(loss, reduction)


def gaussian_nll_loss(
    input: Tensor, target: Any, var: Any, full: bool = False, eps: float = 1e-6, reduction: str = "mean"
) -> Tensor:
    """Negative log-likelihood of ``target`` under a Gaussian of mean ``input`` and variance
    ``var``: ``0.5 (log(var) + (input - target)² / var)`` (+ 0.5 log 2π with ``full``). ``var``
    has the input's shape, or one dim of size 1 (or the input's shape without its last dim),
    or is a float; it is clamped at ``eps`` for stability, the gradient passing straight
    through the clamp, as in PyTorch.

    >>> import microgradnn as mg
    >>> mg.nn.functional.gaussian_nll_loss(mg.Tensor([0.0]), [2.0], mg.Tensor([1.0])).item()
    2.0
    """
    op = "gaussian_nll_loss"
    target = _pair(input, target, op, reduction)
    var = as_tensor(var * np.ones(input.shape) if isinstance(var, (int, float)) else var, dtype=input.dtype)
    if (var.data < 0).any():
        raise ValueError(f"{op}: var has negative entries")
    if var.shape != input.shape:
        if var.shape == input.shape[:-1]:
            var = var.reshape(var.shape + (1,))
        elif var.ndim != input.ndim or sum(v for i, v in zip(input.shape, var.shape, strict=True) if i != v) != 1:
            raise ShapeError(
                f"{op}: var of shape {var.shape} does not fit input of shape {input.shape} (give the input's "
                "shape, one dim of size 1, or the input's shape without its last dim)"
            )
    # The clamp is a constant shift, so the gradient reaches var unchanged (PyTorch's no_grad clamp).
    var = var + (var.data.clip(eps, None) - var.data)
    loss = 0.5 * (var.log() + (input - target) ** 2 / var)
    if full:
        loss = loss + float(0.5 * np.log(2 * np.pi))
    return _reduce(loss, reduction)


def _labels(target: Any, shape: tuple[int, ...], op: str, dtype: np.dtype) -> np.ndarray:
    """A constant target of labels (1 or -1) of ``shape``."""
    values = np.asarray(target.data if isinstance(target, Tensor) else target)
    if values.dtype.kind not in "biuf":
        raise TypeError(f"{op}: target must hold numbers (1 or -1), not {values.dtype} values")
    if values.shape != tuple(shape):
        raise ShapeError(f"{op}: target shape {values.shape} does not match {tuple(shape)}")
    return values.astype(dtype)


def cosine_embedding_loss(
    input1: Tensor, input2: Tensor, target: Any, margin: float = 0.0, reduction: str = "mean"
) -> Tensor:
    """1 - cos(x1, x2) where target is 1, max(0, cos(x1, x2) - margin) where it is -1; the
    cosine is along the last dim of inputs (N, D) or (D,).

    >>> import microgradnn as mg
    >>> mg.nn.functional.cosine_embedding_loss(mg.Tensor([[1.0, 0.0]]), mg.Tensor([[0.0, 1.0]]), [1]).item()
    1.0
    """
    op = "cosine_embedding_loss"
    _check_reduction(reduction, op)
    if input1.shape != input2.shape or input1.ndim not in (1, 2):
        raise ShapeError(f"{op}: inputs must both have shape (N, D) or (D,), got {input1.shape} and {input2.shape}")
    y = _labels(target, input1.shape[:-1], op, input1.dtype)
    # PyTorch's form: the squared norms each get 1e-12 before the square root.
    dot = (input1 * input2).sum(-1)
    cos = dot / (((input1 * input1).sum(-1) + 1e-12) * ((input2 * input2).sum(-1) + 1e-12)).sqrt()
    loss = where(y == 1, 1 - cos, 0.0) + where(y == -1, (cos - margin).clip(0, None), 0.0)
    return _reduce(loss, reduction)


def margin_ranking_loss(
    input1: Tensor, input2: Tensor, target: Any, margin: float = 0.0, reduction: str = "mean"
) -> Tensor:
    """max(0, -target (input1 - input2) + margin): target 1 asks for input1 to rank higher.

    >>> import microgradnn as mg
    >>> mg.nn.functional.margin_ranking_loss(mg.Tensor([1.0]), mg.Tensor([2.0]), [1], margin=0.5).item()
    1.5
    """
    op = "margin_ranking_loss"
    _check_reduction(reduction, op)
    if input1.shape != input2.shape:
        raise ShapeError(f"{op}: input1 shape {input1.shape} does not match input2 shape {input2.shape}")
    y = _labels(target, input1.shape, op, input1.dtype)
    return _reduce(((input1 - input2) * -y + margin).clip(0, None), reduction)


def hinge_embedding_loss(input: Tensor, target: Any, margin: float = 1.0, reduction: str = "mean") -> Tensor:
    """``input`` where target is 1, max(0, margin - input) where it is -1 (for distances).

    >>> import microgradnn as mg
    >>> mg.nn.functional.hinge_embedding_loss(mg.Tensor([0.3, 0.3]), [1, -1], reduction="none").tolist()
    [0.3, 0.7]
    """
    op = "hinge_embedding_loss"
    _check_reduction(reduction, op)
    y = _labels(target, input.shape, op, input.dtype)
    # As PyTorch: labels other than 1 and -1 get both terms.
    loss = where(y != 1, (margin - input).clip(0, None), 0.0) + where(y != -1, input, 0.0)
    return _reduce(loss, reduction)


def multi_margin_loss(
    input: Tensor,
    target: Any,
    p: int = 1,
    margin: float = 1.0,
    weight: Any = None,
    reduction: str = "mean",
) -> Tensor:
    """The multi-class hinge loss of scores (N, C) or (C,) at class indices:
    ``sum_{i != y} max(0, margin - x[y] + x[i]) ** p / C`` per sample, each term times
    ``weight[y]`` when given.

    >>> import microgradnn as mg
    >>> round(mg.nn.functional.multi_margin_loss(mg.Tensor([[0.1, 0.2, 0.4, 0.8]]), [3]).item(), 6)
    0.325
    """
    op = "multi_margin_loss"
    _check_reduction(reduction, op)
    if p not in (1, 2):
        raise ValueError(f"{op}: p must be 1 or 2, got {p}")
    if input.ndim not in (1, 2):
        raise ShapeError(f"{op}: input must have shape (N, C) or (C,), got {input.shape}")
    classes = input.shape[-1]
    y = _class_indices(target, input.shape[:-1], classes, None, op)
    w = _class_weight(weight, classes, input.dtype, op)
    x = input.reshape(-1, classes)
    rows = np.arange(x.shape[0])
    y_flat = y.reshape(-1)
    others = np.ones(x.shape, bool)
    others[rows, y_flat] = False
    terms = (margin - x[rows, y_flat].reshape(-1, 1) + x).clip(0, None) * others
    if p == 2:
        terms = terms * terms
    if w is not None:
        terms = terms * w[y_flat].reshape(-1, 1)
    return _reduce((terms.sum(1) / classes).reshape(y.shape), reduction)


def soft_margin_loss(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """log(1 + exp(-target * input)) for labels 1 or -1, stable for any input.

    >>> import microgradnn as mg
    >>> mg.nn.functional.soft_margin_loss(mg.Tensor([1000.0, -1000.0]), [1, 1], reduction="none").tolist()
    [0.0, 1000.0]
    """
    op = "soft_margin_loss"
    _check_reduction(reduction, op)
    y = _labels(target, input.shape, op, input.dtype)
    # log(1 + exp(-z)) is binary cross-entropy with logits z at target 1.
    return _reduce(BinaryCrossEntropyWithLogits.apply(input * y, np.ones(input.shape, input.dtype)), reduction)


def triplet_margin_loss(
    anchor: Tensor,
    positive: Tensor,
    negative: Tensor,
    margin: float = 1.0,
    p: float = 2.0,
    eps: float = 1e-6,
    swap: bool = False,
    reduction: str = "mean",
) -> Tensor:
    """max(0, d(a, p) - d(a, n) + margin), with d the :func:`pairwise_distance`; ``swap`` uses
    min(d(a, n), d(p, n)) as the negative distance.

    >>> import microgradnn as mg
    >>> a, p, n = mg.Tensor([[0.0, 0.0]]), mg.Tensor([[3.0, 4.0]]), mg.Tensor([[0.0, 1.0]])
    >>> round(mg.nn.functional.triplet_margin_loss(a, p, n, eps=0.0).item(), 6)
    5.0
    """
    op = "triplet_margin_loss"
    _check_reduction(reduction, op)
    if not anchor.shape == positive.shape == negative.shape or anchor.ndim not in (1, 2):
        raise ShapeError(
            f"{op}: anchor, positive and negative must have one shape, (N, D) or (D,); got "
            f"{anchor.shape}, {positive.shape} and {negative.shape}"
        )
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = minimum(d_neg, pairwise_distance(positive, negative, p, eps))
    return _reduce((d_pos - d_neg + margin).clip(0, None), reduction)


# ------------------------------------------------------------------ vectors and classes
def one_hot(tensor: Any, num_classes: int = -1) -> Tensor:
    """Class indices as one-hot rows: an int64 Tensor of shape ``tensor.shape + (num_classes,)``
    (``num_classes=-1``: the largest index + 1).

    >>> import microgradnn as mg
    >>> mg.nn.functional.one_hot([0, 2]).tolist()
    [[1, 0, 0], [0, 0, 1]]
    """
    values = np.asarray(tensor.data if isinstance(tensor, Tensor) else tensor)
    if values.dtype.kind not in "iuf" or (values.dtype.kind == "f" and np.any(values != np.round(values))):
        raise TypeError(f"one_hot: tensor must hold integer class indices, not {values.dtype} values")
    if num_classes == -1:
        num_classes = int(values.max()) + 1 if values.size else 0
    if values.size and (values.min() < 0 or values.max() >= num_classes):
        bad = values[(values < 0) | (values >= num_classes)][0]
        raise IndexError(f"one_hot: class index {bad:.15g} is out of range for {num_classes} classes")
    out = np.zeros(values.shape + (num_classes,), np.int64)
    np.put_along_axis(out, values.astype(np.int64)[..., None], 1, axis=-1)
    return Tensor._wrap(out, None)


def _vector_norm(x: Tensor, p: float, axis: int, keepdims: bool, op: str) -> Tensor:
    # The linalg norm, whose gradient is 0 (not NaN) at a zero vector, as PyTorch's.
    if isinstance(p, bool) or not (isinstance(p, (int, float)) and p > 0):
        raise ValueError(f"{op}: p must be a positive number (inf included), got {p!r}")
    return vector_norm(x, p, axis, keepdims)


def normalize(
    input: Tensor, p: float = 2.0, dim: int | None = None, eps: float = 1e-12, *, axis: int | None = None
) -> Tensor:
    """``input / max(‖input‖_p, eps)`` along ``dim`` (default 1, as PyTorch).

    >>> import microgradnn as mg
    >>> mg.nn.functional.normalize(mg.Tensor([[3.0, 4.0]])).tolist()
    [[0.6, 0.8]]
    """
    d = dim_of("normalize", dim, axis, input.shape)
    d = check_dim("normalize", 1, input.shape) if d is None else d
    return input / _vector_norm(input, p, d, True, "normalize").clip(eps, None)


def cosine_similarity(
    x1: Tensor, x2: Tensor, dim: int | None = None, eps: float = 1e-8, *, axis: int | None = None
) -> Tensor:
    """The cosine of the angle between ``x1`` and ``x2`` along ``dim`` (default 1), each norm
    clamped at ``eps``; the two broadcast together.

    >>> import microgradnn as mg
    >>> mg.nn.functional.cosine_similarity(mg.Tensor([[1.0, 0.0]]), mg.Tensor([[1.0, 1.0]])).tolist()
    [0.7071067811865475]
    """
    x1, x2 = as_tensor(x1), as_tensor(x2)
    try:
        shape = np.broadcast_shapes(x1.shape, x2.shape)
    except ValueError:
        raise ShapeError(f"cosine_similarity: shapes {x1.shape} and {x2.shape} cannot be broadcast together") from None
    d = dim_of("cosine_similarity", dim, axis, shape)
    d = check_dim("cosine_similarity", 1, shape) if d is None else d
    d = d - len(shape)  # counted from the end, so it names the same axis of both inputs
    n1 = _vector_norm(x1, 2, d, True, "cosine_similarity").clip(eps, None)
    n2 = _vector_norm(x2, 2, d, True, "cosine_similarity").clip(eps, None)
    return ((x1 / n1) * (x2 / n2)).sum(axis=d)


def pairwise_distance(
    x1: Tensor,
    x2: Tensor,
    p: float = 2.0,
    eps: float = 1e-6,
    keepdim: bool | None = None,
    *,
    keepdims: bool | None = None,
) -> Tensor:
    """‖x1 - x2 + eps‖_p along the last dim (PyTorch adds ``eps`` to the difference).

    >>> import microgradnn as mg
    >>> mg.nn.functional.pairwise_distance(mg.Tensor([[0.0, 0.0]]), mg.Tensor([[3.0, 4.0]]), eps=0.0).tolist()
    [5.0]
    """
    keep = keepdim_of("pairwise_distance", keepdim, keepdims)
    diff = as_tensor(x1) - x2 + eps
    if diff.ndim == 0:
        diff = diff.reshape(1)
    return _vector_norm(diff, p, -1, keep, "pairwise_distance")


def _softmax_dim(op: str, input: Tensor, dim: int | None, axis: int | None, dtype: DTypeLike) -> tuple[Tensor, int]:
    d = dim_of(op, dim, axis, input.shape)
    if dtype is not None:
        input = input.astype(dtype)
    return input, -1 if d is None else d


def softmax(input: Tensor, dim: int | None = None, dtype: DTypeLike = None, *, axis: int | None = None) -> Tensor:
    """exp(x) / sum(exp(x)) along ``dim`` (or ``axis``; the last dim when neither is given).

    >>> import microgradnn as mg
    >>> mg.nn.functional.softmax(mg.Tensor([[0.0, 0.0]]), dim=1).tolist()
    [[0.5, 0.5]]
    """
    input, d = _softmax_dim("softmax", input, dim, axis, dtype)
    return softmax_ops.softmax(input, d)


def log_softmax(input: Tensor, dim: int | None = None, dtype: DTypeLike = None, *, axis: int | None = None) -> Tensor:
    """x - logsumexp(x) along ``dim`` (or ``axis``; the last dim when neither is given).

    >>> import microgradnn as mg
    >>> mg.nn.functional.log_softmax(mg.Tensor([[0.0, 0.0]]), dim=1).exp().tolist()
    [[0.5, 0.5]]
    """
    input, d = _softmax_dim("log_softmax", input, dim, axis, dtype)
    return softmax_ops.log_softmax(input, d)


def softmin(input: Tensor, dim: int | None = None, dtype: DTypeLike = None, *, axis: int | None = None) -> Tensor:
    """softmax(-x) along ``dim``: weights largest for the smallest values.

    >>> import microgradnn as mg
    >>> mg.nn.functional.softmin(mg.Tensor([0.0, 1000.0]), dim=0).tolist()
    [1.0, 0.0]
    """
    input, d = _softmax_dim("softmin", input, dim, axis, dtype)
    return softmax_ops.softmax(-input, d)


# ------------------------------------------------------------------ dropout variants
def _check_p(p: float, op: str) -> None:
    if not 0 <= p <= 1:
        raise ValueError(f"{op}: p must be in [0, 1], got {p}")


def _channel_mask_shape(input: Tensor, spatial: int, op: str) -> tuple[int, ...]:
    """(N, C, 1, ...) or (C, 1, ...): one draw per channel, for ``spatial`` trailing dims."""
    if input.ndim not in (spatial + 1, spatial + 2):
        raise ShapeError(
            f"{op}: input must have {spatial + 1} dims (unbatched) or {spatial + 2} (batched), got shape {input.shape}"
        )
    return input.shape[: input.ndim - spatial] + (1,) * spatial


class Dropout(Function):
    """``x * mask``, the mask drawn in forward: each entry of ``mask_shape`` (broadcast over
    ``x``) kept with probability 1 - p and scaled by 1 / (1 - p). One op that draws its own
    mask, so a compiled step draws a new one at each replay (from ``rng``, else the default
    generator as it is then)."""

    __slots__ = ("mask",)
    name = "dropout"
    differentiable_twice = True
    may_warn = True  # inf * 0 (a dropped inf) is NaN, as in PyTorch

    @staticmethod
    def forward(
        ctx: Any, x: np.ndarray, p: float, mask_shape: tuple[int, ...], rng: np.random.Generator | None
    ) -> np.ndarray:
        keep = (rng if rng is not None else default_generator()).random(mask_shape) >= p
        ctx.mask = (keep / (1 - p)).astype(x.dtype)
        return x * ctx.mask

    @staticmethod
    def backward(ctx: Any, g: Any) -> tuple[Any, None, None, None]:
        return g * ctx.mask, None, None, None


def _drop(input: Tensor, p: float, mask_shape: tuple[int, ...], rng: np.random.Generator | None) -> Tensor:
    if p == 1:
        return input * np.zeros(input.shape, input.dtype)
    return Dropout.apply(input, p, mask_shape, rng)


def _channel_dropout(
    input: Tensor, p: float, training: bool, rng: np.random.Generator | None, spatial: int, op: str
) -> Tensor:
    _check_p(p, op)
    mask_shape = _channel_mask_shape(input, spatial, op)
    if not training or p == 0:
        return input
    return _drop(input, p, mask_shape, rng)


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True, rng: np.random.Generator | None = None) -> Tensor:
    """Dropout of whole channels of (N, C, L) or (C, L) inputs, scaled by 1 / (1 - p).

    >>> import microgradnn as mg, numpy as np
    >>> out = mg.nn.functional.dropout1d(mg.ones((1, 4, 3)), rng=np.random.default_rng(0))
    >>> out.data[0, :, 0].tolist(), bool((out.data == out.data[..., :1]).all())
    ([2.0, 0.0, 0.0, 0.0], True)
    """
    return _channel_dropout(input, p, training, rng, 1, "dropout1d")


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, rng: np.random.Generator | None = None) -> Tensor:
    """Dropout of whole channels of (N, C, H, W) or (C, H, W) inputs, scaled by 1 / (1 - p).

    >>> import microgradnn as mg
    >>> mg.nn.functional.dropout2d(mg.ones((1, 2, 2, 2)), training=False).shape
    (1, 2, 2, 2)
    """
    return _channel_dropout(input, p, training, rng, 2, "dropout2d")


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True, rng: np.random.Generator | None = None) -> Tensor:
    """Dropout of whole channels of (N, C, D, H, W) or (C, D, H, W) inputs, scaled by 1 / (1 - p).

    >>> import microgradnn as mg
    >>> mg.nn.functional.dropout3d(mg.ones((2, 1, 1, 1)), training=False).shape
    (2, 1, 1, 1)
    """
    return _channel_dropout(input, p, training, rng, 3, "dropout3d")


# SELU's alpha * scale: the value alpha dropout sets dropped units to before its affine fix-up.
_SELU_NEGATIVE = 1.7580993408473766


def _alpha_drop(input: Tensor, p: float, mask_shape: tuple[int, ...], rng: np.random.Generator | None) -> Tensor:
    """PyTorch's alpha dropout: dropped units become -alpha', then a x + b keeps the mean and
    variance of unit-Gaussian (SELU) activations."""
    if p == 1:
        return input * np.zeros(input.shape, input.dtype)
    keep = ((rng if rng is not None else default_generator()).random(mask_shape) >= p).astype(input.dtype)
    a = 1 / np.sqrt((_SELU_NEGATIVE**2 * p + 1) * (1 - p))
    shift = (keep - 1) * (_SELU_NEGATIVE * a) + _SELU_NEGATIVE * a * p
    return input * (keep * a).astype(input.dtype) + shift.astype(input.dtype)


def alpha_dropout(
    input: Tensor, p: float = 0.5, training: bool = False, rng: np.random.Generator | None = None
) -> Tensor:
    """Dropout for SELU networks: keeps zero mean and unit variance (``training`` defaults to
    False, as in PyTorch's function).

    >>> import microgradnn as mg, numpy as np
    >>> x = mg.Tensor(np.random.default_rng(0).standard_normal(100_000))
    >>> y = mg.nn.functional.alpha_dropout(x, 0.2, training=True, rng=np.random.default_rng(1))
    >>> round(float(y.data.mean()), 1), round(float(y.data.std()), 1)
    (0.0, 1.0)
    """
    _check_p(p, "alpha_dropout")
    if not training or p == 0:
        return input
    return _alpha_drop(input, p, input.shape, rng)


def feature_alpha_dropout(
    input: Tensor, p: float = 0.5, training: bool = False, rng: np.random.Generator | None = None
) -> Tensor:
    """Alpha dropout of whole channels (dim 1 of a batched input, every dim after it shares a
    draw; for inputs of 2 or more dims).

    >>> import microgradnn as mg
    >>> mg.nn.functional.feature_alpha_dropout(mg.ones((2, 3, 4)), 0.5).shape
    (2, 3, 4)
    """
    _check_p(p, "feature_alpha_dropout")
    if input.ndim < 2:
        raise ShapeError(f"feature_alpha_dropout: input must have at least 2 dims (N, C, ...), got shape {input.shape}")
    if not training or p == 0:
        return input
    return _alpha_drop(input, p, input.shape[:2] + (1,) * (input.ndim - 2), rng)


# The functional forms of the layer families (ops/<family>.py), by PyTorch's names.
from ..ops.attention import scaled_dot_product_attention  # noqa: E402
from ..ops.conv import conv1d, conv2d, conv_transpose1d, conv_transpose2d, fold, unfold  # noqa: E402
from ..ops.embedding import embedding  # noqa: E402
from ..ops.normalization import batch_norm, group_norm, instance_norm, layer_norm, rms_norm  # noqa: E402
from ..ops.pooling import (  # noqa: E402
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    adaptive_max_pool2d,
    avg_pool1d,
    avg_pool2d,
    interpolate,
    max_pool1d,
    max_pool2d,
)

__all__ += ["layer_norm"]
__all__ += ["embedding"]
__all__ += ["batch_norm", "group_norm", "instance_norm", "rms_norm"]
__all__ += ["scaled_dot_product_attention"]
__all__ += ["conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d", "unfold", "fold"]
__all__ += ["max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d", "adaptive_avg_pool1d", "adaptive_avg_pool2d"]
__all__ += ["adaptive_max_pool2d", "interpolate"]
