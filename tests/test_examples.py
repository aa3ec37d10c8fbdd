"""The examples run as a user runs them, and print what they promise."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run_example(name: str, cwd) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / name)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=cwd,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "Warning" not in result.stderr, result.stderr
    return result.stdout


def test_seed_neuron_prints_the_tutorials_prediction(tmp_path):
    out = run_example("seed_neuron.py", tmp_path)
    assert "Random starting weights:" in out and "Weights after training:" in out
    assert out.strip().endswith("[0.99993704]")


def test_seed_two_layer_prints_the_tutorials_predictions(tmp_path):
    out = run_example("seed_two_layer.py", tmp_path)
    assert "Starting weights:" in out and "Weights after training:" in out
    assert out.strip().endswith("[0.00702172 0.99101005 0.99215207 0.0104785 ]")


def test_custom_op_example_catches_the_wrong_backward(tmp_path):
    out = run_example("custom_op.py", tmp_path)
    assert "gradcheck passed" in out and "gradcheck FAILED" in out
    assert "the wrong backward was caught: True" in out


@pytest.fixture(scope="module")
def swap_output(tmp_path_factory):
    return run_example("swap.py", tmp_path_factory.mktemp("swap"))


@pytest.mark.parametrize("activation", ["Sigmoid", "Tanh", "ReLU"])
def test_swap_example_prints_a_row_per_activation(swap_output, activation):
    out = swap_output
    row = next(line for line in out.splitlines() if line.startswith(f"| {activation} |"))
    losses = [float(v) for v in row.strip("| ").split(" | ")[1:]]
    assert len(losses) == 4 and all(v < 0.01 for v in losses)


def test_regression_example_fits_the_sine(tmp_path):
    out = run_example("regression.py", tmp_path)
    final = float(re.search(r"final training loss: (\S+)", out).group(1))
    assert final < 0.015
    rows = [
        line.split() for line in out.splitlines() if re.fullmatch(r"\s*-?\d\.\d\d\s+-?\d\.\d{3}\s+-?\d\.\d{3}", line)
    ]
    assert len(rows) == 7 and all(abs(float(s) - float(m)) < 0.1 for _, s, m in rows)


def test_digits_example_reaches_97_percent(tmp_path):
    out = run_example("digits.py", tmp_path)
    accuracy = float(re.search(r"held-out accuracy \(seed 0\): (\S+)%", out).group(1))
    mean = float(re.search(r"mean over five seeds: (\S+)%", out).group(1))
    assert accuracy >= 97.0 and mean >= 96.5


def test_training_examples_save_a_loss_curve(tmp_path):
    # matplotlib is a test dependency: the examples draw their loss curve with it.
    run_example("seed_two_layer.py", tmp_path)
    assert (tmp_path / "seed_two_layer_loss.png").read_bytes()[:4] == b"\x89PNG"
