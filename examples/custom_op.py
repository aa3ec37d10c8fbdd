"""Writing your own differentiable operation, and checking its gradient.

Softplus, log(1 + exp(x)), as a ``microgradnn.Function``: forward and backward on ndarrays,
side by side. Its derivative is the sigmoid. ``gradcheck`` compares backward with central
finite differences; a deliberately wrong backward is caught. Run: ``python examples/custom_op.py``.
"""

import numpy as np

import microgradnn as mg


class Softplus(mg.Function):
    """log(1 + exp(x)), computed without overflow for large |x|."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        # d/dx softplus(x) = sigmoid(x), written with tanh so that no exp() can overflow.
        return grad_output * 0.5 * (1 + np.tanh(x / 2))


class WrongSoftplus(Softplus):
    """The same forward with a backward that got the sign of x wrong."""

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * 0.5 * (1 + np.tanh(-x / 2))


def softplus(x: mg.Tensor) -> mg.Tensor:
    """Softplus as a function, like the built-in ops."""
    return Softplus.apply(x)


def main() -> None:
    x = mg.Tensor(np.random.default_rng(0).standard_normal((3, 4)), requires_grad=True)
    print(mg.gradcheck(softplus, x))
    report = mg.gradcheck(WrongSoftplus.apply, x, raise_exception=False)
    print(report)
    print("the wrong backward was caught:", not report.passed)
    big = mg.Tensor([-1000.0, 0.0, 1000.0], requires_grad=True)
    softplus(big).sum().backward()
    print("softplus at -1000, 0, 1000:", softplus(big).data, "gradient:", big.grad)


if __name__ == "__main__":
    main()
