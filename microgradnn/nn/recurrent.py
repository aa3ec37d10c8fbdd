"""Recurrent layers: RNN (tanh or relu), LSTM and GRU over whole sequences, and their cells.

PyTorch's arguments, parameter names (``weight_ih_l0``, ``bias_hh_l1_reverse``...), shapes,
gate order (LSTM: i, f, g, o; GRU: r, z, n) and initialisation (every parameter uniform in
±1/sqrt(hidden_size)), so a PyTorch model's ``state_dict`` loads unchanged. Inputs are
``(L, N, input_size)``, or ``(N, L, input_size)`` with ``batch_first=True``, or ``(L, input_size)``
unbatched; states are ``(num_layers * num_directions, N, hidden_size)`` (``batch_first`` never
changes them) or ``(num_layers * num_directions, hidden_size)`` unbatched.

Each layer in each direction runs as one operation over the whole sequence (see
``microgradnn/ops/recurrent.py``): one matmul projects every time step's input, and backward
through time is written by hand, so a sequence of any length costs one graph node per layer
and direction, and no recursion.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from ..errors import ShapeError
from ..ops.recurrent import gru_layer, lstm_layer, rnn_layer
from ..ops.shape import cat, stack
from ..tensor import DTypeLike, Tensor, as_float_array, as_tensor
from . import functional, init
from .module import Module, Parameter

__all__ = ["RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell"]

_State = Tensor | np.ndarray
_Weights = tuple[Tensor, Tensor, Tensor | None, Tensor | None]


def _size(owner: str, what: str, n: Any) -> int:
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
        raise ValueError(f"{owner}: {what} must be a positive int, got {n!r}")
    return int(n)


def _float_dtype(dtype: DTypeLike, owner: str) -> np.dtype:
    return as_float_array(np.empty(0), np.float64 if dtype is None else dtype, owner).dtype


def _uniform(shape: tuple[int, ...], bound: float, dtype: np.dtype, rng: np.random.Generator | None) -> Parameter:
    return init.uniform_(Parameter(np.zeros(shape, dtype)), -bound, bound, rng)  # type: ignore[return-value]


def _nonlinearity(owner: str, nonlinearity: str) -> str:
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"{owner}: unknown nonlinearity {nonlinearity!r}; use 'tanh' or 'relu'")
    return nonlinearity


class _RNNBase(Module):
    """What RNN, LSTM and GRU share: the parameters of every layer and direction, the checks of
    input and state shapes, and the loop over layers (dropout between them)."""

    _gates = 1
    mode = "RNN"

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        dtype: DTypeLike = None,
        rng: np.random.Generator | None = None,
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        self.input_size = _size(owner, "input_size", input_size)
        self.hidden_size = _size(owner, "hidden_size", hidden_size)
        self.num_layers = _size(owner, "num_layers", num_layers)
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout <= 1:
            raise ValueError(f"{owner}: dropout must be a number in [0, 1], got {dropout!r}")
        if dropout > 0 and num_layers == 1:
            # As PyTorch: dropout acts between layers only, so with one layer it does nothing.
            warnings.warn(
                f"{owner}: dropout={dropout} with num_layers=1 has no effect: dropout acts between layers only",
                stacklevel=3,
            )
        self.bias, self.batch_first = bool(bias), bool(batch_first)
        self.dropout, self.bidirectional = float(dropout), bool(bidirectional)
        self.rng = rng
        dt = _float_dtype(dtype, owner)
        directions = 2 if bidirectional else 1
        bound = 1 / math.sqrt(hidden_size)
        gates = self._gates * hidden_size
        # (w_ih, w_hh, b_ih, b_hh) names of each layer and direction, in PyTorch's order.
        self._weight_names: list[tuple[str, str, str, str]] = []
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else hidden_size * directions
            for direction in range(directions):
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                names = (f"weight_ih{suffix}", f"weight_hh{suffix}", f"bias_ih{suffix}", f"bias_hh{suffix}")
                setattr(self, names[0], _uniform((gates, layer_input), bound, dt, rng))
                setattr(self, names[1], _uniform((gates, hidden_size), bound, dt, rng))
                if bias:
                    setattr(self, names[2], _uniform((gates,), bound, dt, rng))
                    setattr(self, names[3], _uniform((gates,), bound, dt, rng))
                self._weight_names.append(names)

    def flatten_parameters(self) -> None:
        """Does nothing (PyTorch's cuDNN weight packing has no meaning here); kept so that
        ported code runs."""

    # -------------------------------------------------------------- checks
    def _check_input(self, input: Any) -> tuple[Tensor, bool]:
        """The input as (L, N, input_size), and whether it had a batch dim."""
        owner = type(self).__name__
        x = as_tensor(input)
        if x.ndim not in (2, 3):
            raise ShapeError(f"{owner}: expected a 2-d (unbatched) or 3-d (batched) input, got shape {x.shape}")
        if x.shape[-1] != self.input_size:
            raise ShapeError(
                f"{owner}: input.size(-1) must equal input_size: expected {self.input_size}, "
                f"got {x.shape[-1]} (input of shape {x.shape})"
            )
        if 0 in x.shape:
            raise ShapeError(f"{owner}: the sequence and the batch must not be empty (input of shape {x.shape})")
        batched = x.ndim == 3
        if not batched:
            x = x.unsqueeze(1)
        elif self.batch_first:
            x = x.transpose(0, 1)
        return x, batched

    def _states(self, given: Any, what: str, batch: int, batched: bool, dtype: np.dtype) -> list[_State]:
        """One initial state (N, H) for each layer and direction: slices of ``given``, or zeros."""
        count = self.num_layers * (2 if self.bidirectional else 1)
        if given is None:
            zeros = np.zeros((batch, self.hidden_size), dtype)
            return [zeros] * count
        state = as_tensor(given)
        expected = (count, batch, self.hidden_size) if batched else (count, self.hidden_size)
        if state.shape != expected:
            raise ShapeError(
                f"{type(self).__name__}: expected {what} of shape {expected} "
                f"(num_layers * num_directions, {'batch, ' if batched else ''}hidden_size), got {state.shape}"
            )
        if not batched:
            state = state.unsqueeze(1)
        return [state[k] for k in range(count)]

    def _weights(self, k: int) -> _Weights:
        names = self._weight_names[k]
        w_ih, w_hh = getattr(self, names[0]), getattr(self, names[1])
        if not self.bias:
            return w_ih, w_hh, None, None
        return w_ih, w_hh, getattr(self, names[2]), getattr(self, names[3])

    def _dtype(self, x: Tensor) -> np.dtype:
        return np.result_type(x.dtype, getattr(self, self._weight_names[0][1]).dtype)

    # -------------------------------------------------------------- the loop over layers
    def _run(self, x: Tensor, states: list[list[_State]]) -> tuple[Tensor, list[Tensor], list[Tensor]]:
        """Every layer and direction over ``x`` (L, N, I): the last layer's output and, per
        layer and direction, the final hidden state (and the final cell state for an LSTM)."""
        steps = x.shape[0]
        directions = 2 if self.bidirectional else 1
        finals_h: list[Tensor] = []
        finals_c: list[Tensor] = []
        layer_input = x
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(directions):
                k = layer * directions + direction
                reverse = direction == 1
                # The final state is the one after the last step taken: step 0 going backwards.
                last = 0 if reverse else steps - 1
                weights = self._weights(k)
                result = self._layer(layer_input, [s[k] for s in states], weights, reverse)
                if self._gates == 4:  # LSTM: (L + 1, N, H), the final cell state last
                    outputs.append(result[:steps])
                    finals_c.append(result[steps])
                else:
                    outputs.append(result)
                finals_h.append(result[last])
            layer_input = outputs[0] if directions == 1 else cat(outputs, dim=2)
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                layer_input = functional.dropout(layer_input, self.dropout, True, self.rng)
        return layer_input, finals_h, finals_c

    def _layer(self, x: Tensor, states: list[_State], weights: _Weights, reverse: bool) -> Tensor:
        raise NotImplementedError

    def _finish(self, output: Tensor, finals: list[Tensor], batched: bool) -> tuple[Tensor, Tensor]:
        """Output back to the caller's layout; the final states stacked (num_layers * dirs, N, H)."""
        state = stack(finals, dim=0)
        if not batched:
            return output.squeeze(1), state.squeeze(1)
        return (output.transpose(0, 1) if self.batch_first else output), state

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        nonlinearity = getattr(self, "nonlinearity", "tanh")  # RNN and RNNCell have one
        if nonlinearity != "tanh":
            text += f", nonlinearity={nonlinearity!r}"
        if not self.bias:
            text += ", bias=False"
        if self.batch_first:
            text += ", batch_first=True"
        if self.dropout:
            text += f", dropout={self.dropout}"
        if self.bidirectional:
            text += ", bidirectional=True"
        return text


class RNN(_RNNBase):
    """An Elman RNN: ``h_t = tanh(x_t @ W_ih.T + b_ih + h_{t-1} @ W_hh.T + b_hh)`` per layer
    (``nonlinearity='relu'`` for relu), as ``torch.nn.RNN``.

    ``forward(input, h0=None)`` returns ``(output, h_n)``: the last layer's hidden state at
    every step, ``(L, N, num_directions * hidden_size)`` (``(N, L, ...)`` with ``batch_first``),
    and every layer's final state, ``(num_layers * num_directions, N, hidden_size)``. ``dropout``
    applies to each layer's output but the last, in training mode, drawing from ``rng``.

    >>> import microgradnn as mg, numpy as np
    >>> rnn = mg.nn.RNN(3, 5, num_layers=2, rng=np.random.default_rng(0))
    >>> output, h_n = rnn(mg.zeros((7, 4, 3)))
    >>> output.shape, h_n.shape
    ((7, 4, 5), (2, 4, 5))
    >>> [name for name, _ in rnn.named_parameters()][:4]
    ['weight_ih_l0', 'weight_hh_l0', 'bias_ih_l0', 'bias_hh_l0']
    """

    _gates = 1

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        dtype: DTypeLike = None,
        rng: np.random.Generator | None = None,
    ) -> None:
        checked = _nonlinearity("RNN", nonlinearity)
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, dtype, rng)
        self.nonlinearity = checked

    def _layer(self, x: Tensor, states: list[_State], weights: _Weights, reverse: bool) -> Tensor:
        return rnn_layer(x, states[0], *weights, reverse=reverse, relu=self.nonlinearity == "relu")

    def forward(self, input: Tensor, hx: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """(output, h_n) for ``input`` and an optional initial state ``hx``."""
        x, batched = self._check_input(input)
        h0 = self._states(hx, "hx", x.shape[1], batched, self._dtype(x))
        output, finals, _ = self._run(x, [h0])
        return self._finish(output, finals, batched)


class LSTM(_RNNBase):
    """A long short-term memory network, as ``torch.nn.LSTM`` (gates i, f, g, o):
    ``c_t = f * c_{t-1} + i * g``, ``h_t = o * tanh(c_t)``.

    ``forward(input, (h0, c0)=None)`` returns ``(output, (h_n, c_n))``; shapes as :class:`RNN`'s.
    Each weight is ``(4 * hidden_size, ...)``, the four gates stacked in that order.

    >>> import microgradnn as mg, numpy as np
    >>> lstm = mg.nn.LSTM(3, 5, batch_first=True, bidirectional=True, rng=np.random.default_rng(0))
    >>> output, (h_n, c_n) = lstm(mg.zeros((4, 7, 3)))
    >>> output.shape, h_n.shape, c_n.shape
    ((4, 7, 10), (2, 4, 5), (2, 4, 5))
    >>> lstm.weight_hh_l0_reverse.shape
    (20, 5)
    """

    _gates = 4

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        dtype: DTypeLike = None,
        rng: np.random.Generator | None = None,
    ) -> None:
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, dtype, rng)

    def _layer(self, x: Tensor, states: list[_State], weights: _Weights, reverse: bool) -> Tensor:
        return lstm_layer(x, states[0], states[1], *weights, reverse=reverse)

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        """(output, (h_n, c_n)) for ``input`` and an optional initial state ``(h0, c0)``."""
        x, batched = self._check_input(input)
        dtype = self._dtype(x)
        if hx is None:
            h0 = c0 = self._states(None, "h0", x.shape[1], batched, dtype)
        else:
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise TypeError(f"LSTM: hx must be a tuple (h0, c0), got {type(hx).__name__}")
            h0 = self._states(hx[0], "h0", x.shape[1], batched, dtype)
            c0 = self._states(hx[1], "c0", x.shape[1], batched, dtype)
        output, finals_h, finals_c = self._run(x, [h0, c0])
        output, h_n = self._finish(output, finals_h, batched)
        c_n = stack(finals_c, dim=0)
        return output, (h_n, c_n if batched else c_n.squeeze(1))


