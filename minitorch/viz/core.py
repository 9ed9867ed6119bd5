"""The one rendering core: a small, neutral graph model and its translation to Graphviz.

Graph *sources* (the autograd graph behind a tensor: ``autograd_graph.py``; the values view:
``values.py``; the static graph of the tracer: ``static_graph.py``) build a :class:`Graph` --
nodes with a kind, a label and a few detail lines, labelled edges, and nested clusters -- and
this file
turns it into a ``graphviz.Digraph`` with one consistent style.  Nothing here knows about
tensors or autograd, so every source looks the same and gets the same features: module
clusters, collapsing deep module trees (:meth:`Graph.collapse`), the size warning, Jupyter
display and rendering to files with a clear error when the ``dot`` program is missing.
"""
from __future__ import annotations

import shutil
import warnings
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Tuple

try:
    import graphviz
except ImportError as e:  # pragma: no cover - graphviz is a declared dependency
    raise ImportError("minitorch.viz needs the 'graphviz' Python package: "
                      "pip install graphviz") from e

__all__ = ["Graph", "Node", "Edge", "Cluster", "DotGraph", "DotNotFoundError", "to_digraph",
           "require_dot", "dot_available", "WARN_NODES", "STYLE"]

# past this many nodes, dot takes seconds to minutes and the picture stops being readable
WARN_NODES = 500

# fill colours follow torchviz, so the pictures read the same way as PyTorch's
STYLE: Dict[str, Dict[str, str]] = {
    "op": {"fillcolor": "lightgrey"},                       # a backward node / an op
    "custom": {"fillcolor": "lightgoldenrod1", "peripheries": "2"},  # user autograd.Function
    "leaf": {"fillcolor": "lightblue"},                     # leaf tensor that requires grad
    "output": {"fillcolor": "darkolivegreen1"},             # a tensor the graph was drawn from
    "saved": {"fillcolor": "orange"},                       # a tensor saved for backward
    "value": {"fillcolor": "white", "shape": "record"},     # draw_values: data and grad
    "const": {"fillcolor": "gray95", "shape": "record"},    # draw_values: no grad needed
    "module": {"fillcolor": "lavender", "shape": "box3d"},  # a collapsed nn.Module
    # the static graph of the tracer (static_graph.py)
    "input": {"fillcolor": "lightyellow"},                  # an argument of the function
    "state": {"fillcolor": "lightblue"},                    # a parameter or buffer it reads
    "grad": {"fillcolor": "lightcyan"},                     # a .grad tensor it reads
    "opt_state": {"fillcolor": "thistle1"},                 # optimizer state, step counter
    "constant": {"fillcolor": "gray95", "style": "filled,dashed"},  # a captured constant
    "write": {"fillcolor": "lightsalmon", "penwidth": "2"},  # defines a written-back value
    "effect": {"fillcolor": "white", "style": "filled,dashed"},  # check / counter node
}
_EDGE_STYLE = {
    "data": {},
    "saved": {"style": "dashed", "dir": "none", "color": "darkorange3"},
    "control": {"style": "dotted", "color": "purple"},  # a step count read (static graph)
}

INSTALL_HINT = (
    "Rendering needs the Graphviz 'dot' program, which was not found on PATH. Install it:\n"
    "  Debian/Ubuntu:  sudo apt-get install graphviz\n"
    "  macOS:          brew install graphviz\n"
    "  conda:          conda install -c conda-forge graphviz\n"
    "  other:          https://graphviz.org/download/\n"
    "The DOT text needs no install: use graph.source (or render to a .dot file).")


class DotNotFoundError(RuntimeError):
    """Raised when rendering needs the Graphviz ``dot`` program and it is not installed."""


def dot_available() -> bool:
    return shutil.which("dot") is not None


def require_dot() -> None:
    if not dot_available():
        raise DotNotFoundError(INSTALL_HINT)


# ------------------------------------------------------------------------------------------
# the model

@dataclass
class Node:
    """id: unique name; label: first line; details: further lines; group: the cluster path
    (outermost first, cluster ids); attrs: DOT attributes overriding the kind's style."""
    id: str
    label: str
    kind: str = "op"
    details: List[str] = field(default_factory=list)
    group: Tuple[str, ...] = ()
    tooltip: Optional[str] = None
    attrs: Dict[str, str] = field(default_factory=dict)


@dataclass
class Edge:
    src: str
    dst: str
    label: str = ""
    kind: str = "data"  # 'data' (a tensor flows), 'saved' (node -> tensor it saved) or
    # 'control' (a step count read by a node of the static graph)


