"""The command line: ``microgradnn train``, ``microgradnn predict``, ``microgradnn sweep`` and
``microgradnn gradcheck``.

``microgradnn train`` with no options trains the second tutorial's network on its truth table
(three 0/1 inputs, target = XOR of the first two). Bad input never shows a traceback: one line
on stderr, exit status 2, and no output file written.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import __version__, nn, optim
from .autograd import no_grad
from .builtin_checks import builtin_checks
from .data import DataError, DataLoader, TensorDataset, load_csv, read_csv, train_test_split
from .gradcheck import GradcheckReport, gradcheck, gradcheck_module
from .io import CheckpointError, atomic_write, check_destination, load, save
from .tensor import Tensor
from .viz import require_matplotlib, save_loss_curve, to_dot

MODEL_KIND = "microgradnn-cli-model"
MODEL_VERSION = 2  # 2: safetensors files, with the target's scaling

# The embedded tables. Trask's: three 0/1 inputs, target = XOR of the first two (the third
# input is always 1, a bias). The first tutorial's: target = the first input.
DATASETS = {
    "trask": (np.array([[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]], dtype=float), np.array([0.0, 1.0, 1.0, 0.0])),
    "neuron": (np.array([[0, 0, 1], [1, 1, 1], [1, 0, 1], [0, 1, 1]], dtype=float), np.array([0.0, 1.0, 1.0, 0.0])),
}
# Hidden layers when --hidden is not given: the tutorials' shapes, and one layer of 4 for CSV.
DEFAULT_HIDDEN = {"trask": [4], "neuron": [], "csv": [4]}
ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}
# Learning rates when --lr is not given: the tutorials' 1.0 on the embedded tables, and rates
# that train every table bundled with scikit-learn (standardised) on CSV data.
DEFAULT_LR = {"sgd": 1.0, "momentum": 0.5, "adam": 0.01, "rmsprop": 0.01}
DEFAULT_LR_CSV = {"sgd": 0.1, "momentum": 0.01, "adam": 0.01, "rmsprop": 0.01}


class UsageError(ValueError):
    """Bad input from the command line: printed as one line, exit status 2."""


# ------------------------------------------------------------------ parsing
class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (and status 2)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n")


def _whole_number(text: str, least: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < least:
        raise argparse.ArgumentTypeError(f"must be at least {least}, got {value}")
    return value


def _positive_int(text: str) -> int:
    return _whole_number(text, 1)


def _seed(text: str) -> int:
    return _whole_number(text, 0)


def _non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text}")
    return value


def _fraction(text: str) -> float:
    value = _non_negative_float(text)
    if value >= 1:
        raise argparse.ArgumentTypeError(f"must be below 1, got {text}")
    return value


def _hidden_sizes(text: str) -> list[int]:
    if text.strip().lower() in ("none", ""):
        return []
    sizes = []
    for part in text.split(","):
        try:
            size = int(part)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{part.strip()!r} is not a layer size (use e.g. 4,4 or none)") from None
        if size < 1:
            raise argparse.ArgumentTypeError(f"a layer size must be at least 1, got {size}")
        sizes.append(size)
    return sizes


def _numbers(text: str) -> list[float]:
    try:
        values = [float(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of numbers") from None
    if not all(math.isfinite(v) for v in values):
        raise argparse.ArgumentTypeError(f"{text!r} holds a value that is not finite")
    return values


def add_training_options(
    parser: argparse.ArgumentParser, alternatives: dict[str, tuple[Callable[[str], Any], str]] | None = None
) -> None:
    """Add the options of ``microgradnn train`` that describe one training run (data, model,
    optimizer, epochs, loss, split) to ``parser``; ``microgradnn sweep`` takes them all too.

    ``alternatives`` maps some of the flags ``--hidden``, ``--activation``, ``--optimizer``,
    ``--lr``, ``--batch-size`` to ``(type, help)``: the sweep's parsers of comma-separated lists.

    >>> parser = argparse.ArgumentParser()
    >>> add_training_options(parser)
    >>> parser.parse_args(["--epochs", "5"]).epochs
    5
    """
    lists = alternatives or {}

    def option(flag: str, **kwargs: Any) -> None:
        if flag in lists:  # a list of alternatives: its own parser checks the names
            kwargs.pop("choices", None)
            kwargs["type"], kwargs["help"] = lists[flag]
            kwargs["metavar"] = kwargs.get("metavar", "A,B,...")
        parser.add_argument(flag, **kwargs)

    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--dataset",
        choices=sorted(DATASETS),
        help="embedded data: trask (default; XOR of the first two inputs) or neuron (target = first input)",
    )
    source.add_argument("--data", metavar="FILE.csv", help="a numeric CSV with a header row")
    parser.add_argument("--target", metavar="COLUMN", help="the CSV column to predict (with --data)")
    option(
        "--hidden",
        type=_hidden_sizes,
        metavar="SIZES",
        help="hidden layer sizes, e.g. 4,4, or none (default: 4; none for --dataset neuron)",
    )
    option("--activation", choices=sorted(ACTIVATIONS), default="sigmoid", help="hidden activation (default sigmoid)")
    option(
        "--optimizer",
        choices=sorted(DEFAULT_LR),
        default="sgd",
        help="sgd (default), momentum (SGD with 0.9), adam or rmsprop",
    )
    option(
        "--lr",
        type=_non_negative_float,
        help=(
            "learning rate (default: sgd 1.0, momentum 0.5 on the embedded tables, 0.1 and 0.01 on CSV "
            "data; adam and rmsprop 0.01)"
        ),
    )
    parser.add_argument("--epochs", type=_positive_int, default=10_000, help="passes over the data (default 10000)")
    option("--batch-size", type=_positive_int, help="rows per step (default: all rows)")
    parser.add_argument(
        "--seed", type=_seed, default=1, help="seed for initial weights, shuffling and the split (default 1)"
    )
    parser.add_argument(
        "--loss",
        choices=["mse", "bce", "ce"],
        default="mse",
        help=(
            "mse (default; a sigmoid output on the embedded tables, a linear one "
            "on CSV data), bce (binary, on logits) or ce (classes, on logits)"
        ),
    )
    parser.add_argument(
        "--no-standardize", action="store_true", help="keep CSV features as they are (default: scale to mean 0, std 1)"
    )
    parser.add_argument(
        "--val-split",
        type=_fraction,
        default=0.0,
        metavar="FRACTION",
        help="hold out this fraction of rows for validation",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for all subcommands."""
    parser = _Parser(prog="microgradnn", description="Train, check and use small neural networks with microgradnn.")
    parser.add_argument("--version", action="version", version=f"microgradnn {__version__}")
    commands = parser.add_subparsers(dest="command", parser_class=_Parser)

    train = commands.add_parser(
        "train",
        help="train a network (default: Trask's truth table)",
        description="Train a network on an embedded truth table or on a CSV file.",
    )
    add_training_options(train)
    train.add_argument(
        "--save",
        metavar="MODEL.safetensors",
        help="save the trained model (architecture, feature names, scaling, weights)",
    )
    train.add_argument("--predict", type=_numbers, metavar="X1,X2,...", help="print the prediction for one input")
    train.add_argument(
        "--gradcheck",
        action="store_true",
        help=(
            "check the model's gradients before training and print the report (random projections above 1,000 weights)"
        ),
    )
    train.add_argument(
        "--plot", metavar="loss.png", help="save the loss curve (needs the plot extra: pip install 'microgradnn[plot]')"
    )
    train.add_argument(
        "--graph",
        metavar="graph.dot",
        help="save the computation graph of one forward pass and loss, as Graphviz DOT (- for standard output)",
    )
    train.set_defaults(run=run_train)

    predict = commands.add_parser(
        "predict", help="predict with a saved model", description="Print one prediction per CSV row."
    )
    predict.add_argument("model", metavar="MODEL.safetensors", help="a model saved by `microgradnn train --save`")
    predict.add_argument(
        "--data", metavar="FILE.csv", help="CSV with the training feature columns (default: read stdin)"
    )
    predict.set_defaults(run=run_predict)

    from .experiments.command import add_sweep_parser  # here: the sweep's module imports this one

    add_sweep_parser(commands)

    check = commands.add_parser(
        "gradcheck",
        help="check every built-in op and layer against finite differences",
        description="Run gradcheck on every built-in operation and layer and print the errors.",
    )
    check.add_argument("--seed", type=_seed, default=0, help="seed for the random inputs (default 0)")
    check.add_argument(
        "--eps",
        metavar="FIRST:LAST",
        type=_eps_steps,
        help="study the finite-difference step instead: one step per decade from FIRST down to LAST "
        "(e.g. 1e-1:1e-12), in float64 and float32; prints each op's error at each step and the best step",
    )
    check.add_argument(
        "--plot", metavar="FILE.png", help="with --eps: save the error against the step, log-log, per dtype"
    )
    check.set_defaults(run=run_gradcheck)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return args.run(args)
    except (UsageError, DataError, CheckpointError) as err:
        print(f"microgradnn {args.command}: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        if isinstance(err, BrokenPipeError):
            # The reader (`| head`) stopped early: not an error. Quiet the final flush too.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0
        what = err.filename if err.filename else "a file"
        print(f"microgradnn {args.command}: error: {what}: {err.strerror or err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"microgradnn {args.command}: interrupted", file=sys.stderr)
        return 130


# ------------------------------------------------------------------ train
#: The largest model the command line builds (weights and biases): larger is surely a typo.
MAX_WEIGHTS = 10**8
#: More distinct values than this in a --loss ce target is a numeric target, not classes.
MAX_CLASSES = 100


@dataclass
class Problem:
    """What a training run works on, after reading and checking the input."""

    X: np.ndarray
    y: np.ndarray  # float64 numbers, or strings (class names)
    features: list[str]
    target: str
    classes: list[Any] | None  # class labels in sorted order, for --loss ce (and bce with names)
    embedded: bool


def _load_problem(args: argparse.Namespace) -> Problem:
    if args.data is None:
        if args.target is not None:
            raise UsageError("--target needs --data")
        name = args.dataset or "trask"
        X, y = DATASETS[name]
        return Problem(X.copy(), y.copy(), ["x1", "x2", "x3"], "y", None, embedded=True)
    if args.target is None:
        raise UsageError("--data needs --target COLUMN")
    X, y, features = load_csv(args.data, args.target)
    return Problem(X, y, features, args.target, None, embedded=False)


def _prepare_targets(problem: Problem, loss: str) -> np.ndarray:
    """Targets in the form the loss wants: (N, 1) floats, or class indices for ce.

    Class labels (names, or whole numbers for ce) are kept in sorted order in
    ``problem.classes``; for bce with names, the second is the positive class.
    """
    y, column = problem.y, repr(problem.target)
    names = y.dtype.kind == "U"
    if loss == "mse":
        if names:
            raise UsageError(
                f"--loss mse needs a numeric target; column {column} holds names such as {y[0]!r}: "
                "use --loss ce (or bce for two classes)"
            )
        return y.reshape(-1, 1)
    labels = sorted(set(y.tolist()))
    if loss == "bce":
        if not names:
            if y.min() < 0 or y.max() > 1:
                raise UsageError(
                    f"--loss bce needs targets in [0, 1] in column {column}, found {y.min():g} to {y.max():g}"
                )
            return y.reshape(-1, 1)
        if len(labels) != 2:
            raise UsageError(f"--loss bce needs exactly 2 classes in column {column}, found {len(labels)}")
        problem.classes = labels
        return (y == labels[1]).astype(float).reshape(-1, 1)
    if not names and np.any(y != np.round(y)):
        bad = y[y != np.round(y)][0]
        raise UsageError(
            f"--loss ce needs whole-number class labels in column {column}, found {bad:g}; "
            "for a numeric target use --loss mse"
        )
    if len(labels) > MAX_CLASSES:
        raise UsageError(
            f"--loss ce takes at most {MAX_CLASSES} classes, and column {column} has {len(labels)} distinct "
            "values; for a numeric target use --loss mse"
        )
    if len(labels) < 2:
        raise UsageError(f"--loss ce needs at least 2 classes in column {column}, found {len(labels)}")
    problem.classes = labels
    return np.searchsorted(np.array(labels), y)


def _same_file(a: str, b: str) -> bool:
    """Whether two paths name one file: through links, ``..`` and different spellings."""
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet): compare where they lead
        return os.path.realpath(a) == os.path.realpath(b)


def _check_outputs(args: argparse.Namespace) -> None:
    """Refuse, before anything runs, every output that could not be written or that would
    destroy something: an input file, another output, a device, a folder."""
    outputs = [(option, path) for option, path in (("--save", args.save), ("--plot", args.plot)) if path]
    if args.graph and args.graph != "-":  # "-" is standard output
        outputs.append(("--graph", args.graph))
    for i, (option, path) in enumerate(outputs):
        if args.data is not None and _same_file(path, args.data):
            raise UsageError(f"{option} {path} is the input file (--data {args.data}): refusing to write over it")
        for other_option, other in outputs[:i]:
            if _same_file(path, other):
                raise UsageError(f"{option} {path} and {other_option} {other} are the same file: give each its own")
        try:
            check_destination(path)
        except (OSError, ValueError) as err:
            raise UsageError(f"{option}: {err}") from None


def _check_model_size(sizes: list[int]) -> None:
    weights = sum((n_in + 1) * n_out for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True))
    if weights > MAX_WEIGHTS:
        raise UsageError(
            f"the model {' -> '.join(map(str, sizes))} would have {weights:,} weights, more than "
            f"{MAX_WEIGHTS:,}: use smaller --hidden sizes"
        )


