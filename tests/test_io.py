"""Checkpoints: round trips, exact resumption of training, atomic writes, refusing bad files."""

import json
import os
import zipfile

import numpy as np
import pytest

import microgradnn as mg
from microgradnn import nn, optim
from microgradnn.io import CheckpointError


def test_round_trip_of_nested_values(tmp_path):
    obj = {
        "arrays": [np.arange(3.0), np.ones((2, 2), dtype=np.float32), np.array([True, False])],
        "numbers": {"int": 3, "float": 0.5, "inf": float("inf"), "nan": float("nan"), "np": np.float64(2.5)},
        "misc": (None, "text", True, (1, 2)),
        7: "int key",
        "tensor": mg.Tensor([1.0, 2.0]),
    }
    path = tmp_path / "ck.npz"
    mg.save(obj, path)
    back = mg.load(path)
    np.testing.assert_array_equal(back["arrays"][0], np.arange(3.0))
    assert back["arrays"][1].dtype == np.float32 and back["arrays"][2].dtype == bool
    assert back["numbers"]["int"] == 3 and back["numbers"]["np"] == 2.5
    assert back["numbers"]["inf"] == float("inf") and np.isnan(back["numbers"]["nan"])
    assert back["misc"] == (None, "text", True, (1, 2))
    assert back[7] == "int key"
    np.testing.assert_array_equal(back["tensor"], [1.0, 2.0])


def test_path_without_extension_is_kept_as_given(tmp_path):
    path = tmp_path / "model.ckpt"
    mg.save({"a": 1}, path)
    assert path.exists() and mg.load(path) == {"a": 1}


def test_training_resumes_exactly_from_a_checkpoint(tmp_path):
    x = mg.Tensor(np.random.default_rng(0).standard_normal((8, 3)))
    y = mg.Tensor(np.random.default_rng(1).uniform(0, 1, (8, 1)))

    def make():
        model = nn.MLP(3, 5, 1, output_activation=nn.Sigmoid, rng=np.random.default_rng(2))
        opt = optim.Adam(model.parameters(), lr=0.05)
        sched = optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
        return model, opt, sched

    def train(model, opt, sched, steps):
        for _ in range(steps):
            loss = nn.MSELoss()(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()

    model, opt, sched = make()
    train(model, opt, sched, 5)
    path = tmp_path / "run.npz"
    mg.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict()}, path)
    train(model, opt, sched, 5)

    model2, opt2, sched2 = make()
    state = mg.load(path)
    model2.load_state_dict(state["model"])
    opt2.load_state_dict(state["optimizer"])
    sched2.load_state_dict(state["scheduler"])
    train(model2, opt2, sched2, 5)
    for (name, a), (_, b) in zip(model.state_dict().items(), model2.state_dict().items(), strict=True):
        np.testing.assert_array_equal(a, b, err_msg=name)
    assert opt2.param_groups[0]["lr"] == opt.param_groups[0]["lr"]


def test_an_existing_file_is_replaced_atomically_and_kept_on_failure(tmp_path):
    path = tmp_path / "ck.npz"
    mg.save({"v": 1}, path)
    with pytest.raises(TypeError, match="save: cannot store object"):
        mg.save({"v": object()}, path)
    assert mg.load(path) == {"v": 1}
    assert sorted(os.listdir(tmp_path)) == ["ck.npz"]  # no temporary file left behind
    mg.save({"v": 2}, path)
    assert mg.load(path) == {"v": 2}


def test_save_refuses_what_it_cannot_store(tmp_path):
    with pytest.raises(TypeError, match=r"save a model's state_dict\(\), not the model"):
        mg.save(nn.Dense(2, 2), tmp_path / "x.npz")
    with pytest.raises(TypeError, match="dict keys must be str or int"):
        mg.save({(1, 2): 3}, tmp_path / "x.npz")
    with pytest.raises(TypeError, match="cannot store an array of <U1"):
        mg.save({"a": np.array(["x"])}, tmp_path / "x.npz")


def test_loading_refuses_pickles_and_executes_nothing(tmp_path):
    path = tmp_path / "evil.npz"
    marker = tmp_path / "ran"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    np.savez(
        path,
        __meta__=np.frombuffer(
            json.dumps({"format": "microgradnn-checkpoint", "version": 1, "tree": {"__array__": "a0"}}).encode(),
            np.uint8,
        ),
        a0=np.array([Evil()], dtype=object),
    )
    with pytest.raises(CheckpointError, match="holds pickled objects; refusing to load them"):
        mg.load(path)
    assert not marker.exists()


@pytest.mark.parametrize(
    "write, pattern",
    [
        (lambda p: p.write_bytes(b"not an archive at all"), "is not a microgradnn checkpoint"),
        (lambda p: np.savez(p, weights=np.ones(3)), "is an .npz archive but not a microgradnn checkpoint"),
        (lambda p: np.save(p, np.ones(3)), "is a single .npy array"),
        (
            lambda p: np.savez(
                p, __meta__=np.frombuffer(b'{"format": "microgradnn-checkpoint", "version": 99, "tree": 1}', np.uint8)
            ),
            "is checkpoint format version 99; this microgradnn reads version 1",
        ),
        (
            lambda p: np.savez(
                p,
                __meta__=np.frombuffer(
                    b'{"format": "microgradnn-checkpoint", "version": 1, "tree": {"__array__": "a5"}}', np.uint8
                ),
            ),
            "is missing array 'a5'",
        ),
    ],
)
def test_loading_other_files_raises_a_clear_error(tmp_path, write, pattern):
    path = tmp_path / "bad.npz"
    write(path)
    if not path.exists():  # np.save adds .npy
        os.replace(str(path) + ".npy", path)
    with pytest.raises(CheckpointError, match=pattern):
        mg.load(path)


def test_truncated_file_raises_a_clear_error(tmp_path):
    path = tmp_path / "ck.npz"
    mg.save({"w": np.arange(1000.0)}, path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="not a microgradnn checkpoint|damaged or truncated"):
        mg.load(path)
    assert zipfile.is_zipfile(tmp_path / "ck.npz") is False


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        mg.load(tmp_path / "nope.npz")
