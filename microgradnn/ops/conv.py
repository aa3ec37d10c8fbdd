"""Convolutions (1-d and 2-d, plain and transposed) and unfold/fold, as PyTorch's functions.

Everything runs in 2-d: a 1-d signal ``(N, C, L)`` is an image of height 1. Two kernels on
ndarrays do the work:

* ``im2col`` copies every kernel window of the (zero-padded) input into one array laid out
  ``(N, C, kh, kw, Ho, Wo)``, through a strided view (``as_strided``); a convolution is then one
  matmul of the weight ``(O, C*kh*kw)`` with it, whose result is already ``(N, O, Ho*Wo)``.
* ``col2im`` is its adjoint: it adds the windows back onto the padded image, one strided slice
  per kernel offset (kh*kw whole-array adds, far quicker than ``np.add.at``), then crops the pad.

A convolution's input gradient is a col2im of ``weight.T @ grad``, its weight gradient one
matmul of the gradient with the columns kept from forward; a transposed convolution is the same
two steps the other way round. With ``create_graph=True`` the backward runs on Tensors through
``Unfold``/``Fold`` (each the other's backward) and matmul, so convolutions are differentiable
twice. Padding modes other than zeros pad first with ``F.pad``, as PyTorch does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..autograd import Function
from ..errors import ShapeError
from ..tensor import Tensor, as_tensor
from .pad import pad as f_pad

__all__ = ["conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d", "unfold", "fold"]


class Geometry(NamedTuple):
    """Kernel size, stride, dilation and zero padding (top, bottom, left, right) in 2-d."""

    kh: int
    kw: int
    sh: int
    sw: int
    dh: int
    dw: int
    top: int
    bottom: int
    left: int
    right: int

    def windows(self, h: int, w: int) -> tuple[int, int]:
        """How many windows fit along each axis of an ``h`` x ``w`` image (before padding)."""
        ho = (h + self.top + self.bottom - self.dh * (self.kh - 1) - 1) // self.sh + 1
        wo = (w + self.left + self.right - self.dw * (self.kw - 1) - 1) // self.sw + 1
        return ho, wo


# ------------------------------------------------------------------ the two ndarray kernels
def pad_array(x: np.ndarray, geo: Geometry, value: float = 0.0) -> np.ndarray:
    """``x`` (N, C, H, W) with ``geo``'s padding filled with ``value`` (``x`` itself without any)."""
    t, b, le, r = geo.top, geo.bottom, geo.left, geo.right
    if not (t or b or le or r):
        return x
    n, c, h, w = x.shape
    shape = (n, c, h + t + b, w + le + r)
    out = np.zeros(shape, x.dtype) if value == 0 else np.full(shape, value, x.dtype)
    out[:, :, t : t + h, le : le + w] = x
    return out


def window_view(xp: np.ndarray, geo: Geometry, windows: tuple[int, int]) -> np.ndarray:
    """A read-only strided view ``(N, C, kh, kw, Ho, Wo)`` of a padded image's windows."""
    n, c = xp.shape[:2]
    s_n, s_c, s_h, s_w = xp.strides
    return as_strided(
        xp,
        (n, c, geo.kh, geo.kw, windows[0], windows[1]),
        (s_n, s_c, s_h * geo.dh, s_w * geo.dw, s_h * geo.sh, s_w * geo.sw),
        writeable=False,
    )


def im2col(x: np.ndarray, geo: Geometry, windows: tuple[int, int] | None = None) -> np.ndarray:
    """Every window of ``x`` (N, C, H, W), copied into one contiguous ``(N, C, kh, kw, Ho, Wo)``."""
    if windows is None:
        windows = geo.windows(x.shape[2], x.shape[3])
    return np.ascontiguousarray(window_view(pad_array(x, geo), geo, windows))


