"""How fast are minitorch's own CUDA kernels?  Each against the natural reference, side by
side in one process, rounds interleaved (ours, reference, ours, reference ...), medians and
the median of per-round ratios:

* elementwise ``add`` and reduction ``sum``: effective bandwidth as a fraction of a
  device-to-device copy (CuPy) -- the best a memory-bound kernel can do;
* ``softmax`` (rows of 4096) and fused ``cross_entropy`` forward + backward: against PyTorch
  CUDA (when ``torch`` with CUDA is importable; else only our own times);
* FP32 ``matmul`` at 1024 ... 8192: TFLOP/s against ``cupy.matmul`` (cuBLAS);
* the two-layer training step of examples/benchmarks/two_layer.py (nn.Sequential, MSELoss,
  SGD) on ``device='cuda'`` against the same code in PyTorch CUDA.

    python examples/benchmarks/kernels.py [--rounds 10] [--json out.json]
    python examples/benchmarks/kernels.py --device cudasim --quick   # smoke test, tiny sizes

On ``cudasim`` (the kernels on the CPU) the numbers mean nothing; the run checks that every
measurement path works (tests/test_kernel_ext.py runs it).  References there are NumPy.
"""
from __future__ import annotations

import argparse
import inspect
import json
import os
import platform
import statistics
import sys
import time

# cuBLAS in plain FP32, as our kernel: no TF32 tensor cores (CuPy reads this at import)
os.environ.setdefault("CUPY_TF32", "0")

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402

import minitorch  # noqa: E402


class Bench:
    """Device arrays, timing and the reference library for one device."""

    def __init__(self, device: str):
        self.device = device
        self.t = minitorch.tensor([0.0], device=device)
        self.be = self.t._device._be
        self.rt = self.be.runtime
        self.xp = self.be.xp
        self.gpu = device == "cuda" or device.startswith("cuda:")
        self.torch = None
        try:
            import torch
            if not self.gpu or torch.cuda.is_available():
                self.torch = torch
        except ImportError:
            pass
        self.tdev = "cuda" if self.gpu else "cpu"

    def sync(self):
        self.rt.synchronize()
        if self.torch is not None and self.gpu:
            self.torch.cuda.synchronize()

    def time(self, fn, reps: int) -> float:
        """Milliseconds per call of fn (after a synchronize on both sides)."""
        self.sync()
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        self.sync()
        return (time.perf_counter() - t0) / reps * 1e3

    def randn(self, *shape, dtype=np.float32):
        return self.be.from_numpy(np.random.default_rng(0).standard_normal(shape).astype(dtype))


def interleave(b: Bench, ours, ref, rounds: int, reps: int):
    """Median ms of ours and ref, and the median of the per-round ratios ours/ref."""
    ours(), ref()  # warm up: compile, allocate, autotune
    to, tr = [], []
    for _ in range(rounds):
        to.append(b.time(ours, reps))
        tr.append(b.time(ref, reps))
    return statistics.median(to), statistics.median(tr), statistics.median(
        o / r for o, r in zip(to, tr))


def bench_bandwidth(b: Bench, n: int, rounds: int, reps: int):
    xp, be = b.xp, b.be
    x, y = b.randn(n), b.randn(n)
    src, dst = b.randn(n), b.xp.empty(n, np.float32)
    out = xp.empty(n, np.float32)
    copy = (lambda: dst.data.copy_from_device(src.data, src.nbytes)) if b.gpu else \
        (lambda: np.copyto(dst, src))
    rows = []
    for name, fn, nbytes in [
            ("add", lambda: be.binary("add", x, y, out=out), 3 * 4 * n),
            ("sum", lambda: be.reduce("sum", x, (0,), False), 4 * n)]:
        ms, ref_ms, _ = interleave(b, fn, copy, rounds, reps)
        gbs = nbytes / ms / 1e6
        copy_gbs = 2 * 4 * n / ref_ms / 1e6
        rows.append(dict(case=f"{name} {n:,} float32", ours_ms=ms, ref_ms=ref_ms,
                         ref="device copy (CuPy)" if b.gpu else "np.copyto",
                         metric=f"{gbs:.0f} GB/s", ref_metric=f"{copy_gbs:.0f} GB/s",
                         ratio=gbs / copy_gbs, ratio_means="fraction of copy bandwidth"))
    return rows


def bench_softmax_ce(b: Bench, rows_n: int, cols: int, rounds: int, reps: int):
    out = []
    x = b.randn(rows_n, cols)
    tgt = np.random.default_rng(1).integers(0, cols, rows_n)
    F = minitorch.nn.functional
    torch = b.torch
    if torch is not None:
        xt = torch.tensor(b.be.to_numpy(x), device=b.tdev)
        tt = torch.tensor(tgt, device=b.tdev)
    ours = lambda: b.be.softmax(x, 1)  # noqa: E731
    ref = (lambda: torch.softmax(xt, 1)) if torch is not None else ours
    ms, rms, ratio = interleave(b, ours, ref, rounds, reps)
    gbs = 2 * x.nbytes / ms / 1e6
    out.append(dict(case=f"softmax {rows_n}x{cols} float32", ours_ms=ms, ref_ms=rms,
                    ref=f"torch.softmax ({b.tdev})" if torch is not None else "(none)",
                    metric=f"{gbs:.0f} GB/s", ratio=ratio, ratio_means="time / reference time"))

    xg = minitorch.tensor(b.be.to_numpy(x), device=b.device, requires_grad=True)
    tm = minitorch.tensor(tgt, device=b.device)

    def ce_ours():
        xg.grad = None
        F.cross_entropy(xg, tm).backward()
    if torch is not None:
        xtg = xt.clone().requires_grad_(True)

        def ce_ref():
            xtg.grad = None
            torch.nn.functional.cross_entropy(xtg, tt).backward()
    else:
        ce_ref = ce_ours
    ms, rms, ratio = interleave(b, ce_ours, ce_ref, rounds, reps)
    out.append(dict(case=f"cross_entropy fwd+bwd {rows_n}x{cols} float32", ours_ms=ms,
                    ref_ms=rms, ref=f"torch F.cross_entropy ({b.tdev})" if torch is not None
                    else "(none)", metric="", ratio=ratio, ratio_means="time / reference time"))
    return out


