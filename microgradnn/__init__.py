"""microgradnn: a small, readable reverse-mode autograd framework on NumPy.

>>> import microgradnn as mg
>>> w = mg.Tensor([0.5, -0.5], requires_grad=True)
>>> loss = (mg.Tensor([1.0, 2.0]) * w).sigmoid().sum()
>>> loss.backward()
>>> w.grad.round(4).tolist()
[0.235, 0.3932]
"""

from __future__ import annotations

# tensor first: it imports autograd and the ops once the Tensor class exists.
from .tensor import Tensor, as_tensor  # isort: skip

from .anomaly import AnomalyError, detect_anomaly
from .autograd import Function, backward, enable_grad, grad, is_grad_enabled, no_grad, sum_to
from .creation import (
    arange,
    default_generator,
    full,
    manual_seed,
    ones,
    ones_like,
    rand,
    randn,
    zeros,
    zeros_like,
)
from .errors import ShapeError
from .gradcheck import GradcheckError, gradcheck, gradcheck_module, gradgradcheck
from .gradcheck_study import gradcheck_study

# Names that shadow builtins: mg.abs, mg.max... but left out of `import *` (redundant aliases
# mark them as re-exported).
from .jit import compile as compile  # mg.compile: record a step once, replay it
from .ops.elementwise import abs as abs
from .ops.elementwise import (
    add,
    astype,
    clip,
    div,
    exp,
    leaky_relu,
    log,
    maximum,
    minimum,
    mul,
    neg,
    relu,
    sigmoid,
    sqrt,
    sub,
    tanh,
)
from .ops.elementwise import pow as pow
from .ops.linalg import matmul
from .ops.reduce import argmax, argmin, logsumexp, mean, var
from .ops.reduce import max as max
from .ops.reduce import min as min
from .ops.reduce import sum as sum
from .ops.shape import (
    broadcast_to,
    concatenate,
    expand_dims,
    flatten,
    reshape,
    squeeze,
    stack,
    swapaxes,
    transpose,
)
from .ops.softmax import log_softmax, softmax

# isort: off
# After the core, which they build on.
from . import data, nn, optim, viz
from . import experiments
from .io import CheckpointError, load, save
# isort: on

__version__ = "0.1.0"

# Names that shadow builtins (abs, max, min, pow, sum) stay out of `import *`.
__all__ = [
    "nn",
    "optim",
    "data",
    "viz",
    "experiments",
    "save",
    "load",
    "CheckpointError",
    "Tensor",
    "as_tensor",
    "Function",
    "detect_anomaly",
    "AnomalyError",
    "ShapeError",
    "backward",
    "grad",
    "no_grad",
    "enable_grad",
    "is_grad_enabled",
    "sum_to",
    "gradcheck",
    "gradgradcheck",
    "gradcheck_module",
    "gradcheck_study",
    "GradcheckError",
    "manual_seed",
    "default_generator",
    "zeros",
    "ones",
    "full",
    "rand",
    "randn",
    "arange",
    "zeros_like",
    "ones_like",
    "add",
    "sub",
    "mul",
    "div",
    "neg",
    "exp",
    "log",
    "sqrt",
    "tanh",
    "sigmoid",
    "relu",
    "leaky_relu",
    "clip",
    "maximum",
    "minimum",
    "where",
    "astype",
    "matmul",
    "mean",
    "var",
    "logsumexp",
    "argmax",
    "argmin",
    "reshape",
    "transpose",
    "swapaxes",
    "squeeze",
    "expand_dims",
    "flatten",
    "broadcast_to",
    "concatenate",
    "stack",
    "softmax",
    "log_softmax",
]

# ---- unary math and activations (ops/unary.py, ops/activation.py)
from .ops.unary import (  # noqa: E402
    acos,
    acosh,
    allclose,
    arccos,
    arccosh,
    arcsin,
    arcsinh,
    arctan,
    arctan2,
    arctanh,
    asin,
    asinh,
    atan,
    atan2,
    atanh,
    ceil,
    copysign,
    cos,
    cosh,
    deg2rad,
    equal,
    erf,
    erfc,
    erfinv,
    exp2,
    expm1,
    floor,
    floor_divide,
    fmod,
    frac,
    hypot,
    isclose,
    isfinite,
    isinf,
    isnan,
    lerp,
    log1p,
    log2,
    log10,
    logaddexp,
    logaddexp2,
    nan_to_num,
    rad2deg,
    reciprocal,
    remainder,
    rsqrt,
    sgn,
    sign,
    sin,
    sinc,
    sinh,
    square,
    tan,
    trunc,
    xlogy,
)
from .ops.unary import round as round  # noqa: E402

