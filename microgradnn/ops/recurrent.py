"""Recurrent layers' time loops, each one differentiable operation (behind nn/recurrent.py).

One layer in one direction, over a whole sequence, is one :class:`Function`: its forward makes
the input projection of every time step in one matmul, then steps through time with a few
NumPy calls per step; its backward is backpropagation through time written by hand on
ndarrays, with the weight gradients again one matmul each over all steps. A graph of a hundred
tiny ops per step would cost far more in Python than the arithmetic it does, and a sequence of
any length is one node, so no depth of recursion is ever involved.

Layouts are PyTorch's: ``x`` is ``(L, N, input_size)`` (time first), ``w_ih`` is
``(gates * H, input_size)``, ``w_hh`` ``(gates * H, H)``, gates in the order i, f, g, o (LSTM)
and r, z, n (GRU). With ``reverse=True`` the loop runs from the last step to the first, and the
outputs still sit at their own time steps. The results are one array each:

* ``rnn_layer``: ``(L, N, H)``, the hidden state after each step;
* ``gru_layer``: ``(L, N, H)``, likewise;
* ``lstm_layer``: ``(L + 1, N, H)``, the hidden states, then the final cell state.

These are building blocks of the modules; their derivatives are first order only.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import Function, no_fp_warnings
from ..tensor import Tensor
from .elementwise import sigmoid_array

__all__ = ["rnn_layer", "lstm_layer", "gru_layer"]


def _project(x: np.ndarray, w_ih: np.ndarray, *biases: np.ndarray | None) -> np.ndarray:
    """x @ w_ih.T plus the biases given, for every time step at once: (L, N, gates * H)."""
    steps, batch, features = x.shape
    out = (x.reshape(steps * batch, features) @ w_ih.T).reshape(steps, batch, -1)
    for b in biases:
        if b is not None:
            out += b
    return out


def _input_grads(
    ctx: Any, dz: np.ndarray, x: np.ndarray, w_ih: np.ndarray
) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """(dx, dw_ih, db) of the input projection, given d(projection) for every step."""
    needs = ctx.needs_input_grad
    steps, batch, features = x.shape
    flat = dz.reshape(steps * batch, -1)
    dx = (flat @ w_ih).reshape(x.shape) if needs[0] else None
    dw_ih = flat.T @ x.reshape(steps * batch, features)
    return dx, dw_ih, flat.sum(axis=0)


def _order(steps: int, reverse: bool) -> range:
    return range(steps - 1, -1, -1) if reverse else range(steps)


class RNNLayer(Function):
    """h_t = act(x_t @ w_ih.T + b_ih + h_{t-1} @ w_hh.T + b_hh), act tanh or relu."""

    __slots__ = ()
    may_warn = True

    @staticmethod
    def forward(
        ctx: Any,
        x: np.ndarray,
        h0: np.ndarray,
        w_ih: np.ndarray,
        w_hh: np.ndarray,
        b_ih: np.ndarray | None,
        b_hh: np.ndarray | None,
        reverse: bool = False,
        relu: bool = False,
    ) -> np.ndarray:
        steps, batch, _ = x.shape
        z = _project(x, w_ih, b_ih, b_hh)
        out = np.empty((steps, batch, w_hh.shape[1]), dtype=z.dtype)
        w_hh_t, h = w_hh.T, h0
        for t in _order(steps, reverse):
            pre = z[t]
            pre += h @ w_hh_t
            h = np.maximum(pre, 0, out=out[t]) if relu else np.tanh(pre, out=out[t])
        ctx.save_for_backward(x, h0, w_ih, w_hh, out)
        ctx.reverse, ctx.relu = reverse, relu
        return out

    @staticmethod
    @no_fp_warnings()  # as a built-in op's: inf and NaN propagate without NumPy warnings
    def backward(ctx: Any, g: np.ndarray) -> tuple[Any, ...]:
        x, h0, w_ih, w_hh, out = ctx.saved_tensors
        steps = out.shape[0]
        reverse = ctx.reverse
        # d act / d pre for every step at once, from the saved outputs.
        dz = (out > 0).astype(out.dtype) if ctx.relu else 1 - out * out
        dh = np.zeros_like(out[0])
        for t in _order(steps, not reverse):
            d = dz[t]
            d *= g[t] + dh
            dh = d @ w_hh
        previous = _previous_states(out, h0, reverse)
        dx, dw_ih, db = _input_grads(ctx, dz, x, w_ih)
        dw_hh = dz.reshape(-1, dz.shape[-1]).T @ previous.reshape(-1, previous.shape[-1])
        if not (ctx.needs_input_grad[4] or ctx.needs_input_grad[5]):
            return dx, dh, dw_ih, dw_hh, None, None
        return dx, dh, dw_ih, dw_hh, db, db.copy()


def _previous_states(states: np.ndarray, h0: np.ndarray, reverse: bool) -> np.ndarray:
    """The state each step started from: h0 for the first step taken, else its neighbour's."""
    previous = np.empty_like(states)
    if reverse:
        previous[:-1] = states[1:]
        previous[-1] = h0
    else:
        previous[1:] = states[:-1]
        previous[0] = h0
    return previous


