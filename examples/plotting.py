"""The examples' loss curves: ``microgradnn.viz.save_loss_curve``, or a hint without matplotlib."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from microgradnn.viz import save_loss_curve as _save


def save_loss_curve(
    losses: Sequence[float] | Mapping[str, Sequence[float]], path: str, title: str, xlabel: str = "step"
) -> None:
    """Save the curve and say where, or say how to get matplotlib."""
    try:
        _save(losses, path, title=title, xlabel=xlabel)
    except ImportError as err:
        print(f"(no loss curve: {err})")
        return
    print(f"loss curve saved to {path}")
