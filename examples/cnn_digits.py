"""Handwritten digits with a small convolutional network: Conv2d, MaxPool2d, Adam, cross-entropy.

The 1,797 8x8 digit images that scikit-learn ships inside its package (no download), as
(1, 8, 8) images. Each of five seeds holds out its own 20% for testing; the script prints each
split's accuracy and, last, their mean. (The MLP of ``examples/digits.py`` reaches about 97.4%.)
Needs the examples extra: ``pip install "microgradnn[examples]"``.
Run: ``python examples/cnn_digits.py`` (``--quick`` for a few-second smoke run).
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

import microgradnn as mg
from microgradnn import nn, optim
from microgradnn.data import DataLoader, TensorDataset, train_test_split

try:
    from sklearn.datasets import load_digits
except ImportError:  # pragma: no cover - depends on the machine
    sys.exit('examples/cnn_digits.py needs scikit-learn: pip install "microgradnn[examples]"')


def make_model(rng: np.random.Generator) -> nn.Module:
    """Two 3x3 convolutions with 'same' padding, a 2x2 max-pool, and a linear classifier."""
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1, dtype=np.float32, rng=rng),  # 16 x 8 x 8
        nn.ReLU(),
        nn.Conv2d(16, 32, 3, padding=1, dtype=np.float32, rng=rng),  # 32 x 8 x 8
        nn.ReLU(),
        nn.MaxPool2d(2),  # 32 x 4 x 4
        nn.Flatten(),
        nn.Linear(512, 64, dtype=np.float32, rng=rng),
        nn.ReLU(),
        nn.Linear(64, 10, dtype=np.float32, rng=rng),  # logits, for cross-entropy
    )


def run(seed: int, epochs: int, batch_size: int = 32) -> float:
    """Train on 80% of the digits (split by ``seed``); return the held-out 20%'s accuracy."""
    digits = load_digits()
    rng = np.random.default_rng(seed)
    images = (digits.images / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)
    X_train, X_test, y_train, y_test = train_test_split(images, digits.target, test_fraction=0.2, rng=rng)
    model = make_model(rng)
    optimizer = optim.Adam(model.parameters(), lr=2e-3)
    # The learning rate falls to 0 along a cosine; label smoothing keeps the logits modest.
    # On five splits these two take the mean from about 98.2% to about 98.9%.
    schedule = optim.lr_scheduler.CosineAnnealingLR(optimizer, epochs)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.1)
    loader = DataLoader(TensorDataset(X_train, y_train), batch_size=batch_size, shuffle=True, rng=rng)
    for _ in range(epochs):
        for xb, yb in loader:
            loss = loss_fn(model(xb), yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        schedule.step()
    model.eval()
    with mg.no_grad():
        predicted = model(mg.Tensor(X_test)).argmax(axis=1).data
    return float(np.mean(predicted == y_test))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20, help="training epochs per seed (default 20)")
    parser.add_argument("--seeds", type=int, default=5, help="how many seeded 80/20 splits (default 5)")
    parser.add_argument("--quick", action="store_true", help="one seed, one epoch: a smoke run")
    args = parser.parse_args(argv)
    epochs, seeds = (1, 1) if args.quick else (args.epochs, args.seeds)
    start = time.perf_counter()
    accuracies = []
    for seed in range(seeds):
        accuracies.append(run(seed, epochs))
        print(f"seed {seed}: {accuracies[-1]:.2%}")
    print(f"time: {time.perf_counter() - start:.1f} s")
    print(f"held-out accuracy: {np.mean(accuracies):.2%}")


if __name__ == "__main__":
    main()
