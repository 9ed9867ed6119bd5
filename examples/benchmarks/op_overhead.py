"""Per-op overhead: the time of one `a + b` on 8-element float32 tensors.

At this size the arithmetic is free, so what is measured is the framework's fixed cost per
op (argument checks, dispatch, allocating the result, recording the autograd node).
Three cases:
  plain          a + b, no tensor requires grad
  requires_grad  a.requires_grad=True, grad mode on: every call records a graph node
  no_grad        a.requires_grad=True, inside `with no_grad():` (nothing recorded)
compared with PyTorch (skipped if not importable) and a plain NumPy ndarray add.
Rounds are interleaved (A B C A B C ...) so that machine noise hits every column alike;
reported: the median per-call time of each, and the median of the per-round ratios.

    python examples/benchmarks/op_overhead.py [--rounds 15] [--calls 20000] [--json out.json]
"""
from __future__ import annotations

import argparse
import contextlib
import gc
import json
import platform
import statistics
import time

import numpy as np

import minitorch

try:
    import torch
except ImportError:  # the PyTorch columns are skipped
    torch = None

CASES = ("plain", "requires_grad", "no_grad")
LABELS = {"plain": "`a + b`",
          "requires_grad": "`a + b`, a.requires_grad",
          "no_grad": "`a + b`, a.requires_grad, in no_grad"}


def make_runs():
    """(framework, case) -> (a, b, context manager factory) for every timed column."""
    runs = {}
    x, y = np.random.rand(8).astype(np.float32), np.random.rand(8).astype(np.float32)
    runs["numpy", "plain"] = (x, y, contextlib.nullcontext)
    libs = [("minitorch", minitorch)] + ([("torch", torch)] if torch is not None else [])
    for name, lib in libs:
        for case in CASES:
            a, b = lib.tensor(x), lib.tensor(y)
            a.requires_grad = case != "plain"
            ctx = lib.no_grad if case == "no_grad" else contextlib.nullcontext
            runs[name, case] = (a, b, ctx)
    return runs


def time_add(a, b, ctx, calls: int) -> float:
    """Nanoseconds per call of `a + b` (the loop's own overhead included, same for all)."""
    loop = range(calls)
    with ctx():
        start = time.perf_counter()
        for _ in loop:
            a + b
        stop = time.perf_counter()
    return (stop - start) / calls * 1e9


def run(rounds: int, calls: int) -> dict:
    runs = make_runs()
    per_round = {key: [] for key in runs}
    gc_was_enabled = gc.isenabled()
    gc.disable()  # like timeit: no collector pauses in the middle of a round
    try:
        for r in range(rounds + 1):  # round 0 is a warm-up and is discarded
            for key, (a, b, ctx) in runs.items():
                ns = time_add(a, b, ctx, calls)
                if r:
                    per_round[key].append(ns)
    finally:
        if gc_was_enabled:
            gc.enable()

    def ratio(num, den):
        return statistics.median(n / d for n, d in zip(per_round[num], per_round[den]))

    rows = {}
    for case in CASES:
        row = {"minitorch_ns": statistics.median(per_round["minitorch", case]),
               "numpy_ns": statistics.median(per_round["numpy", "plain"]) if case == "plain"
               else None,
               # always against a plain ndarray add: "how many NumPy adds is one op"
               "minitorch_over_numpy": ratio(("minitorch", case), ("numpy", "plain"))}
        if torch is not None:
            row["torch_ns"] = statistics.median(per_round["torch", case])
            row["minitorch_over_torch"] = ratio(("minitorch", case), ("torch", case))
        rows[case] = row
    return {"rounds": rounds, "calls": calls, "results": rows,
            "versions": {"python": platform.python_version(), "numpy": np.__version__,
                         "minitorch": minitorch.__version__,
                         "torch": torch.__version__ if torch is not None else None},
            "per_round_ns": {f"{fw}/{case}": v for (fw, case), v in per_round.items()}}


def markdown(report: dict) -> str:
    has_torch = report["versions"]["torch"] is not None
    head = ["case", "minitorch ns"] + (["PyTorch ns"] if has_torch else []) + ["NumPy ns"]
    head += (["minitorch / PyTorch"] if has_torch else []) + ["minitorch / NumPy add"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for case, row in report["results"].items():
        cells = [LABELS[case], f"{row['minitorch_ns']:.0f}"]
        if has_torch:
            cells.append(f"{row['torch_ns']:.0f}")
        cells.append(f"{row['numpy_ns']:.0f}" if row["numpy_ns"] is not None else "-")
        if has_torch:
            cells.append(f"{row['minitorch_over_torch']:.2f}x")
        cells.append(f"{row['minitorch_over_numpy']:.2f}x")
        lines.append("| " + " | ".join(cells) + " |")
    v = report["versions"]
    lines.append(f"\n{report['rounds']} interleaved rounds x {report['calls']} calls; medians. "
                 f"Python {v['python']}, NumPy {v['numpy']}"
                 + (f", PyTorch {v['torch']}" if has_torch else " (PyTorch not installed)"))
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = parser.parse_args()
    report = run(args.rounds, args.calls)
    print(markdown(report))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)
