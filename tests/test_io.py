"""Checkpoints: round trips, exact resumption of training, atomic writes, refusing bad files."""

import errno
import io
import json
import math
import os
import pickle
import re
import signal
import stat
import struct
import subprocess
import sys
import threading
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import safetensors.numpy as stnp
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import microgradnn as mg
import microgradnn.io as mgio
from microgradnn import nn, optim
from microgradnn.io import CheckpointError, WriteError, atomic_write, check_destination

ROOT = Path(__file__).resolve().parent.parent
POSIX = os.name == "posix"


def same(a, b):
    """Whether two loaded objects are equal exactly: types, order, dtypes and bits."""
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return repr(a) == repr(b)  # nan equals nan, -0.0 differs from 0.0
    if isinstance(a, dict):
        return (
            list(a) == list(b)
            and all(type(k) is type(j) for k, j in zip(a, b, strict=True))
            and all(same(a[k], b[k]) for k in a)
        )
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def temporaries(folder):
    return sorted(name for name in os.listdir(folder) if ".tmp-" in name)


# ------------------------------------------------------------------ round trips


def test_round_trip_of_nested_values(tmp_path):
    obj = {
        "arrays": [np.arange(3.0), np.ones((2, 2), dtype=np.float32), np.array([True, False])],
        "numbers": {"int": 3, "float": 0.5, "inf": float("inf"), "nan": float("nan"), "np": np.float64(2.5)},
        "misc": (None, "text", True, (1, 2)),
        7: "int key",
        "tensor": mg.Tensor([1.0, 2.0]),
    }
    path = tmp_path / "ck.safetensors"
    mg.save(obj, path)
    back = mg.load(path)
    np.testing.assert_array_equal(back["arrays"][0], np.arange(3.0))
    assert back["arrays"][1].dtype == np.float32 and back["arrays"][2].dtype == bool
    assert back["numbers"]["int"] == 3 and back["numbers"]["np"] == 2.5
    assert back["numbers"]["inf"] == float("inf") and np.isnan(back["numbers"]["nan"])
    assert back["misc"] == (None, "text", True, (1, 2))
    assert back[7] == "int key"
    np.testing.assert_array_equal(back["tensor"], [1.0, 2.0])


def test_the_file_is_safetensors_with_readable_tensor_names(tmp_path):
    path = tmp_path / "ck.safetensors"
    a, b, c = np.arange(2.0), np.ones(3), np.zeros(1)
    mg.save({"model": {"0.weight": a}, "opt": [b], "a.b": c, "a": {"b": c + 1}}, path)
    names = stnp.load_file(path)
    assert sorted(names) == ["a.b", "a.b#1", "model.0.weight", "opt.0"]  # a clash gets a suffix
    np.testing.assert_array_equal(names["model.0.weight"], a)
    back = mg.load(path)
    assert back["a.b"][0] == 0.0 and back["a"]["b"][0] == 1.0


def test_import_microgradnn_does_not_import_safetensors():
    code = "import sys, microgradnn; print('safetensors' in sys.modules)"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == "False"


DTYPES = [
    "bool",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "float16",
    "float32",
    "float64",
]
LAYOUTS = {
    "plain": lambda a: a,
    "0-d": lambda a: a[1:2, 2:3].reshape(()),
    "empty": lambda a: a[:0],
    "empty 3-d": lambda a: np.empty((2, 0, 3), dtype=a.dtype),
    "transposed": lambda a: a.T,
    "strided view": lambda a: a[::2, ::-3],
    "fortran": np.asfortranarray,
    "big-endian": lambda a: a.astype(a.dtype.newbyteorder(">")),
}


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("dtype", DTYPES)
def test_every_array_round_trips_exactly(tmp_path, dtype, layout):
    base = np.arange(24).reshape(4, 6) % (2 if dtype == "bool" else 100)
    base = base.astype(dtype)
    if base.dtype.kind == "f":
        base[0, :3] = [np.nan, np.inf, -0.0]
    array = LAYOUTS[layout](base)
    mg.save({"a": array, "t": mg.Tensor(base.astype(np.float64)) if dtype == "float64" else None}, tmp_path / "a")
    back = mg.load(tmp_path / "a")["a"]
    native = np.dtype(dtype)
    assert back.dtype == native and back.shape == array.shape
    assert back.tobytes() == np.ascontiguousarray(array, dtype=native).tobytes()


def test_loaded_arrays_are_writable_copies(tmp_path):
    mg.save({"w": np.arange(3.0)}, tmp_path / "w")
    w = mg.load(tmp_path / "w")["w"]
    w[0] = 5.0  # an optimizer's state, or a user, may change it in place
    assert w.flags.writeable and w.flags.owndata and w[0] == 5.0