def _check_matplotlib() -> None:
    try:
        require_matplotlib()
    except ImportError:
        raise UsageError("--plot needs matplotlib: pip install 'microgradnn[plot]'") from None


def _loss_function(loss: str) -> nn.Module:
    return {"mse": nn.MSELoss(), "bce": nn.BCEWithLogitsLoss(), "ce": nn.CrossEntropyLoss()}[loss]


def _make_optimizer(name: str, params: Any, lr: float) -> optim.Optimizer:
    if name == "sgd":
        return optim.SGD(params, lr=lr)
    if name == "momentum":
        return optim.SGD(params, lr=lr, momentum=0.9)
    if name == "adam":
        return optim.Adam(params, lr=lr)
    return optim.RMSprop(params, lr=lr)


@dataclass
class Scaling:
    """Standardisation of features and of a regression target, from the training rows."""

    mean: np.ndarray | None = None
    std: np.ndarray | None = None
    target_mean: float = 0.0
    target_std: float = 1.0

    @classmethod
    def fit(cls, X: np.ndarray, y: np.ndarray, features: bool, target: bool) -> Scaling:
        """The scaling of training rows ``X`` and (for a numeric target) ``y``."""
        scaling = cls()
        if features:
            std = X.std(axis=0)
            scaling.mean, scaling.std = X.mean(axis=0), np.where(std > 0, std, 1.0)  # a constant column stays
        if target:
            std_y = float(y.std())
            scaling.target_mean, scaling.target_std = float(y.mean()), std_y if std_y > 0 else 1.0
        return scaling

    def features(self, X: np.ndarray) -> np.ndarray:
        """``X`` standardised (as it is, without feature scaling)."""
        return X if self.mean is None or self.std is None else (X - self.mean) / self.std

    def target(self, y: np.ndarray) -> np.ndarray:
        """A numeric target standardised."""
        return (y - self.target_mean) / self.target_std

    def untarget(self, y: np.ndarray) -> np.ndarray:
        """Predictions in the target's own units."""
        return y * self.target_std + self.target_mean


