"""minitorch.jit: tracing, the IR, the interpreter, guards, graph breaks, passes, whole
training steps and serialization.

The reference is always the eager run: a traced graph replayed on new inputs must give what
eager gives on those inputs (bit for bit on the interpreter, which calls the same
primitives), and a compiled training step must leave the state eager leaves.
"""
from __future__ import annotations

import json
import math
import os
import struct
import warnings

import numpy as np
import pytest

import minitorch
import minitorch.nn as nn
import minitorch.nn.functional as F
from minitorch import jit

import test_ops as OPS
from conftest import DEVICES


# -- every op of the recipe, traced ----------------------------------------------------------

# cases whose output shape depends on values (boolean masks): a graph break, by design
DATA_DEPENDENT = {"getitem_mask", "getitem_row_mask", "setitem_mask", "masked_select"}


def _np(t):
    return t.detach().cpu().numpy()


@pytest.mark.parametrize("case", OPS.CASES, ids=lambda c: c.name)
def test_recipe_traced_forward_equals_eager(case, device):
    rng = np.random.default_rng(1)
    mts, _ = OPS._inputs(case, device, np.float64, rng, False)

    def f(*ts):
        return case.fn(minitorch, *ts)
    if case.name in DATA_DEPENDENT:
        with pytest.raises(jit.GraphBreak, match="data-dependent output shape"):
            jit.trace(f, *mts)
        return
    g = jit.trace(f, *mts)
    assert g.nodes, "nothing was recorded"
    # new values: a graph that baked its example inputs in would fail here
    mts2, _ = OPS._inputs(case, device, np.float64, np.random.default_rng(7), False)
    got, want = g(*mts2), f(*mts2)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(_np(got), _np(want))


GRAD_CASES = [c for c in OPS.CASES if c.grad and c.name not in DATA_DEPENDENT]


@pytest.mark.parametrize("case", GRAD_CASES, ids=lambda c: c.name)
def test_recipe_traced_gradients_equal_eager(case, device):
    """Forward and backward in one graph (autograd's backward is Tensor ops, so it is
    primitives too)."""
    def f(*ts):
        ins = [t.detach().requires_grad_(k not in case.int_inputs) for k, t in enumerate(ts)]
        out = case.fn(minitorch, *ins)
        w = minitorch.linspace(-1.0, 2.0, max(out.numel(), 1), dtype=out.dtype,
                               device=out.device)[:out.numel()].reshape(out.shape)
        diff = [t for k, t in enumerate(ins) if k not in case.int_inputs]
        grads = minitorch.autograd.grad((out * w).sum(), diff, allow_unused=True)
        return (out.detach(),) + tuple(g for g in grads if g is not None)

    mts, _ = OPS._inputs(case, device, np.float64, np.random.default_rng(2), False)
    g = jit.trace(f, *mts)
    mts2, _ = OPS._inputs(case, device, np.float64, np.random.default_rng(8), False)
    got, want = g(*mts2), f(*mts2)
    assert len(got) == len(want)
    for a, b in zip(got, want):
        np.testing.assert_array_equal(_np(a), _np(b))


# -- the IR ------------------------------------------------------------------------------------

def _mlp_step(seed=0, dropout=0.0, momentum=0.9, device="cpu"):
    minitorch.manual_seed(seed)
    layers = [nn.Linear(6, 16), nn.ReLU()]
    if dropout:
        layers.append(nn.Dropout(dropout))
    model = nn.Sequential(*layers, nn.Linear(16, 4)).to(device)
    opt = minitorch.optim.SGD(model.parameters(), lr=0.1, momentum=momentum)

    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss
    return model, opt, step


def _batch(rng, n=8, device="cpu"):
    """A learnable batch: the class is the largest of the first four features."""
    x = rng.standard_normal((n, 6)).astype(np.float32)
    return (minitorch.tensor(x, device=device),
            minitorch.tensor(x[:, :4].argmax(1), device=device))


