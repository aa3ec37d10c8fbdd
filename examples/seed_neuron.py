"""The first tutorial, a single sigmoid neuron, written with microgradnn Tensors.

Same start (``np.random.seed(1)``), same data, same 10,000 steps as the hand-written NumPy
version; the gradient comes from ``loss.backward()`` instead of ``x * (1 - x)`` by hand, and the
weights come out equal to the tutorial's. Run: ``python examples/seed_neuron.py``.
"""

import numpy as np

import microgradnn as mg

INPUTS = np.array([[0, 0, 1], [1, 1, 1], [1, 0, 1], [0, 1, 1]])
TARGETS = np.array([[0, 1, 1, 0]]).T


def train(steps: int = 10_000) -> mg.Tensor:
    """Train the 3 -> 1 neuron and return its weights."""
    np.random.seed(1)
    weights = mg.Tensor(2 * np.random.random((3, 1)) - 1, requires_grad=True)
    print("Random starting weights:")
    print(weights.data)
    x, y = mg.Tensor(INPUTS), mg.Tensor(TARGETS)
    for _ in range(steps):
        out = (x @ weights).sigmoid()
        loss = 0.5 * ((y - out) ** 2).sum()
        weights.grad = None
        loss.backward()
        with mg.no_grad():
            weights -= 1.0 * weights.grad  # the tutorial's step: w += X.T @ (error * out * (1 - out))
    return weights


def main() -> None:
    weights = train()
    print("Weights after training:")
    print(weights.data)
    new_input = mg.Tensor([1, 0, 0])
    print("Prediction for [1, 0, 0]:")
    print((new_input @ weights).sigmoid().data)


if __name__ == "__main__":
    main()