class GRU(_RNNBase):
    """A gated recurrent unit network, as ``torch.nn.GRU`` (gates r, z, n):
    ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``, ``h_t = (1 - z) * n + z * h_{t-1}``.

    ``forward(input, h0=None)`` returns ``(output, h_n)``; shapes as :class:`RNN`'s.

    >>> import microgradnn as mg, numpy as np
    >>> gru = mg.nn.GRU(3, 5, rng=np.random.default_rng(0))
    >>> output, h_n = gru(mg.zeros((7, 3)))  # unbatched: (L, input_size)
    >>> output.shape, h_n.shape, gru.weight_ih_l0.shape
    ((7, 5), (1, 5), (15, 3))
    """

    _gates = 3

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        dtype: DTypeLike = None,
        rng: np.random.Generator | None = None,
    ) -> None:
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, dtype, rng)

    def _layer(self, x: Tensor, states: list[_State], weights: _Weights, reverse: bool) -> Tensor:
        return gru_layer(x, states[0], *weights, reverse=reverse)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """(output, h_n) for ``input`` and an optional initial state ``hx``."""
        x, batched = self._check_input(input)
        h0 = self._states(hx, "hx", x.shape[1], batched, self._dtype(x))
        output, finals, _ = self._run(x, [h0])
        return self._finish(output, finals, batched)


