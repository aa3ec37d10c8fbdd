"""Transformer layers: TransformerEncoderLayer, TransformerDecoderLayer and TransformerEncoder,
with PyTorch's submodule names, so a PyTorch model's ``state_dict`` loads unchanged."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import ShapeError
from ..ops.activation import gelu
from ..ops.elementwise import relu
from ..tensor import DTypeLike, Tensor, as_tensor
from .attention import MultiheadAttention
from .layers import Dropout, Linear
from .module import Module, ModuleList
from .normalization import LayerNorm

__all__ = ["TransformerEncoderLayer", "TransformerDecoderLayer", "TransformerEncoder"]

Activation = str | Callable[[Tensor], Tensor]


def _activation(activation: Activation, owner: str) -> Callable[[Tensor], Tensor]:
    if isinstance(activation, str):
        if activation == "relu":
            return relu
        if activation == "gelu":
            return gelu
        raise ValueError(f"{owner}: activation must be 'relu', 'gelu' or a callable, not {activation!r}")
    if not callable(activation):
        raise TypeError(f"{owner}: activation must be 'relu', 'gelu' or a callable, not {type(activation).__name__}")
    return activation


def _check_input(x: Tensor, d_model: int, batch_first: bool, what: str, owner: str) -> None:
    if x.ndim not in (2, 3) or x.shape[-1] != d_model:
        layout = "(N, L, d_model)" if batch_first else "(L, N, d_model)"
        raise ShapeError(
            f"{owner}: {what} must be {layout} or unbatched (L, d_model) with d_model = {d_model}, got shape {x.shape}"
        )


class _Layer(Module):
    """What both layers share: the feed-forward block and the checks."""

    d_model: int
    batch_first: bool
    self_attn: MultiheadAttention
    linear1: Linear
    linear2: Linear
    dropout: Dropout
    activation: Callable[[Tensor], Tensor]

    def _ff_block(self, x: Tensor, drop: Dropout) -> Tensor:
        return drop(self.linear2(self.dropout(self.activation(self.linear1(x)))))

    def _attn_block(
        self,
        attn: MultiheadAttention,
        x: Tensor,
        mem: Tensor,
        mask: Any,
        padding: Any,
        is_causal: bool,
        drop: Dropout,
        names: tuple[str, str],
    ) -> Tensor:
        owner = type(self).__name__
        out, _ = attn._attend(x, mem, mem, padding, False, mask, True, is_causal, owner, names)
        return drop(out)


def _init_layer(
    layer: _Layer,
    d_model: int,
    nhead: int,
    dim_feedforward: int,
    dropout: float,
    activation: Activation,
    batch_first: bool,
    bias: bool,
    dtype: DTypeLike,
    rng: np.random.Generator | None,
) -> None:
    _activation(activation, type(layer).__name__)  # refuse a bad one before building anything
    layer.d_model, layer.batch_first = int(d_model), bool(batch_first)
    layer.self_attn = MultiheadAttention(
        d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first, dtype=dtype, rng=rng
    )


class TransformerEncoderLayer(_Layer):
    """Self-attention and a feed-forward block, each with a residual connection and a
    LayerNorm, as ``torch.nn.TransformerEncoderLayer``.

    Post-norm by default, ``x = norm1(x + sa(x)); x = norm2(x + ff(x))``; with
    ``norm_first=True`` pre-norm, ``x = x + sa(norm1(x)); x = x + ff(norm2(x))``. The feed-forward
    block is ``linear2(dropout(activation(linear1(x))))``; ``activation`` is ``"relu"``,
    ``"gelu"`` (exact) or a callable. Submodules carry PyTorch's names (``self_attn``,
    ``linear1``, ``dropout``, ``linear2``, ``norm1``, ``norm2``, ``dropout1``, ``dropout2``), so
    a PyTorch layer's ``state_dict`` loads unchanged. Masks as in :class:`MultiheadAttention`:
    True (boolean) is *blocked*, a float mask is added. ``rng`` draws the initial weights and
    the dropout masks (else the default generator).

    >>> import microgradnn as mg, numpy as np
    >>> layer = mg.nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, batch_first=True,
    ...                                       rng=np.random.default_rng(0))
    >>> x = mg.Tensor(np.random.default_rng(1).standard_normal((3, 5, 8)))
    >>> causal = np.triu(np.ones((5, 5), bool), 1)
    >>> layer(x, src_mask=causal).shape
    (3, 5, 8)
    """

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: Activation = "relu",
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        *,
        dtype: DTypeLike = None,
        rng: np.random.Generator | None = None,
    ) -> None:
        super().__init__()
        _init_layer(self, d_model, nhead, dim_feedforward, dropout, activation, batch_first, bias, dtype, rng)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dtype, rng=rng)
        self.dropout = Dropout(dropout, rng=rng)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dtype, rng=rng)
        self.norm_first = bool(norm_first)
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.dropout1 = Dropout(dropout, rng=rng)
        self.dropout2 = Dropout(dropout, rng=rng)
        self.activation = _activation(activation, "TransformerEncoderLayer")

    def forward(
        self, src: Tensor, src_mask: Any = None, src_key_padding_mask: Any = None, is_causal: bool = False
    ) -> Tensor:
        """Encode ``src``: ``(L, N, d_model)``, batch-first ``(N, L, d_model)`` or ``(L, d_model)``."""
        x = as_tensor(src)
        _check_input(x, self.d_model, self.batch_first, "src", "TransformerEncoderLayer")
        names = ("src_mask", "src_key_padding_mask")

        def sa(y: Tensor) -> Tensor:
            return self._attn_block(
                self.self_attn, y, y, src_mask, src_key_padding_mask, is_causal, self.dropout1, names
            )

        if self.norm_first:
            x = x + sa(self.norm1(x))
            return x + self._ff_block(self.norm2(x), self.dropout2)
        x = self.norm1(x + sa(x))
        return self.norm2(x + self._ff_block(x, self.dropout2))


class TransformerDecoderLayer(_Layer):
    """Self-attention, attention to the encoder's output (``memory``) and a feed-forward block,
    each with a residual connection and a LayerNorm, as ``torch.nn.TransformerDecoderLayer``.

    Submodules as PyTorch's: ``self_attn``, ``multihead_attn``, ``linear1``, ``dropout``,
    ``linear2``, ``norm1``, ``norm2``, ``norm3``, ``dropout1``, ``dropout2``, ``dropout3``.
    Post-norm by default; ``norm_first=True`` for pre-norm. Masks as in
    :class:`MultiheadAttention` (boolean True is *blocked*).

    >>> import microgradnn as mg, numpy as np
    >>> layer = mg.nn.TransformerDecoderLayer(8, 2, dim_feedforward=16, dropout=0.0, rng=np.random.default_rng(0))
    >>> tgt, memory = mg.ones((4, 2, 8)), mg.ones((6, 2, 8))
    >>> layer(tgt, memory, tgt_mask=np.triu(np.ones((4, 4), bool), 1)).shape
    (4, 2, 8)
    """

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: Activation = "relu",
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        *,
        dtype: DTypeLike = None,
        rng: np.random.Generator | None = None,
    ) -> None:
        super().__init__()
        _init_layer(self, d_model, nhead, dim_feedforward, dropout, activation, batch_first, bias, dtype, rng)
        self.multihead_attn = MultiheadAttention(
            d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first, dtype=dtype, rng=rng
        )
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dtype, rng=rng)
        self.dropout = Dropout(dropout, rng=rng)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dtype, rng=rng)
        self.norm_first = bool(norm_first)
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.norm3 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.dropout1 = Dropout(dropout, rng=rng)
        self.dropout2 = Dropout(dropout, rng=rng)
        self.dropout3 = Dropout(dropout, rng=rng)
        self.activation = _activation(activation, "TransformerDecoderLayer")

    def forward(
        self,
        tgt: Tensor,
        memory: Tensor,
        tgt_mask: Any = None,
        memory_mask: Any = None,
        tgt_key_padding_mask: Any = None,
        memory_key_padding_mask: Any = None,
        tgt_is_causal: bool = False,
        memory_is_causal: bool = False,
    ) -> Tensor:
        """Decode ``tgt`` attending to ``memory`` (both in the layer's layout)."""
        x, mem = as_tensor(tgt), as_tensor(memory)
        owner = "TransformerDecoderLayer"
        _check_input(x, self.d_model, self.batch_first, "tgt", owner)
        _check_input(mem, self.d_model, self.batch_first, "memory", owner)
        if mem.ndim != x.ndim:
            raise ShapeError(f"{owner}: tgt {x.shape} and memory {mem.shape} must both be batched or both unbatched")
        self_names = ("tgt_mask", "tgt_key_padding_mask")
        cross_names = ("memory_mask", "memory_key_padding_mask")

        def sa(y: Tensor) -> Tensor:
            return self._attn_block(
                self.self_attn, y, y, tgt_mask, tgt_key_padding_mask, tgt_is_causal, self.dropout1, self_names
            )

        def cross(y: Tensor) -> Tensor:
            return self._attn_block(
                self.multihead_attn,
                y,
                mem,
                memory_mask,
                memory_key_padding_mask,
                memory_is_causal,
                self.dropout2,
                cross_names,
            )

        if self.norm_first:
            x = x + sa(self.norm1(x))
            x = x + cross(self.norm2(x))
            return x + self._ff_block(self.norm3(x), self.dropout3)
        x = self.norm1(x + sa(x))
        x = self.norm2(x + cross(x))
        return self.norm3(x + self._ff_block(x, self.dropout3))


def _clones(module: Module, n: int) -> list[Module]:
    """``n`` deep copies of ``module`` (same initial weights, as PyTorch's), sharing any random
    generator it holds: copied generators would draw the same dropout masks in every layer."""
    shared = {id(g): g for m in module.modules() for g in vars(m).values() if isinstance(g, np.random.Generator)}
    return [copy.deepcopy(module, dict(shared)) for _ in range(n)]


def _is_causal_mask(mask: Any, length: int) -> bool:
    """Whether ``mask`` is exactly the square causal mask (True or -inf above the diagonal)."""
    data = mask._data if isinstance(mask, Tensor) else np.asarray(mask)
    if data.shape != (length, length):
        return False
    above = np.triu(np.ones((length, length), bool), 1)
    if data.dtype == np.bool_:
        return bool(np.array_equal(data, above))
    return bool(np.all(np.where(above, data == -np.inf, data == 0)))


class TransformerEncoder(Module):
    """A stack of ``num_layers`` copies of ``encoder_layer`` (then ``norm``, when given), as
    ``torch.nn.TransformerEncoder``.

    The layer is deep-copied into ``layers`` (a :class:`ModuleList`), so every copy starts with
    the same weights and the parameter names are PyTorch's (``layers.0.self_attn.in_proj_weight``
    ...). ``is_causal=None`` detects a square causal ``mask``, as PyTorch does, and hands the
    hint to the layers.

    >>> import microgradnn as mg, numpy as np
    >>> layer = mg.nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, rng=np.random.default_rng(0))
    >>> encoder = mg.nn.TransformerEncoder(layer, num_layers=2, norm=mg.nn.LayerNorm(8))
    >>> encoder(mg.ones((5, 3, 8))).shape, len(encoder.layers)
    ((5, 3, 8), 2)
    """

    def __init__(self, encoder_layer: Module, num_layers: int, norm: Module | None = None) -> None:
        super().__init__()
        if not isinstance(num_layers, (int, np.integer)) or isinstance(num_layers, bool) or num_layers < 0:
            raise ValueError(f"TransformerEncoder: num_layers must be a non-negative int, got {num_layers!r}")
        if not isinstance(encoder_layer, Module):
            raise TypeError(f"TransformerEncoder: encoder_layer must be a Module, not {type(encoder_layer).__name__}")
        self.layers = ModuleList(_clones(encoder_layer, int(num_layers)))
        self.num_layers = int(num_layers)
        self.norm = norm

    def forward(
        self, src: Tensor, mask: Any = None, src_key_padding_mask: Any = None, is_causal: bool | None = None
    ) -> Tensor:
        """Run ``src`` through every layer, then ``norm``."""
        x = as_tensor(src)
        if is_causal is None:
            batch_first = bool(getattr(self.layers[0], "batch_first", False)) if self.num_layers else False
            length = x.shape[1] if batch_first and x.ndim == 3 else x.shape[0]
            is_causal = mask is not None and _is_causal_mask(mask, length)
        for layer in self.layers:
            x = layer(x, src_mask=mask, src_key_padding_mask=src_key_padding_mask, is_causal=is_causal)
        if self.norm is not None:
            x = self.norm(x)
        return x
