"""float16 and bfloat16 (issue 18): the op recipe of test_ops.py run in the two 16-bit
dtypes against PyTorch in the same dtype, with per-dtype tolerances; promotion, printing,
finfo, conversions, float32 accumulation of reductions/matmul/softmax, and safetensors
F16/BF16 files that PyTorch loads.

Inputs are drawn in float64 and rounded to the low dtype first, so minitorch and PyTorch
start from identical values; what differs is only where each rounds its intermediates.
"""
from __future__ import annotations

import numpy as np
import pytest

import minitorch
from conftest import DEVICES
from test_ops import CASES, _x

torch = pytest.importorskip("torch")
ml_dtypes = pytest.importorskip("ml_dtypes")

LOW = ["float16", "bfloat16"]
# elementwise results round once to the dtype (half an ulp: 2^-11 and 2^-8 relative);
# composites round several times; reductions and products accumulate in float32
TOL = {"float16": dict(rtol=4e-3, atol=2e-3), "bfloat16": dict(rtol=3e-2, atol=2e-2)}
# cases whose result PyTorch does not define for these dtypes on its CPU (torch raises)
# are skipped by the test itself; cases listed here need a looser bound and say why
LOOSE = {
    # a difference of two rounded numbers near each other: one ulp of the inputs
    "remainder": 4, "fmod": 4, "fmod_scalar": 4, "floor_divide": 4,
    # prod of 4-5 numbers, norms and var/std (sums of squares)
    "prod": 2, "prod_all": 2, "var": 2, "var_dim": 2, "var_biased": 2, "var_correction": 2,
    "std": 2, "norm_p3": 2, "log1p_tiny": 2, "expm1_tiny": 2, "rpow_scalar": 2, "pow": 2,
}
LOW_DEVICES = [d for d in DEVICES if d in ("cpu", "cudasim")]


def _np_low(name):
    return np.float16 if name == "float16" else ml_dtypes.bfloat16


def _inputs(case, device, low, rng, requires_grad):
    mts, tts = [], []
    for k, shape in enumerate(case.shapes):
        if k in case.int_inputs:
            a = rng.integers(0, case.int_high, shape).astype(np.int64)
            mts.append(minitorch.tensor(a, device=device))
            tts.append(torch.tensor(a))
            continue
        a = _x(shape, case.domain, rng).astype(_np_low(low)).astype(np.float32)
        mts.append(minitorch.tensor(a, device=device).to(getattr(minitorch, low))
                   .requires_grad_(requires_grad))
        tts.append(torch.tensor(a).to(getattr(torch, low)).requires_grad_(requires_grad))
    return mts, tts


def _out(o):
    return o if isinstance(o, (minitorch.Tensor, torch.Tensor)) else o[0]


def _f64(t):
    if isinstance(t, torch.Tensor):
        return t.detach().to(torch.float64).numpy()
    return t.detach().cpu().double().numpy()


def _tol(case, low):
    k = LOOSE.get(case.name, 1)
    return {n: v * k for n, v in TOL[low].items()}


@pytest.mark.parametrize("low", LOW)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_op_matches_torch_low(case, low, device):
    if device not in LOW_DEVICES:
        pytest.skip("16-bit dtypes are checked on cpu and cudasim")
    rng = np.random.default_rng(5)
    mts, tts = _inputs(case, device, low, rng, case.grad)
    try:
        tout = _out(case.fn(torch, *tts))
    except (RuntimeError, NotImplementedError) as e:
        pytest.skip(f"PyTorch has no {low} CPU kernel here: {e}")
    out = _out(case.fn(minitorch, *mts))
    assert out.dtype.name == str(tout.dtype).replace("torch.", ""), (out.dtype, tout.dtype)
    assert tuple(out.shape) == tuple(tout.shape)
    tol = _tol(case, low)
    np.testing.assert_allclose(_f64(out), _f64(tout), **tol)
    if not case.grad or not tout.requires_grad:
        return
    g = rng.standard_normal(tuple(tout.shape)).astype(_np_low(low)).astype(np.float32)
    tout.backward(torch.tensor(g).to(tout.dtype))
    out.backward(minitorch.tensor(g, device=device).to(out.dtype))
    for m, t in zip(mts, tts):
        if t.requires_grad:
            assert m.grad.dtype.name == low
            scale = max(1.0, float(np.abs(_f64(t.grad)).max()))
            np.testing.assert_allclose(_f64(m.grad), _f64(t.grad), rtol=tol["rtol"] * 2,
                                       atol=tol["atol"] * 2 * scale)


