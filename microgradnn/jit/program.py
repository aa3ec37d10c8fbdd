"""A recorded call as a flat program, turned into one generated Python function.

Each step of the eager call becomes a line or two of Python: a forward step calls an op's
``forward`` on arrays with a fresh context, a backward step calls its ``backward`` and hands
the gradients on exactly as the engine's walk did (the same sums, in the same order, with the
same casts), a leaf step leaves a gradient in a parameter's ``.grad``, and a call step runs
library code with state of its own (an optimizer's ``step``, ``zero_grad``, a scheduler) as it
is, so its hyper-parameters are read live. Parameters and closure-captured tensors are read
from their Tensor (``w._data``) at each replay, never copied into the program. The generated
source is what ``CompiledFunction.source`` shows, and what runs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import autograd
from ..autograd import Function, sum_to
from ..tensor import Tensor
from .lowering import TEMPLATE_GLOBALS, Expr

__all__ = ["Program", "Operand", "MISS"]

#: What a replay function returns when its guards find that the recording does not apply.
MISS: Any = type("Miss", (), {"__repr__": lambda self: "MISS", "__slots__": ()})()

#: Where a step finds one of its operands: ("slot", i) an array made earlier in the program
#: (or an argument), ("live", tensor) that tensor's data at replay time, ("buffer", (module,
#: name)) a module buffer at replay time, ("const", value) a value fixed when the call was
#: recorded.
Operand = tuple[str, Any]


class _Namespace:
    """The globals of the generated function: each object it uses gets a readable name."""

    def __init__(self, names: dict[int, str], consts: dict[int, Any] | None = None) -> None:
        self.names = names  # id -> a name the user knows (a parameter's, a closure variable's)
        self.consts = consts or {}  # slot -> the value it holds in every replay (lowered programs)
        self.renamed: dict[int, str] = {}  # slot -> the name of the array it was computed into
        self.pool: dict[tuple[Any, ...], np.ndarray] = {}  # scratch memory, shared by a function's programs

        self.values: dict[str, Any] = {
            "_new": object.__new__,
            "_ndarray": np.ndarray,
            "_array": np.array,
            "_as_result": autograd._as_result_array,
            "_sum_to": sum_to,
            "_check_grads": autograd._check_grads,
            "_Tensor": Tensor,
            "_note_changes": autograd.note_changes,
            "_fp_set": autograd._fp_set,
            "_fp_reset": autograd._fp_reset,
            "_FP_IGNORE": autograd._FP_IGNORE,
            "MISS": MISS,
            **TEMPLATE_GLOBALS,
        }
        self._by_id: dict[int, str] = {}

    def scratch(self, param: Tensor) -> np.ndarray:
        """Memory for an array like ``param``'s, allocated once and shared by the programs of
        one compiled function for that parameter (a cache of them holds one copy). Per
        parameter: programs for other models may replay in other threads at the same time."""
        like = param._data
        key = (id(param), like.shape, like.dtype.str)
        if key not in self.pool:
            self.pool[key] = np.empty_like(like)
        return self.pool[key]

    def add(self, value: Any, hint: str) -> str:
        """The name ``value`` has in the generated code (made on first use)."""
        key = id(value)
        if key in self._by_id:
            return self._by_id[key]
        base = "".join(c if c.isalnum() else "_" for c in self.names.get(key, hint)) or "v"
        if base[0].isdigit() or re.fullmatch(r"[scg]\d*", base):  # digits first; the locals' names
            base = "_" + base
        name, n = base, 1
        while name in self.values:
            n += 1
            name = f"{base}_{n}"
        self.values[name] = value
        self._by_id[key] = name
        return name

    def operand(self, operand: Operand) -> str:
        kind, value = operand
        if kind == "slot":
            if value in self.consts:
                return self.operand(("const", self.consts[value]))
            return self.renamed.get(value) or f"s{value}"
        if kind == "live":
            return f"{self.add(value, 'tensor')}._data"
        if kind == "buffer":
            module, name = value
            return f"{self.add(module, type(module).__name__)}.{name}"
        if kind == "reshape":
            inner, shape = value
            return f"{self.operand(inner)}.reshape({shape!r})"
        if kind == "tuple":
            return "(" + "".join(f"{self.operand(v)}, " for v in value) + ")"
        if value is None or type(value) in (bool, int, float, str):  # exactly: a subclass's repr may not run
            return repr(value)
        if type(value) is tuple and all(v is None or type(v) in (bool, int) for v in value):
            return repr(value)
        return self.add(value, _hint(value))


def _hint(value: Any) -> str:
    """A readable name for a constant of the generated code: ``k0.5`` for a number."""
    if isinstance(value, Tensor):
        return "tensor"
    if isinstance(value, np.ndarray | np.generic) and np.ndim(value) == 0 and value.dtype.kind == "f":
        return f"k{float(value):g}".replace(".", "_").replace("-", "m").replace("+", "")
    return type(value).__name__ if not isinstance(value, np.ndarray) else "const"


class _Forward:
    __slots__ = ("cls", "operands", "kwargs", "out", "ctx", "needs", "scalar")

    def __init__(
        self,
        cls: type[Function],
        operands: list[Operand],
        kwargs: dict[str, Operand],
        out: int,
        ctx: int,
        needs: Any,
        scalar: bool,
    ) -> None:
        self.cls, self.operands, self.kwargs, self.out, self.ctx = cls, operands, kwargs, out, ctx
        self.needs, self.scalar = needs, scalar  # scalar: 0-d, which NumPy may return as a scalar

    effect = True  # an op called as it is may draw random numbers, update buffers, raise

    def reads(self) -> list[int]:
        return _slots_in([*self.operands, *self.kwargs.values()])

    def writes(self) -> tuple[int, ...]:
        return (self.out, self.ctx)

    def emit(self, ns: _Namespace) -> list[str]:
        cls = ns.add(self.cls, self.cls.__name__)
        forward = ns.add(self.cls.forward, f"{self.cls.__name__}_forward")
        args = [ns.operand(o) for o in self.operands]
        call = ", ".join([f"c{self.ctx}"] + args + [f"{k}={ns.operand(o)}" for k, o in self.kwargs.items()])
        out, ctx = f"s{self.out}", f"c{self.ctx}"
        lines = [f"{ctx} = _new({cls}); {ctx}.saved_tensors = (); {out} = {forward}({call})"]
        if self.scalar:
            lines.append(f"if type({out}) is not _ndarray: {out} = _as_result({cls}, {ctx}, {out})")
        if self.needs is not None:  # what the engine sets on a node, as far as backward reads it
            line = f"{ctx}.needs_input_grad = {self.needs!r}"
            if _reads_inputs(self.cls):  # matmul's backward reads its inputs' ndim
                line = f"{ctx}.inputs = (" + "".join(f"{a}, " for a in args) + f"); {line}"
            lines.append(line)
        return lines


def _slots_in(operands: list[Operand]) -> list[int]:
    found = []
    for kind, value in operands:
        if kind == "slot":
            found.append(value)
        elif kind == "tuple":
            found += _slots_in(list(value))
        elif kind == "reshape":
            found += _slots_in([value[0]])
    return found


def _reads_inputs(cls: type[Function]) -> bool:
    """Whether an op's backward may read ``ctx.inputs``: a custom Function (the engine checks
    its gradients against them), or a built-in one whose backward names the attribute."""
    if not cls.__module__.startswith("microgradnn."):
        return True
    return "inputs" in getattr(cls.backward, "__code__", compile("", "", "exec")).co_names


class _Backward:
    __slots__ = ("cls", "ctx", "grad", "sends", "custom")

    def __init__(
        self, cls: type[Function], ctx: int, grad: int, sends: list[tuple[int, int, Any, bool]], custom: bool
    ) -> None:
        # sends: (input position, destination slot, (shape, dtype) to fit to or None, add?)
        self.cls, self.ctx, self.grad, self.sends, self.custom = cls, ctx, grad, sends, custom

    def emit(self, ns: _Namespace) -> list[str]:
        backward = ns.add(self.cls.backward, f"{self.cls.__name__}_backward")
        lines = [f"g = {backward}(c{self.ctx}, s{self.grad})", "if type(g) is not tuple: g = (g,)"]
        if self.custom:  # as the engine does: copies, of the inputs' shapes
            lines.append(f"g = _check_grads(c{self.ctx}, g)")
        for position, slot, fit, add in self.sends:
            value = f"g[{position}]"
            if fit is not None:  # the engine's _fit: undo broadcasting, then cast
                shape, dtype = fit
                if shape is not None:
                    value = f"_sum_to({value}, {shape!r}, {self.cls.name!r})"
                if dtype is not None:
                    value = f"{value}.astype({ns.add(dtype, 'dtype')})"
            lines.append(f"s{slot} = s{slot} + {value}" if add else f"s{slot} = {value}")
        lines.append(f"c{self.ctx} = None")  # its saved arrays go, as the engine releases a node
        return lines


class _Leaf:
    __slots__ = ("tensor", "grad", "owned", "add")

    def __init__(self, tensor: Tensor, grad: int, owned: bool, add: bool) -> None:
        self.tensor, self.grad, self.owned, self.add = tensor, grad, owned, add

    def emit(self, ns: _Namespace) -> list[str]:
        t = ns.add(self.tensor, "tensor")
        g = f"s{self.grad}"
        if self.owned:
            value = f"({g} if type({g}) is _ndarray else _array({g}, dtype={t}._data.dtype))"
        else:
            value = f"_array({g}, dtype={t}._data.dtype)"
        return [f"{t}.grad = {t}.grad + {value}" if self.add else f"{t}.grad = {value}"]


class _Seed:
    __slots__ = ("slot", "shape", "dtype", "scalar")

    effect = False

    def __init__(self, slot: int, seed: Any) -> None:
        self.slot, self.shape, self.dtype = slot, np.shape(seed), np.asarray(seed).dtype
        self.scalar = not isinstance(seed, np.ndarray)

    def reads(self) -> tuple[int, ...]:
        return ()

    def writes(self) -> tuple[int, ...]:
        return (self.slot,)

    def emit(self, ns: _Namespace) -> list[str]:
        # A fresh seed each time: it may become a leaf's gradient, which nothing else shares.
        kind = ns.add(self.dtype.type, self.dtype.name)
        if self.scalar:
            return [f"s{self.slot} = {kind}(1)"]
        return [f"s{self.slot} = {ns.add(np.ones, 'ones')}({self.shape!r}, {kind})"]


class _Effect:
    """A step kept whatever is read after it: it changes state outside the program."""

    __slots__ = ()
    effect = True

    def reads(self) -> tuple[int, ...]:
        return ()

    def writes(self) -> tuple[int, ...]:
        return ()


class _Call(_Effect):
    __slots__ = ("fn", "label")

    def __init__(self, fn: Callable[[], Any], label: str) -> None:
        self.fn, self.label = fn, label

    def emit(self, ns: _Namespace) -> list[str]:
        return [f"{ns.add(self.fn, 'call')}()  # {self.label}"]


class _OptimizerStep(_Effect):
    """``optimizer.step()`` for an optimizer that does not override it: the same loop over its
    parameters, unrolled (each one's ``update`` called directly, with the group and state
    dicts looked up at each replay, so hyper-parameters and loaded state are read live)."""

    __slots__ = ("optimizer", "certain")

    def __init__(self, optimizer: Any) -> None:
        self.optimizer = optimizer
        self.certain: set[int] = set()  # parameters whose .grad the program has just set (lowered)

    def emit(self, ns: _Namespace) -> list[str]:
        opt = self.optimizer
        o = ns.add(opt, "optimizer")
        update = type(opt).update
        # Replays run with NumPy's floating-point warnings off already: the undecorated rule.
        u = ns.add(getattr(update, "__wrapped__", update), f"{type(opt).__name__}_update")
        lines = [f"_state = {o}.state; _groups = {o}.param_groups  # {type(opt).__name__}.step()"]
        for i, group in enumerate(opt.param_groups):
            lines.append(f"_group = _groups[{i}]")
            for param in group["params"]:
                p = ns.add(param, "param")
                # A gradient the program made has the parameter's shape and dtype; any other is
                # checked and cast as step() does.
                grad = f"{p}.grad" if id(param) in self.certain else f"{o}._step_grad({p})"
                lines += [
                    f"_grad = {grad}",
                    "if _grad is not None:",
                    f"    _s = _state.get({p})",
                    f"    if _s is None: _s = _state[{p}] = {{}}",
                    f"    {u}({o}, {p}, _grad, _group, _s)",
                ]
        return lines


class _GradNone(_Effect):
    __slots__ = ("tensor",)

    def __init__(self, tensor: Tensor) -> None:
        self.tensor = tensor

    def emit(self, ns: _Namespace) -> list[str]:
        return [f"{ns.add(self.tensor, 'tensor')}.grad = None"]


class _OpaqueBackward:
    """An op's backward called as it is, in a lowered program: each gradient lands in a slot
    of its own (the engine's fitting and sums follow as lines of their own)."""

    __slots__ = ("cls", "ctx", "grad", "outputs", "custom")
    effect = False

    def __init__(self, cls: type[Function], ctx: int, grad: int, outputs: list[tuple[int, int]], custom: bool) -> None:
        self.cls, self.ctx, self.grad, self.outputs, self.custom = cls, ctx, grad, outputs, custom

    def reads(self) -> tuple[int, ...]:
        return (self.ctx, self.grad)

    def writes(self) -> tuple[int, ...]:
        return tuple(slot for _, slot in self.outputs)

    def emit(self, ns: _Namespace) -> list[str]:
        backward = ns.add(self.cls.backward, f"{self.cls.__name__}_backward")
        lines = [f"g = {backward}(c{self.ctx}, {ns.operand(('slot', self.grad))})", "if type(g) is not tuple: g = (g,)"]
        if self.custom:
            lines.append(f"g = _check_grads(c{self.ctx}, g)")
        lines += [f"s{slot} = g[{position}]" for position, slot in self.outputs]
        return [*lines, f"c{self.ctx} = None"]


class _GradLeaf(_Effect):
    """A gradient left in a parameter's ``.grad`` by a lowered program: kept as it is where the
    engine would keep it (a fresh array no earlier leaf got), else copied, as the engine does."""

    __slots__ = ("tensor", "grad", "add", "earlier", "owned", "dtype")

    def __init__(self, tensor: Tensor, grad: int, add: bool, earlier: list[int]) -> None:
        self.tensor, self.grad, self.add, self.earlier = tensor, grad, add, earlier
        self.owned = False  # set when emitted: a new array made by a line of the program
        self.dtype: Any = None  # its dtype, then

    def reads(self) -> tuple[int, ...]:
        return (self.grad, *self.earlier)

    def emit(self, ns: _Namespace) -> list[str]:
        t, g = ns.add(self.tensor, "tensor"), ns.operand(("slot", self.grad))
        value = f"_array({g}, dtype={t}._data.dtype)"
        if self.owned and self.grad not in self.earlier and self.tensor._data.dtype == self.dtype:
            value = g  # a new array of the parameter's dtype, which nothing else holds
        elif self.grad not in ns.consts:  # a constant is shared by every replay: always a copy
            others = "".join(f" and {g} is not {ns.operand(('slot', e))}" for e in self.earlier if e not in ns.consts)
            value = f"({g} if type({g}) is _ndarray and {g}.base is None{others} else {value})"
        return [f"{t}.grad = {t}.grad + {value}" if self.add else f"{t}.grad = {value}"]


class _SGDStep(_Effect):
    """``SGD.step()`` written out: ``p -= lr * p.grad`` per parameter, with ``lr`` read at each
    replay (and ``1.0 * g``, which is ``g``, not computed). Momentum, weight decay or maximize
    set at replay time take the general path, the rule as the optimizer writes it."""

    __slots__ = ("optimizer", "general", "missing", "certain")

    def __init__(self, optimizer: Any) -> None:
        self.optimizer, self.general = optimizer, _OptimizerStep(optimizer)
        self.missing = {id(p) for g in optimizer.param_groups for p in g["params"] if p not in optimizer.state}
        self.certain: set[int] = set()  # parameters whose .grad the program has set just before

    def emit(self, ns: _Namespace) -> list[str]:
        opt = self.optimizer
        o = ns.add(opt, "optimizer")
        groups = opt.param_groups
        lines = [f"_g0 = {o}.param_groups[0]  # SGD.step()"] if len(groups) == 1 else [f"_groups = {o}.param_groups"]
        if len(groups) > 1:
            lines += [f"_g{i} = _groups[{i}]" for i in range(len(groups))]
        branches = [f'_g{i}["momentum"] or _g{i}["weight_decay"] or _g{i}["maximize"]' for i in range(len(groups))]
        lines.append(f"if {' or '.join(branches)}:")
        lines += [f"    {line}" for line in self.general.emit(ns)]
        lines.append("else:")
        params = [p for g in groups for p in g["params"]]
        certain = [ns.add(p, "param") for p in params if id(p) in self.certain]
        if len(certain) < len(params):
            lines.append("    _changed = []  # what param.data -= ... notes, for backward's in-place checks")
        if self.missing:
            lines.append(f"    _state = {o}.state")
        for i, group in enumerate(groups):
            # A Python float is converted to the gradient's dtype (1.0 * g is g); a NumPy number
            # would compute in its own dtype, so it takes the plain line.
            lines.append(f'    _lr = _g{i}["lr"]; _weak = type(_lr) is float; _one = _weak and _lr == 1.0')
            for param in group["params"]:
                p = ns.add(param, "param")
                sure = id(param) in self.certain  # its .grad was set just before: no None to skip
                pad = "    " if sure else "        "
                if sure:
                    lines.append(f"    _grad = {p}.grad")
                else:  # checked and cast as step() does: it may be a gradient assigned by hand
                    lines += [f"    _grad = {o}._step_grad({p})", "    if _grad is not None:"]
                if id(param) in self.missing:
                    lines.append(f"{pad}if {p} not in _state: _state[{p}] = {{}}")
                lines += [f"{pad}_d = {p}._data", f"{pad}if _one: _d -= _grad"]
                data = param._data
                if data.size >= INPLACE_MIN:  # lr * g into memory kept for it, not a new array each step
                    scratch = ns.add(ns.scratch(param), "scratch")
                    multiply, dtype = ns.add(np.multiply, "np_multiply"), ns.add(data.dtype, "dtype")
                    lines.append(
                        f"{pad}elif _weak and _grad.shape == {data.shape!r} and _grad.dtype is {dtype}: "
                        f"_d -= {multiply}(_lr, _grad, {scratch})"
                    )
                lines.append(f"{pad}else: _d -= _lr * _grad")
                if not sure:
                    lines.append(f"{pad}_changed.append({p})")
        if len(certain) == len(params):
            return [*lines, f"    _note_changes(({''.join(f'{c}, ' for c in certain)}))"]
        if certain:
            return [*lines, f"    _note_changes([{', '.join(certain)}, *_changed])"]
        return [*lines, "    if _changed: _note_changes(_changed)"]


#: Arrays of at least this many elements are computed into a dead operand's memory with
#: ``out=`` (below it, NumPy allocates a new one faster than it parses ``out=``).
INPLACE_MIN = 1024


def _not_nan(value: Any) -> bool:
    """Whether ``value`` is a constant number or array without NaN (None: not a constant)."""
    if value is None or not isinstance(value, int | float | np.ndarray | np.generic):
        return False
    return not np.any(np.isnan(value))


def _fits(operand: Any, result: Any) -> bool:
    return (
        type(operand) is np.ndarray
        and type(result) is np.ndarray
        and operand.ndim > 0
        and operand.shape == result.shape
        and operand.dtype == result.dtype
    )


def _emit_lowered(steps: list[Any], values: dict[int, Any], results: set[int], ns: _Namespace) -> list[str]:
    """The lines of a lowered program: steps whose values nobody reads are dropped, and a ufunc
    line whose operand dies there (and was made by the program, and is seen by no view, op,
    leaf or result) writes into that operand's array instead of a new one."""
    live = set(results)
    kept = []
    for step in reversed(steps):
        if step.effect or any(w in live for w in step.writes()):
            kept.append(step)
            live.update(step.reads())
    kept.reverse()
    last: dict[int, int] = {}
    for i, step in enumerate(kept):
        for r in step.reads():
            last[r] = i
    pinned = set(results)
    for step in kept:
        if not isinstance(step, Expr) or step.aliases:
            pinned.update(step.reads())
    owned = {step.out for step in kept if isinstance(step, Expr) and step.fresh}
    body = []
    have_grad: set[int] = set()  # parameters whose .grad this program has certainly set by now
    for i, step in enumerate(kept):
        if isinstance(step, _GradLeaf):  # a gradient the program made (added to one it did not: unknown)
            (have_grad.discard if step.add else have_grad.add)(id(step.tensor))
        elif isinstance(step, _GradNone):
            have_grad.discard(id(step.tensor))
        elif isinstance(step, _SGDStep):
            step.certain = step.general.certain = set(have_grad)
        elif isinstance(step, _OptimizerStep):
            step.certain = set(have_grad)
        elif not isinstance(step, Expr | _OpaqueBackward):
            have_grad.clear()  # library code, or an op's own code: it might change any .grad
        if isinstance(step, _GradLeaf):
            value = values.get(step.grad)
            step.owned = step.grad in owned and type(value) is np.ndarray
            step.dtype = getattr(value, "dtype", None)
        if not isinstance(step, Expr):
            body += step.emit(ns)
            continue
        names = [ns.operand(("slot", a)) for a in step.args]
        line = f"s{step.out} = {step.template.format(*names)}"
        if step.ufunc is not None:
            result = values[step.out]
            for k, a in enumerate(step.args):
                if a in owned and a not in pinned and last.get(a) == i and _fits(values[a], result):
                    into = _into(step, k, names, result, ns)
                    if into is not None:  # the result lives on in the operand's array, under its name
                        line, ns.renamed[step.out] = into, names[k]
                    break
        body.append(line)
    return body


def _into(step: Expr, k: int, names: list[str], result: np.ndarray, ns: _Namespace) -> str | None:
    """The line computing ``step`` into its dead operand ``k``, or None where a new array is
    quicker (NumPy parses ``out=`` more slowly than it allocates a small array)."""
    if k == 0 and step.augmented:
        return f"{names[0]} {step.augmented} {names[1]}"
    if k == 1 and step.augmented in ("+=", "*=") and _not_nan(ns.consts.get(step.args[0])):
        # c + x is x + c and c * x is x * c, bit for bit, unless both are NaN
        return f"{names[1]} {step.augmented} {names[0]}"
    assert step.ufunc is not None
    ufunc = ns.add(step.ufunc, f"np_{step.ufunc.__name__}")
    if step.ufunc.nin == 1 and step.template.startswith("np."):  # a positional out is quick
        return f"{ufunc}({names[0]}, {names[0]})"
    if result.size >= INPLACE_MIN:
        return f"{ufunc}({', '.join(names)}, out={names[k]})"
    return None


class Program:
    """The steps of one recorded call, its argument slots and what it returns; ``build()``
    turns them into the function that replays them."""

    def __init__(self) -> None:
        self.steps: list[Any] = []
        self.slots = 0
        self.arg_slots: list[int] = []
        self.result: Any = ("value", None)  # a nest of ("tensor", slot) / ("value", v) / ("tuple", specs)
        self.names: dict[int, str] = {}
        self.source = ""
        self.run: Callable[..., Any] = _not_built
        self.guard: Any = None  # what compiled.py checks before each replay
        self.eager = False  # True: the recording found something a replay could not honour
        # The lowered form (see lowering.py), when every lowering matched its op: steps, the
        # constants, the recorded values, and the lowered slot of each op-level slot.
        self.lowered: list[Any] | None = None
        self.consts: dict[int, Any] = {}
        self.values: dict[int, Any] = {}
        self.current: dict[int, int] = {}
        self.unlowered = ""  # why the program calls its ops rather than NumPy lines, if it does
        self.pool: dict[tuple[Any, ...], np.ndarray] = {}  # scratch memory (the compiled function's)

    def new_slot(self) -> int:
        """A fresh slot index."""
        self.slots += 1
        return self.slots - 1

    def build(self, guard: Callable[[_Namespace], list[str]] | None = None) -> None:
        """Generate the replay function's source and compile it. With ``guard`` (the lines
        that check a call's arguments and the state it reads, returning ``MISS`` where the
        recording does not apply), the function takes the call's own arguments."""
        if self.lowered is not None:
            self.result = _translate(self.result, self.current)
            ns = _Namespace(self.names, self.consts)
            ns.pool = self.pool
            body = _emit_lowered(self.lowered, self.values, _result_slots(self.result), ns)
            self.values = {}  # the recorded arrays are not needed any more
        else:
            ns = _Namespace(self.names)
            body = [f"# the ops are called as they are: {self.unlowered}"] if self.unlowered else []
            body += [line for step in self.steps for line in step.emit(ns)]
        body.append(f"return {_result(self.result, ns)}")
        if guard is None:
            params = ", ".join(f"s{i}" for i in self.arg_slots)
            lines = body
        else:
            params = "*args"
            # As backward() runs: inf and NaN, never a NumPy warning.
            lines = [*guard(ns), "_token = _fp_set(_FP_IGNORE)", "try:"]
            lines += [f"    {line}" for line in body] + ["finally:", "    _fp_reset(_token)"]
        self.source = f"def replay({params}):\n" + "".join(f"    {line}\n" for line in lines)
        scope = dict(ns.values)
        exec(compile(self.source, "<mg.compile replay>", "exec"), scope)  # noqa: S102 - our own generated code
        self.run = scope["replay"]


def _not_built(*args: Any) -> Any:
    raise RuntimeError("compile: the program was not built")


def _translate(spec: Any, current: dict[int, int]) -> Any:
    if spec[0] == "tensor":
        return ("tensor", current.get(spec[1], spec[1]))
    if spec[0] == "tuple":
        return ("tuple", tuple(_translate(s, current) for s in spec[1]))
    return spec


def _result_slots(spec: Any) -> set[int]:
    if spec[0] == "tensor":
        return {spec[1]}
    if spec[0] == "tuple":
        return set().union(*(_result_slots(s) for s in spec[1]))
    return set()


def _result(spec: Any, ns: _Namespace) -> str:
    kind = spec[0]
    if kind == "tensor":
        # A fresh Tensor on a copy: the caller may keep it while later replays run.
        return f"_Tensor._wrap(_array({ns.operand(('slot', spec[1]))}), None)"
    if kind == "value":
        value = spec[1]
        return repr(value) if value is None or isinstance(value, bool | int | float | str) else ns.add(value, "value")
    parts = [_result(s, ns) for s in spec[1]]
    return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"
