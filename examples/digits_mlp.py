"""Real data: classify the 8x8 hand-written digits with a multi-layer perceptron.

The UCI digits (1797 images, bundled as examples/data/digits.npz) are loaded with
minitorch.datasets.load_digits(), scaled to 0..1 and split once, with a seeded generator,
into 1437 training and 360 test images (scikit-learn's usual 80/20 sizes).  A DataLoader
shuffles the training set into minibatches; the model is Flatten -> Linear(64, 128) ->
ReLU -> Dropout -> Linear(128, 10), trained with Adam on the cross-entropy loss, the learning
rate annealed along a half cosine (optim.lr_scheduler.CosineAnnealingLR).  After each
epoch the test set is scored; on a terminal, tqdm draws a progress bar over the batches.
At the end matplotlib draws the loss/accuracy curves to a PNG (--plot) and, with --save,
the trained weights go to a safetensors file, which is then loaded into a fresh model to
show that it scores the same.  tqdm and matplotlib come with the examples extra:
pip install -e ".[examples]".

The data split, the training loop, the plot and the save/load check are shared with
digits_cnn.py, which only swaps the model.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Callable, Optional

import minitorch as torch
from minitorch import nn, optim
from minitorch.datasets import load_digits
from minitorch.utils.data import DataLoader, TensorDataset, random_split

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _requires import pyplot, require  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def digits_split(image_shape=(64,), seed: int = 0):
    """(train, test) Subsets of (image, label): 1437 / 360 images, split by a seeded
    generator (the same split every run).  Images are scaled to 0..1 and reshaped to
    ``image_shape`` ((64,) for an MLP, (1, 8, 8) for a CNN)."""
    images, labels = load_digits()                 # float32 [1797, 8, 8] in 0..16, int64
    x = (images / 16.0).reshape(len(images), *image_shape)
    data = TensorDataset(x, labels)
    return random_split(data, [1437, 360], generator=torch.Generator().manual_seed(seed))


def evaluate(model: nn.Module, loader: DataLoader, loss_fn) -> tuple:
    """(mean loss, accuracy) of ``model`` on every batch of ``loader``, in eval mode."""
    model.eval()
    total_loss, hits, n = 0.0, 0, 0
    with torch.no_grad():
        for xb, yb in loader:
            logits = model(xb)
            total_loss += loss_fn(logits, yb).item() * len(yb)
            hits += (logits.argmax(1) == yb).sum().item()
            n += len(yb)
    model.train()
    return total_loss / n, hits / n


def fit(model_fn: Callable[[], nn.Module], name: str, image_shape, epochs: int,
        quiet: bool = False, plot: Optional[str] = None, save: Optional[str] = None,
        lr: float = 3e-3, batch_size: int = 32, weight_decay: float = 0.0,
        seed: int = 0) -> dict:
    """Train ``model_fn()`` on the digits; returns {"losses": mean training loss per epoch,
    "test_losses", "test_accs": per epoch, "test_acc": the final test accuracy,
    "seconds": training time}."""
    require("tqdm", *(["matplotlib"] if plot else []))  # or say what to install and exit
    from tqdm import tqdm

    torch.manual_seed(seed)
    train_set, test_set = digits_split(image_shape, seed)
    train_loader = DataLoader(train_set, batch_size=batch_size, shuffle=True,
                              generator=torch.Generator().manual_seed(seed))
    test_loader = DataLoader(test_set, batch_size=360)
    model = model_fn()
    loss_fn = nn.CrossEntropyLoss()
    opt = optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    # the learning rate glides from lr down to 0 along a half cosine over the run
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    if not quiet:
        n_params = sum(p.numel() for p in model.parameters())
        print(f"{name}: {n_params} parameters; {len(train_set)} training and "
              f"{len(test_set)} test images")
        print(model)

    losses, test_losses, test_accs = [], [], []
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        total, n = 0.0, 0
        # disable=None: no bar when stderr is not a terminal (CI logs, pytest, pipes)
        bar = tqdm(train_loader, desc=f"epoch {epoch:2d}/{epochs}",
                   disable=True if quiet else None, leave=False)
        for xb, yb in bar:
            loss = loss_fn(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(yb)
            n += len(yb)
            bar.set_postfix_str(f"loss {total / n:.4f}", refresh=False)
        sched.step()
        losses.append(total / n)
        test_loss, test_acc = evaluate(model, test_loader, loss_fn)
        test_losses.append(test_loss)
        test_accs.append(test_acc)
        if not quiet:
            print(f"epoch {epoch:2d}/{epochs}  train loss {losses[-1]:.4f}  "
                  f"test loss {test_loss:.4f}  test accuracy {100 * test_acc:5.1f}%  "
                  f"({time.perf_counter() - start:5.1f} s)")
    seconds = time.perf_counter() - start
    if not quiet:
        print(f"{name}: test accuracy {100 * test_accs[-1]:.1f}% after {epochs} epochs "
              f"in {seconds:.1f} s")

    if plot:
        plot_curves(plot, name, losses, test_losses, test_accs)
        if not quiet:
            print(f"wrote {os.path.relpath(plot)}")

    if save:
        torch.save(model.state_dict(), save)          # safetensors, no pickle
        fresh = model_fn()
        fresh.load_state_dict(torch.load(save))
        _, acc = evaluate(fresh, test_loader, loss_fn)
        if not quiet:
            print(f"saved the weights to {save}; a fresh model loaded from it scores "
                  f"{100 * acc:.1f}% on the test set")
    return {"losses": losses, "test_losses": test_losses, "test_accs": test_accs,
            "test_acc": test_accs[-1] if test_accs else 0.0, "seconds": seconds}


def plot_curves(path: str, name: str, losses, test_losses, test_accs) -> None:
    """Two panels side by side, written to ``path`` as a PNG: the training and test loss
    per epoch (log scale), and the test accuracy; each legend shows the last value."""
    plt = pyplot()

    def label(what: str, values, fmt: str = "{:.4f}") -> str:
        return f"{what} ({fmt.format(values[-1])})" if values else what

    ep = range(1, len(losses) + 1)
    acc = [100 * a for a in test_accs]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.6))
    ax_loss.plot(ep, losses, label=label("train", losses))
    ax_loss.plot(ep, test_losses, label=label("test", test_losses))
    ax_loss.set(title=f"{name}: loss", xlabel="epoch", ylabel="cross-entropy", yscale="log")
    ax_loss.yaxis.set_major_formatter("{x:g}")  # 1, 0.1 rather than 10^0, 10^-1
    ax_loss.legend(loc="upper right")
    ax_acc.plot(ep, acc, label=label("test", acc, "{:.1f}%"))
    ax_acc.set(title=f"{name}: test accuracy", xlabel="epoch", ylabel="accuracy (%)")
    ax_acc.legend(loc="lower right")
    for ax in (ax_loss, ax_acc):
        ax.grid(True, alpha=0.3)
        ax.set_xlim(1, max(len(losses), 2))
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def make_mlp() -> nn.Module:
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(64, 128),
        nn.ReLU(),
        nn.Dropout(0.2),
        nn.Linear(128, 10),
    )


def main(epochs: int = 30, quiet: bool = False, plot: Optional[str] = None,
         save: Optional[str] = None, seed: int = 0) -> dict:
    return fit(make_mlp, "mlp", (64,), epochs, quiet, plot, save, seed=seed)


def cli(main_fn: Callable, name: str, default_epochs: int) -> None:
    parser = argparse.ArgumentParser(description=(sys.modules[main_fn.__module__].__doc__
                                                  or "").splitlines()[0])
    parser.add_argument("--epochs", type=int, default=default_epochs)
    parser.add_argument("--plot", default=str(ROOT / "docs" / "img" / f"digits_{name}.png"),
                        help="where to write the loss/accuracy PNG (default: %(default)s)")
    parser.add_argument("--no-plot", action="store_true", help="do not write the PNG")
    parser.add_argument("--save", default=None,
                        help="save the trained weights here (safetensors) and load them back")
    parser.add_argument("--seed", type=int, default=0,
                        help="seeds the split, the initialization and the shuffling")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args()
    main_fn(args.epochs, args.quiet, None if args.no_plot else args.plot, args.save,
            seed=args.seed)


if __name__ == "__main__":
    cli(main, "mlp", 30)
