"""Issue 12's fused primitives: ``gelu`` / ``gelu_backward`` (F.gelu, both forms) and
``layer_norm`` / ``layer_norm_backward`` (F.layer_norm), on every device: forward and
gradients against torch (float32 and float64) and NumPy, float64 gradcheck, double
backward (the Tensor-op backward), one graph node each, special values, 16-bit inputs,
tracing, and the LayerNorm fall-back for mixed dtypes."""
import math

import numpy as np
import pytest

import minitorch as mt
import minitorch.nn.functional as F
from minitorch.autograd import gradcheck, gradgradcheck

torch = pytest.importorskip("torch")
TF = torch.nn.functional
rng = np.random.default_rng(0)

TOL = {np.float32: dict(rtol=1e-5, atol=2e-6), np.float64: dict(rtol=1e-12, atol=1e-13)}


def _np(t):
    return t.detach().cpu().numpy()


def _gelu_ref(x, approximate):
    """float64 NumPy reference (math.erf elementwise)."""
    x = x.astype(np.float64)
    if approximate == "tanh":
        return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))
    return x * 0.5 * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))


@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("approximate", ["none", "tanh"])
@pytest.mark.parametrize("shape", [(3, 5, 17), (1,), (0, 4), ()])
def test_gelu_matches_torch(device, dt, approximate, shape):
    x = (rng.standard_normal(shape) * 3).astype(dt)
    g = rng.standard_normal(shape).astype(dt)
    a = mt.tensor(x, device=device, requires_grad=True)
    y = F.gelu(a, approximate=approximate)
    y.backward(mt.tensor(g, device=device))
    b = torch.tensor(x, requires_grad=True)
    yb = TF.gelu(b, approximate=approximate)
    yb.backward(torch.tensor(g))
    assert y.dtype == a.dtype and tuple(y.shape) == shape
    np.testing.assert_allclose(_np(y), yb.detach().numpy(), **TOL[dt])
    np.testing.assert_allclose(_np(a.grad), b.grad.numpy(), rtol=TOL[dt]["rtol"] * 4,
                               atol=TOL[dt]["atol"] * 4)
    if x.size:
        np.testing.assert_allclose(_np(y), _gelu_ref(x, approximate), **TOL[dt])


def test_gelu_is_one_node_with_torch_name(device):
    a = mt.tensor(rng.standard_normal(8), device=device, requires_grad=True)
    y = F.gelu(a)
    assert type(y.grad_fn).__name__ == "GeluBackward0"
    assert y.grad_fn.next_functions[0][0] is not None
    # the node's only edge goes to the leaf: no chain of temporaries
    assert type(y.grad_fn.next_functions[0][0]).__name__ == "AccumulateGrad"


