"""Graph source 1: the autograd graph behind one or more tensors (``make_dot``).

Walks ``grad_fn.next_functions`` from the outputs with an explicit stack (no recursion, so a
100,000-op chain is fine) and builds a :class:`~minitorch.viz.core.Graph`:

* one node per backward node, named like PyTorch's (``MatMulBackward0``); a user
  ``autograd.Function`` is one node named after it (``StableSigmoidBackward``, drawn gold):
  its forward runs without recording, so the ops inside it never appear separately;
* leaf tensors that require grad (the ``AccumulateGrad`` sinks) in blue, named from
  ``params`` or ``tensor.name``, with shape and dtype; the outputs in green;
* edges in the direction data flows (input -> op), labelled with the shape of the tensor
  on them where it is known: always for leaves, outputs, saved tensors and the operands of
  binary ops and custom Functions; for every edge when the forward ran inside
  :func:`record_shapes`;
* optionally the saved tensors (orange, dashed edge), the ctx attributes of each op, and
  clusters per ``nn.Module`` (from ``node._module``, set by ``Module.__call__``).
"""
from __future__ import annotations

import contextlib
from typing import Dict, Iterable, List, Optional, Tuple

import numpy as np

from .. import _dtype as D
from ..autograd import function as F
from ..tensor import Tensor
from .core import WARN_NODES, Graph

__all__ = ["make_dot", "make_graph", "record_shapes", "fmt_shape", "fmt_meta"]

# ctx attributes that are graph machinery, not op arguments (show_attrs leaves them out)
_INTERNAL_ATTRS = {"next_functions", "needs_input_grad", "variable", "materialize_grads",
                   "replay", "metadata"}


# ------------------------------------------------------------------------------------------
# formatting

