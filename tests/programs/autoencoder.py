"""An MLP autoencoder with a bottleneck, trained on synthetic low-rank data.

nn.Sequential encoder/decoder with BatchNorm1d, LeakyReLU, Tanh and Sigmoid, Adam with
weight decay, MSELoss(reduction='sum') / batch, DataLoader over a TensorDataset with
drop_last, train/eval modes (BatchNorm running statistics), reconstruction error on a
held-out set, and the encoded codes of a few samples.
"""
import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

rng = np.random.default_rng(9)
basis = rng.standard_normal((3, 12))
codes = rng.uniform(-1, 1, (160, 3))
X = 1 / (1 + np.exp(-(codes @ basis)))  # in (0, 1)
X = torch.tensor(X, dtype=torch.float32)
train_set, test_set = X[:128], X[128:]
loader = DataLoader(TensorDataset(train_set), batch_size=20, shuffle=False, drop_last=True)
print("batches per epoch:", len(loader))


class AutoEncoder(nn.Module):
    def __init__(self, n_in=12, n_code=3):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(n_in, 8, bias=False), nn.BatchNorm1d(8), nn.LeakyReLU(0.1),
                                     nn.Linear(8, n_code), nn.Tanh())
        self.decoder = nn.Sequential(nn.Linear(n_code, 8), nn.LeakyReLU(0.1),
                                     nn.Linear(8, n_in), nn.Sigmoid())

    def forward(self, x):
        return self.decoder(self.encoder(x))


model = AutoEncoder()
init = np.random.default_rng(4)
with torch.no_grad():
    for name, p in model.named_parameters():
        if name == "encoder.1.weight":
            p.fill_(1.0)
        elif name == "encoder.1.bias":
            p.zero_()
        else:
            p.copy_(torch.tensor(init.uniform(-0.5, 0.5, p.shape), dtype=torch.float32))
n_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
print("trainable parameters:", n_params)

criterion = nn.MSELoss(reduction='sum')
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2, weight_decay=1e-5)
for epoch in range(8):
    model.train()
    running = 0.0
    for (batch,) in loader:
        optimizer.zero_grad()
        recon = model(batch)
        loss = criterion(recon, batch) / batch.size(0)
        loss.backward()
        optimizer.step()
        running += loss.item()
    model.eval()
    with torch.no_grad():
        test_err = ((model(test_set) - test_set) ** 2).sum(dim=1).mean()
    if epoch % 2 == 1:
        print(f"epoch {epoch + 1}: train {running / len(loader):.6f} test {test_err.item():.6f}")

bn = model.encoder[1]
print("running_mean", bn.running_mean)
print("running_var", bn.running_var)
print("num_batches_tracked", bn.num_batches_tracked.item())
with torch.no_grad():
    z = model.encoder(test_set[:3])
print("codes", z)
print("max abs recon error", (model(test_set) - test_set).abs().max().item() < 0.5)
