"""CUDA graphs: ``minitorch.compile(fn, mode="reduce-overhead")`` (jit/cudagraphs.py) and the
runtime's capture/replay interface (backends/runtime/).

On cudasim the runtime records the launch list and replays it; on cuda (when a GPU is there)
the same tests run through CuPy stream capture.  The reference is always the eager run and the
compiled graph without CUDA graphs: a replay must compute exactly what the compiled graph
computes (same kernels, same order), so those comparisons are bit for bit.
"""
from __future__ import annotations

import os
import sys
import warnings

import numpy as np
import pytest

import minitorch
import minitorch.nn as nn
import minitorch.nn.functional as F
from minitorch.backends.runtime.base import CaptureError
from minitorch.device import canonical

from conftest import DEVICES

KERNEL_DEVICES = [d for d in DEVICES if d != "cpu"]
needs_kernel_device = pytest.mark.skipif(not KERNEL_DEVICES, reason="no cudasim/cuda device")

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "examples", "benchmarks"))
from _workloads import build  # noqa: E402


def _np(t):
    return t.detach().cpu().numpy()


@pytest.fixture(params=KERNEL_DEVICES or ["cudasim"])
def kdev(request):
    if not KERNEL_DEVICES:
        pytest.skip("no cudasim/cuda device")
    return request.param


def _be(dev):
    return canonical(dev)._be


def _host(be, a):
    return np.asarray(be.to_numpy(a))


# -- the runtime interface ----------------------------------------------------------------

def test_runtime_capture_records_launches_and_replay_reads_current_memory(kdev):
    be = _be(kdev)
    rt = be.runtime
    x = be.from_numpy(np.linspace(-2, 2, 1000, dtype=np.float32))
    be.unary("exp", x)                       # compiled and warm before the capture
    rt.begin_capture()
    assert rt.capturing
    y = be.unary("exp", x)
    z = be.binary("mul", y, x)
    graph = rt.end_capture()
    assert not rt.capturing
    assert len(graph) == 2 and all("contig" in n for n in graph.names), graph.names
    for step in range(3):
        xs = np.random.default_rng(step).standard_normal(1000).astype(np.float32)
        be.copy_(x, be.from_numpy(xs))       # new data in the captured input buffer
        graph.replay()
        np.testing.assert_allclose(_host(be, z), np.exp(xs) * xs, rtol=1e-6)
    assert graph.replays == 3


def test_cudasim_capture_does_not_run_kernels_while_recording():
    if "cudasim" not in DEVICES:
        pytest.skip("no cudasim")
    be = _be("cudasim")
    x = be.full((64,), 1.0, np.float32)
    out = be.full((64,), 5.0, np.float32)
    be.runtime.begin_capture()
    be.copy_(out, x)
    g = be.runtime.end_capture()
    assert (out == 5.0).all()                # recorded, not run (as on a GPU)
    g.replay()
    assert (out == 1.0).all()


def test_synchronize_inside_capture_is_a_capture_error_and_abort_recovers(kdev):
    rt = _be(kdev).runtime
    rt.begin_capture()
    with pytest.raises(CaptureError, match="synchronize"):
        rt.synchronize()
    with pytest.raises(CaptureError, match="already in progress"):
        rt.begin_capture()
    rt.abort_capture()
    assert not rt.capturing
    rt.synchronize()                         # usable again
    with pytest.raises(CaptureError, match="without begin_capture"):
        rt.end_capture()


# -- minitorch.compile(mode="reduce-overhead") ----------------------------------------------

def _gelu(x):
    return 0.5 * x * (1 + (0.79788456 * (x + 0.044715 * x ** 3)).tanh())


