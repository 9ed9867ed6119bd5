"""Time one training step of the lecture's two-layer ReLU network (what `make demo` runs:
nn.Sequential(Linear, ReLU, Linear), MSELoss, optim.SGD with momentum): minitorch vs hand-written NumPy
(forward, manual backward, update) vs PyTorch running the very same code, same data,
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
MOMENTUM = 0.9  # `make demo` trains with optim.SGD(momentum=0.9)


def make_data(seed: int = 0):
    """x, y and the two Linear layers' (weight, bias), PyTorch layout (out, in)."""
    rng = np.random.default_rng(seed)
    f = np.float32
    x, y = rng.standard_normal((N, D_IN)).astype(f), rng.standard_normal((N, D_OUT)).astype(f)
    b1, b2 = 1 / np.sqrt(D_IN), 1 / np.sqrt(H)
    return (x, y, rng.uniform(-b1, b1, (H, D_IN)).astype(f), rng.uniform(-b1, b1, H).astype(f),
            rng.uniform(-b2, b2, (D_OUT, H)).astype(f), rng.uniform(-b2, b2, D_OUT).astype(f))


def numpy_step_fn(x, y, w1, b1, w2, b2):
    """Forward, hand-derived backward and the SGD-with-momentum update, in plain NumPy."""
    w1, b1, w2, b2 = (a.copy() for a in (w1, b1, w2, b2))
    bufs = []

    def step():
        h = x @ w1.T + b1
        h_relu = np.maximum(h, 0)
        y_pred = h_relu @ w2.T + b2
        diff = y_pred - y
        loss = float((diff * diff).sum())
        grad_y = 2.0 * diff
        grad_w2 = grad_y.T @ h_relu
        grad_b2 = grad_y.sum(0)
        grad_h = grad_y @ w2
        grad_h[h <= 0] = 0
        grad_w1 = grad_h.T @ x
        grad_b1 = grad_h.sum(0)
        grads = (grad_w1, grad_b1, grad_w2, grad_b2)
        if not bufs:
            bufs.extend(g.copy() for g in grads)
        else:
            for buf, g in zip(bufs, grads):
                buf *= MOMENTUM
                buf += g
        for p, buf in zip((w1, b1, w2, b2), bufs):
            p -= LR * buf
        return loss
    return step


def framework_step_fn(lib, x, y, w1, b1, w2, b2):
    """The `make demo` step (nn.Sequential + MSELoss + optim.SGD); the same code runs with
    lib = minitorch and lib = torch."""
    model = lib.nn.Sequential(lib.nn.Linear(D_IN, H), lib.nn.ReLU(), lib.nn.Linear(H, D_OUT))
    with lib.no_grad():
        for p, v in zip(model.parameters(), (w1, b1, w2, b2)):
            p.copy_(lib.tensor(v))
    x, y = lib.tensor(x), lib.tensor(y)
    loss_fn = lib.nn.MSELoss(reduction="sum")
    opt = lib.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)

    def step():
        loss = loss_fn(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()
    return step


def time_steps(step, n: int) -> float:
    t0 = time.perf_counter()
    for _ in range(n):
        step()
    return (time.perf_counter() - t0) / n * 1e3


def main(rounds: int = 15, steps: int = 50, json_path: str | None = None) -> dict:
    data = make_data()
    runners = {"numpy": numpy_step_fn(*data), "minitorch": framework_step_fn(minitorch, *data)}
    try:
        import torch
        torch.set_num_threads(1)
        runners["torch"] = framework_step_fn(torch, *data)
    except ImportError:
        torch = None
    # same numbers: a few steps from the same weights give the same losses
    fresh = {"numpy": numpy_step_fn(*data), "minitorch": framework_step_fn(minitorch, *data)}
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