def test_printed_ir_is_typed_one_op_per_line_with_source_lines():
    w = minitorch.randn(4, 3)

    def f(x):
        h = x @ w          # the matmul line
        return h.relu().sum()
    g = jit.trace(f, minitorch.randn(5, 4))
    text = str(g)
    lines = text.splitlines()
    mm = [ln for ln in lines if "= matmul" in ln]
    assert len(mm) == 1
    line_no = f.__code__.co_firstlineno + 1
    assert mm[0].lstrip().startswith("%") and ":f32[5,3] = matmul %0 %" in mm[0]
    assert mm[0].rstrip().endswith(f"# test_jit.py:{line_no} f")
    assert lines[0].startswith("graph f(%0:f32[5,4] x)")
    assert any(ln.strip().startswith("return %") for ln in lines)
    assert [v.name for v in g.inputs] == ["x"] and len(g.outputs) == 1
    assert {n.op for n in g.nodes} >= {"matmul", "unary", "reduce"}


def test_training_step_graph_has_forward_backward_update_and_writebacks():
    model, opt, step = _mlp_step()
    rng = np.random.default_rng(0)
    step(*_batch(rng))                      # one eager step: the optimizer has its state
    g = jit.trace(step, *_batch(rng))
    ops = [n.op for n in g.nodes]
    assert ops.count("matmul") == 2 + 3    # forward 2, backward 3 (no grad for the input)
    assert ops.count("sgd_update_") == 4
    names = {name for name, _ in g.writebacks}
    for pname, _ in model.named_parameters(prefix="model"):
        assert pname in names and pname + ".grad" in names
    assert any("momentum_buffer" in name for name, _ in g.state)
    text = str(g)
    assert "write-back model.0.weight <- %" in text
    assert "(writes %" in text


def test_graph_runs_on_new_data_and_updates_the_live_state():
    model_e, _, step_e = _mlp_step()
    model_c, _, step_c = _mlp_step()
    rng_e, rng_c = np.random.default_rng(5), np.random.default_rng(5)
    step_e(*_batch(rng_e))
    step_c(*_batch(rng_c))
    g = jit.trace(step_c, *_batch(rng_c))
    step_e(*_batch(rng_e))
    for _ in range(5):
        le = step_e(*_batch(rng_e))
        lc = g(*_batch(rng_c))
        assert le.item() == lc.item()
    for (n, pe), pc in zip(model_e.named_parameters(), model_c.parameters()):
        np.testing.assert_array_equal(_np(pe), _np(pc), err_msg=n)
        np.testing.assert_array_equal(_np(pe.grad), _np(pc.grad), err_msg=n)


def test_a_graph_that_created_optimizer_state_refuses_to_run():
    _, _, step = _mlp_step()
    g = jit.trace(step, *_batch(np.random.default_rng(0)))
    with pytest.raises(RuntimeError, match="created optimizer state"):
        g(*_batch(np.random.default_rng(1)))


def test_trace_a_module_makes_parameters_state():
    minitorch.manual_seed(0)
    m = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2))
    with minitorch.no_grad():
        g = jit.trace(m, minitorch.randn(4, 3))
        assert sorted(n for n, _ in g.state) == sorted(
            n for n, _ in m.named_parameters(prefix="sequential"))
        x = minitorch.randn(4, 3)
        np.testing.assert_array_equal(_np(g(x)), _np(m(x)))


def test_graph_checks_its_input_shapes():
    g = jit.trace(lambda x: x * 2, minitorch.randn(3))
    with pytest.raises(RuntimeError, match=r"expects f32\[3\], got .*\[4\]"):
        g(minitorch.randn(4))
    with pytest.raises(TypeError, match="takes 1 tensor argument"):
        g(minitorch.randn(3), minitorch.randn(3))


