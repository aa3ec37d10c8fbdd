"""The results of a sweep: the JSON Lines file that records every finished run, and the table
that sums them up per configuration.

The file's first line is a header (``{"sweep": "microgradnn", "version": 1, "root_seed": ...,
"fixed": {...}}``) holding the settings every run shares; each further line is one finished
run: ``config``, ``seed``, ``metrics``, ``curve``, ``status`` (``ok``, ``failed``, ``diverged``,
``crashed``), ``message`` and ``time`` (wall seconds). Lines are appended as runs finish, so a
sweep that is killed loses at most the runs in flight.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..io import check_destination

__all__ = ["ResultsError", "ResultsTable", "ConfigResult", "read_results", "STATUSES"]

FORMAT = "microgradnn"
VERSION = 1
#: What a run's ``status`` may be.
STATUSES = ("ok", "failed", "diverged", "crashed")


class ResultsError(ValueError):
    """A results file that cannot be used: not a sweep's, a bad line (``file:line``), or a
    fixed setting that differs from the sweep that wrote it (``.setting`` names it).

    >>> str(ResultsError("runs.jsonl:3: not JSON", setting=None))
    'runs.jsonl:3: not JSON'
    """

    def __init__(self, message: str, setting: str | None = None) -> None:
        super().__init__(message)
        self.setting = setting


def config_key(config: Mapping[str, Any]) -> str:
    """A configuration as canonical JSON: the same cell gives the same text, whatever its order."""
    return json.dumps(config, sort_keys=True, separators=(",", ":"))


def _finite_or_none(value: float) -> float | None:
    # JSON has no NaN or infinity: a non-finite number is written as null (status diverged).
    return value if math.isfinite(value) else None


def encode_record(record: Mapping[str, Any]) -> str:
    """One run as one line of strict JSON."""
    out = dict(record)
    out["metrics"] = {k: _finite_or_none(v) for k, v in record["metrics"].items()}
    if record.get("curve") is not None:
        out["curve"] = [_finite_or_none(v) for v in record["curve"]]
    return json.dumps(out, allow_nan=False, separators=(",", ":")) + "\n"


def _check_record(record: Any, where: str) -> dict[str, Any]:
    if not isinstance(record, dict):
        raise ResultsError(f"{where}: a run must be a JSON object, not {type(record).__name__}")
    missing = [k for k in ("config", "seed", "metrics", "curve", "status", "message", "time") if k not in record]
    if missing:
        raise ResultsError(f"{where}: a run without {', '.join(missing)}")
    if not isinstance(record["config"], dict):
        raise ResultsError(f"{where}: config must be an object")
    if not isinstance(record["seed"], int) or isinstance(record["seed"], bool):
        raise ResultsError(f"{where}: seed must be a whole number")
    if record["status"] not in STATUSES:
        raise ResultsError(f"{where}: status must be one of {', '.join(STATUSES)}, not {record['status']!r}")
    metrics = record["metrics"]
    if not isinstance(metrics, dict) or not all(
        v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)) for v in metrics.values()
    ):
        raise ResultsError(f"{where}: metrics must map names to numbers")
    curve = record["curve"]
    if curve is not None and (
        not isinstance(curve, list) or not all(v is None or isinstance(v, (int, float)) for v in curve)
    ):
        raise ResultsError(f"{where}: curve must be a list of numbers")
    # null stands for a non-finite value: read it back as NaN.
    record["metrics"] = {k: math.nan if v is None else float(v) for k, v in metrics.items()}
    if curve is not None:
        record["curve"] = [math.nan if v is None else float(v) for v in curve]
    return record


def _header(root_seed: int, fixed: Mapping[str, Any]) -> dict[str, Any]:
    return {"sweep": FORMAT, "version": VERSION, "root_seed": root_seed, "fixed": dict(fixed)}


def _describe(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


class ResultsFile:
    """The results file of one sweep, opened for appending: reads what is recorded (dropping a
    truncated last line), refuses a file of another sweep, and appends runs one line at a time."""

    def __init__(self, path: str | os.PathLike[str], root_seed: int, fixed: Mapping[str, Any]) -> None:
        self.path = os.fspath(path)
        header = _header(root_seed, fixed)
        check_destination(self.path)  # a folder, a device or an unwritable place is refused here
        self.records: list[dict[str, Any]] = []
        if os.path.exists(self.path) and os.path.getsize(self.path) > 0:
            self.records = self._read_and_check(header)
        else:
            with open(self.path, "w", encoding="utf-8") as f:
                f.write(json.dumps(header, allow_nan=False, sort_keys=True) + "\n")
                f.flush()
                os.fsync(f.fileno())
        self._file = open(self.path, "a", encoding="utf-8")  # kept open for the sweep

    def _read_and_check(self, header: dict[str, Any]) -> list[dict[str, Any]]:
        with open(self.path, "rb") as f:
            data = f.read()
        lines = data.split(b"\n")
        keep = len(data)
        if lines[-1]:  # no newline at the end: the last line may be cut short by a kill
            try:
                json.loads(lines[-1])
                complete = True
            except ValueError:
                complete = False
            if not complete and len(lines) > 1:
                keep = len(data) - len(lines[-1])  # drop it; its run is done again
                lines = lines[:-1]
            elif complete:
                keep = -1  # complete but unterminated: add the newline
        else:
            lines = lines[:-1]
        found = self._parse_header(lines[0], header)
        records = []
        for number, raw in enumerate(lines[1:], start=2):
            where = f"{self.path}:{number}"
            try:
                value = json.loads(raw)
            except ValueError as err:
                raise ResultsError(f"{where}: not a JSON line ({err})") from None
            records.append(_check_record(value, where))
        self._check_fixed(found, header)
        if keep == -1:
            with open(self.path, "ab") as f:
                f.write(b"\n")
        elif keep < len(data):
            os.truncate(self.path, keep)
        return records

    def _parse_header(self, raw: bytes, header: dict[str, Any]) -> dict[str, Any]:
        try:
            found = json.loads(raw)
        except ValueError:
            found = None
        if not isinstance(found, dict) or found.get("sweep") != FORMAT:
            raise ResultsError(
                f"{self.path}:1: not the results file of a microgradnn sweep: refusing to append to it "
                "(give another results file)"
            )
        if found.get("version") != VERSION:
            raise ResultsError(f"{self.path}:1: results format version {found.get('version')}; this reads {VERSION}")
        if not isinstance(found.get("fixed"), dict):
            raise ResultsError(f"{self.path}:1: the header has no fixed settings")
        return found

    def _check_fixed(self, found: dict[str, Any], header: dict[str, Any]) -> None:
        then, now = dict(found["fixed"]), dict(header["fixed"])
        then["root_seed"], now["root_seed"] = found.get("root_seed"), header["root_seed"]
        for name in sorted(set(then) | set(now)):
            if then.get(name) != now.get(name):
                raise ResultsError(
                    f"{self.path} was written by a sweep with {name} = {_describe(then.get(name))}, and this one "
                    f"has {name} = {_describe(now.get(name))}: a changed fixed setting makes other runs; "
                    "give another results file",
                    setting=name,
                )

    def append(self, record: Mapping[str, Any]) -> None:
        """Write one finished run, to disk before the next one is taken."""
        self._file.write(encode_record(record))
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        """Close the file."""
        self._file.close()


def read_results(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The runs recorded in a results file, one dict per line after the header (a non-finite
    value, written as null, reads as NaN). A truncated last line is left out; any other bad
    line raises :class:`ResultsError` naming ``file:line``.

    >>> import os, tempfile
    >>> from microgradnn import experiments
    >>> path = os.path.join(tempfile.mkdtemp(), "runs.jsonl")
    >>> train = lambda config, seed: {"loss": config["lr"]}
    >>> _ = experiments.sweep(train, {"lr": [0.1]}, seeds=2, results=path, n_jobs=1)
    >>> [(run["status"], run["metrics"]) for run in experiments.read_results(path)]
    [('ok', {'loss': 0.1}), ('ok', {'loss': 0.1})]
    """
    path = os.fspath(path)
    with open(path, "rb") as f:
        lines = f.read().split(b"\n")
    if not lines or not lines[0]:
        return []
    try:
        header = json.loads(lines[0])
    except ValueError:
        header = None
    if not isinstance(header, dict) or header.get("sweep") != FORMAT:
        raise ResultsError(f"{path}:1: not the results file of a microgradnn sweep")
    records = []
    last = len(lines) - 1
    for number, raw in enumerate(lines[1:], start=2):
        if not raw:
            continue
        try:
            value = json.loads(raw)
        except ValueError as err:
            if number - 1 == last:  # the unterminated last line: cut short by a kill
                break
            raise ResultsError(f"{path}:{number}: not a JSON line ({err})") from None
        records.append(_check_record(value, f"{path}:{number}"))
    return records


