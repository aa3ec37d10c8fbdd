"""Elementwise maths: the trigonometric, hyperbolic, logarithmic and rounding functions, the
binary ones (remainder, atan2, hypot, logaddexp...), and the predicates (isnan, isclose...).

Dozens of these share one shape, so each is one line of a table: its name, its NumPy forward,
and its derivative, side by side. A derivative is written once, against ``M``, a namespace that
is NumPy for ndarrays and the recorded ops for Tensors, so the same formula serves the fast
path and ``grad(..., create_graph=True)``::

    sin = unary("sin", np.sin, lambda x, out: M.cos(x), ...)

Functions without a derivative almost everywhere (floor, sign, round...) have gradient 0, as in
PyTorch. ``erf``, ``erfc`` and ``erfinv`` use SciPy's ``scipy.special``, imported only when they
are first called (``pip install "microgradnn[scipy]"``).
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..autograd import Function
from ..errors import ShapeError, shape_of
from ..tensor import Tensor, as_tensor
from . import backmath, elementwise

__all__ = [
    "unary",
    "binary",
    "M",
    # trigonometric and hyperbolic
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
    # exponents and logarithms
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
    # rounding
    "sign",
    "sgn",
    "floor",
    "ceil",
    "round",
    "trunc",
    "frac",
    "nan_to_num",
    # binary
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
    # predicates
    "isnan",
    "isinf",
    "isfinite",
    "isclose",
    "allclose",
    "equal",
]

Derivative = Callable[..., Any]


# ------------------------------------------------------------------ the namespace M
class _Math:
    """``M.f(x)``: NumPy's ``f`` on an ndarray or a constant, the recorded op on a Tensor.

    Filled in at the bottom of this module, once the ops it names exist.
    """

    def add(self, name: str, array_fn: Callable[..., Any], tensor_fn: Callable[..., Any]) -> None:
        def either(x: Any, *args: Any) -> Any:
            return tensor_fn(x, *args) if isinstance(x, Tensor) else array_fn(x, *args)

        either.__name__ = name
        setattr(self, name, either)

    @staticmethod
    def where(condition: Any, a: Any, b: Any) -> Any:
        """``np.where`` unless a branch is a Tensor; ``condition`` is a constant mask."""
        if isinstance(a, Tensor) or isinstance(b, Tensor):
            return elementwise.where(condition, a, b)
        return np.where(condition, a, b)

    def __getattr__(self, name: str) -> Any:  # for mypy: the functions are set by add()
        raise AttributeError(f"M has no function {name!r}")


M = _Math()
c = backmath.constant  # masks and signs: constant to the derivative


def _special() -> Any:
    """scipy.special, or an ImportError that says how to install it."""
    try:  # (by name: SciPy is optional, and mypy need not know it)
        return importlib.import_module("scipy.special")
    except ImportError:
        raise ImportError('erf, erfc, erfinv and the exact GELU need SciPy: pip install "microgradnn[scipy]"') from None


def _zeros(g: Any) -> Any:
    """A zero gradient of g's shape (not g * 0, which is NaN where g is inf)."""
    if isinstance(g, Tensor):
        return Tensor._wrap(np.zeros(g.shape, g.dtype), None)
    return np.zeros(np.shape(g), getattr(g, "dtype", np.float64))


# ------------------------------------------------------------------ the factories
class _Unary(Function):
    """One input, plus options fixed at the call; ``derivative(x, out, *options)``, or None
    for a gradient of 0."""

    __slots__ = ("options",)
    may_warn = True
    differentiable_twice = True
    function: Callable[..., Any]
    derivative: Derivative | None

    @classmethod
    def forward(cls, ctx: Any, x: np.ndarray, *options: Any) -> np.ndarray:
        ctx.options = options
        out = cls.function(x, *options)
        ctx.save_for_backward(x, out)
        return out

    @classmethod
    def backward(cls, ctx: Any, g: Any) -> Any:
        if cls.derivative is None:
            return _zeros(g)
        x, out = ctx.saved_tensors
        return g * cls.derivative(x, out, *ctx.options)


