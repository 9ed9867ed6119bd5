"""Graph source 3: the static graph of the tracer (``make_dot(jit.trace(fn, *args))``).

A traced ``minitorch.jit.Graph`` is a flat list of backend primitives; this file draws it
through the same core as the autograd graph:

* one grey box per IR node, labelled with the primitive (``matmul``, ``binary add``,
  ``sgd_update_``) and the type of what it defines (``f32[64,100]``);
* the values the graph reads, each drawn once and named: the traced function's tensor
  arguments (yellow), its state -- parameters and buffers (blue, like the leaves of the
  autograd picture), ``.grad`` tensors (cyan), optimizer state and step counters (purple)
  -- and constants (dashed);
* edges along values, from the node (or input) that defines a value to each node that reads
  it; ``[k]`` names which output of a multi-output node flows; a dotted edge runs from an
  optimizer's step ``counter`` to the nodes that read its count (``$step0``);
* the returned values in green (``output``, ``output[1]``, ``output['loss']``);
* the nodes whose result is written back into the function's state after each call in
  salmon with a thick border, one line per state tensor: ``-> model.0.weight``;
* ``check`` and ``counter`` nodes (re-run validations, step counts) dashed.

Nodes are grouped in one cluster per user source line (``train.py:14 step``) when there is
more than one line, so a training step reads as forward / ``loss.backward()`` /
``opt.step()``; ``max_depth=1`` draws each source line as one box.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

from .core import WARN_NODES, Graph

__all__ = ["traced_graph", "make_dot", "is_static", "as_static"]

_SIZE_HINT = ("Draw each source line as one box (make_dot(graph, max_depth=1)) or trace a "
              "smaller function.")
_SUBOP = ("binary", "unary", "reduce")  # primitives whose first argument names the operation


def _compiled_of(obj):
    """The ``CompiledFunction`` behind ``obj`` (a compiled function or compiled module)."""
    from ..jit import CompiledFunction
    if isinstance(obj, CompiledFunction):
        return obj
    inner = vars(obj).get("_compiled") if hasattr(obj, "__dict__") else None  # a module
    return inner if isinstance(inner, CompiledFunction) else None


def is_static(obj) -> bool:
    """Whether ``obj`` is a traced graph, or a compiled function / module (drawn as its
    latest graph)."""
    if not (type(obj).__module__ or "").startswith("minitorch.jit"):
        return False
    from ..jit import Graph as JitGraph
    return isinstance(obj, JitGraph) or _compiled_of(obj) is not None


def as_static(obj):
    """The ``jit.Graph`` to draw for ``obj``: the graph itself, or the latest graph of a
    compiled function (a clear error when it has none yet)."""
    from ..jit import Graph as JitGraph
    if isinstance(obj, JitGraph):
        return obj
    cf = _compiled_of(obj)
    if cf is None:
        raise TypeError(f"expected a minitorch.jit.Graph or a compiled function, got "
                        f"{type(obj).__name__}")
    if not cf.graphs:
        name = getattr(cf.fn, "__name__", "fn")
        why = cf.explain(verbose=False).eager_reason
        raise ValueError(f"make_dot: minitorch.compile({name}) has no graph to draw: "
                         + (f"it runs eagerly ({why})" if why else
                            "call it once first (the first call traces)"))
    return cf.graphs[-1]


# ------------------------------------------------------------------------------------------
# formatting

def _short_check(name: str) -> str:
    return name.rsplit(".", 1)[-1]


def _op_label(n) -> Tuple[str, int]:
    """The node's title and how many leading arguments it used up."""
    if n.op in _SUBOP and n.args and isinstance(n.args[0], str):
        return f"{n.op} {n.args[0]}", 1
    if n.op == "check" and n.args and isinstance(n.args[0], str):
        return f"check {_short_check(n.args[0])}", 1
    if n.op == "counter" and len(n.args) > 1:
        return f"counter $step{n.args[1]}", 2
    if n.op == "fused" and n.args and isinstance(getattr(n.args[0], "name", None), str):
        name = n.args[0].name  # a generated kernel (minitorch.compiler): its name says it all
        return (name if name.startswith("fused") else f"fused {name}"), 1
    return n.op, 0


def _fmt_args(n, skip: int, limit: int) -> str:
    """The arguments that are not values (those are the node's edges)."""
    from ..jit.graph import Ref, _fmt
    parts = [_fmt(a) for a in n.args[skip:] if not isinstance(a, Ref)]
    parts += [f"{k}={_fmt(v)}" for k, v in n.kwargs.items() if not isinstance(v, Ref)]
    s = " ".join(parts)
    return s if len(s) <= limit else s[:max(limit - 3, 1)] + "..."


