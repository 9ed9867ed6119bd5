"""Tracing: run a function once, eagerly, and record every backend primitive it calls.

While a trace runs, each device the function touches has its backend replaced by a
``_TraceBackend``: a proxy that forwards every primitive of the contract to the real backend
and appends one ``Node`` per call to the graph.  Arrays are the values: the proxy maps each
array it sees (by identity; it keeps them alive so ids are not reused) to a graph value.  An
array nobody produced during the trace is a graph input if it belongs to an argument or to a
tensor of the function's state (parameters, buffers, ``.grad``, optimizer state, found from
the function's arguments, closure and globals), otherwise a constant.

Because the trace is an eager run through the real backend, the traced call returns exactly
what the eager call returns, and autograd, ``backward()`` and ``optimizer.step()`` are
recorded like everything else: their primitives are the graph.  A read of a value into Python
(``.item()``, ``bool(t)``, ``.tolist()``, ``.numpy()``, ``if t > 0:``) cannot be captured: it
is a *graph break*, recorded with the source line, and the run goes on eagerly.
"""
from __future__ import annotations

import os
import sys
import threading
from typing import Any, Dict, List, Tuple

import numpy as np

from .. import _dtype as D
from .. import _tracing
from ..backends.base import primitive_names
from ..tensor import Tensor
from .graph import MUTATES, VIEWS, BackendRef, Gen, Graph, Node, Ref, Sym

__all__ = ["trace", "GraphBreak", "Tracer"]

_PKG = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_PRIMS = frozenset(primitive_names())
_LOCK = threading.RLock()


class GraphBreak(RuntimeError):
    """A value was read into Python while tracing (or something else that a static graph
    cannot hold); the message says what and where."""


class _SymFloat(float):
    """An optimizer step count: a float that the tracer knows is counter ``i``."""
    _sym = -1


class _Tainted(float):
    """Arithmetic on a step count: if it reaches a primitive the graph cannot follow it."""


def _taint(op):
    def f(self, *a):
        return _Tainted(getattr(float, op)(self, *a))
    return f


for _op in ("__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__", "__truediv__",
            "__rtruediv__", "__pow__", "__rpow__", "__neg__", "__floordiv__", "__mod__"):
    setattr(_SymFloat, _op, _taint(_op))
    setattr(_Tainted, _op, _taint(_op))


def source_line(skip_pkg: bool = True) -> str:
    """``file.py:31 fn`` of the innermost frame outside minitorch (the user's line)."""
    f = sys._getframe(1)
    while f is not None:
        fn = f.f_code.co_filename
        if not (skip_pkg and os.path.abspath(fn).startswith(_PKG + os.sep)):
            return f"{os.path.basename(fn)}:{f.f_lineno} {f.f_code.co_name}"
        f = f.f_back
    return ""


class _TraceBackend:
    """Stands in for a device's backend during a trace: records, then forwards."""

    def __init__(self, real, tracer: "Tracer", device: str):
        self._real = real
        self._tracer = tracer
        self._device = device
        self.binary_table = {op: (lambda a, b, _op=op: self.binary(_op, a, b))
                             for op in real.binary_table}
        self._bound = {}

    def __getattr__(self, name):
        attr = getattr(self._real, name)
        if name in _PRIMS:
            tracer, dev = self._tracer, self._device

            def call(*args, **kwargs):
                return tracer.call(dev, name, attr, args, kwargs)
            call.__name__ = name
            self.__dict__[name] = call  # cached: __getattr__ runs once per primitive
            return call
        return attr


