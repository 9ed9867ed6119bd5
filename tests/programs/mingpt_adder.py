"""minGPT's "adder" project in miniature: a GPT with hand-written causal attention learns
two-digit addition.

The model is minGPT's (explicit attention with a registered tril "bias" buffer,
masked_fill(-inf) and softmax, NewGELU written out with math.sqrt, an nn.ModuleDict
transformer, weight decay only on Linear weights chosen by walking named_modules), the
dataset is minGPT's AdditionDataset encoding (digits of a, b and the reversed sum, with -1
targets masked by ignore_index), and evaluation decodes greedily and counts correct sums.
"""
import math

import numpy as np
import torch
import torch.nn as nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, Dataset


class NewGELU(nn.Module):
    def forward(self, x):
        return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


class CausalSelfAttention(nn.Module):
    def __init__(self, n_embd, n_head, block_size):
        super().__init__()
        self.c_attn = nn.Linear(n_embd, 3 * n_embd)
        self.c_proj = nn.Linear(n_embd, n_embd)
        self.attn_dropout = nn.Dropout(0.0)
        self.resid_dropout = nn.Dropout(0.0)
        self.register_buffer("bias", torch.tril(torch.ones(block_size, block_size))
                             .view(1, 1, block_size, block_size))
        self.n_head = n_head
        self.n_embd = n_embd

    def forward(self, x):
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        att = att.masked_fill(self.bias[:, :, :T, :T] == 0, float('-inf'))
        att = F.softmax(att, dim=-1)
        att = self.attn_dropout(att)
        y = att @ v
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        return self.resid_dropout(self.c_proj(y))


class Block(nn.Module):
    def __init__(self, n_embd, n_head, block_size):
        super().__init__()
        self.ln_1 = nn.LayerNorm(n_embd)
        self.attn = CausalSelfAttention(n_embd, n_head, block_size)
        self.ln_2 = nn.LayerNorm(n_embd)
        self.mlp = nn.ModuleDict(dict(c_fc=nn.Linear(n_embd, 4 * n_embd),
                                      c_proj=nn.Linear(4 * n_embd, n_embd),
                                      act=NewGELU(), dropout=nn.Dropout(0.0)))
        m = self.mlp
        self.mlpf = lambda x: m.dropout(m.c_proj(m.act(m.c_fc(x))))

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        x = x + self.mlpf(self.ln_2(x))
        return x


class GPT(nn.Module):
    def __init__(self, vocab_size, block_size, n_layer=2, n_head=2, n_embd=24):
        super().__init__()
        self.block_size = block_size
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(vocab_size, n_embd), wpe=nn.Embedding(block_size, n_embd),
            drop=nn.Dropout(0.0),
            h=nn.ModuleList([Block(n_embd, n_head, block_size) for _ in range(n_layer)]),
            ln_f=nn.LayerNorm(n_embd)))
        self.lm_head = nn.Linear(n_embd, vocab_size, bias=False)

    def configure_optimizers(self, weight_decay, learning_rate, betas):
        decay, no_decay = set(), set()
        whitelist = (torch.nn.Linear,)
        blacklist = (torch.nn.LayerNorm, torch.nn.Embedding)
        for mn, m in self.named_modules():
            for pn, p in m.named_parameters():
                fpn = '%s.%s' % (mn, pn) if mn else pn
                if pn.endswith('bias'):
                    no_decay.add(fpn)
                elif pn.endswith('weight') and isinstance(m, whitelist):
                    decay.add(fpn)
                elif pn.endswith('weight') and isinstance(m, blacklist):
                    no_decay.add(fpn)
        param_dict = {pn: p for pn, p in self.named_parameters()}
        assert len(decay & no_decay) == 0 and len(param_dict.keys() - (decay | no_decay)) == 0
        print(f"decay {len(decay)} no_decay {len(no_decay)}")
        optim_groups = [
            {"params": [param_dict[pn] for pn in sorted(list(decay))], "weight_decay": weight_decay},
            {"params": [param_dict[pn] for pn in sorted(list(no_decay))], "weight_decay": 0.0},
        ]
        return torch.optim.AdamW(optim_groups, lr=learning_rate, betas=betas)

    def forward(self, idx, targets=None):
        b, t = idx.size()
        pos = torch.arange(0, t, dtype=torch.long).unsqueeze(0)
        x = self.transformer.drop(self.transformer.wte(idx) + self.transformer.wpe(pos))
        for block in self.transformer.h:
            x = block(x)
        logits = self.lm_head(self.transformer.ln_f(x))
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1),
                                   ignore_index=-1)
        return logits, loss

    @torch.no_grad()
    def generate(self, idx, max_new_tokens):
        for _ in range(max_new_tokens):
            logits, _ = self(idx[:, -self.block_size:])
            _, idx_next = torch.topk(logits[:, -1, :], k=1, dim=-1)
            idx = torch.cat((idx, idx_next), dim=1)
        return idx