def test_validation_checks_run_again_in_the_graph():
    """An out-of-range class target is caught on every call, not only while tracing."""
    logits = minitorch.randn(4, 3)
    g = jit.trace(lambda x, y: F.cross_entropy(x, y), logits, minitorch.tensor([0, 1, 2, 1]))
    assert any(n.op == "check" for n in g.nodes)
    with pytest.raises(IndexError, match="Target 7 is out of bounds"):
        g(logits, minitorch.tensor([0, 7, 2, 1]))
    idx = minitorch.tensor([0, 2])
    g2 = jit.trace(lambda x, i: x[i], minitorch.randn(3, 2), idx)
    with pytest.raises(IndexError, match="index 5 is out of bounds"):
        g2(minitorch.randn(3, 2), minitorch.tensor([0, 5]))
    np.testing.assert_array_equal(_np(g2(logits[:3, :2], minitorch.tensor([-1, 0]))),
                                  _np(logits[:3, :2][minitorch.tensor([-1, 0])]))


# -- passes ----------------------------------------------------------------------------------

def test_dce_removes_unused_pure_nodes_only():
    def f(x):
        unused = x.exp() * 3           # noqa: F841  (dead)
        minitorch.rand(2)              # a draw: effectful, stays
        return x + 1
    g = jit.trace(f, minitorch.randn(3))
    n0 = len(g.nodes)
    msg = jit.dce(g)
    assert msg == "dce: removed 2 node(s)" and len(g.nodes) == n0 - 2
    assert [n.op for n in g.nodes].count("uniform") == 1


def test_cse_merges_repeats_but_never_random_draws():
    def f(x):
        a = (x * 2).sin()
        b = (x * 2).sin()
        r1, r2 = minitorch.rand(3), minitorch.rand(3)
        return a + b + r1 + r2
    g = jit.trace(f, minitorch.randn(3))
    msg = jit.cse(g)
    assert msg == "cse: merged 2 node(s)"
    assert [n.op for n in g.nodes].count("uniform") == 2
    minitorch.manual_seed(3)
    x = minitorch.randn(3)
    minitorch.manual_seed(4)
    want = f(x)
    minitorch.manual_seed(4)
    np.testing.assert_array_equal(_np(g(x)), _np(want))


def test_constant_folding_folds_constants_but_not_buffers_written_later():
    def f(x):
        k = (minitorch.ones(3) * 2 + 1).exp()   # all constant: folded
        buf = minitorch.zeros(3)       # written below: must stay a fresh buffer per call
        buf += x
        return x * k + buf
    g = jit.trace(f, minitorch.randn(3))
    msg = jit.constant_fold(g)
    assert msg.startswith("constant_fold: folded ") and int(msg.split()[2]) >= 3
    assert "exp" not in str(g) and "full" in str(g)
    for _ in range(2):  # a shared folded buffer would accumulate across calls
        x = minitorch.randn(3)
        np.testing.assert_array_equal(_np(g(x)), _np(f(x)))


def test_optimize_records_each_pass():
    g = jit.optimize(jit.trace(lambda x: (x * 2) + (x * 2), minitorch.randn(3)))
    assert [p.split(":")[0] for p in g.passes] == ["constant_fold", "cse", "dce", "nodes"]
    assert g.passes[-1] == "nodes: 3 -> 2"


# -- compile: guards ---------------------------------------------------------------------------

def test_compile_caches_and_hits_without_retracing():
    calls = []

    @minitorch.compile
    def f(x, y):
        calls.append(1)
        return (x * y).sum()
    x, y = minitorch.randn(4), minitorch.randn(4)
    for _ in range(3):   # (a fused sum accumulates in double: equal to the last bits)
        assert math.isclose(f(x, y).item(), (x * y).sum().item(), rel_tol=1e-6)
    assert len(calls) == 1 and len(f.graphs) == 1
    assert f.explain(verbose=False).calls == ["traced", "graph", "graph"]


def _recompile_reason(f, *calls):
    for args in calls:
        f(*args)
    return f.explain(verbose=False).recompiles


def test_guard_shape():
    f = minitorch.compile(lambda x: x.sum())
    r = _recompile_reason(f, (minitorch.randn(64, 3),), (minitorch.randn(32, 3),),
                          (minitorch.randn(32, 3),))
    assert r == ["argument 0 (x) size mismatch at dim 0: expected 64, got 32"]
    assert len(f.graphs) == 2


