"""``mg.compile``: record a training step (or any function of Tensors) once, replay it after.

The first call for a given signature runs eagerly and is recorded (see recorder.py); later
calls with the same signature replay the recorded program (see program.py): the same op
kernels on the same arrays in the same order, so the results are the very same bits, without
Tensor objects, graph nodes, the backward walk's bookkeeping or per-op checks. Whatever the
recording could not follow makes that signature run eagerly, with one warning per reason.
"""

from __future__ import annotations

import dis
import functools
import os
import threading
import types
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from .. import autograd, creation
from ..nn import utils as nn_utils
from ..nn.module import Module
from ..optim.lr_scheduler import LRScheduler
from ..optim.optimizer import Optimizer
from ..tensor import Tensor
from .program import MISS, Program, _Call
from .recorder import Recorder

__all__ = ["compile", "CompiledFunction", "CompileWarning"]

#: How many recorded programs one compiled function keeps (least recently used dropped).
CACHE_SIZE = 8
_recording_lock = threading.Lock()  # one recording at a time: the engine has one recorder slot


class CompileWarning(UserWarning):
    """A compiled function ran eagerly for a reason the warning gives (once per reason).

    >>> import warnings, microgradnn as mg
    >>> step = mg.compile(lambda x: (x * 2).sum().item())
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     step(mg.ones(2))
    4.0
    >>> str(caught[0].message)
    'compile: <lambda> runs eagerly: it reads a value into Python (.item())'
    """


def compile(fn: Callable[..., Any]) -> CompiledFunction:
    """Record ``fn`` on its first call and replay the recording on later calls (also a decorator).

    ``fn`` is a training step — forward, loss, ``backward()``, ``optimizer.step()``,
    ``zero_grad()`` — or an inference function; its arguments may be Tensors, ndarrays,
    Python scalars, None, Modules, Optimizers, and tuples, lists and dicts of these. A replay
    gives the same bits as the eager call (parameters, ``.grad``, optimizer state, returned
    values), and reads parameters, hyper-parameters (``lr``) and closure-captured tensors live.
    A new signature (other shapes, ``eval()``, new optimizer state) records again. What a replay
    could not honour (``.item()``, hooks, random draws...) runs eagerly with a warning: see
    docs/compile.md. Returned tensors are fresh and carry no graph.

    >>> import microgradnn as mg, numpy as np
    >>> w = mg.Tensor([[1.0], [2.0]], requires_grad=True)
    >>> opt = mg.optim.SGD([w], lr=0.1)
    >>> @mg.compile
    ... def step(x, y):
    ...     opt.zero_grad()
    ...     loss = ((x @ w - y) ** 2).mean()
    ...     loss.backward()
    ...     opt.step()
    ...     return loss
    >>> x, y = mg.Tensor(np.ones((4, 2))), mg.Tensor(np.zeros((4, 1)))
    >>> [round(step(x, y).item(), 4) for _ in range(4)]
    [9.0, 3.24, 1.1664, 0.4199]
    >>> (step.recordings, step.replays)  # w.grad was None on the first call only
    (2, 2)
    """
    return CompiledFunction(fn)