class AdditionDataset(Dataset):
    """a + b = c as digits: a, b with ndigit digits, c with ndigit+1 digits, reversed."""

    def __init__(self, split, ndigit=2):
        self.ndigit = ndigit
        num = (10 ** ndigit) ** 2
        perm = np.random.default_rng(1337).permutation(num)
        num_test = min(int(num * 0.2), 500)
        self.ixes = perm[:num_test] if split == 'test' else perm[num_test:]

    def get_block_size(self):
        return 3 * self.ndigit + 1 - 1

    def __len__(self):
        return self.ixes.size

    def __getitem__(self, idx):
        ndigit = self.ndigit
        idx = int(self.ixes[idx])
        nd = 10 ** ndigit
        a, b = idx // nd, idx % nd
        c = a + b
        astr, bstr = f'%0{ndigit}d' % a, f'%0{ndigit}d' % b
        cstr = (f'%0{ndigit + 1}d' % c)[::-1]
        render = astr + bstr + cstr
        dix = [int(s) for s in render]
        x = torch.tensor(dix[:-1], dtype=torch.long)
        y = torch.tensor(dix[1:], dtype=torch.long)
        y[:ndigit * 2 - 1] = -1
        return x, y


train_dataset, test_dataset = AdditionDataset('train'), AdditionDataset('test')
print(len(train_dataset), len(test_dataset), train_dataset[0])
model = GPT(vocab_size=10, block_size=train_dataset.get_block_size())
init = np.random.default_rng(0)
with torch.no_grad():
    for pn, p in model.named_parameters():
        if pn.endswith('bias'):
            p.zero_()
        elif 'ln_' in pn:
            p.fill_(1.0)
        else:
            p.copy_(torch.tensor(init.normal(0.0, 0.1, tuple(p.shape)), dtype=torch.float32))
print("number of parameters:", sum(p.numel() for p in model.parameters()))
optimizer = model.configure_optimizers(0.1, 3e-3, (0.9, 0.95))
loader = DataLoader(train_dataset, batch_size=64, shuffle=False)
model.train()
for it, (x, y) in enumerate(loader):
    logits, loss = model(x, y)
    model.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    if it % 4 == 0:
        print(f"iter {it}: train loss {loss.item():.5f}")
    if it == 11:
        break

model.eval()
ndigit = 2
factors = torch.tensor([[10 ** i for i in range(ndigit + 1)][::-1]])
correct = 0
loader = DataLoader(test_dataset, batch_size=50, drop_last=False)
for b, (x, y) in enumerate(loader):
    d1d2 = x[:, :ndigit * 2]
    d1d2d3 = model.generate(d1d2, ndigit + 1)
    d3 = d1d2d3[:, -(ndigit + 1):].flip(1)
    d1i = (d1d2[:, :ndigit] * factors[:, 1:]).sum(1)
    d2i = (d1d2[:, ndigit:ndigit * 2] * factors[:, 1:]).sum(1)
    d3i_pred = (d3 * factors).sum(1)
    d3i_gt = d1i + d2i
    correct += (d3i_pred == d3i_gt).sum().item()
    if b == 0:
        print("first:", d1i[:3].tolist(), d2i[:3].tolist(), d3i_pred[:3].tolist())
    if b == 1:
        break
print(f"correct {correct} of 100")