# ------------------------------------------------------------------ cells
class _CellBase(Module):
    """One time step: ``weight_ih`` (gates * H, input_size), ``weight_hh`` (gates * H, H),
    ``bias_ih``, ``bias_hh``, all uniform in ±1/sqrt(hidden_size). A step is the layer's
    operation over a sequence of length 1."""

    _gates = 1

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        dtype: DTypeLike = None,
        rng: np.random.Generator | None = None,
    ) -> None:
        super().__init__()
        owner = type(self).__name__
        self.input_size = _size(owner, "input_size", input_size)
        self.hidden_size = _size(owner, "hidden_size", hidden_size)
        self.bias = bool(bias)
        dt = _float_dtype(dtype, owner)
        bound = 1 / math.sqrt(hidden_size)
        gates = self._gates * hidden_size
        self.weight_ih = _uniform((gates, input_size), bound, dt, rng)
        self.weight_hh = _uniform((gates, hidden_size), bound, dt, rng)
        if bias:
            self.bias_ih = _uniform((gates,), bound, dt, rng)
            self.bias_hh = _uniform((gates,), bound, dt, rng)
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)

    def _check_input(self, input: Any) -> tuple[Tensor, bool]:
        """The input as a sequence of one step (1, N, input_size), and whether it had a batch dim."""
        owner = type(self).__name__
        x = as_tensor(input)
        if x.ndim not in (1, 2):
            raise ShapeError(f"{owner}: expected a 1-d (unbatched) or 2-d (batched) input, got shape {x.shape}")
        if x.shape[-1] != self.input_size:
            raise ShapeError(
                f"{owner}: input.size(-1) must equal input_size: expected {self.input_size}, "
                f"got {x.shape[-1]} (input of shape {x.shape})"
            )
        batched = x.ndim == 2
        return x.reshape(1, x.shape[0] if batched else 1, self.input_size), batched

    def _state(self, given: Any, what: str, x: Tensor, batched: bool) -> _State:
        """The state as (N, H): ``given`` checked, or zeros."""
        batch = x.shape[1]
        if given is None:
            dtype = np.result_type(x.dtype, self.weight_hh.dtype)
            return np.zeros((batch, self.hidden_size), dtype)
        state = as_tensor(given)
        expected = (batch, self.hidden_size) if batched else (self.hidden_size,)
        if state.shape != expected:
            raise ShapeError(f"{type(self).__name__}: expected {what} of shape {expected}, got {state.shape}")
        return state if batched else state.reshape(1, self.hidden_size)

    def _weights(self) -> _Weights:
        return self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh

    @staticmethod
    def _step(result: Tensor, k: int, batched: bool) -> Tensor:
        """Row ``k`` of a layer's result, without the batch dim when the input had none."""
        return result[k] if batched else result[k, 0]

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            text += ", bias=False"
        nonlinearity = getattr(self, "nonlinearity", "tanh")  # RNN and RNNCell have one
        if nonlinearity != "tanh":
            text += f", nonlinearity={nonlinearity!r}"
        return text


