"""Benchmark: a sweep of the tutorial network, serially against joblib's worker processes, and
the per-run overhead of the Dask path on a LocalCluster.

The sweep is 3 activations × 3 optimizers × 3 learning rates × 5 seeds = 135 runs of Trask's
3 → 4 → 1 network, 2,000 full-batch steps each (``microgradnn sweep``'s own ``train_run``),
once in this process and once on 2 joblib workers; the row gives the wall time and the speedup.
The Dask rows time runs that do nothing on a LocalCluster of 2 worker processes (one thread
each), next to the same on joblib, so what is left is the cost of sending and collecting one
run. Run ``python benchmarks/bench_sweep.py`` (``--quick``: 200 steps, fewer runs).

This measures; it asserts nothing. On a busy machine the speedup is lower than on an idle one.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from microgradnn.experiments import sweep  # noqa: E402
from microgradnn.experiments.command import train_run  # noqa: E402

GRID = {
    "activation": ["sigmoid", "tanh", "relu"],
    "optimizer": ["sgd", "momentum", "adam"],
    "lr": [0.01, 0.1, 1.0],
}
SEEDS = 5


def fixed(steps: int) -> dict[str, Any]:
    """The settings every run shares: Trask's table, mse, ``steps`` full-batch epochs."""
    return {
        "dataset": "trask",
        "data": None,
        "data_sha256": None,
        "target": None,
        "epochs": steps,
        "loss": "mse",
        "no_standardize": False,
        "val_split": 0.0,
        "seed": 1,
    }


def nothing(config: dict[str, Any], seed: int) -> dict[str, float]:
    """A run that costs nothing: what remains is the cost of the path."""
    return {"loss": 0.0}


def _timed(**kwargs: Any) -> float:
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        sweep(results=os.path.join(folder, "runs.jsonl"), **kwargs)
        return time.perf_counter() - start


def rows(quick: bool = False) -> list[str]:
    """The benchmark table's rows: the sweep serially and on 2 joblib workers (with the
    speedup), then the per-run overhead of joblib and of Dask on runs that do nothing."""
    steps, seeds = (200, 2) if quick else (2000, SEEDS)
    runs = 27 * seeds
    settings = fixed(steps)
    # Warm up: the workers' start and imports, out of the timing.
    sweep(train_run, {"activation": ["tanh"]}, seeds=2, results=None, n_jobs=2, fixed=settings)
    serial = _timed(train=train_run, grid=GRID, seeds=seeds, n_jobs=1, fixed=settings)
    parallel = _timed(train=train_run, grid=GRID, seeds=seeds, n_jobs=2, fixed=settings)
    title = f"sweep 3×3×3 × {seeds} seeds = {runs} runs of the tutorial network, {steps} steps"
    lines = [
        f"| {title} | serial | {serial:.2f} s | {serial / runs * 1e3:.1f} ms/run | 1.00× |",
        f"| {title} | joblib, 2 workers | {parallel:.2f} s | {parallel / runs * 1e3:.1f} ms/run "
        f"| {serial / parallel:.2f}× faster |",
    ]
    empty = {"k": list(range(100 if quick else 200))}
    count = len(empty["k"])
    joblib_empty = _timed(train=nothing, grid=empty, seeds=1, n_jobs=2)
    lines.append(
        f"| per-run overhead, {count} empty runs | joblib, 2 workers | {joblib_empty:.2f} s "
        f"| {joblib_empty / count * 1e3:.2f} ms/run | |"
    )
    try:
        from distributed import Client, LocalCluster
    except ImportError:  # pragma: no cover - the dask extra is not installed
        lines.append("| per-run overhead | Dask | not installed (pip install 'microgradnn[dask]') | | |")
        return lines
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        sweep(nothing, {"k": [-1, -2]}, seeds=1, results=None, scheduler=client)  # warm up
        dask_empty = _timed(train=nothing, grid=empty, seeds=1, scheduler=client)
        lines.append(
            f"| per-run overhead, {count} empty runs | Dask LocalCluster, 2 workers | {dask_empty:.2f} s "
            f"| {dask_empty / count * 1e3:.2f} ms/run | |"
        )
        dask_sweep = _timed(train=train_run, grid=GRID, seeds=seeds, scheduler=client, fixed=settings)
        lines.append(
            f"| {title} | Dask LocalCluster, 2 workers | {dask_sweep:.2f} s | {dask_sweep / runs * 1e3:.1f} ms/run "
            f"| {serial / dask_sweep:.2f}× faster |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 steps and 2 seeds")
    args = parser.parse_args()
    lines = rows(args.quick)
    print(f"cores: {len(os.sched_getaffinity(0))}; BLAS: one thread per run (threadpoolctl)")
    print("| benchmark | implementation | wall time | per run | speedup |")
    print("|---|---|---|---|---|")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
