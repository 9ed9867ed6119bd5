"""Lecture step 8: a dynamic graph -- an LSTM over sequences of different lengths.

The task: read a sequence of 1 to 12 digits and say which digit is its largest
(10 classes, balanced, so guessing gives 10%).  The model is Embedding -> LSTM -> Linear
on the LSTM's last hidden state.  Each sequence is run at its own length, one at a time,
with ordinary Python control flow: a sequence of 3 digits records 3 LSTM steps in the
autograd graph and one of 12 digits records 12.  The graph is rebuilt on every forward
pass, so its shape follows the data -- that is what "define-by-run" means, and backward()
simply walks whatever graph this sample built.  A minibatch is a Python loop over its
sequences; their losses are averaged and one backward() runs through all the graphs.
"""
from __future__ import annotations

import argparse
import time

import minitorch as torch
from minitorch import nn, optim

VOCAB = 10       # digits 0..9
MAX_LEN = 12


def make_sequence(gen) -> tuple:
    """(digits as an int64 tensor of shape (L,), label = max digit), classes balanced."""
    label = int(torch.randint(0, VOCAB, (1,), generator=gen).item())
    length = int(torch.randint(1, MAX_LEN + 1, (1,), generator=gen).item())
    seq = torch.randint(0, label + 1, (length,), generator=gen)
    pos = int(torch.randint(0, length, (1,), generator=gen).item())
    seq[pos] = label  # the maximum occurs at least once
    return seq, label


class MaxLSTM(nn.Module):
    def __init__(self, embed: int = 16, hidden: int = 64) -> None:
        super().__init__()
        self.embed = nn.Embedding(VOCAB, embed)
        self.cell = nn.LSTMCell(embed, hidden)  # one step; the loop below is the recurrence
        self.head = nn.Linear(hidden, VOCAB)

    def forward(self, seq):
        """seq: int64 (L,), any L >= 1  ->  logits (1, 10)."""
        x = self.embed(seq)               # (L, embed): an unbatched sequence
        state = None
        for t in range(x.shape[0]):       # a Python loop: the graph grows with the sequence
            state = self.cell(x[t:t + 1], state)
        h_n, _ = state                    # h_n: (1, hidden), the state after the last digit
        return self.head(h_n)


def graph_size(t) -> int:
    """Number of backward nodes reachable from t.grad_fn (the size of its autograd graph)."""
    seen, stack = set(), [t.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        stack.extend(fn for fn, _ in node.next_functions)
    return len(seen)


def accuracy(model, data) -> float:
    with torch.no_grad():
        hits = sum(int(model(seq).argmax(1).item() == label) for seq, label in data)
    return hits / len(data)


def main(steps: int = 300, quiet: bool = False, batch_size: int = 16,
         seed: int = 0) -> dict:
    """Train for ``steps`` minibatches; returns {"losses": per-step mean loss,
    "train_acc": accuracy on the last 20 batches' sequences, "test_acc": on 500 held-out
    sequences}."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    test_set = [make_sequence(gen) for _ in range(500)]
    model = MaxLSTM()
    loss_fn = nn.CrossEntropyLoss()
    opt = optim.Adam(model.parameters(), lr=3e-3)

    if not quiet:
        for n in (3, 12):
            seq = torch.randint(0, VOCAB, (n,), generator=gen)
            out = loss_fn(model(seq), torch.tensor([0]))
            print(f"a sequence of {n:2d} digits builds a graph of {graph_size(out)} nodes")

    losses, recent = [], []
    start = time.perf_counter()
    for t in range(steps):
        batch = [make_sequence(gen) for _ in range(batch_size)]
        total = 0
        for seq, label in batch:             # each sequence at its own length
            logits = model(seq)
            total = total + loss_fn(logits, torch.tensor([label]))
            recent.append(int(logits.argmax(1).item() == label))
        loss = total / batch_size
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
        recent = recent[-20 * batch_size:]
        if not quiet and (t % 25 == 0 or t == steps - 1):
            print(f"step {t:4d}  loss {losses[-1]:.4f}  "
                  f"train accuracy (last {len(recent)}) {100 * sum(recent) / len(recent):5.1f}%")
    test_acc = accuracy(model, test_set)
    if not quiet:
        elapsed = time.perf_counter() - start
        print(f"test accuracy on {len(test_set)} new sequences: {100 * test_acc:.1f}%  "
              f"({elapsed:.1f} s, {1000 * elapsed / max(steps, 1):.0f} ms per step)")
        for seq, label in test_set[:4]:
            with torch.no_grad():
                guess = model(seq).argmax(1).item()
            print(f"  {''.join(str(d) for d in seq.tolist()):>12}  max {label}  model says {guess}")
    return {"losses": losses, "train_acc": sum(recent) / max(len(recent), 1),
            "test_acc": test_acc}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args()
    main(args.steps, args.quiet, args.batch_size, args.seed)
