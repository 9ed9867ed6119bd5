"""minitorch.compiler beyond elementwise groups: reduction prologues and epilogues, matmul
epilogues, rematerialization, the vectorizable cpu math, race checks of the generated
kernels on cudasim.  The reference is the eager run (and torch, where it says what the
numbers should be)."""
from __future__ import annotations

import ctypes
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import minitorch
import minitorch.compiler as C
import minitorch.nn.functional as F
from minitorch import jit

import test_ops as OPS
from conftest import DEVICES
from test_jit import DATA_DEPENDENT

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _np(t):
    return t.detach().cpu().numpy()


def _close(got, want, rtol=1e-5, atol=1e-6):
    if isinstance(want, (tuple, list)):
        assert len(got) == len(want)
        for a, b in zip(got, want):
            _close(a, b, rtol, atol)
        return
    assert got.dtype == want.dtype and tuple(got.shape) == tuple(want.shape)
    np.testing.assert_allclose(_np(got), _np(want), rtol=rtol, atol=atol)


def _kinds(g):
    return [k.kind for k in g.kernels]


# -- the done-when graphs ------------------------------------------------------------------

def gelu(x):
    return 0.5 * x * (1 + minitorch.tanh(0.79788456 * (x + 0.044715 * x ** 3)))


def test_gelu_is_one_kernel(device):
    x = minitorch.randn(3000, device=device)
    g = C.fuse(jit.trace(gelu, x))
    assert [n.op for n in g.nodes] == ["fused"] and _kinds(g) == ["elementwise"]
    y = minitorch.randn(3000, device=device) * 4
    _close(g(y), gelu(y), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dim,keepdim", [(1, False), (0, True), (None, False), ((0, 2), False)])
def test_var_is_one_reduction_with_its_prologue(device, dim, keepdim):
    torch = pytest.importorskip("torch")
    x = minitorch.randn(6, 37, 5, device=device) * 3 + 1

    def f(t):
        return t.var() if dim is None else t.var(dim, keepdim=keepdim)
    g = C.fuse(jit.trace(f, x))
    # the mean (a sum with a division epilogue), then the one reduction of the squared
    # deviations: sub and mul are its prologue, the division by n - 1 its epilogue
    assert _kinds(g) == ["reduce", "reduce"], g.fusion
    sq = g.kernels[1]
    assert sq.name.startswith("fused_sum_of_mul_sub") and "_then_div" in sq.name, sq.name
    assert {n_op(n) for n in sq._group.prologue} >= {"sub", "mul"}
    assert all(n.op == "fused" for n in g.nodes), g       # nothing left unfused
    # x's float64 copy is recomputed in the second kernel instead of being stored
    assert "recomputes" in g.fusion[1] and len(g.kernels[0].outputs) == 1
    y = minitorch.randn(6, 37, 5, device=device) * 3 + 1
    got = g(y)
    _close(got, f(y), rtol=1e-6)
    tx = torch.from_numpy(_np(y))
    ref = tx.var() if dim is None else tx.var(dim, keepdim=keepdim)
    np.testing.assert_allclose(_np(got), ref.numpy(), rtol=1e-5)


def n_op(n):
    return n.args[0] if n.op in ("unary", "binary", "reduce") else n.op


@pytest.mark.parametrize("act", ["relu", "tanh", "sigmoid", "gelu_tanh"])
def test_matmul_bias_activation_is_an_epilogue_kernel(device, act):
    torch = pytest.importorskip("torch")
    w, b = minitorch.randn(24, 40, device=device), minitorch.randn(24, device=device)
    fn = {"relu": lambda h: h.relu(), "tanh": lambda h: h.tanh(),
          "sigmoid": lambda h: h.sigmoid(), "gelu_tanh": gelu}[act]

    def f(x):
        return fn(F.linear(x, w, b))
    x = minitorch.randn(33, 40, device=device)
    g = C.fuse(jit.trace(f, x))
    mm = [k for k in g.kernels if k.kind == "matmul"]
    assert len(mm) == 1 and len(g.kernels) == 1, g.fusion
    assert mm[0].name.startswith("fused_matmul_add"), mm[0].name
    assert [n.op for n in g.nodes] == ["permute", "fused"]
    x2 = minitorch.randn(33, 40, device=device)
    got = g(x2)
    _close(got, f(x2), rtol=1e-5, atol=1e-5)
    tw, tb, tx = (torch.from_numpy(_np(t)) for t in (w, b, x2))
    h = torch.nn.functional.linear(tx, tw, tb)
    ref = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid,
           "gelu_tanh": lambda t: torch.nn.functional.gelu(t, approximate="tanh")}[act](h)
    np.testing.assert_allclose(_np(got), ref.numpy(), rtol=1e-4, atol=1e-5)


