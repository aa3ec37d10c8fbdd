"""Normalization layers: LayerNorm (more to come: BatchNorm, GroupNorm, InstanceNorm, RMSNorm)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import ShapeError
from ..ops.normalization import layer_norm
from ..tensor import DTypeLike, Tensor, as_float_array, as_tensor
from .module import Module, Parameter

__all__ = ["LayerNorm"]


class LayerNorm(Module):
    """Layer normalization over the trailing ``normalized_shape``, with a learnable
    ``weight`` (ones) and ``bias`` (zeros) when ``elementwise_affine``.

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
        shape = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) else normalized_shape
        self.normalized_shape = tuple(int(n) for n in shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        dt = as_float_array(np.empty(0), np.float64 if dtype is None else dtype, "LayerNorm").dtype
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
        if x.shape[x.ndim - len(self.normalized_shape) :] != self.normalized_shape:
            raise ShapeError(
                f"LayerNorm: input of shape {x.shape} does not end in normalized_shape {self.normalized_shape}"
            )
        return layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
