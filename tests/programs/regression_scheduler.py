"""Polynomial regression, after pytorch/examples regression/main.py, with an optimizer and
learning-rate schedulers instead of the hand-written update.

Fits y = w . (x, x^2, x^3, x^4) + b with a single nn.Linear and F.smooth_l1_loss; the
batches come from NumPy; SGD(momentum) under a LinearLR warmup chained with
CosineAnnealingLR (SequentialLR), then a second phase with Adam under StepLR and
ReduceLROnPlateau.
"""
import numpy as np
import torch
import torch.nn.functional as F

POLY_DEGREE = 4
rng = np.random.default_rng(42)
W_target = torch.tensor(rng.standard_normal((POLY_DEGREE, 1)), dtype=torch.float32) * 5
b_target = torch.tensor(rng.standard_normal(1), dtype=torch.float32) * 5


def make_features(x):
    """Builds features i.e. a matrix with columns [x, x^2, x^3, x^4]."""
    x = x.unsqueeze(1)
    return torch.cat([x ** i for i in range(1, POLY_DEGREE + 1)], 1)


def f(x):
    """Approximated function."""
    return x.mm(W_target) + b_target.item()


def poly_desc(W, b):
    """Creates a string description of a polynomial."""
    result = 'y = '
    for i, w in enumerate(W):
        result += '{:+.4f} x^{} '.format(w, i + 1)
    result += '{:+.4f}'.format(b[0])
    return result


def get_batch(batch_size=32):
    """Builds a batch i.e. (x, f(x)) pair."""
    random = torch.from_numpy(rng.uniform(-1, 1, batch_size).astype(np.float32))
    x = make_features(random)
    y = f(x)
    return x, y


fc = torch.nn.Linear(W_target.size(0), 1)
with torch.no_grad():
    fc.weight.copy_(torch.tensor([[0.1, -0.2, 0.3, -0.4]]))
    fc.bias.fill_(0.5)

optimizer = torch.optim.SGD(fc.parameters(), lr=0.1, momentum=0.9, nesterov=True)
warmup = torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=0.1, total_iters=10)
cosine = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=90, eta_min=1e-3)
scheduler = torch.optim.lr_scheduler.SequentialLR(optimizer, [warmup, cosine], milestones=[10])

for batch_idx in range(1, 101):
    batch_x, batch_y = get_batch()
    optimizer.zero_grad()
    output = F.smooth_l1_loss(fc(batch_x), batch_y)
    loss = output.item()
    output.backward()
    optimizer.step()
    scheduler.step()
    if batch_idx % 20 == 0:
        print('batch {:3d} loss {:.6f} lr {:.6f}'.format(batch_idx, loss,
                                                         scheduler.get_last_lr()[0]))

print('Loss: {:.6f} after {} batches'.format(loss, batch_idx))
print('==> Learned function:\t' + poly_desc(fc.weight.view(-1), fc.bias))
print('==> Actual function:\t' + poly_desc(W_target.view(-1), b_target))

optimizer = torch.optim.Adam(fc.parameters(), lr=0.05, weight_decay=1e-4, amsgrad=True)
step = torch.optim.lr_scheduler.StepLR(optimizer, step_size=15, gamma=0.5)
plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode='min', factor=0.5,
                                                     patience=2)
for epoch in range(1, 41):
    batch_x, batch_y = get_batch(64)
    optimizer.zero_grad()
    loss = F.mse_loss(fc(batch_x), batch_y)
    loss.backward()
    optimizer.step()
    step.step()
    plateau.step(loss.item())
    if epoch % 10 == 0:
        print(f"epoch {epoch} mse {loss.item():.6f} lr {optimizer.param_groups[0]['lr']:.6f}")
print('==> Learned function:\t' + poly_desc(fc.weight.view(-1), fc.bias))
print(optimizer.state_dict()['param_groups'][0]['lr'], len(optimizer.state_dict()['state']))
