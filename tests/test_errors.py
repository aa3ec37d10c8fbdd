"""Every error names the op and the shapes (as Python tuples) or values involved, and comes
from the op itself, not from deep inside NumPy."""

import numpy as np
import pytest

import microgradnn as mg


@pytest.fixture
def a():
    return mg.Tensor(np.ones((2, 3)), requires_grad=True)


@pytest.mark.parametrize(
    "expr, pattern",
    [
        (lambda a: a + mg.ones(4), r"add: shapes \(2, 3\) and \(4,\) cannot be broadcast together"),
        (lambda a: a - np.ones((3, 2)), r"sub: shapes \(2, 3\) and \(3, 2\) cannot be broadcast together"),
        (lambda a: np.ones(5) * a, r"mul: shapes \(5,\) and \(2, 3\) cannot be broadcast together"),
        (lambda a: a / mg.ones(2), r"div: shapes \(2, 3\) and \(2,\) cannot be broadcast together"),
        (lambda a: a ** mg.ones(2), r"pow: shapes \(2, 3\) and \(2,\) cannot be broadcast together"),
        (lambda a: mg.maximum(a, mg.ones(4)), r"maximum: shapes \(2, 3\) and \(4,\)"),
        (lambda a: mg.where(mg.ones(4) > 0, a, 0.0), r"where: shapes \(4,\), \(2, 3\) and \(\) cannot be broadcast"),
        (lambda a: a < mg.ones(4), r"<: shapes \(2, 3\) and \(4,\) cannot be broadcast together"),
        (lambda a: a @ mg.ones((2, 3)), r"matmul: shapes \(2, 3\) and \(2, 3\) are not aligned: 3 .* != 2"),
        (lambda a: a @ mg.ones(4), r"matmul: shapes \(2, 3\) and \(4,\) are not aligned"),
        (
            lambda a: a @ mg.Tensor(2.0),
            r"matmul: both operands need at least 1 dimension, got shapes \(2, 3\) and \(\)",
        ),
        (
            lambda a: mg.ones((2, 2, 3)) @ mg.ones((3, 3, 1)),
            r"matmul: batch axes of shapes \(2, 2, 3\) and \(3, 3, 1\)",
        ),
        (lambda a: a.reshape(4, 2), r"reshape: cannot reshape a tensor of shape \(2, 3\) \(6 elements\) into \(4, 2\)"),
        (
            lambda a: a.permute(0, 0),
            r"permute: dims \(0, 0\) are not a permutation of the 2 dims of shape \(2, 3\)",
        ),
        (lambda a: a.sum(axis=2), r"sum: dim 2 is out of range for a tensor of shape \(2, 3\)"),
        (lambda a: a.mean(axis=(0, 0)), r"mean: dim \(0, 0\) repeats an axis of a tensor of shape \(2, 3\)"),
        (lambda a: a.max(axis=-3), r"max: dim -3 is out of range for a tensor of shape \(2, 3\)"),
        (lambda a: a.softmax(axis=5), r"softmax: axis 5 is out of range"),
        (lambda a: a.broadcast_to((4, 3, 2)), r"broadcast_to: cannot broadcast shape \(2, 3\) to \(4, 3, 2\)"),
        (
            lambda a: mg.concatenate([a, mg.ones((2, 4))]),
            r"concatenate: shapes \(2, 3\), \(2, 4\) cannot be joined along axis 0",
        ),
        (lambda a: mg.stack([a, mg.ones((3, 2))]), r"stack: shapes \(2, 3\), \(3, 2\) cannot be stacked"),
        (lambda a: mg.max(mg.ones(0)), r"max: cannot reduce an empty tensor of shape \(0,\)"),
        (lambda a: mg.argmax(a, axis=3), r"argmax: dim 3 is out of range for a tensor of shape \(2, 3\)"),
    ],
)
def test_shape_errors_name_the_op_and_both_shapes(a, expr, pattern):
    with pytest.raises(mg.ShapeError, match=pattern):
        expr(a)


def test_shape_errors_are_value_errors_and_hide_numpy_internals(a):
    with pytest.raises(ValueError) as info:
        a + mg.ones(4)
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_index_errors_name_the_op_and_shape(a):
    with pytest.raises(IndexError, match=r"getitem: .*index 5 is out of bounds.*\(tensor of shape \(2, 3\)\)"):
        a[5]


def test_in_place_shape_mismatch(a):
    with (
        mg.no_grad(),
        pytest.raises(mg.ShapeError, match=r"\+=: cannot update a tensor of shape \(2, 3\) in place with shape \(4,\)"),
    ):
        a += np.ones(4)


def test_unsupported_operand_types_name_the_op(a):
    with pytest.raises(TypeError, match="mul: cannot combine a tensor with str"):
        a * "x"
    with pytest.raises(TypeError, match="add: cannot combine a tensor with an array of <U1"):
        a + np.array(["x"])


def test_custom_function_errors_name_the_op():
    class Twice(mg.Function):
        @staticmethod
        def forward(ctx, x):
            return 2 * x

        @staticmethod
        def backward(ctx, g):
            return g[:1]

    class TooMany(mg.Function):
        @staticmethod
        def forward(ctx, x):
            return 2 * x

        @staticmethod
        def backward(ctx, g):
            return g, g

    x = mg.Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(
        mg.ShapeError, match=r"Twice.backward returned a gradient of shape \(1,\) for input 0 of shape \(2,\)"
    ):
        Twice.apply(x).sum().backward()
    with pytest.raises(RuntimeError, match=r"TooMany.backward returned 2 gradient\(s\) for 1 input\(s\)"):
        TooMany.apply(x).sum().backward()
    with pytest.raises(RuntimeError, match="Twice: this custom Function's backward works on ndarrays"):
        mg.grad(Twice.apply(x).sum(), x, create_graph=True)
