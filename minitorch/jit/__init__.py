"""``minitorch.jit``: static graphs (docs/compile.md).

``jit.trace(fn, *args)`` runs ``fn`` once and records every backend primitive it calls into
a ``Graph`` (a flat, typed node list: print it, run it, save it); ``minitorch.compile`` caches
such graphs under guards.  The package depends on the backend contract and the one dispatch
point only; ``minitorch.compiler`` (fusion, generated kernels) builds on it, never the other
way round.
"""
from .compiled import CompiledFunction, ExplainOutput, compile  # noqa: F401
from .graph import Graph, Node, Value  # noqa: F401
from .passes import constant_fold, cse, dce, optimize  # noqa: F401
from .serialize import load  # noqa: F401
from .tracer import GraphBreak, trace  # noqa: F401

__all__ = ["trace", "compile", "load", "Graph", "Node", "Value", "GraphBreak",
           "CompiledFunction", "ExplainOutput", "dce", "cse", "constant_fold", "optimize"]
