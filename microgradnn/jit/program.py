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

__all__ = ["Program", "Operand"]

#: Where a step finds one of its operands: ("slot", i) an array made earlier in the program
#: (or an argument), ("live", tensor) that tensor's data at replay time, ("buffer", (module,
#: name)) a module buffer at replay time, ("const", value) a value fixed when the call was
#: recorded.
Operand = tuple[str, Any]


class _Namespace:
    """The globals of the generated function: each object it uses gets a readable name."""

    def __init__(self, names: dict[int, str]) -> None:
        self.names = names  # id -> a name the user knows (a parameter's, a closure variable's)
        self.values: dict[str, Any] = {
            "_new": object.__new__,
            "_ndarray": np.ndarray,
            "_array": np.array,
            "_as_result": autograd._as_result_array,
            "_sum_to": sum_to,
            "_check_grads": autograd._check_grads,
            "_Tensor": Tensor,
        }
        self._by_id: dict[int, str] = {}

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
            return f"s{value}"
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
        return self.add(value, "const")


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

    def __init__(self, slot: int, seed: Any) -> None:
        self.slot, self.shape, self.dtype = slot, np.shape(seed), np.asarray(seed).dtype
        self.scalar = not isinstance(seed, np.ndarray)

    def emit(self, ns: _Namespace) -> list[str]:
        # A fresh seed each time: it may become a leaf's gradient, which nothing else shares.
        kind = ns.add(self.dtype.type, self.dtype.name)
        if self.scalar:
            return [f"s{self.slot} = {kind}(1)"]
        return [f"s{self.slot} = {ns.add(np.ones, 'ones')}({self.shape!r}, {kind})"]


class _Call:
    __slots__ = ("fn", "label")

    def __init__(self, fn: Callable[[], Any], label: str) -> None:
        self.fn, self.label = fn, label

    def emit(self, ns: _Namespace) -> list[str]:
        return [f"{ns.add(self.fn, 'call')}()  # {self.label}"]


class _OptimizerStep:
    """``optimizer.step()`` for an optimizer that does not override it: the same loop over its
    parameters, unrolled (each one's ``update`` called directly, with the group and state
    dicts looked up at each replay, so hyper-parameters and loaded state are read live)."""

    __slots__ = ("optimizer",)

    def __init__(self, optimizer: Any) -> None:
        self.optimizer = optimizer

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
                lines += [
                    f"_grad = {p}.grad",
                    "if _grad is not None:",
                    f"    _s = _state.get({p})",
                    f"    if _s is None: _s = _state[{p}] = {{}}",
                    f"    {u}({o}, {p}, _grad, _group, _s)",
                ]
        return lines


class _GradNone:
    __slots__ = ("tensor",)

    def __init__(self, tensor: Tensor) -> None:
        self.tensor = tensor

    def emit(self, ns: _Namespace) -> list[str]:
        return [f"{ns.add(self.tensor, 'tensor')}.grad = None"]


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

    def new_slot(self) -> int:
        """A fresh slot index."""
        self.slots += 1
        return self.slots - 1

    def build(self) -> None:
        """Generate the replay function's source and compile it."""
        ns = _Namespace(self.names)
        body = [line for step in self.steps for line in step.emit(ns)]
        body.append(f"return {_result(self.result, ns)}")
        params = ", ".join(f"s{i}" for i in self.arg_slots)
        self.source = f"def replay({params}):\n" + "".join(f"    {line}\n" for line in body)
        scope = dict(ns.values)
        exec(compile(self.source, "<mg.compile replay>", "exec"), scope)  # noqa: S102 - our own generated code
        self.run = scope["replay"]


def _not_built(*args: Any) -> Any:
    raise RuntimeError("compile: the program was not built")


def _result(spec: Any, ns: _Namespace) -> str:
    kind = spec[0]
    if kind == "tensor":
        # A fresh Tensor on a copy: the caller may keep it while later replays run.
        return f"_Tensor._wrap(_array(s{spec[1]}), None)"
    if kind == "value":
        value = spec[1]
        return repr(value) if value is None or isinstance(value, bool | int | float | str) else ns.add(value, "value")
    parts = [_result(s, ns) for s in spec[1]]
    return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"
