"""Moving tensors between devices (``.to('cuda')``, ``.cpu()``), differentiably."""
from __future__ import annotations

from .._tracing import device_copy
from ..autograd.function import Function
from ..tensor import Tensor, _make


class ToDevice(Function):
    """A user-style Function (forward returns a Tensor) because its output lives on another
    device than its input."""

    @staticmethod
    def forward(ctx, a, dev):
        ctx.src = a._device
        with device_copy():  # traced: a copy between devices, not a read into Python
            host = a._device._be.to_numpy(a._data)
        return _make(dev._be.from_numpy(host), dev, False, None, 0, None)

    @staticmethod
    def backward(ctx, g):
        return to_device(g, ctx.src), None


ToDevice._backward_cls.__name__ = "ToCopyBackward0"


def to_device(a: Tensor, dev) -> Tensor:
    return ToDevice.apply(a, dev)
