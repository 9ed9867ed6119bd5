"""Eager training steps, minitorch vs PyTorch on the CPU (issue #12's table).

Each workload of ``_workloads.py`` (``variant="eager"``: MLP, CNN, LSTM, GPT, GPT with
``F.scaled_dot_product_attention``, the digits CNN) is written once in PyTorch's API and built
with both libraries; PyTorch's model gets minitorch's initial weights, and the first losses
must agree to 4 digits (asserted).  One step = ``zero_grad``, forward, ``backward``, AdamW
``step``.  Rounds are interleaved in one process (minitorch, PyTorch, minitorch, ...), each
round timing ``--steps`` steps of each library; the printed ratio is the median of the
per-round ratios minitorch time / PyTorch time, and the last line their geomean.

    python examples/benchmarks/workloads.py                    # every workload, 7 rounds
    python examples/benchmarks/workloads.py --only cnn --rounds 15
    python examples/benchmarks/workloads.py --threads 2       # torch.set_num_threads(2)
    python examples/benchmarks/workloads.py --quick --rounds 1 --steps 2   # smoke test
    python examples/benchmarks/workloads.py --threads 1 --clock cpu   # CPU time, loaded machine
"""
from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional


def _parse(argv: Optional[List[str]]):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", action="append", default=None,
                   help="workload name (repeatable); default every one")
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--steps", type=int, default=5, help="steps per library per round")
    p.add_argument("--warmup", type=int, default=2, help="untimed steps per library first")
    p.add_argument("--threads", type=int, default=None,
                   help="threads for both libraries (torch.set_num_threads; the BLAS "
                        "thread variables, read when NumPy loads)")
    p.add_argument("--quick", action="store_true", help="tiny sizes (timings mean nothing)")
    p.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                   help="wall: time.perf_counter (default); cpu: time.process_time, the "
                        "process's CPU time -- steadier on a loaded machine (use with "
                        "--threads 1: with more threads it sums them, spinning included)")
    return p.parse_args(argv)


def run(argv: Optional[List[str]] = None) -> Dict[str, float]:
    """Run the benchmark; returns ``{name: ratio}`` (plus ``"geomean"``)."""
    args = _parse(argv)
    if args.threads is not None and "numpy" not in sys.modules:
        for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[v] = str(args.threads)
    import torch
    import minitorch
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _workloads import EAGER_NAMES, build, describe, to_numpy

    if args.threads is not None:
        torch.set_num_threads(args.threads)
    names = args.only or list(EAGER_NAMES)
    for n in names:
        if n not in EAGER_NAMES:
            raise SystemExit(f"unknown workload {n!r}; expected one of {list(EAGER_NAMES)}")
    print(f"eager training steps, minitorch / PyTorch {torch.__version__} "
          f"(torch threads {torch.get_num_threads()}), {args.rounds} rounds x {args.steps} "
          f"steps, median of per-round ratios ({args.clock} clock)")
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    ratios: Dict[str, float] = {}
    for name in names:
        a = build(name, minitorch, quick=args.quick, variant="eager")
        b = build(name, torch, quick=args.quick, variant="eager", init_from=a.model)
        la = float(to_numpy(a.step(*a.batch())))
        lb = float(to_numpy(b.step(*b.batch())))
        if not math.isclose(la, lb, rel_tol=1e-4, abs_tol=1e-5):
            raise AssertionError(f"{name}: first losses differ: minitorch {la:.6f}, "
                                 f"torch {lb:.6f}")
        for w in (a, b):
            x, y = w.batch()
            for _ in range(args.warmup):
                w.step(x, y)

        def timed(w):
            x, y = w.batch()
            t0 = clock()
            for _ in range(args.steps):
                w.step(x, y)
            return (clock() - t0) / args.steps
        per_round, ta, tb = [], [], []
        for r in range(args.rounds):
            # alternate which library goes first, so drift in machine load hits both
            if r % 2 == 0:
                t1, t2 = timed(a), timed(b)
            else:
                t2, t1 = timed(b), timed(a)
            ta.append(t1)
            tb.append(t2)
            per_round.append(t1 / t2)
        ratios[name] = statistics.median(per_round)
        print(f"  {name:<11} {describe(name, args.quick, 'eager'):<52} "
              f"minitorch {statistics.median(ta) * 1e3:8.3f} ms  "
              f"torch {statistics.median(tb) * 1e3:8.3f} ms  "
              f"ratio {ratios[name]:.2f}x   (loss {la:.4f} = {lb:.4f})")
    g = math.exp(sum(math.log(v) for v in ratios.values()) / len(ratios))
    ratios["geomean"] = g
    print(f"  geomean ratio {g:.2f}x over {len(names)} workloads")
    return ratios


if __name__ == "__main__":
    run()
