"""MNIST from IDX files you already have: a small MLP trained with a DataLoader.

    python examples/mnist_idx.py --root ~/data/mnist [--epochs 3] [--num-workers 2]

minitorch.datasets.MNIST reads the four IDX files (gzipped or not) from --root or from
--root/MNIST/raw, the layout torchvision's MNIST(root, download=True) leaves behind; it
never downloads.  Each sample is (image float32 [1, 28, 28] in 0..1, label int); the
DataLoader shuffles them (seeded) into minibatches, optionally made by worker processes.
The model is Flatten -> Linear(784, 128) -> ReLU -> Linear(128, 10), trained with Adam on
the cross-entropy loss; the test split (t10k files) is scored after each epoch when its
files are there.  On a terminal, tqdm draws a progress bar over the batches (tqdm comes
with the examples extra: pip install -e ".[examples]").  Without --root the script
explains where to get the files.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Optional

import minitorch as torch
from minitorch import nn, optim
from minitorch.datasets import MNIST
from minitorch.utils.data import DataLoader, Subset

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _requires import require  # noqa: E402

MEAN, STD = 0.1307, 0.3081  # MNIST's pixel mean and standard deviation (on the 0..1 scale)

HOW_TO_GET = """\
This example needs the MNIST IDX files, which minitorch does not download:

    train-images-idx3-ubyte.gz   train-labels-idx1-ubyte.gz     (training split)
    t10k-images-idx3-ubyte.gz    t10k-labels-idx1-ubyte.gz      (test split, optional)

They are mirrored by PyTorch at https://ossci-datasets.s3.amazonaws.com/mnist/ (add the
file names above), e.g.

    mkdir -p ~/data/mnist && cd ~/data/mnist
    for f in train-images-idx3-ubyte train-labels-idx1-ubyte \\
             t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
        curl -O https://ossci-datasets.s3.amazonaws.com/mnist/$f.gz
    done

or, with torchvision installed, torchvision.datasets.MNIST("~/data/mnist", download=True)
writes them to ~/data/mnist/MNIST/raw, which works too.  Then run

    python examples/mnist_idx.py --root ~/data/mnist
"""


def make_model(pixels: int) -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(pixels, 128), nn.ReLU(), nn.Linear(128, 10))


def evaluate(model: nn.Module, loader: DataLoader) -> float:
    hits = n = 0
    model.eval()
    with torch.no_grad():
        for xb, yb in loader:
            hits += (model((xb - MEAN) / STD).argmax(1) == yb).sum().item()
            n += len(yb)
    model.train()
    return hits / max(n, 1)


def main(root: str, epochs: int = 3, quiet: bool = False, batch_size: int = 64,
         lr: float = 1e-3, num_workers: int = 0, limit: Optional[int] = None,
         save: Optional[str] = None, seed: int = 0) -> dict:
    """Train on the IDX files in ``root``; returns {"losses": training loss per step,
    "epoch_losses": mean per epoch, "test_acc": final test accuracy or None when the test
    files are absent}."""
    require("tqdm")  # or say what to install and exit
    from tqdm import tqdm

    torch.manual_seed(seed)
    train_set = MNIST(root, train=True)
    try:
        test_set = MNIST(root, train=False)
    except FileNotFoundError:
        test_set = None
    if limit is not None:
        train_set = Subset(train_set, range(min(limit, len(train_set))))
    pixels = int(train_set[0][0].numel())
    train_loader = DataLoader(train_set, batch_size=batch_size, shuffle=True,
                              num_workers=num_workers,
                              generator=torch.Generator().manual_seed(seed))
    test_loader = (DataLoader(test_set, batch_size=1000, num_workers=num_workers)
                   if test_set is not None else None)
    model = make_model(pixels)
    loss_fn = nn.CrossEntropyLoss()
    opt = optim.Adam(model.parameters(), lr=lr)
    if not quiet:
        print(f"{len(train_set)} training images"
              + (f", {len(test_set)} test images" if test_set is not None
                 else " (no t10k files: no test score)")
              + f", {len(train_loader)} batches of {batch_size} per epoch"
              + (f", {num_workers} worker processes" if num_workers else ""))

    losses, epoch_losses, test_acc = [], [], None
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        # disable=None: no bar when stderr is not a terminal (CI logs, pytest, pipes)
        bar = tqdm(train_loader, desc=f"epoch {epoch}/{epochs}",
                   disable=True if quiet else None, leave=False)
        first = len(losses)
        for xb, yb in bar:
            loss = loss_fn(model((xb - MEAN) / STD), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
            bar.set_postfix_str(f"loss {losses[-1]:.4f}", refresh=False)
        epoch_losses.append(sum(losses[first:]) / max(len(losses) - first, 1))
        msg = f"epoch {epoch}/{epochs}  train loss {epoch_losses[-1]:.4f}"
        if test_loader is not None:
            test_acc = evaluate(model, test_loader)
            msg += f"  test accuracy {100 * test_acc:.2f}%"
        if not quiet:
            print(msg + f"  ({time.perf_counter() - start:.1f} s)")
    if save:
        torch.save(model.state_dict(), save)
        if not quiet:
            print(f"saved the weights to {save}")
    return {"losses": losses, "epoch_losses": epoch_losses, "test_acc": test_acc}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", help="folder holding the MNIST IDX files")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--num-workers", type=int, default=0,
                        help="DataLoader worker processes (0: load in this process)")
    parser.add_argument("--limit", type=int, default=None,
                        help="train on the first N images only (a quick run)")
    parser.add_argument("--save", default=None, help="save the trained weights here")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args()
    if args.root is None:
        print(HOW_TO_GET, end="")
        sys.exit(2)
    try:
        main(os.path.expanduser(args.root), args.epochs, args.quiet, args.batch_size, args.lr,
             args.num_workers, args.limit, args.save, args.seed)
    except FileNotFoundError as e:
        print(f"error: {e.strerror}\n", file=sys.stderr)
        print(HOW_TO_GET, end="", file=sys.stderr)
        sys.exit(2)
