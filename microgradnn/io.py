"""Checkpoints: ``save(obj, path)`` and ``load(path)`` for state dicts, with no pickle.

A checkpoint is a NumPy ``.npz`` archive. Arrays go in under flattened keys (``a0``, ``a1``,
...); everything else (dict and list structure, ints, floats, bools, strings, None, tuples)
goes into one JSON entry, ``__meta__``, with a format name and version. Files are written
atomically (a temporary file beside the target, flushed, then renamed over it) and read with
``allow_pickle=False``, so loading can never execute code.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
import zipfile
from collections.abc import Iterator
from typing import Any, BinaryIO

import numpy as np

from .tensor import Tensor

__all__ = ["save", "load", "atomic_write", "CheckpointError", "FORMAT", "VERSION"]

FORMAT = "microgradnn-checkpoint"
VERSION = 1
_META = "__meta__"


class CheckpointError(ValueError):
    """A file that is not a checkpoint this version of microgradnn can read.

    >>> import microgradnn as mg
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "notes.txt")
    >>> _ = open(path, "w").write("hello")
    >>> mg.load(path)
    Traceback (most recent call last):
    ...
    microgradnn.io.CheckpointError: load: ... is not a microgradnn checkpoint (not an .npz archive)
    """


def _encode(obj: Any, arrays: dict[str, np.ndarray]) -> Any:
    """The JSON form of ``obj``; arrays are moved into ``arrays`` and referenced by key."""
    if isinstance(obj, Tensor):
        obj = obj.data
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind not in "biuf":
            raise TypeError(f"save: cannot store an array of {obj.dtype} (only numbers and booleans)")
        key = f"a{len(arrays)}"
        arrays[key] = obj
        return {"__array__": key}
    if isinstance(obj, np.generic):
        obj = obj.item()
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    if isinstance(obj, float):
        # JSON has no inf or nan; keep them exactly as tagged strings.
        return obj if math.isfinite(obj) else {"__float__": repr(obj)}
    if isinstance(obj, tuple):
        return {"__tuple__": [_encode(v, arrays) for v in obj]}
    if isinstance(obj, list):
        return [_encode(v, arrays) for v in obj]
    if isinstance(obj, dict):
        for key in obj:
            if not isinstance(key, (str, int)) or isinstance(key, bool):
                raise TypeError(f"save: dict keys must be str or int, not {type(key).__name__} {key!r}")
        # Keys keep their type (optimizer state is keyed by int): store pairs, in order.
        return {"__dict__": [[key, _encode(value, arrays)] for key, value in obj.items()]}
    raise TypeError(
        f"save: cannot store {type(obj).__name__}; a checkpoint holds dicts, lists, tuples, arrays, "
        "numbers, booleans, strings and None (save a model's state_dict(), not the model)"
    )


def _decode(obj: Any, archive: Any, path: str) -> Any:
    if isinstance(obj, list):
        return [_decode(v, archive, path) for v in obj]
    if isinstance(obj, dict):
        if "__array__" in obj:
            key = obj["__array__"]
            if key not in archive.files:
                raise CheckpointError(f"load: {path} is missing array {key!r}; the file is damaged")
            return archive[key]
        if "__float__" in obj:
            return float(obj["__float__"])
        if "__tuple__" in obj:
            return tuple(_decode(v, archive, path) for v in obj["__tuple__"])
        if "__dict__" in obj:
            return {key: _decode(value, archive, path) for key, value in obj["__dict__"]}
        raise CheckpointError(f"load: {path} has an entry this version does not know: {sorted(obj)}")
    return obj


def save(obj: Any, path: str | os.PathLike[str]) -> None:
    """Write ``obj`` (a state dict, or nested dicts and lists of them) to ``path`` atomically.

    An existing file is replaced only once the new one is complete.

    >>> import microgradnn as mg, tempfile, os
    >>> model = mg.nn.Dense(2, 1)
    >>> path = os.path.join(tempfile.mkdtemp(), "model.npz")
    >>> mg.save({"model": model.state_dict(), "epoch": 3}, path)
    >>> mg.load(path)["epoch"]
    3
    """
    path = os.fspath(path)
    arrays: dict[str, np.ndarray] = {}
    tree = _encode(obj, arrays)
    meta = json.dumps({"format": FORMAT, "version": VERSION, "tree": tree}, allow_nan=False)
    arrays[_META] = np.frombuffer(meta.encode("utf-8"), dtype=np.uint8)
    with atomic_write(path) as f:
        # NumPy's stubs read a ** mapping as its allow_pickle argument.
        np.savez(f, **arrays)  # type: ignore[arg-type]


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """Open a temporary file beside ``path`` for writing; when the block ends without an
    error, flush it to disk and rename it over ``path``. An error leaves ``path`` untouched
    and removes the temporary file.

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "notes.txt")
    >>> with atomic_write(path) as f:
    ...     _ = f.write(b"complete")
    >>> open(path, "rb").read()
    b'complete'
    """
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def load(path: str | os.PathLike[str]) -> Any:
    """Read a checkpoint written by :func:`save`; arrays come back as ndarrays.

    Raises :class:`CheckpointError` for a file that is not such a checkpoint: not an archive,
    truncated, of another format or version, or holding pickled objects (never unpickled).

    >>> import numpy as np, microgradnn as mg
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "w.npz")
    >>> mg.save({"w": np.arange(2.0), "step": 7}, path)
    >>> state = mg.load(path)
    >>> state["w"], state["step"]
    (array([0., 1.]), 7)
    """
    path = os.fspath(path)
    with open(path, "rb") as f:  # FileNotFoundError and PermissionError pass through as they are
        magic = f.read(6)
    if magic.startswith(b"\x93NUMPY"):
        raise CheckpointError(f"load: {path} is a single .npy array, not a microgradnn checkpoint")
    if not magic.startswith(b"PK"):
        raise CheckpointError(f"load: {path} is not a microgradnn checkpoint (not an .npz archive)")
    try:
        archive = np.load(path, allow_pickle=False)
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as err:
        raise CheckpointError(
            f"load: {path} is not a microgradnn checkpoint (not a readable .npz archive: {err})"
        ) from None
    with archive:
        try:
            if _META not in archive.files:
                raise CheckpointError(f"load: {path} is an .npz archive but not a microgradnn checkpoint (no {_META})")
            meta = json.loads(archive[_META].tobytes().decode("utf-8"))
            if not isinstance(meta, dict) or meta.get("format") != FORMAT:
                raise CheckpointError(f"load: {path} is not a microgradnn checkpoint")
            if meta.get("version") != VERSION:
                raise CheckpointError(
                    f"load: {path} is checkpoint format version "
                    f"{meta.get('version')}; this microgradnn reads version {VERSION}"
                )
            return _decode(meta["tree"], archive, path)
        except CheckpointError:
            raise
        except ValueError as err:
            if "allow_pickle" in str(err):
                raise CheckpointError(f"load: {path} holds pickled objects; refusing to load them") from None
            raise CheckpointError(f"load: {path} is damaged ({err})") from None
        except (OSError, zipfile.BadZipFile, EOFError, KeyError, UnicodeDecodeError) as err:
            raise CheckpointError(f"load: {path} is damaged or truncated ({type(err).__name__}: {err})") from None
