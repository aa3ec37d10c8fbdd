"""Normalization ops: layer_norm, batch_norm, instance_norm, group_norm and rms_norm (the
functional forms behind nn/normalization.py).

All five are one operation, :class:`_Normalize`: view the input in some shape, take a mean and
variance over some axes of that view (or use given ones: running statistics), normalize, then
scale and shift by per-feature ``weight`` and ``bias``. One fused forward and the standard
closed-form backward, instead of a dozen recorded Tensor ops, make a layer norm in a training
step cost a few NumPy passes over the input. With x̂ the normalized input, r = 1/sqrt(var + eps),
gy = g * weight and means over the normalized axes:

    dx = r * (gy - mean(gy) - x̂ * mean(gy * x̂))     (statistics of this batch; RMS norm
                                                    drops mean(gy), having no centring)
    dx = r * gy                                     (given statistics: an affine map)
    dweight = sum(g * x̂),  dbias = sum(g)           (over every axis but the features')

The backward is written with operations that ndarrays and Tensors share; under
``create_graph=True`` it recomputes x̂ and r from the input Tensor, so it is recorded and can be
differentiated again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..autograd import Function, no_fp_warnings, sum_to
from ..errors import ShapeError
from ..tensor import Tensor, as_tensor

__all__ = ["layer_norm", "batch_norm", "instance_norm", "group_norm", "rms_norm"]


class Spec:
    """What one normalization does: the shape to view the input in (None: its own), the axes
    of that view to take statistics over, the shape the weight and bias broadcast in, whether
    to centre (False: RMS norm), eps, and whether the statistics come from this input (True)
    or are given constants (running statistics)."""

    __slots__ = ("view", "axes", "param_shape", "center", "eps", "batch")

    def __init__(
        self,
        view: tuple[int, ...] | None,
        axes: tuple[int, ...],
        param_shape: tuple[int, ...],
        center: bool,
        eps: float,
        batch: bool,
    ) -> None:
        self.view, self.axes, self.param_shape = view, axes, param_shape
        self.center, self.eps, self.batch = center, eps, batch


def _normalized(xv: Any, spec: Spec, stats: tuple[Any, Any] | None) -> tuple[Any, Any]:
    """(x̂, r) for the viewed input, on ndarrays or (recorded) on Tensors."""
    axes = spec.axes
    if spec.batch:
        if spec.center:
            centred = xv - xv.mean(axis=axes, keepdims=True)
            var = (centred * centred).mean(axis=axes, keepdims=True)
        else:
            centred = xv
            var = (xv * xv).mean(axis=axes, keepdims=True)
    else:
        assert stats is not None
        mean, var = stats
        centred = xv - mean
    rstd = 1 / (var + spec.eps) ** 0.5
    return centred * rstd, rstd


def _normalized_array(xv: np.ndarray, spec: Spec, stats: tuple[Any, Any] | None) -> tuple[np.ndarray, np.ndarray]:
    """(x̂, r) on ndarrays with as few passes as NumPy allows; ``stats`` are the mean and
    (biased) variance when known already (running statistics, or a batch's computed by the caller)."""
    axes = spec.axes
    if stats is None:
        if spec.center:
            centred = xv - xv.mean(axis=axes, keepdims=True)
            var = np.square(centred).mean(axis=axes, keepdims=True)
        else:
            centred = xv
            var = np.square(xv).mean(axis=axes, keepdims=True)
    else:
        mean, var = stats
        centred = xv - mean
    rstd = 1 / np.sqrt(var + spec.eps)
    if centred is xv:  # RMS norm: the input itself, which must not change
        return xv * rstd, rstd
    centred *= rstd  # a fresh array: scaled in place, one temporary fewer
    return centred, rstd


class _Normalize(Function):
    """Normalize over ``spec.axes`` of the input viewed as ``spec.view``, then ``* weight +
    bias`` (either may be None); see the module's docstring for the backward."""

    __slots__ = ("spec", "stats", "rows", "row_params", "channels")
    name = "_Normalize"
    may_warn = True
    differentiable_twice = True

    @staticmethod
    def forward(
        ctx: Any,
        x: np.ndarray,
        weight: np.ndarray | None,
        bias: np.ndarray | None,
        spec: Spec,
        stats: tuple[Any, Any] | None = None,
        moments: list[Any] | None = None,
        running: tuple[Any, Any, Any, Any] | None = None,
    ) -> np.ndarray:
        # running: BatchNorm's (running_mean, running_var, momentum, num_batches_tracked), updated
        # here, in the op, so that a compiled step updates them at each replay too.
        if running is not None and moments is None:
            moments = []
        ctx.spec, ctx.stats = spec, stats
        xv = x if spec.view is None else x.reshape(spec.view)
        axes, nd = spec.axes, xv.ndim
        # The statistics of layer, RMS, group and instance norm are over the trailing axes of
        # the view: each row of a 2-D (rows, K) view then has its own, and the row sums are
        # matrix-vector products (BLAS), several times quicker than NumPy's reductions.
        k = int(np.prod(xv.shape[nd - len(axes) :]))
        ctx.rows = k if stats is None and spec.batch and x.size and axes == tuple(range(nd - len(axes), nd)) else 0
        params = spec.param_shape
        # Layer and RMS norm's weight runs along each row: one (K,) vector for every row.
        ctx.row_params = bool(ctx.rows) and int(np.prod(params)) == k and x.shape[x.ndim - len(params) :] == params
        # Batch norm's statistics are per channel over (N, spatial): a (N, C, S) view, whose
        # sums over S are matrix-vector products too.
        ctx.channels = (
            x.shape[1]
            if not ctx.rows and stats is None and spec.batch and spec.view is None and x.size
            and axes == (0,) + tuple(range(2, nd))
            else 0
        )  # fmt: skip
        if ctx.rows:
            xhat, rstd = _normalized_rows(xv.reshape(-1, k), spec, moments)
        elif ctx.channels:
            xhat, rstd = _normalized_channels(x.reshape(x.shape[0], x.shape[1], -1), spec, moments)
        else:
            xhat, rstd = _normalized_array(xv, spec, stats)
        xhat = xhat.reshape(x.shape)
        if running is not None and moments:
            _track(running, moments, x.size // x.shape[1])
        ctx.save_for_backward(x, weight, bias, xhat, rstd)
        if weight is None:
            out = xhat.copy() if bias is None else xhat + bias.reshape(params)
        else:
            out = xhat * weight.reshape(params)
            if bias is not None:
                out += bias.reshape(params)
        return out

    @staticmethod
    def backward(ctx: Any, g: Any) -> tuple[Any, Any, Any]:
        x, weight, bias, xhat, rstd = ctx.saved_tensors
        spec = ctx.spec
        if isinstance(g, Tensor):  # create_graph: x̂ and r again, as functions of the input
            return _backward(ctx, g, x, weight, bias, *_normalized(x.reshape(_view(spec, x)), spec, ctx.stats))
        if ctx.rows:
            return _backward_rows(ctx, g, x, weight, bias, xhat, rstd)
        if ctx.channels:
            return _backward_channels(ctx, g, x, weight, bias, xhat, rstd)
        return _backward(ctx, g, x, weight, bias, xhat.reshape(_view(spec, x)), rstd)


def _view(spec: Spec, x: Any) -> tuple[int, ...]:
    return tuple(x.shape) if spec.view is None else spec.view


def _normalized_rows(x2: np.ndarray, spec: Spec, moments: list[Any] | None) -> tuple[np.ndarray, np.ndarray]:
    """(x̂, r) of a 2-D (rows, K) view, statistics per row; r has shape (rows, 1). The mean
    and biased variance of each row go to ``moments`` when it is a list."""
    k = x2.shape[1]
    if spec.center:
        mean = x2 @ np.ones(k, x2.dtype) * (1 / k)
        centred = x2 - mean[:, None]
    else:
        centred = x2
    var = np.einsum("ij,ij->i", centred, centred) * (1 / k)
    if moments is not None:
        moments += [mean if spec.center else np.zeros_like(var), var]
    rstd = (1 / np.sqrt(var + spec.eps))[:, None]
    if centred is x2:
        return x2 * rstd, rstd
    centred *= rstd
    return centred, rstd


def _normalized_channels(x3: np.ndarray, spec: Spec, moments: list[Any] | None) -> tuple[np.ndarray, np.ndarray]:
    """(x̂, r) of a (N, C, S) view, statistics per channel; r has shape (C, 1)."""
    count = x3.shape[0] * x3.shape[2]
    mean = (x3 @ np.ones(x3.shape[2], x3.dtype)).sum(axis=0) * (1 / count)
    centred = x3 - mean[:, None]
    var = np.einsum("ncs,ncs->c", centred, centred) * (1 / count)
    if moments is not None:
        moments += [mean, var]
    rstd = (1 / np.sqrt(var + spec.eps))[:, None]
    centred *= rstd
    return centred, rstd


def _backward_channels(
    ctx: Any, g: np.ndarray, x: np.ndarray, weight: Any, bias: Any, xhat: np.ndarray, rstd: np.ndarray
) -> tuple[Any, Any, Any]:
    """The backward on ndarrays for statistics per channel of a (N, C, S) view. The sums that
    dx needs are the weight's and bias's own gradients times the weight."""
    needs = ctx.needs_input_grad
    n, c = x.shape[0], x.shape[1]
    g3, xh3 = g.reshape(n, c, -1), xhat.reshape(n, c, -1)
    count = n * g3.shape[2]
    sum_gx = np.einsum("ncs,ncs->c", g3, xh3)  # sum(g * x̂) per channel
    sum_g = (g3 @ np.ones(g3.shape[2], g3.dtype)).sum(axis=0)
    dx = None
    if needs[0]:
        scale = rstd if weight is None else rstd * weight.reshape(c, 1)  # (C, 1)
        dx = g3 * scale
        dx -= xh3 * (sum_gx[:, None] * (scale * (1 / count)))
        dx -= sum_g[:, None] * (scale * (1 / count))
        dx = dx.reshape(x.shape)
    dw = sum_gx.reshape(weight.shape) if weight is not None and needs[1] else None
    db = sum_g.reshape(bias.shape) if bias is not None and needs[2] else None
    return dx, dw, db


def _backward_rows(
    ctx: Any, g: np.ndarray, x: np.ndarray, weight: Any, bias: Any, xhat: np.ndarray, rstd: np.ndarray
) -> tuple[Any, Any, Any]:
    """The backward on ndarrays for statistics per row of a (rows, K) view."""
    spec, k, needs = ctx.spec, ctx.rows, ctx.needs_input_grad
    xh2 = xhat.reshape(-1, k)
    g2 = g.reshape(-1, k)
    dx = dw = db = None
    if needs[0]:
        if weight is None:
            gy = g2
        elif ctx.row_params:
            gy = g2 * weight.reshape(k)
        else:
            gy = (g * weight.reshape(spec.param_shape)).reshape(-1, k)
        dx = gy * rstd
        dx -= xh2 * (np.einsum("ij,ij->i", gy, xh2)[:, None] * (rstd * (1 / k)))
        if spec.center:
            dx -= (gy @ np.ones(k, gy.dtype))[:, None] * (rstd * (1 / k))
        dx = dx.reshape(x.shape)
    if ctx.row_params:  # column sums over the rows, without a temporary for g * x̂
        if weight is not None and needs[1]:
            dw = np.einsum("ij,ij->j", g2, xh2).reshape(weight.shape)
        if bias is not None and needs[2]:
            db = (np.ones(g2.shape[0], g2.dtype) @ g2).reshape(bias.shape)
        return dx, dw, db
    _, dw, db = _backward(ctx, g, x, weight, bias, None, None, params_only=True)
    return dx, dw, db


def _backward(
    ctx: Any, g: Any, x: Any, weight: Any, bias: Any, xhat_v: Any, rstd: Any, params_only: bool = False
) -> tuple[Any, Any, Any]:
    """The backward, on ndarrays or on Tensors (then recorded): ``xhat_v`` is x̂ in the view's
    shape (None with ``params_only``: only the weight and bias gradients, from the saved x̂)."""
    spec, needs = ctx.spec, ctx.needs_input_grad
    view = _view(spec, x)
    xhat = ctx.saved_tensors[3] if xhat_v is None else xhat_v.reshape(x.shape)
    dx = dw = db = None
    if needs[0] and not params_only:
        gy = g if weight is None else g * weight.reshape(spec.param_shape)
        gyv = gy.reshape(view)
        if spec.batch:
            inner = gyv - xhat_v * (gyv * xhat_v).mean(axis=spec.axes, keepdims=True)
            if spec.center:
                inner = inner - gyv.mean(axis=spec.axes, keepdims=True)
            dx = (inner * rstd).reshape(x.shape)
        else:
            dx = (gyv * rstd).reshape(x.shape)
    if weight is not None and needs[1]:
        dw = sum_to(g * xhat, spec.param_shape, ctx.name).reshape(weight.shape)
    if bias is not None and needs[2]:
        db = sum_to(g, spec.param_shape, ctx.name).reshape(bias.shape)
    return dx, dw, db


class LayerNormOp(_Normalize):
    __slots__ = ()
    name = "layer_norm"


class BatchNormOp(_Normalize):
    __slots__ = ()
    name = "batch_norm"


class InstanceNormOp(_Normalize):
    __slots__ = ()
    name = "instance_norm"


class GroupNormOp(_Normalize):
    __slots__ = ()
    name = "group_norm"


class RMSNormOp(_Normalize):
    __slots__ = ()
    name = "rms_norm"


# ------------------------------------------------------------------ argument checks
def _param(value: Any, shape: tuple[int, ...], what: str, op: str) -> Tensor | None:
    """``weight`` or ``bias`` as a Tensor of ``shape`` (None stays None)."""
    if value is None:
        return None
    t = as_tensor(value)
    if t.shape != shape:
        raise ShapeError(f"{op}: {what} of shape {t.shape} does not match the expected shape {shape}")
    return t


def _stat(value: Any, channels: int, what: str, op: str) -> np.ndarray | None:
    """A running mean or variance: a 1-D ndarray of ``channels`` values (None stays None)."""
    if value is None:
        return None
    array = value._data if isinstance(value, Tensor) else value
    if not isinstance(array, np.ndarray):
        array = np.asarray(array, np.float64)
    if array.shape != (channels,):
        raise ShapeError(f"{op}: {what} of shape {array.shape} does not match the {channels} channels of the input")
    return array


def _normalized_shape(normalized_shape: int | Sequence[int]) -> tuple[int, ...]:
    if isinstance(normalized_shape, (int, np.integer)):
        return (int(normalized_shape),)
    return tuple(int(n) for n in normalized_shape)


def _check_trailing(x: Tensor, shape: tuple[int, ...], op: str) -> None:
    if len(shape) > x.ndim or x.shape[x.ndim - len(shape) :] != shape:
        raise ShapeError(f"{op}: input of shape {x.shape} does not end in normalized_shape {shape}")


@no_fp_warnings()
def _track(running: tuple[Any, Any, Any, Any], moments: list[Any], count: int) -> None:
    """Update BatchNorm's running statistics in place from the batch ``moments`` (mean and
    biased variance, per channel): the unbiased variance goes in; ``num_batches_tracked``
    (when given) counts the batch, and a momentum of None then averages cumulatively."""
    rm, rv, momentum, tracked = running
    if tracked is not None:
        tracked += 1
        if momentum is None:  # batch n weighs 1/n
            momentum = 1.0 / float(tracked)
    mean, var = moments
    if rm is not None:
        _update(rm, mean, momentum)
    if rv is not None:
        _update(rv, var * (count / (count - 1)), momentum)


def _update(running: np.ndarray, batch: np.ndarray, momentum: float) -> None:
    """running <- (1 - momentum) running + momentum batch, in place (the caller's array)."""
    running *= 1 - momentum
    running += momentum * batch.astype(running.dtype, copy=False)


# ------------------------------------------------------------------ the functions
def layer_norm(
    input: Tensor,
    normalized_shape: int | Sequence[int],
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Normalize over the last ``len(normalized_shape)`` dims (biased variance), then scale by
    ``weight`` and shift by ``bias``, as ``torch.nn.functional.layer_norm``.

    >>> import microgradnn as mg
    >>> mg.nn.functional.layer_norm(mg.Tensor([[0.0, 2.0]]), (2,), eps=0.0).data.tolist()
    [[-1.0, 1.0]]
    """
    x = as_tensor(input)
    shape = _normalized_shape(normalized_shape)
    _check_trailing(x, shape, "layer_norm")
    w, b = _param(weight, shape, "weight", "layer_norm"), _param(bias, shape, "bias", "layer_norm")
    axes = tuple(range(x.ndim - len(shape), x.ndim))
    return LayerNormOp.apply(x, w, b, spec=Spec(None, axes, shape, True, eps, True))


def rms_norm(
    input: Tensor,
    normalized_shape: int | Sequence[int],
    weight: Tensor | None = None,
    eps: float | None = None,
) -> Tensor:
    """x / sqrt(mean(x²) + eps) over the last ``len(normalized_shape)`` dims, times ``weight``,
    as ``torch.nn.functional.rms_norm``; ``eps=None`` is the machine epsilon of the input's dtype.

    >>> import microgradnn as mg
    >>> mg.nn.functional.rms_norm(mg.Tensor([[3.0, -3.0]]), (2,), eps=0.0).tolist()
    [[1.0, -1.0]]
    """
    x = as_tensor(input)
    shape = _normalized_shape(normalized_shape)
    _check_trailing(x, shape, "rms_norm")
    w = _param(weight, shape, "weight", "rms_norm")
    e = float(np.finfo(x.dtype).eps) if eps is None else eps
    axes = tuple(range(x.ndim - len(shape), x.ndim))
    return RMSNormOp.apply(x, w, None, spec=Spec(None, axes, shape, False, e, True))


def _channels_first(x: Tensor, op: str) -> tuple[int, tuple[int, ...]]:
    if x.ndim < 2:
        raise ShapeError(f"{op}: input must have at least 2 dims (N, C, ...), got shape {x.shape}")
    return x.shape[1], (x.shape[1],) + (1,) * (x.ndim - 2)


def batch_norm(
    input: Tensor,
    running_mean: np.ndarray | None,
    running_var: np.ndarray | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float | None = 0.1,
    eps: float = 1e-5,
    *,
    num_batches_tracked: np.ndarray | None = None,
) -> Tensor:
    """Batch normalization of an ``(N, C, ...)`` input per channel, as
    ``torch.nn.functional.batch_norm``. (microgradnn's own keyword ``num_batches_tracked``, a 0-d
    integer array, counts each training batch in place, and ``momentum=None`` then averages
    cumulatively: what ``nn.BatchNorm1d/2d`` pass.)

    In training, the batch's mean and biased variance normalize, and the running statistics
    (ndarrays, when given) are updated in place with the batch mean and *unbiased* variance:
    ``running = (1 - momentum) * running + momentum * batch``. Otherwise the running
    statistics normalize.

    >>> import microgradnn as mg, numpy as np
    >>> mean, var = np.zeros(1), np.ones(1)
    >>> x = mg.Tensor([[1.0], [3.0]])
    >>> mg.nn.functional.batch_norm(x, mean, var, training=True, eps=0.0).tolist()
    [[-1.0], [1.0]]
    >>> mean.tolist(), var.tolist()
    ([0.2], [1.1])
    """
    x = as_tensor(input)
    channels, param_shape = _channels_first(x, "batch_norm")
    w, b = _param(weight, (channels,), "weight", "batch_norm"), _param(bias, (channels,), "bias", "batch_norm")
    rm = _stat(running_mean, channels, "running_mean", "batch_norm")
    rv = _stat(running_var, channels, "running_var", "batch_norm")
    axes = (0,) + tuple(range(2, x.ndim))
    stat_shape = (1,) + param_shape
    if training:
        count = x._data.size // channels if channels else 0
        if count <= 1:
            raise ValueError(
                f"batch_norm: expected more than 1 value per channel when training, got input of shape {x.shape}"
            )
        spec = Spec(None, axes, param_shape, True, eps, True)
        if rm is None and rv is None and num_batches_tracked is None:
            return BatchNormOp.apply(x, w, b, spec=spec)
        return BatchNormOp.apply(x, w, b, spec=spec, running=(rm, rv, momentum, num_batches_tracked))
    if rm is None or rv is None:
        raise ValueError("batch_norm: running_mean and running_var are needed when not training")
    spec = Spec(None, axes, param_shape, True, eps, False)
    stats = (rm.astype(x.dtype, copy=False).reshape(stat_shape), rv.astype(x.dtype, copy=False).reshape(stat_shape))
    return BatchNormOp.apply(x, w, b, spec=spec, stats=stats)


def instance_norm(
    input: Tensor,
    running_mean: np.ndarray | None = None,
    running_var: np.ndarray | None = None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    use_input_stats: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalize each channel of each sample of an ``(N, C, ...)`` input over its spatial
    dims, as ``torch.nn.functional.instance_norm``. With ``use_input_stats`` the running
    statistics (when given) are updated in place with the mean over the batch of each
    instance's mean and unbiased variance; without it, they normalize.

    >>> import microgradnn as mg
    >>> mg.nn.functional.instance_norm(mg.Tensor([[[1.0, 3.0]]]), eps=0.0).tolist()
    [[[-1.0, 1.0]]]
    """
    x = as_tensor(input)
    channels, param_shape = _channels_first(x, "instance_norm")
    op = "instance_norm"
    w, b = _param(weight, (channels,), "weight", op), _param(bias, (channels,), "bias", op)
    rm, rv = _stat(running_mean, channels, "running_mean", op), _stat(running_var, channels, "running_var", op)
    axes = tuple(range(2, x.ndim))
    if use_input_stats:
        count = int(np.prod(x.shape[2:]))
        if count <= 1:
            raise ValueError(
                f"instance_norm: expected more than 1 spatial element when training, got input of shape {x.shape}"
            )
        moments: list[Any] = []  # each instance's mean and variance
        spec = Spec(None, axes, param_shape, True, eps, True)
        tracked = rm is not None or rv is not None
        out = InstanceNormOp.apply(x, w, b, spec=spec, moments=moments if tracked else None)
        if moments:
            with no_fp_warnings():  # inf and NaN inputs give NaN statistics, as in PyTorch
                mean, var = (m.reshape(x.shape[:2]).mean(axis=0) for m in moments)
            if rm is not None:
                _update(rm, mean, momentum)
            if rv is not None:
                _update(rv, var * (count / (count - 1)), momentum)
        return out
    if rm is None or rv is None:
        raise ValueError("instance_norm: running_mean and running_var are needed when use_input_stats is False")
    stat_shape = (1,) + param_shape
    stats = (rm.astype(x.dtype, copy=False).reshape(stat_shape), rv.astype(x.dtype, copy=False).reshape(stat_shape))
    return InstanceNormOp.apply(x, w, b, spec=Spec(None, axes, param_shape, True, eps, False), stats=stats)


def group_norm(
    input: Tensor,
    num_groups: int,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """Split the channels of an ``(N, C, ...)`` input into ``num_groups`` groups and normalize
    each group of each sample over its channels and spatial dims, then scale and shift per
    channel, as ``torch.nn.functional.group_norm``.

    >>> import microgradnn as mg
    >>> mg.nn.functional.group_norm(mg.Tensor([[1.0, 3.0, 5.0, 9.0]]), 2, eps=0.0).tolist()
    [[-1.0, 1.0, -1.0, 1.0]]
    """
    x = as_tensor(input)
    channels, param_shape = _channels_first(x, "group_norm")
    if not isinstance(num_groups, (int, np.integer)) or isinstance(num_groups, bool) or num_groups < 1:
        raise ValueError(f"group_norm: num_groups must be a positive int, got {num_groups!r}")
    if channels % num_groups:
        raise ShapeError(
            f"group_norm: the input's {channels} channels (shape {x.shape}) do not divide into {num_groups} groups"
        )
    w, b = _param(weight, (channels,), "weight", "group_norm"), _param(bias, (channels,), "bias", "group_norm")
    view = (x.shape[0], int(num_groups), -1)
    if x._data.size == 0:
        view = (x.shape[0], int(num_groups), channels // int(num_groups) * int(np.prod(x.shape[2:])))
    return GroupNormOp.apply(x, w, b, spec=Spec(view, (2,), param_shape, True, eps, True))
