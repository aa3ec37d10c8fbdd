"""Learning-rate schedulers, with PyTorch's names, arguments and numbers.

As in PyTorch, a scheduler sets each group's ``lr`` when it is made (the initial step, epoch 0)
and again at each ``step()``; call ``scheduler.step()`` after ``optimizer.step()``, once per
epoch (OneCycleLR and CyclicLR: once per batch). Most schedulers are chainable, as PyTorch's
are: each step scales the group's current ``lr``, so two schedulers on one optimizer (or a
``ChainedScheduler``) multiply their effects. ``state_dict()`` holds everything but the
optimizer; save and load the optimizer's state dict with it, since the learning rates live
there.
"""

from __future__ import annotations

import copy
import math
import types
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from .optimizer import Optimizer

__all__ = [
    "LRScheduler",
    "LambdaLR",
    "MultiplicativeLR",
    "StepLR",
    "MultiStepLR",
    "ConstantLR",
    "LinearLR",
    "ExponentialLR",
    "CosineAnnealingLR",
    "CosineAnnealingWarmRestarts",
    "CyclicLR",
    "OneCycleLR",
    "ReduceLROnPlateau",
    "SequentialLR",
    "ChainedScheduler",
]


def _per_group(owner: str, name: str, optimizer: Optimizer, value: Any) -> list[Any]:
    """``value`` for each parameter group: a list or tuple as given (one per group), else repeated."""
    if isinstance(value, (list, tuple)):
        if len(value) != len(optimizer.param_groups):
            raise ValueError(
                f"{owner}: {name} has {len(value)} values, but the optimizer has "
                f"{len(optimizer.param_groups)} parameter groups"
            )
        return list(value)
    return [value] * len(optimizer.param_groups)


def _set_momentum(group: dict[str, Any], momentum: float, use_beta1: bool) -> None:
    """Momentum cycling writes SGD's or RMSprop's ``momentum``, or Adam's ``beta1``."""
    if use_beta1:
        group["betas"] = (momentum, *group["betas"][1:])
    else:
        group["momentum"] = momentum


def _momentum_key(owner: str, optimizer: Optimizer) -> bool:
    """Whether momentum cycling drives ``betas[0]`` (True) or ``momentum`` (False)."""
    if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
        raise ValueError(
            f"{owner}: cycle_momentum=True needs an optimizer with momentum or betas "
            f"({type(optimizer).__name__} has neither); pass cycle_momentum=False"
        )
    return "betas" in optimizer.defaults


class LRScheduler:
    """Base class: a scheduler defines ``get_lr()``, the rates of the epoch ``last_epoch`` just
    reached (it may read each group's current ``lr``: a chainable rule), or, more simply,
    ``lr_at(base_lr, epoch)``, a closed form from the group's initial rate.

    The constructor records each group's ``initial_lr`` (``base_lrs``) and makes the initial
    step to epoch 0. ``last_epoch`` other than -1 resumes a schedule and needs ``initial_lr``
    in the groups already (load the optimizer's state dict first), as in PyTorch.

    >>> import microgradnn as mg
    >>> class Halving(mg.optim.lr_scheduler.LRScheduler):
    ...     def lr_at(self, base_lr, epoch):
    ...         return base_lr / 2 ** epoch
    >>> opt = mg.optim.SGD([mg.ones(1, requires_grad=True)], lr=1.0)
    >>> sched = Halving(opt)
    >>> sched.step(); sched.step(); sched.get_last_lr()
    [0.25]
    """

    # Attributes that state_dict() leaves out, or saves in its own way (see LambdaLR).
    _not_saved: tuple[str, ...] = ("optimizer",)

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__}: expected an Optimizer, got {type(optimizer).__name__}")
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(
                        f"{type(self).__name__}: param_groups[{i}] has no 'initial_lr', which resuming "
                        f"with last_epoch={last_epoch} needs; load the optimizer's state_dict first"
                    )
        self.base_lrs: list[float] = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._initial_step()

    def _initial_step(self) -> None:
        """The constructor's step to epoch 0; ``_is_initial`` tells get_lr which step it is."""
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def lr_at(self, base_lr: float, epoch: int) -> float:
        """The closed form: the learning rate of a group whose initial rate is ``base_lr``, at ``epoch``."""
        raise NotImplementedError(f"{type(self).__name__} defines neither get_lr nor lr_at")

    def _has_closed_form(self) -> bool:
        return type(self).lr_at is not LRScheduler.lr_at

    def get_lr(self) -> list[float]:
        """The learning rates for epoch ``last_epoch`` (read them with ``get_last_lr()``)."""
        return [self.lr_at(base, self.last_epoch) for base in self.base_lrs]

    def step(self) -> None:
        """Advance one epoch and set each group's learning rate."""
        self._step_count += 1
        self._update_lr()

    def _update_lr(self, epoch: int | None = None) -> None:
        """Go to the next epoch, or jump to ``epoch`` (with the closed form, where there is
        one: SequentialLR starts a scheduler at epoch 0 this way, as PyTorch does)."""
        if epoch is None:
            self.last_epoch += 1
            values = self.get_lr()
        else:
            self.last_epoch = epoch
            if self._has_closed_form():
                values = [self.lr_at(base, epoch) for base in self.base_lrs]
            else:
                values = self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, values, strict=True):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        """The learning rates set by the last step."""
        return list(self._last_lr)

    def state_dict(self) -> dict[str, Any]:
        """Everything but the optimizer (save that with its own state_dict), as copies."""
        return {k: copy.deepcopy(v) for k, v in self.__dict__.items() if k not in self._not_saved}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore what ``state_dict`` saved."""
        self.__dict__.update(
            {
                k: (list(v) if k == "base_lrs" else copy.deepcopy(v))
                for k, v in state_dict.items()
                if k not in self._not_saved
            }
        )


class _LambdaScheduler(LRScheduler):
    """LambdaLR and MultiplicativeLR: one function of the epoch per group. Their state dicts
    hold ``None`` for a plain function or lambda (code is not saved) and the ``__dict__`` of a
    callable object, as PyTorch's do."""

    _not_saved = ("optimizer", "lr_lambdas")

    def __init__(
        self,
        optimizer: Optimizer,
        lr_lambda: Callable[[int], float] | Sequence[Callable[[int], float]],
        last_epoch: int = -1,
    ) -> None:
        name = type(self).__name__
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{name}: expected an Optimizer, got {type(optimizer).__name__}")
        self.lr_lambdas: list[Callable[[int], float]] = _per_group(name, "lr_lambda", optimizer, lr_lambda)
        for fn in self.lr_lambdas:
            if not callable(fn):
                raise TypeError(f"{name}: lr_lambda must be a function, got {type(fn).__name__}")
        super().__init__(optimizer, last_epoch)

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state["lr_lambdas"] = [
            None if isinstance(fn, types.FunctionType) else copy.deepcopy(fn.__dict__) for fn in self.lr_lambdas
        ]
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        super().load_state_dict(state_dict)
        for fn, saved in zip(self.lr_lambdas, state_dict.get("lr_lambdas", []), strict=False):
            if saved is not None:
                fn.__dict__.update(copy.deepcopy(saved))


