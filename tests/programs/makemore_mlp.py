"""A makemore-style character MLP (Bengio et al. 2003) over a small list of names.

As in the makemore lecture: the context window of the previous block_size characters,
an embedding table C indexed by the whole batch at once (C[Xb]), a tanh hidden layer,
F.cross_entropy, hand-written SGD with a learning-rate step, parameters as plain tensors
with requires_grad.  The context window slides with torch.roll.  Sampling is greedy over
the top-k (torch.topk) instead of torch.multinomial, so nothing depends on torch's RNG.
"""
import numpy as np
import torch
import torch.nn.functional as F

words = ["emma", "olivia", "ava", "isabella", "sophia", "charlotte", "mia", "amelia",
         "harper", "evelyn", "abigail", "emily", "elizabeth", "mila", "ella", "avery",
         "sofia", "camila", "aria", "scarlett", "victoria", "madison", "luna", "grace",
         "chloe", "penelope", "layla", "riley", "zoey", "nora", "lily", "eleanor"]
chars = sorted(list(set(''.join(words))))
stoi = {s: i + 1 for i, s in enumerate(chars)}
stoi['.'] = 0
itos = {i: s for s, i in stoi.items()}
vocab_size = len(itos)
block_size = 3


def build_dataset(words):
    X, Y = [], []
    for w in words:
        context = torch.zeros(block_size, dtype=torch.long)
        for ch in w + '.':
            ix = stoi[ch]
            X.append(context.clone())
            Y.append(ix)
            context = torch.roll(context, shifts=-1, dims=0)  # crop and append
            context[-1] = ix
    X = torch.stack(X)
    Y = torch.tensor(Y)
    print(X.shape, Y.shape)
    return X, Y


n1 = int(0.8 * len(words))
Xtr, Ytr = build_dataset(words[:n1])
Xdev, Ydev = build_dataset(words[n1:])
print(Xtr[:4])

rng = np.random.default_rng(2147483647)
n_embd, n_hidden = 8, 64
C = torch.tensor(rng.standard_normal((vocab_size, n_embd)), dtype=torch.float32)
W1 = torch.tensor(rng.standard_normal((n_embd * block_size, n_hidden)), dtype=torch.float32) * (5 / 3) / (n_embd * block_size) ** 0.5
b1 = torch.tensor(rng.standard_normal(n_hidden), dtype=torch.float32) * 0.01
W2 = torch.tensor(rng.standard_normal((n_hidden, vocab_size)), dtype=torch.float32) * 0.01
b2 = torch.zeros(vocab_size)
parameters = [C, W1, b1, W2, b2]
print(sum(p.nelement() for p in parameters))
for p in parameters:
    p.requires_grad = True

max_steps = 120
batch_size = 32
lossi = []
for i in range(max_steps):
    ix = torch.tensor(rng.integers(0, Xtr.shape[0], (batch_size,)))
    Xb, Yb = Xtr[ix], Ytr[ix]
    emb = C[Xb]
    embcat = emb.view(emb.shape[0], -1)
    hpreact = embcat @ W1 + b1
    h = torch.tanh(hpreact)
    logits = h @ W2 + b2
    loss = F.cross_entropy(logits, Yb)
    for p in parameters:
        p.grad = None
    loss.backward()
    lr = 0.2 if i < 80 else 0.02
    for p in parameters:
        p.data += -lr * p.grad
    if i % 20 == 0:
        print(f'{i:7d}/{max_steps:7d}: {loss.item():.6f}')
    lossi.append(loss.log10().item())
print(f"mean log10 loss, last 20 steps: {sum(lossi[-20:]) / 20:.6f}")


@torch.no_grad()
def split_loss(split):
    x, y = {'train': (Xtr, Ytr), 'val': (Xdev, Ydev)}[split]
    emb = C[x]
    embcat = emb.view(emb.shape[0], -1)
    h = torch.tanh(embcat @ W1 + b1)
    logits = h @ W2 + b2
    loss = F.cross_entropy(logits, y)
    print(split, f"{loss.item():.6f}")


split_loss('train')
split_loss('val')

for start in ['e', 'm', 'l', 'a']:
    out = [start]
    context = torch.tensor([0, 0, stoi[start]])
    while True:
        emb = C[context.unsqueeze(0)]
        h = torch.tanh(emb.view(1, -1) @ W1 + b1)
        logits = h @ W2 + b2
        probs = F.softmax(logits, dim=1)
        top, idx = torch.topk(probs, k=3, dim=1)
        ix = idx[0, 0].item()
        context = torch.roll(context, -1)
        context[-1] = ix
        if ix == 0 or len(out) > 10:
            break
        out.append(itos[ix])
    print(''.join(out), [f"{v:.4f}" for v in top[0].tolist()])
