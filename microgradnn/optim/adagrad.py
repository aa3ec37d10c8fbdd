"""Adagrad."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from ..autograd import no_fp_warnings
from ..tensor import Tensor
from .optimizer import Optimizer

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """Adagrad with PyTorch's signature, defaults and update rule.

    For each parameter ``p`` with gradient ``g``, at step ``t`` (from 1)::

        g = -g if maximize (ascend)
        g = g + weight_decay * p
        sum = sum + g * g                      (sum starts at initial_accumulator_value)
        p = p - lr / (1 + (t - 1) * lr_decay) * g / (sqrt(sum) + eps)

    >>> import microgradnn as mg
    >>> w = mg.Tensor([1.0], requires_grad=True)
    >>> opt = mg.optim.Adagrad([w], lr=0.1)
    >>> (w * w).sum().backward(); opt.step(); round(w.item(), 6)
    0.9
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        lr_decay: float = 0,
        weight_decay: float = 0,
        initial_accumulator_value: float = 0,
        eps: float = 1e-10,
        *,
        maximize: bool = False,
    ) -> None:
        super().__init__(
            params,
            dict(
                lr=lr,
                lr_decay=lr_decay,
                weight_decay=weight_decay,
                initial_accumulator_value=initial_accumulator_value,
                eps=eps,
                maximize=maximize,
            ),
        )

    def _check_hyperparameters(self, settings: dict[str, Any]) -> None:
        super()._check_hyperparameters(settings)
        for key in ("lr_decay", "initial_accumulator_value", "eps"):
            if settings[key] < 0:
                raise ValueError(f"Adagrad: invalid {key} {settings[key]} (must be >= 0)")

    @no_fp_warnings()  # inf or NaN in a gradient gives inf or NaN weights, not warnings
    def update(self, param: Tensor, grad: np.ndarray, group: dict[str, Any], state: dict[str, Any]) -> None:
        """One Adagrad step for one parameter."""
        if group["maximize"]:
            grad = -grad
        if not state:
            state["step"] = 0
            state["sum"] = np.full_like(param.data, group["initial_accumulator_value"])
        state["step"] += 1
        if group["weight_decay"]:
            grad = grad + group["weight_decay"] * param.data
        clr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        state["sum"] += grad * grad
        param.data -= clr * grad / (np.sqrt(state["sum"]) + group["eps"])
