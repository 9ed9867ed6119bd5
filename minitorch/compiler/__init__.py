"""``minitorch.compiler``: fusion and generated kernels over ``minitorch.jit``'s IR
(docs/compile.md, "Fusion").

``fuse(graph)`` returns a copy of a traced graph in which every group of two or more
elementwise nodes is one ``fused`` node calling a generated kernel (``graph.kernels``), with
``graph.fusion`` saying what fused and why each group ended.  ``minitorch.compile``'s
default backend, "inductor", runs this after the IR passes.  The package depends on
``minitorch.jit``; ``jit`` never imports it (the package root registers the backend).
"""
from __future__ import annotations

import copy
import os
import warnings
from typing import List

from ..jit.graph import Graph, Node, Ref
from .fusion import fuse_groups, group_io, output_roots
from .remat import rematerialize
from .codegen import kernel_name
from .kernels import FusedKernel, host_compiler

__all__ = ["fuse", "FusedKernel", "inductor_backend"]

_warned = {"cxx": False}


def _debug() -> int:
    try:
        return int(os.environ.get("MINITORCH_DEBUG", "0") or 0)
    except ValueError:
        return 0


def fuse(g: Graph) -> Graph:
    """A copy of ``g`` with its elementwise groups fused (``g`` itself is not changed)."""
    out = copy.copy(g)
    out.nodes = list(g.nodes)
    out.passes = list(g.passes)
    out.unfused = g
    groups = fuse_groups(g)
    rematerialize(g, groups)
    roots = output_roots(g)
    kernels: List[FusedKernel] = []
    report: List[str] = []
    place = {}
    names = {}
    for grp in groups:
        ins, outs = group_io(g, grp, groups, roots)
        name = kernel_name(grp)
        k = names.get(name, 0)
        names[name] = k + 1
        if k:
            name = f"{name}_{k}"
        kern = FusedKernel(name, g, grp, ins, outs)
        kernels.append(kern)
        node = Node("fused", (kern,) + tuple(Ref(v) for v in ins), {}, list(outs),
                    grp.device, ", ".join(kern.srcs), (), tuple(range(len(outs))))
        place[id(grp.nodes[-1])] = node
        for n in grp.nodes[:-1]:
            place[id(n)] = None
        report.append(_describe(name, grp, ins, outs))
    new_nodes = []
    for n in out.nodes:
        r = place.get(id(n), n)
        if r is not None:
            new_nodes.append(r)
    out.nodes = new_nodes
    out.kernels = kernels
    out.fusion = report
    out.passes.append(f"fusion: {sum(k.ops for k in kernels)} node(s) -> {len(kernels)} "
                      f"kernel(s)")
    if _debug() >= 1:
        for line in report:
            print(f"[minitorch.compiler] {g.name}: {line}")
    if _debug() >= 3:
        for k in kernels:
            print(k.source)
    return out


def _describe(name: str, grp, ins, outs) -> str:
    """One line of ``graph.fusion``: what the kernel is and why its group ended."""
    what = f"{len(grp.nodes)} nodes -> 1 kernel"
    if grp.kind == "reduce":
        what += (f" (reduction {grp.red.args[0]} with {len(grp.prologue)} prologue and "
                 f"{len(grp.epilogue)} epilogue op(s))")
    elif grp.kind == "matmul":
        what += f" (matmul + {len(grp.nodes) - 1} epilogue op(s) over its result)"
    line = (f"{name}: {what}, {len(ins)} input(s), {len(outs)} output(s); group ended: "
            f"{grp.ended}")
    for r in grp.remat:
        line += f"; {r}"
    return line


def inductor_backend(g: Graph) -> Graph:
    """What ``minitorch.compile(backend="inductor")`` runs on each captured graph: fusion,
    or the graph as it is (one warning) where no host C++ compiler exists for cpu kernels."""
    if any(n.device == "cpu" for n in g.nodes) and host_compiler() is None:
        if not _warned["cxx"]:
            warnings.warn("minitorch.compile: no C++ compiler found, so graphs run on the "
                          "interpreter without fused kernels (install g++ or set CXX)",
                          stacklevel=3)
            _warned["cxx"] = True
        return g
    return fuse(g)


def _register() -> None:
    from ..jit import compiled
    compiled.register_backend("inductor", inductor_backend)


_register()
