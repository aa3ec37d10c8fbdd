"""Data: TensorDataset, DataLoader, train_test_split, and a strict CSV reader.

``DataLoader`` and ``TensorDataset`` follow PyTorch: a loader yields batches of Tensors,
shuffled reproducibly from ``rng`` when asked. ``load_csv`` reads a numeric CSV with a header
row and says exactly what is wrong with a bad one (which row, which column).
"""

from __future__ import annotations

import csv
import math
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

import numpy as np

from .creation import default_generator
from .tensor import Tensor

__all__ = ["TensorDataset", "DataLoader", "collate", "train_test_split", "load_csv", "read_csv", "CSVData", "DataError"]


class DataError(ValueError):
    """Data that cannot be used as given: the message names the file, row and column.

    >>> import io
    >>> read_csv(io.StringIO("a,b\\n1,x\\n")).values
    Traceback (most recent call last):
    ...
    microgradnn.data.DataError: <stdin>: row 1, column 'b': 'x' is not a number
    """


class TensorDataset:
    """Rows of one or more arrays of the same length, indexed together.

    >>> import numpy as np, microgradnn as mg
    >>> ds = mg.data.TensorDataset(np.arange(6.0).reshape(3, 2), np.array([0, 1, 0]))
    >>> x, y = ds[1]
    >>> len(ds), x.tolist(), int(y)
    (3, [2.0, 3.0], 1)
    """

    def __init__(self, *arrays: Any) -> None:
        if not arrays:
            raise ValueError("TensorDataset: give at least one array")
        self.arrays = [a.data if isinstance(a, Tensor) else np.asarray(a) for a in arrays]
        lengths = {len(a) for a in self.arrays}
        if len(lengths) != 1:
            raise ValueError(f"TensorDataset: arrays have different lengths {[len(a) for a in self.arrays]}")

    def __len__(self) -> int:
        return len(self.arrays[0])

    def __getitem__(self, index: Any) -> tuple[Any, ...]:
        return tuple(a[index] for a in self.arrays)


def collate(samples: Sequence[Any]) -> Any:
    """Stack a list of samples into one batch, as PyTorch's ``default_collate`` does.

    Samples that are tuples or lists give a tuple of batches (one per field); dicts give a
    dict; numbers, arrays and Tensors are stacked along a new first axis. A floating batch
    becomes a Tensor; an integer or boolean one (class labels, indices) stays an ndarray.

    >>> import numpy as np, microgradnn as mg
    >>> xb, yb = mg.data.collate([(np.array([1.0, 2.0]), 0), (np.array([3.0, 4.0]), 1)])
    >>> xb.shape, yb.tolist()
    ((2, 2), [0, 1])
    """
    first = samples[0]
    if isinstance(first, (tuple, list)):
        sizes = {len(sample) for sample in samples}
        if len(sizes) != 1:
            raise ValueError(f"collate: samples have different numbers of fields {sorted(sizes)}")
        return tuple(collate(field) for field in zip(*samples, strict=True))
    if isinstance(first, dict):
        return {key: collate([sample[key] for sample in samples]) for key in first}
    arrays = [sample.data if isinstance(sample, Tensor) else np.asarray(sample) for sample in samples]
    shapes = {a.shape for a in arrays}
    if len(shapes) != 1:
        raise ValueError(f"collate: samples of different shapes {sorted(shapes)} cannot be stacked into a batch")
    return _as_batch(np.stack(arrays))


def _as_batch(array: np.ndarray) -> Any:
    """Floating rows become a Tensor; integer and boolean ones (labels) stay an ndarray."""
    return Tensor(array) if array.dtype.kind == "f" else array


