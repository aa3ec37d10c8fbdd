"""Experiments: sweeps of a training function over a grid of configurations and several seeds,
serially, in joblib's worker processes, or on a Dask distributed cluster, with every finished
run kept in a JSON Lines file, a table of the mean, std, min and max per configuration, and a
picture. The guide is docs/experiments.md.

>>> from microgradnn import experiments
>>> table = experiments.sweep(lambda config, seed: {"loss": config["lr"]}, {"lr": [0.5, 0.1]}, seeds=2,
...                           results=None, n_jobs=1)
>>> [row.config["lr"] for row in table.sort_by("loss")]
[0.1, 0.5]
"""

from .plot import plot_sweep
from .results import ConfigResult, ResultsError, ResultsTable, read_results
from .runner import expand_grid, run_one, run_seeds, sweep

__all__ = [
    "sweep",
    "ResultsTable",
    "ConfigResult",
    "ResultsError",
    "read_results",
    "run_seeds",
    "expand_grid",
    "run_one",
    "plot_sweep",
]
