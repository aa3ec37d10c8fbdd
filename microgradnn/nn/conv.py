"""Convolution layers: Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d, as PyTorch's.

Same arguments, parameter names and shapes (``weight`` ``(out, in/groups, k...)``, transposed
``(in, out/groups, k...)``) and initial distributions (U(±1/sqrt(fan_in)) for weight and bias),
so a PyTorch ``state_dict`` loads unchanged. The work is in ``ops/conv.py``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..ops.conv import convolution, transposed_convolution, tuple_arg
from ..tensor import DTypeLike, Tensor, as_float_array, as_tensor
from . import init
from .module import Module, Parameter

__all__ = ["Conv1d", "Conv2d", "ConvTranspose1d", "ConvTranspose2d"]

_PAD_MODES = ("zeros", "reflect", "replicate", "circular")


class _ConvNd(Module):
    """What the four convolution layers share: checks, parameters and their initialisation."""

    _nd = 2
    _transposed = False

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any,
        padding: Any,
        dilation: Any,
        groups: int,
        bias: bool,
        padding_mode: str,
        output_padding: Any,
        dtype: DTypeLike,
        rng: np.random.Generator | None,
    ) -> None:
        super().__init__()
        op, nd = type(self).__name__, self._nd
        for what, n in (("in_channels", in_channels), ("out_channels", out_channels), ("groups", groups)):
            if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
                raise ValueError(f"{op}: {what} must be a positive int, got {n!r}")
        if in_channels % groups:
            raise ValueError(f"{op}: in_channels {in_channels} must be divisible by groups {groups}")
        if out_channels % groups:
            raise ValueError(f"{op}: out_channels {out_channels} must be divisible by groups {groups}")
        if padding_mode not in _PAD_MODES:
            raise ValueError(f"{op}: padding_mode must be one of {', '.join(_PAD_MODES)}, got {padding_mode!r}")
        self.in_channels, self.out_channels, self.groups = int(in_channels), int(out_channels), int(groups)
        self.kernel_size = tuple_arg(kernel_size, nd, "kernel_size", op)
        self.stride = tuple_arg(stride, nd, "stride", op)
        self.dilation = tuple_arg(dilation, nd, "dilation", op)
        self.padding: tuple[int, ...] | str
        if isinstance(padding, str):
            if self._transposed or padding not in ("same", "valid"):
                raise ValueError(f"{op}: padding must be an int, a tuple of ints, 'valid' or 'same', got {padding!r}")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError(
                    f"{op}: padding='same' is not supported for strided convolutions (stride {self.stride})"
                )
            self.padding = padding
        else:
            self.padding = tuple_arg(padding, nd, "padding", op, minimum=0)
        self.output_padding = tuple_arg(output_padding, nd, "output_padding", op, minimum=0)
        self.padding_mode = padding_mode
        dt = as_float_array(np.empty(0), np.float64 if dtype is None else dtype, op).dtype
        if self._transposed:
            shape = (self.in_channels, self.out_channels // self.groups) + self.kernel_size
        else:
            shape = (self.out_channels, self.in_channels // self.groups) + self.kernel_size
        # kaiming_uniform_(a=sqrt(5)) on this layout is U(±1/sqrt(fan_in)), fan_in = shape[1] * prod(k).
        fan_in = shape[1] * math.prod(self.kernel_size)
        bound = 1 / math.sqrt(fan_in) if fan_in else 0.0
        self.weight = init.uniform_(Parameter(np.zeros(shape, dt)), -bound, bound, rng)
        if bias:
            self.bias = init.uniform_(Parameter(np.zeros(self.out_channels, dt)), -bound, bound, rng)
        else:
            self.register_parameter("bias", None)

    def extra_repr(self) -> str:
        parts = [f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"]
        nd = self._nd
        if self.padding != (0,) * nd:
            parts.append(f"padding={self.padding!r}")
        if self.dilation != (1,) * nd:
            parts.append(f"dilation={self.dilation}")
        if self.output_padding != (0,) * nd:
            parts.append(f"output_padding={self.output_padding}")
        if self.groups != 1:
            parts.append(f"groups={self.groups}")
        if self.bias is None:
            parts.append("bias=False")
        if self.padding_mode != "zeros":
            parts.append(f"padding_mode={self.padding_mode!r}")
        return ", ".join(parts)


class _Conv(_ConvNd):
    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | Sequence[int],
        stride: int | Sequence[int] = 1,
        padding: int | Sequence[int] | str = 0,
        dilation: int | Sequence[int] = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        dtype: DTypeLike = None,
        rng: np.random.Generator | None = None,
    ) -> None:
        super().__init__(
            in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode, 0, dtype, rng
        )

    def forward(self, input: Tensor) -> Tensor:
        """The convolution of ``input`` with this layer's weight (and bias)."""
        return convolution(
            input,
            self.weight,
            self.bias,
            self.stride,
            self.padding,
            self.dilation,
            self.groups,
            self._nd,
            type(self).__name__,
            self.padding_mode,
        )


