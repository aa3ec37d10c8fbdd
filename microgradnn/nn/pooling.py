"""Pooling and resizing layers, as PyTorch's: MaxPool1d/2d, AvgPool1d/2d, AdaptiveAvgPool1d/2d,
AdaptiveMaxPool2d and Upsample. They have no parameters; the work is in ``ops/pooling.py``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..ops import pooling as P
from ..tensor import Tensor
from .module import Module

__all__ = [
    "MaxPool1d",
    "MaxPool2d",
    "AvgPool1d",
    "AvgPool2d",
    "AdaptiveAvgPool1d",
    "AdaptiveAvgPool2d",
    "AdaptiveMaxPool2d",
    "Upsample",
]


class _MaxPoolNd(Module):
    _nd = 2

    def __init__(
        self,
        kernel_size: int | Sequence[int],
        stride: int | Sequence[int] | None = None,
        padding: int | Sequence[int] = 0,
        dilation: int | Sequence[int] = 1,
        return_indices: bool = False,
        ceil_mode: bool = False,
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def forward(self, input: Tensor) -> Any:
        """The pooled input (and, with ``return_indices``, the int64 indices of the maxima)."""
        return P._max_pool(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.dilation,
            self.ceil_mode,
            self.return_indices,
            self._nd,
            type(self).__name__,
        )

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
            f"dilation={self.dilation}, ceil_mode={self.ceil_mode}"
        )


class MaxPool1d(_MaxPoolNd):
    """The maximum over sliding windows of ``(N, C, L)`` inputs, as ``torch.nn.MaxPool1d``;
    ``stride`` defaults to ``kernel_size``; the gradient goes to each window's (first) maximum.

    >>> import microgradnn as mg
    >>> mg.nn.MaxPool1d(2)(mg.Tensor([[[1.0, 3.0, 2.0, 0.0]]])).tolist()
    [[[3.0, 2.0]]]
    """

    _nd = 1


class MaxPool2d(_MaxPoolNd):
    """The maximum over sliding windows of ``(N, C, H, W)`` inputs, as ``torch.nn.MaxPool2d``
    (padding, dilation, ceil_mode; ``return_indices`` also gives flat positions in each plane).

    >>> import microgradnn as mg, numpy as np
    >>> y, idx = mg.nn.MaxPool2d(2, return_indices=True)(mg.Tensor(np.arange(16.0).reshape(1, 1, 4, 4)))
    >>> idx.tolist()
    [[[[5, 7], [13, 15]]]]
    """

    _nd = 2


class _AvgPoolNd(Module):
    _nd = 2

    def __init__(
        self,
        kernel_size: int | Sequence[int],
        stride: int | Sequence[int] | None = None,
        padding: int | Sequence[int] = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding, self.ceil_mode, self.count_include_pad = padding, ceil_mode, count_include_pad

    def forward(self, input: Tensor) -> Tensor:
        """The mean over each window."""
        return P._avg_pool(
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.ceil_mode,
            self.count_include_pad,
            self._nd,
            type(self).__name__,
        )

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool1d(_AvgPoolNd):
    """The mean over sliding windows of ``(N, C, L)`` inputs, as ``torch.nn.AvgPool1d``.

    >>> import microgradnn as mg
    >>> mg.nn.AvgPool1d(2)(mg.Tensor([[[1.0, 3.0, 2.0, 0.0]]])).tolist()
    [[[2.0, 1.0]]]
    """

    _nd = 1


class AvgPool2d(_AvgPoolNd):
    """The mean over sliding windows of ``(N, C, H, W)`` inputs, as ``torch.nn.AvgPool2d``
    (ceil_mode, and count_include_pad: whether zero padding counts in the mean).

    >>> import microgradnn as mg
    >>> mg.nn.AvgPool2d(2, stride=1)(mg.ones((1, 1, 3, 3))).shape
    (1, 1, 2, 2)
    """

    _nd = 2


class _AdaptivePool(Module):
    def __init__(self, output_size: Any) -> None:
        super().__init__()
        self.output_size = output_size

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(_AdaptivePool):
    """The mean over ``output_size`` bins [floor(i L / out), ceil((i + 1) L / out)), as
    ``torch.nn.AdaptiveAvgPool1d``.

    >>> import microgradnn as mg
    >>> mg.nn.AdaptiveAvgPool1d(1)(mg.Tensor([[[1.0, 2.0, 6.0]]])).tolist()
    [[[3.0]]]
    """

    def forward(self, input: Tensor) -> Tensor:
        """The mean over each adaptive bin."""
        return P._adaptive_avg(input, self.output_size, 1, "AdaptiveAvgPool1d")


class AdaptiveAvgPool2d(_AdaptivePool):
    """The mean over adaptive bins of ``(N, C, H, W)`` inputs, as ``torch.nn.AdaptiveAvgPool2d``
    (``output_size`` an int, a pair, or a pair with None for "keep this size").

    >>> import microgradnn as mg
    >>> mg.nn.AdaptiveAvgPool2d((1, None))(mg.ones((2, 3, 5, 4))).shape
    (2, 3, 1, 4)
    """

    def __init__(self, output_size: int | Sequence[int | None]) -> None:
        super().__init__(output_size)

    def forward(self, input: Tensor) -> Tensor:
        """The mean over each adaptive bin."""
        return P._adaptive_avg(input, self.output_size, 2, "AdaptiveAvgPool2d")


class AdaptiveMaxPool2d(_AdaptivePool):
    """The maximum over adaptive bins of ``(N, C, H, W)`` inputs, as
    ``torch.nn.AdaptiveMaxPool2d`` (``return_indices``: flat positions in each plane).

    >>> import microgradnn as mg, numpy as np
    >>> mg.nn.AdaptiveMaxPool2d(1)(mg.Tensor(np.arange(6.0).reshape(1, 1, 2, 3))).tolist()
    [[[[5.0]]]]
    """

    def __init__(self, output_size: int | Sequence[int | None], return_indices: bool = False) -> None:
        super().__init__(output_size)
        self.return_indices = return_indices

    def forward(self, input: Tensor) -> Any:
        """The maximum over each adaptive bin (and its indices, with ``return_indices``)."""
        return P.adaptive_max_pool2d(input, self.output_size, self.return_indices)


class Upsample(Module):
    """Resize to ``size`` or by ``scale_factor``, as ``torch.nn.Upsample``: ``mode``
    ``"nearest"`` (PyTorch's floor rule), ``"linear"`` or ``"bilinear"`` (with ``align_corners``).

    >>> import microgradnn as mg
    >>> mg.nn.Upsample(scale_factor=2, mode="bilinear")(mg.ones((1, 1, 2, 2))).shape
    (1, 1, 4, 4)
    """

    def __init__(
        self,
        size: int | Sequence[int] | None = None,
        scale_factor: float | Sequence[float] | None = None,
        mode: str = "nearest",
        align_corners: bool | None = None,
        recompute_scale_factor: bool | None = None,
    ) -> None:
        super().__init__()
        self.size, self.scale_factor, self.mode = size, scale_factor, mode
        self.align_corners, self.recompute_scale_factor = align_corners, recompute_scale_factor

    def forward(self, input: Tensor) -> Tensor:
        """The resized input."""
        return P.interpolate(
            input, self.size, self.scale_factor, self.mode, self.align_corners, self.recompute_scale_factor
        )

    def extra_repr(self) -> str:
        what = f"size={self.size}" if self.size is not None else f"scale_factor={self.scale_factor}"
        return f"{what}, mode={self.mode!r}"
