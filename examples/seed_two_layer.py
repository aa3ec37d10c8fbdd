"""The second tutorial, Trask's two-layer network, as a microgradnn model.

``MLP(3, 4, 1, bias=False, output_activation=Sigmoid)`` is Trask's ``Network(3, 4, 1)``; the
tutorial's weights load in one line; ``SGD(lr=1.0)`` on half the summed squared error is its
hand-written update. The tutorial sets no seed; ``np.random.seed(1)`` fixes one here.
Run: ``python examples/seed_two_layer.py``.
"""

import numpy as np
from plotting import save_loss_curve

import microgradnn as mg
from microgradnn import nn, optim

INPUTS = np.array([[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]])
TARGETS = np.array([[0, 1, 1, 0]]).T


def tutorial_weights(hidden: int) -> tuple[np.ndarray, np.ndarray]:
    """The tutorial's starting weights, drawn after np.random.seed(1)."""
    np.random.seed(1)
    syn0 = 2 * np.random.random((3, hidden)) - 1
    syn1 = 2 * np.random.random((hidden, 1)) - 1
    return syn0, syn1


def train(hidden: int = 4, steps: int = 10_000, verbose: bool = True) -> tuple[nn.MLP, list[float]]:
    """Train 3 -> hidden -> 1 with sigmoids from the tutorial's starting weights; return the
    model and the loss at each step."""
    model = nn.MLP(3, hidden, 1, bias=False, output_activation=nn.Sigmoid)
    syn0, syn1 = tutorial_weights(hidden)
    model.load_state_dict({"0.weight": syn0, "2.weight": syn1})
    if verbose:
        print("Starting weights:")
        print(model.state_dict()["0.weight"])
        print(model.state_dict()["2.weight"])
    optimizer = optim.SGD(model.parameters(), lr=1.0)
    loss_fn = nn.MSELoss(reduction="sum")
    x, y = mg.Tensor(INPUTS), mg.Tensor(TARGETS)
    losses = []
    for step in range(steps):
        loss = 0.5 * loss_fn(model(x), y)
        losses.append(loss.item())
        if verbose and step % 1000 == 0:
            print(f"step {step:5d}  loss {loss.item():.8f}")
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model, losses


def main() -> None:
    model, losses = train()
    save_loss_curve(losses, "seed_two_layer_loss.png", "tutorial 2: Trask's two-layer network")
    print("Weights after training:")
    for name, value in model.state_dict().items():
        print(name)
        print(value)
    print("Output after training:")
    with mg.no_grad():
        print(model(mg.Tensor(INPUTS)).data.ravel())


if __name__ == "__main__":
    main()