def offset_slices(geo: Geometry, windows: tuple[int, int]) -> list[tuple[int, int, tuple[slice, slice]]]:
    """For each kernel offset (i, j), the strided slice of the padded image its windows read."""
    ho, wo = windows
    out = []
    for i in range(geo.kh):
        r0 = i * geo.dh
        rows = slice(r0, r0 + geo.sh * (ho - 1) + 1, geo.sh)
        for j in range(geo.kw):
            c0 = j * geo.dw
            out.append((i, j, (rows, slice(c0, c0 + geo.sw * (wo - 1) + 1, geo.sw))))
    return out


def col2im(cols: np.ndarray, geo: Geometry, hw: tuple[int, int]) -> np.ndarray:
    """The adjoint of :func:`im2col`: add ``cols`` (N, C, kh, kw, Ho, Wo) back onto an
    ``hw`` image (padding cropped)."""
    n, c, _, _, ho, wo = cols.shape
    h, w = hw
    hp, wp = h + geo.top + geo.bottom, w + geo.left + geo.right
    out = np.zeros((n, c, hp, wp), cols.dtype)
    overlap = geo.sh < geo.dh * (geo.kh - 1) + 1 or geo.sw < geo.dw * (geo.kw - 1) + 1
    for i, j, (rows, columns) in offset_slices(geo, (ho, wo)):
        if overlap:
            out[:, :, rows, columns] += cols[:, :, i, j]
        else:  # windows that never overlap: each cell is written once
            out[:, :, rows, columns] = cols[:, :, i, j]
    if hp == h and wp == w:
        return out
    return out[:, :, geo.top : geo.top + h, geo.left : geo.left + w]


# ------------------------------------------------------------------ unfold / fold
class Unfold(Function):
    """im2col as an op: (N, C, H, W) -> (N, C*kh*kw, Ho*Wo). Its backward is :class:`Fold`."""

    __slots__ = ("geo", "hw", "windows")
    name = "unfold"
    differentiable_twice = True

    @staticmethod
    def forward(ctx: Any, x: np.ndarray, geo: Geometry, windows: tuple[int, int] | None = None) -> np.ndarray:
        cols = im2col(x, geo, windows)
        n, c, kh, kw, ho, wo = cols.shape
        ctx.geo, ctx.hw, ctx.windows = geo, x.shape[2:], (ho, wo)
        return cols.reshape(n, c * kh * kw, ho * wo)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        if isinstance(g, Tensor):
            return Fold.apply(g, geo=ctx.geo, hw=ctx.hw, windows=ctx.windows)
        return Fold.forward(object.__new__(Fold), g, ctx.geo, ctx.hw, ctx.windows)


class Fold(Function):
    """col2im as an op: (N, C*kh*kw, Ho*Wo) -> (N, C, H, W). Its backward is :class:`Unfold`."""

    __slots__ = ("geo", "windows")
    name = "fold"
    differentiable_twice = True

    @staticmethod
    def forward(ctx: Any, cols: np.ndarray, geo: Geometry, hw: tuple[int, int], windows: tuple[int, int]) -> np.ndarray:
        ctx.geo, ctx.windows = geo, windows
        n, ckk = cols.shape[:2]
        c = ckk // (geo.kh * geo.kw)
        return col2im(cols.reshape(n, c, geo.kh, geo.kw, windows[0], windows[1]), geo, hw)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        if isinstance(g, Tensor):
            return Unfold.apply(g, geo=ctx.geo, windows=ctx.windows)
        return Unfold.forward(object.__new__(Unfold), g, ctx.geo, ctx.windows)