# ------------------------------------------------------------------ the table
def _stats(values: Sequence[float]) -> dict[str, float]:
    n = len(values)
    mean = math.fsum(values) / n
    # The sample standard deviation (n - 1): the seeds are a sample of the runs one could make.
    std = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else 0.0
    return {"mean": mean, "std": std, "min": min(values), "max": max(values)}


@dataclass
class ConfigResult:
    """One configuration of a sweep: its runs' statuses and, over its ``ok`` runs, the mean,
    std (n - 1), min and max of each metric, plus the curves for the plot.

    >>> row = ConfigResult({"lr": 0.1}, {"ok": 2}, {"loss": {"mean": 1.0, "std": 0.0, "min": 1.0, "max": 1.0}})
    >>> row.mean("loss"), row.ok
    (1.0, 2)
    """

    config: dict[str, Any]
    statuses: dict[str, int]
    metrics: dict[str, dict[str, float]]
    curves: list[list[float]] = field(default_factory=list)
    seeds: list[int] = field(default_factory=list)

    @property
    def ok(self) -> int:
        """How many runs finished with status ``ok``."""
        return self.statuses.get("ok", 0)

    def mean(self, metric: str) -> float:
        """The mean of ``metric`` over the ok runs (NaN when there are none)."""
        return self.metrics.get(metric, {}).get("mean", math.nan)