def test_edge_values_round_trip_exactly(tmp_path):
    obj = {
        "floats": [-0.0, 5e-324, 1.7976931348623157e308, -math.inf, math.nan],
        "ints": [2**100, -(2**70), 0],
        "strings": ["", 'ü\n"\\', "\udc80 from a file name", "__array__"],
        "tag-like keys": {"__array__": 1, "__dict__": [2], "__metadata__": np.ones(1)},
        "bools": [True, False, np.bool_(True)],
        "empty": [[], (), {}],
        "tuple keys of ints": {0: (1,), -5: None},
        "\udc80 a key no tensor name can hold": np.arange(2),  # as os.fsdecode gives
    }
    mg.save(obj, tmp_path / "e")
    back = mg.load(tmp_path / "e")
    assert same(back["floats"], obj["floats"]) and back["ints"] == obj["ints"]
    assert back["strings"] == obj["strings"] and back["bools"] == [True, False, True]
    assert back["tag-like keys"]["__array__"] == 1 and back["tag-like keys"]["__dict__"] == [2]
    assert back["empty"] == [[], (), {}] and back["tuple keys of ints"] == {0: (1,), -5: None}
    assert same(back["\udc80 a key no tensor name can hold"], np.arange(2))


def test_nesting_up_to_the_limit_round_trips(tmp_path):
    deep = leaf = [np.ones(1)]
    for _ in range(mgio.MAX_DEPTH - 1):
        deep = [deep]
    mg.save(deep, tmp_path / "d")
    back = mg.load(tmp_path / "d")
    for _ in range(mgio.MAX_DEPTH - 1):
        (back,) = back
    assert same(back, leaf)


ARRAYS = hnp.arrays(
    dtype=st.sampled_from([np.float64, np.float32, np.int16, np.uint8, np.bool_]),
    shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3),
)
LEAVES = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5) | ARRAYS
TREES = st.recursive(
    LEAVES,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=4) | st.integers(), inner, max_size=3)
    ),
    max_leaves=12,
)


@given(obj=TREES)
def test_any_tree_round_trips_exactly(tmp_path_factory, obj):
    path = tmp_path_factory.mktemp("tree") / "t.safetensors"
    mg.save(obj, path)
    assert same(mg.load(path), obj)


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
    path = tmp_path / "run.safetensors"
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


@pytest.mark.parametrize(
    "make",
    [
        lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
        lambda p: optim.Adam(p, lr=0.01, betas=(0.8, 0.9), amsgrad=True),
        lambda p: optim.AdamW(p, lr=0.01),
        lambda p: optim.RMSprop(p, lr=0.01, momentum=0.5, centered=True),
        lambda p: optim.Adagrad(p, lr=0.1),
    ],
)
def test_optimizer_state_round_trips_exactly(tmp_path, make):
    model = nn.MLP(2, 3, 1, rng=np.random.default_rng(0))
    opt = make(model.parameters())
    for _ in range(2):
        opt.zero_grad()
        model(mg.Tensor([[1.0, -2.0]])).sum().backward()
        opt.step()
    mg.save(opt.state_dict(), tmp_path / "opt")
    assert same(mg.load(tmp_path / "opt"), opt.state_dict())


def test_a_pytorch_style_file_loads_into_a_model_transposed(tmp_path):
    # What docs/checkpoints.md shows with PyTorch: a Linear's weight is (out, in).
    rng = np.random.default_rng(0)
    w, b = rng.standard_normal((2, 3)).astype(np.float32), rng.standard_normal(2).astype(np.float32)
    stnp.save_file({"0.weight": w, "0.bias": b}, tmp_path / "m.safetensors", metadata={"format": "pt"})
    state = mg.load(tmp_path / "m.safetensors")
    model = nn.MLP(3, 2).float()
    model.load_state_dict({"0.weight": state["0.weight"].T, "0.bias": state["0.bias"]})
    x = rng.standard_normal((4, 3)).astype(np.float32)
    np.testing.assert_allclose(model(mg.Tensor(x)).data, x @ w.T + b, rtol=1e-6)


@pytest.mark.parametrize("metadata", [None, {"format": "pt"}, {"anything": "{not json", "": ""}])
def test_a_file_from_another_tool_loads_as_a_flat_dict(tmp_path, metadata):
    tensors = {"b": np.arange(3, dtype=np.int32), "a.weight": np.ones((2, 2), np.float16), "c": np.zeros(0)}
    stnp.save_file(tensors, tmp_path / "other.safetensors", metadata=metadata)
    back = mg.load(tmp_path / "other.safetensors")
    assert sorted(back) == sorted(tensors) and all(same(back[k], v) for k, v in tensors.items())


