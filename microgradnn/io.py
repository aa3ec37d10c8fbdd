"""Checkpoints (``save(obj, path)``, ``load(path)``) and safe file writing (``atomic_write``).

A checkpoint is a `safetensors <https://huggingface.co/docs/safetensors>`_ file, read and
written with the ``safetensors`` package's NumPy API: every array is a tensor, named by where
it sits in the saved object (``model.0.weight``), and everything else (dict and list
structure, ints, floats including inf and nan, bools, strings, None, tuples, int dict keys)
goes as JSON into the header's metadata, under the key ``"microgradnn"``, with a format name
and version. Loading never executes code: there is no pickle anywhere, and a file's header
(dtypes, shapes, sizes, offsets) is checked completely before any tensor is read. Files
written by other tools (PyTorch's ``safetensors.torch.save_file``...) load as a flat
``{name: ndarray}`` dict. The format is described in ``docs/checkpoints.md``.

Every file is written through :func:`atomic_write`: a temporary file beside the destination,
flushed to disk, then renamed over it, so a crash or an error never leaves half a file, and
nothing that is not a regular file is ever replaced.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import math
import os
import re
import reprlib
import socket
import stat
import struct
import sys
import tempfile
from collections.abc import Iterator
from typing import Any, BinaryIO, NamedTuple

import numpy as np

from .tensor import Tensor

__all__ = [
    "save",
    "load",
    "atomic_write",
    "check_destination",
    "CheckpointError",
    "WriteError",
    "FORMAT",
    "VERSION",
    "MAX_DEPTH",
]

FORMAT = "microgradnn-checkpoint"
# Version 1 was an .npz archive with a JSON index; version 2 is the safetensors file.
VERSION = 2
# The deepest nesting of dicts, lists and tuples a checkpoint holds (on save and on load).
MAX_DEPTH = 100

_METADATA_KEY = "microgradnn"
# A container level takes up to three levels of JSON ({"__dict__": [[key, value]]}), plus
# the index object and an array's tag.
_MAX_JSON_DEPTH = 3 * MAX_DEPTH + 4
# safetensors' own limit on the header; larger ones are refused before they are parsed.
_MAX_HEADER_BYTES = 100_000_000
# NumPy's limit on the number of dimensions of an array.
_MAX_DIMS = 64

# safetensors' dtype names and the NumPy dtypes they hold (all little-endian in the file).
_DTYPES: dict[str, np.dtype[Any]] = {
    "BOOL": np.dtype(np.bool_),
    "U8": np.dtype(np.uint8),
    "I8": np.dtype(np.int8),
    "U16": np.dtype(np.uint16),
    "I16": np.dtype(np.int16),
    "U32": np.dtype(np.uint32),
    "I32": np.dtype(np.int32),
    "U64": np.dtype(np.uint64),
    "I64": np.dtype(np.int64),
    "F16": np.dtype(np.float16),
    "F32": np.dtype(np.float32),
    "F64": np.dtype(np.float64),
    "C64": np.dtype(np.complex64),
}
# What save stores: the numbers and booleans above (a checkpoint holds no complex numbers).
_SAVABLE = frozenset(dtype for name, dtype in _DTYPES.items() if name != "C64")
# Messages quote values from untrusted files; keep those short.
_short = reprlib.Repr()
_short.maxstring = _short.maxother = 60
_short.maxlong = 30


class CheckpointError(ValueError):
    """A file that is not a checkpoint this version of microgradnn can read; the message names
    the file and what is wrong with it.

    >>> import microgradnn as mg
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "notes.txt")
    >>> _ = open(path, "w").write("hello, this is text")
    >>> mg.load(path)
    Traceback (most recent call last):
    ...
    microgradnn.io.CheckpointError: load: ...notes.txt is not a microgradnn checkpoint (not a safetensors file: ...)
    """


class WriteError(OSError):
    """:func:`atomic_write` or :func:`check_destination` refused a destination, or writing it
    failed. ``str(err)`` is a one-line message naming the path; ``err.filename`` is the path,
    ``err.errno`` the cause's error number (None when there is none), and a failed write is
    chained (``raise ... from``) to the original error.

    >>> import os, tempfile
    >>> check_destination(tempfile.mkdtemp())
    Traceback (most recent call last):
    ...
    microgradnn.io.WriteError: ... is a directory, not a regular file; refusing to replace it
    """

    def __init__(self, message: str, path: str, code: int | None = None) -> None:
        super().__init__(code, message, path)

    def __str__(self) -> str:
        # OSError would print "[Errno 21] message: 'path'"; the message already names the path.
        return str(self.strerror)


# ------------------------------------------------------------------------------- save


class _Encoder:
    """Turns an object into its JSON tree, moving each array out under a unique name."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}

    def encode(self, obj: Any, where: tuple[str, ...] = (), depth: int = 0) -> Any:
        if isinstance(obj, Tensor):
            obj = obj.data
        if isinstance(obj, np.ndarray):
            return {"__array__": self._add(obj, where)}
        if isinstance(obj, np.generic):
            obj = obj.item()
        if obj is None or isinstance(obj, (bool, int, str)):
            return obj
        if isinstance(obj, float):
            # JSON has no inf or nan; keep them exactly, as tagged strings.
            return obj if math.isfinite(obj) else {"__float__": repr(obj)}
        if isinstance(obj, (tuple, list, dict)):
            return self._container(obj, where, depth + 1)
        raise TypeError(
            f"save: cannot store {type(obj).__name__}; a checkpoint holds dicts, lists, tuples, arrays, "
            "numbers, booleans, strings and None (save a model's state_dict(), not the model)"
        )

    def _container(self, obj: tuple[Any, ...] | list[Any] | dict[Any, Any], where: tuple[str, ...], level: int) -> Any:
        if level > MAX_DEPTH:
            raise ValueError(
                f"save: the object is nested more than {MAX_DEPTH} levels deep (at {'.'.join(where) or 'the top'}); "
                "does a list or dict contain itself?"
            )
        if isinstance(obj, dict):
            for key in obj:
                if not isinstance(key, (str, int)) or isinstance(key, bool):
                    raise TypeError(f"save: dict keys must be str or int, not {type(key).__name__} {key!r}")
            # Keys keep their type (optimizer state is keyed by int): store pairs, in order.
            return {"__dict__": [[k, self.encode(v, (*where, str(k)), level)] for k, v in obj.items()]}
        items = [self.encode(v, (*where, str(i)), level) for i, v in enumerate(obj)]
        return {"__tuple__": items} if isinstance(obj, tuple) else items

    def _add(self, array: np.ndarray, where: tuple[str, ...]) -> str:
        native = array.dtype.newbyteorder("=")
        if array.dtype.kind not in "biuf" or native not in _SAVABLE:
            raise TypeError(
                f"save: cannot store an array of {array.dtype} (a checkpoint holds arrays of bool, "
                "int8 to int64, uint8 to uint64, float16, float32 and float64)"
            )
        # A tensor's name is its place in the object ("model.0.weight"), so other tools show
        # readable names; a clash (a key "a.b" beside a["b"]) gets a suffix.
        # A name must be UTF-8 text: a key holding a lone surrogate (as os.fsdecode makes of
        # a byte it cannot decode) is written escaped; the key itself goes in the JSON index.
        base = (".".join(where) or "tensor").encode("utf-8", "backslashreplace").decode("utf-8")
        name, n = base, 0
        while name in self.arrays or name == "__metadata__":
            n += 1
            name = f"{base}#{n}"
        # safetensors reads an array's memory as one C-ordered block: views, transposes and
        # other byte orders must be made contiguous and native first, or their bytes come out
        # scrambled. (Not np.ascontiguousarray: it turns a 0-d array into a 1-d one.)
        self.arrays[name] = np.asarray(array, dtype=native, order="C")
        return name


