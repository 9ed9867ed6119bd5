"""Word-level LSTM language model, written the way 2017-era PyTorch code was.

After pytorch/examples word_language_model (model.py + main.py): torch.autograd.Variable,
torch.LongTensor corpus, batchify/get_batch, repackage_hidden, tied encoder/decoder
weights, clip_grad_norm_, a hand-written SGD update on p.data, learning-rate annealing
when validation loss stops improving, perplexities.
"""
import math

import numpy as np
import torch
import torch.nn as nn
from torch.autograd import Variable

words = ("the cat sat on the mat . the dog sat on the log . a cat saw a dog . "
         "the dog saw the cat on the mat . a dog sat on a log . the cat ran . ").split() * 4


class Dictionary(object):
    def __init__(self):
        self.word2idx = {}
        self.idx2word = []

    def add_word(self, word):
        if word not in self.word2idx:
            self.idx2word.append(word)
            self.word2idx[word] = len(self.idx2word) - 1
        return self.word2idx[word]

    def __len__(self):
        return len(self.idx2word)


dictionary = Dictionary()
ids = torch.LongTensor(len(words))
for i, w in enumerate(words):
    ids[i] = dictionary.add_word(w)
n = len(ids)
train_ids, val_ids = ids[:int(0.8 * n)], ids[int(0.8 * n):]
print("vocabulary", len(dictionary), "tokens", n, type(ids).__name__, ids.dtype)


def batchify(data, bsz):
    nbatch = data.size(0) // bsz
    data = data.narrow(0, 0, nbatch * bsz)
    data = data.view(bsz, -1).t().contiguous()
    return data


class RNNModel(nn.Module):
    """Container module with an encoder, a recurrent module, and a decoder."""

    def __init__(self, rnn_type, ntoken, ninp, nhid, nlayers, dropout=0.5, tie_weights=False):
        super(RNNModel, self).__init__()
        self.drop = nn.Dropout(dropout)
        self.encoder = nn.Embedding(ntoken, ninp)
        self.rnn = getattr(nn, rnn_type)(ninp, nhid, nlayers, dropout=dropout)
        self.decoder = nn.Linear(nhid, ntoken)
        if tie_weights:
            if nhid != ninp:
                raise ValueError('When using the tied flag, nhid must be equal to emsize')
            self.decoder.weight = self.encoder.weight
        self.rnn_type = rnn_type
        self.nhid = nhid
        self.nlayers = nlayers

    def forward(self, input, hidden):
        emb = self.drop(self.encoder(input))
        output, hidden = self.rnn(emb, hidden)
        output = self.drop(output)
        decoded = self.decoder(output.view(output.size(0) * output.size(1), output.size(2)))
        return decoded.view(output.size(0), output.size(1), decoded.size(1)), hidden

    def init_hidden(self, bsz):
        weight = next(self.parameters()).data
        return (Variable(weight.new(self.nlayers, bsz, self.nhid).zero_()),
                Variable(weight.new(self.nlayers, bsz, self.nhid).zero_()))


def repackage_hidden(h):
    """Wraps hidden states in new Variables, to detach them from their history."""
    if isinstance(h, torch.Tensor):
        return Variable(h.data)
    else:
        return tuple(repackage_hidden(v) for v in h)


bptt = 6
batch_size = 4
eval_batch_size = 2
train_data = batchify(train_ids, batch_size)
val_data = batchify(val_ids, eval_batch_size)


def get_batch(source, i, evaluation=False):
    seq_len = min(bptt, len(source) - 1 - i)
    data = Variable(source[i:i + seq_len], volatile=evaluation) if evaluation else \
        Variable(source[i:i + seq_len])
    target = Variable(source[i + 1:i + 1 + seq_len].view(-1))
    return data, target


ntokens = len(dictionary)
model = RNNModel('LSTM', ntokens, 16, 16, 2, dropout=0.0, tie_weights=True)
rng = np.random.default_rng(11)
for name, p in model.named_parameters():
    p.data.copy_(torch.from_numpy(rng.uniform(-0.1, 0.1, tuple(p.size())).astype(np.float32)))
criterion = nn.CrossEntropyLoss()


def evaluate(data_source):
    model.eval()
    total_loss = 0
    hidden = model.init_hidden(eval_batch_size)
    with torch.no_grad():
        for i in range(0, data_source.size(0) - 1, bptt):
            data, targets = get_batch(data_source, i)
            output, hidden = model(data, hidden)
            output_flat = output.view(-1, ntokens)
            total_loss += len(data) * criterion(output_flat, targets).data.item()
            hidden = repackage_hidden(hidden)
    return total_loss / len(data_source)


lr = 5.0
clip = 0.25
best_val_loss = None
for epoch in range(1, 5):
    model.train()
    total_loss = 0
    hidden = model.init_hidden(batch_size)
    for batch, i in enumerate(range(0, train_data.size(0) - 1, bptt)):
        data, targets = get_batch(train_data, i)
        hidden = repackage_hidden(hidden)
        model.zero_grad()
        output, hidden = model(data, hidden)
        loss = criterion(output.view(-1, ntokens), targets)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        for p in model.parameters():
            p.data.add_(p.grad.data, alpha=-lr)
        total_loss += loss.data
    cur_loss = total_loss.item() / (batch + 1)
    val_loss = evaluate(val_data)
    print('| epoch {:3d} | lr {:02.2f} | loss {:5.4f} | ppl {:8.4f} | valid loss {:5.4f} | '
          'valid ppl {:8.4f}'.format(epoch, lr, cur_loss, math.exp(cur_loss), val_loss,
                                     math.exp(val_loss)))
    if not best_val_loss or val_loss < best_val_loss:
        best_val_loss = val_loss
    else:
        lr /= 4.0

# greedy continuation
model.eval()
hidden = model.init_hidden(1)
input = Variable(torch.LongTensor([[dictionary.word2idx['the']]]))
out_words = ['the']
with torch.no_grad():
    for i in range(8):
        output, hidden = model(input, hidden)
        word_idx = output.squeeze().data.argmax().item()
        input.data.fill_(word_idx)
        out_words.append(dictionary.idx2word[word_idx])
print(' '.join(out_words))