def _predictions(model: nn.Module, loss: str, X: np.ndarray, classes: list[Any] | None, scaling: Scaling) -> np.ndarray:
    """What the model predicts for (standardised) rows X: a value, a probability, or a class."""
    with no_grad():
        out = model(Tensor(X)).data
    if loss == "bce":
        probability = 1 / (1 + np.exp(-np.clip(out[:, 0], -500, 500)))
        return probability if classes is None else np.array(classes)[(probability > 0.5).astype(int)]
    if loss == "ce":
        return np.array(classes)[out.argmax(axis=1)]
    return scaling.untarget(out[:, 0])


def _format(value: Any) -> str:
    return value if isinstance(value, str) else f"{value:.6g}"


def _print_table(problem: Problem, X: np.ndarray, y: np.ndarray, predictions: np.ndarray, limit: int = 10) -> None:
    header = problem.features + [f"target ({problem.target})", "prediction"]
    rows = [
        [_format(v) for v in x] + [_format(t), _format(p)]
        for x, t, p in zip(X[:limit], y[:limit].tolist(), predictions[:limit].tolist(), strict=True)
    ]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    print("  ".join(h.rjust(w) for h, w in zip(header, widths, strict=True)))
    for row in rows:
        print("  ".join(v.rjust(w) for v, w in zip(row, widths, strict=True)))
    if len(X) > limit:
        print(f"... ({len(X)} rows, first {limit} shown)")


