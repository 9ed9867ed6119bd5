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
