"""The Transformer variant of pytorch/examples word_language_model.

TransformerModel subclasses nn.Transformer (as the example does) but uses only its
encoder: PositionalEncoding buffer with dropout, nn.TransformerEncoderLayer(dim_feedforward,
dropout), a causal float mask from torch.triu(full(-inf)), init_weights with
nn.init.uniform_/zeros_ (then NumPy weights), batchify/get_batch over a word corpus,
CrossEntropyLoss, clip_grad_norm_, a hand-written SGD step, evaluation and perplexity.
"""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

words = ("the quick brown fox jumps over the lazy dog . the dog sleeps . the fox runs "
         "over the hill . a lazy dog sleeps on the hill . the quick fox sleeps . ").split() * 3
vocab = sorted(set(words))
w2i = {w: i for i, w in enumerate(vocab)}
ids = torch.tensor([w2i[w] for w in words], dtype=torch.long)


class PositionalEncoding(nn.Module):
    def __init__(self, d_model, dropout=0.1, max_len=5000):
        super(PositionalEncoding, self).__init__()
        self.dropout = nn.Dropout(p=dropout)
        pe = torch.zeros(max_len, d_model)
        position = torch.arange(0, max_len, dtype=torch.float).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, d_model, 2).float() * (-math.log(10000.0) / d_model))
        pe[:, 0::2] = torch.sin(position * div_term)
        pe[:, 1::2] = torch.cos(position * div_term)
        pe = pe.unsqueeze(0).transpose(0, 1)
        self.register_buffer('pe', pe)

    def forward(self, x):
        x = x + self.pe[:x.size(0), :]
        return self.dropout(x)


class TransformerModel(nn.Transformer):
    """Container module with an encoder, a recurrent or transformer module, and a decoder."""

    def __init__(self, ntoken, ninp, nhead, nhid, nlayers, dropout=0.5):
        super(TransformerModel, self).__init__(d_model=ninp, nhead=nhead, dim_feedforward=nhid,
                                               num_encoder_layers=nlayers, dropout=dropout)
        self.model_type = 'Transformer'
        self.src_mask = None
        self.pos_encoder = PositionalEncoding(ninp, dropout)
        self.input_emb = nn.Embedding(ntoken, ninp)
        self.ninp = ninp
        self.decoder = nn.Linear(ninp, ntoken)
        self.init_weights()

    def _generate_square_subsequent_mask(self, sz):
        return torch.log(torch.tril(torch.ones(sz, sz)))

    def init_weights(self):
        initrange = 0.1
        nn.init.uniform_(self.input_emb.weight, -initrange, initrange)
        nn.init.zeros_(self.decoder.bias)
        nn.init.uniform_(self.decoder.weight, -initrange, initrange)

    def forward(self, src, has_mask=True):
        if has_mask:
            device = src.device
            if self.src_mask is None or self.src_mask.size(0) != len(src):
                mask = self._generate_square_subsequent_mask(len(src)).to(device)
                self.src_mask = mask
        else:
            self.src_mask = None
        src = self.input_emb(src) * math.sqrt(self.ninp)
        src = self.pos_encoder(src)
        output = self.encoder(src, mask=self.src_mask)
        output = self.decoder(output)
        return F.log_softmax(output, dim=-1)


def batchify(data, bsz):
    nbatch = data.size(0) // bsz
    data = data.narrow(0, 0, nbatch * bsz)
    return data.view(bsz, -1).t().contiguous()


bptt = 8
n_train = int(0.8 * len(ids))
train_data = batchify(ids[:n_train], 4)
val_data = batchify(ids[n_train:], 2)
print(len(ids), "tokens:", tuple(train_data.shape), tuple(val_data.shape))


def get_batch(source, i):
    seq_len = min(bptt, len(source) - 1 - i)
    data = source[i:i + seq_len]
    target = source[i + 1:i + 1 + seq_len].view(-1)
    return data, target


ntokens = len(vocab)
model = TransformerModel(ntokens, 16, 2, 32, 2, dropout=0.0)
print(model.model_type, len(model.state_dict()), "tensors in the state dict")
print([k for k in model.state_dict() if k.startswith('encoder.layers.0')][:6])
rng = np.random.default_rng(17)
with torch.no_grad():
    for name, p in model.named_parameters():
        if 'norm' in name and name.endswith('weight'):
            p.fill_(1.0)
        else:
            p.copy_(torch.tensor(rng.uniform(-0.1, 0.1, tuple(p.shape)), dtype=torch.float32))
criterion = nn.NLLLoss()


def evaluate(data_source):
    model.eval()
    total_loss = 0.
    with torch.no_grad():
        for i in range(0, data_source.size(0) - 1, bptt):
            data, targets = get_batch(data_source, i)
            output = model(data)
            output = output.view(-1, ntokens)
            total_loss += len(data) * criterion(output, targets).item()
    return total_loss / (len(data_source) - 1)


lr = 2.0
for epoch in range(1, 4):
    model.train()
    total_loss = 0.
    for batch, i in enumerate(range(0, train_data.size(0) - 1, bptt)):
        data, targets = get_batch(train_data, i)
        model.zero_grad()
        output = model(data)
        output = output.view(-1, ntokens)
        loss = criterion(output, targets)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.25)
        for p in model.parameters():
            p.data.add_(p.grad, alpha=-lr)
        total_loss += loss.item()
    val_loss = evaluate(val_data)
    print('| end of epoch {:3d} | train loss {:5.4f} | valid loss {:5.4f} | '
          'valid ppl {:8.4f}'.format(epoch, total_loss / (batch + 1), val_loss,
                                     math.exp(val_loss)))
print(model.src_mask[:3, :3])
print(model._generate_square_subsequent_mask(3))
