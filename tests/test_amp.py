"""autocast and GradScaler (issue 18) against torch.autocast("cpu") and torch.amp.GradScaler.

Each listed op is run under autocast in both libraries with the same float32 inputs: the
result dtype must be PyTorch's, and the values must agree to the autocast dtype's precision.
"""
from __future__ import annotations

import threading
import warnings

import numpy as np
import pytest

import minitorch
from conftest import DEVICES

torch = pytest.importorskip("torch")


def _inputs(m, device):
    rng = np.random.default_rng(0)

    def t(*shape, low=None):
        a = rng.standard_normal(shape).astype(np.float32) if low is None else \
            rng.uniform(low, 1 - low, shape).astype(np.float32)
        return m.tensor(a) if m is torch else m.tensor(a, device=device)
    d = dict(x=t(4, 8), w=t(3, 8), b=t(3), img=t(2, 3, 8, 8), k=t(4, 3, 3, 3), seq=t(2, 3, 10),
             k1=t(4, 3, 3), bx=t(2, 4, 5), by=t(2, 5, 3), p=t(4, 8, low=0.05),
             q=t(4, 8, low=0.05), tgt=m.tensor([0, 1, 2, 0]))
    if m is minitorch:
        d["tgt"] = d["tgt"].to(device)
    return d


def _F(m):
    return m.nn.functional


# op -> fn(m, inputs); the dtype each gets comes from torch itself
OPS = {
    "linear": lambda m, i: _F(m).linear(i["x"], i["w"], i["b"]),
    "matmul": lambda m, i: i["x"] @ i["w"].t(),
    "matmul_fn": lambda m, i: m.matmul(i["x"], i["w"].t()),
    "mm": lambda m, i: i["x"].mm(i["w"].t()),
    "bmm": lambda m, i: i["bx"].bmm(i["by"]),
    "conv1d": lambda m, i: _F(m).conv1d(i["seq"], i["k1"]),
    "conv2d": lambda m, i: _F(m).conv2d(i["img"], i["k"], padding=1),
    "nn_Linear": lambda m, i: _linear_module(m).to(i["x"].device)(i["x"]),
    "sdpa": lambda m, i: _F(m).scaled_dot_product_attention(i["bx"], i["bx"], i["bx"]),
    "prelu": lambda m, i: _F(m).prelu(i["x"], m.tensor([0.25], device=i["x"].device)),
    "softmax": lambda m, i: _F(m).softmax(i["x"], 1),
    "log_softmax": lambda m, i: _F(m).log_softmax(i["x"], 1),
    "layer_norm": lambda m, i: _F(m).layer_norm(i["x"], (8,)),
    "group_norm": lambda m, i: _F(m).group_norm(i["img"], 3),
    "cross_entropy": lambda m, i: _F(m).cross_entropy(i["x"][:, :3], i["tgt"]),
    "nll_loss": lambda m, i: _F(m).nll_loss(i["x"][:, :3], i["tgt"]),
    "mse_loss": lambda m, i: _F(m).mse_loss(i["x"], i["x"] * 2),
    "l1_loss": lambda m, i: _F(m).l1_loss(i["x"], i["x"] * 2),
    "smooth_l1_loss": lambda m, i: _F(m).smooth_l1_loss(i["x"], i["x"] * 2),
    "huber_loss": lambda m, i: _F(m).huber_loss(i["x"], i["x"] * 2),
    "kl_div": lambda m, i: _F(m).kl_div(i["x"], i["p"], reduction="batchmean"),
    "bce_with_logits": lambda m, i: _F(m).binary_cross_entropy_with_logits(i["x"], i["p"]),
    "binary_cross_entropy": lambda m, i: _F(m).binary_cross_entropy(i["p"], i["q"]),
    "sum": lambda m, i: i["x"].sum(),
    "mean": lambda m, i: i["x"].mean(),
    "exp": lambda m, i: i["x"].exp(),
    "relu": lambda m, i: _F(m).relu(i["x"]),
    "gelu": lambda m, i: _F(m).gelu(i["x"]),
    "max_pool2d": lambda m, i: _F(m).max_pool2d(i["img"], 2),
    "avg_pool2d": lambda m, i: _F(m).avg_pool2d(i["img"], 2),
    # chains: a low-precision product feeding ops that keep its dtype, and float32 losses
    # whose inputs are bfloat16/float16 products (cast up by autocast)
    "linear_relu": lambda m, i: _F(m).relu(_F(m).linear(i["x"], i["w"])),
    "linear_softmax": lambda m, i: _F(m).softmax(_F(m).linear(i["x"], i["w"]), 1),
    "linear_mse": lambda m, i: _F(m).mse_loss(_F(m).linear(i["x"], i["w"]), i["x"][:, :3]),
    "linear_ce": lambda m, i: _F(m).cross_entropy(_F(m).linear(i["x"], i["w"]), i["tgt"]),
    "matmul_f64": lambda m, i: i["x"].double() @ i["w"].double().t(),
    "linear_plus_f32": lambda m, i: _F(m).linear(i["x"], i["w"]) + i["b"],
    "cat_mixed": lambda m, i: m.cat([_F(m).linear(i["x"], i["w"]), i["x"][:, :3]]),
}