def save(obj: Any, path: str | os.PathLike[str]) -> None:
    """Write ``obj`` (a state dict, or nested dicts, lists and tuples of arrays, numbers,
    booleans, strings and None) to ``path`` as a safetensors file, atomically.

    An existing file is replaced only once the new one is complete, and keeps its mode; see
    :func:`atomic_write` for what is refused (:class:`WriteError`). A value a checkpoint cannot
    hold (a model, a set, an object array) raises TypeError, and nesting deeper than
    ``MAX_DEPTH`` levels raises ValueError, before anything is written.

    >>> import microgradnn as mg, tempfile, os
    >>> model = mg.nn.Dense(2, 1)
    >>> path = os.path.join(tempfile.mkdtemp(), "model.safetensors")
    >>> mg.save({"model": model.state_dict(), "epoch": 3}, path)
    >>> mg.load(path)["epoch"]
    3
    """
    # Imported here so that `import microgradnn` needs NumPy only.
    from safetensors.numpy import save as serialize

    path = os.fspath(path)
    encoder = _Encoder()
    tree = encoder.encode(obj)
    index = json.dumps({"format": FORMAT, "version": VERSION, "tree": tree}, allow_nan=False)
    data = serialize(encoder.arrays, metadata={_METADATA_KEY: index})
    with atomic_write(path) as f:
        f.write(data)


