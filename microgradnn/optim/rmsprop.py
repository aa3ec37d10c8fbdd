"""RMSprop, plain, centred and with momentum."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from ..autograd import no_fp_warnings
from ..tensor import Tensor
from .optimizer import Optimizer

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """RMSprop with PyTorch's signature, defaults and update rule.

    For each parameter ``p`` with gradient ``g``::

        g = -g if maximize (ascend)
        g = g + weight_decay * p
        sq = alpha * sq + (1 - alpha) * g * g
        avg = sqrt(sq - mean_g**2) + eps, with mean_g = alpha * mean_g + (1 - alpha) * g
              if centered, else sqrt(sq) + eps
        buf = momentum * buf + g / avg;  p = p - lr * buf     (momentum > 0)
        p = p - lr * g / avg                                   (otherwise)

    >>> import microgradnn as mg
    >>> w = mg.Tensor([1.0], requires_grad=True)
    >>> opt = mg.optim.RMSprop([w], lr=0.01)
    >>> (w * w).sum().backward(); opt.step(); round(w.item(), 6)
    0.9
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum: float = 0,
        centered: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        super().__init__(
            params,
            dict(
                lr=lr,
                alpha=alpha,
                eps=eps,
                weight_decay=weight_decay,
                momentum=momentum,
                centered=centered,
                maximize=maximize,
            ),
        )

    def _check_hyperparameters(self, settings: dict[str, Any]) -> None:
        super()._check_hyperparameters(settings)
        for key in ("alpha", "eps", "momentum"):
            if settings[key] < 0:
                raise ValueError(f"RMSprop: invalid {key} {settings[key]} (must be >= 0)")

    @no_fp_warnings()  # inf or NaN in a gradient gives inf or NaN weights, not warnings
    def update(self, param: Tensor, grad: np.ndarray, group: dict[str, Any], state: dict[str, Any]) -> None:
        """One RMSprop step for one parameter."""
        if group["maximize"]:
            grad = -grad
        alpha = group["alpha"]
        if not state:
            state["step"] = 0
            state["square_avg"] = np.zeros_like(param.data)
            if group["momentum"] > 0:
                state["momentum_buffer"] = np.zeros_like(param.data)
            if group["centered"]:
                state["grad_avg"] = np.zeros_like(param.data)
        state["step"] += 1
        if group["weight_decay"]:
            grad = grad + group["weight_decay"] * param.data
        square_avg = state["square_avg"]
        square_avg *= alpha
        square_avg += (1 - alpha) * grad * grad
        if group["centered"]:
            grad_avg = state["grad_avg"]
            grad_avg *= alpha
            grad_avg += (1 - alpha) * grad
            avg = np.sqrt(square_avg - grad_avg * grad_avg) + group["eps"]
        else:
            avg = np.sqrt(square_avg) + group["eps"]
        if group["momentum"] > 0:
            buf = state["momentum_buffer"]
            buf *= group["momentum"]
            buf += grad / avg
            param.data -= group["lr"] * buf
        else:
            param.data -= group["lr"] * grad / avg
