"""The hook between eager code and the tracer of ``minitorch.jit`` (the bottom floor: it
imports nothing of minitorch, so any module may use it).

While ``jit.trace`` runs a function, ``active`` is the running tracer; otherwise None.  Eager
code uses two helpers from here where a value crosses from device arrays to Python, so that
a static graph can replay what the eager code did instead of baking one value in:

* ``host_check(fn)``: a decorator for a validation that reads device values and raises on bad
  input (index ranges, class targets, integer division by zero).  Traced, the call becomes one
  ``check`` node that the graph runs again on every call with the new arrays; its own reads
  are not graph breaks.
* ``host_counter(t)``: the optimizers' ``step`` counters (0-d cpu tensors incremented once per
  step): traced, the increment is a ``counter`` node and the count passed to the update
  primitives is read from the tensor on every call instead of being a constant.
"""
from __future__ import annotations

import functools

active = None  # the running jit tracer (minitorch/jit/tracer.py), or None

# name -> function, for checks a graph may run (serialized graphs name them; nothing else runs)
CHECKS = {}


def host_check(fn):
    """Register ``fn(*args)`` (device arrays and Python values in, None out or an exception)
    as a validation that a traced graph re-runs on every call."""
    name = f"{fn.__module__}.{fn.__qualname__}"
    CHECKS[name] = fn

    @functools.wraps(fn)
    def wrapper(*args):
        t = active
        if t is not None:
            return t.record_check(name, fn, args)
        return fn(*args)
    return wrapper


class device_copy:
    """``with device_copy():`` around the ``to_numpy`` of a device-to-device copy: traced, it
    is a graph node (the copy runs on every call), not a graph break."""
    depth = 0

    def __enter__(self):
        device_copy.depth += 1

    def __exit__(self, *exc):
        device_copy.depth -= 1
        return False


def host_counter(t) -> float:
    """``t`` (a 0-d cpu tensor) was just incremented by 1: its value as a Python float, which
    a traced graph reads again on every call."""
    tr = active
    if tr is not None:
        return tr.record_counter(t)
    return float(t._data)
