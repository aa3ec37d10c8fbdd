"""Embedding lookup: rows of a weight matrix picked by integer indices (the functional form
behind nn/embedding.py).

The forward is one fancy-indexing read, ``weight[indices]``; the backward adds each output
row's gradient into the row it came from. Indices repeat (a word used twice in a batch), so
the adds must accumulate: ``np.add.at`` on the weight flattened to 1-D, which NumPy runs on
a fast path several times quicker than ``np.add.at`` on the 2-D rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import Function
from ..errors import ShapeError
from ..tensor import Tensor, as_tensor
from . import backmath

__all__ = ["embedding", "embedding_indices", "check_padding_idx"]


def embedding_indices(indices: Any, num_embeddings: int, op: str) -> np.ndarray:
    """``indices`` (an integer ndarray, a list, or a Tensor of whole numbers, of any shape) as
    an int64 ndarray, every value checked to lie in ``[0, num_embeddings)``."""
    values = np.asarray(indices._data if isinstance(indices, Tensor) else indices)
    kind = values.dtype.kind
    if kind == "b" or kind not in "iuf":
        raise TypeError(f"{op}: indices must be integers, not {values.dtype} values")
    if kind == "f":
        # A float Tensor of whole numbers (what a Tensor made from a list of ints holds) is
        # accepted; anything else would silently truncate, so it raises.
        whole = np.isfinite(values) & (values == np.round(values))
        if not whole.all():
            bad = values[~whole].flat[0]
            raise TypeError(f"{op}: indices must be whole numbers; got {float(bad)!r}")
    out = values.astype(np.int64, copy=False)
    if out.size:
        low, high = out.min(), out.max()
        if low < 0 or high >= num_embeddings:
            bad = low if low < 0 else high
            raise IndexError(
                f"{op}: index {int(bad)} is out of range for {num_embeddings} embeddings "
                f"(valid indices: 0 to {num_embeddings - 1})"
            )
    return out


def check_padding_idx(padding_idx: Any, num_embeddings: int, op: str) -> int | None:
    """``padding_idx`` in ``[0, num_embeddings)``; a negative one counts from the end, as PyTorch."""
    if padding_idx is None:
        return None
    if not isinstance(padding_idx, (int, np.integer)) or isinstance(padding_idx, bool):
        raise TypeError(f"{op}: padding_idx must be an int or None, not {padding_idx!r}")
    p = int(padding_idx)
    if not -num_embeddings <= p < num_embeddings:
        raise ValueError(
            f"{op}: padding_idx {p} is out of range for {num_embeddings} embeddings "
            f"(valid: {-num_embeddings} to {num_embeddings - 1})"
        )
    return p + num_embeddings if p < 0 else p


class Embedding(Function):
    """``weight[indices]``; backward scatters each output row's gradient back to its row,
    repeated indices adding up, and never into the ``padding_idx`` row."""

    __slots__ = ("indices", "weight_shape", "padding_idx")
    name = "embedding"
    differentiable_twice = True

    @staticmethod
    def forward(ctx: Any, weight: np.ndarray, indices: np.ndarray, padding_idx: int | None) -> np.ndarray:
        ctx.indices, ctx.weight_shape, ctx.padding_idx = indices, weight.shape, padding_idx
        return weight[indices]

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        indices, shape, padding_idx = ctx.indices, ctx.weight_shape, ctx.padding_idx
        if isinstance(g, Tensor):  # create_graph: the recorded scatter (its backward is a gather)
            out = backmath.scatter_add(g, indices, shape, False)
            if padding_idx is not None:
                keep = np.ones((shape[0], 1), g.dtype)
                keep[padding_idx] = 0
                out = out * keep
            return out, None, None
        num, dim = shape
        rows = indices.reshape(-1)
        flat = (rows[:, None] * dim + np.arange(dim)).reshape(-1)
        out = np.zeros(num * dim, g.dtype)
        np.add.at(out, flat, g.reshape(-1))
        out = out.reshape(shape)
        if padding_idx is not None:
            out[padding_idx] = 0
        return out, None, None


def embedding(input: Any, weight: Tensor, padding_idx: int | None = None) -> Tensor:
    """Rows of ``weight`` (shape ``(num_embeddings, embedding_dim)``) picked by the integer
    ``input`` (any shape): a Tensor of shape ``input.shape + (embedding_dim,)``, as
    ``torch.nn.functional.embedding``. The ``padding_idx`` row gets no gradient.

    >>> import microgradnn as mg
    >>> w = mg.Tensor([[0.0, 0.0], [1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    >>> out = mg.nn.functional.embedding([[2, 1], [2, 2]], w)
    >>> out.shape
    (2, 2, 2)
    >>> out.sum().backward()
    >>> w.grad.tolist()
    [[0.0, 0.0], [1.0, 1.0], [3.0, 3.0]]
    """
    weight = as_tensor(weight)
    if weight.ndim != 2:
        raise ShapeError(f"embedding: weight must be 2-D (num_embeddings, embedding_dim), got shape {weight.shape}")
    num = weight.shape[0]
    pad = check_padding_idx(padding_idx, num, "embedding")
    return Embedding.apply(weight, embedding_indices(input, num, "embedding"), pad)