def fmt_shape(shape) -> str:
    return "(" + ", ".join(str(int(s)) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def _dtype_name(dt) -> str:
    if isinstance(dt, D.dtype):
        return dt.name
    try:
        return D._BY_NP[np.dtype(dt)].name
    except (KeyError, TypeError):
        return str(dt)


def fmt_meta(shape, dtype, always_dtype: bool = True) -> str:
    """``(4, 3) float32``; with always_dtype=False the dtype only when it is not the default."""
    s = fmt_shape(shape)
    name = _dtype_name(dtype)
    if always_dtype or name != D.get_default_dtype().name:
        s += " " + name
    return s


def _tensor_meta(t: Tensor) -> Tuple[tuple, str]:
    return tuple(t._data.shape), _dtype_name(t._data.dtype)


def _fmt_attr(value, limit: int) -> str:
    if isinstance(value, Tensor):
        s = f"Tensor{fmt_shape(value.shape)} {value.dtype.name}"
    else:
        s = repr(value)
    return s if len(s) <= limit else s[:max(limit - 3, 1)] + "..."


# ------------------------------------------------------------------------------------------
# shapes of every edge: a hook on the dispatch point

@contextlib.contextmanager
def record_shapes():
    """Record the shape and dtype of every op's outputs on its graph node, so that
    ``make_dot`` can label every edge (without it, edges into ops that keep no record of
    their inputs stay unlabelled).  Costs one small tuple per op; the binary-op fast path
    is off while recording.

    >>> with minitorch.viz.record_shapes():
    ...     loss = model(x).sum()
    >>> minitorch.viz.make_dot(loss)
    """
    def hook(ctx, cls, args, kwargs, outs):
        if ctx is not None:
            seq = outs if type(outs) is tuple else (outs,)
            ctx._viz_meta = tuple(_tensor_meta(o) if isinstance(o, Tensor) else None
                                  for o in seq)

    F._hooks.append(hook)
    try:
        yield
    finally:
        F._hooks.remove(hook)


# ------------------------------------------------------------------------------------------
# traversal

def _as_outputs(outputs) -> List[Tuple[Optional[str], Tensor]]:
    if isinstance(outputs, Tensor):
        return [(None, outputs)]
    if isinstance(outputs, dict):
        items = [(str(k), v) for k, v in outputs.items()]
    elif isinstance(outputs, (list, tuple)):
        items = [(None, v) for v in outputs]
    else:
        raise TypeError(f"make_dot expects a Tensor, or a tuple/list/dict of Tensors, got "
                        f"{type(outputs).__name__}")
    for k, (_, v) in enumerate(items):
        if not isinstance(v, Tensor):
            raise TypeError(f"make_dot: output {k} is a {type(v).__name__}, not a Tensor")
    if not items:
        raise ValueError("make_dot: no outputs given")
    return items


def _param_names(params) -> Dict[int, str]:
    if params is None:
        return {}
    pairs = params.items() if isinstance(params, dict) else params
    names = {}
    for pair in pairs:
        if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
            raise TypeError("params must be a dict {name: tensor} or (name, tensor) pairs, "
                            "e.g. dict(model.named_parameters())")
        name, p = pair
        if not isinstance(p, Tensor):
            raise TypeError(f"params[{name!r}] is a {type(p).__name__}, not a Tensor")
        names.setdefault(id(p), str(name))
    return names


def collect_nodes(roots: Iterable) -> List:
    """Every node reachable from ``roots`` over ``next_functions``, each once, in
    depth-first pre-order.  Iterative: graph depth is unlimited."""
    seen = set()
    order = []
    stack = list(reversed([r for r in roots if r is not None]))
    while stack:
        n = stack.pop()
        if id(n) in seen:
            continue
        seen.add(id(n))
        order.append(n)
        nxt = n.next_functions
        for fn, _ in reversed(nxt):
            if fn is not None and id(fn) not in seen:
                stack.append(fn)
    return order


def _edge_metas(nodes, outs) -> Dict[Tuple[int, int], Tuple[tuple, str]]:
    """(id(node), output_nr) -> (shape, dtype name) of that node output, from everything
    the graph remembers: leaves, outputs, saved tensors, operand records, hooks."""
    meta: Dict[Tuple[int, int], Tuple[tuple, str]] = {}
    for _, t in outs:
        if t.grad_fn is not None:
            meta[(id(t.grad_fn), t._output_nr)] = _tensor_meta(t)
    for n in nodes:
        if isinstance(n, F.AccumulateGrad):
            meta[(id(n), 0)] = _tensor_meta(n.variable)
            continue
        d = n.__dict__
        for k, m in enumerate(d.get("_viz_meta") or ()):
            if m is not None:
                meta.setdefault((id(n), k), m)
        for k, m in enumerate(n._out_meta or ()):
            if m is not None:
                meta.setdefault((id(n), k), (tuple(m[0]), _dtype_name(m[1])))
        for t, _, out_nr in (n._saved or ()):
            if t is None:
                continue
            if out_nr >= 0:
                meta.setdefault((id(n), out_nr), _tensor_meta(t))
            elif t.grad_fn is not None:
                meta.setdefault((id(t.grad_fn), t._output_nr), _tensor_meta(t))
        ins = d.get("_in_meta") or d.get("_in")
        if ins:
            for (fn, nr), m in zip(n.next_functions, ins):
                if fn is not None and m is not None:
                    meta.setdefault((id(fn), nr), (tuple(m[0]), _dtype_name(m[1])))
    return meta


# ------------------------------------------------------------------------------------------
# module grouping

def _direct_params(module):
    try:
        return list(module.named_parameters(recurse=False))
    except (AttributeError, TypeError):
        return list((getattr(module, "_parameters", None) or {}).items())


class _ModuleClusters:
    """Cluster path of each module: its dotted name split into prefixes
    ("encoder.0" -> ("encoder", "encoder.0")), named from the root module's
    ``named_modules()`` or else from the parameter names (``0.weight`` -> module "0")."""

    def __init__(self, graph: Graph, names: Dict[int, str], root):
        self.graph = graph
        self.names = names
        self.path: Dict[int, Optional[str]] = {}
        self.cls_at: Dict[str, str] = {}
        self._keep = []
        self._unknown = 0
        if root is not None:
            self._register(root, "")

    def _register(self, module, path: str) -> None:
        named = getattr(module, "named_modules", None)
        found = list(named()) if callable(named) else [("", module)]
        for sub, m in found:
            p = f"{path}.{sub}" if path and sub else (sub or path)
            if id(m) not in self.path:
                self.path[id(m)] = p
                self._keep.append(m)
                self.cls_at.setdefault(p, type(m).__name__)

    def _path_of(self, module) -> Optional[str]:
        if id(module) in self.path:
            return self.path[id(module)]
        for pname, p in _direct_params(module):
            full = self.names.get(id(p))
            if full is None:
                continue
            if full == pname:
                path = ""
            elif full.endswith("." + pname):
                path = full[:-len(pname) - 1]
            else:
                path = full.rpartition(".")[0]
            self._register(module, path)
            return path
        self.path[id(module)] = None
        self._keep.append(module)
        return None

    def _label(self, path: str) -> str:
        cls = self.cls_at.get(path)
        return f"{path} ({cls})" if cls else path

    def _group_of_path(self, path: str) -> Tuple[str, ...]:
        if not path:
            return ()  # the root module: no cluster around everything
        parts = path.split(".")
        group = tuple(".".join(parts[:k]) for k in range(1, len(parts) + 1))
        for g in group:
            self.graph.add_cluster(g, self._label(g))
        return group

    def group(self, module) -> Tuple[str, ...]:
        if module is None:
            return ()
        path = self._path_of(module)
        if path is None:
            key = f"?{id(module):x}"
            if key not in self.graph.clusters:
                self._unknown += 1
                self.graph.add_cluster(key, type(module).__name__)
            return (key,)
        return self._group_of_path(path)

    def group_of_param(self, name: Optional[str]) -> Tuple[str, ...]:
        if not name or "." not in name:
            return ()
        return self._group_of_path(name.rpartition(".")[0])


# ------------------------------------------------------------------------------------------
# the graph

def _no_static_options(options, fn: str = "make_dot") -> None:
    """A tensor's autograd graph takes no static-graph options (and no unknown ones)."""
    for key in options:
        extra = (" (it applies to traced graphs only)"
                 if key in ("group_by_line", "show_ids", "show_source") else "")
        raise TypeError(f"{fn}() got an unexpected keyword argument {key!r}{extra}")


def _autograd_only(params, show_saved, group_by_module, module, fn: str = "make_dot") -> None:
    given = [n for n, v in (("params", params is not None), ("show_saved", show_saved),
                            ("group_by_module", group_by_module), ("module", module is not None))
             if v]
    if given:
        raise TypeError(f"{fn}: {', '.join(given)} apply to autograd graphs (tensors); a "
                        f"traced graph names its own inputs and state and is grouped by "
                        f"source line (group_by_line=, max_depth=)")


def make_graph(outputs, params=None, show_saved: bool = False, show_attrs: bool = False,
               max_attr_chars: int = 50, *, group_by_module: bool = False, module=None,
               max_depth: Optional[int] = None, **static_options) -> Graph:
    """The autograd graph behind ``outputs`` as a :class:`~minitorch.viz.core.Graph` (the
    model ``make_dot`` draws; see there for the arguments).  A traced graph gives its
    static graph (``static_graph.traced_graph``)."""
    from . import static_graph as S
    if S.is_static(outputs):
        _autograd_only(params, show_saved, group_by_module, module, "make_graph")
        return S.traced_graph(outputs, max_depth=max_depth, show_attrs=show_attrs,
                              max_attr_chars=max_attr_chars, **static_options)
    _no_static_options(static_options, "make_graph")
    outs = _as_outputs(outputs)
    if params is None and module is not None:
        params = module.named_parameters()
    names = _param_names(params)
    if max_depth is not None:
        group_by_module = True
    g = Graph("autograd")
    ids: Dict[int, str] = {}

    def nid(obj) -> str:
        k = ids.get(id(obj))
        if k is None:
            k = ids[id(obj)] = f"n{len(ids)}"
        return k

    modules = _ModuleClusters(g, names, module) if group_by_module else None

    def leaf_name(t: Tensor) -> str:
        return names.get(id(t)) or t.name or ""

    roots = [t.grad_fn if t.grad_fn is not None else
             (F._accumulate_node(t) if t._requires_grad else None) for _, t in outs]
    nodes = collect_nodes(roots)
    meta = _edge_metas(nodes, outs)
    multi = {id(n) for n in nodes if n._n_outputs > 1}

    # outputs
    single = len(outs) == 1
    for k, (key, t) in enumerate(outs):
        label = key or t.name or ("output" if single else f"output {k}")
        details = [fmt_meta(*_tensor_meta(t))]
        if t.grad_fn is None and not t._requires_grad:
            details.append("(no grad_fn: does not require grad)")
        oid = f"out{k}"
        if t.grad_fn is None and t._requires_grad:
            # the output is itself a leaf: draw it once, as an output
            g.add_node(nid(t._acc), label if key or t.name else (leaf_name(t) or label), "output",
                       details)
            continue
        g.add_node(oid, label, "output", details)
        if t.grad_fn is not None:
            lab = f"[{t._output_nr}]" if id(t.grad_fn) in multi else ""
            g.add_edge(nid(t.grad_fn), oid, lab)

    saved_ids: Dict[int, str] = {}
    for n in nodes:
        me = nid(n)
        if isinstance(n, F.AccumulateGrad):
            if me in g.nodes:  # an output that is a leaf
                continue
            v = n.variable
            name = leaf_name(v)
            grp = modules.group_of_param(names.get(id(v))) if modules else ()
            g.add_node(me, name or fmt_shape(v.shape), "leaf",
                       [fmt_meta(*_tensor_meta(v))] if name else [_dtype_name(v._data.dtype)],
                       group=grp, tooltip=f"leaf tensor {name}".rstrip())
            continue
        fcls = n._forward_cls
        custom = fcls is not None and not fcls.__module__.startswith("minitorch.")
        details: List[str] = ["(custom Function)"] if custom else []
        if show_attrs:
            for k, v in n.__dict__.items():
                if not k.startswith("_") and k not in _INTERNAL_ATTRS:
                    details.append(f"{k}: {_fmt_attr(v, max_attr_chars)}")
        grp = modules.group(n._module) if modules else ()
        tip = (f"autograd.Function {fcls.__module__}.{fcls.__qualname__}" if custom
               else n.name())
        if n._module is not None:
            tip += f" in {type(n._module).__name__}"
        if show_saved and n._freed:
            details.append("(saved tensors freed by backward)")
        g.add_node(me, n.name(), "custom" if custom else "op", details, group=grp, tooltip=tip)

        for i, (fn, nr) in enumerate(n.next_functions):
            if fn is None:
                continue
            m = meta.get((id(fn), nr))
            label = fmt_meta(*m, always_dtype=False) if m else ""
            if id(fn) in multi:
                label = f"[{nr}] {label}".rstrip()
            g.add_edge(nid(fn), me, label)

        if show_saved and n._saved:
            for k, (t, version, out_nr) in enumerate(n._saved):
                if t is None:
                    continue
                key = (id(n), k) if out_nr >= 0 else id(t)
                sid = saved_ids.get(key)
                if sid is None:
                    sid = saved_ids[key] = f"s{len(saved_ids)}"
                    if out_nr >= 0:
                        title = f"saved[{k}]: output" + (f" {out_nr}" if n._n_outputs > 1
                                                         else "")
                    else:
                        nm = names.get(id(t)) or t.name
                        title = f"saved[{k}]" + (f": {nm}" if nm else "")
                    det = [fmt_meta(*_tensor_meta(t))]
                    if t._vc is not None and t._vc[0] != version:
                        det.append(f"modified in place: version {version} -> {t._vc[0]}")
                    g.add_node(sid, title, "saved", det, group=grp)
                g.add_edge(me, sid, kind="saved")

    if max_depth is not None:
        g = g.collapse(max_depth)
    return g


def make_dot(outputs, params=None, show_saved: bool = False, show_attrs: bool = False,
             max_attr_chars: int = 50, *, group_by_module: bool = False, module=None,
             max_depth: Optional[int] = None, rankdir: str = "TB",
             warn_nodes: Optional[int] = WARN_NODES, **static_options):
    """Draw the autograd graph behind ``outputs``; returns a ``graphviz.Digraph``.

    Given a traced graph instead (``minitorch.jit.trace(fn, *args)``, or a compiled
    function: its latest graph) it draws that static graph (``static_graph.make_dot``: one
    box per primitive, inputs/state/constants/outputs named, written-back state marked),
    with ``show_attrs``, ``max_attr_chars``, ``max_depth``, ``rankdir``, ``warn_nodes`` and
    the static options ``group_by_line``, ``show_ids`` and ``show_source``.

    outputs: a Tensor, or a tuple/list of Tensors, or a dict {name: Tensor}.
    params: names for leaf tensors, e.g. ``dict(model.named_parameters())``.
    show_saved: also draw the tensors each op saved for backward (orange).
    show_attrs: list each op's ctx attributes (e.g. ``dims``, ``bounds``), cut at
        ``max_attr_chars``.
    group_by_module: one cluster per ``nn.Module`` that created the ops, named by its path
        (``0``, ``encoder.1``), nested like the modules.  Paths come from ``module``'s
        ``named_modules()`` when given (it also supplies ``params``), else from ``params``.
    max_depth: draw each module at this nesting depth (1 = the root's children) as one box
        (implies ``group_by_module``): how a 50-layer model stays readable.
    warn_nodes: warn past this many nodes (None: never).

    The result shows as SVG in Jupyter (or as DOT text when Graphviz is not installed);
    ``.source`` is the DOT text; ``minitorch.viz.render(g, "graph.png")`` writes a file.
    """
    from . import static_graph as S
    if S.is_static(outputs):
        _autograd_only(params, show_saved, group_by_module, module)
        return S.make_dot(outputs, max_depth=max_depth, show_attrs=show_attrs,
                          max_attr_chars=max_attr_chars, rankdir=rankdir,
                          warn_nodes=warn_nodes, **static_options)
    _no_static_options(static_options)
    g = make_graph(outputs, params, show_saved, show_attrs, max_attr_chars,
                   group_by_module=group_by_module, module=module, max_depth=max_depth)
    g.rankdir = rankdir
    return g.to_dot(warn_nodes=warn_nodes)