def test_matmul_epilogue_writes_over_the_matmul_result_and_keeps_it_when_needed():
    w = minitorch.randn(5, 7)

    def f(x):
        m = x @ w
        return (m * 2).relu()
    x = minitorch.randn(3, 5)
    g = C.fuse(jit.trace(f, x))
    (k,) = g.kernels
    assert "out0[i] = " in k.source and "__restrict__ in0" not in k.source  # may alias

    def f2(x):
        m = x @ w
        return (m * 2).relu(), m       # the matmul's result is an output too: not in place
    g2 = C.fuse(jit.trace(f2, x))
    _close(g2(x), f2(x))
    a, m = g2(x)
    assert not np.shares_memory(_np(a), _np(m))


# -- reductions: every kind, axis, layout --------------------------------------------------

def _red_cases():
    out = []
    for op in ("sum", "prod", "amax", "amin", "mean"):
        for dims in ((1,), (0,), (0, 2), (-1,), (0, 1, 2)):
            out.append((op, dims))
    return out


@pytest.mark.parametrize("op,dims", _red_cases(), ids=lambda v: str(v))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_reduction_prologue_and_epilogue_equal_eager(device, op, dims, dtype):
    dt = getattr(minitorch, dtype)
    x = minitorch.randn(4, 9, 6, device=device, dtype=dt)
    s = minitorch.randn(9, 1, device=device, dtype=dt)   # broadcast in the prologue
    e = minitorch.rand(6, device=device, dtype=dt) + 1    # ... and in the epilogue

    def f(t):
        pro = (t * s - 0.25).sigmoid() * 1.5 if op == "prod" else (t * s).tanh() + t
        r = getattr(pro, op)(dim=dims, keepdim=True)
        return (r * e + 1).sqrt() if 2 not in [d % 3 for d in dims] else r.exp() * 0.5
    g = C.fuse(jit.trace(f, x))
    assert "reduce" in _kinds(g), g.fusion
    k = g.kernels[_kinds(g).index("reduce")]
    assert k._group.prologue and k._group.epilogue
    y = minitorch.randn(4, 9, 6, device=device, dtype=dt)
    _close(g(y), f(y), rtol=1e-5 if dtype == "float32" else 1e-12, atol=1e-6)
    # a transposed (strided) input reads through meta strides
    yt = minitorch.randn(6, 9, 4, device=device, dtype=dt).permute(2, 1, 0)
    _close(g(yt), f(yt), rtol=1e-5 if dtype == "float32" else 1e-12, atol=1e-6)


def test_max_min_propagate_nan_and_inf_like_eager(device):
    def f(t):
        return (t * 2).amax(1), (t - 1).amin(0), (t + 0).sum(1)
    x = minitorch.randn(5, 8, device=device)
    g = C.fuse(jit.trace(f, x))
    assert _kinds(g).count("reduce") == 3
    a = np.random.default_rng(0).standard_normal((5, 8)).astype(np.float32)
    a[1, 3] = np.nan
    a[2, :] = -np.inf
    a[3, 5] = np.inf
    y = minitorch.tensor(a, device=device)
    for got, want in zip(g(y), f(y)):
        np.testing.assert_array_equal(_np(got), _np(want))


