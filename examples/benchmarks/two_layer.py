"""Time one training step of the lecture's two-layer ReLU network (what `make demo` runs):
minitorch vs hand-written NumPy (forward, manual backward, update) vs PyTorch, same data,
interleaved rounds in one process.  Reports median ms per step and the median of the
per-round ratios.

    OPENBLAS_NUM_THREADS=1 python examples/benchmarks/two_layer.py [--rounds 15] [--steps 50]

All three run single-threaded (NumPy's BLAS through OPENBLAS_NUM_THREADS=1, set below
before NumPy loads; PyTorch through torch.set_num_threads(1)), so the comparison measures
the frameworks, not how many cores a shared machine happens to give each.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

import minitorch  # noqa: E402

N, D_IN, H, D_OUT = 64, 1000, 100, 10
LR = 1e-6


def make_data(seed: int = 0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(np.float32)
            for s in ((N, D_IN), (N, D_OUT), (D_IN, H), (H, D_OUT))]


def numpy_step_fn(x, y, w1, w2):
    w1, w2 = w1.copy(), w2.copy()

    def step():
        nonlocal w1, w2
        h = x @ w1
        h_relu = np.maximum(h, 0)
        y_pred = h_relu @ w2
        diff = y_pred - y
        loss = float((diff * diff).sum())
        grad_y_pred = 2.0 * diff
        grad_w2 = h_relu.T @ grad_y_pred
        grad_h = grad_y_pred @ w2.T
        grad_h[h < 0] = 0
        grad_w1 = x.T @ grad_h
        w1 -= LR * grad_w1
        w2 -= LR * grad_w2
        return loss
    return step


def autograd_step_fn(lib, x, y, w1, w2):
    """The same code runs with lib = minitorch and lib = torch."""
    x, y = lib.tensor(x), lib.tensor(y)
    w1 = lib.tensor(w1, requires_grad=True)
    w2 = lib.tensor(w2, requires_grad=True)

    def step():
        nonlocal w1, w2
        y_pred = x.mm(w1).clamp(min=0).mm(w2)
        loss = (y_pred - y).pow(2).sum()
        loss.backward()
        with lib.no_grad():
            w1 -= LR * w1.grad
            w2 -= LR * w2.grad
            w1.grad = None
            w2.grad = None
        return loss.item()
    return step


def time_steps(step, n: int) -> float:
    t0 = time.perf_counter()
    for _ in range(n):
        step()
    return (time.perf_counter() - t0) / n * 1e3


def main(rounds: int = 15, steps: int = 50, json_path: str | None = None) -> dict:
    data = make_data()
    runners = {"numpy": numpy_step_fn(*data), "minitorch": autograd_step_fn(minitorch, *data)}
    try:
        import torch
        torch.set_num_threads(1)
        runners["torch"] = autograd_step_fn(torch, *data)
    except ImportError:
        torch = None
    # same numbers: a few steps from the same weights give the same losses
    fresh = {"numpy": numpy_step_fn(*data), "minitorch": autograd_step_fn(minitorch, *data)}
    la, lb = [fresh["numpy"]() for _ in range(3)], [fresh["minitorch"]() for _ in range(3)]
    assert np.allclose(la, lb, rtol=1e-4), (la, lb)

    for r in runners.values():  # warm up
        time_steps(r, 5)
    times = {k: [] for k in runners}
    for _ in range(rounds):
        for k, r in runners.items():
            times[k].append(time_steps(r, steps))
    med = {k: statistics.median(v) for k, v in times.items()}
    ratio_np = statistics.median(m / n for m, n in zip(times["minitorch"], times["numpy"]))
    rows = [("hand-written NumPy", med["numpy"], "1.00x"),
            ("minitorch", med["minitorch"], f"{ratio_np:.2f}x")]
    result = {"ms_per_step": med, "minitorch_over_numpy": ratio_np}
    if "torch" in times:
        ratio_t = statistics.median(m / t for m, t in zip(times["minitorch"], times["torch"]))
        rows.append(("PyTorch (CPU)", med["torch"], f"{statistics.median(t / n for t, n in zip(times['torch'], times['numpy'])):.2f}x"))
        result["minitorch_over_torch"] = ratio_t
    print(f"two-layer step, N={N} D_in={D_IN} H={H} D_out={D_OUT}; {rounds} interleaved rounds "
          f"x {steps} steps")
    print("| implementation | ms / step | vs NumPy |\n|---|---|---|")
    for name, ms, rel in rows:
        print(f"| {name} | {ms:.3f} | {rel} |")
    if "minitorch_over_torch" in result:
        print(f"\nminitorch / PyTorch: {result['minitorch_over_torch']:.2f}x (median of per-round "
              f"ratios)")
    print(f"Python {platform.python_version()}, NumPy {np.__version__}" +
          (f", PyTorch {torch.__version__}" if torch is not None else ""))
    if json_path:
        with open(json_path, "w") as f:
            json.dump(result, f, indent=2)
    return result


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=15)
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--json", default=None)
    a = p.parse_args()
    main(a.rounds, a.steps, a.json)
