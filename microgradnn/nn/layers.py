"""Layers: Linear and Dense, Flatten and Unflatten, the basic activations as modules, Dropout, and
MLP."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ..ops import elementwise, softmax
from ..tensor import DTypeLike, Tensor, as_float_array, as_tensor
from . import functional, init
from .module import Module, Parameter, Sequential

__all__ = [
    "Linear",
    "Dense",
    "Flatten",
    "Unflatten",
    "Sigmoid",
    "Tanh",
    "ReLU",
    "LeakyReLU",
    "Softmax",
    "Identity",
    "Dropout",
    "Dropout1d",
    "Dropout2d",
    "Dropout3d",
    "AlphaDropout",
    "FeatureAlphaDropout",
    "MLP",
]


def _float_dtype(dtype: DTypeLike) -> np.dtype:
    return as_float_array(np.empty(0), np.float64 if dtype is None else dtype, "layer").dtype


class Dense(Module):
    """A fully connected layer, ``x @ weight + bias``, in the tutorials' layout.

    ``weight`` has shape ``(in_features, out_features)`` and ``bias`` ``(out_features,)``; both
    start uniform in ±1/sqrt(in_features), as PyTorch's ``Linear``. (PyTorch stores the weight
    transposed, ``(out, in)``, and computes ``x @ W.T``.)

    >>> import microgradnn as mg, numpy as np
    >>> layer = mg.nn.Dense(3, 2, rng=np.random.default_rng(0))
    >>> layer.weight.shape, layer.bias.shape, layer(mg.ones((4, 3))).shape
    ((3, 2), (2,), (4, 2))
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        dtype: DTypeLike = None,
        rng: np.random.Generator | None = None,
    ) -> None:
        super().__init__()
        for what, n in (("in_features", in_features), ("out_features", out_features)):
            if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
                raise ValueError(f"Dense: {what} must be a positive int, got {n!r}")
        self.in_features, self.out_features = int(in_features), int(out_features)
        dt = _float_dtype(dtype)
        bound = 1 / math.sqrt(in_features)
        self.weight = init.uniform_(Parameter(np.zeros((in_features, out_features), dt)), -bound, bound, rng)
        if bias:
            self.bias = init.uniform_(Parameter(np.zeros(out_features, dt)), -bound, bound, rng)
        else:
            self.register_parameter("bias", None)

    def forward(self, x: Tensor) -> Tensor:
        """x @ weight (+ bias)."""
        out = x @ self.weight
        return out if self.bias is None else out + self.bias

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Linear(Module):
    """A fully connected layer in PyTorch's layout: ``y = x @ weight.T + bias``.

    ``weight`` has shape ``(out_features, in_features)`` and ``bias`` ``(out_features,)``, both
    uniform in ±1/sqrt(in_features) at the start, so a PyTorch ``Linear``'s ``state_dict``
    loads unchanged. Use it to port PyTorch code; :class:`Dense` keeps the tutorials' ``x @ W``
    layout. ``x`` may have any number of leading dims.

    >>> import microgradnn as mg, numpy as np
    >>> layer = mg.nn.Linear(3, 2, rng=np.random.default_rng(0))
    >>> layer.weight.shape, layer.bias.shape, layer(mg.ones((5, 4, 3))).shape
    ((2, 3), (2,), (5, 4, 2))
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        dtype: DTypeLike = None,
        rng: np.random.Generator | None = None,
    ) -> None:
        super().__init__()
        for what, n in (("in_features", in_features), ("out_features", out_features)):
            if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 0:
                raise ValueError(f"Linear: {what} must be a non-negative int, got {n!r}")
        self.in_features, self.out_features = int(in_features), int(out_features)
        dt = _float_dtype(dtype)
        bound = 1 / math.sqrt(in_features) if in_features else 0.0
        self.weight = init.uniform_(Parameter(np.zeros((out_features, in_features), dt)), -bound, bound, rng)
        if bias:
            self.bias = init.uniform_(Parameter(np.zeros(out_features, dt)), -bound, bound, rng)
        else:
            self.register_parameter("bias", None)

    def forward(self, x: Tensor) -> Tensor:
        """x @ weight.T (+ bias)."""
        return functional.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Flatten(Module):
    """Flatten dims ``start_dim`` to ``end_dim`` into one (by default all but the batch dim).

    >>> import microgradnn as mg
    >>> mg.nn.Flatten()(mg.zeros((2, 3, 4))).shape
    (2, 12)
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x: Tensor) -> Tensor:
        """x.flatten(start_dim, end_dim)."""
        return as_tensor(x).flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split dim ``dim`` into ``unflattened_size``.

    >>> import microgradnn as mg
    >>> mg.nn.Unflatten(1, (3, 4))(mg.zeros((2, 12))).shape
    (2, 3, 4)
    """

    def __init__(self, dim: int, unflattened_size: tuple[int, ...]) -> None:
        super().__init__()
        self.dim, self.unflattened_size = dim, tuple(unflattened_size)

    def forward(self, x: Tensor) -> Tensor:
        """x.unflatten(dim, unflattened_size)."""
        return as_tensor(x).unflatten(self.dim, self.unflattened_size)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


class Sigmoid(Module):
    """The sigmoid as a layer.

    >>> import microgradnn as mg
    >>> mg.nn.Sigmoid()(mg.Tensor([0.0])).tolist()
    [0.5]
    """

    def forward(self, x: Tensor) -> Tensor:
        """1 / (1 + exp(-x))."""
        return elementwise.sigmoid(x)


class Tanh(Module):
    """tanh as a layer.

    >>> import microgradnn as mg
    >>> mg.nn.Tanh()(mg.Tensor([0.0])).tolist()
    [0.0]
    """

    def forward(self, x: Tensor) -> Tensor:
        """Hyperbolic tangent."""
        return elementwise.tanh(x)


class ReLU(Module):
    """max(x, 0) as a layer.

    >>> import microgradnn as mg
    >>> mg.nn.ReLU()(mg.Tensor([-1.0, 1.0])).tolist()
    [0.0, 1.0]
    """

    def forward(self, x: Tensor) -> Tensor:
        """max(x, 0)."""
        return elementwise.relu(x)


class LeakyReLU(Module):
    """x where x > 0, else ``negative_slope * x``.

    >>> import microgradnn as mg
    >>> mg.nn.LeakyReLU(0.5)(mg.Tensor([-2.0, 3.0])).tolist()
    [-1.0, 3.0]
    """

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x: Tensor) -> Tensor:
        """Leaky ReLU."""
        return elementwise.leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class Softmax(Module):
    """softmax along ``axis`` as a layer.

    >>> import microgradnn as mg
    >>> mg.nn.Softmax()(mg.Tensor([0.0, 0.0])).tolist()
    [0.5, 0.5]
    """

    def __init__(self, axis: int = -1) -> None:
        super().__init__()
        self.axis = axis

    def forward(self, x: Tensor) -> Tensor:
        """exp(x) / sum(exp(x)) along the axis."""
        return softmax.softmax(x, self.axis)

    def extra_repr(self) -> str:
        return f"axis={self.axis}"


class Identity(Module):
    """Returns its input: a placeholder layer.

    >>> import microgradnn as mg
    >>> x = mg.ones(2)
    >>> mg.nn.Identity()(x) is x
    True
    """

    def forward(self, x: Tensor) -> Tensor:
        """x itself."""
        return x


class Dropout(Module):
    """Inverted dropout: in training, zero each element with probability ``p`` and scale the
    kept ones by 1 / (1 - p); in eval mode, the identity.

    >>> import microgradnn as mg, numpy as np
    >>> drop = mg.nn.Dropout(0.5, rng=np.random.default_rng(0))
    >>> sorted(set(drop(mg.ones(100)).data.tolist()))
    [0.0, 2.0]
    >>> drop.eval()(mg.ones(3)).data.tolist()
    [1.0, 1.0, 1.0]
    """

    def __init__(self, p: float = 0.5, rng: np.random.Generator | None = None) -> None:
        super().__init__()
        if not 0 <= p <= 1:
            raise ValueError(f"Dropout: p must be in [0, 1], got {p}")
        self.p = p
        self.rng = rng

    def forward(self, x: Tensor) -> Tensor:
        """Drop and rescale in training; pass through in eval."""
        return functional.dropout(x, self.p, self.training, self.rng)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class _DropoutNd(Module):
    """Shared: ``p`` checked and kept, the module's own ``rng`` (else the default generator)."""

    _function: Callable[..., Tensor]

    def __init__(self, p: float = 0.5, rng: np.random.Generator | None = None) -> None:
        super().__init__()
        if not 0 <= p <= 1:
            raise ValueError(f"{type(self).__name__}: p must be in [0, 1], got {p}")
        self.p = p
        self.rng = rng

    def forward(self, x: Tensor) -> Tensor:
        """Drop and rescale in training; pass through in eval."""
        return type(self)._function(x, self.p, self.training, self.rng)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Dropout1d(_DropoutNd):
    """Zero whole channels of (N, C, L) or (C, L) inputs with probability ``p`` in training.

    >>> import microgradnn as mg, numpy as np
    >>> out = mg.nn.Dropout1d(0.5, rng=np.random.default_rng(0))(mg.ones((2, 3, 4)))
    >>> bool((out.data == out.data[..., :1]).all())
    True
    """

    _function = staticmethod(functional.dropout1d)


