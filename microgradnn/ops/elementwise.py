"""Elementwise operations: arithmetic, exp/log, activations, clip, maximum/minimum, where.

Binary operations broadcast exactly as NumPy does; the engine sums each gradient back to its
input's shape (see ``autograd.sum_to``), so a backward here returns the broadcast gradient.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..autograd import Function, no_fp_warnings
from ..errors import ShapeError, shape_of
from ..tensor import DTypeLike, Tensor, as_float_array
from . import backmath

__all__ = [
    "add",
    "sub",
    "mul",
    "div",
    "neg",
    "pow",
    "exp",
    "log",
    "sqrt",
    "abs",
    "tanh",
    "sigmoid",
    "relu",
    "leaky_relu",
    "clip",
    "maximum",
    "minimum",
    "where",
    "astype",
    "compare",
    "operand",
]


def operand(value: Any, dtype: np.dtype, op: str) -> Any:
    """Prepare the non-Tensor side of a binary operation.

    Python numbers stay Python numbers, so NumPy's rules keep a float32 tensor float32, and
    lists and tuples of them (nested too) take the tensor's dtype in the same way. Integer and
    boolean arrays take the tensor's dtype (as in PyTorch, integers never promote a floating
    tensor); floating arrays keep theirs and promote as NumPy does.

    >>> import numpy as np
    >>> operand(np.array([1, 2]), np.dtype("float32"), "mul").dtype
    dtype('float32')
    >>> operand([0.5, 2], np.dtype("float32"), "mul").dtype
    dtype('float32')
    """
    if isinstance(value, Tensor):
        return value._data
    if type(value) in (int, float, bool):
        return value
    if isinstance(value, (np.ndarray, np.generic)):
        kind = value.dtype.kind
        if kind == "f":
            return value
        if kind in "biu":
            with no_fp_warnings():  # an integer too large for float16 becomes inf
                return np.asarray(value, dtype=dtype)
        raise TypeError(f"{op}: cannot combine a tensor with an array of {value.dtype}")
    if isinstance(value, (list, tuple)):
        # As weak as the Python numbers in it: [0.1] and 0.1 give the same float32 number.
        return as_float_array(value, dtype if dtype.kind == "f" else None, op)
    raise TypeError(f"{op}: cannot combine a tensor with {type(value).__name__} {value!r:.40}")


def _pair(a: Any, b: Any, op: str) -> tuple[Any, Any]:
    """Make at least one side a Tensor and the other an operand it can meet."""
    if isinstance(a, Tensor):
        if not isinstance(b, Tensor):
            b = operand(b, a._data.dtype, op)
    elif isinstance(b, Tensor):
        a = operand(a, b._data.dtype, op)
    else:
        a = Tensor(a)
        b = operand(b, a._data.dtype, op)
    return a, b


def _binary(cls: type[Function], a: Any, b: Any) -> Tensor:
    """Run a two-input op, with NumPy's broadcasting error turned into one that names it."""
    if not (isinstance(a, Tensor) and isinstance(b, Tensor)):
        a, b = _pair(a, b, cls.name)
    try:
        return cls._apply2(a, b)
    except ShapeError:
        raise
    except ValueError:
        raise ShapeError(f"{cls.name}: shapes {shape_of(a)} and {shape_of(b)} cannot be broadcast together") from None


