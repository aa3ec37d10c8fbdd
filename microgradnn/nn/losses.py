"""Losses as modules: each holds its ``reduction`` and calls the function in ``functional``."""

from __future__ import annotations

from typing import Any

from ..tensor import Tensor
from . import functional as F
from .module import Module

__all__ = ["MSELoss", "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss", "NLLLoss"]


class _Loss(Module):
    """Shared: checks and keeps ``reduction``."""

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        F._check_reduction(reduction, type(self).__name__)
        self.reduction = reduction

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class MSELoss(_Loss):
    """Squared error: ``MSELoss(reduction="sum")`` times 0.5 is the tutorials' loss.

    >>> import microgradnn as mg
    >>> mg.nn.MSELoss()(mg.Tensor([1.0, 2.0]), mg.Tensor([1.0, 4.0])).item()
    2.0
    """

    def forward(self, input: Tensor, target: Any) -> Tensor:
        """The loss of ``input`` against ``target`` (same shape)."""
        return F.mse_loss(input, target, self.reduction)


class BCELoss(_Loss):
    """Binary cross-entropy of probabilities; log terms clamped at -100 as PyTorch does.

    >>> import microgradnn as mg
    >>> mg.nn.BCELoss()(mg.Tensor([0.5]), [1.0]).item()
    0.6931471805599453
    """

    def forward(self, input: Tensor, target: Any) -> Tensor:
        """The loss of probabilities ``input`` against targets in [0, 1]."""
        return F.binary_cross_entropy(input, target, self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy of ``sigmoid(logits)``, computed stably from the logits.

    >>> import microgradnn as mg
    >>> mg.nn.BCEWithLogitsLoss()(mg.Tensor([0.0, 1000.0]), [1.0, 1.0]).item()
    0.34657359027997264
    """

    def forward(self, input: Tensor, target: Any) -> Tensor:
        """The loss of logits ``input`` against targets in [0, 1]."""
        return F.binary_cross_entropy_with_logits(input, target, self.reduction)


class CrossEntropyLoss(_Loss):
    """Cross-entropy of logits (N, C) against integer class indices (N,).

    >>> import microgradnn as mg
    >>> loss = mg.nn.CrossEntropyLoss()(mg.Tensor([[2.0, 0.0], [0.0, 2.0]]), [0, 1])
    >>> round(loss.item(), 6)
    0.126928
    """

    def forward(self, input: Tensor, target: Any) -> Tensor:
        """The loss of logits ``input`` against class indices ``target``."""
        return F.cross_entropy(input, target, self.reduction)


class NLLLoss(_Loss):
    """Negative log-likelihood of log-probabilities (N, C) at class indices (N,).

    >>> import microgradnn as mg
    >>> mg.nn.NLLLoss()(mg.Tensor([[-1.0, -2.0]]), [1]).item()
    2.0
    """

    def forward(self, input: Tensor, target: Any) -> Tensor:
        """The loss of log-probabilities ``input`` against class indices ``target``."""
        return F.nll_loss(input, target, self.reduction)
