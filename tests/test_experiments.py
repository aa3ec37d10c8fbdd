"""Sweeps: the grid, the seeds, the results file (nothing lost, nothing redone), the table, the
modes (serial, joblib, Dask) giving the same numbers, dying workers, and ``microgradnn sweep``."""

import json
import math
import os
import re
import sys

import numpy as np
import pytest

import microgradnn as mg
from microgradnn import experiments
from microgradnn.cli import main
from microgradnn.experiments import ResultsError, read_results, run_seeds, sweep
from microgradnn.experiments.command import train_run

cloudpickle = pytest.importorskip("cloudpickle")
# The workers cannot import this test module: send its functions by value.
cloudpickle.register_pickle_by_value(sys.modules[__name__])


def toy(config, seed):
    """A deterministic stand-in for training: the loss depends on the config and the seed."""
    return {"loss": config["lr"] + (seed % 1000) / 1e4, "acc": 1.0 - config["lr"], "curve": [1.0, config["lr"]]}


def tiny_fixed(epochs=30, val_split=0.0):
    return {
        "dataset": "trask",
        "data": None,
        "data_sha256": None,
        "target": None,
        "epochs": epochs,
        "loss": "mse",
        "no_standardize": False,
        "val_split": val_split,
        "seed": 1,
    }


TINY_GRID = {"activation": ["tanh", "sigmoid"], "optimizer": ["adam"]}


def lines(path):
    return [json.loads(line) for line in open(path, encoding="utf-8")]


# ------------------------------------------------------------------ grid and seeds
def test_run_i_gets_the_seed_of_the_ith_spawned_sequence():
    expected = [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(7).spawn(4)]
    assert run_seeds(4, root_seed=7) == expected
    table = sweep(lambda c, s: {"loss": float(s)}, {"k": [1, 2]}, seeds=4, results=None, n_jobs=1, root_seed=7)
    for row in table:
        assert row.seeds == expected  # the same i for every configuration


@pytest.mark.parametrize(
    "grid, error",
    [
        ({"lr": []}, "grid['lr'] is an empty list"),
        ({"lr": 0.1}, "grid['lr'] must be a list"),
        ({"lr": "0.1"}, "grid['lr'] must be a list"),
        ({"lr": [0.1, 0.1]}, "twice"),
        ({"act": [mg.nn.Tanh]}, "cannot record"),
        ([0.1], "dict of lists"),
    ],
)
def test_a_bad_grid_is_refused_before_any_run(tmp_path, grid, error):
    calls = []
    path = tmp_path / "runs.jsonl"
    with pytest.raises((TypeError, ValueError), match=re.escape(error)):
        sweep(lambda c, s: calls.append(1) or {"loss": 1.0}, grid, seeds=2, results=path, n_jobs=1)
    assert not calls and not path.exists()


# ------------------------------------------------------------------ the file and the table
def outcome(config, seed):
    if config["kind"] == "raises":
        raise RuntimeError("bad config")
    if config["kind"] == "nan":
        return {"loss": float("nan"), "curve": [1.0, float("inf")]}
    return {"loss": 0.5, "curve": [1.0, 0.5]}


def test_each_run_is_one_line_with_its_status_message_and_time(tmp_path):
    path = tmp_path / "runs.jsonl"
    table = sweep(outcome, {"kind": ["ok", "raises", "nan"]}, seeds=2, results=path, n_jobs=1, fixed={"epochs": 3})
    header, *runs = lines(path)
    assert header["fixed"] == {"epochs": 3} and header["root_seed"] == 0
    assert len(runs) == 6
    for run in runs:
        assert set(run) == {"config", "seed", "metrics", "curve", "status", "message", "time"}
        assert run["time"] >= 0
    by_kind = {run["config"]["kind"]: run for run in runs}
    assert by_kind["ok"]["status"] == "ok" and by_kind["ok"]["message"] is None
    assert by_kind["raises"]["status"] == "failed" and by_kind["raises"]["message"] == "RuntimeError: bad config"
    assert by_kind["nan"]["status"] == "diverged" and "nan" in by_kind["nan"]["message"]
    assert by_kind["nan"]["metrics"] == {"loss": None}  # strict JSON: a non-finite number is null
    assert math.isnan(read_results(path)[4]["metrics"]["loss"])
    rows = {row.config["kind"]: row for row in table}
    assert rows["ok"].statuses == {"ok": 2} and rows["raises"].statuses == {"failed": 2}
    assert rows["nan"].metrics == {}  # only ok runs enter the statistics
    text = str(table)
    assert text.splitlines()[1].split()[:3] == ["1", "ok", "2"]
    assert "2 failed" in text and "2 diverged" in text


