"""Initialisers, as ``torch.nn.init``, changing a tensor's values in place and returning it.

Weights here have the tutorials' layout ``(in_features, out_features)``, so fan-in is the first
axis and fan-out the second (the reverse of PyTorch's ``(out, in)``). Each takes ``rng=`` (an
``np.random.Generator``); without it, the generator that ``microgradnn.manual_seed`` resets.

Loading the tutorials' own weights needs no initialiser: ``model.load_state_dict({...})``.
"""

from __future__ import annotations

import math

import numpy as np

from ..creation import default_generator
from ..tensor import Tensor

__all__ = [
    "calculate_gain",
    "fans",
    "uniform_",
    "normal_",
    "xavier_uniform_",
    "kaiming_uniform_",
    "zeros_",
    "constant_",
]


def _fill(tensor: Tensor, values: np.ndarray) -> Tensor:
    # Assigning .data counts as an in-place change, as every update of a weight does.
    tensor.data = np.asarray(values, dtype=tensor.dtype).reshape(tensor.shape)
    return tensor


def _generator(rng: np.random.Generator | None) -> np.random.Generator:
    return rng if rng is not None else default_generator()


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended scale for an activation, as PyTorch gives it.

    >>> import microgradnn as mg
    >>> mg.nn.init.calculate_gain("relu")
    1.4142135623730951
    """
    if nonlinearity in ("linear", "identity", "sigmoid"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        return math.sqrt(2.0 / (1 + slope**2))
    raise ValueError(f"calculate_gain: unknown nonlinearity {nonlinearity!r}")


def fans(tensor: Tensor) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight in the ``(in_features, out_features)`` layout.

    >>> import microgradnn as mg
    >>> mg.nn.init.fans(mg.zeros(3, 5))
    (3, 5)
    """
    if tensor.ndim < 2:
        raise ValueError(f"fans: need a weight with at least 2 axes, got shape {tensor.shape}")
    receptive = int(np.prod(tensor.shape[2:])) if tensor.ndim > 2 else 1
    return tensor.shape[0] * receptive, tensor.shape[1] * receptive


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, rng: np.random.Generator | None = None) -> Tensor:
    """Fill with samples from U(a, b).

    >>> import microgradnn as mg, numpy as np
    >>> w = mg.nn.init.uniform_(mg.zeros(2, 3), -1, 1, rng=np.random.default_rng(0))
    >>> bool(((w.data >= -1) & (w.data < 1)).all())
    True
    """
    return _fill(tensor, _generator(rng).uniform(a, b, tensor.shape))


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, rng: np.random.Generator | None = None) -> Tensor:
    """Fill with samples from N(mean, std²).

    >>> import numpy as np, microgradnn as mg
    >>> w = mg.nn.init.normal_(mg.zeros(10000), 0.0, 0.1, rng=np.random.default_rng(0))
    >>> round(float(w.data.std()), 2)
    0.1
    """
    return _fill(tensor, _generator(rng).normal(mean, std, tensor.shape))


def xavier_uniform_(tensor: Tensor, gain: float = 1.0, rng: np.random.Generator | None = None) -> Tensor:
    """Glorot: U(-b, b) with b = gain * sqrt(6 / (fan_in + fan_out)).

    >>> import numpy as np, microgradnn as mg
    >>> w = mg.nn.init.xavier_uniform_(mg.zeros(3, 5), rng=np.random.default_rng(0))
    >>> bool(abs(w.data).max() <= (6 / 8) ** 0.5)
    True
    """
    fan_in, fan_out = fans(tensor)
    if tensor.numel() == 0:
        return tensor  # nothing to fill (PyTorch: a no-op), and no fan to divide by
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound, rng)


def kaiming_uniform_(
    tensor: Tensor,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    rng: np.random.Generator | None = None,
) -> Tensor:
    """He: U(-b, b) with b = gain * sqrt(3 / fan), fan chosen by ``mode``.

    >>> import numpy as np, microgradnn as mg
    >>> w = mg.nn.init.kaiming_uniform_(mg.zeros(6, 2), nonlinearity="relu", rng=np.random.default_rng(0))
    >>> bool(abs(w.data).max() <= 2 ** 0.5 * (3 / 6) ** 0.5)
    True
    """
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"kaiming_uniform_: mode must be 'fan_in' or 'fan_out', not {mode!r}")
    fan_in, fan_out = fans(tensor)
    fan = fan_in if mode == "fan_in" else fan_out
    if tensor.numel() == 0:
        return tensor  # nothing to fill (PyTorch: a no-op), and no fan to divide by
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / fan)
    return uniform_(tensor, -bound, bound, rng)


def zeros_(tensor: Tensor) -> Tensor:
    """Fill with zeros.

    >>> import microgradnn as mg
    >>> mg.nn.init.zeros_(mg.ones(2)).tolist()
    [0.0, 0.0]
    """
    return _fill(tensor, np.zeros(tensor.shape))


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill with ``val``.

    >>> import microgradnn as mg
    >>> mg.nn.init.constant_(mg.ones(2), 0.5).tolist()
    [0.5, 0.5]
    """
    return _fill(tensor, np.full(tensor.shape, val))
