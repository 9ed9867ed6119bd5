"""minitorch.viz on traced graphs (``make_dot(jit.trace(fn, *args))``): one box per IR node
with its primitive and output type, edges along values, inputs/state/constants/outputs
named and styled, written-back state marked, grouping by source line, the compiled-function
shortcut, the argument checks; and the compile benchmark's smoke mode in a subprocess.
The expected structure is read off the IR itself (``graph.nodes``, ``writebacks``...), so
the tests follow the tracer rather than a frozen list."""
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import minitorch as torch
import minitorch.nn as nn
import minitorch.nn.functional as F
from minitorch import viz
from minitorch.jit.graph import Ref, Sym
from test_viz import HAS_DOT, Dot, needs_dot

ROOT = Path(__file__).resolve().parent.parent


def _refs(obj, out):
    if isinstance(obj, Ref):
        out.append(obj.v)
    elif isinstance(obj, (tuple, list)):
        for x in obj:
            _refs(x, out)
    elif isinstance(obj, dict):
        for x in obj.values():
            _refs(x, out)
    return out


def _title(n):
    if n.op in ("binary", "unary", "reduce"):
        return f"{n.op} {n.args[0]}"
    if n.op == "check":
        return "check " + n.args[0].rsplit(".", 1)[-1]
    if n.op == "counter":
        return f"counter $step{n.args[1]}"
    if n.op == "fused":   # a generated kernel of minitorch.compiler
        name = n.args[0].name
        return name if name.startswith("fused") else f"fused {name}"
    return n.op


def _check_structure(g, d: Dot):
    """Every IR node is one box (in order n0, n1, ...) titled with its primitive, whose
    second line is its output types; every value read is an edge from its definer.  A
    fused graph is drawn as the graph it was fused from (its kernels as clusters)."""
    g = getattr(g, "unfused", None) or g
    definer = {}
    for v in g.inputs:
        definer[v.id] = (f"in{v.id}", 0, 1)
    for _, v in g.state:
        definer[v.id] = (f"st{v.id}", 0, 1)
    for vid in g.consts:
        definer[vid] = (f"c{vid}", 0, 1)
    n_edges = 0
    for k, n in enumerate(g.nodes):
        nid = f"n{k}"
        lines = d.nodes[nid]["label"].split("\n")
        assert lines[0] == _title(n), (nid, lines, n)
        if n.outs:
            assert lines[1] == ", ".join(g.values[o].type for o in n.outs)
        want = []
        for vid in _refs((n.args, n.kwargs), []):
            src, idx, nouts = definer[vid]
            want.append((src, f"[{idx}]" if nouts > 1 else ""))
        got = [(s, a.get("label", "").strip()) for s, a in d.into(nid)
               if a.get("style") != "dotted"]
        assert sorted(got) == sorted(want), (nid, n)
        n_edges += len(want)
        for idx, o in enumerate(n.outs):
            definer[o] = (nid, idx, len(n.outs))
    return definer, n_edges


# ------------------------------------------------------------------------------------------
# a small traced function

