"""The fused kernel primitives (kernels/matmul.cu, softmax.cu, conv.cu, optim.cu through
backends/kernel/matmul.py, softmax.py, conv.py, optim.py) on the simulator against the NumPy reference backend.

Sizes are small (the simulator runs every GPU thread as a fiber) but chosen so that every
code path of the kernels runs: matmul shapes that are not multiples of the 128x128 / 64x64
tiles or of BK = 8, misaligned and strided operands (scalar-load fallback), K = 1 and
K = 0, batch broadcasting; softmax rows for the warp-per-row, block-per-row, strided and
transposed variants, with -inf / +inf / NaN / huge values; every stride, padding,
dilation and ceil_mode combination of the window kernels; every option of the optimizer
updates, compared bit for bit.
"""
from __future__ import annotations

import itertools
import os
import subprocess
import sys

import numpy as np
import pytest

import minitorch
from minitorch.backends.cpu import CpuBackend
from minitorch.device import is_available

if not is_available("cudasim"):
    pytest.skip("device cudasim is not available (no C++ compiler)", allow_module_level=True)

from minitorch.backends.runtime.cudasim import CudasimRuntime  # noqa: E402
from minitorch.backends.kernel import KernelBackend  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CPU = CpuBackend()


@pytest.fixture(scope="module")
def kb():
    return KernelBackend(CudasimRuntime())


def _rand(rng, shape, dt, scale=3.0):
    if np.dtype(dt) == np.bool_:
        return rng.random(shape) < 0.5
    a = rng.standard_normal(shape) * scale
    return a.astype(dt) if np.dtype(dt).kind == "f" else np.round(a).astype(dt)


def _close(r, e, dt, k=1):
    assert r.shape == e.shape and r.dtype == e.dtype, (r.shape, e.shape, r.dtype, e.dtype)
    if np.dtype(dt).kind == "f":
        tol = 1e-5 if np.dtype(dt) == np.float32 else 1e-12
        np.testing.assert_allclose(r, e, rtol=tol * max(1, k) ** 0.5 * 4,
                                   atol=tol * max(1, k) ** 0.5 * 10)
    else:
        np.testing.assert_array_equal(r, e)


# -- matmul ------------------------------------------------------------------------------

MM_SHAPES = [
    ((5, 7), (7, 3)),              # smaller than one tile
    ((130, 37), (37, 131)),        # two row and column tiles, K not a multiple of 8
    ((64, 8), (8, 64)),            # exactly one double tile
    ((3, 1), (1, 4)),              # K = 1
    ((4, 0), (0, 3)),              # K = 0: zeros
    ((0, 5), (5, 3)),              # empty
    ((2, 1, 33, 17), (3, 17, 65)),  # broadcast batch dims
    ((4, 70, 9), (9, 5)),          # batch folded into the rows of one GEMM
    ((2, 3, 4, 6), (2, 1, 6, 5)),  # B broadcast over one batch dim only
    ((6, 10), (4, 10, 7)),         # A broadcast over the batch
]


@pytest.mark.parametrize("dt", [np.float32, np.float64, np.int32, np.int64, np.bool_])
@pytest.mark.parametrize("sa,sb", MM_SHAPES, ids=[f"{a}@{b}" for a, b in MM_SHAPES])
def test_matmul(kb, dt, sa, sb):
    rng = np.random.default_rng(0)
    a, b = _rand(rng, sa, dt), _rand(rng, sb, dt)
    _close(kb.matmul(a, b), CPU.matmul(a, b), dt, sa[-1])


