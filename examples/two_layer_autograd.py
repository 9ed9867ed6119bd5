"""Lecture step 2: the same two-layer ReLU network, with autograd.

The weights are created with requires_grad=True, so every op in the forward pass records
a node of the graph; loss.backward() walks that graph and fills w1.grad and w2.grad.
The update must not itself be recorded, hence `with torch.no_grad():`, and the gradients
are reset afterwards because backward() accumulates into .grad.
"""
from __future__ import annotations

import argparse
import time

import minitorch as torch


def main(steps: int = 500, quiet: bool = False) -> list[float]:
    torch.manual_seed(0)
    N, D_in, H, D_out = 64, 1000, 100, 10
    x = torch.randn(N, D_in)
    y = torch.randn(N, D_out)
    w1 = torch.randn(D_in, H, requires_grad=True)
    w2 = torch.randn(H, D_out, requires_grad=True)

    lr = 1e-6
    losses = []
    start = time.perf_counter()
    for t in range(steps):
        y_pred = x.mm(w1).clamp(min=0).mm(w2)
        loss = (y_pred - y).pow(2).sum()
        losses.append(loss.item())
        if not quiet and (t % 50 == 0 or t == steps - 1):
            print(f"step {t:4d}  loss {losses[-1]:.6g}")

        loss.backward()

        with torch.no_grad():
            w1 -= lr * w1.grad
            w2 -= lr * w2.grad
            w1.grad = None
            w2.grad = None
    elapsed = time.perf_counter() - start
    if not quiet and steps:
        print(f"mean time per training step: {1000 * elapsed / steps:.3f} ms")
    return losses


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args()
    main(args.steps, args.quiet)