class Conv1d(_Conv):
    """1-d convolution over ``(N, C_in, L)`` (or unbatched ``(C_in, L)``) inputs, as
    ``torch.nn.Conv1d``: stride, padding (ints, ``"same"``, ``"valid"``), dilation, groups,
    bias and ``padding_mode`` (``"zeros"``, ``"reflect"``, ``"replicate"``, ``"circular"``).

    >>> import microgradnn as mg, numpy as np
    >>> conv = mg.nn.Conv1d(2, 4, 3, padding="same", rng=np.random.default_rng(0))
    >>> conv.weight.shape, conv(mg.ones((5, 2, 10))).shape
    ((4, 2, 3), (5, 4, 10))
    """

    _nd = 1


class Conv2d(_Conv):
    """2-d convolution over ``(N, C_in, H, W)`` (or unbatched ``(C_in, H, W)``) inputs, as
    ``torch.nn.Conv2d``; ``weight`` has shape ``(out_channels, in_channels/groups, kh, kw)``.

    >>> import microgradnn as mg, numpy as np
    >>> conv = mg.nn.Conv2d(1, 6, 5, rng=np.random.default_rng(0))
    >>> conv(mg.ones((2, 1, 28, 28))).shape
    (2, 6, 24, 24)
    """

    _nd = 2


class _ConvTranspose(_ConvNd):
    _transposed = True

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | Sequence[int],
        stride: int | Sequence[int] = 1,
        padding: int | Sequence[int] = 0,
        output_padding: int | Sequence[int] = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: int | Sequence[int] = 1,
        padding_mode: str = "zeros",
        dtype: DTypeLike = None,
        rng: np.random.Generator | None = None,
    ) -> None:
        if padding_mode != "zeros":
            raise ValueError(f'{type(self).__name__}: only "zeros" padding_mode is supported, got {padding_mode!r}')
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            groups,
            bias,
            padding_mode,
            output_padding,
            dtype,
            rng,
        )

    def _output_padding(self, input: Tensor, output_size: Sequence[int] | None) -> tuple[int, ...]:
        """output_padding, or what gives ``output_size`` (as PyTorch's ``forward(x, output_size)``)."""
        if output_size is None:
            return self.output_padding
        nd, op = self._nd, type(self).__name__
        sizes = tuple(int(n) for n in output_size)[-nd:]
        if len(sizes) != nd:
            raise ValueError(f"{op}: output_size must list {nd} spatial sizes, got {tuple(output_size)}")
        extra = []
        for i, want in enumerate(sizes):
            n = input.shape[input.ndim - nd + i]
            assert isinstance(self.padding, tuple)
            smallest = (n - 1) * self.stride[i] - 2 * self.padding[i] + self.dilation[i] * (self.kernel_size[i] - 1) + 1
            if not smallest <= want < smallest + self.stride[i]:
                raise ValueError(
                    f"{op}: output_size {tuple(sizes)} is out of reach for input of shape {input.shape}: "
                    f"dim {i} must be in [{smallest}, {smallest + self.stride[i] - 1}]"
                )
            extra.append(want - smallest)
        return tuple(extra)

    def forward(self, input: Tensor, output_size: Sequence[int] | None = None) -> Tensor:
        """The transposed convolution of ``input``; ``output_size`` picks the output_padding."""
        x = as_tensor(input)
        return transposed_convolution(
            x,
            self.weight,
            self.bias,
            self.stride,
            self.padding,
            self._output_padding(x, output_size),
            self.groups,
            self.dilation,
            self._nd,
            type(self).__name__,
        )


class ConvTranspose1d(_ConvTranspose):
    """1-d transposed convolution (the gradient of Conv1d with respect to its input), as
    ``torch.nn.ConvTranspose1d``; ``weight`` has shape ``(in_channels, out_channels/groups, k)``.

    >>> import microgradnn as mg, numpy as np
    >>> up = mg.nn.ConvTranspose1d(4, 2, 3, stride=2, output_padding=1, rng=np.random.default_rng(0))
    >>> up(mg.ones((1, 4, 5))).shape
    (1, 2, 12)
    """

    _nd = 1


class ConvTranspose2d(_ConvTranspose):
    """2-d transposed convolution, as ``torch.nn.ConvTranspose2d``: output size
    ``(H - 1) * stride - 2 * padding + dilation * (k - 1) + output_padding + 1`` per dim.

    >>> import microgradnn as mg, numpy as np
    >>> up = mg.nn.ConvTranspose2d(3, 1, 2, stride=2, rng=np.random.default_rng(0))
    >>> up(mg.ones((1, 3, 4, 4))).shape
    (1, 1, 8, 8)
    """

    _nd = 2