class CompiledFunction:
    """What :func:`compile` returns: call it as the function it wraps. ``recordings`` and
    ``replays`` count the calls of each kind; ``source`` is the latest program.

    >>> import microgradnn as mg
    >>> w = mg.Tensor([2.0], requires_grad=True)
    >>> double = mg.compile(lambda x: x * w)
    >>> [double(mg.Tensor([float(i)])).item() for i in range(3)], double.recordings, double.replays
    ([0.0, 2.0, 4.0], 1, 2)
    >>> print(double.source)  # doctest: +ELLIPSIS
    def replay(*args):
        # guards: the recording applies only to calls like the recorded one
        if len(args) != 1: return MISS
        a0, = args
        if not (type(a0) is Tensor and a0._data.shape == (1,) and ... is False): return MISS
        if not ((not _autograd._unusual_threads or _modes.flags == 1) and _autograd._recorder is None): return MISS
        if not (globals.get('w', _MISSING) is w): return MISS
        if not (w._data.shape == (1,) and w._data.dtype is dtype and w._requires_grad is True): return MISS
        s0 = a0._data
        _token = _fp_set(_FP_IGNORE)
        try:
            s4 = w._data
            s5 = s0 * s4
            return _Tensor._wrap(_array(s5), None)
        finally:
            _fp_reset(_token)
    <BLANKLINE>
    """

    def __init__(self, fn: Callable[..., Any]) -> None:
        if not callable(fn):
            raise TypeError(f"compile: expected a function, not {type(fn).__name__}")
        self.fn = fn
        # Recordings by argument signature, each with the guard it was recorded under; a
        # program marked eager stands for a recording that could not be replayed.
        self.programs: OrderedDict[Any, list[Program]] = OrderedDict()
        self.recordings = 0
        self.replays = 0
        self._warned: set[str] = set()
        self._last: Program | None = None
        self._replayable: list[Program] = []  # the programs that can replay, latest used first
        self._scratch: dict[tuple[Any, ...], np.ndarray] = {}  # memory its programs share
        self._lock = threading.Lock()  # around changes of _replayable
        self.__name__: str = getattr(fn, "__name__", type(fn).__name__)
        self.__doc__ = getattr(fn, "__doc__", None)
        self.__wrapped__ = fn

    @property
    def source(self) -> str:
        """The program the latest call replayed or recorded, as readable lines."""
        if self._last is None:
            return "# nothing recorded yet (or the last call ran eagerly)"
        return self._last.source

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        replayable = self._replayable  # once: another thread may put a new list in its place
        if not kwargs and replayable:
            # Each program's replay checks its own guards first (MISS: it does not apply).
            program = replayable[0]
            result = program.run(*args)
            if result is not MISS:
                self.replays += 1
                self._last = program
                return result
            for program in replayable[1:]:
                result = program.run(*args)
                if result is not MISS:
                    self.replays += 1
                    self._last = program
                    with self._lock:  # latest used first, for the next call
                        self._replayable = [program, *(p for p in self._replayable if p is not program)]
                    return result
        return self._call(args, kwargs)

    def _call(self, args: tuple, kwargs: dict) -> Any:
        """A call no replay took: eagerly, recorded, or (with keyword arguments) replayed."""
        if kwargs:
            args = args + (_Keywords(kwargs),)
        flat = list(_flatten(args)) if args else []
        if autograd._unusual_threads and autograd._modes.flags & autograd.ANOMALY:
            return self._eager(args, kwargs, "runs under detect_anomaly()")
        outer = autograd._recorder
        if outer is not None and outer.owner == threading.get_ident():
            # Called inside another compiled function's recording: run eagerly, so that the
            # outer recording sees (and records) this call's ops.
            return self.fn(*args[: len(args) - bool(kwargs)], **kwargs)
        key = _signature(flat)
        for program in self.programs.get(key, ()):
            if program.eager:  # recorded, but not replayable: eager (the warning was given)
                if _still_applies(program, self.fn):
                    self.programs.move_to_end(key)
                    self._last = None
                    return self.fn(*args[: len(args) - bool(kwargs)], **kwargs)
            elif kwargs:
                result = program.run(*args)
                if result is not MISS:
                    self._last = program
                    self.replays += 1
                    return result
        for position, value in enumerate(flat):
            if not isinstance(value, _ALLOWED):
                raise TypeError(
                    f"compile: argument {position} of the flattened arguments is {type(value).__name__}; a compiled "
                    "function takes Tensors, ndarrays, Python scalars, None, Modules, Optimizers, and tuples, "
                    "lists and dicts of them"
                )
        return self._record(args, kwargs, flat, key)

    def _eager(self, args: tuple, kwargs: dict, reason: str) -> Any:
        self._warn(reason)
        self._last = None
        return self.fn(*args[: len(args) - bool(kwargs)], **kwargs)

    def _warn(self, reason: str) -> None:
        if reason not in self._warned:
            self._warned.add(reason)
            warnings.warn(f"compile: {self.__name__} runs eagerly: it {reason}", CompileWarning, stacklevel=3)

    def _record(self, args: tuple, kwargs: dict, flat: list[Any], key: Any) -> Any:
        live = _live_tensors(self.fn, flat)
        program = Program()
        program.names = _names(self.fn, flat)
        buffer_names = {
            id(buf): (m, name)
            for obj in _reachable(self.fn, flat)
            if isinstance(obj, Module)
            for m in obj.modules()
            for name, buf in m._buffers.items()
            if buf is not None
        }
        generators = _generators(flat, self.fn)
        recorder = Recorder(program, live, buffer_names, generators)
        for value in flat:
            if isinstance(value, Tensor | np.ndarray):
                recorder.argument(value)
        grads_before = {k: t.grad for k, t in live.items()}
        guard = _guard(self.fn, flat, live)  # the state the recording starts from
        flags = autograd._modes.flags
        buffers = _buffers(flat, self.fn)
        if not _recording_lock.acquire(blocking=False):
            return self._eager(args, kwargs, "is called while another compiled function records")
        patched = list(recorder.patches()) + _function_patches(recorder)
        # vars(): the owner's own entry (a class's function or property, a module's function)
        saved = [(owner, name, vars(owner)[name]) for owner, name, _ in patched]
        try:
            for owner, name, replacement in patched:
                setattr(owner, name, replacement)
            autograd._recorder = recorder
            result = self.fn(*args[: len(args) - bool(kwargs)], **kwargs)
        finally:
            autograd._recorder = None
            for owner, name, original in saved:
                setattr(owner, name, original)
            _recording_lock.release()
        recorder.check_draws()
        recorder.finish(grads_before)
        reasons = list(recorder.reasons)
        changed = [
            (m, n)
            for m, n, before in buffers
            if _changed(before, getattr(m, n)) and id(before[0]) not in recorder.op_buffers
        ]
        if changed:
            reasons.append(f"updates the module buffer {changed[0][1]!r} outside ops")
        unused = recorder.unused_arguments()
        if unused:
            reasons.append(
                f"uses argument array(s) {unused} through code the recording cannot see (a conversion "
                "before an op, for example integer class labels)"
            )
        spec = _result_spec(result, recorder, reasons)
        self.recordings += 1
        program.guard = guard
        if reasons:
            self._warn(reasons[0])
            program.eager = True
            self._store(key, program)
            self._last = None
            return result
        program.result = spec
        if recorder.L is not None:
            program.lowered, program.consts, program.values = recorder.L.lines, recorder.L.consts, recorder.L.values
            program.pool = self._scratch
        program.build(_GuardWriter(args, flat, program, flags, set(recorder.touched)))
        self._store(key, program)
        self._last = program
        return result

    def _store(self, key: Any, program: Program) -> None:
        entries = self.programs.setdefault(key, [])
        entries.insert(0, program)
        del entries[CACHE_SIZE:]
        self.programs.move_to_end(key)
        while sum(len(v) for v in self.programs.values()) > CACHE_SIZE:
            oldest = next(iter(self.programs))
            self.programs[oldest].pop()
            if not self.programs[oldest]:
                del self.programs[oldest]
        kept = {id(p) for v in self.programs.values() for p in v if not p.eager}
        with self._lock:  # a new list, never a change of the one a call may be reading
            self._replayable = [p for p in [program, *self._replayable] if id(p) in kept]


