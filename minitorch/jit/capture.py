"""One capture: find the function's state, run it under the tracer, and finish the graph
(outputs, write-backs, version bumps, the runtime slots that read and write the state).

State is found the way a reader of the function would find it: the function itself if it is
an ``nn.Module``, the object of a bound method, its arguments, its closure cells and the
globals its code names (and those of functions nested in it).  Modules give their parameters
and buffers, optimizers their parameters and per-parameter state, and each parameter its
``.grad``.  Each such tensor is a *slot* with a name (``model.fc1.weight``,
``model.fc1.weight.grad``, ``opt.state[model.fc1.weight].exp_avg``).
"""
from __future__ import annotations

import types
from typing import Any, Dict, List, Tuple

from ..tensor import Tensor, _make
from .graph import Graph, Ref
from .tracer import Tracer, _Installed, all_devices

__all__ = ["capture", "discover", "Slot", "flatten", "unflatten"]


# -- pytrees ----------------------------------------------------------------------------------
def flatten(obj) -> Tuple[list, Any]:
    """Leaves (Tensors) and a structure in which every non-tensor leaf is kept as a value."""
    leaves: list = []
    return leaves, _flat(obj, leaves)


# The recursive helpers below are module-level functions taking what they need as arguments,
# never closures that call themselves: a nested ``def rec`` referring to itself is a
# reference cycle (function -> cell -> function) that keeps everything it closes over (the
# call's environment, its input tensors) alive until the cyclic garbage collector runs --
# for a compiled graph, every intermediate and output array of the previous call, so each
# call got fresh memory (page faults) instead of the buffers the previous one just freed.
def _flat(o, leaves: list):
    if isinstance(o, Tensor):
        leaves.append(o)
        return ("T",)
    if isinstance(o, (list, tuple)):
        return (type(o).__name__, tuple(_flat(x, leaves) for x in o))
    if isinstance(o, dict):
        return ("dict", tuple((k, _flat(v, leaves)) for k, v in o.items()))
    return ("C", o)


def unflatten(spec, leaves: list):
    return _unflat(spec, iter(leaves))


def _unflat(s, it):
    kind = s[0]
    if kind == "T":
        return next(it)
    if kind == "C":
        return s[1]
    if kind == "dict":
        return {k: _unflat(v, it) for k, v in s[1]}
    vals = [_unflat(x, it) for x in s[1]]
    return tuple(vals) if kind == "tuple" else vals


# -- state ------------------------------------------------------------------------------------
class Slot:
    """Where a state tensor lives: ``kind`` "data" (the tensor's own array) or "grad" (the
    array of its ``.grad``)."""
    __slots__ = ("name", "tensor", "kind")

    def __init__(self, name: str, tensor: Tensor, kind: str):
        self.name, self.tensor, self.kind = name, tensor, kind

    def read(self):
        t = self.tensor
        if self.kind == "data":
            return t._data
        return None if t._grad is None else t._grad._data

    def write(self, arr) -> None:
        t = self.tensor
        if self.kind == "data":
            if t._data is not arr:
                t._data = arr
            return
        if arr is None:
            t._grad = None
        elif t._grad is None or t._grad._data is not arr:
            t._grad = _make(arr, t._device, False, None, 0, None)


def _code_names(code, out: set) -> None:
    out.update(code.co_names)
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            _code_names(c, out)


