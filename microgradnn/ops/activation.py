"""Activation functions, as ``torch.nn.functional`` has them (``mg.nn.functional.gelu``...).

Each elementwise one is one entry of the table of :func:`microgradnn.ops.unary.unary`: a stable
NumPy forward and its derivative against ``M``, so it is differentiable twice. Every one is
stable for inputs of ±1000: no overflow and no warning. ``glu`` and ``prelu`` are
composed from recorded ops. PyTorch's ``inplace=True`` is not supported (TypeError).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..errors import ShapeError
from ..tensor import Tensor
from . import elementwise
from .arguments import check_dim
from .unary import M, _as_input, _run, _special, c, unary

__all__ = [
    "gelu",
    "silu",
    "mish",
    "softplus",
    "elu",
    "celu",
    "selu",
    "hardtanh",
    "relu6",
    "hardsigmoid",
    "hardswish",
    "logsigmoid",
    "softsign",
    "tanhshrink",
    "softshrink",
    "hardshrink",
    "threshold",
    "glu",
    "prelu",
]

SQRT_HALF = math.sqrt(0.5)
INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)
GELU_K = math.sqrt(2 / math.pi)  # the tanh approximation's constants
GELU_C = 0.044715
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _no_inplace(op: str, inplace: bool) -> None:
    if inplace:
        raise TypeError(f"{op}: inplace=True is not supported (microgradnn's ops return new tensors)")


def _softplus_array(x: np.ndarray) -> np.ndarray:
    """log(1 + exp(x)) without overflow: max(x, 0) + log1p(exp(-``|x|``))."""
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def _gelu_tanh_inner(x: Any) -> Any:
    return M.tanh(GELU_K * (x + GELU_C * x * x * x))


# fmt: off
# --- smooth ones. GELU: x Phi(x), so d = Phi(x) + x phi(x).
_gelu = unary("gelu", lambda x: 0.5 * x * (1 + _special().erf(x * SQRT_HALF)),
              lambda x, out: 0.5 * (1 + M.erf(x * SQRT_HALF)) + x * M.exp(-0.5 * x * x) * INV_SQRT_2PI,
              "GELU, exact.")
_gelu_tanh = unary("gelu_tanh", lambda x: 0.5 * x * (1 + np.tanh(GELU_K * (x + GELU_C * x**3))),
                   lambda x, out: 0.5 * (1 + _gelu_tanh_inner(x))
                   + 0.5 * x * (1 - _gelu_tanh_inner(x) ** 2) * GELU_K * (1 + 3 * GELU_C * x * x),
                   "GELU, tanh approximation.")
_silu = unary("silu", lambda x: x * elementwise.sigmoid_array(x),
              lambda x, out: M.sigmoid(x) * (1 + x * (1 - M.sigmoid(x))), "x * sigmoid(x).")
_mish = unary("mish", lambda x: x * np.tanh(_softplus_array(x)),
              lambda x, out: M.tanh(_softplus(x)) + x * M.sigmoid(x) * (1 - M.tanh(_softplus(x)) ** 2),
              "x * tanh(softplus(x)).")
# softplus(beta x) / beta, linear above threshold; d = sigmoid(beta x) (1 above threshold).
_softplus_op = unary("softplus", lambda x, beta, limit: np.where(x * beta > limit, x, _softplus_array(x * beta) / beta),
                     lambda x, out, beta, limit: M.where(c(x) * beta > limit, 1.0, M.sigmoid(x * beta)),
                     "Softplus.")
# ELU family: alpha (exp(x) - 1) below 0, computed on min(x, 0) so exp never overflows; its
# derivative alpha exp(x) is out + alpha there.
_elu = unary("elu", lambda x, alpha: np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0))),
             lambda x, out, alpha: M.where(c(x) > 0, 1.0, out + alpha), "ELU.")
_celu = unary("celu", lambda x, alpha: np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0) / alpha)),
              lambda x, out, alpha: M.where(c(x) > 0, 1.0, out / alpha + 1), "CELU.")
_selu = unary("selu", lambda x: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(np.minimum(x, 0))),
              lambda x, out: M.where(c(x) > 0, SELU_SCALE, out + SELU_SCALE * SELU_ALPHA), "SELU.")
_logsigmoid = unary("logsigmoid", lambda x: -_softplus_array(-x), lambda x, out: M.sigmoid(-x), "log(sigmoid(x)).")
_softsign = unary("softsign", lambda x: x / (1 + np.abs(x)),
                  lambda x, out: 1 / (1 + x * np.sign(c(x))) ** 2, "x / (1 + ``|x|``).")
_tanhshrink = unary("tanhshrink", lambda x: x - np.tanh(x), lambda x, out: (x - out) ** 2, "x - tanh(x).")
# --- piecewise linear ones: the derivative is a constant mask (PyTorch's values at the kinks).
_hardtanh = unary("hardtanh", lambda x, low, high: np.clip(x, low, high),
                  lambda x, out, low, high: (c(x) > low) & (c(x) < high), "Hardtanh.")
_hardsigmoid = unary("hardsigmoid", lambda x: np.clip(x / 6 + 0.5, 0, 1),
                     lambda x, out: ((c(x) > -3) & (c(x) < 3)) / 6, "Hardsigmoid.")
_hardswish = unary("hardswish", lambda x: x * np.clip(x + 3, 0, 6) / 6,
                   lambda x, out: M.where(c(x) < -3, 0.0, M.where(c(x) <= 3, x / 3 + 0.5, 1.0)), "Hardswish.")
_softshrink = unary("softshrink", lambda x, lambd: np.where(x > lambd, x - lambd, np.where(x < -lambd, x + lambd, 0)),
                    lambda x, out, lambd: np.abs(c(x)) > lambd, "Softshrink.")
_hardshrink = unary("hardshrink", lambda x, lambd: np.where(np.abs(x) > lambd, x, 0),
                    lambda x, out, lambd: np.abs(c(x)) > lambd, "Hardshrink.")
_threshold = unary("threshold", lambda x, limit, value: np.where(x > limit, x, value),
                   lambda x, out, limit, value: c(x) > limit, "Threshold.")
# fmt: on


def _softplus(x: Any) -> Any:
    """softplus inside derivatives: the array function or the recorded op."""
    return _run(_softplus_op, x, "softplus", 1.0, 20.0) if isinstance(x, Tensor) else _softplus_array(x)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """x * Phi(x), Phi the standard normal's CDF (exact: needs SciPy's erf), or with
    ``approximate="tanh"`` 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x**3))).

    >>> import microgradnn as mg
    >>> mg.nn.functional.gelu(mg.Tensor([-1000.0, 0.0, 1.0])).data.round(4).tolist()
    [-0.0, 0.0, 0.8413]
    >>> mg.nn.functional.gelu(mg.Tensor([1.0]), approximate="tanh").data.round(4).tolist()
    [0.8412]
    """
    if approximate == "none":
        return _run(_gelu, input, "gelu")
    if approximate == "tanh":
        return _run(_gelu_tanh, input, "gelu")
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', not {approximate!r}")


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x * sigmoid(x) (also called Swish).

    >>> import microgradnn as mg
    >>> mg.nn.functional.silu(mg.Tensor([0.0, 1000.0])).tolist()
    [0.0, 1000.0]
    """
    _no_inplace("silu", inplace)
    return _run(_silu, input, "silu")


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """x * tanh(softplus(x)).

    >>> import microgradnn as mg
    >>> mg.nn.functional.mish(mg.Tensor([0.0, 1000.0])).tolist()
    [0.0, 1000.0]
    """
    _no_inplace("mish", inplace)
    return _run(_mish, input, "mish")


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta x)) / beta, and x itself where beta x > threshold (as PyTorch).

    >>> import microgradnn as mg
    >>> mg.nn.functional.softplus(mg.Tensor([-1000.0, 0.0, 1000.0])).data.round(4).tolist()
    [0.0, 0.6931, 1000.0]
    """
    if beta == 0:
        raise ValueError("softplus: beta must not be 0")
    return _run(_softplus_op, input, "softplus", beta, threshold)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x above 0, alpha (exp(x) - 1) below.

    >>> import microgradnn as mg
    >>> mg.nn.functional.elu(mg.Tensor([-1000.0, 2.0])).tolist()
    [-1.0, 2.0]
    """
    _no_inplace("elu", inplace)
    return _run(_elu, input, "elu", alpha)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x above 0, alpha (exp(x / alpha) - 1) below.

    >>> import microgradnn as mg
    >>> mg.nn.functional.celu(mg.Tensor([-1000.0, 2.0]), alpha=2.0).tolist()
    [-2.0, 2.0]
    """
    _no_inplace("celu", inplace)
    if alpha == 0:
        raise ValueError("celu: alpha must not be 0")
    return _run(_celu, input, "celu", alpha)


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """scale * elu(x, alpha) with the self-normalizing constants (alpha 1.6733, scale 1.0507).

    >>> import microgradnn as mg
    >>> mg.nn.functional.selu(mg.Tensor([1.0])).data.round(4).tolist()
    [1.0507]
    """
    _no_inplace("selu", inplace)
    return _run(_selu, input, "selu")


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    """x clipped to [min_val, max_val]; the gradient passes strictly inside.

    >>> import microgradnn as mg
    >>> mg.nn.functional.hardtanh(mg.Tensor([-2.0, 0.5, 2.0])).tolist()
    [-1.0, 0.5, 1.0]
    """
    _no_inplace("hardtanh", inplace)
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) must not be greater than max_val ({max_val})")
    return _run(_hardtanh, input, "hardtanh", min_val, max_val)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(x, 0), 6).

    >>> import microgradnn as mg
    >>> mg.nn.functional.relu6(mg.Tensor([-1.0, 3.0, 9.0])).tolist()
    [0.0, 3.0, 6.0]
    """
    _no_inplace("relu6", inplace)
    return _run(_hardtanh, input, "relu6", 0.0, 6.0)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """clip(x / 6 + 1/2, 0, 1).

    >>> import microgradnn as mg
    >>> mg.nn.functional.hardsigmoid(mg.Tensor([-4.0, 0.0, 4.0])).tolist()
    [0.0, 0.5, 1.0]
    """
    _no_inplace("hardsigmoid", inplace)
    return _run(_hardsigmoid, input, "hardsigmoid")


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """x * hardsigmoid(x) (MobileNetV3's).

    >>> import microgradnn as mg
    >>> mg.nn.functional.hardswish(mg.Tensor([-4.0, 0.0, 4.0])).tolist()
    [-0.0, 0.0, 4.0]
    """
    _no_inplace("hardswish", inplace)
    return _run(_hardswish, input, "hardswish")


