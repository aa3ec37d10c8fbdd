"""The graph and the backward walk.

Every differentiable operation is a :class:`Function` subclass with a ``forward`` and a
``backward`` side by side. Calling ``SomeOp.apply(...)`` runs ``forward`` on plain ndarrays and,
when an input requires grad, keeps the ``Function`` instance as the node of the graph: it is at
once the ``ctx`` that ``forward`` saved things on and the ``grad_fn`` of the result.

``backward()`` and :func:`grad` walk the nodes from the output back to the leaves. Instead of a
separate topological sort, every node carries a sequence number given when it was made: a node
can only depend on nodes made before it, so popping the highest number first from a heap visits
each node after all of its consumers, in one iterative pass (PyTorch's engine orders its ready
queue the same way).

Built-in backward formulas are written with operators and methods that ndarrays and Tensors
share (``*``, ``@``, ``.sum(axis)``, ``.reshape``...). The fast path feeds them ndarrays; with
``create_graph=True`` it feeds them Tensors instead, so the backward pass is itself recorded and
can be differentiated again.

Grad mode (and anomaly mode) belong to a thread, as in PyTorch; the clock that numbers nodes and
in-place changes is one for the whole process, so separate models can train in separate threads.
"""

from __future__ import annotations

import functools
import heapq
import itertools
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

import numpy as np

from .errors import ShapeError, shape_of
from .tensor import Tensor, as_tensor

__all__ = [
    "Function",
    "no_grad",
    "enable_grad",
    "is_grad_enabled",
    "backward",
    "grad",
]

F = TypeVar("F", bound=Callable[..., Any])

# ------------------------------------------------------------------ modes, per thread
# Grad mode and anomaly mode belong to a thread, as PyTorch's grad mode does: no_grad() in one
# thread never changes what another records. They are two bits of one int, one thread-local
# attribute to read.
GRAD = 1  # record operations for backward
ANOMALY = 2  # check every result and gradient (see anomaly.py)


class _Modes(threading.local):
    """This thread's modes. The defaults are class attributes, so a new thread starts with grad
    mode on and anomaly mode off (as in PyTorch) without running any code of ours first."""

    #: The GRAD and ANOMALY bits.
    flags: int = GRAD
    #: What the ``with`` blocks open in this thread restore, innermost first: a linked list of
    #: (flags before the block, the rest). Kept per thread rather than on the context manager,
    #: so one no_grad() object may be entered by several threads, or nested in one.
    saved: tuple[int, Any] | None = None


_modes = _Modes()
# How many threads have modes other than the default (grad on, anomaly off). While it is 0, as
# in almost every training step, an op need not look up its thread's modes at all: one global
# read, as cheap as the process-wide flag this replaced (a thread-local read costs ~50 ns, a
# tenth of a small op). Counted under a lock, and only by the thread whose modes change, so it
# is never 0 while the thread reading it has modes of its own.
_unusual_threads = 0
_unusual_lock = threading.Lock()


def _set_flags(flags: int) -> None:
    """Give this thread new modes, keeping ``_unusual_threads`` right."""
    global _unusual_threads
    modes = _modes
    was_default = modes.flags == GRAD
    if was_default != (flags == GRAD):
        with _unusual_lock:
            _unusual_threads += 1 if was_default else -1
    modes.flags = flags


def _enter_mode(bit: int, on: bool) -> None:
    """Set one mode bit of this thread for a ``with`` block, until :func:`_exit_mode`."""
    modes = _modes
    flags = modes.flags
    modes.saved = (flags, modes.saved)
    _set_flags(flags | bit if on else flags & ~bit)


def _exit_mode(bit: int) -> None:
    """Give one mode bit back the value it had before the innermost open block."""
    modes = _modes
    previous, modes.saved = modes.saved or (GRAD, None)
    _set_flags((modes.flags & ~bit) | (previous & bit))


