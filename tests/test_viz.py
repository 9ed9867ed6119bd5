"""minitorch.viz: the structure of the DOT for known graphs (nodes, edges, names, shapes,
clusters), deep graphs, multiple outputs, custom Functions, the values view, and the
behaviour without the Graphviz ``dot`` program.  Only the rendering tests need ``dot``;
they are skipped where it is not installed (CI installs it)."""
import importlib.util
import re
import shutil
import sys
import warnings
from pathlib import Path

import pytest

import minitorch as torch
from minitorch import viz
from minitorch.autograd import function as F
from minitorch.viz import core

HAS_DOT = shutil.which("dot") is not None
needs_dot = pytest.mark.skipif(not HAS_DOT, reason="Graphviz 'dot' program not installed")


# ------------------------------------------------------------------------------------------
# a small DOT reader: enough to check what the renderer wrote

def _statements(source: str):
    """Split DOT text into statements (newline-separated outside quoted strings)."""
    out, cur, quoted, esc = [], [], False, False
    for ch in source:
        if quoted:
            cur.append(ch)
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                quoted = False
            continue
        if ch == '"':
            quoted = True
        if ch == "\n":
            s = "".join(cur).strip()
            if s:
                out.append(s)
            cur = []
        else:
            cur.append(ch)
    s = "".join(cur).strip()
    if s:
        out.append(s)
    return out


_ATTR = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|[^\s\]]+)')
_ID = r'("(?:[^"\\]|\\.)*"|[\w.]+)'


def _attrs(text):
    return {k: v[1:-1] if v.startswith('"') else v for k, v in _ATTR.findall(text or "")}


def _unq(s):
    return s[1:-1] if s.startswith('"') else s


class Dot:
    """nodes: id -> attrs (with 'cluster': the innermost cluster label or None);
    edges: [(src, dst, attrs)]; clusters: label -> parent label."""

    def __init__(self, source: str):
        self.nodes, self.edges, self.clusters = {}, [], {}
        stack = [None]
        for st in _statements(source):
            if st.startswith("subgraph"):
                stack.append("?")
            elif st == "}":
                stack.pop()
            elif st.startswith("graph [") and len(stack) > 1:
                label = _attrs(st[6:])["label"]
                stack[-1] = label
                self.clusters[label] = stack[-2]
            elif st.startswith(("digraph", "graph [", "node [", "edge [")):
                continue
            else:
                m = re.match(_ID + r" -> " + _ID + r"(?: \[(.*)\])?$", st, re.S)
                if m:
                    self.edges.append((_unq(m[1]), _unq(m[2]), _attrs(m[3])))
                    continue
                m = re.match(_ID + r" \[(.*)\]$", st, re.S)
                assert m, st
                a = _attrs(m[2])
                a["cluster"] = stack[-1]
                self.nodes[_unq(m[1])] = a

    def title(self, nid):
        return self.nodes[nid]["label"].split("\n")[0]

    def ids(self, title):
        return [k for k in self.nodes if self.title(k) == title]

    def one(self, title):
        ids = self.ids(title)
        assert len(ids) == 1, (title, ids)
        return ids[0]

    def into(self, nid):
        return [(s, a) for s, d, a in self.edges if d == nid]

    def out_of(self, nid):
        return [(d, a) for s, d, a in self.edges if s == nid]

    def titles(self):
        return sorted(self.title(k) for k in self.nodes)


def two_layer(record=False, N=64, D_in=1000, H=100, D_out=10):
    x = torch.randn(N, D_in)
    y = torch.randn(N, D_out)
    w1 = torch.randn(D_in, H, requires_grad=True)
    w2 = torch.randn(H, D_out, requires_grad=True)
    if record:
        with viz.record_shapes():
            loss = (x.mm(w1).clamp(min=0).mm(w2) - y).pow(2).sum()
    else:
        loss = (x.mm(w1).clamp(min=0).mm(w2) - y).pow(2).sum()
    return loss, w1, w2


# ------------------------------------------------------------------------------------------
# the two-layer network: nodes, edges, names, shapes