class Dropout2d(_DropoutNd):
    """Zero whole channels of (N, C, H, W) or (C, H, W) inputs with probability ``p`` in training.

    >>> import microgradnn as mg
    >>> mg.nn.Dropout2d(0.5).eval()(mg.ones((1, 2, 3, 3))).data.sum()
    np.float64(18.0)
    """

    _function = staticmethod(functional.dropout2d)


class Dropout3d(_DropoutNd):
    """Zero whole channels of (N, C, D, H, W) or (C, D, H, W) inputs with probability ``p``.

    >>> import microgradnn as mg
    >>> mg.nn.Dropout3d(0.5).eval()(mg.ones((1, 2, 1, 1, 1))).shape
    (1, 2, 1, 1, 1)
    """

    _function = staticmethod(functional.dropout3d)


class AlphaDropout(_DropoutNd):
    """Alpha dropout for SELU networks: keeps zero mean and unit variance; eval mode is the identity.

    >>> import microgradnn as mg
    >>> mg.nn.AlphaDropout(0.2).eval()(mg.ones(3)).tolist()
    [1.0, 1.0, 1.0]
    """

    _function = staticmethod(functional.alpha_dropout)


class FeatureAlphaDropout(_DropoutNd):
    """Alpha dropout of whole channels (dim 1 of (N, C, ...) inputs).

    >>> import microgradnn as mg
    >>> mg.nn.FeatureAlphaDropout(0.2).eval()(mg.ones((1, 2, 2))).shape
    (1, 2, 2)
    """

    _function = staticmethod(functional.feature_alpha_dropout)


