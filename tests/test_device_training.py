"""End to end on every device: a model moved with ``.to(device)``, trained with each
optimizer on DataLoader batches, gives the cpu run's losses — so Module.to, the fused
optimizer-update and cross-entropy kernels, conv/pool and the graph all work off the cpu."""
import numpy as np
import pytest

import minitorch
from minitorch import nn, optim
from minitorch.utils.data import DataLoader, TensorDataset

from conftest import DEVICES

OTHER = [d for d in DEVICES if d != "cpu"]
pytestmark = pytest.mark.skipif(not OTHER, reason="no device other than cpu is available")


def _mlp():
    minitorch.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 3)).double()


def _cnn():
    minitorch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(4 * 3 * 3, 3)).double()


def _data(image: bool):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((24, 1, 6, 6) if image else (24, 6))
    y = rng.integers(0, 3, 24)
    return minitorch.tensor(x), minitorch.tensor(y)


def _train(make, image, device, opt_name):
    model = make().to(device)
    assert all(p.device.type == device for p in model.parameters())
    x, y = _data(image)
    loader = DataLoader(TensorDataset(x, y), batch_size=8, shuffle=False)
    opt = {"sgd": lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
           "adam": lambda p: optim.Adam(p, lr=0.01, amsgrad=True),
           "adamw": lambda p: optim.AdamW(p, lr=0.01)}[opt_name](model.parameters())
    losses = []
    for _ in range(3):
        for xb, yb in loader:
            xb, yb = xb.to(device), yb.to(device)
            loss = nn.functional.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
    return losses, [p.detach().cpu().numpy() for p in model.parameters()]


@pytest.mark.parametrize("device", OTHER)
@pytest.mark.parametrize("opt_name", ["sgd", "adam", "adamw"])
@pytest.mark.parametrize("image", [False, True], ids=["mlp", "cnn"])
def test_training_matches_cpu(device, opt_name, image):
    make = _cnn if image else _mlp
    ref_losses, ref_params = _train(make, image, "cpu", opt_name)
    losses, params = _train(make, image, device, opt_name)
    assert losses[-1] < losses[0]
    np.testing.assert_allclose(losses, ref_losses, rtol=1e-9, atol=1e-12)
    for a, b in zip(params, ref_params):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("device", OTHER)
def test_cuda_style_api(device):
    x = minitorch.arange(6.0).reshape(2, 3)
    d = x.to(device)
    assert d.device == minitorch.device(f"{device}:0") and d.is_cuda == (device == "cuda")
    assert d.cpu().tolist() == x.tolist()
    for factory in (lambda: minitorch.zeros(2, device=device),
                    lambda: minitorch.randn(2, device=device),
                    lambda: minitorch.arange(3, device=device),
                    lambda: minitorch.tensor([1, 2], device=device),
                    lambda: minitorch.full((2,), 3.0, device=device),
                    lambda: minitorch.eye(2, device=device)):
        assert factory().device.type == device
    with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device"):
        d + x
