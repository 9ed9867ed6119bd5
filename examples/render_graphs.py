"""Draw the graphs that the docs show: minitorch.viz.make_dot and draw_values.

Writes into docs/img/ (or --out):
  two_layer_graph.png       the lecture's two-layer network (64 x 1000 -> 100 -> 10): every
                            backward node, the weights w1 and w2, shapes on the edges
  two_layer_saved.png       the same graph with the tensors each op saved for backward
  custom_function_graph.png the network with the custom StableSigmoid Function (one node)
  cnn_graph.png             a small CNN, one cluster per nn.Module
  cnn_graph_collapsed.png   the same CNN with max_depth=1: one box per layer
  values_graph.png          micrograd-style data and grad of a tiny scalar computation

Without the Graphviz `dot` program the same graphs are written as .dot text files.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import List

import minitorch as torch
from minitorch import viz

sys.path.insert(0, str(Path(__file__).resolve().parent))
from two_layer_custom_function import StableSigmoid  # noqa: E402  (lecture step 3)

ROOT = Path(__file__).resolve().parent.parent


def two_layer(custom: bool = False):
    """One forward pass of the lecture's network; returns (loss, named weights)."""
    torch.manual_seed(0)
    N, D_in, H, D_out = 64, 1000, 100, 10
    x = torch.randn(N, D_in)
    y = torch.randn(N, D_out)
    w1 = torch.randn(D_in, H, requires_grad=True)
    w2 = torch.randn(H, D_out, requires_grad=True)
    with viz.record_shapes():  # shapes on every edge
        h = x.mm(w1)
        h = StableSigmoid.apply(h) if custom else h.clamp(min=0)
        loss = (h.mm(w2) - y).pow(2).sum()
    loss.name = "loss"
    return loss, {"w1": w1, "w2": w2}


def small_cnn():
    """A LeNet-like CNN on a batch of 28x28 images, or None while minitorch.nn lacks the
    layers (Conv2d, MaxPool2d, Flatten, Sequential)."""
    nn = getattr(torch, "nn", None)
    if nn is None:
        try:
            import minitorch.nn as nn
        except ImportError:
            return None
    needed = ("Sequential", "Conv2d", "ReLU", "MaxPool2d", "Flatten", "Linear")
    if not all(hasattr(nn, k) for k in needed):
        return None
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(16 * 7 * 7, 10))
    x = torch.randn(32, 1, 28, 28)
    target = torch.randint(0, 10, (32,))
    with viz.record_shapes():
        logits = model(x)
        if hasattr(nn, "functional") and hasattr(nn.functional, "cross_entropy"):
            loss = nn.functional.cross_entropy(logits, target)
        else:
            loss = logits.pow(2).mean()
    loss.name = "loss"
    return model, loss


def tiny_values():
    """micrograd's first example: L = (a * b + c) * f."""
    with viz.record_values():
        a = torch.tensor(2.0, requires_grad=True)
        b = torch.tensor(-3.0, requires_grad=True)
        c = torch.tensor(10.0, requires_grad=True)
        f = torch.tensor(-2.0, requires_grad=True)
        e = a * b
        d = e + c
        L = d * f
    for t, name in ((a, "a"), (b, "b"), (c, "c"), (f, "f"), (e, "e"), (d, "d"), (L, "L")):
        t.name = name
    L.backward()
    return L


def main(out: Path = ROOT / "docs" / "img", fmt: str = "png", quiet: bool = False) -> List[Path]:
    out = Path(out)
    if fmt != "dot" and not viz.dot_available():
        print("note: the Graphviz 'dot' program is not installed; writing .dot files instead "
              "(apt-get install graphviz / brew install graphviz / conda install graphviz)")
        fmt = "dot"
    written = []

    def save(graph, name):
        path = viz.render(graph, out / f"{name}.{fmt}")
        written.append(path)
        if not quiet:
            print(f"wrote {path}")

    loss, params = two_layer()
    save(viz.make_dot(loss, params=params), "two_layer_graph")
    save(viz.make_dot(loss, params=params, show_saved=True), "two_layer_saved")
    loss, params = two_layer(custom=True)
    save(viz.make_dot(loss, params=params), "custom_function_graph")

    cnn = small_cnn()
    if cnn is None:
        print("note: minitorch.nn has no Conv2d/MaxPool2d/Sequential yet: skipping the CNN graph")
    else:
        model, loss = cnn
        save(viz.make_dot(loss, module=model, group_by_module=True), "cnn_graph")
        save(viz.make_dot(loss, module=model, max_depth=1), "cnn_graph_collapsed")

    save(viz.draw_values(tiny_values()), "values_graph")
    return written


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    parser.add_argument("--format", default="png", choices=["png", "svg", "pdf", "dot"])
    args = parser.parse_args()
    main(args.out, args.format)
