"""``sweep``: every cell of a grid, over several seeds, serially, in joblib's worker processes,
or on a Dask distributed cluster, each finished run appended to the results file at once.

Every mode runs the same function, :func:`run_one`, on the same (configuration, seed) pairs,
with BLAS held to one thread, so every mode computes the same numbers.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from contextlib import closing, nullcontext
from typing import Any

import numpy as np

from .results import ResultsFile, ResultsTable, config_key

__all__ = ["sweep", "run_seeds", "expand_grid", "run_one"]

#: The environment of joblib's worker processes: BLAS and OpenMP libraries loaded later start
#: with one thread too (those loaded already are held by threadpoolctl in run_one).
BLAS_ENV = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}

Train = Callable[[dict[str, Any], int], Mapping[str, Any]]
Progress = Callable[[int, int], None]


def run_seeds(seeds: int, root_seed: int = 0) -> list[int]:
    """The seeds of runs 0 to ``seeds - 1``: run i gets the first word of
    ``np.random.SeedSequence(root_seed).spawn(seeds)[i]``, so asking for more seeds keeps the
    first ones, and every configuration gets the same seeds.

    >>> run_seeds(3) == [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(0).spawn(3)]
    True
    >>> run_seeds(2) == run_seeds(5)[:2]
    True
    """
    return [int(child.generate_state(1)[0]) for child in np.random.SeedSequence(root_seed).spawn(seeds)]


def _is_json(value: Any) -> bool:
    if value is None or isinstance(value, (str, bool, int)):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, (list, tuple)):
        return all(_is_json(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_json(v) for k, v in value.items())
    return False


def expand_grid(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every cell of ``grid`` (a dict of lists), the last key varying fastest. An empty list, a
    value that is not a list, a repeated value or one that JSON cannot hold is refused.

    >>> expand_grid({"activation": ["tanh", "relu"], "lr": [0.1]})
    [{'activation': 'tanh', 'lr': 0.1}, {'activation': 'relu', 'lr': 0.1}]
    """
    if not isinstance(grid, Mapping):
        raise TypeError(f"sweep: grid must be a dict of lists, not {type(grid).__name__}")
    for key, values in grid.items():
        if not isinstance(key, str):
            raise TypeError(f"sweep: grid keys must be strings, not {key!r}")
        if not isinstance(values, (list, tuple)):
            raise TypeError(
                f"sweep: grid[{key!r}] must be a list of values, not {type(values).__name__} {values!r} "
                f"(for one value write [{values!r}])"
            )
        if not values:
            raise ValueError(f"sweep: grid[{key!r}] is an empty list: give at least one value")
        texts = []
        for value in values:
            if not _is_json(value):
                raise TypeError(
                    f"sweep: grid[{key!r}] holds {value!r}, which a results file cannot record: use names, "
                    "numbers, booleans, None or lists of them (and look the object up in train)"
                )
            text = json.dumps(value, sort_keys=True)
            if text in texts:
                raise ValueError(f"sweep: grid[{key!r}] holds {value!r} twice")
            texts.append(text)
    # Through JSON, so a cell is what the results file reads back (tuples become lists).
    cells = [dict(zip(grid, combo, strict=True)) for combo in itertools.product(*grid.values())]
    return [json.loads(json.dumps(cell)) for cell in cells]


# ------------------------------------------------------------------ one run
_BLAS_HELD = False


def _hold_blas_for_good() -> None:
    """In a worker process: BLAS at one thread, for every run it will do. Limits are global to
    a process, so a worker (which may run tasks in several threads) sets them once and keeps them."""
    global _BLAS_HELD
    if not _BLAS_HELD:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=1)  # not restored: this process only runs sweeps
        _BLAS_HELD = True


