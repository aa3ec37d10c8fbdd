"""Normalization layers: BatchNorm1d/2d, LayerNorm, GroupNorm, InstanceNorm1d/2d and RMSNorm,
with PyTorch's arguments, parameter and buffer names (a PyTorch ``state_dict`` loads as it is).

Running statistics are buffers (``running_mean``, ``running_var`` and ``num_batches_tracked``,
an int64 0-d array): saved in ``state_dict``, converted by ``.to(dtype)`` when floating, never
parameters. The functional forms (one fused operation, ops/normalization.py) update them in
place during training.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import ShapeError
from ..ops.normalization import batch_norm, group_norm, instance_norm, layer_norm, rms_norm
from ..tensor import DTypeLike, Tensor, as_float_array, as_tensor
from .module import Module, Parameter

__all__ = [
    "BatchNorm1d",
    "BatchNorm2d",
    "LayerNorm",
    "GroupNorm",
    "InstanceNorm1d",
    "InstanceNorm2d",
    "RMSNorm",
]


def _dtype(dtype: DTypeLike, owner: str) -> np.dtype:
    return as_float_array(np.empty(0), np.float64 if dtype is None else dtype, owner).dtype


def _positive(value: Any, what: str, owner: str) -> int:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{owner}: {what} must be a positive int, got {value!r}")
    return int(value)


def _shape_tuple(normalized_shape: int | Sequence[int]) -> tuple[int, ...]:
    if isinstance(normalized_shape, (int, np.integer)):
        return (int(normalized_shape),)
    return tuple(int(n) for n in normalized_shape)


class _NormBase(Module):
    """What BatchNorm and InstanceNorm share: per-channel ``weight`` (ones) and ``bias``
    (zeros) when ``affine``, and the running statistics when ``track_running_stats``."""

    #: The input dims accepted, the one of them without a batch dim (channels at dim 0), if
    #: any, and how the error message describes them.
    _ndims: tuple[int, ...] = ()
    _unbatched: int | None = None
    _layout: str = ""

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        dtype: DTypeLike = None,
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        self.num_features = _positive(num_features, "num_features", owner)
        self.eps, self.momentum = eps, momentum
        self.affine, self.track_running_stats = bool(affine), bool(track_running_stats)
        dt = _dtype(dtype, owner)
        if self.affine:
            self.weight = Parameter(np.ones(self.num_features, dt))
            self.bias = Parameter(np.zeros(self.num_features, dt))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if self.track_running_stats:
            self.register_buffer("running_mean", np.zeros(self.num_features, dt))
            self.register_buffer("running_var", np.ones(self.num_features, dt))
            self.register_buffer("num_batches_tracked", np.array(0, np.int64))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    running_mean: np.ndarray | None
    running_var: np.ndarray | None
    num_batches_tracked: np.ndarray | None

    def reset_running_stats(self) -> None:
        """Running mean 0, running variance 1, no batches counted."""
        if self.track_running_stats:
            assert self.running_mean is not None and self.running_var is not None
            self.running_mean = np.zeros_like(self.running_mean)
            self.running_var = np.ones_like(self.running_var)
            self.num_batches_tracked = np.array(0, np.int64)

    def reset_parameters(self) -> None:
        """Running statistics reset, weight back to ones and bias to zeros."""
        self.reset_running_stats()
        if self.weight is not None and self.bias is not None:
            self.weight.data = np.ones_like(self.weight.data)
            self.bias.data = np.zeros_like(self.bias.data)

    def _check(self, x: Tensor) -> None:
        """The input's dims and channel count, checked before anything changes."""
        owner = type(self).__name__
        if x.ndim not in self._ndims:
            raise ShapeError(f"{owner}: expected {self._layout} input, got shape {x.shape}")
        channel_dim = 0 if x.ndim == self._unbatched else 1
        if x.shape[channel_dim] != self.num_features:
            raise ShapeError(
                f"{owner}: expected {self.num_features} channels (input dim {channel_dim}), "
                f"got {x.shape[channel_dim]} in an input of shape {x.shape}"
            )

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
            f"track_running_stats={self.track_running_stats}"
        )


class _BatchNorm(_NormBase):
    def forward(self, x: Tensor) -> Tensor:
        """Normalize with this batch's statistics (training, updating the running ones) or
        the running statistics (evaluation)."""
        x = as_tensor(x)
        self._check(x)
        use_batch = self.training or self.running_mean is None
        if use_batch and x._data.size // self.num_features <= 1:
            raise ValueError(
                f"{type(self).__name__}: expected more than 1 value per channel when training, "
                f"got input of shape {x.shape}"
            )
        # In training with tracking, the op counts the batch in num_batches_tracked (in place, as
        # PyTorch) and, with momentum None, averages cumulatively: batch n weighs 1/n.
        counting = self.training and self.track_running_stats and self.num_batches_tracked is not None
        factor = self.momentum if self.momentum is not None or counting else 0.0
        # In training without tracking, or in evaluation, the statistics passed are the ones
        # that normalize; in training with tracking, the ones that get updated.
        track = not self.training or self.track_running_stats
        return batch_norm(
            x,
            self.running_mean if track else None,
            self.running_var if track else None,
            self.weight,
            self.bias,
            use_batch,
            factor,
            self.eps,
            num_batches_tracked=self.num_batches_tracked if counting else None,
        )