def _lstm_order(hidden: int) -> np.ndarray:
    """Rows of PyTorch's (i, f, g, o) weights in the order the loop keeps them, (o, i, f, g):
    the three sigmoid gates side by side, and the three that the cell state's gradient reaches
    (i, f, g) side by side (one broadcast product per step)."""
    return np.r_[3 * hidden : 4 * hidden, 0 : 3 * hidden]


def _lstm_scale(hidden: int, dtype: np.dtype) -> np.ndarray:
    """0.5 for the rows of the sigmoid gates, 1 for g: sigmoid(x) = (1 + tanh(x / 2)) / 2, so
    with the pre-activations halved (exactly, a power of two) one tanh call serves all four."""
    scale = np.ones(4 * hidden, dtype)
    scale[: 3 * hidden] = 0.5
    return scale


class LSTMLayer(Function):
    """The LSTM recurrence with gates i, f, g, o; returns the hidden states and the final c."""

    __slots__ = ()
    may_warn = True

    @staticmethod
    def forward(
        ctx: Any,
        x: np.ndarray,
        h0: np.ndarray,
        c0: np.ndarray,
        w_ih: np.ndarray,
        w_hh: np.ndarray,
        b_ih: np.ndarray | None,
        b_hh: np.ndarray | None,
        reverse: bool = False,
    ) -> np.ndarray:
        steps, batch, _ = x.shape
        hidden = w_hh.shape[1]
        order = _lstm_order(hidden)
        dtype = np.result_type(x, w_ih, w_hh)
        scale = _lstm_scale(hidden, dtype)
        bias = None if b_ih is None or b_hh is None else (b_ih + b_hh)[order] * scale
        # The pre-activations of all steps (halved for the sigmoid gates), turned into the
        # gates (o, i, f, g) in place.
        gates = _project(x, w_ih[order] * scale[:, None], bias)
        w_hh_t = np.ascontiguousarray((w_hh[order] * scale[:, None]).T, dtype=dtype)
        out = np.empty((steps + 1, batch, hidden), dtype=dtype)
        cells = np.empty((steps, batch, hidden), dtype=dtype)  # c after each step
        tanh_c = np.empty((steps, batch, hidden), dtype=dtype)
        h, c = h0, c0
        one, two, three = hidden, 2 * hidden, 3 * hidden
        for t in _order(steps, reverse):
            a = gates[t]
            a += h @ w_hh_t
            np.tanh(a, out=a)
            sig = a[:, :three]
            sig *= 0.5
            sig += 0.5
            g = a[:, three:]
            c = np.multiply(a[:, two:three], c, out=cells[t])
            c += a[:, one:two] * g
            h = np.multiply(a[:, :one], np.tanh(c, out=tanh_c[t]), out=out[t])
        out[steps] = c
        ctx.save_for_backward(x, h0, c0, w_ih, w_hh, gates, cells, tanh_c, out)
        ctx.reverse = reverse
        return out

    @staticmethod
    @no_fp_warnings()  # as a built-in op's: inf and NaN propagate without NumPy warnings
    def backward(ctx: Any, g: np.ndarray) -> tuple[Any, ...]:
        x, h0, c0, w_ih, w_hh, gates, cells, tanh_c, out = ctx.saved_tensors
        steps, batch, hidden = cells.shape
        reverse = ctx.reverse
        order = _lstm_order(hidden)
        dtype = gates.dtype
        w_hh_o = np.asarray(w_hh[order], dtype=dtype)
        G = gates.reshape(steps, batch, 4, hidden)
        o, i, f, gg = G[:, :, 0], G[:, :, 1], G[:, :, 2], G[:, :, 3]
        # What each step's loop needs, for all steps at once: dh reaches o's pre-activation
        # times factor[0], dc reaches i, f and g's times factor[1:] (each already times its
        # activation's derivative); dc_from_dh carries dh into dc.
        factor = np.subtract(1, G, dtype=dtype)
        factor[:, :, :3] *= G[:, :, :3]
        factor[:, :, 0] *= tanh_c
        factor[:, :, 1] *= gg
        if reverse:
            factor[:-1, :, 2] *= cells[1:]
            factor[-1, :, 2] *= c0
        else:
            factor[1:, :, 2] *= cells[:-1]
            factor[0, :, 2] *= c0
        np.multiply(gg, gg, out=factor[:, :, 3])
        np.subtract(1, factor[:, :, 3], out=factor[:, :, 3])
        factor[:, :, 3] *= i
        dc_from_dh = tanh_c * tanh_c
        np.subtract(1, dc_from_dh, out=dc_from_dh)
        dc_from_dh *= o
        dz = np.empty_like(factor)
        dh = np.zeros((batch, hidden), dtype=dtype)
        dc = np.array(g[steps], dtype=dtype)
        for t in _order(steps, not reverse):
            dh += g[t]
            dc += dh * dc_from_dh[t]
            d = dz[t]
            np.multiply(dh, factor[t, :, 0], out=d[:, 0])
            np.multiply(dc[:, None, :], factor[t, :, 1:], out=d[:, 1:])
            dc *= f[t]
            dh = d.reshape(batch, 4 * hidden) @ w_hh_o
        dz4 = dz.reshape(steps, batch, 4 * hidden)
        flat = dz4.reshape(steps * batch, 4 * hidden)
        needs = ctx.needs_input_grad
        dx = (flat @ w_ih[order]).reshape(x.shape) if needs[0] else None
        # Gradients of the weights and biases, back in PyTorch's row order.
        back = np.argsort(order)
        dw_ih = (flat.T @ x.reshape(steps * batch, -1))[back]
        # d w_hh = sum over steps of dz_t.T @ h_{t-1}: the steps after the first one taken
        # pair with the stored states, one step over; the first with h0.
        first = steps - 1 if reverse else 0
        later = slice(None, -1) if reverse else slice(1, None)
        earlier = slice(1, None) if reverse else slice(None, -1)
        dw_hh = dz4[first].T @ h0
        if steps > 1:
            dw_hh += dz4[later].reshape(-1, 4 * hidden).T @ out[:steps][earlier].reshape(-1, hidden)
        dw_hh = dw_hh[back]
        db = flat.sum(axis=0)[back] if needs[5] or needs[6] else None
        return dx, dh, dc, dw_ih, dw_hh, db, None if db is None else db.copy()


