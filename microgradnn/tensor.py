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


def _is_index_dtype(dtype: DTypeLike) -> bool:
    try:
        return np.dtype(dtype).kind in _INTEGER_KINDS
    except TypeError:
        return False  # as_float_array names the bad dtype


def _index_array(data: Any, dtype: DTypeLike) -> np.ndarray:
    """``data`` as an integer or bool array (shared when it already is one of ``dtype``)."""
    if isinstance(data, Tensor):
        data = data._data
    try:
        array = np.asarray(data)
        if array.dtype.kind not in "biuf":
            raise TypeError(f"it holds {array.dtype} values, not numbers")
        with autograd.no_fp_warnings():  # NaN or inf cast to an integer: as NumPy, no warning
            return array.astype(dtype, copy=False)
    except (ValueError, TypeError, OverflowError) as err:
        raise TypeError(f"Tensor: cannot make a {np.dtype(dtype)} tensor from {_describe(data)} ({err})") from None


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


class _DtypeCasts:
    """PyTorch's ``x.float()``/``x.double()``, in a base class of Tensor: a method named
    ``float`` in Tensor's own body would hide the builtin from every annotation after it."""

    __slots__ = ()

    def float(self) -> Tensor:
        """This tensor in float32 (differentiable), as ``torch.Tensor.float``."""
        return elementwise.astype(self, np.float32)  # type: ignore[arg-type]

    def double(self) -> Tensor:
        """This tensor in float64 (differentiable)."""
        return elementwise.astype(self, np.float64)  # type: ignore[arg-type]


def _unary(name: str) -> Callable[[Tensor], Tensor]:
    """The Tensor method ``x.<name>()``, which is ``mg.<name>(x)`` (the elementwise maths table).

    The function is looked up when the method is called: ops/unary.py imports this module.
    """

    def method(self: Tensor) -> Tensor:
        return getattr(unary_ops, name)(self)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"``mg.{name}`` of this tensor."
    return method


def _binary(name: str) -> Callable[[Tensor, Any], Tensor]:
    """The Tensor method ``x.<name>(other)``, which is ``mg.<name>(x, other)``."""

    def method(self: Tensor, other: Any) -> Tensor:
        return getattr(unary_ops, name)(self, other)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"``mg.{name}(self, other)``."
    return method


