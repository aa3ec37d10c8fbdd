"""Ops written out as NumPy expressions, for replays with no op objects at all.

A *lowering* of an op says, as lines of NumPy code, what the op's ``forward`` computes and
what its ``backward`` hands back, so a replay can run those lines instead of calling the op.
Each line is evaluated on the recording's own arrays as it is made, which gives every value's
shape, dtype and whether it is a fresh array, folds lines whose operands are all constants,
and checks the lowering: what the lines give must be the bits the op gave (else the recording
keeps calling the op). Only rewrites that cannot change a bit for any input are made:

- a Python number combined with a float array becomes a 0-d array of that array's dtype (NumPy
  converts it to that dtype anyway; a 0-d array takes a quicker path than a Python number);
- a constant array whose elements are all the same becomes a 0-d array, where the other operand
  already has the result's shape;
- multiplying by (or dividing by) a constant 1 is dropped, where the other operand was computed
  by the program (so it cannot be a signaling NaN, which the multiplication would quiet) and
  already has the result's shape and dtype.

Ops without a lowering are called as they are (see program.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .. import autograd
from ..nn import functional as F
from ..ops import elementwise as ew
from ..ops import linalg, reduce, shape, softmax

__all__ = ["Lowering", "LOWERINGS", "TEMPLATE_GLOBALS", "Mismatch"]

#: The names a lowered line may use besides its operands.
TEMPLATE_GLOBALS: dict[str, Any] = {
    "np": np,
    "_sum_to": autograd.sum_to,
    "_to_kept": reduce._Reduction.to_kept,
    "_broadcast_to": ew.backmath.broadcast_to,
    "_logsumexp": reduce.stable_logsumexp,
}

#: A lowered step: what ``backward(g)`` hands each input (None: no gradient).
Backward = Callable[[int], tuple[int | None, ...]]


class Mismatch(Exception):
    """A lowering gave other bits than the op it stands for."""


def same_bits(a: Any, b: Any) -> bool:
    """Whether two results are the same values to the bit (also NaN's), dtype and shape."""
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


_TEMPLATES: dict[tuple[str, int], Callable[..., Any]] = {}


def _template_function(template: str, n: int) -> Callable[..., Any]:
    """``template`` (with ``{0}``, ``{1}``... for its operands) as a function of them."""
    key = (template, n)
    fn = _TEMPLATES.get(key)
    if fn is None:
        names = [f"_{i}" for i in range(n)]
        fn = eval(f"lambda {', '.join(names)}: " + template.format(*names), dict(TEMPLATE_GLOBALS))  # noqa: S307
        _TEMPLATES[key] = fn
    return fn


class Expr:
    """``out = template(args)``: one line of a lowered program.

    ``ufunc`` names the ufunc the line is (then the program may write its result into a dead
    operand instead of a new array); ``fresh`` says the result is a new array nothing else
    holds; ``aliases`` says it may share memory with an operand (a view), so that operand is
    never overwritten while the result lives.
    """

    __slots__ = ("out", "template", "args", "ufunc", "augmented", "fresh", "aliases")

    effect = False

    def __init__(
        self,
        out: int,
        template: str,
        args: tuple[int, ...],
        ufunc: np.ufunc | None,
        augmented: str | None,
        fresh: bool,
        aliases: bool,
    ) -> None:
        self.out, self.template, self.args = out, template, args
        self.ufunc, self.augmented, self.fresh, self.aliases = ufunc, augmented, fresh, aliases

    def reads(self) -> tuple[int, ...]:
        """The slots the line reads."""
        return self.args

    def writes(self) -> tuple[int, ...]:
        """The slot the line writes."""
        return (self.out,)


_OPERATORS = {
    "+": (np.add, "+="),
    "-": (np.subtract, "-="),
    "*": (np.multiply, "*="),
    "/": (np.true_divide, "/="),
    ">": (np.greater, None),
}


class Lowering:
    """What lowerings build with: values are slot numbers; every line is evaluated at once
    on the recorded values (``values``), and lines of constants are folded (``consts``)."""

    def __init__(self, new_slot: Callable[[], int]) -> None:
        self.new_slot = new_slot
        self.lines: list[Any] = []
        self.values: dict[int, Any] = {}  # slot -> its value in the recorded call
        self.consts: dict[int, Any] = {}  # slot -> a value fixed for every replay
        self.arithmetic: set[int] = set()  # slots computed by the program (never signaling NaNs)
        self._shared: dict[tuple[str, bytes], np.ndarray] = {}  # 0-d constants by dtype and bits

    # ------------------------------------------------------------------ values
    def const(self, value: Any) -> int:
        """A slot holding ``value`` in every replay."""
        slot = self.new_slot()
        self.consts[slot] = self.values[slot] = value
        return slot

    def value(self, slot: int) -> Any:
        """The recorded value of ``slot``."""
        return self.values[slot]

    def is_const(self, slot: int) -> bool:
        """Whether ``slot`` holds the same value in every replay."""
        return slot in self.consts

    def known(self, slot: int, value: Any) -> int:
        """Note the recorded value of a slot made elsewhere (an argument, an op called as is)."""
        self.values[slot] = value
        return slot

    # ------------------------------------------------------------------ lines
    def expr(
        self,
        template: str,
        *args: int,
        ufunc: np.ufunc | None = None,
        augmented: str | None = None,
        fresh: bool | None = None,
        aliases: bool = False,
        fold: bool = True,
    ) -> int:
        """The slot of ``template`` applied to ``args``, evaluated now (folded if constant)."""
        with np.errstate(all="ignore"):  # as replays run
            result = _template_function(template, len(args))(*(self.values[a] for a in args))
        if fold and all(a in self.consts for a in args):
            return self.const(result)
        slot = self.new_slot()
        self.values[slot] = result
        is_fresh = type(result) is np.ndarray if fresh is None else fresh
        self.lines.append(Expr(slot, template, args, ufunc, augmented, is_fresh, aliases))
        if not aliases:
            self.arithmetic.add(slot)
        return slot

    def binary(self, op: str, a: int, b: int) -> int:
        """``a op b`` for one of + - * / >, with the exact rewrites of the module docstring."""
        ufunc, augmented = _OPERATORS[op]
        va, vb = self.values[a], self.values[b]
        with np.errstate(all="ignore"):
            result = ufunc(va, vb)
        if op in "*/" and b in self.consts and a in self.arithmetic and _is_one(vb) and _same_layout(va, result):
            return a
        if op == "*" and a in self.consts and b in self.arithmetic and _is_one(va) and _same_layout(vb, result):
            return b
        a, b = self.typed(a, b, ufunc), self.typed(b, a, ufunc, right=True)
        return self.expr("{0} " + op + " {1}", a, b, ufunc=ufunc, augmented=augmented)

    def unary(self, name: str, x: int) -> int:
        """``np.<name>(x)`` (``negative`` is written ``-x``)."""
        ufunc = getattr(np, name)
        template = "-{0}" if name == "negative" else f"np.{name}({{0}})"
        return self.expr(template, x, ufunc=ufunc)

    def call(self, template: str, *args: int) -> int:
        """A line that is not one ufunc: its result may be a view of an operand."""
        return self.expr(template, *args, aliases=True, fresh=False)

    def live(self, owner: Any, attribute: str = "_data") -> int:
        """A slot read from ``owner.<attribute>`` at each replay (a parameter's array, a buffer)."""
        return self.expr("{0}." + attribute, self.const(owner), aliases=True, fresh=False, fold=False)

    def shared(self, number: np.ndarray) -> np.ndarray:
        """One 0-d array for equal 0-d constants (one name in the generated code)."""
        return self._shared.setdefault((number.dtype.str, number.tobytes()), number)

    def typed(self, const: int, other: int, ufunc: np.ufunc, right: bool = False) -> int:
        """``const`` as a 0-d array where that gives the same bits (see the module docstring)."""
        if const not in self.consts or other in self.consts:
            return const
        value, partner = self.consts[const], self.values[other]
        if type(partner) is not np.ndarray or partner.dtype.kind != "f":
            return const
        if type(value) in (int, float):
            with np.errstate(all="ignore"):
                typed = np.array(value, partner.dtype)
        elif isinstance(value, np.generic | np.ndarray) and value.dtype.kind == "f" and np.ndim(value):
            if not _uniform(value):
                return const
            typed = np.array(np.asarray(value).reshape(-1)[0], value.dtype)
        elif isinstance(value, np.generic) and value.dtype.kind == "f":
            typed = np.array(value, value.dtype)
        else:
            return const
        typed = self.shared(typed)
        pair = (partner, typed) if right else (typed, partner)
        original = (partner, value) if right else (value, partner)
        with np.errstate(all="ignore"):
            if not same_bits(ufunc(*pair), ufunc(*original)) or np.shape(ufunc(*pair)) != np.shape(ufunc(*original)):
                return const
        return self.const(typed)


def _is_one(value: Any) -> bool:
    if type(value) in (int, float):
        return bool(value == 1)
    if isinstance(value, np.ndarray | np.generic) and value.dtype.kind in "fiu" and np.size(value):
        flat = np.asarray(value).reshape(-1)
        return bool(np.all(flat == 1))
    return False


def _same_layout(operand: Any, result: Any) -> bool:
    """Whether ``operand`` already is what ``result`` is: type, shape, dtype (and bits)."""
    return type(operand) is type(result) and same_bits(operand, result)


def _uniform(value: Any) -> bool:
    """Whether all elements of an array have the same bits."""
    flat = np.ascontiguousarray(value).reshape(-1)
    if flat.size == 0:
        return False
    bits = flat.view(np.uint8).reshape(flat.size, -1)
    return bool(np.all(bits == bits[0]))


# ---------------------------------------------------------------------- the table
#: Function class -> lowering(L, args, kwargs, needs) -> (output slot, backward or None), or
#: None where this call of the op is not lowered. ``args`` are slots, ``needs`` the node's
#: needs_input_grad (None when no gradient is recorded).
Lower = Callable[[Lowering, list[int], dict[str, int], Any], tuple[int, Backward | None] | None]
LOWERINGS: dict[type, Lower] = {}


def lowers(*classes: type) -> Callable[[Lower], Lower]:
    """Register the decorated function as the lowering of ``classes``."""

    def register(fn: Lower) -> Lower:
        for cls in classes:
            LOWERINGS[cls] = fn
        return fn

    return register


def _arrays(L: Lowering, *slots: int) -> bool:
    """Whether each slot holds an ndarray in this call (not a Python number or a scalar)."""
    return all(type(L.value(s)) is np.ndarray for s in slots)


@lowers(ew.Add)
def _add(L: Lowering, args: list[int], kwargs: dict[str, int], needs: Any) -> Any:
    a, b = args
    return L.binary("+", a, b), lambda g: (g, g)


@lowers(ew.Sub)
def _sub(L: Lowering, args: list[int], kwargs: dict[str, int], needs: Any) -> Any:
    a, b = args

    def backward(g: int) -> tuple[int | None, ...]:
        return (g if needs[0] else None), (L.unary("negative", g) if needs[1] else None)

    return L.binary("-", a, b), backward


@lowers(ew.Mul)
def _mul(L: Lowering, args: list[int], kwargs: dict[str, int], needs: Any) -> Any:
    a, b = args

    def backward(g: int) -> tuple[int | None, ...]:
        return (L.binary("*", g, b) if needs[0] else None), (L.binary("*", g, a) if needs[1] else None)

    return L.binary("*", a, b), backward


@lowers(ew.Div)
def _div(L: Lowering, args: list[int], kwargs: dict[str, int], needs: Any) -> Any:
    a, b = args

    def backward(g: int) -> tuple[int | None, ...]:
        grad_a = L.binary("/", g, b) if needs[0] else None
        grad_b = None
        if needs[1]:  # -g * a / (b * b), in that order
            grad_b = L.binary("/", L.binary("*", L.unary("negative", g), a), L.binary("*", b, b))
        return grad_a, grad_b

    return L.binary("/", a, b), backward


@lowers(ew.Neg)
def _neg(L: Lowering, args: list[int], kwargs: dict[str, int], needs: Any) -> Any:
    (x,) = args
    return L.unary("negative", x), lambda g: (L.unary("negative", g),)


@lowers(ew.Pow)
def _pow(L: Lowering, args: list[int], kwargs: dict[str, int], needs: Any) -> Any:
    a, b = args
    exponent: Any = L.consts.get(b)
    if type(exponent) not in (int, float) or not _arrays(L, a) or (needs and needs[1]):
        return None  # a tensor exponent: called as it is

    def backward(g: int) -> tuple[int | None, ...]:
        if exponent == 2:
            return L.binary("*", g, L.binary("+", a, a)), None
        if exponent == 0:
            return L.binary("*", g, L.const(0)), None
        power = L.expr("{0} ** {1}", a, L.const(exponent - 1), ufunc=np.power)
        return L.binary("*", L.binary("*", g, b), power), None

    return L.expr("{0} ** {1}", a, b, ufunc=np.power), backward


@lowers(ew.Exp)
def _exp(L: Lowering, args: list[int], kwargs: dict[str, int], needs: Any) -> Any:
    out = L.unary("exp", args[0])
    return out, lambda g: (L.binary("*", g, out),)


@lowers(ew.Log)
def _log(L: Lowering, args: list[int], kwargs: dict[str, int], needs: Any) -> Any:
    (x,) = args
    return L.unary("log", x), lambda g: (L.binary("/", g, x),)


@lowers(ew.Tanh)
def _tanh(L: Lowering, args: list[int], kwargs: dict[str, int], needs: Any) -> Any:
    out = L.unary("tanh", args[0])
    return out, lambda g: (L.binary("*", g, L.binary("-", L.const(1), L.binary("*", out, out))),)


@lowers(ew.Sigmoid)
def _sigmoid(L: Lowering, args: list[int], kwargs: dict[str, int], needs: Any) -> Any:
    (x,) = args
    if not _arrays(L, x) or L.value(x).ndim == 0:
        return None
    one = L.const(L.shared(ew._sigmoid_constants(L.value(x).dtype)[1]))
    # Sigmoid.forward's steps: 1 / (1 + exp(-x))
    t = L.unary("exp", L.unary("negative", x))
    t = L.binary("+", t, one)
    out = L.unary("reciprocal", t)
    return out, lambda g: (L.binary("*", L.binary("*", g, out), L.binary("-", L.const(1), out)),)


@lowers(ew.ReLU)
def _relu(L: Lowering, args: list[int], kwargs: dict[str, int], needs: Any) -> Any:
    (x,) = args
    if not _arrays(L, x):
        return None
    zero = L.const(0)
    out = L.expr("np.maximum({0}, {1})", x, L.typed(zero, x, np.maximum, right=True), ufunc=np.maximum)
    return out, lambda g: (L.binary("*", g, L.binary(">", x, zero)),)


@lowers(linalg.MatMul)
def _matmul(L: Lowering, args: list[int], kwargs: dict[str, int], needs: Any) -> Any:
    a, b = args
    if not _arrays(L, a, b) or L.value(a).ndim != 2 or L.value(b).ndim != 2:
        return None

    def backward(g: int) -> tuple[int | None, ...]:
        grad_a = L.expr("np.dot({0}, {1}.T)", g, b, fresh=True) if needs[0] else None
        grad_b = L.expr("np.dot({0}.T, {1})", a, g, fresh=True) if needs[1] else None
        return grad_a, grad_b

    return L.expr("np.dot({0}, {1})", a, b, fresh=True), backward


@lowers(reduce.Sum)
def _sum(L: Lowering, args: list[int], kwargs: dict[str, int], needs: Any) -> Any:
    return _reduction(L, args, kwargs, mean=False)


@lowers(reduce.Mean)
def _mean(L: Lowering, args: list[int], kwargs: dict[str, int], needs: Any) -> Any:
    return _reduction(L, args, kwargs, mean=True)


def _reduction(L: Lowering, args: list[int], kwargs: dict[str, int], mean: bool) -> Any:
    if len(args) != 3 or kwargs or not isinstance(L.value(args[0]), np.ndarray | np.generic):
        return None
    x, axes, keepdims = args
    axes_value, keep = L.consts.get(axes, ...), L.consts.get(keepdims, ...)
    if axes_value is ... or keep is ...:
        return None
    value = L.value(x)
    # the op's own bookkeeping, on a stand-in for its ctx: what backward reshapes to
    ctx = _ReductionCtx()
    reduce._Reduction.prepare(ctx, value, axes_value, keep)
    total = L.expr("np.add.reduce({0}, axis={1}, keepdims={2})", x, axes, keepdims)
    if mean:
        n = L.const(reduce._Reduction.count(value, axes_value))
        out = L.binary("/", total, n)
    else:
        out = total
    ctx_slot, shape = L.const(ctx), L.const(value.shape)

    def backward(g: int) -> tuple[int | None, ...]:
        kept = L.call("_to_kept({0}, {1})", ctx_slot, g)
        if mean:
            kept = L.binary("/", kept, n)
        return (L.expr("_broadcast_to({0}, {1})", kept, shape, fresh=True),)

    return out, backward


class _ReductionCtx:
    """The attributes a reduction keeps on its ctx for backward (see reduce._Reduction)."""

    __slots__ = ("in_shape", "keepdims", "axes", "kept")


@lowers(F.CrossEntropy)
def _cross_entropy(L: Lowering, args: list[int], kwargs: dict[str, int], needs: Any) -> Any:
    x, q = args
    options = {k: L.consts.get(v, ...) for k, v in kwargs.items()}
    axis, reduction = options.get("axis"), options.get("reduction")
    if (
        set(options) != {"axis", "denominator", "reduction"}
        or type(axis) is not int
        or reduction not in ("sum", "mean")
        or not _arrays(L, x, q)
        or (needs and needs[1])
    ):
        return None
    axes = L.const((axis,))
    log_probs = L.binary("-", x, L.call("_logsumexp({0}, {1})", x, axes))
    losses = L.unary("negative", L.expr("np.add.reduce({0}, axis={1})", L.binary("*", q, log_probs), kwargs["axis"]))
    total = L.expr("np.add.reduce({0}, axis=None)", losses)
    out = L.binary("/", total, kwargs["denominator"]) if reduction == "mean" else total

    def backward(g: int) -> tuple[int | None, ...]:
        if reduction == "mean":
            g = L.binary("/", g, kwargs["denominator"])
        q_sum = L.expr("{0}.sum(axis={1}, keepdims=True)", q, kwargs["axis"], fresh=True)
        gx = L.binary("*", L.binary("-", L.binary("*", q_sum, L.unary("exp", log_probs)), q), g)
        return gx, None

    return out, backward


# ---------------------------------------------------------------------- shapes (views)
def _option(L: Lowering, args: list[int], kwargs: dict[str, int], name: str) -> int | None:
    """The slot of an op's one option (by keyword or second position), if it is a constant."""
    slot = kwargs.get(name, args[1] if len(args) == 2 else None)
    return slot if slot is not None and L.is_const(slot) and len(args) + len(kwargs) == 2 else None


@lowers(shape.Reshape)
def _reshape(L: Lowering, args: list[int], kwargs: dict[str, int], needs: Any) -> Any:
    x, new = args[0], _option(L, args, kwargs, "shape")
    if new is None or not _arrays(L, x):
        return None
    in_shape = L.value(x).shape

    def backward(g: int) -> tuple[int | None, ...]:
        return (g if L.value(g).shape == in_shape else L.call("{0}.reshape({1})", g, L.const(in_shape)),)

    same = L.value(x).shape == L.consts[new]  # a reshape to the same shape is the array itself
    return (x if same else L.call("{0}.reshape({1})", x, new)), backward


@lowers(shape.Transpose)
def _transpose(L: Lowering, args: list[int], kwargs: dict[str, int], needs: Any) -> Any:
    x, axes = args[0], _option(L, args, kwargs, "axes")
    if axes is None or not _arrays(L, x):
        return None
    inverse = L.const(tuple(int(i) for i in np.argsort(L.consts[axes])))
    return L.call("{0}.transpose({1})", x, axes), lambda g: (L.call("{0}.transpose({1})", g, inverse),)


@lowers(shape.BroadcastTo)
def _broadcast(L: Lowering, args: list[int], kwargs: dict[str, int], needs: Any) -> Any:
    x, to = args[0], _option(L, args, kwargs, "shape")
    if to is None or not _arrays(L, x):
        return None
    in_shape, name = L.const(L.value(x).shape), L.const("broadcast_to")
    backward = lambda g: (L.call("_sum_to({0}, {1}, {2})", g, in_shape, name),)  # noqa: E731
    return L.call("np.broadcast_to({0}, {1})", x, to), backward


# ---------------------------------------------------------------------- softmax
def _softmax_axis(L: Lowering, args: list[int], kwargs: dict[str, int]) -> int | None:
    """The normalized axes (a constant slot) of a softmax call, or None where it is unusual."""
    x, axis = args[0], _option(L, args, kwargs, "axis")
    if axis is None or not _arrays(L, x) or type(L.consts[axis]) is not int:
        return None
    return L.const(reduce.normalize_axes(L.consts[axis], L.value(x).ndim, "softmax"))


@lowers(softmax.Softmax)
def _softmax(L: Lowering, args: list[int], kwargs: dict[str, int], needs: Any) -> Any:
    axes = _softmax_axis(L, args, kwargs)
    if axes is None:
        return None
    x = args[0]
    peak = L.expr("{0}.max(axis={1}, keepdims=True)", x, axes, fresh=True)
    e = L.unary("exp", L.binary("-", x, peak))
    out = L.binary("/", e, L.expr("{0}.sum(axis={1}, keepdims=True)", e, axes, fresh=True))

    def backward(g: int) -> tuple[int | None, ...]:  # out * (g - (g * out).sum(axis))
        dot = L.expr("{0}.sum(axis={1}, keepdims=True)", L.binary("*", g, out), axes, fresh=True)
        return (L.binary("*", out, L.binary("-", g, dot)),)

    return out, backward


@lowers(softmax.LogSoftmax)
def _log_softmax(L: Lowering, args: list[int], kwargs: dict[str, int], needs: Any) -> Any:
    axes = _softmax_axis(L, args, kwargs)
    if axes is None:
        return None
    x = args[0]
    out = L.binary("-", x, L.call("_logsumexp({0}, {1})", x, axes))

    def backward(g: int) -> tuple[int | None, ...]:  # g - exp(out) * g.sum(axis)
        total = L.expr("{0}.sum(axis={1}, keepdims=True)", g, axes, fresh=True)
        return (L.binary("-", g, L.binary("*", L.unary("exp", out), total)),)

    return out, backward
