"""NAdam: Adam with Nesterov momentum (Dozat, 2016)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from ..autograd import no_fp_warnings
from ..tensor import Tensor
from .optimizer import Optimizer, check_betas_and_eps, decayed_grad, update_moments

__all__ = ["NAdam"]


class NAdam(Optimizer):
    """NAdam with PyTorch's signature, defaults and update rule.

    For each parameter ``p`` with gradient ``g``, at step ``t`` (from 1)::

        g = -g if maximize (ascend)
        g = g + weight_decay * p        (or p = p * (1 - lr * weight_decay) if decoupled_weight_decay)
        mu_t = beta1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))     (and mu_{t+1} likewise)
        prod = mu_1 * ... * mu_t
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        d = sqrt(v / (1 - beta2**t)) + eps
        p = p - lr * (1 - mu_t) / (1 - prod) * g / d - lr * mu_{t+1} / (1 - prod * mu_{t+1}) * m / d

    The momentum coefficient ``mu_t`` warms up from ``beta1 / 2`` towards ``beta1``, and each
    step looks ahead by applying next step's momentum to ``m`` now (Nesterov's trick).

    >>> import microgradnn as mg
    >>> w = mg.Tensor([1.0], requires_grad=True)
    >>> opt = mg.optim.NAdam([w], lr=0.1)
    >>> (w * w).sum().backward(); opt.step(); round(w.item(), 6)
    0.894355
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum_decay: float = 4e-3,
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
                momentum_decay=momentum_decay,
                decoupled_weight_decay=decoupled_weight_decay,
                maximize=maximize,
            ),
        )

    def _check_hyperparameters(self, settings: dict[str, Any]) -> None:
        super()._check_hyperparameters(settings)
        check_betas_and_eps(settings, "NAdam", "momentum_decay")

    @no_fp_warnings()  # inf or NaN in a gradient gives inf or NaN weights, not warnings
    def update(self, param: Tensor, grad: np.ndarray, group: dict[str, Any], state: dict[str, Any]) -> None:
        """One NAdam step for one parameter."""
        lr, (beta1, beta2), decay = group["lr"], group["betas"], group["weight_decay"]
        if group["maximize"]:
            grad = -grad
        if not state:
            state["step"] = 0
            state["mu_product"] = 1.0  # a Python float: the product of every step's mu so far
            state["exp_avg"] = np.zeros_like(param.data)
            state["exp_avg_sq"] = np.zeros_like(param.data)
        state["step"] += 1
        step = state["step"]
        grad = decayed_grad(param, grad, lr, decay, group["decoupled_weight_decay"])
        mu = beta1 * (1 - 0.5 * 0.96 ** (step * group["momentum_decay"]))
        mu_next = beta1 * (1 - 0.5 * 0.96 ** ((step + 1) * group["momentum_decay"]))
        state["mu_product"] *= mu
        mu_product = state["mu_product"]
        m, v = update_moments(state, grad, beta1, beta2)
        denom = np.sqrt(v / (1 - beta2**step)) + group["eps"]
        param.data -= lr * (1 - mu) / (1 - mu_product) * grad / denom
        param.data -= lr * mu_next / (1 - mu_product * mu_next) * m / denom
