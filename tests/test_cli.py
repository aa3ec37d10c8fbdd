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
    model = tmp_path / "model.safetensors"
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
    model = tmp_path / "reg.safetensors"
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
    path = tmp_path / "loss.png"
    ok("train", "--epochs", "20", "--plot", path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_without_matplotlib_says_how_to_install_and_writes_nothing(tmp_path):
    blocker = tmp_path / "blocker"
    (blocker / "matplotlib").mkdir(parents=True)
    (blocker / "matplotlib" / "__init__.py").write_text("raise ImportError('no matplotlib here')\n")
    saved = tmp_path / "model.safetensors"
    result = cli("train", "--epochs", "5", "--plot", tmp_path / "loss.png", "--save", saved, extra_path=blocker)
    assert result.returncode == 2
    assert result.stderr.strip() == "microgradnn train: error: --plot needs matplotlib: pip install 'microgradnn[plot]'"
    assert not saved.exists() and not (tmp_path / "loss.png").exists()


def test_save_replaces_an_existing_file_atomically(tmp_path):
    path = tmp_path / "model.safetensors"
    ok("train", "--epochs", "5", "--save", path)
    first = mg.load(path)["state"]["0.weight"]
    ok("train", "--epochs", "5", "--seed", "9", "--save", path)
    assert not np.array_equal(mg.load(path)["state"]["0.weight"], first)
    assert sorted(os.listdir(tmp_path)) == ["model.safetensors"]


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
    saved = tmp_path / "model.safetensors"
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
    saved = tmp_path / "model.safetensors"
    args = [a.format(cls=cls, tmp=tmp_path) for a in args]
    result = cli("train", *args, "--save", saved, cwd=tmp_path)
    assert result.returncode == 2, result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert "Traceback" not in result.stderr
    assert not saved.exists()


def test_a_failed_run_leaves_an_existing_model_file_untouched(tmp_path):
    saved = tmp_path / "model.safetensors"
    ok("train", "--epochs", "5", "--save", saved)
    before = saved.read_bytes()
    assert cli("train", "--hidden", "0", "--save", saved).returncode == 2
    assert saved.read_bytes() == before


def test_predict_errors(csv_files, tmp_path):
    cls, reg = csv_files
    model = tmp_path / "model.safetensors"
    ok("train", "--data", cls, "--target", "label", "--epochs", "3", "--save", model)
    cases = [
        ((tmp_path / "nope.safetensors", "--data", cls), "nope.safetensors: No such file or directory"),
        ((cls, "--data", cls), "is not a microgradnn checkpoint (not a safetensors file"),
        ((model, "--data", tmp_path / "missing.csv"), "missing.csv: no such file"),
    ]
    other = tmp_path / "other.safetensors"
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


# ------------------------------------------------------------------ nothing lost
def one_error_line(result, *fragments):
    assert result.returncode == 2, (result.stdout, result.stderr)
    # One line, besides the progress bar of a run that failed while training.
    lines = [line for line in result.stderr.strip().splitlines() if not line.startswith("training:")]
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize("option", ["--save", "--graph", "--plot"])
@pytest.mark.parametrize("spelling", ["plain", "dotdot", "link"])
def test_an_output_is_never_the_input_file(csv_files, tmp_path, option, spelling):
    _, reg = csv_files
    before = reg.read_bytes()
    (tmp_path / "x").mkdir()
    if spelling == "plain":
        out = reg
    elif spelling == "dotdot":
        out = tmp_path / "x" / ".." / reg.name
    else:
        out = tmp_path / "link.csv"
        out.symlink_to(reg)
    result = cli("train", "--data", reg, "--target", "value", option, out, "--epochs", "5")
    one_error_line(result, option, "is the input file", "refusing to write over it")
    assert "training" not in result.stderr  # refused before training
    assert reg.read_bytes() == before


def test_two_outputs_on_one_path_are_refused(tmp_path):
    out = tmp_path / "out"
    result = cli("train", "--save", out, "--graph", out, "--epochs", "5")
    one_error_line(result, "--graph", "--save", "are the same file")
    assert not out.exists()


@pytest.mark.parametrize("option", ["--save", "--graph", "--plot"])
@pytest.mark.parametrize("kind", ["device", "fifo", "folder"])
def test_an_output_that_is_not_a_regular_file_is_refused(tmp_path, option, kind):
    if kind == "device":
        target = Path("/dev/null")
    elif kind == "fifo":
        target = tmp_path / "pipe"
        os.mkfifo(target)
    else:
        target = tmp_path / "folder"
        target.mkdir()
    result = cli("train", option, target, "--epochs", "5")
    one_error_line(result, option, str(target))
    if kind == "device":
        assert Path("/dev/null").is_char_device()
    elif kind == "fifo":
        assert target.is_fifo()
    else:
        assert target.is_dir() and not list(target.iterdir())


def test_a_missing_output_folder_is_reported_before_training(tmp_path):
    result = cli("train", "--save", tmp_path / "no" / "such" / "model.safetensors")
    one_error_line(result, "--save", "no/such")
    assert "training" not in result.stderr


def test_graph_dash_writes_the_dot_text_to_standard_output(tmp_path):
    result = cli("train", "--epochs", "5", "--graph", "-", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("digraph microgradnn {") and result.stdout.rstrip().endswith("}")
    assert "final loss" in result.stderr and "final loss" not in result.stdout
    assert not (tmp_path / "-").exists()


def test_save_through_a_symlink_replaces_the_target_and_keeps_the_link(tmp_path):
    target = tmp_path / "real.safetensors"
    ok("train", "--epochs", "5", "--save", target)
    link = tmp_path / "link.safetensors"
    link.symlink_to(target)
    first = mg.load(target)["state"]["0.weight"]
    ok("train", "--epochs", "5", "--seed", "7", "--save", link)
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert not np.array_equal(mg.load(target)["state"]["0.weight"], first)
    assert sorted(os.listdir(tmp_path)) == ["link.safetensors", "real.safetensors"]


def test_model_files_are_safetensors_files_with_the_umask_mode(tmp_path):
    path = tmp_path / "model.safetensors"
    ok("train", "--epochs", "5", "--save", path)
    from safetensors.numpy import load_file

    assert load_file(str(path))  # any safetensors reader opens it
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


# ------------------------------------------------------------------ real CSV files
def write_table(path, columns, rows):
    path.write_text(",".join(columns) + "\n" + "\n".join(",".join(map(str, r)) for r in rows) + "\n")
    return path


def sklearn_tables(tmp_path):
    from sklearn import datasets

    tables = {}
    for name, loader, loss in [
        ("diabetes", datasets.load_diabetes, "mse"),
        ("iris", datasets.load_iris, "ce"),
        ("wine", datasets.load_wine, "ce"),
        ("breast_cancer", datasets.load_breast_cancer, "ce"),
    ]:
        bunch = loader()
        columns = [re.sub(r"\W+", "_", c).strip("_") for c in bunch.feature_names] + ["target"]
        target = [repr(float(t)) for t in bunch.target] if loss == "mse" else bunch.target.tolist()
        rows = [[repr(float(v)) for v in x] + [t] for x, t in zip(bunch.data, target, strict=True)]
        tables[name] = (write_table(tmp_path / f"{name}.csv", columns, rows), bunch.target.astype(float), loss)
    return tables


def test_default_flags_train_every_table_bundled_with_scikit_learn(tmp_path):
    # Start every training run at once (they are separate processes), then check each.
    tables = sklearn_tables(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    runs = {}
    for name, (path, _, loss) in tables.items():
        model = tmp_path / f"{name}.safetensors"
        command = [sys.executable, "-m", "microgradnn", "train", "--data", str(path), "--target", "target"]
        command += ["--loss", loss, "--save", str(model)] if loss == "ce" else ["--save", str(model)]
        runs[name] = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    for name, process in runs.items():
        _, err = process.communicate(timeout=300)
        assert process.returncode == 0, (name, err)
        path, truth, loss = tables[name]
        predicted = np.array(ok("predict", tmp_path / f"{name}.safetensors", "--data", path).split(), dtype=float)
        if loss == "mse":
            assert np.mean((predicted - truth) ** 2) <= 0.75 * np.var(truth), name
        else:
            assert np.mean(predicted == truth) >= 0.9, name


def test_regression_standardizes_the_target_and_predicts_in_its_units(tmp_path):
    path = write_table(tmp_path / "toy.csv", ["x", "y"], [[1, 2000], [2, 4000], [3, 6000], [4, 8500]])
    model = tmp_path / "toy.safetensors"
    out = ok("train", "--data", path, "--target", "y", "--save", model, "--predict", "2.5")
    predicted = float(re.search(r"prediction for \[2.5\]: (\S+)", out).group(1))
    assert 4000 < predicted < 6000
    saved = mg.load(model)
    assert saved["target_scaling"]["mean"] == pytest.approx(5125.0)
    values = [float(v) for v in ok("predict", model, stdin="x\n1\n4\n").split()]
    assert values == pytest.approx([2000, 8500], rel=0.1)


def test_divergence_is_reported_in_one_line(csv_files, tmp_path):
    _, reg = csv_files
    result = cli("train", "--data", reg, "--target", "value", "--lr", "50", "--save", tmp_path / "m")
    one_error_line(result, "training diverged", "try a smaller --lr")
    assert not (tmp_path / "m").exists()


def test_a_class_column_of_names_works_with_ce_and_bce(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(90, 2))
    names = np.where(X[:, 0] > 0.3, "virginica", np.where(X[:, 0] < -0.3, "setosa", "versicolor"))
    path = write_table(
        tmp_path / "flowers.csv", ["a", "b", "species"], [[*x, n] for x, n in zip(X, names, strict=True)]
    )
    model = tmp_path / "flowers.safetensors"
    out = ok("train", "--data", path, "--target", "species", "--loss", "ce", "--epochs", "2000", "--save", model)
    assert "model 2 -> 4 -> 3" in out and "setosa" in out
    assert mg.load(model)["classes"] == ["setosa", "versicolor", "virginica"]
    predicted = ok("predict", model, "--data", path).split()
    assert np.mean(np.array(predicted) == names) > 0.9
    two = write_table(tmp_path / "two.csv", ["a", "kind"], [[x, "yes" if x > 0 else "no"] for x in X[:, 0]])
    ok("train", "--data", two, "--target", "kind", "--loss", "bce", "--epochs", "500", "--save", model)
    assert mg.load(model)["classes"] == ["no", "yes"]  # sorted: the second is the positive class
    predicted = ok("predict", model, "--data", two).split()
    assert set(predicted) == {"no", "yes"} and np.mean(np.array(predicted) == np.where(X[:, 0] > 0, "yes", "no")) > 0.9
    result = cli("train", "--data", path, "--target", "species", "--loss", "bce")
    one_error_line(result, "--loss bce needs exactly 2 classes", "found 3")
    result = cli("train", "--data", path, "--target", "species")
    one_error_line(result, "--loss mse needs a numeric target", "--loss ce")


def test_ce_refuses_a_numeric_target_with_a_hint(tmp_path):
    rows = [[i, i * 0.5] for i in range(150)]
    path = write_table(tmp_path / "t.csv", ["a", "y"], rows)
    one_error_line(cli("train", "--data", path, "--target", "y", "--loss", "ce"), "whole-number", "use --loss mse")
    many = write_table(tmp_path / "many.csv", ["a", "y"], [[i, i] for i in range(150)])
    one_error_line(cli("train", "--data", many, "--target", "y", "--loss", "ce"), "150 distinct", "use --loss mse")


@pytest.mark.parametrize(
    "cells, message",
    [
        ("1_000", "'1_000' is not a number"),
        ("١٢", "'١٢' is not a number"),
        ("0x10", "'0x10' is not a number"),
        ("nan", "'nan' is not a finite number"),
        ("-inf", "'-inf' is not a finite number"),
        ("1e999", "is not a finite number"),
        ("", "the cell is empty"),
    ],
)
def test_a_feature_cell_must_be_a_plain_number(tmp_path, cells, message):
    path = tmp_path / "t.csv"
    path.write_text(f"a,b,y\n1,2,0\n3,{cells},1\n", encoding="utf-8")
    one_error_line(cli("train", "--data", path, "--target", "y"), "row 2, column 'b'", message)


def test_plain_numbers_in_every_spelling_and_a_byte_order_mark_are_read(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes("\ufeffa,b,y\r\n1e-05,+2.,0\r\n-.5,3E2,1\r\n7,8,1\r\n".encode())
    out = ok("train", "--data", path, "--target", "y", "--epochs", "5")
    assert re.search(r"^\s*a\s+b\s+target \(y\)", out, re.M)  # the first column is 'a', not '\ufeffa'
    assert "1e-05" in out and "300" in out


@pytest.mark.parametrize("kind", ["long", "binary", "latin1"])
def test_a_file_that_is_not_csv_text_gives_one_line(tmp_path, kind):
    path = tmp_path / "bad.csv"
    if kind == "long":
        path.write_text("a,y\n" + "1" * 200_000 + ",0\n")
        message = "longer than"
    elif kind == "binary":
        path.write_bytes(b"a,y\n1,\x00\x01\x02\n")
        message = "NUL byte"
    else:
        path.write_bytes("a,y\n1,caf\xe9\n".encode("latin-1"))
        message = "not UTF-8"
    one_error_line(cli("train", "--data", path, "--target", "y"), str(path), message)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--seed", "-1"], "argument --seed: must be at least 0, got -1"),
        (["--seed", "1.5"], "argument --seed: '1.5' is not a whole number"),
        (["--hidden", "100000,100000"], "10,000,"),
        (["--hidden", "99999999999999999999"], "weights, more than 100,000,000"),
        (["--lr", "nan"], "argument --lr: must be a finite number"),
        (["--val-split", "-0.5"], "argument --val-split"),
    ],
)
def test_bad_numbers_on_flags_give_one_line(tmp_path, args, message):
    one_error_line(cli("train", *args, "--save", tmp_path / "m"), message)
    assert not (tmp_path / "m").exists()


def test_gradcheck_command_refuses_a_negative_seed():
    one_error_line(cli("gradcheck", "--seed", "-3"), "must be at least 0")


# ------------------------------------------------------------------ hostile model files
@pytest.fixture
def saved_model(csv_files, tmp_path):
    _, reg = csv_files
    model = tmp_path / "good.safetensors"
    ok("train", "--data", reg, "--target", "value", "--epochs", "20", "--save", model)
    return model, reg


def edited(saved_model, tmp_path, change):
    model, _ = saved_model
    state = mg.load(model)
    change(state)
    path = tmp_path / "edited.safetensors"
    mg.save(state, path)
    return path


HOSTILE = {
    "huge sizes": (lambda s: s.update(sizes=[3, 10**9, 1]), "need"),
    "sizes not numbers": (lambda s: s.update(sizes=["3", 4, 1]), "sizes"),
    "unknown loss": (lambda s: s.update(loss="hinge"), "unknown loss 'hinge'"),
    "unknown activation": (lambda s: s.update(activation="exp"), "unknown activation"),
    "scaling of the wrong shape": (lambda s: s["scaling"].update(mean=np.zeros(2)), "one per feature"),
    "zero std": (lambda s: s["scaling"].update(std=np.zeros(3)), "std must be above 0"),
    "nan mean": (lambda s: s["scaling"].update(mean=np.full(3, np.nan)), "not finite"),
    "zero target std": (lambda s: s["target_scaling"].update(std=0.0), "target scaling"),
    "features do not fit": (lambda s: s.update(features=["a", "b"]), "features"),
    "classes on mse": (lambda s: s.update(classes=[1.0, 2.0]), "has no classes"),
    "weights of another shape": (
        lambda s: s["state"].update({"0.weight": s["state"]["0.weight"].T.copy()}),
        "0.weight",
    ),
    "weights renamed": (lambda s: s["state"].update({"9.weight": s["state"].pop("0.weight")}), "9.weight"),
    "nan weights": (lambda s: s["state"]["0.bias"].fill(np.nan), "not finite"),
    "missing field": (lambda s: s.pop("scaling"), "no scaling"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_predict_checks_the_model_file_before_building_anything(saved_model, tmp_path, case):
    change, message = HOSTILE[case]
    path = edited(saved_model, tmp_path, change)
    _, data = saved_model
    one_error_line(cli("predict", path, "--data", data), str(path), message)


# ------------------------------------------------------------------ gradcheck --eps: the study of the step
def test_gradcheck_eps_studies_every_op_and_plots_the_v(tmp_path):
    pytest.importorskip("matplotlib")
    plot = tmp_path / "study.png"
    out = ok("gradcheck", "--eps", "1e-1:1e-12", "--plot", plot)
    assert re.search(r"^best step: float64 1e-0[4-7], float32 1e-0[1-4]$", out, re.M), out[-300:]
    assert re.search(r"^\d{3} passed, 0 failed$", out, re.M)
    for name in ("add", "matmul", "softmax", "cross_entropy", "F.conv2d", "linalg.inv"):
        assert re.search(rf"^{re.escape(name)}\s+1e-\d\d\s+\S+\s+1e-\d\d\s+\S+\s+ok$", out, re.M), name
    # The envelope: one line per step, both dtypes.
    assert len(re.findall(r"^  1e-\d\d\s+\S+\s+\S+$", out, re.M)) == 12
    assert plot.read_bytes()[:4] == b"\x89PNG" and f"saved the plot to {plot}" in out


# Replaces the catalogue, before the command line imports it, with three of its entries and
# an op whose backward is 10% off.
WRONG_CATALOGUE = """
import numpy as np
import microgradnn as mg
import microgradnn.builtin_checks as catalogue


class WrongExp(mg.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.exp(x)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * np.exp(x) * 1.1


original = catalogue.builtin_checks


def builtin_checks(rng):
    x = mg.Tensor(rng.uniform(-1, 1, 4), requires_grad=True)
    return original(rng)[:3] + [("WrongExp", WrongExp.apply, (x,))]


catalogue.builtin_checks = builtin_checks
"""


def test_gradcheck_eps_exits_1_when_an_op_fails_at_its_best_step(tmp_path):
    (tmp_path / "sitecustomize.py").write_text(WRONG_CATALOGUE)
    result = cli("gradcheck", "--eps", "1e-2:1e-8", extra_path=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert re.search(r"^WrongExp\s.*FAILED$", result.stdout, re.M)
    assert re.search(r"^add\s.*ok$", result.stdout, re.M)
    assert "3 passed, 1 failed" in result.stdout
    assert re.search(r"^best step: float64 1e-0\d, float32 1e-0\d$", result.stdout, re.M)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--eps", "1e-1:x"], "argument --eps: eps '1e-1:x': 'x' is not a number"),
        (["--eps", "0:1e-3"], "between 1e-30 and 1"),
        (["--eps", "1:2:3"], "FIRST:LAST"),
        (["--plot", "study.png"], "--plot study.png draws the study of the step: give --eps too"),
        (["--eps", "1e-3", "--plot", "missing/study.png"], "--plot: cannot write missing/study.png"),
        (["--eps", "1e-3", "--plot", "."], "--plot"),
    ],
)
def test_gradcheck_eps_refuses_bad_flags_before_any_run(tmp_path, args, message):
    one_error_line(cli("gradcheck", *args, cwd=tmp_path), message)
    assert list(tmp_path.iterdir()) == []