class LambdaLR(_LambdaScheduler):
    """lr = base_lr * lr_lambda(epoch): ``lr_lambda`` is one function of the epoch, or a list
    of them, one per parameter group.

    >>> import microgradnn as mg
    >>> opt = mg.optim.SGD([mg.ones(1, requires_grad=True)], lr=1.0)
    >>> sched = mg.optim.lr_scheduler.LambdaLR(opt, lr_lambda=lambda epoch: 1 / (epoch + 1))
    >>> sched.step(); sched.step(); sched.get_last_lr()
    [0.3333333333333333]
    """

    def get_lr(self) -> list[float]:
        return [base * fn(self.last_epoch) for fn, base in zip(self.lr_lambdas, self.base_lrs, strict=True)]


class MultiplicativeLR(_LambdaScheduler):
    """lr = lr * lr_lambda(epoch) at each step after the initial one: the rate at epoch ``e``
    is ``base_lr`` times the product of ``lr_lambda(k)`` for ``k`` from 1 to ``e``.

    >>> import microgradnn as mg
    >>> opt = mg.optim.SGD([mg.ones(1, requires_grad=True)], lr=1.0)
    >>> sched = mg.optim.lr_scheduler.MultiplicativeLR(opt, lr_lambda=lambda epoch: 0.5)
    >>> sched.step(); sched.step(); sched.get_last_lr()
    [0.25]
    """

    def get_lr(self) -> list[float]:
        groups = self.optimizer.param_groups
        if self._is_initial:
            return [group["lr"] for group in groups]
        return [group["lr"] * fn(self.last_epoch) for fn, group in zip(self.lr_lambdas, groups, strict=True)]