def _as_input(x: Any, op: str) -> Tensor:
    if isinstance(x, Tensor):
        return x
    try:
        return as_tensor(x)
    except TypeError as err:
        raise TypeError(f"{op}: expected a Tensor, got {type(x).__name__} ({err})") from None


def _run(fn: Any, input: Any, op: str, *options: Any) -> Tensor:
    """Call the op behind a function made by :func:`unary`, with options for its forward."""
    result: Tensor = fn.op._apply1(_as_input(input, op), *options)
    return result


def unary(
    name: str, function: Callable[..., Any], derivative: Derivative | None, doc: str
) -> Callable[[Tensor], Tensor]:
    """Declare a one-input elementwise op: its forward on ndarrays and its derivative
    ``d(x, out)`` written against :data:`M` (None: gradient 0). Returns the public function.

    >>> import numpy as np, microgradnn as mg
    >>> from microgradnn.ops.unary import M, unary
    >>> cube = unary("cube", lambda x: x**3, lambda x, out: 3 * x * x, "x cubed.")
    >>> x = mg.Tensor([2.0], requires_grad=True)
    >>> cube(x).backward(mg.ones(1)); x.grad
    array([12.])
    """
    op: type[_Unary] = type(name, (_Unary,), {"__slots__": (), "name": name, "__doc__": doc.split("\n")[0]})
    op.function = staticmethod(function)
    op.derivative = None if derivative is None else staticmethod(derivative)

    def public(input: Tensor) -> Tensor:
        return op._apply1(input if isinstance(input, Tensor) else _as_input(input, name))

    public.__name__ = public.__qualname__ = name
    public.__doc__ = doc
    public.__module__ = __name__
    public.op = op  # type: ignore[attr-defined]
    return public


class _Binary(Function):
    """Two broadcast inputs; ``derivative(a, b, out)`` returns (d out/d a, d out/d b)."""

    __slots__ = ()
    may_warn = True
    differentiable_twice = True
    function: Callable[..., Any]
    derivative: Derivative | None

    @classmethod
    def forward(cls, ctx: Any, a: Any, b: Any) -> np.ndarray:
        out = cls.function(a, b)
        ctx.save_for_backward(a, b, out)
        return out

    @classmethod
    def backward(cls, ctx: Any, g: Any) -> tuple[Any, Any]:
        need_a, need_b = ctx.needs_input_grad
        if cls.derivative is None:
            return (_zeros(g) if need_a else None), (_zeros(g) if need_b else None)
        da, db = cls.derivative(*ctx.saved_tensors)
        return (g * da if need_a else None), (g * db if need_b else None)


def binary(
    name: str, function: Callable[..., Any], derivative: Derivative | None, doc: str
) -> Callable[[Any, Any], Tensor]:
    """Declare a two-input elementwise op that broadcasts: its forward on ndarrays and its
    derivative ``d(a, b, out) -> (da, db)`` written against :data:`M` (None: gradients 0).

    >>> import numpy as np, microgradnn as mg
    >>> from microgradnn.ops.unary import binary
    >>> avg = binary("avg", lambda a, b: (a + b) / 2, lambda a, b, out: (0.5, 0.5), "Mean.")
    >>> avg(mg.Tensor([1.0]), 3.0).tolist()
    [2.0]
    """
    op: type[_Binary] = type(name, (_Binary,), {"__slots__": (), "name": name, "__doc__": doc.split("\n")[0]})
    op.function = staticmethod(function)
    op.derivative = None if derivative is None else staticmethod(derivative)

    def public(input: Any, other: Any) -> Tensor:
        return elementwise._binary(op, input, other)

    public.__name__ = public.__qualname__ = name
    public.__doc__ = doc
    public.__module__ = __name__
    public.op = op  # type: ignore[attr-defined]
    return public


def _doc(summary: str, example: str, result: str) -> str:
    """A docstring: one line, then a doctest of ``mg.<example>`` and its result."""
    return f"{summary}\n\n>>> import microgradnn as mg\n>>> mg.{example}\n{result}\n"


