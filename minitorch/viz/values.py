"""Graph source 2: the values view (``draw_values``), micrograd style.

Each tensor of a small computation is a record ``{ name | data ... | grad ... }`` and each
op a small ellipse between its inputs and its output, left to right -- the picture of
micrograd's ``draw_dot``, for checking a backward pass by hand.

An autograd graph keeps only what backward needs, so the data and gradient of an
intermediate tensor are usually gone.  Run the forward pass inside :func:`record_values`
to keep every op's inputs and outputs (and their gradients, via ``retain_grad``)::

    with minitorch.viz.record_values():
        e = a * b; d = e + c; L = d * f
    L.backward()
    minitorch.viz.draw_values(L)

Without it, intermediate values show what the graph still has (tensors saved for
backward) and ``?`` elsewhere.
"""
from __future__ import annotations

import contextlib
from typing import Dict, Optional, Tuple

import numpy as np

from ..autograd import function as F
from ..tensor import Tensor
from .autograd_graph import _as_outputs, _param_names, _tensor_meta, collect_nodes, fmt_shape
from .core import Graph

__all__ = ["draw_values", "values_graph", "record_values"]

WARN_VALUES = 150  # draw_values is for small graphs; make_dot scales further

_SYMBOL = {"Add": "+", "Sub": "-", "Mul": "*", "Div": "/", "Pow": "**", "MatMul": "@",
           "Neg": "neg"}
_HINT = "? = not kept by the graph: run the forward pass inside minitorch.viz.record_values()"


@contextlib.contextmanager
def record_values():
    """Keep every op's inputs and outputs on its graph node, and retain the gradients of
    the outputs, so that :func:`draw_values` can show all data and grads.  Meant for small
    graphs: it keeps every intermediate tensor alive as long as the graph lives."""
    def hook(ctx, cls, args, kwargs, outs):
        if ctx is None:
            return
        seq = outs if type(outs) is tuple else (outs,)
        ctx._viz_outs = seq
        ctx._viz_args = args
        ctx._viz_meta = tuple(_tensor_meta(o) if isinstance(o, Tensor) else None for o in seq)
        for o in seq:
            if isinstance(o, Tensor) and o.grad_fn is ctx:
                o.retain_grad()

    F._hooks.append(hook)
    try:
        yield
    finally:
        F._hooks.remove(hook)


# ------------------------------------------------------------------------------------------
# formatting

def _rec(text: str) -> str:
    """Escape text for one field of a Graphviz record label."""
    out = str(text).replace("\\", "\\\\")
    for ch in '{}|<>"':
        out = out.replace(ch, "\\" + ch)
    return out


def _fmt_array(arr, precision: int, max_elements: int) -> str:
    a = np.asarray(arr)
    if a.dtype.kind in "fV":
        fmt = lambda v: f"{v:.{precision}f}"  # noqa: E731
    else:
        fmt = str
    if a.size == 1:
        return fmt(a.reshape(()).item())
    if a.size <= max_elements:
        body = "[" + ", ".join(fmt(v) for v in a.reshape(-1).tolist()) + "]"
        return body if a.ndim == 1 else f"{fmt_shape(a.shape)} {body}"
    if a.size == 0:
        return f"{fmt_shape(a.shape)} empty"
    if a.dtype.kind in "fiu":
        return f"{fmt_shape(a.shape)} mean {a.mean():.3g} std {a.std():.3g}"
    return fmt_shape(a.shape)


def _op_label(node) -> str:
    fcls = node._forward_cls
    if fcls is None:
        return node.name()
    if not fcls.__module__.startswith("minitorch."):
        return fcls.__name__
    return _SYMBOL.get(fcls.__name__, fcls.__name__.lower())


# ------------------------------------------------------------------------------------------
# the graph

