"""Write docs/api.md from the docstrings: ``python docs/generate_api.py``.

The reference is generated, never edited by hand; ``tests/test_docs.py`` fails when the
committed file differs from what this script writes, so it cannot fall behind the code.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from pathlib import Path

MODULES = [
    "microgradnn",
    "microgradnn.nn",
    "microgradnn.nn.functional",
    "microgradnn.nn.init",
    "microgradnn.nn.utils",
    "microgradnn.optim",
    "microgradnn.optim.lr_scheduler",
    "microgradnn.gradcheck",
    "microgradnn.testing",
    "microgradnn.data",
    "microgradnn.viz",
    "microgradnn.io",
]
OUTPUT = Path(__file__).resolve().parent / "api.md"


def summary(obj: object) -> str:
    """The first paragraph of a docstring, on one line."""
    doc = inspect.getdoc(obj) or ""
    return " ".join(doc.split("\n\n")[0].split())


# Public names kept out of `from microgradnn import *` because they shadow builtins.
SHADOWING = {"microgradnn": ["abs", "max", "min", "pow", "sum"]}


def signature(name: str, obj: object) -> str:
    """``name(a, b: int = 1) -> T``, with annotations as written in the source."""
    try:
        sig = inspect.signature(obj)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return name
    parts = []
    for param in sig.parameters.values():
        if param.name == "self":
            continue
        if param.kind is param.KEYWORD_ONLY and not any(p.startswith("*") for p in parts):
            parts.append("*")
        text = param.name
        if param.kind is param.VAR_POSITIONAL:
            text = "*" + text
        elif param.kind is param.VAR_KEYWORD:
            text = "**" + text
        if param.annotation is not param.empty:
            text += f": {param.annotation}"
        if param.default is not param.empty:
            text += f" = {param.default!r}" if param.annotation is not param.empty else f"={param.default!r}"
        parts.append(text)
    result = f"{name}({', '.join(parts)})"
    if sig.return_annotation is not sig.empty and sig.return_annotation != "None":
        result += f" -> {sig.return_annotation}"
    return result


def members(cls: type) -> list[str]:
    """One line per public method or property defined on the class itself."""
    lines = []
    for name, value in vars(cls).items():
        if name.startswith("_") and name not in ("__init__",):
            continue
        if name == "__init__":
            continue
        if isinstance(value, property):
            lines.append(f"- `.{name}`: {summary(value)}")
        elif isinstance(value, (staticmethod, classmethod)):
            lines.append(f"- `{signature(name, value.__func__)}`: {summary(value.__func__)}")
        elif inspect.isfunction(value):
            lines.append(f"- `.{signature(name, value)}`: {summary(value)}")
    return lines


def generate() -> str:
    """The whole reference, as Markdown."""
    out = [
        "# API reference",
        "",
        "Generated from the docstrings by `python docs/generate_api.py`; do not edit by hand.",
        "Each entry gives the signature and the first paragraph of its docstring; the docstrings",
        "themselves hold a runnable example.",
    ]
    seen: set[int] = set()
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        out += ["", f"## `{module_name}`", "", summary(module)]
        for name in list(module.__all__) + SHADOWING.get(module_name, []):
            obj = getattr(module, name)
            if inspect.ismodule(obj):
                continue
            if id(obj) in seen:
                out += ["", f"- `{name}`: see above."]
                continue
            seen.add(id(obj))
            if inspect.isclass(obj):
                out += ["", f"### class `{signature(name, obj)}`", "", summary(obj)]
                methods = members(obj)
                if methods:
                    out += [""] + methods
            elif callable(obj):
                out += ["", f"### `{signature(name, obj)}`", "", summary(obj)]
            else:
                out += ["", f"### `{name}` = `{obj!r}`"]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    sys.path.insert(0, str(OUTPUT.parent.parent))
    OUTPUT.write_text(generate(), encoding="utf-8")
    print(f"wrote {OUTPUT}")