class StepLR(LRScheduler):
    """lr = base_lr * gamma ** (epoch // step_size): the rate is multiplied by ``gamma`` every
    ``step_size`` epochs (chainable: at each multiple of ``step_size``, lr = lr * gamma).

    >>> import microgradnn as mg
    >>> opt = mg.optim.SGD([mg.ones(1, requires_grad=True)], lr=1.0)
    >>> sched = mg.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    >>> lrs = []
    >>> for _ in range(5):
    ...     lrs.append(sched.get_last_lr()[0]); opt.step(); sched.step()
    >>> lrs
    [1.0, 1.0, 0.5, 0.5, 0.25]
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1) -> None:
        if step_size < 1:
            raise ValueError(f"StepLR: step_size must be >= 1, got {step_size}")
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        groups = self.optimizer.param_groups
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return [group["lr"] for group in groups]
        return [group["lr"] * self.gamma for group in groups]

    def lr_at(self, base_lr: float, epoch: int) -> float:
        return base_lr * self.gamma ** (epoch // self.step_size)


class MultiStepLR(LRScheduler):
    """lr = base_lr * gamma ** (number of milestones <= epoch): the rate is multiplied by
    ``gamma`` at each milestone epoch (by ``gamma**n`` at a milestone listed ``n`` times).

    >>> import microgradnn as mg
    >>> opt = mg.optim.SGD([mg.ones(1, requires_grad=True)], lr=1.0)
    >>> sched = mg.optim.lr_scheduler.MultiStepLR(opt, milestones=[1, 3], gamma=0.5)
    >>> lrs = []
    >>> for _ in range(5):
    ...     lrs.append(sched.get_last_lr()[0]); opt.step(); sched.step()
    >>> lrs
    [1.0, 0.5, 0.5, 0.25, 0.25]
    """

    def __init__(
        self, optimizer: Optimizer, milestones: Iterable[int], gamma: float = 0.1, last_epoch: int = -1
    ) -> None:
        self.milestones = Counter(milestones)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        groups = self.optimizer.param_groups
        if self.last_epoch not in self.milestones:
            return [group["lr"] for group in groups]
        return [group["lr"] * self.gamma ** self.milestones[self.last_epoch] for group in groups]

    def lr_at(self, base_lr: float, epoch: int) -> float:
        return base_lr * self.gamma ** bisect_right(sorted(self.milestones.elements()), epoch)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        super().load_state_dict(state_dict)
        # A checkpoint gives the Counter back as a plain dict (with int keys).
        self.milestones = Counter({int(k): v for k, v in self.milestones.items()})


class ConstantLR(LRScheduler):
    """lr = base_lr * factor for epochs below ``total_iters``, then base_lr (chainable: the
    initial step multiplies the rate by ``factor``, epoch ``total_iters`` divides it back).

    >>> import microgradnn as mg
    >>> opt = mg.optim.SGD([mg.ones(1, requires_grad=True)], lr=1.0)
    >>> sched = mg.optim.lr_scheduler.ConstantLR(opt, factor=0.5, total_iters=2)
    >>> lrs = []
    >>> for _ in range(4):
    ...     lrs.append(sched.get_last_lr()[0]); opt.step(); sched.step()
    >>> lrs
    [0.5, 0.5, 1.0, 1.0]
    """

    def __init__(
        self, optimizer: Optimizer, factor: float = 1.0 / 3, total_iters: int = 5, last_epoch: int = -1
    ) -> None:
        if not 0 <= factor <= 1:
            raise ValueError(f"ConstantLR: factor must be in [0, 1], got {factor}")
        self.factor = factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        groups = self.optimizer.param_groups
        if self.last_epoch == 0:
            return [group["lr"] * self.factor for group in groups]
        if self.last_epoch != self.total_iters:
            return [group["lr"] for group in groups]
        return [group["lr"] * (1.0 / self.factor) for group in groups]

    def lr_at(self, base_lr: float, epoch: int) -> float:
        return base_lr * (self.factor + (epoch >= self.total_iters) * (1 - self.factor))


class LinearLR(LRScheduler):
    """lr = base_lr * (start_factor + (end_factor - start_factor) * min(epoch, total_iters) /
    total_iters): a linear ramp of the factor over ``total_iters`` epochs, then constant
    (chainable: each step multiplies the rate by the ratio of successive factors).

    >>> import microgradnn as mg
    >>> opt = mg.optim.SGD([mg.ones(1, requires_grad=True)], lr=1.0)
    >>> sched = mg.optim.lr_scheduler.LinearLR(opt, start_factor=0.25, total_iters=3)
    >>> lrs = []
    >>> for _ in range(5):
    ...     lrs.append(sched.get_last_lr()[0]); opt.step(); sched.step()
    >>> lrs
    [0.25, 0.5, 0.75, 1.0, 1.0]
    """

    def __init__(
        self,
        optimizer: Optimizer,
        start_factor: float = 1.0 / 3,
        end_factor: float = 1.0,
        total_iters: int = 5,
        last_epoch: int = -1,
    ) -> None:
        if not 0 < start_factor <= 1:
            raise ValueError(f"LinearLR: start_factor must be in (0, 1], got {start_factor}")
        if not 0 <= end_factor <= 1:
            raise ValueError(f"LinearLR: end_factor must be in [0, 1], got {end_factor}")
        if total_iters < 1:
            raise ValueError(f"LinearLR: total_iters must be >= 1, got {total_iters}")
        self.start_factor, self.end_factor, self.total_iters = start_factor, end_factor, total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        groups = self.optimizer.param_groups
        if self.last_epoch == 0:
            return [group["lr"] * self.start_factor for group in groups]
        if self._is_initial or self.last_epoch > self.total_iters:
            return [group["lr"] for group in groups]
        # The ratio of this epoch's factor to the last one's, written as PyTorch writes it.
        change = self.end_factor - self.start_factor
        ratio = 1.0 + change / (self.total_iters * self.start_factor + (self.last_epoch - 1) * change)
        return [group["lr"] * ratio for group in groups]

    def lr_at(self, base_lr: float, epoch: int) -> float:
        change = (self.end_factor - self.start_factor) * min(self.total_iters, epoch) / self.total_iters
        return base_lr * (self.start_factor + change)


class ExponentialLR(LRScheduler):
    """lr = base_lr * gamma ** epoch (chainable: lr = lr * gamma at each step).

    >>> import microgradnn as mg
    >>> opt = mg.optim.SGD([mg.ones(1, requires_grad=True)], lr=1.0)
    >>> sched = mg.optim.lr_scheduler.ExponentialLR(opt, gamma=0.5)
    >>> sched.step(); sched.get_last_lr()
    [0.5]
    """

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        groups = self.optimizer.param_groups
        if self._is_initial:
            return [group["lr"] for group in groups]
        return [group["lr"] * self.gamma for group in groups]

    def lr_at(self, base_lr: float, epoch: int) -> float:
        return base_lr * self.gamma**epoch


class CosineAnnealingLR(LRScheduler):
    """lr = eta_min + (base_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2: half a cosine
    from base_lr down to eta_min over ``T_max`` epochs, then back up, and so on. Computed
    recursively from the current rate, as PyTorch does, so that it chains.

    >>> import microgradnn as mg
    >>> opt = mg.optim.SGD([mg.ones(1, requires_grad=True)], lr=1.0)
    >>> sched = mg.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=2)
    >>> sched.step(); sched.get_last_lr()
    [0.5]
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1) -> None:
        if T_max < 1:
            raise ValueError(f"CosineAnnealingLR: T_max must be >= 1, got {T_max}")
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        groups, epoch, T_max, eta_min = self.optimizer.param_groups, self.last_epoch, self.T_max, self.eta_min
        if self._is_initial:
            return [group["lr"] for group in groups]
        if self._step_count == 1 and epoch > 0:
            return [self.lr_at(base, epoch) for base in self.base_lrs]
        if (epoch - 1 - T_max) % (2 * T_max) == 0:  # at the bottom, where the ratio below is 0 / 0
            return [
                group["lr"] + (base - eta_min) * (1 - math.cos(math.pi / T_max)) / 2
                for base, group in zip(self.base_lrs, groups, strict=True)
            ]
        ratio = (1 + math.cos(math.pi * epoch / T_max)) / (1 + math.cos(math.pi * (epoch - 1) / T_max))
        return [ratio * (group["lr"] - eta_min) + eta_min for group in groups]

    def lr_at(self, base_lr: float, epoch: int) -> float:
        return self.eta_min + (base_lr - self.eta_min) * (1 + math.cos(math.pi * epoch / self.T_max)) / 2


