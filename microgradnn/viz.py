"""Pictures: ``to_dot(tensor)`` gives the graph as Graphviz DOT text (no Graphviz needed), and
``save_loss_curve`` draws a loss curve (with matplotlib, the ``plot`` extra).

One box per operation (its name and output shape) and one ellipse per leaf tensor (its shape,
and whether it requires grad); constants that are not tensors (Python numbers, arrays) get a
small note. Render with ``dot -Tpng graph.dot -o graph.png`` where Graphviz is installed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from .errors import shape_of
from .io import atomic_write
from .tensor import Tensor

__all__ = ["to_dot", "save_loss_curve", "require_matplotlib"]


def _shape_text(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(str(n) for n in shape) + ("," if len(shape) == 1 else "") + ")"


def to_dot(tensor: Tensor, name: str = "microgradnn") -> str:
    """The graph that produced ``tensor`` as DOT text (walked iteratively, each node once).

    >>> import microgradnn as mg
    >>> w = mg.Tensor([[1.0], [2.0]], requires_grad=True)
    >>> print(mg.viz.to_dot((mg.ones((3, 2)) @ w).sum()))
    digraph microgradnn {
      rankdir=LR;
      node [fontname="Helvetica"];
      n0 [label="sum\\n()", shape=box];
      n1 [label="matmul\\n(3, 1)", shape=box];
      n1 -> n0;
      n2 [label="leaf (3, 2)", shape=ellipse];
      n2 -> n1;
      n3 [label="leaf (2, 1)\\nrequires_grad", shape=ellipse, style=filled, fillcolor=lightblue];
      n3 -> n1;
    }
    """
    if not name.isidentifier() or name.lower() in ("graph", "digraph", "node", "edge", "subgraph", "strict"):
        raise ValueError(f"to_dot: {name!r} is not a usable DOT graph name")
    if not isinstance(tensor, Tensor):
        raise TypeError(f"to_dot: expected a Tensor, got {type(tensor).__name__}")
    ids: dict[int, str] = {}
    lines = [f"digraph {name} {{", "  rankdir=LR;", '  node [fontname="Helvetica"];']
    stack: list[tuple[object, str | None]] = [(tensor, None)]
    while stack:
        item, consumer = stack.pop()
        key = id(item)
        new = key not in ids
        if new:
            ids[key] = f"n{len(ids)}"
            lines.append(f"  {ids[key]} [{_attributes(item)}];")
        if consumer is not None:
            lines.append(f"  {ids[key]} -> {consumer};")
        if new and isinstance(item, Tensor) and item.grad_fn is not None:
            inputs = item.grad_fn.inputs
            stack.extend((inp, ids[key]) for inp in reversed(inputs))
    lines.append("}")
    return "\n".join(lines)


def _quote(text: str) -> str:
    """``text`` as a DOT string that shows it as it is: backslashes and double quotes escaped,
    line breaks as DOT's ``\\n`` and other control characters as spaces. So no text (a custom
    op's name, say) can end the string and write DOT of its own."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    escaped = escaped.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\\n")
    return '"' + "".join(c if c >= " " else " " for c in escaped) + '"'


def _attributes(item: object) -> str:
    if isinstance(item, Tensor):
        shape = _shape_text(item.shape)
        if item.grad_fn is not None:
            label = _quote(item.grad_fn.name + "\n" + shape)
            return f"label={label}, shape=box"
        if item.requires_grad:
            label = _quote(f"leaf {shape}\nrequires_grad")
            return f"label={label}, shape=ellipse, style=filled, fillcolor=lightblue"
        label = _quote(f"leaf {shape}")
        return f"label={label}, shape=ellipse"
    label = _quote(f"constant {_shape_text(shape_of(item))}")
    return f"label={label}, shape=note"


def require_matplotlib() -> Any:
    """matplotlib's ``Figure`` class, or an ImportError that says how to install it.

    >>> import microgradnn as mg
    >>> try:
    ...     figure_class = mg.viz.require_matplotlib()
    ... except ImportError:
    ...     figure_class = None  # not installed: the error says how to install it
    >>> figure_class is None or figure_class.__name__ == "Figure"
    True
    """
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError("plotting needs matplotlib: pip install 'microgradnn[plot]'") from None
    return Figure


def save_loss_curve(
    losses: Sequence[float] | Mapping[str, Sequence[float]],
    path: str | os.PathLike[str],
    title: str = "training loss",
    xlabel: str = "step",
) -> None:
    """Save a PNG of losses against steps (log scale when all are positive), atomically.

    ``losses`` is one sequence, or a mapping of names to sequences for several curves with a
    legend. Needs matplotlib (the ``plot`` extra); it draws on its own figure, so it never
    changes the pyplot backend or figures of the caller.

    >>> import os, tempfile, microgradnn as mg
    >>> path = os.path.join(tempfile.mkdtemp(), "loss.png")
    >>> try:
    ...     mg.viz.save_loss_curve({"sgd": [1.0, 0.5], "adam": [1.0, 0.2]}, path)
    ...     ok = open(path, "rb").read(4) == b"\\x89PNG"
    ... except ImportError:
    ...     ok = True  # matplotlib is not installed here
    >>> ok
    True
    """
    curves = dict(losses) if isinstance(losses, Mapping) else {"": losses}
    figure = require_matplotlib()(figsize=(6, 4))
    axes = figure.subplots()
    for name, values in curves.items():
        axes.plot(range(1, len(values) + 1), list(values), label=name or None)
    axes.set(xlabel=xlabel, ylabel="loss", title=title)
    if all(len(v) and min(v) > 0 for v in curves.values()):
        axes.set_yscale("log")
    if len(curves) > 1:
        axes.legend(fontsize="small")
    figure.tight_layout()
    with atomic_write(path) as f:
        figure.savefig(f, format="png", dpi=100)