def test_an_existing_file_is_replaced_atomically_and_kept_on_failure(tmp_path):
    path = tmp_path / "ck.safetensors"
    mg.save({"v": 1}, path)
    with pytest.raises(TypeError, match="save: cannot store object"):
        mg.save({"v": object()}, path)
    assert mg.load(path) == {"v": 1}
    assert sorted(os.listdir(tmp_path)) == ["ck.safetensors"]  # no temporary file left behind
    mg.save({"v": 2}, path)
    assert mg.load(path) == {"v": 2}


def test_path_without_extension_is_kept_as_given(tmp_path):
    path = tmp_path / "model.ckpt"
    mg.save({"a": 1}, path)
    assert path.exists() and mg.load(path) == {"a": 1}


def test_save_refuses_what_it_cannot_store(tmp_path):
    path = tmp_path / "x.safetensors"
    with pytest.raises(TypeError, match=r"save a model's state_dict\(\), not the model"):
        mg.save(nn.Dense(2, 2), path)
    with pytest.raises(TypeError, match="dict keys must be str or int"):
        mg.save({(1, 2): 3}, path)
    with pytest.raises(TypeError, match="cannot store an array of <U1"):
        mg.save({"a": np.array(["x"])}, path)
    with pytest.raises(TypeError, match="cannot store set"):
        mg.save({"a": {1, 2}}, path)
    for array in (np.ones(2, dtype=object), np.ones(2, np.complex64), np.ones(2, np.longdouble)):
        if array.dtype == np.float64:
            continue  # platforms whose long double is a double
        with pytest.raises(TypeError, match="cannot store an array of"):
            mg.save({"a": array}, path)
    assert not path.exists()