class MLP(Sequential):
    """A multi-layer perceptron: ``MLP(3, 4, 1)`` is Dense(3, 4), activation, Dense(4, 1).

    Hidden layers get ``activation``; the last gets ``output_activation`` (None: raw outputs,
    the logits that ``CrossEntropyLoss`` wants). Each argument is a Module class or any
    callable that returns a module. Trask's ``Network(3, 6, 1)`` is
    ``MLP(3, 6, 1, bias=False, output_activation=Sigmoid)``, and its weights load in one line:
    ``model.load_state_dict({"0.weight": syn0, "2.weight": syn1})``.

    >>> import microgradnn as mg
    >>> mg.nn.MLP(3, 4, 1, output_activation=mg.nn.Sigmoid)
    MLP(
      (0): Dense(in_features=3, out_features=4, bias=True)
      (1): Sigmoid()
      (2): Dense(in_features=4, out_features=1, bias=True)
      (3): Sigmoid()
    )
    """

    def __init__(
        self,
        *sizes: int,
        activation: Callable[[], Module] = Sigmoid,
        output_activation: Callable[[], Module] | None = None,
        bias: bool = True,
        dtype: DTypeLike = None,
        rng: np.random.Generator | None = None,
    ) -> None:
        if len(sizes) < 2:
            raise ValueError(f"MLP: give at least an input and an output size, got {sizes}")
        layers: list[Module] = []
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
            layers.append(Dense(n_in, n_out, bias=bias, dtype=dtype, rng=rng))
            last = i == len(sizes) - 2
            make = output_activation if last else activation
            if make is not None:
                layers.append(make())
        super().__init__(*layers)
