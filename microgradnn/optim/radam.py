"""RAdam: Adam with the variance of its adaptive rate rectified (Liu et al., 2019)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from ..autograd import no_fp_warnings
from ..tensor import Tensor
from .optimizer import Optimizer, check_betas_and_eps, decayed_grad, update_moments

__all__ = ["RAdam"]


class RAdam(Optimizer):
    """RAdam with PyTorch's signature, defaults and update rule.

    For each parameter ``p`` with gradient ``g``, at step ``t`` (from 1)::

        g = -g if maximize (ascend)
        g = g + weight_decay * p        (or p = p * (1 - lr * weight_decay) if decoupled_weight_decay)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        m_hat = m / (1 - beta1**t)
        rho_inf = 2 / (1 - beta2) - 1;  rho_t = rho_inf - 2 * t * beta2**t / (1 - beta2**t)
        if rho_t > 5:
            r = sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            p = p - lr * m_hat * r * sqrt(1 - beta2**t) / (sqrt(v) + eps)
        else:
            p = p - lr * m_hat                                  (plain momentum SGD)

    While too few gradients have been seen for ``v`` to be a trustworthy estimate (``rho_t <=
    5``, the first few steps with the default betas) it takes momentum steps; then Adam steps
    scaled by ``r``, which grows towards 1.

    >>> import microgradnn as mg
    >>> w = mg.Tensor([1.0], requires_grad=True)
    >>> opt = mg.optim.RAdam([w], lr=0.1)
    >>> (w * w).sum().backward(); opt.step(); round(w.item(), 6)    # a momentum step: 1 - 0.1 * 2
    0.8
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        decoupled_weight_decay: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        super().__init__(
            params,
            dict(
                lr=lr,
                betas=tuple(betas),
                eps=eps,
                weight_decay=weight_decay,
                decoupled_weight_decay=decoupled_weight_decay,
                maximize=maximize,
            ),
        )

    def _check_hyperparameters(self, settings: dict[str, Any]) -> None:
        super()._check_hyperparameters(settings)
        check_betas_and_eps(settings, "RAdam")

    @no_fp_warnings()  # inf or NaN in a gradient gives inf or NaN weights, not warnings
    def update(self, param: Tensor, grad: np.ndarray, group: dict[str, Any], state: dict[str, Any]) -> None:
        """One RAdam step for one parameter."""
        lr, (beta1, beta2), decay = group["lr"], group["betas"], group["weight_decay"]
        if group["maximize"]:
            grad = -grad
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(param.data)
            state["exp_avg_sq"] = np.zeros_like(param.data)
        state["step"] += 1
        step = state["step"]
        grad = decayed_grad(param, grad, lr, decay, group["decoupled_weight_decay"])
        m, v = update_moments(state, grad, beta1, beta2)
        m_hat = m / (1 - beta1**step)
        bias_correction2 = 1 - beta2**step
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * step * beta2**step / bias_correction2
        if rho_t > 5:
            rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            param.data -= m_hat * lr * (math.sqrt(bias_correction2) / (np.sqrt(v) + group["eps"])) * rect
        else:
            param.data -= m_hat * lr
