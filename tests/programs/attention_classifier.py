"""A sequence classifier on nn.MultiheadAttention and nn.TransformerEncoder (batch_first).

Token sequences of varying length are padded and masked with key_padding_mask; the
attention weights of a first nn.MultiheadAttention are read back (need_weights=True,
average_attn_weights=False); a TransformerEncoder (norm_first, gelu activation) follows, then
masked mean pooling.  CrossEntropyLoss with class weights and label smoothing, AdamW under
OneCycleLR, gradient accumulation over two micro-batches, and evaluation accuracy.
"""
import numpy as np
import torch
import torch.nn as nn

rng = np.random.default_rng(31)
VOCAB, PAD = 12, 0


def make_example():
    n = int(rng.integers(3, 9))
    toks = rng.integers(1, VOCAB, n)
    label = int((toks > 6).sum() > n / 2)  # majority of "high" tokens
    return toks.tolist(), label


def collate(batch):
    T = max(len(t) for t, _ in batch)
    x = torch.full((len(batch), T), PAD, dtype=torch.long)
    for i, (t, _) in enumerate(batch):
        x[i, :len(t)] = torch.tensor(t)
    y = torch.tensor([l for _, l in batch])
    return x, y, x == PAD


class Classifier(nn.Module):
    def __init__(self, d=16, heads=2):
        super().__init__()
        self.emb = nn.Embedding(VOCAB, d, padding_idx=PAD)
        self.mha = nn.MultiheadAttention(d, heads, batch_first=True)
        layer = nn.TransformerEncoderLayer(d, heads, dim_feedforward=32, dropout=0.0,
                                           activation="gelu", batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False)
        self.head = nn.Linear(d, 2)

    def forward(self, x, pad_mask, return_attn=False):
        h = self.emb(x)
        a, w = self.mha(h, h, h, key_padding_mask=pad_mask, need_weights=True,
                        average_attn_weights=False)
        h = self.encoder(h + a, src_key_padding_mask=pad_mask)
        keep = (~pad_mask).unsqueeze(-1).float()
        pooled = (h * keep).sum(1) / keep.sum(1)
        out = self.head(pooled)
        return (out, w) if return_attn else out


model = Classifier()
init = np.random.default_rng(2)
with torch.no_grad():
    for name, p in model.named_parameters():
        if 'norm' in name and name.endswith('weight'):
            p.fill_(1.0)
        elif name.endswith('bias'):
            p.zero_()
        else:
            p.copy_(torch.tensor(init.normal(0, 0.3, tuple(p.shape)), dtype=torch.float32))
        if name == 'emb.weight':
            p[PAD].zero_()

train = [make_example() for _ in range(64)]
test = [make_example() for _ in range(32)]
counts = torch.bincount(torch.tensor([l for _, l in train]), minlength=2).float()
print("class counts", counts)
criterion = nn.CrossEntropyLoss(weight=counts.sum() / (2 * counts), label_smoothing=0.05)
optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
epochs, steps_per_epoch = 4, 4
scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=1e-2, epochs=epochs,
                                                steps_per_epoch=steps_per_epoch)
for epoch in range(epochs):
    model.train()
    total = 0.0
    for step in range(steps_per_epoch):
        optimizer.zero_grad()
        for micro in range(2):  # gradient accumulation
            lo = step * 16 + micro * 8
            x, y, mask = collate(train[lo:lo + 8])
            loss = criterion(model(x, mask), y) / 2
            loss.backward()
            total += loss.item()
        optimizer.step()
        scheduler.step()
    model.eval()
    with torch.no_grad():
        x, y, mask = collate(test)
        logits, w = model(x, mask, return_attn=True)
        acc = (logits.argmax(dim=1) == y).float().mean().item()
    print(f"epoch {epoch}: loss {total / steps_per_epoch:.5f} acc {acc:.4f} "
          f"lr {scheduler.get_last_lr()[0]:.6f}")
print("attention weights", tuple(w.shape), w[0, 0, 0])
print("padding gets no attention:", bool((w[mask.unsqueeze(1).unsqueeze(2).expand_as(w)] == 0).all()))
