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


def pytest_collection_modifyitems(config, items):
    """`make test` runs pytest-xdist, whose workers must collect the same test ids: an id
    that prints an object's address (``<function <lambda> at 0x7f...>``) differs between
    processes, so refuse it here with its name rather than let xdist fail obscurely."""
    import re
    bad = [it.nodeid for it in items if re.search(r" at 0x[0-9a-fA-F]+", it.nodeid)]
    if bad:
        raise pytest.UsageError("test ids must not contain object addresses (give the "
                                "parameter an `ids=` or a stable repr): " + ", ".join(bad[:5]))
