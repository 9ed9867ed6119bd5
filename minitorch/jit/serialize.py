"""``graph.save(path)`` / ``jit.load(path)``: a graph in one safetensors file.

The IR is JSON in the file's metadata (key ``minitorch.graph``); constants and the current
values of the state tensors are the file's tensors (``const/<id>``, ``state/<name>``).  A
loaded graph owns fresh state tensors made from those values (``graph.state_tensors``), so it
runs -- and a saved training step keeps training its own copy of the weights -- with no access
to the Python code that built it.  Nothing in the file is executed: every op must be a
primitive of the backend contract (or a registered check), every argument decodes from a
small set of tagged JSON forms, and anything else raises ``ValueError`` naming what is wrong.
"""
from __future__ import annotations

import json
import math
import os
from typing import Any, Dict

import numpy as np

from .. import _dtype as D
from .. import _tracing
from ..backends.base import primitive_names
from ..device import canonical
from ..tensor import _make
from .capture import Slot
from .graph import BackendRef, Gen, Graph, Node, Ref, Sym, Value

__all__ = ["save", "load"]

FORMAT = "minitorch.graph/1"
_OPS = frozenset(primitive_names()) | {"check", "counter"}


# -- encoding -----------------------------------------------------------------------------------
def _enc(a):
    if isinstance(a, Ref):
        return {"ref": a.v}
    if isinstance(a, Sym):
        return {"sym": a.i}
    if isinstance(a, Gen):
        return {"gen": a.device}
    if isinstance(a, BackendRef):
        return {"backend": a.device}
    if isinstance(a, tuple):
        return {"tuple": [_enc(x) for x in a]}
    if isinstance(a, list):
        return {"list": [_enc(x) for x in a]}
    if isinstance(a, slice):
        return {"slice": [_enc(a.start), _enc(a.stop), _enc(a.step)]}
    if isinstance(a, D.dtype):
        return {"dtype": a.name}
    if isinstance(a, np.dtype):
        return {"npdtype": str(a)}
    if isinstance(a, np.generic):
        return {"np": [str(a.dtype), _enc(a.item())]}
    if isinstance(a, float) and not math.isfinite(a):
        return {"float": repr(a)}
    if a is None or isinstance(a, (bool, int, float, str)):
        return a
    raise ValueError(f"cannot serialize a graph argument of type {type(a).__name__}")


def _dec(a, where: str):
    if a is None or isinstance(a, (bool, int, float, str)):
        return a
    if isinstance(a, list):
        raise ValueError(f"malformed graph file: bare list in {where}")
    if not isinstance(a, dict) or len(a) != 1:
        raise ValueError(f"malformed graph file: bad argument {str(a)[:60]!r} in {where}")
    (tag, v), = a.items()
    if tag == "ref":
        return Ref(_int(v, where))
    if tag == "sym":
        return Sym(_int(v, where))
    if tag == "gen":
        return Gen(None, _str(v, where))
    if tag == "backend":
        return BackendRef(_str(v, where))
    if tag == "tuple":
        return tuple(_dec(x, where) for x in _list(v, where))
    if tag == "list":
        return [_dec(x, where) for x in _list(v, where)]
    if tag == "slice":
        s = _list(v, where)
        if len(s) != 3:
            raise ValueError(f"malformed graph file: slice in {where}")
        return slice(*(_dec(x, where) for x in s))
    if tag == "dtype":
        dt = getattr(D, _str(v, where), None)
        if not isinstance(dt, D.dtype):
            raise ValueError(f"malformed graph file: unknown dtype {v!r} in {where}")
        return dt
    if tag == "npdtype":
        return np.dtype(_safe_np_dtype(v, where))
    if tag == "np":
        dt, val = _list(v, where)
        return np.dtype(_safe_np_dtype(dt, where)).type(_dec(val, where))
    if tag == "float":
        if v not in ("inf", "-inf", "nan"):
            raise ValueError(f"malformed graph file: float {v!r} in {where}")
        return float(v)
    raise ValueError(f"malformed graph file: unknown argument tag {tag!r} in {where}")


def _safe_np_dtype(v, where):
    if v not in ("float32", "float64", "int32", "int64", "bool", "float16", "int8", "uint8",
                 "int16"):
        raise ValueError(f"malformed graph file: dtype {v!r} in {where}")
    return v