class _Keywords(dict[str, Any]):
    """Keyword arguments, carried at the end of the positional ones for flattening."""


_ALLOWED = (Tensor, np.ndarray, int, float, bool, complex, np.number, type(None), str, Module, Optimizer, LRScheduler)


def _flatten(value: Any) -> Iterator[Any]:
    if isinstance(value, tuple | list):
        for item in value:
            yield from _flatten(item)
    elif isinstance(value, dict):
        for k in sorted(value, key=repr):
            yield from _flatten(value[k])
    else:
        yield value


def _array(value: Any) -> np.ndarray:
    return value._data if isinstance(value, Tensor) else value


# The library's own code and NumPy's, which _functions does not look into.
_LIBRARIES = (os.path.dirname(os.path.dirname(__file__)), os.path.dirname(np.__file__))


def _functions(fn: Callable[..., Any], depth: int = 4) -> list[Any]:
    """The Python functions a call runs that are the user's: ``fn`` itself and, a few levels
    down, the functions (and compiled functions, and bound methods) its closure and named
    globals hold. The library's own functions and NumPy's are not looked into."""
    found: list[Any] = []
    seen: set[int] = set()
    todo = [(fn, 0)]
    while todo:
        f, level = todo.pop()
        if isinstance(f, CompiledFunction):
            f = f.fn
        f = getattr(f, "__func__", f)
        if not isinstance(f, types.FunctionType) or id(f) in seen:
            continue
        if f.__code__.co_filename.startswith(_LIBRARIES) and level:
            continue
        seen.add(id(f))
        found.append(f)
        if level >= depth:
            continue
        for value in _scope_values(f):
            if isinstance(value, types.FunctionType | types.MethodType | CompiledFunction):
                todo.append((value, level + 1))
    return found


