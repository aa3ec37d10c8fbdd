"""Gradient clipping: ``clip_grad_norm_`` and ``clip_grad_value_``, as ``torch.nn.utils``.

Both change ``.grad`` of the given parameters in place; call them between ``loss.backward()``
and ``optimizer.step()``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from ..autograd import no_fp_warnings
from ..tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_"]


def _with_grads(parameters: Iterable[Tensor] | Tensor) -> list[tuple[Tensor, np.ndarray]]:
    """Each parameter that has a gradient, with that gradient."""
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    return [(p, p.grad) for p in params if p.grad is not None]


def clip_grad_norm_(parameters: Iterable[Tensor] | Tensor, max_norm: float, norm_type: float = 2.0) -> float:
    """Scale all gradients together so that their joint norm is at most ``max_norm``.

    Returns the norm before clipping (``norm_type`` 2 by default; ``math.inf`` for the largest
    absolute value).

    >>> import numpy as np, microgradnn as mg
    >>> w = mg.Tensor([0.0, 0.0], requires_grad=True)
    >>> w.grad = np.array([3.0, 4.0])
    >>> mg.nn.utils.clip_grad_norm_([w], max_norm=1.0)
    5.0
    >>> w.grad.round(6).tolist()
    [0.6, 0.8]
    """
    if max_norm < 0:
        raise ValueError(f"clip_grad_norm_: max_norm must be >= 0, got {max_norm}")
    params = _with_grads(parameters)
    if not params:
        return 0.0
    # inf or NaN gradients give an inf or NaN norm (and gradients), as in PyTorch; no warnings.
    with no_fp_warnings():
        if norm_type == math.inf:
            total = max(float(np.abs(g).max(initial=0.0)) for _, g in params)
        else:
            total = sum(float(np.sum(np.abs(g) ** norm_type)) for _, g in params) ** (1.0 / norm_type)
        scale = max_norm / (total + 1e-6)  # PyTorch's epsilon keeps a zero norm from dividing by zero
        if not scale >= 1:  # NaN too: a NaN norm makes NaN gradients, as PyTorch's
            for p, g in params:
                p.grad = (g * scale).astype(g.dtype, copy=False)
    return total


def clip_grad_value_(parameters: Iterable[Tensor] | Tensor, clip_value: float) -> None:
    """Clip every gradient element to [-clip_value, clip_value].

    >>> import numpy as np, microgradnn as mg
    >>> w = mg.Tensor([0.0, 0.0], requires_grad=True)
    >>> w.grad = np.array([-5.0, 0.5])
    >>> mg.nn.utils.clip_grad_value_([w], 1.0); w.grad.tolist()
    [-1.0, 0.5]
    """
    if clip_value < 0:
        raise ValueError(f"clip_grad_value_: clip_value must be >= 0, got {clip_value}")
    for _, g in _with_grads(parameters):
        np.clip(g, -clip_value, clip_value, out=g)
