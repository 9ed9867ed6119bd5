"""Lecture step 3: write your own autograd op with autograd.Function.

StableSigmoid defines forward (computed with exp of non-positive numbers only, so it never
overflows) and backward (dy/dx = y * (1 - y), from the output saved in forward).
gradcheck compares that backward with finite differences in float64 before training;
then the two-layer network uses StableSigmoid.apply as its hidden activation.
"""
from __future__ import annotations

import argparse

import minitorch as torch


class StableSigmoid(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        z = torch.exp(-x.abs())  # exp of a non-positive number: in (0, 1]
        y = torch.where(x >= 0, 1 / (1 + z), z / (1 + z))
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad_output):
        (y,) = ctx.saved_tensors
        return grad_output * y * (1 - y)


def check_gradient() -> bool:
    x = (5 * torch.randn(4, 5, dtype=torch.float64)).requires_grad_()
    return torch.autograd.gradcheck(StableSigmoid.apply, (x,), eps=1e-6, atol=1e-6)


def main(steps: int = 500, quiet: bool = False) -> list[float]:
    torch.manual_seed(0)
    ok = check_gradient()
    if not quiet:
        print(f"gradcheck(StableSigmoid) in float64: {ok}")

    N, D_in, H, D_out = 64, 1000, 100, 10
    x = torch.randn(N, D_in)
    y = torch.randn(N, D_out)
    w1 = torch.randn(D_in, H, requires_grad=True)
    w2 = torch.randn(H, D_out, requires_grad=True)

    lr = 2e-4
    losses = []
    for t in range(steps):
        y_pred = StableSigmoid.apply(x.mm(w1)).mm(w2)
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
    return losses


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args()
    main(args.steps, args.quiet)
