"""``microgradnn sweep``: the options of ``microgradnn train``, with lists of alternatives for
``--activation``, ``--optimizer``, ``--lr``, ``--hidden`` and ``--batch-size``, run over
``--seeds`` seeds in parallel; prints the table ranked by mean final loss.

The training function the workers run is :func:`train_run`, a module-level function taking
the configuration (the fixed settings merged with one cell of the grid) and a seed, so it
pickles by reference and every worker imports it from here.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import sys
from typing import Any

import numpy as np

from .. import nn
from ..autograd import no_grad
from ..cli import (
    ACTIVATIONS,
    DEFAULT_HIDDEN,
    DEFAULT_LR,
    DEFAULT_LR_CSV,
    Problem,
    Scaling,
    UsageError,
    _check_matplotlib,
    _check_model_size,
    _load_problem,
    _loss_function,
    _make_optimizer,
    _non_negative_float,
    _positive_int,
    _prepare_targets,
    _same_file,
    add_training_options,
)
from ..data import DataLoader, TensorDataset, train_test_split
from ..io import check_destination
from ..tensor import Tensor
from .plot import plot_sweep
from .results import ResultsError, ResultsTable
from .runner import _cores, expand_grid, sweep

__all__ = ["add_sweep_parser", "run_sweep", "train_run"]

# The fixed settings, by their names in the results file's header, and the flags that set them.
FIXED_FLAGS = {
    "dataset": "--dataset",
    "data": "--data",
    "data_sha256": "--data (the file's contents)",
    "target": "--target",
    "epochs": "--epochs",
    "loss": "--loss",
    "no_standardize": "--no-standardize",
    "val_split": "--val-split",
    "seed": "--seed",
    "root_seed": "--seed",
}


# ------------------------------------------------------------------ lists of alternatives
def _alternatives(text: str, parse: Any) -> list[Any]:
    values = []
    for part in text.split(","):
        value = parse(part.strip())
        if value in values:
            raise argparse.ArgumentTypeError(f"{part.strip()!r} is given twice")
        values.append(value)
    return values


def _names(choices: list[str], what: str) -> Any:
    def parse(text: str) -> list[str]:
        def one(name: str) -> str:
            if name not in choices:
                raise argparse.ArgumentTypeError(f"unknown {what} {name!r} (choose from {', '.join(choices)})")
            return name

        return _alternatives(text, one)

    return parse


def _layers(text: str) -> list[int]:
    if text.lower() in ("none", ""):
        return []
    sizes = []
    for part in text.split("x"):
        try:
            size = int(part)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not a list of layer sizes (a comma separates models, x separates layers: 4,8,4x4)"
            ) from None
        if size < 1:
            raise argparse.ArgumentTypeError(f"a layer size must be at least 1, got {size} in {text!r}")
        sizes.append(size)
    return sizes


def _hidden_lists(text: str) -> list[list[int]]:
    return _alternatives(text, _layers)


def _lr_list(text: str) -> list[float]:
    return _alternatives(text, _non_negative_float)


def _batch_list(text: str) -> list[int]:
    return _alternatives(text, _positive_int)


def add_sweep_parser(commands: Any) -> argparse.ArgumentParser:
    """Add ``microgradnn sweep`` to the subcommands of the ``microgradnn`` parser.

    >>> from microgradnn.cli import build_parser
    >>> args = build_parser().parse_args(["sweep", "--hidden", "4,8,4x4", "--activation", "tanh,relu"])
    >>> args.hidden, args.activation
    ([[4], [8], [4, 4]], ['tanh', 'relu'])
    """
    parser = commands.add_parser(
        "sweep",
        help="train every combination of activations, optimizers, ... over several seeds",
        description=(
            "Train every combination of the alternatives given (a comma separates alternatives, x separates "
            "layers: --hidden 4,8,4x4 is three models) over several seeds, in parallel, and print the "
            "configurations ranked by mean final loss (validation loss with --val-split). Each finished run "
            "is appended to --out; running the same command again skips the runs recorded there."
        ),
    )
    add_training_options(
        parser,
        alternatives={
            "--hidden": (_hidden_lists, "hidden layer sizes: alternatives 4,8,4x4 (default: 4; none for neuron)"),
            "--activation": (
                _names(sorted(ACTIVATIONS), "activation"),
                f"hidden activations: {', '.join(sorted(ACTIVATIONS))} (default sigmoid)",
            ),
            "--optimizer": (
                _names(sorted(DEFAULT_LR), "optimizer"),
                f"optimizers: {', '.join(sorted(DEFAULT_LR))} (default sgd)",
            ),
            "--lr": (_lr_list, "learning rates, e.g. 0.1,1 (default: each optimizer's, as in train)"),
            "--batch-size": (_batch_list, "rows per step, e.g. 2,4 (default: all rows)"),
        },
    )
    parser.add_argument("--seeds", type=_positive_int, default=5, help="runs per configuration (default 5)")
    parser.add_argument(
        "--n-jobs",
        type=_positive_int,
        default=None,
        help="worker processes (default: one per core; 1: in this process)",
    )
    parser.add_argument("--out", default="runs.jsonl", metavar="runs.jsonl", help="the results file (JSON Lines)")
    parser.add_argument(
        "--plot",
        metavar="sweep.png",
        help="save the mean loss curves with a band over seeds (and a heat map when two settings vary)",
    )
    parser.add_argument(
        "--scheduler", metavar="ADDRESS", help="run on a Dask cluster, e.g. tcp://HOST:8786 (the dask extra)"
    )
    parser.set_defaults(run=run_sweep)
    return parser


# ------------------------------------------------------------------ one run, in a worker
_PREPARED: dict[str, Any] = {}


def _prepared(config: dict[str, Any]) -> tuple[Problem, Any, Any, Any, Any, Scaling]:
    """The data of a run, read and split once per process (every run of a sweep shares them)."""
    key = repr([config.get(k) for k in ("dataset", "data", "data_sha256", "target", "loss", "val_split", "seed")])
    key += repr(config.get("no_standardize"))
    if key not in _PREPARED:
        _PREPARED.clear()
        args = argparse.Namespace(**config)
        problem = _load_problem(args)
        targets = _prepare_targets(problem, args.loss)
        if args.val_split:
            # The split depends on --seed alone: every configuration and seed sees the same rows.
            split = train_test_split(problem.X, targets, args.val_split, np.random.default_rng(args.seed))
            X_train, X_val, y_train, y_val = split
            if len(X_val) == 0 or len(X_train) == 0:
                side = "validation" if len(X_val) == 0 else "training"
                raise UsageError(f"--val-split {args.val_split} leaves no rows for {side} out of {len(problem.X)}")
        else:
            X_train, X_val, y_train, y_val = problem.X, None, targets, None
        standardize = not problem.embedded and not args.no_standardize
        scaling = Scaling.fit(X_train, y_train, features=standardize, target=standardize and args.loss == "mse")
        X_train = scaling.features(X_train)
        X_val = None if X_val is None else scaling.features(X_val)
        if args.loss == "mse":
            y_train = scaling.target(y_train)
            y_val = None if y_val is None else scaling.target(y_val)
        _PREPARED[key] = (problem, X_train, y_train, X_val, y_val, scaling)
    prepared: tuple[Problem, Any, Any, Any, Any, Scaling] = _PREPARED[key]
    return prepared


def _sizes(problem: Problem, config: dict[str, Any]) -> list[int]:
    hidden = config.get("hidden")
    if hidden is None:
        hidden = DEFAULT_HIDDEN[(config.get("dataset") or "trask") if problem.embedded else "csv"]
    outputs = len(problem.classes) if config["loss"] == "ce" and problem.classes else 1
    return [len(problem.features), *hidden, outputs]


def train_run(config: dict[str, Any], seed: int) -> dict[str, Any]:
    """One run of ``microgradnn sweep``: train as ``microgradnn train`` does, with the run's
    seed for the initial weights and the shuffling (the split depends on ``--seed`` alone), and
    return the final ``loss`` (``val_loss`` too with a split) and the loss ``curve`` per epoch
    (6 significant digits: it is for the picture).

    >>> config = {"dataset": "trask", "data": None, "target": None, "loss": "mse", "epochs": 50,
    ...           "val_split": 0.0, "no_standardize": False, "seed": 1, "activation": "tanh", "optimizer": "adam"}
    >>> out = train_run(config, seed=3)
    >>> sorted(out), len(out["curve"]), out["loss"] < out["curve"][0]
    (['curve', 'loss'], 50, True)
    """
    problem, X_train, y_train, X_val, y_val, scaling = _prepared(config)
    loss_name = config["loss"]
    rng = np.random.default_rng(seed)
    output_activation = nn.Sigmoid if (loss_name == "mse" and problem.embedded) else None
    model = nn.MLP(
        *_sizes(problem, config),
        activation=ACTIVATIONS[config["activation"]],
        output_activation=output_activation,
        rng=rng,
    )
    loss_fn = _loss_function(loss_name)
    lr = config.get("lr")
    if lr is None:
        lr = (DEFAULT_LR if problem.embedded else DEFAULT_LR_CSV)[config["optimizer"]]
    optimizer = _make_optimizer(config["optimizer"], model.parameters(), lr)
    batch_size = config.get("batch_size")
    batches: Any
    if batch_size is None or batch_size >= len(X_train):
        batches = [(Tensor(X_train), Tensor(y_train) if loss_name != "ce" else y_train)]
    else:
        batches = DataLoader(TensorDataset(X_train, y_train), batch_size=batch_size, shuffle=True, rng=rng)
    # Losses in the target's own units (training ran on the standardised target), as train prints.
    unit = scaling.target_std**2 if loss_name == "mse" else 1.0
    losses: list[float] = []
    for _ in range(config["epochs"]):
        total, rows = 0.0, 0
        for xb, yb in batches:
            loss = loss_fn(model(xb), yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(xb)
            rows += len(xb)
        losses.append(total / rows * unit)
        if not math.isfinite(losses[-1]):
            break  # diverged: the sweep records it so
    metrics: dict[str, Any] = {"loss": losses[-1]}
    if X_val is not None and y_val is not None:
        with no_grad():
            value = loss_fn(model(Tensor(X_val)), Tensor(y_val) if loss_name != "ce" else y_val).item()
        metrics["val_loss"] = value * unit
    metrics["curve"] = [float(f"{v:.6g}") for v in losses]
    return metrics


# ------------------------------------------------------------------ the command
def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _check_outputs(args: argparse.Namespace) -> None:
    outputs = [("--out", args.out)] + ([("--plot", args.plot)] if args.plot else [])
    for option, path in outputs:
        if args.data is not None and _same_file(path, args.data):
            raise UsageError(f"{option} {path} is the input file (--data {args.data}): refusing to write over it")
        try:
            check_destination(path)
        except (OSError, ValueError) as err:
            raise UsageError(f"{option}: {err}") from None
    if args.plot and _same_file(args.plot, args.out):
        raise UsageError(f"--plot {args.plot} and --out {args.out} are the same file: give each its own")


def _connect(address: str) -> Any:
    try:
        from distributed import Client
    except ImportError:
        raise UsageError("--scheduler needs dask.distributed: pip install 'microgradnn[dask]'") from None
    try:
        return Client(address, timeout="10s", set_as_default=False)
    except (OSError, TimeoutError, ValueError, TypeError) as err:
        raise UsageError(f"--scheduler {address}: cannot reach the scheduler: {' '.join(str(err).split())}") from None


def run_sweep(args: argparse.Namespace) -> int:
    """``microgradnn sweep``."""
    from tqdm import tqdm  # the command line's own dependency; the library never imports it

    # Everything is checked before any run: the data, the model sizes, the outputs.
    _check_outputs(args)
    if args.plot:
        _check_matplotlib()
    fixed: dict[str, Any] = {
        "dataset": None if args.data is not None else (args.dataset or "trask"),
        "data": args.data,
        "data_sha256": _sha256(args.data) if args.data is not None else None,
        "target": args.target,
        "epochs": args.epochs,
        "loss": args.loss,
        "no_standardize": args.no_standardize,
        "val_split": args.val_split,
        "seed": args.seed,
    }
    grid: dict[str, list[Any]] = {"activation": args.activation, "optimizer": args.optimizer}
    for key in ("lr", "hidden", "batch_size"):
        if getattr(args, key) is not None:
            grid[key] = getattr(args, key)
    problem = _prepared(fixed)[0]
    for cell in expand_grid(grid):
        _check_model_size(_sizes(problem, {**fixed, **cell}))
    metric = "val_loss" if args.val_split else "loss"

    client = _connect(args.scheduler) if args.scheduler else None
    n_jobs = args.n_jobs if args.n_jobs is not None else _cores()
    bar: Any = None
    recorded = 0

    def progress(finished: int, total: int) -> None:
        nonlocal bar, recorded
        if bar is None:
            recorded = finished
            bar = tqdm(total=total, initial=finished, desc="runs", unit="run", file=sys.stderr, dynamic_ncols=True)
        else:
            bar.update(finished - bar.n)

    try:
        table = sweep(
            train_run,
            grid,
            seeds=args.seeds,
            results=args.out,
            n_jobs=n_jobs,
            scheduler=client,
            root_seed=args.seed,
            fixed=fixed,
            progress=progress,
        )
    except ResultsError as err:
        if err.setting in FIXED_FLAGS:
            raise UsageError(f"{err} (the option {FIXED_FLAGS[err.setting]})") from None
        raise UsageError(str(err)) from None
    except KeyboardInterrupt:
        if bar is not None:
            bar.close()
        print(f"microgradnn sweep: every finished run is kept in {args.out}; run again to finish", file=sys.stderr)
        raise
    finally:
        if bar is not None:
            bar.close()
        if client is not None:
            client.close()
    return _report(table.sort_by(metric), args, metric, recorded)


def _report(table: ResultsTable, args: argparse.Namespace, metric: str, recorded: int) -> int:
    runs = sum(sum(row.statuses.values()) for row in table)
    again = f" ({recorded} already recorded in {args.out})" if recorded else ""
    print(f"{len(table)} configurations x {args.seeds} seeds = {runs} runs{again}, ranked by mean final {metric}:")
    print(table)
    bad = sum(row.statuses.get(s, 0) for row in table for s in ("failed", "crashed"))
    if bad:
        print(f"{bad} runs failed or crashed: their messages are in {args.out}")
    print(f"runs recorded in {args.out}")
    if args.plot:
        plot_sweep(table, args.plot, metric)
        print(f"saved the plot to {args.plot}")
    return 1 if bad else 0
