"""The second tutorial, Trask's two-layer network, written with microgradnn Tensors.

The tutorial sets no seed; here ``np.random.seed(1)`` fixes one, so the numbers can be checked.
Run: ``python examples/seed_two_layer.py``.
"""

import numpy as np

import microgradnn as mg

INPUTS = np.array([[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]])
TARGETS = np.array([[0, 1, 1, 0]]).T


def predict(syn0: mg.Tensor, syn1: mg.Tensor, x: mg.Tensor) -> mg.Tensor:
    """The network's output for the rows of ``x``."""
    return ((x @ syn0).sigmoid() @ syn1).sigmoid()


def train(hidden: int = 4, steps: int = 10_000) -> tuple[mg.Tensor, mg.Tensor]:
    """Train 3 -> hidden -> 1 with sigmoids; return both weight matrices."""
    np.random.seed(1)
    syn0 = mg.Tensor(2 * np.random.random((3, hidden)) - 1, requires_grad=True)
    syn1 = mg.Tensor(2 * np.random.random((hidden, 1)) - 1, requires_grad=True)
    x, y = mg.Tensor(INPUTS), mg.Tensor(TARGETS)
    for step in range(steps):
        l2 = predict(syn0, syn1, x)
        loss = 0.5 * ((y - l2) ** 2).sum()
        if step % 1000 == 0:
            print(f"step {step:5d}  loss {loss.item():.8f}")
        syn0.grad = syn1.grad = None
        loss.backward()
        with mg.no_grad():
            syn0 -= syn0.grad
            syn1 -= syn1.grad
    return syn0, syn1


def main() -> None:
    syn0, syn1 = train()
    print("Output after training:")
    with mg.no_grad():
        print(predict(syn0, syn1, mg.Tensor(INPUTS)).data.ravel())
    print("syn0:")
    print(syn0.data)
    print("syn1:")
    print(syn1.data)


if __name__ == "__main__":
    main()