@dataclass
class Cluster:
    id: str
    label: str


class Graph:
    """A drawable graph: nodes (in insertion order), edges and named clusters.

    >>> g = Graph()
    >>> g.add_node("a", "x", kind="leaf", details=["(3,)"]); g.add_node("b", "ExpBackward0")
    >>> g.add_edge("a", "b", label="(3,)")
    >>> print(g.source)  # doctest: +SKIP
    """

    def __init__(self, name: str = "graph", rankdir: str = "TB", caption: Optional[str] = None):
        self.name = name
        self.rankdir = rankdir
        self.caption = caption
        self.nodes: Dict[str, Node] = {}
        self.edges: List[Edge] = []
        self.clusters: Dict[str, Cluster] = {}

    def add_node(self, id: str, label: str, kind: str = "op", details: Iterable[str] = (),
                 group: Tuple[str, ...] = (), tooltip: Optional[str] = None,
                 attrs: Optional[Dict[str, str]] = None) -> Node:
        if kind not in STYLE:
            raise ValueError(f"unknown node kind {kind!r}; expected one of {sorted(STYLE)}")
        node = Node(id, label, kind, list(details), tuple(group), tooltip, dict(attrs or {}))
        self.nodes[id] = node
        return node

    def add_edge(self, src: str, dst: str, label: str = "", kind: str = "data") -> Edge:
        edge = Edge(src, dst, label, kind)
        self.edges.append(edge)
        return edge

    def add_cluster(self, id: str, label: str) -> Cluster:
        c = self.clusters.get(id)
        if c is None:
            c = self.clusters[id] = Cluster(id, label)
        return c

    def __len__(self) -> int:
        return len(self.nodes)

    def __repr__(self) -> str:
        return (f"Graph({self.name!r}, {len(self.nodes)} nodes, {len(self.edges)} edges, "
                f"{len(self.clusters)} clusters)")

    # -- queries used by tests and by sources ---------------------------------------------
    def by_label(self, label: str) -> List[Node]:
        return [n for n in self.nodes.values() if n.label == label]

    def by_kind(self, kind: str) -> List[Node]:
        return [n for n in self.nodes.values() if n.kind == kind]

    # -- transforms -------------------------------------------------------------------------
    def collapse(self, max_depth: int) -> "Graph":
        """A new graph where every cluster at nesting depth ``max_depth`` (1 = outermost)
        becomes one node, with everything inside it: a 50-layer model as 50 boxes.
        Edges between collapsed nodes are kept once; edges inside one disappear."""
        if max_depth < 1:
            raise ValueError(f"max_depth must be >= 1, got {max_depth}")
        out = Graph(self.name, self.rankdir, self.caption)
        rep: Dict[str, str] = {}
        counts: Dict[str, Dict[str, int]] = {}
        for n in self.nodes.values():
            if len(n.group) < max_depth:
                out.nodes[n.id] = n
                rep[n.id] = n.id
                continue
            cid = n.group[max_depth - 1]
            mid = "module_" + cid.replace(":", "_")
            rep[n.id] = mid
            c = counts.setdefault(mid, {})
            c[n.kind] = c.get(n.kind, 0) + 1
            if mid not in out.nodes:
                out.nodes[mid] = Node(mid, self.clusters[cid].label, "module",
                                      group=n.group[:max_depth - 1])
        for mid, c in counts.items():
            ops = sum(c.get(k, 0) for k in ("op", "custom", "module", "write", "effect"))
            parts = [f"{ops} op{'s' if ops != 1 else ''}"]
            if c.get("leaf"):
                parts.append(f"{c['leaf']} param{'s' if c['leaf'] != 1 else ''}")
            if c.get("write"):
                parts.append(f"{c['write']} writing state")
            out.nodes[mid].details = [", ".join(parts)]
        for cid, cl in self.clusters.items():
            # keep the clusters that still hold something
            if any(cid in n.group for n in out.nodes.values()):
                out.clusters[cid] = cl
        seen = set()
        for e in self.edges:
            s, d = rep[e.src], rep[e.dst]
            if s == d:
                continue
            key = (s, d, e.label, e.kind)
            if key not in seen:
                seen.add(key)
                out.edges.append(Edge(s, d, e.label, e.kind))
        return out

    # -- output ---------------------------------------------------------------------------
    def to_dot(self, warn_nodes: Optional[int] = WARN_NODES, hint: str = None) -> "DotGraph":
        if hint is None:
            return to_digraph(self, warn_nodes=warn_nodes)
        return to_digraph(self, warn_nodes=warn_nodes, hint=hint)

    @property
    def source(self) -> str:
        """The DOT text (no Graphviz program needed)."""
        return to_digraph(self, warn_nodes=None).source


