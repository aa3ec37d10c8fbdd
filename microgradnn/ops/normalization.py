"""Normalization ops: layer_norm (the functional forms behind nn/normalization.py)."""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import ShapeError
from ..tensor import Tensor, as_tensor

__all__ = ["layer_norm"]


def layer_norm(
    input: Tensor,
    normalized_shape: Sequence[int],
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
    shape = tuple(int(n) for n in normalized_shape)
    if x.shape[x.ndim - len(shape) :] != shape or len(shape) > x.ndim:
        raise ShapeError(f"layer_norm: input of shape {x.shape} does not end in normalized_shape {shape}")
    dims = tuple(range(x.ndim - len(shape), x.ndim))
    centred = x - x.mean(dim=dims, keepdim=True)
    out = centred * ((centred * centred).mean(dim=dims, keepdim=True) + eps).rsqrt()
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out
