"""The picture of a sweep: the mean loss curve of each configuration with a band over its
seeds, and, when exactly two settings vary, a heat map of the final metric (matplotlib, the
``plot`` extra)."""

from __future__ import annotations

import json
import math
import os
from typing import Any

import numpy as np

from ..io import atomic_write
from ..viz import require_matplotlib
from .results import ResultsTable, _format_value

__all__ = ["plot_sweep", "varying_keys"]


def varying_keys(table: ResultsTable) -> list[str]:
    """The configuration keys that take more than one value in ``table``, in order.

    >>> table = ResultsTable.from_records([
    ...     {"config": {"lr": lr, "opt": "sgd"}, "seed": 0, "metrics": {"loss": lr}, "status": "ok"} for lr in (1, 2)
    ... ])
    >>> varying_keys(table)
    ['lr']
    """
    keys: list[str] = []
    for row in table.rows:
        keys += [k for k in row.config if k not in keys]
    return [k for k in keys if len({json.dumps(row.config.get(k), sort_keys=True) for row in table.rows}) > 1]


def _label(config: dict[str, Any], keys: list[str]) -> str:
    return ", ".join(f"{k}={_format_value(config.get(k))}" for k in keys) or "all runs"


def sweep_figure(table: ResultsTable, metric: str | None = None) -> Any:
    """The matplotlib Figure of :func:`plot_sweep` (not saved)."""
    metric = metric or table.metric
    keys = varying_keys(table)
    heat = len(keys) == 2 and metric is not None
    figure = require_matplotlib()(figsize=(11 if heat else 6.5, 4.5))
    axes = figure.subplots(1, 2 if heat else 1)
    curves_axes = axes[0] if heat else axes
    positive = True
    for row in table.rows:
        if not row.curves:
            continue
        length = min(len(c) for c in row.curves)  # a run cut short is drawn as far as all go
        values = np.array([c[:length] for c in row.curves], dtype=float)
        steps = np.arange(1, length + 1)
        (line,) = curves_axes.plot(steps, values.mean(axis=0), label=_label(row.config, keys), linewidth=1.2)
        if len(values) > 1:  # the band: the lowest to the highest seed at each step
            curves_axes.fill_between(steps, values.min(axis=0), values.max(axis=0), color=line.get_color(), alpha=0.2)
        positive = positive and bool((values > 0).all())
    seeds = max((sum(row.statuses.values()) for row in table.rows), default=0)
    curves_axes.set(xlabel="epoch", ylabel="loss", title=f"mean loss over {seeds} seeds (band: min to max)")
    if positive and curves_axes.lines:
        curves_axes.set_yscale("log")
    if curves_axes.lines:
        curves_axes.legend(fontsize="x-small")
    if heat:
        assert metric is not None
        _heat_map(figure, axes[1], table, keys, metric)
    figure.tight_layout()
    return figure


def _heat_map(figure: Any, axes: Any, table: ResultsTable, keys: list[str], metric: str) -> None:
    rows_key, cols_key = keys
    row_values: list[str] = []
    col_values: list[str] = []
    for row in table.rows:
        r, c = _format_value(row.config.get(rows_key)), _format_value(row.config.get(cols_key))
        row_values += [r] if r not in row_values else []
        col_values += [c] if c not in col_values else []
    grid = np.full((len(row_values), len(col_values)), np.nan)
    for row in table.rows:
        i = row_values.index(_format_value(row.config.get(rows_key)))
        j = col_values.index(_format_value(row.config.get(cols_key)))
        grid[i, j] = row.mean(metric)
    image = axes.imshow(np.ma.masked_invalid(grid), cmap="viridis_r", aspect="auto")
    axes.set_xticks(range(len(col_values)), col_values)
    axes.set_yticks(range(len(row_values)), row_values)
    axes.set(xlabel=cols_key, ylabel=rows_key, title=f"mean final {metric}")
    for i in range(grid.shape[0]):
        for j in range(grid.shape[1]):
            text = "-" if math.isnan(grid[i, j]) else f"{grid[i, j]:.3g}"
            axes.text(j, i, text, ha="center", va="center", fontsize="small", bbox={"facecolor": "white", "alpha": 0.7})
    figure.colorbar(image, ax=axes)


def plot_sweep(table: ResultsTable, path: str | os.PathLike[str], metric: str | None = None) -> None:
    """Save a PNG of a sweep, atomically: the mean loss curve of each configuration (its ok
    runs' ``curve``) with a band from the lowest to the highest seed, and a second panel, a
    heat map of the mean of ``metric`` (default: the table's), when exactly two keys vary.

    >>> import os, tempfile
    >>> from microgradnn import experiments
    >>> table = experiments.sweep(lambda config, seed: {"loss": 0.5, "curve": [1.0, 0.5]},
    ...                           {"lr": [0.1, 1.0]}, seeds=2, results=None, n_jobs=1)
    >>> path = os.path.join(tempfile.mkdtemp(), "sweep.png")
    >>> try:
    ...     experiments.plot_sweep(table, path)
    ...     ok = open(path, "rb").read(4) == b"\\x89PNG"
    ... except ImportError:
    ...     ok = True  # matplotlib is not installed here
    >>> ok
    True
    """
    figure = sweep_figure(table, metric)
    with atomic_write(path) as f:
        figure.savefig(f, format="png", dpi=100)
