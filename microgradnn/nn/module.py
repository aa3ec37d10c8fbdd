"""Module, Parameter, buffers and the containers models are built from (Sequential,
ModuleList, ModuleDict, ParameterList, ParameterDict)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, NamedTuple

import numpy as np

from ..tensor import DTypeLike, Tensor, as_float_array

__all__ = [
    "Parameter",
    "Module",
    "Sequential",
    "ModuleList",
    "ModuleDict",
    "ParameterList",
    "ParameterDict",
    "IncompatibleKeys",
]


class Parameter(Tensor):
    """A Tensor that a Module registers as one of its parameters: it requires grad, and it
    always owns a copy of its data.

    >>> import microgradnn as mg
    >>> w = mg.nn.Parameter([[1.0], [2.0]])
    >>> w.requires_grad, w.shape
    (True, (2, 1))
    """

    __slots__ = ()

    def __init__(self, data: Any, requires_grad: bool = True, dtype: DTypeLike = None) -> None:
        super().__init__(np.array(as_float_array(data, dtype, "Parameter"), copy=True), requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class IncompatibleKeys(NamedTuple):
    """What ``load_state_dict(strict=False)`` did not match: the model's parameters the state
    dict lacks, and the state dict's names the model lacks. (With ``strict=True``, the
    default, either one raises RuntimeError instead, as a shape mismatch always does.)

    >>> import microgradnn as mg
    >>> mg.nn.Dense(2, 1).load_state_dict({}, strict=False)
    IncompatibleKeys(missing_keys=['weight', 'bias'], unexpected_keys=[])
    """

    missing_keys: list[str]
    unexpected_keys: list[str]


class Module:
    """Base class of every layer and model: subclass it, set layers and Parameters as
    attributes in ``__init__`` (after ``super().__init__()``), and define ``forward``.

    >>> import microgradnn as mg
    >>> class TwoLayer(mg.nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.hidden = mg.nn.Dense(3, 4, rng=np.random.default_rng(0))
    ...         self.out = mg.nn.Dense(4, 1, rng=np.random.default_rng(1))
    ...     def forward(self, x):
    ...         return self.out(self.hidden(x).sigmoid()).sigmoid()
    >>> import numpy as np
    >>> model = TwoLayer()
    >>> [name for name, _ in model.named_parameters()]
    ['hidden.weight', 'hidden.bias', 'out.weight', 'out.bias']
    >>> model(mg.ones((2, 3))).shape
    (2, 1)
    """

    training: bool
    _parameters: dict[str, Parameter | None]
    _modules: dict[str, Module | None]
    _buffers: dict[str, np.ndarray | None]
    _non_persistent: set[str]

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "training", True)

    # -------------------------------------------------------------- registration
    def __setattr__(self, name: str, value: Any) -> None:
        params, modules = self.__dict__.get("_parameters"), self.__dict__.get("_modules")
        buffers = self.__dict__.get("_buffers")
        if params is None or modules is None or buffers is None:
            raise AttributeError(
                f"{type(self).__name__}: call super().__init__() before assigning attributes such as {name!r}"
            )
        if name in buffers and not isinstance(value, (Parameter, Module)):
            # Assigning to a buffer's name replaces the buffer (as PyTorch): running
            # statistics are updated this way.
            buffers[name] = None if value is None else _buffer_array(value, name, type(self).__name__)
            object.__setattr__(self, name, buffers[name])
            return
        # Reassigning a name keeps its place in the registration order (as PyTorch).
        if not isinstance(value, Parameter):
            params.pop(name, None)
        if not isinstance(value, Module):
            modules.pop(name, None)
        buffers.pop(name, None)
        self._non_persistent.discard(name)
        if isinstance(value, Parameter):
            params[name] = value
        elif isinstance(value, Module):
            modules[name] = value
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        self._buffers.pop(name, None)
        self._non_persistent.discard(name)
        object.__delattr__(self, name)

    def register_buffer(self, name: str, tensor: Any, persistent: bool = True) -> None:
        """Register an array that is state but not a parameter (BatchNorm's running mean):
        it is saved in ``state_dict`` (unless ``persistent=False``), converted by ``.to(dtype)``
        when floating, and never given to an optimizer. Read and assign it as an attribute.

        >>> import microgradnn as mg, numpy as np
        >>> m = mg.nn.Module()
        >>> m.register_buffer("count", np.array(0))
        >>> m.count += 1
        >>> dict(m.state_dict())
        {'count': array(1)}
        """
        if not isinstance(name, str) or not name or "." in name:
            raise KeyError(f"register_buffer: the name must be a non-empty string without '.', got {name!r}")
        if name in self._parameters or name in self._modules:
            raise KeyError(f"register_buffer: {name!r} is already a parameter or submodule of {type(self).__name__}")
        array = None if tensor is None else _buffer_array(tensor, name, type(self).__name__)
        self._buffers[name] = array
        if persistent:
            self._non_persistent.discard(name)
        else:
            self._non_persistent.add(name)
        object.__setattr__(self, name, array)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register ``param`` under ``name`` (None keeps the name with no parameter)."""
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: {name!r} must be a Parameter or None, not {type(param).__name__}")
        setattr(self, name, param)
        if param is None:
            self._parameters[name] = None

    def add_module(self, name: str, module: Module | None) -> None:
        """Register a submodule under ``name``."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: {name!r} must be a Module, not {type(module).__name__}")
        if not isinstance(name, str) or not name or "." in name:
            raise KeyError(f"add_module: the name must be a non-empty string without '.', got {name!r}")
        setattr(self, name, module)
        if module is None:
            self._modules[name] = None

    def register_module(self, name: str, module: Module | None) -> None:
        """``add_module``, by its other PyTorch name."""
        self.add_module(name, module)

    def get_submodule(self, target: str) -> Module:
        """The submodule at a dotted path (``"encoder.layers.0"``); ``""`` is this module.

        >>> import microgradnn as mg
        >>> mg.nn.Sequential(mg.nn.Sequential(mg.nn.Tanh())).get_submodule("0.0")
        Tanh()
        """
        module: Module = self
        walked: list[str] = []
        for part in target.split(".") if target else []:
            child = module._modules.get(part)
            if child is None:
                where = ".".join(walked) or type(self).__name__
                raise AttributeError(f"get_submodule: {where} has no submodule {part!r} (looking for {target!r})")
            module = child
            walked.append(part)
        return module

    # -------------------------------------------------------------- running
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """The computation; every subclass defines it."""
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    def train(self, mode: bool = True) -> Module:
        """Set training mode (Dropout active) on this module and every submodule."""
        for module in self.modules():
            object.__setattr__(module, "training", bool(mode))
        return self

    def eval(self) -> Module:
        """Set evaluation mode (Dropout off): ``train(False)``."""
        return self.train(False)

    # -------------------------------------------------------------- walking
    def named_children(self) -> Iterator[tuple[str, Module]]:
        """(name, module) for each direct submodule."""
        for name, module in self._modules.items():
            if module is not None:
                yield name, module

    def children(self) -> Iterator[Module]:
        """Each direct submodule."""
        for _, module in self.named_children():
            yield module

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """(dotted name, module) for this module and all below it, each once."""
        seen: set[int] = set()
        stack = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            yield name, module
            stack.extend(
                (f"{name}.{child_name}" if name else child_name, child)
                for child_name, child in reversed(list(module.named_children()))
            )

    def modules(self) -> Iterator[Module]:
        """This module and all below it."""
        for _, module in self.named_modules():
            yield module

    def named_parameters(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, parameter) for each parameter, each once (shared ones too)."""
        seen: set[int] = set()
        modules = self.named_modules(prefix) if recurse else iter([(prefix, self)])
        for module_name, module in modules:
            for name, param in module._parameters.items():
                if param is None or id(param) in seen:
                    continue
                seen.add(id(param))
                yield (f"{module_name}.{name}" if module_name else name), param

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """Each parameter once, in registration order: what an optimizer takes."""
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, np.ndarray]]:
        """(dotted name, array) for each buffer (persistent or not), each once."""
        seen: set[int] = set()
        modules = self.named_modules(prefix) if recurse else iter([(prefix, self)])
        for module_name, module in modules:
            for name, buffer in module._buffers.items():
                if buffer is None or id(buffer) in seen:
                    continue
                seen.add(id(buffer))
                yield (f"{module_name}.{name}" if module_name else name), buffer

    def buffers(self, recurse: bool = True) -> Iterator[np.ndarray]:
        """Each buffer once, in registration order."""
        for _, buffer in self.named_buffers(recurse=recurse):
            yield buffer

    def zero_grad(self) -> None:
        """Set every parameter's ``.grad`` to None (PyTorch 2's default)."""
        for param in self.parameters():
            param.grad = None

    def apply(self, fn: Callable[[Module], Any]) -> Module:
        """Call ``fn`` on every submodule, then on this module (as PyTorch: for initialising).

        >>> import microgradnn as mg
        >>> def init(m):
        ...     if isinstance(m, mg.nn.Dense):
        ...         mg.nn.init.zeros_(m.weight)
        >>> model = mg.nn.MLP(3, 4, 1).apply(init)
        >>> float(abs(model[0].weight.data).sum())
        0.0
        """
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Turn gradients of every parameter on or off (``False`` freezes the module).

        >>> import microgradnn as mg
        >>> layer = mg.nn.Dense(2, 2).requires_grad_(False)
        >>> [p.requires_grad for p in layer.parameters()]
        [False, False]
        """
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    # -------------------------------------------------------------- precision
    def to(self, dtype: DTypeLike) -> Module:
        """Convert every parameter (and its gradient) and every floating buffer to a floating
        ``dtype``, in place; integer buffers (``num_batches_tracked``) keep theirs."""
        target = as_float_array(np.empty(0), dtype, "Module.to").dtype
        for param in self.parameters():
            if param.dtype != target:
                param.data = param.data.astype(target)
                if param.grad is not None:
                    param.grad = param.grad.astype(target)
        for module in self.modules():
            for name, buffer in list(module._buffers.items()):
                if buffer is not None and buffer.dtype.kind == "f" and buffer.dtype != target:
                    setattr(module, name, buffer.astype(target))
        return self

    def float(self) -> Module:
        """Every parameter and floating buffer to float32."""
        return self.to(np.float32)

    def double(self) -> Module:
        """Every parameter and floating buffer to float64."""
        return self.to(np.float64)

    # -------------------------------------------------------------- state
    def _state_entries(self) -> Iterator[tuple[str, Module, str, Any]]:
        # (dotted name, owning module, attribute, value) for each parameter, then each
        # persistent buffer, of each module in turn: PyTorch's state_dict order.
        seen: set[int] = set()
        for module_name, module in self.named_modules():
            prefix = f"{module_name}." if module_name else ""
            for name, param in module._parameters.items():
                if param is not None and id(param) not in seen:
                    seen.add(id(param))
                    yield prefix + name, module, name, param
            for name, buffer in module._buffers.items():
                if buffer is not None and name not in module._non_persistent:
                    yield prefix + name, module, name, buffer

    def state_dict(self) -> OrderedDict[str, np.ndarray]:
        """Dotted name -> a copy of each parameter's array and each persistent buffer
        (PyTorch shares storage; a copy cannot change behind your back)."""
        return OrderedDict(
            (name, value.data.copy() if isinstance(value, Tensor) else value.copy())
            for name, _, _, value in self._state_entries()
        )

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True) -> IncompatibleKeys:
        """Copy arrays into the parameters, each cast to its parameter's dtype.

        Checks everything first: with ``strict=True``, missing or unexpected keys raise, and a
        shape mismatch always raises, a RuntimeError listing every problem on its own line (as
        PyTorch's does); on an error nothing changes. Anything but a mapping of names to arrays
        (a list, a Tensor, a file name) raises TypeError.

        >>> import microgradnn as mg
        >>> mg.nn.Dense(2, 1).load_state_dict({"weight": [[1.0, 2.0]], "scale": 3.0})
        Traceback (most recent call last):
        ...
        RuntimeError: Error(s) in loading state_dict for Dense (nothing was changed):
          weight: shape (1, 2) in the state dict, (2, 1) in the model
          missing key: bias
          unexpected key: scale
        """
        if not isinstance(state_dict, Mapping):
            is_path = isinstance(state_dict, (str, bytes)) or hasattr(state_dict, "__fspath__")
            hint = " (to read a file, pass mg.load(path))" if is_path else ""
            raise TypeError(
                f"load_state_dict expects a mapping of parameter names to arrays, such as model.state_dict(), "
                f"not {type(state_dict).__name__}{hint}"
            )
        entries = {name: (module, attr, value) for name, module, attr, value in self._state_entries()}
        own = {name: value for name, (_, _, value) in entries.items()}
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        problems = []
        values = {}
        for name, param in own.items():
            if name not in state_dict:
                continue
            value = state_dict[name]
            try:
                given = value.data if isinstance(value, Tensor) else value
                if isinstance(param, Tensor):
                    array = as_float_array(given, param.dtype, "load_state_dict")
                else:
                    array = _buffer_array(given, name, "load_state_dict").astype(param.dtype, copy=False)
            except TypeError as err:
                problems.append(f"{name}: {err}")
                continue
            if array.shape != param.shape:
                problems.append(f"{name}: shape {array.shape} in the state dict, {param.shape} in the model")
            values[name] = array
        if strict:
            problems += [f"missing key: {k}" for k in missing] + [f"unexpected key: {k}" for k in unexpected]
        if problems:
            # RuntimeError, as PyTorch: a KeyError would print its message as a quoted repr,
            # newlines escaped.
            raise RuntimeError(
                f"Error(s) in loading state_dict for {type(self).__name__} (nothing was changed):\n  "
                + "\n  ".join(problems)
            )
        for name, array in values.items():
            module, attr, param = entries[name]
            if isinstance(param, Tensor):
                param.data = np.array(array, copy=True)
            else:
                setattr(module, attr, np.array(array, copy=True))
        return IncompatibleKeys(missing, unexpected)

    # -------------------------------------------------------------- repr
    def extra_repr(self) -> str:
        """The text inside this module's parentheses in its repr (its settings)."""
        return ""

    def __repr__(self) -> str:
        children = [f"({name}): " + repr(module).replace("\n", "\n  ") for name, module in self.named_children()]
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not children:
            return head + ")"
        return head + "\n  " + "\n  ".join(children) + "\n)"


def _buffer_array(value: Any, name: str, owner: str) -> np.ndarray:
    """A buffer's value as an ndarray of numbers or booleans (a Tensor gives its data)."""
    array = np.asarray(value._data if isinstance(value, Tensor) else value)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{owner}: buffer {name!r} must hold numbers, not {array.dtype}")
    return array


class ModuleList(Module):
    """A list of modules whose parameters are registered (a plain list's are not).

    >>> import microgradnn as mg
    >>> layers = mg.nn.ModuleList([mg.nn.Dense(2, 2), mg.nn.Dense(2, 1)])
    >>> len(list(layers.parameters()))
    4
    """

    def __init__(self, modules: Iterable[Module] = ()) -> None:
        super().__init__()
        self.extend(modules)

    def append(self, module: Module) -> ModuleList:
        """Add a module at the end (named by its position: "0", "1", ...)."""
        if not isinstance(module, Module):
            raise TypeError(f"{type(self).__name__}: item {len(self)} is {type(module).__name__}, not a Module")
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        """Add several modules at the end."""
        for module in modules:
            self.append(module)
        return self

    def _list(self) -> list[Module]:
        # The modules in order (a list holds no None entries, which add_module allows).
        return [m for m in self._modules.values() if m is not None]

    def __getitem__(self, index: int) -> Module:
        return self._list()[index]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._list())

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """A ModuleList holds modules; it does not run them."""
        raise NotImplementedError("ModuleList has no forward: iterate over it in your module's forward")


