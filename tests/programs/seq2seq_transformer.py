"""Sequence-to-sequence with nn.Transformer: learn to reverse a digit string.

In the style of PyTorch's "Language translation with nn.Transformer" tutorial: token
embeddings scaled by sqrt(d_model), a sinusoidal PositionalEncoding buffer, nn.Transformer
with batch_first, a causal tgt_mask from generate_square_subsequent_mask, padding masks,
CrossEntropyLoss(ignore_index=PAD), Adam, greedy decoding.  Weights come from NumPy.
"""
import math

import numpy as np
import torch
import torch.nn as nn
from torch import Tensor
from torch.nn import Transformer

PAD_IDX, BOS_IDX, EOS_IDX = 0, 1, 2
VOCAB = 3 + 10  # specials + digits
rng = np.random.default_rng(7)


def make_pair(n):
    digits = rng.integers(0, 10, n)
    src = [3 + int(d) for d in digits] + [EOS_IDX]
    tgt = [BOS_IDX] + [3 + int(d) for d in digits[::-1]] + [EOS_IDX]
    return src, tgt


def collate(pairs):
    src_len = max(len(s) for s, _ in pairs)
    tgt_len = max(len(t) for _, t in pairs)
    src = torch.full((len(pairs), src_len), PAD_IDX, dtype=torch.long)
    tgt = torch.full((len(pairs), tgt_len), PAD_IDX, dtype=torch.long)
    for i, (s, t) in enumerate(pairs):
        src[i, :len(s)] = torch.tensor(s)
        tgt[i, :len(t)] = torch.tensor(t)
    return src, tgt


class PositionalEncoding(nn.Module):
    def __init__(self, emb_size: int, dropout: float, maxlen: int = 64):
        super().__init__()
        den = torch.exp(- torch.arange(0, emb_size, 2) * math.log(10000) / emb_size)
        pos = torch.arange(0, maxlen).reshape(maxlen, 1)
        pos_embedding = torch.zeros((maxlen, emb_size))
        pos_embedding[:, 0::2] = torch.sin(pos * den)
        pos_embedding[:, 1::2] = torch.cos(pos * den)
        pos_embedding = pos_embedding.unsqueeze(0)
        self.dropout = nn.Dropout(dropout)
        self.register_buffer('pos_embedding', pos_embedding)

    def forward(self, token_embedding: Tensor):
        return self.dropout(token_embedding + self.pos_embedding[:, :token_embedding.size(1), :])


class TokenEmbedding(nn.Module):
    def __init__(self, vocab_size: int, emb_size):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, emb_size)
        self.emb_size = emb_size

    def forward(self, tokens: Tensor):
        return self.embedding(tokens.long()) * math.sqrt(self.emb_size)


class Seq2SeqTransformer(nn.Module):
    def __init__(self, num_encoder_layers, num_decoder_layers, emb_size, nhead, vocab_size,
                 dim_feedforward=64, dropout=0.0):
        super().__init__()
        self.transformer = Transformer(d_model=emb_size, nhead=nhead,
                                       num_encoder_layers=num_encoder_layers,
                                       num_decoder_layers=num_decoder_layers,
                                       dim_feedforward=dim_feedforward, dropout=dropout,
                                       batch_first=True, norm_first=True)
        self.generator = nn.Linear(emb_size, vocab_size)
        self.src_tok_emb = TokenEmbedding(vocab_size, emb_size)
        self.tgt_tok_emb = TokenEmbedding(vocab_size, emb_size)
        self.positional_encoding = PositionalEncoding(emb_size, dropout=dropout)

    def forward(self, src, trg, src_mask, tgt_mask, src_padding_mask, tgt_padding_mask,
                memory_key_padding_mask):
        src_emb = self.positional_encoding(self.src_tok_emb(src))
        tgt_emb = self.positional_encoding(self.tgt_tok_emb(trg))
        outs = self.transformer(src_emb, tgt_emb, src_mask, tgt_mask, None,
                                src_padding_mask, tgt_padding_mask, memory_key_padding_mask)
        return self.generator(outs)

    def encode(self, src, src_mask):
        return self.transformer.encoder(self.positional_encoding(self.src_tok_emb(src)), src_mask)

    def decode(self, tgt, memory, tgt_mask):
        return self.transformer.decoder(self.positional_encoding(self.tgt_tok_emb(tgt)), memory,
                                        tgt_mask)