def _int(v, where):
    if not isinstance(v, int) or isinstance(v, bool):
        raise ValueError(f"malformed graph file: expected an integer in {where}, got {v!r}")
    return v


def _str(v, where):
    if not isinstance(v, str):
        raise ValueError(f"malformed graph file: expected a string in {where}, got {v!r}")
    return v


def _list(v, where):
    if not isinstance(v, list):
        raise ValueError(f"malformed graph file: expected a list in {where}")
    return v


def _spec_enc(s):
    if isinstance(s, Ref):
        return {"ref": s.v}
    kind = s[0]
    if kind == "C":
        return {"C": _enc(s[1])}
    if kind == "dict":
        return {"dict": [[k, _spec_enc(v)] for k, v in s[1]]}
    return {kind: [_spec_enc(x) for x in s[1]]}


def _spec_dec(s, where="outputs"):
    if not isinstance(s, dict) or len(s) != 1:
        raise ValueError(f"malformed graph file: bad {where}")
    (tag, v), = s.items()
    if tag == "ref":
        return Ref(_int(v, where))
    if tag == "C":
        return ("C", _dec(v, where))
    if tag == "dict":
        return ("dict", tuple((_str(k, where), _spec_dec(x, where)) for k, x in _list(v, where)))
    if tag in ("tuple", "list", "T"):
        return (tag, tuple(_spec_dec(x, where) for x in _list(v, where)))
    raise ValueError(f"malformed graph file: bad {where} tag {tag!r}")


# -- files --------------------------------------------------------------------------------------
def save(g: Graph, path) -> None:
    from safetensors.numpy import save_file
    if g.unfused is not None:  # generated kernels are rebuilt from the IR, not stored
        g = g.unfused
    if g.not_replayable:
        raise RuntimeError(f"graph {g.name} cannot be saved: {g.not_replayable}")
    tensors: Dict[str, np.ndarray] = {}
    for vid, arr in g.consts.items():
        tensors[f"const/{vid}"] = _host(arr, g.devices.get(vid, "cpu"))
    for name, v in g.state:
        tensors[f"state/{name}"] = _host(g._slots[name].read(), g.devices[v.id])
    ir = {
        "format": FORMAT, "name": g.name,
        "values": [[v.id, v.dtype, list(v.shape), v.kind, v.name, g.devices.get(v.id, "cpu")]
                   for v in g.values.values()],
        "inputs": [v.id for v in g.inputs],
        "state": [[name, v.id] for name, v in g.state],
        "consts": sorted(g.consts),
        "nodes": [[n.op, _enc(n.args), {k: _enc(x) for k, x in n.kwargs.items()}, n.outs,
                   n.device, n.src, list(n.writes), _enc(n.results), list(n.wnew)]
                  for n in g.nodes],
        "outputs": _spec_enc(g.output_spec),
        "writebacks": [[name, None if v is None else v.id] for name, v in g.writebacks],
        "counters": list(g.counters),
        "version_bumps": [[n, d] for n, d in g._version_bumps],
        "passes": list(g.passes),
    }
    path = os.fspath(path)
    tmp = f"{path}.{os.getpid()}.{id(g)}.tmp"
    try:
        save_file(tensors, tmp, metadata={"minitorch.graph": json.dumps(ir)})
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _host(arr, device: str) -> np.ndarray:
    be = canonical(device)._be
    return np.ascontiguousarray(np.asarray(be.to_numpy(arr)))


def load(path, map_location=None) -> Graph:
    """A graph saved with ``graph.save``; it runs on the devices it was traced on (or all on
    ``map_location``)."""
    from safetensors import SafetensorError, safe_open
    path = os.fspath(path)
    try:
        with safe_open(path, framework="numpy") as f:
            meta = f.metadata() or {}
            arrays = {k: f.get_tensor(k) for k in f.keys()}
    except (SafetensorError, OSError, ValueError) as e:
        raise ValueError(f"{path} is not a minitorch graph file ({type(e).__name__}: {e})") \
            from None
    text = meta.get("minitorch.graph")
    if text is None:
        raise ValueError(f"{path} is a safetensors file without a minitorch graph (no "
                         f"'minitorch.graph' metadata)")
    try:
        ir = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: the graph's JSON is corrupt ({e})") from None
    if not isinstance(ir, dict) or ir.get("format") != FORMAT:
        raise ValueError(f"{path}: not a {FORMAT} file (format {ir.get('format') if isinstance(ir, dict) else None!r})")
    try:
        return _build(ir, arrays, map_location, path)
    except (KeyError, TypeError, IndexError) as e:
        raise ValueError(f"{path}: malformed graph file ({type(e).__name__}: {e})") from None