# ------------------------------------------------------------------ one clock for every thread
# Every recorded node and every in-place change takes the next tick of one process-wide clock.
# next() on an itertools.count is atomic under the GIL, so ticks are unique and grow in the
# order they are taken, whichever thread takes them. That orders the nodes for the backward
# walk (a node depends only on nodes made before it, in any thread), and says whether a saved
# tensor changed after its node was made: then its change has the higher tick.
_clock = itertools.count(1)
# While mg.compile records a call (microgradnn/jit), its recorder; else None. Ops and the
# backward walk tell it what they do: one global read per op when nothing is recording.
_recorder: Any = None
_get_ident = threading.get_ident
# The tick of the latest in-place change of any tensor. While it is older than a node, nothing
# that node saved can have changed, and backward skips the per-tensor check. Written only under
# the lock: two threads assigning it at once could otherwise move it back in time.
_last_change = 0
_change_lock = threading.Lock()
# needs_input_grad of two-input nodes, one shared tuple per combination (indexed by the two
# booleans): a long chain of ops then holds no tuple of its own for it.
_NEEDS_TWO = (((False, False), (False, True)), ((True, False), (True, True)))


def note_change(tensor: Tensor) -> None:
    """Record an in-place change of ``tensor`` (its ``.data`` assigned or updated in place)."""
    global _last_change
    _change_lock.acquire()  # (a `with` block costs twice as much)
    try:
        tick = next(_clock)
        _last_change = tick
    finally:
        _change_lock.release()
    tensor._version += 1
    tensor._changed_at = tick


def note_changes(tensors: tuple[Tensor, ...]) -> None:
    """:func:`note_change` for tensors changed together (an optimizer's step): one tick."""
    global _last_change
    _change_lock.acquire()
    try:
        tick = next(_clock)
        _last_change = tick
    finally:
        _change_lock.release()
    for tensor in tensors:
        tensor._version += 1
        tensor._changed_at = tick


# ------------------------------------------------------------------ floating-point warnings
# Built-in operations behave as PyTorch's do: overflow, 0 / 0, log(0), inf - inf give inf or
# NaN, never a NumPy RuntimeWarning; detect_anomaly() is how to find them, and it names the op.
# np.errstate(all="ignore") costs about 1 µs, as much as a small op, so the engine sets the
# context variable that np.errstate sets, directly (0.2-0.3 µs for a set and a reset), and
# only where a warning can come from: around the forward of each op marked `may_warn` (neg,
# abs, tanh, sigmoid, relu, max, min, where and the shape ops cannot warn, so they go without;
# inline in apply(), as a decorator's extra call would add a third), and once around each
# whole backward pass rather than each of its steps. Users' code (custom forwards and
# backwards, hooks) runs under their own settings.
try:
    from numpy._core.umath import _extobj_contextvar, _make_extobj

    _FP: Any = _extobj_contextvar
    _FP_IGNORE: Any = _make_extobj(all="ignore")
except ImportError:  # pragma: no cover - a NumPy without these names: the public calls, slower

    class _PublicErrstate:
        """get/set/reset of NumPy's error state through its public API."""

        def get(self) -> Any:
            return np.geterr()

        def set(self, state: Any) -> Any:
            context = np.errstate(**state)
            context.__enter__()
            return context

        def reset(self, token: Any) -> None:
            token.__exit__(None, None, None)

    _FP = _PublicErrstate()
    _FP_IGNORE = {"all": "ignore"}
_fp_set, _fp_reset = _FP.set, _FP.reset


class no_fp_warnings:
    """NumPy's floating-point warnings off, as ``np.errstate(all="ignore")`` but cheaper: a
    context manager (``with no_fp_warnings():``) or, as ``@no_fp_warnings()``, a decorator.

    Built-in operations compute under it, so that an overflow gives inf, not a warning.

    >>> import numpy as np
    >>> with no_fp_warnings():
    ...     np.log(np.zeros(1))
    array([-inf])
    """

    __slots__ = ("_token",)

    def __enter__(self) -> Any:
        """Returns the caller's settings, to run the caller's own code under (see _as_caller)."""
        outer = _FP.get()
        self._token = _FP.set(_FP_IGNORE)
        return outer

    def __exit__(self, *exc_info: object) -> None:
        _FP.reset(self._token)

    def __call__(self, func: F) -> F:
        set_state, reset_state, ignore = _FP.set, _FP.reset, _FP_IGNORE

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            token = set_state(ignore)
            try:
                return func(*args, **kwargs)
            finally:
                reset_state(token)

        return wrapper  # type: ignore[return-value]