def _scope_values(f: types.FunctionType) -> list[Any]:
    """What a function's closure cells and the globals its code names hold."""
    values = []
    for cell in f.__closure__ or ():
        try:
            values.append(cell.cell_contents)
        except ValueError:  # an empty cell
            pass
    scope = f.__globals__
    values.extend(scope[name] for name in _global_names(f.__code__) if name in scope)
    return values


def _reachable(fn: Callable[..., Any], flat: list[Any]) -> list[Any]:
    """The Modules, Optimizers, schedulers and Tensors a call can reach: its arguments, a bound
    method's owner, and what the user's functions it runs hold in closures and globals."""
    found = list(flat)
    for f in [fn, *_functions(fn)]:
        owner = getattr(f, "__self__", None)
        if owner is not None:
            found.append(owner)
    for f in _functions(fn):
        for value in _scope_values(f):
            found.extend(_flatten(value))
            owner = getattr(value, "__self__", None)  # a bound method: its object
            if owner is not None:
                found.append(owner)
    return [v for v in found if isinstance(v, Tensor | Module | Optimizer | LRScheduler)]


def _live_tensors(fn: Callable[..., Any], flat: list[Any]) -> dict[int, Tensor]:
    """The tensors a replay reads live: parameters of reachable modules and optimizers, and
    reachable tensors that are not arguments."""
    args = {id(v) for v in flat if isinstance(v, Tensor)}
    live: dict[int, Tensor] = {}
    for obj in _reachable(fn, flat):
        if isinstance(obj, Tensor):
            tensors = [obj]
        elif isinstance(obj, Module):
            tensors = list(obj.parameters())
        elif isinstance(obj, Optimizer):
            tensors = [p for group in obj.param_groups for p in group["params"]]
        else:
            tensors = []
        for t in tensors:
            if id(t) not in args:
                live[id(t)] = t
    return live


def _is_array(value: Any) -> bool:
    return isinstance(value, Tensor | np.ndarray)


def _signature(flat: list[Any]) -> Any:
    """The arguments' part of what a recording depends on: types, shapes, dtypes, scalar
    values, the identity of modules and optimizers; and grad mode."""
    parts: list[Any] = [autograd.is_grad_enabled()]
    for v in flat:
        if isinstance(v, Tensor):
            parts.append((v.shape, v.dtype, v.requires_grad))
        elif isinstance(v, np.ndarray):
            parts.append((v.shape, v.dtype, None))
        elif isinstance(v, Module | Optimizer | LRScheduler):
            parts.append(id(v))
        else:
            parts.append((type(v), v))
    return tuple(parts)


def _guard(fn: Callable[..., Any], flat: list[Any], live: dict[int, Tensor]) -> Any:
    """The rest of what a recording depends on, checked before each replay: what the closure
    cells and the named globals hold, each reachable module's training flag and buffer
    layout, which optimizer state entries exist, and each live tensor's shape, dtype,
    requires_grad and whether its .grad is None. Flat lists, so the check is quick."""
    reachable = _reachable(fn, flat)
    modules = list({id(m): m for obj in reachable if isinstance(obj, Module) for m in obj.modules()}.values())
    optimizers = [o for o in reachable if isinstance(o, Optimizer)]
    return (
        _scope(fn),
        [(m, m.training, _buffer_layout(m)) for m in modules],
        [(o, _optimizer_state(o)) for o in optimizers],
        [(t, t._data.shape, t._data.dtype, t._requires_grad, t.grad is None) for t in live.values()],
    )