# ------------------------------------------------------------------ convolution
class Convolution(Function):
    """Cross-correlation of x (N, C, H, W) with weight (O, C/groups, kh, kw), plus bias."""

    __slots__ = ("geo", "groups", "windows")
    name = "conv"
    may_warn = True
    differentiable_twice = True

    @staticmethod
    def forward(ctx: Any, x: np.ndarray, w: np.ndarray, b: Any, geo: Geometry, groups: int) -> np.ndarray:
        cols = im2col(x, geo)
        n, c, kh, kw, ho, wo = cols.shape
        o = w.shape[0]
        ctx.geo, ctx.groups, ctx.windows = geo, groups, (ho, wo)
        if groups == 1:
            y = w.reshape(o, c * kh * kw) @ cols.reshape(n, c * kh * kw, ho * wo)
        else:
            k = c // groups * kh * kw
            y = w.reshape(groups, o // groups, k) @ cols.reshape(n, groups, k, ho * wo)
        y = y.reshape(n, o, ho, wo)
        if b is not None:
            y += b.reshape(1, o, 1, 1)
        # The columns are kept for the weight gradient (recomputing them costs a second copy).
        ctx.save_for_backward(x, w, b, cols)
        return y

    @staticmethod
    def backward(ctx: Any, g: Any) -> tuple[Any, Any, Any]:
        x, w, b, cols = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad
        groups, geo = ctx.groups, ctx.geo
        n, o, ho, wo = g.shape
        c = x.shape[1]
        k = c // groups * geo.kh * geo.kw
        g4 = g.reshape(n, groups, o // groups, ho * wo)
        w3 = w.reshape(groups, o // groups, k)
        if isinstance(g, Tensor):  # create_graph: the same formulas, recorded
            cols = Unfold.apply(x, geo=geo).reshape(n, groups, k, ho * wo)
        else:
            cols = cols.reshape(n, groups, k, ho * wo)
        dx: Any = None
        dw: Any = None
        db: Any = None
        if need_w:
            dw = (g4 @ cols.swapaxes(-1, -2)).sum(axis=0).reshape(w.shape)
        if need_b:
            db = g.sum(axis=(0, 2, 3))
        if need_x:
            dcols = (w3.swapaxes(-1, -2) @ g4).reshape(n, c * geo.kh * geo.kw, ho * wo)
            if isinstance(dcols, Tensor):
                dx = Fold.apply(dcols, geo=geo, hw=x.shape[2:], windows=ctx.windows)
            else:
                dx = Fold.forward(object.__new__(Fold), dcols, geo, x.shape[2:], ctx.windows)
        return dx, dw, db


class TransposedConvolution(Function):
    """The adjoint of :class:`Convolution` in its input: x (N, Cin, H, W) and weight
    (Cin, Cout/groups, kh, kw) give (N, Cout, *hw), plus bias."""

    __slots__ = ("geo", "groups", "hw")
    name = "conv_transpose"
    may_warn = True
    differentiable_twice = True

    @staticmethod
    def forward(
        ctx: Any, x: np.ndarray, w: np.ndarray, b: Any, geo: Geometry, groups: int, hw: tuple[int, int]
    ) -> np.ndarray:
        n, cin, h, wd = x.shape
        cout_g = w.shape[1]
        k = cout_g * geo.kh * geo.kw
        ctx.geo, ctx.groups, ctx.hw = geo, groups, hw
        w3 = w.reshape(groups, cin // groups, k)
        cols = w3.swapaxes(-1, -2) @ x.reshape(n, groups, cin // groups, h * wd)
        y = col2im(cols.reshape(n, groups * cout_g, geo.kh, geo.kw, h, wd), geo, hw)
        if b is not None:
            y += b.reshape(1, -1, 1, 1)
        ctx.save_for_backward(x, w, b)
        return y

    @staticmethod
    def backward(ctx: Any, g: Any) -> tuple[Any, Any, Any]:
        x, w, b = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad
        groups, geo = ctx.groups, ctx.geo
        n, cin, h, wd = x.shape
        k = w.shape[1] * geo.kh * geo.kw
        gcols: Any
        if isinstance(g, Tensor):
            gcols = Unfold.apply(g, geo=geo, windows=(h, wd))
        else:
            gcols = im2col(g, geo, (h, wd))
        gcols = gcols.reshape(n, groups, k, h * wd)
        dx = dw = db = None
        if need_x:
            dx = (w.reshape(groups, cin // groups, k) @ gcols).reshape(x.shape)
        if need_w:
            x4 = x.reshape(n, groups, cin // groups, h * wd)
            dw = (x4 @ gcols.swapaxes(-1, -2)).sum(axis=0).reshape(w.shape)
        if need_b:
            db = g.sum(axis=(0, 2, 3))
        return dx, dw, db


# ------------------------------------------------------------------ argument handling
def tuple_arg(value: Any, n: int, what: str, op: str, minimum: int = 1) -> tuple[int, ...]:
    """An int or a sequence of ``n`` ints (each at least ``minimum``), as a tuple of ``n`` ints."""
    values = (value,) * n if isinstance(value, (int, np.integer)) else tuple(value)
    if len(values) != n or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in values):
        raise ValueError(f"{op}: {what} must be an int or a tuple of {n} ints, got {value!r}")
    if any(v < minimum for v in values):
        raise ValueError(f"{op}: {what} must be at least {minimum}, got {value!r}")
    return tuple(int(v) for v in values)


def padding_pairs(
    padding: Any, n: int, kernel: Sequence[int], dilation: Sequence[int], stride: Sequence[int], op: str
) -> tuple[tuple[int, int], ...]:
    """(before, after) zero-padding per spatial dim, from ints, a tuple, ``"valid"`` or ``"same"``.

    ``"same"`` splits the total pad ``d*(k-1)`` as PyTorch does: the extra one on the right.
    """
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * n
        if padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError(f"{op}: padding='same' is not supported for strided convolutions (stride {stride})")
            totals = [d * (k - 1) for k, d in zip(kernel, dilation, strict=True)]
            return tuple((t // 2, t - t // 2) for t in totals)
        raise ValueError(f"{op}: padding must be 'valid', 'same', an int or a tuple of ints, got {padding!r}")
    return tuple((p, p) for p in tuple_arg(padding, n, "padding", op, minimum=0))


def geometry(
    kernel: Sequence[int], stride: Sequence[int], dilation: Sequence[int], pads: Sequence[tuple[int, int]]
) -> Geometry:
    """A :class:`Geometry` from per-dim values of 1 or 2 spatial dims (1-d: height 1)."""
    if len(kernel) == 1:
        return Geometry(1, kernel[0], 1, stride[0], 1, dilation[0], 0, 0, pads[0][0], pads[0][1])
    return Geometry(
        kernel[0],
        kernel[1],
        stride[0],
        stride[1],
        dilation[0],
        dilation[1],
        pads[0][0],
        pads[0][1],
        pads[1][0],
        pads[1][1],
    )


def as_batch(x: Tensor, nd: int, op: str, what: str = "input") -> tuple[Tensor, bool]:
    """``x`` with a batch dim (an unbatched input gets one) and, for 1-d, a unit height."""
    if x.ndim not in (nd + 1, nd + 2):
        layout = "(N, C, L) or (C, L)" if nd == 1 else "(N, C, H, W) or (C, H, W)"
        raise ShapeError(f"{op}: expected a {nd + 2}-d {what} {layout}, got shape {x.shape}")
    unbatched = x.ndim == nd + 1
    if unbatched:
        x = x.unsqueeze(0)
    if nd == 1:
        x = x.reshape(x.shape[0], x.shape[1], 1, x.shape[2])
    return x, unbatched


def from_batch(y: Tensor, nd: int, unbatched: bool) -> Tensor:
    """Undo :func:`as_batch` on a result."""
    if nd == 1:
        y = y.reshape(y.shape[0], y.shape[1], y.shape[3])
    return y.reshape(y.shape[1:]) if unbatched else y


_PAD_MODES = ("zeros", "reflect", "replicate", "circular")


def convolution(
    input: Any,
    weight: Any,
    bias: Any,
    stride: Any,
    padding: Any,
    dilation: Any,
    groups: int,
    nd: int,
    op: str,
    padding_mode: str = "zeros",
) -> Tensor:
    """conv1d / conv2d (and the Conv modules, which pass their class name as ``op``)."""
    x, w = as_tensor(input), as_tensor(weight)
    if w.ndim != nd + 2:
        raise ShapeError(f"{op}: weight must have {nd + 2} dims (out, in/groups, k...), got shape {w.shape}")
    if not isinstance(groups, (int, np.integer)) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive int, got {groups!r}")
    if padding_mode not in _PAD_MODES:
        raise ValueError(f"{op}: padding_mode must be one of {', '.join(_PAD_MODES)}, got {padding_mode!r}")
    kernel = w.shape[2:]
    stride_t = tuple_arg(stride, nd, "stride", op)
    dilation_t = tuple_arg(dilation, nd, "dilation", op)
    pairs = padding_pairs(padding, nd, kernel, dilation_t, stride_t, op)
    if w.shape[0] % groups:
        raise ValueError(f"{op}: out_channels {w.shape[0]} (weight {w.shape}) is not divisible by groups {groups}")
    xb, unbatched = as_batch(x, nd, op)
    channels = w.shape[1] * groups
    if xb.shape[1] != channels:
        raise ShapeError(
            f"{op}: expected input with {channels} channels (weight of shape {w.shape}, groups {groups}), "
            f"got input of shape {x.shape}"
        )
    if bias is not None:
        bias = as_tensor(bias)
        if bias.shape != (w.shape[0],):
            raise ShapeError(f"{op}: bias must have shape ({w.shape[0]},) for weight {w.shape}, got {bias.shape}")
    spatial = x.shape[-nd:]
    padded = tuple(n + a + b for n, (a, b) in zip(spatial, pairs, strict=True))
    reach = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation_t, strict=True))
    if any(r > p for r, p in zip(reach, padded, strict=True)):
        raise ShapeError(
            f"{op}: kernel size {tuple(kernel)} (dilated {reach}) is larger than the padded input "
            f"{padded} (input of shape {x.shape}, padding {tuple(pairs)})"
        )
    if padding_mode != "zeros" and any(a or b for a, b in pairs):
        widths = [v for a, b in reversed(pairs) for v in (a, b)]  # F.pad lists the last dim first
        xb = f_pad(xb, widths, mode=padding_mode)
        pairs = ((0, 0),) * nd
    if nd == 1:
        w = w.reshape(w.shape[0], w.shape[1], 1, w.shape[2])
    geo = geometry(kernel, stride_t, dilation_t, pairs)
    y = Convolution.apply(xb, w, bias, geo=geo, groups=int(groups))
    return from_batch(y, nd, unbatched)


def transposed_convolution(
    input: Any,
    weight: Any,
    bias: Any,
    stride: Any,
    padding: Any,
    output_padding: Any,
    groups: int,
    dilation: Any,
    nd: int,
    op: str,
) -> Tensor:
    """conv_transpose1d / conv_transpose2d (and the ConvTranspose modules)."""
    x, w = as_tensor(input), as_tensor(weight)
    if w.ndim != nd + 2:
        raise ShapeError(f"{op}: weight must have {nd + 2} dims (in, out/groups, k...), got shape {w.shape}")
    if not isinstance(groups, (int, np.integer)) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive int, got {groups!r}")
    kernel = w.shape[2:]
    stride_t = tuple_arg(stride, nd, "stride", op)
    dilation_t = tuple_arg(dilation, nd, "dilation", op)
    if isinstance(padding, str):
        raise ValueError(f"{op}: padding must be an int or a tuple of ints (no 'same'/'valid'), got {padding!r}")
    pad_t = tuple_arg(padding, nd, "padding", op, minimum=0)
    extra = tuple_arg(output_padding, nd, "output_padding", op, minimum=0)
    for e, s, d in zip(extra, stride_t, dilation_t, strict=True):
        if e >= s and e >= d:
            raise ValueError(
                f"{op}: output_padding {extra} must be smaller than either stride {stride_t} or dilation {dilation_t}"
            )
    if w.shape[0] % groups:
        raise ValueError(f"{op}: in_channels {w.shape[0]} (weight {w.shape}) is not divisible by groups {groups}")
    xb, unbatched = as_batch(x, nd, op)
    if xb.shape[1] != w.shape[0]:
        raise ShapeError(
            f"{op}: expected input with {w.shape[0]} channels (weight of shape {w.shape}), got input of shape {x.shape}"
        )
    out_channels = w.shape[1] * groups
    if bias is not None:
        bias = as_tensor(bias)
        if bias.shape != (out_channels,):
            raise ShapeError(f"{op}: bias must have shape ({out_channels},) for weight {w.shape}, got {bias.shape}")
    spatial = x.shape[-nd:]
    out = tuple(
        (n - 1) * s - 2 * p + d * (k - 1) + e + 1
        for n, s, p, d, k, e in zip(spatial, stride_t, pad_t, dilation_t, kernel, extra, strict=True)
    )
    if any(v < 1 for v in out):
        raise ShapeError(f"{op}: input of shape {x.shape} gives an output of size {out}, which is too small")
    if nd == 1:
        w = w.reshape(w.shape[0], w.shape[1], 1, w.shape[2])
    geo = geometry(kernel, stride_t, dilation_t, [(p, p) for p in pad_t])
    hw = (1, out[0]) if nd == 1 else (out[0], out[1])
    y = TransposedConvolution.apply(xb, w, bias, geo=geo, groups=int(groups), hw=hw)
    return from_batch(y, nd, unbatched)


# ------------------------------------------------------------------ the public functions
def conv1d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: int | Sequence[int] = 1,
    padding: int | Sequence[int] | str = 0,
    dilation: int | Sequence[int] = 1,
    groups: int = 1,
) -> Tensor:
    """1-d cross-correlation of ``input`` (N, C, L) or (C, L) with ``weight``
    (out, C/groups, k), as ``torch.nn.functional.conv1d``; ``padding`` may be ``"same"`` or
    ``"valid"``.

    >>> import microgradnn as mg
    >>> x = mg.Tensor([[[1.0, 2.0, 3.0, 4.0]]])
    >>> mg.nn.functional.conv1d(x, mg.Tensor([[[1.0, -1.0]]])).tolist()
    [[[-1.0, -1.0, -1.0]]]
    """
    return convolution(input, weight, bias, stride, padding, dilation, groups, 1, "conv1d")


def conv2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: int | Sequence[int] = 1,
    padding: int | Sequence[int] | str = 0,
    dilation: int | Sequence[int] = 1,
    groups: int = 1,
) -> Tensor:
    """2-d cross-correlation of ``input`` (N, C, H, W) or (C, H, W) with ``weight``
    (out, C/groups, kh, kw), as ``torch.nn.functional.conv2d``.

    >>> import microgradnn as mg
    >>> x = mg.ones((1, 1, 3, 3))
    >>> mg.nn.functional.conv2d(x, mg.ones((2, 1, 2, 2)), padding="same").shape
    (1, 2, 3, 3)
    """
    return convolution(input, weight, bias, stride, padding, dilation, groups, 2, "conv2d")


def conv_transpose1d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: int | Sequence[int] = 1,
    padding: int | Sequence[int] = 0,
    output_padding: int | Sequence[int] = 0,
    groups: int = 1,
    dilation: int | Sequence[int] = 1,
) -> Tensor:
    """1-d transposed convolution of ``input`` (N, Cin, L) with ``weight`` (Cin, out/groups, k),
    as ``torch.nn.functional.conv_transpose1d``: output length
    ``(L - 1) * stride - 2 * padding + dilation * (k - 1) + output_padding + 1``.

    >>> import microgradnn as mg
    >>> mg.nn.functional.conv_transpose1d(mg.Tensor([[[1.0, 2.0]]]), mg.Tensor([[[1.0, 1.0]]])).tolist()
    [[[1.0, 3.0, 2.0]]]
    """
    return transposed_convolution(
        input, weight, bias, stride, padding, output_padding, groups, dilation, 1, "conv_transpose1d"
    )


def conv_transpose2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: int | Sequence[int] = 1,
    padding: int | Sequence[int] = 0,
    output_padding: int | Sequence[int] = 0,
    groups: int = 1,
    dilation: int | Sequence[int] = 1,
) -> Tensor:
    """2-d transposed convolution of ``input`` (N, Cin, H, W) with ``weight``
    (Cin, out/groups, kh, kw), as ``torch.nn.functional.conv_transpose2d``.

    >>> import microgradnn as mg
    >>> mg.nn.functional.conv_transpose2d(mg.ones((1, 1, 2, 2)), mg.ones((1, 3, 2, 2)), stride=2).shape
    (1, 3, 4, 4)
    """
    return transposed_convolution(
        input, weight, bias, stride, padding, output_padding, groups, dilation, 2, "conv_transpose2d"
    )


def _unfold_geometry(kernel_size: Any, dilation: Any, padding: Any, stride: Any, op: str) -> Geometry:
    kernel = tuple_arg(kernel_size, 2, "kernel_size", op)
    pads = tuple_arg(padding, 2, "padding", op, minimum=0)
    return geometry(
        kernel, tuple_arg(stride, 2, "stride", op), tuple_arg(dilation, 2, "dilation", op), [(p, p) for p in pads]
    )


def unfold(
    input: Tensor,
    kernel_size: int | Sequence[int],
    dilation: int | Sequence[int] = 1,
    padding: int | Sequence[int] = 0,
    stride: int | Sequence[int] = 1,
) -> Tensor:
    """Every sliding window of ``input`` (N, C, H, W) or (C, H, W) as a column:
    (N, C*kh*kw, L) with L the number of windows, as ``torch.nn.functional.unfold``.

    >>> import microgradnn as mg
    >>> mg.nn.functional.unfold(mg.ones((2, 3, 4, 4)), 2).shape
    (2, 12, 9)
    """
    geo = _unfold_geometry(kernel_size, dilation, padding, stride, "unfold")
    x, unbatched = as_batch(as_tensor(input), 2, "unfold")
    h, w = x.shape[2] + geo.top + geo.bottom, x.shape[3] + geo.left + geo.right
    if geo.dh * (geo.kh - 1) + 1 > h or geo.dw * (geo.kw - 1) + 1 > w:
        raise ShapeError(f"unfold: kernel {(geo.kh, geo.kw)} (dilated) is larger than the padded input {(h, w)}")
    y = Unfold.apply(x, geo=geo)
    return y.reshape(y.shape[1:]) if unbatched else y


def fold(
    input: Tensor,
    output_size: int | Sequence[int],
    kernel_size: int | Sequence[int],
    dilation: int | Sequence[int] = 1,
    padding: int | Sequence[int] = 0,
    stride: int | Sequence[int] = 1,
) -> Tensor:
    """Sum columns (N, C*kh*kw, L) back into an image (N, C, H, W) of ``output_size``
    (overlapping windows add up), as ``torch.nn.functional.fold``: the adjoint of :func:`unfold`.

    >>> import microgradnn as mg
    >>> mg.nn.functional.fold(mg.ones((1, 4, 4)), (3, 3), 2).data[0, 0].tolist()
    [[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]]
    """
    geo = _unfold_geometry(kernel_size, dilation, padding, stride, "fold")
    hw = tuple_arg(output_size, 2, "output_size", "fold")
    x = as_tensor(input)
    if x.ndim not in (2, 3):
        raise ShapeError(f"fold: expected a 3-d input (N, C*kh*kw, L) or 2-d (C*kh*kw, L), got shape {x.shape}")
    unbatched = x.ndim == 2
    if unbatched:
        x = x.unsqueeze(0)
    kk = geo.kh * geo.kw
    windows = geo.windows(*hw)
    if x.shape[1] % kk or x.shape[2] != windows[0] * windows[1] or min(windows) < 1:
        raise ShapeError(
            f"fold: input of shape {input.shape} does not fit output_size {hw} with kernel {(geo.kh, geo.kw)}: "
            f"expected dim 1 a multiple of {kk} and {max(windows[0], 0) * max(windows[1], 0)} windows in the last dim"
        )
    y = Fold.apply(x, geo=geo, hw=hw, windows=windows)
    return y.reshape(y.shape[1:]) if unbatched else y
