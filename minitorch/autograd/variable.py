"""``torch.autograd.Variable``: deprecated in PyTorch (a Variable is a Tensor since 0.4) but
still found in real code; it returns the tensor, with ``requires_grad`` set as asked."""
from __future__ import annotations


class _VariableMeta(type):
    def __instancecheck__(cls, obj):
        from ..tensor import Tensor
        return isinstance(obj, Tensor)


class Variable(metaclass=_VariableMeta):
    """``Variable(t, requires_grad=False)`` returns ``t`` itself (detached if it had a
    history and ``requires_grad`` is asked, like PyTorch's leaf Variable)."""

    def __new__(cls, data, requires_grad: bool = False, volatile: bool = False):
        from ..tensor import Tensor
        if not isinstance(data, Tensor):
            raise TypeError(f"Variable data has to be a tensor, but got {type(data).__name__}")
        t = data.detach()
        if requires_grad:
            t.requires_grad_(True)
        return t
