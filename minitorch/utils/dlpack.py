"""DLPack: hand a tensor to NumPy, PyTorch, CuPy or JAX -- and take theirs -- without a copy
(issue 18).  ``minitorch.from_dlpack(x)``, ``Tensor.__dlpack__`` / ``__dlpack_device__``,
and PyTorch's ``minitorch.utils.dlpack.to_dlpack`` / ``from_dlpack`` names.

DLPack is a C struct (``DLManagedTensor``: data pointer, device, dtype code and bits,
shape, strides in elements, and a deleter the consumer calls when done) passed inside a
``PyCapsule``; both sides then view one buffer, strides included, so a write on either side
shows on the other.  A minitorch tensor's memory is its backend's array (a NumPy array on
cpu and cudasim -- host memory, exported as ``kDLCPU`` -- and a CuPy array on cuda), and
those arrays already speak DLPack: this module forwards to them.

The one thing they cannot say is bfloat16: NumPy has no such dtype (ml_dtypes supplies it)
and refuses to export or import DLPack's ``kDLBfloat``.  A bfloat16 tensor is exported as
its uint16 bits with the dtype field of the capsule's struct rewritten to (kDLBfloat, 16,
1); importing does the reverse and views the bits as ml_dtypes.bfloat16.  Both are O(1).
"""
from __future__ import annotations

import ctypes

import numpy as np

__all__ = ["to_dlpack", "from_dlpack"]

kDLCPU, kDLCUDA = 1, 2
_kDLUInt, _kDLBfloat = 1, 4

_api = ctypes.pythonapi
_api.PyCapsule_GetName.restype = ctypes.c_char_p
_api.PyCapsule_GetName.argtypes = [ctypes.py_object]
_api.PyCapsule_GetPointer.restype = ctypes.c_void_p
_api.PyCapsule_GetPointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
_api.PyCapsule_IsValid.restype = ctypes.c_int
_api.PyCapsule_IsValid.argtypes = [ctypes.py_object, ctypes.c_char_p]

# byte offsets inside the structs (dlpack.h): DLTensor {void* data; DLDevice device (2 x
# int32); int32 ndim; DLDataType dtype {uint8 code, uint8 bits, uint16 lanes}; ...}, at the
# start of DLManagedTensor and after version/manager_ctx/deleter/flags in the versioned one
_DEVICE_OFF, _DTYPE_OFF = 8, 20
_TENSOR_OFF = {b"dltensor": 0, b"dltensor_versioned": 32}


def _dltensor(capsule):
    name = _api.PyCapsule_GetName(capsule)
    if name not in _TENSOR_OFF or not _api.PyCapsule_IsValid(capsule, name):
        raise RuntimeError("from_dlpack received an invalid capsule. Note that DLTensor "
                           "capsules can be consumed only once, so you might have already "
                           "constructed a tensor from it once.")
    return _api.PyCapsule_GetPointer(capsule, name) + _TENSOR_OFF[name]


def _set_dtype(capsule, code: int, bits: int) -> None:
    p = _dltensor(capsule) + _DTYPE_OFF
    ctypes.c_uint8.from_address(p).value = code
    ctypes.c_uint8.from_address(p + 1).value = bits


def _dtype_of(capsule):
    p = _dltensor(capsule) + _DTYPE_OFF
    return ctypes.c_uint8.from_address(p).value, ctypes.c_uint8.from_address(p + 1).value


def _device_of(capsule):
    p = _dltensor(capsule) + _DEVICE_OFF
    return ctypes.c_int32.from_address(p).value, ctypes.c_int32.from_address(p + 4).value


def _is_bf16(a) -> bool:
    return a.dtype.itemsize == 2 and a.dtype.kind == "V"


# -- export ---------------------------------------------------------------------------------

def tensor_dlpack(t, stream=None, **kwargs):
    """``Tensor.__dlpack__``: a capsule viewing ``t``'s memory (PyTorch's checks)."""
    if t._requires_grad:
        raise BufferError("Can't export tensors that require gradient, use tensor.detach()")
    a = t._data
    if t._device.type == "cuda":
        if stream is not None:
            kwargs["stream"] = stream
        return a.__dlpack__(**kwargs)
    # cpu and cudasim: host memory; a stream means nothing on the CPU (NumPy refuses one)
    if _is_bf16(a):
        cap = a.view(np.uint16).__dlpack__(**kwargs)
        _set_dtype(cap, _kDLBfloat, 16)
        return cap
    return a.__dlpack__(**kwargs)


