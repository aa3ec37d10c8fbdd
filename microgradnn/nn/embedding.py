"""Embedding: a lookup table of learnable vectors, one row per token id."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..creation import default_generator
from ..errors import ShapeError
from ..ops.embedding import Embedding as EmbeddingOp
from ..ops.embedding import check_padding_idx, embedding_indices
from ..tensor import DTypeLike, Tensor, as_float_array
from .module import Module, Parameter

__all__ = ["Embedding"]


def _count(value: Any, what: str) -> int:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 0:
        raise ValueError(f"Embedding: {what} must be a non-negative int, got {value!r}")
    return int(value)


class Embedding(Module):
    """A table of ``num_embeddings`` vectors of size ``embedding_dim``: ``weight`` of shape
    ``(num_embeddings, embedding_dim)``, drawn from N(0, 1) as PyTorch's.

    Call it on integer indices of any shape (an integer ndarray, a list, or a Tensor of whole
    numbers) to get ``indices.shape + (embedding_dim,)``. Repeated indices accumulate their
    gradients. The ``padding_idx`` row (negative counts from the end) starts at zero and never
    gets a gradient.

    >>> import microgradnn as mg, numpy as np
    >>> emb = mg.nn.Embedding(10, 3, padding_idx=0, rng=np.random.default_rng(0))
    >>> out = emb([[1, 2, 0], [4, 0, 9]])
    >>> out.shape, out.data[0, 2].tolist()
    ((2, 3, 3), [0.0, 0.0, 0.0])
    """

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: int | None = None,
        dtype: DTypeLike = None,
        rng: np.random.Generator | None = None,
    ) -> None:
        super().__init__()
        self.num_embeddings = _count(num_embeddings, "num_embeddings")
        self.embedding_dim = _count(embedding_dim, "embedding_dim")
        self.padding_idx = check_padding_idx(padding_idx, self.num_embeddings, "Embedding")
        dt = as_float_array(np.empty(0), np.float64 if dtype is None else dtype, "Embedding").dtype
        gen = rng if rng is not None else default_generator()
        weight = gen.standard_normal((self.num_embeddings, self.embedding_dim)).astype(dt)
        if self.padding_idx is not None:
            weight[self.padding_idx] = 0
        self.weight = Parameter(weight)

    @classmethod
    def from_pretrained(cls, embeddings: Any, freeze: bool = True, padding_idx: int | None = None) -> Embedding:
        """An Embedding whose weight is a copy of ``embeddings`` (2-D), frozen (no gradient)
        unless ``freeze=False``. The ``padding_idx`` row is kept as given, as in PyTorch, and
        gets no gradient.

        >>> import microgradnn as mg
        >>> emb = mg.nn.Embedding.from_pretrained([[1.0, 2.0], [3.0, 4.0]])
        >>> emb([1]).tolist(), emb.weight.requires_grad
        ([[3.0, 4.0]], False)
        """
        weight = as_float_array(embeddings, None, "Embedding.from_pretrained")
        if weight.ndim != 2:
            raise ShapeError(
                f"Embedding.from_pretrained: embeddings must be 2-D (num_embeddings, embedding_dim), "
                f"got shape {weight.shape}"
            )
        # Built without __init__: its random draw of a full table would be thrown away.
        layer = cls.__new__(cls)
        Module.__init__(layer)
        layer.num_embeddings, layer.embedding_dim = weight.shape
        layer.padding_idx = check_padding_idx(padding_idx, weight.shape[0], "Embedding.from_pretrained")
        layer.weight = Parameter(weight, requires_grad=not freeze)
        return layer

    def forward(self, input: Any) -> Tensor:
        """The rows of ``weight`` at ``input``."""
        indices = embedding_indices(input, self.num_embeddings, "Embedding")
        return EmbeddingOp.apply(self.weight, indices, self.padding_idx)

    def extra_repr(self) -> str:
        pad = "" if self.padding_idx is None else f", padding_idx={self.padding_idx}"
        return f"{self.num_embeddings}, {self.embedding_dim}{pad}"
