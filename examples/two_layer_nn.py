"""Lecture step 4: the two-layer network built from nn layers.

nn.Sequential(Linear, ReLU, Linear) holds the weights (and biases) as Parameters, so the
model creates and owns them; nn.MSELoss(reduction='sum') is the loss of steps 1-3.  The
update is still written by hand: under no_grad, every parameter takes a gradient step,
and model.zero_grad() resets the gradients for the next backward().
"""
from __future__ import annotations

import argparse

import minitorch as torch
from minitorch import nn


def main(steps: int = 500, quiet: bool = False) -> list[float]:
    torch.manual_seed(0)
    N, D_in, H, D_out = 64, 1000, 100, 10
    x = torch.randn(N, D_in)
    y = torch.randn(N, D_out)

    model = nn.Sequential(
        nn.Linear(D_in, H),
        nn.ReLU(),
        nn.Linear(H, D_out),
    )
    loss_fn = nn.MSELoss(reduction="sum")

    lr = 1e-4
    losses = []
    for t in range(steps):
        y_pred = model(x)
        loss = loss_fn(y_pred, y)
        losses.append(loss.item())
        if not quiet and (t % 50 == 0 or t == steps - 1):
            print(f"step {t:4d}  loss {losses[-1]:.6g}")

        model.zero_grad()
        loss.backward()

        with torch.no_grad():
            for param in model.parameters():
                param -= lr * param.grad
    return losses


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args()
    main(args.steps, args.quiet)