class DataLoader:
    """Batches from a dataset: floating batches as Tensors, integer ones (labels) as arrays.

    The dataset is a :class:`TensorDataset` (batches are tuples, one per array), one array or
    Tensor (batches of its rows), or any sequence of samples with ``len`` and indexing, such
    as a list of ``(x, y)`` pairs, whose samples are stacked by :func:`collate` into
    ``(xb, yb)``. ``shuffle=True`` draws a new order each pass from ``rng`` (default: the
    generator that ``manual_seed`` resets), so runs repeat exactly from a seed.

    >>> import numpy as np, microgradnn as mg
    >>> ds = mg.data.TensorDataset(np.arange(10.0).reshape(5, 2), np.arange(5))
    >>> [y.tolist() for _, y in mg.data.DataLoader(ds, batch_size=2)]
    [[0, 1], [2, 3], [4]]
    >>> [xb.shape for xb in mg.data.DataLoader(np.zeros((5, 3)), batch_size=2)]
    [(2, 3), (2, 3), (1, 3)]
    >>> pairs = [(np.full(2, float(i)), i) for i in range(3)]
    >>> [(xb.shape, yb.tolist()) for xb, yb in mg.data.DataLoader(pairs, batch_size=2)]
    [((2, 2), [0, 1]), ((1, 2), [2])]
    """

    def __init__(
        self,
        dataset: Any,
        batch_size: int = 1,
        shuffle: bool = False,
        drop_last: bool = False,
        rng: np.random.Generator | None = None,
    ) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive int, got {batch_size!r}")
        if not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
            raise TypeError(
                f"DataLoader: the dataset must support len() and indexing (a TensorDataset, an array, or a "
                f"list of samples), not {type(dataset).__name__}"
            )
        if isinstance(dataset, (np.ndarray, Tensor)) and dataset.ndim == 0:
            raise ValueError("DataLoader: a 0-d array has no rows to batch")
        self.dataset, self.batch_size, self.shuffle, self.drop_last, self.rng = (
            dataset,
            batch_size,
            shuffle,
            drop_last,
            rng,
        )

    def __len__(self) -> int:
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self) -> Iterator[Any]:
        n = len(self.dataset)
        order = (
            (self.rng if self.rng is not None else default_generator()).permutation(n) if self.shuffle else np.arange(n)
        )
        for start in range(0, n, self.batch_size):
            index = order[start : start + self.batch_size]
            if self.drop_last and len(index) < self.batch_size:
                return
            yield self._batch(index)

    def _batch(self, index: np.ndarray) -> Any:
        dataset = self.dataset
        # Arrays are indexed with the whole batch at once; other datasets one sample at a time.
        if isinstance(dataset, TensorDataset):
            return tuple(_as_batch(part) for part in dataset[index])
        if isinstance(dataset, (np.ndarray, Tensor)):
            return _as_batch(np.asarray(dataset.data if isinstance(dataset, Tensor) else dataset)[index])
        return collate([dataset[int(i)] for i in index])


def train_test_split(
    X: Any, y: Any, test_fraction: float = 0.2, rng: np.random.Generator | None = None
) -> tuple[np.ndarray, ...]:
    """Shuffle rows and split them: ``X_train, X_test, y_train, y_test``.

    >>> import numpy as np, microgradnn as mg
    >>> parts = mg.data.train_test_split(np.arange(10).reshape(5, 2), np.arange(5), 0.4, np.random.default_rng(0))
    >>> [p.shape for p in parts]
    [(3, 2), (2, 2), (3,), (2,)]
    """
    X, y = np.asarray(X), np.asarray(y)
    if len(X) != len(y):
        raise ValueError(f"train_test_split: X has {len(X)} rows but y has {len(y)}")
    if not 0 <= test_fraction < 1:
        raise ValueError(f"train_test_split: test_fraction must be in [0, 1), got {test_fraction}")
    order = (rng if rng is not None else default_generator()).permutation(len(X))
    n_test = int(round(len(X) * test_fraction))
    test, train = order[:n_test], order[n_test:]
    return X[train], X[test], y[train], y[test]


