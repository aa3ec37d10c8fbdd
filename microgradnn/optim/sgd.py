"""Stochastic gradient descent, with momentum, dampening, weight decay and Nesterov."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from ..autograd import no_fp_warnings
from ..tensor import Tensor
from .optimizer import Optimizer

__all__ = ["SGD"]


class SGD(Optimizer):
    """SGD with PyTorch's signature, defaults and update rule.

    For each parameter ``p`` with gradient ``g``::

        g = -g if maximize (ascend)
        g = g + weight_decay * p
        if momentum:  buf = g on the first step, else momentum * buf + (1 - dampening) * g
                      g = g + momentum * buf if nesterov else buf
        p = p - lr * g

    ``SGD(params, lr=1.0)`` on the tutorials' loss is their hand-written update.

    >>> import microgradnn as mg
    >>> w = mg.Tensor([1.0, 2.0], requires_grad=True)
    >>> opt = mg.optim.SGD([w], lr=0.1)
    >>> (w * w).sum().backward(); opt.step(); w.data.tolist()
    [0.8, 1.6]
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float = 0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        super().__init__(
            params,
            dict(
                lr=lr,
                momentum=momentum,
                dampening=dampening,
                weight_decay=weight_decay,
                nesterov=nesterov,
                maximize=maximize,
            ),
        )

    def _check_hyperparameters(self, settings: dict[str, Any]) -> None:
        super()._check_hyperparameters(settings)
        if settings["momentum"] < 0:
            raise ValueError(f"SGD: invalid momentum {settings['momentum']} (must be >= 0)")
        if settings["nesterov"] and (settings["momentum"] <= 0 or settings["dampening"] != 0):
            raise ValueError("SGD: nesterov momentum needs momentum > 0 and dampening = 0")

    @no_fp_warnings()  # inf or NaN in a gradient gives inf or NaN weights, not warnings
    def update(self, param: Tensor, grad: np.ndarray, group: dict[str, Any], state: dict[str, Any]) -> None:
        """One SGD step for one parameter."""
        if group["maximize"]:
            grad = -grad
        if group["weight_decay"]:
            grad = grad + group["weight_decay"] * param.data
        momentum = group["momentum"]
        if momentum:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = grad.copy()
            else:
                buf *= momentum
                buf += (1 - group["dampening"]) * grad
            grad = grad + momentum * buf if group["nesterov"] else buf
        param.data -= group["lr"] * grad