def _build(ir: Dict[str, Any], arrays, map_location, path) -> Graph:
    g = Graph(_str(ir["name"], "name"))
    dev = (lambda d: str(canonical(map_location))) if map_location is not None else \
        (lambda d: str(canonical(d)))
    for vid, dt, shape, kind, name, d in ir["values"]:
        if _int(vid, "values") != len(g.values):
            raise ValueError(f"{path}: value ids out of order")
        _safe_np_dtype(dt, "values")
        v = Value(vid, dt, tuple(_int(s, "shape") for s in shape), _str(kind, "values"),
                  _str(name, "values"))
        g.values[vid] = v
        g.devices[vid] = dev(d)
    n_values = len(g.values)

    def value(i, where):
        if not isinstance(i, int) or not 0 <= i < n_values:
            raise ValueError(f"{path}: {where} names value {i!r}, which does not exist")
        return g.values[i]

    g.inputs = [value(i, "inputs") for i in ir["inputs"]]
    owned = {}
    for name, vid in ir["state"]:
        v = value(vid, "state")
        arr = arrays.get(f"state/{name}")
        if arr is None:
            raise ValueError(f"{path}: the value of state {name!r} is missing")
        _check_array(arr, v, f"state {name!r}", path)
        d = canonical(g.devices[vid])
        t = _make(d._be.from_numpy(arr), d, False, None, 0, None)
        owned[name] = t
        g.state.append((name, v))
    for vid in ir["consts"]:
        v = value(vid, "consts")
        arr = arrays.get(f"const/{vid}")
        if arr is None:
            raise ValueError(f"{path}: constant %{vid} is missing")
        _check_array(arr, v, f"constant %{vid}", path)
        g.consts[vid] = canonical(g.devices[vid])._be.from_numpy(arr)
    for k, item in enumerate(ir["nodes"]):
        op, args, kwargs, outs, d, src, writes, results, wnew = item
        where = f"node {k}"
        if op not in _OPS:
            raise ValueError(f"{path}: {where} calls {op!r}, which is not a backend primitive")
        args = _dec(args, where)
        if op == "check" and (not args or args[0] not in _tracing.CHECKS):
            raise ValueError(f"{path}: {where} runs an unknown check {args[:1]!r}")
        _refs_exist(args, value, where)
        kwargs = {_str(kk, where): _dec(vv, where) for kk, vv in kwargs.items()}
        _refs_exist(tuple(kwargs.values()), value, where)
        g.nodes.append(Node(op, args, kwargs, [value(o, where).id for o in outs], dev(d),
                            _str(src, where), tuple(value(w, where).id for w in writes),
                            _dec(results, where), tuple(value(w, where).id for w in wnew)))
    g.output_spec = _spec_dec(ir["outputs"])
    _refs_exist(g.output_spec, value, "outputs")
    # state owned by the loaded graph: its tensors are read and written like live state
    g.state_tensors = owned
    g._slots = {}
    for name, t in owned.items():
        g._slots[name] = Slot(name, t, "data")
    for name, vid in ir["writebacks"]:
        v = None if vid is None else value(vid, "writebacks")
        if name not in g._slots:
            base = name[:-5] if name.endswith(".grad") else None
            if base is None or base not in owned:
                raise ValueError(f"{path}: write-back to unknown state {name!r}")
            g._slots[name] = Slot(name, owned[base], "grad")
        g.writebacks.append((name, v))
    g.counters = [str(c) for c in ir["counters"]]
    g._version_bumps = [(str(n), int(d)) for n, d in ir["version_bumps"] if n in owned]
    g.passes = [str(p) for p in ir["passes"]]
    return g


def _check_array(arr, v: Value, what: str, path) -> None:
    if str(arr.dtype) != v.dtype or tuple(arr.shape) != v.shape:
        raise ValueError(f"{path}: {what} is {arr.dtype}{list(arr.shape)} but the graph says "
                         f"{v.type}")


def _refs_exist(a, value, where) -> None:
    from .graph import _walk_refs
    _walk_refs(a, lambda r: value(r.v, where))