def test_small_function_structure():
    w = torch.randn(4, 3)
    w.name = "w"

    def f(x):
        h = x.mm(w).relu()
        return h.sum()

    x = torch.randn(5, 4)
    g = torch.jit.trace(f, x)
    dot = viz.make_dot(g)
    assert isinstance(dot, viz.DotGraph)
    d = Dot(dot.source)
    definer, n_edges = _check_structure(g, d)
    ops = [d.title(f"n{k}") for k in range(len(g.nodes))]
    assert ops == ["matmul", "unary relu", "reduce sum"]
    # the labels the brief asks for: primitive / output type
    assert d.nodes["n0"]["label"] == "matmul\nf32[5,3]"
    assert d.nodes["n2"]["label"] == "reduce sum\nf32[]"
    # the argument and the state tensor, named, drawn distinctly
    (inp,) = g.inputs
    (name, st), = g.state
    assert d.nodes[f"in{inp.id}"]["label"] == f"x\n{inp.type}"
    assert d.nodes[f"st{st.id}"]["label"] == f"{name}\n{st.type}"
    assert d.nodes[f"in{inp.id}"]["fillcolor"] == "lightyellow"
    assert d.nodes[f"st{st.id}"]["fillcolor"] == "lightblue"
    assert d.nodes["n0"]["fillcolor"] == "lightgrey"
    # x -> matmul <- state; matmul -> relu -> sum -> output
    assert sorted(s for s, _ in d.into("n0")) == sorted([f"in{inp.id}", f"st{st.id}"])
    assert [s for s, _ in d.into("n1")] == ["n0"] and [s for s, _ in d.into("n2")] == ["n1"]
    assert d.nodes["out0"]["label"] == "output\nf32[]"
    assert d.nodes["out0"]["fillcolor"] == "darkolivegreen1"
    assert [s for s, _ in d.into("out0")] == ["n2"]
    assert len(d.edges) == n_edges + 1
    assert len(d.nodes) == len(g.nodes) + 1 + 1 + 1   # nodes, input, state, output
    # two source lines, two clusters labelled with the line and its text
    assert d.nodes["n0"]["cluster"] == d.nodes["n1"]["cluster"] == \
        f"{g.nodes[0].src}: h = x.mm(w).relu()"
    assert d.nodes["n2"]["cluster"] == f"{g.nodes[2].src}: return h.sum()"
    assert d.nodes[f"in{inp.id}"]["cluster"] is None and d.nodes["out0"]["cluster"] is None
    assert "3 nodes, 1 input(s), 1 state tensor(s), 0 write-back(s)" in dot.source
    # one source line: no cluster, the caption says where everything came from
    d = Dot(viz.make_dot(torch.jit.trace(lambda t: t.mm(w).sum(), x)).source)
    assert all(a["cluster"] is None for a in d.nodes.values()) and not d.clusters
    assert "all from test_viz_jit.py:" in viz.make_dot(torch.jit.trace(lambda t: t + 1, x)).source


def test_outputs_pytree_ids_and_attrs():
    def f(x, y):
        return {"s": x + y, "p": (x * y, x.permute(1, 0))}

    x, y = torch.randn(2, 3), torch.randn(2, 3)
    g = torch.jit.trace(f, x, y)
    d = Dot(viz.make_dot(g).source)
    titles = {d.title(k) for k in d.nodes if k.startswith("out")}
    assert titles == {"output['s']", "output['p'][0]", "output['p'][1]"}
    for k, v in enumerate(g.outputs):
        assert d.nodes[f"out{k}"]["label"].split("\n")[1] == v.type
    # show_ids: the %ids of print(graph) on nodes and edges; show_attrs: the other arguments
    d = Dot(viz.make_dot(g, show_ids=True, show_attrs=True).source)
    perm = next(k for k, n in enumerate(g.nodes) if n.op == "permute")
    n = g.nodes[perm]
    lines = d.nodes[f"n{perm}"]["label"].split("\n")
    assert lines[1] == f"%{n.outs[0]}: {g.values[n.outs[0]].type}"
    assert lines[2] == "(1, 0)"
    (src, a), = d.into(f"n{perm}")
    assert a["label"].strip() == f"%{n.args[0].v}" and src == f"in{n.args[0].v}"


def test_constant_drawn_with_value():
    c = torch.tensor([1.0, 2.0, 3.0])

    def f(x):
        return x * c + torch.ones(3) * 2

    g = torch.jit.trace(f, torch.randn(3))
    torch.jit.optimize(g)            # folds ones(3) * 2 into a constant, drops the rest
    assert g.consts, "constant folding leaves a constant"
    d = Dot(viz.make_dot(g).source)
    for vid, arr in g.consts.items():
        lines = d.nodes[f"c{vid}"]["label"].split("\n")
        assert lines[:2] == ["const", g.values[vid].type]
        assert lines[2] == ("[" + ", ".join(f"{v:g}" for v in arr.ravel()) + "]"
                            if arr.ndim else f"{arr.item():g}")
        assert "dashed" in d.nodes[f"c{vid}"]["style"]
        assert d.out_of(f"c{vid}")
    _check_structure(g, d)


# ------------------------------------------------------------------------------------------
# a traced training step

def _training_step(opt_cls=torch.optim.SGD, **kw):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    opt = opt_cls(model.parameters(), lr=0.1, **kw)

    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    x, y = torch.randn(5, 4), torch.tensor([0, 1, 2, 1, 0])
    return step, x, y