def discover(fn, args, kwargs) -> Dict[str, Any]:
    """``{name: object}`` of the Modules, Optimizers and Tensors the function can reach."""
    from ..nn.module import Module
    from ..optim.optimizer import Optimizer
    found: Dict[str, Any] = {}

    def take(name, obj):
        if isinstance(obj, (Module, Optimizer, Tensor)) and all(o is not obj
                                                                for o in found.values()):
            found[name] = obj

    if isinstance(fn, Module):
        take(type(fn).__name__.lower(), fn)
        fn = type(fn).forward.__get__(fn)
    target = getattr(fn, "__func__", fn)
    def take_attrs(name, obj):
        # a plain object (the ``self`` of a method, a config): its attributes, one level
        if isinstance(obj, (Module, Optimizer, Tensor)) or not hasattr(obj, "__dict__") \
                or isinstance(obj, type) or callable(obj):
            return
        for attr, v in sorted(vars(obj).items()):
            take(f"{name}.{attr}", v)

    owner = getattr(fn, "__self__", None)
    if owner is not None:
        take("self", owner)
        take_attrs("self", owner)
    objs = [(f"arg{i}", o) for i, o in enumerate(args)]
    for name, o in objs:
        if not isinstance(o, Tensor):
            take(name, o)
            take_attrs(name, o)
    code = getattr(target, "__code__", None)
    if code is not None:
        for cname, cell in zip(code.co_freevars, getattr(target, "__closure__", None) or ()):
            try:
                take(cname, cell.cell_contents)
            except ValueError:  # an empty cell
                pass
        names: set = set()
        _code_names(code, names)
        g = getattr(target, "__globals__", {})
        for n in sorted(names):
            if n in g:
                take(n, g[n])
    return found


def state_slots(found: Dict[str, Any]) -> Tuple[List[Slot], Dict[int, str]]:
    """The slots of every state tensor, and ``id(tensor) -> name`` of the named tensors."""
    from ..nn.module import Module
    from ..optim.optimizer import Optimizer
    slots: List[Slot] = []
    names: Dict[int, str] = {}

    def add(name, t):
        if id(t) in names:
            return
        names[id(t)] = name
        slots.append(Slot(name, t, "data"))
        slots.append(Slot(name + ".grad", t, "grad"))

    for oname, obj in found.items():
        if isinstance(obj, Module):
            for n, p in obj.named_parameters(prefix=oname):
                add(n, p)
            for n, b in obj.named_buffers(prefix=oname):
                add(n, b)
        elif isinstance(obj, Tensor):
            add(oname, obj)
    for oname, obj in found.items():
        if isinstance(obj, Optimizer):
            for gi, group in enumerate(obj.param_groups):
                for pi, p in enumerate(group["params"]):
                    add(f"{oname}.param_groups[{gi}].params[{pi}]", p)
            for p, st in obj.state.items():
                pname = names.get(id(p), "param")
                for k, v in st.items():
                    if isinstance(v, Tensor):
                        add(f"{oname}.state[{pname}].{k}", v)
    return slots, names


# -- the capture ------------------------------------------------------------------------------
def _fn_name(fn) -> str:
    return getattr(fn, "__name__", None) or type(fn).__name__


def _arg_names(fn, n: int) -> List[str]:
    import inspect
    try:
        params = list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        params = []
    return [params[i] if i < len(params) else f"arg{i}" for i in range(n)]


