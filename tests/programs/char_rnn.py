"""Classifying names with a character-level RNN, after PyTorch's NLP-from-scratch tutorial.

One-hot letter tensors (lineToTensor), the tutorial's hand-built RNN cell (i2h, h2o on the
concatenated input and hidden, LogSoftmax), NLLLoss, manual SGD on p.data, evaluation by
output.topk(1), a confusion matrix, and the same data through nn.RNN with
pack_padded_sequence for comparison.
"""
import string

import numpy as np
import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_sequence

all_letters = string.ascii_letters + " .,;'"
n_letters = len(all_letters)
category_lines = {
    "English": ["smith", "jones", "taylor", "brown", "wilson", "evans", "thomas", "walker"],
    "Italian": ["rossi", "russo", "ferrari", "esposito", "bianchi", "romano", "colombo",
                "ricci"],
    "Japanese": ["sato", "suzuki", "takahashi", "tanaka", "watanabe", "ito", "yamamoto",
                 "nakamura"],
}
all_categories = list(category_lines)
n_categories = len(all_categories)


def letterToIndex(letter):
    return all_letters.find(letter)


def lineToTensor(line):
    tensor = torch.zeros(len(line), 1, n_letters)
    for li, letter in enumerate(line):
        tensor[li][0][letterToIndex(letter)] = 1
    return tensor


print(lineToTensor('Jones').size())


class RNN(nn.Module):
    def __init__(self, input_size, hidden_size, output_size):
        super(RNN, self).__init__()
        self.hidden_size = hidden_size
        self.i2h = nn.Linear(input_size + hidden_size, hidden_size)
        self.h2o = nn.Linear(input_size + hidden_size, output_size)
        self.softmax = nn.LogSoftmax(dim=1)

    def forward(self, input, hidden):
        combined = torch.cat((input, hidden), 1)
        hidden = torch.tanh(self.i2h(combined))
        output = self.h2o(combined)
        output = self.softmax(output)
        return output, hidden

    def initHidden(self):
        return torch.zeros(1, self.hidden_size)


n_hidden = 32
rnn = RNN(n_letters, n_hidden, n_categories)
rng = np.random.default_rng(8)
with torch.no_grad():
    for p in rnn.parameters():
        p.copy_(torch.tensor(rng.uniform(-0.15, 0.15, p.shape), dtype=torch.float32))


def categoryFromOutput(output):
    top_n, top_i = output.topk(1)
    category_i = top_i[0].item()
    return all_categories[category_i], category_i


criterion = nn.NLLLoss()
learning_rate = 0.05
pairs = [(c, l) for c in all_categories for l in category_lines[c]]


def train(category_tensor, line_tensor):
    hidden = rnn.initHidden()
    rnn.zero_grad()
    for i in range(line_tensor.size()[0]):
        output, hidden = rnn(line_tensor[i], hidden)
    loss = criterion(output, category_tensor)
    loss.backward()
    for p in rnn.parameters():
        p.data.add_(p.grad.data, alpha=-learning_rate)
    return output, loss.item()


current_loss = 0
for it in range(1, 97):
    category, line = pairs[(it * 7) % len(pairs)]
    category_tensor = torch.tensor([all_categories.index(category)], dtype=torch.long)
    output, loss = train(category_tensor, lineToTensor(line))
    current_loss += loss
    if it % 24 == 0:
        guess, guess_i = categoryFromOutput(output)
        correct = '✓' if guess == category else '✗ (%s)' % category
        print('%d %d%% %.4f %s / %s %s' % (it, it / 96 * 100, current_loss / 24, line, guess,
                                            correct))
        current_loss = 0

confusion = torch.zeros(n_categories, n_categories)
with torch.no_grad():
    for category, line in pairs:
        hidden = rnn.initHidden()
        line_tensor = lineToTensor(line)
        for i in range(line_tensor.size()[0]):
            output, hidden = rnn(line_tensor[i], hidden)
        guess, guess_i = categoryFromOutput(output)
        confusion[all_categories.index(category)][guess_i] += 1
print(confusion)
for i in range(n_categories):
    confusion[i] = confusion[i] / confusion[i].sum()
print("accuracy per category", [f"{v:.4f}" for v in confusion.diag().tolist()])

# the same names as one padded, packed batch through nn.RNN
lines = [l for _, l in pairs]
seqs = [lineToTensor(l)[:, 0] for l in lines]
lengths = torch.tensor([len(l) for l in lines])
padded = pad_sequence(seqs, batch_first=True)
packed = pack_padded_sequence(padded, lengths, batch_first=True, enforce_sorted=False)
net = nn.RNN(n_letters, 8, batch_first=True, nonlinearity='tanh')
with torch.no_grad():
    for p in net.parameters():
        p.copy_(torch.tensor(rng.uniform(-0.3, 0.3, p.shape), dtype=torch.float32))
out, h_n = net(packed)
print(padded.shape, h_n.shape, h_n[0, :3, :4])
