"""Anomaly detection: find the first operation that makes a NaN or an inf.

Inside ``detect_anomaly()``, every operation checks its result, and every backward step its
gradients, and each operation remembers the line of user code that created it, so that the
error can point there. Outside it, the engine pays for one flag test per operation. Like grad
mode, anomaly mode belongs to a thread: turning it on in one thread leaves the others alone.
"""

from __future__ import annotations

import linecache
import os
import sys
import types
from collections.abc import Sequence
from typing import Any

import numpy as np

from .autograd import ANOMALY, _enter_mode, _exit_mode, _modes
from .errors import shape_of
from .tensor import Tensor

__all__ = ["detect_anomaly", "is_anomaly_enabled", "AnomalyError", "check_result", "check_gradients"]

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


class AnomalyError(RuntimeError):
    """Raised under :func:`detect_anomaly` by the first op that produces NaN or inf.

    >>> import microgradnn as mg
    >>> try:
    ...     with mg.detect_anomaly():
    ...         mg.Tensor([1.0], requires_grad=True) * float("inf")
    ... except mg.AnomalyError as err:
    ...     print(str(err).split(";")[0])
    detect_anomaly: mul produced inf in its result of shape (1,) (inputs of shapes (1,), ())
    """


class detect_anomaly:
    """Find the first op whose result or gradient holds NaN or inf (a context manager).

    Inside it, such an op raises :class:`AnomalyError` naming the op, the shapes, and the line
    of your code that created it. Checking every array costs time, so it is off by default. It
    is on for the thread that enters it only (other threads, and new ones, start with it off).

    >>> import microgradnn as mg
    >>> x = mg.Tensor([1.0, 2.0], requires_grad=True)
    >>> with mg.detect_anomaly():
    ...     y = x * float("inf")
    Traceback (most recent call last):
    ...
    microgradnn.anomaly.AnomalyError: detect_anomaly: mul produced inf in its result of shape (2,) ...
    """

    def __enter__(self) -> detect_anomaly:
        _enter_mode(ANOMALY, True)
        return self

    def __exit__(self, *exc_info: object) -> None:
        _exit_mode(ANOMALY)


def is_anomaly_enabled() -> bool:
    """Whether anomaly detection is on in this thread (as ``torch.is_anomaly_enabled``).

    >>> import microgradnn as mg
    >>> with mg.detect_anomaly():
    ...     mg.anomaly.is_anomaly_enabled()
    True
    >>> mg.anomaly.is_anomaly_enabled()
    False
    """
    return bool(_modes.flags & ANOMALY)


def _user_site() -> str:
    """The first frame outside this package: where the user's code made the op."""
    frame: types.FrameType | None = sys._getframe(1)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE_DIR + os.sep):
        frame = frame.f_back
    if frame is None:
        return "an unknown place"
    line = linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip()
    return f"{frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}: {line}"


def _bad_values(array: Any) -> str | None:
    """'nan', 'inf' or '-inf' if the array holds one (NaN first), else None."""
    values = np.asarray(array._data if isinstance(array, Tensor) else array)
    if values.dtype.kind != "f" or np.isfinite(values).all():
        return None
    if np.isnan(values).any():
        return "nan"
    return "inf" if (values == np.inf).any() else "-inf"


def check_result(name: str, ctx: Any, result: np.ndarray, args: Sequence[Any]) -> None:
    """Remember where the op was made, and refuse a NaN or inf result."""
    site = _user_site()
    ctx.__dict__["anomaly_site"] = site
    bad = _bad_values(result)
    if bad is not None:
        shapes = ", ".join(str(shape_of(a)) for a in args)
        raise AnomalyError(
            f"detect_anomaly: {name} produced {bad} in its result of shape {shape_of(result)} "
            f"(inputs of shapes {shapes}); the operation was created at {site}"
        )


def check_gradients(node: Any, grads: Sequence[Any]) -> None:
    """Refuse a NaN or inf gradient from a node's backward."""
    for position, (inp, g) in enumerate(zip(node.inputs, grads, strict=True)):
        bad = None if g is None else _bad_values(g)
        if bad is not None:
            site = node.__dict__.get("anomaly_site", "a place not recorded (it was made outside detect_anomaly)")
            raise AnomalyError(
                f"detect_anomaly: the backward of {node.name} produced {bad} in the gradient for its "
                f"input {position} (shape {shape_of(inp)}); the operation was created at {site}"
            )