T = "mg.Tensor"
PI = math.pi

# ------------------------------------------------------------------ trigonometric, hyperbolic
# fmt: off
sin = unary("sin", np.sin, lambda x, out: M.cos(x),
            _doc("Sine, elementwise.", f"sin({T}([0.0])).tolist()", "[0.0]"))
cos = unary("cos", np.cos, lambda x, out: -M.sin(x),
            _doc("Cosine, elementwise.", f"cos({T}([0.0])).tolist()", "[1.0]"))
tan = unary("tan", np.tan, lambda x, out: 1 + out * out,
            _doc("Tangent, elementwise.", f"tan({T}([0.0])).tolist()", "[0.0]"))
arcsin = unary("arcsin", np.arcsin, lambda x, out: 1 / M.sqrt(1 - x * x),
               _doc("Inverse sine (NaN outside [-1, 1]); ``asin`` is the same function.",
                    f"arcsin({T}([1.0])).tolist()", "[1.5707963267948966]"))
arccos = unary("arccos", np.arccos, lambda x, out: -1 / M.sqrt(1 - x * x),
               _doc("Inverse cosine (NaN outside [-1, 1]); ``acos`` is the same function.",
                    f"arccos({T}([1.0])).tolist()", "[0.0]"))
arctan = unary("arctan", np.arctan, lambda x, out: 1 / (1 + x * x),
               _doc("Inverse tangent; ``atan`` is the same function.",
                    f"arctan({T}([0.0])).tolist()", "[0.0]"))
sinh = unary("sinh", np.sinh, lambda x, out: M.cosh(x),
             _doc("Hyperbolic sine.", f"sinh({T}([0.0])).tolist()", "[0.0]"))
cosh = unary("cosh", np.cosh, lambda x, out: M.sinh(x),
             _doc("Hyperbolic cosine.", f"cosh({T}([0.0])).tolist()", "[1.0]"))
arcsinh = unary("arcsinh", np.arcsinh, lambda x, out: 1 / M.sqrt(x * x + 1),
                _doc("Inverse hyperbolic sine; ``asinh`` is the same function.",
                     f"arcsinh({T}([0.0])).tolist()", "[0.0]"))
arccosh = unary("arccosh", np.arccosh, lambda x, out: 1 / M.sqrt(x * x - 1),
                _doc("Inverse hyperbolic cosine (NaN below 1); ``acosh`` is the same function.",
                     f"arccosh({T}([1.0])).tolist()", "[0.0]"))
arctanh = unary("arctanh", np.arctanh, lambda x, out: 1 / (1 - x * x),
                _doc("Inverse hyperbolic tangent (inf at ±1); ``atanh`` is the same function.",
                     f"arctanh({T}([0.0])).tolist()", "[0.0]"))
# sin(pi x) / (pi x), 1 at 0; the derivative (cos(pi x) - sinc(x)) / x is 0 there.
sinc = unary("sinc", np.sinc, lambda x, out: (M.cos(PI * x) - out) / (x + (c(x) == 0)),
             _doc("The normalized sinc, sin(pi x) / (pi x), and 1 at 0.",
                  f"sinc({T}([0.0, 1.0])).data.round(12).tolist()", "[1.0, 0.0]"))
deg2rad = unary("deg2rad", np.deg2rad, lambda x, out: PI / 180,
                _doc("Degrees to radians.", f"deg2rad({T}([180.0])).tolist()", "[3.141592653589793]"))
rad2deg = unary("rad2deg", np.rad2deg, lambda x, out: 180 / PI,
                _doc("Radians to degrees.", f"rad2deg({T}([3.141592653589793])).tolist()", "[180.0]"))

# ------------------------------------------------------------------ exponents and logarithms
log1p = unary("log1p", np.log1p, lambda x, out: 1 / (1 + x),
              _doc("log(1 + x), accurate for small x.", f"log1p({T}([0.0])).tolist()", "[0.0]"))
