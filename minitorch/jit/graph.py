"""The graph IR: a flat list of nodes in execution order, each one backend primitive.

A *value* is an integer id (printed ``%3``) with a dtype and a shape; it is a graph input
(the traced function's tensor arguments, in pytree order), a *state* input (a tensor the
function reads from its closure: parameters, buffers, ``.grad``, optimizer state), a constant,
or the result of a node.  A node is one call of the backend contract (``backends/base.py``):
``op`` is the primitive's name, ``args`` its arguments with ``Ref(v)`` where a value goes, and
``outs`` the values it defines.  That is the whole vocabulary, so the interpreter below calls
exactly what the eager run called, and traced equals eager by construction.

Mutation is functional in the IR: a primitive that writes into an array (``copy_``,
``binary(out=)``, ``index_put_``, ``scatter_add_``, ``sgd_update_``, ``adam_update_``) defines a
new version of each array it writes (listed in ``node.writes`` and in ``outs``), later nodes
read the new version, and the graph's ``writebacks`` say which state tensor each final version
belongs to.  The interpreter is free to execute such a node in place, since no node reads a
version after a newer one is defined.

Three node kinds are not backend calls: ``check`` (a validation of ``_tracing.host_check``
run again on each call), ``counter`` (an optimizer's step counter incremented on each call;
the count is the symbolic scalar ``Sym(i)``) and ``graph`` calls are inlined when traced.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from .. import _tracing

__all__ = ["Graph", "Node", "Value", "Ref", "Sym", "Gen", "BackendRef", "MUTATES", "RANDOM", "VIEWS"]

# primitive -> positions of the arguments it writes (binary writes its ``out`` keyword)
MUTATES = {"copy_": (0,), "index_put_": (0,), "scatter_add_": (0,), "sgd_update_": (0, 2),
           "adam_update_": (0, 2, 3, 4)}
# primitives that draw from a generator: never removed, merged or reordered
RANDOM = {"uniform", "normal", "randint", "randperm", "bernoulli"}
# primitives whose result may share memory with an argument
VIEWS = {"reshape", "permute", "expand", "slice", "flip", "contiguous", "astype", "asarray"}

_DT = {"float32": "f32", "float64": "f64", "int32": "i32", "int64": "i64", "bool": "b8",
       "float16": "f16", "uint8": "u8", "int8": "i8", "int16": "i16"}


class Ref:
    """An argument that is a value of the graph."""
    __slots__ = ("v",)

    def __init__(self, v: int):
        self.v = v

    def __repr__(self) -> str:
        return f"%{self.v}"

    def __eq__(self, other):
        return isinstance(other, Ref) and other.v == self.v

    def __hash__(self):
        return hash(("ref", self.v))


class Sym:
    """A symbolic Python scalar: the current count of counter ``i`` (an optimizer step)."""
    __slots__ = ("i",)

    def __init__(self, i: int):
        self.i = i

    def __repr__(self) -> str:
        return f"$step{self.i}"


class Gen:
    """A random generator argument: read live on every call (``device`` names the default
    generator of that device when the graph is loaded from a file)."""
    __slots__ = ("gen", "device")

    def __init__(self, gen, device: str):
        self.gen, self.device = gen, device

    def __repr__(self) -> str:
        return f"<generator {self.device}>"


class BackendRef:
    """A backend handed to a check (``be`` of ``host_check`` functions): the device's backend
    at the time the graph runs."""
    __slots__ = ("device",)

    def __init__(self, device: str):
        self.device = device

    def __repr__(self) -> str:
        return f"<backend {self.device}>"


class Value:
    __slots__ = ("id", "dtype", "shape", "kind", "name")

    def __init__(self, vid: int, dtype: str, shape: tuple, kind: str, name: str = ""):
        self.id, self.dtype, self.shape, self.kind, self.name = vid, dtype, shape, kind, name

    @property
    def type(self) -> str:
        return f"{_DT.get(self.dtype, self.dtype)}[{','.join(str(s) for s in self.shape)}]"

    def __repr__(self) -> str:
        return f"%{self.id}:{self.type}" + (f" {self.name}" if self.name else "")


class Node:
    """One primitive call.  ``device``: the device string whose backend runs it; ``src``: the
    user's source line that produced it (``file.py:31 forward``); ``writes``: the argument
    values it writes in place, ``wnew`` the new version of each (also in ``outs``)."""
    __slots__ = ("op", "args", "kwargs", "outs", "device", "src", "writes", "wnew", "results")

    def __init__(self, op: str, args: tuple, kwargs: dict, outs: list, device: str, src: str,
                 writes: tuple = (), results: Any = None, wnew: tuple = ()):
        self.op, self.args, self.kwargs, self.outs = op, args, kwargs, outs
        self.device, self.src, self.writes = device, src, writes
        self.wnew = wnew  # the new version (a value in outs) of each written value
        # how the primitive's return value maps to values: None (returns nothing), an int
        # (one array), or a tuple of ints / None (a tuple of arrays)
        self.results = results

    @property
    def effectful(self) -> bool:
        """Must run even if nothing uses its outputs (writes, draws, checks, counts)."""
        return bool(self.writes) or self.op in RANDOM or self.op in ("check", "counter")

    def __repr__(self) -> str:
        return f"<Node {self.op} -> {self.outs}>"


def _fmt(a) -> str:
    if isinstance(a, (Ref, Sym, Gen, BackendRef)):
        return repr(a)
    if isinstance(a, tuple):
        return "(" + ", ".join(_fmt(x) for x in a) + ("," if len(a) == 1 else "") + ")"
    if isinstance(a, list):
        return "[" + ", ".join(_fmt(x) for x in a) + "]"
    if isinstance(a, np.ndarray):
        return f"<array {a.dtype}{list(a.shape)}>"
    if isinstance(a, np.dtype):
        return str(a)
    if isinstance(a, slice):
        return f"{'' if a.start is None else a.start}:{'' if a.stop is None else a.stop}" + (
            f":{a.step}" if a.step not in (None, 1) else "")
    if isinstance(a, float):
        return repr(a)
    return str(a)


def _fmt_spec(s) -> str:
    """An output pytree, printed with its values (``%9``, ``(%9, %12)``, ``{'loss': %9}``)."""
    if isinstance(s, Ref):
        return repr(s)
    if not isinstance(s, tuple) or not s:
        return _fmt(s)
    kind = s[0]
    if kind == "C":
        return repr(s[1])
    if kind == "dict":
        return "{" + ", ".join(f"{k!r}: {_fmt_spec(v)}" for k, v in s[1]) + "}"
    inner = ", ".join(_fmt_spec(x) for x in s[1])
    return f"[{inner}]" if kind == "list" else f"({inner}{',' if len(s[1]) == 1 else ''})"


class Graph:
    """A captured static graph: ``print(graph)`` shows it, ``graph(*args)`` runs it.

    Public fields: ``nodes`` (list of Node), ``inputs`` (the Values of the tensor arguments,
    in pytree order), ``state`` (``[(name, Value)]``: tensors the function reads from its
    closure), ``outputs`` (the returned Values), ``writebacks`` (``[(state name, Value)]``:
    the final version of each state tensor the function changed), ``passes`` (what each IR
    pass did).
    """

    def __init__(self, name: str = "graph"):
        self.name = name
        self.nodes: List[Node] = []
        self.values: Dict[int, Value] = {}
        self.devices: Dict[int, str] = {}  # value id -> device string
        self.inputs: List[Value] = []
        self.state: List[Tuple[str, Value]] = []
        self.consts: Dict[int, Any] = {}
        self.output_spec: Any = None      # pytree of Ref / Python constants
        self.writebacks: List[Tuple[str, Value]] = []
        self.counters: List[str] = []     # state names of the step counters (Sym(i))
        self.passes: List[str] = []
        self.arg_spec: Any = None         # pytree structure of the arguments
        # runtime binding (not serialized): how to read / write each state tensor
        self._slots: Dict[str, Any] = {}
        self._version_bumps: List[Tuple[str, int]] = []
        self.not_replayable: Optional[str] = None  # why running this graph would be wrong
        self.kernels: list = []   # generated kernels (a graph fused by minitorch.compiler)
        self.fusion: list = []    # what fused, and why each group ended
        self.unfused: Optional["Graph"] = None

    # -- building ------------------------------------------------------------------------
    def new_value(self, dtype, shape, kind: str, name: str = "", device: str = "cpu") -> Value:
        v = Value(len(self.values), str(np.dtype(dtype)) if dtype is not None else "?",
                  tuple(int(s) for s in shape), kind, name)
        self.values[v.id] = v
        self.devices[v.id] = device
        return v

    @property
    def outputs(self) -> List[Value]:
        out = []
        _walk_refs(self.output_spec, lambda r: out.append(self.values[r.v]))
        return out

    # -- reading -------------------------------------------------------------------------
    def __str__(self) -> str:
        lines = []
        ins = ", ".join(repr(v) for v in self.inputs)
        lines.append(f"graph {self.name}({ins}) {{")
        for name, v in self.state:
            lines.append(f"  state   %{v.id}:{v.type} {name}")
        for vid, c in self.consts.items():
            lines.append(f"  const   %{vid}:{self.values[vid].type}")
        for n in self.nodes:
            lines.append("  " + self.format_node(n))
        lines.append(f"  return {_fmt_spec(self.output_spec)}")
        if self.writebacks:
            lines.append("  write-back " + ", ".join(f"{name} <- %{v.id}"
                                                    for name, v in self.writebacks))
        lines.append("}")
        return "\n".join(lines)

    __repr__ = __str__

    def format_node(self, n: Node) -> str:
        outs = ", ".join(f"%{o}:{self.values[o].type}" for o in n.outs)
        args = " ".join(_fmt(a) for a in n.args)
        if n.kwargs:
            args += " " + " ".join(f"{k}={_fmt(v)}" for k, v in n.kwargs.items())
        left = f"{outs} = " if outs else ""
        w = f"  (writes {', '.join(f'%{x}' for x in n.writes)})" if n.writes else ""
        text = f"{left}{n.op} {args}{w}"
        return f"{text:<60}  # {n.src}" if n.src else text

    def op_counts(self) -> Dict[str, int]:
        c: Dict[str, int] = {}
        for n in self.nodes:
            c[n.op] = c.get(n.op, 0) + 1
        return c

    # -- running -------------------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        if self.not_replayable:
            raise RuntimeError(f"graph {self.name} cannot be run: {self.not_replayable}")
        from .interpreter import run
        return run(self, args, kwargs)

    # -- files ---------------------------------------------------------------------------
    def save(self, path) -> None:
        """The IR as JSON and its constants and state as safetensors, in one file."""
        from .serialize import save
        save(self, path)


def _walk_refs(spec, fn) -> None:
    if isinstance(spec, Ref):
        fn(spec)
    elif isinstance(spec, (tuple, list)):
        for s in spec:
            _walk_refs(s, fn)
    elif isinstance(spec, dict):
        for s in spec.values():
            _walk_refs(s, fn)


def node_refs(n: Node) -> List[int]:
    """The value ids a node reads, in order."""
    out: List[int] = []
    _walk_refs(n.args, lambda r: out.append(r.v))
    _walk_refs(tuple(n.kwargs.values()), lambda r: out.append(r.v))
    return out


def check_fn(name: str):
    fn = _tracing.CHECKS.get(name)
    if fn is None:
        raise RuntimeError(f"graph check {name!r} is not a registered minitorch check")
    return fn