def capture(fn, args, kwargs, fullgraph: bool, found=None):
    """Trace one call.  Returns ``(graph, result, info)``: the graph (None after a graph
    break), the call's result (always the eager result), and what the guards need."""
    if found is None:
        found = discover(fn, args, kwargs)
    slots, _names = state_slots(found)
    g = Graph(_fn_name(fn))
    tr = Tracer(g, fullgraph)
    leaves, spec = flatten((tuple(args), dict(kwargs)))
    g.arg_spec = spec
    argnames = _arg_names(fn, len(args))
    # inputs first (an argument that is also state counts as the argument)
    for i, t in enumerate(leaves):
        tr.known[id(t._data)] = ("input", argnames[i] if i < len(argnames) else f"arg{i}",
                                 str(t._device))
    before = {}
    for s in slots:
        arr = s.read()
        before[s.name] = arr
        if arr is not None and id(arr) not in tr.known:
            dev = s.tensor._device if s.kind == "data" else s.tensor._grad._device
            tr.known[id(arr)] = ("state", s.name, str(dev))
    versions = {s.name: (s.tensor._vc[0] if s.tensor._vc else 0) for s in slots
                if s.kind == "data"}
    opt_keys = _optimizer_keys(found)
    # the input Values in argument order (they are created lazily on first use otherwise)
    for t in leaves:
        tr.value_of(t._data, str(t._device))
    input_order = list(g.inputs)
    with _Installed(tr, all_devices()):
        result = fn(*args, **kwargs)
        if isinstance(result, Tensor) or isinstance(result, (tuple, list, dict)):
            out_leaves, out_spec = flatten(result)
        else:
            out_leaves, out_spec = [], flatten(result)[1]
        out_refs = [Ref(tr.value_of(t._data, str(t._device))) for t in out_leaves]
    g.inputs = input_order
    # outputs that require grad: a training step (backward ran inside) returns them
    # detached; a forward-only graph cannot give them the autograd history they need
    info = {"breaks": list(tr.breaks), "found": found, "slots": slots,
            "out_requires_grad": (not tr.saw_backward
                                  and any(t._requires_grad for t in out_leaves))}
    if tr.breaks:
        return None, result, info
    g.output_spec = _spec_with_refs(out_spec, out_refs)
    # write-backs: each state slot whose array changed (rebound, or written in place)
    for s in slots:
        arr = s.read()
        old = before[s.name]
        if arr is None:
            if old is not None:
                g.writebacks.append((s.name, None))
            continue
        vid = tr.ids.get(id(arr))
        if vid is None:
            continue
        if arr is old and vid == _input_vid(g, s.name):
            continue  # untouched
        g.writebacks.append((s.name, g.values[vid]))
    g._slots = {s.name: s for s in slots}
    g._version_bumps = [(s.name, (s.tensor._vc[0] if s.tensor._vc else 0) - versions[s.name])
                        for s in slots if s.kind == "data"
                        and (s.tensor._vc[0] if s.tensor._vc else 0) != versions[s.name]]
    g._version_bumps = [(n, d) for n, d in g._version_bumps if d > 0]
    info["structural"] = _optimizer_keys(found) != opt_keys
    if info["structural"]:
        g.not_replayable = ("the traced call created optimizer state (its first step); run one "
                            "step eagerly before tracing")
    info["n_traced"] = len(g.nodes)
    return g, result, info


def _input_vid(g: Graph, name: str):
    for n, v in g.state:
        if n == name:
            return v.id
    return None


def _spec_with_refs(spec, refs: list):
    return _with_refs(spec, iter(refs))


def _with_refs(s, it):
    kind = s[0]
    if kind == "T":
        return next(it)
    if kind == "C":
        return ("C", s[1])
    if kind == "dict":
        return ("dict", tuple((k, _with_refs(v, it)) for k, v in s[1]))
    return (kind, tuple(_with_refs(x, it) for x in s[1]))


def build_output(spec, env: dict, devices: dict):
    """The call's result from an output spec (Refs resolved in ``env``; ``devices`` maps a
    value id to its canonical device)."""
    if type(spec) is Ref:
        return _make(env[spec.v], devices[spec.v], False, None, 0, None)
    return _build(spec, env, devices)


def _build(s, env: dict, devices: dict):
    if isinstance(s, Ref):
        return _make(env[s.v], devices[s.v], False, None, 0, None)
    kind = s[0]
    if kind == "C":
        return s[1]
    if kind == "dict":
        return {k: _build(v, env, devices) for k, v in s[1]}
    vals = [_build(x, env, devices) for x in s[1]]
    return tuple(vals) if kind == "tuple" else vals


def _optimizer_keys(found) -> tuple:
    from ..optim.optimizer import Optimizer
    out = []
    for name, obj in found.items():
        if isinstance(obj, Optimizer):
            out.append((name, tuple(sorted((id(p), tuple(sorted(st)))
                                           for p, st in obj.state.items()))))
    return tuple(out)

