"""Swap the activation or the optimizer in one line, and compare the final losses.

The same 3 -> 8 -> 1 network on Trask's truth table, with each hidden activation and each
optimizer; prints the final loss of each as a small table. Run: ``python examples/swap.py``.
"""

import numpy as np

import microgradnn as mg
from microgradnn import nn, optim

INPUTS = np.array([[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]], dtype=float)
TARGETS = np.array([[0.0, 1.0, 1.0, 0.0]]).T

ACTIVATIONS = {"Sigmoid": nn.Sigmoid, "Tanh": nn.Tanh, "ReLU": nn.ReLU}
OPTIMIZERS = {
    "SGD": lambda params: optim.SGD(params, lr=2.0),
    "SGD + momentum": lambda params: optim.SGD(params, lr=0.5, momentum=0.9),
    "Adam": lambda params: optim.Adam(params, lr=0.05),
    "RMSprop": lambda params: optim.RMSprop(params, lr=0.01),
}


def final_loss(activation, make_optimizer, steps: int = 1000, seed: int = 0) -> float:
    """Train once and return the last loss."""
    model = nn.MLP(3, 8, 1, activation=activation, output_activation=nn.Sigmoid, rng=np.random.default_rng(seed))
    optimizer = make_optimizer(model.parameters())  # <- the one line that picks the optimizer
    loss_fn = nn.MSELoss()
    x, y = mg.Tensor(INPUTS), mg.Tensor(TARGETS)
    for _ in range(steps):
        loss = loss_fn(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return loss.item()


def main() -> None:
    header = "| activation | " + " | ".join(OPTIMIZERS) + " |"
    print(header)
    print("|---" * (len(OPTIMIZERS) + 1) + "|")
    for act_name, activation in ACTIVATIONS.items():
        row = [f"{final_loss(activation, make):.2e}" for make in OPTIMIZERS.values()]
        print(f"| {act_name} | " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
