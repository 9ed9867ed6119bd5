"""What `minitorch.compile` buys on the CPU, side by side with NumPy, PyTorch eager and
`torch.compile` (its CPU inductor backend, built with the host compiler), in one process.

  (1) tanh-GELU `0.5*x*(1+tanh(0.79788456*(x+0.044715*x**3)))` on 4M float32: NumPy, PyTorch
      eager, torch.compile, minitorch eager, minitorch.compile (one fused kernel), and a plain
      copy of the same array (NumPy `copyto`, read 4 + write 4 bytes per element, what GELU
      also moves): the fraction of copy bandwidth each reaches is copy time / its time;
  (2) the four training steps of _workloads.py (MLP+SGD, CNN+BatchNorm+Adam,
      LSTM+dropout+AdamW, GPT+AdamW): minitorch eager, minitorch.compile (fused), PyTorch
      eager and torch.compile of the same step function (same weights; first losses checked);
  (3) kernel launches per training step before and after fusion: from the graph (full sizes;
      every node that computes is one launch, a fused group one) and counted by the runtime on
      cudasim (quick sizes: every KernelFunction call of one step, eager / compiled unfused /
      compiled fused / reduce-overhead's captured launches);
  (4) trace + compile time of a fresh minitorch.compile(step) on a warmed-up workload (the
      first call traces and fuses, the second builds the kernels and runs), with a cold
      kernel cache (an empty MINITORCH_CACHE) and a warm one (target: warm < 50 ms);
  (5) cudasim, quick sizes: compiled step per call, default mode vs mode="reduce-overhead"
      (CUDA graphs recorded and replayed by the simulator: the Python cost they remove).
      Simulator times, not GPU times.

Warm-up first (torch.compile compiles on its first calls), then interleaved rounds
(A B C A B C ...); reported: medians, and medians of per-round ratios.  Threads: --threads
(default 1) for NumPy/OpenBLAS, OpenMP (minitorch's fused cpu kernels, torch inductor) and
torch.

    python examples/benchmarks/compile.py [--rounds 7] [--json out.json] [--only gelu,steps]
    python examples/benchmarks/compile.py --quick      # tiny sizes, no torch.compile: a smoke test
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import sys
import tempfile
import time


def _threads_from_argv() -> str:
    for i, a in enumerate(sys.argv):
        if a == "--threads" and i + 1 < len(sys.argv):
            return sys.argv[i + 1]
        if a.startswith("--threads="):
            return a.split("=", 1)[1]
    return "1"


_T = _threads_from_argv()
for _k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_k, _T)

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import minitorch  # noqa: E402
from _workloads import NAMES, build, describe  # noqa: E402

try:
    import torch
    torch.set_num_threads(int(_T))
except ImportError:  # the PyTorch columns are skipped
    torch = None

PURE_VIEWS = {"reshape", "permute", "expand", "slice"}


def _median(xs):
    return statistics.median(xs) if xs else float("nan")


def _ratio(a, b):
    """Median of per-round ratios a[i] / b[i]."""
    return statistics.median(x / y for x, y in zip(a, b)) if a and b else float("nan")


def _time(fn, reps: int) -> float:
    gc.disable()
    try:
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        return (time.perf_counter() - t0) / reps * 1e3
    finally:
        gc.enable()


def _rounds(fns: dict, rounds: int, reps: int) -> dict:
    times = {k: [] for k in fns}
    for _ in range(rounds):
        for k, fn in fns.items():
            times[k].append(_time(fn, reps))
    return times


# ------------------------------------------------------------------------------------------
# (1) GELU

def _gelu_np(x):
    return 0.5 * x * (1 + np.tanh(np.float32(0.79788456) * (x + np.float32(0.044715) * x ** 3)))


def _gelu(x):
    return 0.5 * x * (1 + (0.79788456 * (x + 0.044715 * x ** 3)).tanh())


TORCH_COMPILE = True   # --no-torch-compile (and --quick) leave the torch.compile columns out
COLD = True            # --quick leaves out the cold-cache trace (it builds every kernel)


def gelu(n: int, rounds: int, reps: int) -> dict:
    xs = np.random.default_rng(0).standard_normal(n).astype(np.float32)
    ref = _gelu_np(xs.astype(np.float64))
    dst = np.empty_like(xs)
    x = minitorch.tensor(xs)
    fused = minitorch.compile(_gelu)
    fns = {"copy": lambda: np.copyto(dst, xs), "numpy": lambda: _gelu_np(xs),
           "minitorch eager": lambda: _gelu(x), "minitorch.compile": lambda: fused(x)}
    outs = {"numpy": _gelu_np(xs), "minitorch eager": _gelu(x).numpy()}
    for _ in range(3):
        out = fused(x)
    outs["minitorch.compile"] = out.numpy()
    g = fused.graphs[-1]
    res = {"n": n, "kernels": [k.name for k in g.kernels], "nodes": len(g.nodes)}
    if torch is not None:
        tx = torch.from_numpy(xs)
        tdst = torch.empty_like(tx)
        outs["torch eager"] = _gelu(tx).numpy()
        fns.update({"torch copy": lambda: tdst.copy_(tx), "torch eager": lambda: _gelu(tx)})
        if TORCH_COMPILE:
            tc = torch.compile(_gelu)
            t0 = time.perf_counter()
            outs["torch.compile"] = tc(tx).numpy()
            res["torch_compile_first_call_s"] = time.perf_counter() - t0
            for _ in range(3):
                tc(tx)
            fns["torch.compile"] = lambda: tc(tx)
    res["max_abs_err_vs_float64"] = {k: float(np.abs(v - ref).max()) for k, v in outs.items()}
    for fn in fns.values():  # warm
        fn()
    t = _rounds(fns, rounds, reps)
    res["ms"] = {k: _median(v) for k, v in t.items()}
    res["copy_fraction"] = {k: _ratio(t["copy"], v) for k, v in t.items() if k != "copy"}
    res["vs_minitorch_compile"] = {k: _ratio(t["minitorch.compile"], v) for k, v in t.items()}
    res["rounds_ms"] = t
    return res


# ------------------------------------------------------------------------------------------
# (2) training steps

def _not_compiled(cf) -> str | None:
    ex = cf.explain(verbose=False)
    if ex.eager_reason:
        return ex.eager_reason
    if not ex.calls or ex.calls[-1] != "graph":
        return f"the last call did not replay a graph (calls: {', '.join(ex.calls[-4:])})"
    return None


def _launch_nodes(g) -> int:
    """Nodes that compute (one kernel launch each on a kernel device; a fused group: one)."""
    return sum(1 for n in g.nodes if n.op not in PURE_VIEWS and n.op not in ("check", "counter"))


def steps(name: str, rounds: int, reps: int, quick: bool) -> dict:
    eager = build(name, minitorch, quick=quick)
    comp = build(name, minitorch, quick=quick, init_from=eager.model)
    res: dict = {"workload": describe(name, quick)}
    cf = minitorch.compile(comp.step)
    le, lc = [], []
    for i in range(3):
        minitorch.manual_seed(1000 + i)
        le.append(eager.step(*eager.batch()).item())
        minitorch.manual_seed(1000 + i)
        lc.append(cf(*comp.batch()).item())
    res["compiled_vs_eager_max_loss_diff"] = max(abs(a - b) for a, b in zip(le, lc))
    res["not_compiled"] = _not_compiled(cf)
    g = cf.graphs[-1]
    res["launches_unfused"] = _launch_nodes(g.unfused) if g.unfused is not None else None
    res["launches_fused"] = _launch_nodes(g)
    res["kernels"] = len(g.kernels)
    fns = {"minitorch eager": lambda: eager.step(*eager.batch()),
           "minitorch.compile": lambda: cf(*comp.batch())}
    if torch is not None:
        tw = build(name, torch, quick=quick, init_from=eager.model)
        tc_w = build(name, torch, quick=quick, init_from=eager.model)
        eager.model.eval(), tw.model.eval()
        with minitorch.no_grad():
            l_mt = eager.loss_fn(eager.model, *eager.batch()).item()
        with torch.no_grad():
            l_pt = tw.loss_fn(tw.model, *tw.batch()).item()
        eager.model.train(), tw.model.train()
        res["first_loss_abs_diff_vs_torch"] = abs(l_mt - l_pt)
        for _ in range(3):
            tw.step(*tw.batch())
        fns["torch eager"] = lambda: tw.step(*tw.batch())
        if TORCH_COMPILE:
            tstep = torch.compile(tc_w.step)
            t0 = time.perf_counter()
            for _ in range(3):
                tstep(*tc_w.batch())
            res["torch_compile_first_3_calls_s"] = time.perf_counter() - t0
            fns["torch.compile"] = lambda: tstep(*tc_w.batch())
    for fn in fns.values():
        fn()
    before = len(cf.explain(verbose=False).calls)
    t = _rounds(fns, rounds, reps)
    timed = cf.explain(verbose=False).calls[before:]
    if any(c != "graph" for c in timed):
        res["not_compiled"] = f"{sum(c != 'graph' for c in timed)} timed calls did not replay"
    res["ms"] = {k: _median(v) for k, v in t.items()}
    res["compiled_over"] = {k: _ratio(t["minitorch.compile"], v) for k, v in t.items()}
    res["rounds_ms"] = t
    return res


# ------------------------------------------------------------------------------------------
# (3) launches counted by the runtime on cudasim

def _count_launches(fn) -> int:
    from minitorch.backends.runtime import base as rb
    orig = rb.KernelFunction.__call__
    count = [0]

    def counting(self, *a, **k):
        if rb.KernelFunction._capture is None:
            count[0] += 1
        return orig(self, *a, **k)
    rb.KernelFunction.__call__ = counting
    try:
        fn()
    finally:
        rb.KernelFunction.__call__ = orig
    return count[0]


def cudasim_launches(name: str) -> dict:
    out: dict = {}
    w = build(name, minitorch, "cudasim", quick=True)
    for _ in range(2):
        w.step(*w.batch())
    out["eager"] = _count_launches(lambda: w.step(*w.batch()))
    for label, backend in (("compiled, unfused", "interpret"), ("compiled, fused", "inductor")):
        c = build(name, minitorch, "cudasim", quick=True)
        cf = minitorch.compile(c.step, backend=backend)
        for _ in range(3):
            cf(*c.batch())
        out[label] = _count_launches(lambda: cf(*c.batch()))
    c = build(name, minitorch, "cudasim", quick=True)
    cf = minitorch.compile(c.step, mode="reduce-overhead")
    for _ in range(5):
        cf(*c.batch())
    r = cf.cudagraphs[-1]
    out["reduce-overhead: launched eagerly per step"] = _count_launches(lambda: cf(*c.batch()))
    out["reduce-overhead: replayed from the graph"] = r.launches
    out["reduce-overhead: segments"] = len(r.segments)
    return out


# ------------------------------------------------------------------------------------------
# (4) trace + compile time

def trace_compile(name: str, quick: bool, repeats: int) -> dict:
    w = build(name, minitorch, quick=quick)
    warm = minitorch.compile(w.step)
    for _ in range(4):
        warm(*w.batch())
    step_ms = _median([_time(lambda: warm(*w.batch()), 1) for _ in range(5)])
    res = {"compiled_step_ms": step_ms}
    old = os.environ.get("MINITORCH_CACHE")
    with tempfile.TemporaryDirectory(prefix="mt-cold-cache-") as d:
        os.environ["MINITORCH_CACHE"] = d
        try:
            for label, n in (("cold", 1 if COLD else 0), ("warm", repeats)):
                ts = []
                for _ in range(n):
                    cf = minitorch.compile(w.step)
                    x, y = w.batch()
                    t0 = time.perf_counter()
                    cf(x, y)           # trace (an eager run) + passes + fusion
                    cf(x, y)           # kernels built (from the cache when warm) and run
                    ts.append((time.perf_counter() - t0) * 1e3 - step_ms)
                    if cf.explain(verbose=False).calls[-1] != "graph":
                        res["error"] = "the second call did not run the graph"
                res[f"{label}_ms"] = _median(ts) if ts else None
        finally:
            if old is None:
                os.environ.pop("MINITORCH_CACHE", None)
            else:
                os.environ["MINITORCH_CACHE"] = old
    return res


# ------------------------------------------------------------------------------------------
# (5) cudasim: default vs reduce-overhead

def cudasim_modes(name: str, rounds: int, reps: int) -> dict:
    runs = {}
    for mode in ("default", "reduce-overhead"):
        w = build(name, minitorch, "cudasim", quick=True)
        cf = minitorch.compile(w.step, mode=mode)
        for _ in range(5):
            cf(*w.batch())
        runs[mode] = (lambda cf=cf, w=w: cf(*w.batch()))
    e = build(name, minitorch, "cudasim", quick=True)
    runs["eager"] = lambda: e.step(*e.batch())
    t = _rounds(runs, rounds, reps)
    return {"ms": {k: _median(v) for k, v in t.items()},
            "reduce_overhead_over_default": _ratio(t["reduce-overhead"], t["default"]),
            "default_over_eager": _ratio(t["default"], t["eager"])}


# ------------------------------------------------------------------------------------------
# report

def _ms(v) -> str:
    return "-" if v is None or v != v else (f"{v:.3f}" if v < 10 else f"{v:.1f}")


def _x(v) -> str:
    return "-" if v is None or v != v else f"{v:.2f}x"


def report(r: dict) -> None:
    print(f"threads {r['threads']}, {r['rounds']} interleaved rounds; ratios are medians of "
          f"per-round ratios")
    if "gelu" in r:
        gl = r["gelu"]
        print(f"\n(1) tanh-GELU on {gl['n']:,} float32 (minitorch.compile: "
              f"{len(gl['kernels'])} kernel {', '.join(gl['kernels'])})")
        print("| | ms | fraction of copy bandwidth | minitorch.compile / this | max abs err |")
        print("|---|---|---|---|---|")
        for k, v in gl["ms"].items():
            err = gl["max_abs_err_vs_float64"].get(k)
            frac = "-" if k == "copy" else f"{gl['copy_fraction'][k]:.0%}"
            err = "-" if err is None else f"{err:.2g}"
            print(f"| {k} | {_ms(v)} | {frac} | {_x(gl['vs_minitorch_compile'][k])} | {err} |")
        if "torch_compile_first_call_s" in gl:
            print(f"torch.compile's first call (its compile): "
                  f"{gl['torch_compile_first_call_s']:.1f} s")
    if "steps" in r:
        print("\n(2) training steps, ms per step (zero_grad, forward, backward, step)")
        print("| workload | minitorch eager | minitorch.compile | PyTorch eager | torch.compile |"
              " compile / PyTorch eager | compile / torch.compile | compile / eager |")
        print("|---" * 8 + "|")
        for name, s in r["steps"].items():
            ms, co = s["ms"], s["compiled_over"]
            note = f" (not compiled: {s['not_compiled']})" if s["not_compiled"] else ""
            print(f"| {name}: {s['workload']}{note} | {_ms(ms['minitorch eager'])} | "
                  f"{_ms(ms['minitorch.compile'])} | {_ms(ms.get('torch eager'))} | "
                  f"{_ms(ms.get('torch.compile'))} | {_x(co.get('torch eager'))} | "
                  f"{_x(co.get('torch.compile'))} | {_x(co['minitorch eager'])} |")
        print("checks: " + "; ".join(
            f"{n}: compiled vs eager max |loss diff| {s['compiled_vs_eager_max_loss_diff']:.2g}"
            + (f", first loss vs PyTorch {s['first_loss_abs_diff_vs_torch']:.2g}"
               if "first_loss_abs_diff_vs_torch" in s else "")
            for n, s in r["steps"].items()))
        if any("torch_compile_first_3_calls_s" in s for s in r["steps"].values()):
            print("torch.compile's first 3 calls (its compile): " + ", ".join(
                f"{n} {s['torch_compile_first_3_calls_s']:.1f} s" for n, s in r["steps"].items()
                if "torch_compile_first_3_calls_s" in s))
        print("\n(3) kernel launches per step, from the graph (the sizes of (2))")
        print("| workload | before fusion | after fusion | fused kernels |\n|---|---|---|---|")
        for name, s in r["steps"].items():
            print(f"| {name} | {s['launches_unfused']} | {s['launches_fused']} | "
                  f"{s['kernels']} |")
    if "launches" in r:
        print("\n(3b) kernel launches per step counted by the cudasim runtime (quick sizes)")
        keys = list(next(iter(r["launches"].values())))
        print("| workload | " + " | ".join(keys) + " |\n" + "|---" * (len(keys) + 1) + "|")
        for name, d in r["launches"].items():
            print(f"| {name} | " + " | ".join(str(d[k]) for k in keys) + " |")
    if "trace" in r:
        print("\n(4) trace + compile time of a fresh minitorch.compile(step) (first two calls "
              "minus one compiled step), ms")
        print("| workload | cold cache | warm cache | compiled step |\n|---|---|---|---|")
        for name, s in r["trace"].items():
            print(f"| {name} | {_ms(s['cold_ms'])} | {_ms(s['warm_ms'])} | "
                  f"{_ms(s['compiled_step_ms'])} |")
    if "cudasim" in r:
        print("\n(5) cudasim (the CPU simulator, quick sizes), ms per step")
        print("| workload | eager | compiled | compiled, reduce-overhead | reduce-overhead / "
              "compiled |\n|---|---|---|---|---|")
        for name, s in r["cudasim"].items():
            ms = s["ms"]
            print(f"| {name} | {_ms(ms['eager'])} | {_ms(ms['default'])} | "
                  f"{_ms(ms['reduce-overhead'])} | {_x(s['reduce_overhead_over_default'])} |")
    print(f"\nPython {platform.python_version()}, NumPy {np.__version__}"
          + (f", PyTorch {torch.__version__}" if torch is not None else ", no PyTorch")
          + f", {os.cpu_count()} CPUs")


def main(rounds=7, quick=False, only=("gelu", "steps", "launches", "trace", "cudasim"),
         workloads=NAMES, json_path=None, torch_compile=None) -> dict:
    global TORCH_COMPILE, COLD
    TORCH_COMPILE = (not quick) if torch_compile is None else torch_compile
    COLD = not quick
    r: dict = {"rounds": rounds, "quick": quick, "threads": _T,
               "torch_compile": TORCH_COMPILE and torch is not None}
    if "gelu" in only:
        r["gelu"] = gelu(4096 if quick else 4 * 1024 * 1024, rounds, 3 if quick else 20)
    if "steps" in only:
        r["steps"] = {n: steps(n, rounds, 2 if quick else 5, quick) for n in workloads}
    sim = _has_cudasim()
    if "launches" in only and sim:
        r["launches"] = {n: cudasim_launches(n) for n in workloads}
    if "trace" in only:
        r["trace"] = {n: trace_compile(n, quick, 3) for n in workloads}
    if "cudasim" in only and sim:
        r["cudasim"] = {n: cudasim_modes(n, rounds, 2 if quick else 5) for n in workloads}
    report(r)
    if json_path:
        with open(json_path, "w") as f:
            json.dump(r, f, indent=2, default=str)
    return r


def _has_cudasim() -> bool:
    from minitorch.device import is_available
    try:
        return bool(is_available("cudasim"))
    except Exception:  # noqa: BLE001
        return False


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default 7)")
    p.add_argument("--threads", default="1", help="threads for every library (default 1)")
    p.add_argument("--only", default="gelu,steps,launches,trace,cudasim",
                   help="sections: gelu, steps, launches, trace, cudasim")
    p.add_argument("--workloads", default=",".join(NAMES))
    p.add_argument("--json", default=None, help="write the raw results here")
    p.add_argument("--quick", action="store_true",
                   help="tiny sizes, 2 rounds, no torch.compile, no cold-cache trace: a smoke "
                        "test (numbers mean nothing)")
    p.add_argument("--torch-compile", dest="torch_compile", action="store_true", default=None,
                   help="time torch.compile (the default unless --quick)")
    p.add_argument("--no-torch-compile", dest="torch_compile", action="store_false")
    a = p.parse_args()
    names = [n for n in a.workloads.split(",") if n]
    bad = [n for n in names if n not in NAMES]
    if bad:
        p.error(f"unknown workload(s) {bad}; expected some of {list(NAMES)}")
    main(a.rounds or (2 if a.quick else 7), a.quick, tuple(a.only.split(",")), names, a.json,
         a.torch_compile)
