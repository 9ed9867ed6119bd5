"""The fusion pass: group elementwise nodes of a traced graph into one generated kernel each.

A chain of k elementwise ops over N elements reads and writes k temporaries eagerly; fused,
it reads its inputs once and writes only the values someone else needs.  The pass walks the
node list once (the greedy scheme of TorchInductor's and tinygrad's schedulers, reduced to
its core):

* an elementwise node (``unary``, ``binary`` without ``out=``, ``where``, ``astype``) joins an
  open group of the same output shape and device when it reads a value the group produced,
  otherwise it opens a group of its own;
* any other node that reads a value of an open group closes that group (the kernel must
  have run before): a non-elementwise node, or an elementwise node of another shape, and a node that writes memory or draws random numbers closes every
  open group (a kernel reads its inputs when it runs, at the position of its last member);
* a closed group of two or more nodes becomes one ``fused`` node, placed where its last
  member was; its outputs are the values read outside the group, returned by the graph or
  written back.  Everything else lives in registers.

Each decision is kept (``FusionReport``): which nodes fused, and why each group ended;
``MINITORCH_DEBUG=1`` prints them and ``=3`` the generated source.
"""
from __future__ import annotations

from typing import Dict, List, Set

import numpy as np

from ..jit.graph import Graph, Node, node_refs
from ..jit.passes import live_roots

__all__ = ["fuse_groups", "Group", "ELEMENTWISE", "SUPPORTED_DTYPES"]

ELEMENTWISE = {"unary", "binary", "where", "astype"}
SUPPORTED_DTYPES = {"float32", "float64", "int32", "int64", "bool"}


class Group:
    """Nodes that become one kernel.  ``ended``: why no further node joined."""

    def __init__(self, shape: tuple, device: str):
        self.shape, self.device = shape, device
        self.nodes: List[Node] = []
        self.produced: Set[int] = set()
        self.ended = "the graph ended"

    def __repr__(self) -> str:
        return f"<Group {'+'.join(n_name(n) for n in self.nodes)} {list(self.shape)}>"


def n_name(n: Node) -> str:
    """``mul``, ``tanh``, ``where``, ``cast`` ...: what a node contributes to a kernel name."""
    if n.op in ("unary", "binary"):
        return str(n.args[0])
    return "cast" if n.op == "astype" else n.op


def _fusible(g: Graph, n: Node) -> bool:
    if n.op not in ELEMENTWISE or n.kwargs or n.writes:
        return False
    if n.op == "astype" and str(getattr(n.args[1], "np", n.args[1])) not in SUPPORTED_DTYPES:
        return False
    vals = [g.values[o] for o in n.outs] + [g.values[r] for r in node_refs(n)]
    if any(v.dtype not in SUPPORTED_DTYPES for v in vals):
        return False
    out = g.values[n.outs[0]].shape
    for r in node_refs(n):
        s = g.values[r].shape
        try:
            if tuple(np.broadcast_shapes(s, out)) != tuple(out):
                return False
        except ValueError:
            return False
    return len(n.outs) == 1


def fuse_groups(g: Graph) -> List[Group]:
    """The groups of two or more nodes, in the order their kernels run."""
    open_: List[Group] = []
    closed: List[Group] = []

    def close(grp: Group, why: str) -> None:
        grp.ended = why
        open_.remove(grp)
        closed.append(grp)

    order = {id(n): i for i, n in enumerate(g.nodes)}
    for n in g.nodes:
        if _fusible(g, n):
            shape = g.values[n.outs[0]].shape
            reads = set(node_refs(n))
            homes = [grp for grp in open_ if grp.shape == shape and grp.device == n.device
                     and reads & grp.produced]
            for grp in list(open_):  # another shape or device needs its result first
                if grp not in homes and reads & grp.produced:
                    close(grp, f"{n_name(n)} of shape {list(shape)} reads its result "
                               f"(at {n.src or '?'})")
            if not homes:
                home = Group(shape, n.device)
                open_.append(home)
            else:
                # a node that joins two open groups merges them (both still run at the
                # position of their last member, so the order stays valid)
                home = homes[0]
                for other in homes[1:]:
                    home.nodes = sorted(home.nodes + other.nodes, key=lambda m: order[id(m)])
                    home.produced |= other.produced
                    open_.remove(other)
            home.nodes.append(n)
            home.produced.update(n.outs)
            continue
        reads = set(node_refs(n))
        for grp in list(open_):
            if reads & grp.produced:
                close(grp, f"{n.op} reads its result (at {n.src or '?'})")
        if n.effectful:
            for grp in list(open_):
                close(grp, f"{n.op} writes memory or draws numbers (at {n.src or '?'})")
    for grp in list(open_):
        close(grp, "the graph ended")
    # also: a group that is read by a *fusible* node of another shape keeps its value as an
    # output (handled when outputs are computed)
    return [grp for grp in closed if len(grp.nodes) >= 2]


def group_io(g: Graph, grp: Group, later_reads: Dict[int, int], roots: Set[int]):
    """(inputs, outputs) of a group: external values it reads, in first-use order, and the
    values it produces that are read elsewhere, returned or written back."""
    members = {id(n) for n in grp.nodes}
    inputs: List[int] = []
    for n in grp.nodes:
        for r in node_refs(n):
            if r not in grp.produced and r not in inputs:
                inputs.append(r)
    outputs = []
    for n in grp.nodes:
        o = n.outs[0]
        if o in roots or later_reads.get(o, 0) > sum(
                1 for m in grp.nodes if id(m) in members for r in node_refs(m) if r == o):
            outputs.append(o)
    return inputs, outputs


def readers(g: Graph) -> Dict[int, int]:
    """How many times each value is read by any node of the graph."""
    count: Dict[int, int] = {}
    for n in g.nodes:
        for r in node_refs(n):
            count[r] = count.get(r, 0) + 1
    return count


def output_roots(g: Graph) -> Set[int]:
    """Values the graph returns or writes back (the passes' live roots)."""
    return live_roots(g)



