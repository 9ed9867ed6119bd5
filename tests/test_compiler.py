"""minitorch.compiler: the fusion pass and generated kernels on cpu (C++) and cudasim
(CUDA C through the simulator).  The reference is the eager run."""
from __future__ import annotations

import glob
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import minitorch
import minitorch.compiler as C
from minitorch import jit

import test_ops as OPS
from test_jit import DATA_DEPENDENT

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _np(t):
    return t.detach().cpu().numpy()


def gelu(x):
    return 0.5 * x * (1 + minitorch.tanh(0.79788456 * (x + 0.044715 * x ** 3)))


@pytest.mark.parametrize("case", [c for c in OPS.CASES if c.name not in DATA_DEPENDENT],
                         ids=lambda c: c.name)
def test_recipe_traced_and_fused_equals_eager(case, device):
    def f(*ts):
        return case.fn(minitorch, *ts)
    mts, _ = OPS._inputs(case, device, np.float64, np.random.default_rng(1), False)
    g = C.fuse(jit.trace(f, *mts))
    mts2, _ = OPS._inputs(case, device, np.float64, np.random.default_rng(7), False)
    got, want = g(*mts2), f(*mts2)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_allclose(_np(got), _np(want), rtol=1e-12, atol=1e-12)


def test_gelu_is_one_kernel_named_after_what_it_fuses(device):
    x = minitorch.randn(1000, device=device)
    g = C.fuse(jit.trace(gelu, x))
    assert [n.op for n in g.nodes] == ["fused"]
    (k,) = g.kernels
    assert k.name == "fused_mul_pow_mul_add_mul_tanh_add_mul" and k.ops == 8
    assert k.source.startswith("// fused_mul_pow_mul_add_mul_tanh_add_mul: 8 elementwise ops")
    assert "test_compiler.py:" in k.source.splitlines()[0]     # the source line it came from
    assert "unary_apply<UOP_TANH, float>" in k.source
    assert g.fusion == ["fused_mul_pow_mul_add_mul_tanh_add_mul: 8 nodes -> 1 kernel, 1 "
                        "input(s), 1 output(s); group ended: the graph ended"]
    y = minitorch.randn(1000, device=device)
    np.testing.assert_allclose(_np(g(y)), _np(gelu(y)), rtol=2e-6, atol=1e-7)


def test_groups_end_where_a_result_is_needed_and_emit_shared_values():
    w = minitorch.randn(4, 4)

    def f(x):
        h = (x * 2 + 1).relu()          # group 1 ...
        m = h @ w                       # ... ends: matmul reads h
        return m.sigmoid() * 3, h.exp()  # group 2 (m's epilogue) and group 3 reads h
    x = minitorch.randn(4, 4)
    g = C.fuse(jit.trace(f, x))
    assert [n.op for n in g.nodes] == ["fused", "matmul", "fused"] or \
        [n.op for n in g.nodes].count("fused") >= 2
    first = g.fusion[0]
    assert first.startswith("fused_mul_add_relu: 3 nodes -> 1 kernel")
    assert "group ended: matmul reads its result" in first
    x2 = minitorch.randn(4, 4)
    for a, b in zip(g(x2), f(x2)):
        np.testing.assert_allclose(_np(a), _np(b), rtol=1e-6)


def test_broadcast_and_strided_inputs(device):
    b = minitorch.randn(5, device=device)

    def f(x, y):
        return (x * b + y.t()).tanh() - 1.5
    x, y = minitorch.randn(3, 5, device=device), minitorch.randn(5, 3, device=device)
    g = C.fuse(jit.trace(f, x, y))
    assert len(g.kernels) == 1
    np.testing.assert_allclose(_np(g(x, y)), _np(f(x, y)), rtol=1e-6, atol=1e-7)
    assert "s" in next(iter(g.kernels[0]._sources))       # the transposed input: strided


def test_int_bool_and_cast_chains(device):
    def f(a, x):
        k = (a * 3 + 1) % 7              # int64 arithmetic
        m = (k > 2) & (x > 0)            # comparisons and logic
        return minitorch.where(m, x, -x).double() + k.to(minitorch.float64)
    a = minitorch.randint(0, 10, (6,), device=device)
    x = minitorch.randn(6, device=device)
    g = C.fuse(jit.trace(f, a, x))
    assert g.kernels
    a2 = minitorch.randint(0, 10, (6,), device=device)
    np.testing.assert_array_equal(_np(g(a2, x)), _np(f(a2, x)))


