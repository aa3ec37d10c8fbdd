"""Sequences: an LSTM learns to continue noisy sine waves.

Each sequence is a sine of its own frequency and phase plus noise. The model, an ``LSTM`` and a
``Linear`` head, reads a sequence one value at a time and predicts the next value at every step
(mean squared error against the clean next value; the noise cannot be predicted, only seen
through). After training it continues held-out sequences on its own, feeding each prediction
back as its next input. The last line is the held-out loss before and after training:
``loss: A -> B``.

Run: ``python examples/sequence.py`` (``--quick`` for a few-second run).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from plotting import save_loss_curve

import microgradnn as mg
from microgradnn import nn, optim

NOISE = 0.05


def make_waves(count: int, steps: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Noisy inputs (steps, count, 1) and the clean next values to predict (steps, count, 1)."""
    freq = rng.uniform(0.15, 0.45, (1, count, 1))
    phase = rng.uniform(0, 2 * np.pi, (1, count, 1))
    t = np.arange(steps + 1).reshape(-1, 1, 1)
    clean = np.sin(freq * t + phase)
    noisy = clean + rng.normal(0, NOISE, clean.shape)
    return noisy[:-1], clean[1:]


class Forecaster(nn.Module):
    """LSTM(1, hidden) then Linear(hidden, 1) at every step."""

    def __init__(self, hidden: int, rng: np.random.Generator) -> None:
        super().__init__()
        self.lstm = nn.LSTM(1, hidden, rng=rng)
        self.head = nn.Linear(hidden, 1, rng=rng)

    def forward(self, x: mg.Tensor, state: tuple[mg.Tensor, mg.Tensor] | None = None) -> tuple[mg.Tensor, tuple]:
        output, state = self.lstm(x, state)
        return self.head(output), state


def continue_waves(model: Forecaster, seen: np.ndarray, ahead: int) -> np.ndarray:
    """Read ``seen`` (steps, count, 1), then predict ``ahead`` more values, each from the last."""
    with mg.no_grad():
        prediction, state = model(mg.Tensor(seen))
        value = prediction[-1:]
        out = []
        for _ in range(ahead):
            out.append(value.data)
            value, state = model(value, state)
    return np.concatenate(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small model and a few steps (a few seconds)")
    args = parser.parse_args()
    start = time.perf_counter()
    rng = np.random.default_rng(0)
    hidden, batches, steps = (16, 60, 30) if args.quick else (32, 400, 50)
    batch = 32
    test_x, test_y = make_waves(128, steps, np.random.default_rng(1))
    model = Forecaster(hidden, rng)
    optimizer = optim.Adam(model.parameters(), lr=0.01)
    loss_fn = nn.MSELoss()

    def held_out_loss() -> float:
        with mg.no_grad():
            return loss_fn(model(mg.Tensor(test_x))[0], test_y).item()

    before = held_out_loss()
    losses = []
    for step in range(1, batches + 1):
        x, y = make_waves(batch, steps, rng)
        loss = loss_fn(model(mg.Tensor(x))[0], y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if step % (batches // 4) == 0:
            print(f"step {step:4d}: training loss {np.mean(losses[-20:]):.5f}")
    after = held_out_loss()

    # Continue the first held-out waves 20 steps past what the model saw, on its own.
    ahead = 20
    full_x, full_y = make_waves(4, steps + ahead, np.random.default_rng(1))
    continued = continue_waves(model, full_x[:steps], ahead)
    error = np.sqrt(np.mean((continued - full_y[steps - 1 : steps - 1 + ahead]) ** 2))
    print(f"continuing 4 held-out waves {ahead} steps on its own: RMS error {error:.3f} (amplitude 1)")
    print(f"time: {time.perf_counter() - start:.1f} s")
    save_loss_curve(losses, "sequence_loss.png", "sequence: training loss (MSE)")
    print(f"loss: {before:.4f} -> {after:.4f}")


if __name__ == "__main__":
    main()