class Sequential(ModuleList):
    """Modules run in order, each on the previous one's output; children are named 0, 1, ...

    >>> import microgradnn as mg, numpy as np
    >>> model = mg.nn.Sequential(mg.nn.Dense(3, 2, rng=np.random.default_rng(0)), mg.nn.Sigmoid())
    >>> model
    Sequential(
      (0): Dense(in_features=3, out_features=2, bias=True)
      (1): Sigmoid()
    )
    """

    def __init__(self, *modules: Module) -> None:
        super().__init__(modules)

    def forward(self, x: Any) -> Any:
        """Run each module in turn."""
        for module in self._list():
            x = module(x)
        return x


class ModuleDict(Module):
    """A dict of modules whose parameters are registered, in insertion order.

    >>> import microgradnn as mg
    >>> heads = mg.nn.ModuleDict({"mean": mg.nn.Linear(2, 1), "scale": mg.nn.Linear(2, 1)})
    >>> list(heads), [name for name, _ in heads.named_parameters()][:2]
    (['mean', 'scale'], ['mean.weight', 'mean.bias'])
    """

    def __init__(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        module = self._modules[key]
        assert module is not None
        return module

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, module)

    def __delitem__(self, key: str) -> None:
        delattr(self, key)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._modules))

    def __contains__(self, key: object) -> bool:
        return key in self._modules

    def keys(self) -> list[str]:
        """The names, in order."""
        return list(self._modules)

    def values(self) -> list[Module]:
        """The modules, in order."""
        return [self[key] for key in self._modules]

    def items(self) -> list[tuple[str, Module]]:
        """(name, module) pairs, in order."""
        return [(key, self[key]) for key in self._modules]

    def pop(self, key: str) -> Module:
        """Remove ``key`` and return its module."""
        module = self[key]
        del self[key]
        return module

    def update(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]]) -> None:
        """Add (or replace) modules from a mapping or from (name, module) pairs."""
        pairs = modules.items() if isinstance(modules, Mapping) else modules
        for key, module in pairs:
            if not isinstance(module, Module):
                raise TypeError(f"ModuleDict: {key!r} is {type(module).__name__}, not a Module")
            self[key] = module

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """A ModuleDict holds modules; it does not run them."""
        raise NotImplementedError("ModuleDict has no forward: pick its modules in your module's forward")


