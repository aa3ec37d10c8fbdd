"""Handwritten digits: an MLP trained with Adam and cross-entropy through a DataLoader.

The 1,797 8x8 digit images that scikit-learn ships inside its package (no download). A fixed
seed holds out 20% for testing; the script reports that split's accuracy and the mean over five
seeds, and saves a loss curve when matplotlib is installed.
Needs the examples extra: ``pip install "microgradnn[examples]"``. Run: ``python examples/digits.py``.
"""

from __future__ import annotations

import sys
import time

import numpy as np
from plotting import save_loss_curve

import microgradnn as mg
from microgradnn import nn, optim
from microgradnn.data import DataLoader, TensorDataset, train_test_split

try:
    from sklearn.datasets import load_digits
except ImportError:  # pragma: no cover - depends on the machine
    sys.exit('examples/digits.py needs scikit-learn: pip install "microgradnn[examples]"')


def run(seed: int, epochs: int = 30, batch_size: int = 32) -> tuple[float, list[float]]:
    """Train on 80% of the digits (split by ``seed``) and return test accuracy and epoch losses."""
    digits = load_digits()
    rng = np.random.default_rng(seed)
    X_train, X_test, y_train, y_test = train_test_split(digits.data, digits.target, test_fraction=0.2, rng=rng)
    # Standardise each pixel with the training rows' mean and spread (constant pixels stay 0).
    mean, std = X_train.mean(axis=0), X_train.std(axis=0)
    std[std == 0] = 1.0
    X_train, X_test = (X_train - mean) / std, (X_test - mean) / std
    model = nn.MLP(64, 256, 128, 10, activation=nn.ReLU, rng=rng)  # logits out, for cross-entropy
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    loader = DataLoader(TensorDataset(X_train, y_train), batch_size=batch_size, shuffle=True, rng=rng)
    losses = []
    for _ in range(epochs):
        total = 0.0
        for xb, yb in loader:
            loss = loss_fn(model(xb), yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(yb)
        losses.append(total / len(X_train))
    with mg.no_grad():
        predicted = model(mg.Tensor(X_test)).argmax(axis=1).data
    return float(np.mean(predicted == y_test)), losses


def main() -> None:
    start = time.perf_counter()
    accuracy, losses = run(seed=0)
    print(f"held-out accuracy (seed 0): {accuracy:.2%}")
    accuracies = [accuracy] + [run(seed)[0] for seed in range(1, 5)]
    print(f"mean over five seeds: {np.mean(accuracies):.2%} (each: {', '.join(f'{a:.2%}' for a in accuracies)})")
    print(f"time: {time.perf_counter() - start:.1f} s")
    save_loss_curve(losses, "digits_loss.png", "digits: training loss", xlabel="epoch")


if __name__ == "__main__":
    main()