# ------------------------------------------------------------------------------- load


class _Spec(NamedTuple):
    """One tensor as the header describes it: dtype, shape, byte range in the data."""

    dtype: np.dtype[Any]
    shape: tuple[int, ...]
    begin: int
    end: int


def load(path: str | os.PathLike[str]) -> Any:
    """Read a checkpoint written by :func:`save`; arrays come back as (writable) ndarrays.

    A safetensors file written by another tool, without microgradnn's index, comes back as a
    flat dict ``{name: ndarray}``. Any file that is not a valid checkpoint (empty, truncated,
    of another format, with a damaged or lying header, or with tensors of a dtype NumPy lacks,
    such as BF16) raises :class:`CheckpointError`, whose message names the file and the
    problem; the header is checked before any tensor is read, so a lying header allocates
    nothing. FileNotFoundError and PermissionError pass through as they are.

    >>> import numpy as np, microgradnn as mg
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "w.safetensors")
    >>> mg.save({"w": np.arange(2.0), "step": 7}, path)
    >>> state = mg.load(path)
    >>> state["w"], state["step"]
    (array([0., 1.]), 7)
    """
    path = os.fspath(path)
    data = _read_file(path)
    specs, metadata = _read_header(data, path)
    if _METADATA_KEY not in metadata:
        return _read_tensors(data, specs, path)  # another tool's file: a flat dict of its tensors
    tree = _read_index(metadata[_METADATA_KEY], path)
    arrays = _read_tensors(data, specs, path)
    try:
        return _Decoder(arrays, path).decode_all(tree)
    except RecursionError:
        # Only when load itself is called with the stack nearly full: the depth is bounded.
        raise CheckpointError(f"load: {path}: its index is nested too deeply to read") from None


def _read_file(path: str) -> bytes:
    """The whole file; refuse what is not a regular file (a FIFO would block, /dev/zero never end)."""
    # O_NONBLOCK: opening a FIFO must not wait for a writer; it changes nothing for a file.
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise CheckpointError(f"load: {path} is {_kind(mode)}, not a checkpoint file")
        f = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with f:
        # The size is the file's own: reading it allocates no more than the file holds.
        return f.read()


def _read_header(data: bytes, path: str) -> tuple[dict[str, _Spec], dict[str, str]]:
    """The tensors the header describes, in its order, and its metadata, all checked."""
    _check_signature(data, path)
    (length,) = struct.unpack("<Q", data[:8])
    follows = len(data) - 8
    if length > follows:
        raise CheckpointError(
            f"load: {path} is truncated: its header should be {length} bytes but only {follows} follow"
        )
    if length > _MAX_HEADER_BYTES:
        raise CheckpointError(f"load: {path}: its header of {length} bytes is larger than safetensors allows")
    header = _parse_json(data[8 : 8 + length], path, "header")
    if not isinstance(header, dict):
        raise CheckpointError(f"load: {path}: its header is a JSON {_json_kind(header)}, not an object")
    metadata = _check_metadata(header.pop("__metadata__", {}), path)
    specs = {name: _check_spec(name, entry, path) for name, entry in header.items()}
    _check_layout(specs, follows - length, path)
    return specs, metadata


def _check_signature(data: bytes, path: str) -> None:
    """Name the kinds of file people are likely to pass by mistake."""
    if not data:
        raise CheckpointError(f"load: {path} is empty")
    if data.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        raise CheckpointError(
            f"load: {path} is a zip archive (such as an .npz file, which microgradnn wrote before "
            "version 2 of its checkpoints and no longer reads), not a safetensors checkpoint"
        )
    if data.startswith(b"\x93NUMPY"):
        raise CheckpointError(f"load: {path} is a single .npy array, not a microgradnn checkpoint")
    if len(data) < 9:
        raise CheckpointError(f"load: {path} is too short ({len(data)} bytes) to be a safetensors checkpoint")
    # The format: an 8-byte little-endian header length, then the JSON header, which must
    # begin with "{".
    if data[8:9] != b"{":
        raise CheckpointError(
            f"load: {path} is not a microgradnn checkpoint (not a safetensors file: it does not start "
            "with a header length and a JSON header)"
        )