class CosineAnnealingWarmRestarts(LRScheduler):
    """lr = eta_min + (base_lr - eta_min) * (1 + cos(pi * T_cur / T_i)) / 2, where ``T_cur``
    counts epochs since the last restart and the i-th period is ``T_i = T_0 * T_mult**i``:
    the cosine restarts from base_lr every ``T_i`` epochs. ``step(epoch)`` jumps to any epoch,
    fractional ones included (``step(epoch + i / iters)`` once per batch).

    >>> import microgradnn as mg
    >>> opt = mg.optim.SGD([mg.ones(1, requires_grad=True)], lr=1.0)
    >>> sched = mg.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=2)
    >>> lrs = []
    >>> for _ in range(5):
    ...     lrs.append(sched.get_last_lr()[0]); opt.step(); sched.step()
    >>> lrs
    [1.0, 0.5, 1.0, 0.5, 1.0]
    >>> sched.step(2.5); sched.get_last_lr()  # a quarter of the way into the second period
    [0.8535533905932737]
    """

    def __init__(
        self, optimizer: Optimizer, T_0: int, T_mult: int = 1, eta_min: float = 0.0, last_epoch: int = -1
    ) -> None:
        name = "CosineAnnealingWarmRestarts"
        if not isinstance(T_0, int) or T_0 <= 0:
            raise ValueError(f"{name}: T_0 must be a positive integer, got {T_0}")
        if not isinstance(T_mult, int) or T_mult < 1:
            raise ValueError(f"{name}: T_mult must be an integer >= 1, got {T_mult}")
        if not isinstance(eta_min, (float, int)):
            raise ValueError(f"{name}: eta_min must be a number, got {eta_min!r}")
        self.T_0 = self.T_i = T_0
        self.T_mult = T_mult
        self.eta_min = eta_min
        self.T_cur: float = last_epoch
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        cosine = (1 + math.cos(math.pi * self.T_cur / self.T_i)) / 2
        return [self.eta_min + (base - self.eta_min) * cosine for base in self.base_lrs]

    def step(self, epoch: float | None = None) -> None:
        """Advance one epoch, or go to ``epoch`` (a float is a point within an epoch)."""
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur = self.T_cur + 1
            if self.T_cur >= self.T_i:
                self.T_cur = self.T_cur % self.T_i
                self.T_i = self.T_i * self.T_mult
        else:
            if epoch < 0:
                raise ValueError(f"CosineAnnealingWarmRestarts: epoch must be >= 0, got {epoch}")
            if epoch >= self.T_0:
                if self.T_mult == 1:
                    self.T_cur = epoch % self.T_0
                else:
                    # n: the number of whole periods before epoch (T_0 * (T_mult**n - 1) / (T_mult - 1) epochs)
                    n = int(math.log(epoch / self.T_0 * (self.T_mult - 1) + 1, self.T_mult))
                    self.T_cur = epoch - self.T_0 * (self.T_mult**n - 1) / (self.T_mult - 1)
                    self.T_i = self.T_0 * self.T_mult**n
            else:
                self.T_i = self.T_0
                self.T_cur = epoch
        self.last_epoch = math.floor(epoch)
        for group, lr in zip(self.optimizer.param_groups, self.get_lr(), strict=True):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]


