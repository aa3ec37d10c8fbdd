"""Losses as modules: each holds its options and ``reduction`` and calls the function in
``functional``. Arguments follow PyTorch's, without its deprecated ``size_average`` and ``reduce``."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..tensor import Tensor
from . import functional as F
from .module import Module

__all__ = [
    "MSELoss",
    "L1Loss",
    "SmoothL1Loss",
    "HuberLoss",
    "BCELoss",
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "NLLLoss",
    "KLDivLoss",
    "PoissonNLLLoss",
    "GaussianNLLLoss",
    "CosineEmbeddingLoss",
    "MarginRankingLoss",
    "HingeEmbeddingLoss",
    "MultiMarginLoss",
    "SoftMarginLoss",
    "TripletMarginLoss",
]


class _Loss(Module):
    """Shared: checks and keeps ``reduction``."""

    _reductions: tuple[str, ...] = F._REDUCTIONS

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        if reduction not in self._reductions:
            names = [repr(r) for r in self._reductions]
            allowed = ", ".join(names[:-1]) + " or " + names[-1]
            raise ValueError(f"{type(self).__name__}: reduction must be {allowed}, not {reduction!r}")
        self.reduction = reduction

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class _WeightedLoss(_Loss):
    """Shared: a constant ``weight`` (kept as an ndarray, a buffer in PyTorch) and ``reduction``."""

    def __init__(self, weight: Any = None, reduction: str = "mean") -> None:
        super().__init__(reduction)
        if isinstance(weight, str):
            raise TypeError(f"{type(self).__name__}: weight must be a tensor of weights, not {weight!r}")
        self.weight = None if weight is None else np.asarray(weight.data if isinstance(weight, Tensor) else weight)


class MSELoss(_Loss):
    """Squared error: ``MSELoss(reduction="sum")`` times 0.5 is the tutorials' loss.

    >>> import microgradnn as mg
    >>> mg.nn.MSELoss()(mg.Tensor([1.0, 2.0]), mg.Tensor([1.0, 4.0])).item()
    2.0
    """

    def forward(self, input: Tensor, target: Any) -> Tensor:
        """The loss of ``input`` against ``target`` (same shape)."""
        return F.mse_loss(input, target, self.reduction)


class L1Loss(_Loss):
    """Absolute error ``|input - target|``.

    >>> import microgradnn as mg
    >>> mg.nn.L1Loss()(mg.Tensor([1.0, 2.0]), mg.Tensor([1.0, 4.0])).item()
    1.0
    """

    def forward(self, input: Tensor, target: Any) -> Tensor:
        """The loss of ``input`` against ``target`` (same shape)."""
        return F.l1_loss(input, target, self.reduction)


class SmoothL1Loss(_Loss):
    """Squared error below ``beta``, absolute error above it.

    >>> import microgradnn as mg
    >>> mg.nn.SmoothL1Loss(beta=1.0)(mg.Tensor([0.0]), [3.0]).item()
    2.5
    """

    def __init__(self, reduction: str = "mean", beta: float = 1.0) -> None:
        super().__init__(reduction)
        self.beta = beta

    def forward(self, input: Tensor, target: Any) -> Tensor:
        """The loss of ``input`` against ``target`` (same shape)."""
        return F.smooth_l1_loss(input, target, self.reduction, self.beta)


class HuberLoss(_Loss):
    """Squared error below ``delta``, ``delta`` times the absolute error above it.

    >>> import microgradnn as mg
    >>> mg.nn.HuberLoss(delta=2.0)(mg.Tensor([0.0]), [3.0]).item()
    4.0
    """

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction)
        self.delta = delta

    def forward(self, input: Tensor, target: Any) -> Tensor:
        """The loss of ``input`` against ``target`` (same shape)."""
        return F.huber_loss(input, target, self.reduction, self.delta)


class BCELoss(_WeightedLoss):
    """Binary cross-entropy of probabilities; log terms clamped at -100 as PyTorch does.

    >>> import microgradnn as mg
    >>> mg.nn.BCELoss()(mg.Tensor([0.5]), [1.0]).item()
    0.6931471805599453
    """

    def forward(self, input: Tensor, target: Any) -> Tensor:
        """The loss of probabilities ``input`` against targets in [0, 1]."""
        return F.binary_cross_entropy(input, target, self.weight, self.reduction)


class BCEWithLogitsLoss(_WeightedLoss):
    """Binary cross-entropy of ``sigmoid(logits)``, computed stably from the logits;
    ``pos_weight`` (one per class, along the last dim) weighs the positive examples.

    >>> import microgradnn as mg
    >>> mg.nn.BCEWithLogitsLoss()(mg.Tensor([0.0, 1000.0]), [1.0, 1.0]).item()
    0.34657359027997264
    """

    def __init__(self, weight: Any = None, reduction: str = "mean", pos_weight: Any = None) -> None:
        super().__init__(weight, reduction)
        self.pos_weight = None if pos_weight is None else np.asarray(getattr(pos_weight, "data", pos_weight))

    def forward(self, input: Tensor, target: Any) -> Tensor:
        """The loss of logits ``input`` against targets in [0, 1]."""
        return F.binary_cross_entropy_with_logits(input, target, self.weight, self.reduction, self.pos_weight)


class CrossEntropyLoss(_WeightedLoss):
    """Cross-entropy of logits (N, C), (N, C, d1, ...) or (C,) against class indices or class
    probabilities, with class ``weight``, ``ignore_index`` and ``label_smoothing`` as PyTorch's.

    >>> import microgradnn as mg
    >>> loss = mg.nn.CrossEntropyLoss()(mg.Tensor([[2.0, 0.0], [0.0, 2.0]]), [0, 1])
    >>> round(loss.item(), 6)
    0.126928
    """

    def __init__(
        self, weight: Any = None, ignore_index: int = -100, reduction: str = "mean", label_smoothing: float = 0.0
    ) -> None:
        super().__init__(weight, reduction)
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input: Tensor, target: Any) -> Tensor:
        """The loss of logits ``input`` against class indices or probabilities ``target``."""
        return F.cross_entropy(input, target, self.weight, self.ignore_index, self.reduction, self.label_smoothing)


class NLLLoss(_WeightedLoss):
    """Negative log-likelihood of log-probabilities (N, C), (N, C, d1, ...) or (C,) at class
    indices, with class ``weight`` and ``ignore_index``.

    >>> import microgradnn as mg
    >>> mg.nn.NLLLoss()(mg.Tensor([[-1.0, -2.0]]), [1]).item()
    2.0
    """

    def __init__(self, weight: Any = None, ignore_index: int = -100, reduction: str = "mean") -> None:
        super().__init__(weight, reduction)
        self.ignore_index = ignore_index

    def forward(self, input: Tensor, target: Any) -> Tensor:
        """The loss of log-probabilities ``input`` against class indices ``target``."""
        return F.nll_loss(input, target, self.weight, self.ignore_index, self.reduction)


class KLDivLoss(_Loss):
    """KL divergence of ``target`` (probabilities, or log-probabilities with ``log_target``)
    from log-probabilities ``input``; ``reduction="batchmean"`` gives the true per-sample KL.

    >>> import microgradnn as mg, math
    >>> mg.nn.KLDivLoss(reduction="batchmean")(mg.Tensor([[math.log(0.5)] * 2]), [[0.5, 0.5]]).item()
    0.0
    """

    _reductions = ("mean", "batchmean", "sum", "none")

    def __init__(self, reduction: str = "mean", log_target: bool = False) -> None:
        super().__init__(reduction)
        self.log_target = log_target

    def forward(self, input: Tensor, target: Any) -> Tensor:
        """The divergence of ``target`` from ``input``."""
        return F.kl_div(input, target, self.reduction, self.log_target)


class PoissonNLLLoss(_Loss):
    """Poisson negative log-likelihood of counts ``target`` at rate ``exp(input)`` (or ``input``).

    >>> import microgradnn as mg
    >>> mg.nn.PoissonNLLLoss()(mg.Tensor([0.0]), [2.0]).item()
    1.0
    """

    def __init__(self, log_input: bool = True, full: bool = False, eps: float = 1e-8, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.log_input, self.full, self.eps = log_input, full, eps

    def forward(self, log_input: Tensor, target: Any) -> Tensor:
        """The loss of rates (or log-rates) against counts."""
        return F.poisson_nll_loss(log_input, target, self.log_input, self.full, self.eps, self.reduction)


class GaussianNLLLoss(_Loss):
    """Gaussian negative log-likelihood of ``target`` at mean ``input`` and variance ``var``.

    >>> import microgradnn as mg
    >>> mg.nn.GaussianNLLLoss()(mg.Tensor([0.0]), [2.0], mg.Tensor([1.0])).item()
    2.0
    """

    def __init__(self, *, full: bool = False, eps: float = 1e-6, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.full, self.eps = full, eps

    def forward(self, input: Tensor, target: Any, var: Any) -> Tensor:
        """The loss of ``target`` under N(input, var)."""
        return F.gaussian_nll_loss(input, target, var, self.full, self.eps, self.reduction)


class _MarginLoss(_Loss):
    def __init__(self, margin: float, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.margin = margin

    def extra_repr(self) -> str:
        return f"margin={self.margin}, reduction={self.reduction!r}"


class CosineEmbeddingLoss(_MarginLoss):
    """1 - cos(x1, x2) for target 1, max(0, cos(x1, x2) - margin) for target -1.

    >>> import microgradnn as mg
    >>> round(mg.nn.CosineEmbeddingLoss()(mg.Tensor([[1.0, 0.0]]), mg.Tensor([[1.0, 0.0]]), [-1]).item(), 6)
    1.0
    """

    def __init__(self, margin: float = 0.0, reduction: str = "mean") -> None:
        super().__init__(margin, reduction)

    def forward(self, input1: Tensor, input2: Tensor, target: Any) -> Tensor:
        """The loss of the pair against labels 1 (alike) or -1 (unlike)."""
        return F.cosine_embedding_loss(input1, input2, target, self.margin, self.reduction)


class MarginRankingLoss(_MarginLoss):
    """max(0, -target (x1 - x2) + margin).

    >>> import microgradnn as mg
    >>> mg.nn.MarginRankingLoss(margin=1.0)(mg.Tensor([3.0]), mg.Tensor([1.0]), [1]).item()
    0.0
    """

    def __init__(self, margin: float = 0.0, reduction: str = "mean") -> None:
        super().__init__(margin, reduction)

    def forward(self, input1: Tensor, input2: Tensor, target: Any) -> Tensor:
        """The loss of the ranking against labels 1 or -1."""
        return F.margin_ranking_loss(input1, input2, target, self.margin, self.reduction)


class HingeEmbeddingLoss(_MarginLoss):
    """``input`` for target 1, max(0, margin - input) for target -1.

    >>> import microgradnn as mg
    >>> mg.nn.HingeEmbeddingLoss()(mg.Tensor([0.25]), [-1]).item()
    0.75
    """

    def __init__(self, margin: float = 1.0, reduction: str = "mean") -> None:
        super().__init__(margin, reduction)

    def forward(self, input: Tensor, target: Any) -> Tensor:
        """The loss of distances ``input`` against labels 1 or -1."""
        return F.hinge_embedding_loss(input, target, self.margin, self.reduction)


class MultiMarginLoss(_WeightedLoss):
    """The multi-class hinge loss of scores (N, C) at class indices.

    >>> import microgradnn as mg
    >>> round(mg.nn.MultiMarginLoss()(mg.Tensor([[0.1, 0.2, 0.4, 0.8]]), [3]).item(), 6)
    0.325
    """

    def __init__(self, p: int = 1, margin: float = 1.0, weight: Any = None, reduction: str = "mean") -> None:
        super().__init__(weight, reduction)
        if p not in (1, 2):
            raise ValueError(f"MultiMarginLoss: p must be 1 or 2, got {p}")
        self.p, self.margin = p, margin

    def forward(self, input: Tensor, target: Any) -> Tensor:
        """The loss of scores ``input`` against class indices ``target``."""
        return F.multi_margin_loss(input, target, self.p, self.margin, self.weight, self.reduction)


class SoftMarginLoss(_Loss):
    """log(1 + exp(-target * input)) for labels 1 or -1.

    >>> import microgradnn as mg
    >>> round(mg.nn.SoftMarginLoss()(mg.Tensor([0.0]), [1]).item(), 6)
    0.693147
    """

    def forward(self, input: Tensor, target: Any) -> Tensor:
        """The loss of scores ``input`` against labels ``target``."""
        return F.soft_margin_loss(input, target, self.reduction)


class TripletMarginLoss(_MarginLoss):
    """max(0, d(anchor, positive) - d(anchor, negative) + margin), d the p-norm distance.

    >>> import microgradnn as mg
    >>> a, p, n = mg.Tensor([[0.0, 0.0]]), mg.Tensor([[0.0, 0.0]]), mg.Tensor([[3.0, 4.0]])
    >>> mg.nn.TripletMarginLoss(eps=0.0)(a, p, n).item()
    0.0
    """

    def __init__(
        self, margin: float = 1.0, p: float = 2.0, eps: float = 1e-6, swap: bool = False, reduction: str = "mean"
    ) -> None:
        super().__init__(margin, reduction)
        self.p, self.eps, self.swap = p, eps, swap

    def forward(self, anchor: Tensor, positive: Tensor, negative: Tensor) -> Tensor:
        """The loss of the triplet."""
        return F.triplet_margin_loss(
            anchor, positive, negative, self.margin, self.p, self.eps, self.swap, self.reduction
        )