expm1 = unary("expm1", np.expm1, lambda x, out: out + 1,
              _doc("exp(x) - 1, accurate for small x.", f"expm1({T}([0.0])).tolist()", "[0.0]"))
log2 = unary("log2", np.log2, lambda x, out: 1 / (x * math.log(2)),
             _doc("Base-2 logarithm.", f"log2({T}([8.0])).tolist()", "[3.0]"))
log10 = unary("log10", np.log10, lambda x, out: 1 / (x * math.log(10)),
              _doc("Base-10 logarithm.", f"log10({T}([100.0])).tolist()", "[2.0]"))
exp2 = unary("exp2", np.exp2, lambda x, out: out * math.log(2),
             _doc("2 ** x.", f"exp2({T}([3.0])).tolist()", "[8.0]"))
square = unary("square", np.square, lambda x, out: 2 * x,
               _doc("x * x.", f"square({T}([-3.0])).tolist()", "[9.0]"))
reciprocal = unary("reciprocal", np.reciprocal, lambda x, out: -out * out,
                   _doc("1 / x (inf at 0).", f"reciprocal({T}([4.0])).tolist()", "[0.25]"))
rsqrt = unary("rsqrt", lambda x: 1 / np.sqrt(x), lambda x, out: -0.5 * out * out * out,
              _doc("1 / sqrt(x).", f"rsqrt({T}([4.0])).tolist()", "[0.5]"))
erf = unary("erf", lambda x: _special().erf(x), lambda x, out: (2 / math.sqrt(PI)) * M.exp(-x * x),
            _doc("The error function (needs SciPy).", f"erf({T}([0.0])).tolist()", "[0.0]"))
erfc = unary("erfc", lambda x: _special().erfc(x), lambda x, out: (-2 / math.sqrt(PI)) * M.exp(-x * x),
             _doc("1 - erf(x), accurate where erf(x) is near 1 (needs SciPy).",
                  f"erfc({T}([0.0])).tolist()", "[1.0]"))
erfinv = unary("erfinv", lambda x: _special().erfinv(x), lambda x, out: (math.sqrt(PI) / 2) * M.exp(out * out),
               _doc("The inverse of erf on (-1, 1) (±inf at ±1, needs SciPy).",
                    f"erfinv({T}([0.0])).tolist()", "[0.0]"))

# ------------------------------------------------------------------ rounding (gradient 0 or 1)
sign = unary("sign", np.sign, None,
             _doc("-1, 0 or 1 by the sign of x (gradient 0).", f"sign({T}([-2.0, 0.0, 3.0])).tolist()",
                  "[-1.0, 0.0, 1.0]"))
sgn = unary("sgn", np.sign, None,
            _doc("sign's other name (PyTorch's for complex numbers; for reals the same).",
                 f"sgn({T}([-2.0, 0.0])).tolist()", "[-1.0, 0.0]"))
floor = unary("floor", np.floor, None,
              _doc("The largest integer <= x (gradient 0).", f"floor({T}([-1.5, 1.5])).tolist()", "[-2.0, 1.0]"))
ceil = unary("ceil", np.ceil, None,
             _doc("The smallest integer >= x (gradient 0).", f"ceil({T}([-1.5, 1.5])).tolist()", "[-1.0, 2.0]"))
trunc = unary("trunc", np.trunc, None,
              _doc("x rounded towards 0 (gradient 0).", f"trunc({T}([-1.5, 1.5])).tolist()", "[-1.0, 1.0]"))
frac = unary("frac", lambda x: x - np.trunc(x), lambda x, out: 1,
             _doc("x - trunc(x): the fractional part, with the sign of x.",
                  f"frac({T}([-1.5, 2.25])).tolist()", "[-0.5, 0.25]"))
# fmt: on
_round = unary("round", np.round, None, "Round half to even, to ``decimals`` places.")


