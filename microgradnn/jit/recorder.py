"""Recording one eager call into a :class:`~microgradnn.jit.program.Program`.

While a call records, the engine reports to the recorder (``autograd._recorder``): each op
with its operands, the start of the backward walk, each node it runs with the gradients it
hands on, and each gradient it leaves in a leaf's ``.grad``. A few library methods with state
of their own (optimizer steps, ``zero_grad``, schedulers) become call steps, and anything a
replay could not honour (reading a value into Python, hooks, writes to ``.data``, random
numbers, buffers updated outside ops...) is noted as a reason to stay eager.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from .. import autograd
from ..nn.module import Module
from ..optim.lr_scheduler import LRScheduler
from ..optim.optimizer import Optimizer
from ..optim.sgd import SGD
from ..tensor import Tensor
from .lowering import LOWERINGS, Lowering, Mismatch, same_bits
from .program import (
    Operand,
    Program,
    _Backward,
    _Call,
    _Forward,
    _GradLeaf,
    _GradNone,
    _Leaf,
    _OpaqueBackward,
    _OptimizerStep,
    _Seed,
    _SGDStep,
)

__all__ = ["Recorder"]

# Methods that run as they are at every replay (they keep state of their own and read their
# settings live), and methods whose use means a replay could not match eager.
_CALLS = [(Optimizer, "step"), (Optimizer, "zero_grad"), (Module, "zero_grad"), (LRScheduler, "step")]
_UNSUPPORTED = {
    "item": "reads a value into Python (.item())",
    "tolist": "reads values into Python (.tolist())",
    "__bool__": "reads a value into Python (bool())",
    "__float__": "reads a value into Python (float())",
    "__setitem__": "assigns to tensor items (t[i] = v)",
    "register_hook": "registers a tensor hook",
    "retain_grad": "asks a tensor to retain its gradient",
    "_inplace": "changes a tensor in place (+=, -=, ...)",
}


class Recorder:
    """Records one call made in this thread; see the module docstring."""

    def __init__(
        self,
        program: Program,
        live: dict[int, Tensor],
        buffers: dict[int, tuple[Module, str]],
        generators: list[np.random.Generator],
    ) -> None:
        self.program = program
        # The recording thread's id; None while an op or a call step runs (what they do
        # inside is not recorded, and the engine's hooks pass straight through).
        self.thread: int | None = threading.get_ident()
        self.owner = self.thread
        self.live = live  # id -> tensors read live at replay (parameters, closure tensors)
        self.buffers = buffers  # id of a module buffer's array -> (module, name): read live too
        self.op_buffers: set[int] = set()  # buffers given to ops, which may update them (BatchNorm)
        # Random numbers may be drawn inside ops (dropout draws its mask in forward, so each
        # replay draws anew), never outside them: the states, as last seen between ops.
        self.generators = generators
        self.states = [g.bit_generator.state for g in generators]
        self.reasons: list[str] = []
        self.keep: list[Any] = []  # every object whose id is a key below stays alive meanwhile
        self.tensor_slot: dict[int, int] = {}
        self.array_slot: dict[int, int] = {}
        self.ctx_slot: dict[int, int] = {}
        self.pending: dict[int, int] = {}  # the backward walk's pending gradients, as slots
        self.used_args: set[int] = set()
        self.touched: dict[int, Tensor] = {}  # live tensors whose .grad the program sets
        # The lowered form, built alongside (see lowering.py); None once a lowering failed.
        self.L: Lowering | None = Lowering(program.new_slot)
        self.current = program.current  # op-level slot -> the lowered slot holding its value
        self.backs: dict[int, Any] = {}  # id(node) -> its lowered backward (None: called as is)
        self.leaf_slots: list[int] = []  # lowered gradients left in leaves by this walk

    def step(self, step: Any, lowered: Any = "same") -> None:
        """Append a step to the program, and its lowered form (the same step by default)."""
        self.program.steps.append(step)
        if self.L is not None and lowered is not None:
            self.L.lines.append(step if lowered == "same" else lowered)

    def unlowered(self, why: str) -> None:
        """Give up the lowered form: the program will call every op as it is."""
        self.L = None
        self.program.unlowered = why

    def lowered_slot(self, slot: int) -> int:
        return self.current.get(slot, slot)

    # ------------------------------------------------------------------ arguments
    def argument(self, value: Any) -> None:
        """Give an argument's array (a Tensor's data, or an ndarray) a slot."""
        slot = self.program.new_slot()
        self.program.arg_slots.append(slot)
        self.keep.append(value)
        if isinstance(value, Tensor):
            self.tensor_slot[id(value)] = slot
            value = value._data
            self.keep.append(value)
        self.array_slot[id(value)] = slot
        if self.L is not None:
            self.L.known(slot, value)

    def unused_arguments(self) -> list[int]:
        """Positions of argument arrays that no op took as they are."""
        return [i for i, slot in enumerate(self.program.arg_slots) if slot not in self.used_args]

    # ------------------------------------------------------------------ ops
    def op(self, cls: type[autograd.Function], apply: Callable[..., Tensor], args: tuple, kwargs: dict) -> Tensor:
        """Run the op eagerly and record it as a forward step."""
        self.check_draws()
        operands = [self._operand(a) for a in args]
        named = {k: self._operand(v) for k, v in kwargs.items()}
        self.thread = None
        try:
            out = apply(*args, **kwargs)
        finally:
            self.thread = self.owner
        self.states = [g.bit_generator.state for g in self.generators]
        slot, ctx_slot = self.program.new_slot(), self.program.new_slot()
        self.keep.append(out)
        self.tensor_slot[id(out)] = slot
        node = out.grad_fn
        if node is not None:
            self.keep.append(node)
            self.ctx_slot[id(node)] = ctx_slot
        needs = None if node is None else node.needs_input_grad
        step = _Forward(cls, operands, named, slot, ctx_slot, needs, out.ndim == 0)
        self.program.steps.append(step)
        if self.L is not None:
            try:
                self._lower(cls, step, out, node)
            except Exception as err:  # noqa: BLE001 - a lowering that cannot follow: the ops are called as they are
                self.unlowered(f"{cls.__name__}: {type(err).__name__} {err}")
        return out

    def _lower(self, cls: type[autograd.Function], step: _Forward, out: Tensor, node: Any) -> None:
        """The op's lowered form (or the op called as it is), checked against what it gave."""
        L = self.L
        assert L is not None
        lower = LOWERINGS.get(cls)
        lowered = None
        if lower is not None and all(kind in ("slot", "live", "const") for kind, _ in step.operands):
            if all(kind in ("slot", "live", "const") for kind, _ in step.kwargs.values()):
                args = [self._lowered_operand(o) for o in step.operands]
                kwargs = {k: self._lowered_operand(o) for k, o in step.kwargs.items()}
                lowered = lower(L, args, kwargs, None if node is None else node.needs_input_grad)
        if lowered is None:
            L.lines.append(
                _Forward(
                    cls,
                    [self._translated(o) for o in step.operands],
                    {k: self._translated(o) for k, o in step.kwargs.items()},
                    step.out,
                    step.ctx,
                    step.needs,
                    step.scalar,
                )
            )
            L.known(step.out, out._data)
            if node is not None:
                self.backs[id(node)] = None
            return
        slot, backward = lowered
        if not same_bits(L.value(slot), out._data):
            raise Mismatch(cls.__name__)
        self.current[step.out] = slot
        if node is not None:
            self.backs[id(node)] = backward

    def _lowered_operand(self, operand: Operand) -> int:
        L = self.L
        assert L is not None
        kind, value = operand
        if kind == "slot":
            return self.lowered_slot(value)
        if kind == "live":
            return L.live(value)
        return L.const(value)

    def _translated(self, operand: Operand) -> Operand:
        kind, value = operand
        if kind == "slot":
            return ("slot", self.lowered_slot(value))
        if kind == "tuple":
            return ("tuple", tuple(self._translated(v) for v in value))
        if kind == "reshape":
            return ("reshape", (self._translated(value[0]), value[1]))
        return operand

    def check_draws(self) -> None:
        """Note random numbers drawn since the last op ended (outside ops: replays would not)."""
        if any(g.bit_generator.state != s for g, s in zip(self.generators, self.states, strict=True)):
            self.reasons.append("draws random numbers outside ops (mg.randn, sampling): replays would repeat them")
            self.states = [g.bit_generator.state for g in self.generators]

    def _operand(self, value: Any) -> Operand:
        if isinstance(value, Tensor):
            slot = self.tensor_slot.get(id(value))
            if slot is not None:
                self.used_args.add(slot)
                return ("slot", slot)
            if id(value) in self.live:
                return ("live", value)
            if value.requires_grad:
                self.reasons.append(
                    f"uses a tensor of shape {value.shape} that requires grad but is not reachable from the "
                    "arguments, the closure or the globals of the function"
                )
            value = value._data
        if isinstance(value, np.ndarray):
            slot = self.array_slot.get(id(value))
            if slot is not None:
                self.used_args.add(slot)
                return ("slot", slot)
            if id(value) in self.buffers:
                self.op_buffers.add(id(value))
                return ("buffer", self.buffers[id(value)])
            base = value.base
            if isinstance(base, np.ndarray) and id(base) in self.buffers and _is_reshape(value, base):
                # a reshaped view of a buffer (BatchNorm's running statistics): the same at replay
                return ("reshape", (("buffer", self.buffers[id(base)]), value.shape))
        if isinstance(value, tuple) and any(isinstance(v, np.ndarray | Tensor) for v in value):
            return ("tuple", tuple(self._operand(v) for v in value))
        return ("const", value)

    # ------------------------------------------------------------------ the backward walk
    def walk(self, roots: Any, seeds: Any, create_graph: bool, capture: Any) -> None:
        """The start of a backward walk: the seeds become slots."""
        if create_graph or capture:
            self.reasons.append("calls mg.grad() or backward with create_graph")
            return
        for root, seed in zip(roots, seeds, strict=True):
            if not (isinstance(seed, np.ndarray | np.generic) and np.all(seed == 1)):
                self.reasons.append("calls backward(gradient) with a gradient other than ones")
            if id(root) in self.pending:
                self.reasons.append("calls backward on one output twice")
                return
            slot = self.program.new_slot()
            self.pending[id(root)] = slot
            step = _Seed(slot, seed)
            self.program.steps.append(step)
            if self.L is not None:
                if step.scalar:  # a NumPy scalar: nothing can change it, so every replay shares it
                    self.L.consts[slot] = self.L.values[slot] = seed
                else:
                    self.L.lines.append(step)
                    self.L.known(slot, seed)
        self.leaf_slots = []

    def node(self, node: autograd.Function, output: Tensor, grads: tuple, pending: dict) -> None:
        """One node of the walk: its backward, and where its gradients go."""
        grad_slot = self.pending.pop(id(output), None)
        ctx_slot = self.ctx_slot.get(id(node))
        if grad_slot is None or ctx_slot is None:
            self.reasons.append(f"backpropagates through {node.name}, made before the call")
            return
        if output._hooks or output._retains_grad:
            self.reasons.append("has tensor hooks or retain_grad() on the way back")
        custom = not type(node).__module__.startswith("microgradnn.")
        sends = []
        for position, (inp, needed, g) in enumerate(zip(node.inputs, node.needs_input_grad, grads, strict=True)):
            if not needed or g is None:
                continue
            data = inp._data
            fit = None
            if g.shape != data.shape or g.dtype != data.dtype:  # what _fit will do
                fit = (data.shape if g.shape != data.shape else None, data.dtype if g.dtype != data.dtype else None)
            add = id(inp) in self.pending
            if not add:
                self.pending[id(inp)] = self.program.new_slot()
                self.keep.append(inp)
            sends.append((position, self.pending[id(inp)], fit, add))
        self.program.steps.append(_Backward(type(node), ctx_slot, grad_slot, sends, custom))
        if self.L is not None:
            try:
                self._lower_backward(node, grad_slot, ctx_slot, grads, sends, custom)
            except Exception as err:  # noqa: BLE001 - see op()
                self.unlowered(f"{type(node).__name__}.backward: {type(err).__name__} {err}")

    def _lower_backward(
        self, node: Any, grad_slot: int, ctx_slot: int, grads: tuple, sends: list, custom: bool
    ) -> None:
        L = self.L
        assert L is not None
        g = self.lowered_slot(grad_slot)
        backward = self.backs.pop(id(node), None)
        positions = [position for position, _, _, _ in sends]
        if backward is None:  # the op's own backward
            outputs = [(position, self.program.new_slot()) for position in positions]
            L.lines.append(_OpaqueBackward(type(node), ctx_slot, g, outputs, custom))
            lowered = dict(outputs)
            for position, slot in outputs:
                L.known(slot, grads[position])
        else:
            found = backward(g)
            lowered = {}
            for position in positions:
                slot = found[position]
                if slot is None or not same_bits(L.value(slot), grads[position]):
                    raise Mismatch(f"{node.name} backward")
                lowered[position] = slot
        for position, dest, fit, add in sends:
            value = lowered[position]
            if fit is not None:  # what the engine's _fit does: undo broadcasting, then cast
                shape, dtype = fit
                if shape is not None:
                    value = L.call("_sum_to({0}, {1}, {2})", value, L.const(shape), L.const(node.name))
                if dtype is not None:
                    value = L.expr("{0}.astype({1})", value, L.const(dtype), fresh=True)
            self.current[dest] = L.binary("+", self.lowered_slot(dest), value) if add else value

    def leaf(self, leaf: Tensor, grad: Any, owned: bool) -> None:
        """A gradient the walk leaves in ``leaf.grad``."""
        slot = self.pending.get(id(leaf))
        if slot is None:
            self.reasons.append("backward reaches a tensor the recording did not follow")
            return
        if id(leaf) not in self.live:
            what = "an argument" if id(leaf) in self.tensor_slot else "a tensor made inside the function"
            self.reasons.append(f"leaves a gradient in {what} (shape {leaf.shape}); only parameters are followed")
            return
        if leaf._hooks:
            self.reasons.append("has tensor hooks")
        self.touched[id(leaf)] = leaf
        lowered = self.lowered_slot(slot)
        self.step(
            _Leaf(leaf, slot, owned, leaf.grad is not None),
            _GradLeaf(leaf, lowered, leaf.grad is not None, list(self.leaf_slots)),
        )
        self.leaf_slots.append(lowered)

    def finish(self, grads_before: dict[int, Any]) -> None:
        """After the call: each live tensor's ``.grad`` must end as eager left it. A gradient
        the call left None is set to None at the end of each replay; one that changed in a way
        the program does not make is a reason to stay eager."""
        for key, tensor in self.live.items():
            before, after = grads_before.get(key), tensor.grad
            if after is None:
                if before is not None or key in self.touched:
                    self.step(_GradNone(tensor))
            elif key not in self.touched and after is not before:
                self.reasons.append(f"assigns .grad of a tensor of shape {tensor.shape} directly")

    def pass_through(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run ``fn`` as it is, recording nothing it does."""
        self.thread = None
        try:
            return fn(*args, **kwargs)
        finally:
            self.thread = self.owner

    # ------------------------------------------------------------------ library methods
    def patches(self) -> Iterator[tuple[type, str, Any]]:
        """(class, name, replacement) for each method watched while recording."""
        recorder = self

        def call_step(original: Callable[..., Any], label: str) -> Callable[..., Any]:
            def wrapper(obj: Any, *args: Any, **kwargs: Any) -> Any:
                if threading.get_ident() != recorder.thread:
                    return original(obj, *args, **kwargs)
                if label.endswith(".step") and isinstance(obj, Optimizer) and not args and _plain_step(obj):
                    recorder.step(_OptimizerStep(obj), _SGDStep(obj) if type(obj) is SGD else "same")
                else:
                    recorder.step(_Call(_bind(original, obj, args), f"{label}()"))
                if kwargs:
                    recorder.reasons.append(f"calls {label} with keyword arguments")
                return recorder.pass_through(original, obj, *args, **kwargs)

            return wrapper

        def refuse(original: Callable[..., Any], reason: str) -> Callable[..., Any]:
            def wrapper(obj: Any, *args: Any, **kwargs: Any) -> Any:
                if threading.get_ident() == recorder.thread:
                    recorder.reasons.append(reason)
                return original(obj, *args, **kwargs)

            return wrapper

        for base, name in _CALLS:
            for cls in _with_subclasses(base):
                if name in cls.__dict__:  # each class that defines it (schedulers override step)
                    yield cls, name, call_step(cls.__dict__[name], f"{cls.__name__}.{name}")
        for name, reason in _UNSUPPORTED.items():
            yield Tensor, name, refuse(Tensor.__dict__[name], reason)
        data = Tensor.__dict__["data"]
        yield Tensor, "data", property(data.fget, refuse(data.fset, "assigns to a tensor's .data"), data.fdel)


def _plain_step(optimizer: Optimizer) -> bool:
    """Whether ``optimizer`` uses Optimizer.step as it is (no subclass overrides it)."""
    for cls in type(optimizer).__mro__:
        if "step" in cls.__dict__:
            return cls is Optimizer
    return False


def _is_reshape(view: np.ndarray, base: np.ndarray) -> bool:
    """Whether ``view`` is all of ``base`` in another shape (what ``base.reshape`` gives)."""
    return (
        view.size == base.size
        and view.dtype == base.dtype
        and view.flags.c_contiguous
        and base.flags.c_contiguous
        and view.__array_interface__["data"][0] == base.__array_interface__["data"][0]
    )


def _with_subclasses(cls: type) -> list[type]:
    found, todo = [], [cls]
    while todo:
        c = todo.pop()
        found.append(c)
        todo.extend(c.__subclasses__())
    return found


def _bind(method: Callable[..., Any], obj: Any, args: tuple) -> Callable[[], Any]:
    def bound() -> Any:
        return method(obj, *args)

    return bound
