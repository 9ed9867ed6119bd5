"""IR passes, each a small function ``Graph -> Graph`` (in place) that says what it did.

* ``dce``: dead-code elimination: drop pure nodes whose results nobody reads.
* ``cse``: common-subexpression elimination: a pure node equal to an earlier one (same op,
  same arguments) reuses its result.  Never across a node that writes memory, and never for
  random draws, so a dropout mask is drawn as often as the eager run draws it.
* ``constant_fold``: a pure node whose arguments are all constants is computed once, now, and
  becomes a constant -- unless its result may be written later (it, or a view of it, reaches
  a writing node) or leaves the graph, since a folded constant is shared by every call.

"Pure" means: not ``effectful`` (no writes, no generator, no check, no counter).
``optimize(g)`` runs the three and appends one line per pass to ``g.passes``;
``MINITORCH_DEBUG=1`` prints those lines as they happen, ``=2`` the graph after each pass.
"""
from __future__ import annotations

import os
from typing import Dict, List, Set

from ..device import canonical
from .graph import VIEWS, Graph, Node, Ref, _walk_refs, node_refs

__all__ = ["dce", "cse", "constant_fold", "optimize"]


def _debug() -> int:
    try:
        return int(os.environ.get("MINITORCH_DEBUG", "0") or 0)
    except ValueError:
        return 0


def live_roots(g: Graph) -> Set[int]:
    """Values the graph returns or writes back: what must survive every pass."""
    roots: Set[int] = set()
    _walk_refs(g.output_spec, lambda r: roots.add(r.v))
    for _, v in g.writebacks:
        if v is not None:
            roots.add(v.id)
    return roots


def dce(g: Graph) -> str:
    """Remove pure nodes whose outputs are not used (walking backwards once)."""
    live = live_roots(g)
    keep: List[Node] = []
    for n in reversed(g.nodes):
        if n.effectful or any(o in live for o in n.outs):
            keep.append(n)
            live.update(node_refs(n))
    removed = len(g.nodes) - len(keep)
    g.nodes = keep[::-1]
    used = live | {v.id for v in g.inputs}
    for vid in [c for c in g.consts if c not in used]:
        del g.consts[vid]
    return f"dce: removed {removed} node(s)"


def _key(a):
    """A hashable form of an argument (arrays are never arguments here: they are Refs)."""
    if isinstance(a, Ref):
        return ("%", a.v)
    if isinstance(a, (tuple, list)):
        return (type(a).__name__,) + tuple(_key(x) for x in a)
    if isinstance(a, slice):
        return ("slice", a.start, a.stop, a.step)
    try:
        hash(a)
    except TypeError:
        return ("id", id(a))
    return (type(a).__name__, a)


def cse(g: Graph) -> str:
    fresh = _must_stay_fresh(g)
    seen: Dict[tuple, Node] = {}
    rename: Dict[int, int] = {}
    kept: List[Node] = []
    merged = 0
    for n in g.nodes:
        if rename:
            n.args = _rename(n.args, rename)
            n.kwargs = {k: _rename(v, rename) for k, v in n.kwargs.items()}
            n.writes = tuple(rename.get(w, w) for w in n.writes)
        if n.effectful:
            seen.clear()  # memory may have changed: nothing before is reusable
            kept.append(n)
            continue
        if any(o in fresh for o in n.outs):
            kept.append(n)
            continue
        key = (n.op, n.device, _key(n.args), _key(tuple(sorted(n.kwargs.items()))))
        prev = seen.get(key)
        if prev is not None and len(prev.outs) == len(n.outs):
            for a, b in zip(n.outs, prev.outs):
                rename[a] = b
            merged += 1
            continue
        seen[key] = n
        kept.append(n)
    g.nodes = kept
    if rename:
        g.output_spec = _rename(g.output_spec, rename)
        g.writebacks = [(name, v if v is None else g.values[rename.get(v.id, v.id)])
                        for name, v in g.writebacks]
    return f"cse: merged {merged} node(s)"


def _rename(a, m):
    if isinstance(a, Ref):
        return Ref(m[a.v]) if a.v in m else a
    if isinstance(a, tuple):
        return tuple(_rename(x, m) for x in a)
    if isinstance(a, list):
        return [_rename(x, m) for x in a]
    return a


def _must_stay_fresh(g: Graph) -> Set[int]:
    """Values that must be computed afresh on every call and never shared: those written
    later, those leaving the graph, and every value that may share memory with one of them
    (views chain through their first argument)."""
    fresh: Set[int] = set(live_roots(g))
    for n in g.nodes:
        fresh.update(n.writes)
        fresh.update(n.wnew)
    view_src: Dict[int, int] = {}
    for n in g.nodes:
        if n.op in VIEWS:
            a0 = n.args[0] if n.args else None
            if isinstance(a0, Ref):
                for o in n.outs:
                    view_src[o] = a0.v
    changed = True
    while changed:  # a fresh view makes its source fresh, and the other way round
        changed = False
        for o, src in view_src.items():
            if (o in fresh) != (src in fresh):
                fresh.update((o, src))
                changed = True
    return fresh


def constant_fold(g: Graph) -> str:
    from .interpreter import _resolve
    fresh = _must_stay_fresh(g)
    folded = 0
    kept: List[Node] = []
    for n in g.nodes:
        refs = node_refs(n)
        if (n.effectful or not all(r in g.consts for r in refs)
                or any(o in fresh for o in n.outs)):
            kept.append(n)
            continue
        be = canonical(n.device)._be
        res = getattr(be, n.op)(*_resolve(n.args, g.consts, {}),
                                **{k: _resolve(v, g.consts, {}) for k, v in n.kwargs.items()})
        r = n.results
        if type(r) is int:
            g.consts[n.outs[r]] = res
        elif r is not None:
            for j, k in enumerate(r):
                if k is not None:
                    g.consts[n.outs[k]] = res[j]
        for o in n.outs:
            g.values[o].kind = "const"
        folded += 1
    g.nodes = kept
    return f"constant_fold: folded {folded} node(s)"


def optimize(g: Graph) -> Graph:
    level = _debug()
    before = len(g.nodes)
    for p in (constant_fold, cse, dce):
        msg = p(g)
        g.passes.append(msg)
        if level >= 1:
            print(f"[minitorch.jit] {g.name}: {msg}")
        if level >= 2:
            print(g)
    g.passes.append(f"nodes: {before} -> {len(g.nodes)}")
    return g