def test_guard_rank_dtype_device_requires_grad():
    f = minitorch.compile(lambda x: x * 2)
    r = _recompile_reason(f, (minitorch.randn(3),), (minitorch.randn(3, 1),),
                          (minitorch.randn(3, dtype=minitorch.float64),))
    assert r[0].startswith("argument 0 (x) dimension mismatch: expected 1 dims")
    assert r[1] == "argument 0 (x) dtype mismatch: expected float32, got float64"
    if "cudasim" in DEVICES:
        r = _recompile_reason(f, (minitorch.randn(3, device="cudasim"),))
        assert r[-1] == "argument 0 (x) device mismatch: expected cpu, got cudasim:0"
    with minitorch.no_grad():  # (with grad on, a forward-only graph of x * 2 runs eagerly)
        r = _recompile_reason(f, (minitorch.randn(3).requires_grad_(),))
    assert r[-1] == "argument 0 (x) requires_grad mismatch: expected False, got True"


def test_guard_python_scalar_and_structure():
    f = minitorch.compile(lambda xs, k: sum(xs) * k)
    a, b, c = minitorch.randn(2), minitorch.randn(2), minitorch.randn(2)
    r = _recompile_reason(f, ([a, b], 2.0), ([a, b], 3.0), ([a, b, c], 3.0))
    assert len(r) == 2 and all(x.startswith("argument structure or Python values changed")
                               for x in r)
    assert "2.0" in r[0] and "3.0" in r[0]
    assert f([a, b], 3.0).tolist() == ((a + b) * 3.0).tolist()


def test_guard_grad_mode_and_training_flag_and_lr():
    model, opt, step = _mlp_step()
    f = minitorch.compile(step)
    rng = np.random.default_rng(0)
    f(*_batch(rng))
    f(*_batch(rng))      # optimizer state now exists: retrace, then stable
    f(*_batch(rng))
    model.eval()
    f(*_batch(rng))
    model.train()
    opt.param_groups[0]["lr"] = 0.05
    f(*_batch(rng))
    r = f.explain(verbose=False).recompiles
    assert r[0] == "opt.state changed (the optimizer created or dropped per-parameter state)"
    assert "model.training changed: expected True, got False" in r
    assert "opt.param_groups[0]['lr'] changed: expected 0.1, got 0.05" in r
    g = minitorch.compile(lambda x: x * 2)
    g(minitorch.randn(2))
    with minitorch.no_grad():
        g(minitorch.randn(2))
    assert g.explain(verbose=False).recompiles == [
        "grad mode changed: expected enabled, got disabled"]


def test_guard_grad_presence_of_state():
    w = minitorch.randn(3, requires_grad=True)

    def f(x):
        (w * x).sum().backward()
        return w.grad * 1
    cf = minitorch.compile(f)
    cf(minitorch.ones(3))            # w.grad was None
    assert cf(minitorch.ones(3)).tolist() == [2.0, 2.0, 2.0]   # accumulates, like eager
    assert cf.explain(verbose=False).recompiles == ["w.grad: expected None, got a tensor [3]"]
    np.testing.assert_array_equal(_np(w.grad), [2.0, 2.0, 2.0])


def test_recompile_limit_then_eager_with_one_warning():
    f = minitorch.compile(lambda x: x + 1)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        for n in range(1, 12):
            assert f(minitorch.ones(n)).tolist() == [2.0] * n
    assert len(f.graphs) == 8
    msgs = [str(x.message) for x in w if "recompile limit" in str(x.message)]
    assert len(msgs) == 1 and "hit the recompile limit (8)" in msgs[0]
    assert "size mismatch at dim 0: expected 1, got 9" in msgs[0]  # against graph 0
    assert "recompile limit (8) reached" in str(f.explain(verbose=False))


def test_compile_rejects_unknown_backend_and_mode():
    with pytest.raises(ValueError, match="unknown backend 'tensorrt'"):
        minitorch.compile(lambda x: x, backend="tensorrt")
    with pytest.raises(ValueError, match="unknown mode 'fast'"):
        minitorch.compile(lambda x: x, mode="fast")