class BatchNorm1d(_BatchNorm):
    """Batch normalization of ``(N, C)`` or ``(N, C, L)`` inputs over the batch (and length)
    for each of ``num_features`` channels, as ``torch.nn.BatchNorm1d``.

    In training it normalizes with the batch's mean and biased variance and updates
    ``running_mean`` and ``running_var`` with the mean and *unbiased* variance:
    ``running = (1 - momentum) * running + momentum * batch`` (``momentum=None``: a cumulative
    average, each batch weighing ``1 / num_batches_tracked``). In evaluation it normalizes
    with the running statistics. Without ``track_running_stats`` it always uses the batch's.

    >>> import microgradnn as mg
    >>> bn = mg.nn.BatchNorm1d(2)
    >>> bn(mg.Tensor([[1.0, 10.0], [3.0, 30.0]])).data.round(3).tolist()
    [[-1.0, -1.0], [1.0, 1.0]]
    >>> bn.running_mean.tolist(), bn.running_var.tolist(), int(bn.num_batches_tracked)
    ([0.2, 2.0], [1.1, 20.9], 1)
    """

    _ndims = (2, 3)
    _layout = "a 2-D (N, C) or 3-D (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """Batch normalization of ``(N, C, H, W)`` inputs over the batch and both spatial dims for
    each of ``num_features`` channels, as ``torch.nn.BatchNorm2d`` (see :class:`BatchNorm1d`
    for the running statistics).

    >>> import microgradnn as mg, numpy as np
    >>> bn = mg.nn.BatchNorm2d(3)
    >>> x = mg.Tensor(np.random.default_rng(0).standard_normal((4, 3, 5, 5)))
    >>> y = bn(x).data
    >>> np.abs(y.mean(axis=(0, 2, 3))).max() < 1e-12, [n for n, _ in bn.named_buffers()]
    (np.True_, ['running_mean', 'running_var', 'num_batches_tracked'])
    """

    _ndims = (4,)
    _layout = "a 4-D (N, C, H, W)"


class _InstanceNorm(_NormBase):
    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = False,
        track_running_stats: bool = False,
        dtype: DTypeLike = None,
    ) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, dtype)

    def forward(self, x: Tensor) -> Tensor:
        """Normalize each channel of each sample over its spatial dims (or, in evaluation with
        ``track_running_stats``, with the running statistics)."""
        x = as_tensor(x)
        self._check(x)
        unbatched = x.ndim == self._unbatched
        if unbatched:
            x = x.reshape((1,) + x.shape)
        use_input_stats = self.training or not self.track_running_stats
        if use_input_stats and int(np.prod(x.shape[2:])) <= 1:
            raise ValueError(
                f"{type(self).__name__}: expected more than 1 spatial element when training, "
                f"got input of shape {x.shape[1:] if unbatched else x.shape}"
            )
        # As PyTorch: num_batches_tracked is kept (state_dict compatibility) but not counted,
        # and momentum=None leaves the running statistics unchanged.
        out = instance_norm(
            x,
            self.running_mean,
            self.running_var,
            self.weight,
            self.bias,
            use_input_stats,
            0.0 if self.momentum is None else self.momentum,
            self.eps,
        )
        return out.reshape(out.shape[1:]) if unbatched else out


class InstanceNorm1d(_InstanceNorm):
    """Instance normalization of ``(N, C, L)`` inputs (or unbatched ``(C, L)``): each channel
    of each sample normalized over its length, as ``torch.nn.InstanceNorm1d``. No ``weight``
    and ``bias`` unless ``affine=True``; no running statistics unless
    ``track_running_stats=True`` (then updated in training with the batch mean of each
    instance's mean and unbiased variance, and used in evaluation).

    >>> import microgradnn as mg
    >>> mg.nn.InstanceNorm1d(1)(mg.Tensor([[[1.0, 3.0]]])).data.round(3).tolist()
    [[[-1.0, 1.0]]]
    """

    _ndims, _unbatched = (3, 2), 2
    _layout = "a 3-D (N, C, L) or 2-D (C, L)"


class InstanceNorm2d(_InstanceNorm):
    """Instance normalization of ``(N, C, H, W)`` inputs (or unbatched ``(C, H, W)``) over each
    sample's spatial dims, as ``torch.nn.InstanceNorm2d`` (see :class:`InstanceNorm1d`).

    >>> import microgradnn as mg
    >>> mg.nn.InstanceNorm2d(1)(mg.Tensor([[[[1.0, 3.0]]]])).data.round(3).tolist()
    [[[[-1.0, 1.0]]]]
    """

    _ndims, _unbatched = (4, 3), 3
    _layout = "a 4-D (N, C, H, W) or 3-D (C, H, W)"


class LayerNorm(Module):
    """Layer normalization over the trailing ``normalized_shape``, with a learnable
    ``weight`` (ones) and ``bias`` (zeros) when ``elementwise_affine`` (``bias=False``: no
    bias), as ``torch.nn.LayerNorm``.

    >>> import microgradnn as mg
    >>> y = mg.nn.LayerNorm(4)(mg.Tensor([[1.0, 2.0, 3.0, 4.0]]))
    >>> round(float(y.data.mean()), 6), round(float(y.data.std()), 3)
    (0.0, 1.0)
    """

    def __init__(
        self,
        normalized_shape: int | Sequence[int],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        dtype: DTypeLike = None,
    ) -> None:
        super().__init__()
        self.normalized_shape = _shape_tuple(normalized_shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        dt = _dtype(dtype, "LayerNorm")
        if elementwise_affine:
            self.weight = Parameter(np.ones(self.normalized_shape, dt))
            if bias:
                self.bias = Parameter(np.zeros(self.normalized_shape, dt))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, x: Tensor) -> Tensor:
        """layer_norm(x) with this layer's weight and bias."""
        x = as_tensor(x)
        shape = self.normalized_shape
        if len(shape) > x.ndim or x.shape[x.ndim - len(shape) :] != shape:
            raise ShapeError(f"LayerNorm: input of shape {x.shape} does not end in normalized_shape {shape}")
        return layer_norm(x, shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class GroupNorm(Module):
    """Group normalization, as ``torch.nn.GroupNorm``: the ``num_channels`` channels of an
    ``(N, C, ...)`` input split into ``num_groups`` groups, each group of each sample
    normalized over its channels and spatial dims, then a per-channel ``weight`` (ones) and
    ``bias`` (zeros) when ``affine``. No running statistics: the same in training and evaluation.

    >>> import microgradnn as mg
    >>> gn = mg.nn.GroupNorm(2, 4)
    >>> gn(mg.Tensor([[1.0, 3.0, 5.0, 5.0]])).data.round(3).tolist()
    [[-1.0, 1.0, 0.0, 0.0]]
    """

    def __init__(
        self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True, dtype: DTypeLike = None
    ) -> None:
        super().__init__()
        self.num_groups = _positive(num_groups, "num_groups", "GroupNorm")
        self.num_channels = _positive(num_channels, "num_channels", "GroupNorm")
        if self.num_channels % self.num_groups:
            raise ValueError(f"GroupNorm: num_channels ({num_channels}) must be divisible by num_groups ({num_groups})")
        self.eps, self.affine = eps, bool(affine)
        dt = _dtype(dtype, "GroupNorm")
        if self.affine:
            self.weight = Parameter(np.ones(self.num_channels, dt))
            self.bias = Parameter(np.zeros(self.num_channels, dt))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, x: Tensor) -> Tensor:
        """group_norm(x) with this layer's weight and bias."""
        x = as_tensor(x)
        if x.ndim < 2 or x.shape[1] != self.num_channels:
            raise ShapeError(
                f"GroupNorm: expected an (N, {self.num_channels}, ...) input ({self.num_channels} channels "
                f"at dim 1), got shape {x.shape}"
            )
        return group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"


class RMSNorm(Module):
    """Root-mean-square normalization over the trailing ``normalized_shape``:
    ``x / sqrt(mean(x²) + eps) * weight``, as ``torch.nn.RMSNorm``. ``eps=None`` is the machine
    epsilon of the input's dtype; ``weight`` (ones) when ``elementwise_affine``; no bias.

    >>> import microgradnn as mg
    >>> mg.nn.RMSNorm(2)(mg.Tensor([[3.0, -3.0]])).data.round(6).tolist()
    [[1.0, -1.0]]
    """

    def __init__(
        self,
        normalized_shape: int | Sequence[int],
        eps: float | None = None,
        elementwise_affine: bool = True,
        dtype: DTypeLike = None,
    ) -> None:
        super().__init__()
        self.normalized_shape = _shape_tuple(normalized_shape)
        self.eps, self.elementwise_affine = eps, bool(elementwise_affine)
        if self.elementwise_affine:
            self.weight = Parameter(np.ones(self.normalized_shape, _dtype(dtype, "RMSNorm")))
        else:
            self.register_parameter("weight", None)

    def forward(self, x: Tensor) -> Tensor:
        """rms_norm(x) with this layer's weight."""
        x = as_tensor(x)
        shape = self.normalized_shape
        if len(shape) > x.ndim or x.shape[x.ndim - len(shape) :] != shape:
            raise ShapeError(f"RMSNorm: input of shape {x.shape} does not end in normalized_shape {shape}")
        return rms_norm(x, shape, self.weight, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