def test_the_table_gives_mean_std_min_max_over_seeds_and_ranks():
    table = sweep(toy, {"lr": [0.3, 0.1, 0.2]}, seeds=3, results=None, n_jobs=1)
    seeds = run_seeds(3)
    for row in table:
        values = [row.config["lr"] + (s % 1000) / 1e4 for s in seeds]
        stats = row.metrics["loss"]
        assert stats["mean"] == pytest.approx(np.mean(values))
        assert stats["std"] == pytest.approx(np.std(values, ddof=1))
        assert (stats["min"], stats["max"]) == (min(values), max(values))
    assert [r.config["lr"] for r in table.sort_by("loss")] == [0.1, 0.2, 0.3]
    assert [r.config["lr"] for r in table.sort_by("acc", descending=True)] == [0.1, 0.2, 0.3]
    assert [r.config["lr"] for r in table.sort_by("acc")] == [0.3, 0.2, 0.1]
    ranked = str(table).splitlines()
    assert ranked[0].split()[:3] == ["rank", "lr", "runs"]
    assert [line.split()[1] for line in ranked[1:]] == ["0.1", "0.2", "0.3"]


def test_a_rerun_skips_recorded_runs_and_more_seeds_or_values_extend(tmp_path):
    path = tmp_path / "runs.jsonl"
    calls = []

    def counted(config, seed):
        calls.append((config["lr"], seed))
        return toy(config, seed)

    first = sweep(counted, {"lr": [0.1, 0.2]}, seeds=2, results=path, n_jobs=1)
    assert len(calls) == 4
    again = sweep(counted, {"lr": [0.1, 0.2]}, seeds=2, results=path, n_jobs=1)
    assert len(calls) == 4 and str(again) == str(first)
    sweep(counted, {"lr": [0.1, 0.2, 0.3]}, seeds=3, results=path, n_jobs=1)
    assert len(calls) == 9  # 2 more seeds of the old values, 3 of the new one
    assert len(lines(path)) == 1 + 9
    fewer = sweep(counted, {"lr": [0.1]}, seeds=2, results=path, n_jobs=1)
    assert len(calls) == 9 and len(fewer) == 1 and fewer[0].statuses == {"ok": 2}


def test_a_changed_fixed_setting_is_refused_naming_it(tmp_path):
    path = tmp_path / "runs.jsonl"
    sweep(toy, {"lr": [0.1]}, seeds=1, results=path, n_jobs=1, fixed={"epochs": 10})
    before = path.read_bytes()
    with pytest.raises(ResultsError, match="epochs = 10, and this one has epochs = 20") as info:
        sweep(toy, {"lr": [0.1]}, seeds=1, results=path, n_jobs=1, fixed={"epochs": 20})
    assert info.value.setting == "epochs"
    with pytest.raises(ResultsError, match="root_seed") as info:
        sweep(toy, {"lr": [0.1]}, seeds=1, results=path, n_jobs=1, fixed={"epochs": 10}, root_seed=3)
    assert path.read_bytes() == before