# -- compile: graph breaks ---------------------------------------------------------------------

BREAKS = {
    "item": lambda x: x * x.sum().item(),
    "bool": lambda x: x * 2 if x.sum() > 0 else x * 3,
    "tolist": lambda x: x * len([v for v in x.tolist() if v > 0]),
    "numpy": lambda x: x * float(x.numpy().sum()),
    "nonzero": lambda x: x[x > 0].sum(),
}


@pytest.mark.parametrize("kind", sorted(BREAKS))
def test_graph_break_runs_eagerly_and_explains(kind):
    fn = BREAKS[kind]
    f = minitorch.compile(fn)
    x = minitorch.randn(5)
    for _ in range(2):
        np.testing.assert_array_equal(_np(f(x)), _np(fn(x)))
    ex = f.explain(verbose=False)
    assert ex.graph_count == 0 and ex.graph_break_count == 1
    reason, src = ex.graph_breaks[0]
    word = "data-dependent output shape" if kind == "nonzero" else "read into Python"
    assert word in reason
    assert src.startswith("test_jit.py:") and src.endswith("<lambda>")
    assert ex.calls == ["traced", "eager"]
    assert f"graph break: {reason} at {src}" in str(ex)


@pytest.mark.parametrize("kind", sorted(BREAKS))
def test_fullgraph_raises_with_the_same_words(kind):
    f = minitorch.compile(BREAKS[kind], fullgraph=True)
    with pytest.raises(jit.GraphBreak) as e:
        f(minitorch.randn(5))
    msg = str(e.value)
    assert "with fullgraph=True the function must be captured whole" in msg
    assert "test_jit.py:" in msg


def test_forward_only_graph_with_grad_outputs_runs_eagerly():
    w = minitorch.randn(3, requires_grad=True)
    f = minitorch.compile(lambda x: (w * x).sum())
    out = f(minitorch.ones(3))
    out.backward()                       # eager: the autograd graph is there
    assert w.grad is not None
    assert "compiled graph does not record autograd" in f.explain(verbose=False).eager_reason


def test_step_counter_arithmetic_is_a_break_not_a_constant():
    """Adagrad computes with its step count in Python: that cannot be a constant."""
    minitorch.manual_seed(0)
    p = minitorch.randn(3, requires_grad=True)
    opt = minitorch.optim.Adagrad([p], lr=0.1, lr_decay=0.01)

    def step():
        opt.zero_grad()
        (p * p).sum().backward()
        opt.step()
    f = minitorch.compile(step)
    for _ in range(3):
        f()
    q = minitorch.tensor(p.detach().numpy())  # a replay must match eager exactly
    assert f.explain(verbose=False).graph_count <= 1
    minitorch.manual_seed(0)
    p2 = minitorch.randn(3, requires_grad=True)
    opt2 = minitorch.optim.Adagrad([p2], lr=0.1, lr_decay=0.01)
    for _ in range(3):
        opt2.zero_grad()
        (p2 * p2).sum().backward()
        opt2.step()
    np.testing.assert_array_equal(_np(q), _np(p2))


# -- whole training steps, 50 steps, compiled vs eager ---------------------------------------

class _CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1, bias=False)  # (BatchNorm follows)
        self.bn = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4 * 4 * 4, 3)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn(self.conv(x))), 2)
        return self.fc(x.flatten(1))


