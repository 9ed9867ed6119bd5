"""Rematerialization: recompute a cheap elementwise value inside the kernel that reads it
instead of writing it to memory in one kernel and reading it back in another.

Typical case: a training step's forward GELU kernel emits ``tanh(...)`` because backward
needs it (``1 - t*t``), and backward's fused kernel reads it again.  Writing and reading a
float32 value costs 8 bytes per element; recomputing it inside backward's kernel from ``x``
(which that kernel usually reads anyway) costs a few arithmetic instructions and nothing in
memory.  A memory-bound kernel is faster doing arithmetic than moving bytes.

The decision, for a value ``v`` that group A computes elementwise and group B (of the same
shape) reads in its elementwise part:

* the *cone* of ``v`` -- the nodes of A that ``v`` depends on, back to A's inputs -- has at
  most ``MAX_CONE`` nodes (cheap to recompute);
* the cone's inputs (its *leaves*) are still valid where B runs: no node before B writes one
  of them in place;
* bytes: B stops reading ``v`` (its itemsize per element) and A stops writing it when every
  reader outside A recomputes it (once more its itemsize), while B starts reading each leaf
  it did not read before (a broadcast leaf of fewer elements counts as free).  Recompute
  when that saves bytes.

Each decision is recorded on both groups (``graph.fusion`` prints it): what was recomputed,
where, and the byte count that justified it.
"""
from __future__ import annotations

import copy
from typing import Dict, List, Set

import numpy as np

from ..jit.graph import Graph, Node, node_refs
from .fusion import Group

__all__ = ["rematerialize", "MAX_CONE"]

MAX_CONE = 8


def _cone(grp: Group, v: int):
    """(nodes of grp's elementwise part that v depends on, in order; their external
    inputs), or None when v is not made by that part."""
    part = grp.prologue
    by_out = {n.outs[0]: n for n in part}
    if v not in by_out:
        return None
    need: Set[int] = set()
    stack = [v]
    leaves: List[int] = []
    while stack:
        x = stack.pop()
        if x in need:
            continue
        n = by_out.get(x)
        if n is None:
            if x not in leaves:
                leaves.append(x)
            continue
        need.add(x)
        stack.extend(node_refs(n))
    nodes = [n for n in part if n.outs[0] in need]
    return nodes, leaves


def rematerialize(g: Graph, groups: List[Group]) -> None:
    """Move recomputation of cheap values into the groups that read them (in place on the
    groups: cone copies are prepended to the reader's nodes)."""
    pos = {id(n): i for i, n in enumerate(g.nodes)}
    producer: Dict[int, Group] = {}
    for grp in groups:
        for n in grp.prologue:
            producer[n.outs[0]] = grp
    written_at: Dict[int, int] = {}
    for i, n in enumerate(g.nodes):
        for w in n.writes:
            written_at.setdefault(w, i)
    orig: Dict[int, int] = {}     # cone copy -> its original's position in the graph
    member: Dict[int, Group] = {id(n): grp for grp in groups for n in grp.nodes}
    roots = set()
    from .fusion import output_roots
    roots = output_roots(g)

    def size(vid):
        return int(np.prod(g.values[vid].shape)) if g.values[vid].shape else 1

    def item(vid):
        return np.dtype(g.values[vid].dtype).itemsize

    for a in groups:
        for v in list(producer):
            if producer[v] is not a or v in roots:
                continue
            cone = _cone(a, v)
            if cone is None or len(cone[0]) > MAX_CONE:
                continue
            nodes, leaves = cone
            if any(x in a.produced for x in leaves):
                continue  # (a matmul's or reduction's result: A keeps it in registers)
            readers = [n for n in g.nodes if v in node_refs(n) and member.get(id(n)) is not a]
            if not readers:
                continue
            targets: List[Group] = []
            ok_all = True
            for n in readers:
                b = member.get(id(n))
                if (b is None or b.kind == "matmul" or tuple(b.shape) != tuple(a.shape)
                        or n in b.epilogue or v in b.produced):
                    ok_all = ok_all and (b is not None and v in b.produced)
                    continue
                last = max(pos[id(m)] for m in b.nodes if id(m) in pos)
                if any(written_at.get(x, 1 << 60) < last for x in leaves):
                    ok_all = False
                    continue
                if b not in targets:
                    targets.append(b)
            if not targets:
                continue
            per = item(v) * size(v)
            done = 0
            for b in targets:
                have = set(_inputs(b))
                new = [x for x in leaves if x not in have]
                added = sum(item(x) * size(x) for x in new if size(x) == size(v))
                saved = per + (per if ok_all and len(targets) == 1 else 0)
                if added >= saved:
                    ok_all = False
                    continue
                copies = [copy.copy(m) for m in nodes if m.outs[0] not in b.produced]
                for c, m in zip(copies, [m for m in nodes if m.outs[0] not in b.produced]):
                    orig[id(c)] = pos[id(m)] if id(m) in pos else orig[id(m)]
                front = [m for m in b.nodes if id(m) in orig]
                rest = [m for m in b.nodes if id(m) not in orig]
                b.nodes = sorted(front + copies, key=lambda m: orig[id(m)]) + rest
                b.produced.update(m.outs[0] for m in copies)
                what = "+".join(str(m.args[0]) if m.op in ("unary", "binary") else m.op
                                for m in nodes)
                b.remat.append(f"recomputes %{v} ({what}) instead of reading it: saves "
                               f"{saved} bytes, reads {added} more")
                done += 1
            if done:
                a.remat.append(f"%{v} is recomputed by its reader(s) instead of stored"
                               if ok_all and done == len(targets) else
                               f"%{v} is recomputed by {done} reader kernel(s) and still "
                               f"stored for others")


def _inputs(grp: Group) -> List[int]:
    out: List[int] = []
    for n in grp.nodes:
        for r in node_refs(n):
            if r not in grp.produced and r not in out:
                out.append(r)
    return out