def test_save_refuses_nesting_beyond_the_limit_without_recursion_error(tmp_path):
    loop: list = []
    loop.append(loop)
    deep: list = [1]
    for _ in range(mgio.MAX_DEPTH):
        deep = [deep]
    for obj in (loop, deep, {"a": deep}):
        with pytest.raises(ValueError, match="nested more than 100 levels deep"):
            mg.save(obj, tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        mg.load(tmp_path / "nope.safetensors")


# ------------------------------------------------------------------ hostile files


def st_file(header, data=b"", length=None):
    """safetensors bytes by hand: an 8-byte header length, the JSON header, the data."""
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    return struct.pack("<Q", len(raw) if length is None else length) + raw + data


def f32(begin=0, shape=(1,), end=None):
    n = begin + 4 * math.prod(shape) if end is None else end
    return {"dtype": "F32", "shape": list(shape), "data_offsets": [begin, n]}


def with_index(tree, tensors=None, index=None):
    """A file holding ``tensors`` (default: one tensor "w") and microgradnn's index ``tree``."""
    tensors = {"w": np.ones(2)} if tensors is None else tensors
    if index is None:
        index = json.dumps({"format": "microgradnn-checkpoint", "version": 2, "tree": tree})
    return stnp.save(tensors, metadata={"microgradnn": index})


def nested(depth, inner="1"):
    return "[" * depth + inner + "]" * depth


def npz_bytes():
    buffer = io.BytesIO()
    np.savez(buffer, weights=np.ones(3))
    return buffer.getvalue()


def npy_bytes():
    buffer = io.BytesIO()
    np.save(buffer, np.ones(3))
    return buffer.getvalue()


HOSTILE = {
    "empty file": (b"", "is empty"),
    "a few bytes": (b"\x05\x00\x00", r"is too short \(3 bytes\)"),
    "text": (b"x1,x2,y\n0,1,1\n", r"is not a microgradnn checkpoint \(not a safetensors file"),
    "random bytes": (np.random.default_rng(0).bytes(300), "not a safetensors file"),
    "an old .npz checkpoint": (npz_bytes(), r"is a zip archive \(such as an .npz file"),
    "a .npy array": (npy_bytes(), "is a single .npy array"),
    "a pickle": (pickle.dumps({"w": [1.0]}), "not a safetensors file"),
    "header longer than the file": (
        st_file({"w": f32()}, b"\0" * 4, length=500),
        "is truncated: its header should be 500",
    ),
    "header length 2**63": (st_file(b"{}", length=2**63), "is truncated: its header should be 9223372036854775808"),
    "header length 2**64-1": (st_file(b"{}", length=2**64 - 1), "is truncated"),
    "tensor data cut short": (st_file({"w": f32(shape=(4,))}, b"\0" * 10), "is truncated: tensor 'w' needs 16 bytes"),
    "huge tensor claimed": (
        st_file({"w": {"dtype": "F64", "shape": [2**40], "data_offsets": [0, 2**43]}}, b"\0" * 8),
        "is truncated: tensor 'w' needs 8796093022208 bytes of data, the file holds 8",
    ),
    "header not UTF-8": (st_file(b'{"w\xff": 1}'), r"its header is not UTF-8 text \(invalid start byte at byte 3\)"),
    "header not JSON": (st_file(b'{"w": '), "its header is not valid JSON"),
    "header a list": (st_file(b"[1, 2]"), "not a safetensors file"),
    "header trailing garbage": (st_file(b"{} {}"), "its header is not valid JSON"),
    "header with an enormous integer": (
        st_file(b'{"w": {"dtype": "F32", "shape": [1' + b"0" * 5000 + b'], "data_offsets": [0, 4]}}'),
        "its header is not valid JSON",
    ),
    "header nested past the limit": (st_file(('{"w": ' + nested(400) + "}").encode()), "nested more than 304 levels"),
    "header nested past the recursion limit": (
        st_file(('{"w": ' + nested(100_000) + "}").encode()),
        "nested too deeply",
    ),
    "duplicate tensor names": (
        st_file(b'{"w": ' + json.dumps(f32()).encode() + b', "w": ' + json.dumps(f32(4)).encode() + b"}", b"\0" * 8),
        "its header repeats the key 'w'",
    ),
    "metadata not strings": (st_file({"__metadata__": {"a": 1}}), "its __metadata__ must be an object of strings"),
    "metadata a list": (st_file({"__metadata__": ["a"]}), "its __metadata__ must be an object of strings"),
    "entry not an object": (st_file({"w": 5}), "tensor 'w' is described by a JSON number, not an object"),
    "entry without offsets": (st_file({"w": {"dtype": "F32"}}), "tensor 'w' has no shape and no data_offsets"),
    "BF16": (
        st_file({"w": {"dtype": "BF16", "shape": [2], "data_offsets": [0, 4]}}, b"\0" * 4),
        r"tensor 'w' has dtype 'BF16', which NumPy does not support \(convert it to float32",
    ),
    "F8_E4M3": (
        st_file({"w": {"dtype": "F8_E4M3", "shape": [2], "data_offsets": [0, 2]}}, b"\0" * 2),
        "tensor 'w' has dtype 'F8_E4M3', which NumPy does not support",
    ),
    "unknown dtype": (st_file({"w": {**f32(), "dtype": "Q9"}}, b"\0" * 4), "tensor 'w' has dtype 'Q9'"),
    "dtype not a string": (st_file({"w": {**f32(), "dtype": 4}}, b"\0" * 4), "tensor 'w' has dtype 4"),
    "negative shape": (st_file({"w": {**f32(), "shape": [-1]}}, b"\0" * 4), r"has shape \[-1\]; a shape is a list"),
    "float in shape": (st_file({"w": {**f32(), "shape": [1.0]}}, b"\0" * 4), r"has shape \[1.0\]"),
    "bool in shape": (st_file({"w": {**f32(), "shape": [True]}}, b"\0" * 4), r"has shape \[True\]"),
    "shape a string": (st_file({"w": {**f32(), "shape": "1"}}, b"\0" * 4), "has shape '1'"),
    "65 dimensions": (st_file({"w": {**f32(), "shape": [1] * 65}}, b"\0" * 4), "at most 64 whole numbers"),
    "offsets backwards": (st_file({"w": f32(4, end=0)}, b"\0" * 4), r"data_offsets \[4, 0\]; expected \[begin, end\]"),
    "offsets not a pair": (st_file({"w": {**f32(), "data_offsets": [0]}}, b"\0" * 4), r"data_offsets \[0\]"),
    "offsets negative": (st_file({"w": {**f32(), "data_offsets": [-4, 0]}}, b"\0" * 4), r"data_offsets \[-4, 0\]"),
    "size not shape x dtype": (
        st_file({"w": f32(shape=(3,), end=4)}, b"\0" * 4),
        r"has shape \[3\] of F32 \(12 bytes\) but data_offsets \[0, 4\] hold 4 bytes",
    ),
    "overlapping tensors": (
        st_file({"a": f32(shape=(2,)), "b": f32(4)}, b"\0" * 8),
        "tensors 'a' and 'b' overlap in the data",
    ),
    "a gap between tensors": (
        st_file({"a": f32(), "b": f32(8)}, b"\0" * 12),
        "4 bytes before tensor 'b' belong to no tensor",
    ),
    "bytes after the last tensor": (
        st_file({"a": f32()}, b"\0" * 12),
        "8 bytes after the last tensor belong to no tensor",
    ),
    "a name safetensors refuses": (
        st_file(b'{"\\ud800": ' + json.dumps(f32()).encode() + b"}", b"\0" * 4),
        "is not a valid safetensors file",
    ),
    "index not JSON": (with_index(None, index="{"), "its 'microgradnn' metadata is not valid JSON"),
    "index a list": (with_index(None, index="[]"), "has 'microgradnn' metadata but it is not a microgradnn checkpoint"),
    "index of another format": (
        with_index(None, index='{"format": "x", "tree": 1}'),
        "not a microgradnn checkpoint index",
    ),
    "index of another version": (
        with_index(None, index='{"format": "microgradnn-checkpoint", "version": 99, "tree": 1}'),
        "is checkpoint format version 99; this microgradnn reads version 2",
    ),
    "index repeats a key": (
        with_index(None, index='{"format": "microgradnn-checkpoint", "version": 2, "tree": 1, "tree": 2}'),
        "its 'microgradnn' metadata repeats the key 'tree'",
    ),
    "index misses a tensor": (with_index({"__array__": "nope"}), "lists tensor 'nope', which the file does not hold"),
    "index names no tensor": (with_index({"__array__": 3}), "lists tensor 3, which the file does not hold"),
    "tensor not in the index": (with_index([1]), r"holds 1 tensor\(s\) its index does not list: \['w'\]"),
    "tensor listed twice": (with_index([{"__array__": "w"}, {"__array__": "w"}]), "lists tensor 'w' twice"),
    "unknown tag": (with_index({"__set__": [1]}, {}), "has an index entry this version does not know: '__set__'"),
    "tag with extra keys": (with_index({"__array__": "w", "x": 1}), r"does not know: \['__array__', 'x'\]"),
    "bad float tag": (with_index({"__float__": "1.5"}, {}), "does not know: '__float__': '1.5'"),
    "bad tuple tag": (with_index({"__tuple__": 5}, {}), "does not know: '__tuple__': 5"),
    "dict entry not a pair": (with_index({"__dict__": [[1, 2, 3]]}, {}), r"a dict entry of its index is \[1, 2, 3\]"),
    "dict with a bool key": (with_index({"__dict__": [[True, 2]]}, {}), r"a dict entry of its index is \[True, 2\]"),
    "dict with a list key": (with_index({"__dict__": [[[1], 2]]}, {}), r"a dict entry of its index is \[\[1\], 2\]"),
    "dict repeats a key": (
        with_index({"__dict__": [["a", 1], ["a", 2]]}, {}),
        "a dict of its index repeats the key 'a'",
    ),
    "tree nested past the limit": (with_index(json.loads(nested(101)), {}), "more than 100 levels deep"),
    "tree of tuples past the limit": (
        with_index(json.loads('{"__tuple__": [' * 101 + "]}" * 101), {}),
        "more than 100 levels deep",
    ),
    "tree nested past the recursion limit": (
        with_index(
            None, {}, index='{"format": "microgradnn-checkpoint", "version": 2, "tree": ' + nested(50_000) + "}"
        ),
        "its 'microgradnn' metadata is nested too deeply",
    ),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_hostile_file_raises_one_clear_checkpoint_error(tmp_path, case):
    data, pattern = HOSTILE[case]
    path = tmp_path / "bad.safetensors"
    path.write_bytes(data)
    with pytest.raises(CheckpointError, match=pattern) as info:
        mg.load(path)
    message = str(info.value)
    assert message.startswith(f"load: {path}") and "\n" not in message  # names the file, on one line


def test_hostile_sizes_allocate_nothing(tmp_path):
    path = tmp_path / "bad.safetensors"
    for case in ("header length 2**63", "huge tensor claimed"):
        path.write_bytes(HOSTILE[case][0])
        tracemalloc.start()
        try:
            with pytest.raises(CheckpointError):
                mg.load(path)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 1_000_000, case


def test_a_header_larger_than_safetensors_allows_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(mgio, "_MAX_HEADER_BYTES", 16)
    path = tmp_path / "big.safetensors"
    path.write_bytes(st_file({"w": f32()}, b"\0" * 4))
    with pytest.raises(CheckpointError, match="larger than safetensors allows"):
        mg.load(path)


def test_every_truncation_and_corruption_raises_only_checkpoint_error(tmp_path):
    path = tmp_path / "ck.safetensors"
    mg.save({"w": np.arange(3.0), "b": np.ones(2, np.float32), "step": 7, "betas": (0.9, 0.99)}, path)
    good = path.read_bytes()
    rng = np.random.default_rng(0)
    variants = [good[:n] for n in range(len(good))]
    for _ in range(400):
        damaged = bytearray(good)
        damaged[rng.integers(len(good))] = rng.integers(256)
        variants.append(bytes(damaged))
    for data in variants:
        path.write_bytes(data)
        try:
            mg.load(path)
        except CheckpointError:
            pass  # anything else fails the test


def test_loading_refuses_pickles_and_executes_nothing(tmp_path):
    marker = tmp_path / "ran"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    old_style = tmp_path / "evil.npz"  # the old container, with a pickled object inside
    np.savez(old_style, a0=np.array([Evil()], dtype=object))
    raw = tmp_path / "evil.pkl"
    raw.write_bytes(pickle.dumps(Evil()))
    for path in (old_style, raw):
        with pytest.raises(CheckpointError, match="not a safetensors"):
            mg.load(path)
    assert not marker.exists()


def test_loading_what_is_not_a_file_raises_a_clear_error(tmp_path):
    with pytest.raises(CheckpointError, match="is a directory, not a checkpoint file"):
        mg.load(tmp_path)
    if not hasattr(os, "mkfifo"):
        return
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    errors = []
    reader = threading.Thread(target=lambda: errors.append(pytest.raises(CheckpointError, mg.load, fifo)), daemon=True)
    reader.start()
    reader.join(timeout=5)
    assert not reader.is_alive(), "load blocked on a FIFO"
    assert "is a named pipe (FIFO), not a checkpoint file" in str(errors[0].value)


# ------------------------------------------------------------------ writing files safely


@pytest.fixture
def umask():
    """Set the process's umask for one test."""
    old = os.umask(0o022)
    yield lambda mask: os.umask(mask)
    os.umask(old)


@pytest.mark.skipif(not POSIX, reason="file modes are POSIX")
@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_a_new_file_gets_the_umask_mode(tmp_path, umask, mask, mode):
    umask(mask)
    mg.save({"v": 1}, tmp_path / "new.safetensors")
    assert stat.S_IMODE(os.stat(tmp_path / "new.safetensors").st_mode) == mode
    with open(tmp_path / "by_open", "w"):
        pass
    assert stat.S_IMODE(os.stat(tmp_path / "by_open").st_mode) == mode  # as open() gives


@pytest.mark.skipif(not POSIX, reason="file modes are POSIX")
def test_replacing_a_file_keeps_its_mode(tmp_path, umask):
    path = tmp_path / "ck.safetensors"
    mg.save({"v": 1}, path)
    os.chmod(path, 0o640)
    umask(0o077)
    mg.save({"v": 2}, path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640 and mg.load(path) == {"v": 2}


@pytest.mark.skipif(not POSIX, reason="symbolic links")
def test_a_symlink_is_followed_and_stays_a_link(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "links").mkdir()
    target, link = tmp_path / "real" / "ck.safetensors", tmp_path / "links" / "ck.safetensors"
    mg.save({"v": 1}, target)
    os.chmod(target, 0o600)
    link.symlink_to(target)
    mg.save({"v": 2}, link)
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert mg.load(target) == {"v": 2} and stat.S_IMODE(os.stat(target).st_mode) == 0o600
    assert temporaries(tmp_path / "real") == [] and temporaries(tmp_path / "links") == []
    relative = tmp_path / "real" / "rel"
    relative.symlink_to("ck.safetensors")  # relative to the link's folder
    mg.save({"v": 3}, relative)
    assert relative.is_symlink() and mg.load(target) == {"v": 3}


def refused_destinations(tmp_path):
    """Destinations atomic_write must refuse, each with what the message says."""
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "inside").write_text("keep me")
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    (tmp_path / "file").write_text("a file, not a folder")
    cases = {
        "folder": "is a directory, not a regular file; refusing to replace it",
        "dangling": "is a symbolic link to .*nowhere, which does not exist; refusing to write through it",
        "loop": "is a symbolic link that cannot be followed",
        "missing/ck.safetensors": "the folder .*missing does not exist",
        "file/ck.safetensors": "the folder .*file is not a folder",
        "new/": "it names a folder",
    }
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "fifo")
        cases["fifo"] = r"is a named pipe \(FIFO\), not a regular file"
    return cases


@pytest.mark.skipif(not POSIX, reason="symbolic links and FIFOs")
def test_destinations_that_are_not_regular_files_are_refused_and_left_alone(tmp_path):
    cases = refused_destinations(tmp_path)
    before = sorted(os.listdir(tmp_path))
    for name, pattern in cases.items():
        path = os.path.join(tmp_path, name)
        for attempt in (check_destination, lambda p: mg.save({"v": 1}, p)):
            with pytest.raises(WriteError, match=pattern) as info:
                attempt(path)
            assert str(info.value).count(path.rstrip("/")) >= 1 and info.value.filename == path
            assert isinstance(info.value, OSError)
        with pytest.raises(WriteError, match=pattern):
            with atomic_write(path) as f:
                f.write(b"never")
    assert sorted(os.listdir(tmp_path)) == before
    assert (tmp_path / "folder" / "inside").read_text() == "keep me"
    assert stat.S_ISFIFO(os.lstat(tmp_path / "fifo").st_mode)
    assert (tmp_path / "dangling").is_symlink() and not (tmp_path / "nowhere").exists()


@pytest.mark.skipif(not os.path.exists("/dev/null"), reason="no /dev/null")
def test_dev_null_is_refused(tmp_path):
    with pytest.raises(WriteError, match="/dev/null is a character device, not a regular file"):
        check_destination("/dev/null")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_a_folder_without_write_permission_is_refused(tmp_path, monkeypatch):
    locked = tmp_path / "locked"
    locked.mkdir()
    # os.access answers for the permission bits (root may write anywhere, so the bits alone
    # would not show the refusal when the suite runs as root).
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: os.fspath(path) != str(locked) and real_access(path, mode))
    with pytest.raises(WriteError, match="no permission to create files in"):
        check_destination(locked / "ck.safetensors")
    assert list(locked.iterdir()) == []


