"""Optimizer: parameter groups, per-parameter state, step, zero_grad and state dicts.

Each optimizer defines one method, ``update(param, grad, group, state)``: the rule for one
parameter, written in plain NumPy on its array. The base class does everything else, the way
``torch.optim.Optimizer`` does.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

import numpy as np

from ..autograd import no_fp_warnings
from ..tensor import Tensor

__all__ = ["Optimizer", "check_betas_and_eps", "decayed_grad", "update_moments"]


class Optimizer:
    """Base class: ``step()`` applies ``update`` to every parameter that has a gradient.

    ``params`` is an iterable of tensors, or of dicts ``{"params": [...], "lr": ...}`` that give
    a group its own hyper-parameters (the rest come from the optimizer's defaults). Parameters
    whose ``.grad`` is None are skipped, so frozen layers work.

    >>> import numpy as np, microgradnn as mg
    >>> class SignSGD(mg.optim.Optimizer):
    ...     def __init__(self, params, lr=0.01):
    ...         super().__init__(params, dict(lr=lr))
    ...     def update(self, param, grad, group, state):
    ...         param.data -= group["lr"] * np.sign(grad)
    >>> w = mg.Tensor([1.0, -1.0], requires_grad=True)
    >>> opt = SignSGD([w], lr=0.5)
    >>> (w * w).sum().backward(); opt.step(); w.tolist()
    [0.5, -0.5]
    """

    defaults: dict[str, Any]
    param_groups: list[dict[str, Any]]
    state: dict[Tensor, dict[str, Any]]

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]) -> None:
        self._check_hyperparameters(defaults)
        self.defaults = defaults
        self.param_groups = []
        self.state = {}
        if isinstance(params, Tensor):
            raise TypeError(
                f"{type(self).__name__}: params must be an iterable of "
                "tensors (e.g. model.parameters()), not one Tensor"
            )
        groups = list(params)
        if not groups:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def _check_hyperparameters(self, settings: dict[str, Any]) -> None:
        """Raise for a setting out of range; each optimizer adds its own checks."""
        lr = settings.get("lr")
        if lr is not None and not lr >= 0:
            raise ValueError(f"{type(self).__name__}: invalid learning rate {lr} (must be >= 0)")
        if settings.get("weight_decay", 0) < 0:
            raise ValueError(f"{type(self).__name__}: invalid weight_decay {settings['weight_decay']} (must be >= 0)")

    def add_param_group(self, group: dict[str, Any]) -> None:
        """Add a group of parameters with its own hyper-parameters."""
        params = group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"{type(self).__name__}: can only optimize Tensors, got {type(p).__name__}")
            if p.grad_fn is not None:
                raise ValueError(
                    f"{type(self).__name__}: can't optimize a non-leaf Tensor "
                    f"(shape {p.shape}); optimize the leaves it was computed from"
                )
            if id(p) in seen:
                raise ValueError(f"{type(self).__name__}: a parameter (shape {p.shape}) appears in more than one group")
            seen.add(id(p))
        settings = {key: value for key, value in group.items() if key != "params"}
        unknown = set(settings) - set(self.defaults)
        if unknown:
            raise TypeError(f"{type(self).__name__}: unknown hyper-parameter(s) {sorted(unknown)}")
        full = {**self.defaults, **settings}
        self._check_hyperparameters(full)
        self.param_groups.append({"params": params, **full})

    def zero_grad(self) -> None:
        """Set every parameter's ``.grad`` to None (PyTorch 2's default)."""
        for group in self.param_groups:
            for p in group["params"]:
                p.grad = None

    def step(self) -> None:
        """Update every parameter that has a gradient, in place."""
        for group in self.param_groups:
            for p in group["params"]:
                grad = self._step_grad(p)
                if grad is None:
                    continue
                state = self.state.get(p)
                if state is None:
                    state = self.state[p] = {}
                self.update(p, grad, group, state)

    def _step_grad(self, p: Tensor) -> np.ndarray | None:
        """``p.grad`` as ``step`` uses it: None, or an array of p's shape and dtype."""
        grad = p.grad
        if grad is None:
            return None
        if grad.shape != p.shape:
            raise ValueError(
                f"{type(self).__name__}.step: gradient of shape {grad.shape} for a parameter of shape {p.shape}"
            )
        if grad.dtype != p.dtype:  # a gradient assigned by hand: cast as PyTorch would (1e308 -> inf)
            with no_fp_warnings():
                grad = grad.astype(p.dtype)
        return np.asarray(grad)

    def update(self, param: Tensor, grad: np.ndarray, group: dict[str, Any], state: dict[str, Any]) -> None:
        """Apply this optimizer's rule to one parameter (each optimizer defines it)."""
        raise NotImplementedError

    # ------------------------------------------------------------------ state dicts
    def state_dict(self) -> dict[str, Any]:
        """Hyper-parameters and per-parameter state (copies), parameters named by position."""
        index: dict[Tensor, int] = {}
        groups = []
        for group in self.param_groups:
            ids = []
            for p in group["params"]:
                index[p] = len(index)
                ids.append(index[p])
            groups.append({**{k: v for k, v in group.items() if k != "params"}, "params": ids})
        state = {index[p]: copy.deepcopy(s) for p, s in self.state.items() if p in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore what ``state_dict`` saved into an optimizer over the same parameters."""
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups):
            raise ValueError(
                f"{type(self).__name__}.load_state_dict: {len(groups)} "
                f"parameter groups saved, {len(self.param_groups)} here"
            )
        params = []
        for saved, own in zip(groups, self.param_groups, strict=True):
            if len(saved["params"]) != len(own["params"]):
                raise ValueError(
                    f"{type(self).__name__}.load_state_dict: a group of {len(saved['params'])} parameters "
                    f"saved, {len(own['params'])} here"
                )
            params.extend(own["params"])
        by_index = dict(enumerate(params))
        new_state = {}
        for key, saved_state in state_dict["state"].items():
            p = by_index.get(int(key))
            if p is None:
                raise ValueError(
                    f"{type(self).__name__}.load_state_dict: state for parameter {key}, which does not exist here"
                )
            new_state[p] = {
                k: (np.array(v, dtype=p.dtype) if isinstance(v, np.ndarray) else copy.deepcopy(v))
                for k, v in saved_state.items()
            }
        for saved, own in zip(groups, self.param_groups, strict=True):
            own.update({k: (tuple(v) if isinstance(v, list) else v) for k, v in saved.items() if k != "params"})
        self.state = new_state

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in sorted(group.items()) if k != "params"]
        return "\n".join(lines + [")"])


# Pieces the Adam family shares (Adam, Adamax, NAdam, RAdam), each written once.
def check_betas_and_eps(settings: dict[str, Any], name: str, *more: str) -> None:
    """Raise ValueError unless both betas are in [0, 1) and eps (and each ``more`` setting) is
    at least 0 (NaN fails too)."""
    for i, beta in enumerate(settings["betas"]):
        if not 0 <= beta < 1:
            raise ValueError(f"{name}: invalid beta at index {i}: {beta} (must be in [0, 1))")
    for key in ("eps", *more):
        if not settings[key] >= 0:
            raise ValueError(f"{name}: invalid {key} {settings[key]} (must be >= 0)")


def decayed_grad(param: Tensor, grad: np.ndarray, lr: float, decay: float, decoupled: bool) -> np.ndarray:
    """Weight decay: decoupled (AdamW's) shrinks the weights in place and leaves the gradient;
    otherwise (L2) the gradient gains ``decay * weights``."""
    if not decay:
        return grad
    if decoupled:
        param.data *= 1 - lr * decay
        return grad
    return grad + decay * param.data


def update_moments(state: dict[str, Any], grad: np.ndarray, beta1: float, beta2: float) -> tuple[np.ndarray, ...]:
    """Adam's running moments, in place: ``exp_avg`` of the gradient and ``exp_avg_sq`` of its
    square; returns them."""
    m, v = state["exp_avg"], state["exp_avg_sq"]
    m *= beta1
    m += (1 - beta1) * grad
    v *= beta2
    v += (1 - beta2) * grad * grad
    return m, v
