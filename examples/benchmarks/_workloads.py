"""Four small training workloads, written once in PyTorch's API, built with ``m = minitorch``
or ``m = torch`` (the benchmarks' shared models; ``compile.py`` times them eager vs compiled
vs PyTorch).

    >>> import minitorch, torch
    >>> a = build("gpt", minitorch)                 # model, optimizer, batch, step
    >>> b = build("gpt", torch, init_from=a.model)  # same weights: same first loss
    >>> x, y = a.batch(); a.step(x, y)              # one training step (returns the loss)

* ``mlp``: Linear(784, 256)-ReLU-Linear(256, 10), batch 128 x 784, cross-entropy,
  SGD(momentum=0.9);
* ``cnn``: Conv2d(1,16,5,p2)-BatchNorm2d-ReLU-MaxPool2-Conv2d(16,32,5,p2)-ReLU-MaxPool2-
  Linear(32*7*7, 10), batch 32 x 1 x 28 x 28, cross-entropy, Adam;
* ``lstm``: Embedding(50,32)-LSTM(32,64,batch_first)-Dropout(0.1)-Linear(64,50), batch
  16 x 24 tokens, next-token cross-entropy, AdamW;
* ``gpt``: token + position embeddings, 2 pre-LayerNorm blocks (C=64, 4 heads, T=32, causal
  softmax attention written with matmul + masked_fill + softmax, GELU MLP), batch 8 x 32
  tokens, next-token cross-entropy, AdamW.

``quick=True`` shrinks every size (a smoke test; its timings mean nothing).  The data are
fixed NumPy arrays from ``seed``, so every library sees the same numbers.  The training step
is the ordinary one: ``opt.zero_grad(); loss = loss_fn(model, x, y); loss.backward();
opt.step(); return loss``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional

import numpy as np

__all__ = ["NAMES", "EAGER_NAMES", "Workload", "build", "copy_weights", "to_numpy",
           "describe"]

NAMES = ("mlp", "cnn", "lstm", "gpt")
# issue #12's eager table (``variant="eager"``): every step AdamW, no BatchNorm, no Dropout
# (so the first losses of the two libraries agree), plus the SDPA attention and digits CNN
EAGER_NAMES = ("mlp", "cnn", "lstm", "gpt", "gpt_sdpa", "digits_cnn")

# full sizes (the benchmark) and quick sizes (CI smoke)
_CFG: Dict[str, Dict[str, Dict[str, int]]] = {
    "mlp": {"full": dict(B=128, D=784, H=256, K=10), "quick": dict(B=8, D=16, H=8, K=4)},
    "cnn": {"full": dict(B=32, S=28, C1=16, C2=32, K=10),
            "quick": dict(B=2, S=8, C1=2, C2=3, K=4)},
    "lstm": {"full": dict(B=16, T=24, V=50, E=32, H=64),
             "quick": dict(B=2, T=4, V=7, E=4, H=5)},
    "gpt": {"full": dict(B=8, T=32, V=65, C=64, NH=4, L=2),
            "quick": dict(B=2, T=4, V=7, C=8, NH=2, L=1)},
    "digits_cnn": {"full": dict(B=32, S=8, C1=16, C2=32, K=10),
                   "quick": dict(B=2, S=4, C1=2, C2=3, K=4)},
}
_CFG["gpt_sdpa"] = _CFG["gpt"]


@dataclass
class Workload:
    """``model`` and ``optimizer`` of library ``lib`` (minitorch or torch); ``batch()`` returns
    the (x, y) tensors of the step (the same ones every call); ``loss_fn(model, x, y)``;
    ``step(x, y)`` one training step returning the loss tensor; ``config`` the sizes."""
    name: str
    lib: Any
    model: Any
    optimizer: Any
    batch: Callable[[], tuple]
    loss_fn: Callable
    step: Callable
    config: Dict[str, int]


def to_numpy(t) -> np.ndarray:
    return t.detach().cpu().numpy()


def copy_weights(src, dst, m) -> None:
    """Copy every parameter and buffer of module ``src`` (either library) into the module of
    the same architecture ``dst`` of library ``m``, by state-dict name."""
    sd, dd = src.state_dict(), dst.state_dict()
    missing = sorted(set(dd) - set(sd))
    if missing:
        raise KeyError(f"copy_weights: the source has no {missing}")
    with m.no_grad():
        for k, t in dd.items():
            t.copy_(m.tensor(np.array(to_numpy(sd[k])), dtype=t.dtype,
                             device=t.device))


def describe(name: str, quick: bool = False, variant: str = "compile") -> str:
    c = _CFG[name]["quick" if quick else "full"]
    if variant == "eager":
        return {"mlp": "MLP {D}-{H}-{K}, batch {B}, CE, AdamW",
                "cnn": "CNN conv{C1}-conv{C2} k5, {B}x1x{S}x{S}, AdamW",
                "lstm": "LSTM emb{E}-lstm{H}, {B}x{T} tokens, AdamW",
                "gpt": "GPT {L} blocks C={C} heads={NH}, {B}x{T}, AdamW",
                "gpt_sdpa": "GPT {L} blocks C={C}, SDPA causal, {B}x{T}, AdamW",
                "digits_cnn": "digits CNN conv{C1}-conv{C2} k3, {B}x1x{S}x{S}, AdamW",
                }[name].format(**c)
    return {"mlp": "MLP {D}-{H}-{K}, batch {B}, SGD+momentum",
            "cnn": "CNN conv{C1}-BN-conv{C2}, {B}x1x{S}x{S}, Adam",
            "lstm": "LSTM emb{E}-lstm{H}, {B}x{T} tokens, AdamW",
            "gpt": "GPT {L} blocks C={C} heads={NH}, {B}x{T} tokens, AdamW"}[name].format(**c)


# ------------------------------------------------------------------------------------------
# the models, in PyTorch's API: the same classes for either library

def _mlp(m, c):
    nn = m.nn
    return nn.Sequential(nn.Linear(c["D"], c["H"]), nn.ReLU(), nn.Linear(c["H"], c["K"]))


def _cnn(m, c, eager=False):
    nn = m.nn
    s = c["S"] // 4
    if eager:
        return nn.Sequential(
            nn.Conv2d(1, c["C1"], 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(c["C1"], c["C2"], 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(c["C2"] * s * s, c["K"]))
    return nn.Sequential(
        nn.Conv2d(1, c["C1"], 5, padding=2), nn.BatchNorm2d(c["C1"]), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(c["C1"], c["C2"], 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(c["C2"] * s * s, c["K"]))


def _digits_cnn(m, c, eager=True):
    # examples/digits_cnn.py's make_cnn (3x3, padding 1, two 2x2 poolings)
    nn = m.nn
    s = c["S"] // 4
    return nn.Sequential(
        nn.Conv2d(1, c["C1"], 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(c["C1"], c["C2"], 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(c["C2"] * s * s, c["K"]))


def _lstm(m, c, eager=False):
    nn = m.nn

    class CharLSTM(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(c["V"], c["E"])
            self.lstm = nn.LSTM(c["E"], c["H"], batch_first=True)
            self.drop = nn.Identity() if eager else nn.Dropout(0.1)
            self.head = nn.Linear(c["H"], c["V"])

        def forward(self, idx):
            out, _ = self.lstm(self.emb(idx))
            return self.head(self.drop(out))
    return CharLSTM()


def _gpt(m, c, eager=False, sdpa=False):
    nn, F = m.nn, m.nn.functional
    C, NH, T = c["C"], c["NH"], c["T"]

    class Attention(nn.Module):
        def __init__(self):
            super().__init__()
            self.qkv = nn.Linear(C, 3 * C)
            self.proj = nn.Linear(C, C)
            self.register_buffer("mask", m.tril(m.ones(T, T)).view(1, 1, T, T))

        def forward(self, x):
            B, T_, _ = x.shape
            q, k, v = self.qkv(x).split(C, dim=2)
            q = q.view(B, T_, NH, C // NH).transpose(1, 2)
            k = k.view(B, T_, NH, C // NH).transpose(1, 2)
            v = v.view(B, T_, NH, C // NH).transpose(1, 2)
            if sdpa:
                y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
                return self.proj(y.transpose(1, 2).contiguous().view(B, T_, C))
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(C // NH))
            att = att.masked_fill(self.mask[:, :, :T_, :T_] == 0, float("-inf"))
            att = F.softmax(att, dim=-1)
            y = (att @ v).transpose(1, 2).contiguous().view(B, T_, C)
            return self.proj(y)

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln1, self.attn = nn.LayerNorm(C), Attention()
            self.ln2 = nn.LayerNorm(C)
            self.mlp = nn.Sequential(nn.Linear(C, 4 * C), nn.GELU(), nn.Linear(4 * C, C))

        def forward(self, x):
            x = x + self.attn(self.ln1(x))
            return x + self.mlp(self.ln2(x))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.tok = nn.Embedding(c["V"], C)
            self.pos = nn.Embedding(T, C)
            self.blocks = nn.Sequential(*[Block() for _ in range(c["L"])])
            self.ln_f = nn.LayerNorm(C)
            self.head = nn.Linear(C, c["V"])

        def forward(self, idx):
            T_ = idx.shape[1]
            pos = m.arange(T_, device=idx.device)
            x = self.tok(idx) + self.pos(pos)
            return self.head(self.ln_f(self.blocks(x)))
    return GPT()


def _data(name: str, c, seed: int):
    rng = np.random.default_rng(seed)
    if name == "mlp":
        return (rng.standard_normal((c["B"], c["D"])).astype(np.float32),
                rng.integers(0, c["K"], c["B"]))
    if name in ("cnn", "digits_cnn"):
        return (rng.standard_normal((c["B"], 1, c["S"], c["S"])).astype(np.float32),
                rng.integers(0, c["K"], c["B"]))
    toks = rng.integers(0, c["V"], (c["B"], c["T"] + 1))
    return toks[:, :-1], toks[:, 1:]  # next-token prediction


def _loss_fn(name: str, m):
    F = m.nn.functional
    if name in ("mlp", "cnn", "digits_cnn"):
        return lambda model, x, y: F.cross_entropy(model(x), y)

    def seq_loss(model, x, y):
        logits = model(x)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
    return seq_loss


def _optimizer(name: str, m, params, variant="compile"):
    if variant == "eager":
        return m.optim.AdamW(params, lr=1e-3, weight_decay=0.01)
    if name == "mlp":
        return m.optim.SGD(params, lr=0.01, momentum=0.9)
    if name == "cnn":
        return m.optim.Adam(params, lr=1e-3)
    return m.optim.AdamW(params, lr=1e-3, weight_decay=0.01)


_MODELS = {"mlp": lambda m, c, eager=False: _mlp(m, c), "cnn": _cnn, "lstm": _lstm,
           "gpt": _gpt, "gpt_sdpa": lambda m, c, eager=True: _gpt(m, c, eager, sdpa=True),
           "digits_cnn": _digits_cnn}


def build(name: str, m, device: str = "cpu", *, quick: bool = False, seed: int = 0,
          init_from: Optional[Any] = None, variant: str = "compile") -> Workload:
    """Workload ``name`` (one of ``NAMES``) built with library ``m`` (``minitorch`` or
    ``torch``) on ``device``.  ``variant="eager"`` builds issue #12's table instead
    (``EAGER_NAMES``: every optimizer AdamW, no BatchNorm, no Dropout).  The model's initial weights come from ``m.manual_seed(seed)``,
    or are copied from the module ``init_from`` (a model of the same workload, either
    library) so that two libraries start from the same weights."""
    names = EAGER_NAMES if variant == "eager" else NAMES
    if variant not in ("compile", "eager"):
        raise ValueError(f"unknown variant {variant!r}; expected 'compile' or 'eager'")
    if name not in names:
        raise ValueError(f"unknown workload {name!r}; expected one of {list(names)}")
    c = dict(_CFG[name]["quick" if quick else "full"])
    m.manual_seed(seed)
    model = _MODELS[name](m, c, eager=variant == "eager").to(device)
    if init_from is not None:
        copy_weights(init_from, model, m)
    model.train()
    opt = _optimizer(name, m, model.parameters(), variant)
    xa, ya = _data(name, c, seed)
    x = m.tensor(xa, device=device)
    y = m.tensor(ya, dtype=m.int64, device=device)
    loss_fn = _loss_fn(name, m)

    def batch():
        return x, y

    def step(x, y):
        opt.zero_grad()
        loss = loss_fn(model, x, y)
        loss.backward()
        opt.step()
        return loss
    step.__name__ = f"{name}_step"
    return Workload(name, m, model, opt, batch, loss_fn, step, c)
