"""Padding: PyTorch's ``F.pad`` (pairs of widths, last dim first; negative widths crop) and
NumPy's ``pad`` (one ``(before, after)`` pair per axis, in any of NumPy's broadcast forms).

A constant pad writes the input into a filled array (backward: the slice it was written to).
The other modes pick, for each output position, the input position it copies (reflected,
clamped to the edge, or wrapped around): a gather along each padded dim, whose backward adds
the copies' gradients back.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..autograd import Function
from ..errors import ShapeError
from ..tensor import Tensor
from .shape import GetItem

__all__ = ["pad", "numpy_pad"]


class ConstantPad(Function):
    __slots__ = ("inner",)
    name = "pad"
    differentiable_twice = True

    @staticmethod
    def forward(ctx: Any, x: np.ndarray, widths: tuple[tuple[int, int], ...], value: float) -> np.ndarray:
        shape = tuple(n + a + b for n, (a, b) in zip(x.shape, widths, strict=True))
        out = np.full(shape, value, dtype=x.dtype)
        ctx.inner = tuple(slice(a, a + n) for n, (a, _) in zip(x.shape, widths, strict=True))
        out[ctx.inner] = x
        return out

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return g[ctx.inner]


def _source(mode: str, positions: np.ndarray, n: int) -> np.ndarray:
    """The input position each output position copies (positions run from -before to n+after)."""
    if mode in ("replicate", "edge"):
        return np.clip(positions, 0, n - 1)
    if mode in ("circular", "wrap"):
        return positions % n
    if mode == "reflect":  # mirror without repeating the edge: period 2(n - 1)
        if n == 1:
            return np.zeros_like(positions)
        m = positions % (2 * n - 2)
        return np.where(m < n, m, 2 * n - 2 - m)
    m = positions % (2 * n)  # symmetric: mirror repeating the edge, period 2n
    return np.where(m < n, m, 2 * n - 1 - m)


def _pad(x: Tensor, widths: list[tuple[int, int]], mode: str, value: float, op: str) -> Tensor:
    """Pad (or, for negative widths, crop) each dim of ``x`` by its ``(before, after)`` pair."""
    for d, ((before, after), n) in enumerate(zip(widths, x.shape, strict=True)):
        if n + before + after < 0 or (before < 0 and -before > n) or (after < 0 and -after > n):
            raise ShapeError(
                f"{op}: pads ({before}, {after}) crop more than the {n} entries of dim {d} (shape {x.shape})"
            )
        if mode != "constant" and n == 0 and (before > 0 or after > 0):
            raise ShapeError(f"{op}: mode {mode!r} cannot pad dim {d} of size 0 (shape {x.shape})")
    if mode == "constant":
        # Crop first (a view), then pad what is positive.
        crop = tuple(slice(max(-b, 0), n - max(-a, 0)) for n, (b, a) in zip(x.shape, widths, strict=True))
        if any(b < 0 or a < 0 for b, a in widths):
            x = GetItem.apply(x, index=crop)
        positive = tuple((max(b, 0), max(a, 0)) for b, a in widths)
        if not any(b or a for b, a in positive):
            return x
        return ConstantPad.apply(x, widths=positive, value=value)
    for d, (before, after) in enumerate(widths):
        if before or after:
            positions = np.arange(-before, x.shape[d] + after)
            index = (slice(None),) * d + (_source(mode, positions, x.shape[d]),)
            x = GetItem.apply(x, index=index)
    return x


_TORCH_MODES = ("constant", "reflect", "replicate", "circular")


def pad(input: Tensor, pad: Sequence[int], mode: str = "constant", value: float | None = None) -> Tensor:
    """Pad ``input`` as ``torch.nn.functional.pad``: ``pad`` lists ``(before, after)`` widths
    for the last dim first, then the one before it, and so on; negative widths crop. Modes:
    ``"constant"`` (with ``value``, default 0), ``"reflect"``, ``"replicate"``, ``"circular"``.

    >>> import microgradnn as mg
    >>> mg.nn.functional.pad(mg.Tensor([[1.0, 2.0]]), (1, 2)).tolist()
    [[0.0, 1.0, 2.0, 0.0, 0.0]]
    >>> mg.nn.functional.pad(mg.Tensor([1.0, 2.0, 3.0]), (2, -1), mode="reflect").tolist()
    [3.0, 2.0, 1.0, 2.0]
    """
    if mode not in _TORCH_MODES:
        raise ValueError(f"pad: mode must be one of {', '.join(_TORCH_MODES)}, not {mode!r}")
    widths = list(pad)
    if len(widths) % 2 or len(widths) > 2 * input.ndim or not all(isinstance(w, (int, np.integer)) for w in widths):
        raise ShapeError(
            f"pad: pad must be an even number of ints, at most two per dim, got {tuple(widths)} "
            f"for a tensor of shape {input.shape}"
        )
    if mode != "constant" and value not in (None, 0):
        raise ValueError(f"pad: value applies to mode 'constant' only, not {mode!r}")
    pairs = [(0, 0)] * input.ndim
    for i in range(len(widths) // 2):
        pairs[input.ndim - 1 - i] = (int(widths[2 * i]), int(widths[2 * i + 1]))
    return _pad(input, pairs, mode, 0.0 if value is None else value, "pad")


_NUMPY_MODES = {
    "constant": "constant",
    "edge": "replicate",
    "reflect": "reflect",
    "symmetric": "symmetric",
    "wrap": "circular",
}


def numpy_pad(array: Tensor, pad_width: Any, mode: str = "constant", constant_values: Any = 0) -> Tensor:
    """Pad as ``np.pad``: ``pad_width`` is one ``(before, after)`` pair per axis, or one pair
    (or one int) for every axis; ``constant_values`` one number, or pairs in the same forms.
    Modes ``"constant"``, ``"edge"``, ``"reflect"``, ``"symmetric"``, ``"wrap"``. Exported as
    ``mg.pad``.

    >>> import microgradnn as mg
    >>> mg.pad(mg.Tensor([1.0, 2.0]), (1, 2), mode="edge").tolist()
    [1.0, 1.0, 2.0, 2.0, 2.0]
    """
    if mode not in _NUMPY_MODES:
        raise ValueError(f"pad: mode must be one of {', '.join(_NUMPY_MODES)}, not {mode!r}")
    widths = np.asarray(pad_width)
    if widths.dtype.kind not in "iu":
        raise TypeError(f"pad: pad_width must hold ints, got {pad_width!r}")
    try:
        pairs = np.broadcast_to(widths, (array.ndim, 2))
    except ValueError:
        raise ShapeError(f"pad: pad_width {pad_width!r} does not fit a tensor of shape {array.shape}") from None
    if (pairs < 0).any():
        raise ValueError(f"pad: pad_width {pad_width!r} has negative widths (F.pad crops with them; np.pad does not)")
    widths_list = [(int(b), int(a)) for b, a in pairs]
    values = np.asarray(constant_values._data if isinstance(constant_values, Tensor) else constant_values)
    if values.ndim == 0:
        return _pad(array, widths_list, _NUMPY_MODES[mode], float(values), "pad")
    if mode != "constant":
        raise ValueError(f"pad: constant_values is for mode='constant', not {mode!r}")
    try:
        values = np.broadcast_to(values, (array.ndim, 2))
    except ValueError:
        raise ShapeError(
            f"pad: constant_values {constant_values!r} does not fit a tensor of shape {array.shape}"
        ) from None
    # Pad with zeros, then add the constants where np.pad puts them (itself, on zeros: the
    # corners follow NumPy's rule, later axes last). The constants are not differentiated.
    border = np.pad(np.zeros(array.shape, array.dtype), widths_list, mode="constant", constant_values=values)
    return _pad(array, widths_list, "constant", 0.0, "pad") + Tensor._wrap(border, None)