def test_softmax_exp_sum_and_logsumexp_fuse_their_prologues(device):
    torch = pytest.importorskip("torch")

    def f(t):
        e = (t - t.amax(1, keepdim=True)).exp()
        return e / e.sum(1, keepdim=True), minitorch.logsumexp(t, 1)
    x = minitorch.randn(7, 300, device=device) * 5
    g = C.fuse(jit.trace(f, x))
    names = [k.name for k in g.kernels]
    assert any(n.startswith("fused_sum_of_exp_sub") for n in names), g.fusion
    got = g(x)
    _close(got, f(x), rtol=1e-5, atol=1e-7)
    tx = torch.from_numpy(_np(x))
    np.testing.assert_allclose(_np(got[0]), torch.softmax(tx, 1).numpy(), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(_np(got[1]), torch.logsumexp(tx, 1).numpy(), rtol=1e-5)


def test_a_reduction_kernel_also_emits_prologue_values_needed_elsewhere(device):
    def f(t):
        sq = (t - 1) * (t - 1)
        return sq.sum(1), sq    # sq is returned: the reduction kernel writes it too
    x = minitorch.randn(6, 50, device=device)
    g = C.fuse(jit.trace(f, x))
    red = g.kernels[0]
    assert red.kind == "reduce"
    assert any(tuple(s) == (6, 50) for s in red.out_shapes)
    _close(g(x), f(x))


def test_an_output_shaped_group_merged_into_a_reduction_runs_in_its_epilogue(device):
    """A value of the output's shape computed before the reduction (``a * b`` here) whose
    group merges into the reduction's: its nodes are epilogue nodes, once per output -- as
    the prologue they were emitted inside the reduced loop, out of the epilogue's scope (a
    compile error found by max()'s backward, ``g / mask.sum()``)."""
    def f(t, a, b):
        c = a * b
        return c / (t > 0.5).to(t.dtype).sum(1)
    x = minitorch.randn(6, 7, device=device, dtype=minitorch.float64)
    a = minitorch.randn(6, device=device, dtype=minitorch.float64)
    b = minitorch.randn(6, device=device, dtype=minitorch.float64)
    g = C.fuse(jit.trace(f, x, a, b))
    red = [k for k in g.kernels if k.kind == "reduce"]
    assert len(red) == 1
    assert [n_.args[0] for n_ in red[0]._group.epilogue] == ["mul", "div"], g.fusion
    y = minitorch.randn(6, 7, device=device, dtype=minitorch.float64)
    _close(g(y, a, b), f(y, a, b), rtol=1e-12, atol=1e-12)


def test_long_rows_and_many_outputs_on_cuda_block_tree(device):
    """More reduced elements than threads in a block, and more outputs than blocks per
    launch do not matter: threads stride over r, blocks over outputs."""
    def f(t):
        return (t * t).sum(1) / 3.0
    x = minitorch.randn(3, 5000, device=device)
    g = C.fuse(jit.trace(f, x))
    _close(g(x), f(x), rtol=1e-5)
    x2 = minitorch.randn(70000, 3, device=device)
    g2 = C.fuse(jit.trace(f, x2))
    _close(g2(x2), f(x2), rtol=1e-5)


# -- explanations ----------------------------------------------------------------------------

def test_every_group_says_why_it_ended_and_debug_prints_it(monkeypatch, capsys):
    monkeypatch.setenv("MINITORCH_DEBUG", "1")
    w = minitorch.randn(8, 8)

    def f(x):
        h = (x @ w + 1).relu()              # matmul epilogue, ended by the reduction
        return (h * h).sum(1).sqrt()
    x = minitorch.randn(4, 8)
    g = C.fuse(jit.trace(f, x))
    out = capsys.readouterr().out
    assert len(g.fusion) == len(g.kernels) == 2
    for line in g.fusion:
        assert "group ended: " in line and f"[minitorch.compiler] f: {line}" in out
    assert "matmul + 3 epilogue op(s)" in g.fusion[0]      # add, relu and h * h
    assert "reduce sum reads its result" in g.fusion[0]
    assert "reduction sum with" in g.fusion[1]
    k = g.kernels[1]
    first = k.source.splitlines()[0]
    assert first.startswith(f"// {k.name}: a sum reduction") and "test_fusion.py:" in first


# -- rematerialization ------------------------------------------------------------------------

def test_cheap_value_is_recomputed_in_its_reader_instead_of_stored(device):
    def f(x):
        t = (x * 3).tanh()
        return t.sum(1), (t * t + x).exp()   # the second kernel needs t again
    x = minitorch.randn(4, 16, device=device)
    g = C.fuse(jit.trace(f, x))
    assert len(g.kernels) == 2
    assert len(g.kernels[0].outputs) == 1            # only the sum: t is not stored
    assert "recomputes" in g.fusion[1] and "is recomputed" in g.fusion[0]
    _close(g(x), f(x))


def test_no_recompute_from_an_input_that_was_written_in_between():
    def f(x, buf):
        t = (buf * 3).tanh()
        s = t.sum()
        buf.add_(1)                          # buf changes: t must not be recomputed from it
        return s, (t * 2).exp()
    x, buf = minitorch.randn(4), minitorch.randn(4)
    g = C.fuse(jit.trace(f, x, buf.clone()))
    assert not any("recomputes" in line for line in g.fusion)
    b1, b2 = buf.clone(), buf.clone()
    _close(g(x, b1), f(x, b2))
    np.testing.assert_array_equal(_np(b1), _np(b2))


# -- every op of the recipe, forward and backward, fused ----------------------------------------

GRAD_CASES = [c for c in OPS.CASES if c.grad and c.name not in DATA_DEPENDENT]


@pytest.mark.parametrize("case", GRAD_CASES, ids=lambda c: c.name)
def test_recipe_gradients_traced_and_fused_equal_eager(case, device):
    """Forward and backward in one graph, fused (reductions, epilogues and recomputation
    included): equal to eager in float64."""
    def f(*ts):
        ins = [t.detach().requires_grad_(k not in case.int_inputs) for k, t in enumerate(ts)]
        out = case.fn(minitorch, *ins)
        w = minitorch.linspace(-1.0, 2.0, max(out.numel(), 1), dtype=out.dtype,
                               device=out.device)[:out.numel()].reshape(out.shape)
        diff = [t for k, t in enumerate(ins) if k not in case.int_inputs]
        grads = minitorch.autograd.grad((out * w).sum(), diff, allow_unused=True)
        return (out.detach(),) + tuple(g for g in grads if g is not None)

    mts, _ = OPS._inputs(case, device, np.float64, np.random.default_rng(2), False)
    g = C.fuse(jit.trace(f, *mts))
    _KINDS.update(_kinds(g))
    mts2, _ = OPS._inputs(case, device, np.float64, np.random.default_rng(8), False)
    got, want = g(*mts2), f(*mts2)
    assert len(got) == len(want)
    for a, b in zip(got, want):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_allclose(_np(a), _np(b), rtol=1e-10, atol=1e-12)


_KINDS: set = set()


def test_the_recipe_exercises_every_fusion_kind():
    """(Runs after the recipe above: its graphs held every kind of kernel.)"""
    if not _KINDS:
        pytest.skip("run together with the recipe test")
    assert _KINDS >= {"elementwise", "reduce", "matmul"}, _KINDS


# -- the vectorizable cpu math ------------------------------------------------------------------

_MATH_SRC = r"""
#include "elementwise.cu"
#include "cpu_math.h"
extern "C" void mt_math_probe(long long n, int op, const float* __restrict__ x,
                              float* __restrict__ y) {
    if (op == 0) {
        #pragma omp simd
        for (long long i = 0; i < n; ++i) y[i] = unary_apply<UOP_EXP, float>(x[i]);
    } else if (op == 1) {
        #pragma omp simd
        for (long long i = 0; i < n; ++i) y[i] = unary_apply<UOP_TANH, float>(x[i]);
    } else {
        #pragma omp simd
        for (long long i = 0; i < n; ++i) y[i] = unary_apply<UOP_SIGMOID, float>(x[i]);
    }
}
"""


def _ulps(got, ref64):
    """Distance in float32 ULPs between got and the float64 reference rounded to float32
    (equal NaNs: 0)."""
    with np.errstate(over="ignore"):
        ref = ref64.astype(np.float32)
    same = (got == ref) | (np.isnan(got) & np.isnan(ref))

    def ordered(a):
        i = a.view(np.int32).astype(np.int64)
        return np.where(i < 0, -(i & 0x7fffffff), i)
    return np.where(same, 0, np.abs(ordered(got) - ordered(ref)))


def test_cpu_fast_exp_tanh_sigmoid_are_within_a_few_ulp_over_the_float_range():
    from minitorch.compiler import codegen as CG, kernels as K
    if K.host_compiler() is None:
        pytest.skip("no host C++ compiler")
    fn = K._build_cpp("mt_math_probe", CG.HOST_PRELUDE + _MATH_SRC)
    fn.argtypes = [ctypes.c_int64, ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]
    # every 1024th bit pattern (both signs, denormals, inf and NaN patterns included) ...
    bits = np.arange(0, 2 ** 32, 1024, dtype=np.uint64).astype(np.uint32) + np.uint32(517)
    edge = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, -1e-45, 1.17549435e-38,
                     -3e-39, 88.72, 88.7228, 88.73, 89.5, -87.3, -103.9, -104.5, -150.0,
                     0.625, -0.625, 0.62499994, 9.0, 20.0, -20.0, 1e-20], np.float32)
    x = np.concatenate([bits.view(np.float32), edge])
    x64 = x.astype(np.float64)
    with np.errstate(all="ignore"):
        e = np.exp(x64)
        refs = {"exp": e, "tanh": np.tanh(x64),
                "sigmoid": np.where(x64 >= 0, 1 / (1 + np.exp(-x64)), e / (1 + e))}
    y = np.empty_like(x)
    for op, name in enumerate(["exp", "tanh", "sigmoid"]):
        fn(x.size, op, x.ctypes.data, y.ctypes.data)
        d = _ulps(y, refs[name])
        worst = int(np.argmax(d))
        assert d.max() <= 3, (name, x[worst], y[worst], refs[name][worst])
        ok = ~np.isnan(y)
        assert np.array_equal(np.isnan(y), np.isnan(refs[name]))
        with np.errstate(over="ignore"):
            assert np.array_equal(np.signbit(y[ok]), np.signbit(refs[name][ok].astype(np.float32)))
    # the generated loops around them vectorize (GCC reports it)
    if "g++" in os.path.basename(K.host_compiler()) or "c++" in os.path.basename(K.host_compiler()):
        import tempfile
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "probe.cpp")
            open(p, "w").write(CG.HOST_PRELUDE + _MATH_SRC)
            from minitorch.backends.runtime.base import KERNELS_DIR
            r = subprocess.run([K.host_compiler(), *[f for f in K._FLAGS if f != "-shared"],
                                "-I" + KERNELS_DIR, "-I" + K._HERE, "-c", p, "-o",
                                os.path.join(d, "probe.o"), "-fopt-info-vec-optimized"],
                               capture_output=True, text=True)
            if "loop vectorized" not in r.stderr and "clang" not in r.stderr:
                pytest.fail("the cpu math loops were not vectorized:\n" + r.stderr[-2000:])