def test_replay_follows_new_inputs_and_counts_fused_launches(kdev):
    fused = minitorch.compile(_gelu, mode="reduce-overhead")
    plain = minitorch.compile(_gelu, mode="reduce-overhead", backend="interpret")
    no_cg = minitorch.compile(_gelu)
    rng = np.random.default_rng(0)
    for i in range(5):
        xs = rng.standard_normal((33, 17)).astype(np.float32)
        x = minitorch.tensor(xs, device=kdev)
        want = _np(_gelu(x))
        got = _np(fused(x))
        np.testing.assert_array_equal(got, _np(no_cg(x)))   # the compiled graph's kernels
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
        np.testing.assert_array_equal(_np(plain(x)), want)  # eager's kernels, replayed
    xt = minitorch.tensor(rng.standard_normal((17, 33)).astype(np.float32), device=kdev).t()
    np.testing.assert_allclose(_np(fused(xt)), _np(_gelu(xt)), rtol=1e-6, atol=1e-6)
    r_fused, r_plain = fused.cudagraphs[0], plain.cudagraphs[0]
    # call 1 traces, 2 warms up, 3 captures (and replays), 4.. replay
    assert r_fused.replays == 6 - 2 and r_plain.replays == 5 - 2
    assert r_fused.launches == 1                 # the whole GELU: one generated kernel
    assert r_plain.launches >= 8                 # one launch per elementwise op unfused
    assert "1 launches captured" in str(fused.explain(verbose=False))


def test_reading_an_output_overwritten_by_a_later_replay_raises(kdev):
    f = minitorch.compile(lambda x: (x * 2 + 1).exp(), mode="reduce-overhead")
    x = minitorch.ones(4, device=kdev)
    for _ in range(3):
        out = f(x)                               # warm-up, capture, replay
    kept = out.clone()
    view = out.detach()                          # not a copy: another tensor on the buffer
    np.testing.assert_allclose(_np(out), np.exp(3.0) * np.ones(4), rtol=1e-6)
    new = f(2 * x)
    with pytest.raises(RuntimeError, match="accessing tensor output of CUDAGraphs that has "
                                           "been overwritten by a subsequent run") as e:
        out.sum()
    assert ".clone()" in str(e.value)
    with pytest.raises(RuntimeError, match="overwritten by a subsequent run"):
        print(out)
    np.testing.assert_allclose(_np(kept), np.exp(3.0), rtol=1e-6)   # the clone survives
    np.testing.assert_allclose(_np(new), np.exp(5.0), rtol=1e-6)    # the newest output is live
    assert view.shape == (4,)
    out2 = f(x)
    out2.data = minitorch.zeros(4, device=kdev)   # new data: a plain tensor from then on
    f(x)
    assert float(out2.sum()) == 0.0


def test_outputs_of_the_warm_up_call_are_not_static_buffers(kdev):
    f = minitorch.compile(lambda x: x + 1, mode="reduce-overhead")
    x = minitorch.zeros(3, device=kdev)
    first = f(x)          # traced: an eager run
    second = f(x)         # warm-up on the interpreter
    for _ in range(3):
        f(x)
    assert _np(first).tolist() == [1, 1, 1] and _np(second).tolist() == [1, 1, 1]


def _mlp(dev, dropout=0.0):
    minitorch.manual_seed(0)
    layers = [nn.Linear(6, 16), nn.ReLU()] + ([nn.Dropout(dropout)] if dropout else []) + \
        [nn.Linear(16, 4)]
    model = nn.Sequential(*layers).to(dev)
    opt = minitorch.optim.AdamW(model.parameters(), lr=0.01)

    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss
    return model, step


def _batches(dev, n, seed=0):
    rng = np.random.default_rng(seed)
    return [(minitorch.tensor(rng.standard_normal((8, 6)).astype(np.float32), device=dev),
             minitorch.tensor(rng.integers(0, 4, 8), device=dev)) for _ in range(n)]


def test_training_step_with_dropout_and_adamw_equals_the_compiled_graph(kdev):
    """Dropout draws and AdamW's step count are host work: they run between the captured
    segments, so every replay draws fresh masks and uses the current step, bit for bit the
    compiled graph without CUDA graphs."""
    data = _batches(kdev, 7)
    res = {}
    for mode in ("default", "reduce-overhead"):
        model, step = _mlp(kdev, dropout=0.3)
        f = minitorch.compile(step, mode=mode, fullgraph=True)
        minitorch.manual_seed(5)
        losses = [f(x, y).item() for x, y in data]
        res[mode] = (losses, [_np(p) for p in model.parameters()], f)
    (la, pa, _), (lb, pb, fb) = res["default"], res["reduce-overhead"]
    assert la == lb and len(set(lb)) == len(lb)
    for p, q in zip(pa, pb):
        np.testing.assert_array_equal(p, q)
    runner = fb.cudagraphs[-1]
    assert runner.replays == 7 - 3 and runner.failed is None   # 2 traces, 1 warm-up
    reasons = {why for _, why, _ in runner.eager_nodes}
    assert any("random draw" in r for r in reasons), reasons
    assert any("step count" in r for r in reasons), reasons
    text = str(fb.explain(verbose=False))
    assert "cudagraphs:" in text and "captured segment" in text