def run_train(args: argparse.Namespace) -> int:
    """``microgradnn train``."""
    # Everything is checked before any training, so that bad input writes no file.
    _check_outputs(args)
    if args.plot:
        _check_matplotlib()
    problem = _load_problem(args)
    targets = _prepare_targets(problem, args.loss)
    if args.hidden is not None:
        hidden = args.hidden
    else:
        hidden = DEFAULT_HIDDEN[(args.dataset or "trask") if problem.embedded else "csv"]
    outputs = len(problem.classes) if args.loss == "ce" and problem.classes else 1
    sizes = [len(problem.features), *hidden, outputs]
    _check_model_size(sizes)
    if args.predict is not None and len(args.predict) != len(problem.features):
        raise UsageError(
            f"--predict has {len(args.predict)} values; the model takes "
            f"{len(problem.features)} ({', '.join(problem.features)})"
        )
    rng = np.random.default_rng(args.seed)

    if args.val_split:
        X_train, X_val, y_train, y_val = train_test_split(problem.X, targets, args.val_split, rng)
        if len(X_val) == 0 or len(X_train) == 0:
            side = "validation" if len(X_val) == 0 else "training"
            raise UsageError(f"--val-split {args.val_split} leaves no rows for {side} out of {len(problem.X)}")
    else:
        X_train, X_val, y_train, y_val = problem.X, None, targets, None
    # Standardise with the training rows' statistics only, so validation stays unseen. A
    # regression target is standardised too: then one learning rate suits every table.
    standardize = not problem.embedded and not args.no_standardize
    scaling = Scaling.fit(X_train, y_train, features=standardize, target=standardize and args.loss == "mse")
    X_train = scaling.features(X_train)
    X_val = None if X_val is None else scaling.features(X_val)
    if args.loss == "mse":
        y_train = scaling.target(y_train)
        y_val = None if y_val is None else scaling.target(y_val)
    X = scaling.features(problem.X)

    output_activation = nn.Sigmoid if (args.loss == "mse" and problem.embedded) else None
    model = nn.MLP(*sizes, activation=ACTIVATIONS[args.activation], output_activation=output_activation, rng=rng)
    loss_fn = _loss_function(args.loss)
    lr = args.lr if args.lr is not None else (DEFAULT_LR if problem.embedded else DEFAULT_LR_CSV)[args.optimizer]
    optimizer = _make_optimizer(args.optimizer, model.parameters(), lr)
    y_train_t = Tensor(y_train) if args.loss != "ce" else y_train

    # With the graph on standard output, the report goes to stderr: stdout holds DOT alone.
    report = sys.stderr if args.graph == "-" else sys.stdout
    if args.gradcheck:
        # A full check costs two loss evaluations per weight: large models get random projections.
        fast = sum(p.numel() for p in model.parameters()) > 1_000
        report_ = gradcheck_module(model, loss_fn, Tensor(X_train), y_train_t, raise_exception=False, fast_mode=fast)
        print(report_, file=report)
    if args.graph:
        graph = to_dot(loss_fn(model(Tensor(X_train)), y_train_t))

    losses = _train_loop(model, loss_fn, optimizer, X_train, y_train, args, rng)
    # Report mse in the target's own units (training ran on the standardised target).
    losses = [v * scaling.target_std**2 for v in losses] if args.loss == "mse" else losses
    # A rise by a factor of 10 is divergence (a noisy or stuck run may rise a little).
    if len(losses) > 1 and losses[-1] > 10 * losses[0]:
        raise UsageError(
            f"training diverged: the loss rose from {losses[0]:.6g} (epoch 1) to {losses[-1]:.6g} "
            f"(epoch {len(losses)}); try a smaller --lr"
        )

    print(
        f"{'dataset ' + (args.dataset or 'trask') if problem.embedded else args.data}: {len(X)} rows, "
        f"model {' -> '.join(map(str, sizes))} ({args.activation}), {args.optimizer} lr={lr:g}, {args.epochs} epochs",
        file=report,
    )
    with contextlib.redirect_stdout(report):
        _print_table(problem, problem.X, problem.y, _predictions(model, args.loss, X, problem.classes, scaling))
    print(f"final loss ({args.loss}): {losses[-1]:.6g}", file=report)
    if X_val is not None and y_val is not None:
        with contextlib.redirect_stdout(report):
            _print_validation(model, loss_fn, args.loss, X_val, y_val, problem.classes, scaling)
    if args.predict is not None:
        x = scaling.features(np.array([args.predict]))
        print(
            f"prediction for [{', '.join(_format(v) for v in args.predict)}]: "
            f"{_format(_predictions(model, args.loss, x, problem.classes, scaling)[0])}",
            file=report,
        )

    if args.save:
        save(
            {
                "kind": MODEL_KIND,
                "version": MODEL_VERSION,
                "sizes": sizes,
                "activation": args.activation,
                "output": "sigmoid" if output_activation else "none",
                "loss": args.loss,
                "features": problem.features,
                "target": problem.target,
                "classes": problem.classes,
                "scaling": None if scaling.mean is None else {"mean": scaling.mean, "std": scaling.std},
                "target_scaling": (
                    {"mean": scaling.target_mean, "std": scaling.target_std}
                    if standardize and args.loss == "mse"
                    else None
                ),
                "state": model.state_dict(),
            },
            args.save,
        )
        print(f"saved the model to {args.save}", file=report)
    if args.graph == "-":
        sys.stdout.write(graph + "\n")
    elif args.graph:
        with atomic_write(args.graph) as f:
            f.write((graph + "\n").encode("utf-8"))
        print(f"saved the graph to {args.graph}", file=report)
    if args.plot:
        save_loss_curve(losses, args.plot, xlabel="epoch")
        print(f"saved the loss curve to {args.plot}", file=report)
    return 0


