"""Curve fitting with torch.optim.LBFGS (closure, history_size, strong-Wolfe line search).

A damped oscillation y = a exp(-b x) cos(c x + d) fitted in float64 (set_default_dtype),
then a small MLP fitted to the same data with the plain LBFGS step of the time-sequence
example (lr=0.8, no line search, the model in double precision as there: without a line
search LBFGS amplifies float32 rounding from step to step).  The nanoGPT-style backend flags are set on the way
(documented no-ops on the CPU).
"""
import math

import numpy as np
import torch
import torch.nn as nn

torch.backends.cuda.matmul.allow_tf32 = True
torch.backends.cudnn.allow_tf32 = True
print("mps available:", torch.backends.mps.is_available())

torch.set_default_dtype(torch.float64)
rng = np.random.default_rng(3)
x = torch.linspace(0, 4, 60)
true = dict(a=2.0, b=0.7, c=3.0, d=0.4)
y = true['a'] * torch.exp(-true['b'] * x) * torch.cos(true['c'] * x + true['d'])
y = y + torch.from_numpy(0.02 * rng.standard_normal(60))


class Damped(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Parameter(torch.tensor(1.0))
        self.b = nn.Parameter(torch.tensor(0.5))
        self.c = nn.Parameter(torch.tensor(2.8))
        self.d = nn.Parameter(torch.tensor(0.0))

    def forward(self, x):
        return self.a * torch.exp(-self.b * x) * torch.cos(self.c * x + self.d)


model = Damped()
optimizer = torch.optim.LBFGS(model.parameters(), lr=1, max_iter=20, history_size=10,
                              line_search_fn="strong_wolfe")
calls = [0]


def closure():
    optimizer.zero_grad()
    loss = ((model(x) - y) ** 2).mean()
    loss.backward()
    calls[0] += 1
    return loss


for step in range(4):
    loss = optimizer.step(closure)
    print(f"step {step}: loss {loss.item():.10f}, closure calls so far {calls[0]}")
print("fit:", ", ".join(f"{n}={p.item():.6f}" for n, p in model.named_parameters()))
state = optimizer.state[optimizer._params[0]]
print("n_iter", state['n_iter'], "func_evals", state['func_evals'],
      "history", len(state['old_dirs']))

torch.set_default_dtype(torch.float32)
net = nn.Sequential(nn.Linear(1, 12), nn.Tanh(), nn.Linear(12, 1)).double()
init = np.random.default_rng(0)
with torch.no_grad():
    for p in net.parameters():
        p.copy_(torch.from_numpy(init.uniform(-0.8, 0.8, tuple(p.shape))))
xs, ys = x.unsqueeze(1), y.unsqueeze(1)
print(xs.dtype, net[0].weight.dtype)
criterion = nn.MSELoss()
opt = torch.optim.LBFGS(net.parameters(), lr=0.8)
for i in range(4):
    def closure():
        opt.zero_grad()
        loss = criterion(net(xs), ys)
        loss.backward()
        return loss
    loss = opt.step(closure)
    print('STEP: ', i, 'loss: %.6f' % loss.item())
print("default dtype", torch.get_default_dtype())