def _linear_module(m):
    torch.manual_seed(0)
    ref = torch.nn.Linear(8, 3)
    if m is torch:
        return ref
    lin = minitorch.nn.Linear(8, 3)
    lin.load_state_dict({k: minitorch.tensor(v.detach().numpy()) for k, v in
                         ref.state_dict().items()})
    return lin


def _tol(name, dt):
    return dict(rtol=5e-2, atol=5e-2) if dt == "bfloat16" else dict(rtol=5e-3, atol=5e-3)


@pytest.mark.parametrize("dt", ["bfloat16", "float16"])
@pytest.mark.parametrize("op", list(OPS))
def test_autocast_cpu_matches_torch(op, dt, device):
    mi, ti = _inputs(minitorch, device), _inputs(torch, "cpu")
    with torch.autocast("cpu", dtype=getattr(torch, dt)):
        want = OPS[op](torch, ti)
    with minitorch.autocast(device if device == "cpu" else "cuda",
                            dtype=getattr(minitorch, dt)):
        got = OPS[op](minitorch, mi)
    if device == "cpu" or op not in ("softmax", "log_softmax", "layer_norm", "group_norm",
                                     "linear_softmax"):
        assert got.dtype.name == str(want.dtype)[6:], (got.dtype, want.dtype)
    else:  # cuda's lists (cudasim follows them) also run these in float32
        assert got.dtype is minitorch.float32
    np.testing.assert_allclose(got.detach().cpu().double().numpy(),
                               want.detach().double().numpy(), **_tol(op, dt))


def test_autocast_gradients_flow_to_float32_weights(device):
    for m in (minitorch, torch):
        m.manual_seed(0)
    x = np.random.default_rng(1).standard_normal((5, 4)).astype(np.float32)
    w = np.random.default_rng(2).standard_normal((3, 4)).astype(np.float32)
    grads = []
    for m, dev, ad in ((torch, "cpu", "cpu"), (minitorch, device,
                                               "cpu" if device == "cpu" else "cuda")):
        W = m.tensor(w, requires_grad=True) if m is torch else \
            m.tensor(w, device=dev, requires_grad=True)
        X = m.tensor(x) if m is torch else m.tensor(x, device=dev)
        with m.autocast(ad, dtype=m.bfloat16):
            y = m.nn.functional.linear(X, W)
            y2 = m.nn.functional.linear(X, W)  # the cached cast of W
            loss = (y.float() ** 2).sum() + y2.float().sum()
        assert y.dtype == m.bfloat16
        loss.backward()
        assert W.grad.dtype == m.float32
        grads.append(W.grad.detach().cpu().numpy() if m is minitorch else W.grad.numpy())
    np.testing.assert_allclose(grads[1], grads[0], rtol=2e-2, atol=2e-2)


