"""Activation functions as modules, with PyTorch's class names and constructor arguments.

Each calls its function in :mod:`microgradnn.nn.functional` (``ops/activation.py``). PyTorch's
``inplace`` is accepted only as False: these return new tensors.
"""

from __future__ import annotations

import numpy as np

from ..ops import activation as F
from ..tensor import DTypeLike, Tensor
from . import functional
from .module import Module, Parameter

__all__ = [
    "GELU",
    "SiLU",
    "Mish",
    "Softplus",
    "ELU",
    "CELU",
    "SELU",
    "Hardtanh",
    "ReLU6",
    "Hardsigmoid",
    "Hardswish",
    "LogSigmoid",
    "Softsign",
    "Tanhshrink",
    "Softshrink",
    "Hardshrink",
    "Threshold",
    "GLU",
    "Softmin",
    "LogSoftmax",
    "PReLU",
]


def _no_inplace(name: str, inplace: bool) -> None:
    if inplace:
        raise TypeError(f"{name}: inplace=True is not supported (microgradnn's ops return new tensors)")


class GELU(Module):
    """x * Phi(x), exact or with ``approximate="tanh"`` (see :func:`~microgradnn.nn.functional.gelu`).

    >>> import microgradnn as mg
    >>> mg.nn.GELU(approximate="tanh")(mg.Tensor([0.0])).tolist()
    [0.0]
    """

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        self.approximate = approximate

    def forward(self, input: Tensor) -> Tensor:
        """x * Phi(x), exact or with ``approximate="tanh"``."""
        return F.gelu(input, self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class SiLU(Module):
    """x * sigmoid(x), also called Swish.

    >>> import microgradnn as mg
    >>> mg.nn.SiLU()(mg.Tensor([0.0])).tolist()
    [0.0]
    """

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        _no_inplace("SiLU", inplace)

    def forward(self, input: Tensor) -> Tensor:
        """x * sigmoid(x), also called Swish."""
        return F.silu(input)


class Mish(Module):
    """x * tanh(softplus(x)).

    >>> import microgradnn as mg
    >>> mg.nn.Mish()(mg.Tensor([0.0])).tolist()
    [0.0]
    """

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        _no_inplace("Mish", inplace)

    def forward(self, input: Tensor) -> Tensor:
        """x * tanh(softplus(x))."""
        return F.mish(input)


class Softplus(Module):
    """log(1 + exp(beta x)) / beta, linear above ``threshold``.

    >>> import microgradnn as mg
    >>> mg.nn.Softplus()(mg.Tensor([1000.0])).tolist()
    [1000.0]
    """

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta = beta
        self.threshold = threshold

    def forward(self, input: Tensor) -> Tensor:
        """log(1 + exp(beta x)) / beta, linear above ``threshold``."""
        return F.softplus(input, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta!r}, threshold={self.threshold!r}"


class ELU(Module):
    """x above 0, alpha (exp(x) - 1) below.

    >>> import microgradnn as mg
    >>> mg.nn.ELU()(mg.Tensor([-1000.0, 1.0])).tolist()
    [-1.0, 1.0]
    """

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        _no_inplace("ELU", inplace)
        self.alpha = alpha

    def forward(self, input: Tensor) -> Tensor:
        """x above 0, alpha."""
        return F.elu(input, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha!r}"


class CELU(Module):
    """x above 0, alpha (exp(x / alpha) - 1) below.

    >>> import microgradnn as mg
    >>> mg.nn.CELU(2.0)(mg.Tensor([-1000.0, 1.0])).tolist()
    [-2.0, 1.0]
    """

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        _no_inplace("CELU", inplace)
        self.alpha = alpha

    def forward(self, input: Tensor) -> Tensor:
        """x above 0, alpha."""
        return F.celu(input, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha!r}"


class SELU(Module):
    """The self-normalizing ELU, scale * elu(x, alpha).

    >>> import microgradnn as mg
    >>> mg.nn.SELU()(mg.Tensor([0.0])).tolist()
    [0.0]
    """

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        _no_inplace("SELU", inplace)

    def forward(self, input: Tensor) -> Tensor:
        """The self-normalizing ELU, scale * elu(x, alpha)."""
        return F.selu(input)


class Hardtanh(Module):
    """x clipped to [min_val, max_val].

    >>> import microgradnn as mg
    >>> mg.nn.Hardtanh()(mg.Tensor([-3.0, 3.0])).tolist()
    [-1.0, 1.0]
    """

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        _no_inplace("Hardtanh", inplace)
        self.min_val = min_val
        self.max_val = max_val

    def forward(self, input: Tensor) -> Tensor:
        """x clipped to [min_val, max_val]."""
        return F.hardtanh(input, self.min_val, self.max_val)

    def extra_repr(self) -> str:
        return f"min_val={self.min_val!r}, max_val={self.max_val!r}"


class ReLU6(Module):
    """min(max(x, 0), 6).

    >>> import microgradnn as mg
    >>> mg.nn.ReLU6()(mg.Tensor([-1.0, 9.0])).tolist()
    [0.0, 6.0]
    """

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        _no_inplace("ReLU6", inplace)

    def forward(self, input: Tensor) -> Tensor:
        """min(max(x, 0), 6)."""
        return F.relu6(input)


class Hardsigmoid(Module):
    """clip(x / 6 + 1/2, 0, 1).

    >>> import microgradnn as mg
    >>> mg.nn.Hardsigmoid()(mg.Tensor([0.0])).tolist()
    [0.5]
    """

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        _no_inplace("Hardsigmoid", inplace)

    def forward(self, input: Tensor) -> Tensor:
        """clip(x / 6 + 1/2, 0, 1)."""
        return F.hardsigmoid(input)


class Hardswish(Module):
    """x * hardsigmoid(x).

    >>> import microgradnn as mg
    >>> mg.nn.Hardswish()(mg.Tensor([4.0])).tolist()
    [4.0]
    """

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        _no_inplace("Hardswish", inplace)

    def forward(self, input: Tensor) -> Tensor:
        """x * hardsigmoid(x)."""
        return F.hardswish(input)


class LogSigmoid(Module):
    """log(sigmoid(x)), finite for any input.

    >>> import microgradnn as mg
    >>> mg.nn.LogSigmoid()(mg.Tensor([1000.0])).tolist()
    [-0.0]
    """

    def forward(self, input: Tensor) -> Tensor:
        """log(sigmoid(x)), finite for any input."""
        return F.logsigmoid(input)


class Softsign(Module):
    """x / (1 + ``|x|``).

    >>> import microgradnn as mg
    >>> mg.nn.Softsign()(mg.Tensor([1.0])).tolist()
    [0.5]
    """

    def forward(self, input: Tensor) -> Tensor:
        """x /."""
        return F.softsign(input)


class Tanhshrink(Module):
    """x - tanh(x).

    >>> import microgradnn as mg
    >>> mg.nn.Tanhshrink()(mg.Tensor([0.0])).tolist()
    [0.0]
    """

    def forward(self, input: Tensor) -> Tensor:
        """x - tanh(x)."""
        return F.tanhshrink(input)


class Softshrink(Module):
    """x - lambd above lambd, x + lambd below -lambd, 0 between.

    >>> import microgradnn as mg
    >>> mg.nn.Softshrink()(mg.Tensor([2.0])).tolist()
    [1.5]
    """

    def __init__(self, lambd: float = 0.5) -> None:
        super().__init__()
        self.lambd = lambd

    def forward(self, input: Tensor) -> Tensor:
        """x - lambd above lambd, x + lambd below -lambd, 0 between."""
        return F.softshrink(input, self.lambd)

    def extra_repr(self) -> str:
        return f"lambd={self.lambd!r}"


class Hardshrink(Module):
    """x where ``|x|`` > lambd, else 0.

    >>> import microgradnn as mg
    >>> mg.nn.Hardshrink()(mg.Tensor([0.25, 2.0])).tolist()
    [0.0, 2.0]
    """

    def __init__(self, lambd: float = 0.5) -> None:
        super().__init__()
        self.lambd = lambd

    def forward(self, input: Tensor) -> Tensor:
        """x where ``|x|`` > lambd, else 0."""
        return F.hardshrink(input, self.lambd)

    def extra_repr(self) -> str:
        return f"lambd={self.lambd!r}"


class Threshold(Module):
    """x where x > threshold, else value.

    >>> import microgradnn as mg
    >>> mg.nn.Threshold(0.5, -9.0)(mg.Tensor([0.0, 1.0])).tolist()
    [-9.0, 1.0]
    """

    def __init__(self, threshold: float, value: float, inplace: bool = False) -> None:
        super().__init__()
        _no_inplace("Threshold", inplace)
        self.threshold = threshold
        self.value = value

    def forward(self, input: Tensor) -> Tensor:
        """x where x > threshold, else value."""
        return F.threshold(input, self.threshold, self.value)

    def extra_repr(self) -> str:
        return f"threshold={self.threshold!r}, value={self.value!r}"


class GLU(Module):
    """The gated linear unit: first half of ``dim`` times sigmoid of the second half.

    >>> import microgradnn as mg
    >>> mg.nn.GLU()(mg.Tensor([3.0, 1000.0])).tolist()
    [3.0]
    """

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        """The gated linear unit: first half of ``dim`` times sigmoid of the second half."""
        return F.glu(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim!r}"


class Softmin(Module):
    """softmax(-x) along ``dim`` (the last dim when None).

    >>> import microgradnn as mg
    >>> mg.nn.Softmin(dim=0)(mg.Tensor([0.0, 1000.0])).tolist()
    [1.0, 0.0]
    """

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        """softmax(-x) along ``dim``."""
        return functional.softmin(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim!r}"


class LogSoftmax(Module):
    """log(softmax(x)) along ``dim`` (the last dim when None), stable for any input.

    >>> import microgradnn as mg
    >>> mg.nn.LogSoftmax(dim=-1)(mg.Tensor([0.0, 0.0])).exp().tolist()
    [0.5, 0.5]
    """

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        """log(softmax(x)) along ``dim``."""
        return functional.log_softmax(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim!r}"


class PReLU(Module):
    """x where x > 0, else weight * x, with a learnable slope ``weight`` (one, or one per
    channel: ``num_parameters`` = the size of dim 1), starting at ``init``.

    >>> import microgradnn as mg
    >>> act = mg.nn.PReLU()
    >>> act.weight.tolist(), act(mg.Tensor([-4.0, 1.0])).tolist()
    ([0.25], [-1.0, 1.0])
    """

    def __init__(
        self, num_parameters: int = 1, init: float = 0.25, device: str | None = None, dtype: DTypeLike = None
    ) -> None:
        super().__init__()
        if device not in (None, "cpu"):
            raise TypeError(f"PReLU: device={device!r} is not supported (microgradnn runs on the CPU)")
        if isinstance(num_parameters, bool) or not isinstance(num_parameters, (int, np.integer)) or num_parameters < 1:
            raise ValueError(f"PReLU: num_parameters must be a positive int, got {num_parameters!r}")
        self.num_parameters = int(num_parameters)
        self.init = init
        self.weight = Parameter(np.full(self.num_parameters, init, dtype=np.float64 if dtype is None else dtype))

    def forward(self, input: Tensor) -> Tensor:
        """x where x > 0, else weight * x."""
        return F.prelu(input, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"
