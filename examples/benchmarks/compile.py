"""What `minitorch.compile` costs and buys on the CPU: trace time, the overhead of a cached
call, and four training steps eager vs compiled (interpreter) vs PyTorch eager.

  (a) trace time: the first call of `minitorch.compile(step)` (an eager run that records
      every primitive, plus the IR passes), against one eager step of the same workload;
  (b) cached-call overhead: `x + 1` on 8 float32 values, compiled call (guard check +
      interpreter + write-back) vs the eager call (vs PyTorch eager when importable);
  (c) the training steps of examples/benchmarks/_workloads.py (MLP, CNN, LSTM, GPT), each as
      minitorch eager, minitorch compiled and PyTorch eager, side by side in one process.

The compiled column runs the graph with the interpreter (`backend="interpret"`, the
reference that calls the very primitives eager calls); `--backend inductor` times another
graph backend instead.

Before timing, the compiled step's losses are checked against eager's for a few steps
(same seeds, same starting weights) and the PyTorch model's first loss against minitorch's
(eval mode, weights copied); the max differences are printed.  A workload that does not
compile (graph break, error) shows the reason from `compiled.explain()` instead of a time.
Rounds are interleaved (A B C A B C ...); reported are medians and the median of per-round
ratios.  Everything single-threaded (OPENBLAS_NUM_THREADS=1, torch.set_num_threads(1)).

    python examples/benchmarks/compile.py [--rounds 5] [--steps 5] [--json out.json]
    python examples/benchmarks/compile.py --quick      # tiny sizes: a smoke test for CI
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import minitorch  # noqa: E402
from _workloads import NAMES, build, describe  # noqa: E402

try:
    import torch
    torch.set_num_threads(1)
except ImportError:  # the PyTorch columns are skipped
    torch = None

CHECK_STEPS = 3
BACKEND = "interpret"  # --backend: the graph runs on the interpreter unless told otherwise


def _median(xs):
    return statistics.median(xs) if xs else float("nan")


def _ratio(a, b):
    """Median of per-round ratios a[i] / b[i]."""
    return statistics.median(x / y for x, y in zip(a, b)) if a and b else float("nan")


def _not_compiled(cf) -> str | None:
    """Why ``cf`` does not run its graph (None when its last call replayed a graph)."""
    ex = cf.explain(verbose=False)
    if ex.eager_reason:
        return ex.eager_reason
    if ex.graph_breaks:
        reason, src = ex.graph_breaks[0]
        return f"graph break: {reason} at {src or '<unknown>'}"
    if not ex.calls or ex.calls[-1] != "graph":
        return f"the last call did not replay a graph (calls: {', '.join(ex.calls[-4:])})"
    return None


# ------------------------------------------------------------------------------------------
# (b) cached-call overhead

def overhead(rounds: int, calls: int) -> dict:
    x = minitorch.tensor(np.random.rand(8).astype(np.float32))

    def add_one(x):
        return x + 1

    compiled = minitorch.compile(add_one, backend=BACKEND)
    for _ in range(3):
        compiled(x)
    why = _not_compiled(compiled)
    got, want = compiled(x).numpy(), add_one(x).numpy()
    fns = {"eager": lambda: add_one(x), "compiled": lambda: compiled(x)}
    if torch is not None:
        tx = torch.tensor(x.numpy())
        fns["torch"] = lambda: add_one(tx)
    times = {k: [] for k in fns}
    loop = range(calls)
    for _ in range(rounds):
        for k, fn in fns.items():
            gc.disable()
            t0 = time.perf_counter()
            for _ in loop:
                fn()
            times[k].append((time.perf_counter() - t0) / calls * 1e9)
            gc.enable()
    out = {"ns_per_call": {k: _median(v) for k, v in times.items()},
           "compiled_over_eager": _ratio(times["compiled"], times["eager"]),
           "max_abs_diff": float(np.abs(got - want).max()), "not_compiled": why}
    if "torch" in times:
        out["compiled_over_torch"] = _ratio(times["compiled"], times["torch"])
    return out


# ------------------------------------------------------------------------------------------
# (a) + (c) the training steps

class _Runner:
    def __init__(self, fn, batch):
        self.fn, self.batch = fn, batch
        self.times: list = []
        self.error: str | None = None

    def run(self, steps: int) -> None:
        if self.error:
            return
        x, y = self.batch()
        t0 = time.perf_counter()
        for _ in range(steps):
            self.fn(x, y)
        self.times.append((time.perf_counter() - t0) / steps * 1e3)


def _loss_check(eager, comp, cf) -> tuple:
    """Run CHECK_STEPS steps of each from the same weights and seeds; returns the max loss
    difference, the times of the compiled calls (trace, retrace, ...) and an error."""
    le, lc, calls = [], [], []
    for i in range(CHECK_STEPS):
        minitorch.manual_seed(1000 + i)
        le.append(eager.step(*eager.batch()).item())
    try:
        for i in range(CHECK_STEPS):
            minitorch.manual_seed(1000 + i)
            t0 = time.perf_counter()
            loss = cf(*comp.batch())
            calls.append((time.perf_counter() - t0) * 1e3)
            lc.append(loss.item())
    except Exception as e:  # reported, not hidden
        return float("nan"), calls, f"error: {type(e).__name__}: {e}"
    return max(abs(a - b) for a, b in zip(le, lc)), calls, None


def workload(name: str, rounds: int, steps: int, quick: bool, trace_repeats: int) -> dict:
    eager = build(name, minitorch, quick=quick)
    comp = build(name, minitorch, quick=quick, init_from=eager.model)
    tw = build(name, torch, quick=quick, init_from=eager.model) if torch is not None else None
    res: dict = {"workload": describe(name, quick)}

    # the PyTorch model starts from the same weights: same first loss (eval mode: no dropout,
    # batch norm with its initial running statistics)
    if tw is not None:
        eager.model.eval(), tw.model.eval()
        with minitorch.no_grad():
            l_mt = eager.loss_fn(eager.model, *eager.batch()).item()
        with torch.no_grad():
            l_pt = tw.loss_fn(tw.model, *tw.batch()).item()
        eager.model.train(), tw.model.train()
        res["first_loss"] = {"minitorch": l_mt, "torch": l_pt, "abs_diff": abs(l_mt - l_pt)}

    cf = minitorch.compile(comp.step, backend=BACKEND)
    diff, calls, error = _loss_check(eager, comp, cf)
    res["compiled_vs_eager_max_loss_diff"] = diff
    res["first_calls_ms"] = calls
    reason = error or _not_compiled(cf)
    res["not_compiled"] = reason
    if reason is None:
        g = cf.graphs[-1]
        res["graph_nodes"] = len(g.nodes)
        res["graphs"] = len(cf.graphs)

    runners = {"eager": _Runner(eager.step, eager.batch)}
    if reason is None:
        runners["compiled"] = _Runner(cf, comp.batch)
    if tw is not None:
        runners["torch"] = _Runner(tw.step, tw.batch)
        for _ in range(CHECK_STEPS):  # the same warm-up as the others had
            tw.step(*tw.batch())
    before = len(cf.explain(verbose=False).calls)
    for _ in range(rounds):
        for r in runners.values():
            r.run(steps)
    if reason is None:  # every timed call must have replayed the graph
        timed = cf.explain(verbose=False).calls[before:]
        if any(c != "graph" for c in timed):
            res["not_compiled"] = (_not_compiled(cf) or "some timed calls did not replay the "
                                   f"graph ({sum(c != 'graph' for c in timed)} of {len(timed)})")
            runners.pop("compiled")
    res["ms_per_step"] = {k: _median(r.times) for k, r in runners.items()}
    res["rounds_ms"] = {k: r.times for k, r in runners.items()}
    t = {k: r.times for k, r in runners.items()}
    if "compiled" in t:
        res["compiled_over_eager"] = _ratio(t["compiled"], t["eager"])
    if "torch" in t:
        res["eager_over_torch"] = _ratio(t["eager"], t["torch"])
        if "compiled" in t:
            res["compiled_over_torch"] = _ratio(t["compiled"], t["torch"])

    # (a) trace time: a fresh minitorch.compile(step) of the warmed-up workload (its state
    # exists, so the first call traces once and the graph is then replayed)
    if res["not_compiled"] is None:
        traces = []
        for _ in range(trace_repeats):
            fresh = minitorch.compile(comp.step, backend=BACKEND)
            x, y = comp.batch()
            t0 = time.perf_counter()
            fresh(x, y)
            traces.append((time.perf_counter() - t0) * 1e3)
        res["trace_ms"] = _median(traces)
        res["trace_over_eager_step"] = res["trace_ms"] / res["ms_per_step"]["eager"]
    return res


# ------------------------------------------------------------------------------------------
# report

def _fmt_ms(v) -> str:
    return "-" if v is None or v != v else (f"{v:.3f}" if v < 10 else f"{v:.1f}")


def _fmt_x(v) -> str:
    return "-" if v is None or v != v else f"{v:.2f}x"


def report(result: dict) -> None:
    ov = result["overhead"]
    ns = ov["ns_per_call"]
    print(f"minitorch.compile(backend={result['backend']!r})")
    print(f"\n(b) cached-call overhead: `x + 1` on 8 float32, {result['rounds']} interleaved "
          f"rounds x {result['calls']} calls")
    print("| call | ns / call | vs eager |\n|---|---|---|")
    print(f"| minitorch eager | {ns['eager']:.0f} | 1.00x |")
    if ov["not_compiled"]:
        print(f"| minitorch compiled | not compiled: {ov['not_compiled']} | - |")
    else:
        print(f"| minitorch compiled | {ns['compiled']:.0f} | "
              f"{_fmt_x(ov['compiled_over_eager'])} |")
    if "torch" in ns:
        print(f"| PyTorch eager | {ns['torch']:.0f} | - |")
    print(f"compiled == eager: max abs difference {ov['max_abs_diff']:.3g}")

    rows = result["workloads"]
    print(f"\n(c) training steps (zero_grad, forward, backward, step), ms per step: medians of "
          f"{result['rounds']} interleaved rounds x {result['steps']} steps; ratios: median of "
          f"per-round ratios")
    head = "| workload | eager | compiled | PyTorch | compiled / eager | eager / PyTorch | " \
           "compiled / PyTorch |"
    print(head + "\n" + "|---" * 7 + "|")
    for name, r in rows.items():
        ms = r["ms_per_step"]
        comp = _fmt_ms(ms.get("compiled")) if not r["not_compiled"] else \
            f"not compiled: {r['not_compiled']}"
        print(f"| {name}: {r['workload']} | {_fmt_ms(ms.get('eager'))} | {comp} | "
              f"{_fmt_ms(ms.get('torch'))} | {_fmt_x(r.get('compiled_over_eager'))} | "
              f"{_fmt_x(r.get('eager_over_torch'))} | {_fmt_x(r.get('compiled_over_torch'))} |")

    print(f"\n(a) trace time: first call of a fresh minitorch.compile(step) on the warmed-up "
          f"workload, median of {result['trace_repeats']}")
    print("| workload | graph nodes | trace ms | eager step ms | trace / eager step | "
          "first 3 calls of the original compile, ms |\n|---|---|---|---|---|---|")
    for name, r in rows.items():
        calls = ", ".join(_fmt_ms(c) for c in r["first_calls_ms"]) or "-"
        print(f"| {name} | {r.get('graph_nodes', '-')} | {_fmt_ms(r.get('trace_ms'))} | "
              f"{_fmt_ms(r['ms_per_step'].get('eager'))} | {_fmt_x(r.get('trace_over_eager_step'))}"
              f" | {calls} |")

    print("\nchecks:")
    for name, r in rows.items():
        line = f"  {name}: compiled vs eager, max |loss difference| over {CHECK_STEPS} steps: " \
               f"{r['compiled_vs_eager_max_loss_diff']:.3g}"
        if "first_loss" in r:
            fl = r["first_loss"]
            line += (f"; first loss minitorch {fl['minitorch']:.6f} vs PyTorch "
                     f"{fl['torch']:.6f} (|diff| {fl['abs_diff']:.3g})")
        print(line)
    print(f"Python {platform.python_version()}, NumPy {np.__version__}" +
          (f", PyTorch {torch.__version__}" if torch is not None else ", PyTorch not installed"))


def main(rounds: int = 5, steps: int = 5, json_path: str | None = None, quick: bool = False,
         workloads=NAMES, calls: int = 20000, trace_repeats: int = 3,
         backend: str = "interpret") -> dict:
    global BACKEND
    BACKEND = backend
    result = {"rounds": rounds, "steps": steps, "calls": calls, "quick": quick,
              "trace_repeats": trace_repeats, "backend": backend}
    result["overhead"] = overhead(rounds, calls)
    result["workloads"] = {}
    for name in workloads:
        result["workloads"][name] = workload(name, rounds, steps, quick, trace_repeats)
    report(result)
    if json_path:
        with open(json_path, "w") as f:
            json.dump(result, f, indent=2)
    return result


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default 5)")
    p.add_argument("--steps", type=int, default=None, help="training steps per round (5)")
    p.add_argument("--calls", type=int, default=None, help="calls per round in (b) (20000)")
    p.add_argument("--trace-repeats", type=int, default=None, help="fresh compiles in (a) (3)")
    p.add_argument("--workloads", default=",".join(NAMES),
                   help=f"comma-separated subset of {','.join(NAMES)}")
    p.add_argument("--backend", default="interpret",
                   help="minitorch.compile backend of the compiled column (default interpret)")
    p.add_argument("--json", default=None, help="write the raw results here")
    p.add_argument("--quick", action="store_true",
                   help="tiny sizes, 2 rounds x 2 steps: a smoke test (numbers mean nothing)")
    a = p.parse_args()
    names = [n.strip() for n in a.workloads.split(",") if n.strip()]
    bad = [n for n in names if n not in NAMES]
    if bad:
        p.error(f"unknown workload(s) {bad}; expected some of {list(NAMES)}")

    def pick(v, full, quick):
        return v if v is not None else (quick if a.quick else full)
    main(pick(a.rounds, 5, 2), pick(a.steps, 5, 2), a.json, a.quick, names,
         pick(a.calls, 20000, 200), pick(a.trace_repeats, 3, 1), a.backend)
