"""Shared test fixtures: the devices every op test runs on."""
import numpy as np
import pytest

import minitorch
from minitorch.device import is_available


def available_devices():
    devs = ["cpu"]
    for name in ("cudasim", "cuda"):
        try:
            if is_available(name):
                devs.append(name)
        except Exception:
            pass
    return devs


DEVICES = available_devices()


@pytest.fixture(params=DEVICES)
def device(request):
    return request.param


@pytest.fixture(autouse=True)
def _seed():
    minitorch.manual_seed(0)
    np.random.seed(0)


# -- shared by the autograd tests: one body runs on minitorch and on PyTorch -----------------

def _np(t):
    return np.asarray(t.detach().cpu().numpy(), dtype=np.float64)


def _t(m, data, requires_grad=False):
    return m.tensor(np.asarray(data, dtype=np.float64), dtype=m.float64,
                    requires_grad=requires_grad)


@pytest.fixture(params=["minitorch", "torch"])
def m(request):
    """The module under test and PyTorch itself: the same test must pass on both."""
    if request.param == "torch":
        return pytest.importorskip("torch")
    return minitorch