class GRULayer(Function):
    """The GRU recurrence: r, z = sigmoid(...), n = tanh(x_n + r * (h @ w_hn.T + b_hn)),
    h = (1 - z) * n + z * h_prev."""

    __slots__ = ()
    may_warn = True

    @staticmethod
    def forward(
        ctx: Any,
        x: np.ndarray,
        h0: np.ndarray,
        w_ih: np.ndarray,
        w_hh: np.ndarray,
        b_ih: np.ndarray | None,
        b_hh: np.ndarray | None,
        reverse: bool = False,
    ) -> np.ndarray:
        steps, batch, _ = x.shape
        hidden = w_hh.shape[1]
        two = 2 * hidden
        gates = _project(x, w_ih, b_ih)  # r, z become the gates in place; n its tanh
        hn = np.empty((steps, batch, hidden), dtype=gates.dtype)  # h_prev @ w_hn.T + b_hn
        out = np.empty((steps, batch, hidden), dtype=gates.dtype)
        w_hh_t, h = w_hh.T, h0
        for t in _order(steps, reverse):
            a = gates[t]
            hp = h @ w_hh_t
            if b_hh is not None:
                hp += b_hh
            a[:, :two] += hp[:, :two]
            a[:, :two] = sigmoid_array(a[:, :two])
            hn[t] = hp[:, two:]
            n = a[:, two:]
            n += a[:, :hidden] * hp[:, two:]
            np.tanh(n, out=n)
            # h = n + z * (h_prev - n)
            h_new = np.subtract(h, n, out=out[t])
            h_new *= a[:, hidden:two]
            h_new += n
            h = h_new
        ctx.save_for_backward(x, h0, w_ih, w_hh, gates, hn, out)
        ctx.reverse = reverse
        return out

    @staticmethod
    @no_fp_warnings()  # as a built-in op's: inf and NaN propagate without NumPy warnings
    def backward(ctx: Any, g: np.ndarray) -> tuple[Any, ...]:
        x, h0, w_ih, w_hh, gates, hn, out = ctx.saved_tensors
        steps, batch, hidden = out.shape
        reverse = ctx.reverse
        r, z, n = (gates[..., k * hidden : (k + 1) * hidden] for k in range(3))
        previous = _previous_states(out, h0, reverse)
        # Per-step factors for all steps at once: dh reaches n's pre-activation through
        # (1 - z)(1 - n^2), z's through (h_prev - n) z (1 - z), r's through that times hn r (1 - r).
        to_n = (1 - z) * (1 - n * n)
        to_z = (previous - n) * z * (1 - z)
        to_r = hn * r * (1 - r)
        dx_part = np.empty((steps, batch, 3, hidden), dtype=gates.dtype)  # d(x projection)
        dh_part = np.empty_like(dx_part)  # d(h projection)
        dh = np.zeros((batch, hidden), dtype=gates.dtype)
        for t in _order(steps, not reverse):
            dh += g[t]
            dxp, dhp = dx_part[t], dh_part[t]
            dn = np.multiply(dh, to_n[t], out=dxp[:, 2])
            np.multiply(dn, to_r[t], out=dxp[:, 0])
            np.multiply(dh, to_z[t], out=dxp[:, 1])
            dhp[:, :2] = dxp[:, :2]
            np.multiply(dn, r[t], out=dhp[:, 2])
            dh = dh * z[t] + dhp.reshape(batch, 3 * hidden) @ w_hh
        dxp3 = dx_part.reshape(steps, batch, 3 * hidden)
        dhp3 = dh_part.reshape(steps * batch, 3 * hidden)
        dx, dw_ih, db_ih = _input_grads(ctx, dxp3, x, w_ih)
        dw_hh = dhp3.T @ previous.reshape(-1, hidden)
        needs = ctx.needs_input_grad
        return (
            dx,
            dh,
            dw_ih,
            dw_hh,
            db_ih if needs[4] else None,
            dhp3.sum(axis=0) if needs[5] else None,
        )