@pytest.mark.parametrize("backend", ["interpret", "inductor"])
def test_training_step_structure(backend):
    step, x, y = _training_step(momentum=0.9)
    cstep = torch.compile(step, backend=backend)
    for _ in range(3):
        cstep(x, y)
    g = cstep.graphs[-1]
    if g.unfused is not None:   # a fused graph is drawn as the graph it was fused from
        assert g.kernels
        g = g.unfused
    assert g.writebacks and any(".state[" in n for n, _ in g.state)
    d = Dot(viz.make_dot(cstep).source)          # a compiled function: its latest graph
    definer, n_edges = _check_structure(g, d)
    # inputs and every state tensor, named, each in its style
    assert [d.title(f"in{v.id}") for v in g.inputs] == ["x", "y"]
    for name, v in g.state:
        nd = d.nodes[f"st{v.id}"]
        assert nd["label"].split("\n")[:2] == [name, v.type]
        want = "thistle1" if ".state[" in name else (
            "lightcyan" if name.endswith(".grad") else "lightblue")
        assert nd["fillcolor"] == want, name
    # each write-back is one "-> name" line on the box that defines its value
    marked = {}
    for nid, a in d.nodes.items():
        for line in a["label"].split("\n"):
            if line.startswith("-> "):
                marked[line[3:]] = nid
    assert sorted(marked) == sorted(name for name, _ in g.writebacks)
    for name, v in g.writebacks:
        nid = marked[name]
        assert nid == definer[v.id][0]
        if nid.startswith("n"):
            assert d.nodes[nid]["fillcolor"] == "lightsalmon" and d.nodes[nid]["penwidth"] == "2"
    n_write = sum(1 for a in d.nodes.values() if a.get("fillcolor") == "lightsalmon")
    assert n_write == len({marked[n] for n, _ in g.writebacks if marked[n].startswith("n")})
    assert [d.title(s) for s, _ in d.into("out0")] == [_title(g.nodes[
        int(definer[g.outputs[0].id][0][1:])])]
    assert len(d.edges) == n_edges + 1
    # grouped by source line: forward, loss.backward(), opt.step(), labelled with the text
    lines = list(dict.fromkeys(n.src for n in g.nodes if n.src))
    assert len(lines) == 3
    clusters = {c for c in d.clusters if not c.startswith("fused_")}
    assert len(clusters) == 3
    texts = ["loss = F.cross_entropy(model(x), y)", "loss.backward()", "opt.step()"]
    for src, text in zip(lines, texts):
        assert f"{src}: {text}" in clusters
    for k, n in enumerate(g.nodes):
        c = d.nodes[f"n{k}"]["cluster"]
        if c.startswith("fused_"):  # a kernel's cluster: inside its line's, if it has one
            c = d.clusters[c] or n.src
        assert c.startswith(n.src)
    assert all(d.nodes[f"st{v.id}"]["cluster"] is None for _, v in g.state)
    # without grouping: no clusters, same boxes
    d2 = Dot(viz.make_dot(g, group_by_line=False).source)
    assert not d2.clusters and set(d2.nodes) == set(d.nodes)
    assert Dot(viz.make_dot(g, show_source=False).source).clusters.keys() == set(lines)


def test_grad_state_and_no_outputs():
    """zero_grad(set_to_none=False): the .grad tensors are state (cyan), zeroed and
    accumulated into, and written back; a function returning None has no output box."""
    torch.manual_seed(0)
    model = nn.Linear(2, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)

    def step(x):
        opt.zero_grad(set_to_none=False)
        model(x).sum().backward()
        opt.step()

    x = torch.randn(3, 2)
    step(x)                                   # .grad exists from here on
    g = torch.jit.trace(step, x)
    d = Dot(viz.make_dot(g).source)
    definer, n_edges = _check_structure(g, d)
    grads = [(n, v) for n, v in g.state if n.endswith(".grad")]
    assert sorted(n for n, _ in grads) == ["model.bias.grad", "model.weight.grad"]
    for name, v in grads:
        assert d.nodes[f"st{v.id}"]["fillcolor"] == "lightcyan"
    for name, v in g.writebacks:
        nid = definer[v.id][0]
        assert f"-> {name}" in d.nodes[nid]["label"].split("\n")
        assert d.nodes[nid]["fillcolor"] == "lightsalmon"
    assert g.output_spec is not None and not g.outputs
    assert not [k for k in d.nodes if k.startswith("out")]
    assert len(d.edges) == n_edges


