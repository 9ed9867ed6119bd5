"""``minitorch.onnx.make_dot(model)``: a picture of an ONNX graph (graphviz), as Netron draws
it: one box per operator with its main attributes, the weights it reads, and each edge
labelled with the tensor's shape (from ONNX shape inference; symbolic dims by name)."""
from __future__ import annotations

__all__ = ["make_dot"]

_SHOWN = ("kernel_shape", "strides", "pads", "group", "axis", "perm", "transB", "epsilon",
          "approximate", "hidden_size", "direction", "to")


def _shape_str(vi) -> str:
    tt = vi.type.tensor_type
    if not tt.HasField("shape"):
        return ""
    dims = [str(d.dim_value) if d.HasField("dim_value") else (d.dim_param or "?")
            for d in tt.shape.dim]
    return "[" + ", ".join(dims) + "]"


def make_dot(model, rankdir: str = "TB"):
    """``model``: an ``onnx.ModelProto``, a path, or bytes.  Returns a ``graphviz.Digraph``."""
    import graphviz
    import onnx
    from onnx import helper, shape_inference
    if isinstance(model, (bytes, bytearray)):
        model = onnx.load_from_string(bytes(model))
    elif not isinstance(model, onnx.ModelProto):
        model = onnx.load(str(model))
    try:
        model = shape_inference.infer_shapes(model)
    except Exception:
        pass
    g = model.graph
    shapes = {vi.name: _shape_str(vi) for vi in list(g.input) + list(g.value_info) +
              list(g.output)}
    inits = {t.name: t for t in g.initializer}
    for name, t in inits.items():
        shapes[name] = "[" + ", ".join(str(d) for d in t.dims) + "]"
    dot = graphviz.Digraph(name=g.name or "onnx", graph_attr={"rankdir": rankdir,
                                                              "fontname": "Helvetica"},
                           node_attr={"fontname": "Helvetica", "fontsize": "11"},
                           edge_attr={"fontname": "Helvetica", "fontsize": "9"})
    producer = {}
    ids: dict = {}

    def vid(kind: str, name: str) -> str:  # graphviz reads ':' in a node name as a port
        return ids.setdefault((kind, name), f"{kind}{len(ids)}")

    for v in g.input:
        if v.name in inits:
            continue
        dot.node(vid("in", v.name), f"{v.name}\n{shapes.get(v.name, '')}", shape="ellipse",
                 style="filled", fillcolor="#cfe8ff")
        producer[v.name] = vid("in", v.name)
    for k, n in enumerate(g.node):
        nid = f"n{k}"
        attrs = []
        for a in n.attribute:
            if a.name in _SHOWN:
                val = helper.get_attribute_value(a)
                if isinstance(val, bytes):
                    val = val.decode()
                if a.name == "to":
                    val = helper.tensor_dtype_to_np_dtype(val).name
                attrs.append(f"{a.name}={val}")
        label = n.op_type + ("\n" + "\n".join(attrs) if attrs else "")
        dot.node(nid, label, shape="box", style="rounded,filled", fillcolor="#fff2cc")
        for inp in n.input:
            if not inp:
                continue
            if inp in inits:
                wid = vid("w", f"{inp}@{k}")
                dot.node(wid, f"{inp}\n{shapes[inp]}", shape="note", fontsize="9",
                         style="filled", fillcolor="#eeeeee")
                dot.edge(wid, nid, arrowsize="0.5")
            elif inp in producer:
                dot.edge(producer[inp], nid, label=shapes.get(inp, ""))
        for o in n.output:
            if o:
                producer[o] = nid
    for v in g.output:
        dot.node(vid("out", v.name), f"{v.name}\n{shapes.get(v.name, '')}", shape="ellipse",
                 style="filled", fillcolor="#d5f5d5")
        if v.name in producer:
            dot.edge(producer[v.name], vid("out", v.name), label=shapes.get(v.name, ""))
    return dot