def logsigmoid(input: Tensor) -> Tensor:
    """log(sigmoid(x)) = -softplus(-x), finite for any input.

    >>> import microgradnn as mg
    >>> mg.nn.functional.logsigmoid(mg.Tensor([-1000.0, 1000.0])).tolist()
    [-1000.0, -0.0]
    """
    return _run(_logsigmoid, input, "logsigmoid")


def softsign(input: Tensor) -> Tensor:
    """x / (1 + ``|x|``).

    >>> import microgradnn as mg
    >>> mg.nn.functional.softsign(mg.Tensor([-1.0, 3.0])).tolist()
    [-0.5, 0.75]
    """
    return _run(_softsign, input, "softsign")


def tanhshrink(input: Tensor) -> Tensor:
    """x - tanh(x).

    >>> import microgradnn as mg
    >>> mg.nn.functional.tanhshrink(mg.Tensor([0.0])).tolist()
    [0.0]
    """
    return _run(_tanhshrink, input, "tanhshrink")


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x - lambd above lambd, x + lambd below -lambd, 0 between.

    >>> import microgradnn as mg
    >>> mg.nn.functional.softshrink(mg.Tensor([-2.0, 0.25, 2.0])).tolist()
    [-1.5, 0.0, 1.5]
    """
    if lambd < 0:
        raise ValueError(f"softshrink: lambd must be at least 0, not {lambd}")
    return _run(_softshrink, input, "softshrink", lambd)


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x where ``|x|`` > lambd, else 0.

    >>> import microgradnn as mg
    >>> mg.nn.functional.hardshrink(mg.Tensor([-2.0, 0.25, 2.0])).tolist()
    [-2.0, 0.0, 2.0]
    """
    return _run(_hardshrink, input, "hardshrink", lambd)


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """x where x > threshold, else value.

    >>> import microgradnn as mg
    >>> mg.nn.functional.threshold(mg.Tensor([-1.0, 2.0]), 0.5, -9.0).tolist()
    [-9.0, 2.0]
    """
    _no_inplace("threshold", inplace)
    return _run(_threshold, input, "threshold", threshold, value)


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """The gated linear unit: the first half of ``dim`` times the sigmoid of the second half.

    >>> import microgradnn as mg
    >>> mg.nn.functional.glu(mg.Tensor([[2.0, 4.0, 0.0, 1000.0]])).tolist()
    [[1.0, 4.0]]
    """
    input = _as_input(input, "glu")
    if input.ndim == 0:
        raise ShapeError("glu: a 0-d tensor cannot be split in halves")
    axis = check_dim("glu", dim, input.shape)
    n = input.shape[axis]
    if n % 2:
        raise ShapeError(f"glu: dim {dim} of shape {input.shape} has odd size {n}; it must split in halves")
    before = (slice(None),) * axis
    return input[before + (slice(0, n // 2),)] * input[before + (slice(n // 2, n),)].sigmoid()


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """x where x > 0, else weight * x; ``weight`` has 1 element or one per channel (dim 1).

    >>> import microgradnn as mg
    >>> mg.nn.functional.prelu(mg.Tensor([[-2.0, 3.0]]), mg.Tensor([0.25])).tolist()
    [[-0.5, 3.0]]
    """
    input = _as_input(input, "prelu")
    weight = _as_input(weight, "prelu")
    if weight.ndim > 1 or (weight.data.size != 1 and (input.ndim < 2 or weight.data.size != input.shape[1])):
        raise ShapeError(
            f"prelu: weight of shape {weight.shape} must have 1 element or one per channel "
            f"(dim 1 of input shape {input.shape})"
        )
    if weight.data.size != 1:  # one slope per channel: line it up with dim 1
        weight = weight.reshape((-1,) + (1,) * (input.ndim - 2))
    elif weight.ndim:
        weight = weight.reshape(())
    # The gradient at 0 goes to x with the slope, and the slope gets x * g = 0 (as PyTorch).
    return elementwise.where(c(input) > 0, input, weight * input)