class CyclicLR(LRScheduler):
    """The cyclical learning rate (Smith, 2017): the rate goes from ``base_lr`` up to
    ``max_lr`` in ``step_size_up`` steps and back down in ``step_size_down`` (default: the
    same), the height of each cycle scaled by ``scale_fn`` of the cycle number (``scale_mode=
    "cycle"``) or of the step count (``"iterations"``): 1 for ``mode="triangular"``, halving
    each cycle for ``"triangular2"``, ``gamma**step`` for ``"exp_range"``. Step it once per
    batch. With ``cycle_momentum`` (the default) momentum, or Adam's beta1, moves the other
    way, from ``max_momentum`` down to ``base_momentum`` and back.

    >>> import microgradnn as mg
    >>> opt = mg.optim.SGD([mg.ones(1, requires_grad=True)], lr=1.0, momentum=0.9)
    >>> sched = mg.optim.lr_scheduler.CyclicLR(opt, base_lr=0.1, max_lr=0.5, step_size_up=2)
    >>> lrs, momenta = [], []
    >>> for _ in range(5):
    ...     lrs.append(round(sched.get_last_lr()[0], 6)); momenta.append(round(opt.param_groups[0]["momentum"], 6))
    ...     opt.step(); sched.step()
    >>> lrs, momenta
    ([0.1, 0.3, 0.5, 0.3, 0.1], [0.9, 0.85, 0.8, 0.85, 0.9])
    """

    _not_saved = ("optimizer", "_scale_fn_custom")

    def __init__(
        self,
        optimizer: Optimizer,
        base_lr: float | list[float],
        max_lr: float | list[float],
        step_size_up: int = 2000,
        step_size_down: int | None = None,
        mode: str = "triangular",
        gamma: float = 1.0,
        scale_fn: Callable[[float], float] | None = None,
        scale_mode: str = "cycle",
        cycle_momentum: bool = True,
        base_momentum: float | list[float] = 0.8,
        max_momentum: float | list[float] = 0.9,
        last_epoch: int = -1,
    ) -> None:
        name = "CyclicLR"
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{name}: expected an Optimizer, got {type(optimizer).__name__}")
        base_lrs = _per_group(name, "base_lr", optimizer, base_lr)
        if last_epoch == -1:
            for lr, group in zip(base_lrs, optimizer.param_groups, strict=True):
                group["lr"] = lr
        self.max_lrs = _per_group(name, "max_lr", optimizer, max_lr)
        up = float(step_size_up)
        down = float(step_size_down) if step_size_down is not None else up
        if not (up > 0 and down >= 0):
            raise ValueError(
                f"{name}: step sizes must be > 0 (up) and >= 0 (down), got {step_size_up}, {step_size_down}"
            )
        self.total_size = up + down
        self.step_ratio = up / self.total_size
        if mode not in ("triangular", "triangular2", "exp_range") and scale_fn is None:
            raise ValueError(f"{name}: unknown mode {mode!r} (and no scale_fn)")
        if scale_mode not in ("cycle", "iterations"):
            raise ValueError(f"{name}: scale_mode must be 'cycle' or 'iterations', got {scale_mode!r}")
        self.mode = mode
        self.gamma = gamma
        self._scale_fn_custom = scale_fn
        # The built-in modes fix their scale_mode, as PyTorch's do.
        self.scale_mode = scale_mode if scale_fn is not None else ("iterations" if mode == "exp_range" else "cycle")
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            self.use_beta1 = _momentum_key(name, optimizer)
            self.base_momentums = _per_group(name, "base_momentum", optimizer, base_momentum)
            self.max_momentums = _per_group(name, "max_momentum", optimizer, max_momentum)
            if last_epoch == -1:
                for top, bottom, group in zip(
                    self.max_momentums, self.base_momentums, optimizer.param_groups, strict=True
                ):
                    _set_momentum(group, top, self.use_beta1)
                    group["max_momentum"], group["base_momentum"] = top, bottom
        super().__init__(optimizer, last_epoch)
        self.base_lrs = base_lrs

    def scale_fn(self, x: float) -> float:
        """The height of the cycle at ``x`` (the cycle number, or the step count)."""
        if self._scale_fn_custom is not None:
            return self._scale_fn_custom(x)
        if self.mode == "triangular":
            return 1.0
        if self.mode == "triangular2":
            return 1 / 2.0 ** (x - 1)
        return self.gamma**x

    def get_lr(self) -> list[float]:
        cycle = math.floor(1 + self.last_epoch / self.total_size)
        x = 1.0 + self.last_epoch / self.total_size - cycle  # the position within the cycle, in [0, 1)
        if x <= self.step_ratio:
            scale_factor = x / self.step_ratio
        else:
            scale_factor = (x - 1) / (self.step_ratio - 1)
        scale = self.scale_fn(cycle if self.scale_mode == "cycle" else self.last_epoch)
        lrs = [
            base + (top - base) * scale_factor * scale for base, top in zip(self.base_lrs, self.max_lrs, strict=True)
        ]
        if self.cycle_momentum:
            for bottom, top, group in zip(
                self.base_momentums, self.max_momentums, self.optimizer.param_groups, strict=True
            ):
                _set_momentum(group, top - (top - bottom) * scale_factor * scale, self.use_beta1)
        return lrs

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        fn = self._scale_fn_custom
        state["_scale_fn_custom"] = (
            None if fn is None or isinstance(fn, types.FunctionType) else copy.deepcopy(fn.__dict__)
        )
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        super().load_state_dict(state_dict)
        saved = state_dict.get("_scale_fn_custom")
        if saved is not None and self._scale_fn_custom is not None:
            self._scale_fn_custom.__dict__.update(copy.deepcopy(saved))