# -- promotion, conversions, printing, finfo -------------------------------------------------

_DT = ["float16", "bfloat16", "float32", "float64", "int32", "int64", "bool"]


@pytest.mark.parametrize("a", _DT)
@pytest.mark.parametrize("b", _DT)
def test_promote_types_matches_torch(a, b):
    got = minitorch.promote_types(getattr(minitorch, a), getattr(minitorch, b))
    assert got.name == str(torch.promote_types(getattr(torch, a), getattr(torch, b)))[6:]


def _promotion_cases(m):
    h, bf = m.ones(2, dtype=m.float16), m.ones(2, dtype=m.bfloat16)
    return [h + bf, h + m.ones(2, dtype=m.int64), bf * m.ones(2, dtype=m.int32), h + 2.5,
            bf + 2, h + m.tensor(2.5), h + m.tensor(2.5, dtype=m.float64), h * m.ones(2),
            m.ones(2, dtype=m.int64) + m.tensor(1.0, dtype=m.float16), h > 0.5, bf / 3,
            m.ones(2, dtype=m.int64) / bf, m.ones(2, dtype=m.bool) + h,
            m.where(m.ones(2) > 0, bf, 0.5), m.cat([h, m.ones(2)]), h.sum(), bf.mean(),
            m.zeros(2, dtype=m.half) + m.tensor(3, dtype=m.int64)]


def test_result_dtypes_match_torch():
    for got, want in zip(_promotion_cases(minitorch), _promotion_cases(torch)):
        assert got.dtype.name == str(want.dtype)[6:]
        np.testing.assert_array_equal(_f64(got), _f64(want))


def test_aliases_and_conversions():
    assert minitorch.half is minitorch.float16
    x = minitorch.tensor([1.0, 2.5, -3.0])
    for name, method in (("float16", "half"), ("bfloat16", "bfloat16")):
        d = getattr(minitorch, name)
        for y in (getattr(x, method)(), x.to(d), x.type(d), minitorch.tensor(
                [1.0, 2.5, -3.0], dtype=d), minitorch.zeros(3, dtype=d) + x.to(d)):
            assert y.dtype is d and y.is_floating_point() and y.element_size() == 2
        assert getattr(x, method)().type() == torch.ones(1).to(getattr(torch, name)).type()
        assert x.to(d).float().tolist() == [1.0, 2.5, -3.0]
        assert isinstance(x.to(d)[1].item(), float)
    assert minitorch.from_numpy(np.ones(2, np.float16)).dtype is minitorch.float16
    assert minitorch.tensor(np.ones(2, ml_dtypes.bfloat16)).dtype is minitorch.bfloat16
    net = minitorch.nn.Linear(3, 2).half()
    assert net.weight.dtype is minitorch.float16 and net.bfloat16().bias.dtype is minitorch.bfloat16


def test_out_of_range_values_like_torch():
    for name in LOW:
        big = [70000.0, -1e39, 1e-8]
        got = minitorch.tensor(big).to(getattr(minitorch, name))
        want = torch.tensor(big).to(getattr(torch, name))
        np.testing.assert_array_equal(_f64(got), _f64(want))
        with pytest.raises(RuntimeError, match="without overflow") as e:
            minitorch.full((2,), 1e39, dtype=getattr(minitorch, name))
        with pytest.raises(RuntimeError) as te:
            torch.full((2,), 1e39, dtype=getattr(torch, name))
        assert str(e.value) == str(te.value)


@pytest.mark.parametrize("low", LOW)
def test_repr_matches_torch(low):
    rng = np.random.default_rng(0)
    for a in (rng.standard_normal((3, 4)), np.array([1.5, 2.25, 1e-3]), np.array(3.0),
              np.array([1.0, 2.0]), np.array([np.inf, -np.nan, 1e4]), np.zeros((0, 2))):
        a = a.astype(np.float32)
        got = repr(minitorch.tensor(a).to(getattr(minitorch, low)))
        want = repr(torch.tensor(a).to(getattr(torch, low)))
        assert got.replace("minitorch.", "torch.") == want