def test_check_destination_accepts_what_can_be_written(tmp_path):
    check_destination(tmp_path / "new.safetensors")
    (tmp_path / "old.safetensors").write_bytes(b"x")
    check_destination(tmp_path / "old.safetensors")
    if POSIX:
        (tmp_path / "link").symlink_to(tmp_path / "old.safetensors")
        check_destination(tmp_path / "link")
    assert "new.safetensors" not in os.listdir(tmp_path) and (tmp_path / "old.safetensors").read_bytes() == b"x"


def test_an_error_inside_the_block_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "ck.safetensors"
    path.write_bytes(b"old")
    with pytest.raises(ValueError, match="broken writer"):
        with atomic_write(path) as f:
            f.write(b"new, half")
            raise ValueError("broken writer")
    assert path.read_bytes() == b"old" and temporaries(tmp_path) == []


def test_a_full_disk_raises_an_os_error_naming_the_file(tmp_path):
    path = tmp_path / "ck.safetensors"
    path.write_bytes(b"old")
    with pytest.raises(OSError, match=r"could not write .*ck.safetensors: No space left on device") as info:
        with atomic_write(path) as f:
            f.write(b"new, half")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    assert isinstance(info.value, WriteError) and info.value.errno == errno.ENOSPC
    assert isinstance(info.value.__cause__, OSError) and "the old file is unchanged" in str(info.value)
    assert path.read_bytes() == b"old" and temporaries(tmp_path) == []