@pytest.mark.parametrize("dt", [np.float32, np.float64, np.int64])
def test_matmul_strided_and_misaligned_operands(kb, dt):
    rng = np.random.default_rng(1)
    a, b = _rand(rng, (41, 30), dt), _rand(rng, (50, 30), dt)
    _close(kb.matmul(a, b.T), CPU.matmul(a, b.T), dt, 30)          # transposed B
    _close(kb.matmul(b[:, :29], a[:29]), CPU.matmul(b[:, :29], a[:29]), dt, 29)  # lda = 30
    big = _rand(rng, (70, 45), dt)
    sub_a = big[3:60, 1:34]     # row stride 45 (not a multiple of 4), offset by one element
    sub_b = big[5:38, 2:41]
    _close(kb.matmul(sub_a, sub_b), CPU.matmul(sub_a, sub_b), dt, 33)
    ex = np.broadcast_to(_rand(rng, (1, 9), dt), (12, 9))  # row stride 0
    w = _rand(rng, (9, 6), dt)
    _close(kb.matmul(ex, w), CPU.matmul(ex, w), dt, 9)
    # three batch dims that cannot be merged: the contiguous fallback
    a3 = _rand(rng, (3, 4, 2, 5, 6), dt).transpose(1, 0, 2, 3, 4)   # batch (4, 3, 2)
    b3 = _rand(rng, (2, 3, 6, 7), dt).transpose(1, 0, 2, 3)[None]   # batch (1, 3, 2)
    _close(kb.matmul(a3, b3), CPU.matmul(a3, b3), dt, 6)


# -- softmax -------------------------------------------------------------------------------

SM_CASES = [((6, 7), 1), ((3, 1500), 1), ((5, 33), 0), ((2, 300, 3), 1), ((3, 40, 50), 1),
            ((9,), 0), ((), 0), ((2, 0, 3), 2), ((4, 2, 1), -1)]


def _specials(x, rng):
    x = x.copy()
    if x.ndim == 2 and x.shape[0] >= 3:
        x[0, ::3] = -np.inf       # some -inf entries
        x[1, :] = -np.inf         # a row that is all -inf
        x[2, 1] = np.inf          # +inf
    if x.size > 8:
        x.flat[7] = np.nan
    return x


