"""Module, Parameter, Sequential and ModuleList: the containers models are built from."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, NamedTuple

import numpy as np

from ..tensor import DTypeLike, Tensor, as_float_array

__all__ = ["Parameter", "Module", "Sequential", "ModuleList", "IncompatibleKeys"]


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

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    # -------------------------------------------------------------- registration
    def __setattr__(self, name: str, value: Any) -> None:
        params, modules = self.__dict__.get("_parameters"), self.__dict__.get("_modules")
        if params is None or modules is None:
            raise AttributeError(
                f"{type(self).__name__}: call super().__init__() before assigning attributes such as {name!r}"
            )
        params.pop(name, None)
        modules.pop(name, None)
        if isinstance(value, Parameter):
            params[name] = value
        elif isinstance(value, Module):
            modules[name] = value
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        object.__delattr__(self, name)

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
        setattr(self, name, module)
        if module is None:
            self._modules[name] = None

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
        """Convert every parameter (and its gradient) to a floating ``dtype``, in place."""
        target = as_float_array(np.empty(0), dtype, "Module.to").dtype
        for param in self.parameters():
            if param.dtype != target:
                param.data = param.data.astype(target)
                if param.grad is not None:
                    param.grad = param.grad.astype(target)
        return self

    def float(self) -> Module:
        """Every parameter to float32."""
        return self.to(np.float32)

    def double(self) -> Module:
        """Every parameter to float64."""
        return self.to(np.float64)

    # -------------------------------------------------------------- state
    def state_dict(self) -> OrderedDict[str, np.ndarray]:
        """Dotted name -> a copy of each parameter's array (PyTorch shares storage; a copy
        cannot change behind your back)."""
        return OrderedDict((name, param.data.copy()) for name, param in self.named_parameters())

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
        own = dict(self.named_parameters())
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        problems = []
        values = {}
        for name, param in own.items():
            if name not in state_dict:
                continue
            value = state_dict[name]
            try:
                array = as_float_array(
                    value.data if isinstance(value, Tensor) else value, param.dtype, "load_state_dict"
                )
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
            own[name].data = np.array(array, copy=True)
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