def _as_caller(caller_state: Any, func: Callable[..., Any], *args: Any) -> Any:
    """Call user code (a custom backward, a hook) under the caller's NumPy error settings."""
    token = _FP.set(caller_state)
    try:
        return func(*args)
    finally:
        _FP.reset(token)


# ------------------------------------------------------------------ grad mode
def is_grad_enabled() -> bool:
    """Whether operations are being recorded for backward right now, in this thread.

    >>> import microgradnn as mg
    >>> mg.is_grad_enabled()
    True
    >>> with mg.no_grad():
    ...     mg.is_grad_enabled()
    False
    """
    return bool(_modes.flags & GRAD)


class _GradMode:
    """Sets this thread's grad mode for a ``with`` block or, used as a decorator, for every
    call of a function."""

    _enabled: bool

    def __enter__(self) -> None:
        _enter_mode(GRAD, self._enabled)

    def __exit__(self, *exc_info: object) -> None:
        _exit_mode(GRAD)

    def __call__(self, func: F) -> F:
        enabled = self._enabled

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            _enter_mode(GRAD, enabled)
            try:
                return func(*args, **kwargs)
            finally:
                _exit_mode(GRAD)

        return wrapper  # type: ignore[return-value]


class no_grad(_GradMode):
    """Turns recording off: a context manager and a decorator, as in PyTorch.

    Inside it, operations return tensors that do not require grad, and in-place updates of
    parameters (``w -= lr * w.grad``) are allowed.

    >>> import microgradnn as mg
    >>> w = mg.ones(3, requires_grad=True)
    >>> with mg.no_grad():
    ...     (w * 2).requires_grad
    False
    >>> @mg.no_grad()
    ... def predict(x):
    ...     return x * w
    >>> predict(mg.ones(3)).requires_grad
    False
    """

    _enabled = False


class enable_grad(_GradMode):
    """Turns recording back on inside a :class:`no_grad` block (context manager or decorator).

    >>> import microgradnn as mg
    >>> with mg.no_grad():
    ...     with mg.enable_grad():
    ...         mg.is_grad_enabled()
    True
    """

    _enabled = True