def _source_text(src: str, limit: int = 60) -> str:
    """The text of the user's line ``file.py:31 fn`` when exactly one loaded file has that
    name (``Node.src`` keeps the file's base name only), else ''."""
    import linecache
    import os
    import sys
    where, _, _fn = src.partition(" ")
    base, _, lineno = where.rpartition(":")
    if not base or not lineno.isdigit():
        return ""
    paths = {os.path.abspath(f) for f in
             [getattr(m, "__file__", None) for m in list(sys.modules.values())] +
             [k for k in list(linecache.cache) if not k.startswith("<")]
             if isinstance(f, str) and os.path.basename(f) == base}
    if len(paths) != 1:
        return ""
    text = linecache.getline(paths.pop(), int(lineno)).strip()
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _state_kind(name: str, counters) -> str:
    if name in counters or ".state[" in name or name.startswith("opt"):
        return "opt_state"
    if name.endswith(".grad"):
        return "grad"
    return "state"


def _walk_outputs(spec, path: str, out: List[Tuple[str, int]]) -> None:
    from ..jit.graph import Ref
    if isinstance(spec, Ref):
        out.append((path, spec.v))
        return
    if not isinstance(spec, tuple) or not spec or spec[0] == "C":
        return
    if spec[0] == "dict":
        for k, v in spec[1]:
            _walk_outputs(v, f"{path}[{k!r}]", out)
        return
    for i, v in enumerate(spec[1]):
        _walk_outputs(v, f"{path}[{i}]", out)


def _refs(obj, out: List[int]) -> None:
    from ..jit.graph import Ref
    if isinstance(obj, Ref):
        out.append(obj.v)
    elif isinstance(obj, (tuple, list)):
        for x in obj:
            _refs(x, out)
    elif isinstance(obj, dict):
        for x in obj.values():
            _refs(x, out)


def _syms(obj, out: List[int]) -> None:
    from ..jit.graph import Sym
    if isinstance(obj, Sym):
        out.append(obj.i)
    elif isinstance(obj, (tuple, list)):
        for x in obj:
            _syms(x, out)
    elif isinstance(obj, dict):
        for x in obj.values():
            _syms(x, out)


def _const_details(arr) -> List[str]:
    import numpy as np
    a = np.asarray(arr)
    if a.size <= 4:
        vals = ", ".join(f"{v:g}" if a.dtype.kind in "fV" else str(v) for v in a.ravel())
        return [vals if a.ndim == 0 else f"[{vals}]"]
    return []


# ------------------------------------------------------------------------------------------
# the graph

