"""``minitorch.compile``: a decorator like ``torch.compile``.

The first call traces the function (an eager run that records its primitives, see tracer.py)
and caches the graph under guards (guards.py).  Later calls check the guard sets in order: a
hit runs the cached graph (interpreter.py), a miss traces again -- a *recompile*, whose
reason is the first guard that failed -- up to ``recompile_limit`` (8) graphs; past that the
function runs eagerly, with one warning.  A graph break (a value read into Python while
tracing) makes the function run eagerly from then on; ``fullgraph=True`` raises instead.
``compiled.explain()`` says all of it, with source lines.

The training step is one graph: ``loss.backward()`` and ``opt.step()`` are primitives like
the forward.  State the function changes (parameters, ``.grad``, optimizer state, running
statistics) is written back after each call, so the visible state after a compiled call is
what the eager call leaves.  A call that creates Python-side state (an optimizer's first
step makes its buffers) is traced but its graph is not replayed: the next call has that
state and traces the graph that is then reused.
"""
from __future__ import annotations

import functools
import os
import warnings
from typing import Any, List, Optional

from ..autograd.function import _state
from .capture import _arg_names, capture, discover, state_slots
from .graph import Graph
from .guards import build_guards, first_failure, state_guards
from .passes import optimize
from .tracer import GraphBreak

__all__ = ["compile", "CompiledFunction", "ExplainOutput", "recompile_limit"]

recompile_limit = 8
_BACKENDS = ("inductor", "interpret", "eager")
# name -> fn(Graph) -> Graph run on each captured graph after the IR passes; the compiler
# package registers "inductor" (fusion) when it is imported, so jit never imports it
_GRAPH_BACKENDS = {}


def register_backend(name: str, fn) -> None:
    """Make ``minitorch.compile(backend=name)`` run ``fn(graph) -> graph`` on each capture."""
    _GRAPH_BACKENDS[name] = fn
_MODES = (None, "default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")
# the modes that replay CUDA graphs (as in PyTorch, "max-autotune" does too)
_CUDAGRAPH_MODES = ("reduce-overhead", "max-autotune")


def _debug() -> int:
    try:
        return int(os.environ.get("MINITORCH_DEBUG", "0") or 0)
    except ValueError:
        return 0


class _Entry:
    __slots__ = ("guards", "graph", "replayable", "hits", "cudagraph")

    def __init__(self, guards, graph, replayable):
        self.guards, self.graph, self.replayable, self.hits = guards, graph, replayable, 0
        self.cudagraph = None  # mode="reduce-overhead": its CudaGraphRunner (cudagraphs.py)


class ExplainOutput:
    """What ``compiled.explain()`` returns: ``graphs``, ``graph_count``, ``graph_breaks``
    (``[(reason, source line)]``), ``recompiles`` (``[reason]``), ``calls`` (how each call
    ran); ``str()`` is the report it prints."""

    def __init__(self, name, graphs, breaks, recompiles, events, eager_reason,
                 cudagraphs=()):
        self.name = name
        self.graphs: List[Graph] = graphs
        self.graph_count = len(graphs)
        self.graph_breaks = breaks
        self.graph_break_count = len(breaks)
        self.break_reasons = [r for r, _ in breaks]
        self.recompiles = recompiles
        self.calls = events
        self.eager_reason = eager_reason
        # mode="reduce-overhead": per graph, what runs as CUDA graphs (None: not that mode)
        self.cudagraphs: List[Optional[str]] = list(cudagraphs)

    def __str__(self) -> str:
        lines = [f"minitorch.compile({self.name}): {self.graph_count} graph(s), "
                 f"{self.graph_break_count} graph break(s), {len(self.recompiles)} "
                 f"recompile(s)"]
        for i, g in enumerate(self.graphs):
            ops = sum(1 for _ in g.nodes)
            lines.append(f"  graph {i}: {ops} nodes ({'; '.join(g.passes)})")
            if i < len(self.cudagraphs) and self.cudagraphs[i]:
                lines.append(f"    cudagraphs: {self.cudagraphs[i]}")
        for reason, src in self.graph_breaks:
            lines.append(f"  graph break: {reason} at {src or '<unknown>'}")
        for r in self.recompiles:
            lines.append(f"  recompiled: {r}")
        if self.eager_reason:
            lines.append(f"  runs eagerly: {self.eager_reason}")
        return "\n".join(lines)

    __repr__ = __str__


