"""Pooling and resizing, as PyTorch's functions: max and average pooling (1-d and 2-d, with
ceil_mode, padding, dilation and PyTorch's flat indices), adaptive pooling, and interpolate.

Max and average pooling read the windows through the same strided view as the convolutions
(``ops/conv.py``), one kernel offset at a time: kh*kw whole-array comparisons or adds, no copy
of the windows. Their backward puts the gradient back with one strided slice per offset; with
``create_graph=True`` it runs on Tensors through ``Fold`` instead, so both are differentiable
twice. Adaptive average pooling and linear interpolation are separable: each is a constant
matrix on the rows and another on the columns (two matmuls, recorded like any other).
Nearest interpolation and adaptive max pooling gather with an index (``getitem``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..autograd import Function
from ..errors import ShapeError
from ..tensor import Tensor, as_tensor
from .conv import Fold, Geometry, as_batch, from_batch, geometry, offset_slices, pad_array, tuple_arg, window_view
from .linalg import matmul

__all__ = [
    "max_pool1d",
    "max_pool2d",
    "avg_pool1d",
    "avg_pool2d",
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "adaptive_max_pool2d",
    "interpolate",
]


# ------------------------------------------------------------------ window arithmetic
def pool_size(n: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    """PyTorch's pooling output size: with ``ceil_mode`` a last partial window counts when it
    starts inside the input or its left padding."""
    span = n + 2 * p - d * (k - 1) - 1
    out = (span + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1
    return out


def _pool_setup(
    x: Tensor,
    kernel_size: Any,
    stride: Any,
    padding: Any,
    dilation: Any,
    ceil_mode: bool,
    nd: int,
    op: str,
) -> tuple[Tensor, bool, Geometry, tuple[int, int]]:
    """Check a pooling call; return the batched 2-d input, its geometry and window counts."""
    x = as_tensor(x)
    kernel = tuple_arg(kernel_size, nd, "kernel_size", op)
    strides = kernel if stride is None or (not isinstance(stride, int) and len(stride) == 0) else stride
    stride_t = tuple_arg(strides, nd, "stride", op)
    pad_t = tuple_arg(padding, nd, "padding", op, minimum=0)
    dilation_t = tuple_arg(dilation, nd, "dilation", op)
    if any(p > k // 2 for p, k in zip(pad_t, kernel, strict=True)):
        raise ValueError(f"{op}: padding {pad_t} must be at most half of kernel_size {kernel}")
    xb, unbatched = as_batch(x, nd, op)
    spatial = x.shape[-nd:]
    outs = tuple(
        pool_size(n, k, s, p, d, ceil_mode)
        for n, k, s, p, d in zip(spatial, kernel, stride_t, pad_t, dilation_t, strict=True)
    )
    if any(o < 1 for o in outs):
        raise ShapeError(
            f"{op}: kernel_size {kernel} (dilation {dilation_t}, padding {pad_t}) does not fit input of "
            f"shape {x.shape}: the output size would be {outs}"
        )
    # Right/bottom padding: as much as the last window reaches (ceil_mode can reach further
    # than `padding`), never less than zero.
    pairs = [
        (p, max(0, (o - 1) * s + d * (k - 1) + 1 - n - p))
        for n, k, s, p, d, o in zip(spatial, kernel, stride_t, pad_t, dilation_t, outs, strict=True)
    ]
    geo = geometry(kernel, stride_t, dilation_t, pairs)
    windows = (1, outs[0]) if nd == 1 else (outs[0], outs[1])
    return xb, unbatched, geo, windows


def _overlap(geo: Geometry) -> bool:
    return geo.sh < geo.dh * (geo.kh - 1) + 1 or geo.sw < geo.dw * (geo.kw - 1) + 1


def _spread(parts: Any, geo: Geometry, hw: tuple[int, int], shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """Add each kernel offset's part (``parts(k)``, shaped like the output) onto a padded image,
    then crop: pooling's backward."""
    n, c, ho, wo = shape
    h, w = hw
    out = np.zeros((n, c, h + geo.top + geo.bottom, w + geo.left + geo.right), dtype)
    overlap = _overlap(geo)
    for k, (_i, _j, (rows, columns)) in enumerate(offset_slices(geo, (ho, wo))):
        if overlap:
            out[:, :, rows, columns] += parts(k)
        else:
            out[:, :, rows, columns] = parts(k)
    return out[:, :, geo.top : geo.top + h, geo.left : geo.left + w]