class Tracer:
    """Builds one Graph.  ``known`` maps ``id(array)`` to (kind, name) for the arrays of
    the arguments ("input") and of the state ("state")."""

    def __init__(self, graph: Graph, fullgraph: bool):
        self.g = graph
        self.fullgraph = fullgraph
        self.ids: Dict[int, int] = {}       # id(array) -> current value id
        self.keep: List[Any] = []           # every array seen (ids stay unique)
        self.known: Dict[int, Tuple[str, str, str]] = {}  # kind, name, device
        self.alias: Dict[int, int] = {}     # value id -> the value whose memory it may share
        self.breaks: List[Tuple[str, str]] = []   # (reason, source line)
        self.suspended = 0
        self.counter_of: Dict[int, int] = {}  # id(step tensor) -> counter index
        self.array_types: tuple = (np.ndarray,)
        self.saw_backward = False           # autograd's engine ran during the trace

    # -- values --------------------------------------------------------------------------
    def value_of(self, arr, device: str) -> int:
        vid = self.ids.get(id(arr))
        if vid is not None:
            return vid
        kind, name, device = self.known.get(id(arr), ("const", "", device))
        v = self.g.new_value(arr.dtype, arr.shape, kind, name, device)
        if kind == "input":
            self.g.inputs.append(v)
        elif kind == "state":
            self.g.state.append((name, v))
        else:
            self.g.consts[v.id] = arr
        self.ids[id(arr)] = v.id
        self.keep.append(arr)
        return v.id

    def _new_version(self, arr, device: str) -> int:
        old = self.ids.get(id(arr))
        v = self.g.new_value(arr.dtype, arr.shape, "node", "", device)
        self.ids[id(arr)] = v.id
        self.keep.append(arr)
        if old is not None:
            self.alias[v.id] = self.alias.get(old, old)
        return v.id

    def _encode(self, a, src: str, dev: str):
        if isinstance(a, self.array_types):
            return Ref(self.value_of(a, dev))
        t = type(a)
        if t is tuple:
            return tuple(self._encode(x, src, dev) for x in a)
        if t is list:
            return [self._encode(x, src, dev) for x in a]
        if isinstance(a, tuple):  # Size and other tuple subclasses
            return tuple(self._encode(x, src, dev) for x in a)
        if t is _SymFloat:
            return Sym(a._sym)
        if t is _Tainted:
            self.graph_break("a number computed from an optimizer step count reached a "
                             "primitive (the graph cannot recompute it)", src)
            return float(a)
        if a is None or t in (bool, int, float, str, slice) or isinstance(a, (np.generic,
                                                                               np.dtype,
                                                                               D.dtype)):
            return a
        if isinstance(a, _TraceBackend):
            return BackendRef(a._device)
        from ..random import Generator
        if isinstance(a, Generator):
            return Gen(a, str(a.device))
        if isinstance(a, np.ndarray):  # a host array handed to a device primitive
            return Ref(self.value_of(a, "cpu"))
        self.graph_break(f"unsupported primitive argument of type {t.__name__}", src)
        return a

    # -- the recording -------------------------------------------------------------------
    def graph_break(self, reason: str, src: str) -> None:
        self.breaks.append((reason, src))
        if self.fullgraph:
            raise GraphBreak(f"graph break: {reason} at {src or '<unknown>'}; with "
                             f"fullgraph=True the function must be captured whole")

    def call(self, device: str, name: str, fn, args, kwargs):
        # the backend gets plain floats (NumPy treats a float subclass as a float64 scalar)
        plain = tuple(float(a) if isinstance(a, float) and type(a) is not float else a
                      for a in args)
        if self.suspended or self.breaks:
            return fn(*plain, **kwargs)
        src = source_line()
        if name == "to_numpy" and not _tracing.device_copy.depth:
            self.graph_break("a tensor value was read into Python (.item(), .tolist(), "
                             "bool(), .numpy(), or Python control flow on a tensor)", src)
            return fn(*plain, **kwargs)
        if name == "nonzero":
            self.graph_break("data-dependent output shape (nonzero, boolean-mask indexing "
                             "or masked_select)", src)
            return fn(*plain, **kwargs)
        enc_args = tuple(self._encode(a, src, device) for a in args)
        enc_kw = {k: self._encode(v, src, device) for k, v in kwargs.items()}
        if self.breaks:
            return fn(*plain, **kwargs)
        args = plain
        written = [args[i] for i in MUTATES.get(name, ()) if i < len(args)
                   and isinstance(args[i], self.array_types)]
        if name == "binary" and kwargs.get("out") is not None:
            written.append(kwargs["out"])
        old = [self.ids[id(a)] for a in written]
        res = fn(*args, **kwargs)
        outs: List[int] = []
        results: Any = None
        if isinstance(res, self.array_types):
            results = len(outs)
            outs.append(self._result(res, name, enc_args, device))
        elif isinstance(res, tuple):
            results = []
            for r in res:
                if isinstance(r, self.array_types):
                    results.append(len(outs))
                    outs.append(self._result(r, name, enc_args, device))
                else:
                    results.append(None)
            results = tuple(results)
        # arguments written in place get new versions (functional IR)
        wnew = []
        for arr, o in zip(written, old):
            cur = self.ids[id(arr)]
            if cur == o:  # not returned: a new version of its own
                cur = self._new_version(arr, device)
                outs.append(cur)
            wnew.append(cur)
        self.g.nodes.append(Node(name, enc_args, enc_kw, outs, device, src, tuple(old),
                                 results, tuple(wnew)))
        return res

    def _result(self, arr, name: str, enc_args, device: str) -> int:
        if name in VIEWS:
            # a view shares memory with its argument: remember the root, for the passes
            v = self._new_version(arr, device) if id(arr) in self.ids else None
            if v is None:
                v = self.g.new_value(arr.dtype, arr.shape, "node", "", device).id
                self.ids[id(arr)] = v
                self.keep.append(arr)
            a0 = enc_args[0] if enc_args else None
            if isinstance(a0, Ref):
                self.alias[v] = self.alias.get(a0.v, a0.v)
            return v
        if id(arr) in self.ids:  # an existing array came back (written in place)
            return self._new_version(arr, device)
        v = self.g.new_value(arr.dtype, arr.shape, "node", "", device).id
        self.ids[id(arr)] = v
        self.keep.append(arr)
        return v

    def record_check(self, name: str, fn, args):
        if self.suspended or self.breaks:
            return fn(*args)
        src = source_line()
        dev = next((n.device for n in reversed(self.g.nodes)), "cpu")
        enc = tuple(self._encode(a, src, dev) for a in args)
        self.suspended += 1
        try:
            fn(*args)
        finally:
            self.suspended -= 1
        self.g.nodes.append(Node("check", (name,) + enc, {}, [], dev, src))
        return None

    def record_counter(self, t: Tensor) -> float:
        value = float(t._data)
        if self.suspended or self.breaks:
            return value
        src = source_line()
        i = self.counter_of.get(id(t))
        if i is None:
            i = self.counter_of[id(t)] = len(self.g.counters)
            self.g.counters.append(self.known.get(id(t._data), ("const", "", "cpu"))[1])
        ref = Ref(self.value_of(t._data, str(t._device)))
        # eager code already incremented the array in place: it now holds the new version
        new = self._new_version(t._data, str(t._device))
        self.g.nodes.append(Node("counter", (ref, i), {}, [new], "cpu", src, (ref.v,), None,
                                 (new,)))
        s = _SymFloat(value)
        s._sym = i
        return s