class Function:
    """A differentiable operation: subclass it with static ``forward`` and ``backward``.

    ``forward(ctx, *arrays, **kwargs)`` receives the inputs' ndarrays (and any non-Tensor
    arguments unchanged) and returns one ndarray. ``backward(ctx, grad_output)`` returns one
    gradient per positional input (``None`` where there is none). Use
    ``ctx.save_for_backward(...)`` and ``ctx.saved_tensors`` to carry arrays from one to the
    other, and plain attributes (``ctx.axis = axis``) for anything else. Call the operation as
    ``MyOp.apply(x, ...)``.

    >>> import numpy as np, microgradnn as mg
    >>> class Square(mg.Function):
    ...     @staticmethod
    ...     def forward(ctx, x):
    ...         ctx.save_for_backward(x)
    ...         return x * x
    ...     @staticmethod
    ...     def backward(ctx, grad_output):
    ...         (x,) = ctx.saved_tensors
    ...         return grad_output * 2 * x
    >>> x = mg.Tensor([1.0, 3.0], requires_grad=True)
    >>> Square.apply(x).sum().backward()
    >>> x.grad
    array([2., 6.])

    A custom operation is differentiable once: its backward runs on ndarrays, so
    ``grad(..., create_graph=True)`` through it raises an error instead of a wrong answer.
    """

    #: The name error messages use; a subclass may set its own (default: the class name).
    name: str = "Function"
    #: Built-in operations write their backward with operations that Tensors also have, so
    #: it can be recorded with ``create_graph=True``. Custom ones are differentiable once.
    differentiable_twice: bool = False
    #: True where NumPy may warn in ``forward`` (overflow, division by zero, invalid values):
    #: it then runs with NumPy's floating-point warnings off, and inf or NaN is the result, as
    #: in PyTorch (``detect_anomaly()`` finds them). A custom op's forward runs under your
    #: own NumPy settings unless it sets this too.
    may_warn: bool = False

    # Node fields, set by apply(): the inputs as given, which of them need a gradient, the
    # saved arrays, and its tick of the clock (its sequence number; see _clock).
    # Slots keep nodes small and quick to make; "__dict__" still lets any op keep its own
    # attributes on ctx (built-in ops declare theirs as slots too).
    __slots__ = ("inputs", "needs_input_grad", "saved_tensors", "_sequence", "__dict__")
    inputs: tuple[Any, ...]
    needs_input_grad: tuple[bool, ...]
    #: What ``save_for_backward`` kept: ndarrays (Tensors while ``create_graph`` runs);
    #: None once a backward without ``retain_graph`` has released them.
    saved_tensors: tuple[Any, ...] | None
    _sequence: int

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "name" not in cls.__dict__:
            cls.name = cls.__name__

    @staticmethod
    def forward(ctx: Any, *args: Any, **kwargs: Any) -> np.ndarray:
        """Compute the result from ndarrays; save what backward needs on ``ctx``."""
        raise NotImplementedError("a Function subclass must define a static forward(ctx, ...)")

    @staticmethod
    def backward(ctx: Any, grad_output: Any) -> Any:
        """Return the gradient for each positional input of forward, given the output's."""
        raise NotImplementedError("a Function subclass must define a static backward(ctx, grad)")

    def save_for_backward(self, *arrays: Any) -> None:
        """Keep arrays (inputs, the output, or constants) for backward, as ``saved_tensors``.

        Saving an input or the output itself, rather than something computed from it, is what
        lets a built-in operation be differentiated twice, and lets backward detect that the
        array was changed in place in between.
        """
        self.saved_tensors = arrays

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Tensor:
        """Run the operation on Tensors (other arguments pass through to ``forward``)."""
        if _recorder is not None and _recorder.thread == _get_ident():
            return _recorder.op(cls, cls.apply, args, kwargs)
        arrays = []
        needs = []
        for arg in args:
            if isinstance(arg, Tensor):
                arrays.append(arg._data)
                needs.append(arg._requires_grad)
            else:
                arrays.append(arg)
                needs.append(False)
        ctx = object.__new__(cls)
        ctx.saved_tensors = ()
        if cls.may_warn:  # see "floating-point warnings" at the top of this module
            token = _fp_set(_FP_IGNORE)
            try:
                result = cls.forward(ctx, *arrays, **kwargs)
            finally:
                _fp_reset(token)
        else:
            result = cls.forward(ctx, *arrays, **kwargs) if kwargs else cls.forward(ctx, *arrays)
        return _output(cls, ctx, result, args, tuple(needs) if True in needs else None)

    # The two methods below are apply() for the built-in ops' two common shapes of call, one
    # input (plus options) and two inputs: the same, minus the generic loop over arguments,
    # because every training step runs them once per operation.
    @classmethod
    def _apply1(cls, x: Tensor, *options: Any) -> Tensor:
        """apply() for one Tensor input and positional options for ``forward``."""
        if _recorder is not None and _recorder.thread == _get_ident():
            return _recorder.op(cls, cls._apply1, (x, *options), {})
        ctx = object.__new__(cls)
        ctx.saved_tensors = ()
        if cls.may_warn:
            token = _fp_set(_FP_IGNORE)
            try:
                result = cls.forward(ctx, x._data, *options)
            finally:
                _fp_reset(token)
        else:
            result = cls.forward(ctx, x._data, *options)
        return _output(cls, ctx, result, (x,), (True,) if x._requires_grad else None)

    @classmethod
    def _apply2(cls, a: Any, b: Any) -> Tensor:
        """apply() for two inputs, each a Tensor or a constant operand."""
        if _recorder is not None and _recorder.thread == _get_ident():
            return _recorder.op(cls, cls._apply2, (a, b), {})
        # (_requires_grad: the slot itself, without the requires_grad property's call)
        if isinstance(a, Tensor):
            a_data, a_needs = a._data, a._requires_grad
        else:
            a_data, a_needs = a, False
        if isinstance(b, Tensor):
            b_data, b_needs = b._data, b._requires_grad
        else:
            b_data, b_needs = b, False
        ctx = object.__new__(cls)
        ctx.saved_tensors = ()
        if cls.may_warn:
            token = _fp_set(_FP_IGNORE)
            try:
                result = cls.forward(ctx, a_data, b_data)
            finally:
                _fp_reset(token)
        else:
            result = cls.forward(ctx, a_data, b_data)
        return _output(cls, ctx, result, (a, b), _NEEDS_TWO[a_needs][b_needs] if a_needs or b_needs else None)

    def __repr__(self) -> str:
        return f"<{self.name}>"