def _parse_json(raw: bytes | str, path: str, what: str) -> Any:
    """JSON from an untrusted file: repeated keys, deep nesting and bad text all become
    CheckpointError (json itself keeps the last of repeated keys, and recurses)."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as err:
        reason = f"{err.reason} at byte {err.start}"
        raise CheckpointError(f"load: {path}: its {what} is not UTF-8 text ({reason})") from None

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        obj: dict[str, Any] = {}
        for key, value in items:
            if key in obj:
                raise CheckpointError(f"load: {path}: its {what} repeats the key {_short.repr(key)}")
            obj[key] = value
        return obj

    try:
        value = json.loads(text, object_pairs_hook=pairs)
    except CheckpointError:
        raise
    except RecursionError:
        raise CheckpointError(f"load: {path}: its {what} is nested too deeply") from None
    except ValueError as err:  # JSONDecodeError, and integers longer than Python converts
        raise CheckpointError(f"load: {path}: its {what} is not valid JSON ({err})") from None
    if _json_depth(value) > _MAX_JSON_DEPTH:
        raise CheckpointError(f"load: {path}: its {what} is nested more than {_MAX_JSON_DEPTH} levels deep")
    return value


def _json_depth(value: Any) -> int:
    """How deeply lists and objects nest in ``value``, without recursing."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, depth)
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return deepest


def _json_kind(value: Any) -> str:
    names = {dict: "object", list: "list", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), "number")


def _check_metadata(metadata: Any, path: str) -> dict[str, str]:
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise CheckpointError(f"load: {path}: its __metadata__ must be an object of strings")
    return metadata


def _is_count(value: Any) -> bool:
    return type(value) is int and value >= 0  # not a bool, not a float


def _check_spec(name: str, entry: Any, path: str) -> _Spec:
    """One tensor's description, checked: a dtype NumPy has, a shape, and offsets that fit it."""
    where = f"load: {path}: tensor {_short.repr(name)}"
    if not isinstance(entry, dict):
        raise CheckpointError(f"{where} is described by a JSON {_json_kind(entry)}, not an object")
    missing = [key for key in ("dtype", "shape", "data_offsets") if key not in entry]
    if missing:
        raise CheckpointError(f"{where} has no {' and no '.join(missing)}")
    dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
    if not isinstance(dtype, str) or dtype not in _DTYPES:
        # bfloat16, and the 8-, 6- and 4-bit floats: NumPy has none of them.
        small_float = isinstance(dtype, str) and dtype.startswith(("BF", "F8", "F6", "F4"))
        hint = " (convert it to float32 in the program that wrote it)" if small_float else ""
        raise CheckpointError(
            f"{where} has dtype {_short.repr(dtype)}, which NumPy does not support{hint}; "
            f"supported: {', '.join(_DTYPES)}"
        )
    if not isinstance(shape, list) or len(shape) > _MAX_DIMS or not all(_is_count(n) for n in shape):
        raise CheckpointError(
            f"{where} has shape {_short.repr(shape)}; a shape is a list of at most {_MAX_DIMS} whole numbers >= 0"
        )
    is_range = isinstance(offsets, list) and len(offsets) == 2 and all(map(_is_count, offsets))
    if not is_range or offsets[0] > offsets[1]:
        raise CheckpointError(
            f"{where} has data_offsets {_short.repr(offsets)}; expected [begin, end] with 0 <= begin <= end"
        )
    size = math.prod(shape) * _DTYPES[dtype].itemsize
    if offsets[1] - offsets[0] != size:
        raise CheckpointError(
            f"{where} has shape {shape} of {dtype} ({size} bytes) but data_offsets {offsets} "
            f"hold {offsets[1] - offsets[0]} bytes"
        )
    return _Spec(_DTYPES[dtype], tuple(shape), offsets[0], offsets[1])


