"""Bigram character model, in the style of the GPT-from-scratch lecture's bigram.py.

Deterministic: batches come from a fixed index formula, the embedding table from NumPy's
generator, and generation is greedy (argmax) instead of torch.multinomial.
"""
import numpy as np
import torch
import torch.nn as nn
from torch.nn import functional as F

# hyperparameters
batch_size = 16
block_size = 8
max_iters = 60
eval_interval = 20
learning_rate = 1e-2
device = 'cuda' if torch.cuda.is_available() else 'cpu'
device = 'cpu'  # the comparison runs on the CPU
eval_iters = 4

text = ("to be, or not to be, that is the question: whether 'tis nobler in the mind to "
        "suffer the slings and arrows of outrageous fortune, or to take arms against a "
        "sea of troubles and by opposing end them. to die, to sleep; no more. ") * 3

chars = sorted(list(set(text)))
vocab_size = len(chars)
stoi = {ch: i for i, ch in enumerate(chars)}
itos = {i: ch for i, ch in enumerate(chars)}
encode = lambda s: [stoi[c] for c in s]
decode = lambda l: ''.join([itos[i] for i in l])

data = torch.tensor(encode(text), dtype=torch.long)
n = int(0.9 * len(data))
train_data = data[:n]
val_data = data[n:]
print(f"vocab {vocab_size}, train {len(train_data)}, val {len(val_data)}")

_step = [0]


def get_batch(split):
    data = train_data if split == 'train' else val_data
    _step[0] += 1
    ix = torch.tensor([(_step[0] * 131 + 17 * i * i) % (len(data) - block_size)
                       for i in range(batch_size)])
    x = torch.stack([data[i:i + block_size] for i in ix])
    y = torch.stack([data[i + 1:i + block_size + 1] for i in ix])
    x, y = x.to(device), y.to(device)
    return x, y


@torch.no_grad()
def estimate_loss():
    out = {}
    model.eval()
    for split in ['train', 'val']:
        losses = torch.zeros(eval_iters)
        for k in range(eval_iters):
            X, Y = get_batch(split)
            logits, loss = model(X, Y)
            losses[k] = loss.item()
        out[split] = losses.mean()
    model.train()
    return out


class BigramLanguageModel(nn.Module):

    def __init__(self, vocab_size):
        super().__init__()
        self.token_embedding_table = nn.Embedding(vocab_size, vocab_size)

    def forward(self, idx, targets=None):
        logits = self.token_embedding_table(idx)  # (B,T,C)
        if targets is None:
            loss = None
        else:
            B, T, C = logits.shape
            logits = logits.view(B * T, C)
            targets = targets.view(B * T)
            loss = F.cross_entropy(logits, targets)
        return logits, loss

    def generate(self, idx, max_new_tokens):
        for _ in range(max_new_tokens):
            logits, loss = self(idx)
            logits = logits[:, -1, :]  # becomes (B, C)
            probs = F.softmax(logits, dim=-1)  # (B, C)
            idx_next = torch.argmax(probs, dim=-1, keepdim=True)  # greedy, (B, 1)
            idx = torch.cat((idx, idx_next), dim=1)  # (B, T+1)
        return idx


model = BigramLanguageModel(vocab_size)
m = model.to(device)
rng = np.random.default_rng(1337)
with torch.no_grad():
    for name, p in model.named_parameters():
        p.copy_(torch.tensor(rng.standard_normal(p.shape), dtype=torch.float32))

optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate)

for iter in range(max_iters + 1):
    if iter % eval_interval == 0:
        losses = estimate_loss()
        print(f"step {iter}: train loss {losses['train']:.6f}, val loss {losses['val']:.6f}")
    xb, yb = get_batch('train')
    logits, loss = model(xb, yb)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()

context = torch.zeros((1, 1), dtype=torch.long, device=device)
print(repr(decode(m.generate(context, max_new_tokens=40)[0].tolist())))
context = torch.tensor([encode("to ")], dtype=torch.long, device=device)
print(repr(decode(m.generate(context, max_new_tokens=40)[0].tolist())))
