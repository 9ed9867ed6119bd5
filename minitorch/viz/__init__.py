"""Pictures of graphs: the autograd graph behind a tensor (``make_dot``), the static graph
of the tracer (``make_dot(minitorch.jit.trace(fn, *args))``) and the values and gradients of
a small computation (``draw_values``).

One rendering core (``core.py``: a neutral graph model -> Graphviz) serves every graph
source: the autograd graph (``autograd_graph.py``), the values view (``values.py``) and
the static graph of the tracer (``static_graph.py``).

>>> import minitorch.viz as viz
>>> dot = viz.make_dot(loss, params=dict(model.named_parameters()))
>>> dot                          # inline SVG in Jupyter
>>> viz.render(dot, "graph.png")  # or .svg / .pdf; .dot needs no Graphviz install
>>> viz.render(minitorch.jit.trace(step, x, y), "step.png")  # a traced training step
"""
from .core import (Graph, Node, Edge, Cluster, DotGraph, DotNotFoundError,  # noqa: F401
                   to_digraph, dot_available, WARN_NODES)
from .files import render  # noqa: F401
from .autograd_graph import make_dot, make_graph, record_shapes  # noqa: F401
from .values import draw_values, values_graph, record_values  # noqa: F401

__all__ = ["make_dot", "make_graph", "draw_values", "values_graph", "record_shapes",
           "record_values", "render", "Graph", "DotGraph", "DotNotFoundError", "dot_available"]