def _format_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return "x".join(map(str, value)) if value else "none"
    return "default" if value is None else str(value)


class ResultsTable:
    """Per configuration, the mean, std, min and max of each metric over the seeds (runs that
    did not finish ``ok`` are counted, never averaged). ``sort_by`` ranks; ``str()`` is the
    ranked table, configurations without an ok run last.

    >>> table = ResultsTable.from_records([
    ...     {"config": {"lr": 1.0}, "seed": 1, "metrics": {"loss": 0.5}, "status": "ok"},
    ...     {"config": {"lr": 0.1}, "seed": 1, "metrics": {"loss": 0.25}, "status": "ok"},
    ... ])
    >>> [row.config["lr"] for row in table.sort_by("loss")]
    [0.1, 1.0]
    >>> print(table.sort_by("loss"))
    rank   lr  runs  loss mean  loss std  loss min  loss max
       1  0.1  1 ok       0.25         0      0.25      0.25
       2    1  1 ok        0.5         0       0.5       0.5
    """

    def __init__(self, rows: Iterable[ConfigResult], metric: str | None = None, descending: bool = False) -> None:
        self.rows = list(rows)
        names = sorted({name for row in self.rows for name in row.metrics})
        #: The metric the table is ranked by (``loss`` when there is one, else the first).
        self.metric = metric if metric is not None else ("loss" if "loss" in names else (names[0] if names else None))
        self.descending = descending

    @classmethod
    def from_records(cls, records: Iterable[Mapping[str, Any]]) -> ResultsTable:
        """The table of runs (dicts with ``config``, ``seed``, ``metrics``, ``status`` and
        optionally ``curve``), in the order their configurations first appear.

        >>> len(ResultsTable.from_records([{"config": {}, "seed": 0, "metrics": {"loss": 1.0}, "status": "ok"}]))
        1
        """
        groups: dict[str, list[Mapping[str, Any]]] = {}
        for record in records:
            groups.setdefault(config_key(record["config"]), []).append(record)
        rows = []
        for runs in groups.values():
            statuses: dict[str, int] = {}
            for run in runs:
                statuses[run["status"]] = statuses.get(run["status"], 0) + 1
            good = [run for run in runs if run["status"] == "ok"]
            names = sorted({name for run in good for name in run["metrics"]})
            metrics = {
                name: _stats([float(run["metrics"][name]) for run in good if name in run["metrics"]]) for name in names
            }
            curves = [list(run["curve"]) for run in good if run.get("curve")]
            rows.append(ConfigResult(dict(runs[0]["config"]), statuses, metrics, curves, [run["seed"] for run in runs]))
        return cls(rows)

    def sort_by(self, metric: str, descending: bool = False) -> ResultsTable:
        """A new table ranked by the mean of ``metric``, lowest first (highest with
        ``descending=True``); configurations without it come last.

        >>> ResultsTable([]).sort_by("loss").metric
        'loss'
        """
        with_it = [row for row in self.rows if metric in row.metrics]
        without = [row for row in self.rows if metric not in row.metrics]
        with_it.sort(key=lambda row: row.mean(metric), reverse=descending)
        return ResultsTable(with_it + without, metric, descending)

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[ConfigResult]:
        return iter(self.rows)

    def __getitem__(self, index: int) -> ConfigResult:
        return self.rows[index]

    def __repr__(self) -> str:
        return f"<ResultsTable of {len(self.rows)} configurations, ranked by {self.metric}>"

    def __str__(self) -> str:
        table = self.sort_by(self.metric, self.descending) if self.metric else self
        keys: list[str] = []
        for row in table.rows:
            keys += [k for k in row.config if k not in keys]
        metric = table.metric
        others = sorted({m for row in table.rows for m in row.metrics} - {metric})
        header = ["rank", *keys, "runs"]
        if metric:
            header += [f"{metric} {s}" for s in ("mean", "std", "min", "max")]
        header += [f"{m} mean" for m in others]
        lines = []
        for rank, row in enumerate(table.rows, start=1):
            runs = ", ".join(f"{row.statuses[s]} {s}" for s in STATUSES if row.statuses.get(s))
            cells = [str(rank), *(_format_value(row.config.get(k, "")) for k in keys), runs]
            if metric:
                stats = row.metrics.get(metric)
                cells += [f"{stats[s]:.6g}" if stats else "-" for s in ("mean", "std", "min", "max")]
            cells += [f"{row.mean(m):.6g}" if m in row.metrics else "-" for m in others]
            lines.append(cells)
        widths = [max([len(h)] + [len(line[i]) for line in lines]) for i, h in enumerate(header)]
        out = ["  ".join(h.rjust(w) for h, w in zip(header, widths, strict=True))]
        out += ["  ".join(c.rjust(w) for c, w in zip(line, widths, strict=True)) for line in lines]
        return "\n".join(out)