def _as_parameter(value: Any, owner: str, key: object) -> Parameter:
    if isinstance(value, Parameter):
        return value
    if isinstance(value, Tensor):
        raise TypeError(f"{owner}: {key!r} is a Tensor; wrap it in nn.Parameter to register it")
    return Parameter(value)


class ParameterList(Module):
    """A list of Parameters registered as ``"0"``, ``"1"``, ... (arrays are wrapped as
    Parameters).

    >>> import microgradnn as mg, numpy as np
    >>> scales = mg.nn.ParameterList([np.ones(2), np.zeros(3)])
    >>> [name for name, _ in scales.named_parameters()], scales[1].shape
    (['0', '1'], (3,))
    """

    def __init__(self, values: Iterable[Any] = ()) -> None:
        super().__init__()
        self.extend(values)

    def append(self, value: Any) -> ParameterList:
        """Add a parameter at the end."""
        self.register_parameter(str(len(self)), _as_parameter(value, "ParameterList", len(self)))
        return self

    def extend(self, values: Iterable[Any]) -> ParameterList:
        """Add several parameters at the end."""
        for value in values:
            self.append(value)
        return self

    def __getitem__(self, index: int) -> Parameter:
        return list(self)[index]

    def __setitem__(self, index: int, value: Any) -> None:
        position = range(len(self))[index]
        self.register_parameter(str(position), _as_parameter(value, "ParameterList", position))

    def __len__(self) -> int:
        return len(self._parameters)

    def __iter__(self) -> Iterator[Parameter]:
        return iter([p for p in self._parameters.values() if p is not None])

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """A ParameterList holds parameters; it does not run."""
        raise NotImplementedError("ParameterList has no forward")