def _check_layout(specs: dict[str, _Spec], data_size: int, path: str) -> None:
    """The tensors tile the data exactly: within it, no overlaps, no gaps, nothing after."""
    if specs:
        name, spec = max(specs.items(), key=lambda item: item[1].end)
        if spec.end > data_size:
            raise CheckpointError(
                f"load: {path} is truncated: tensor {_short.repr(name)} needs {spec.end} bytes of data, "
                f"the file holds {data_size}"
            )
    position, previous = 0, ""
    for name, spec in sorted(specs.items(), key=lambda item: (item[1].begin, item[1].end)):
        if spec.begin < position:
            raise CheckpointError(
                f"load: {path}: tensors {_short.repr(previous)} and {_short.repr(name)} overlap in the data"
            )
        if spec.begin > position:
            raise CheckpointError(
                f"load: {path}: {spec.begin - position} bytes before tensor {_short.repr(name)} belong to no tensor"
            )
        position, previous = spec.end, name
    if position != data_size:
        raise CheckpointError(f"load: {path}: {data_size - position} bytes after the last tensor belong to no tensor")


def _read_index(text: str, path: str) -> Any:
    """The tree of microgradnn's metadata, once its format and version are checked."""
    index = _parse_json(text, path, f"{_METADATA_KEY!r} metadata")
    if not isinstance(index, dict) or index.get("format") != FORMAT or "tree" not in index:
        raise CheckpointError(
            f"load: {path} has {_METADATA_KEY!r} metadata but it is not a microgradnn checkpoint index"
        )
    if index.get("version") != VERSION:
        raise CheckpointError(
            f"load: {path} is checkpoint format version {_short.repr(index.get('version'))}; "
            f"this microgradnn reads version {VERSION}"
        )
    return index["tree"]


def _read_tensors(data: bytes, specs: dict[str, _Spec], path: str) -> dict[str, np.ndarray]:
    """The tensors, as writable arrays in the header's order (the header has been checked)."""
    from safetensors.numpy import load as deserialize

    try:
        loaded = deserialize(data)
    except Exception as err:  # whatever the parser holds against the file: it is not valid
        raise CheckpointError(f"load: {path} is not a valid safetensors file ({_one_line(err)})") from None
    if set(loaded) != set(specs):
        raise CheckpointError(f"load: {path}: safetensors reads other tensors than its header lists")
    return {name: np.array(loaded[name], copy=True) for name in specs}


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split()) or type(err).__name__


class _Decoder:
    """Rebuilds the saved object from its tree; each tensor is used exactly once."""

    def __init__(self, arrays: dict[str, np.ndarray], path: str) -> None:
        self.arrays = arrays
        self.path = path
        self.used: set[str] = set()

    def decode_all(self, tree: Any) -> Any:
        obj = self.decode(tree, 0)
        unlisted = [name for name in self.arrays if name not in self.used]
        if unlisted:
            raise self.error(f"holds {len(unlisted)} tensor(s) its index does not list: {_short.repr(unlisted)}")
        return obj

    def error(self, message: str) -> CheckpointError:
        return CheckpointError(f"load: {self.path} {message}")

    def decode(self, node: Any, depth: int) -> Any:
        if isinstance(node, list):
            level = self.enter(depth)
            return [self.decode(v, level) for v in node]
        if not isinstance(node, dict):
            return node  # None, a bool, a number or a string
        if len(node) != 1:
            raise self.error(f"has an index entry this version does not know: {_short.repr(sorted(node))}")
        ((tag, value),) = node.items()
        if tag == "__array__":
            return self.array(value)
        if tag == "__float__" and value in ("inf", "-inf", "nan"):
            return float(value)
        if tag == "__tuple__" and isinstance(value, list):
            level = self.enter(depth)
            return tuple(self.decode(v, level) for v in value)
        if tag == "__dict__" and isinstance(value, list):
            return self.mapping(value, self.enter(depth))
        raise self.error(f"has an index entry this version does not know: {_short.repr(tag)}: {_short.repr(value)}")

    def enter(self, depth: int) -> int:
        if depth + 1 > MAX_DEPTH:
            raise self.error(f"nests dicts, lists and tuples more than {MAX_DEPTH} levels deep")
        return depth + 1

    def array(self, name: Any) -> np.ndarray:
        if not isinstance(name, str) or name not in self.arrays:
            raise self.error(f"is damaged: its index lists tensor {_short.repr(name)}, which the file does not hold")
        if name in self.used:
            raise self.error(f"is damaged: its index lists tensor {_short.repr(name)} twice")
        self.used.add(name)
        return self.arrays[name]

    def mapping(self, pairs: list[Any], level: int) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        for pair in pairs:
            if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], (str, int))) or isinstance(
                pair[0], bool
            ):
                raise self.error(f"is damaged: a dict entry of its index is {_short.repr(pair)}, not [key, value]")
            if pair[0] in out:
                raise self.error(f"is damaged: a dict of its index repeats the key {_short.repr(pair[0])}")
            out[pair[0]] = self.decode(pair[1], level)
        return out