@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("shape,axis", SM_CASES, ids=[f"{s}-{a}" for s, a in SM_CASES])
@pytest.mark.parametrize("fn", ["softmax", "log_softmax"])
def test_softmax(kb, dt, shape, axis, fn):
    rng = np.random.default_rng(2)
    x = _rand(rng, shape, dt, scale=5.0)
    _close(getattr(kb, fn)(x, axis), getattr(CPU, fn)(x, axis), dt)
    if x.ndim:
        xs = _specials(x, rng)
        np.testing.assert_allclose(getattr(kb, fn)(xs, axis), getattr(CPU, fn)(xs, axis),
                                   rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dt", [np.float32, np.float64])
def test_softmax_large_values(kb, dt):
    big = 1e30 if dt == np.float32 else 1e300
    x = np.array([[big, big / 2, -big, 0.0], [1e4, 1e4 + 1, 1e4 - 3, 1e4]], dt)
    for fn in ("softmax", "log_softmax"):
        np.testing.assert_allclose(getattr(kb, fn)(x, 1), getattr(CPU, fn)(x, 1), rtol=1e-6)


# -- cross-entropy ---------------------------------------------------------------------------

@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("n,c", [(9, 13), (4, 1500), (1, 1), (0, 5)])
@pytest.mark.parametrize("ignore", [-100, 2])
def test_cross_entropy(kb, dt, n, c, ignore):
    rng = np.random.default_rng(3)
    x = _rand(rng, (n, c), dt)
    t = rng.integers(0, c, n).astype(np.int64)
    t[::3] = ignore if ignore < 0 or ignore < c else 0
    if n > 2 and c > 3:
        x[2, 3] = -np.inf
    loss, lse = kb.cross_entropy(x, t, ignore)
    eloss, else_ = CPU.cross_entropy(x, t, ignore)
    _close(loss, eloss, dt, c)
    _close(lse, else_, dt, c)
    g = _rand(rng, (n,), dt)
    _close(kb.cross_entropy_backward(x, t, lse, g, ignore),
           CPU.cross_entropy_backward(x, t, else_, g, ignore), dt)


REDUCTIONS = ["mean", "sum", "none"]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape,tshape", [((7, 5), (7,)), ((2, 4, 3, 2), (2, 3, 2)), ((4,), ())])
def test_fused_cross_entropy_matches_torch(reduction, shape, tshape):
    """nn.functional.cross_entropy on cudasim takes the fused CrossEntropy node: values,
    gradients and double-backward against PyTorch."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    x = rng.standard_normal(shape)
    t = rng.integers(0, shape[1] if len(shape) > 1 else shape[0], tshape)
    if t.ndim:
        t.flat[::3] = 1  # ignored
    else:
        t = np.array(2)
    kw = dict(reduction=reduction, ignore_index=1)
    xm = minitorch.tensor(x, requires_grad=True, device="cudasim")
    xt = torch.tensor(x, requires_grad=True)
    lm = minitorch.nn.functional.cross_entropy(xm, minitorch.tensor(t, device="cudasim"), **kw)
    lt = torch.nn.functional.cross_entropy(xt, torch.tensor(t), **kw)
    assert "CrossEntropyBackward0" in _node_names(lm.grad_fn)
    assert tuple(lm.shape) == tuple(lt.shape)
    np.testing.assert_allclose(lm.detach().numpy(force=True), lt.detach().numpy(), rtol=1e-10)
    up = rng.standard_normal(tuple(lt.shape))
    gm, = minitorch.autograd.grad(lm, [xm], minitorch.tensor(up, device="cudasim"),
                                  create_graph=True)
    gt, = torch.autograd.grad(lt, [xt], torch.tensor(up), create_graph=True)
    np.testing.assert_allclose(gm.detach().numpy(force=True), gt.detach().numpy(), rtol=1e-9,
                               atol=1e-12)
    g2m, = minitorch.autograd.grad((gm * gm).sum(), [xm])
    g2t, = torch.autograd.grad((gt * gt).sum(), [xt])
    np.testing.assert_allclose(g2m.numpy(force=True), g2t.numpy(), rtol=1e-8, atol=1e-12)
    xm2 = minitorch.tensor(x, requires_grad=True, device="cudasim")  # backward without a graph
    minitorch.nn.functional.cross_entropy(xm2, minitorch.tensor(t, device="cudasim"), **kw) \
        .backward(minitorch.tensor(up, device="cudasim"))
    np.testing.assert_allclose(xm2.grad.numpy(force=True), gt.detach().numpy(), rtol=1e-9,
                               atol=1e-12)


def _node_names(node, seen=None):
    seen = set() if seen is None else seen
    if node is None or id(node) in seen:
        return set()
    seen.add(id(node))
    names = {node.name()}
    for nxt, _ in getattr(node, "next_functions", ()):
        names |= _node_names(nxt, seen)
    return names


# -- im2col / col2im / max_pool2d ------------------------------------------------------------

WINDOWS = [(k, s, p, d) for k, s, p, d in itertools.product(
    [(1, 1), (2, 3), (3, 3)], [(1, 1), (2, 1), (3, 2)], [(0, 0), (1, 1)], [(1, 1), (2, 1)])
    if p[0] <= k[0] // 2 and p[1] <= k[1] // 2]


@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("k,s,p,d", WINDOWS, ids=[str(w) for w in WINDOWS])
def test_window_kernels(kb, dt, k, s, p, d):
    rng = np.random.default_rng(5)
    x = _rand(rng, (2, 3, 7, 8), dt)
    cols = kb.im2col(x, k, s, p, d)
    np.testing.assert_array_equal(cols, CPU.im2col(x, k, s, p, d))
    g = _rand(rng, cols.shape, dt)
    _close(kb.col2im(g, x.shape, k, s, p, d), CPU.col2im(g, x.shape, k, s, p, d), dt)
    x[0, 0, :2, :] = -np.inf  # windows whose real inputs are all -inf
    x[1, 2, 3, 4] = np.nan
    for ceil_mode in (False, True):
        v, i = kb.max_pool2d(x, k, s, p, d, ceil_mode)
        ev, ei = CPU.max_pool2d(x, k, s, p, d, ceil_mode)
        np.testing.assert_array_equal(v, ev)
        np.testing.assert_array_equal(i, ei)


@pytest.mark.parametrize("dt", [np.int32, np.int64])
def test_max_pool2d_integers(kb, dt):
    rng = np.random.default_rng(6)
    x = _rand(rng, (1, 2, 6, 5), dt)
    x[0, 0, :2] = np.iinfo(dt).min  # ties with the padding value
    for ceil_mode in (False, True):
        got = kb.max_pool2d(x, (3, 2), (2, 2), (1, 1), (1, 1), ceil_mode)
        exp = CPU.max_pool2d(x, (3, 2), (2, 2), (1, 1), (1, 1), ceil_mode)
        np.testing.assert_array_equal(got[0], exp[0])
        np.testing.assert_array_equal(got[1], exp[1])
    np.testing.assert_array_equal(kb.im2col(x, (2, 2), (1, 1), (1, 0), (1, 1)),
                                  CPU.im2col(x, (2, 2), (1, 1), (1, 0), (1, 1)))


def test_window_kernels_empty(kb):
    x = np.zeros((0, 2, 5, 5), np.float32)
    assert kb.im2col(x, (3, 3), (1, 1), (0, 0), (1, 1)).shape == (0, 18, 9)
    assert kb.max_pool2d(x, (2, 2), (2, 2), (0, 0), (1, 1), False)[0].shape == (0, 2, 2, 2)
    assert kb.col2im(np.zeros((0, 18, 9), np.float32), x.shape, (3, 3), (1, 1), (0, 0),
                     (1, 1)).shape == x.shape


# -- optimizer updates: bit for bit -------------------------------------------------------------

def _ids(opts):
    return "-".join(f"{k}={v}" for k, v in opts.items())


SGD_OPTS = [dict(momentum=m, dampening=dp, weight_decay=wd, nesterov=n, maximize=mx)
            for m, dp, wd, n, mx in itertools.product([0.0, 0.9], [0.0, 0.3], [0.0, 0.01],
                                                       [False, True], [False, True])
            if not n or (m > 0 and dp == 0)]


@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("opts", SGD_OPTS, ids=_ids)
def test_sgd_update_bitwise(kb, dt, opts):
    rng = np.random.default_rng(7)
    p = _rand(rng, (5, 7), dt)
    p1, p2, b1, b2 = p.copy(), p.copy(), None, None
    for _ in range(3):
        g = _rand(rng, p.shape, dt)
        b1 = kb.sgd_update_(p1, g, b1, 0.1, **opts)
        b2 = CPU.sgd_update_(p2, g, b2, 0.1, **opts)
        np.testing.assert_array_equal(p1, p2)
        assert (b1 is None) == (b2 is None)
        if b1 is not None:
            np.testing.assert_array_equal(b1, b2)


ADAM_OPTS = [dict(beta1=b1, weight_decay=wd, amsgrad=am, maximize=mx, decoupled=dc)
             for b1, wd, am, mx, dc in itertools.product([0.9, 0.3], [0.0, 0.1], [False, True],
                                                         [False, True], [False, True])]


@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("opts", ADAM_OPTS, ids=_ids)
def test_adam_update_bitwise(kb, dt, opts):
    rng = np.random.default_rng(8)
    p = _rand(rng, (6, 5), dt)
    states = [[p.copy()] + [np.zeros_like(p) for _ in range(3)] for _ in range(2)]
    for step in range(1, 4):
        g = _rand(rng, p.shape, dt)
        for be, (pp, m, v, vm) in zip((kb, CPU), states):
            be.adam_update_(pp, g, m, v, vm if opts["amsgrad"] else None, float(step), 1e-2,
                            beta2=0.999, eps=1e-8, **opts)
        for a, b in zip(*states):
            np.testing.assert_array_equal(a, b)


def test_optimizer_updates_non_contiguous_params(kb):
    rng = np.random.default_rng(9)
    base1, base2 = _rand(rng, (4, 6), np.float32), None
    base2 = base1.copy()
    p1, p2 = base1.T, base2.T  # transposed views: updated through a contiguous copy
    g = _rand(rng, p1.shape, np.float32)
    b1 = kb.sgd_update_(p1, g, None, 0.1, 0.9, 0.0, 0.01, True, False)
    b2 = CPU.sgd_update_(p2, g, None, 0.1, 0.9, 0.0, 0.01, True, False)
    np.testing.assert_array_equal(base1, base2)
    np.testing.assert_array_equal(b1, b2)
    m1, v1 = np.zeros((4, 6), np.float32).T, np.zeros((4, 6), np.float32).T
    m2, v2 = np.zeros((6, 4), np.float32), np.zeros((6, 4), np.float32)
    kb.adam_update_(p1, g, m1, v1, None, 1.0, 1e-3, 0.9, 0.999, 1e-8, 0.0, False, False, False)
    CPU.adam_update_(p2, g, m2, v2, None, 1.0, 1e-3, 0.9, 0.999, 1e-8, 0.0, False, False, False)
    np.testing.assert_array_equal(base1, base2)
    np.testing.assert_array_equal(m1, m2)


OPTIMIZERS = [("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
              ("Adam", dict(lr=0.01, amsgrad=True)), ("AdamW", dict(lr=0.01)),
              ("RMSprop", dict(lr=0.01, momentum=0.5, centered=True, weight_decay=0.1)),
              ("Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.1))]


@pytest.mark.parametrize("name,kw", OPTIMIZERS, ids=[o[0] for o in OPTIMIZERS])
def test_optimizers_on_cudasim_match_cpu(name, kw):
    """The optimizers' steps on cudasim (fused kernels for SGD/Adam, elementwise kernels for
    RMSprop/Adagrad) give the cpu backend's values (bit for bit for the fused ones)."""
    rng = np.random.default_rng(10)
    w0 = rng.standard_normal((3, 4)).astype(np.float32)
    grads = [rng.standard_normal((3, 4)).astype(np.float32) for _ in range(3)]
    out = []
    for dev in ("cpu", "cudasim"):
        p = minitorch.tensor(w0, device=dev, requires_grad=True)
        opt = getattr(minitorch.optim, name)([p], **kw)
        for g in grads:
            p.grad = minitorch.tensor(g, device=dev)
            opt.step()
        out.append(p.detach().numpy(force=True))
    if name in ("SGD", "Adam", "AdamW"):
        np.testing.assert_array_equal(out[0], out[1])
    else:
        np.testing.assert_allclose(out[0], out[1], rtol=1e-6, atol=1e-7)


# -- the benchmark script's measurement paths -----------------------------------------------------

def test_benchmark_quick_on_cudasim(tmp_path):
    out = tmp_path / "bench.json"
    r = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "benchmarks", "kernels.py"),
                        "--device", "cudasim", "--quick", "--json", str(out)],
                       cwd=ROOT, capture_output=True, text=True, timeout=300,
                       env=dict(os.environ, PYTHONPATH=ROOT))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "| matmul" in r.stdout and "softmax" in r.stdout
    import json
    rows = json.loads(out.read_text())["rows"]
    assert {row["case"].split()[0] for row in rows} >= {"add", "sum", "softmax", "cross_entropy",
                                                        "matmul", "two_layer"}


def test_extending_kernel_example_runs():
    """docs/extending.md's "Adding a kernel" walk-through runs as printed there."""
    r = subprocess.run([sys.executable, os.path.join(ROOT, "docs", "extending_kernel_example.py")],
                       cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.count("gradcheck=True gradgradcheck=True") == 2
