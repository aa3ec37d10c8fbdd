"""The first tutorial, a single sigmoid neuron, written with microgradnn Tensors.

Same start (``np.random.seed(1)``), same data, same 10,000 steps as the hand-written NumPy
version; the gradient comes from ``loss.backward()`` instead of ``x * (1 - x)`` by hand, and the
weights come out equal to the tutorial's. Run: ``python examples/seed_neuron.py``.
"""

import numpy as np
from plotting import save_loss_curve

import microgradnn as mg

INPUTS = np.array([[0, 0, 1], [1, 1, 1], [1, 0, 1], [0, 1, 1]])
TARGETS = np.array([[0, 1, 1, 0]]).T


def train(steps: int = 10_000) -> tuple[mg.Tensor, list[float]]:
    """Train the 3 -> 1 neuron; return its weights and the loss at each step."""
    np.random.seed(1)
    weights = mg.Tensor(2 * np.random.random((3, 1)) - 1, requires_grad=True)
    print("Random starting weights:")
    print(weights.data)
    x, y = mg.Tensor(INPUTS), mg.Tensor(TARGETS)
    losses = []
    for _ in range(steps):
        out = (x @ weights).sigmoid()
        loss = 0.5 * ((y - out) ** 2).sum()
        losses.append(loss.item())
        weights.grad = None
        loss.backward()
        with mg.no_grad():
            weights -= 1.0 * weights.grad  # the tutorial's step: w += X.T @ (error * out * (1 - out))
    return weights, losses


def main() -> None:
    weights, losses = train()
    save_loss_curve(losses, "seed_neuron_loss.png", "tutorial 1: a sigmoid neuron")
    print("Weights after training:")
    print(weights.data)
    new_input = mg.Tensor([1, 0, 0])
    print("Prediction for [1, 0, 0]:")
    print((new_input @ weights).sigmoid().data)


if __name__ == "__main__":
    main()