def round(input: Tensor, decimals: int = 0) -> Tensor:
    """Round half to even (as PyTorch and NumPy), to ``decimals`` places; gradient 0.

    >>> import microgradnn as mg
    >>> mg.round(mg.Tensor([0.5, 1.5, 2.567]), decimals=0).tolist()
    [0.0, 2.0, 3.0]
    >>> mg.round(mg.Tensor([2.567]), decimals=2).tolist()
    [2.57]
    """
    if isinstance(decimals, bool) or not isinstance(decimals, (int, np.integer)):
        raise TypeError(f"round: decimals must be an int, not {decimals!r}")
    return _run(_round, input, "round", int(decimals))


def _nan_to_num(x: np.ndarray, nan: float, posinf: float | None, neginf: float | None) -> np.ndarray:
    return np.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)


# The gradient passes where x is finite (as PyTorch's): the replaced values are constants.
_nan_to_num_fn = unary(
    "nan_to_num", _nan_to_num, lambda x, out, *options: np.isfinite(c(x)), "NaN and infinities replaced."
)


def nan_to_num(input: Tensor, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None) -> Tensor:
    """NaN replaced by ``nan``, +inf by ``posinf`` and -inf by ``neginf`` (default: the
    dtype's largest and smallest numbers); the gradient passes where x is finite.

    >>> import microgradnn as mg
    >>> mg.nan_to_num(mg.Tensor([float("nan"), 1.0, float("-inf")]), neginf=-9.0).tolist()
    [0.0, 1.0, -9.0]
    """
    return _run(_nan_to_num_fn, input, "nan_to_num", nan, posinf, neginf)


# PyTorch's short names: separate functions (not the same object) so each has its own page.
def asin(input: Tensor) -> Tensor:
    """:func:`arcsin` by PyTorch's name.

    >>> import microgradnn as mg
    >>> mg.asin(mg.Tensor([1.0])).tolist()
    [1.5707963267948966]
    """
    return arcsin(input)


def acos(input: Tensor) -> Tensor:
    """:func:`arccos` by PyTorch's name.

    >>> import microgradnn as mg
    >>> mg.acos(mg.Tensor([1.0])).tolist()
    [0.0]
    """
    return arccos(input)


def atan(input: Tensor) -> Tensor:
    """:func:`arctan` by PyTorch's name.

    >>> import microgradnn as mg
    >>> mg.atan(mg.Tensor([0.0])).tolist()
    [0.0]
    """
    return arctan(input)


def asinh(input: Tensor) -> Tensor:
    """:func:`arcsinh` by PyTorch's name.

    >>> import microgradnn as mg
    >>> mg.asinh(mg.Tensor([0.0])).tolist()
    [0.0]
    """
    return arcsinh(input)


def acosh(input: Tensor) -> Tensor:
    """:func:`arccosh` by PyTorch's name.

    >>> import microgradnn as mg
    >>> mg.acosh(mg.Tensor([1.0])).tolist()
    [0.0]
    """
    return arccosh(input)


def atanh(input: Tensor) -> Tensor:
    """:func:`arctanh` by PyTorch's name.

    >>> import microgradnn as mg
    >>> mg.atanh(mg.Tensor([0.0])).tolist()
    [0.0]
    """
    return arctanh(input)


# ------------------------------------------------------------------ binary
def _xlogy(a: Any, b: Any) -> np.ndarray:
    # 0 where a == 0, even where log(b) is -inf (but NaN where b is NaN), as PyTorch.
    b = np.asarray(b, np.result_type(a, b))  # a Python number b must not make float32 float64
    return np.where((np.asarray(a) == 0) & ~np.isnan(b), 0, a * np.log(b))


def _xlogy_derivative(a: Any, b: Any, out: Any) -> tuple[Any, Any]:
    # d/da = log(b), but 0 where a == 0 and b <= 0 (PyTorch's choice; log(b) is -inf or NaN).
    hole = (c(a) == 0) & (c(b) <= 0)
    return M.log(M.where(hole, 1.0, b)) if np.any(hole) else M.log(b), a / b