class OneCycleLR(LRScheduler):
    """The one-cycle policy (Smith and Topin, 2018): over ``total_steps`` steps (or ``epochs
    * steps_per_epoch``) the rate rises from ``max_lr / div_factor`` to ``max_lr`` in the
    first ``pct_start`` of them, then anneals to ``initial_lr / final_div_factor``, along a
    cosine (``anneal_strategy="cos"``) or a line (``"linear"``). With ``three_phase`` it
    comes back down to the initial rate symmetrically before the final anneal. With
    ``cycle_momentum`` (the default) momentum, or Adam's beta1, moves the other way between
    ``max_momentum`` and ``base_momentum``. Step it once per batch; stepping past
    ``total_steps`` raises ValueError.

    >>> import microgradnn as mg
    >>> opt = mg.optim.SGD([mg.ones(1, requires_grad=True)], lr=1.0, momentum=0.9)
    >>> sched = mg.optim.lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=5, anneal_strategy="linear",
    ...                                          pct_start=0.4, div_factor=4, final_div_factor=25)
    >>> lrs, momenta = [], []
    >>> for _ in range(5):
    ...     lrs.append(round(sched.get_last_lr()[0], 6)); momenta.append(round(opt.param_groups[0]["momentum"], 6))
    ...     opt.step(); sched.step()
    >>> lrs, momenta
    ([0.25, 1.0, 0.67, 0.34, 0.01], [0.95, 0.85, 0.883333, 0.916667, 0.95])
    >>> sched.step()
    Traceback (most recent call last):
    ...
    ValueError: OneCycleLR: tried to step 6 times, but total_steps is 5
    """

    def __init__(
        self,
        optimizer: Optimizer,
        max_lr: float | list[float],
        total_steps: int | None = None,
        epochs: int | None = None,
        steps_per_epoch: int | None = None,
        pct_start: float = 0.3,
        anneal_strategy: str = "cos",
        cycle_momentum: bool = True,
        base_momentum: float | list[float] = 0.85,
        max_momentum: float | list[float] = 0.95,
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        three_phase: bool = False,
        last_epoch: int = -1,
    ) -> None:
        name = "OneCycleLR"
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{name}: expected an Optimizer, got {type(optimizer).__name__}")
        if total_steps is not None:
            if not isinstance(total_steps, int) or total_steps <= 0:
                raise ValueError(f"{name}: total_steps must be a positive integer, got {total_steps}")
            self.total_steps = total_steps
        elif epochs is not None and steps_per_epoch is not None:
            if not isinstance(epochs, int) or epochs <= 0:
                raise ValueError(f"{name}: epochs must be a positive integer, got {epochs}")
            if not isinstance(steps_per_epoch, int) or steps_per_epoch <= 0:
                raise ValueError(f"{name}: steps_per_epoch must be a positive integer, got {steps_per_epoch}")
            self.total_steps = epochs * steps_per_epoch
        else:
            raise ValueError(f"{name}: give total_steps, or epochs and steps_per_epoch")
        if not 0 <= pct_start <= 1:
            raise ValueError(f"{name}: pct_start must be in [0, 1], got {pct_start}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"{name}: anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}")
        # Each phase runs from the last one's end_step to its own, between the group entries named.
        warm_up = {"end_step": float(pct_start * self.total_steps) - 1, "start_lr": "initial_lr", "end_lr": "max_lr"}
        if three_phase:
            self._schedule_phases: list[dict[str, Any]] = [
                {**warm_up, "start_momentum": "max_momentum", "end_momentum": "base_momentum"},
                {
                    "end_step": float(2 * pct_start * self.total_steps) - 2,
                    "start_lr": "max_lr",
                    "end_lr": "initial_lr",
                    "start_momentum": "base_momentum",
                    "end_momentum": "max_momentum",
                },
                {
                    "end_step": self.total_steps - 1,
                    "start_lr": "initial_lr",
                    "end_lr": "min_lr",
                    "start_momentum": "max_momentum",
                    "end_momentum": "max_momentum",
                },
            ]
        else:
            self._schedule_phases = [
                {**warm_up, "start_momentum": "max_momentum", "end_momentum": "base_momentum"},
                {
                    "end_step": self.total_steps - 1,
                    "start_lr": "max_lr",
                    "end_lr": "min_lr",
                    "start_momentum": "base_momentum",
                    "end_momentum": "max_momentum",
                },
            ]
        self._anneal_func_type = anneal_strategy
        max_lrs = _per_group(name, "max_lr", optimizer, max_lr)
        if last_epoch == -1:
            for top, group in zip(max_lrs, optimizer.param_groups, strict=True):
                group["initial_lr"] = top / div_factor
                group["max_lr"] = top
                group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            self.use_beta1 = _momentum_key(name, optimizer)
            max_momentums = _per_group(name, "max_momentum", optimizer, max_momentum)
            base_momentums = _per_group(name, "base_momentum", optimizer, base_momentum)
            if last_epoch == -1:
                for top, bottom, group in zip(max_momentums, base_momentums, optimizer.param_groups, strict=True):
                    _set_momentum(group, top, self.use_beta1)
                    group["max_momentum"], group["base_momentum"] = top, bottom
        super().__init__(optimizer, last_epoch)

    def _anneal(self, start: float, end: float, pct: float) -> float:
        if self._anneal_func_type == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self) -> list[float]:
        step = self.last_epoch
        if step > self.total_steps:
            raise ValueError(f"OneCycleLR: tried to step {step} times, but total_steps is {self.total_steps}")
        lrs = []
        for group in self.optimizer.param_groups:
            start_step = 0.0
            for i, phase in enumerate(self._schedule_phases):
                end_step = phase["end_step"]
                if step <= end_step or i == len(self._schedule_phases) - 1:
                    pct = (step - start_step) / (end_step - start_step)
                    lrs.append(self._anneal(group[phase["start_lr"]], group[phase["end_lr"]], pct))
                    if self.cycle_momentum:
                        momentum = self._anneal(group[phase["start_momentum"]], group[phase["end_momentum"]], pct)
                        _set_momentum(group, momentum, self.use_beta1)
                    break
                start_step = phase["end_step"]
        return lrs