@pytest.mark.parametrize("name", ["float16", "bfloat16", "float32", "float64"])
def test_finfo_matches_torch(name):
    f, t = minitorch.finfo(getattr(minitorch, name)), torch.finfo(getattr(torch, name))
    for k in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution", "dtype"):
        assert getattr(f, k) == getattr(t, k), k
    assert repr(f) == repr(t)
    assert repr(minitorch.iinfo(minitorch.int32)) == repr(torch.iinfo(torch.int32))
    with pytest.raises(TypeError, match="requires a floating point input type"):
        minitorch.finfo(minitorch.int64)


# -- float32 accumulation (PyTorch's CPU kernels) --------------------------------------------

@pytest.mark.parametrize("low", LOW)
def test_reductions_and_matmul_accumulate_in_float32(low, device):
    if device not in LOW_DEVICES:
        pytest.skip("16-bit dtypes are checked on cpu and cudasim")
    n = 5000  # a float16 running sum stalls at 2048 (bfloat16 at 256): float32 does not
    rng = np.random.default_rng(1)
    a = rng.uniform(0.5, 1.5, n).astype(_np_low(low)).astype(np.float32)
    mt = minitorch.tensor(a, device=device).to(getattr(minitorch, low))
    tt = torch.tensor(a).to(getattr(torch, low))
    exact = a.astype(np.float64)
    for f in (lambda m, x: x.sum(), lambda m, x: x.mean(), lambda m, x: x.var(),
              lambda m, x: x.reshape(50, 100).sum(0), lambda m, x: x[None] @ x[:, None],
              lambda m, x: x.reshape(50, 100) @ x.reshape(100, 50),
              lambda m, x: m.softmax(x.reshape(5, 1000), 1).sum(1),
              lambda m, x: m.log_softmax(x.reshape(5, 1000), 1)):
        got, want = f(minitorch, mt), f(torch, tt)
        assert got.dtype.name == low
        ref = _f64(f(torch, torch.tensor(exact)))
        # both round the float32 result once: equal to the float64 result to half an ulp
        np.testing.assert_allclose(_f64(got), ref, rtol=TOL[low]["rtol"] / 2, atol=1e-6)
        np.testing.assert_allclose(_f64(got), _f64(want), rtol=TOL[low]["rtol"] / 2, atol=1e-6)


# -- safetensors F16/BF16: PyTorch loads what minitorch saves, and back ----------------------

def test_save_load_half_and_bfloat16(tmp_path):
    st = pytest.importorskip("safetensors.torch")
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    sd = {"h": minitorch.tensor(x).half(), "bf": minitorch.tensor(x).bfloat16(),
          "f": minitorch.tensor(x)}
    p = tmp_path / "m.safetensors"
    minitorch.save(sd, p)
    t = st.load_file(str(p))
    assert t["h"].dtype == torch.float16 and t["bf"].dtype == torch.bfloat16
    np.testing.assert_array_equal(t["h"].float().numpy(), torch.tensor(x).half().float().numpy())
    np.testing.assert_array_equal(t["bf"].float().numpy(),
                                  torch.tensor(x).bfloat16().float().numpy())
    back = minitorch.load(p)
    for k in sd:
        assert back[k].dtype is sd[k].dtype
        np.testing.assert_array_equal(back[k].float().numpy(), sd[k].float().numpy())
    st.save_file({"h": torch.tensor(x).half(), "bf": torch.tensor(x).bfloat16()},
                 str(tmp_path / "t.safetensors"))
    got = minitorch.load(tmp_path / "t.safetensors")
    assert got["h"].dtype is minitorch.float16 and got["bf"].dtype is minitorch.bfloat16
    np.testing.assert_array_equal(got["bf"].float().numpy(),
                                  torch.tensor(x).bfloat16().float().numpy())


# -- the cast kernels (copy.cu's __half / __nv_bfloat16 instantiations, the shim's rounding) --