def test_a_truncated_last_line_is_dropped_and_redone(tmp_path):
    path = tmp_path / "runs.jsonl"
    sweep(toy, {"lr": [0.1, 0.2]}, seeds=2, results=path, n_jobs=1)
    whole = path.read_text()
    path.write_text(whole[: -len(whole.splitlines()[-1]) // 2 - 1])  # a kill in the middle of the last line
    calls = []
    sweep(lambda c, s: calls.append(1) or toy(c, s), {"lr": [0.1, 0.2]}, seeds=2, results=path, n_jobs=1)
    assert len(calls) == 1

    def runs(text):
        return sorted((line["config"]["lr"], line["seed"]) for line in map(json.loads, text.splitlines()[1:]))

    assert runs(path.read_text()) == runs(whole)  # the same runs, each once


def test_a_bad_line_elsewhere_names_file_and_line(tmp_path):
    path = tmp_path / "runs.jsonl"
    sweep(toy, {"lr": [0.1, 0.2]}, seeds=2, results=path, n_jobs=1)
    text = path.read_text().splitlines()
    text[2] = text[2][:20]
    path.write_text("\n".join(text) + "\n")
    with pytest.raises(ResultsError, match=f"{path}:3: not a JSON line"):
        sweep(toy, {"lr": [0.1, 0.2]}, seeds=2, results=path, n_jobs=1)
    text[2] = '{"config": {}, "seed": 1}'
    path.write_text("\n".join(text) + "\n")
    with pytest.raises(ResultsError, match=f"{path}:3: a run without metrics"):
        read_results(path)


def test_a_file_that_is_not_a_sweeps_is_left_alone(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("my notes\n")
    with pytest.raises(ResultsError, match="not the results file of a microgradnn sweep"):
        sweep(toy, {"lr": [0.1]}, seeds=1, results=path, n_jobs=1)
    assert path.read_text() == "my notes\n"
    with pytest.raises(OSError, match="is a directory"):
        sweep(toy, {"lr": [0.1]}, seeds=1, results=tmp_path, n_jobs=1)


def test_ctrl_c_keeps_every_finished_run(tmp_path):
    path = tmp_path / "runs.jsonl"

    def interrupted(config, seed):
        if config["lr"] == 0.3:
            raise KeyboardInterrupt
        return toy(config, seed)

    with pytest.raises(KeyboardInterrupt):
        sweep(interrupted, {"lr": [0.1, 0.2, 0.3]}, seeds=2, results=path, n_jobs=1)
    assert len(lines(path)) == 1 + 4
    table = sweep(toy, {"lr": [0.1, 0.2, 0.3]}, seeds=2, results=path, n_jobs=1)
    assert len(lines(path)) == 1 + 6 and all(row.statuses == {"ok": 2} for row in table)


def test_progress_counts_finished_runs():
    seen = []
    sweep(toy, {"lr": [0.1, 0.2]}, seeds=2, results=None, n_jobs=1, progress=lambda done, total: seen.append(done))
    assert seen == [0, 1, 2, 3, 4]


# ------------------------------------------------------------------ the modes
def dies(config, seed):
    """Kills its worker process: always for "always", on the first try for "once"."""
    if config["kind"] == "always":
        os._exit(3)
    if config["kind"] == "once":
        marker = os.path.join(config["folder"], f"tried-{seed}")
        if not os.path.exists(marker):
            open(marker, "w").close()
            os._exit(3)
    return {"loss": 1.0}


def test_serial_and_joblib_give_the_same_metrics_and_a_dying_worker_is_retried_then_crashed(tmp_path):
    serial = sweep(train_run, TINY_GRID, seeds=2, results=tmp_path / "a.jsonl", n_jobs=1, fixed=tiny_fixed())
    parallel = sweep(train_run, TINY_GRID, seeds=2, results=tmp_path / "b.jsonl", n_jobs=2, fixed=tiny_fixed())
    assert [r.metrics for r in serial] == [r.metrics for r in parallel]  # exactly: one BLAS thread in both

    # The file holds the same runs, in the order they finished.
    def by_run(path):
        return {(json.dumps(r["config"], sort_keys=True), r["seed"]): r["metrics"] for r in read_results(path)}

    assert by_run(tmp_path / "a.jsonl") == by_run(tmp_path / "b.jsonl")

    table = sweep(
        dies,
        {"kind": ["fine", "always"]},
        seeds=1,
        results=tmp_path / "c.jsonl",
        n_jobs=2,
        fixed={"folder": str(tmp_path)},
    )
    statuses = {row.config["kind"]: row.statuses for row in table}
    assert statuses == {"fine": {"ok": 1}, "always": {"crashed": 1}}
    crashed = [r for r in read_results(tmp_path / "c.jsonl") if r["status"] == "crashed"]
    assert "worker process died twice" in crashed[0]["message"]
    # Alone in its sweep (a run in flight when another one's worker dies is retried too, so
    # together the outcome would depend on timing): one death, then the retry succeeds.
    table = sweep(
        dies, {"kind": ["once"]}, seeds=1, results=tmp_path / "d.jsonl", n_jobs=2, fixed={"folder": str(tmp_path)}
    )
    assert [row.statuses for row in table] == [{"ok": 1}]


def test_an_unpicklable_train_is_refused_before_any_run(tmp_path):
    import threading

    lock = threading.Lock()
    with pytest.raises(TypeError, match="module-level function"):
        sweep(lambda c, s, lock=lock: {"loss": 1.0}, {"lr": [1]}, seeds=1, results=tmp_path / "r.jsonl", n_jobs=2)


@pytest.fixture(scope="module")
def dask_cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None, silence_logs=40
    ) as cluster:
        yield cluster


def test_dask_gives_the_same_metrics_as_serial(tmp_path, dask_cluster):
    serial = sweep(train_run, TINY_GRID, seeds=2, results=None, n_jobs=1, fixed=tiny_fixed())
    on_dask = sweep(
        train_run,
        TINY_GRID,
        seeds=2,
        results=tmp_path / "d.jsonl",
        scheduler=dask_cluster.scheduler_address,
        fixed=tiny_fixed(),
    )
    assert [r.metrics for r in on_dask] == [r.metrics for r in serial]
    assert len(lines(tmp_path / "d.jsonl")) == 1 + 4
    distributed = pytest.importorskip("distributed")
    with distributed.Client(dask_cluster.scheduler_address) as client:
        assert client.run_on_scheduler(lambda dask_scheduler: dask_scheduler.allowed_failures) == 1


def test_dask_records_a_run_whose_worker_dies_twice_as_crashed(tmp_path, dask_cluster):
    table = sweep(
        dies,
        {"kind": ["fine", "always"]},
        seeds=1,
        results=tmp_path / "k.jsonl",
        scheduler=dask_cluster.scheduler_address,
        fixed={"folder": str(tmp_path)},
    )
    assert {row.config["kind"]: row.statuses for row in table} == {"fine": {"ok": 1}, "always": {"crashed": 1}}


# ------------------------------------------------------------------ the command line
def run_cli(*args):
    return main(["sweep", *map(str, args)])


def test_the_command_sweeps_lists_of_alternatives_ranked_by_final_loss(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    status = run_cli(
        "--hidden",
        "2,4,2x2",
        "--activation",
        "tanh",
        "--optimizer",
        "adam",
        "--epochs",
        20,
        "--seeds",
        2,
        "--n-jobs",
        1,
    )
    out = capsys.readouterr().out
    assert status == 0
    assert "3 configurations x 2 seeds = 6 runs, ranked by mean final loss" in out
    rows = [line.split() for line in out.splitlines()[2:5]]
    assert sorted(row[3] for row in rows) == ["2", "2x2", "4"]
    means = [float(row[6]) for row in rows]
    assert means == sorted(means)  # lowest first
    assert len(lines(tmp_path / "runs.jsonl")) == 1 + 6
    # Again: nothing to run.
    assert (
        run_cli(
            "--hidden",
            "2,4,2x2",
            "--activation",
            "tanh",
            "--optimizer",
            "adam",
            "--epochs",
            20,
            "--seeds",
            2,
            "--n-jobs",
            1,
        )
        == 0
    )
    assert "(6 already recorded in runs.jsonl)" in capsys.readouterr().out
    assert run_cli("--hidden", "2,4,2x2", "--epochs", 21, "--n-jobs", 1) == 2
    assert "epochs = 20, and this one has epochs = 21" in capsys.readouterr().err


def test_the_command_ranks_by_validation_loss_and_plots(tmp_path, monkeypatch, capsys):
    pytest.importorskip("matplotlib")
    from microgradnn.experiments.plot import sweep_figure

    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    data = tmp_path / "d.csv"
    data.write_text("a,b,y\n" + "\n".join(f"{a},{b},{a + 2 * b}" for a, b in X) + "\n")
    monkeypatch.chdir(tmp_path)
    status = run_cli(
        "--data",
        data,
        "--target",
        "y",
        "--val-split",
        0.25,
        "--lr",
        "0.01,0.1",
        "--optimizer",
        "sgd,adam",
        "--epochs",
        15,
        "--seeds",
        2,
        "--n-jobs",
        1,
        "--plot",
        "sweep.png",
        "--out",
        "v.jsonl",
    )
    out = capsys.readouterr().out
    assert status == 0, out
    assert "ranked by mean final val_loss" in out and "saved the plot to sweep.png" in out
    assert (tmp_path / "sweep.png").read_bytes()[:4] == b"\x89PNG"
    table = experiments.ResultsTable.from_records(read_results(tmp_path / "v.jsonl"))
    assert len(sweep_figure(table).axes) == 3  # curves, heat map and its colour bar: two keys vary
    one_key = experiments.ResultsTable([row for row in table if row.config["lr"] == 0.1])
    assert len(sweep_figure(one_key).axes) == 1


@pytest.mark.parametrize(
    "args, error",
    [
        (["--activation", "sigmoid,gelu"], "argument --activation: unknown activation 'gelu'"),
        (["--optimizer", "sgd,lion"], "argument --optimizer: unknown optimizer 'lion'"),
        (["--hidden", "4,4y4"], "argument --hidden: '4y4' is not a list of layer sizes"),
        (["--lr", "0.1,fast"], "argument --lr: 'fast' is not a number"),
        (["--batch-size", "2,2"], "argument --batch-size: '2' is given twice"),
        (["--seeds", "0"], "argument --seeds: must be at least 1"),
    ],
)
def test_bad_names_fail_before_any_run_naming_the_flag_and_value(tmp_path, monkeypatch, capsys, args, error):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as info:
        run_cli(*args)
    assert info.value.code == 2
    assert error in capsys.readouterr().err
    assert not (tmp_path / "runs.jsonl").exists()


def test_ctrl_c_in_the_command_exits_130_keeping_finished_runs(tmp_path, monkeypatch, capsys):
    import microgradnn.experiments.command as command

    real = command.train_run

    def interrupted(config, seed):
        if config["activation"] == "relu":
            raise KeyboardInterrupt
        return real(config, seed)

    monkeypatch.setattr(command, "train_run", interrupted)
    monkeypatch.chdir(tmp_path)
    assert run_cli("--activation", "tanh,relu", "--epochs", 5, "--seeds", 2, "--n-jobs", 1) == 130
    assert "every finished run is kept in runs.jsonl" in capsys.readouterr().err
    assert [r["config"]["activation"] for r in read_results(tmp_path / "runs.jsonl")] == ["tanh", "tanh"]
