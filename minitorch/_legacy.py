"""PyTorch's legacy typed constructors: ``torch.FloatTensor([1, 2])``,
``torch.LongTensor(2, 3)`` (zeros here; PyTorch leaves the memory uninitialized), and
``isinstance(x, torch.FloatTensor)`` (true for a cpu tensor of that dtype)."""
from __future__ import annotations

from . import _dtype as D


class _TypedMeta(type):
    def __instancecheck__(cls, obj):
        from .tensor import Tensor
        return (isinstance(obj, Tensor) and obj.dtype == cls._dtype
                and obj.device.type == "cpu")


def _make(name: str, dtype):
    def __new__(cls, *args, device=None):
        from .creation import tensor, zeros
        from .tensor import Tensor
        if len(args) == 1 and isinstance(args[0], Tensor):
            return args[0].to(dtype)
        if all(isinstance(a, int) and not isinstance(a, bool) for a in args):
            return zeros(*(args or (0,)), dtype=dtype, device=device)
        if len(args) != 1:
            raise TypeError(f"{name}() takes sizes (ints) or one sequence of data, got "
                            f"{len(args)} arguments")
        return tensor(args[0], dtype=dtype, device=device)

    return _TypedMeta(name, (), {"__new__": __new__, "_dtype": dtype,
                                 "__doc__": f"torch.{name}: a cpu tensor of dtype {dtype}."})


FloatTensor = _make("FloatTensor", D.float32)
DoubleTensor = _make("DoubleTensor", D.float64)
LongTensor = _make("LongTensor", D.int64)
IntTensor = _make("IntTensor", D.int32)
BoolTensor = _make("BoolTensor", D.bool)
