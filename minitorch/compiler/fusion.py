"""The fusion pass: group nodes of a traced graph into one generated kernel each.

A chain of k elementwise ops over N elements reads and writes k temporaries eagerly; fused,
it reads its inputs once and writes only the values someone else needs.  The pass walks the
node list once (the greedy scheme of TorchInductor's and tinygrad's schedulers, reduced to
its core).  Three kinds of group come out of it:

* **elementwise** -- an elementwise node (``unary``, ``binary`` without ``out=``, ``where``,
  ``astype``) joins an open group of the same output shape and device when it reads a value
  the group produced, otherwise it opens a group of its own;
* **reduction** (XLA's input fusion) -- a ``reduce`` (sum/prod/max/min of float32/float64)
  whose input an open elementwise group produced joins that group as its reduction: the
  group's nodes become the *prologue*, computed inline while the reduction reads its input
  (the squares of ``var``, the ``exp`` of a softmax sum), so the reduced operand never goes
  to memory.  Elementwise nodes of the reduction's output shape that read its result may
  follow as the *epilogue* (``mean``'s division, the ``log`` of logsumexp), applied once per
  output before the store.  A reduction without a prologue still fuses an epilogue;
* **matmul epilogue** -- a ``matmul`` opens a group whose elementwise followers (bias add,
  activation: ``linear`` + ReLU/GELU/tanh) run as one pass over its result, in place.

Closing rules: any other node that reads a value of an open group closes that group (the
kernel must have run before), as does a second reduction reading a reduction group's result
(one reduction per kernel) and an elementwise node of another shape reading it; a node that
writes memory or draws random numbers closes every open group (a kernel reads its inputs
when it runs, at the position of its last member).  A closed group of two or more nodes
becomes one ``fused`` node, placed where its last member was; its outputs are the values
read outside the group, returned by the graph or written back.  Everything else lives in
registers.

Each decision is kept (``Group.ended``): which nodes fused, and why each group ended;
``MINITORCH_DEBUG=1`` prints them and ``=3`` the generated source.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Set

import numpy as np

from ..jit.graph import Graph, Node, Ref, node_refs
from ..jit.passes import live_roots

__all__ = ["fuse_groups", "Group", "ELEMENTWISE", "SUPPORTED_DTYPES", "REDUCTIONS"]

ELEMENTWISE = {"unary", "binary", "where", "astype"}
SUPPORTED_DTYPES = {"float32", "float64", "int32", "int64", "bool"}
REDUCTIONS = ("sum", "prod", "max", "min")      # the reductions a kernel can end with
_FLOATS = ("float32", "float64")


class Group:
    """Nodes that become one kernel.  ``kind``: "elementwise", "reduce" or "matmul";
    ``shape``: the elementwise domain (the reduction's *input* shape for a reduction);
    ``ended``: why no further node joined."""

    def __init__(self, shape: tuple, device: str, kind: str = "elementwise"):
        self.shape, self.device, self.kind = shape, device, kind
        self.nodes: List[Node] = []
        self.produced: Set[int] = set()
        self.ended = "the graph ended"
        self.red: Optional[Node] = None       # the reduction (kind "reduce")
        self.mm: Optional[Node] = None        # the matmul (kind "matmul")
        self.out_shape: tuple = shape         # the shape epilogue nodes must have
        self.remat: List[str] = []            # rematerialization decisions (compiler/remat.py)

    @property
    def prologue(self) -> List[Node]:
        """Elementwise nodes before the reduction (all of them for other kinds)."""
        if self.red is None:
            return [n for n in self.nodes if n is not self.mm]
        return self.nodes[:self.nodes.index(self.red)]

    @property
    def epilogue(self) -> List[Node]:
        """Elementwise nodes after the reduction (kind "reduce" only)."""
        if self.red is None:
            return []
        return self.nodes[self.nodes.index(self.red) + 1:]

    @property
    def accepts(self) -> tuple:
        """The output shape a joining elementwise node must have."""
        return self.out_shape if (self.red is not None or self.mm is not None) else self.shape

    def __repr__(self) -> str:
        return f"<Group {self.kind} {'+'.join(n_name(n) for n in self.nodes)} {list(self.shape)}>"


def n_name(n: Node) -> str:
    """``mul``, ``tanh``, ``where``, ``cast``, ``sum`` ...: what a node contributes to a
    kernel name."""
    if n.op in ("unary", "binary", "reduce"):
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


def reduce_axes(g: Graph, n: Node) -> tuple:
    """The (sorted, non-negative) axes a ``reduce`` node reduces."""
    nd = len(g.values[n.args[1].v].shape)
    return tuple(sorted({int(a) % nd for a in n.args[2]})) if nd else ()


def _fusible_reduce(g: Graph, n: Node) -> bool:
    """A reduction a generated kernel can compute: sum/prod/max/min of a float32/float64
    array over at least one axis, with at least one element per output (an empty max has no
    identity and must raise as eagerly)."""
    if n.op != "reduce" or n.kwargs or n.writes or len(n.outs) != 1:
        return False
    if n.args[0] not in REDUCTIONS or not isinstance(n.args[1], Ref):
        return False
    x = g.values[n.args[1].v]
    if x.dtype not in _FLOATS or g.values[n.outs[0]].dtype != x.dtype:
        return False
    axes = reduce_axes(g, n)
    if not axes or not x.shape:
        return False
    return all(x.shape[a] > 0 for a in axes) and all(s > 0 for s in x.shape)


def _fusible_matmul(g: Graph, n: Node) -> bool:
    if n.op != "matmul" or n.kwargs or n.writes or len(n.outs) != 1:
        return False
    if not all(isinstance(a, Ref) for a in n.args):
        return False
    dts = {g.values[a.v].dtype for a in n.args} | {g.values[n.outs[0]].dtype}
    return dts <= set(_FLOATS) and len(dts) == 1 and all(s > 0 for s in g.values[n.outs[0]].shape)


def fuse_groups(g: Graph) -> List[Group]:
    """The groups of two or more nodes, in the order their kernels run."""
    open_: List[Group] = []
    closed: List[Group] = []

    def close(grp: Group, why: str) -> None:
        grp.ended = why
        open_.remove(grp)
        closed.append(grp)

    def at(n: Node) -> str:
        return f"(at {n.src or '?'})"

    order = {id(n): i for i, n in enumerate(g.nodes)}
    for n in g.nodes:
        reads = set(node_refs(n))
        if _fusible(g, n):
            shape = g.values[n.outs[0]].shape
            homes = [grp for grp in open_ if grp.accepts == shape and grp.device == n.device
                     and reads & grp.produced]
            # an epilogue node must not read a value of the reduction's prologue (that one
            # exists per reduced element, the epilogue runs once per output)
            homes = [grp for grp in homes if grp.red is None or
                     not (reads & {o for m in grp.prologue for o in m.outs})]
            special = [grp for grp in homes if grp.kind != "elementwise" or grp.red is not None]
            if len(special) > 1:  # two reductions / matmuls cannot share one kernel
                for grp in special[1:]:
                    close(grp, f"{n_name(n)} also reads the result of another reduction or "
                               f"matmul kernel {at(n)}")
                    homes.remove(grp)
            for grp in list(open_):  # another shape or device needs its result first
                if grp not in homes and reads & grp.produced:
                    close(grp, f"{n_name(n)} of shape {list(shape)} reads its result {at(n)}")
            if not homes:
                home = Group(shape, n.device)
                open_.append(home)
            else:
                # a node that joins two open groups merges them (both still run at the
                # position of their last member, so the order stays valid); a reduction or
                # matmul group absorbs plain elementwise ones
                homes.sort(key=lambda grp: grp.kind == "elementwise")
                home = homes[0]
                for other in homes[1:]:
                    if home.red is not None:  # output-shaped nodes: the epilogue's, though
                        k = home.nodes.index(home.red) + 1  # they come before the reduction
                        home.nodes = home.nodes[:k] + sorted(home.nodes[k:] + other.nodes,
                                                             key=lambda m: order[id(m)])
                    else:
                        home.nodes = sorted(home.nodes + other.nodes,
                                            key=lambda m: order[id(m)])
                    home.produced |= other.produced
                    open_.remove(other)
            home.nodes.append(n)
            home.produced.update(n.outs)
            continue
        if _fusible_reduce(g, n):
            x = n.args[1].v
            src = [grp for grp in open_ if x in grp.produced]
            pro = [grp for grp in src if grp.kind == "elementwise" and grp.red is None
                   and grp.shape == g.values[x].shape and grp.device == n.device]
            for grp in src:
                if grp not in pro:
                    close(grp, f"reduce {n.args[0]} reads its result {at(n)} (one reduction "
                               f"per kernel, after an elementwise prologue)")
            if pro:
                home = pro[0]
                home.kind = "reduce"
            else:
                home = Group(g.values[x].shape, n.device, "reduce")
                open_.append(home)
            home.red = n
            home.out_shape = g.values[n.outs[0]].shape
            home.nodes.append(n)
            home.produced.update(n.outs)
            continue
        for grp in list(open_):
            if reads & grp.produced:
                close(grp, f"{n.op} reads its result {at(n)}")
        if n.effectful:
            for grp in list(open_):
                close(grp, f"{n.op} writes memory or draws numbers {at(n)}")
        if _fusible_matmul(g, n):
            home = Group(g.values[n.outs[0]].shape, n.device, "matmul")
            home.mm = n
            home.nodes.append(n)
            home.produced.update(n.outs)
            open_.append(home)
    for grp in list(open_):
        close(grp, "the graph ended")
    return [grp for grp in closed if len(grp.nodes) >= 2]


def group_io(g: Graph, grp: Group, groups: List[Group], roots: Set[int]):
    """(inputs, outputs) of a group: external values it reads, in first-use order, and the
    values it produces that are read elsewhere -- by a node outside every group that
    computes the value itself (rematerialization may have copied it into its reader) --
    returned or written back."""
    inputs: List[int] = []
    for n in grp.nodes:
        for r in node_refs(n):
            if r not in grp.produced and r not in inputs:
                inputs.append(r)
    member = {id(n): m for m in groups for n in m.nodes}
    outside: Set[int] = set()
    for n in g.nodes:
        m = member.get(id(n))
        for r in node_refs(n):
            if m is None or r not in m.produced:
                outside.add(r)
    in_graph = {id(x) for x in g.nodes}
    outputs = []
    for n in grp.nodes:
        o = n.outs[0]
        if o in outputs or id(n) not in in_graph:
            continue  # (a recomputed copy is never an output of its reader)
        if o in roots or o in outside:
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
