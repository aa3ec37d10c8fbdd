"""Adamax: Adam with the infinity norm in place of the second moment."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from ..autograd import no_fp_warnings
from ..tensor import Tensor
from .optimizer import Optimizer, check_betas_and_eps

__all__ = ["Adamax"]


class Adamax(Optimizer):
    """Adamax with PyTorch's signature, defaults and update rule.

    For each parameter ``p`` with gradient ``g``, at step ``t`` (from 1)::

        g = -g if maximize (ascend)
        g = g + weight_decay * p
        m = beta1 * m + (1 - beta1) * g
        u = max(beta2 * u, abs(g) + eps)
        p = p - lr / (1 - beta1**t) * m / u

    ``u`` is a decaying maximum of the gradient's size, so a step is at most about ``lr``
    per element whatever the scale of the gradient.

    >>> import microgradnn as mg
    >>> w = mg.Tensor([1.0], requires_grad=True)
    >>> opt = mg.optim.Adamax([w], lr=0.1)
    >>> (w * w).sum().backward(); opt.step(); round(w.item(), 6)
    0.9
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        *,
        maximize: bool = False,
    ) -> None:
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, maximize=maximize))

    def _check_hyperparameters(self, settings: dict[str, Any]) -> None:
        super()._check_hyperparameters(settings)
        check_betas_and_eps(settings, "Adamax")

    @no_fp_warnings()  # inf or NaN in a gradient gives inf or NaN weights, not warnings
    def update(self, param: Tensor, grad: np.ndarray, group: dict[str, Any], state: dict[str, Any]) -> None:
        """One Adamax step for one parameter."""
        lr, (beta1, beta2), decay = group["lr"], group["betas"], group["weight_decay"]
        if group["maximize"]:
            grad = -grad
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(param.data)
            state["exp_inf"] = np.zeros_like(param.data)
        state["step"] += 1
        if decay:
            grad = grad + decay * param.data
        m, u = state["exp_avg"], state["exp_inf"]
        m *= beta1
        m += (1 - beta1) * grad
        u *= beta2
        np.maximum(u, np.abs(grad) + group["eps"], out=u)
        param.data -= lr / (1 - beta1 ** state["step"]) * m / u
