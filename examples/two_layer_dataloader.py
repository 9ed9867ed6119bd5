"""Lecture step 7: feed the network minibatches with a DataLoader.

The 64 samples go into a TensorDataset; a DataLoader draws them in shuffled minibatches
of 16 (the shuffle comes from a seeded torch.Generator, so every run sees the same
order).  One pass over the loader is an epoch of 4 optimizer steps, each on a quarter of
the data; the loss is reported on the whole set, as in steps 1-6.
"""
from __future__ import annotations

import argparse

import minitorch as torch
from minitorch import nn, optim
from minitorch.utils.data import DataLoader, TensorDataset


def main(steps: int = 500, quiet: bool = False, batch_size: int = 16) -> list[float]:
    """Train for ``steps`` optimizer steps (minibatches); returns the full-data loss before
    each step, so the list is comparable with the other lecture steps."""
    torch.manual_seed(0)
    N, D_in, H, D_out = 64, 1000, 100, 10
    x = torch.randn(N, D_in)
    y = torch.randn(N, D_out)

    loader = DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=True,
                        generator=torch.Generator().manual_seed(0))
    model = nn.Sequential(
        nn.Linear(D_in, H),
        nn.ReLU(),
        nn.Linear(H, D_out),
    )
    loss_fn = nn.MSELoss(reduction="sum")
    opt = optim.Adam(model.parameters(), lr=1e-4)

    losses = []
    t = 0
    while t < steps:
        for xb, yb in loader:  # one epoch: N / batch_size minibatches
            if t == steps:
                break
            with torch.no_grad():
                losses.append(loss_fn(model(x), y).item())
            if not quiet and (t % 50 == 0 or t == steps - 1):
                print(f"step {t:4d}  epoch {t * batch_size // N:3d}  loss {losses[-1]:.6g}")

            loss = loss_fn(model(xb), yb) * (N / len(xb))  # scaled to the full-set sum
            opt.zero_grad()
            loss.backward()
            opt.step()
            t += 1
    return losses


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args()
    main(args.steps, args.quiet, args.batch_size)