def _still_applies(program: Program, fn: Callable[..., Any]) -> bool:
    (cells, scope, owner), modules, optimizers, tensors = program.guard
    if getattr(fn, "__self__", None) is not owner:
        return False
    for cell, value in cells:
        if cell.cell_contents is not value:
            return False
    for names, name, value in scope:
        if names.get(name, _MISSING) is not value:
            return False
    for m, training, buffers in modules:
        if m.training is not training or (buffers and _buffer_layout(m) != buffers):
            return False
    for o, state in optimizers:
        if _optimizer_state(o) != state:
            return False
    for t, shape, dtype, requires_grad, no_grad in tensors:
        data = t._data
        if data.shape != shape or data.dtype is not dtype or t._requires_grad is not requires_grad:
            return False
        if (t.grad is None) is not no_grad:
            return False
    return True


_MISSING = object()
_GUARD_GLOBALS: dict[str, Any] = {}  # filled below, once the helpers exist


def _scope(fn: Callable[..., Any]) -> tuple[list[Any], list[tuple[dict[str, Any], str, Any]], Any]:
    """What the closure cells and the named globals of the user's functions hold now (and a
    bound method's owner): a replay needs them to be the same objects."""
    cells: list[Any] = []
    names: list[tuple[dict[str, Any], str, Any]] = []
    for f in _functions(fn):
        for cell in f.__closure__ or ():
            try:
                cells.append((cell, cell.cell_contents))
            except ValueError:  # an empty cell: nothing to compare
                pass
        scope = f.__globals__
        names.extend((scope, name, scope.get(name, _MISSING)) for name in _global_names(f.__code__))
    return cells, names, getattr(fn, "__self__", None)


_GLOBAL_NAMES: dict[types.CodeType, tuple[str, ...]] = {}


def _global_names(code: types.CodeType) -> tuple[str, ...]:
    """The global names a function's code (and the code nested in it) looks up, in order:
    ``co_names`` also holds attribute names, which are no global's business."""
    found = _GLOBAL_NAMES.get(code)
    if found is None:
        names: dict[str, None] = {}
        todo = [code]
        while todo:
            c = todo.pop()
            for instruction in dis.get_instructions(c):
                if instruction.opname in ("LOAD_GLOBAL", "STORE_GLOBAL", "DELETE_GLOBAL", "LOAD_NAME"):
                    names[instruction.argval] = None
            todo.extend(k for k in c.co_consts if isinstance(k, types.CodeType))
        found = _GLOBAL_NAMES[code] = tuple(names)
    return found