def rnn_layer(
    x: Tensor,
    h0: Tensor | np.ndarray,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None,
    b_hh: Tensor | None,
    reverse: bool = False,
    relu: bool = False,
) -> Tensor:
    """One Elman RNN layer in one direction over ``x`` of shape (L, N, input_size).

    Returns the hidden states (L, N, H), each at its own time step.

    >>> import numpy as np, microgradnn as mg
    >>> w_ih, w_hh = mg.Tensor(np.ones((2, 1))), mg.Tensor(np.zeros((2, 2)))
    >>> rnn_layer(mg.zeros((3, 1, 1)), np.zeros((1, 2)), w_ih, w_hh, None, None).shape
    (3, 1, 2)
    """
    return RNNLayer.apply(x, h0, w_ih, w_hh, b_ih, b_hh, reverse=reverse, relu=relu)


def lstm_layer(
    x: Tensor,
    h0: Tensor | np.ndarray,
    c0: Tensor | np.ndarray,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None,
    b_hh: Tensor | None,
    reverse: bool = False,
) -> Tensor:
    """One LSTM layer in one direction over ``x`` of shape (L, N, input_size).

    Returns (L + 1, N, H): the hidden state after each step, then the final cell state.

    >>> import numpy as np, microgradnn as mg
    >>> w_ih, w_hh = mg.Tensor(np.ones((8, 1))), mg.Tensor(np.zeros((8, 2)))
    >>> lstm_layer(mg.zeros((3, 1, 1)), np.zeros((1, 2)), np.zeros((1, 2)), w_ih, w_hh, None, None).shape
    (4, 1, 2)
    """
    return LSTMLayer.apply(x, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse=reverse)


def gru_layer(
    x: Tensor,
    h0: Tensor | np.ndarray,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None,
    b_hh: Tensor | None,
    reverse: bool = False,
) -> Tensor:
    """One GRU layer in one direction over ``x`` of shape (L, N, input_size).

    Returns the hidden states (L, N, H), each at its own time step.

    >>> import numpy as np, microgradnn as mg
    >>> w_ih, w_hh = mg.Tensor(np.ones((6, 1))), mg.Tensor(np.zeros((6, 2)))
    >>> gru_layer(mg.zeros((3, 1, 1)), np.zeros((1, 2)), w_ih, w_hh, None, None).shape
    (3, 1, 2)
    """
    return GRULayer.apply(x, h0, w_ih, w_hh, b_ih, b_hh, reverse=reverse)
