"""The command line, run as a user runs it: the real entry point, in a subprocess."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import microgradnn as mg

ROOT = Path(__file__).resolve().parent.parent


def cli(*args, stdin=None, cwd=None, extra_path=None):
    path = [str(ROOT)] + ([str(extra_path)] if extra_path else [])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(path)}
    if extra_path:
        env["PYTHONPATH"] = os.pathsep.join([str(extra_path), str(ROOT)])
    return subprocess.run(
        [sys.executable, "-m", "microgradnn", *map(str, args)],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=cwd,
        check=False,
    )


def ok(*args, **kwargs):
    result = cli(*args, **kwargs)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout


def table_rows(out):
    """Rows of the printed table: lines of numbers only."""
    rows = []
    for line in out.splitlines():
        parts = line.split()
        if parts and all(re.fullmatch(r"-?[\d.e+-]+", p) for p in parts):
            rows.append([float(p) for p in parts])
    return rows


@pytest.fixture
def csv_files(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    labels = (X[:, 0] + X[:, 1] > 0).astype(int) * 2 + 1  # classes 1 and 3
    values = X @ np.array([1.0, 2.0, -1.0]) * 10 + 100
    cls = tmp_path / "classes.csv"
    cls.write_text(
        "a,b,c,label\n" + "\n".join(",".join(map(str, [*x, t])) for x, t in zip(X, labels, strict=True)) + "\n"
    )
    reg = tmp_path / "values.csv"
    reg.write_text(
        "a,b,c,value\n" + "\n".join(",".join(map(str, [*x, t])) for x, t in zip(X, values, strict=True)) + "\n"
    )
    return cls, reg


# ------------------------------------------------------------------ the main job
def test_default_run_trains_the_truth_table_and_prints_a_table():
    result = cli("train")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "dataset trask: 4 rows, model 3 -> 4 -> 1 (sigmoid), sgd lr=1, 10000 epochs" in out
    rows = table_rows(out)
    assert len(rows) == 4
    for *inputs, target, prediction in rows:
        assert target == float(int(inputs[0]) ^ int(inputs[1]))
        assert abs(prediction - target) < 0.1
    final = float(re.search(r"final loss \(mse\): (\S+)", out).group(1))
    assert final < 0.01
    assert "training" in result.stderr and "loss=" in result.stderr  # the tqdm bar, with the running loss


def test_bare_command_prints_help():
    out = ok()
    assert "usage: microgradnn" in out and "train" in out and "predict" in out and "gradcheck" in out


@pytest.mark.skipif(shutil.which("microgradnn") is None, reason="console script not installed (pip install .)")
def test_console_script_is_installed():
    result = subprocess.run(
        ["microgradnn", "train", "--epochs", "5"], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0 and "final loss" in result.stdout


def test_neuron_dataset_has_no_hidden_layer_and_predicts_like_the_tutorial():
    out = ok("train", "--dataset", "neuron", "--predict", "1,0,0")
    assert "model 3 -> 1 (sigmoid)" in out
    prediction = float(re.search(r"prediction for \[1, 0, 0\]: (\S+)", out).group(1))
    assert prediction > 0.99


# ------------------------------------------------------------------ options
@pytest.mark.parametrize(
    "args, expect",
    [
        (["--hidden", "4,4"], "model 3 -> 4 -> 4 -> 1"),
        (["--hidden", "none"], "model 3 -> 1"),
        (["--activation", "tanh"], "(tanh)"),
        (["--activation", "relu", "--lr", "0.5"], "(relu), sgd lr=0.5"),
        (["--optimizer", "momentum"], "momentum lr=0.5"),
        (["--optimizer", "adam"], "adam lr=0.01"),
        (["--optimizer", "rmsprop", "--lr", "0.02"], "rmsprop lr=0.02"),
        (["--batch-size", "2"], "final loss"),
        (["--loss", "bce"], "final loss (bce)"),
        (["--loss", "ce"], "final loss (ce)"),
    ],
)
def test_each_option_is_used(args, expect):
    out = ok("train", "--epochs", "300", *args)
    assert expect in out


def test_seed_makes_runs_repeatable():
    a = ok("train", "--epochs", "50", "--seed", "3", "--batch-size", "2")
    b = ok("train", "--epochs", "50", "--seed", "3", "--batch-size", "2")
    c = ok("train", "--epochs", "50", "--seed", "4", "--batch-size", "2")
    assert a == b and a != c


def test_gradcheck_option_prints_the_report_before_training():
    out = ok("train", "--epochs", "5", "--gradcheck")
    assert out.index("gradcheck passed") < out.index("final loss")
    assert "0.weight" in out and "2.bias" in out


def test_csv_classification_with_validation_save_and_predict(csv_files, tmp_path):
    cls, _ = csv_files
    model = tmp_path / "model.npz"
    out = ok(
        "train",
        "--data",
        cls,
        "--target",
        "label",
        "--loss",
        "ce",
        "--optimizer",
        "adam",
        "--lr",
        "0.05",
        "--epochs",
        "150",
        "--val-split",
        "0.25",
        "--save",
        model,
        "--predict",
        "2,1,0",
    )
    assert "120 rows" in out and "model 3 -> 4 -> 2" in out
    accuracy = float(re.search(r"accuracy (\S+)%", out).group(1))
    assert accuracy >= 90
    assert re.search(r"prediction for \[2, 1, 0\]: 3\b", out)
    assert model.exists()
    lines = ok("predict", model, "--data", cls).split()
    assert len(lines) == 120 and set(lines) <= {"1", "3"}
    truth = np.loadtxt(cls, delimiter=",", skiprows=1)[:, 3]
    assert np.mean(np.array(lines, dtype=float) == truth) > 0.9
    # The same rows on stdin, without the target column, in another column order.
    data = np.loadtxt(cls, delimiter=",", skiprows=1)
    text = "c,b,a\n" + "\n".join(f"{r[2]},{r[1]},{r[0]}" for r in data[:5]) + "\n"
    assert ok("predict", model, stdin=text).split() == lines[:5]


def test_csv_regression_standardizes_and_the_scaling_is_saved(csv_files, tmp_path):
    _, reg = csv_files
    model = tmp_path / "reg.npz"
    out = ok(
        "train",
        "--data",
        reg,
        "--target",
        "value",
        "--hidden",
        "none",
        "--lr",
        "0.1",
        "--epochs",
        "200",
        "--save",
        model,
        "--predict",
        "1,0,0",
    )
    assert float(re.search(r"prediction for \[1, 0, 0\]: (\S+)", out).group(1)) == pytest.approx(110, abs=3)
    saved = mg.load(model)
    assert saved["features"] == ["a", "b", "c"] and set(saved["scaling"]) == {"mean", "std"}
    predicted = [float(v) for v in ok("predict", model, stdin="a,b,c\n1,0,0\n0,1,0\n").split()]
    assert predicted == pytest.approx([110, 120], abs=3)
    raw = ok(
        "train",
        "--data",
        reg,
        "--target",
        "value",
        "--no-standardize",
        "--hidden",
        "none",
        "--optimizer",
        "adam",
        "--lr",
        "0.1",
        "--epochs",
        "5",
        "--save",
        model,
    )
    assert mg.load(model)["scaling"] is None and "final loss" in raw


def test_graph_option_writes_dot_with_one_node_per_op(tmp_path):
    path = tmp_path / "graph.dot"
    ok("train", "--epochs", "5", "--graph", path)
    text = path.read_text()
    assert text.startswith("digraph microgradnn {") and text.rstrip().endswith("}")
    ops = re.findall(r'label="(\w+)\\n', text)
    assert sorted(ops) == sorted(["matmul", "add", "sigmoid", "matmul", "add", "sigmoid", "sub", "pow", "mean"])
    leaves = re.findall(r'label="leaf \(([\d, ]+)\)(\\nrequires_grad)?"', text)
    assert ("3, 4", "\\nrequires_grad") in leaves and ("4, 3", "") in leaves
    assert len(re.findall(r"^  n\d+ \[", text, re.M)) == 16  # 9 ops, 6 leaves (x, y, 2 weights, 2 biases), the 2 of **2
    assert len(re.findall(r"n\d+ -> n\d+;", text)) == 15  # a tree: one edge into each node but the loss


def test_plot_option_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "loss.png"
    ok("train", "--epochs", "20", "--plot", path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_without_matplotlib_says_how_to_install_and_writes_nothing(tmp_path):
    blocker = tmp_path / "blocker"
    (blocker / "matplotlib").mkdir(parents=True)
    (blocker / "matplotlib" / "__init__.py").write_text("raise ImportError('no matplotlib here')\n")
    saved = tmp_path / "model.npz"
    result = cli("train", "--epochs", "5", "--plot", tmp_path / "loss.png", "--save", saved, extra_path=blocker)
    assert result.returncode == 2
    assert result.stderr.strip() == "microgradnn train: error: --plot needs matplotlib: pip install 'microgradnn[plot]'"
    assert not saved.exists() and not (tmp_path / "loss.png").exists()


def test_save_replaces_an_existing_file_atomically(tmp_path):
    path = tmp_path / "model.npz"
    ok("train", "--epochs", "5", "--save", path)
    first = mg.load(path)["state"]["0.weight"]
    ok("train", "--epochs", "5", "--seed", "9", "--save", path)
    assert not np.array_equal(mg.load(path)["state"]["0.weight"], first)
    assert sorted(os.listdir(tmp_path)) == ["model.npz"]


def test_gradcheck_command_checks_every_op_and_layer():
    out = ok("gradcheck")
    for name in (
        "add",
        "matmul",
        "sigmoid",
        "softmax",
        "getitem",
        "cross_entropy",
        "binary_cross_entropy",
        "MLP(3, 4, 2) with relu",
    ):
        assert re.search(rf"^{re.escape(name)}\s+\S+\s+\S+\s+ok$", out, re.M), name
    assert re.search(r"^\d+ passed, 0 failed$", out, re.M)


# ------------------------------------------------------------------ bad input
BAD_CSV = {
    "empty.csv": ("", "the file is empty"),
    "header.csv": ("a,b,y\n", "the file has a header but no data rows"),
    "text.csv": ("a,b,y\n1,2,3\n4,x,6\n", "row 2, column 'b': 'x' is not a number"),
    "ragged.csv": ("a,b,y\n1,2,3\n4,5\n", "row 2 has 2 values but the header has 3 columns"),
    "dupe.csv": ("a,a,y\n1,2,3\n", "the header repeats column name(s) 'a'"),
}


@pytest.mark.parametrize("name", sorted(BAD_CSV))
def test_bad_csv_files_give_one_line_status_2_and_no_file(tmp_path, name):
    text, message = BAD_CSV[name]
    path = tmp_path / name
    path.write_text(text)
    saved = tmp_path / "model.npz"
    result = cli("train", "--data", path, "--target", "y", "--save", saved)
    assert result.returncode == 2
    assert result.stderr.strip() == f"microgradnn train: error: {path}: {message}"
    assert not saved.exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--data", "missing.csv", "--target", "y"], "missing.csv: no such file"),
        (["--data", ".", "--target", "y"], ".: is a directory, not a CSV file"),
        (["--data", "{cls}", "--target", "nope"], "no column named 'nope' (columns: a, b, c, label)"),
        (["--data", "{cls}"], "--data needs --target COLUMN"),
        (["--target", "y"], "--target needs --data"),
        (["--hidden", "4,0"], "argument --hidden: a layer size must be at least 1, got 0"),
        (["--hidden", "4,x"], "argument --hidden: 'x' is not a layer size"),
        (["--lr", "-0.1"], "argument --lr: must be a finite number >= 0, got -0.1"),
        (["--epochs", "-3"], "argument --epochs: must be at least 1, got -3"),
        (["--epochs", "ten"], "argument --epochs: 'ten' is not a whole number"),
        (["--batch-size", "0"], "argument --batch-size: must be at least 1, got 0"),
        (["--activation", "softsign"], "argument --activation: invalid choice: 'softsign'"),
        (["--optimizer", "lbfgs"], "argument --optimizer: invalid choice: 'lbfgs'"),
        (["--loss", "hinge"], "argument --loss: invalid choice: 'hinge'"),
        (["--val-split", "1"], "argument --val-split: must be below 1, got 1"),
        (["--predict", "1,0"], "--predict has 2 values; the model takes 3 (x1, x2, x3)"),
        (["--predict", "1,a,0"], "argument --predict: '1,a,0' is not a comma-separated list of numbers"),
        (
            ["--data", "{cls}", "--target", "a", "--loss", "ce"],
            "--loss ce needs whole-number class labels in column 'a'",
        ),
        (
            ["--data", "{cls}", "--target", "label", "--loss", "bce"],
            "--loss bce needs targets in [0, 1] in column 'label', found 1 to 3",
        ),
        (["--plot", "{tmp}/no/such/dir/loss.png"], "the folder"),
        (["--nonsense"], "unrecognized arguments: --nonsense"),
    ],
)
def test_bad_options_give_one_line_status_2_and_no_file(csv_files, tmp_path, args, message):
    cls, _ = csv_files
    saved = tmp_path / "model.npz"
    args = [a.format(cls=cls, tmp=tmp_path) for a in args]
    result = cli("train", *args, "--save", saved, cwd=tmp_path)
    assert result.returncode == 2, result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert "Traceback" not in result.stderr
    assert not saved.exists()


def test_a_failed_run_leaves_an_existing_model_file_untouched(tmp_path):
    saved = tmp_path / "model.npz"
    ok("train", "--epochs", "5", "--save", saved)
    before = saved.read_bytes()
    assert cli("train", "--hidden", "0", "--save", saved).returncode == 2
    assert saved.read_bytes() == before


def test_predict_errors(csv_files, tmp_path):
    cls, reg = csv_files
    model = tmp_path / "model.npz"
    ok("train", "--data", cls, "--target", "label", "--epochs", "3", "--save", model)
    cases = [
        ((tmp_path / "nope.npz", "--data", cls), "nope.npz: No such file or directory"),
        ((cls, "--data", cls), "is not a microgradnn checkpoint (not an .npz archive)"),
        ((model, "--data", tmp_path / "missing.csv"), "missing.csv: no such file"),
    ]
    other = tmp_path / "other.npz"
    mg.save({"weights": np.ones(2)}, other)
    cases.append(((other, "--data", cls), "is a checkpoint but not a model saved by `microgradnn train --save`"))
    for args, message in cases:
        result = cli("predict", *args)
        assert result.returncode == 2 and message in result.stderr and len(result.stderr.strip().splitlines()) == 1, (
            result.stderr
        )
    result = cli("predict", model, stdin="a,b\n1,2\n")
    assert result.returncode == 2 and "missing feature column(s) 'c'" in result.stderr
    result = cli("predict", model, stdin="a,b,c,d\n1,2,3,4\n")
    assert result.returncode == 2 and "unknown column(s) 'd'" in result.stderr
    result = cli("predict", model, stdin="a,b,c\n1,2,oops\n")
    assert result.returncode == 2 and "<stdin>: row 1, column 'c': 'oops' is not a number" in result.stderr