def test_save_on_a_full_disk_keeps_the_old_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "ck.safetensors"
    mg.save({"v": 1}, path)

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(WriteError, match=f"could not write {path}: No space left on device"):
        mg.save({"v": 2}, path)
    with pytest.raises(WriteError, match=r"\(no file was written\)"):
        mg.save({"v": 2}, tmp_path / "new.safetensors")
    monkeypatch.undo()
    assert mg.load(path) == {"v": 1} and sorted(os.listdir(tmp_path)) == ["ck.safetensors"]


def test_keyboard_interrupt_is_re_raised_as_is_and_cleans_up(tmp_path):
    path = tmp_path / "ck.safetensors"
    path.write_bytes(b"old")
    with pytest.raises(KeyboardInterrupt):
        with atomic_write(path) as f:
            f.write(b"new, half")
            raise KeyboardInterrupt
    assert path.read_bytes() == b"old" and temporaries(tmp_path) == []


CHILD = """
import sys, time
from microgradnn.io import atomic_write
with atomic_write(sys.argv[1]) as f:
    f.write(b"half of a new file")
    f.flush()
    print("writing", flush=True)
    time.sleep(60)
"""


def python(*args, **kwargs):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, *args], env=env, **kwargs)


@pytest.mark.skipif(not POSIX, reason="SIGKILL")
def test_a_temporary_left_by_a_killed_writer_is_removed_by_the_next_save(tmp_path):
    path = tmp_path / "ck.safetensors"
    mg.save({"v": 1}, path)
    child = python("-c", CHILD, str(path), stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "writing"
        left = temporaries(tmp_path)
        assert len(left) == 1 and f"-{child.pid}-" in left[0] and left[0].startswith(".ck.safetensors.tmp-")
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)  # reaped: a zombie still counts as alive
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stdout.close()
    assert mg.load(path) == {"v": 1}  # the old file survived the kill intact
    assert temporaries(tmp_path) == left
    mg.save({"v": 2}, path)
    assert temporaries(tmp_path) == [] and mg.load(path) == {"v": 2}


