"""Anomaly detection: remember where each op ran, and fail loudly on NaN gradients."""
from __future__ import annotations

import warnings

from .function import _state

__all__ = ["detect_anomaly", "set_detect_anomaly", "is_anomaly_enabled"]


def is_anomaly_enabled() -> bool:
    return _state.anomaly


class detect_anomaly:
    """Inside this block, nodes record the stack of the forward op that made them, and a
    backward that produces NaN raises a RuntimeError naming the op (the forward stack is
    printed to stderr, as PyTorch does)."""

    def __init__(self, check_nan: bool = True):
        self.check_nan = check_nan
        warnings.warn("Anomaly Detection has been enabled. This mode will increase the runtime "
                      "and should only be enabled for debugging.", stacklevel=2)

    def __enter__(self):
        self._prev = (_state.anomaly, _state.anomaly_check_nan)
        _state.anomaly = True
        _state.anomaly_check_nan = self.check_nan
        return self

    def __exit__(self, *exc):
        _state.anomaly, _state.anomaly_check_nan = self._prev
        return False


class set_detect_anomaly(detect_anomaly):
    def __init__(self, mode: bool, check_nan: bool = True):
        self._prev = (_state.anomaly, _state.anomaly_check_nan)
        _state.anomaly = bool(mode)
        _state.anomaly_check_nan = check_nan

    def __enter__(self):
        return self


def check_nan(node, grads) -> None:
    for i, g in enumerate(grads):
        if g is None or g._data.dtype.kind not in "fV":
            continue
        if bool(g.isnan().any()):
            if node._trace:  # PyTorch warns with the forward stack; the error is one line
                warnings.warn(f"Error detected in {node.name()}. Traceback of forward call that "
                              f"caused the error:\n{node._trace}", stacklevel=2)
            raise RuntimeError(f"Function '{node.name()}' returned nan values in its {i}th output.")