def test_two_layer_structure():
    loss, w1, w2 = two_layer(record=True)
    dot = viz.make_dot(loss, params={"w1": w1, "w2": w2})
    assert isinstance(dot, viz.DotGraph)
    d = Dot(dot.source)
    assert d.titles() == sorted(["output", "SumBackward0", "PowBackward0", "SubBackward0",
                                 "MatMulBackward0", "MatMulBackward0", "ClampBackward0",
                                 "w1", "w2"])
    out, s, p, sub, clamp = (d.one(t) for t in ("output", "SumBackward0", "PowBackward0",
                                                "SubBackward0", "ClampBackward0"))
    lw1, lw2 = d.one("w1"), d.one("w2")
    assert d.nodes[lw1]["label"] == "w1\n(1000, 100) float32"
    assert d.nodes[lw2]["label"] == "w2\n(100, 10) float32"
    assert d.nodes[lw1]["fillcolor"] == "lightblue"
    assert d.nodes[out]["fillcolor"] == "darkolivegreen1"
    assert d.nodes[out]["label"] == "output\n() float32"
    assert d.nodes[s]["fillcolor"] == "lightgrey"
    # edges run the way data flows: w1 -> mm -> clamp -> mm -> sub -> pow -> sum -> output
    (mm1, a), = d.out_of(lw1)
    assert d.title(mm1) == "MatMulBackward0" and a["label"].strip() == "(1000, 100)"
    assert d.into(mm1) == [(lw1, a)]  # x needs no grad: no edge
    (c, a), = d.out_of(mm1)
    assert c == clamp and a["label"].strip() == "(64, 100)"
    (mm2, a), = d.out_of(clamp)
    assert d.title(mm2) == "MatMulBackward0" and a["label"].strip() == "(64, 100)"
    assert sorted(x for x, _ in d.into(mm2)) == sorted([clamp, lw2])
    assert [x for x, _ in d.out_of(mm2)] == [sub]
    assert [x for x, _ in d.out_of(sub)] == [p]
    assert [x for x, _ in d.out_of(p)] == [s]
    assert [x for x, _ in d.out_of(s)] == [out]
    assert len(d.edges) == 8
    # with record_shapes every tensor edge carries its shape
    labelled = [a.get("label", "").strip() for _, dst, a in d.edges if dst != out]
    assert all(labelled) and labelled.count("(64, 10)") == 3


def test_shapes_known_without_recording():
    loss, w1, w2 = two_layer(N=4, D_in=5, H=3, D_out=2)
    d = Dot(viz.make_dot(loss, params={"w1": w1, "w2": w2}).source)
    lab = {(d.title(a), d.title(b)): at.get("label", "").strip() for a, b, at in d.edges}
    assert lab[("w1", "MatMulBackward0")] == "(5, 3)"        # leaf
    assert lab[("ClampBackward0", "MatMulBackward0")] == "(4, 3)"  # saved by matmul
    assert lab[("MatMulBackward0", "SubBackward0")] == "(4, 2)"    # binary op operands
    assert lab[("SubBackward0", "PowBackward0")] == "(4, 2)"


def test_dtype_shown_when_not_default():
    x = torch.randn(3, dtype=torch.float64, requires_grad=True)
    d = Dot(viz.make_dot(x.exp().sum(), params={"x": x}).source)
    assert d.nodes[d.one("x")]["label"] == "x\n(3,) float64"
    (_, a), = d.out_of(d.one("x"))
    assert a["label"].strip() == "(3,) float64"


def test_leaf_names_from_pairs_and_tensor_name():
    a = torch.randn(2, requires_grad=True)
    b = torch.randn(2, requires_grad=True)
    c = torch.randn(2, 3, requires_grad=True)
    b.name = "bee"
    y = (a * b).sum() + c.sum()
    d = Dot(viz.make_dot(y, params=iter([("alpha", a)])).source)
    assert "alpha" in d.titles() and "bee" in d.titles()
    unnamed = d.one("(2, 3)")  # no name: the shape is the title
    assert d.nodes[unnamed]["label"] == "(2, 3)\nfloat32"
    with pytest.raises(TypeError, match="named_parameters"):
        viz.make_dot(y, params=[a])


