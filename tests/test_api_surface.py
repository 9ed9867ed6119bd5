"""Small PyTorch API items real programs use: topk/sort/argsort, roll, autograd.Variable,
legacy typed constructors, torch.backends flags.  Compared against PyTorch on every device."""
import numpy as np
import pytest

import minitorch

torch = pytest.importorskip("torch")


def _mt(x, device, rg=False):
    return minitorch.tensor(x, device=device, requires_grad=rg)


@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("descending", [False, True])
def test_sort_argsort_match_torch(device, dim, descending):
    x = np.random.randn(4, 6).astype(np.float32)
    x[1, 2] = np.nan
    x[2, 3] = x[2, 1]  # a tie: both stable
    r = minitorch.sort(_mt(x, device), dim=dim, descending=descending)
    e = torch.sort(torch.tensor(x), dim=dim, descending=descending, stable=True)
    np.testing.assert_array_equal(r.indices.cpu().numpy(), e.indices.numpy())
    np.testing.assert_array_equal(r.values.cpu().numpy(), e.values.numpy())
    assert r.indices.dtype == minitorch.int64
    a = _mt(x, device).argsort(dim=dim, descending=descending)
    np.testing.assert_array_equal(a.cpu().numpy(), e.indices.numpy())


@pytest.mark.parametrize("largest", [True, False])
def test_topk_values_indices_grad(device, largest):
    x = np.random.randn(3, 7)
    t = _mt(x, device, True)
    r = t.topk(3, dim=1, largest=largest)
    tt = torch.tensor(x, requires_grad=True)
    e = torch.topk(tt, 3, dim=1, largest=largest)
    assert type(r).__name__ == "topk" and r._fields == ("values", "indices")
    np.testing.assert_allclose(r.values.detach().cpu().numpy(), e.values.detach().numpy())
    np.testing.assert_array_equal(r.indices.cpu().numpy(), e.indices.numpy())
    w = np.random.randn(3, 3)
    (r.values * _mt(w, device)).sum().backward()
    (e.values * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(t.grad.cpu().numpy(), tt.grad.numpy())


def test_topk_errors(device):
    t = _mt(np.zeros((3, 4), np.float32), device)
    for k in (5, -1):
        with pytest.raises(RuntimeError, match="selected index k out of range"):
            minitorch.topk(t, k)
    with pytest.raises(IndexError, match="Dimension out of range"):
        minitorch.topk(t, 2, dim=3)


@pytest.mark.parametrize("shifts,dims", [(2, None), (-3, None), (1, 0), (-1, 1),
                                         ((1, 2), (0, 1)), ((5, -7), (1, 0))])
def test_roll_values_and_grad(device, shifts, dims):
    x = np.random.randn(3, 4)
    t = _mt(x, device, True)
    tt = torch.tensor(x, requires_grad=True)
    r = minitorch.roll(t, shifts, dims) if dims is not None else t.roll(shifts)
    e = torch.roll(tt, shifts, dims) if dims is not None else tt.roll(shifts)
    np.testing.assert_array_equal(r.detach().cpu().numpy(), e.detach().numpy())
    w = np.random.randn(3, 4)
    (r * _mt(w, device)).sum().backward()
    (e * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(t.grad.cpu().numpy(), tt.grad.numpy())


def test_roll_errors():
    t = minitorch.zeros(3, 4)
    with pytest.raises(RuntimeError, match="shifts and dimensions must align"):
        minitorch.roll(t, (1, 2), (0,))
    with pytest.raises(IndexError, match="Dimension out of range"):
        minitorch.roll(t, 1, 5)


def test_variable():
    x = minitorch.ones(2)
    v = minitorch.autograd.Variable(x, requires_grad=True)
    assert isinstance(v, minitorch.Tensor) and v.requires_grad and v.is_leaf
    assert not minitorch.autograd.Variable(x).requires_grad
    assert isinstance(x, minitorch.autograd.Variable)
    (v * 2).sum().backward()
    np.testing.assert_array_equal(v.grad.numpy(), [2.0, 2.0])


@pytest.mark.parametrize("name", ["FloatTensor", "DoubleTensor", "LongTensor", "IntTensor",
                                  "BoolTensor"])
def test_typed_constructors(name):
    M, T = getattr(minitorch, name), getattr(torch, name)
    data = [[1, 0, 2], [3, 4, 0]]
    a, e = M(data), T(data)
    assert str(a.dtype).split(".")[-1] == str(e.dtype).split(".")[-1]
    np.testing.assert_array_equal(a.numpy(), e.numpy())
    assert tuple(M(2, 3).shape) == tuple(T(2, 3).shape)
    assert tuple(M().shape) == tuple(T().shape)
    assert isinstance(a, M)
    other = minitorch.LongTensor if name != "LongTensor" else minitorch.FloatTensor
    assert not isinstance(a, other)


def test_backends_flags():
    b = minitorch.backends
    assert b.mps.is_available() is False and b.mps.is_built() is False
    assert b.cudnn.is_available() is False
    pairs = ((b.cudnn, torch.backends.cudnn, "benchmark"),
             (b.cudnn, torch.backends.cudnn, "deterministic"),
             (b.cudnn, torch.backends.cudnn, "enabled"),
             (b.cudnn, torch.backends.cudnn, "allow_tf32"),
             (b.cuda.matmul, torch.backends.cuda.matmul, "allow_tf32"))
    for ours, theirs, attr in pairs:
        assert getattr(ours, attr) == getattr(theirs, attr), attr
        old = getattr(ours, attr)
        setattr(ours, attr, not old)
        assert getattr(ours, attr) is (not old)
        setattr(ours, attr, old)