class _Installed:
    """Swap each device's backend for the recording proxy (and back)."""

    def __init__(self, tracer: Tracer, devices):
        self.tracer, self.devices = tracer, devices
        self.saved = []

    def __enter__(self):
        _LOCK.acquire()
        if _tracing.active is not None:
            _LOCK.release()
            raise RuntimeError("minitorch.jit: a trace is already running (nested tracing is "
                               "not supported)")
        types = []
        for dev in self.devices:
            real = dev._be
            types.append(real.array_type)
            self.saved.append((dev, real))
            dev._be = _TraceBackend(real, self.tracer, str(dev))
        self.tracer.array_types = tuple(dict.fromkeys(types + [np.ndarray]))
        _tracing.active = self.tracer
        return self

    def __exit__(self, *exc):
        for dev, real in self.saved:
            dev._be = real
        _tracing.active = None
        _LOCK.release()
        return False


def all_devices():
    """The canonical device objects whose backends exist (the ones a trace can touch)."""
    from ..device import _BACKENDS, canonical
    devs = [canonical("cpu")]
    for key in list(_BACKENDS):
        d = canonical(f"{key[0]}:{key[1]}" if key[1] is not None else key[0])
        if d not in devs:
            devs.append(d)
    return devs


def trace(fn, *example_args, **example_kwargs) -> Graph:
    """Run ``fn(*example_args, **example_kwargs)`` once and return its static graph (like
    ``jax.make_jaxpr`` / ``torch.fx.symbolic_trace``).  ``fn`` may be a function or an
    ``nn.Module``; tensors it reaches through its module, closure and globals (parameters,
    buffers, ``.grad``, optimizer state) become the graph's state.  A data-dependent read
    raises ``GraphBreak`` naming the source line."""
    from .capture import capture
    g, _result, info = capture(fn, example_args, example_kwargs, fullgraph=True)
    return g