def test_adam_counter_edges():
    step, x, y = _training_step(torch.optim.Adam)
    cstep = torch.compile(step)
    for _ in range(3):
        cstep(x, y)
    g = cstep.graphs[-1]
    g = g.unfused or g     # a fused graph is drawn as the graph it was fused from
    d = Dot(viz.make_dot(cstep).source)
    _check_structure(g, d)
    counters = [k for k, n in enumerate(g.nodes) if n.op == "counter"]
    assert counters
    readers = [k for k, n in enumerate(g.nodes)
               if any(isinstance(a, Sym) for a in n.args)]
    assert readers
    dotted = [(s, t) for s, t, a in d.edges if a.get("style") == "dotted"]
    assert len(dotted) == len(readers)
    for k in readers:
        (s, a), = [(s, a) for s, a in d.into(f"n{k}") if a.get("style") == "dotted"]
        i = next(x.i for x in g.nodes[k].args if isinstance(x, Sym))
        assert a["label"].strip() == f"$step{i}"
        assert g.nodes[int(s[1:])].op == "counter"
    for k in counters:
        assert "dashed" in d.nodes[f"n{k}"]["style"]


def test_fused_node_named_after_its_kernel():
    """A node of a generated kernel (op 'fused', the kernel first) shows the kernel's name."""
    from minitorch.jit.graph import Graph, Node

    class Kernel:
        name = "fused_mul_exp_add"

    g = Graph("f")
    x = g.new_value("float32", (4,), "input", "x")
    g.inputs.append(x)
    y = g.new_value("float32", (4,), "node")
    g.nodes.append(Node("fused", (Kernel(), Ref(x.id)), {}, [y.id], "cpu", "k.py:1 f"))
    g.output_spec = Ref(y.id)
    d = Dot(viz.make_dot(g).source)
    assert d.nodes["n0"]["label"] == "fused_mul_exp_add\nf32[4]"
    assert [s for s, _ in d.into("n0")] == [f"in{x.id}"]
    assert [s for s, _ in d.into("out0")] == ["n0"]


def test_max_depth_one_box_per_line():
    step, x, y = _training_step(momentum=0.9)
    g = torch.jit.trace(step, x, y)
    d = Dot(viz.make_dot(g, max_depth=1).source)
    boxes = [a for a in d.nodes.values() if a.get("shape") == "box3d"]
    lines = list(dict.fromkeys(n.src for n in g.nodes))
    assert len(boxes) == len(lines)
    counts = [int(a["label"].split("\n")[1].split(" op")[0]) for a in boxes]
    assert sum(counts) == len(g.nodes)
    writing = sum(int(a["label"].split(", ")[1].split(" writing")[0]) for a in boxes
                  if "writing state" in a["label"])
    assert writing == len({id(n) for n in g.nodes if set(n.outs) & {v.id for _, v in
                                                                   g.writebacks}})
    # the state and inputs stay boxes of their own
    assert {d.title(f"in{v.id}") for v in g.inputs} == {"x", "y"}


