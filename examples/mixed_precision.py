"""Mixed precision: the digits CNN trained in float32 and under autocast + GradScaler.

The same model (digits_cnn.make_cnn), data split, seed and batches, trained twice:

1. float32 everywhere;
2. ``with minitorch.autocast(device, dtype=float16):`` around the forward pass and the
   loss -- the convolutions and the Linear layer (matmuls) run in float16, the loss in
   float32 (PyTorch's autocast lists, docs/amp.md) -- and a ``GradScaler`` that multiplies
   the loss by a large scale before backward (so small float16 gradients do not flush to
   zero), unscales before the optimizer step, skips steps whose gradients overflowed and
   adjusts the scale.  The weights stay float32 ("master weights").

Printed side by side per epoch: training loss and test accuracy of both runs; then the
bytes each run keeps per activation (element size of every layer's output, measured with
forward hooks), the scaler's final scale and skipped steps, and the time per step.  On a
GPU with Tensor Cores the float16 matmuls (kernels/mma.cu) are what make run 2 faster; on
the CPU (NumPy) and on cudasim run 2 computes float16 through float32 and is slower -- the
point here is the numbers, not the speed.

    python examples/mixed_precision.py [--epochs 10] [--device cpu|cudasim|cuda]
                                       [--dtype float16|bfloat16]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import minitorch as torch
from minitorch import nn, optim
from minitorch.utils.data import DataLoader

sys.path.insert(0, str(Path(__file__).resolve().parent))
from digits_cnn import make_cnn  # noqa: E402
from digits_mlp import digits_split  # noqa: E402


def activation_bytes(model: nn.Module, x) -> dict:
    """{layer name: bytes of its output} for one forward pass (forward hooks)."""
    sizes, handles = {}, []
    for name, mod in model.named_children():
        def hook(m, inp, out, name=name):
            sizes[f"{name}:{type(m).__name__}"] = (out.numel(), out.element_size())
        handles.append(mod.register_forward_hook(hook))
    model(x)
    for h in handles:
        h.remove()
    return sizes


def train(mixed: bool, epochs: int, device: str, dtype, seed: int = 0, quiet: bool = False,
          batch_size: int = 32, lr: float = 3e-3) -> dict:
    torch.manual_seed(seed)
    train_set, test_set = digits_split((1, 8, 8), seed)
    loader = DataLoader(train_set, batch_size=batch_size, shuffle=True,
                        generator=torch.Generator().manual_seed(seed))
    test_x, test_y = next(iter(DataLoader(test_set, batch_size=len(test_set))))
    test_x, test_y = test_x.to(device), test_y.to(device)
    model = make_cnn().to(device)
    opt = optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    ac_device = "cpu" if device == "cpu" else "cuda"
    # float16 needs loss scaling; bfloat16 has float32's range and does not (enabled=False)
    scaler = torch.amp.GradScaler(device if device != "cuda" else "cuda",
                                  enabled=mixed and dtype is torch.float16)
    losses, accs, scales, skipped, steps = [], [], [], 0, 0
    start = time.perf_counter()
    for epoch in range(epochs):
        total, n = 0.0, 0
        for xb, yb in loader:
            xb, yb = xb.to(device), yb.to(device)
            with torch.autocast(ac_device, dtype=dtype, enabled=mixed):
                logits = model(xb)                  # conv/linear in the low dtype
                loss = loss_fn(logits, yb)          # cross-entropy in float32
            opt.zero_grad()
            before = scaler.get_scale()
            scaler.scale(loss).backward()
            scaler.step(opt)                        # skipped if a gradient is inf/NaN
            scaler.update()
            skipped += scaler.get_scale() < before  # a backoff means the step was skipped
            steps += 1
            total += loss.item() * len(yb)
            n += len(yb)
        with torch.no_grad(), torch.autocast(ac_device, dtype=dtype, enabled=mixed):
            model.eval()
            acc = (model(test_x).argmax(1) == test_y).float().mean().item()
            model.train()
        losses.append(total / n)
        accs.append(acc)
        scales.append(scaler.get_scale())
    seconds = time.perf_counter() - start
    with torch.no_grad(), torch.autocast(ac_device, dtype=dtype, enabled=mixed):
        acts = activation_bytes(model, test_x[:32])
    return {"losses": losses, "test_accs": accs, "scales": scales, "skipped": skipped,
            "ms_per_step": 1000 * seconds / max(steps, 1), "activations": acts,
            "logits_dtype": str(logits.dtype), "loss_dtype": str(loss.dtype),
            "weight_dtype": str(next(model.parameters()).dtype)}


def main(epochs: int = 10, device: str = "cpu", dtype: str = "float16", quiet: bool = False,
         seed: int = 0) -> dict:
    dt = getattr(torch, dtype)
    fp32 = train(False, epochs, device, dt, seed)
    amp = train(True, epochs, device, dt, seed)
    if not quiet:
        print(f"digits CNN on {device}: float32 vs autocast({dtype}) + GradScaler, "
              f"{epochs} epochs, same seed and batches")
        print(f"{'epoch':>5} | {'fp32 loss':>9} {'acc':>6} | {'amp loss':>9} {'acc':>6} | "
              f"{'scale':>8}")
        for e in range(epochs):
            print(f"{e + 1:5d} | {fp32['losses'][e]:9.4f} {100 * fp32['test_accs'][e]:5.1f}% | "
                  f"{amp['losses'][e]:9.4f} {100 * amp['test_accs'][e]:5.1f}% | "
                  f"{amp['scales'][e]:8.0f}")
        print(f"under autocast: logits {amp['logits_dtype']}, loss {amp['loss_dtype']}, "
              f"weights {amp['weight_dtype']}; {amp['skipped']} steps skipped by the scaler")
        print("bytes per activation (batch of 32):")
        for k, (n, es) in fp32["activations"].items():
            n2, es2 = amp["activations"][k]
            print(f"  {k:<14} {n:7d} values  fp32 {n * es:7d} B   amp {n2 * es2:7d} B "
                  f"({es2} B each)")
        tot = sum(n * es for n, es in fp32["activations"].values())
        tot2 = sum(n * es for n, es in amp["activations"].values())
        print(f"  total          fp32 {tot} B, amp {tot2} B ({tot2 / tot:.2f}x)")
        print(f"time per step on {device}: fp32 {fp32['ms_per_step']:.2f} ms, amp "
              f"{amp['ms_per_step']:.2f} ms" + ("" if device == "cuda" else
                                                " (no Tensor Cores here: amp is not faster)"))
    return {"fp32": fp32, "amp": amp}


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--device", default="cpu")
    p.add_argument("--dtype", default="float16", choices=["float16", "bfloat16"])
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    main(a.epochs, a.device, a.dtype, seed=a.seed)