# ------------------------------------------------------------------------------------------
# Graphviz translation

class DotGraph(graphviz.Digraph):
    """A ``graphviz.Digraph`` (``.source``, ``.render``, ``.pipe``, inline SVG in Jupyter)
    that fails clearly without the ``dot`` program, and shows its DOT text in Jupyter instead
    of raising when ``dot`` is missing."""

    def pipe(self, *args, **kwargs):
        require_dot()
        return super().pipe(*args, **kwargs)

    def render(self, *args, **kwargs):
        require_dot()
        return super().render(*args, **kwargs)

    def _repr_mimebundle_(self, include=None, exclude=None, **kwargs):
        if dot_available():
            try:
                return super()._repr_mimebundle_(include, exclude, **kwargs)
            except Exception:  # a broken Graphviz install: still show something
                pass
        return {"text/plain": self.source}


def _esc(text: str) -> str:
    """Escape text for a DOT quoted string (graphviz.quote keeps backslashes as escapes)."""
    return str(text).replace("\\", "\\\\")


def _label(node: Node) -> str:
    if node.kind in ("value", "const") or node.attrs.get("shape") == "record":
        return node.label  # record labels are built (and escaped) by their source
    return "\n".join(_esc(s) for s in [node.label, *node.details] if s != "")


_SIZE_HINT = ("Group it by module (make_dot(..., group_by_module=True, max_depth=1)) or draw "
              "a smaller part.")


def to_digraph(graph: Graph, warn_nodes: Optional[int] = WARN_NODES, hint: str = _SIZE_HINT):
    """Translate a :class:`Graph` into a :class:`DotGraph` (a ``graphviz.Digraph``), with a
    warning (ending in ``hint``) when it has more than ``warn_nodes`` nodes."""
    if warn_nodes is not None and len(graph.nodes) > warn_nodes:
        warnings.warn(
            f"the graph has {len(graph.nodes)} nodes (more than {warn_nodes}): rendering it "
            f"with dot may be slow and the picture hard to read. {hint}", stacklevel=4)
    cls = DotGraph
    graph_attr = {"rankdir": graph.rankdir, "ranksep": "0.3", "nodesep": "0.25"}
    if graph.caption:
        graph_attr.update(label=graphviz.nohtml(_esc(graph.caption)), labelloc="b", fontsize="10",
                          fontname="Helvetica")
    dot = cls(name=graph.name, format="png", graph_attr=graph_attr,
              node_attr={"shape": "box", "style": "filled", "fontname": "Helvetica",
                         "fontsize": "10", "height": "0.2", "margin": "0.08,0.04"},
              edge_attr={"fontname": "Helvetica", "fontsize": "8", "color": "gray30"})

    # every cluster that holds a node, with its ancestors; children before parents
    members: Dict[Tuple[str, ...], List[Node]] = {}
    for n in graph.nodes.values():
        members.setdefault(n.group, []).append(n)
        for k in range(1, len(n.group)):
            members.setdefault(n.group[:k], [])
    paths = sorted((p for p in members if p), key=len, reverse=True)
    nq = graphviz.nohtml
    sub = {p: cls(name=f"cluster_{i}", graph_attr={
        "label": nq(_esc(graph.clusters[p[-1]].label if p[-1] in graph.clusters else p[-1])),
        "labeljust": "l", "labelloc": "t", "style": "rounded,dashed", "color": "gray50",
        "fontname": "Helvetica", "fontsize": "10"}) for i, p in enumerate(members) if p}

    def emit(target, nodes):
        for n in nodes:
            attrs = dict(STYLE[n.kind])
            attrs.update(n.attrs)
            if n.tooltip:
                attrs["tooltip"] = nq(_esc(n.tooltip))
            target.node(n.id, nq(_label(n)), **attrs)

    for p in paths:  # deepest first: a cluster is complete before its parent takes it in
        emit(sub[p], members[p])
        if len(p) > 1:
            sub[p[:-1]].subgraph(sub[p])
    emit(dot, members.get((), []))
    for p in members:
        if len(p) == 1:
            dot.subgraph(sub[p])
    for e in graph.edges:
        attrs = dict(_EDGE_STYLE.get(e.kind, {}))
        if e.label:
            attrs["label"] = nq(" " + _esc(e.label))
        dot.edge(e.src, e.dst, **attrs)
    return dot