def _output(
    cls: type[Function], ctx: Function, result: Any, inputs: tuple[Any, ...], needs: tuple[bool, ...] | None
) -> Tensor:
    """The Tensor an op returns; when an input needs a gradient (``needs`` is not None) and
    recording is on, ``ctx`` becomes its node."""
    if type(result) is not np.ndarray:
        result = _as_result_array(cls, ctx, result)
    if _unusual_threads:  # some thread is in no_grad() or detect_anomaly(): is this one?
        flags = _modes.flags
        if flags & ANOMALY:
            anomaly.check_result(cls.name, ctx, result, inputs)
        if not flags & GRAD:
            return Tensor._wrap(result, None)
    if needs is None:
        return Tensor._wrap(result, None)
    ctx.inputs = inputs
    ctx.needs_input_grad = needs
    ctx._sequence = next(_clock)
    return Tensor._wrap(result, ctx)


def _as_result_array(cls: type[Function], ctx: Function, result: Any) -> np.ndarray:
    """NumPy returns 0-d results as scalars: make them arrays, and keep saved references."""
    if isinstance(result, np.generic):
        array = np.asarray(result)
        saved = ctx.saved_tensors or ()
        for s in saved:
            if s is result:  # an op that saved its own output must now save the array
                ctx.saved_tensors = tuple([array if t is result else t for t in saved])
                break
        return array
    if isinstance(result, Tensor):
        raise TypeError(f"{cls.name}.forward must return an ndarray, not a Tensor")
    array = np.asarray(result)
    if array.dtype.kind not in "fbiu":
        raise TypeError(f"{cls.name}.forward returned {type(result).__name__} of dtype {array.dtype}, not numbers")
    return array


def _freed_message(node: Function) -> str:
    return (
        f"{node.name}: trying to backward through the graph a second time (its saved arrays "
        "were released by the first backward); call backward(retain_graph=True) the first time"
    )


def _check_unchanged(node: Function, output: Tensor) -> None:
    """Raise if a tensor this node saved was changed in place after the node was made."""
    for position, t in enumerate(node.inputs + (output,)):
        if isinstance(t, Tensor) and t._changed_at > node._sequence:
            what = "its output" if t is output else f"its input {position}"
            raise RuntimeError(
                f"{node.name}: {what} (shape {t.shape}) was modified in place (now at version "
                f"{t._version}) after the operation saved it for backward; change a copy instead, "
                "or run the forward again after the change"
            )


def sum_to(grad: Any, shape: tuple[int, ...], op: str = "backward") -> Any:
    """Sum a gradient over the axes that broadcasting added, so it has ``shape``.

    The one place that undoes broadcasting, for every op (as tinygrad does). Works on ndarrays
    and on Tensors.

    >>> import numpy as np, microgradnn as mg
    >>> mg.sum_to(np.ones((2, 3)), (1, 3))
    array([[2., 2., 2.]])
    """
    gshape = grad.shape
    if gshape == shape:
        return grad
    lead = len(gshape) - len(shape)
    if lead < 0 or any(s != 1 and s != g for s, g in zip(shape, gshape[lead:], strict=True)):
        raise ShapeError(f"{op}: gradient of shape {shape_of(grad)} does not fit an input of shape {tuple(shape)}")
    axes = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(shape) if s == 1 and gshape[lead + i] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad.reshape(shape)


def _fit(node: Function, grad: Any, target: Tensor) -> Any:
    """Make one input's gradient match that input's shape (undoing broadcasting) and dtype."""
    data = target._data
    if grad.shape != data.shape:
        grad = sum_to(grad, data.shape, node.name)
    if grad.dtype != data.dtype:
        grad = grad.astype(data.dtype)
    return grad