# ------------------------------------------------------------------ max pooling
class MaxPool(Function):
    """The maximum of each window (first maximum on ties, NaN wins, as PyTorch)."""

    __slots__ = ("geo", "arg", "hw", "windows")
    name = "max_pool"
    differentiable_twice = True

    @staticmethod
    def forward(ctx: Any, x: np.ndarray, geo: Geometry, windows: tuple[int, int]) -> np.ndarray:
        view = window_view(pad_array(x, geo, -np.inf), geo, windows)
        kk = geo.kh * geo.kw
        parts = [view[:, :, k // geo.kw, k % geo.kw] for k in range(kk)]
        # The maximum first (np.maximum propagates NaN), then the first offset that holds it:
        # whole-array ufuncs only, several times quicker than masked assignments.
        best = parts[0].copy()
        for part in parts[1:]:
            np.maximum(best, part, out=best)
        arg = np.zeros(best.shape, np.int16 if kk < 2**15 else np.int64)
        check_nan = kk > 1 and bool(np.isnan(best).any())
        free = parts[0] != best
        if check_nan:
            free &= ~np.isnan(parts[0])
        for k in range(1, kk):
            hit = parts[k] == best
            if check_nan:
                hit |= np.isnan(parts[k])
            hit &= free
            arg += hit * arg.dtype.type(k)
            free &= ~hit
        ctx.geo, ctx.arg, ctx.hw, ctx.windows = geo, arg, x.shape[2:], windows
        return best

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        geo, arg = ctx.geo, ctx.arg
        kk = geo.kh * geo.kw
        if isinstance(g, Tensor):  # create_graph: g onto its argmax positions, recorded
            n, c, ho, wo = g.shape
            onehot = (arg.reshape(n, c, 1, ho * wo) == np.arange(kk).reshape(1, 1, kk, 1)).astype(g.dtype)
            cols = (g.reshape(n, c, 1, ho * wo) * onehot).reshape(n, c * kk, ho * wo)
            return Fold.apply(cols, geo=geo, hw=ctx.hw, windows=ctx.windows)
        if np.isfinite(g).all():  # then g * mask is exact, and quicker than np.where
            return _spread(lambda k: g * (arg == k), geo, ctx.hw, g.shape, g.dtype)
        zero = g.dtype.type(0)
        return _spread(lambda k: np.where(arg == k, g, zero), geo, ctx.hw, g.shape, g.dtype)


def max_indices(arg: np.ndarray, geo: Geometry, width: int) -> np.ndarray:
    """PyTorch's indices: for each output, the argmax's position in its (n, c) plane, flat."""
    ho, wo = arg.shape[2:]
    i, j = np.divmod(arg.astype(np.int64), geo.kw)
    rows = np.arange(ho).reshape(ho, 1) * geo.sh - geo.top + i * geo.dh
    cols = np.arange(wo) * geo.sw - geo.left + j * geo.dw
    return rows * width + cols


def _max_pool(
    input: Any,
    kernel_size: Any,
    stride: Any,
    padding: Any,
    dilation: Any,
    ceil_mode: bool,
    return_indices: bool,
    nd: int,
    op: str,
) -> Any:
    x, unbatched, geo, windows = _pool_setup(input, kernel_size, stride, padding, dilation, ceil_mode, nd, op)
    y = MaxPool.apply(x, geo=geo, windows=windows)
    out = from_batch(y, nd, unbatched)
    if not return_indices:
        return out
    node = y.grad_fn
    if node is None:  # nothing recorded (no_grad, or no grad needed): find the argmax again
        node = object.__new__(MaxPool)
        MaxPool.forward(node, x.data, geo, windows)
    indices = max_indices(node.arg, geo, x.shape[3])
    if nd == 1:
        indices = indices.reshape(indices.shape[0], indices.shape[1], indices.shape[3])
    return out, indices[0] if unbatched else indices


def max_pool1d(
    input: Tensor,
    kernel_size: int | Sequence[int],
    stride: int | Sequence[int] | None = None,
    padding: int | Sequence[int] = 0,
    dilation: int | Sequence[int] = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Any:
    """The maximum over each window of ``input`` (N, C, L) or (C, L), as
    ``torch.nn.functional.max_pool1d``; ``stride`` defaults to ``kernel_size``. With
    ``return_indices``, also an int64 ndarray of each maximum's position along L.

    >>> import microgradnn as mg
    >>> y, i = mg.nn.functional.max_pool1d(mg.Tensor([[[1.0, 3.0, 2.0, 0.0]]]), 2, return_indices=True)
    >>> y.tolist(), i.tolist()
    ([[[3.0, 2.0]]], [[[1, 2]]])
    """
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 1, "max_pool1d")


def max_pool2d(
    input: Tensor,
    kernel_size: int | Sequence[int],
    stride: int | Sequence[int] | None = None,
    padding: int | Sequence[int] = 0,
    dilation: int | Sequence[int] = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Any:
    """The maximum over each window of ``input`` (N, C, H, W) or (C, H, W), as
    ``torch.nn.functional.max_pool2d``. Indices (with ``return_indices``) are flat positions in
    each H x W plane, PyTorch's layout.

    >>> import microgradnn as mg, numpy as np
    >>> x = mg.Tensor(np.arange(16.0).reshape(1, 1, 4, 4))
    >>> mg.nn.functional.max_pool2d(x, 2).tolist()
    [[[[5.0, 7.0], [13.0, 15.0]]]]
    """
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 2, "max_pool2d")


# ------------------------------------------------------------------ average pooling
class AvgPool(Function):
    """The sum of each (zero-padded) window divided by ``divisor`` (one per output position)."""

    __slots__ = ("geo", "divisor", "hw")
    name = "avg_pool"
    differentiable_twice = True
    may_warn = True  # a window of huge values sums to inf, as in PyTorch

    @staticmethod
    def forward(ctx: Any, x: np.ndarray, geo: Geometry, windows: tuple[int, int], divisor: np.ndarray) -> np.ndarray:
        view = window_view(pad_array(x, geo), geo, windows)
        total = view[:, :, 0, 0].copy()
        for k in range(1, geo.kh * geo.kw):
            total += view[:, :, k // geo.kw, k % geo.kw]
        ctx.geo, ctx.divisor, ctx.hw = geo, divisor, x.shape[2:]
        total /= divisor
        return total

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        geo = ctx.geo
        share = g / ctx.divisor
        if isinstance(g, Tensor):
            n, c, ho, wo = g.shape
            kk = geo.kh * geo.kw
            cols = share.reshape(n, c, 1, ho * wo).broadcast_to((n, c, kk, ho * wo)).reshape(n, c * kk, ho * wo)
            return Fold.apply(cols, geo=geo, hw=ctx.hw, windows=(ho, wo))
        return _spread(lambda k: share, geo, ctx.hw, g.shape, g.dtype)


def _divisors(n: int, k: int, s: int, p: int, out: int, count_include_pad: bool) -> np.ndarray:
    """PyTorch's divisor along one dim: the window clipped to the padded input, or (without
    count_include_pad) to the input itself."""
    start = np.arange(out) * s - p
    end = np.minimum(start + k, n + p)
    if count_include_pad:
        return end - start
    return np.minimum(end, n) - np.maximum(start, 0)


def _avg_pool(
    input: Any,
    kernel_size: Any,
    stride: Any,
    padding: Any,
    ceil_mode: bool,
    count_include_pad: bool,
    nd: int,
    op: str,
) -> Tensor:
    x, unbatched, geo, windows = _pool_setup(input, kernel_size, stride, padding, 1, ceil_mode, nd, op)
    h, w = x.shape[2:]
    rows = _divisors(h, geo.kh, geo.sh, geo.top, windows[0], count_include_pad)
    cols = _divisors(w, geo.kw, geo.sw, geo.left, windows[1], count_include_pad)
    divisor = (rows.reshape(-1, 1) * cols).astype(x.dtype)
    y = AvgPool.apply(x, geo=geo, windows=windows, divisor=divisor)
    return from_batch(y, nd, unbatched)


def avg_pool1d(
    input: Tensor,
    kernel_size: int | Sequence[int],
    stride: int | Sequence[int] | None = None,
    padding: int | Sequence[int] = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> Tensor:
    """The mean over each window of ``input`` (N, C, L) or (C, L), as
    ``torch.nn.functional.avg_pool1d`` (zero padding counts in the mean when
    ``count_include_pad``).

    >>> import microgradnn as mg
    >>> mg.nn.functional.avg_pool1d(mg.Tensor([[[1.0, 3.0, 2.0, 0.0]]]), 2).tolist()
    [[[2.0, 1.0]]]
    """
    return _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad, 1, "avg_pool1d")


def avg_pool2d(
    input: Tensor,
    kernel_size: int | Sequence[int],
    stride: int | Sequence[int] | None = None,
    padding: int | Sequence[int] = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> Tensor:
    """The mean over each window of ``input`` (N, C, H, W) or (C, H, W), as
    ``torch.nn.functional.avg_pool2d``, with PyTorch's divisor for windows that ceil_mode lets
    run past the padding.

    >>> import microgradnn as mg
    >>> mg.nn.functional.avg_pool2d(mg.ones((1, 1, 3, 3)), 2, padding=1, count_include_pad=False).tolist()
    [[[[1.0, 1.0], [1.0, 1.0]]]]
    """
    return _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad, 2, "avg_pool2d")


# ------------------------------------------------------------------ adaptive pooling
def adaptive_bins(n: int, out: int) -> list[tuple[int, int]]:
    """PyTorch's bins: [floor(i*n/out), ceil((i+1)*n/out)) for each of the ``out`` outputs."""
    return [((i * n) // out, -((-(i + 1) * n) // out)) for i in range(out)]


def _output_size(output_size: Any, spatial: tuple[int, ...], op: str) -> tuple[int, ...]:
    nd = len(spatial)
    sizes = (output_size,) * nd if output_size is None or isinstance(output_size, (int, np.integer)) else output_size
    sizes = tuple(sizes)
    if len(sizes) != nd:
        raise ValueError(f"{op}: output_size must be an int or a tuple of {nd}, got {output_size!r}")
    result = tuple(int(n) if s is None else s for s, n in zip(sizes, spatial, strict=True))
    if not all(isinstance(s, (int, np.integer)) and s >= 1 for s in result):
        raise ValueError(f"{op}: output_size must hold positive ints (or None), got {output_size!r}")
    return tuple(int(s) for s in result)


def _membership(n: int, out: int, dtype: Any) -> tuple[np.ndarray, np.ndarray]:
    """The (out, n) 0/1 matrix of adaptive bins, and each bin's size."""
    m = np.zeros((out, n), dtype)
    for i, (start, end) in enumerate(adaptive_bins(n, out)):
        m[i, start:end] = 1
    return m, m.sum(axis=1)


def _adaptive_avg(input: Any, output_size: Any, nd: int, op: str) -> Tensor:
    x = as_tensor(input)
    xb, unbatched = as_batch(x, nd, op)
    h, w = xb.shape[2:]
    spatial = (w,) if nd == 1 else (h, w)
    outs = _output_size(output_size, spatial, op)
    oh, ow = (1, outs[0]) if nd == 1 else outs
    y = xb
    if oh == h and ow == w:
        return from_batch(y, nd, unbatched)
    # Sums over each bin (two matmuls with 0/1 matrices), then one division by the bin's
    # size, as PyTorch does: exact where a multiplication by 1/size would round.
    rows, row_sizes = _membership(h, oh, x.dtype)
    cols, col_sizes = _membership(w, ow, x.dtype)
    if oh != h:
        y = matmul(rows, y)
    if ow != w:
        y = matmul(y, cols.T)
    return from_batch(y / (row_sizes.reshape(-1, 1) * col_sizes), nd, unbatched)


def adaptive_avg_pool1d(input: Tensor, output_size: int | Sequence[int]) -> Tensor:
    """The mean over ``output_size`` adaptive bins of ``input`` (N, C, L) or (C, L), as
    ``torch.nn.functional.adaptive_avg_pool1d``.

    >>> import microgradnn as mg
    >>> mg.nn.functional.adaptive_avg_pool1d(mg.Tensor([[[1.0, 2.0, 3.0, 4.0, 5.0]]]), 2).tolist()
    [[[2.0, 4.0]]]
    """
    return _adaptive_avg(input, output_size, 1, "adaptive_avg_pool1d")


def adaptive_avg_pool2d(input: Tensor, output_size: int | Sequence[int | None]) -> Tensor:
    """The mean over adaptive bins of ``input`` (N, C, H, W) or (C, H, W), as
    ``torch.nn.functional.adaptive_avg_pool2d`` (None in ``output_size`` keeps that size).

    >>> import microgradnn as mg
    >>> mg.nn.functional.adaptive_avg_pool2d(mg.ones((2, 3, 7, 5)), 1).shape
    (2, 3, 1, 1)
    """
    return _adaptive_avg(input, output_size, 2, "adaptive_avg_pool2d")


def adaptive_max_pool2d(input: Tensor, output_size: int | Sequence[int | None], return_indices: bool = False) -> Any:
    """The maximum over adaptive bins of ``input`` (N, C, H, W) or (C, H, W), as
    ``torch.nn.functional.adaptive_max_pool2d``; indices are flat positions in each H x W plane.

    >>> import microgradnn as mg, numpy as np
    >>> y, i = mg.nn.functional.adaptive_max_pool2d(mg.Tensor(np.arange(9.0).reshape(1, 1, 3, 3)), 2, True)
    >>> y.tolist(), i.tolist()
    ([[[[4.0, 5.0], [7.0, 8.0]]]], [[[[4, 5], [7, 8]]]])
    """
    x = as_tensor(input)
    xb, unbatched = as_batch(x, 2, "adaptive_max_pool2d")
    n, c, h, w = xb.shape
    oh, ow = _output_size(output_size, (h, w), "adaptive_max_pool2d")
    data = xb.data
    flat = np.empty((n, c, oh, ow), np.int64)
    for i, (r0, r1) in enumerate(adaptive_bins(h, oh)):
        for j, (c0, c1) in enumerate(adaptive_bins(w, ow)):
            block = data[:, :, r0:r1, c0:c1].reshape(n, c, -1)
            # np.argmax gives the first maximum, and the first NaN, as PyTorch's kernel.
            k = np.argmax(block, axis=2)
            flat[:, :, i, j] = (r0 + k // (c1 - c0)) * w + c0 + k % (c1 - c0)
    index = (np.arange(n).reshape(n, 1, 1), np.arange(c).reshape(1, c, 1), flat.reshape(n, c, oh * ow))
    y = xb.reshape(n, c, h * w)[index].reshape(n, c, oh, ow)
    if unbatched:
        y, flat = y.reshape(y.shape[1:]), flat[0]
    return (y, flat) if return_indices else y


# ------------------------------------------------------------------ interpolate
def _nearest_source(n: int, out: int, scale: float | None, keep_same: bool = False) -> np.ndarray:
    """PyTorch's nearest rule: floor(o * s) with s = 1/scale_factor (or n/out), computed in
    float32 whatever the input's dtype, as PyTorch's CPU kernel does; its 2-d kernel keeps a
    dim whose size does not change as it is (``keep_same``), even under a scale_factor like 1.1.
    (PyTorch's float64 kernels round a few exact ties, such as 14 -> 46, otherwise.)"""
    if keep_same and out == n:
        return np.arange(n)
    s = np.float32(1.0 / scale) if scale is not None and scale > 0 else np.float32(n) / np.float32(out)
    return np.minimum(np.floor(np.arange(out, dtype=np.float32) * s).astype(np.int64), n - 1)


def _linear_matrix(n: int, out: int, scale: float | None, align_corners: bool, dtype: Any) -> np.ndarray:
    """The (out, n) matrix of linear interpolation weights, PyTorch's source-index rule."""
    if align_corners:
        ratio = (n - 1) / (out - 1) if out > 1 else 0.0
        src = np.arange(out) * ratio
    else:
        ratio = 1.0 / scale if scale is not None and scale > 0 else n / out
        src = np.maximum((np.arange(out) + 0.5) * ratio - 0.5, 0.0)
    i0 = np.floor(src).astype(np.int64)
    i0 = np.minimum(i0, n - 1)
    i1 = np.where(i0 < n - 1, i0 + 1, i0)
    lam1 = src - i0
    m = np.zeros((out, n), np.float64)
    rows = np.arange(out)
    np.add.at(m, (rows, i0), 1.0 - lam1)
    np.add.at(m, (rows, i1), lam1)
    return m.astype(dtype)


_MODES = {"nearest": (1, 2), "linear": (1,), "bilinear": (2,)}


def interpolate(
    input: Tensor,
    size: int | Sequence[int] | None = None,
    scale_factor: float | Sequence[float] | None = None,
    mode: str = "nearest",
    align_corners: bool | None = None,
    recompute_scale_factor: bool | None = None,
) -> Tensor:
    """Resize ``input`` (N, C, L) or (N, C, H, W) to ``size`` or by ``scale_factor``, as
    ``torch.nn.functional.interpolate``: ``"nearest"`` (PyTorch's floor rule), ``"linear"``
    (3-d) or ``"bilinear"`` (4-d), with ``align_corners``.

    >>> import microgradnn as mg
    >>> mg.nn.functional.interpolate(mg.Tensor([[[1.0, 2.0]]]), scale_factor=2).tolist()
    [[[1.0, 1.0, 2.0, 2.0]]]
    >>> mg.nn.functional.interpolate(mg.Tensor([[[1.0, 2.0]]]), size=3, mode="linear", align_corners=True).tolist()
    [[[1.0, 1.5, 2.0]]]
    """
    x = as_tensor(input)
    if mode not in _MODES:
        raise ValueError(f"interpolate: mode must be one of {', '.join(_MODES)}, got {mode!r}")
    nd = x.ndim - 2
    if nd not in _MODES[mode]:
        raise ShapeError(f"interpolate: mode {mode!r} takes a {_MODES[mode][0] + 2}-d input, got shape {x.shape}")
    if mode == "nearest" and align_corners is not None:
        raise ValueError("interpolate: align_corners can only be set with the linear modes (linear, bilinear)")
    spatial = x.shape[2:]
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: give exactly one of size and scale_factor")
    scales: tuple[float | None, ...]
    if size is not None:
        if recompute_scale_factor:
            raise ValueError("interpolate: recompute_scale_factor only applies with scale_factor")
        outs = tuple_arg(size, nd, "size", "interpolate")
        scales = (None,) * nd
    else:
        factors = (scale_factor,) * nd if isinstance(scale_factor, (int, float)) else tuple(scale_factor)  # type: ignore[arg-type]
        if len(factors) != nd or not all(f > 0 for f in factors):
            raise ValueError(
                f"interpolate: scale_factor must be a positive number or {nd} of them, got {scale_factor!r}"
            )
        outs = tuple(math.floor(float(n) * float(f)) for n, f in zip(spatial, factors, strict=True))
        if any(o < 1 for o in outs):
            raise ShapeError(f"interpolate: scale_factor {scale_factor!r} gives an empty output for shape {x.shape}")
        scales = (None,) * nd if recompute_scale_factor else tuple(float(f) for f in factors)
    if mode == "nearest":
        index = [_nearest_source(n, o, s, nd == 2) for n, o, s in zip(spatial, outs, scales, strict=True)]
        if nd == 1:
            return x[:, :, index[0]]
        return x[:, :, index[0].reshape(-1, 1), index[1].reshape(1, -1)]
    corners = bool(align_corners)
    y = x
    if nd == 2:
        y = matmul(_linear_matrix(spatial[0], outs[0], scales[0], corners, x.dtype), y)
    y = matmul(y, _linear_matrix(spatial[-1], outs[-1], scales[-1], corners, x.dtype).T)
    return y