class _LSTM(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(11, 8)
        self.lstm = nn.LSTM(8, 12, batch_first=True)
        self.drop = nn.Dropout(0.2)
        self.fc = nn.Linear(12, 11)

    def forward(self, idx):
        h, _ = self.lstm(self.emb(idx))
        return self.fc(self.drop(h))


class _Block(nn.Module):
    def __init__(self, c, heads, t):
        super().__init__()
        self.heads = heads
        self.ln1, self.ln2 = nn.LayerNorm(c), nn.LayerNorm(c)
        # no bias on q, k, v: a key bias has an exactly zero gradient (softmax ignores a
        # constant shift), so AdamW would turn rounding noise into updates of that bias
        self.qkv, self.proj = nn.Linear(c, 3 * c, bias=False), nn.Linear(c, c)
        self.fc1, self.fc2 = nn.Linear(c, 4 * c), nn.Linear(4 * c, c)
        self.register_buffer("mask", minitorch.ones(t, t).tril() == 0)

    def forward(self, x):
        b, t, c = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(c, dim=2)
        q, k, v = (z.reshape(b, t, self.heads, c // self.heads).transpose(1, 2)
                   for z in (q, k, v))
        att = (q @ k.transpose(-2, -1)) / math.sqrt(c // self.heads)
        att = att.masked_fill(self.mask[:t, :t], float("-inf")).softmax(-1)
        y = (att @ v).transpose(1, 2).reshape(b, t, c)
        x = x + self.proj(y)
        return x + self.fc2(F.gelu(self.fc1(self.ln2(x))))


class _GPT(nn.Module):
    def __init__(self, vocab=11, c=16, heads=2, t=8, layers=2):
        super().__init__()
        self.tok, self.pos = nn.Embedding(vocab, c), nn.Embedding(t, c)
        self.blocks = nn.Sequential(*[_Block(c, heads, t) for _ in range(layers)])
        self.ln, self.head = nn.LayerNorm(c), nn.Linear(c, vocab)

    def forward(self, idx):
        t = idx.shape[1]
        x = self.tok(idx) + self.pos(minitorch.arange(t, device=idx.device))
        return self.head(self.ln(self.blocks(x)))


def _workload(name, device):
    """(model, optimizer, batch(rng) -> (x, y), loss(out, y))"""
    if name == "mlp":
        model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 4))
        opt = minitorch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        return model.to(device), opt, lambda rng: _batch(rng, 8, device), F.cross_entropy
    if name == "cnn":
        model = _CNN().to(device)
        opt = minitorch.optim.Adam(model.parameters(), lr=0.01)

        def batch(rng):
            x = rng.standard_normal((4, 1, 8, 8)).astype(np.float32)
            y = np.stack([x[:, 0, :4].sum((1, 2)), x[:, 0, 4:].sum((1, 2)), np.zeros(4)]).argmax(0)
            return minitorch.tensor(x, device=device), minitorch.tensor(y, device=device)
        return model, opt, batch, F.cross_entropy
    seq = (lambda out, y: F.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1)))
    model = (_LSTM() if name == "lstm" else _GPT()).to(device)
    opt = minitorch.optim.AdamW(model.parameters(), lr=0.01)

    def batch(rng):  # counting sequences: the next token is predictable
        idx = (rng.integers(0, 11, (2, 1)) + np.arange(9)) % 11
        return (minitorch.tensor(idx[:, :-1], device=device),
                minitorch.tensor(idx[:, 1:], device=device))
    return model, opt, batch, seq


def _train(name, compiled, device, steps, backend="interpret"):
    minitorch.manual_seed(0)
    model, opt, batch, loss_fn = _workload(name, device)

    def step(x, y):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss
    f = minitorch.compile(step, fullgraph=True, backend=backend) if compiled else step
    rng = np.random.default_rng(0)
    losses = [f(*batch(rng)).item() for _ in range(steps)]
    return losses, model, f


WORKLOADS = [("mlp", "cpu", 50), ("cnn", "cpu", 50), ("lstm", "cpu", 50), ("gpt", "cpu", 50)]
if "cudasim" in DEVICES:
    WORKLOADS += [("mlp", "cudasim", 20), ("cnn", "cudasim", 5), ("gpt", "cudasim", 5)]


_EAGER = {}


def _eager_run(name, device, steps):
    key = (name, device, steps)
    if key not in _EAGER:
        losses, model, _ = _train(name, False, device, steps)
        _EAGER[key] = (losses, {k: _np(v) for k, v in model.state_dict().items()})
    return _EAGER[key]


