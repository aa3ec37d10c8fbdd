"""Regression: fit a noisy sine with a small Tanh network and mean squared error.

Run: ``python examples/regression.py`` (saves a plot of the fit when matplotlib is installed).
"""

from __future__ import annotations

import numpy as np
from plotting import save_loss_curve

import microgradnn as mg
from microgradnn import nn, optim


def make_data(n: int = 200, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """x in [-3, 3] and y = sin(x) plus a little noise, as (n, 1) columns."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-3, 3, (n, 1))
    return x, np.sin(x) + rng.normal(0, 0.1, (n, 1))


def train(steps: int = 2000, seed: int = 0) -> tuple[nn.Module, list[float]]:
    """Fit 1 -> 32 -> 32 -> 1 (Tanh) with Adam; return the model and the loss per step."""
    x, y = make_data(seed=seed)
    model = nn.MLP(1, 32, 32, 1, activation=nn.Tanh, rng=np.random.default_rng(seed))
    optimizer = optim.Adam(model.parameters(), lr=0.01)
    loss_fn = nn.MSELoss()
    X, Y = mg.Tensor(x), mg.Tensor(y)
    losses = []
    for _ in range(steps):
        loss = loss_fn(model(X), Y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return model, losses


def main() -> None:
    model, losses = train()
    grid = np.linspace(-3, 3, 7).reshape(-1, 1)
    with mg.no_grad():
        fitted = model(mg.Tensor(grid)).data
    print(f"final training loss: {losses[-1]:.4f} (the noise alone gives about 0.01)")
    save_loss_curve(losses, "regression_loss.png", "noisy sine: training loss")
    print("     x   sin(x)   model")
    for x, f in zip(grid[:, 0], fitted[:, 0], strict=True):
        print(f"{x:6.2f}  {np.sin(x):7.3f}  {f:6.3f}")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    data_x, data_y = make_data()
    dense = np.linspace(-3, 3, 200).reshape(-1, 1)
    with mg.no_grad():
        curve = model(mg.Tensor(dense)).data
    figure, axes = plt.subplots(figsize=(6, 4))
    axes.scatter(data_x, data_y, s=8, alpha=0.5, label="data")
    axes.plot(dense, np.sin(dense), label="sin(x)")
    axes.plot(dense, curve, label="model")
    axes.legend()
    figure.tight_layout()
    figure.savefig("regression_fit.png", dpi=100)
    print("plot saved to regression_fit.png")


if __name__ == "__main__":
    main()
