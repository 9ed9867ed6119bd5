"""``viz.render``: write a picture of any graph source to a file."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from .autograd_graph import make_dot
from .core import Graph, require_dot

_FORMATS = {"png", "svg", "pdf", "jpg", "jpeg", "gif", "dot", "gv"}


def render(obj, path, format: Optional[str] = None, **kwargs) -> Path:
    """Write ``obj`` (a tensor / tuple of tensors, a traced ``jit.Graph`` or compiled
    function, a :class:`Graph` or a Digraph) to ``path``.

    The format comes from ``format`` or the file's suffix (png, svg, pdf, ...; ``.dot``/``.gv``
    writes the DOT text and needs no Graphviz program).  Extra keyword arguments go to
    ``make_dot`` when ``obj`` is a tensor or a traced graph.  Raises
    :class:`DotNotFoundError`, which says how to install Graphviz, when an image is asked
    for and ``dot`` is missing."""
    path = Path(path)
    fmt = (format or path.suffix.lstrip(".") or "png").lower()
    if fmt not in _FORMATS:
        raise ValueError(f"unsupported format {fmt!r}; expected one of {sorted(_FORMATS)}")
    if not path.suffix:
        path = path.with_suffix("." + fmt)
    if isinstance(obj, Graph):
        dot = obj.to_dot()
    elif hasattr(obj, "source") and hasattr(obj, "pipe"):
        dot = obj
    else:
        dot = make_dot(obj, **kwargs)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt in ("dot", "gv"):
        path.write_text(dot.source)
        return path
    require_dot()
    path.write_bytes(dot.pipe(format=fmt))
    return path