def values_graph(outputs, params=None, precision: int = 4, max_elements: int = 6) -> Graph:
    """The values view of the graph behind ``outputs`` as a core :class:`Graph`."""
    outs = _as_outputs(outputs)
    names = _param_names(params)
    roots = [t.grad_fn if t.grad_fn is not None else
             (F._accumulate_node(t) if t._requires_grad else None) for _, t in outs]
    nodes = collect_nodes(roots)
    g = Graph("values", rankdir="LR")

    def key_of_edge(fn, nr):
        if isinstance(fn, F.AccumulateGrad):
            return ("t", id(fn.variable))
        return ("n", id(fn), nr)

    def key_of_tensor(t: Tensor):
        if t.grad_fn is not None:
            return ("n", id(t.grad_fn), t._output_nr)
        return ("t", id(t))

    # every tensor the graph still knows, by value key
    known: Dict[Tuple, Tensor] = {}
    for n in nodes:
        if isinstance(n, F.AccumulateGrad):
            known[("t", id(n.variable))] = n.variable
            continue
        for k, o in enumerate(n.__dict__.get("_viz_outs") or ()):
            if isinstance(o, Tensor):
                known.setdefault(("n", id(n), k), o)
    for _, t in outs:
        known[key_of_tensor(t)] = t
    for n in nodes:  # saved tensors: data of values not recorded (their grads are not kept)
        for t, _, out_nr in (n._saved or ()):
            if t is not None:
                known.setdefault(("n", id(n), out_nr) if out_nr >= 0 else key_of_tensor(t), t)

    # which outputs of each node are used (by a consumer or as a drawn output)
    used: Dict[int, set] = {}
    for n in nodes:
        for fn, nr in n.next_functions:
            if fn is not None:
                used.setdefault(id(fn), set()).add(nr)
    for _, t in outs:
        if t.grad_fn is not None:
            used.setdefault(id(t.grad_fn), set()).add(t._output_nr)

    out_keys = {key_of_tensor(t): (k, key) for k, (key, t) in enumerate(outs)}
    vids: Dict[Tuple, str] = {}
    missing = [False]

    def value(key, tensor: Optional[Tensor], kind: str) -> str:
        vid = vids.get(key)
        if vid is not None:
            return vid
        vid = vids[key] = f"v{len(vids)}"
        t = tensor if tensor is not None else known.get(key)
        fields = []
        title = None
        if key in out_keys:
            k, okey = out_keys[key]
            kind = "output"
            title = okey
        if t is not None:
            title = title or names.get(id(t)) or t.name
        if title:
            fields.append(_rec(title))
        if t is None:
            missing[0] = True
            fields += ["data ?", "grad ?"]
        else:
            fields.append("data " + _rec(_fmt_array(t._data, precision, max_elements)))
            if t.grad_fn is None and not t._requires_grad:
                pass  # a constant: no grad
            elif t.grad_fn is None or t.retains_grad:
                grad = t.grad
                fields.append("grad " + ("None" if grad is None else
                                         _rec(_fmt_array(grad._data, precision, max_elements))))
            else:
                missing[0] = True
                fields.append("grad ?")
        g.add_node(vid, "{ " + " | ".join(fields) + " }", kind, attrs={"shape": "record"},
                   tooltip=fmt_shape(t.shape) + " " + t.dtype.name if t is not None else None)
        return vid

    n_const = 0
    for i, n in enumerate(nodes):
        if isinstance(n, F.AccumulateGrad):
            value(("t", id(n.variable)), n.variable, "leaf")
            continue
        fcls = n._forward_cls
        custom = fcls is not None and not fcls.__module__.startswith("minitorch.")
        oid = f"op{i}"
        g.add_node(oid, _op_label(n), "custom" if custom else "op", tooltip=n.name(),
                   attrs={"shape": "ellipse", "height": "0.3"})
        args = n.__dict__.get("_viz_args")
        if args is not None:
            for a in args:
                if isinstance(a, Tensor):
                    k = key_of_tensor(a)
                    kind = "leaf" if a._requires_grad and a.grad_fn is None else (
                        "value" if a._requires_grad else "const")
                    g.add_edge(value(k, a, kind), oid)
                elif isinstance(a, (int, float, np.number)) and not isinstance(a, bool):
                    cid = f"c{n_const}"
                    n_const += 1
                    g.add_node(cid, "{ " + _rec(_fmt_array(a, precision, 1)) + " }", "const")
                    g.add_edge(cid, oid)
        else:
            for fn, nr in n.next_functions:
                if fn is not None:
                    k = key_of_edge(fn, nr)
                    g.add_edge(value(k, None, "leaf" if k[0] == "t" else "value"), oid)
        for nr in sorted(used.get(id(n), ())):
            g.add_edge(oid, value(("n", id(n), nr), None, "value"))

    for _, t in outs:  # outputs that are not made by an op
        if t.grad_fn is None:
            value(key_of_tensor(t), t, "output")
    if missing[0]:
        g.caption = _HINT
    return g


def draw_values(outputs, params=None, *, precision: int = 4, max_elements: int = 6,
                rankdir: str = "LR", warn_nodes: Optional[int] = WARN_VALUES):
    """Draw each tensor's data and grad in the graph behind ``outputs`` (micrograd style);
    returns a ``graphviz.Digraph``.  For small graphs: tensors with more than
    ``max_elements`` elements are summarised (shape, mean, std).  Run the forward pass
    inside :func:`record_values` to see intermediate values and their gradients."""
    g = values_graph(outputs, params, precision, max_elements)
    g.rankdir = rankdir
    return g.to_dot(warn_nodes=warn_nodes,
                    hint="draw_values is meant for small graphs: use make_dot for this one.")
