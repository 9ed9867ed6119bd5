"""Lecture step 5: the two-layer network as a custom nn.Module.

Subclass nn.Module, create the layers in __init__ (assigning a Module or Parameter to an
attribute registers it, so model.parameters() finds it), and write forward() with any
tensor code you like.  Calling model(x) runs forward.  Training is step 4's loop.
"""
from __future__ import annotations

import argparse

import minitorch as torch
from minitorch import nn


class TwoLayerNet(nn.Module):
    def __init__(self, D_in: int, H: int, D_out: int) -> None:
        super().__init__()
        self.linear1 = nn.Linear(D_in, H)
        self.linear2 = nn.Linear(H, D_out)

    def forward(self, x):
        h_relu = self.linear1(x).clamp(min=0)
        return self.linear2(h_relu)


def main(steps: int = 500, quiet: bool = False) -> list[float]:
    torch.manual_seed(0)
    N, D_in, H, D_out = 64, 1000, 100, 10
    x = torch.randn(N, D_in)
    y = torch.randn(N, D_out)

    model = TwoLayerNet(D_in, H, D_out)
    if not quiet:
        print(model)
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