# A numeric cell: an optional sign, ASCII digits with an optional decimal point, and an optional
# exponent. float() alone would also take "1_000", "nan", "infinity" and non-ASCII digits.
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_NOT_FINITE = {"nan", "+nan", "-nan", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"}


@dataclass
class CSVData:
    """A CSV table with a header row: its column names and the cells of each row, as text.

    ``column(name)`` reads one column as numbers (strictly: see :func:`read_csv`), ``labels``
    one column as class labels (numbers or names); ``values`` is the whole table as numbers.

    >>> import io
    >>> table = read_csv(io.StringIO("a,b\\n1,2\\n"))
    >>> table.columns, table.column("b").tolist()
    (['a', 'b'], [2.0])
    """

    columns: list[str]
    rows: list[list[str]]
    source: str

    @property
    def values(self) -> np.ndarray:
        """Every column as float64 numbers, shape (rows, columns)."""
        return np.stack([self.column(name) for name in self.columns], axis=1)

    def column(self, name: str) -> np.ndarray:
        """One column as float64 numbers; a cell that is not a finite number raises DataError."""
        j = self._index(name)
        values = np.empty(len(self.rows))
        for i, row in enumerate(self.rows):
            values[i] = self._number(row[j], i + 1, name)
        return values

    def labels(self, name: str) -> np.ndarray:
        """One column as class labels: float64 numbers if every cell is one, else the names
        as strings. A column that mixes numbers and names raises DataError (a typo, most
        likely), naming the first cell of the minority kind."""
        j = self._index(name)
        cells = [row[j] for row in self.rows]
        numeric = [bool(_NUMBER.fullmatch(cell)) for cell in cells]
        if all(numeric):
            return self.column(name)
        if not any(numeric):
            return np.array(cells, dtype=str)
        odd = numeric.index(sum(numeric) < len(numeric) / 2)
        kind = "a number" if numeric[odd] else "not a number"
        raise DataError(
            f"{self.source}: row {odd + 1}, column {name!r}: {cells[odd]!r} is {kind}, unlike most of the column"
        )

    def _index(self, name: str) -> int:
        if name not in self.columns:
            raise DataError(f"{self.source}: no column named {name!r} (columns: {', '.join(self.columns)})")
        return self.columns.index(name)

    def _number(self, cell: str, row: int, column: str) -> float:
        where = f"{self.source}: row {row}, column {column!r}"
        if not cell:
            raise DataError(f"{where}: the cell is empty")
        if cell.lower() in _NOT_FINITE:
            raise DataError(f"{where}: {cell!r} is not a finite number")
        if not _NUMBER.fullmatch(cell):
            raise DataError(f"{where}: {cell!r} is not a number")
        value = float(cell)
        if not math.isfinite(value):
            raise DataError(f"{where}: {cell!r} is not a finite number (too large)")
        return value


def read_csv(source: str | os.PathLike[str] | TextIO, name: str | None = None) -> CSVData:
    """Read a CSV with a header row from a path or an open text file.

    Raises :class:`DataError` naming the file (and the row and column) for anything
    unusable: a missing or unreadable file, binary data, an over-long cell, an empty file or
    one with no data rows, a duplicate or empty column name, or ragged rows. A UTF-8
    byte-order mark (Excel's "CSV UTF-8") is ignored. Cells are kept as text; a column read
    as numbers (``column``) must hold, in every cell, an optional sign, ASCII digits with an
    optional decimal point, and an optional exponent (``1e-05``): empty cells, NaN, inf,
    ``1_000`` or non-ASCII digits are refused with their row and column.

    >>> import io
    >>> read_csv(io.StringIO("a,b\\n1,2\\n3,4\\n")).values.tolist()
    [[1.0, 2.0], [3.0, 4.0]]
    """
    if isinstance(source, (str, os.PathLike)):
        label = name or os.fspath(source)
        try:
            with open(source, newline="", encoding="utf-8-sig") as f:
                return _parse(f, label)
        except FileNotFoundError:
            raise DataError(f"{label}: no such file") from None
        except IsADirectoryError:
            raise DataError(f"{label}: is a directory, not a CSV file") from None
        except PermissionError:
            raise DataError(f"{label}: permission denied") from None
        except OSError as err:
            raise DataError(f"{label}: cannot be read ({err.strerror or err})") from None
    return _parse(source, name or "<stdin>")


def _parse(f: TextIO, label: str) -> CSVData:
    reader = csv.reader(f)
    rows = []
    try:
        for row in reader:
            cells = [cell.strip() for cell in row]
            if any("\x00" in cell for cell in cells):  # Python's csv module lets NUL through since 3.11
                raise DataError(f"{label}: line {reader.line_num} holds a NUL byte: binary data, not a CSV file")
            if any(cells):
                rows.append(cells)
    except UnicodeDecodeError:
        raise DataError(f"{label}: not a text file (it is not UTF-8)") from None
    except csv.Error as err:
        if "NUL" in str(err):
            raise DataError(f"{label}: line {reader.line_num} holds a NUL byte: binary data, not a CSV file") from None
        if "field larger" in str(err):
            raise DataError(
                f"{label}: line {reader.line_num} has a cell longer than {csv.field_size_limit():,} characters"
            ) from None
        raise DataError(f"{label}: line {reader.line_num} is not valid CSV ({err})") from None
    if not rows:
        raise DataError(f"{label}: the file is empty")
    header = rows[0]
    if header[0].startswith("\ufeff"):  # a byte-order mark that came through a text stream
        header[0] = header[0][1:].strip()
    if any(not name for name in header):
        raise DataError(f"{label}: column {header.index('') + 1} of the header has no name")
    duplicates = sorted({name for name in header if header.count(name) > 1})
    if duplicates:
        raise DataError(f"{label}: the header repeats column name(s) {', '.join(map(repr, duplicates))}")
    if len(rows) == 1:
        raise DataError(f"{label}: the file has a header but no data rows")
    for i, row in enumerate(rows[1:], start=1):
        if len(row) != len(header):
            raise DataError(f"{label}: row {i} has {len(row)} values but the header has {len(header)} columns")
    return CSVData(header, rows[1:], label)


def load_csv(path: str | os.PathLike[str], target: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Features, target and feature names from a CSV with a header row.

    Every feature column must be numeric; the target column may hold numbers or class names
    (then ``y`` is an array of strings), as :meth:`CSVData.labels` reads it.

    >>> import microgradnn as mg, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "t.csv")
    >>> _ = open(path, "w").write("a,b,y\\n1,2,0\\n3,4,1\\n")
    >>> X, y, names = mg.data.load_csv(path, target="y")
    >>> X.tolist(), y.tolist(), names
    ([[1.0, 2.0], [3.0, 4.0]], [0.0, 1.0], ['a', 'b'])
    """
    table = read_csv(path)
    y = table.labels(target)
    features = [c for c in table.columns if c != target]
    if not features:
        raise DataError(f"{table.source}: only the target column {target!r}; there are no features")
    return np.stack([table.column(c) for c in features], axis=1), y, features
