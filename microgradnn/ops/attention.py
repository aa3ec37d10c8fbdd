"""Scaled dot-product attention, forward and backward in one op.

``softmax(q @ k^T * scale + mask) @ v`` as separate Tensor ops records six or more nodes and
keeps every intermediate (the scores, their masked and shifted copies, the exponentials). The
attention here is one :class:`Function` per call with its backward on ndarrays: batched matmuls
over every leading axis, the softmax computed in place on the scores, and only the
probabilities (plus the dropout mask) saved for backward.

Two ops share the ndarray kernels:

* :class:`Attention` is ``F.scaled_dot_product_attention``: inputs of shape ``(..., L, E)``,
  ``(..., S, E)``, ``(..., S, Ev)``, leading axes broadcast.
* :class:`HeadAttention` is the core of ``nn.MultiheadAttention``: it takes the projected
  queries, keys and values in token layout, ``(L, N, C)`` or batch-first ``(N, L, C)`` with the
  heads side by side in the feature axis (one packed ``q|k|v`` projection, or ``q`` and a packed
  ``k|v``, or three), splits them into heads as strided views (no copies: BLAS reads the strided
  blocks directly), and writes the merged heads and the input gradients straight into token
  layout, so the module around it needs no reshapes, transposes or slices of its own.

Fully masked rows (every key blocked) give zeros, as PyTorch's ``scaled_dot_product_attention``
does since 2.5 (its "safe softmax"); ``nn.MultiheadAttention`` with ``need_weights=True`` takes
another route, a plain softmax, and gives NaN there, as PyTorch does.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..autograd import Function, no_fp_warnings, sum_to
from ..creation import default_generator
from ..errors import ShapeError, shape_of
from ..tensor import Tensor, as_tensor

__all__ = ["scaled_dot_product_attention", "Attention", "HeadAttention", "additive_mask"]


# ------------------------------------------------------------------ ndarray kernels
def _softmax_rows(s: np.ndarray, safe: bool) -> np.ndarray:
    """Softmax over the last axis, in place on ``s``. A row that is -inf everywhere (fully
    masked) gives zeros when ``safe``, else NaN (a plain softmax's 0 / 0)."""
    top = s.max(axis=-1, keepdims=True)
    dead = np.isneginf(top)
    any_dead = bool(dead.any())
    if any_dead:
        top[dead] = 0.0  # exp(-inf - 0) = 0 instead of exp(nan)
    s -= top
    np.exp(s, out=s)
    total = s.sum(axis=-1, keepdims=True)
    if any_dead and safe:
        total[dead] = 1.0  # 0 / 1: the row stays zero
    s /= total
    return s


def _draw_keep(shape: tuple[int, ...], p: float, dtype: np.dtype, rng: np.random.Generator | None) -> np.ndarray:
    """The dropout mask, already scaled: 0 where dropped, 1 / (1 - p) where kept."""
    gen = rng if rng is not None else default_generator()
    draw_dtype = np.float32 if dtype == np.float32 else np.float64
    keep = gen.random(shape, dtype=draw_dtype) >= p
    return keep.astype(dtype) * dtype.type(1.0 / (1.0 - p))


def _probabilities(
    q: np.ndarray, k: np.ndarray, mask: np.ndarray | None, scale: float, safe: bool = True
) -> np.ndarray:
    """softmax(q @ k^T * scale + mask) over the keys; q (..., L, E), k (..., S, E)."""
    s = np.matmul(q, k.swapaxes(-1, -2))
    if scale != 1.0:
        s *= s.dtype.type(scale)
    if mask is not None:
        if np.broadcast_shapes(s.shape, mask.shape) == s.shape:
            s += mask
        else:  # the mask has batch axes that q and k broadcast over
            s = s + mask
    return _softmax_rows(s, safe)


def _score_grad(g: np.ndarray, v: np.ndarray, p: np.ndarray, keep: np.ndarray | None) -> np.ndarray:
    """d(loss)/d(scores) given d(loss)/d(output): through ``@ v``, the dropout and the softmax."""
    dp = np.matmul(g, v.swapaxes(-1, -2))
    if keep is not None:
        dp *= keep
    # softmax's backward: p * (dp - sum(dp * p)), in place on dp
    row = np.einsum("...ij,...ij->...i", dp, p)[..., None]
    dp -= row
    dp *= p
    return dp


# ------------------------------------------------------------------ F.scaled_dot_product_attention
class Attention(Function):
    """softmax(q @ k^T * scale + mask) (dropped out) @ v, one node; see the module docstring."""

    __slots__ = ("scale", "keep", "shapes")
    name = "scaled_dot_product_attention"
    may_warn = True

    @staticmethod
    def forward(
        ctx: Any,
        q: np.ndarray,
        k: np.ndarray,
        v: np.ndarray,
        mask: np.ndarray | None,
        *,
        scale: float,
        dropout_p: float,
        rng: np.random.Generator | None,
    ) -> np.ndarray:
        p = _probabilities(q, k, mask, scale)
        keep = _draw_keep(p.shape, dropout_p, p.dtype, rng) if dropout_p > 0 else None
        ctx.scale, ctx.keep = scale, keep
        ctx.shapes = (q.shape, k.shape, v.shape, None if mask is None else mask.shape)
        ctx.save_for_backward(q, k, v, p)
        return np.matmul(p if keep is None else p * keep, v)

    @staticmethod
    def backward(ctx: Any, g: np.ndarray) -> tuple[Any, Any, Any, Any]:
        q, k, v, p = ctx.saved_tensors
        need_q, need_k, need_v, need_mask = ctx.needs_input_grad
        q_shape, k_shape, v_shape, mask_shape = ctx.shapes
        keep = ctx.keep
        with no_fp_warnings():
            dq = dk = dv = dmask = None
            if need_v:
                dv = sum_to(np.matmul((p if keep is None else p * keep).swapaxes(-1, -2), g), v_shape, ctx.name)
            if need_q or need_k or need_mask:
                ds = _score_grad(g, v, p, keep)
                if need_mask:  # the mask is added after the scaling
                    dmask = sum_to(ds.copy() if need_q or need_k else ds, mask_shape, ctx.name)
                if ctx.scale != 1.0:
                    ds *= ds.dtype.type(ctx.scale)
                if need_q:
                    dq = sum_to(np.matmul(ds, k), q_shape, ctx.name)
                if need_k:
                    dk = sum_to(np.matmul(ds.swapaxes(-1, -2), q), k_shape, ctx.name)
        return dq, dk, dv, dmask


def _is_bool(mask: Any) -> bool:
    data = mask._data if isinstance(mask, Tensor) else np.asarray(mask)
    return data.dtype == np.bool_


def _mask_array(mask: Any, what: str, op: str) -> np.ndarray:
    data = mask._data if isinstance(mask, Tensor) else np.asarray(mask)
    if data.dtype != np.bool_ and data.dtype.kind != "f":
        raise TypeError(f"{op}: {what} must be a boolean or floating mask, not {data.dtype}")
    return data


def additive_mask(mask: Any, blocked_when: bool, dtype: np.dtype, what: str = "mask", op: str = "attention") -> Any:
    """A boolean mask as 0 / -inf in ``dtype`` (-inf where the mask equals ``blocked_when``); a
    floating one cast to ``dtype``. Constant arrays (NumPy or a Tensor's data) either way.

    >>> import numpy as np
    >>> additive_mask(np.array([True, False]), True, np.dtype(np.float64)).tolist()
    [-inf, 0.0]
    """
    data = _mask_array(mask, what, op)
    if data.dtype == np.bool_:
        out = np.zeros(data.shape, dtype)
        out[data == blocked_when] = -np.inf
        return out
    return data.astype(dtype, copy=False)


def _check_qkv(query: Tensor, key: Tensor, value: Tensor, op: str) -> None:
    for what, t in (("query", query), ("key", key), ("value", value)):
        if t.ndim < 2:
            raise ShapeError(f"{op}: {what} must have at least 2 dims (..., length, features), got shape {t.shape}")
    if not query.dtype == key.dtype == value.dtype:
        raise TypeError(
            f"{op}: query, key and value must have one dtype, got {query.dtype}, {key.dtype} and {value.dtype}"
        )
    if query.shape[-1] != key.shape[-1]:
        raise ShapeError(
            f"{op}: query of shape {query.shape} and key of shape {key.shape} must have the same last dim (E)"
        )
    if key.shape[-2] != value.shape[-2]:
        raise ShapeError(
            f"{op}: key of shape {key.shape} and value of shape {value.shape} must have the same length (dim -2, S)"
        )
    try:
        np.broadcast_shapes(query.shape[:-2], key.shape[:-2], value.shape[:-2])
    except ValueError:
        raise ShapeError(
            f"{op}: the batch dims of query {query.shape}, key {key.shape} and value {value.shape} do not broadcast"
        ) from None


def scaled_dot_product_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    attn_mask: Any = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
    rng: np.random.Generator | None = None,
) -> Tensor:
    """softmax(query @ key^T * scale + mask) @ value, as ``torch.nn.functional.scaled_dot_product_attention``.

    Shapes ``(..., L, E)``, ``(..., S, E)`` and ``(..., S, Ev)`` give ``(..., L, Ev)``; leading
    dims broadcast. ``scale`` defaults to 1 / sqrt(E). ``attn_mask`` broadcasts to
    ``(..., L, S)``: a boolean mask is True where attention is *allowed* (PyTorch's convention
    for this function; ``nn.MultiheadAttention`` takes the opposite), a floating one is added to
    the scores (and gets a gradient when it is a Tensor that requires grad). ``is_causal`` lets
    query i see keys 0..i only (the top-left triangle) and cannot be combined with a mask.
    ``dropout_p`` drops attention weights whenever it is above 0 (pass 0 in eval mode), drawing
    from ``rng`` (else the default generator). A query whose keys are all masked gives a row
    of zeros, as in PyTorch.

    >>> import microgradnn as mg, numpy as np
    >>> q = k = v = mg.Tensor(np.eye(2).reshape(1, 2, 2))
    >>> out = mg.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
    >>> out.data.round(3).tolist()
    [[[1.0, 0.0], [0.33, 0.67]]]
    """
    op = "scaled_dot_product_attention"
    query, key, value = as_tensor(query), as_tensor(key), as_tensor(value)
    _check_qkv(query, key, value, op)
    if not 0 <= dropout_p <= 1:
        raise ValueError(f"{op}: dropout_p must be in [0, 1], got {dropout_p}")
    L, S = query.shape[-2], key.shape[-2]
    if scale is None:
        scale = 1.0 / math.sqrt(query.shape[-1]) if query.shape[-1] else 1.0
    mask: Any = None
    if is_causal:
        if attn_mask is not None:
            # PyTorch documents an error here (its CPU kernel in 2.13 silently drops the mask).
            raise ValueError(f"{op}: pass attn_mask or is_causal=True, not both")
        mask = additive_mask(np.tri(L, S, dtype=bool), False, query.dtype)
    elif attn_mask is not None:
        data = _mask_array(attn_mask, "attn_mask", op)
        try:
            np.broadcast_shapes(data.shape, query.shape[:-2] + (L, S))
        except ValueError:
            raise ShapeError(
                f"{op}: attn_mask of shape {shape_of(data)} does not broadcast to the scores' shape "
                f"(..., L, S) = {query.shape[:-2] + (L, S)}"
            ) from None
        if isinstance(attn_mask, Tensor) and attn_mask.requires_grad and data.dtype.kind == "f":
            mask = attn_mask if data.dtype == query.dtype else attn_mask.astype(query.dtype)
        else:
            mask = additive_mask(data, False, query.dtype)
    if dropout_p == 1:
        return Attention.apply(query, key, value, mask, scale=scale, dropout_p=0.0, rng=rng) * 0.0
    return Attention.apply(query, key, value, mask, scale=scale, dropout_p=float(dropout_p), rng=rng)