def test_fused_float32_transcendentals_on_cpu_match_eager_at_1e5():
    def f(x):
        return (x * 1.5).exp() * 0.001 + (x - 0.5).tanh() + (x * 2).sigmoid()
    x = minitorch.randn(100_000) * 6
    g = C.fuse(jit.trace(f, x))
    assert len(g.kernels) == 1
    assert "cpu_math.h: vectorizable" in g.kernels[0].source
    _close(g(x), f(x), rtol=1e-5, atol=1e-6)


# -- race checks of the generated kernels on cudasim -----------------------------------------------

_RACE_SCRIPT = textwrap.dedent("""
    import sys
    sys.path.insert(0, {root!r}); sys.path.insert(0, {tests!r})
    import numpy as np, minitorch
    import minitorch.compiler as C
    import minitorch.nn.functional as F
    from minitorch import jit
    from minitorch.device import canonical
    rt = canonical("cudasim")._be.runtime
    # the eager kernels (tracing, the reference) load their usual builds from the cache; only
    # the generated kernels, built at their first call below, get the ASan build
    asan, rt.asan = rt.asan, False
    d = "cudasim"
    w, b = minitorch.randn(9, 40, device=d), minitorch.randn(9, device=d)
    def f(x):
        h = F.linear(x, w, b).tanh()
        v = x.var(1)
        e = (x - x.amax(1, keepdim=True)).exp()
        return h, v, e / e.sum(1, keepdim=True), (x * x).sum(0) * 2, (x * 0.5 + 1).tanh() * x
    x = minitorch.randn(33, 40, device=d)
    g = C.fuse(jit.trace(f, x))
    kinds = sorted({{k.kind for k in g.kernels}})
    assert kinds == ["elementwise", "matmul", "reduce"], kinds
    want = [t.cpu().numpy() for t in f(x)]
    rt.asan = asan
    from minitorch.compiler import kernels as K
    built = K.stats["built"]
    for seed in {seeds!r}:
        rt.seed = seed
        got = [t.cpu().numpy() for t in g(x)]
        for a, b in zip(got, want):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert K.stats["built"] - built == len(g.kernels), (K.stats["built"], built, len(g.kernels))
    print("ok", kinds, "asan", rt.asan)
""")