class CompiledFunction:
    """The callable ``minitorch.compile`` returns.  ``graphs``: the captured graphs;
    ``explain()``: graphs, breaks and recompiles with their reasons."""

    def __init__(self, fn, fullgraph: bool, backend: str, mode, dynamic: bool):
        self.fn = fn
        self.fullgraph = fullgraph
        self.backend = backend
        self.mode = mode
        self.dynamic = dynamic
        self._entries: List[_Entry] = []
        self._breaks: list = []
        self._recompiles: List[str] = []
        self._events: List[str] = []
        self._eager_reason: Optional[str] = None
        self._warned = False
        self._found = None
        functools.update_wrapper(self, fn, updated=())

    @property
    def graphs(self) -> List[Graph]:
        return [e.graph for e in self._entries]

    def __get__(self, obj, objtype=None):  # a compiled method binds like a function
        if obj is None:
            return self
        return functools.partial(self.__call__, obj)

    def _eager(self, args, kwargs, reason: str):
        if self._eager_reason is None:
            self._eager_reason = reason
        self._events.append("eager")
        return self.fn(*args, **kwargs)

    def __call__(self, *args, **kwargs):
        if self._eager_reason is not None or self.backend == "eager":
            self._events.append("eager")
            return self.fn(*args, **kwargs)
        miss = None
        for e in self._entries:
            why = first_failure(e.guards, args, kwargs)
            if why is None:
                if e.replayable:
                    e.hits += 1
                    self._events.append("graph")
                    if self.mode in _CUDAGRAPH_MODES:
                        cg = e.cudagraph
                        if cg is None:
                            from .cudagraphs import CudaGraphRunner
                            cg = e.cudagraph = CudaGraphRunner(e.graph, self.__name__)
                        return cg(args, kwargs)
                    from .interpreter import run
                    return run(e.graph, args, kwargs)
                why = "the previous call created state (e.g. an optimizer's first step): " \
                      "traced again now that the state exists"
            if miss is None:  # the reason against the first graph: the one users know
                miss = why
        if miss is not None:
            if len(self._entries) >= recompile_limit:
                if not self._warned:
                    warnings.warn(f"minitorch.compile({getattr(self.fn, '__name__', 'fn')}): "
                                  f"hit the recompile limit ({recompile_limit}); running "
                                  f"eagerly from now on. Last miss: {miss}", stacklevel=2)
                    self._warned = True
                return self._eager(args, kwargs, f"recompile limit ({recompile_limit}) "
                                                 f"reached; last miss: {miss}")
            self._recompiles.append(miss)
            if _debug() >= 1:
                print(f"[minitorch.compile] recompiling {self.__name__}: {miss}")
        return self._trace(args, kwargs)

    def _trace(self, args, kwargs):
        if self._found is None:
            self._found = discover(self.fn, args, kwargs)
        found = self._found
        slots, _ = state_slots(found)
        guards = build_guards(self.fn, args, kwargs, found, _arg_names(self.fn, len(args)))
        guards += state_guards(slots)
        try:
            g, result, info = capture(self.fn, args, kwargs, self.fullgraph, found)
        except GraphBreak:
            raise
        self._events.append("traced")
        if info["breaks"]:
            self._breaks.extend(info["breaks"])
            reason, src = info["breaks"][0]
            self._eager_reason = f"graph break: {reason} at {src}"
            if _debug() >= 1:
                print(f"[minitorch.compile] graph break in {self.__name__}: {reason} at {src}")
            return result
        if info["out_requires_grad"] and _state.grad:
            # the graph runs primitives without recording autograd nodes: returning tensors
            # that need a graph for a later backward() would lose it
            why = ("the function returns tensors that require grad, and a compiled graph does "
                   "not record autograd: call backward() inside the compiled function (compile "
                   "the whole training step), or run it under no_grad()")
            if self.fullgraph:
                raise GraphBreak(f"graph break: {why}")
            self._breaks.append((why, ""))
            self._eager_reason = why
            return result
        if _debug() >= 1:
            print(f"[minitorch.compile] traced {self.__name__}: {len(g.nodes)} nodes, "
                  f"{len(g.inputs)} inputs, {len(g.state)} state tensors, "
                  f"{len(g.writebacks)} write-backs")
        optimize(g)
        hook = _GRAPH_BACKENDS.get(self.backend)
        if hook is not None:
            g = hook(g)
        if _debug() >= 2:
            print(g)
        self._entries.append(_Entry(guards, g, not info["structural"]))
        return result

    @property
    def cudagraphs(self) -> list:
        """``mode="reduce-overhead"``: each graph's ``CudaGraphRunner`` (None before its first
        replayed call, and for graphs that are never replayed)."""
        return [e.cudagraph for e in self._entries]

    def explain(self, verbose: bool = True) -> ExplainOutput:
        cg = []
        if self.mode in _CUDAGRAPH_MODES:
            for e in self._entries:
                if e.cudagraph is not None:
                    cg.append(e.cudagraph.summary())
                else:
                    cg.append(None if e.replayable else "never replayed (it created state)")
        out = ExplainOutput(getattr(self.fn, "__name__", "fn"), self.graphs, list(self._breaks),
                            list(self._recompiles), list(self._events), self._eager_reason, cg)
        if verbose:
            print(out)
        return out