class ParameterDict(Module):
    """A dict of Parameters registered under their keys (arrays are wrapped as Parameters).

    >>> import microgradnn as mg, numpy as np
    >>> p = mg.nn.ParameterDict({"scale": np.ones(2)})
    >>> p["shift"] = np.zeros(2)
    >>> list(p), [name for name, _ in p.named_parameters()]
    (['scale', 'shift'], ['scale', 'shift'])
    """

    def __init__(self, parameters: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None) -> None:
        super().__init__()
        if parameters is not None:
            self.update(parameters)

    def __getitem__(self, key: str) -> Parameter:
        param = self._parameters[key]
        assert param is not None
        return param

    def __setitem__(self, key: str, value: Any) -> None:
        if not isinstance(key, str) or not key or "." in key:
            raise KeyError(f"ParameterDict: keys must be non-empty strings without '.', got {key!r}")
        self.register_parameter(key, _as_parameter(value, "ParameterDict", key))

    def __delitem__(self, key: str) -> None:
        delattr(self, key)

    def __len__(self) -> int:
        return len(self._parameters)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._parameters))

    def __contains__(self, key: object) -> bool:
        return key in self._parameters

    def keys(self) -> list[str]:
        """The names, in order."""
        return list(self._parameters)

    def values(self) -> list[Parameter]:
        """The parameters, in order."""
        return [self[key] for key in self._parameters]

    def items(self) -> list[tuple[str, Parameter]]:
        """(name, parameter) pairs, in order."""
        return [(key, self[key]) for key in self._parameters]

    def update(self, parameters: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> None:
        """Add (or replace) parameters from a mapping or from (name, value) pairs."""
        pairs = parameters.items() if isinstance(parameters, Mapping) else parameters
        for key, value in pairs:
            self[key] = value

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """A ParameterDict holds parameters; it does not run."""
        raise NotImplementedError("ParameterDict has no forward")