# ------------------------------------------------------------------ arithmetic
class Add(Function):
    """a + b."""

    __slots__ = ()

    name = "add"
    may_warn = True
    differentiable_twice = True

    @staticmethod
    def forward(ctx: Any, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return a + b

    @staticmethod
    def backward(ctx: Any, g: Any) -> tuple[Any, Any]:
        return g, g


class Sub(Function):
    """a - b."""

    __slots__ = ()

    name = "sub"
    may_warn = True
    differentiable_twice = True

    @staticmethod
    def forward(ctx: Any, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return a - b

    @staticmethod
    def backward(ctx: Any, g: Any) -> tuple[Any, Any]:
        return (g if ctx.needs_input_grad[0] else None), (-g if ctx.needs_input_grad[1] else None)


class Mul(Function):
    """a * b."""

    __slots__ = ()

    name = "mul"
    may_warn = True
    differentiable_twice = True

    @staticmethod
    def forward(ctx: Any, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx: Any, g: Any) -> tuple[Any, Any]:
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        return (g * b if need_a else None), (g * a if need_b else None)


class Div(Function):
    """a / b."""

    __slots__ = ()

    name = "div"
    may_warn = True
    differentiable_twice = True

    @staticmethod
    def forward(ctx: Any, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(a, b)
        return a / b

    @staticmethod
    def backward(ctx: Any, g: Any) -> tuple[Any, Any]:
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        return (g / b if need_a else None), (-g * a / (b * b) if need_b else None)


class Neg(Function):
    """-x."""

    __slots__ = ()

    name = "neg"
    differentiable_twice = True

    @staticmethod
    def forward(ctx: Any, x: np.ndarray) -> np.ndarray:
        return -x

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return -g


class Pow(Function):
    """a ** b, for a tensor or constant base and a tensor or constant exponent."""

    __slots__ = ()

    name = "pow"
    may_warn = True
    differentiable_twice = True

    @staticmethod
    def forward(ctx: Any, a: np.ndarray, b: Any) -> np.ndarray:
        out = a**b
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx: Any, g: Any) -> tuple[Any, Any]:
        # PyTorch's values, also where the formulas meet 0 * inf: d/da is 0 where b == 0 (a ** 0
        # is constant, also at a = 0), and d/db is 0 where a == 0 and b >= 0, -inf where a == 0
        # and b < 0 (a ** b * log(a) = inf * -inf), NaN where a < 0 (log of a negative number).
        a, b, out = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        grad_a = grad_b = None
        if need_a:
            if type(b) in (int, float):  # a constant exponent: the common case
                if b == 2:
                    # x ** 2 is the common case (squared errors): 2x is a + a, exactly, and NumPy
                    # adds two arrays faster than it multiplies by a Python number.
                    grad_a = g * (a + a)
                elif b == 0:
                    grad_a = g * 0  # not 0 * a ** -1, which is NaN at a = 0
                else:
                    grad_a = g * b * a ** (b - 1)
            else:
                # b * a ** (b - 1) is 0 * inf at a = b = 0: there the exponent becomes 0, so the
                # product is 0 * 1. Elsewhere the formula is left as it is (0 where b = 0 for any
                # other number a), so that a second derivative stays right.
                origin = (backmath.constant(a) == 0) & (backmath.constant(b) == 0)
                grad_a = g * b * a ** (b - 1 + origin)
        if need_b:
            # d(a**b)/db = a**b * log(a). Where a == 0 and b >= 0, PyTorch takes the product as
            # 0: adding 1 to a there makes the log 0 (without a log(0) to differentiate again).
            zero_base = (backmath.constant(a) == 0) & (backmath.constant(b) >= 0)
            grad_b = g * out * backmath.log(a + zero_base)
        return grad_a, grad_b


def add(a: Any, b: Any) -> Tensor:
    """a + b, broadcasting as NumPy does.

    >>> import microgradnn as mg
    >>> mg.add(mg.Tensor([1.0, 2.0]), 1)
    Tensor([2., 3.])
    """
    return _binary(Add, a, b)


def sub(a: Any, b: Any) -> Tensor:
    """a - b, broadcasting as NumPy does.

    >>> import microgradnn as mg
    >>> mg.sub(mg.Tensor([3.0, 4.0]), 1).tolist()
    [2.0, 3.0]
    """
    return _binary(Sub, a, b)


def mul(a: Any, b: Any) -> Tensor:
    """a * b, broadcasting as NumPy does.

    >>> import microgradnn as mg
    >>> mg.mul(mg.Tensor([1.0, 2.0]), mg.Tensor([3.0, 4.0])).tolist()
    [3.0, 8.0]
    """
    return _binary(Mul, a, b)


def div(a: Any, b: Any) -> Tensor:
    """a / b, broadcasting as NumPy does.

    >>> import microgradnn as mg
    >>> mg.div(mg.Tensor([1.0, 3.0]), 2).tolist()
    [0.5, 1.5]
    """
    return _binary(Div, a, b)


def neg(x: Tensor) -> Tensor:
    """-x.

    >>> import microgradnn as mg
    >>> mg.neg(mg.Tensor([1.0, -2.0])).tolist()
    [-1.0, 2.0]
    """
    return Neg._apply1(x)


def pow(base: Any, exponent: Any) -> Tensor:
    """base ** exponent; either may be a Tensor or a constant.

    >>> import microgradnn as mg
    >>> x = mg.Tensor([3.0], requires_grad=True)
    >>> (x ** 2).backward(mg.ones(1)); x.grad
    array([6.])
    """
    return _binary(Pow, base, exponent)


# ---------------------------------------------------------------- unary maths
class Exp(Function):
    """e ** x."""

    __slots__ = ()

    name = "exp"
    may_warn = True
    differentiable_twice = True

    @staticmethod
    def forward(ctx: Any, x: np.ndarray) -> np.ndarray:
        out = np.exp(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (out,) = ctx.saved_tensors
        return g * out


class Log(Function):
    """Natural logarithm."""

    __slots__ = ()

    name = "log"
    may_warn = True
    differentiable_twice = True

    @staticmethod
    def forward(ctx: Any, x: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(x)
        return np.log(x)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (x,) = ctx.saved_tensors
        return g / x


class Sqrt(Function):
    """Square root."""

    __slots__ = ()

    name = "sqrt"
    may_warn = True
    differentiable_twice = True

    @staticmethod
    def forward(ctx: Any, x: np.ndarray) -> np.ndarray:
        out = np.sqrt(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (out,) = ctx.saved_tensors
        return g / (2 * out)


class Abs(Function):
    """|x|, with gradient 0 at 0."""

    __slots__ = ()

    name = "abs"
    differentiable_twice = True

    @staticmethod
    def forward(ctx: Any, x: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(x)
        return np.abs(x)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (x,) = ctx.saved_tensors
        return g * np.sign(backmath.constant(x))


class Tanh(Function):
    """Hyperbolic tangent."""

    __slots__ = ()

    name = "tanh"
    differentiable_twice = True

    @staticmethod
    def forward(ctx: Any, x: np.ndarray) -> np.ndarray:
        out = np.tanh(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (out,) = ctx.saved_tensors
        return g * (1 - out * out)


# exp(-x) overflows past log(finfo.max); clipping -x just below it changes no result that is
# representable as a normal number, and keeps the tutorials' 1 / (1 + exp(-x)) bit for bit.
# Kept per dtype as 0-d arrays, which NumPy combines with arrays faster than Python numbers.
_SIGMOID_CONSTANTS: dict[np.dtype, tuple[np.ndarray, np.ndarray]] = {}


def _sigmoid_constants(dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """(largest safe exponent, one) as 0-d arrays of ``dtype``."""
    constants = _SIGMOID_CONSTANTS.get(dtype)
    if constants is None:
        limit = np.floor(np.log(np.finfo(dtype).max))
        constants = _SIGMOID_CONSTANTS[dtype] = (np.array(limit, dtype), np.array(1, dtype))
    return constants


def sigmoid_array(x: np.ndarray, clip: bool = True) -> np.ndarray:
    """1 / (1 + exp(-x)) on an ndarray, as the tutorials write it, without overflow: ``-x`` is
    clipped at the limit, unless ``clip=False`` for callers that run with overflow warnings off
    (then exp overflows to inf, and the result is 0, as the tutorials' formula gives)."""
    limit, one = _sigmoid_constants(x.dtype)
    # In place on one fresh array.
    t = np.negative(x) if x.ndim else np.negative(x, out=np.empty_like(x))
    if clip:
        np.minimum(t, limit, out=t)
    np.exp(t, out=t)
    t += one
    return np.reciprocal(t, out=t)


class Sigmoid(Function):
    """1 / (1 + exp(-x)), stable for any input; backward is the tutorials' out * (1 - out)."""

    __slots__ = ()

    name = "sigmoid"
    may_warn = True  # exp(-x) overflows to inf for x < -709: then 1 / (1 + inf) is 0, as the tutorials'
    differentiable_twice = True

    @staticmethod
    def forward(ctx: Any, x: np.ndarray) -> np.ndarray:
        # The engine runs this with overflow warnings off (may_warn), which costs less than
        # clipping -x first.
        out = sigmoid_array(x, clip=False)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        # The saved output, not a recomputation: the numbers then match the hand-written loops.
        (out,) = ctx.saved_tensors
        return g * out * (1 - out)


class ReLU(Function):
    """max(x, 0), with gradient 0 at 0."""

    __slots__ = ()

    name = "relu"
    differentiable_twice = True

    @staticmethod
    def forward(ctx: Any, x: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(x)
        return np.maximum(x, 0)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (x,) = ctx.saved_tensors
        return g * (backmath.constant(x) > 0)


class LeakyReLU(Function):
    """x where x > 0, else negative_slope * x (gradient negative_slope at 0, as PyTorch)."""

    __slots__ = ("slope",)

    name = "leaky_relu"
    may_warn = True
    differentiable_twice = True

    @staticmethod
    def forward(ctx: Any, x: np.ndarray, negative_slope: float) -> np.ndarray:
        ctx.slope = negative_slope
        ctx.save_for_backward(x)
        return np.where(x > 0, x, x * negative_slope)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (x,) = ctx.saved_tensors
        x = backmath.constant(x)
        return g * np.where(x > 0, 1, ctx.slope).astype(x.dtype)


class Clip(Function):
    """x limited to [low, high]; the gradient passes where low <= x <= high."""

    __slots__ = ("low", "high")

    name = "clip"
    differentiable_twice = True

    @staticmethod
    def forward(ctx: Any, x: np.ndarray, low: float | None = None, high: float | None = None) -> np.ndarray:
        ctx.low, ctx.high = low, high
        ctx.save_for_backward(x)
        return np.clip(x, low, high)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        (x,) = ctx.saved_tensors
        x = backmath.constant(x)
        inside = np.ones(x.shape, dtype=bool)
        if ctx.low is not None:
            inside &= x >= ctx.low
        if ctx.high is not None:
            inside &= x <= ctx.high
        return g * inside


class _Extremum(Function):
    """Elementwise maximum or minimum; tied entries share the gradient evenly."""

    __slots__ = ()

    differentiable_twice = True
    pick: Callable[..., np.ndarray]
    wins: Callable[..., np.ndarray]

    @classmethod
    def forward(cls, ctx: Any, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        ctx.save_for_backward(a, b)
        return cls.pick(a, b)

    @classmethod
    def backward(cls, ctx: Any, g: Any) -> tuple[Any, Any]:
        a, b = (backmath.constant(v) for v in ctx.saved_tensors)
        dtype = np.result_type(a, b)
        share_a = cls.wins(a, b).astype(dtype) + (a == b) * dtype.type(0.5)
        return g * share_a, g * (1 - share_a)


class Maximum(_Extremum):
    __slots__ = ()
    name = "maximum"
    pick = staticmethod(np.maximum)
    wins = staticmethod(np.greater)


class Minimum(_Extremum):
    __slots__ = ()
    name = "minimum"
    pick = staticmethod(np.minimum)
    wins = staticmethod(np.less)


class Where(Function):
    """``a`` where ``condition`` holds, else ``b``."""

    __slots__ = ("condition",)

    name = "where"
    differentiable_twice = True

    @staticmethod
    def forward(ctx: Any, condition: np.ndarray, a: Any, b: Any) -> np.ndarray:
        ctx.condition = condition
        return np.where(condition, a, b)

    @staticmethod
    def backward(ctx: Any, g: Any) -> tuple[Any, Any, Any]:
        cond = ctx.condition
        return None, g * cond, g * ~cond


class Cast(Function):
    """The same values in another dtype; the gradient is cast back."""

    __slots__ = ()

    name = "astype"
    may_warn = True
    differentiable_twice = True

    @staticmethod
    def forward(ctx: Any, x: np.ndarray, dtype: np.dtype) -> np.ndarray:
        return x.astype(dtype)

    @staticmethod
    def backward(ctx: Any, g: Any) -> Any:
        return g  # the engine casts every gradient to its input's dtype


def exp(x: Tensor) -> Tensor:
    """e ** x.

    >>> import microgradnn as mg
    >>> mg.exp(mg.Tensor([0.0, 1.0])).tolist()
    [1.0, 2.718281828459045]
    """
    return Exp._apply1(x)


def log(x: Tensor) -> Tensor:
    """Natural logarithm (log(0) is -inf, as in NumPy).

    >>> import microgradnn as mg
    >>> mg.log(mg.Tensor([1.0, 2.718281828459045])).tolist()
    [0.0, 1.0]
    """
    return Log._apply1(x)


def sqrt(x: Tensor) -> Tensor:
    """Square root.

    >>> import microgradnn as mg
    >>> mg.sqrt(mg.Tensor([4.0, 9.0])).tolist()
    [2.0, 3.0]
    """
    return Sqrt._apply1(x)


def abs(x: Tensor) -> Tensor:
    """``|x|``, with gradient 0 at 0.

    >>> import microgradnn as mg
    >>> mg.abs(mg.Tensor([-2.0, 3.0])).tolist()
    [2.0, 3.0]
    """
    return Abs._apply1(x)


def tanh(x: Tensor) -> Tensor:
    """Hyperbolic tangent.

    >>> import microgradnn as mg
    >>> mg.tanh(mg.Tensor([0.0, 1000.0])).tolist()
    [0.0, 1.0]
    """
    return Tanh._apply1(x)


def sigmoid(x: Tensor) -> Tensor:
    """1 / (1 + exp(-x)); no overflow warning and no NaN for any input.

    Computed exactly as the tutorials write it, so the numbers match theirs bit for bit. Below
    x = -709 (float64; -88 for float32) the result stays at 1 / (1 + e**709), about 1e-308,
    instead of shrinking further towards 0.

    >>> import microgradnn as mg
    >>> mg.sigmoid(mg.Tensor([-1000.0, 0.0, 1000.0])).data.round(6).tolist()
    [0.0, 0.5, 1.0]
    """
    return Sigmoid._apply1(x)


def relu(x: Tensor) -> Tensor:
    """max(x, 0), with gradient 0 at 0.

    >>> import microgradnn as mg
    >>> mg.relu(mg.Tensor([-1.0, 2.0])).tolist()
    [0.0, 2.0]
    """
    return ReLU._apply1(x)


def leaky_relu(x: Tensor, negative_slope: float = 0.01) -> Tensor:
    """x where x > 0, else ``negative_slope * x``.

    >>> import microgradnn as mg
    >>> mg.leaky_relu(mg.Tensor([-1.0, 2.0]), 0.1).tolist()
    [-0.1, 2.0]
    """
    return LeakyReLU._apply1(x, negative_slope)


def clip(x: Tensor, min: float | None = None, max: float | None = None) -> Tensor:
    """Limit x to [min, max] (either may be None); gradient passes where min <= x <= max.

    >>> import microgradnn as mg
    >>> mg.clip(mg.Tensor([-2.0, 0.5, 2.0]), -1, 1).tolist()
    [-1.0, 0.5, 1.0]
    """
    if min is None and max is None:
        raise ValueError("clip: give min, max or both")
    return Clip.apply(x, low=min, high=max)


def maximum(a: Any, b: Any) -> Tensor:
    """Elementwise maximum, broadcasting; ties split the gradient evenly (as PyTorch).

    >>> import microgradnn as mg
    >>> mg.maximum(mg.Tensor([1.0, 5.0]), 2.0).tolist()
    [2.0, 5.0]
    """
    return _binary(Maximum, a, b)


def minimum(a: Any, b: Any) -> Tensor:
    """Elementwise minimum, broadcasting; ties split the gradient evenly (as PyTorch).

    >>> import microgradnn as mg
    >>> mg.minimum(mg.Tensor([1.0, 5.0]), 2.0).tolist()
    [1.0, 2.0]
    """
    return _binary(Minimum, a, b)


def where(condition: Any, a: Any, b: Any) -> Tensor:
    """``a`` where ``condition`` is true, else ``b``; all three broadcast together.

    >>> import microgradnn as mg
    >>> x = mg.Tensor([-1.0, 2.0])
    >>> mg.where(x > 0, x, 0.0)
    Tensor([0., 2.])
    """
    cond = np.asarray(condition._data if isinstance(condition, Tensor) else condition)
    if cond.dtype != bool:
        raise TypeError(f"where: condition must be boolean, not {cond.dtype}")
    a, b = _pair(a, b, "where")
    try:
        return Where.apply(cond, a, b)
    except ValueError:
        raise ShapeError(
            f"where: shapes {shape_of(cond)}, {shape_of(a)} and {shape_of(b)} cannot be broadcast together"
        ) from None


def astype(x: Tensor, dtype: DTypeLike) -> Tensor:
    """The same values in another floating dtype; returns ``x`` itself when it already is.

    >>> import microgradnn as mg
    >>> mg.astype(mg.Tensor([1.0]), "float32").dtype
    dtype('float32')
    """
    target = as_float_array(np.empty(0), dtype, "astype").dtype
    if target == x.dtype:
        return x
    return Cast.apply(x, dtype=target)


def compare(ufunc: np.ufunc, a: Any, b: Any, symbol: str) -> Tensor:
    """A comparison: a boolean tensor that does not require grad.

    >>> import microgradnn as mg
    >>> (mg.Tensor([1.0, 3.0]) > 2).tolist()
    [False, True]
    """
    a, b = _pair(a, b, symbol)
    try:
        result = ufunc(backmath.constant(a), backmath.constant(b))
    except ValueError:
        raise ShapeError(f"{symbol}: shapes {shape_of(a)} and {shape_of(b)} cannot be broadcast together") from None
    return Tensor._wrap(np.asarray(result), None)
