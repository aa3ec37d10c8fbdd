"""Tensor: an ndarray, whether it requires grad, its gradient, and the node that made it."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from .errors import ShapeError, shape_of

__all__ = ["Tensor", "as_tensor", "as_float_array", "DTypeLike", "RemovableHandle"]

DTypeLike = np.dtype | type | str | None

_FLOAT_KINDS = "f"
_INTEGER_KINDS = "biu"


def as_float_array(data: Any, dtype: DTypeLike = None, what: str = "Tensor") -> np.ndarray:
    """Turn user data into the float ndarray a Tensor holds.

    Floating arrays of the wanted dtype are shared, not copied (as ``np.asarray``). Python
    numbers, booleans and integer data become float64. Anything else raises ``TypeError``
    naming what was given.
    """
    if isinstance(data, Tensor):
        data = data._data
    if dtype is not None:
        dtype = _float_dtype(dtype, what)
    if type(data) is np.ndarray and data.dtype.kind in _FLOAT_KINDS:
        return data if dtype is None or data.dtype == dtype else _cast(data, dtype)
    try:
        array = np.asarray(data)
    except (ValueError, TypeError) as err:
        raise TypeError(f"{what}: cannot make a tensor from {_describe(data)} ({err})") from None
    kind = array.dtype.kind
    if kind in _FLOAT_KINDS:
        pass
    elif kind in _INTEGER_KINDS:
        array = array.astype(np.float64)
    else:
        raise TypeError(
            f"{what}: cannot make a tensor from {_describe(data)}: it holds {array.dtype} values, not numbers"
        )
    if dtype is not None and array.dtype != dtype:
        array = _cast(array, dtype)
    return array


def _cast(array: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """``array`` in ``dtype``; what does not fit becomes inf (as in PyTorch), without a warning."""
    with autograd.no_fp_warnings():
        return array.astype(dtype)


def _float_dtype(dtype: DTypeLike, what: str) -> np.dtype:
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{what}: {dtype!r} is not a dtype") from None
    if resolved.kind not in _FLOAT_KINDS:
        raise TypeError(f"{what}: dtype must be a floating type such as float32 or float64, not {resolved}")
    return resolved


def _describe(data: Any) -> str:
    text = repr(data)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{type(data).__name__} {text}"


def as_tensor(data: Any, dtype: DTypeLike = None) -> Tensor:
    """Return ``data`` if it is already a Tensor (of ``dtype``), else a new Tensor sharing it.

    >>> import numpy as np, microgradnn as mg
    >>> a = np.zeros(3)
    >>> mg.as_tensor(a).data is a
    True
    """
    if isinstance(data, Tensor) and (dtype is None or data.dtype == np.dtype(dtype)):
        return data
    if isinstance(data, Tensor):
        return data.astype(dtype)
    return Tensor(data, dtype=dtype)


class RemovableHandle:
    """What ``register_hook`` returns: ``remove()`` takes the hook off again."""

    # next() on a count is atomic, so handles made in two threads at once never share an id.
    _ids = itertools.count()

    def __init__(self, hooks: dict[int, Any]) -> None:
        self._hooks = hooks
        self.id = next(RemovableHandle._ids)

    def remove(self) -> None:
        """Take the hook off (removing twice is harmless)."""
        self._hooks.pop(self.id, None)


class Tensor:
    """An n-dimensional array that records the operations made from it, for backward.

    >>> import microgradnn as mg
    >>> w = mg.Tensor([[1.0], [2.0]], requires_grad=True)
    >>> x = mg.Tensor([[3.0, 4.0]])
    >>> loss = (x @ w).sum()
    >>> loss.backward()
    >>> w.grad
    array([[3.],
           [4.]])

    ``Tensor(data, requires_grad=False, dtype=None)`` takes scalars, nested lists and ndarrays.
    A floating ndarray of the wanted dtype is shared, not copied; integers and booleans become
    float64. float32 stays float32 through every op.

    Gradients accumulate into ``.grad`` (an ndarray) of leaves that require grad, as in PyTorch:
    clear them each step (``w.grad = None``). ``.data`` may be assigned; every assignment and
    every in-place operator counts as a change, and backward refuses to use a saved tensor that
    changed. Writes through a raw view of ``.data`` (``t.data[0] = 1``) bypass that count.
    """

    __slots__ = (
        "_data",
        "grad",
        "_requires_grad",
        "grad_fn",
        "_version",
        "_changed_at",
        "_retains_grad",
        "_hooks",
        "__weakref__",
    )

    # NumPy defers to our reflected operators (ndarray * Tensor -> Tensor.__rmul__).
    __array_ufunc__ = None
    # __eq__ is elementwise, so hash by identity (as PyTorch does); dict and set use it.
    __hash__ = object.__hash__

    _data: np.ndarray
    grad: np.ndarray | None
    _requires_grad: bool  # behind the requires_grad property; the engine reads it directly
    grad_fn: Any
    _version: int  # how many in-place changes this tensor has had
    _changed_at: int  # the clock's tick at its last one (see autograd.note_change)
    _retains_grad: bool
    _hooks: dict[int, Callable[[Any], Any]] | None  # register_hook's functions, by handle id

    def __init__(self, data: Any, requires_grad: bool = False, dtype: DTypeLike = None) -> None:
        self._data = as_float_array(data, dtype)
        self.grad = None
        self._requires_grad = False
        self.grad_fn = None
        self._version = 0
        self._changed_at = 0
        self._retains_grad = False
        self._hooks = None
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _wrap(cls, data: np.ndarray, grad_fn: Any) -> Tensor:
        """A Tensor around an ndarray the library just made: no checks, no copy."""
        t = object.__new__(Tensor)
        t._data = data
        t.grad = None
        t._requires_grad = grad_fn is not None
        t.grad_fn = grad_fn
        t._version = 0
        t._changed_at = 0
        t._retains_grad = False
        t._hooks = None
        return t

    # ----------------------------------------------------------------- state
    @property
    def data(self) -> np.ndarray:
        """The ndarray. Assigning it replaces the values (and counts as an in-place change)."""
        return self._data

    @data.setter
    def data(self, value: Any) -> None:
        self._data = as_float_array(value, None, "Tensor.data")
        autograd.note_change(self)

    @property
    def shape(self) -> tuple[int, ...]:
        """The shape, as NumPy gives it."""
        return self._data.shape

    @property
    def ndim(self) -> int:
        """The number of axes."""
        return self._data.ndim

    @property
    def size(self) -> int:
        """The number of elements."""
        return self._data.size

    @property
    def dtype(self) -> np.dtype:
        """The NumPy dtype (float64 unless asked otherwise)."""
        return self._data.dtype

    @property
    def is_leaf(self) -> bool:
        """True for tensors not made by a recorded operation (their ``.grad`` is kept)."""
        return self.grad_fn is None

    @property
    def requires_grad(self) -> bool:
        """Whether operations on this tensor are recorded for backward.

        Only a leaf's may be set (a result of recorded operations requires grad because its
        inputs do: ``detach()`` gives one that does not), and only a floating one can require
        grad, as in PyTorch.
        """
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, requires_grad: bool) -> None:
        if self.grad_fn is not None:
            raise RuntimeError(
                "requires_grad: only a leaf's requires_grad can be set (this tensor was made by "
                f"{self.grad_fn.name}); use detach() for a copy cut off from the graph"
            )
        self.requires_grad_(requires_grad)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set ``requires_grad`` on a leaf in place and return it."""
        if self.grad_fn is not None and not requires_grad:
            raise RuntimeError("requires_grad_: only a leaf's requires_grad can be turned off; use detach()")
        if requires_grad and self._data.dtype.kind not in _FLOAT_KINDS:
            raise TypeError(f"requires_grad_: only floating tensors can require grad, not {self._data.dtype}")
        self._requires_grad = bool(requires_grad)
        return self

    def retain_grad(self) -> Tensor:
        """Keep ``.grad`` on this non-leaf tensor after backward (leaves always keep it)."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad: this tensor does not require grad")
        if self.grad_fn is not None:
            self._retains_grad = True
        return self

    def register_hook(self, hook: Callable[[Any], Any]) -> RemovableHandle:
        """Call ``hook(grad)`` when backward computes this tensor's gradient.

        The hook may return a replacement gradient (of the same shape), or None to keep it:
        clip it, scale it, log it. ``grad`` is an ndarray (a Tensor under
        ``grad(..., create_graph=True)``). On a leaf, hooks run before the gradient is added
        to ``.grad``. Returns a handle whose ``remove()`` takes the hook off again.

        >>> import microgradnn as mg
        >>> x = mg.Tensor([1.0, 2.0], requires_grad=True)
        >>> handle = x.register_hook(lambda g: g * 10)
        >>> (x * x).sum().backward(); x.grad
        array([20., 40.])
        >>> handle.remove(); x.grad = None
        >>> (x * x).sum().backward(); x.grad
        array([2., 4.])
        """
        if not self.requires_grad:
            raise RuntimeError("register_hook: this tensor does not require grad, so it has no gradient to hook")
        if not callable(hook):
            raise TypeError(f"register_hook: the hook must be callable, not {type(hook).__name__}")
        if self._hooks is None:
            self._hooks = {}
        handle = RemovableHandle(self._hooks)
        self._hooks[handle.id] = hook
        return handle

    def detach(self) -> Tensor:
        """A new leaf sharing this tensor's data, cut off from the graph."""
        return Tensor._wrap(self._data, None)

    def numpy(self) -> np.ndarray:
        """The ndarray itself (shared, as ``torch.Tensor.numpy`` shares memory)."""
        return self._data

    def item(self) -> float:
        """The value of a one-element tensor as a Python number."""
        if self._data.size != 1:
            raise ValueError(f"item: only a one-element tensor has an item; this one has shape {self.shape}")
        return self._data.item()

    def tolist(self) -> Any:
        """The values as nested Python lists."""
        return self._data.tolist()

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        if dtype is None:
            return self._data
        return self._data.astype(dtype)

    def backward(self, gradient: Any = None, retain_graph: bool = False) -> None:
        """Accumulate the gradient of this tensor into ``.grad`` of the leaves it depends on.

        A tensor with one element needs no ``gradient``; otherwise pass one of its shape.
        The graph's saved arrays are released afterwards unless ``retain_graph=True``.
        """
        autograd.backward(self, gradient, retain_graph)

    def __repr__(self) -> str:
        body = np.array2string(self._data, separator=", ", prefix="Tensor(", threshold=20, edgeitems=3)
        extras = []
        if self._data.dtype != np.float64:
            extras.append(f"dtype={self._data.dtype}")
        if self.grad_fn is not None:
            extras.append(f"grad_fn={self.grad_fn!r}")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "Tensor(" + ", ".join([body] + extras) + ")"

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self._data)

    def __iter__(self) -> Iterator[Tensor]:
        for i in range(len(self)):
            yield self[i]

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise ValueError(
                f"the truth value of a tensor of shape {self.shape} is ambiguous; use .any() or .all() on .data"
            )
        return bool(self._data)

    def __float__(self) -> float:
        return float(self.item())

    def __format__(self, spec: str) -> str:
        """``f"{t:.4f}"`` formats the value of a 0-d or one-element tensor, as it would format
        ``t.item()``; ``f"{t}"`` (no spec) is ``str(t)`` for any shape."""
        if not spec:
            return str(self)
        if self._data.size == 1:
            return format(self._data.item(), spec)
        raise TypeError(
            f"format: a format spec ({spec!r}) applies to one value, and this tensor has shape "
            f"{self.shape}; format t.item() of one element, or the values of t.tolist()"
        )

    # ------------------------------------------------------------ arithmetic
    def __add__(self, other: Any) -> Tensor:
        return elementwise.add(self, other)

    def __radd__(self, other: Any) -> Tensor:
        return elementwise.add(other, self)

    def __sub__(self, other: Any) -> Tensor:
        return elementwise.sub(self, other)

    def __rsub__(self, other: Any) -> Tensor:
        return elementwise.sub(other, self)

    def __mul__(self, other: Any) -> Tensor:
        return elementwise.mul(self, other)

    def __rmul__(self, other: Any) -> Tensor:
        return elementwise.mul(other, self)

    def __truediv__(self, other: Any) -> Tensor:
        return elementwise.div(self, other)

    def __rtruediv__(self, other: Any) -> Tensor:
        return elementwise.div(other, self)

    def __pow__(self, exponent: Any) -> Tensor:
        return elementwise.pow(self, exponent)

    def __rpow__(self, base: Any) -> Tensor:
        return elementwise.pow(base, self)

    def __neg__(self) -> Tensor:
        return elementwise.neg(self)

    def __pos__(self) -> Tensor:
        return self

    def __matmul__(self, other: Any) -> Tensor:
        return linalg.matmul(self, other)

    def __rmatmul__(self, other: Any) -> Tensor:
        return linalg.matmul(other, self)

    def __abs__(self) -> Tensor:
        return elementwise.abs(self)

    # In-place operators change the array itself. On a tensor that requires grad they are
    # allowed only inside no_grad() (the optimizer-step idiom); PyTorch also allows them on
    # non-leaf tensors, which needs machinery this library leaves out on purpose.
    def __iadd__(self, other: Any) -> Tensor:
        return self._inplace(np.add, other, "+=")

    def __isub__(self, other: Any) -> Tensor:
        return self._inplace(np.subtract, other, "-=")

    def __imul__(self, other: Any) -> Tensor:
        return self._inplace(np.multiply, other, "*=")

    def __itruediv__(self, other: Any) -> Tensor:
        return self._inplace(np.true_divide, other, "/=")

    def _inplace(self, ufunc: np.ufunc, other: Any, symbol: str) -> Tensor:
        if self._requires_grad and autograd._modes.flags & autograd.GRAD:
            raise RuntimeError(
                f"{symbol}: in-place change of a tensor that requires grad (shape {self.shape}); "
                "do it inside `with no_grad():`, or change `.data` instead"
            )
        operand = elementwise.operand(other, self._data.dtype, symbol)
        try:
            with autograd.no_fp_warnings():  # an overflow gives inf, as PyTorch's in-place ops do
                ufunc(self._data, operand, out=self._data)
        except ValueError:
            raise ShapeError(
                f"{symbol}: cannot update a tensor of shape {self.shape} in place with shape {shape_of(operand)}"
            ) from None
        autograd.note_change(self)
        return self

    # ------------------------------------------------------------ comparisons
    # Not differentiable: they return boolean tensors that do not require grad.
    def __lt__(self, other: Any) -> Tensor:
        return elementwise.compare(np.less, self, other, "<")

    def __le__(self, other: Any) -> Tensor:
        return elementwise.compare(np.less_equal, self, other, "<=")

    def __gt__(self, other: Any) -> Tensor:
        return elementwise.compare(np.greater, self, other, ">")

    def __ge__(self, other: Any) -> Tensor:
        return elementwise.compare(np.greater_equal, self, other, ">=")

    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return elementwise.compare(np.equal, self, other, "==")

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return elementwise.compare(np.not_equal, self, other, "!=")

    # ------------------------------------------------------------ elementwise
    def exp(self) -> Tensor:
        """e to the power of each element."""
        return elementwise.exp(self)

    def log(self) -> Tensor:
        """Natural logarithm of each element."""
        return elementwise.log(self)

    def sqrt(self) -> Tensor:
        """Square root of each element."""
        return elementwise.sqrt(self)

    def abs(self) -> Tensor:
        """Absolute value of each element (gradient 0 at 0)."""
        return elementwise.abs(self)

    def tanh(self) -> Tensor:
        """Hyperbolic tangent of each element."""
        return elementwise.tanh(self)

    def sigmoid(self) -> Tensor:
        """1 / (1 + exp(-x)), stable for large inputs."""
        return elementwise.sigmoid(self)

    def relu(self) -> Tensor:
        """max(x, 0) (gradient 0 at 0)."""
        return elementwise.relu(self)

    def clip(self, min: float | None = None, max: float | None = None) -> Tensor:
        """Limit each element to [min, max]."""
        return elementwise.clip(self, min, max)

    def maximum(self, other: Any) -> Tensor:
        """Elementwise maximum with another tensor (ties split the gradient)."""
        return elementwise.maximum(self, other)

    def minimum(self, other: Any) -> Tensor:
        """Elementwise minimum with another tensor (ties split the gradient)."""
        return elementwise.minimum(self, other)

    def astype(self, dtype: DTypeLike) -> Tensor:
        """The same values in another floating dtype (differentiable)."""
        return elementwise.astype(self, dtype)

    # ------------------------------------------------------------ reductions
    def sum(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        """Sum over ``axis`` (all axes when None)."""
        return reduce.sum(self, axis, keepdims)

    def mean(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        """Mean over ``axis`` (all axes when None)."""
        return reduce.mean(self, axis, keepdims)

    def max(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        """Maximum over ``axis``; tied entries share the gradient evenly."""
        return reduce.max(self, axis, keepdims)

    def min(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        """Minimum over ``axis``; tied entries share the gradient evenly."""
        return reduce.min(self, axis, keepdims)

    def var(self, axis: int | Sequence[int] | None = None, keepdims: bool = False, ddof: int = 0) -> Tensor:
        """Variance over ``axis`` (NumPy's ``ddof=0`` by default, unlike PyTorch's)."""
        return reduce.var(self, axis, keepdims, ddof)

    def logsumexp(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Tensor:
        """log(sum(exp(x))) over ``axis``, stable for large inputs."""
        return reduce.logsumexp(self, axis, keepdims)

    def argmax(self, axis: int | None = None) -> Tensor:
        """Index of the maximum (not differentiable)."""
        return reduce.argmax(self, axis)

    def argmin(self, axis: int | None = None) -> Tensor:
        """Index of the minimum (not differentiable)."""
        return reduce.argmin(self, axis)

    def softmax(self, axis: int = -1) -> Tensor:
        """exp(x) / sum(exp(x)) along ``axis``, stable for large inputs."""
        return softmax.softmax(self, axis)

    def log_softmax(self, axis: int = -1) -> Tensor:
        """x - logsumexp(x) along ``axis``, stable for large inputs."""
        return softmax.log_softmax(self, axis)

    # ------------------------------------------------------------ shape
    def reshape(self, *shape: Any) -> Tensor:
        """The same elements in a new shape (``-1`` infers one axis)."""
        return shape_ops.reshape(self, *shape)

    def transpose(self, *axes: Any) -> Tensor:
        """Permute axes, as ``np.transpose`` (no axes: reverse them)."""
        return shape_ops.transpose(self, *axes)

    def swapaxes(self, axis1: int, axis2: int) -> Tensor:
        """Exchange two axes."""
        return shape_ops.swapaxes(self, axis1, axis2)

    @property
    def T(self) -> Tensor:
        """All axes reversed (the matrix transpose for 2-d)."""
        return shape_ops.transpose(self)

    @property
    def mT(self) -> Tensor:
        """The last two axes exchanged (a batch of matrix transposes)."""
        return shape_ops.swapaxes(self, -1, -2)

    def squeeze(self, axis: int | Sequence[int] | None = None) -> Tensor:
        """Remove size-1 axes (only ``axis`` when given)."""
        return shape_ops.squeeze(self, axis)

    def expand_dims(self, axis: int | Sequence[int]) -> Tensor:
        """Insert size-1 axes at ``axis``."""
        return shape_ops.expand_dims(self, axis)

    def flatten(self) -> Tensor:
        """All elements in one axis."""
        return shape_ops.flatten(self)

    def broadcast_to(self, shape: Sequence[int]) -> Tensor:
        """Repeat along size-1 and new leading axes to ``shape``, as ``np.broadcast_to``."""
        return shape_ops.broadcast_to(self, shape)

    def __getitem__(self, index: Any) -> Tensor:
        return shape_ops.getitem(self, index)

    # ---------------- unary math and activations (ops/unary.py, ops/activation.py)
    # (section UNARY: methods go above this line)

    # ---------------- reductions, scans and ordering (ops/reduce.py, ops/scan.py, ops/sort.py)
    # (section REDUCE: methods go above this line)

    # ---------------- shapes, joining and indexing (ops/shape.py, ops/indexing.py)
    # (section SHAPE: methods go above this line)

    # ---------------- linear algebra, creation and random (ops/linalg.py, creation.py, ops/random.py)
    # (section LINALG: methods go above this line)


# The op modules build on Tensor, so they are imported once the class exists.
from . import autograd  # noqa: E402
from .ops import elementwise, linalg, reduce, softmax  # noqa: E402
from .ops import shape as shape_ops  # noqa: E402
# (section imports: op modules go above this line)