# ------------------------------------------------------------------ the core of MultiheadAttention
def _heads(x: np.ndarray, offset: int, embed: int, heads: int, batch_first: bool) -> np.ndarray:
    """The (N, heads, T, head_dim) view of features ``offset:offset + embed`` of a token-layout
    array (T, N, C), or (N, T, C) when ``batch_first``. A view: nothing is copied."""
    a, b, _ = x.shape
    part = x[:, :, offset : offset + embed].reshape(a, b, heads, embed // heads)
    return part.transpose(0, 2, 1, 3) if batch_first else part.transpose(1, 2, 0, 3)


class HeadAttention(Function):
    """Multi-head attention on projected inputs in token layout; see the module docstring.

    ``spec`` gives, for q, k and v in turn, (which input holds it, its feature offset there);
    ``sources`` is how many of the first three inputs are used (the others are None).
    """

    __slots__ = ("spec", "heads", "embed", "batch_first", "scale", "keep")
    name = "multi_head_attention"
    may_warn = True

    @staticmethod
    def forward(
        ctx: Any,
        a: np.ndarray,
        b: np.ndarray | None,
        c: np.ndarray | None,
        mask: np.ndarray | None,
        *,
        spec: tuple[tuple[int, int], ...],
        heads: int,
        embed: int,
        batch_first: bool,
        dropout_p: float,
        rng: np.random.Generator | None,
    ) -> np.ndarray:
        sources: tuple[Any, ...] = (a, b, c)
        qh, kh, vh = (_heads(sources[i], off, embed, heads, batch_first) for i, off in spec)
        scale = 1.0 / math.sqrt(embed // heads)
        p = _probabilities(qh, kh, mask, scale)
        keep = _draw_keep(p.shape, dropout_p, p.dtype, rng) if dropout_p > 0 else None
        ctx.spec, ctx.heads, ctx.embed, ctx.batch_first = spec, heads, embed, batch_first
        ctx.scale, ctx.keep = scale, keep
        ctx.save_for_backward(a, b, c, p)
        t, n = a.shape[:2]
        out = np.empty((t, n, embed), p.dtype)
        # The merged heads are written in token layout directly (the strided blocks are BLAS's).
        np.matmul(p if keep is None else p * keep, vh, out=_heads(out, 0, embed, heads, batch_first))
        return out

    @staticmethod
    def backward(ctx: Any, g: np.ndarray) -> tuple[Any, Any, Any, None]:
        a, b, c, p = ctx.saved_tensors
        sources: tuple[Any, ...] = (a, b, c)
        spec, heads, embed, bf, keep = ctx.spec, ctx.heads, ctx.embed, ctx.batch_first, ctx.keep
        needs = ctx.needs_input_grad
        grads: list[np.ndarray | None] = [None, None, None]
        for i, src in enumerate(sources):
            if src is not None and needs[i]:
                covered = sum(embed for j, _ in spec if j == i)
                grads[i] = (np.empty if covered == src.shape[-1] else np.zeros)(src.shape, src.dtype)

        def target(which: int) -> np.ndarray | None:
            i, off = spec[which]
            buf = grads[i]
            return None if buf is None else _heads(buf, off, embed, heads, bf)

        with no_fp_warnings():
            gh = _heads(g, 0, embed, heads, bf)
            qh, kh, vh = (_heads(sources[i], off, embed, heads, bf) for i, off in spec)
            dv = target(2)
            if dv is not None:
                np.matmul((p if keep is None else p * keep).swapaxes(-1, -2), gh, out=dv)
            dq, dk = target(0), target(1)
            if dq is not None or dk is not None:
                ds = _score_grad(gh, vh, p, keep)
                ds *= ds.dtype.type(ctx.scale)
                if dq is not None:
                    np.matmul(ds, kh, out=dq)
                if dk is not None:
                    np.matmul(ds.swapaxes(-1, -2), qh, out=dk)
        return grads[0], grads[1], grads[2], None
