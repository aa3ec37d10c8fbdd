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

# Names that shadow builtins: mg.abs, mg.max... but left out of `import *` (redundant aliases
# mark them as re-exported).
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
    where,
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
from .io import CheckpointError, load, save
# isort: on

__version__ = "0.1.0"

# Names that shadow builtins (abs, max, min, pow, sum) stay out of `import *`.
__all__ = [
    "nn",
    "optim",
    "data",
    "viz",
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
# (section UNARY: imports and `__all__ +=` go above this line)

# ---- reductions, scans and ordering (ops/reduce.py, ops/scan.py, ops/sort.py)
# (section REDUCE: imports and `__all__ +=` go above this line)

# ---- shapes, joining and indexing (ops/shape.py, ops/indexing.py)
# (section SHAPE: imports and `__all__ +=` go above this line)

# ---- linear algebra, creation and random (ops/linalg.py, creation.py, ops/random.py)
# (section LINALG: imports and `__all__ +=` go above this line)
