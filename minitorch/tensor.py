"""``Tensor``: an n-dimensional array on a device, with a place in the autograd graph.

A Tensor holds the device's raw array (``_data``: a NumPy array on cpu), its canonical
``device`` (which carries the backend), and its autograd state: ``requires_grad``,
``grad_fn`` (the node that made it), ``grad``.  Every op goes through ``Function.apply``
(autograd/function.py); most methods are attached from ``minitorch/ops`` at the bottom of
this file.  The binary operators have a fast path for the common case (same dtype, same
device, no gradient to record) because they are the hot path of every model.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from . import _dtype as D
from .device import CPU, canonical

__all__ = ["Tensor"]

_new = object.__new__


def _make(data, device, requires_grad, grad_fn, output_nr, vc) -> "Tensor":
    """Wrap a raw backend array (the one place Tensors are built internally)."""
    t = _new(Tensor)
    t._data = data
    t._device = device
    t._requires_grad = requires_grad
    t.grad_fn = grad_fn
    t._output_nr = output_nr
    t._vc = vc
    t._grad = None
    t._x = None
    return t


def _shape_str(shape) -> str:
    return "[" + ", ".join(str(s) for s in shape) + "]"


class Tensor:
    """A multi-dimensional array with autograd.  Create with ``minitorch.tensor`` & co."""

    __slots__ = ("_data", "_device", "_requires_grad", "grad_fn", "_output_nr", "_vc", "_grad",
                 "_x", "__weakref__")
    # _vc: version counter, a one-element list shared with views (None until needed)
    # _x: rarely used extras (None or a dict): AccumulateGrad node, view base and replay
    #     chain, hooks, retains_grad, name

    __array_priority__ = 1000  # numpy_array + tensor -> Tensor.__radd__

    def __new__(cls, *args, **kwargs):
        if cls is Tensor and args and not kwargs:
            from .creation import tensor as _tensor
            if len(args) == 1 and not isinstance(args[0], int):
                return _tensor(args[0], dtype=D.float32)
            return _tensor(np.empty(args, np.float32))
        return super().__new__(cls)

    # -- basic properties -----------------------------------------------------------------
    @property
    def shape(self) -> "Size":
        return Size(self._data.shape)

    def size(self, dim: Optional[int] = None):
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[_wrap_dim(dim, self._data.ndim)]

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def dim(self) -> int:
        return self._data.ndim

    def numel(self) -> int:
        return int(self._data.size)

    nelement = numel

    @property
    def dtype(self) -> D.dtype:
        return D._BY_NP[self._data.dtype]

    @property
    def device(self):
        return self._device

    @property
    def is_cuda(self) -> bool:
        return self._device.type == "cuda"

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        if self.grad_fn is not None:
            if value:
                return  # a non-leaf already requires grad: nothing to change
            raise RuntimeError("you can only change requires_grad flags of leaf variables. If you "
                               "want to use a computed variable in a subgraph that doesn't require "
                               "differentiation use var_no_grad = var.detach().")
        if value and self._data.dtype.kind not in "fV":
            raise RuntimeError("only Tensors of floating point dtype can require gradients")
        self._requires_grad = bool(value)

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        self.requires_grad = requires_grad
        return self

    @property
    def grad(self) -> Optional["Tensor"]:
        """The gradient accumulated by backward() for a leaf (or a retain_grad() tensor)."""
        return self._grad

    @grad.setter
    def grad(self, value: Optional["Tensor"]) -> None:
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad expected to be a Tensor or None but got grad of "
                                f"type {type(value).__name__}")
            if value._data.shape != self._data.shape:
                raise RuntimeError(f"attempting to assign a gradient of size "
                                   f"'{_shape_str(value._data.shape)}' to a tensor of size "
                                   f"'{_shape_str(self._data.shape)}'. Please ensure that the "
                                   f"gradient and the tensor are the same size")
            if value._data.dtype != self._data.dtype:
                raise RuntimeError(f"attempting to assign a gradient with dtype "
                                   f"'{value.dtype.c_name}' to a tensor with dtype '{self.dtype.c_name}'. "
                                   f"Please ensure that the gradient and the tensor have the same "
                                   f"dtype")
            if value._device is not self._device:
                raise RuntimeError(f"attempting to assign a gradient with device type "
                                   f"'{value._device.type}' to a tensor with device type "
                                   f"'{self._device.type}'. Please ensure that the gradient and "
                                   f"the tensor are on the same device")
        self._grad = value

    @property
    def _version(self) -> int:
        return 0 if self._vc is None else self._vc[0]

    def _extra(self) -> dict:
        x = self._x
        if x is None:
            x = self._x = {}
        return x

    @property
    def _acc(self):
        return None if self._x is None else self._x.get("acc")

    @_acc.setter
    def _acc(self, node):
        self._extra()["acc"] = node

    @property
    def _base(self):
        return None if self._x is None else self._x.get("base")

    @property
    def is_view(self) -> bool:
        return self._base is not None

    @property
    def retains_grad(self) -> bool:
        return bool(self._x and self._x.get("retains_grad"))

    @property
    def name(self):
        return None if self._x is None else self._x.get("name")

    @name.setter
    def name(self, value):
        self._extra()["name"] = value

    def type_name(self) -> str:
        """PyTorch's legacy type string, e.g. 'torch.FloatTensor' (what error messages show)."""
        return f"torch.{self.dtype.pt_name}Tensor"

    def is_floating_point(self) -> bool:
        return self._data.dtype.kind in "fV"

    def element_size(self) -> int:
        return self._data.dtype.itemsize

    def is_contiguous(self, memory_format=None) -> bool:
        return bool(self._data.flags.c_contiguous) if hasattr(self._data, "flags") else True

    def stride(self, dim: Optional[int] = None):
        x = self._data
        st = tuple(s // x.dtype.itemsize for s in x.strides)
        if not x.size and not any(st):
            # NumPy gives a new empty array stride 0 everywhere; PyTorch's contiguous strides
            # count each size-0 dim as 1
            acc, out = 1, []
            for s in reversed(x.shape):
                out.append(acc)
                acc *= max(s, 1)
            st = tuple(reversed(out))
        return st if dim is None else st[_wrap_dim(dim, self._data.ndim)]

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    def __hash__(self) -> int:
        return id(self)

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
        return bool(self.item())

    def __index__(self) -> int:
        if self._data.size != 1 or self._data.dtype.kind not in "iub":
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __float__(self) -> float:
        return float(self.item())

    # -- conversion -------------------------------------------------------------------------
    def item(self):
        if self._data.size != 1:
            raise RuntimeError(f"a Tensor with {self._data.size} elements cannot be converted to "
                               f"Scalar")
        return self._device._be.to_numpy(self._data).item()

    def tolist(self):
        return self.numpy_view().tolist()

    def numpy_view(self) -> np.ndarray:
        return np.asarray(self._device._be.to_numpy(self._data))

    def numpy(self, *, force: bool = False) -> np.ndarray:
        if self._requires_grad and not force:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use "
                               "tensor.detach().numpy() instead.")
        if self._device.type != "cpu" and not force:
            raise TypeError(f"can't convert {self._device} device type tensor to numpy. Use "
                            "Tensor.cpu() to copy the tensor to host memory first.")
        return self.numpy_view()

    def __array__(self, dtype=None, copy=None):
        a = self.numpy_view()
        return a.astype(dtype) if dtype is not None else a

    @property
    def data(self) -> "Tensor":
        """A tensor sharing storage, not tracked by autograd (nor by version checks)."""
        return _make(self._data, self._device, False, None, 0, None)

    @data.setter
    def data(self, value: "Tensor") -> None:
        if not isinstance(value, Tensor):
            raise TypeError(f"data must be a Tensor, got {type(value).__name__}")
        self._data = value._data
        self._device = value._device

    def detach(self) -> "Tensor":
        """A new tensor sharing storage (and version counter) with no autograd history."""
        vc = self._vc
        if vc is None:
            vc = self._vc = [0]
        return _make(self._data, self._device, False, None, 0, vc)

    def detach_(self) -> "Tensor":
        if self._base is not None and self._base._requires_grad:
            raise RuntimeError("Can't detach views in-place. Use detach() instead.")
        self.grad_fn = None
        self._requires_grad = False
        return self

    # -- autograd API ---------------------------------------------------------------------
    def backward(self, gradient: Optional["Tensor"] = None, retain_graph: Optional[bool] = None,
                 create_graph: bool = False, inputs=None) -> None:
        from .autograd.engine import backward
        backward((self,), None if gradient is None else (gradient,), retain_graph, create_graph,
                 inputs=inputs)

    def retain_grad(self) -> None:
        if not self._requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self.grad_fn is None or self.retains_grad:
            return
        self._extra()["retains_grad"] = True
        import weakref
        ref = weakref.ref(self)

        def _retain(grad):
            t = ref()
            if t is not None:
                g = grad.detach() if grad.grad_fn is not None and not _create_graph_now() else grad
                t.grad = g if t.grad is None else t.grad + g
        _retain._retain_grad = True
        self._x["retain_hook"] = (_retain, self.grad_fn._add_pre_hook(self._output_nr, _retain))

    def _move_retain_hook(self) -> None:
        """After an in-place op gave this tensor a new grad_fn, retain the new value's grad."""
        fn, handle = self._x["retain_hook"]
        handle.remove()
        self._x["retain_hook"] = (fn, self.grad_fn._add_pre_hook(self._output_nr, fn))

    def register_hook(self, hook):
        """hook(grad) -> Tensor or None, called when this tensor's gradient is computed."""
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is not None:
            return self.grad_fn._add_pre_hook(self._output_nr, hook)
        from .autograd.function import _accumulate_node
        return _accumulate_node(self)._add_pre_hook(0, hook)

    def register_post_accumulate_grad_hook(self, hook):
        """hook(tensor) -> None, called on a leaf after its ``.grad`` has been accumulated
        in backward (PyTorch's semantics; DistributedDataParallel's bucket hooks use it)."""
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf "
                               "tensors")
        from .autograd.function import _RemovableHandle, _accumulate_node
        node = _accumulate_node(self)
        if node._post_acc_hooks is None:
            node._post_acc_hooks = []
        node._post_acc_hooks.append(hook)
        return _RemovableHandle(node._post_acc_hooks, hook)

    # -- device / dtype ---------------------------------------------------------------------
    def to(self, *args, **kwargs) -> "Tensor":
        """``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(other)``; copy=False."""
        dev, dt = None, None
        copy = kwargs.pop("copy", False)
        kwargs.pop("non_blocking", None)
        from .device import device as _device_cls
        for a in list(args) + list(kwargs.values()):
            if a is None:
                continue
            if isinstance(a, Tensor):
                dev, dt = a._device, a.dtype
            elif isinstance(a, D.dtype):
                dt = a
            elif isinstance(a, (str, _device_cls)) or (isinstance(a, int)
                                                        and not isinstance(a, bool)):
                dev = a
            else:
                dt = D.to_dtype(a)  # a NumPy dtype or a Python type
        from .ops import elementwise as _ew, transfer as _tr
        out = self
        if dev is not None:
            dev = canonical(dev)
            if dev is not self._device:
                out = _tr.to_device(out, dev)
        if dt is not None and D._BY_NP[out._data.dtype] is not dt:
            out = _ew.cast(out, dt)
        if copy and out is self:
            out = self.clone()
        return out

    def cuda(self, device=None) -> "Tensor":
        return self.to("cuda" if device is None else (device if not isinstance(device, int)
                                                      else f"cuda:{device}"))

    def cpu(self) -> "Tensor":
        return self.to(CPU)

    def type(self, dtype=None):
        if dtype is None:
            return self.type_name()
        return self.to(D.to_dtype(dtype))

    def float(self) -> "Tensor":
        return self.to(D.float32)

    def double(self) -> "Tensor":
        return self.to(D.float64)

    def half(self) -> "Tensor":
        return self.to(D.float16)

    def __dlpack__(self, *, stream=None, **kwargs):
        """A DLPack capsule viewing this tensor's memory (minitorch/utils/dlpack.py)."""
        from .utils.dlpack import tensor_dlpack
        return tensor_dlpack(self, stream, **kwargs)

    def __dlpack_device__(self):
        from .utils.dlpack import tensor_dlpack_device
        return tensor_dlpack_device(self)

    def bfloat16(self) -> "Tensor":
        return self.to(D.bfloat16)

    def long(self) -> "Tensor":
        return self.to(D.int64)

    def int(self) -> "Tensor":
        return self.to(D.int32)

    def bool(self) -> "Tensor":
        return self.to(D.bool)

    def __repr__(self) -> str:
        from ._repr import tensor_repr
        return tensor_repr(self)

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        if self._data.ndim == 0 and spec:
            return format(self.item(), spec)
        return repr(self)

    def __reduce_ex__(self, proto):
        raise TypeError("minitorch tensors are not pickled; use minitorch.save / minitorch.load "
                        "(safetensors) to store them")

    def __deepcopy__(self, memo):
        out = self.detach().clone()
        out._requires_grad = self._requires_grad
        if self.grad is not None:
            out.grad = self.grad.detach().clone()
        memo[id(self)] = out
        return out


def _create_graph_now() -> bool:
    from .autograd.engine import _create_graph_active
    return _create_graph_active()


class Size(tuple):
    """``tensor.shape``: a tuple that prints like ``torch.Size``."""

    def __repr__(self) -> str:
        return f"minitorch.Size({list(self)})"

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n


def _wrap_dim(dim: int, ndim: int) -> int:
    """Normalize a possibly negative dim, with PyTorch's error when out of range."""
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], "
                         f"but got {dim})")
    return dim + n if dim < 0 else dim


# methods implemented in minitorch/ops are attached here (import at the end: the ops
# modules import Tensor from this one)
from .ops import install as _install  # noqa: E402

_install(Tensor)