def compile(fn=None, *, fullgraph: bool = False, dynamic: bool = False, backend="inductor",
            mode: Optional[str] = None, options: Optional[dict] = None,
            disable: bool = False) -> Any:
    """Compile ``fn`` (a function or an ``nn.Module``) like ``torch.compile``; also a
    decorator, with or without arguments.  ``backend``: "inductor" (elementwise groups fused
    into generated kernels, ``minitorch.compiler``), "interpret" (the IR as traced, after the
    passes) or "eager" (no capture).  ``mode="reduce-overhead"`` replays each graph's kernel
    launches as CUDA graphs on cuda (recorded launch lists on cudasim; jit/cudagraphs.py);
    on cpu it behaves like "default", as in PyTorch; "max-autotune" also uses CUDA graphs
    (there is nothing to autotune), "max-autotune-no-cudagraphs" is "default".  Shapes are always
    specialized: ``dynamic=True`` is accepted and behaves like ``dynamic=False`` (a new
    shape recompiles)."""
    if backend not in _BACKENDS:
        raise ValueError(f"minitorch.compile: unknown backend {backend!r}; expected one of "
                         f"{list(_BACKENDS)}")
    if mode not in _MODES:
        raise ValueError(f"minitorch.compile: unknown mode {mode!r}; expected one of "
                         f"{[m for m in _MODES if m]}")
    if fn is None:
        return lambda f: compile(f, fullgraph=fullgraph, dynamic=dynamic, backend=backend,
                                 mode=mode, options=options, disable=disable)
    if disable:
        return fn
    from ..nn.module import Module
    cf = CompiledFunction(fn, fullgraph, backend, mode, dynamic)
    if isinstance(fn, Module):
        return _CompiledModule(fn, cf)
    return cf


class _CompiledModule:
    """``minitorch.compile(module)``: calls go through the compiled function; attributes and
    methods are the module's."""

    def __init__(self, module, cf: CompiledFunction):
        object.__setattr__(self, "_orig_mod", module)
        object.__setattr__(self, "_compiled", cf)

    def __call__(self, *args, **kwargs):
        return self._compiled(*args, **kwargs)

    def __getattr__(self, name):
        if name in ("graphs", "explain"):
            return getattr(self._compiled, name)
        return getattr(self._orig_mod, name)

    def __setattr__(self, name, value):
        setattr(self._orig_mod, name, value)

    def __repr__(self) -> str:
        return f"Compiled({self._orig_mod!r})"
