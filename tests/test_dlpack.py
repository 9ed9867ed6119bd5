"""DLPack (issue 18): zero-copy exchange with NumPy and PyTorch in both directions, strides
kept, a write on one side visible on the other, every dtype incl. float16 and bfloat16."""
from __future__ import annotations

import numpy as np
import pytest

import minitorch

torch = pytest.importorskip("torch")
ml_dtypes = pytest.importorskip("ml_dtypes")

DTYPES = ["float32", "float64", "float16", "bfloat16", "int64", "int32", "bool"]


def _np_dtype(name):
    return ml_dtypes.bfloat16 if name == "bfloat16" else np.dtype(name)


def _base(name):
    return minitorch.arange(24).reshape(4, 6).to(getattr(minitorch, name))


def _one(name):
    return True if name == "bool" else 7


@pytest.mark.parametrize("name", DTYPES)
def test_minitorch_to_torch_shares_memory(name):
    t = _base(name)[:, 1::2].t()  # a strided, transposed view
    tt = torch.from_dlpack(t)
    assert str(tt.dtype)[6:] == name and tuple(tt.shape) == tuple(t.shape)
    assert tt.stride() == t.stride()
    np.testing.assert_array_equal(tt.to(torch.float64).numpy(), t.double().numpy())
    tt[1, 2] = _one(name)          # torch writes, minitorch sees it
    assert t[1, 2].item() == _one(name)
    t[0, 1] = 0                     # minitorch writes, torch sees it
    assert tt[0, 1].item() == 0
    # the capsule names: PyTorch's utils
    back = torch.utils.dlpack.from_dlpack(minitorch.utils.dlpack.to_dlpack(t))
    assert back.data_ptr() == tt.data_ptr()


@pytest.mark.parametrize("name", DTYPES)
def test_torch_to_minitorch_shares_memory(name):
    x = torch.arange(24).reshape(4, 6).to(getattr(torch, name))[1:, ::2]
    m = minitorch.from_dlpack(x)
    assert m.dtype.name == name and m.stride() == x.stride() and m.shape == tuple(x.shape)
    np.testing.assert_array_equal(m.double().numpy(), x.to(torch.float64).numpy())
    m[0, 0] = _one(name)
    assert x[0, 0].item() == _one(name)
    x[2, 1] = 0
    assert m[2, 1].item() == 0
    m2 = minitorch.utils.dlpack.from_dlpack(torch.utils.dlpack.to_dlpack(x))
    m2[1, 1] = _one(name)
    assert x[1, 1].item() == _one(name)


@pytest.mark.parametrize("name", [n for n in DTYPES if n != "bfloat16"])
def test_numpy_both_directions(name):
    a = np.arange(20).reshape(4, 5).astype(name)[::2, 1:]
    m = minitorch.from_dlpack(a)
    assert m.dtype.name == name and m.stride() == tuple(s // a.itemsize for s in a.strides)
    m[1, 1] = _one(name)
    assert a[1, 1] == _one(name)
    t = _base(name)[1:3]
    b = np.from_dlpack(t)
    assert b.dtype == _np_dtype(name) and b.strides == tuple(s * b.itemsize for s in t.stride())
    b[0, 0] = _one(name)
    assert t[0, 0].item() == _one(name)


def test_bfloat16_with_numpy_through_ml_dtypes():
    a = np.arange(6, dtype=np.float32).astype(ml_dtypes.bfloat16)
    m = minitorch.tensor(a)
    with pytest.raises((BufferError, RuntimeError, TypeError)):
        np.from_dlpack(m)
    t = torch.from_dlpack(m)
    assert t.dtype == torch.bfloat16 and t.tolist() == [0, 1, 2, 3, 4, 5]


def test_cudasim_tensors_export_their_host_memory():
    t = minitorch.ones(3, device="cudasim")
    assert t.__dlpack_device__() == (1, 0)
    tt = torch.from_dlpack(t)
    tt[0] = 5
    assert t[0].item() == 5


def test_errors_and_copies():
    t = minitorch.ones(2, requires_grad=True)
    with pytest.raises(BufferError, match="Can't export tensors that require gradient"):
        t.__dlpack__()
    with pytest.raises(BufferError):
        torch.from_dlpack(t)
    cap = minitorch.utils.dlpack.to_dlpack(t.detach())
    minitorch.from_dlpack(cap)
    with pytest.raises(RuntimeError, match="DLTensor capsules can be consumed only once"):
        minitorch.from_dlpack(cap)
    with pytest.raises(TypeError, match="expected an object with __dlpack__"):
        minitorch.from_dlpack([1, 2])
    x = torch.zeros(3)
    c = minitorch.from_dlpack(x, copy=True)
    c[0] = 1
    assert x[0].item() == 0
    d = minitorch.from_dlpack(x, device="cudasim")
    assert d.device.type == "cudasim"
    assert minitorch.ones(2).__dlpack_device__() == torch.ones(2).__dlpack_device__()