@pytest.mark.skipif(not POSIX, reason="process probes are POSIX")
def test_only_temporaries_of_dead_writers_of_the_same_destination_are_removed(tmp_path):
    path = tmp_path / "ck.safetensors"
    dead = python("-c", "pass")
    dead.wait()
    live = python("-c", "import time; time.sleep(30)")
    try:
        prefix = mgio._temp_prefix("ck.safetensors")
        keep = [
            f"{prefix}{live.pid}-abcdefgh",  # its writer is still running
            f"{prefix}{os.getpid()}-abcdefgh",  # this process: perhaps another thread
            f"{mgio._temp_prefix('other.safetensors')}{dead.pid}-abcdefgh",  # another destination
            f".ck.safetensors.tmp-00000000-{dead.pid}-abcdefgh",  # written on another machine
            f"{prefix}{dead.pid}-abc.defgh",  # not a name atomic_write makes
            "notes.txt",
        ]
        for name in keep:
            (tmp_path / name).write_text("keep")
        (tmp_path / f"{prefix}{dead.pid}-zzzzzzzz").mkdir()  # a folder, not ours to remove
        stale = tmp_path / f"{prefix}{dead.pid}-a1b2c3d4"
        stale.write_text("left by a dead writer")
        mg.save({"v": 1}, path)
        assert not stale.exists()
        assert sorted(os.listdir(tmp_path)) == sorted([*keep, f"{prefix}{dead.pid}-zzzzzzzz", "ck.safetensors"])
    finally:
        live.kill()
        live.wait()