def _print_validation(
    model: nn.Module,
    loss_fn: nn.Module,
    loss: str,
    X: np.ndarray,
    y: np.ndarray,
    classes: list[Any] | None,
    scaling: Scaling,
) -> None:
    with no_grad():
        value = loss_fn(model(Tensor(X)), Tensor(y) if loss != "ce" else y).item()
    if loss == "mse":
        value *= scaling.target_std**2
    line = f"validation loss: {value:.6g} on {len(X)} rows"
    if loss == "ce":
        accuracy = np.mean(_predictions(model, "ce", X, classes, scaling) == np.array(classes)[y])
        line += f", accuracy {accuracy:.1%}"
    print(line)


def _train_loop(
    model: nn.Module,
    loss_fn: nn.Module,
    optimizer: optim.Optimizer,
    X: np.ndarray,
    y: np.ndarray,
    args: argparse.Namespace,
    rng: np.random.Generator,
) -> list[float]:
    from tqdm import tqdm  # the command line's own dependency; the library never imports it

    full_batch = args.batch_size is None or args.batch_size >= len(X)
    batches: Any
    if full_batch:
        batches = [(Tensor(X), Tensor(y) if args.loss != "ce" else y)]
    else:
        batches = DataLoader(TensorDataset(X, y), batch_size=args.batch_size, shuffle=True, rng=rng)
    losses: list[float] = []
    report_every = max(1, args.epochs // 200)
    with tqdm(
        range(args.epochs), desc="training", unit="epoch", file=sys.stderr, mininterval=0.25, dynamic_ncols=True
    ) as bar:
        for epoch in bar:
            total, rows = 0.0, 0
            for xb, yb in batches:
                loss = loss_fn(model(xb), yb)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                n = len(xb)
                total += loss.item() * n
                rows += n
            losses.append(total / rows)
            if not math.isfinite(losses[-1]):
                raise UsageError(
                    f"training diverged: the loss became {losses[-1]} at epoch {epoch + 1}; try a smaller --lr"
                )
            if epoch % report_every == 0 or epoch == args.epochs - 1:
                bar.set_postfix(loss=f"{losses[-1]:.4g}", refresh=False)
    return losses


# ------------------------------------------------------------------ predict
def _model_error(path: str, what: str) -> UsageError:
    return UsageError(f"{path}: not a usable model file: {what}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_model(saved: Any, path: str) -> None:
    """Check a model file's description against its weights before anything is built, so an
    edited or hostile file is refused in one line (never a traceback, a huge allocation, or
    predictions made with a scaling that does not fit)."""
    if not isinstance(saved, dict) or saved.get("kind") != MODEL_KIND:
        raise UsageError(f"{path} is a checkpoint but not a model saved by `microgradnn train --save`")
    if saved.get("version") != MODEL_VERSION:
        raise UsageError(
            f"{path} is model format version {saved.get('version')}; this microgradnn reads {MODEL_VERSION}"
        )
    fields = ("sizes", "activation", "output", "loss", "features", "target", "classes", "scaling", "state")
    missing = [f for f in (*fields, "target_scaling") if f not in saved]
    if missing:
        raise _model_error(path, f"no {', '.join(missing)}")
    sizes, loss, classes = saved["sizes"], saved["loss"], saved["classes"]
    if not isinstance(sizes, list) or len(sizes) < 2 or not all(_is_int(n) and n >= 1 for n in sizes):
        raise _model_error(path, f"sizes must be a list of at least two positive whole numbers, not {sizes!r}")
    if saved["activation"] not in ACTIVATIONS:
        raise _model_error(path, f"unknown activation {saved['activation']!r}")
    if saved["output"] not in ("sigmoid", "none"):
        raise _model_error(path, f"unknown output {saved['output']!r}")
    if loss not in ("mse", "bce", "ce"):
        raise _model_error(path, f"unknown loss {loss!r}")
    features = saved["features"]
    if not isinstance(features, list) or not all(isinstance(f, str) for f in features) or not features:
        raise _model_error(path, "features must be a list of column names")
    if len(features) != sizes[0] or len(set(features)) != len(features):
        raise _model_error(path, f"{len(features)} features (some repeated?) for a model of {sizes[0]} inputs")
    if not isinstance(saved["target"], str):
        raise _model_error(path, "the target must be a column name")
    _check_classes(classes, loss, sizes[-1], path)
    _check_scaling(saved["scaling"], saved["target_scaling"], sizes[0], loss, path)
    state = saved["state"]
    if not isinstance(state, dict) or not all(isinstance(v, np.ndarray) for v in state.values()):
        raise _model_error(path, "state must map names to arrays")
    stored = sum(v.size for v in state.values())
    expected = sum((n_in + 1) * n_out for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True))
    if stored != expected:
        # Checked before building the model: its size is then bounded by what the file holds.
        raise _model_error(path, f"sizes {sizes} need {expected:,} weights but the file holds {stored:,}")
    for name, value in state.items():
        if value.dtype.kind != "f" or not np.isfinite(value).all():
            raise _model_error(path, f"weights {name!r} are not finite floating-point numbers")


def _check_classes(classes: Any, loss: str, outputs: int, path: str) -> None:
    if loss == "mse" or (loss == "bce" and classes is None):
        if classes is not None:
            raise _model_error(path, f"a {loss} model has no classes")
        if outputs != 1:
            raise _model_error(path, f"a {loss} model has one output, not {outputs}")
        return
    want = outputs if loss == "ce" else 2
    if loss == "bce" and outputs != 1:
        raise _model_error(path, f"a bce model has one output, not {outputs}")
    if not isinstance(classes, list) or len(classes) != want or len(set(classes)) != want:
        raise _model_error(path, f"a {loss} model with {outputs} output(s) needs {want} distinct class labels")
    if not all(isinstance(c, str) or (isinstance(c, float) and math.isfinite(c)) for c in classes):
        raise _model_error(path, "class labels must be names or finite numbers")


def _check_scaling(scaling: Any, target_scaling: Any, inputs: int, loss: str, path: str) -> None:
    if scaling is not None:
        if not isinstance(scaling, dict) or set(scaling) != {"mean", "std"}:
            raise _model_error(path, "scaling must hold mean and std")
        for key in ("mean", "std"):
            value = scaling[key]
            if not isinstance(value, np.ndarray) or value.shape != (inputs,) or value.dtype.kind != "f":
                raise _model_error(path, f"the scaling's {key} must be {inputs} numbers, one per feature")
            if not np.isfinite(value).all():
                raise _model_error(path, f"the scaling's {key} is not finite")
        if not (scaling["std"] > 0).all():
            raise _model_error(path, "the scaling's std must be above 0")
    if target_scaling is not None:
        if loss != "mse":
            raise _model_error(path, f"a {loss} model has no target scaling")
        if not isinstance(target_scaling, dict) or set(target_scaling) != {"mean", "std"}:
            raise _model_error(path, "the target scaling must hold mean and std")
        mean, std = target_scaling["mean"], target_scaling["std"]
        if not all(isinstance(v, float) and math.isfinite(v) for v in (mean, std)) or std <= 0:
            raise _model_error(path, "the target scaling must be a finite mean and a std above 0")


def run_predict(args: argparse.Namespace) -> int:
    """``microgradnn predict``."""
    saved = load(args.model)
    _check_model(saved, args.model)
    if args.data is None and sys.stdin.isatty():
        raise UsageError("give --data FILE.csv, or pipe CSV rows (with a header) on stdin")
    table = read_csv(args.data) if args.data is not None else read_csv(sys.stdin, "<stdin>")
    features, target = saved["features"], saved["target"]
    missing = [c for c in features if c not in table.columns]
    if missing:
        raise DataError(
            f"{table.source}: missing feature column(s) "
            f"{', '.join(map(repr, missing))} (the model takes {', '.join(features)})"
        )
    extra = [c for c in table.columns if c not in features and c != target]
    if extra:
        raise DataError(
            f"{table.source}: unknown column(s) {', '.join(map(repr, extra))} (the model takes {', '.join(features)})"
        )
    X = np.stack([table.column(c) for c in features], axis=1)
    scaling = Scaling()
    if saved["scaling"] is not None:
        scaling.mean, scaling.std = saved["scaling"]["mean"], saved["scaling"]["std"]
    if saved["target_scaling"] is not None:
        scaling.target_mean, scaling.target_std = saved["target_scaling"]["mean"], saved["target_scaling"]["std"]
    model = nn.MLP(
        *saved["sizes"],
        activation=ACTIVATIONS[saved["activation"]],
        output_activation=nn.Sigmoid if saved["output"] == "sigmoid" else None,
    )
    try:
        model.load_state_dict(saved["state"])
    except (RuntimeError, KeyError, TypeError, ValueError) as err:
        raise _model_error(args.model, " ".join(str(err).split())) from None
    for value in _predictions(model, saved["loss"], scaling.features(X), saved["classes"], scaling).tolist():
        print(_format(value))
    return 0


# ------------------------------------------------------------------ gradcheck
def _eps_steps(text: str) -> list[float]:
    """``--eps FIRST:LAST``: the steps of a gradient-check study, one per decade."""
    from .gradcheck_study import parse_eps

    try:
        return parse_eps(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def run_gradcheck(args: argparse.Namespace) -> int:
    """``microgradnn gradcheck``; with ``--eps``, the study of the step (see gradcheck_study)."""
    if args.eps is not None or args.plot is not None:
        return _run_gradcheck_study(args)
    rng = np.random.default_rng(args.seed)
    rows: list[tuple[str, GradcheckReport]] = []
    for name, fn, inputs in builtin_checks(rng):
        rows.append((name, gradcheck(fn, inputs, raise_exception=False)))
    x = Tensor(rng.uniform(-1, 1, (5, 3)))
    for layer in ("sigmoid", "tanh", "relu"):
        model = nn.MLP(3, 4, 2, activation=ACTIVATIONS[layer], rng=rng)
        rows.append(
            (
                f"MLP(3, 4, 2) with {layer}",
                gradcheck_module(model, nn.CrossEntropyLoss(), x, rng.integers(0, 2, 5), raise_exception=False),
            )
        )
    rows.append(
        (
            "Dense + BCEWithLogitsLoss",
            gradcheck_module(
                nn.Dense(3, 1, rng=rng),
                nn.BCEWithLogitsLoss(),
                x,
                Tensor(rng.uniform(0, 1, (5, 1))),
                raise_exception=False,
            ),
        )
    )
    width = max(len(name) for name, _ in rows)
    print(f"{'operation'.ljust(width)}  {'max abs error':>13}  {'max rel error':>13}  result")
    for name, report in rows:
        abs_err = max(r.max_abs_error for r in report.inputs)
        rel_err = max(r.max_rel_error for r in report.inputs)
        print(f"{name.ljust(width)}  {abs_err:13.2e}  {rel_err:13.2e}  {'ok' if report.passed else 'FAILED'}")
    failed = [name for name, report in rows if not report.passed]
    print(f"{len(rows) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


def _run_gradcheck_study(args: argparse.Namespace) -> int:
    """``microgradnn gradcheck --eps FIRST:LAST [--plot FILE]``: exit status 1 when some op fails
    even at its own best step (gradcheck_study.THRESHOLDS), else 0."""
    from .gradcheck_study import study_checks

    if args.eps is None:
        raise UsageError(f"--plot {args.plot} draws the study of the step: give --eps too (e.g. --eps 1e-1:1e-12)")
    if args.plot is not None:
        try:
            require_matplotlib()
        except ImportError:
            raise UsageError("--plot needs matplotlib: pip install 'microgradnn[plot]'") from None
        try:
            check_destination(args.plot)
        except (OSError, ValueError) as err:
            raise UsageError(f"--plot: {err}") from None
    # Random projections: whole Jacobians of the ~240 entries at 12 steps in 2 dtypes take
    # about 10 s, projections 1.5 s, and a wrong backward shows in either.
    study = study_checks(builtin_checks(np.random.default_rng(args.seed)), eps=args.eps, fast_mode=True, seed=args.seed)
    print(study)
    if args.plot is not None:
        study.plot(args.plot)
        print(f"saved the plot to {args.plot}")
    return 0 if study.passed else 1
