"""Multi-head attention (``nn.MultiheadAttention``), in PyTorch's layout.

The projections are ordinary linear maps of the tokens flattened to 2-D (one matrix product per
projection, whatever the batch); the heads are split, attended and merged by one op
(``ops.attention.HeadAttention``) that works on strided views, so the module adds no reshapes
or transposes of its own. With ``need_weights=True`` the weights must be returned, and
differentiable, so that call is composed of Tensor ops instead (slower, same numbers).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..errors import ShapeError, shape_of
from ..ops import softmax as softmax_ops
from ..ops.attention import HeadAttention, additive_mask
from ..tensor import DTypeLike, Tensor, as_float_array, as_tensor
from . import functional, init
from .layers import Linear
from .module import Module, Parameter

__all__ = ["MultiheadAttention"]

# The names forward() gives its masks in messages; the Transformer layers pass their own.
_MASK_NAMES = ("attn_mask", "key_padding_mask")


class MultiheadAttention(Module):
    """Attention with ``num_heads`` heads, as ``torch.nn.MultiheadAttention``.

    Parameters as PyTorch's, so its ``state_dict`` loads unchanged: ``in_proj_weight``
    ``(3 * embed_dim, embed_dim)`` (the q, k and v projections stacked; Xavier-uniform),
    ``in_proj_bias`` ``(3 * embed_dim,)`` (zeros) and ``out_proj``, a :class:`Linear`
    (weight as Linear's default, bias zeros). Inputs are ``(L, N, E)`` (sequence first, the
    default) or ``(N, L, E)`` with ``batch_first=True``, or unbatched ``(L, E)``.

    ``forward`` returns ``(attn_output, attn_weights)``: the weights are ``(N, L, S)``
    averaged over heads, ``(N, num_heads, L, S)`` with ``average_attn_weights=False``, or None
    with ``need_weights=False`` (the faster call, which the Transformer layers make). Masks:
    a boolean mask is True where attention is *blocked*, a floating one is added to the
    scores; ``attn_mask`` is ``(L, S)`` or ``(N * num_heads, L, S)``, ``key_padding_mask``
    ``(N, S)``. Masks are constants here (a float mask that requires grad is refused; use
    ``F.scaled_dot_product_attention`` for a learned one). ``is_causal`` is PyTorch's hint
    that ``attn_mask`` is causal: the mask is needed with it, and is what gets applied.

    Only the arguments listed are taken (PyTorch's ``add_bias_kv``, ``add_zero_attn``,
    ``kdim``, ``vdim`` are not), so ``batch_first`` and the rest are keyword-only here.
    ``dropout`` drops attention weights in training, drawing from ``rng`` (else the default
    generator), which also draws the initial weights.

    A query whose keys are all masked gives NaN with ``need_weights=True`` (a plain softmax,
    as PyTorch) and zeros (then ``out_proj``'s bias) with ``need_weights=False`` (PyTorch's
    scaled_dot_product_attention route).

    >>> import microgradnn as mg, numpy as np
    >>> mha = mg.nn.MultiheadAttention(8, 2, batch_first=True, rng=np.random.default_rng(0))
    >>> x = mg.Tensor(np.random.default_rng(1).standard_normal((3, 5, 8)))
    >>> out, weights = mha(x, x, x)
    >>> out.shape, weights.shape
    ((3, 5, 8), (3, 5, 5))
    >>> [name for name, _ in mha.named_parameters()]
    ['in_proj_weight', 'in_proj_bias', 'out_proj.weight', 'out_proj.bias']
    """

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        *,
        batch_first: bool = False,
        dtype: DTypeLike = None,
        rng: np.random.Generator | None = None,
    ) -> None:
        super().__init__()
        for what, n in (("embed_dim", embed_dim), ("num_heads", num_heads)):
            if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
                raise ValueError(f"MultiheadAttention: {what} must be a positive int, got {n!r}")
        if embed_dim % num_heads:
            raise ValueError(
                f"MultiheadAttention: embed_dim ({embed_dim}) must be divisible by num_heads ({num_heads})"
            )
        if not 0 <= dropout <= 1:
            raise ValueError(f"MultiheadAttention: dropout must be in [0, 1], got {dropout}")
        self.embed_dim, self.num_heads = int(embed_dim), int(num_heads)
        self.kdim = self.vdim = self.embed_dim
        self.head_dim = self.embed_dim // self.num_heads
        self.dropout, self.batch_first, self.rng = float(dropout), bool(batch_first), rng
        dt = as_float_array(np.empty(0), np.float64 if dtype is None else dtype, "MultiheadAttention").dtype
        e = self.embed_dim
        self.in_proj_weight = init.xavier_uniform_(Parameter(np.zeros((3 * e, e), dt)), rng=rng)
        if bias:
            self.in_proj_bias = Parameter(np.zeros(3 * e, dt))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(e, e, bias=bias, dtype=dt, rng=rng)
        if bias:
            init.zeros_(self.out_proj.bias)

    def forward(
        self,
        query: Tensor,
        key: Tensor,
        value: Tensor,
        key_padding_mask: Any = None,
        need_weights: bool = True,
        attn_mask: Any = None,
        average_attn_weights: bool = True,
        is_causal: bool = False,
    ) -> tuple[Tensor, Tensor | None]:
        """Attend from ``query`` to ``key``/``value``; returns ``(attn_output, attn_weights)``."""
        return self._attend(
            query, key, value, key_padding_mask, need_weights, attn_mask, average_attn_weights, is_causal
        )

    # -------------------------------------------------------------- the work
    def _attend(
        self,
        query: Any,
        key: Any,
        value: Any,
        key_padding_mask: Any,
        need_weights: bool,
        attn_mask: Any,
        average_attn_weights: bool,
        is_causal: bool,
        owner: str = "MultiheadAttention",
        mask_names: tuple[str, str] = _MASK_NAMES,
    ) -> tuple[Tensor, Tensor | None]:
        same_qkv, same_kv = query is key and key is value, key is value
        q = as_tensor(query)
        k = q if key is query else as_tensor(key)
        v = k if value is key else as_tensor(value)
        e, bf = self.embed_dim, self.batch_first
        layout = "(N, L, E)" if bf else "(L, N, E)"
        if q.ndim not in (2, 3):
            raise ShapeError(f"{owner}: query must be (L, E) unbatched or {layout} batched, got shape {q.shape}")
        for what, t in (("query", q), ("key", k), ("value", v)):
            if t.ndim != q.ndim or t.shape[-1] != e:
                raise ShapeError(
                    f"{owner}: {what} of shape {t.shape} does not fit: expected {q.ndim} dims ending in "
                    f"embed_dim = {e} ({layout} batched, (L, E) unbatched)"
                )
        batched = q.ndim == 3
        if not batched:  # as PyTorch: a batch of one, squeezed again at the end
            axis = 0 if bf else 1
            q = q.unsqueeze(axis)
            k = q if same_qkv else k.unsqueeze(axis)
            v = k if same_kv else v.unsqueeze(axis)
        n, length = (q.shape[0], q.shape[1]) if bf else (q.shape[1], q.shape[0])
        kn, source = (k.shape[0], k.shape[1]) if bf else (k.shape[1], k.shape[0])
        if kn != n or k.shape != v.shape:
            raise ShapeError(
                f"{owner}: key {k.shape} and value {v.shape} must have the same shape, with the query's batch size {n}"
            )
        if is_causal and attn_mask is None:
            raise ValueError(
                f"{owner}: is_causal=True is a hint that {mask_names[0]} is the causal mask, so it needs "
                f"{mask_names[0]} (e.g. np.triu(np.ones((L, L), bool), 1))"
            )
        mask = self._mask(attn_mask, key_padding_mask, n, length, source, q.dtype, batched, owner, mask_names)
        sources, spec = self._project(q, k, v, same_qkv, same_kv)
        p = self.dropout if self.training else 0.0
        weights: Tensor | None = None
        if need_weights:
            out, weights = self._weighted(sources, spec, mask, p)
            if average_attn_weights:
                weights = weights.mean(axis=1)
            if not batched:
                weights = weights.squeeze(0)
        else:
            out = HeadAttention.apply(
                *sources, mask, spec=spec, heads=self.num_heads, embed=e, batch_first=bf, dropout_p=p, rng=self.rng
            )
        a, b = out.shape[:2]
        out = self.out_proj(out.reshape(a * b, e)).reshape(a, b, e)
        if not batched:
            out = out.squeeze(0 if bf else 1)
        return out, weights

    def _project(
        self, q: Tensor, k: Tensor, v: Tensor, same_qkv: bool, same_kv: bool
    ) -> tuple[list[Tensor | None], tuple[tuple[int, int], ...]]:
        """The q, k, v projections, packed where the inputs are one tensor (self-attention, or
        cross-attention with key is value), and where each of q, k, v sits in them."""
        e, w, b = self.embed_dim, self.in_proj_weight, self.in_proj_bias

        def project(x: Tensor, rows: slice) -> Tensor:
            weight = w if rows == slice(None) else w[rows]
            bias = None if b is None else (b if rows == slice(None) else b[rows])
            flat = functional.linear(x.reshape(x.shape[0] * x.shape[1], e), weight, bias)
            return flat.reshape(x.shape[0], x.shape[1], flat.shape[-1])

        if same_qkv:
            return [project(q, slice(None)), None, None], ((0, 0), (0, e), (0, 2 * e))
        if same_kv:
            return [project(q, slice(0, e)), project(k, slice(e, None)), None], ((0, 0), (1, 0), (1, e))
        return (
            [project(q, slice(0, e)), project(k, slice(e, 2 * e)), project(v, slice(2 * e, None))],
            ((0, 0), (1, 0), (2, 0)),
        )

    def _weighted(
        self, sources: list[Tensor | None], spec: tuple[tuple[int, int], ...], mask: np.ndarray | None, p: float
    ) -> tuple[Tensor, Tensor]:
        """Attention as Tensor ops, for need_weights=True: the output in token layout and the
        per-head weights (N, heads, L, S), both differentiable."""
        e, h, bf = self.embed_dim, self.num_heads, self.batch_first
        d = e // h

        def heads(which: int) -> Tensor:
            i, off = spec[which]
            src = sources[i]
            assert src is not None
            a, b = src.shape[:2]
            part = src[:, :, off : off + e].reshape(a, b, h, d)
            return part.permute(0, 2, 1, 3) if bf else part.permute(1, 2, 0, 3)

        qh, kh, vh = heads(0), heads(1), heads(2)
        scores = (qh @ kh.mT) * (1.0 / math.sqrt(d))
        if mask is not None:
            scores = scores + mask
        weights = functional.dropout(softmax_ops.softmax(scores, -1), p, p > 0, self.rng)
        merged = weights @ vh  # (N, heads, L, d)
        n, length = merged.shape[0], merged.shape[2]
        if bf:
            out = merged.permute(0, 2, 1, 3).reshape(n, length, e)
        else:
            out = merged.permute(2, 0, 1, 3).reshape(length, n, e)
        return out, weights

    def _mask(
        self,
        attn_mask: Any,
        key_padding_mask: Any,
        n: int,
        length: int,
        source: int,
        dtype: np.dtype,
        batched: bool,
        owner: str,
        names: tuple[str, str],
    ) -> np.ndarray | None:
        """attn_mask and key_padding_mask as one additive mask broadcasting to (N, heads, L, S)."""
        h = self.num_heads
        merged: np.ndarray | None = None
        for mask, name in ((attn_mask, names[0]), (key_padding_mask, names[1])):
            if isinstance(mask, Tensor) and mask.requires_grad:
                raise ValueError(
                    f"{owner}: {name} requires grad, but masks are constants here; detach it, or use "
                    "F.scaled_dot_product_attention for a learned additive mask"
                )
        if attn_mask is not None:
            m = additive_mask(attn_mask, True, dtype, names[0], owner)
            three = (n * h if batched else h, length, source)
            if m.shape == (length, source):
                m = m.reshape(1, 1, length, source)
            elif m.shape == three:
                m = m.reshape(n, h, length, source)
            else:
                what = "(N * num_heads, L, S)" if batched else "(num_heads, L, S)"
                raise ShapeError(
                    f"{owner}: {names[0]} of shape {shape_of(m)} does not fit: expected (L, S) = "
                    f"{(length, source)} or {what} = {three}"
                )
            merged = m
        if key_padding_mask is not None:
            m = additive_mask(key_padding_mask, True, dtype, names[1], owner)
            expected = (n, source) if batched else (source,)
            if m.shape != expected:
                what = "(N, S)" if batched else "(S,)"
                raise ShapeError(
                    f"{owner}: {names[1]} of shape {shape_of(m)} does not fit: expected {what} = {expected}"
                )
            m = m.reshape(n, 1, 1, source)
            merged = m if merged is None else merged + m
        return merged

    def extra_repr(self) -> str:
        return (
            f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, dropout={self.dropout}, "
            f"batch_first={self.batch_first}"
        )