@pytest.mark.parametrize("backend", ["interpret", "inductor"])
@pytest.mark.parametrize("name,device,steps", WORKLOADS,
                         ids=[f"{n}-{d}" for n, d, _ in WORKLOADS])
def test_compiled_training_step_equals_eager(name, device, steps, backend):
    """The interpreter calls eager's primitives: bit for bit.  Fused kernels compute each op
    with the eager kernels' scalar functions, but on cpu transcendental functions come from
    the C library rather than NumPy's SIMD code: equal to 1e-5."""
    le, pe = _eager_run(name, device, steps)
    lc, mc, f = _train(name, True, device, steps, backend)
    ex = f.explain(verbose=False)
    assert ex.graph_count == 2, str(ex)       # first step (creates state), then the rest
    assert ex.calls.count("graph") == steps - 2
    if backend == "inductor":
        assert f.graphs[-1].kernels, "nothing fused"
    tol = 0 if backend == "interpret" else 1e-5
    np.testing.assert_allclose(lc, le, rtol=0, atol=tol)
    k = min(5, steps // 2)
    assert np.mean(le[-k:]) < np.mean(le[:k])  # it trains
    for n, pc in mc.state_dict().items():
        np.testing.assert_allclose(_np(pc), pe[n], rtol=0, atol=tol, err_msg=n)


def test_compiled_dropout_draws_fresh_masks_like_eager():
    _, _, step_e = _mlp_step(dropout=0.5)
    _, _, step_c = _mlp_step(dropout=0.5)
    f = minitorch.compile(step_c)
    rng_e, rng_c = np.random.default_rng(1), np.random.default_rng(1)
    minitorch.manual_seed(11)
    le = [step_e(*_batch(rng_e)).item() for _ in range(6)]
    minitorch.manual_seed(11)
    lc = [f(*_batch(rng_c)).item() for _ in range(6)]
    # (fused reductions accumulate in double: equal to the last bits; a stale mask would
    # change the loss in the first digits)
    np.testing.assert_allclose(lc, le, rtol=1e-6)
    assert len(set(le)) == 6


# -- save / load -------------------------------------------------------------------------------

def test_save_load_inference_graph_runs_without_the_model(tmp_path):
    minitorch.manual_seed(0)
    m = nn.Sequential(nn.Linear(3, 5), nn.GELU(), nn.LayerNorm(5), nn.Linear(5, 2))
    x = minitorch.randn(4, 3)
    with minitorch.no_grad():
        g = jit.trace(m, x)
        want = m(x)
    g.save(tmp_path / "g.mtg")
    del m
    h = jit.load(tmp_path / "g.mtg")
    assert str(h) == str(g)
    np.testing.assert_array_equal(_np(h(x)), _np(want))


def test_save_load_training_step_keeps_training_its_own_weights(tmp_path):
    model, _, step = _mlp_step()
    rng = np.random.default_rng(3)
    step(*_batch(rng))
    g = jit.trace(step, *_batch(rng))
    g.save(tmp_path / "step.mtg")
    h = jit.load(tmp_path / "step.mtg")
    r1, r2 = np.random.default_rng(9), np.random.default_rng(9)
    for _ in range(3):
        a = g(*_batch(r1))
        b = h(*_batch(r2))
        assert a.item() == b.item()
    for name, p in model.named_parameters(prefix="model"):
        np.testing.assert_array_equal(_np(h.state_tensors[name]), _np(p))


def _saved(tmp_path):
    g = jit.trace(lambda x: (x * 2).exp().sum(), minitorch.randn(3))
    path = tmp_path / "g.mtg"
    g.save(path)
    return path


def _rewrite_ir(path, edit):
    from safetensors import safe_open
    from safetensors.numpy import save_file
    with safe_open(str(path), framework="numpy") as f:
        meta = f.metadata()
        arrays = {k: f.get_tensor(k) for k in f.keys()}
    ir = json.loads(meta["minitorch.graph"])
    edit(ir)
    save_file(arrays, str(path), metadata={"minitorch.graph": json.dumps(ir)})


def test_load_rejects_corrupt_and_crafted_files(tmp_path):
    path = _saved(tmp_path)
    data = path.read_bytes()
    bad = tmp_path / "bad.mtg"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="not a minitorch graph file"):
        jit.load(bad)
    bad.write_bytes(os.urandom(200))
    with pytest.raises(ValueError, match="not a minitorch graph file"):
        jit.load(bad)
    bad.write_bytes(struct.pack("<Q", 2) + b"{}")
    with pytest.raises(ValueError, match="without a minitorch graph"):
        jit.load(bad)

    def op(ir):
        ir["nodes"][0][0] = "__class__"
    _rewrite_ir(path, op)
    with pytest.raises(ValueError, match="calls '__class__', which is not a backend primitive"):
        jit.load(path)
    path = _saved(tmp_path)

    def ref(ir):
        ir["nodes"][0][1] = {"tuple": [{"ref": 999}]}
    _rewrite_ir(path, ref)
    with pytest.raises(ValueError, match="names value 999, which does not exist"):
        jit.load(path)
    path = _saved(tmp_path)

    def check(ir):
        ir["nodes"][0] = ["check", {"tuple": ["os.system", "rm -rf /"]}, {}, [], "cpu", "", [],
                          None, []]
    _rewrite_ir(path, check)
    with pytest.raises(ValueError, match="unknown check"):
        jit.load(path)
    path = _saved(tmp_path)

    def fmt(ir):
        ir["format"] = "something/9"
    _rewrite_ir(path, fmt)
    with pytest.raises(ValueError, match="not a minitorch.graph/1 file"):
        jit.load(path)