def test_nesting_disabling_decorator_and_state():
    x = minitorch.ones(2, 2)
    assert not minitorch.is_autocast_enabled("cpu")
    with minitorch.autocast("cpu"):
        assert minitorch.is_autocast_enabled("cpu")
        assert minitorch.get_autocast_dtype("cpu") is minitorch.bfloat16
        assert (x @ x).dtype is minitorch.bfloat16
        with minitorch.autocast("cpu", enabled=False):
            assert not minitorch.is_autocast_enabled("cpu")
            assert (x @ x).dtype is minitorch.float32
        with minitorch.autocast("cpu", dtype=minitorch.float16):
            assert (x @ x).dtype is minitorch.float16
        assert (x @ x).dtype is minitorch.bfloat16
    assert not minitorch.is_autocast_enabled("cpu") and (x @ x).dtype is minitorch.float32
    assert minitorch.amp.autocast_mode.active == 0

    @minitorch.autocast("cpu", dtype=minitorch.float16)
    def f(a):
        return a @ a
    assert f(x).dtype is minitorch.float16 and (x @ x).dtype is minitorch.float32
    with pytest.raises(ZeroDivisionError):
        with minitorch.autocast("cpu"):
            1 / 0
    assert not minitorch.is_autocast_enabled("cpu")
    # the aliases, with PyTorch's deprecation warning
    with pytest.warns(FutureWarning, match="torch.amp.autocast\\('cpu'"):
        ctx = minitorch.cpu.amp.autocast()
    with ctx:
        assert (x @ x).dtype is minitorch.bfloat16
    assert minitorch.amp.autocast is minitorch.autocast
    # PyTorch's errors and warnings
    with pytest.raises(ValueError, match="Expected `device_type` of type `str`"):
        minitorch.autocast(1)
    with pytest.warns(UserWarning, match="CPU Autocast only supports dtypes of torch.bfloat16, "
                                         "torch.float16"):
        with minitorch.autocast("cpu", dtype=minitorch.float64):
            assert not minitorch.is_autocast_enabled("cpu")


def test_autocast_is_per_thread():
    x = minitorch.ones(2, 2)
    seen = {}
    started, release = threading.Event(), threading.Event()

    def other():
        started.wait()
        seen["dtype"] = (x @ x).dtype  # autocast is on in the main thread only
        release.set()
    th = threading.Thread(target=other)
    th.start()
    with minitorch.autocast("cpu"):
        started.set()
        release.wait(10)
        assert (x @ x).dtype is minitorch.bfloat16
    th.join()
    assert seen["dtype"] is minitorch.float32


def test_no_autocast_work_when_off(monkeypatch):
    # the listed ops only read the module's counter when autocast is off
    from minitorch.amp import autocast_mode as ac
    calls = []
    monkeypatch.setattr(ac, "cast_lower", lambda *a: calls.append(1) or a)
    x = minitorch.ones(3, 3)
    minitorch.nn.functional.linear(x, x)
    x @ x
    assert calls == []
    with minitorch.autocast("cpu"):
        x @ x
    assert calls


# -- GradScaler -------------------------------------------------------------------------------

def _scaler_run(m, device, steps=30, inf_at=(3, 4, 10, 17, 18, 25), nan_at=(12,)):
    """A linear model trained with SGD under a GradScaler; some steps get an inf (or NaN)
    gradient.  Returns the scale after every update, the step return values and the final
    weights."""
    rng = np.random.default_rng(0)
    w0 = rng.standard_normal((2, 3)).astype(np.float32)
    xs = rng.standard_normal((steps, 4, 3)).astype(np.float32)
    kw = {} if m is torch else {"device": device}
    w = m.tensor(w0, requires_grad=True, **kw)
    opt = m.optim.SGD([w], lr=0.1, momentum=0.9)
    scaler = m.amp.GradScaler("cpu" if m is torch else device, init_scale=2.0 ** 10,
                              growth_interval=3)
    scales, rets = [], []
    for s in range(steps):
        opt.zero_grad()
        loss = (m.tensor(xs[s], **kw) @ w.t()).pow(2).mean()
        scaler.scale(loss).backward()
        if s in inf_at or s in nan_at:
            with m.no_grad():
                w.grad[1, 2] = float("inf") if s in inf_at else float("nan")
        rets.append(scaler.step(opt) is None)
        scaler.update()
        scales.append(scaler.get_scale())
    return scales, scaler, w.detach().cpu().numpy() if m is minitorch else w.detach().numpy()