def test_writes_and_random_draws_close_groups():
    def f(x):
        y = (x * 2).exp()
        r = minitorch.rand(3)            # a draw: the group before it closes
        z = (y + r).sin() * 2
        buf = minitorch.zeros(3)
        buf += z                         # a write
        return buf * 3 + 1
    x = minitorch.randn(3)
    g = C.fuse(jit.trace(f, x))
    assert any("writes memory or draws numbers" in line for line in g.fusion)
    minitorch.manual_seed(5)
    want = f(x)
    minitorch.manual_seed(5)
    # sin of exp's float32 result: a 1-ulp difference in exp moves sin by ~1e-6
    np.testing.assert_allclose(_np(g(x)), _np(want), rtol=1e-5, atol=1e-5)


def test_compile_inductor_fuses_and_debug_prints_groups_and_source(monkeypatch, capsys):
    monkeypatch.setenv("MINITORCH_DEBUG", "3")
    f = minitorch.compile(gelu)
    x = minitorch.randn(64)
    f(x)
    out = capsys.readouterr().out
    assert "[minitorch.compiler] gelu: fused_mul_pow_mul_add_mul_tanh_add_mul: 8 nodes" in out
    f(x)
    out = capsys.readouterr().out
    assert 'extern "C" void fused_mul_pow_mul_add_mul_tanh_add_mul(' in out
    assert f.graphs[0].kernels[0].source in out


def test_a_fused_graph_saves_its_ir(tmp_path):
    x = minitorch.randn(8)
    g = C.fuse(jit.trace(gelu, x))
    g.save(tmp_path / "g.mtg")
    h = jit.load(tmp_path / "g.mtg")
    assert [n.op for n in h.nodes] == [n.op for n in g.unfused.nodes]
    np.testing.assert_allclose(_np(h(x)), _np(gelu(x)), rtol=1e-6)


def test_compiled_fused_training_step_on_cudasim_equals_eager():
    if "cudasim" not in OPS.DEVICES:
        pytest.skip("no cudasim")
    from test_jit import _train
    le, _, _ = _train("mlp", False, "cudasim", 6)
    lc, _, f = _train("mlp", True, "cudasim", 6, backend="inductor")
    assert f.graphs[-1].kernels
    np.testing.assert_allclose(lc, le, rtol=0, atol=1e-6)


def test_damaged_cached_kernels_are_rebuilt_not_loaded(tmp_path):
    """A truncated or foreign library in the fused-kernel cache is rebuilt; run in a
    subprocess so that loading a damaged file would fail this test, not kill pytest."""
    cache = tmp_path / "cache"
    script = textwrap.dedent(f"""
        import sys, glob, os
        sys.path.insert(0, {ROOT!r})
        import numpy as np, minitorch
        import minitorch.compiler as C
        from minitorch import jit
        def gelu(x):
            return 0.5 * x * (1 + minitorch.tanh(0.79788456 * (x + 0.044715 * x ** 3)))
        x = minitorch.randn(100)
        g = C.fuse(jit.trace(gelu, x))
        np.testing.assert_allclose(g(x).numpy(), gelu(x).numpy(), rtol=2e-6, atol=1e-7)
        print("built", C.kernels.stats["built"])
    """)
    env = dict(os.environ, MINITORCH_CACHE=str(cache))
    run = lambda: subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                                 text=True, timeout=120)
    r = run()
    assert r.returncode == 0, r.stderr
    libs = [p for p in glob.glob(str(cache / "**" / "fused_*.so"), recursive=True)]
    assert libs, os.listdir(cache)
    lib = libs[0]
    data = open(lib, "rb").read()
    open(lib, "wb").write(data[: len(data) // 3])          # truncated
    r = run()
    assert r.returncode == 0, r.stderr
    other = sorted(glob.glob(os.path.join(os.path.dirname(np.__file__), "**", "*.so"),
                             recursive=True))[0]
    for p in glob.glob(str(cache / "**" / "fused_*.so"), recursive=True):
        open(p, "wb").write(open(other, "rb").read())      # a foreign (valid) library
    r = run()
    assert r.returncode == 0, r.stderr