def test_show_attrs_and_truncation():
    x = torch.randn(3, 4, requires_grad=True)
    y = x.clamp(min=0).sum(dim=1)
    d = Dot(viz.make_dot(y, show_attrs=True).source)
    assert "bounds: (0, None)" in d.nodes[d.one("ClampBackward0")]["label"]
    d = Dot(viz.make_dot(y, show_attrs=True, max_attr_chars=10).source)
    lines = d.nodes[d.one("SumBackward0")]["label"].split("\n")[1:]
    assert lines and all(len(s.split(": ", 1)[1]) <= 10 for s in lines)
    assert "next_functions" not in viz.make_dot(y, show_attrs=True).source


def test_show_saved():
    loss, w1, w2 = two_layer(N=4, D_in=5, H=3, D_out=2)
    d = Dot(viz.make_dot(loss, params={"w1": w1, "w2": w2}, show_saved=True).source)
    saved = [k for k, a in d.nodes.items() if a["fillcolor"] == "orange"]
    edges = [(s, t, a) for s, t, a in d.edges if t in saved]
    assert len(edges) == len(saved) == 5  # mm: 2 (x, w2), clamp: 1, pow: 1
    assert all(a["style"] == "dashed" and a["dir"] == "none" for _, _, a in edges)
    sw2 = [k for k in saved if d.title(k) == "saved[1]: w2"]
    assert len(sw2) == 1 and d.nodes[sw2[0]]["label"].endswith("(3, 2) float32")
    assert "saved" not in viz.make_dot(loss).source
    loss.backward()
    d = Dot(viz.make_dot(loss, show_saved=True).source)
    assert not [k for k, a in d.nodes.items() if a["fillcolor"] == "orange"]
    assert "(saved tensors freed by backward)" in d.nodes[d.one("PowBackward0")]["label"]


def test_saved_tensor_modified_in_place_is_flagged():
    x = torch.randn(3, requires_grad=True)
    h = x * 1.0
    y = h.exp()   # saves its output
    z = h.sin()   # saves h
    h.add_(1)     # z's saved input is now stale
    src = viz.make_dot((y, z), show_saved=True).source
    assert "modified in place: version 0 -> 1" in src


# ------------------------------------------------------------------------------------------
# multiple outputs, outputs that are leaves, multi-output nodes

def test_multiple_outputs_share_one_graph():
    x = torch.randn(3, requires_grad=True)
    h = x.exp()
    a, b = h.sum(), (h * 2).mean()
    d = Dot(viz.make_dot((a, b), params={"x": x}).source)
    outs = [k for k, at in d.nodes.items() if at["fillcolor"] == "darkolivegreen1"]
    assert sorted(d.title(k) for k in outs) == ["output 0", "output 1"]
    assert len(d.ids("ExpBackward0")) == 1 and len(d.ids("x")) == 1
    (e,) = d.ids("ExpBackward0")
    assert len(d.out_of(e)) == 2
    d = Dot(viz.make_dot({"total": a, "avg": b}).source)
    assert "total" in d.titles() and "avg" in d.titles()


def test_output_that_is_a_leaf_or_needs_no_grad():
    w = torch.randn(2, 2, requires_grad=True)
    d = Dot(viz.make_dot(w, params={"w": w}).source)
    assert list(d.nodes) and d.titles() == ["w"]
    assert d.nodes[d.one("w")]["fillcolor"] == "darkolivegreen1"
    c = torch.randn(2) * 3
    src = viz.make_dot(c).source
    assert "does not require grad" in src