def bench_matmul(b: Bench, sizes, rounds: int, reps_for):
    rows = []
    for n in sizes:
        a, c = b.randn(n, n), b.randn(n, n)
        ours = lambda: b.be.matmul(a, c)  # noqa: E731
        ref = (lambda: b.xp.matmul(a, c)) if b.gpu else (lambda: np.matmul(a, c))
        ms, rms, ratio = interleave(b, ours, ref, rounds, reps_for(n))
        tf = 2 * n ** 3 / ms / 1e9
        rtf = 2 * n ** 3 / rms / 1e9
        rows.append(dict(case=f"matmul {n}x{n}x{n} float32", ours_ms=ms, ref_ms=rms,
                         ref="cupy.matmul (cuBLAS)" if b.gpu else "np.matmul",
                         metric=f"{tf:.2f} TFLOP/s", ref_metric=f"{rtf:.2f} TFLOP/s",
                         ratio=rtf and tf / rtf, ratio_means="fraction of reference TFLOP/s"))
    return rows


def _two_layer_step(lib, device, data):
    """two_layer.framework_step_fn on `device` (its own device argument when it has one)."""
    import two_layer as tl
    if "device" in inspect.signature(tl.framework_step_fn).parameters:
        return tl.framework_step_fn(lib, *data, device=device)
    x, y, w1, b1, w2, b2 = data
    model = lib.nn.Sequential(lib.nn.Linear(tl.D_IN, tl.H), lib.nn.ReLU(),
                              lib.nn.Linear(tl.H, tl.D_OUT))
    with lib.no_grad():
        for p, v in zip(model.parameters(), (w1, b1, w2, b2)):
            p.copy_(lib.tensor(v))
    model = model.to(device)
    x, y = lib.tensor(x, device=device), lib.tensor(y, device=device)
    loss_fn = lib.nn.MSELoss(reduction="sum")
    opt = lib.optim.SGD(model.parameters(), lr=tl.LR)

    def step():
        loss = loss_fn(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss
    return step


def bench_two_layer(b: Bench, rounds: int, reps: int):
    import two_layer as tl
    data = tl.make_data()
    ours = _two_layer_step(minitorch, b.device, data)
    torch = b.torch
    ref = _two_layer_step(torch, b.tdev, data) if torch is not None else ours
    ms, rms, ratio = interleave(b, ours, ref, rounds, reps)
    return [dict(case=f"two_layer step N={tl.N} D_in={tl.D_IN} H={tl.H}", ours_ms=ms,
                 ref_ms=rms, ref=f"PyTorch ({b.tdev})" if torch is not None else "(none)",
                 metric="", ratio=ratio, ratio_means="time / reference time")]


def main(device="cuda", quick=False, rounds=None, json_path=None):
    b = Bench(device)
    rounds = rounds or (2 if quick else 10)
    if quick:
        rows = bench_bandwidth(b, 4096, rounds, 2)
        rows += bench_softmax_ce(b, 8, 40, rounds, 2)
        rows += bench_matmul(b, [48, 130], rounds, lambda n: 1)
        rows += bench_two_layer(b, rounds, 1)
    else:
        rows = bench_bandwidth(b, 1 << 26, rounds, 20)
        rows += bench_softmax_ce(b, 4096, 4096, rounds, 20)
        rows += bench_softmax_ce(b, 8192, 32768, rounds, 5)
        rows += bench_matmul(b, [1024, 2048, 4096, 8192], rounds,
                             lambda n: max(2, int(2 ** 33 / n ** 3)))
        rows += bench_two_layer(b, rounds, 50)
    print(f"minitorch kernels on {device}: {rounds} interleaved rounds, medians\n")
    print("| case | ours ms | reference | ref ms | ours | reference | ratio | ratio means |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['case']} | {r['ours_ms']:.4f} | {r['ref']} | {r['ref_ms']:.4f} | "
              f"{r.get('metric', '')} | {r.get('ref_metric', '')} | {r['ratio']:.2f} | "
              f"{r['ratio_means']} |")
    info = dict(device=device, python=platform.python_version(), numpy=np.__version__)
    if b.gpu:
        import cupy
        props = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)
        info["gpu"] = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
        info["cupy"] = cupy.__version__
    if b.torch is not None:
        info["torch"] = b.torch.__version__
    print("\n" + ", ".join(f"{k} {v}" for k, v in info.items()))
    if json_path:
        with open(json_path, "w") as f:
            json.dump({"info": info, "rows": rows}, f, indent=2)
    return rows


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda", help="cuda (default) or cudasim")
    p.add_argument("--quick", action="store_true", help="tiny sizes: a smoke test of every path")
    p.add_argument("--rounds", type=int, default=None)
    p.add_argument("--json", default=None, metavar="PATH")
    a = p.parse_args()
    main(a.device, a.quick, a.rounds, a.json)
