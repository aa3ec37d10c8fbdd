"""to_dot: the graph behind a tensor as Graphviz DOT text, checked by parsing its structure."""

import re

import numpy as np
import pytest

import microgradnn as mg


def parse(dot):
    nodes = dict(re.findall(r'^  (n\d+) \[label="([^"]*)"', dot, re.M))
    edges = re.findall(r"^  (n\d+) -> (n\d+);$", dot, re.M)
    return nodes, edges


def test_each_op_and_leaf_is_one_node_and_each_input_one_edge():
    x = mg.Tensor(np.ones((4, 3)))
    w = mg.Tensor(np.ones((3, 2)), requires_grad=True)
    h = (x @ w).tanh()
    loss = (h * h).sum()  # h is used twice: one node, two edges
    dot = mg.viz.to_dot(loss)
    assert dot.startswith("digraph microgradnn {") and dot.endswith("}")
    nodes, edges = parse(dot)
    labels = sorted(nodes.values())
    assert labels == sorted(
        ["sum\\n()", "mul\\n(4, 2)", "tanh\\n(4, 2)", "matmul\\n(4, 2)", "leaf (4, 3)", "leaf (3, 2)\\nrequires_grad"]
    )
    by_label = {label: name for name, label in nodes.items()}
    assert edges.count((by_label["tanh\\n(4, 2)"], by_label["mul\\n(4, 2)"])) == 2
    assert len(edges) == 6  # sum<-mul, mul<-tanh twice, tanh<-matmul, matmul<-x, matmul<-w
    assert all(a in nodes and b in nodes for a, b in edges)


def test_constants_leaves_and_errors():
    x = mg.Tensor([1.0, 2.0], requires_grad=True)
    nodes, edges = parse(mg.viz.to_dot(2.0 * x + np.ones(2)))
    assert sorted(nodes.values()) == sorted(
        ["add\\n(2,)", "mul\\n(2,)", "constant ()", "constant (2,)", "leaf (2,)\\nrequires_grad"]
    )
    assert len(edges) == 4
    nodes, edges = parse(mg.viz.to_dot(x))
    assert list(nodes.values()) == ["leaf (2,)\\nrequires_grad"] and edges == []
    with pytest.raises(TypeError, match="to_dot: expected a Tensor"):
        mg.viz.to_dot(np.ones(2))
    with pytest.raises(ValueError, match="not a usable DOT graph name"):
        mg.viz.to_dot(x, name="graph")


def test_a_deep_graph_is_walked_without_recursion():
    x = mg.Tensor(1.0, requires_grad=True)
    y = x
    for _ in range(5000):
        y = y * 1.0
    nodes, edges = parse(mg.viz.to_dot(y))
    # 5000 muls, the leaf, and the one constant 1.0 that every mul shares
    assert len(nodes) == 5000 + 2 and len(edges) == 5000 * 2


def unquote(text):
    """A DOT string's text, undoing its escapes (\\" and \\\\; \\n is a line break)."""
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), text)


@pytest.mark.parametrize(
    "name",
    ['x"]; evil [label="', 'a\\"]; b -> c; d [label="\\', "two\nlines\r\nthree", "end\\", "tab\there", "}"],
)
def test_names_are_escaped_so_they_cannot_write_dot_of_their_own(name):
    class Custom(mg.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    Custom.name = name
    x = mg.Tensor([1.0, 2.0], requires_grad=True)
    dot = mg.viz.to_dot(Custom.apply(x).sum())
    string = r'"(?:[^"\\]|\\.)*"'
    statement = re.compile(rf"^  (n\d+ \[label=({string})(, [a-z]+=[a-z]+)*\]|n\d+ -> n\d+);$")
    lines = dot.split("\n")
    assert lines[:3] == ["digraph microgradnn {", "  rankdir=LR;", '  node [fontname="Helvetica"];']
    assert lines[-1] == "}"
    assert all(statement.match(line) for line in lines[3:-1]), dot  # nothing but our own statements
    labels = [unquote(statement.match(line).group(2)[1:-1]) for line in lines[3:-1] if "label" in line]
    shown = name.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    assert labels == ["sum\n()", shown + "\n(2,)", "leaf (2,)\nrequires_grad"]