def create_mask(src, tgt):
    src_seq_len, tgt_seq_len = src.shape[1], tgt.shape[1]
    tgt_mask = Transformer.generate_square_subsequent_mask(tgt_seq_len)
    src_mask = torch.zeros((src_seq_len, src_seq_len)).type(torch.bool)
    src_padding_mask = (src == PAD_IDX)
    tgt_padding_mask = (tgt == PAD_IDX)
    return src_mask, tgt_mask, src_padding_mask, tgt_padding_mask


torch.manual_seed(0)
model = Seq2SeqTransformer(2, 2, emb_size=32, nhead=4, vocab_size=VOCAB)
names = [n for n, _ in model.named_parameters()]
print(len(names), "parameter tensors;", sum(p.numel() for p in model.parameters()), "values")
print(names[:4])
print(names[-6:])
init = np.random.default_rng(3)
with torch.no_grad():
    for name, p in model.named_parameters():
        if p.dim() > 1:
            bound = math.sqrt(6.0 / (p.shape[0] + p.shape[1]))  # xavier_uniform_
        else:
            bound = 0.1  # biases and LayerNorm parameters too: no torch RNG anywhere
        value = init.uniform(-bound, bound, tuple(p.shape))
        if 'norm' in name and name.endswith('weight'):
            value += 1.0
        p.copy_(torch.tensor(value, dtype=torch.float32))

loss_fn = torch.nn.CrossEntropyLoss(ignore_index=PAD_IDX)
optimizer = torch.optim.Adam(model.parameters(), lr=2e-3, betas=(0.9, 0.98), eps=1e-9)

train = [make_pair(int(n)) for n in rng.integers(3, 7, 64)]
for epoch in range(1, 5):
    model.train()
    total = 0.0
    for b in range(0, len(train), 16):
        src, tgt = collate(train[b:b + 16])
        tgt_input = tgt[:, :-1]
        src_mask, tgt_mask, src_padding_mask, tgt_padding_mask = create_mask(src, tgt_input)
        logits = model(src, tgt_input, src_mask, tgt_mask, src_padding_mask, tgt_padding_mask,
                       src_padding_mask)
        optimizer.zero_grad()
        tgt_out = tgt[:, 1:]
        loss = loss_fn(logits.reshape(-1, logits.shape[-1]), tgt_out.reshape(-1))
        loss.backward()
        optimizer.step()
        total += loss.item()
    print(f"Epoch: {epoch}, Train loss: {total / 4:.6f}")


def greedy_decode(model, src, src_mask, max_len, start_symbol):
    memory = model.encode(src, src_mask)
    ys = torch.ones(1, 1).fill_(start_symbol).type(torch.long)
    for i in range(max_len - 1):
        tgt_mask = Transformer.generate_square_subsequent_mask(ys.size(1)).type(torch.bool)
        out = model.decode(ys, memory, tgt_mask)
        prob = model.generator(out[:, -1])
        _, next_word = torch.max(prob, dim=1)
        next_word = next_word.item()
        ys = torch.cat([ys, torch.ones(1, 1).type_as(src.data).fill_(next_word)], dim=1)
        if next_word == EOS_IDX:
            break
    return ys


model.eval()
with torch.no_grad():
    for s, t in [make_pair(4), make_pair(5)]:
        src = torch.tensor([s])
        num_tokens = src.shape[1]
        src_mask = (torch.zeros(num_tokens, num_tokens)).type(torch.bool)
        out = greedy_decode(model, src, src_mask, max_len=num_tokens + 3, start_symbol=BOS_IDX)
        print("src", s, "-> decoded", out[0].tolist())
    src, tgt = collate(train[:8])
    masks = create_mask(src, tgt[:, :-1])
    logits = model(src, tgt[:, :-1], *masks, masks[2])
    pred = logits.argmax(-1)
    keep = tgt[:, 1:] != PAD_IDX
    acc = (pred[keep] == tgt[:, 1:][keep]).float().mean()
    print(f"teacher-forced token accuracy {acc.item():.6f}")
    print("first logits", logits[0, 0, :4])