class Split2(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2, x * 3

    @staticmethod
    def backward(ctx, ga, gb):
        return ga * 2 + gb * 3


def test_multi_output_node_labels_output_numbers():
    x = torch.randn(4, requires_grad=True)
    a, b = Split2.apply(x)
    y = a.sum() + b.exp().sum()
    d = Dot(viz.make_dot(y).source)
    node = d.one("Split2Backward")
    labels = sorted(a["label"].strip() for _, a in d.out_of(node))
    assert labels == ["[0] (4,)", "[1] (4,)"]


# ------------------------------------------------------------------------------------------
# custom autograd.Function

class StableSigmoid(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        z = torch.exp(-x.abs())
        y = torch.where(x >= 0, 1 / (1 + z), z / (1 + z))
        ctx.save_for_backward(y)
        ctx.note = "stable"
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * y * (1 - y)


def test_custom_function_is_one_node():
    x = torch.randn(5, 3)
    w = torch.randn(3, 2, requires_grad=True)
    y = StableSigmoid.apply(x.mm(w)).sum()
    dot = viz.make_dot(y, params={"w": w}, show_attrs=True, show_saved=True)
    d = Dot(dot.source)
    node = d.one("StableSigmoidBackward")
    assert d.nodes[node]["fillcolor"] == "lightgoldenrod1"
    assert "(custom Function)" in d.nodes[node]["label"]
    assert "note: 'stable'" in d.nodes[node]["label"]
    assert "test_viz.StableSigmoid" in d.nodes[node]["tooltip"]
    # the ops inside forward are not recorded: no Exp/Abs/Where/Div nodes
    assert not {"ExpBackward0", "AbsBackward0", "WhereBackward0", "DivBackward0"} & set(
        d.titles())
    (src, a), = d.into(node)
    assert d.title(src) == "MatMulBackward0" and a["label"].strip() == "(5, 2)"
    assert any(d.title(t) == "saved[0]: output" for t, _ in d.out_of(node))


# ------------------------------------------------------------------------------------------
# deep graphs and the size warning

def test_deep_graph_is_iterative():
    x = torch.randn(2, requires_grad=True)
    y = x
    n = 3000
    for _ in range(n):
        y = y * 1.0
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(150)
    try:
        with pytest.warns(UserWarning, match=r"3002 nodes .*group_by_module"):
            dot = viz.make_dot(y, params={"x": x})
        g = viz.make_graph(y)
        vals = viz.values_graph(y)
    finally:
        sys.setrecursionlimit(old)
    assert len(g) == n + 2 and len(g.edges) == n + 1
    assert len(vals.by_kind("op")) == n
    assert dot.source.count("MulBackward0") >= n
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        viz.make_dot(y, warn_nodes=None)
        viz.make_dot(x * 2)


# ------------------------------------------------------------------------------------------
# grouping by module: tiny modules independent of minitorch.nn

class Mod:
    """Just enough of nn.Module: parameters, submodules, and push_module in __call__."""

    def __init__(self, **kw):
        self._params = {k: v for k, v in kw.items() if isinstance(v, torch.Tensor)}
        self._children = {k: v for k, v in kw.items() if isinstance(v, Mod)}

    def named_parameters(self, prefix="", recurse=True):
        for k, v in self._params.items():
            yield (prefix + k, v)
        if recurse:
            for name, c in self._children.items():
                yield from c.named_parameters(prefix + name + ".")

    def named_modules(self, prefix=""):
        yield prefix, self
        for name, c in self._children.items():
            yield from c.named_modules(prefix + "." + name if prefix else name)

    def __call__(self, x):
        F.push_module(self)
        try:
            return self.forward(x)
        finally:
            F.pop_module()


class Lin(Mod):
    def __init__(self, i, o):
        super().__init__(weight=torch.randn(i, o, requires_grad=True),
                         bias=torch.zeros(o, requires_grad=True))

    def forward(self, x):
        return x.mm(self._params["weight"]) + self._params["bias"]


class Relu(Mod):
    def forward(self, x):
        return x.relu()


class Seq(Mod):
    def __init__(self, *mods):
        super().__init__(**{str(i): m for i, m in enumerate(mods)})

    def forward(self, x):
        for m in self._children.values():
            x = m(x)
        return x


def net():
    return Seq(Lin(5, 4), Relu(), Seq(Lin(4, 3), Relu()), Lin(3, 2))


def test_group_by_module_from_root():
    model = net()
    with viz.record_shapes():
        y = model(torch.randn(2, 5)).sum()
    d = Dot(viz.make_dot(y, module=model, group_by_module=True).source)
    assert d.clusters == {"0 (Lin)": None, "1 (Relu)": None, "2 (Seq)": None,
                          "2.0 (Lin)": "2 (Seq)", "2.1 (Relu)": "2 (Seq)", "3 (Lin)": None}
    cl = {}
    for k, a in d.nodes.items():
        cl.setdefault(a["cluster"], []).append(d.title(k))
    assert sorted(cl["0 (Lin)"]) == ["0.bias", "0.weight", "AddBackward0", "MatMulBackward0"]
    assert sorted(cl["2.0 (Lin)"]) == ["2.0.bias", "2.0.weight", "AddBackward0",
                                       "MatMulBackward0"]
    assert cl["1 (Relu)"] == ["ReluBackward0"] and cl["2.1 (Relu)"] == ["ReluBackward0"]
    assert sorted(cl[None]) == ["SumBackward0", "output"]  # made outside any module
    assert d.nodes[d.one("0.weight")]["label"] == "0.weight\n(5, 4) float32"


def test_group_by_module_from_param_names():
    model = net()
    y = model(torch.randn(2, 5)).sum()
    d = Dot(viz.make_dot(y, params=dict(model.named_parameters()), group_by_module=True).source)
    # modules with parameters are named from them; their parents only by path
    assert d.clusters["0 (Lin)"] is None and d.clusters["2.0 (Lin)"] == "2"
    assert d.clusters["3 (Lin)"] is None
    # parameterless modules cannot be placed: one cluster each, named by class
    assert sum(1 for a in d.nodes.values() if a["cluster"] == "Relu") == 2
    g = viz.make_graph(y, params=dict(model.named_parameters()), group_by_module=True)
    assert sorted(c.label for c in g.clusters.values()) == ["0 (Lin)", "2", "2.0 (Lin)",
                                                            "3 (Lin)", "Relu", "Relu"]
    without = Dot(viz.make_dot(y, params=dict(model.named_parameters())).source)
    assert without.clusters == {}


def test_max_depth_collapses_modules():
    model = net()
    with viz.record_shapes():
        y = model(torch.randn(2, 5)).sum()
    g = viz.make_graph(y, module=model, max_depth=1)
    assert sorted(n.label for n in g.by_kind("module")) == ["0 (Lin)", "1 (Relu)", "2 (Seq)",
                                                            "3 (Lin)"]
    details = {n.label: n.details for n in g.by_kind("module")}
    assert details["0 (Lin)"] == ["2 ops, 2 params"] and details["2 (Seq)"] == [
        "3 ops, 2 params"]
    d = Dot(viz.make_dot(y, module=model, max_depth=1).source)
    assert d.clusters == {}
    chain = []
    node = d.one("0 (Lin)")
    while d.out_of(node):
        (node, a), = d.out_of(node)
        chain.append((d.title(node), a.get("label", "").strip()))
    assert chain == [("1 (Relu)", "(2, 4)"), ("2 (Seq)", "(2, 4)"), ("3 (Lin)", "(2, 3)"),
                     ("SumBackward0", "(2, 2)"), ("output", "")]
    d2 = Dot(viz.make_dot(y, module=model, max_depth=2).source)  # depth-1 modules expanded
    assert d2.clusters == {"0 (Lin)": None, "1 (Relu)": None, "2 (Seq)": None, "3 (Lin)": None}
    assert {d2.title(k) for k, a in d2.nodes.items() if a["cluster"] == "2 (Seq)"} == {
        "2.0 (Lin)", "2.1 (Relu)"}


def test_real_nn_modules_group():
    nn = pytest.importorskip("minitorch.nn")
    if not all(hasattr(nn, k) for k in ("Sequential", "Linear", "ReLU")):
        pytest.skip("minitorch.nn has no Sequential/Linear/ReLU yet")
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    y = model(torch.randn(5, 4)).sum()
    d = Dot(viz.make_dot(y, params=dict(model.named_parameters()),
                         group_by_module=True).source)
    assert "0 (Linear)" in d.clusters and "2 (Linear)" in d.clusters
    assert {d.title(k) for k, a in d.nodes.items() if a["cluster"] == "0 (Linear)"} >= {
        "0.weight", "0.bias"}


# ------------------------------------------------------------------------------------------
# the values view

def micrograd_example(record=True, backward=True):
    def build():
        a = torch.tensor(2.0, requires_grad=True)
        b = torch.tensor(-3.0, requires_grad=True)
        c = torch.tensor(10.0, requires_grad=True)
        f = torch.tensor(-2.0, requires_grad=True)
        e = a * b
        d = e + c
        return a, b, c, f, e, d, d * f
    if record:
        with viz.record_values():
            ts = build()
    else:
        ts = build()
    for t, n in zip(ts, "abcfedL"):
        t.name = n
    if backward:
        ts[-1].backward()
    return ts


def test_draw_values_micrograd_example():
    hooks = list(F._hooks)
    *_, L = micrograd_example()
    assert F._hooks == hooks
    d = Dot(viz.draw_values(L).source)
    vals = {a["label"] for a in d.nodes.values() if a.get("shape") == "record"}
    assert vals == {"{ a | data 2.0000 | grad 6.0000 }", "{ b | data -3.0000 | grad -4.0000 }",
                    "{ c | data 10.0000 | grad -2.0000 }", "{ f | data -2.0000 | grad 4.0000 }",
                    "{ e | data -6.0000 | grad -2.0000 }", "{ d | data 4.0000 | grad -2.0000 }",
                    "{ L | data -8.0000 | grad 1.0000 }"}
    ops = {k: a["label"] for k, a in d.nodes.items() if a.get("shape") == "ellipse"}
    assert sorted(ops.values()) == ["*", "*", "+"]
    byname = {a["label"].split(" | ")[0][2:]: k for k, a in d.nodes.items()
              if a.get("shape") == "record"}
    plus = next(k for k, v in ops.items() if v == "+")
    assert sorted(s for s, _ in d.into(plus)) == sorted([byname["e"], byname["c"]])
    assert [t for t, _ in d.out_of(plus)] == [byname["d"]]
    assert d.nodes[byname["L"]]["fillcolor"] == "darkolivegreen1"
    assert d.nodes[byname["a"]]["fillcolor"] == "lightblue"
    assert "rankdir=LR" in viz.draw_values(L).source


def test_draw_values_without_recording_marks_unknowns():
    *_, L = micrograd_example(record=False, backward=False)
    g = viz.values_graph(L)
    labels = sorted(n.label for n in g.nodes.values() if n.kind != "op")
    # leaves and the output are known; d only as a tensor saved by the Mul that used it
    # (not its grad), e not at all (Add saves nothing)
    assert labels == sorted(["{ a | data 2.0000 | grad None }",
                             "{ b | data -3.0000 | grad None }",
                             "{ c | data 10.0000 | grad None }",
                             "{ f | data -2.0000 | grad None }",
                             "{ d | data 4.0000 | grad ? }", "{ data ? | grad ? }",
                             "{ L | data -8.0000 | grad ? }"])
    assert g.caption and "record_values" in g.caption
    assert "record_values" in viz.draw_values(L).source
    L.backward()  # frees the saved tensors: d is unknown now; the leaves have grads
    labels = [n.label for n in viz.values_graph(L).nodes.values()]
    assert "{ a | data 2.0000 | grad 6.0000 }" in labels
    assert labels.count("{ data ? | grad ? }") == 2


def test_draw_values_constants_scalars_and_summaries():
    with viz.record_values():
        x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
        c = torch.ones(3)
        y = (1 - x * 2 + c).tanh()
        big = torch.randn(4, 5, requires_grad=True)
        z = big.exp().sum()
    (y.sum() + z).backward()
    g = viz.values_graph(y)
    consts = sorted(n.label for n in g.by_kind("const"))
    assert consts == ["{ 1 }", "{ 2 }", "{ data [1.0000, 1.0000, 1.0000] }"]
    sub = [n for n in g.by_kind("op") if n.label == "-"][0]
    srcs = [e.src for e in g.edges if e.dst == sub.id]
    assert g.nodes[srcs[0]].label == "{ 1 }"  # 1 - (...): argument order kept
    (out,) = g.by_kind("output")
    assert "grad [1.0000, 1.0000, 1.0000]" in out.label
    g = viz.values_graph(z)
    (leaf,) = g.by_kind("leaf")
    assert "data (4, 5) mean" in leaf.label and "grad (4, 5) mean" in leaf.label


def test_record_values_custom_function_and_hooks_restored_on_error():
    hooks = list(F._hooks)
    with pytest.raises(ZeroDivisionError):
        with viz.record_values(), viz.record_shapes():
            1 / 0
    assert F._hooks == hooks
    with viz.record_values():
        x = torch.tensor([0.5, -1.0], requires_grad=True)
        y = StableSigmoid.apply(x)
    y.sum().backward()
    g = viz.values_graph(y)
    (op,) = g.by_kind("custom")
    assert op.label == "StableSigmoid"


# ------------------------------------------------------------------------------------------
# without the dot program; files; Jupyter

def test_without_dot_program(monkeypatch, tmp_path):
    monkeypatch.setattr(core.shutil, "which", lambda name: None)
    loss, w1, w2 = two_layer(N=2, D_in=3, H=2, D_out=1)
    dot = viz.make_dot(loss, params={"w1": w1})
    assert "MatMulBackward0" in dot.source            # DOT text needs no program
    bundle = dot._repr_mimebundle_()                  # Jupyter shows the text
    assert list(bundle) == ["text/plain"] and "digraph" in bundle["text/plain"]
    for call in (lambda: dot.pipe(format="svg"), lambda: dot.render(tmp_path / "x"),
                 lambda: viz.render(dot, tmp_path / "g.png")):
        with pytest.raises(viz.DotNotFoundError) as err:
            call()
        msg = str(err.value)
        assert "apt-get install graphviz" in msg and "brew install graphviz" in msg
        assert "conda install" in msg and ".source" in msg
    assert isinstance(err.value, RuntimeError)
    p = viz.render(loss, tmp_path / "g.dot", params={"w1": w1})  # .dot needs no program
    assert p.read_text().startswith("digraph")
    assert not (tmp_path / "g.png").exists()


def test_render_argument_errors(tmp_path):
    x = torch.randn(2, requires_grad=True)
    with pytest.raises(ValueError, match="unsupported format 'bmp'"):
        viz.render(x * 2, tmp_path / "a.bmp")
    with pytest.raises(TypeError, match="Tensor"):
        viz.make_dot(3.0)
    with pytest.raises(TypeError, match="output 1"):
        viz.make_dot((x, 2))
    with pytest.raises(ValueError, match="max_depth"):
        viz.make_graph(x * 2, max_depth=0)


@needs_dot
@pytest.mark.parametrize("fmt, magic", [("png", b"\x89PNG"), ("svg", b"<?xml"),
                                        ("pdf", b"%PDF")])
def test_render_files(tmp_path, fmt, magic):
    loss, w1, w2 = two_layer(N=2, D_in=3, H=2, D_out=1)
    p = viz.render(viz.make_dot(loss, params={"w1": w1, "w2": w2}), tmp_path / f"g.{fmt}")
    assert p.read_bytes().startswith(magic)
    p = viz.render(loss, tmp_path / "h", format=fmt)  # a tensor; suffix from format
    assert p.name == f"h.{fmt}" and p.read_bytes().startswith(magic)
    g = viz.values_graph(loss)
    assert viz.render(g, tmp_path / f"v.{fmt}").read_bytes().startswith(magic)


@needs_dot
def test_jupyter_svg():
    *_, L = micrograd_example()
    bundle = viz.draw_values(L)._repr_mimebundle_()
    assert "<svg" in bundle["image/svg+xml"]


# ------------------------------------------------------------------------------------------
# the core model on its own (what the tracer's graph source will build)

def test_core_graph_model():
    g = core.Graph("t")
    g.add_cluster("blk", "block")
    g.add_node("a", "x", "leaf", ["(2,)"])
    g.add_node("b", "Op<1>", "op", group=("blk",))
    g.add_node("c", 'back\\slash "q"', "output")
    g.add_edge("a", "b", "(2,)")
    g.add_edge("b", "c")
    with pytest.raises(ValueError, match="unknown node kind"):
        g.add_node("z", "z", "nope")
    d = Dot(g.source)
    assert d.nodes["b"]["label"] == "Op<1>" and d.nodes["b"]["cluster"] == "block"
    assert d.nodes["c"]["label"] == 'back\\\\slash \\"q\\"'
    assert [(s, t) for s, t, _ in d.edges] == [("a", "b"), ("b", "c")]
    assert repr(g) == "Graph('t', 3 nodes, 2 edges, 1 clusters)"


# ------------------------------------------------------------------------------------------
# the example that draws the docs' pictures

def test_render_graphs_example(tmp_path):
    path = Path(__file__).resolve().parent.parent / "examples" / "render_graphs.py"
    spec = importlib.util.spec_from_file_location("_example_render_graphs", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    written = mod.main(tmp_path, "png" if HAS_DOT else "dot", quiet=True)
    names = {p.stem for p in written}
    assert {"two_layer_graph", "two_layer_saved", "custom_function_graph",
            "values_graph"} <= names
    assert all(p.stat().st_size > 0 for p in written)