def test_debug_level_prints_passes_and_recompiles(monkeypatch, capsys):
    monkeypatch.setenv("MINITORCH_DEBUG", "1")
    f = minitorch.compile(lambda x: x * 2)
    f(minitorch.randn(2))
    f(minitorch.randn(3))
    out = capsys.readouterr().out
    assert "[minitorch.compile] traced <lambda>: 1 nodes, 1 inputs, 0 state tensors" in out
    assert "[minitorch.jit] <lambda>: dce: removed 0 node(s)" in out
    assert "[minitorch.compile] recompiling <lambda>: argument 0 (x) size mismatch" in out


def test_lecture_example_two_layer_compiled():
    """examples/two_layer_compiled.py: the compiled step gives the eager losses, and the
    loss falls."""
    import importlib.util
    from pathlib import Path
    path = Path(__file__).resolve().parent.parent / "examples" / "two_layer_compiled.py"
    spec = importlib.util.spec_from_file_location("_example_two_layer_compiled", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    r = mod.main(steps=20, quiet=True)
    assert r["max_rel_diff"] < 1e-5
    assert r["eager"][-1] < 0.05 * r["eager"][0]
    assert r["launches"] < r["nodes_after"] <= r["nodes_before"] and r["kernels"]


def test_compile_a_module_and_a_method():
    minitorch.manual_seed(0)
    m = nn.Sequential(nn.Linear(3, 4), nn.ReLU())
    cm = minitorch.compile(m)
    x = minitorch.randn(2, 3)
    with minitorch.no_grad():
        for _ in range(2):
            np.testing.assert_array_equal(_np(cm(x)), _np(m(x)))
    assert len(cm.graphs) == 1 and cm._orig_mod is m and cm.training  # the module's attributes

    class Scaler:
        def __init__(self):
            self.k = minitorch.tensor([2.0, 3.0])

        @minitorch.compile
        def apply(self, x):
            return x * self.k
    s = Scaler()
    for _ in range(2):
        assert s.apply(minitorch.ones(2)).tolist() == [2.0, 3.0]
    s.k = minitorch.tensor([5.0, 7.0])              # attribute state reached through self
    assert s.apply(minitorch.ones(2)).tolist() == [5.0, 7.0]
    assert Scaler.apply.explain(verbose=False).recompiles == ["'arg0.k' is a different object now"]