# ------------------------------------------------------------------ load_state_dict


def test_load_state_dict_refuses_what_is_not_a_mapping():
    model = nn.Dense(2, 1)
    for value, shown in ((list(model.state_dict().items()), "list"), (mg.Tensor([1.0]), "Tensor")):
        with pytest.raises(TypeError, match=f"expects a mapping of parameter names to arrays.*not {shown}$"):
            model.load_state_dict(value)
    with pytest.raises(TypeError, match=r"not str \(to read a file, pass mg.load\(path\)\)"):
        model.load_state_dict("model.safetensors")


def test_load_state_dict_errors_are_a_readable_runtime_error(tmp_path):
    model = nn.MLP(2, 3, 1, rng=np.random.default_rng(0))
    before = model.state_dict()
    mg.save({"0.weight": np.zeros((3, 2)), "1.bias": np.zeros(1)}, tmp_path / "m")
    with pytest.raises(RuntimeError) as info:
        model.load_state_dict(mg.load(tmp_path / "m"))
    assert str(info.value).splitlines() == [
        "Error(s) in loading state_dict for MLP (nothing was changed):",
        "  0.weight: shape (3, 2) in the state dict, (2, 3) in the model",
        "  missing key: 0.bias",
        "  missing key: 2.weight",
        "  missing key: 2.bias",
        "  unexpected key: 1.bias",
    ]
    assert same(model.state_dict(), before)


# ------------------------------------------------------------------ the guide's untested blocks


def guide_blocks(section):
    """The ```text blocks of one section of docs/checkpoints.md: code the doctests cannot run."""
    text = (ROOT / "docs" / "checkpoints.md").read_text(encoding="utf-8")
    body = text.split(f"\n## {section}\n")[1].split("\n## ")[0]
    return re.findall(r"```text\n(.*?)```", body, re.S)


def test_the_guide_converts_an_old_npz_checkpoint(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (block,) = guide_blocks("Checkpoints of the old format")
    namespace: dict = {}
    exec(block, namespace)
    index = {
        "format": "microgradnn-checkpoint",
        "version": 1,
        "tree": {"__dict__": [["w", {"__array__": "a0"}], [0, {"__tuple__": [{"__float__": "inf"}, None]}]]},
    }
    np.savez("old.npz", __meta__=np.frombuffer(json.dumps(index).encode(), np.uint8), a0=np.arange(3.0))
    with pytest.raises(CheckpointError, match="is a zip archive"):
        mg.load("old.npz")
    namespace["convert_npz"]("old.npz", "new.safetensors")
    assert same(mg.load("new.safetensors"), {"w": np.arange(3.0), 0: (math.inf, None)})


def test_the_guide_round_trips_with_pytorch(tmp_path, monkeypatch):
    torch = pytest.importorskip("torch")
    monkeypatch.chdir(tmp_path)
    to_mg, to_torch = guide_blocks("To and from PyTorch")
    namespace: dict = {}
    torch.manual_seed(0)
    exec(to_mg, namespace)
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    model, torch_model = namespace["model"], namespace["torch_model"]
    expected = torch_model(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(model(mg.Tensor(x)).data, expected, rtol=1e-5, atol=1e-6)
    nn.init.constant_(model[0].bias, 0.5)  # a change that must travel back
    exec(to_torch, namespace)
    np.testing.assert_allclose(torch_model[0].bias.detach().numpy(), 0.5)
    np.testing.assert_allclose(torch_model(torch.from_numpy(x)).detach().numpy(), model(mg.Tensor(x)).data, rtol=1e-5)