def _cudasim_run(seeds, asan):
    env = dict(os.environ)   # (the usual cache: the eager kernels are built already)
    env.pop("MINITORCH_DEBUG", None)
    if asan:
        from test_cudasim_shim import _libasan
        lib = _libasan()
        if lib is None:
            pytest.skip("no libasan for this compiler")
        env.update(MINITORCH_CUDASIM_ASAN="1", LD_PRELOAD=lib, ASAN_OPTIONS="detect_leaks=0")
    else:
        env.pop("MINITORCH_CUDASIM_ASAN", None)
    script = _RACE_SCRIPT.format(root=ROOT, tests=os.path.join(ROOT, "tests"), seeds=seeds)
    return subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                          text=True, timeout=600)


@pytest.mark.skipif("cudasim" not in DEVICES, reason="no cudasim")
def test_generated_kernels_pass_shuffled_thread_orders():
    r = _cudasim_run([0, 1, 7, 12345, "sequential"], False)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "ok" in r.stdout and "asan False" in r.stdout


@pytest.mark.skipif("cudasim" not in DEVICES, reason="no cudasim")
def test_generated_kernels_pass_the_asan_build():
    r = _cudasim_run([3], True)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "ok" in r.stdout and "asan True" in r.stdout


def test_a_reshape_traced_as_a_view_still_runs_when_fusion_changes_the_layout(device):
    # eager keeps a transposed input's layout through elementwise ops, so y.t() is contiguous
    # and its reshape a view; the fused kernel writes y contiguous, so at replay the same
    # reshape cannot be a view (the compiled CNN step hit this: ReLU's backward after a conv)
    def f(x):
        y = (x.t() * 2.0).relu()
        return y.t().reshape(-1) * 3.0

    x = minitorch.randn(4, 3, device=device)
    g = C.fuse(jit.trace(f, x))
    assert any(n.op == "reshape" for n in g.nodes)
    x2 = minitorch.randn(4, 3, device=device)
    np.testing.assert_allclose(g(x2).cpu().numpy(), f(x2).cpu().numpy(), rtol=1e-6)