class RNNCell(_CellBase):
    """One step of an Elman RNN, as ``torch.nn.RNNCell``:
    ``h' = tanh(x @ W_ih.T + b_ih + h @ W_hh.T + b_hh)`` (or relu).

    ``forward(input, hx=None)``: ``input`` (N, input_size) or (input_size,), ``hx`` (N, hidden_size)
    or (hidden_size,), zeros when None; returns h'.

    >>> import microgradnn as mg, numpy as np
    >>> cell = mg.nn.RNNCell(3, 2, nonlinearity="relu", rng=np.random.default_rng(0))
    >>> cell(mg.ones((4, 3))).shape, cell.weight_ih.shape
    ((4, 2), (2, 3))
    """

    _gates = 1

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        nonlinearity: str = "tanh",
        dtype: DTypeLike = None,
        rng: np.random.Generator | None = None,
    ) -> None:
        super().__init__(input_size, hidden_size, bias, dtype, rng)
        self.nonlinearity = _nonlinearity("RNNCell", nonlinearity)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        """The next hidden state."""
        x, batched = self._check_input(input)
        h = self._state(hx, "hx", x, batched)
        result = rnn_layer(x, h, *self._weights(), relu=self.nonlinearity == "relu")
        return self._step(result, 0, batched)


class LSTMCell(_CellBase):
    """One step of an LSTM, as ``torch.nn.LSTMCell`` (gates i, f, g, o).

    ``forward(input, hx=None)``: ``hx`` is ``(h, c)`` or None (zeros); returns ``(h', c')``.

    >>> import microgradnn as mg, numpy as np
    >>> cell = mg.nn.LSTMCell(3, 2, rng=np.random.default_rng(0))
    >>> h, c = cell(mg.ones((4, 3)))
    >>> h.shape, c.shape, cell.weight_hh.shape
    ((4, 2), (4, 2), (8, 2))
    """

    _gates = 4

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, Tensor]:
        """The next (hidden state, cell state)."""
        x, batched = self._check_input(input)
        if hx is None:
            h = c = self._state(None, "h", x, batched)
        else:
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise TypeError(f"LSTMCell: hx must be a tuple (h, c), got {type(hx).__name__}")
            h, c = self._state(hx[0], "h", x, batched), self._state(hx[1], "c", x, batched)
        result = lstm_layer(x, h, c, *self._weights())
        return self._step(result, 0, batched), self._step(result, 1, batched)


class GRUCell(_CellBase):
    """One step of a GRU, as ``torch.nn.GRUCell`` (gates r, z, n).

    ``forward(input, hx=None)`` returns the next hidden state.

    >>> import microgradnn as mg, numpy as np
    >>> cell = mg.nn.GRUCell(3, 2, rng=np.random.default_rng(0))
    >>> cell(mg.ones(3)).shape, cell.bias_hh.shape
    ((2,), (6,))
    """

    _gates = 3

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        """The next hidden state."""
        x, batched = self._check_input(input)
        h = self._state(hx, "hx", x, batched)
        return self._step(gru_layer(x, h, *self._weights()), 0, batched)
