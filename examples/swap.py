"""Swap the activation or the optimizer in one line, and compare the final losses.

The same 3 -> 8 -> 1 network on Trask's truth table, with each hidden activation and each
optimizer; prints the final loss of each as a small table. Run: ``python examples/swap.py``.
"""

import numpy as np
from plotting import save_loss_curve

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


def train(activation, make_optimizer, steps: int = 1000, seed: int = 0) -> list[float]:
    """Train once and return the loss at each step."""
    model = nn.MLP(3, 8, 1, activation=activation, output_activation=nn.Sigmoid, rng=np.random.default_rng(seed))
    optimizer = make_optimizer(model.parameters())  # <- the one line that picks the optimizer
    loss_fn = nn.MSELoss()
    x, y = mg.Tensor(INPUTS), mg.Tensor(TARGETS)
    losses = []
    for _ in range(steps):
        loss = loss_fn(model(x), y)
        losses.append(loss.item())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return losses


def main() -> None:
    header = "| activation | " + " | ".join(OPTIMIZERS) + " |"
    print(header)
    print("|---" * (len(OPTIMIZERS) + 1) + "|")
    curves = {}
    for act_name, activation in ACTIVATIONS.items():
        for opt_name, make in OPTIMIZERS.items():
            curves[f"{act_name}, {opt_name}"] = train(activation, make)
        row = [f"{curves[f'{act_name}, {opt_name}'][-1]:.2e}" for opt_name in OPTIMIZERS]
        print(f"| {act_name} | " + " | ".join(row) + " |")
    save_loss_curve(curves, "swap_loss.png", "every activation with every optimizer")


if __name__ == "__main__":
    main()
