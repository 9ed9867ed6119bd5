"""Lecture step 6: let an optimizer do the update (this is `make demo`).

optim.Adam (or optim.SGD, --optimizer sgd) holds the model's parameters; each step is
zero_grad(), forward, backward(), step().  The optimizer writes the parameters in place
without recording anything, so the update needs no `with no_grad()` of our own.  At the
end the script prints the mean wall time of one training step.
"""
from __future__ import annotations

import argparse
import time

import minitorch as torch
from minitorch import nn, optim


def main(steps: int = 500, quiet: bool = False, optimizer: str = "adam") -> list[float]:
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
    if optimizer == "adam":
        opt = optim.Adam(model.parameters(), lr=1e-4)
    elif optimizer == "sgd":
        opt = optim.SGD(model.parameters(), lr=1e-4, momentum=0.9)
    else:
        raise ValueError(f"unknown optimizer {optimizer!r} (use 'adam' or 'sgd')")

    losses = []
    start = time.perf_counter()
    for t in range(steps):
        y_pred = model(x)
        loss = loss_fn(y_pred, y)
        losses.append(loss.item())
        if not quiet and (t % 50 == 0 or t == steps - 1):
            print(f"step {t:4d}  loss {losses[-1]:.6g}")

        opt.zero_grad()
        loss.backward()
        opt.step()
    elapsed = time.perf_counter() - start
    if not quiet and steps:
        print(f"mean time per training step: {1000 * elapsed / steps:.3f} ms "
              f"({type(opt).__name__}, {steps} steps)")
    return losses


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--optimizer", choices=("adam", "sgd"), default="adam")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args()
    main(args.steps, args.quiet, args.optimizer)