def test_capture_failure_falls_back_with_one_warning_and_the_reason(kdev, monkeypatch):
    be = _be(kdev)
    # (on the interpreter, so that relu is its own unary call)
    f = minitorch.compile(lambda x: (x * 3).relu() + 1, mode="reduce-overhead",
                          backend="interpret")
    x = minitorch.tensor(np.array([-1.0, 2.0], np.float32), device=kdev)
    f(x), f(x)                                   # traced, warm-up
    orig = type(be).unary

    def reads_back(self, op, a):                 # a primitive that reads a value back
        be.to_numpy(a)
        return orig(self, op, a)
    monkeypatch.setattr(type(be), "unary", reads_back)
    with pytest.warns(UserWarning, match="capture failed") as w:
        out = f(x)                               # the capture call still gives its result
    assert len(w) == 1 and "read-back" in str(w[0].message)
    np.testing.assert_array_equal(_np(out), [1.0, 7.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")           # no second warning
        np.testing.assert_array_equal(_np(f(x)), [1.0, 7.0])
    runner = f.cudagraphs[0]
    assert runner.failed and "read-back" in runner.failed and "relu" in runner.failed
    assert not be.runtime.capturing
    assert "capture failed" in str(f.explain(verbose=False))


def test_synchronize_inside_a_primitive_falls_back(kdev, monkeypatch):
    be = _be(kdev)
    f = minitorch.compile(lambda x: x.exp() * 2, mode="reduce-overhead", backend="interpret")
    x = minitorch.ones(3, device=kdev)
    f(x), f(x)
    orig = type(be).unary

    def syncs(self, op, a):
        be.runtime.synchronize()
        return orig(self, op, a)
    monkeypatch.setattr(type(be), "unary", syncs)
    with pytest.warns(UserWarning, match="synchronize"):
        np.testing.assert_allclose(_np(f(x)), 2 * np.e * np.ones(3), rtol=1e-6)


def test_state_replaced_between_calls_is_copied_into_the_captured_buffer(kdev):
    model, step = _mlp(kdev)
    f = minitorch.compile(step, mode="reduce-overhead")
    ref_model, ref_step = _mlp(kdev)
    data = _batches(kdev, 8)
    for i, (x, y) in enumerate(data):
        if i == 5:                               # new arrays behind the parameters
            for m in (model, ref_model):
                with minitorch.no_grad():
                    m[0].weight.data = m[0].weight.detach() * 0.5
        la, lb = f(x, y).item(), ref_step(x, y).item()
        assert abs(la - lb) <= 1e-6, (i, la, lb)
    for p, q in zip(model.parameters(), ref_model.parameters()):
        np.testing.assert_allclose(_np(p), _np(q), rtol=0, atol=1e-6)


def test_cpu_mode_reduce_overhead_behaves_like_default():
    model, step = _mlp("cpu")
    f = minitorch.compile(step, mode="reduce-overhead")
    ref_model, ref_step = _mlp("cpu")
    g = minitorch.compile(ref_step)
    for x, y in _batches("cpu", 5):
        assert f(x, y).item() == g(x, y).item()
    runner = f.cudagraphs[-1]
    assert runner.segments == [] and runner.launches == 0
    assert "nothing to capture" in str(f.explain(verbose=False))


@pytest.mark.parametrize("mode,cudagraphs", [("max-autotune", True), ("default", False),
                                              ("max-autotune-no-cudagraphs", False)])
def test_which_modes_use_cuda_graphs(kdev, mode, cudagraphs):
    """As in PyTorch: "reduce-overhead" and "max-autotune" replay CUDA graphs."""
    f = minitorch.compile(lambda x: x * 2 + 1, mode=mode)
    x = minitorch.ones(3, device=kdev)
    for _ in range(4):
        out = f(x)
    assert _np(out).tolist() == [3, 3, 3]
    runner = f.cudagraphs[0]
    assert (runner is not None and runner.replays == 2) == cudagraphs


def test_unknown_mode_still_rejected():
    with pytest.raises(ValueError, match="unknown mode"):
        minitorch.compile(lambda x: x, mode="reduce_overhead")


# -- the benchmark workloads, fused on every device, with and without CUDA graphs ------------

def _run_workload(name, dev, steps, compiled=True, mode=None):
    w = build(name, minitorch, dev, quick=True)
    f = minitorch.compile(w.step, mode=mode, fullgraph=True) if compiled else w.step
    losses = []
    for i in range(steps):
        minitorch.manual_seed(100 + i)      # the same dropout draws in every run
        losses.append(f(*w.batch()).item())
    return w, f, losses


def _signal(name, pname, a):
    """The part of parameter ``a`` whose gradient is not rounding noise.  Two gradients are
    exactly zero in exact arithmetic: the conv bias before BatchNorm, and the key part of the
    attention's qkv bias (softmax ignores a constant shift); Adam turns their 1e-8 noise into
    lr-sized steps that differ between any two roundings, eager or fused."""
    if name == "cnn" and pname == "0.bias":
        return a[:0]
    if name == "gpt" and pname.endswith("attn.qkv.bias"):
        c = a.shape[0] // 3
        return np.concatenate([a[:c], a[2 * c:]])
    return a


_CASES = [(n, "cpu", 50) for n in ("mlp", "cnn", "lstm", "gpt")]
if "cudasim" in DEVICES:
    _CASES += [("mlp", "cudasim", 12), ("cnn", "cudasim", 6), ("lstm", "cudasim", 6),
               ("gpt", "cudasim", 6)]


@pytest.mark.parametrize("name,dev,steps", _CASES, ids=[f"{n}-{d}" for n, d, _ in _CASES])
def test_benchmark_training_steps_fused_equal_eager(name, dev, steps):
    """examples/benchmarks/_workloads.py's steps (MLP+SGD, CNN+BatchNorm+Adam, LSTM+dropout+
    AdamW, GPT+AdamW), compiled with fusion: losses and weights equal eager to 1e-5."""
    we, _, le = _run_workload(name, dev, steps, compiled=False)
    wc, f, lc = _run_workload(name, dev, steps)      # same seed: the same initial weights
    ex = f.explain(verbose=False)
    assert ex.graph_count == 2 and ex.calls.count("graph") == steps - 2, str(ex)
    assert f.graphs[-1].kernels, "nothing fused"
    np.testing.assert_allclose(lc, le, rtol=0, atol=1e-5)
    for (n, p), q in zip(we.model.named_parameters(), wc.model.parameters()):
        np.testing.assert_allclose(_signal(name, n, _np(q)), _signal(name, n, _np(p)), rtol=0,
                                   atol=1e-5, err_msg=n)


_CG_CASES = [(n, d, s) for n, d, s in _CASES if d != "cpu"]


@pytest.mark.parametrize("name,dev,steps", _CG_CASES, ids=[f"{n}-{d}" for n, d, _ in _CG_CASES])
def test_benchmark_training_steps_with_cuda_graphs_equal_the_compiled_graph(name, dev, steps):
    """mode="reduce-overhead" replays the compiled graph's own launches: bit for bit the
    compiled graph, and so equal to eager like it; every call past the capture replays."""
    wd, _, ld = _run_workload(name, dev, steps)
    wr, fr, lr = _run_workload(name, dev, steps, mode="reduce-overhead")
    assert lr == ld
    for p, q in zip(wd.model.parameters(), wr.model.parameters()):
        np.testing.assert_array_equal(_np(q), _np(p))
    runner = fr.cudagraphs[-1]
    assert runner.failed is None, runner.failed
    assert runner.replays == steps - 3 and runner.launches > 0


@pytest.mark.skipif("cudasim" not in DEVICES, reason="no cudasim")
def test_a_second_cudasim_runtime_does_not_take_over_the_devices_modules():
    # a KernelBackend(CudasimRuntime()) of its own (as test_kernel_backend.py makes) loaded
    # elementwise.cu first; the device's runtime must still get (and capture) its own module
    from minitorch.backends.kernel import KernelBackend
    from minitorch.backends.runtime.cudasim import CudasimRuntime
    other = KernelBackend(CudasimRuntime())
    other.unary("neg", other.from_numpy(np.arange(7, dtype=np.float32)))
    be = _be("cudasim")
    x = be.from_numpy(np.arange(7, dtype=np.float32))
    be.runtime.begin_capture()
    try:
        be.unary("neg", x)
    finally:
        graph = be.runtime.end_capture()
    assert graph is not None
