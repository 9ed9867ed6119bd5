"""Sine-wave sequence prediction, after pytorch/examples time_sequence_prediction.

The original trains two stacked nn.LSTMCell with LBFGS; here a two-layer nn.GRU (batch
first) plus nn.LSTMCell head run over the sequence, then keep predicting `future` steps
from their own output.  Adam, MSELoss, a held-out test set, printed predictions.
"""
import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim

T, L, N = 20, 60, 24
rng = np.random.default_rng(2)
x = np.empty((N, L), 'int64')
x[:] = np.array(range(L)) + rng.integers(-4 * T, 4 * T, N).reshape(N, 1)
data = np.sin(x / 1.0 / T).astype('float32')


class Sequence(nn.Module):
    def __init__(self, hidden=16):
        super(Sequence, self).__init__()
        self.hidden = hidden
        self.gru = nn.GRU(1, hidden, num_layers=2, batch_first=True)
        self.cell = nn.LSTMCell(hidden, hidden)
        self.linear = nn.Linear(hidden, 1)

    def forward(self, input, future=0):
        outputs = []
        h_t = torch.zeros(input.size(0), self.hidden, dtype=torch.float32)
        c_t = torch.zeros(input.size(0), self.hidden, dtype=torch.float32)
        out, h = self.gru(input.unsqueeze(2))
        for o in out.unbind(1):
            h_t, c_t = self.cell(o, (h_t, c_t))
            outputs += [self.linear(h_t)]
        output = outputs[-1]
        for i in range(future):  # if we should predict the future
            o, h = self.gru(output.unsqueeze(1), h)
            h_t, c_t = self.cell(o[:, 0], (h_t, c_t))
            output = self.linear(h_t)
            outputs += [output]
        outputs = torch.cat(outputs, dim=1)
        return outputs


input = torch.from_numpy(data[3:, :-1])
target = torch.from_numpy(data[3:, 1:])
test_input = torch.from_numpy(data[:3, :-1])
test_target = torch.from_numpy(data[:3, 1:])
seq = Sequence()
init = np.random.default_rng(1)
with torch.no_grad():
    for name, p in seq.named_parameters():
        p.copy_(torch.from_numpy(init.uniform(-0.25, 0.25, tuple(p.shape)).astype('float32')))
criterion = nn.MSELoss()
optimizer = optim.Adam(seq.parameters(), lr=0.02)
for i in range(12):
    optimizer.zero_grad()
    out = seq(input)
    loss = criterion(out, target)
    loss.backward()
    optimizer.step()
    if i % 3 == 0:
        print('STEP: ', i, 'loss: %.6f' % loss.item())
    with torch.no_grad():
        future = 8
        pred = seq(test_input, future=future)
        loss = criterion(pred[:, :-future], test_target)
        if i % 3 == 0:
            print('test loss: %.6f' % loss.item())
        y = pred.detach().numpy()
print('future:', ' '.join('%.4f' % v for v in y[0, -8:]))
print('state keys:', list(seq.state_dict().keys())[:5])