class _GuardWriter:
    """The first lines of a replay function: they check everything the recording assumed
    (the arguments' types, shapes, dtypes and values; grad mode; what the closure and the
    globals hold; each module's training flag and buffers; the optimizers' parameters and
    state entries; each live tensor's shape, dtype, requires_grad and whether its .grad is
    None) and return MISS where something differs, before anything is done."""

    def __init__(self, args: tuple, flat: list[Any], program: Program, flags: int, touched: set[int]) -> None:
        self.args, self.flat, self.program, self.flags, self.touched = args, flat, program, flags, touched

    def __call__(self, ns: Any) -> list[str]:
        lines = ["# guards: the recording applies only to calls like the recorded one"]
        checks: list[str] = []

        def check(*conditions: str) -> None:
            checks.extend(conditions)

        # the arguments, and where the program's argument slots come from
        if any(isinstance(a, tuple | list | dict) for a in self.args):
            skeleton = ns.add(_skeleton(self.args), "skeleton")
            lines += [f"if _skeleton(args) != {skeleton}: return MISS", "flat = _flatten_list(args)"]
            source = "flat"
        else:
            lines.append(f"if len(args) != {len(self.args)}: return MISS")
            source = "args"
        names = [f"a{i}" for i in range(len(self.flat))]
        if names:
            lines.append(f"{', '.join(names)}{',' if len(names) == 1 else ''} = {source}")
        slots = iter(self.program.arg_slots)
        assign = []
        for name, value in zip(names, self.flat, strict=True):
            if isinstance(value, Tensor):
                check(
                    f"type({name}) is {ns.add(type(value), type(value).__name__)}"
                    f" and {name}._data.shape == {value._data.shape!r}"
                    f" and {name}._data.dtype is {ns.add(value._data.dtype, 'dtype')}"
                    f" and {name}._requires_grad is {value._requires_grad!r}"
                )
                assign.append(f"s{next(slots)} = {name}._data")
            elif isinstance(value, np.ndarray):
                check(
                    f"type({name}) is _ndarray and {name}.shape == {value.shape!r}"
                    f" and {name}.dtype is {ns.add(value.dtype, 'dtype')}"
                )
                assign.append(f"s{next(slots)} = {name}")
            elif isinstance(value, Module | Optimizer | LRScheduler):
                check(f"{name} is {ns.add(value, type(value).__name__)}")
            elif value is None:
                check(f"{name} is None")
            elif type(value) is float:
                check(f"type({name}) is float and {name}.hex() == {value.hex()!r}")  # -0.0 and NaN too
            elif type(value) is complex:
                parts = f"({name}.real.hex(), {name}.imag.hex()) == {(value.real.hex(), value.imag.hex())!r}"
                check(f"type({name}) is complex and {parts}")
            elif isinstance(value, np.generic):  # a NumPy number: its bits
                kind = ns.add(type(value), type(value).__name__)
                check(f"type({name}) is {kind} and {name}.tobytes() == {value.tobytes()!r}")
            else:
                kind = ns.add(type(value), type(value).__name__)
                check(f"type({name}) is {kind} and {name} == {ns.add(value, 'value')}")
        # grad mode (and no anomaly mode), and no other recording running
        modes, au = ns.add(autograd._modes, "_modes"), ns.add(autograd, "_autograd")
        if self.flags == autograd.GRAD:
            mode = f"(not {au}._unusual_threads or {modes}.flags == {autograd.GRAD})"
        else:
            mode = f"{au}._unusual_threads and {modes}.flags == {self.flags}"
        check(f"{mode} and {au}._recorder is None")
        (cells, scope, _owner), modules, optimizers, tensors = self.program.guard
        for cell, value in cells:
            check(f"{ns.add(cell, 'cell')}.cell_contents is {ns.add(value, 'value')}")
        for names_dict, name, value in scope:
            check(f"{ns.add(names_dict, 'globals')}.get({name!r}, _MISSING) is {ns.add(value, 'value')}")
        for m, training, buffers in modules:
            module = ns.add(m, type(m).__name__)
            layout = f" and _buffer_layout({module}) == {ns.add(buffers, 'buffers')}" if buffers else ""
            check(f"{module}.training is {training!r}{layout}")
        followed: set[int] = set()  # tensors whose .grad the program reads or writes: parameters
        for o, state in optimizers:
            opt = ns.add(o, type(o).__name__)
            groups = [f"len(_groups := {opt}.param_groups) == {len(o.param_groups)}"]
            for i, group in enumerate(o.param_groups):
                params = group["params"]
                groups.append(f"len(_params := _groups[{i}]['params']) == {len(params)}")
                groups += [f"_params[{j}] is {ns.add(p, 'param')}" for j, p in enumerate(params)]
                followed.update(id(p) for p in params)
            check(" and ".join(groups))
            # which parameters had state when the recording began (a first step makes it)
            had = {key: keys is not None for key, keys in state}
            params = [p for g in o.param_groups for p in g["params"]]
            check(
                " and ".join(f"({ns.add(p, 'param')} in {opt}.state) is {had.get(id(p))!r}" for p in params) or "True"
            )
        followed.update(self.touched)
        for t, shape, dtype, requires_grad, no_grad in tensors:
            name = ns.add(t, "tensor")
            grad = f" and {name}.grad is {'' if no_grad else 'not '}None" if id(t) in followed else ""
            check(
                f"{name}._data.shape == {shape!r} and {name}._data.dtype is {ns.add(dtype, 'dtype')}"
                f" and {name}._requires_grad is {requires_grad!r}{grad}"
            )
        ns.values.update(_GUARD_GLOBALS)
        lines += [f"if not ({c}): return MISS" for c in checks if c != "True"]
        return lines + assign


def _skeleton(value: Any) -> Any:
    """The containers of a call's arguments (types, lengths, dict keys), without the leaves."""
    if isinstance(value, tuple | list):
        return (type(value), tuple(_skeleton(v) for v in value))
    if isinstance(value, dict):
        keys = sorted(value, key=repr)
        return (type(value), tuple(keys), tuple(_skeleton(value[k]) for k in keys))
    return None


