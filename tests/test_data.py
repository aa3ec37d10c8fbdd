"""Data: DataLoader over every kind of dataset, collate, the strict CSV reader."""

import io

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import microgradnn as mg
from microgradnn.data import CSVData, DataError, DataLoader, TensorDataset, collate, read_csv


def test_a_loader_over_one_array_yields_batches_of_rows():
    X = np.arange(12.0).reshape(6, 2)
    batches = list(DataLoader(X, batch_size=4))
    assert all(isinstance(b, mg.Tensor) for b in batches)
    assert [b.data.tolist() for b in batches] == [X[:4].tolist(), X[4:].tolist()]
    labels = list(DataLoader(np.arange(5), batch_size=2))
    assert all(isinstance(b, np.ndarray) for b in labels) and [b.tolist() for b in labels] == [[0, 1], [2, 3], [4]]
    assert [b.shape for b in DataLoader(mg.Tensor(X), batch_size=5)] == [(5, 2), (1, 2)]


def test_a_loader_over_pairs_stacks_them_as_default_collate_does():
    rng = np.random.default_rng(0)
    pairs = [(rng.normal(size=3), int(i % 2)) for i in range(7)]
    batches = list(DataLoader(pairs, batch_size=3))
    assert len(batches) == 3
    xb, yb = batches[0]
    assert isinstance(xb, mg.Tensor) and xb.shape == (3, 3)
    np.testing.assert_array_equal(xb.data, np.stack([p[0] for p in pairs[:3]]))
    assert isinstance(yb, np.ndarray) and yb.tolist() == [0, 1, 0]
    assert batches[-1][0].shape == (1, 3)


def test_collate_of_dicts_tensors_and_nested_tuples():
    samples = [{"x": mg.Tensor([1.0, 2.0]), "y": (0, 1.5)}, {"x": mg.Tensor([3.0, 4.0]), "y": (1, 2.5)}]
    batch = collate(samples)
    assert batch["x"].data.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    ints, floats = batch["y"]
    assert ints.tolist() == [0, 1] and floats.data.tolist() == [1.5, 2.5]


def test_collate_refuses_samples_that_do_not_stack():
    with pytest.raises(ValueError, match=r"collate: samples of different shapes"):
        collate([np.zeros(2), np.zeros(3)])
    with pytest.raises(ValueError, match="different numbers of fields"):
        collate([(1.0, 2), (1.0,)])


@given(n=st.integers(1, 30), batch_size=st.integers(1, 8), drop_last=st.booleans(), seed=st.integers(0, 100))
def test_shuffled_batches_cover_each_row_once_and_repeat_from_a_seed(n, batch_size, drop_last, seed):
    X, y = np.arange(n * 2.0).reshape(n, 2), np.arange(n)
    loader = DataLoader(TensorDataset(X, y), batch_size=batch_size, shuffle=True, drop_last=drop_last)
    loader.rng = np.random.default_rng(seed)
    first = [yb.tolist() for _, yb in loader]
    loader.rng = np.random.default_rng(seed)
    assert [yb.tolist() for _, yb in loader] == first
    seen = [i for batch in first for i in batch]
    assert len(first) == len(loader)
    assert len(seen) == len(set(seen)) == (n // batch_size * batch_size if drop_last else n)
    for xb, yb in DataLoader(TensorDataset(X, y), batch_size=batch_size):
        np.testing.assert_array_equal(xb.data[:, 0], 2 * yb)


def test_a_loader_refuses_what_it_cannot_batch():
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        DataLoader(np.zeros(3), batch_size=0)
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        DataLoader(np.zeros(3), batch_size=True)
    with pytest.raises(TypeError, match="must support len"):
        DataLoader(iter([1, 2]))
    with pytest.raises(ValueError, match="0-d"):
        DataLoader(np.array(1.0))


# ------------------------------------------------------------------ the CSV reader
def read(text: str) -> CSVData:
    return read_csv(io.StringIO(text))


@pytest.mark.parametrize("cell", ["1", "-2", "+3", "4.", ".5", "6.25", "1e-05", "2E+3", "-.5e2", "007"])
def test_numbers_are_an_optional_sign_digits_a_point_and_an_exponent(cell):
    assert read(f"a\n{cell}\n").column("a").tolist() == [float(cell)]


@pytest.mark.parametrize("cell", ["1_000", "١", "½", "0x1f", "1e", "e5", "1.2.3", "--1", "1,5", "+", ".", "1 2"])
def test_anything_else_is_not_a_number(cell):
    with pytest.raises(DataError, match=r"row 1, column 'a': .* is not a number"):
        read(f'a\n"{cell}"\n').column("a")


def test_labels_are_numbers_or_names_but_never_a_mix():
    table = read("x,y\n1,setosa\n2,virginica\n")
    assert table.labels("y").tolist() == ["setosa", "virginica"]
    assert read("x,y\n1,2\n").labels("y").tolist() == [2.0]
    with pytest.raises(DataError, match=r"row 3, column 'y': 'oops' is not a number, unlike most"):
        read("x,y\n1,0\n2,1\n3,oops\n").labels("y")


def test_a_byte_order_mark_is_ignored_from_a_stream_too():
    assert read("\ufeffa,b\n1,2\n").columns == ["a", "b"]


def test_csv_errors_name_the_line():
    with pytest.raises(DataError, match="line 2 holds a NUL byte"):
        read("a\n1\x00\n")
    with pytest.raises(DataError, match="longer than"):
        read("a\n" + "9" * 200_000 + "\n")
