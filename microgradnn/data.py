"""Data: TensorDataset, DataLoader, train_test_split, and a strict CSV reader.

``DataLoader`` and ``TensorDataset`` follow PyTorch: a loader yields batches of Tensors,
shuffled reproducibly from ``rng`` when asked. ``load_csv`` reads a numeric CSV with a header
row and says exactly what is wrong with a bad one (which row, which column).
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, TextIO

import numpy as np

from .creation import default_generator
from .tensor import Tensor

__all__ = ["TensorDataset", "DataLoader", "train_test_split", "load_csv", "read_csv", "CSVData", "DataError"]


class DataError(ValueError):
    """Data that cannot be used as given: the message names the file, row and column.

    >>> import io
    >>> read_csv(io.StringIO("a,b\\n1,x\\n"))
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


class DataLoader:
    """Batches from a dataset, as Tensors (floating arrays) or arrays (integer labels).

    ``shuffle=True`` draws a new order each pass from ``rng`` (default: the generator that
    ``manual_seed`` resets), so runs repeat exactly from a seed.

    >>> import numpy as np, microgradnn as mg
    >>> ds = mg.data.TensorDataset(np.arange(10.0).reshape(5, 2), np.arange(5))
    >>> [y.tolist() for _, y in mg.data.DataLoader(ds, batch_size=2)]
    [[0, 1], [2, 3], [4]]
    """

    def __init__(
        self,
        dataset: TensorDataset,
        batch_size: int = 1,
        shuffle: bool = False,
        drop_last: bool = False,
        rng: np.random.Generator | None = None,
    ) -> None:
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive int, got {batch_size!r}")
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

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        n = len(self.dataset)
        order = (
            (self.rng if self.rng is not None else default_generator()).permutation(n) if self.shuffle else np.arange(n)
        )
        for start in range(0, n, self.batch_size):
            index = order[start : start + self.batch_size]
            if self.drop_last and len(index) < self.batch_size:
                return
            yield tuple(Tensor(part) if part.dtype.kind == "f" else part for part in self.dataset[index])


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


@dataclass
class CSVData:
    """A numeric CSV table: its column names and a float64 array of its rows.

    >>> import io
    >>> table = read_csv(io.StringIO("a,b\\n1,2\\n"))
    >>> table.columns, table.column("b").tolist()
    (['a', 'b'], [2.0])
    """

    columns: list[str]
    values: np.ndarray
    source: str

    def column(self, name: str) -> np.ndarray:
        """One column's values."""
        return self.values[:, self.columns.index(name)]


def read_csv(source: str | os.PathLike[str] | TextIO, name: str | None = None) -> CSVData:
    """Read a numeric CSV with a header row from a path or an open text file.

    Raises :class:`DataError` naming the file, row and column for anything unusable: a
    missing or unreadable file, an empty file or one with no data rows, a duplicate or empty
    column name, ragged rows, or a cell that is not a number.

    >>> import io
    >>> read_csv(io.StringIO("a,b\\n1,2\\n3,4\\n")).values.tolist()
    [[1.0, 2.0], [3.0, 4.0]]
    """
    if isinstance(source, (str, os.PathLike)):
        label = name or os.fspath(source)
        try:
            with open(source, newline="", encoding="utf-8") as f:
                return _parse(f, label)
        except FileNotFoundError:
            raise DataError(f"{label}: no such file") from None
        except IsADirectoryError:
            raise DataError(f"{label}: is a directory, not a CSV file") from None
        except PermissionError:
            raise DataError(f"{label}: permission denied") from None
        except UnicodeDecodeError:
            raise DataError(f"{label}: not a text file (it is not UTF-8)") from None
        except OSError as err:
            raise DataError(f"{label}: cannot be read ({err.strerror or err})") from None
    return _parse(source, name or "<stdin>")


def _parse(f: TextIO, label: str) -> CSVData:
    rows = [row for row in csv.reader(f) if any(cell.strip() for cell in row)]
    if not rows:
        raise DataError(f"{label}: the file is empty")
    header = [cell.strip() for cell in rows[0]]
    if any(not name for name in header):
        raise DataError(f"{label}: column {header.index('') + 1} of the header has no name")
    duplicates = sorted({name for name in header if header.count(name) > 1})
    if duplicates:
        raise DataError(f"{label}: the header repeats column name(s) {', '.join(map(repr, duplicates))}")
    if len(rows) == 1:
        raise DataError(f"{label}: the file has a header but no data rows")
    values = np.empty((len(rows) - 1, len(header)))
    for i, row in enumerate(rows[1:], start=1):
        if len(row) != len(header):
            raise DataError(f"{label}: row {i} has {len(row)} values but the header has {len(header)} columns")
        for j, cell in enumerate(row):
            try:
                values[i - 1, j] = float(cell)
            except ValueError:
                raise DataError(f"{label}: row {i}, column {header[j]!r}: {cell.strip()!r} is not a number") from None
            if not math.isfinite(values[i - 1, j]):
                raise DataError(f"{label}: row {i}, column {header[j]!r}: {cell.strip()!r} is not a finite number")
    return CSVData(header, values, label)


def load_csv(path: str | os.PathLike[str], target: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Features, target and feature names from a numeric CSV with a header row.

    >>> import microgradnn as mg, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "t.csv")
    >>> _ = open(path, "w").write("a,b,y\\n1,2,0\\n3,4,1\\n")
    >>> X, y, names = mg.data.load_csv(path, target="y")
    >>> X.tolist(), y.tolist(), names
    ([[1.0, 2.0], [3.0, 4.0]], [0.0, 1.0], ['a', 'b'])
    """
    table = read_csv(path)
    if target not in table.columns:
        raise DataError(f"{table.source}: no column named {target!r} (columns: {', '.join(table.columns)})")
    features = [c for c in table.columns if c != target]
    if not features:
        raise DataError(f"{table.source}: only the target column {target!r}; there are no features")
    keep = [table.columns.index(c) for c in features]
    return table.values[:, keep], table.column(target), features