class ReduceLROnPlateau(LRScheduler):
    """Multiply each group's rate by ``factor`` (not below ``min_lr``) when a metric has not
    improved for more than ``patience`` epochs, then wait ``cooldown`` epochs before counting
    again. "Improved" means below ``best * (1 - threshold)`` (``mode="min"``,
    ``threshold_mode="rel"``), below ``best - threshold`` (``"abs"``), or above ``best * (1 +
    threshold)`` / ``best + threshold`` for ``mode="max"``; a reduction smaller than ``eps``
    is skipped. Call ``step(metric)`` once per epoch, with the validation loss, say.

    >>> import microgradnn as mg
    >>> opt = mg.optim.SGD([mg.ones(1, requires_grad=True)], lr=1.0)
    >>> sched = mg.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=1)
    >>> for loss in [3.0, 2.0, 2.0, 2.0, 1.0, 1.0, 1.0]:
    ...     sched.step(loss)
    ...     print(sched.get_last_lr()[0], end=" ")
    1.0 1.0 1.0 0.5 0.5 0.5 0.25
    """

    def __init__(
        self,
        optimizer: Optimizer,
        mode: str = "min",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_mode: str = "rel",
        cooldown: int = 0,
        min_lr: float | list[float] = 0,
        eps: float = 1e-8,
    ) -> None:
        name = "ReduceLROnPlateau"
        if factor >= 1.0:
            raise ValueError(f"{name}: factor must be < 1.0, got {factor}")
        if mode not in ("min", "max"):
            raise ValueError(f"{name}: mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"{name}: threshold_mode must be 'rel' or 'abs', got {threshold_mode!r}")
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{name}: expected an Optimizer, got {type(optimizer).__name__}")
        self.factor = factor
        self.optimizer = optimizer
        # A list of min_lrs is fixed to the groups there are now; one number covers groups added later.
        self.default_min_lr = None if isinstance(min_lr, (list, tuple)) else min_lr
        self.min_lrs = _per_group(name, "min_lr", optimizer, min_lr)
        self.patience = patience
        self.cooldown = cooldown
        self.eps = eps
        self.last_epoch = 0
        self._last_lr = [group["lr"] for group in optimizer.param_groups]
        self.mode, self.threshold, self.threshold_mode = mode, threshold, threshold_mode
        self.mode_worse = math.inf if mode == "min" else -math.inf
        self._reset()

    def _reset(self) -> None:
        self.best = self.mode_worse
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    def step(self, metrics: float) -> None:  # type: ignore[override]  # it needs the metric, as in PyTorch
        """Record one epoch's metric and reduce the rates if it has stopped improving."""
        current = float(metrics)
        self.last_epoch += 1
        if self._is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs during the cooldown do not count
        if self.num_bad_epochs > self.patience:
            self._reduce_lr()
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def _reduce_lr(self) -> None:
        groups = self.optimizer.param_groups
        if len(groups) != len(self.min_lrs):
            if self.default_min_lr is None:
                raise RuntimeError(
                    f"ReduceLROnPlateau: the optimizer has {len(groups)} parameter groups but min_lr "
                    f"lists {len(self.min_lrs)}; set min_lrs to one per group"
                )
            self.min_lrs = [self.default_min_lr] * len(groups)
        for group, min_lr in zip(groups, self.min_lrs, strict=True):
            old_lr = float(group["lr"])
            new_lr = max(old_lr * self.factor, min_lr)
            if old_lr - new_lr > self.eps:
                group["lr"] = new_lr

    @property
    def in_cooldown(self) -> bool:
        """Whether the scheduler is waiting out a cooldown after a reduction."""
        return self.cooldown_counter > 0

    def _is_better(self, a: float, best: float) -> bool:
        if self.mode == "min" and self.threshold_mode == "rel":
            return a < best * (1.0 - self.threshold)
        if self.mode == "min":
            return a < best - self.threshold
        if self.threshold_mode == "rel":
            return a > best * (self.threshold + 1.0)
        return a > best + self.threshold


def _check_children(owner: str, optimizer: Optimizer, schedulers: Sequence[LRScheduler]) -> None:
    if len(schedulers) < 1:
        raise ValueError(f"{owner}: expected at least one scheduler, got none")
    for i, scheduler in enumerate(schedulers):
        if not hasattr(scheduler, "optimizer"):
            raise TypeError(f"{owner}: the scheduler at index {i} ({type(scheduler).__name__}) has no optimizer")
        if isinstance(scheduler, ReduceLROnPlateau):
            raise ValueError(f"{owner}: ReduceLROnPlateau (at index {i}) cannot be combined: its step needs a metric")
        if scheduler.optimizer is not optimizer:
            raise ValueError(f"{owner}: the scheduler at index {i} ({type(scheduler).__name__}) has another optimizer")


class SequentialLR(LRScheduler):
    """Run ``schedulers`` one after another: the first until epoch ``milestones[0]``, the
    second from there (started afresh at its own epoch 0) until ``milestones[1]``, and so on.
    A warm-up followed by a decay, say.

    >>> import microgradnn as mg
    >>> from microgradnn.optim import lr_scheduler
    >>> opt = mg.optim.SGD([mg.ones(1, requires_grad=True)], lr=1.0)
    >>> warm_up = lr_scheduler.LinearLR(opt, start_factor=0.5, total_iters=2)
    >>> decay = lr_scheduler.ExponentialLR(opt, gamma=0.5)
    >>> sched = lr_scheduler.SequentialLR(opt, schedulers=[warm_up, decay], milestones=[2])
    >>> lrs = []
    >>> for _ in range(5):
    ...     lrs.append(sched.get_last_lr()[0]); opt.step(); sched.step()
    >>> lrs
    [0.5, 0.75, 1.0, 0.5, 0.25]
    """

    _not_saved = ("optimizer", "_schedulers")

    def __init__(
        self, optimizer: Optimizer, schedulers: Sequence[LRScheduler], milestones: Sequence[int], last_epoch: int = -1
    ) -> None:
        _check_children("SequentialLR", optimizer, schedulers)
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(
                f"SequentialLR: expected {len(schedulers) - 1} milestones for {len(schedulers)} schedulers, "
                f"got {len(milestones)}"
            )
        self._schedulers = list(schedulers)
        self._milestones = list(milestones)
        self.last_epoch = last_epoch + 1
        self.optimizer = optimizer
        # Undo the initial steps the schedulers made when they were built, then make the first one's again.
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        self._undo(self)
        first = self._schedulers[bisect_right(self._milestones, 0)]
        first._initial_step()
        self._last_lr = first.get_last_lr()

    @classmethod
    def _undo(cls, scheduler: LRScheduler) -> None:
        """Step back the epoch of every scheduler inside ``scheduler`` (nested ones too)."""
        for child in getattr(scheduler, "_schedulers", []):
            if hasattr(child, "_schedulers"):
                cls._undo(child)
            else:
                child.last_epoch -= 1

    def step(self) -> None:
        """Advance one epoch, with the scheduler whose turn it is."""
        self.last_epoch += 1
        idx = bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[idx]
        if idx > 0 and self._milestones[idx - 1] == self.last_epoch:
            scheduler._update_lr(0)
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "_schedulers": [s.state_dict() for s in self._schedulers]}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        super().load_state_dict(state_dict)
        self._milestones = list(self._milestones)
        for scheduler, saved in zip(self._schedulers, state_dict["_schedulers"], strict=True):
            scheduler.load_state_dict(saved)


