"""Lecture step 1: a two-layer ReLU network trained with hand-written gradients.

The forward pass is plain tensor math (mm, clamp, pow, sum).  The backward pass is the
chain rule written out by hand, one line per forward op, the way you would do it with
NumPy arrays.  No autograd is involved: this is the baseline that step 2 automates.
"""
from __future__ import annotations

import argparse

import minitorch as torch


def main(steps: int = 500, quiet: bool = False) -> list[float]:
    torch.manual_seed(0)
    N, D_in, H, D_out = 64, 1000, 100, 10
    x = torch.randn(N, D_in)
    y = torch.randn(N, D_out)
    w1 = torch.randn(D_in, H)
    w2 = torch.randn(H, D_out)

    lr = 1e-6
    losses = []
    for t in range(steps):
        # forward
        h = x.mm(w1)
        h_relu = h.clamp(min=0)
        y_pred = h_relu.mm(w2)
        loss = (y_pred - y).pow(2).sum().item()
        losses.append(loss)
        if not quiet and (t % 50 == 0 or t == steps - 1):
            print(f"step {t:4d}  loss {loss:.6g}")

        # backward, by hand
        grad_y_pred = 2.0 * (y_pred - y)
        grad_w2 = h_relu.t().mm(grad_y_pred)
        grad_h_relu = grad_y_pred.mm(w2.t())
        grad_h = grad_h_relu.clone()
        grad_h[h < 0] = 0
        grad_w1 = x.t().mm(grad_h)

        # gradient-descent update
        w1 -= lr * grad_w1
        w2 -= lr * grad_w2
    return losses


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args()
    main(args.steps, args.quiet)