class Tensor(_DtypeCasts):
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
    float64 unless an integer or bool ``dtype`` is asked for (``dtype=np.int64`` makes an index
    tensor, which can never require grad). float32 stays float32 through every op.

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
        if dtype is not None and _is_index_dtype(dtype):
            # An explicit integer or bool dtype: an index or mask tensor, never differentiable.
            self._data = _index_array(data, dtype)
        else:
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

    def size(self, dim: int | None = None) -> Any:
        """The shape as a tuple (PyTorch's ``x.size()``), or the length of dim ``dim``.

        A method, as in PyTorch; ``numel()`` counts the elements (NumPy's ``.size``).

        >>> import microgradnn as mg
        >>> mg.zeros(2, 3).size(), mg.zeros(2, 3).size(-1)
        ((2, 3), 3)
        """
        if dim is None:
            return self._data.shape
        if not self._data.ndim:
            raise ShapeError(f"size: a 0-d tensor has no dim {dim}; size() is its shape, ()")
        return self._data.shape[shape_ops.check_dim("size", dim, self._data.shape)]

    def numel(self) -> int:
        """The number of elements."""
        return int(self._data.size)

    def dim(self) -> int:
        """The number of dims (``ndim``)."""
        return self._data.ndim

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

    # ------------------------------------------------------------ softmax
    def softmax(self, axis: int = -1) -> Tensor:
        """exp(x) / sum(exp(x)) along ``axis``, stable for large inputs."""
        return softmax.softmax(self, axis)

    def log_softmax(self, axis: int = -1) -> Tensor:
        """x - logsumexp(x) along ``axis``, stable for large inputs."""
        return softmax.log_softmax(self, axis)

    # ------------------------------------------------------------ shape
    # PyTorch's meanings (see ops/shape.py): transpose(a, b) swaps two dims, squeeze(d) leaves
    # a dim whose size is not 1 alone.
    def reshape(self, *shape: Any) -> Tensor:
        """The same elements in a new shape (``-1`` infers one dim)."""
        return shape_ops.reshape(self, *shape)

    def view(self, *shape: Any) -> Tensor:
        """PyTorch's name for reshape."""
        return shape_ops.reshape(self, *shape)

    def transpose(self, *dims: Any) -> Tensor:
        """Swap two dims (``transpose(0, 1)``); no dims, or a full permutation, permutes."""
        return shape_ops.transpose(self, *dims)

    def permute(self, *dims: Any) -> Tensor:
        """Reorder the dims: ``permute(2, 0, 1)`` or ``permute((2, 0, 1))``."""
        return shape_ops.permute(self, *dims)

    def movedim(self, source: Any, destination: Any) -> Tensor:
        """Move dims ``source`` to ``destination`` (``mg.movedim``)."""
        return shape_ops.movedim(self, source, destination)

    moveaxis = movedim

    def swapaxes(self, axis1: int, axis2: int) -> Tensor:
        """Exchange two dims."""
        return shape_ops.swapaxes(self, axis1, axis2)

    def t(self) -> Tensor:
        """The transpose of a tensor of at most 2 dims."""
        return shape_ops.t(self)

    @property
    def T(self) -> Tensor:
        """All dims reversed (the matrix transpose for 2-d)."""
        return shape_ops.transpose(self)

    @property
    def mT(self) -> Tensor:
        """The last two dims exchanged (a batch of matrix transposes)."""
        return shape_ops.swapaxes(self, -1, -2)

    def squeeze(self, dim: int | Sequence[int] | None = None, *, axis: int | Sequence[int] | None = None) -> Tensor:
        """Remove size-1 dims (only those among ``dim`` when given; others are left alone)."""
        return shape_ops.squeeze(self, dim, axis=axis)

    def unsqueeze(self, dim: int) -> Tensor:
        """Insert a size-1 dim at ``dim``."""
        return shape_ops.unsqueeze(self, dim)

    def expand_dims(self, axis: int | Sequence[int]) -> Tensor:
        """Insert size-1 axes at ``axis`` (NumPy's)."""
        return shape_ops.expand_dims(self, axis)

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        """Dims ``start_dim`` to ``end_dim`` joined into one."""
        return shape_ops.flatten(self, start_dim, end_dim)

    def unflatten(self, dim: int, sizes: Sequence[int]) -> Tensor:
        """Dim ``dim`` split into ``sizes``."""
        return shape_ops.unflatten(self, dim, sizes)

    def broadcast_to(self, shape: Sequence[int]) -> Tensor:
        """Repeat along size-1 and new leading dims to ``shape``, as ``np.broadcast_to``."""
        return shape_ops.broadcast_to(self, shape)

    def expand(self, *sizes: Any) -> Tensor:
        """``broadcast_to`` where -1 keeps a dim's size."""
        return shape_ops.expand(self, *sizes)

    def __getitem__(self, index: Any) -> Tensor:
        return shape_ops.getitem(self, index)

    def __setitem__(self, index: Any, value: Any) -> None:
        """``t[index] = value``, in place: on a tensor that does not require grad, or on any
        inside ``no_grad()``, as in PyTorch. It counts as an in-place change (version check)."""
        if self._requires_grad and autograd._modes.flags & autograd.GRAD:
            raise RuntimeError(
                f"setitem: in-place assignment into a tensor that requires grad (shape {self.shape}); "
                "do it inside `with no_grad():`, or build the result with where/scatter/cat instead"
            )
        index = shape_ops._plain_index(index, "setitem")
        values = elementwise.operand(value, self._data.dtype, "setitem")
        try:
            with autograd.no_fp_warnings():
                self._data[index] = values
        except IndexError as err:
            raise IndexError(f"setitem: {err} (tensor of shape {self.shape})") from None
        except ValueError as err:
            if not self._data.flags.writeable:
                raise RuntimeError(
                    f"setitem: this tensor (shape {self.shape}) is a read-only broadcast view; clone() it first"
                ) from None
            raise ShapeError(
                f"setitem: cannot assign a value of shape {shape_of(values)} to index {index!r} of a "
                f"tensor of shape {self.shape} ({err})"
            ) from None
        autograd.note_change(self)

    # ---------------- unary math and activations (ops/unary.py, ops/activation.py)
    # elementwise maths (ops/unary.py); each is the function of the same name, mg.<name>.
    sin = _unary("sin")
    cos = _unary("cos")
    tan = _unary("tan")
    arcsin = _unary("arcsin")
    asin = _unary("asin")
    arccos = _unary("arccos")
    acos = _unary("acos")
    arctan = _unary("arctan")
    atan = _unary("atan")
    sinh = _unary("sinh")
    cosh = _unary("cosh")
    arcsinh = _unary("arcsinh")
    asinh = _unary("asinh")
    arccosh = _unary("arccosh")
    acosh = _unary("acosh")
    arctanh = _unary("arctanh")
    atanh = _unary("atanh")
    sinc = _unary("sinc")
    deg2rad = _unary("deg2rad")
    rad2deg = _unary("rad2deg")
    log1p = _unary("log1p")
    expm1 = _unary("expm1")
    log2 = _unary("log2")
    log10 = _unary("log10")
    exp2 = _unary("exp2")
    square = _unary("square")
    reciprocal = _unary("reciprocal")
    rsqrt = _unary("rsqrt")
    erf = _unary("erf")
    erfc = _unary("erfc")
    erfinv = _unary("erfinv")
    sign = _unary("sign")

    sgn = sign

    floor = _unary("floor")
    ceil = _unary("ceil")
    trunc = _unary("trunc")
    frac = _unary("frac")
    isnan = _unary("isnan")
    isinf = _unary("isinf")
    isfinite = _unary("isfinite")
    logaddexp = _binary("logaddexp")
    logaddexp2 = _binary("logaddexp2")
    fmod = _binary("fmod")
    remainder = _binary("remainder")
    floor_divide = _binary("floor_divide")
    copysign = _binary("copysign")
    hypot = _binary("hypot")
    atan2 = _binary("atan2")
    arctan2 = _binary("arctan2")
    xlogy = _binary("xlogy")

    def round(self, decimals: int = 0) -> Tensor:
        """``mg.round``: half to even, to ``decimals`` places; gradient 0."""
        return unary_ops.round(self, decimals)

    def nan_to_num(self, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None) -> Tensor:
        """``mg.nan_to_num``: NaN and infinities replaced."""
        return unary_ops.nan_to_num(self, nan, posinf, neginf)

    def lerp(self, end: Any, weight: Any) -> Tensor:
        """``mg.lerp``: self + weight * (end - self)."""
        return unary_ops.lerp(self, end, weight)

    def isclose(self, other: Any, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> Tensor:
        """``mg.isclose``: where the two are close, a boolean tensor."""
        return unary_ops.isclose(self, other, rtol, atol, equal_nan)

    def allclose(self, other: Any, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> bool:
        """``mg.allclose``: whether every element is close, a bool."""
        return unary_ops.allclose(self, other, rtol, atol, equal_nan)

    def equal(self, other: Any) -> bool:
        """``mg.equal``: the same shape and values, a bool."""
        return unary_ops.equal(self, other)

    # PyTorch's remainder (the sign of the divisor) is Python's % and NumPy's mod.
    def __mod__(self, other: Any) -> Tensor:
        return unary_ops.remainder(self, other)

    def __rmod__(self, other: Any) -> Tensor:
        return unary_ops.remainder(other, self)

    def __floordiv__(self, other: Any) -> Tensor:
        return unary_ops.floor_divide(self, other)

    def __rfloordiv__(self, other: Any) -> Tensor:
        return unary_ops.floor_divide(other, self)

    # ---------------- reductions, scans and ordering (ops/reduce.py, ops/scan.py, ops/sort.py)
    def sum(
        self, dim: Any = None, keepdim: bool | None = None, *, axis: Any = None, keepdims: bool | None = None
    ) -> Tensor:
        """Sum over ``dim`` (all dims when None)."""
        return reduce.sum(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def mean(
        self, dim: Any = None, keepdim: bool | None = None, *, axis: Any = None, keepdims: bool | None = None
    ) -> Tensor:
        """Mean over ``dim`` (all dims when None)."""
        return reduce.mean(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def prod(
        self, dim: Any = None, keepdim: bool | None = None, *, axis: Any = None, keepdims: bool | None = None
    ) -> Tensor:
        """Product over ``dim`` (all dims when None)."""
        return reduce.prod(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def max(
        self, dim: Any = None, keepdim: bool | None = None, *, axis: Any = None, keepdims: bool | None = None
    ) -> Any:
        """The maximum; with ``dim``, a named tuple ``(values, indices)``."""
        return reduce.max(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def min(
        self, dim: Any = None, keepdim: bool | None = None, *, axis: Any = None, keepdims: bool | None = None
    ) -> Any:
        """The minimum; with ``dim``, a named tuple ``(values, indices)``."""
        return reduce.min(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def amax(
        self, dim: Any = None, keepdim: bool | None = None, *, axis: Any = None, keepdims: bool | None = None
    ) -> Tensor:
        """Maximum over ``dim``; tied entries share the gradient evenly."""
        return reduce.amax(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def amin(
        self, dim: Any = None, keepdim: bool | None = None, *, axis: Any = None, keepdims: bool | None = None
    ) -> Tensor:
        """Minimum over ``dim``; tied entries share the gradient evenly."""
        return reduce.amin(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def var(self, dim: Any = None, unbiased: bool | None = None, keepdim: bool | None = None, **kwargs: Any) -> Tensor:
        """Variance over ``dim`` (``correction=1`` by default, as PyTorch; ``ddof=0`` NumPy's)."""
        return reduce.var(self, dim, unbiased, keepdim, **kwargs)

    def std(self, dim: Any = None, unbiased: bool | None = None, keepdim: bool | None = None, **kwargs: Any) -> Tensor:
        """Standard deviation over ``dim`` (``correction=1`` by default)."""
        return reduce.std(self, dim, unbiased, keepdim, **kwargs)

    def logsumexp(
        self, dim: Any = None, keepdim: bool | None = None, *, axis: Any = None, keepdims: bool | None = None
    ) -> Tensor:
        """log(sum(exp(x))) over ``dim``, stable for large inputs."""
        return reduce.logsumexp(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def argmax(
        self,
        dim: int | None = None,
        keepdim: bool | None = None,
        *,
        axis: int | None = None,
        keepdims: bool | None = None,
    ) -> Tensor:
        """Index of the maximum (int64, not differentiable)."""
        return reduce.argmax(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def argmin(
        self,
        dim: int | None = None,
        keepdim: bool | None = None,
        *,
        axis: int | None = None,
        keepdims: bool | None = None,
    ) -> Tensor:
        """Index of the minimum (int64, not differentiable)."""
        return reduce.argmin(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def all(
        self, dim: Any = None, keepdim: bool | None = None, *, axis: Any = None, keepdims: bool | None = None
    ) -> Tensor:
        """Whether every element (over ``dim``) is non-zero."""
        return reduce.all(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def any(
        self, dim: Any = None, keepdim: bool | None = None, *, axis: Any = None, keepdims: bool | None = None
    ) -> Tensor:
        """Whether some element (over ``dim``) is non-zero."""
        return reduce.any(self, dim, keepdim, axis=axis, keepdims=keepdims)

    def count_nonzero(self, dim: Any = None, *, axis: Any = None) -> Tensor:
        """How many elements (over ``dim``) are non-zero (int64)."""
        return reduce.count_nonzero(self, dim, axis=axis)

    def median(self, dim: int | None = None, keepdim: bool | None = None, **kwargs: Any) -> Any:
        """The lower middle value; with ``dim``, ``(values, indices)``."""
        return reduce.median(self, dim, keepdim, **kwargs)

    def quantile(self, q: Any, dim: int | None = None, keepdim: bool | None = None, **kwargs: Any) -> Tensor:
        """The ``q``-th quantiles over ``dim``, interpolating linearly."""
        return reduce.quantile(self, q, dim, keepdim, **kwargs)

    def nansum(self, dim: Any = None, keepdim: bool | None = None, **kwargs: Any) -> Tensor:
        """Sum treating NaN as 0."""
        return reduce.nansum(self, dim, keepdim, **kwargs)

    def nanmean(self, dim: Any = None, keepdim: bool | None = None, **kwargs: Any) -> Tensor:
        """Mean of the non-NaN elements."""
        return reduce.nanmean(self, dim, keepdim, **kwargs)

    def norm(self, p: Any = "fro", dim: Any = None, keepdim: bool = False) -> Tensor:
        """``torch.norm``: the 2-norm (``"fro"``) or the vector p-norm over ``dim``."""
        return reduce.norm(self, p, dim, keepdim)

    def cumsum(self, dim: int | None = None, *, axis: int | None = None) -> Tensor:
        """Running sum along ``dim``."""
        return scan.cumsum(self, dim, axis=axis)

    def cumprod(self, dim: int | None = None, *, axis: int | None = None) -> Tensor:
        """Running product along ``dim``."""
        return scan.cumprod(self, dim, axis=axis)

    def logcumsumexp(self, dim: int | None = None, *, axis: int | None = None) -> Tensor:
        """Running log(sum(exp(x))) along ``dim``."""
        return scan.logcumsumexp(self, dim, axis=axis)

    def cummax(self, dim: int | None = None, *, axis: int | None = None) -> Any:
        """Running maximum along ``dim``: ``(values, indices)``."""
        return scan.cummax(self, dim, axis=axis)

    def cummin(self, dim: int | None = None, *, axis: int | None = None) -> Any:
        """Running minimum along ``dim``: ``(values, indices)``."""
        return scan.cummin(self, dim, axis=axis)

    def sort(self, dim: int = -1, descending: bool = False, stable: bool = False) -> Any:
        """Sorted values along ``dim`` and their indices: ``(values, indices)``."""
        return sort_ops.sort(self, dim, descending, stable)

    def argsort(self, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
        """The indices that sort along ``dim`` (int64)."""
        return sort_ops.argsort(self, dim, descending, stable)

    def topk(self, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> Any:
        """The ``k`` largest (or smallest) entries along ``dim``: ``(values, indices)``."""
        return sort_ops.topk(self, k, dim, largest, sorted)

    def kthvalue(self, k: int, dim: int = -1, keepdim: bool = False) -> Any:
        """The ``k``-th smallest entry along ``dim``: ``(values, indices)``."""
        return sort_ops.kthvalue(self, k, dim, keepdim)

    # ---------------- shapes, joining and indexing (ops/shape.py, ops/indexing.py)
    def flip(self, *dims: Any) -> Tensor:
        """Reverse the order along ``dims`` (``flip(0, 1)`` or ``flip((0, 1))``)."""
        return shape_ops.flip(self, dims[0] if len(dims) == 1 else dims)

    def roll(self, shifts: Any, dims: Any = None) -> Tensor:
        """Shift elements along ``dims``, wrapping around (flattened when ``dims`` is None)."""
        return shape_ops.roll(self, shifts, dims)

    def tile(self, *dims: Any) -> Tensor:
        """Repeat the whole tensor ``dims[i]`` times along dim ``i``, as ``np.tile``."""
        return shape_ops.tile(self, shape_ops._shape_arg(dims, "tile"))

    def repeat(self, *sizes: Any) -> Tensor:
        """Tile, as ``torch.Tensor.repeat`` (NumPy's ``repeat`` is ``repeat_interleave``)."""
        reps = shape_ops._shape_arg(sizes, "repeat")
        if len(reps) < self.ndim:
            raise ShapeError(f"repeat: {len(reps)} sizes {reps} for a tensor of {self.ndim} dims (shape {self.shape})")
        return shape_ops.tile(self, reps)

    def repeat_interleave(self, repeats: Any, dim: int | None = None) -> Tensor:
        """Repeat each element ``repeats`` times along ``dim`` (NumPy's ``repeat``)."""
        return shape_ops.repeat_interleave(self, repeats, dim)

    def rot90(self, k: int = 1, dims: Sequence[int] = (0, 1)) -> Tensor:
        """Rotate by 90 degrees ``k`` times in the plane of ``dims``."""
        return shape_ops.rot90(self, k, dims)

    def diff(self, n: int = 1, dim: int = -1, prepend: Any = None, append: Any = None) -> Tensor:
        """The ``n``-th forward difference along ``dim``."""
        return shape_ops.diff(self, n, dim, prepend, append)

    def clone(self) -> Tensor:
        """A copy with its own memory (differentiable)."""
        return shape_ops.clone(self)

    def type_as(self, other: Tensor) -> Tensor:
        """This tensor in ``other``'s dtype."""
        if other.dtype.kind in _INTEGER_KINDS:
            return Tensor(self._data, dtype=other.dtype)
        return elementwise.astype(self, other.dtype)

    def long(self) -> Tensor:
        """This tensor's values as an int64 index tensor (truncated toward 0; not differentiable)."""
        return Tensor(self._data, dtype=np.int64)

    def chunk(self, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
        """At most ``chunks`` equal pieces along ``dim``, as ``torch.chunk``."""
        return shape_ops.chunk(self, chunks, dim)

    def split(self, split_size: Any, dim: int = 0) -> tuple[Tensor, ...]:
        """Pieces of ``split_size`` (an int, or a list of sizes) along ``dim``, as ``torch.split``."""
        return shape_ops.split(self, split_size, dim)

    def unbind(self, dim: int = 0) -> tuple[Tensor, ...]:
        """The slices along ``dim``, that dim removed."""
        return shape_ops.unbind(self, dim)

    def gather(self, dim: int, index: Any) -> Tensor:
        """Entries picked along ``dim`` by an integer index of this tensor's rank."""
        return indexing.gather(self, dim, index)

    def scatter(self, dim: int, index: Any, src: Any = None, *, value: Any = None) -> Tensor:
        """A copy with ``src`` (or ``value``) written at ``index`` along ``dim``."""
        return indexing.scatter(self, dim, index, src, value=value)

    def scatter_add(self, dim: int, index: Any, src: Any) -> Tensor:
        """A copy with ``src`` added at ``index`` along ``dim`` (repeats add up)."""
        return indexing.scatter_add(self, dim, index, src)

    def index_select(self, dim: int, index: Any) -> Tensor:
        """The entries at positions ``index`` (1-d) along ``dim``."""
        return indexing.index_select(self, dim, index)

    def masked_select(self, mask: Any) -> Tensor:
        """The 1-d tensor of entries where ``mask`` is true."""
        return indexing.masked_select(self, mask)

    def take_along_dim(self, indices: Any, dim: int | None = None) -> Tensor:
        """Entries picked by ``indices`` along ``dim`` (the flattened tensor without ``dim``)."""
        return indexing.take_along_dim(self, indices, dim)

    def where(self, condition: Any, other: Any) -> Tensor:
        """This tensor where ``condition`` is true, ``other`` elsewhere (``mg.where(condition,
        self, other)``, as ``torch.Tensor.where``)."""
        return elementwise.where(condition, self, other)

    def masked_fill(self, mask: Any, value: Any) -> Tensor:
        """``value`` where ``mask`` is true, this tensor elsewhere."""
        return indexing.masked_fill(self, mask, value)

    def nonzero(self, *, as_tuple: bool = False) -> Any:
        """The ``(n, ndim)`` int64 indices of the non-zero entries (a tuple per dim with ``as_tuple``)."""
        return indexing.nonzero(self, as_tuple=as_tuple)

    def clamp(self, min: Any = None, max: Any = None) -> Tensor:
        """Limit each element to [min, max] (numbers or tensors), as ``torch.clamp``."""
        return indexing.clamp(self, min, max)

    def clamp_min(self, min: Any) -> Tensor:
        """``clamp(min=min)``."""
        return indexing.clamp(self, min=min)

    def clamp_max(self, max: Any) -> Tensor:
        """``clamp(max=max)``."""
        return indexing.clamp(self, max=max)

    # ---------------- linear algebra, creation and random (ops/linalg.py, creation.py, ops/random.py)
    def outer(self, vec2: Any) -> Tensor:
        """The outer product with another 1-d tensor (``mg.outer``)."""
        return linalg.outer(self, vec2)

    def dot(self, other: Any) -> Tensor:
        """The dot product of two 1-d tensors (``mg.dot``)."""
        return linalg.dot(self, other)

    def inner(self, other: Any) -> Tensor:
        """Sum of products over the last axes (``mg.inner``)."""
        return linalg.inner(self, other)

    def matmul(self, other: Any) -> Tensor:
        """``self @ other`` (``mg.matmul``)."""
        return linalg.matmul(self, other)

    def cross(self, other: Any, dim: int | None = None) -> Tensor:
        """The cross product of 3-vectors along ``dim`` (``mg.cross``)."""
        return linalg.cross(self, other, dim)

    def kron(self, other: Any) -> Tensor:
        """The Kronecker product (``mg.kron``)."""
        return linalg.kron(self, other)

    def tril(self, diagonal: int = 0) -> Tensor:
        """The lower triangle; the rest 0 (``mg.tril``)."""
        return linalg.tril(self, diagonal)

    def triu(self, diagonal: int = 0) -> Tensor:
        """The upper triangle; the rest 0 (``mg.triu``)."""
        return linalg.triu(self, diagonal)

    def diagonal(self, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
        """A diagonal of the matrices in ``dim1``, ``dim2``, as the last axis (``mg.diagonal``)."""
        return linalg.diagonal(self, offset, dim1, dim2)

    def diag(self, diagonal: int = 0) -> Tensor:
        """Vector to diagonal matrix, or matrix to its diagonal (``mg.diag``)."""
        return linalg.diag(self, diagonal)

    def diag_embed(self, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
        """The last axis put on the diagonal of new matrices (``mg.diag_embed``)."""
        return linalg.diag_embed(self, offset, dim1, dim2)

    def trace(self) -> Tensor:
        """The sum of the main diagonal of a matrix (``mg.trace``)."""
        return linalg.trace(self)

    def inverse(self) -> Tensor:
        """The matrix inverse (``mg.linalg.inv``)."""
        return linalg.inv(self)

    def det(self) -> Tensor:
        """The determinant (``mg.linalg.det``)."""
        return linalg.det(self)

    def slogdet(self) -> Any:
        """``(sign, logabsdet)`` of the determinant (``mg.linalg.slogdet``)."""
        return linalg.slogdet(self)

    def cholesky(self, upper: bool = False) -> Tensor:
        """The Cholesky factor (``mg.linalg.cholesky``)."""
        return linalg.cholesky(self, upper=upper)

    def multinomial(self, num_samples: int, replacement: bool = False, *, generator: Any = None) -> Tensor:
        """int64 category indices drawn from the rows of these weights (``mg.multinomial``)."""
        return random_ops.multinomial(self, num_samples, replacement, generator=generator)

    def bernoulli(self, p: float | None = None, *, generator: Any = None) -> Tensor:
        """0/1 samples, 1 with probability each element (``mg.bernoulli``)."""
        return random_ops.bernoulli(self, p, generator=generator)


# The op modules build on Tensor, so they are imported once the class exists.
from . import autograd  # noqa: E402
from .ops import (  # noqa: E402
    elementwise,
    indexing,  # noqa: E402
    linalg,
    reduce,
    scan,  # noqa: E402
    softmax,
)
from .ops import random as random_ops  # noqa: E402
from .ops import shape as shape_ops  # noqa: E402
from .ops import sort as sort_ops  # noqa: E402
from .ops import unary as unary_ops  # noqa: E402