__all__ += [
    "sin",
    "cos",
    "tan",
    "arcsin",
    "asin",
    "arccos",
    "acos",
    "arctan",
    "atan",
    "sinh",
    "cosh",
    "arcsinh",
    "asinh",
    "arccosh",
    "acosh",
    "arctanh",
    "atanh",
    "sinc",
    "deg2rad",
    "rad2deg",
    "log1p",
    "expm1",
    "log2",
    "log10",
    "exp2",
    "square",
    "reciprocal",
    "rsqrt",
    "erf",
    "erfc",
    "erfinv",
    "sign",
    "sgn",
    "floor",
    "ceil",
    "trunc",
    "frac",
    "nan_to_num",
    "logaddexp",
    "logaddexp2",
    "fmod",
    "remainder",
    "floor_divide",
    "copysign",
    "hypot",
    "atan2",
    "arctan2",
    "xlogy",
    "lerp",
    "isnan",
    "isinf",
    "isfinite",
    "isclose",
    "allclose",
    "equal",
]

# ---- reductions, scans and ordering (ops/reduce.py, ops/scan.py, ops/sort.py)
from . import linalg  # noqa: E402
from .ops.reduce import (  # noqa: E402
    ValuesIndices,
    amax,
    amin,
    count_nonzero,
    median,
    nanmean,
    nansum,
    norm,
    prod,
    quantile,
    std,
)
from .ops.reduce import all as all  # noqa: E402
from .ops.reduce import any as any  # noqa: E402
from .ops.scan import cummax, cummin, cumprod, cumsum, logcumsumexp  # noqa: E402
from .ops.sort import argsort, kthvalue, sort, topk  # noqa: E402

__all__ += [
    "linalg",
    "ValuesIndices",
    "amax",
    "amin",
    "count_nonzero",
    "median",
    "nanmean",
    "nansum",
    "norm",
    "prod",
    "quantile",
    "std",
    "cummax",
    "cummin",
    "cumprod",
    "cumsum",
    "logcumsumexp",
    "argsort",
    "kthvalue",
    "sort",
    "topk",
]

# ---- shapes, joining and indexing (ops/shape.py, ops/indexing.py)
# where(cond) alone gives the indices (as torch.where); with three arguments it is elementwise.where.
from .ops.indexing import (  # noqa: E402
    clamp,
    clamp_max,
    clamp_min,
    gather,
    index_select,
    masked_fill,
    masked_select,
    nonzero,
    scatter,
    scatter_add,
    take_along_axis,
    take_along_dim,
    where,
)
from .ops.pad import numpy_pad as pad  # noqa: E402
from .ops.shape import (  # noqa: E402
    array_split,
    cat,
    chunk,
    clone,
    column_stack,
    diff,
    dstack,
    expand,
    flip,
    hstack,
    moveaxis,
    movedim,
    permute,
    repeat_interleave,
    roll,
    rot90,
    split,
    t,
    tile,
    unbind,
    unflatten,
    unsqueeze,
    view,
    vstack,
)

__all__ += [
    "view",
    "permute",
    "movedim",
    "moveaxis",
    "t",
    "unsqueeze",
    "unflatten",
    "expand",
    "tile",
    "repeat_interleave",
    "flip",
    "roll",
    "rot90",
    "diff",
    "clone",
    "cat",
    "hstack",
    "vstack",
    "dstack",
    "column_stack",
    "split",
    "array_split",
    "chunk",
    "unbind",
    "gather",
    "scatter",
    "scatter_add",
    "index_select",
    "take_along_axis",
    "take_along_dim",
    "masked_select",
    "nonzero",
    "masked_fill",
    "clamp",
    "clamp_min",
    "clamp_max",
    "pad",
]


# ---- linear algebra, creation and random (ops/linalg.py, creation.py, ops/random.py)
from .creation import (  # noqa: E402
    empty,
    empty_like,
    eye,
    full_like,
    linspace,
    logspace,
    meshgrid,
    tril_indices,
    triu_indices,
)
from .ops.linalg import (  # noqa: E402
    cross,
    diag,
    diag_embed,
    diagonal,
    dot,
    einsum,
    inner,
    kron,
    logdet,
    outer,
    tensordot,
    trace,
    tril,
    triu,
)
from .ops.random import bernoulli, multinomial, normal, randint, randperm  # noqa: E402

__all__ += [
    "empty",
    "empty_like",
    "eye",
    "full_like",
    "linspace",
    "logspace",
    "meshgrid",
    "tril_indices",
    "triu_indices",
    "einsum",
    "tensordot",
    "outer",
    "inner",
    "dot",
    "cross",
    "kron",
    "tril",
    "triu",
    "diag",
    "diagonal",
    "diag_embed",
    "trace",
    "logdet",
    "multinomial",
    "randint",
    "randperm",
    "normal",
    "bernoulli",
]