def _seed(root: Tensor, gradient: Any, create_graph: bool) -> Any:
    if gradient is None:
        if root._data.size != 1:
            raise RuntimeError(
                f"backward: the output has shape {root.shape}; pass `gradient` of that shape "
                "(only a single-element output has an implicit gradient of 1)"
            )
        data = root._data
        # A 0-d output's seed can be a NumPy scalar: cheaper, and it acts as an array here.
        seed = data.dtype.type(1) if data.ndim == 0 and not create_graph else np.ones(data.shape, data.dtype)
        return Tensor._wrap(seed, None) if create_graph else seed
    if create_graph:
        seed = as_tensor(gradient, dtype=root.dtype)
    else:
        # A copy: the caller's array must never become (or alias) a leaf's .grad.
        seed = np.array(gradient.data if isinstance(gradient, Tensor) else gradient, dtype=root.dtype)
    if seed.shape != root.shape:
        raise ShapeError(f"backward: gradient of shape {shape_of(seed)} does not match the output's shape {root.shape}")
    return seed


def _saved_as_tensors(node: Function, output: Tensor) -> tuple[Any, ...]:
    """Map saved arrays back to the Tensors they are the data of, for a recorded backward."""
    inputs = node.inputs
    by_id = {id(t._data): t for t in inputs if isinstance(t, Tensor)}
    by_id[id(output._data)] = output
    mapped = []
    for i, s in enumerate(node.saved_tensors or ()):
        # Ops save inputs in their order; prefer that match when two tensors share one array.
        if i < len(inputs) and isinstance(inputs[i], Tensor) and inputs[i]._data is s:
            mapped.append(inputs[i])
        else:
            mapped.append(by_id.get(id(s), s))
    return tuple(mapped)


def _run(
    roots: Sequence[Tensor],
    seeds: Sequence[Any],
    retain_graph: bool,
    create_graph: bool,
    caller_fp: Any,
    capture: Iterable[Tensor] = (),
) -> tuple[dict[Tensor, Any], dict[Tensor, Any]]:
    """Propagate ``seeds`` from ``roots`` to every tensor that requires grad.

    Returns the gradient of each leaf reached, and of each non-leaf tensor in ``capture``.
    Non-leaf tensors that asked for ``retain_grad()`` get theirs in ``.grad`` on the way.
    Runs with NumPy's floating-point warnings off (the caller sets that up); hooks and custom
    backwards run under ``caller_fp``, the caller's own settings.
    """
    # Keyed by the tensors themselves: dicts compare keys by identity first, and Tensor
    # hashes by identity, so Tensor.__eq__ (elementwise) is never called here.
    pending: dict[Tensor, Any] = {}
    ready: list[tuple[int, Tensor]] = []
    for root, seed in zip(roots, seeds, strict=True):
        if root in pending:
            pending[root] = pending[root] + seed
            continue
        pending[root] = seed
        if root.grad_fn is not None:
            heapq.heappush(ready, (-root.grad_fn._sequence, root))
    wanted = set(capture) if capture else None
    captured: dict[Tensor, Any] = {}
    # The loop below runs once per node of every training step: locals and cheap checks
    # first, with the rare cases (version changes, dtype casts, custom ops) behind them.
    pop, push, take, look = heapq.heappop, heapq.heappush, pending.pop, pending.get
    checking = _unusual_threads and _modes.flags & ANOMALY
    recorder = _recorder if _recorder is not None and _recorder.thread == _get_ident() else None
    if recorder is not None:
        recorder.walk(roots, seeds, create_graph, capture)
    while ready:
        output = pop(ready)[1]
        # Every consumer of `output` was made after it, so its gradient is complete now.
        grad_output = take(output)
        node = output.grad_fn
        if output._hooks:
            grad_output = _as_caller(caller_fp, _run_hooks, output, grad_output)
        if output._retains_grad:
            _accumulate(output, grad_output)
        if wanted and output in wanted:
            captured[output] = grad_output
        saved = node.saved_tensors
        if saved is None:
            raise RuntimeError(_freed_message(node))
        if saved and node._sequence < _last_change:
            _check_unchanged(node, output)
        built_in = node.differentiable_twice
        if create_graph:
            grads = _recorded_backward(node, output, grad_output)
        elif built_in:
            grads = node.backward(node, grad_output)
        else:  # a custom Function: its backward is the user's code
            grads = _as_caller(caller_fp, node.backward, node, grad_output)
        if type(grads) is not tuple:
            grads = (grads,)  # a one-input op may return its gradient bare
        inputs = node.inputs
        if len(grads) != len(inputs) or not built_in:
            grads = _check_grads(node, grads)
        if checking:
            anomaly.check_gradients(node, grads)
        if recorder is not None:
            recorder.node(node, output, grads, pending)
        for inp, needed, g in zip(inputs, node.needs_input_grad, grads, strict=True):
            if not needed or g is None:
                continue
            data = inp._data
            # Built-in dtypes are singletons, so `is not` is the quick test; _fit decides.
            if g.shape != data.shape or g.dtype is not data.dtype:
                g = _fit(node, g, inp)
            previous = look(inp)
            if previous is None:
                pending[inp] = g
                if inp.grad_fn is not None:
                    push(ready, (-inp.grad_fn._sequence, inp))
            else:
                pending[inp] = previous + g
        if not retain_graph:
            # Release what the node holds: saved arrays and inputs. Intermediate results then
            # die as soon as the caller drops them, and their memory is reused next step.
            node.saved_tensors = None
            node.inputs = ()
    for leaf, g in pending.items():
        if leaf._hooks:
            pending[leaf] = _as_caller(caller_fp, _run_hooks, leaf, g)
    return pending, captured


