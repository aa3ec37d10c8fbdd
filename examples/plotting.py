"""A loss-curve PNG for the examples, when matplotlib is installed (the plot extra)."""

from __future__ import annotations

from typing import Sequence


def save_loss_curve(losses: Sequence[float], path: str, title: str, xlabel: str = "step") -> None:
    """Save losses against steps as a PNG, or say how to get matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print('(no loss curve: pip install "microgradnn[plot]" for matplotlib)')
        return
    figure, axes = plt.subplots(figsize=(6, 4))
    axes.plot(range(1, len(losses) + 1), losses)
    axes.set(xlabel=xlabel, ylabel="loss", title=title)
    if min(losses) > 0:
        axes.set_yscale("log")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    print(f"loss curve saved to {path}")