def _blas_held_here() -> Any:
    """In the caller's own process: one BLAS thread while the sweep runs, restored afterwards."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1)


def _as_float(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "fiu":
            return float(value)
        return None
    return float(value)


def _check_output(out: Any) -> tuple[dict[str, float], list[float] | None, str, str | None]:
    """(metrics, curve, status, message) from what train returned."""
    if not isinstance(out, Mapping):
        return {}, None, "failed", f"train returned {type(out).__name__}, not a dict of metrics"
    metrics: dict[str, float] = {}
    curve: list[float] | None = None
    for name, value in out.items():
        if not isinstance(name, str):
            return {}, None, "failed", f"train returned a metric named {name!r}: names must be strings"
        if name == "curve":
            if value is None:
                continue
            values = [_as_float(v) for v in value] if isinstance(value, (list, tuple, np.ndarray)) else None
            if values is None or any(v is None for v in values):
                return {}, None, "failed", "train returned a curve that is not a list of numbers"
            curve = [float(v) for v in values if v is not None]
            continue
        number = _as_float(value)
        if number is None:
            return {}, None, "failed", f"train returned metric {name!r} = {value!r}, not a number"
        metrics[name] = number
    for name, number in metrics.items():
        if not math.isfinite(number):
            return metrics, curve, "diverged", f"metric {name!r} is {number}"
    if curve is not None:
        for i, number in enumerate(curve):
            if not math.isfinite(number):
                return metrics, curve, "diverged", f"the curve is {number} at point {i + 1}"
    return metrics, curve, "ok", None


def run_one(
    train: Train, config: Mapping[str, Any], seed: int, fixed: Mapping[str, Any] | None = None, worker: bool = True
) -> dict[str, Any]:
    """Run ``train({**fixed, **config}, seed)`` once and return its record for the results
    file; an exception in ``train`` gives status ``failed`` with its message. In a worker
    process (``worker=True``) BLAS is first held to one thread for good.

    >>> record = run_one(lambda config, seed: {"loss": config["lr"] * 2}, {"lr": 0.5}, seed=7, worker=False)
    >>> record["status"], record["metrics"], record["seed"]
    ('ok', {'loss': 1.0}, 7)
    >>> run_one(lambda config, seed: {"loss": 1 / 0}, {}, seed=7, worker=False)["message"]
    'ZeroDivisionError: division by zero'
    """
    if worker:
        _hold_blas_for_good()
    start = time.perf_counter()
    try:
        out = train({**(fixed or {}), **config}, seed)
    except Exception as err:  # the run failed; the sweep goes on
        metrics: dict[str, float] = {}
        curve: list[float] | None = None
        status, message = "failed", f"{type(err).__name__}: {err}"
        message_: str | None = message
    else:
        metrics, curve, status, message_ = _check_output(out)
    return {
        "config": dict(config),
        "seed": seed,
        "metrics": metrics,
        "curve": curve,
        "status": status,
        "message": message_,
        "time": time.perf_counter() - start,
    }


def _crashed(config: Mapping[str, Any], seed: int, err: BaseException) -> dict[str, Any]:
    return {
        "config": dict(config),
        "seed": seed,
        "metrics": {},
        "curve": None,
        "status": "crashed",
        "message": f"its worker process died twice ({type(err).__name__}: {' '.join(str(err).split())[:300]})",
        "time": 0.0,
    }


# ------------------------------------------------------------------ the modes
Todo = list[tuple[dict[str, Any], int]]
Done = Callable[[dict[str, Any]], None]


def _serial(train: Train, todo: Todo, fixed: Mapping[str, Any], done: Done) -> None:
    with _blas_held_here():
        for config, seed in todo:
            done(run_one(train, config, seed, fixed, worker=False))


def _joblib(train: Train, todo: Todo, fixed: Mapping[str, Any], n_jobs: int, done: Done) -> None:
    """joblib's process workers (loky), at most ``n_jobs`` runs in flight. A worker that dies
    breaks the pool and every run in flight with it: those runs are tried again one at a time
    on a fresh pool, so a second death names the run that kills its worker: it is ``crashed``."""
    from concurrent.futures import FIRST_COMPLETED, Future, wait
    from concurrent.futures.process import BrokenProcessPool

    from joblib.externals.loky import get_reusable_executor

    current: list[Any] = []

    def executor() -> Any:
        # The same pool while it works; a fresh one after a worker died and broke it.
        current[:] = [get_reusable_executor(max_workers=n_jobs, env=BLAS_ENV, timeout=60)]
        return current[0]

    queue = deque(todo)
    suspects: deque[tuple[dict[str, Any], int]] = deque()
    running: dict[Future[dict[str, Any]], tuple[dict[str, Any], int]] = {}
    try:
        while queue or running or suspects:
            if suspects and not running:
                config, seed = suspects.popleft()
                try:
                    done(executor().submit(run_one, train, config, seed, fixed).result())
                except BrokenProcessPool as err:
                    done(_crashed(config, seed, err))
                continue
            while queue and not suspects and len(running) < n_jobs:
                config, seed = queue.popleft()
                running[executor().submit(run_one, train, config, seed, fixed)] = (config, seed)
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                item = running.pop(future)
                try:
                    record = future.result()
                except BrokenProcessPool:
                    suspects.append(item)
                    continue
                done(record)
    except BaseException:
        for future in running:
            future.cancel()
        # Ctrl-C or an error: stop the workers now rather than finish the runs in flight.
        for pool in current:
            pool.shutdown(wait=False, kill_workers=True)
        raise


def _dask(train: Train, todo: Todo, fixed: Mapping[str, Any], scheduler: Any, done: Done) -> None:
    """A Dask distributed cluster: every run is a task; a task whose worker dies is retried
    once by the scheduler (allowed failures 1), then its KilledWorker makes it ``crashed``."""
    try:
        from distributed import Client, KilledWorker, as_completed
    except ImportError:
        raise ImportError(
            "sweep: running on a Dask scheduler needs dask.distributed: pip install 'microgradnn[dask]'"
        ) from None
    client = scheduler if isinstance(scheduler, Client) else Client(scheduler, set_as_default=False)
    futures: dict[Any, tuple[dict[str, Any], int]] = {}
    try:
        try:
            # By value (a lambda), so a scheduler without microgradnn installed still takes it.
            client.run_on_scheduler(lambda dask_scheduler: setattr(dask_scheduler, "allowed_failures", 1))
        except Exception:  # a scheduler that refuses: its own setting applies (see the guide)
            pass
        for config, seed in todo:
            futures[client.submit(run_one, train, config, seed, fixed, pure=False)] = (config, seed)
        for future in as_completed(list(futures), loop=client.loop):
            config, seed = futures[future]
            try:
                record = future.result()
            except KilledWorker as err:
                record = _crashed(config, seed, err)
            done(record)
    finally:
        client.cancel(list(futures))
        if client is not scheduler:
            client.close()


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def _check_picklable(train: Train) -> None:
    try:
        import cloudpickle  # what loky and Dask send functions with
    except ImportError:  # pragma: no cover - older joblib vendors it
        from joblib.externals import cloudpickle

    try:
        cloudpickle.dumps(train)
    except Exception as err:
        raise TypeError(
            f"sweep: train cannot be sent to worker processes ({type(err).__name__}: {err}); make it a "
            "module-level function (or a functools.partial of one), or pass n_jobs=1"
        ) from None


# ------------------------------------------------------------------ sweep
def sweep(
    train: Train,
    grid: Mapping[str, Sequence[Any]],
    seeds: int = 5,
    results: str | os.PathLike[str] | None = "runs.jsonl",
    n_jobs: int | None = None,
    scheduler: Any = None,
    root_seed: int = 0,
    *,
    fixed: Mapping[str, Any] | None = None,
    progress: Progress | None = None,
) -> ResultsTable:
    """Run ``train(config, seed)`` for every cell of ``grid`` and every seed, and return the
    results table (mean, std, min and max of each metric over the seeds, per configuration).

    ``train`` gets one cell of the grid (a dict, with ``fixed`` merged in) and an int seed,
    and returns a dict of float metrics, optionally with ``"curve"``: a list of floats (the
    loss per epoch). Run i's seed comes from ``np.random.SeedSequence(root_seed).spawn(seeds)[i]``
    (see :func:`run_seeds`), the same for every configuration.

    Each finished run is appended to ``results`` (JSON Lines; ``None``: no file) at once. A
    rerun skips the runs recorded there; more seeds or new grid values extend the file; a
    different ``fixed`` (settings every run shares, recorded in the file's header) or
    ``root_seed`` is refused, naming the setting. A ``train`` that raises gives a ``failed``
    run, a non-finite metric or curve a ``diverged`` one, and the sweep goes on; only ``ok``
    runs enter the statistics.

    ``n_jobs``: 1 runs in this process; more (``None`` or -1: one per core) in joblib's worker
    processes. ``scheduler``: the address of a Dask scheduler (``"tcp://host:8786"``) or a
    ``distributed.Client``. Workers need ``train`` picklable: a module-level function of an
    importable module (or a ``functools.partial`` of one). BLAS runs one thread per run in
    every mode, so every mode gives the same numbers. ``progress(finished, total)`` is called
    once at the start and after each run.

    >>> import os, tempfile
    >>> def train(config, seed):
    ...     return {"loss": config["lr"] + seed % 7 / 100, "curve": [1.0, config["lr"]]}
    >>> path = os.path.join(tempfile.mkdtemp(), "runs.jsonl")
    >>> table = sweep(train, {"lr": [0.1, 1.0]}, seeds=3, results=path, n_jobs=1)
    >>> print(table)
    rank   lr  runs  loss mean   loss std  loss min  loss max
       1  0.1  3 ok       0.13  0.0173205      0.12      0.15
       2    1  3 ok       1.03  0.0173205      1.02      1.05
    >>> sum(1 for _ in open(path))  # a header and six runs
    7
    """
    if not callable(train):
        raise TypeError(f"sweep: train must be a function, not {type(train).__name__}")
    if isinstance(seeds, bool) or not isinstance(seeds, (int, np.integer)) or seeds < 1:
        raise ValueError(f"sweep: seeds must be a whole number >= 1, got {seeds!r}")
    if isinstance(root_seed, bool) or not isinstance(root_seed, (int, np.integer)) or root_seed < 0:
        raise ValueError(f"sweep: root_seed must be a whole number >= 0, got {root_seed!r}")
    fixed = dict(fixed or {})
    if not _is_json(fixed):
        raise TypeError("sweep: fixed must be a dict of JSON values (names, numbers, booleans, None, lists)")
    cells = expand_grid(grid)
    shared = sorted(set(grid) & set(fixed))
    if shared:
        raise ValueError(f"sweep: {', '.join(shared)} is both in the grid and in fixed: give it in one place")
    if n_jobs is None or n_jobs == -1:
        n_jobs = _cores()
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, (int, np.integer)) or n_jobs < 1:
        raise ValueError(f"sweep: n_jobs must be a whole number >= 1 (or -1 or None: one per core), got {n_jobs!r}")
    fixed = json.loads(json.dumps(fixed))

    wanted = [(cell, seed) for cell in cells for seed in run_seeds(int(seeds), int(root_seed))]
    file = ResultsFile(results, int(root_seed), fixed) if results is not None else None
    records: dict[tuple[str, int], dict[str, Any]] = {}
    if file is not None:
        for record in file.records:
            records.setdefault((config_key(record["config"]), record["seed"]), record)
    todo = [(cell, seed) for cell, seed in wanted if (config_key(cell), seed) not in records]
    if todo and (scheduler is not None or n_jobs > 1):
        _check_picklable(train)

    total, finished = len(wanted), len(wanted) - len(todo)
    if progress is not None:
        progress(finished, total)

    def done(record: dict[str, Any]) -> None:
        nonlocal finished
        if file is not None:
            file.append(record)
        records[(config_key(record["config"]), record["seed"])] = record
        finished += 1
        if progress is not None:
            progress(finished, total)

    with nullcontext() if file is None else closing(file):
        if not todo:
            pass
        elif scheduler is not None:
            _dask(train, todo, fixed, scheduler, done)
        elif n_jobs == 1:
            _serial(train, todo, fixed, done)
        else:
            _joblib(train, todo, fixed, min(int(n_jobs), len(todo)), done)
    return ResultsTable.from_records(records[(config_key(cell), seed)] for cell, seed in wanted)