class ChainedScheduler(LRScheduler):
    """Step several schedulers at once: each ``step()`` steps every one of them in turn, so
    their chainable rules multiply (a constant warm-up factor on top of an exponential decay,
    say). Built from schedulers that have made their initial steps already.

    >>> import microgradnn as mg
    >>> from microgradnn.optim import lr_scheduler
    >>> opt = mg.optim.SGD([mg.ones(1, requires_grad=True)], lr=1.0)
    >>> sched = lr_scheduler.ChainedScheduler(
    ...     [lr_scheduler.ConstantLR(opt, factor=0.1, total_iters=2), lr_scheduler.ExponentialLR(opt, gamma=0.9)]
    ... )
    >>> lrs = []
    >>> for _ in range(4):
    ...     lrs.append(round(sched.get_last_lr()[0], 6)); opt.step(); sched.step()
    >>> lrs
    [0.1, 0.09, 0.81, 0.729]
    """

    _not_saved = ("optimizer", "_schedulers")

    def __init__(self, schedulers: Sequence[LRScheduler], optimizer: Optimizer | None = None) -> None:
        if len(schedulers) < 1:
            raise ValueError("ChainedScheduler: expected at least one scheduler, got none")
        optimizer = optimizer or schedulers[0].optimizer
        _check_children("ChainedScheduler", optimizer, schedulers)
        self._schedulers = list(schedulers)
        self.optimizer = optimizer
        self._last_lr = [group["lr"] for group in self._schedulers[-1].optimizer.param_groups]

    def step(self) -> None:
        """Step every scheduler, in order."""
        for scheduler in self._schedulers:
            scheduler.step()
        self._last_lr = [group["lr"] for group in self._schedulers[-1].optimizer.param_groups]

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "_schedulers": [s.state_dict() for s in self._schedulers]}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        super().load_state_dict(state_dict)
        for scheduler, saved in zip(self._schedulers, state_dict["_schedulers"], strict=True):
            scheduler.load_state_dict(saved)