def _copysign_derivative(a: Any, b: Any, out: Any) -> tuple[Any, Any]:
    # out / a is ±1 (0 at a == 0, as PyTorch); b only gives the sign: gradient 0.
    a_, out_ = c(a), c(out)
    zero = a_ == 0
    return np.where(zero, 0, out_ / np.where(zero, 1, a_)), 0


def _atan2_derivative(a: Any, b: Any, out: Any) -> tuple[Any, Any]:
    r2 = a * a + b * b
    return b / r2, -a / r2


# fmt: off
logaddexp = binary("logaddexp", np.logaddexp, lambda a, b, out: (M.exp(a - out), M.exp(b - out)),
                   _doc("log(exp(a) + exp(b)), without overflow.",
                        f"logaddexp({T}([1000.0]), {T}([1000.0])).tolist()", "[1000.6931471805599]"))
logaddexp2 = binary("logaddexp2", np.logaddexp2, lambda a, b, out: (M.exp2(a - out), M.exp2(b - out)),
                    _doc("log2(2 ** a + 2 ** b), without overflow.",
                         f"logaddexp2({T}([3.0]), {T}([3.0])).tolist()", "[4.0]"))
# C's fmod: the remainder has the sign of the dividend; d/db = -trunc(a / b).
fmod = binary("fmod", np.fmod, lambda a, b, out: (1, -np.trunc(c(a) / c(b))),
              _doc("The remainder of a / b with the sign of a (C's fmod).",
                   f"fmod({T}([-3.0, 3.0]), 2).tolist()", "[-1.0, 1.0]"))
# Python's %: the remainder has the sign of the divisor (PyTorch's remainder, NumPy's mod).
remainder = binary("remainder", np.remainder, lambda a, b, out: (1, -np.floor(c(a) / c(b))),
                   _doc("a - b * floor(a / b): the remainder with the sign of b, as Python's ``%``.",
                        f"remainder({T}([-3.0, 3.0]), 2).tolist()", "[1.0, 1.0]"))
floor_divide = binary("floor_divide", np.floor_divide, None,
                      _doc("floor(a / b), as Python's ``//`` (gradient 0).",
                           f"floor_divide({T}([-3.0, 3.0]), 2).tolist()", "[-2.0, 1.0]"))
copysign = binary("copysign", np.copysign, _copysign_derivative,
                  _doc("The magnitude of a with the sign of b.",
                       f"copysign({T}([2.0, 2.0]), {T}([-1.0, 0.0])).tolist()", "[-2.0, 2.0]"))
hypot = binary("hypot", np.hypot, lambda a, b, out: (a / out, b / out),
               _doc("sqrt(a ** 2 + b ** 2), without overflow.", f"hypot({T}([3.0]), 4).tolist()", "[5.0]"))
atan2 = binary("atan2", np.arctan2, _atan2_derivative,
               _doc("The angle of the point (other, input): arctan(input / other) in the right quadrant.",
                    f"atan2({T}([1.0]), {T}([0.0])).tolist()", "[1.5707963267948966]"))
xlogy = binary("xlogy", _xlogy, _xlogy_derivative,
               _doc("input * log(other), and 0 where input is 0.",
                    f"xlogy({T}([0.0, 2.0]), {T}([0.0, 1.0])).tolist()", "[0.0, 0.0]"))
# fmt: on


def arctan2(input: Any, other: Any) -> Tensor:
    """:func:`atan2` by NumPy's name.

    >>> import microgradnn as mg
    >>> mg.arctan2(mg.Tensor([1.0]), 1.0).tolist()
    [0.7853981633974483]
    """
    return atan2(input, other)


def lerp(input: Tensor, end: Any, weight: Any) -> Tensor:
    """``input + weight * (end - input)``: linear interpolation; ``weight`` a number or a
    tensor, everything broadcasting.

    >>> import microgradnn as mg
    >>> mg.lerp(mg.Tensor([0.0, 10.0]), mg.Tensor([10.0, 20.0]), 0.25).tolist()
    [2.5, 12.5]
    """
    # Composed from recorded ops: the gradients (1 - w, w, end - input) follow, to any order.
    input = _as_input(input, "lerp")
    try:
        return input + weight * (end - input)
    except ShapeError:
        raise ShapeError(
            f"lerp: shapes {shape_of(input)}, {shape_of(end)} and {shape_of(weight)} cannot be broadcast together"
        ) from None