def test_gelu_special_values(device):
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 40.0, -40.0, 1e-30], np.float32)
    y = F.gelu(mt.tensor(x, device=device))
    # element by element: PyTorch's scalar loop is the formula; its AVX512 loop (not its
    # AVX2 one) returns NaN for gelu(inf), so a whole-vector reference depends on the CPU
    ref = np.array([TF.gelu(torch.tensor([v])).item() for v in x], np.float32)
    assert ref[2] == np.inf
    np.testing.assert_array_equal(np.isnan(_np(y)), np.isnan(ref))
    np.testing.assert_allclose(_np(y), ref, rtol=1e-6, atol=1e-30)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_gradcheck_and_double_backward(device, approximate):
    x = mt.tensor(rng.standard_normal((3, 4)), dtype=mt.float64, device=device,
                  requires_grad=True)
    f = lambda t: F.gelu(t, approximate=approximate)  # noqa: E731
    assert gradcheck(f, (x,))
    assert gradgradcheck(f, (x,))
    # second derivative against torch
    xa = rng.standard_normal(6)
    a = mt.tensor(xa, dtype=mt.float64, device=device, requires_grad=True)
    (ga,) = mt.autograd.grad(F.gelu(a, approximate=approximate).sum(), a, create_graph=True)
    (gga,) = mt.autograd.grad(ga.sum(), a)
    b = torch.tensor(xa, requires_grad=True)
    (gb,) = torch.autograd.grad(TF.gelu(b, approximate=approximate).sum(), b,
                                create_graph=True)
    (ggb,) = torch.autograd.grad(gb.sum(), b)
    np.testing.assert_allclose(_np(ga), gb.detach().numpy(), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(_np(gga), ggb.numpy(), rtol=1e-10, atol=1e-12)


def test_gelu_errors():
    with pytest.raises(RuntimeError, match="approximate argument must be either none or tanh"):
        F.gelu(mt.ones(3), approximate="fast")
    with pytest.raises(NotImplementedError, match="GeluKernelImpl"):
        F.gelu(mt.ones(3, dtype=mt.int64))


@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("case", [
    ((4, 6, 10), (10,), True, True),
    ((2, 3, 5, 7), (5, 7), True, False),
    ((9, 33), (33,), False, False),
    ((5, 70), (70,), False, True),       # rows longer than a warp's 32 lanes x 2
    ((3, 1), (1,), True, True),
])
def test_layer_norm_matches_torch(device, dt, case):
    shape, ns, hw, hb = case
    x = (rng.standard_normal(shape) * 2 + 3).astype(dt)
    w = rng.standard_normal(ns).astype(dt)
    b = rng.standard_normal(ns).astype(dt)
    g = rng.standard_normal(shape).astype(dt)
    res = []
    for lib, fn, kw in ((mt, F.layer_norm, dict(device=device)), (torch, TF.layer_norm, {})):
        xs = lib.tensor(x, requires_grad=True, **kw)
        ws = lib.tensor(w, requires_grad=True, **kw) if hw else None
        bs = lib.tensor(b, requires_grad=True, **kw) if hb else None
        y = fn(xs, ns, ws, bs, 1e-5)
        y.backward(lib.tensor(g, **kw))
        res.append([y.detach().cpu().numpy(), xs.grad.cpu().numpy()] +
                   ([ws.grad.cpu().numpy()] if hw else []) +
                   ([bs.grad.cpu().numpy()] if hb else []))
    tol = dict(rtol=1e-4, atol=1e-5) if dt == np.float32 else dict(rtol=1e-10, atol=1e-11)
    if ns == (1,) and dt == np.float32:  # x - mean is rounding noise: torch's is ~1e-5
        tol["atol"] = 1e-4
    for u, v in zip(*res):
        assert u.dtype == v.dtype
        np.testing.assert_allclose(u, v, **tol)


def test_layer_norm_forward_matches_numpy(device):
    x = rng.standard_normal((6, 12)) * 5 + 100  # |mean| >> std: the variance needs two passes
    y = F.layer_norm(mt.tensor(x, device=device), (12,))
    mu = x.mean(-1, keepdims=True)
    ref = (x - mu) / np.sqrt(((x - mu) ** 2).mean(-1, keepdims=True) + 1e-5)
    np.testing.assert_allclose(_np(y), ref, rtol=1e-12, atol=1e-12)


def test_layer_norm_is_one_node(device):
    x = mt.randn(3, 4, device=device, requires_grad=True)
    ln = mt.nn.LayerNorm(4).to(device)
    y = ln(x)
    assert type(y.grad_fn).__name__ == "NativeLayerNormBackward0"
    assert len(y.grad_fn.next_functions) == 3


@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm_gradcheck_and_double_backward(device, affine):
    kw = dict(dtype=mt.float64, device=device, requires_grad=True)
    x = mt.tensor(rng.standard_normal((3, 2, 4)), **kw)
    ins = (x, mt.tensor(rng.standard_normal((2, 4)), **kw),
           mt.tensor(rng.standard_normal((2, 4)), **kw)) if affine else (x,)
    f = (lambda a, w, b: F.layer_norm(a, (2, 4), w, b)) if affine else \
        (lambda a: F.layer_norm(a, (2, 4)))
    assert gradcheck(f, ins)
    assert gradgradcheck(f, ins)


def test_layer_norm_double_backward_matches_torch(device):
    xa, wa = rng.standard_normal((4, 5)), rng.standard_normal(5)
    out = []
    for lib, fn, kw in ((mt, F.layer_norm, dict(device=device)), (torch, TF.layer_norm, {})):
        x = lib.tensor(xa, requires_grad=True, **kw)
        w = lib.tensor(wa, requires_grad=True, **kw)
        y = fn(x, (5,), w, None)
        gx, gw = lib.autograd.grad((y * y * y).sum(), (x, w), create_graph=True)
        hx, hw = lib.autograd.grad((gx * gx).sum() + gw.sum(), (x, w))
        out.append([t.detach().cpu().numpy() for t in (gx, gw, hx, hw)])
    for u, v in zip(*out):
        np.testing.assert_allclose(u, v, rtol=1e-9, atol=1e-10)


def test_layer_norm_mixed_dtypes_fall_back(device):
    # a float64 weight with a float32 input: composed ops promote (no fused primitive)
    x = mt.randn(2, 3, device=device)
    w = mt.ones(3, dtype=mt.float64, device=device)
    assert F.layer_norm(x, (3,), w).dtype == mt.float64


@pytest.mark.parametrize("dt", ["float16", "bfloat16"])
def test_fused_16bit_compute_in_float32(device, dt):
    x = rng.standard_normal((4, 8)).astype(np.float32)
    a = mt.tensor(x, device=device).to(getattr(mt, dt))
    b = torch.tensor(x).to(getattr(torch, dt))
    for f, tf in ((lambda t: F.gelu(t), lambda t: TF.gelu(t)),
                  (lambda t: F.layer_norm(t, (8,)), lambda t: TF.layer_norm(t, (8,)))):
        y, yb = f(a), tf(b)
        assert y.dtype == a.dtype
        np.testing.assert_allclose(_np(y.float()), yb.float().numpy(), rtol=1e-2, atol=1e-2)


def test_fused_primitives_trace_and_replay(device):
    from minitorch import jit
    ln = mt.nn.LayerNorm(6).to(device)
    lin = mt.nn.Linear(6, 6).to(device)

    def step(x):
        for p in (*ln.parameters(), *lin.parameters()):
            p.grad = None
        loss = F.gelu(lin(ln(x))).pow(2).sum() + F.gelu(x, approximate="tanh").sum()
        loss.backward()
        return loss

    x = mt.randn(3, 6, device=device)
    g = jit.trace(step, x)
    ops = [n.op for n in g.nodes]
    for op in ("layer_norm", "layer_norm_backward", "gelu", "gelu_backward"):
        assert op in ops
    x2 = mt.randn(3, 6, device=device)
    got = _np(g(x2))
    grads = [_np(p.grad) for p in ln.parameters()]
    want = _np(step(x2))
    np.testing.assert_allclose(got, want, rtol=1e-6)
    for a, p in zip(grads, ln.parameters()):
        np.testing.assert_allclose(a, _np(p.grad), rtol=1e-6)


@pytest.mark.parametrize("opset", [15, 17, 20])
@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_onnx_export_of_fused_primitives(opset, approximate):
    """F.layer_norm / F.gelu export as their pattern where the opset has the operator and
    as the primitives' formulas otherwise (LayerNorm before 17, tanh GELU before 20)."""
    import io
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    import minitorch.onnx as mo

    class Net(mt.nn.Module):
        def __init__(self):
            super().__init__()
            self.ln = mt.nn.LayerNorm(8)
            self.ln_plain = mt.nn.LayerNorm(8, elementwise_affine=False)
            self.fc = mt.nn.Linear(8, 8)

        def forward(self, x):
            return self.ln_plain(F.gelu(self.fc(self.ln(x)), approximate=approximate))

    m = Net()
    with mt.no_grad():
        m.ln.weight.copy_(mt.randn(8))
        m.ln.bias.copy_(mt.randn(8))
    m.eval()
    x = mt.randn(3, 5, 8)
    buf = io.BytesIO()
    mo.export(m, (x,), buf, input_names=["input"], output_names=["output"],
              opset_version=opset)
    so = ort.SessionOptions()
    so.log_severity_level = 3
    sess = ort.InferenceSession(buf.getvalue(), so, providers=["CPUExecutionProvider"])
    (got,) = sess.run(None, {"input": x.numpy()})
    with mt.no_grad():
        want = m(x).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