# ------------------------------------------------------------------------------- writing files


def check_destination(path: str | os.PathLike[str]) -> None:
    """Check up front that :func:`atomic_write` may write ``path``; raise :class:`WriteError`
    (an OSError) naming the path and the problem if not.

    The rules: ``path`` may be a regular file (replaced), a symbolic link to one (the file it
    points to is replaced, the link stays), or nothing yet, in an existing folder we may
    create files in. Refused: a directory, a device such as ``/dev/null``, a FIFO, a socket, a
    dangling (or looping) symbolic link, a missing folder, a folder without write permission.

    >>> import os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> check_destination(os.path.join(folder, "model.safetensors"))  # fine: nothing there yet
    >>> check_destination(os.path.join(folder, "missing", "model.safetensors"))
    Traceback (most recent call last):
    ...
    microgradnn.io.WriteError: cannot write .../missing/model.safetensors: the folder .../missing does not exist
    """
    _resolve_destination(os.fspath(path))


def _resolve_destination(path: str) -> tuple[str, int | None]:
    """The file to replace (``path``, or what a link at ``path`` points to) and its permission
    bits, or None as the mode when there is no file yet. The rules of check_destination."""
    if not path:
        raise WriteError("cannot write to an empty path", path, errno.ENOENT)
    if path.endswith(("/", os.sep)) and not os.path.isdir(path):
        raise WriteError(f"cannot write {path}: it names a folder (it ends with {path[-1]!r})", path, errno.EISDIR)
    try:
        info = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        target = os.path.abspath(path)
        _check_folder(path, os.path.dirname(target))
        return target, None
    target = path
    if stat.S_ISLNK(info.st_mode):
        target = os.path.realpath(path)
        try:
            info = os.stat(path)
        except FileNotFoundError:
            raise WriteError(
                f"{path} is a symbolic link to {target}, which does not exist; refusing to write through it",
                path,
                errno.ENOENT,
            ) from None
        except OSError as err:  # a loop of links
            message = f"{path} is a symbolic link that cannot be followed ({err.strerror})"
            raise WriteError(message, path, err.errno) from None
    if not stat.S_ISREG(info.st_mode):
        code = errno.EISDIR if stat.S_ISDIR(info.st_mode) else errno.EEXIST
        raise WriteError(f"{path} is {_kind(info.st_mode)}, not a regular file; refusing to replace it", path, code)
    _check_folder(path, os.path.dirname(os.path.abspath(target)))
    # Permission bits only: a setuid bit has no business on a file we wrote.
    return os.path.abspath(target), stat.S_IMODE(info.st_mode) & 0o777


def _check_folder(path: str, folder: str) -> None:
    """The temporary file is created in ``folder`` and renamed: it must exist and be writable."""
    if not os.path.isdir(folder):
        missing = not os.path.lexists(folder)
        raise WriteError(
            f"cannot write {path}: the folder {folder} {'does not exist' if missing else 'is not a folder'}",
            path,
            errno.ENOENT if missing else errno.ENOTDIR,
        )
    if not os.access(folder, os.W_OK | os.X_OK):
        raise WriteError(f"cannot write {path}: no permission to create files in {folder}", path, errno.EACCES)


def _kind(mode: int) -> str:
    kinds = [
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISFIFO, "a named pipe (FIFO)"),
        (stat.S_ISSOCK, "a socket"),
    ]
    return next((name for test, name in kinds if test(mode)), "a special file")


