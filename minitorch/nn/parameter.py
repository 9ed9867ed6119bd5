"""``Parameter`` (a Tensor that a Module registers as learnable) and ``Buffer`` (a Tensor
that a Module registers as state, e.g. BatchNorm's running mean)."""
from __future__ import annotations

from typing import Optional

from ..tensor import Tensor, _make

__all__ = ["Parameter", "Buffer"]


_SLOTS = tuple(n for n in Tensor.__slots__ if n != "__weakref__")


def _share(cls, data: Tensor, requires_grad: bool) -> Tensor:
    """A new ``cls`` instance sharing ``data``'s storage and version counter (no history).
    Its slots are copied from a Tensor built by ``_make``, the one place Tensors are built,
    so that they stay right whatever slots Tensor has."""
    if requires_grad and data._data.dtype.kind not in "fV":
        raise RuntimeError("Only Tensors of floating point and complex dtype can require "
                           "gradients")
    vc = data._vc
    if vc is None:
        vc = data._vc = [0]
    src = _make(data._data, data._device, bool(requires_grad), None, 0, vc)
    t = object.__new__(cls)
    for name in _SLOTS:
        object.__setattr__(t, name, getattr(src, name))
    return t


class Parameter(Tensor):
    """A leaf Tensor that, assigned as a Module attribute, joins ``module.parameters()``.

    ``Parameter(data)`` shares ``data``'s storage (like ``data.detach()``) and requires grad.
    """

    __slots__ = ("__dict__",)  # Parameters may carry user attributes, as in PyTorch

    def __new__(cls, data: Optional[Tensor] = None, requires_grad: bool = True):
        if data is None:
            from ..creation import empty
            data = empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(f"Parameter data must be a Tensor, got {type(data).__name__}")
        return _share(cls, data, requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    __str__ = __repr__

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        out = Parameter(self.detach().clone(), self._requires_grad)
        if self.grad is not None:
            out.grad = self.grad.detach().clone()
        memo[id(self)] = out
        return out


class Buffer(Tensor):
    """Marks a tensor to be registered as a buffer when assigned to a Module attribute:
    ``self.running_mean = nn.Buffer(minitorch.zeros(3))``."""

    __slots__ = ("persistent",)

    def __new__(cls, data: Optional[Tensor] = None, *, persistent: bool = True):
        if data is None:
            from ..creation import empty
            data = empty(0)
        t = _share(cls, data, data._requires_grad)
        t.persistent = persistent
        return t