def test_size_warning_names_static_hint():
    step, x, y = _training_step()
    g = torch.jit.trace(step, x, y)
    with pytest.warns(UserWarning, match=r"max_depth=1"):
        viz.make_dot(g, warn_nodes=5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        viz.make_dot(g, warn_nodes=None)


# ------------------------------------------------------------------------------------------
# dispatch, errors, files

def test_make_dot_dispatch_and_argument_errors():
    x = torch.randn(3, requires_grad=True)
    loss = (x * 2).sum()
    before = viz.make_dot(loss).source
    assert "MulBackward0" in before                        # tensors: the autograd graph
    with pytest.raises(TypeError, match="group_by_line.*traced graphs only"):
        viz.make_dot(loss, group_by_line=False)
    with pytest.raises(TypeError, match="unexpected keyword argument 'nope'"):
        viz.make_dot(loss, nope=1)
    with pytest.raises(TypeError, match="unexpected keyword argument 'show_ids'"):
        viz.make_graph(loss, show_ids=True)
    g = torch.jit.trace(lambda t: t * 2, torch.randn(3))
    with pytest.raises(TypeError, match="params apply to autograd graphs"):
        viz.make_dot(g, params={"x": x})
    with pytest.raises(TypeError, match="show_saved"):
        viz.make_graph(g, show_saved=True)
    assert isinstance(viz.make_graph(g), viz.Graph)
    assert viz.make_dot(loss).source == before


def test_compiled_function_without_graph():
    cf = torch.compile(lambda t: t * 2)
    with pytest.raises(ValueError, match="call it once first"):
        viz.make_dot(cf)

    def breaks(t):
        return t * 2 if t.sum().item() > 0 else t

    cb = torch.compile(breaks)
    cb(torch.ones(3))
    with pytest.raises(ValueError, match="runs eagerly.*graph break"):
        viz.make_dot(cb)
    model = nn.Linear(2, 2)
    cm = torch.compile(model)
    with torch.no_grad():
        cm(torch.randn(1, 2))
    g = cm.graphs[-1]
    d = Dot(viz.make_dot(cm).source)               # a compiled module: its latest graph
    _check_structure(g, d)
    assert {d.title(f"st{v.id}") for _, v in g.state} == {n for n, _ in g.state}
    assert any(n.endswith("weight") for n, _ in g.state)


def test_render_dot_file_without_program(tmp_path, monkeypatch):
    from minitorch.viz import core
    monkeypatch.setattr(core.shutil, "which", lambda name: None)
    g = torch.jit.trace(lambda t: t.exp(), torch.randn(2))
    p = viz.render(g, tmp_path / "g.dot")
    assert p.read_text().startswith("digraph") and "unary exp" in p.read_text()
    with pytest.raises(viz.DotNotFoundError):
        viz.render(g, tmp_path / "g.png")


@needs_dot
def test_render_png(tmp_path):
    step, x, y = _training_step(momentum=0.9)
    cstep = torch.compile(step)
    for _ in range(3):
        cstep(x, y)
    p = viz.render(cstep, tmp_path / "step.png")
    assert p.read_bytes().startswith(b"\x89PNG")
    p = viz.render(cstep.graphs[-1], tmp_path / "step1.svg", max_depth=1)
    assert p.read_bytes().startswith(b"<?xml")


# ------------------------------------------------------------------------------------------
# the compile benchmark, in its smoke mode (not a timing test)

def test_compile_benchmark_quick(tmp_path):
    out = tmp_path / "r.json"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, str(ROOT / "examples/benchmarks/compile.py"),
                           "--quick", "--rounds", "1", "--only", "gelu,steps,launches,trace",
                           "--json", str(out)],
                          capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    import json
    r = json.loads(out.read_text())
    assert len(r["gelu"]["kernels"]) == 1 and r["gelu"]["ms"]["minitorch.compile"] > 0
    assert max(r["gelu"]["max_abs_err_vs_float64"].values()) < 1e-5
    assert set(r["steps"]) == {"mlp", "cnn", "lstm", "gpt"}
    for name, w in r["steps"].items():
        assert w["not_compiled"] is None, (name, w["not_compiled"])
        assert w["compiled_vs_eager_max_loss_diff"] <= 1e-5, name
        assert w["ms"]["minitorch.compile"] > 0 and r["trace"][name]["warm_ms"] > 0
        assert w["launches_fused"] < w["launches_unfused"], name
        if "first_loss_abs_diff_vs_torch" in w:
            assert w["first_loss_abs_diff_vs_torch"] < 1e-4, name
    for name, c in r.get("launches", {}).items():
        assert c["compiled, fused"] < c["compiled, unfused"], (name, c)
    for word in ("(1) tanh-GELU", "(2) training steps", "(3) kernel launches",
                 "(4) trace + compile time"):
        assert word in proc.stdout


def test_fused_graph_draws_each_kernel_as_a_cluster_named_like_it():
    """make_dot of a fused graph: the nodes it was fused from, each generated kernel's
    nodes inside one cluster labelled with the kernel's name and kind."""
    import minitorch.compiler as C
    w, b = torch.randn(6, 5), torch.randn(6)

    def f(x):
        h = F.linear(x, w, b).relu()                     # matmul epilogue kernel
        return (h - h.mean(1, keepdim=True)).exp().sum(1)  # reductions with prologues
    x = torch.randn(4, 5)
    from minitorch import jit
    g = C.fuse(jit.trace(f, x))
    d = Dot(viz.make_dot(g).source)
    names = [k.name for k in g.kernels]
    assert len(names) >= 2
    for i, k in enumerate(g.kernels):
        label = f"{k.name} ({k.kind}, {len(k._group.nodes)} ops)"
        assert label in d.clusters
        inside = [nid for nid, a in d.nodes.items() if a["cluster"] == label]
        assert len(inside) == len(k._group.nodes)
        assert sorted(d.title(nid) for nid in inside) == sorted(
            _title(n) for n in k._group.nodes)
    # the unfused nodes are drawn (not the fused ones), and the caption says so
    assert len([n for n in d.nodes if n.startswith("n")]) == len(g.unfused.nodes)
    assert "fused kernel(s), each drawn as a cluster" in viz.make_dot(g).source