def traced_graph(graph, *, group_by_line: bool = True, max_depth: Optional[int] = None,
                 show_attrs: bool = False, show_ids: bool = False, show_source: bool = True,
                 max_attr_chars: int = 50) -> Graph:
    """The traced graph ``graph`` (a ``minitorch.jit.Graph``, or a compiled function: its
    latest graph) as a :class:`~minitorch.viz.core.Graph`; see :func:`make_dot`."""
    g_ir = as_static(graph)
    # a fused graph (minitorch.compiler) is drawn as the graph it was fused from, with each
    # generated kernel's nodes in one cluster named like the kernel
    kern_of: Dict[int, Tuple[str, str, Any]] = {}
    n_kernels = 0
    if getattr(g_ir, "unfused", None) is not None and getattr(g_ir, "kernels", None):
        n_kernels = len(g_ir.kernels)
        for i, k in enumerate(g_ir.kernels):
            members = list(getattr(getattr(k, "_group", None), "nodes", ()))
            srcs = {m.src for m in members}
            for m in members:
                kern_of[id(m)] = (f"kernel{i}", f"{k.name} ({getattr(k, 'kind', 'fused')}"
                                                f", {len(members)} ops)",
                                  next(iter(srcs)) if len(srcs) == 1 else None)
        g_ir = g_ir.unfused
    vals = g_ir.values
    out = Graph("static")

    def vtype(vid: int) -> str:
        v = vals[vid]
        return f"%{vid}: {v.type}" if show_ids else v.type

    # who defines each value: value id -> (drawn node id, output index, outputs of it)
    producer: Dict[int, Tuple[str, int, int]] = {}
    wb: Dict[int, List[str]] = {}
    for name, v in g_ir.writebacks:
        wb.setdefault(v.id, []).append(name)

    def wb_lines(vid: int) -> List[str]:
        return [f"-> {name}" for name in wb.get(vid, ())]

    for k, v in enumerate(g_ir.inputs):
        nid = f"in{v.id}"
        out.add_node(nid, v.name or f"input {k}", "input", [vtype(v.id), *wb_lines(v.id)],
                     tooltip=f"argument {v.name or k}: {v.type}")
        producer[v.id] = (nid, 0, 1)
    counters = set(g_ir.counters)
    for name, v in g_ir.state:
        nid = f"st{v.id}"
        out.add_node(nid, name, _state_kind(name, counters), [vtype(v.id), *wb_lines(v.id)],
                     tooltip=f"state {name}: {v.type}")
        producer[v.id] = (nid, 0, 1)
    for vid, arr in g_ir.consts.items():
        nid = f"c{vid}"
        out.add_node(nid, "const", "constant", [vtype(vid), *_const_details(arr)],
                     tooltip=f"constant %{vid}: {vals[vid].type}")
        producer[vid] = (nid, 0, 1)

    lines = [n.src for n in g_ir.nodes if n.src]
    distinct = list(dict.fromkeys(lines))
    clusters: Dict[str, str] = {}
    if group_by_line and len(distinct) > 1:
        for k, src in enumerate(distinct):
            clusters[src] = f"line{k}"
            text = _source_text(src) if show_source else ""
            out.add_cluster(f"line{k}", f"{src}: {text}" if text else src)

    counter_node: Dict[int, str] = {}
    for k, n in enumerate(g_ir.nodes):
        nid = f"n{k}"
        title, used = _op_label(n)
        details: List[str] = []
        if n.outs:
            details.append(", ".join(vtype(o) for o in n.outs))
        if show_attrs:
            a = _fmt_args(n, used, max_attr_chars)
            if a:
                details.append(a)
        written = [line for o in n.outs for line in wb_lines(o)]
        details += written
        if n.op in ("check", "counter"):
            kind = "effect"
        elif written:
            kind = "write"
        else:
            kind = "op"
        grp = (clusters[n.src],) if n.src in clusters else ()
        if id(n) in kern_of:   # inside its kernel's cluster (itself inside the line's)
            cid, clabel, ksrc = kern_of[id(n)]
            out.add_cluster(cid, clabel)
            grp = ((clusters[ksrc],) if ksrc in clusters else ()) + (cid,)
        out.add_node(nid, title, kind, details, group=grp, tooltip=g_ir.format_node(n))
        # edges along the values it reads
        reads: List[int] = []
        _refs(n.args, reads)
        _refs(n.kwargs, reads)
        for vid in reads:
            src = producer.get(vid)
            if src is None:  # a value defined nowhere: draw it where it is read
                src = producer[vid] = (f"v{vid}", 0, 1)
                out.add_node(f"v{vid}", f"%{vid}", "constant", [vals[vid].type])
            pid, idx, nouts = src
            label = f"%{vid}" if show_ids else (f"[{idx}]" if nouts > 1 else "")
            out.add_edge(pid, nid, label)
        syms: List[int] = []
        _syms(n.args, syms)
        _syms(n.kwargs, syms)
        for i in dict.fromkeys(syms):
            if i in counter_node:
                out.add_edge(counter_node[i], nid, f"$step{i}", kind="control")
        if n.op == "counter" and len(n.args) > 1:
            counter_node[n.args[1]] = nid
        for idx, o in enumerate(n.outs):
            producer[o] = (nid, idx, len(n.outs))

    # the returned values
    outs: List[Tuple[str, int]] = []
    _walk_outputs(g_ir.output_spec, "output", outs)
    for k, (label, vid) in enumerate(outs):
        oid = f"out{k}"
        out.add_node(oid, label, "output", [vals[vid].type], tooltip=f"returned %{vid}")
        pid, idx, nouts = producer.get(vid, (None, 0, 1))
        if pid is not None:
            out.add_edge(pid, oid, f"%{vid}" if show_ids else (f"[{idx}]" if nouts > 1 else ""))

    n_state = len(g_ir.state)
    out.caption = (f"traced graph {g_ir.name}: {len(g_ir.nodes)} nodes, {len(g_ir.inputs)} "
                   f"input(s), {n_state} state tensor(s), {len(g_ir.writebacks)} write-back(s)")
    if len(distinct) == 1 and not clusters:
        out.caption += f"; all from {distinct[0]}"
    if n_kernels:
        out.caption += f"; {n_kernels} fused kernel(s), each drawn as a cluster"
    if max_depth is not None:
        out = out.collapse(max_depth)
    return out


def make_dot(graph, *, group_by_line: bool = True, max_depth: Optional[int] = None,
             show_attrs: bool = False, show_ids: bool = False, show_source: bool = True,
             max_attr_chars: int = 50, rankdir: str = "TB",
             warn_nodes: Optional[int] = WARN_NODES):
    """Draw a traced graph (``minitorch.jit.trace(fn, *args)``, or a compiled function:
    its latest graph); returns a ``graphviz.Digraph``.  ``minitorch.viz.make_dot`` calls
    this when given such a graph.

    group_by_line: one cluster per user source line (when there is more than one), labelled
        with the line's text when ``show_source`` and the file can be found.
    max_depth: 1 draws each source line as one box (implies ``group_by_line``).
    show_attrs: a line with each node's non-tensor arguments (``(1, 0)``, ``lr=...``), cut
        at ``max_attr_chars``.
    show_ids: the value ids of ``print(graph)`` (``%4: f32[5,8]``) on nodes and edges.
    warn_nodes: warn past this many nodes (None: never).
    """
    if max_depth is not None:
        group_by_line = True
    g = traced_graph(graph, group_by_line=group_by_line, max_depth=max_depth,
                     show_attrs=show_attrs, show_ids=show_ids, show_source=show_source,
                     max_attr_chars=max_attr_chars)
    g.rankdir = rankdir
    return g.to_dot(warn_nodes=warn_nodes, hint=_SIZE_HINT)
