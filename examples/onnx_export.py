"""ONNX, the bridge between frameworks: train the digits CNN, export it, run it elsewhere.

    torch.onnx.export(model, dummy_input, "digits_cnn.onnx")   # the lecture's line

1. Train the CNN of digits_cnn.py for a few epochs (Adam, batches of 32).
2. ``minitorch.onnx.export`` traces it and writes ONNX: conv2d's im2col + matmul becomes one
   ``Conv``, linear a ``Gemm``; the batch dimension is symbolic (``dynamic_axes``), and the
   file passes ``onnx.checker.check_model(full_check=True)``.
3. Run the file with ONNX Runtime, and read it back with ``minitorch.onnx.load`` (which runs
   each ONNX operator as minitorch ops, on any device).  Print how closely the three agree
   (minitorch eager, ONNX Runtime, the re-imported graph) and the throughput of each on the
   360 test images.

    python examples/onnx_export.py [--epochs 3] [--out digits_cnn.onnx] [--graph PNG]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional

import numpy as np

import minitorch as torch
from minitorch import nn, optim
from minitorch.utils.data import DataLoader

sys.path.insert(0, str(Path(__file__).resolve().parent))
from digits_cnn import make_cnn  # noqa: E402
from digits_mlp import digits_split  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def train(epochs: int, seed: int = 0, quiet: bool = False) -> nn.Module:
    torch.manual_seed(seed)
    train_set, _ = digits_split((1, 8, 8), seed)
    loader = DataLoader(train_set, batch_size=32, shuffle=True,
                        generator=torch.Generator().manual_seed(seed))
    model = make_cnn()
    opt = optim.Adam(model.parameters(), lr=3e-3)
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(1, epochs + 1):
        total, n = 0.0, 0
        for xb, yb in loader:
            loss = loss_fn(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(yb)
            n += len(yb)
        if not quiet:
            print(f"epoch {epoch}/{epochs}  train loss {total / n:.4f}")
    return model.eval()


def _throughput(fn, x, repeat: int) -> float:
    """Images per second: the best of ``repeat`` timed calls on the whole batch."""
    fn(x)  # warm up (builds kernels, ONNX Runtime's first-run allocations)
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn(x)
        best = min(best, time.perf_counter() - t0)
    return len(x) / best


def main(epochs: int = 3, out: Optional[str] = None, graph: Optional[str] = None,
         repeat: int = 20, quiet: bool = False, seed: int = 0) -> dict:
    import onnxruntime as ort

    import minitorch.onnx
    model = train(epochs, seed, quiet)
    _, test_set = digits_split((1, 8, 8), seed)
    images, labels = next(iter(DataLoader(test_set, batch_size=len(test_set))))
    tmp = None
    if out is None:
        tmp = tempfile.TemporaryDirectory()
        out = str(Path(tmp.name) / "digits_cnn.onnx")
    onnx_model = minitorch.onnx.export(model, (images[:1],), out, input_names=["images"],
                                       output_names=["logits"],
                                       dynamic_axes={"images": {0: "batch"},
                                                     "logits": {0: "batch"}})
    ops = [n.op_type for n in onnx_model.graph.node]
    if not quiet:
        print(f"exported to {out}: {len(ops)} ONNX nodes: {' -> '.join(ops)}")
    if graph:
        dot = minitorch.onnx.make_dot(onnx_model)
        dot.format = "png"
        path = dot.render(str(Path(graph).with_suffix("")), cleanup=True)
        if not quiet:
            print(f"wrote {path}")

    with torch.no_grad():
        eager = model(images).numpy()
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(out, so, providers=["CPUExecutionProvider"])
    x_np = images.numpy()
    ort_out = sess.run(None, {"images": x_np})[0]
    loaded = minitorch.onnx.load(out)
    re_out = loaded(images).numpy()
    y = labels.numpy()
    res = {
        "ops": ops,
        "accuracy": {"minitorch": float((eager.argmax(1) == y).mean()),
                     "onnxruntime": float((ort_out.argmax(1) == y).mean()),
                     "minitorch.onnx.load": float((re_out.argmax(1) == y).mean())},
        "max_abs_diff": {"onnxruntime vs eager": float(np.abs(ort_out - eager).max()),
                         "minitorch.onnx.load vs eager": float(np.abs(re_out - eager).max())},
        "same_prediction": {"onnxruntime": float((ort_out.argmax(1) == eager.argmax(1)).mean()),
                            "minitorch.onnx.load": float((re_out.argmax(1) ==
                                                          eager.argmax(1)).mean())},
    }

    def run_eager(x):
        with torch.no_grad():
            return model(x)

    res["images_per_s"] = {
        "minitorch eager": _throughput(run_eager, images, repeat),
        "onnxruntime (1 thread)": _throughput(lambda x: sess.run(None, {"images": x}), x_np,
                                              repeat),
        "minitorch.onnx.load": _throughput(loaded, images, repeat),
    }
    if not quiet:
        print(f"\ntest images: {len(y)}")
        for k, v in res["accuracy"].items():
            print(f"  accuracy {k:22s} {100 * v:5.1f}%")
        for k, v in res["max_abs_diff"].items():
            print(f"  max |logit difference| {k:30s} {v:.2e}")
        for k, v in res["same_prediction"].items():
            print(f"  same prediction as eager: {k:20s} {100 * v:5.1f}%")
        print("\nthroughput (batch of 360, best of %d):" % repeat)
        for k, v in res["images_per_s"].items():
            print(f"  {k:24s} {v:12,.0f} images/s")
    if tmp is not None:
        tmp.cleanup()
    return res


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--out", default=None, help="where to write the .onnx file (default: a "
                   "temporary file)")
    p.add_argument("--graph", default=None, help="also draw the exported graph to this PNG "
                   f"(docs use {ROOT / 'docs' / 'img' / 'onnx_digits_cnn.png'})")
    p.add_argument("--repeat", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quiet", action="store_true")
    a = p.parse_args()
    main(a.epochs, a.out, a.graph, a.repeat, a.quiet, a.seed)
