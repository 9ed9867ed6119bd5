"""The Tensor Core matmul (kernels/mma.cu, issue 18) and the simulator's nvcuda::wmma
(kernels/cudasim/wmma.h): equal to a float32 reference on cudasim, and used for float16 and
bfloat16 matmul on the kernel devices."""
from __future__ import annotations

import os

import numpy as np
import pytest

import minitorch
from minitorch.device import is_available

ml_dtypes = pytest.importorskip("ml_dtypes")
pytestmark = pytest.mark.skipif(not is_available("cudasim"), reason="cudasim unavailable")

HERE = os.path.dirname(os.path.abspath(__file__))
LOW = {"float16": np.float16, "bfloat16": ml_dtypes.bfloat16}
EPS = {"float16": 2.0 ** -10, "bfloat16": 2.0 ** -7}


def _ref(a32, b32, low):
    """float32 products of the 16-bit values, summed in float64, rounded once."""
    return (a32.astype(np.float64) @ b32.astype(np.float64)).astype(np.float32) \
        .astype(LOW[low]).astype(np.float32)


def _within_one_ulp(got, ref, low):
    # float32 sums in another order may round to the neighbouring 16-bit value
    tol = np.maximum(np.abs(ref), 2.0 ** -14) * EPS[low] * 1.01
    assert np.all(np.abs(got - ref) <= tol), np.max(np.abs(got - ref) / tol)


@pytest.mark.parametrize("low", list(LOW))
@pytest.mark.parametrize("sa,sb", [((16, 16), (16, 16)), ((5, 7), (7, 3)), ((40, 33), (33, 50)),
                                   ((2, 17, 20), (2, 20, 9)), ((3, 4, 16), (16, 16)),
                                   ((1, 1), (1, 1)), ((2, 1, 9, 24), (3, 24, 35)),
                                   ((70, 48), (48, 70))])
def test_mma_equals_float32_reference(sa, sb, low):
    rng = np.random.default_rng(0)
    a32 = rng.standard_normal(sa).astype(LOW[low]).astype(np.float32)
    b32 = rng.standard_normal(sb).astype(LOW[low]).astype(np.float32)
    dt = getattr(minitorch, low)
    a = minitorch.tensor(a32, device="cudasim").to(dt)
    b = minitorch.tensor(b32, device="cudasim").to(dt)
    c = a @ b
    assert c.dtype is dt and tuple(c.shape) == np.broadcast_shapes(sa[:-2], sb[:-2]) + (
        sa[-2], sb[-1])
    _within_one_ulp(c.cpu().float().numpy(), _ref(a32, b32, low), low)


def test_float16_matmul_runs_the_wmma_kernel(monkeypatch):
    be = minitorch.ones(1, device="cudasim")._device._be
    used = []
    orig = type(be).kernel

    def spy(self, filename, name):
        used.append((filename, name))
        return orig(self, filename, name)
    monkeypatch.setattr(type(be), "kernel", spy)
    a = minitorch.ones(20, 24, device="cudasim", dtype=minitorch.float16)
    w = minitorch.ones(24, 8, device="cudasim", dtype=minitorch.float16)
    (a @ w).sum()
    assert ("mma.cu", "mma_wmma<__half>") in used
    assert not any(f == "matmul.cu" for f, _ in used)
    used.clear()
    (a.bfloat16() @ w.bfloat16()).sum()
    assert ("mma.cu", "mma_wmma<__nv_bfloat16>") in used


def test_strided_and_transposed_operands_and_grads():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((24, 18)).astype(np.float16).astype(np.float32)
    w = rng.standard_normal((30, 18)).astype(np.float16).astype(np.float32)
    X = minitorch.tensor(x, device="cudasim").half().requires_grad_()
    W = minitorch.tensor(w, device="cudasim").half().requires_grad_()
    y = minitorch.nn.functional.linear(X, W)  # x @ w.T: a transposed operand
    _within_one_ulp(y.detach().cpu().float().numpy(), _ref(x, w.T, "float16"), "float16")
    g = rng.standard_normal((24, 30)).astype(np.float16).astype(np.float32)
    y.backward(minitorch.tensor(g, device="cudasim").half())
    _within_one_ulp(X.grad.cpu().float().numpy(), _ref(g, w, "float16"), "float16")
    _within_one_ulp(W.grad.cpu().float().numpy(), _ref(g.T, x, "float16"), "float16")


# -- the shim's wmma, kernel by kernel ----------------------------------------------------------

@pytest.fixture(scope="module")
def wmma_mod():
    from minitorch.backends.runtime import cudasim as csr
    rt = csr.CudasimRuntime(asan=False, seed=0)
    names = tuple(f"wmma_one<wmma::{la}, wmma::{lb}>" for la in ("row_major", "col_major")
                  for lb in ("row_major", "col_major"))
    return rt.module(os.path.join(HERE, "shim_kernels", "wmma_layouts.cu"),
                     name_expressions=names), names


@pytest.mark.parametrize("c_col", [0, 1])
@pytest.mark.parametrize("d_col", [0, 1])
def test_shim_wmma_layouts(wmma_mod, c_col, d_col):
    mod, names = wmma_mod
    rng = np.random.default_rng(4)
    A = rng.standard_normal((16, 16)).astype(np.float16)
    B = rng.standard_normal((16, 16)).astype(np.float16)
    C = rng.standard_normal((16, 16)).astype(np.float32)
    for name in names:
        la, lb = ("col" in name.split(",")[0]), ("col" in name.split(",")[1])
        a_mem = np.ascontiguousarray(A.T if la else A)  # what the kernel reads, by layout
        b_mem = np.ascontiguousarray(B.T if lb else B)
        c_mem = np.ascontiguousarray(C.T if c_col else C)
        d = np.full((16, 16), np.nan, np.float32)
        mod.get_function(name)(1, 32, (a_mem, b_mem, c_mem, d, np.int32(c_col), np.int32(d_col),
                                       np.float32(0.5)))
        want = ((A.astype(np.float64) @ B.astype(np.float64) + C) * 0.5).astype(np.float32)
        np.testing.assert_allclose(d.T if d_col else d, want, rtol=1e-5, atol=1e-5)


def test_shim_fill_and_store_cover_the_tile_once(wmma_mod):
    mod, _ = wmma_mod
    d = np.zeros((16, 16), np.float32)
    mod.get_function("wmma_fill")(1, 32, (d, np.float32(2.5)))
    assert np.all(d == 2.5)