def _run_hooks(tensor: Tensor, grad: Any) -> Any:
    """Pass a gradient through the tensor's hooks in order; a hook may return a replacement."""
    for hook in list((tensor._hooks or {}).values()):
        replaced = hook(grad)
        if replaced is not None:
            if shape_of(replaced) != shape_of(grad):
                raise ShapeError(
                    f"register_hook: a hook returned a gradient of shape {shape_of(replaced)} for a "
                    f"tensor of shape {tensor.shape}"
                )
            # A copy of an array: the hook's caller may keep and change the one it returned.
            grad = np.array(replaced) if isinstance(replaced, np.ndarray) else replaced
    return grad


def _recorded_backward(node: Function, output: Tensor, grad_output: Tensor) -> Any:
    """Run a node's backward on Tensors, so that it is itself recorded (create_graph)."""
    if not node.differentiable_twice:
        raise RuntimeError(
            f"{node.name}: this custom Function's backward works on ndarrays, so it is "
            "differentiable once; create_graph=True cannot go through it"
        )
    kept = node.saved_tensors
    node.saved_tensors = _saved_as_tensors(node, output)
    try:
        return node.backward(node, grad_output)
    finally:
        node.saved_tensors = kept


def _check_grads(node: Function, grads: tuple[Any, ...]) -> tuple[Any, ...]:
    """Refuse a wrong number of gradients, and (for custom Functions) anything that is not an
    array of the input's exact shape."""
    if len(grads) != len(node.inputs):
        raise RuntimeError(f"{node.name}.backward returned {len(grads)} gradient(s) for {len(node.inputs)} input(s)")
    if node.differentiable_twice:
        return grads
    checked = []
    for position, (inp, needed, g) in enumerate(zip(node.inputs, node.needs_input_grad, grads, strict=True)):
        if g is not None and needed:
            g = np.array(g)  # a copy: a custom backward may hand back an array it keeps
            if g.shape != inp.shape:
                raise ShapeError(
                    f"{node.name}.backward returned a gradient of shape {shape_of(g)} for input "
                    f"{position} of shape {inp.shape}; it must have the input's shape"
                )
            if g.dtype.kind != "f":
                g = g.astype(inp.dtype)
        checked.append(g)
    return tuple(checked)


def _accumulate(tensor: Tensor, grad: Any, owned: bool = False) -> None:
    """Add a gradient into ``tensor.grad`` as an ndarray that nothing else shares.

    ``owned`` says the engine made this array for this tensor alone, so it can be kept as it
    is; anything else is copied first (it may be another gradient, a view, or the caller's).
    """
    if isinstance(grad, Tensor):
        grad = grad._data
    if not owned or type(grad) is not np.ndarray:
        grad = np.array(grad, dtype=tensor._data.dtype)
    if tensor.grad is None:
        tensor.grad = grad
    else:
        tensor.grad = tensor.grad + grad