def _umask() -> int:
    """The process's umask. Linux reports it; elsewhere it can only be read by setting it,
    briefly, to a strict value, so that a file another thread creates meanwhile is not more
    open than it should be."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


def _temp_prefix(name: str) -> str:
    """What the temporaries of destination ``name`` written on this machine start with. The
    whole name is ``.<name>.tmp-<host>-<pid>-<random>``: another write to the same destination
    can tell whose they are, and whether their writer is gone."""
    return f".{name}.tmp-{_host_tag()}-"


def _host_tag() -> str:
    # On a shared file system, a PID means something only on the machine that wrote it.
    return hashlib.sha256(socket.gethostname().encode("utf-8", "replace")).hexdigest()[:8]


_TEMP_TAIL = re.compile(r"(\d+)-[a-z0-9_]+")  # after the prefix: "<pid>-<mkstemp's letters>"


def _remove_stale_temporaries(folder: str, name: str) -> None:
    """Remove what a killed writer left for this destination: its temporaries whose process,
    on this machine, is gone. Never a live writer's, never any other file."""
    if os.name != "posix":
        return  # os.kill(pid, 0) probes only on POSIX; on Windows it would kill the process
    prefix = _temp_prefix(name)
    try:
        entries = os.listdir(folder)
    except OSError:
        return
    for entry in entries:
        match = _TEMP_TAIL.fullmatch(entry[len(prefix) :]) if entry.startswith(prefix) else None
        if match is None or _alive(int(match[1])):
            continue
        stale = os.path.join(folder, entry)
        # Best effort: another process may be cleaning up too, and garbage we cannot remove
        # must not stop this save.
        with contextlib.suppress(OSError):
            if stat.S_ISREG(os.lstat(stale).st_mode):
                os.remove(stale)


def _alive(pid: int) -> bool:
    """Whether process ``pid`` may still be writing; when unsure, yes."""
    if pid <= 0 or pid == os.getpid():  # 0 and below mean process groups; ours may be another thread's
        return True
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except (OSError, OverflowError):  # PermissionError: it exists, as another user
        return True
    return True


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """Open a temporary file beside ``path`` for writing; when the block ends without an
    error, flush it to disk and rename it over ``path``.

    - What may be written is :func:`check_destination`'s rule, checked first: a directory, a
      device (``/dev/null``), a FIFO, a dangling symbolic link or a missing folder raises
      :class:`WriteError` (an OSError) naming the path, and nothing is created or removed.
    - A symbolic link to a file is followed: the file it points to is replaced (the temporary
      file is made in that file's folder) and the link stays a link.
    - A new file gets the mode ``open()`` would give it under the umask (0644 under umask
      022); a replaced file keeps its permission bits.
    - If the block raises, or flushing fails (a full disk), the temporary file is removed and
      ``path`` is left as it was. An OSError is re-raised as a :class:`WriteError` naming
      ``path``, chained to the original; KeyboardInterrupt and other exceptions are re-raised
      as they are.
    - Temporaries are named ``.<name>.tmp-<host>-<pid>-<random>``. One left by a killed
      process (``kill -9``) is removed by the next write to the same destination, once its
      process is gone (on POSIX systems).

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "notes.txt")
    >>> with atomic_write(path) as f:
    ...     _ = f.write(b"complete")
    >>> open(path, "rb").read()
    b'complete'
    """
    path = os.fspath(path)
    target, old_mode = _resolve_destination(path)
    folder, name = os.path.split(target)
    _remove_stale_temporaries(folder, name)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f"{_temp_prefix(name)}{os.getpid()}-", dir=folder)
    except OSError as err:
        raise _write_failed(path, err, old_mode is not None) from err
    try:
        with os.fdopen(fd, "wb") as f:
            # mkstemp makes the file 0600; give it the mode the destination should have.
            _chmod(f.fileno(), tmp, (0o666 & ~_umask()) if old_mode is None else old_mode)
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException as err:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        if isinstance(err, OSError) and not isinstance(err, WriteError):
            raise _write_failed(path, err, old_mode is not None) from err
        if isinstance(err, Exception) and sys.version_info >= (3, 11):
            err.add_note(f"atomic_write: {path} was left as it was")
        raise
    _sync_folder(folder)


def _write_failed(path: str, err: OSError, existed: bool) -> WriteError:
    reason = err.strerror or str(err) or type(err).__name__
    outcome = "the old file is unchanged" if existed else "no file was written"
    return WriteError(f"could not write {path}: {reason} ({outcome})", path, err.errno)


def _chmod(fd: int, name: str, mode: int) -> None:
    if hasattr(os, "fchmod"):
        os.fchmod(fd, mode)
    else:  # Windows
        os.chmod(name, mode)


def _sync_folder(folder: str) -> None:
    """Flush the rename itself to disk (POSIX). The new file is in place already; if the
    folder cannot be flushed there is nothing left to undo, so this is best effort."""
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
