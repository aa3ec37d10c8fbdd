"""Adadelta (Zeiler, 2012)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from ..autograd import no_fp_warnings
from ..tensor import Tensor
from .optimizer import Optimizer

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    """Adadelta with PyTorch's signature, defaults and update rule.

    For each parameter ``p`` with gradient ``g``::

        g = -g if maximize (ascend)
        g = g + weight_decay * p
        sq = rho * sq + (1 - rho) * g * g
        delta = sqrt(acc + eps) / sqrt(sq + eps) * g
        acc = rho * acc + (1 - rho) * delta * delta
        p = p - lr * delta

    The step is the gradient scaled by the ratio of two running root-mean-squares, of past
    steps and of past gradients, so it has the units of ``p``; hence ``lr`` defaults to 1.

    >>> import microgradnn as mg
    >>> w = mg.Tensor([1.0], requires_grad=True)
    >>> opt = mg.optim.Adadelta([w])
    >>> (w * w).sum().backward(); opt.step(); round(w.item(), 6)
    0.996838
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1.0,
        rho: float = 0.9,
        eps: float = 1e-6,
        weight_decay: float = 0,
        *,
        maximize: bool = False,
    ) -> None:
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize))

    def _check_hyperparameters(self, settings: dict[str, Any]) -> None:
        super()._check_hyperparameters(settings)
        if not 0 <= settings["rho"] <= 1:
            raise ValueError(f"Adadelta: invalid rho {settings['rho']} (must be in [0, 1])")
        if not settings["eps"] >= 0:
            raise ValueError(f"Adadelta: invalid eps {settings['eps']} (must be >= 0)")

    @no_fp_warnings()  # inf or NaN in a gradient gives inf or NaN weights, not warnings
    def update(self, param: Tensor, grad: np.ndarray, group: dict[str, Any], state: dict[str, Any]) -> None:
        """One Adadelta step for one parameter."""
        rho, eps = group["rho"], group["eps"]
        if group["maximize"]:
            grad = -grad
        if not state:
            state["step"] = 0
            state["square_avg"] = np.zeros_like(param.data)
            state["acc_delta"] = np.zeros_like(param.data)
        state["step"] += 1
        if group["weight_decay"]:
            grad = grad + group["weight_decay"] * param.data
        square_avg, acc_delta = state["square_avg"], state["acc_delta"]
        square_avg *= rho
        square_avg += (1 - rho) * grad * grad
        delta = np.sqrt(acc_delta + eps) / np.sqrt(square_avg + eps) * grad
        acc_delta *= rho
        acc_delta += (1 - rho) * delta * delta
        param.data -= group["lr"] * delta