def _flatten_list(args: tuple) -> list[Any]:
    return list(_flatten(args))


def _buffer_layout(module: Module) -> tuple[Any, ...]:
    return tuple(None if b is None else (b.shape, b.dtype) for m in module.modules() for b in m._buffers.values())


def _optimizer_state(opt: Optimizer) -> Any:
    """Which state entries exist for each parameter (a first step records another program)."""
    state = opt.state
    return [(id(p), tuple(state[p]) if p in state else None) for g in opt.param_groups for p in g["params"]]


def _generators(flat: list[Any], fn: Callable[..., Any]) -> list[np.random.Generator]:
    gens = [creation.default_generator()]
    for obj in _reachable(fn, flat):
        if isinstance(obj, Module):
            for m in obj.modules():
                gens.extend(v for v in vars(m).values() if isinstance(v, np.random.Generator))
    unique: dict[int, np.random.Generator] = {id(g): g for g in gens}
    return list(unique.values())


def _buffers(flat: list[Any], fn: Callable[..., Any]) -> list[tuple[Module, str, Any]]:
    found = []
    for obj in _reachable(fn, flat):
        if isinstance(obj, Module):
            for m in obj.modules():
                for name, buf in m._buffers.items():
                    found.append((m, name, None if buf is None else (buf, buf.copy())))
    return found


def _changed(before: Any, now: Any) -> bool:
    if before is None:
        return now is not None
    original, copy = before
    return now is not original or not np.array_equal(now, copy, equal_nan=now.dtype.kind == "f")


def _function_patches(recorder: Recorder) -> list[tuple[Any, str, Any]]:
    """Library functions (not methods) with effects of their own: gradient clipping."""
    patches = []
    for name in nn_utils.__all__:
        original = getattr(nn_utils, name)

        def wrapper(*args: Any, _original: Callable[..., Any] = original, _name: str = name, **kwargs: Any) -> Any:
            if threading.get_ident() != recorder.thread:
                return _original(*args, **kwargs)
            # model.parameters() is a generator: keep the list, for this call and each replay
            args = tuple(list(a) if isinstance(a, Iterator) else a for a in args)
            recorder.step(_Call(functools.partial(_original, *args, **kwargs), f"{_name}(...)"))
            return recorder.pass_through(_original, *args, **kwargs)

        patches.append((nn_utils, name, wrapper))
    return patches


def _names(fn: Callable[..., Any], flat: list[Any]) -> dict[int, str]:
    """Readable names for live tensors in ``source``: parameter names, closure names."""
    names: dict[int, str] = {}
    target = getattr(fn, "__func__", fn)
    code = getattr(target, "__code__", None)
    cells = getattr(target, "__closure__", None) or ()
    if code is not None:
        for name, cell in zip(code.co_freevars, cells, strict=False):
            try:
                value = cell.cell_contents
            except ValueError:
                continue
            if isinstance(value, Tensor):
                names[id(value)] = name
            elif isinstance(value, Module):
                for pname, p in value.named_parameters():
                    names[id(p)] = f"{name}.{pname}"
        scope = getattr(target, "__globals__", {})
        for name in code.co_names:
            if isinstance(scope.get(name), Tensor):
                names.setdefault(id(scope[name]), name)
    for value in _reachable(fn, flat):
        if isinstance(value, Module):
            for pname, p in value.named_parameters():
                names.setdefault(id(p), pname)
    return names


def _result_spec(result: Any, recorder: Recorder, reasons: list[str]) -> Any:
    """How to rebuild the returned value from the program's slots."""
    if isinstance(result, Tensor):
        slot = recorder.tensor_slot.get(id(result))
        if slot is None:
            reasons.append("returns a tensor the recording did not make")
            return ("value", None)
        return ("tensor", slot)
    if isinstance(result, tuple):
        return ("tuple", tuple(_result_spec(r, recorder, reasons) for r in result))
    if result is None or isinstance(result, int | float | bool | str):
        return ("value", result)
    reasons.append(f"returns {type(result).__name__}")
    return ("value", None)


_GUARD_GLOBALS.update(
    _MISSING=_MISSING,
    _skeleton=_skeleton,
    _flatten_list=_flatten_list,
    _buffer_layout=_buffer_layout,
    _optimizer_state=_optimizer_state,
)