# ------------------------------------------------------------------ predicates
def _flag(result: Any) -> Tensor:
    return Tensor._wrap(np.asarray(result), None)


def isnan(input: Tensor) -> Tensor:
    """Where x is NaN: a boolean tensor that does not require grad.

    >>> import microgradnn as mg
    >>> mg.isnan(mg.Tensor([1.0, float("nan")])).tolist()
    [False, True]
    """
    return _flag(np.isnan(_as_input(input, "isnan")._data))


def isinf(input: Tensor) -> Tensor:
    """Where x is +inf or -inf: a boolean tensor that does not require grad.

    >>> import microgradnn as mg
    >>> mg.isinf(mg.Tensor([1.0, float("-inf")])).tolist()
    [False, True]
    """
    return _flag(np.isinf(_as_input(input, "isinf")._data))


def isfinite(input: Tensor) -> Tensor:
    """Where x is neither NaN nor infinite: a boolean tensor that does not require grad.

    >>> import microgradnn as mg
    >>> mg.isfinite(mg.Tensor([1.0, float("inf"), float("nan")])).tolist()
    [True, False, False]
    """
    return _flag(np.isfinite(_as_input(input, "isfinite")._data))


def _values(a: Any, b: Any, op: str) -> tuple[Any, Any]:
    a, b = elementwise._pair(a, b, op)
    return c(a), c(b)


def isclose(input: Any, other: Any, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> Tensor:
    """Where ``|input - other| <= atol + rtol * |other|``, broadcasting: a boolean tensor.

    >>> import microgradnn as mg
    >>> mg.isclose(mg.Tensor([1.0, 1.1]), 1.0).tolist()
    [True, False]
    """
    a, b = _values(input, other, "isclose")
    try:
        return _flag(np.isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan))
    except ValueError:
        raise ShapeError(f"isclose: shapes {shape_of(a)} and {shape_of(b)} cannot be broadcast together") from None


def allclose(input: Any, other: Any, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> bool:
    """Whether every element is close (see :func:`isclose`): a Python bool.

    >>> import microgradnn as mg
    >>> mg.allclose(mg.Tensor([1.0, 2.0]), mg.Tensor([1.0, 2.0 + 1e-9]))
    True
    """
    return bool(isclose(input, other, rtol, atol, equal_nan)._data.all())


def equal(input: Any, other: Any) -> bool:
    """Whether the two have the same shape and the same values (NaN is never equal): a bool.

    >>> import microgradnn as mg
    >>> mg.equal(mg.Tensor([1.0, 2.0]), mg.Tensor([1.0, 2.0])), mg.equal(mg.ones(2), mg.ones(1))
    (True, False)
    """
    a, b = _values(input, other, "equal")
    return np.shape(a) == np.shape(b) and bool(np.array_equal(a, b))


# ------------------------------------------------------------------ M, once the ops exist
_PAIRS: list[tuple[str, Callable[..., Any], Callable[..., Any]]] = [
    ("exp", np.exp, elementwise.exp),
    ("log", np.log, elementwise.log),
    ("sqrt", np.sqrt, elementwise.sqrt),
    ("tanh", np.tanh, elementwise.tanh),
    ("sigmoid", elementwise.sigmoid_array, elementwise.sigmoid),
    ("sin", np.sin, sin),
    ("cos", np.cos, cos),
    ("sinh", np.sinh, sinh),
    ("cosh", np.cosh, cosh),
    ("exp2", np.exp2, exp2),
    ("log1p", np.log1p, log1p),
    ("erf", lambda x: _special().erf(x), erf),
]
for _name, _array_fn, _tensor_fn in _PAIRS:
    M.add(_name, _array_fn, _tensor_fn)