def test_grad_scaler_matches_torch_over_30_steps(device):
    ts, tsc, tw = _scaler_run(torch, "cpu")
    ms, msc, mw = _scaler_run(minitorch, device)
    assert ms == ts
    assert len(set(ts)) > 3  # the sequence grows and backs off
    np.testing.assert_allclose(mw, tw, rtol=1e-5, atol=1e-6)
    assert msc.state_dict() == tsc.state_dict()


def test_grad_scaler_skips_and_backs_off_on_inf(device):
    w = minitorch.tensor([[1.0, 2.0]], device=device, requires_grad=True)
    opt = minitorch.optim.SGD([w], lr=1.0)
    scaler = minitorch.amp.GradScaler(device, init_scale=8.0)
    assert scaler.get_scale() == 8.0
    loss = (w * w).sum()
    scaled = scaler.scale(loss)
    assert scaled.item() == loss.item() * 8.0
    scaled.backward()
    np.testing.assert_array_equal(w.grad.cpu().numpy(), [[16.0, 32.0]])
    with minitorch.no_grad():
        w.grad[0, 0] = float("inf")
    assert scaler.step(opt) is None          # skipped
    np.testing.assert_array_equal(w.detach().cpu().numpy(), [[1.0, 2.0]])
    scaler.update()
    assert scaler.get_scale() == 4.0         # backoff_factor 0.5
    # a clean step: unscale_ before clipping, then step uses the unscaled gradients
    opt.zero_grad()
    scaler.scale((w * w).sum()).backward()
    scaler.unscale_(opt)
    np.testing.assert_array_equal(w.grad.cpu().numpy(), [[2.0, 4.0]])
    with pytest.raises(RuntimeError, match="unscale_\\(\\) has already been called on this "
                                           "optimizer since the last update\\(\\)"):
        scaler.unscale_(opt)
    scaler.step(opt)
    np.testing.assert_array_equal(w.detach().cpu().numpy(), [[-1.0, -2.0]])
    with pytest.raises(RuntimeError, match="step\\(\\) has already been called since the last "
                                           "update\\(\\)"):
        scaler.step(opt)
    with pytest.raises(RuntimeError, match="unscale_\\(\\) is being called after step\\(\\)"):
        scaler.unscale_(opt)
    scaler.update()
    assert scaler.get_scale() == 4.0 and scaler._get_growth_tracker() == 1


def test_grad_scaler_state_dict_and_disabled():
    sd_kw = dict(init_scale=2.0 ** 12, growth_factor=3.0, backoff_factor=0.25,
                 growth_interval=7)
    a = minitorch.amp.GradScaler("cpu", **sd_kw)
    b = torch.amp.GradScaler("cpu", **sd_kw)
    assert a.state_dict() == b.state_dict()
    c = minitorch.amp.GradScaler("cpu")
    c.load_state_dict(a.state_dict())
    assert c.state_dict() == a.state_dict() and c.get_scale() == 2.0 ** 12
    off = minitorch.amp.GradScaler("cpu", enabled=False)
    x = minitorch.ones(2, requires_grad=True)
    assert off.scale(x) is x and off.get_scale() == 1.0 and off.state_dict() == {}
    assert not off.is_enabled()
    with pytest.raises(RuntimeError, match="The source state dict is empty"):
        c.load_state_dict({})
    with pytest.raises(AssertionError, match="The growth factor must be > 1.0"):
        minitorch.amp.GradScaler("cpu", growth_factor=1.0)
    with pytest.raises(AssertionError, match="No inf checks were recorded prior to update"):
        s = minitorch.amp.GradScaler("cpu")
        s.scale(x.sum())
        s.update()
    # float16 gradients are refused by unscale_ (PyTorch's message)
    h = minitorch.ones(2, dtype=minitorch.float16, requires_grad=True)
    s = minitorch.amp.GradScaler("cpu")
    s.scale(h.sum()).backward()
    with pytest.raises(ValueError, match="Attempting to unscale FP16 gradients"):
        s.unscale_(minitorch.optim.SGD([h], lr=0.1))
    # minitorch.cuda.amp.GradScaler without a GPU: PyTorch's warning, disabled
    if not minitorch.cuda.is_available():
        with pytest.warns(UserWarning, match="CUDA is not available.  Disabling"):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)
                assert not minitorch.cuda.amp.GradScaler().is_enabled()