def _tricky_floats():
    rng = np.random.default_rng(7)
    f16 = np.arange(0, 1 << 16, dtype=np.uint32).astype(np.uint16).view(np.float16)
    mids = (f16[:-1].astype(np.float64) + f16[1:].astype(np.float64)) / 2  # exact ties
    vals = np.concatenate([
        rng.standard_normal(2000) * 10.0 ** rng.integers(-9, 6, 2000), mids[np.isfinite(mids)],
        [0.0, -0.0, 65504.0, 65519.99, 65520.0, 6e-8, 3e-8, 2.9e-8, 1e-40, 3.4e38, 3.39e38,
         np.inf, -np.inf, np.nan, 1 + 2 ** -11, 1 + 3 * 2 ** -11, 1 + 2 ** -8, 1 + 3 * 2 ** -8]])
    return vals


@pytest.mark.parametrize("low", LOW)
@pytest.mark.parametrize("src", ["float32", "float64", "int64", "int32", "bool"])
def test_cast_kernels_round_like_numpy(low, src, device):
    if device not in LOW_DEVICES:
        pytest.skip("16-bit dtypes are checked on cpu and cudasim")
    v = _tricky_floats()
    if src in ("int64", "int32"):
        v = np.nan_to_num(v, posinf=0, neginf=0)
        v = np.clip(v, -2e9, 2e9).astype(src)
    else:
        v = v.astype(src)
    want = v.astype(_np_low(low))
    x = minitorch.tensor(v, device=device)
    got = x.to(getattr(minitorch, low))
    g = got.cpu().numpy()
    assert g.dtype == want.dtype
    np.testing.assert_array_equal(g.view(np.uint16)[~np.isnan(want.astype(np.float32))],
                                  want.view(np.uint16)[~np.isnan(want.astype(np.float32))])
    assert np.array_equal(np.isnan(g.astype(np.float32)), np.isnan(want.astype(np.float32)))
    # and back: widening is exact, to ints truncates, to bool is != 0
    for dst in ("float32", "float64", "bool") + (("int64",) if src.startswith("int") else ()):
        back = got.to(getattr(minitorch, dst)).cpu().numpy()
        np.testing.assert_array_equal(back, want.astype(dst))
    # strided source and destination (copy_strided), and the other 16-bit dtype
    other = "bfloat16" if low == "float16" else "float16"
    s = got.reshape(-1)[::3].to(getattr(minitorch, other)).cpu().numpy()
    np.testing.assert_array_equal(s.astype(np.float32),
                                  want[::3].astype(_np_low(other)).astype(np.float32))


def test_kernel_devices_run_16bit_elementwise_natively(monkeypatch):
    if "cudasim" not in DEVICES:
        pytest.skip("cudasim unavailable")
    x = minitorch.tensor([0.5, -1.0, 2.0], device="cudasim").half()
    be = x._device._be
    used = []
    orig = type(be).kernel

    def spy(self, filename, name):
        used.append((filename, name))
        return orig(self, filename, name)
    monkeypatch.setattr(type(be), "kernel", spy)
    for d in (minitorch.float16, minitorch.bfloat16):
        used.clear()
        y = x.to(d)
        used.clear()
        ((y.exp() * 1e-9) > y).any()
        files = {f for f, _ in used}
        assert "elementwise_lowp.cu" in files and "copy.cu" not in files, used


def test_kernel_devices_reduce_16bit_natively(monkeypatch):
    if "cudasim" not in DEVICES:
        pytest.skip("cudasim unavailable")
    x = minitorch.ones(300, 40, device="cudasim").half()
    be = x._device._be
    used = []
    orig = type(be).kernel

    def spy(self, filename, name):
        used.append((filename, name))
        return orig(self, filename, name)
    monkeypatch.setattr(type(be), "kernel", spy)
    for d, ct in ((minitorch.float16, "__half"), (minitorch.bfloat16, "__nv_bfloat16")):
        y = x.to(d)
        used.clear()
        s = y.sum(0)
        assert s.dtype is d and s.cpu().float().tolist() == [300.0] * 40
        assert any(f == "reduce.cu" and f"<{ct}," in n for f, n in used), used
        # the 16-bit input is read directly: no cast kernel converts it to float32 first
        assert not any(f == "copy.cu" and n.startswith(f"copy_contig<{ct}, float>")
                       for f, n in used), used