def tensor_dlpack_device(t):
    if t._device.type == "cuda":
        return t._data.__dlpack_device__()
    return (kDLCPU, 0)


def to_dlpack(tensor):
    """A DLPack capsule of ``tensor`` (consumed by ``torch.utils.dlpack.from_dlpack`` & co)."""
    return tensor.__dlpack__()


# -- import ---------------------------------------------------------------------------------

class _Capsule:
    """An object that hands NumPy/CuPy's from_dlpack one given capsule."""

    def __init__(self, capsule, device):
        self._cap, self._dev = capsule, device

    def __dlpack__(self, stream=None, **kwargs):
        return self._cap

    def __dlpack_device__(self):
        return self._dev


class _Holder:
    """Keeps the imported array (and so the producer's buffer) alive under a writable view."""
    __slots__ = ("__array_interface__", "_keep")


def _writable(a):
    """NumPy marks arrays from unversioned capsules read-only (they carry no read-only flag);
    PyTorch treats them as writable, and so do we: a view of the same memory, writable."""
    h = _Holder()
    h.__array_interface__ = dict(a.__array_interface__, data=(a.__array_interface__["data"][0],
                                                              False))
    h._keep = a
    return np.asarray(h)


def _capsule_from(ext):
    if type(ext).__name__ == "PyCapsule":
        return ext
    try:
        return ext.__dlpack__(max_version=(1, 0))
    except TypeError:
        return ext.__dlpack__()


def from_dlpack(ext_tensor, *, device=None, copy=None):
    """A minitorch tensor viewing the memory of any DLPack producer (an object with
    ``__dlpack__``, or a capsule), strides kept; ``device``/``copy`` as in PyTorch."""
    from ..tensor import Tensor, _make
    from ..device import canonical
    if isinstance(ext_tensor, Tensor):
        out = ext_tensor
    else:
        if not hasattr(ext_tensor, "__dlpack__") and type(ext_tensor).__name__ != "PyCapsule":
            raise TypeError(f"from_dlpack: expected an object with __dlpack__ (a NumPy, "
                            f"PyTorch, CuPy or JAX array) or a DLPack capsule, got "
                            f"{type(ext_tensor).__name__}")
        cap = _capsule_from(ext_tensor)
        dev_type, dev_id = _device_of(cap)
        code, bits = _dtype_of(cap)
        bf16 = (code, bits) == (_kDLBfloat, 16)
        if bf16:
            _set_dtype(cap, _kDLUInt, 16)
        if dev_type == kDLCPU:
            legacy = _api.PyCapsule_GetName(cap) == b"dltensor"
            a = np.from_dlpack(_Capsule(cap, (dev_type, dev_id)))
            if legacy and not a.flags.writeable:
                a = _writable(a)
            if bf16:
                from .. import _dtype as D
                a = a.view(D.bfloat16.np)
            dev = canonical("cpu")
        elif dev_type == kDLCUDA:
            import cupy
            a = cupy.from_dlpack(_Capsule(cap, (dev_type, dev_id)))
            if bf16:
                raise TypeError("from_dlpack: bfloat16 on cuda is not supported (CuPy has no "
                                "bfloat16 dtype)")
            dev = canonical(f"cuda:{dev_id}")
        else:
            raise RuntimeError(f"from_dlpack: unsupported DLPack device type {dev_type} "
                               f"(minitorch takes kDLCPU = 1 and kDLCUDA = 2)")
        from .. import _dtype as D
        if a.dtype not in D._BY_NP:
            raise TypeError(f"from_dlpack: unsupported dtype {a.dtype} (minitorch has "
                            f"float32, float64, float16, bfloat16, int64, int32 and bool)")
        out = _make(a, dev, False, None, 0, None)
    if device is not None:
        out = out.to(device, copy=bool(copy))
    elif copy:
        out = out.clone()
    return out