def backward(tensor: Tensor, gradient: Any = None, retain_graph: bool = False) -> None:
    """Accumulate d(tensor)/d(leaf) into ``.grad`` of every leaf that requires grad.

    Same as ``tensor.backward(gradient, retain_graph)``.

    >>> import microgradnn as mg
    >>> x = mg.Tensor(2.0, requires_grad=True)
    >>> mg.backward(x * x)
    >>> x.grad
    array(4.)
    """
    if not tensor.requires_grad:
        raise RuntimeError(
            f"backward: this tensor (shape {tensor.shape}) does not require grad and has no "
            "graph; create a leaf with requires_grad=True and compute from it outside no_grad()"
        )
    if tensor.grad_fn is not None and tensor.grad_fn.saved_tensors is None:
        raise RuntimeError(_freed_message(tensor.grad_fn))
    # What no_fp_warnings() does, inline: this runs once per training step.
    caller_fp = _FP.get()
    token = _fp_set(_FP_IGNORE)
    try:
        seed = _seed(tensor, gradient, create_graph=False)
        leaves, _ = _run((tensor,), (seed,), retain_graph, False, caller_fp)
        handed_out: set[int] = set()
        for leaf, g in leaves.items():
            # Copying a large gradient costs as much as computing it, so an array the engine
            # made is kept as it is; a view, or one array that reached two leaves (add's
            # backward hands the same array to both inputs), is copied.
            owned = type(g) is np.ndarray and g.base is None and id(g) not in handed_out
            handed_out.add(id(g))
            if _recorder is not None and _recorder.thread == _get_ident():
                _recorder.leaf(leaf, g, owned)
            _accumulate(leaf, g, owned)
    finally:
        _fp_reset(token)


def grad(
    outputs: Tensor | Sequence[Tensor],
    inputs: Tensor | Sequence[Tensor],
    grad_outputs: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> tuple[Tensor | None, ...]:
    """The gradients of ``outputs`` with respect to ``inputs``, without touching ``.grad``.

    As ``torch.autograd.grad``: returns a tuple with one Tensor per input. With
    ``create_graph=True`` the backward pass is recorded, so the gradients can be differentiated
    again (second derivatives, Hessian-vector products). ``retain_graph`` defaults to
    ``create_graph``. An input that the outputs do not depend on raises an error, or gives
    ``None`` with ``allow_unused=True``.

    >>> import microgradnn as mg
    >>> x = mg.Tensor(3.0, requires_grad=True)
    >>> (dx,) = mg.grad(x ** 3, x, create_graph=True)
    >>> dx.item(), mg.grad(dx, x)[0].item()
    (27.0, 18.0)
    """
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif not isinstance(grad_outputs, (list, tuple)):
        grad_outputs = [grad_outputs]
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"grad: {len(grad_outputs)} grad_outputs for {len(outputs)} outputs")
    if retain_graph is None:
        retain_graph = create_graph
    for t in outputs:
        if not isinstance(t, Tensor) or not t.requires_grad:
            raise RuntimeError(f"grad: every output must be a Tensor that requires grad (got shape {shape_of(t)})")
    for t in inputs:
        if not isinstance(t, Tensor) or not t.requires_grad:
            raise RuntimeError(f"grad: every input must be a Tensor that requires grad (got shape {shape_of(t)})")

    # A recorded backward needs recording on; a plain one must not record anything. Only in
    # this thread: another thread's forward, meanwhile, records as its own mode says.
    _enter_mode(GRAD, create_graph)
    try:
        with no_fp_warnings() as caller_fp:
            seeds = [_seed(o, g, create_graph) for o, g in zip(outputs, grad_outputs, strict=True)]
            leaves, captured = _run(outputs, seeds, retain_graph, create_graph, caller_fp, capture=inputs)
    finally:
        _exit_mode(GRAD)
    results: list[Tensor | None] = []
    for t in inputs:
        g = leaves.get(t) if t.grad_fn is None else captured.get(t)
        if g is None:
            if not allow_unused:
                raise RuntimeError(
                    f"grad: an input of shape {t.shape} was not used to compute the outputs; "
                    "pass allow_unused=True to get None for it"
                )
            results.append(None)
        elif isinstance(g, Tensor):
            results.append(g)
        else:
            # Copy: the array may be shared with another input's gradient or the seed.
            results.append(Tensor._wrap(np.array(g, dtype=t.dtype), None))
    return tuple(results)


# anomaly.py reads this module's modes, so it is imported once they exist.
from . import anomaly  # noqa: E402
