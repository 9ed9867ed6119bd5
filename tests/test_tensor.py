"""Tensor creation, attributes, conversion, repr, devices, random generators."""
import math

import numpy as np
import pytest

import minitorch

try:
    import torch
except ImportError:
    torch = None


def test_tensor_dtype_inference():
    assert minitorch.tensor([1, 2]).dtype == minitorch.int64
    assert minitorch.tensor([1.0, 2]).dtype == minitorch.float32
    assert minitorch.tensor([True, False]).dtype == minitorch.bool
    assert minitorch.tensor(3.5).dtype == minitorch.float32
    assert minitorch.tensor(3).shape == ()
    assert minitorch.tensor(np.zeros(2, np.float64)).dtype == minitorch.float64
    assert minitorch.tensor(np.zeros(2, np.int32)).dtype == minitorch.int32
    assert minitorch.tensor([1, 2], dtype=minitorch.float64).dtype == minitorch.float64
    assert minitorch.tensor([[1, 2], [3, 4]]).shape == (2, 2)
    assert minitorch.tensor([minitorch.tensor(1.0), minitorch.tensor(2.0)]).tolist() == [1.0, 2.0]
    assert minitorch.tensor([]).shape == (0,)


def test_tensor_copies_and_as_tensor_shares():
    a = np.arange(3.0)
    t = minitorch.tensor(a)
    a[0] = 10
    assert t[0].item() == 0.0
    s = minitorch.as_tensor(a)
    f = minitorch.from_numpy(a)
    a[1] = 20
    assert s[1].item() == 20 and f[1].item() == 20
    assert minitorch.as_tensor(s) is s


def test_ragged_and_bad_data():
    with pytest.raises(ValueError, match=r"expected sequence of length 2 at dim 1 \(got 3\)"):
        minitorch.tensor([[1, 2], [1, 2, 3]])
    with pytest.raises(TypeError, match="can.t convert np.ndarray of type numpy.float128"):
        minitorch.from_numpy(np.zeros(2, np.longdouble))  # (float16 is a dtype: issue 18)
    with pytest.raises(TypeError):
        minitorch.tensor(["a", "b"])


def test_factories():
    assert minitorch.zeros(2, 3).tolist() == [[0.0] * 3] * 2
    assert minitorch.ones((2,)).tolist() == [1.0, 1.0]
    assert minitorch.full((2,), 7).dtype == minitorch.int64
    assert minitorch.full((2,), 7.0).dtype == minitorch.float32
    assert minitorch.full((1,), True).dtype == minitorch.bool
    assert minitorch.empty(2, 2).shape == (2, 2)
    x = minitorch.ones(2, 3, dtype=minitorch.float64)
    assert minitorch.zeros_like(x).dtype == minitorch.float64
    assert minitorch.ones_like(x, dtype=minitorch.int64).tolist() == [[1] * 3] * 2
    assert minitorch.full_like(x, 2.5).tolist() == [[2.5] * 3] * 2
    assert minitorch.arange(5).tolist() == [0, 1, 2, 3, 4]
    assert minitorch.arange(5).dtype == minitorch.int64
    assert minitorch.arange(1, 2, 0.25).tolist() == [1.0, 1.25, 1.5, 1.75]
    assert minitorch.arange(0, 1, 0.1).shape == (10,)
    assert minitorch.arange(5, 0, -2).tolist() == [5, 3, 1]
    np.testing.assert_allclose(minitorch.linspace(0, 1, 5).numpy(), np.linspace(0, 1, 5))
    assert minitorch.eye(2, 3).tolist() == [[1, 0, 0], [0, 1, 0]]
    assert x.new_zeros(4).dtype == minitorch.float64
    with pytest.raises(RuntimeError, match="Trying to create tensor with negative dimension -1"):
        minitorch.zeros(-1, 2)
    with pytest.raises(RuntimeError, match="step must be nonzero"):
        minitorch.arange(0, 3, 0)


def test_factories_match_torch():
    if torch is None:
        pytest.skip("torch not importable")
    for f in (lambda m: m.arange(0, 1, 0.1), lambda m: m.arange(-3, 7, 2),
              lambda m: m.linspace(-1, 1, 7), lambda m: m.eye(3),
              lambda m: m.arange(10).reshape(2, 5).float()):
        a, b = f(minitorch), f(torch)
        assert str(b.dtype) == "torch." + a.dtype.name
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-6)


def test_random_reproducible_and_generators():
    minitorch.manual_seed(3)
    a = minitorch.rand(5)
    minitorch.manual_seed(3)
    b = minitorch.rand(5)
    assert a.tolist() == b.tolist()
    g = minitorch.Generator().manual_seed(7)
    x = minitorch.randn(4, generator=g)
    g.manual_seed(7)
    assert minitorch.randn(4, generator=g).tolist() == x.tolist()
    st = g.get_state()
    y = minitorch.rand(3, generator=g)
    g.set_state(st)
    assert minitorch.rand(3, generator=g).tolist() == y.tolist()
    r = minitorch.randint(0, 10, (1000,))
    assert r.dtype == minitorch.int64 and 0 <= r.min().item() and r.max().item() <= 9
    p = minitorch.randperm(50)
    assert sorted(p.tolist()) == list(range(50))
    n = minitorch.normal(2.0, 3.0, size=(20000,))
    assert abs(n.mean().item() - 2.0) < 0.1 and abs(n.std().item() - 3.0) < 0.1
    u = minitorch.rand(20000)
    assert 0 <= u.min().item() and u.max().item() < 1 and abs(u.mean().item() - 0.5) < 0.02
    z = minitorch.randn(20000, dtype=minitorch.float64)
    assert z.dtype == minitorch.float64 and abs(z.std().item() - 1) < 0.05
    nt = minitorch.normal(minitorch.zeros(3), minitorch.tensor([1.0, 2.0, 3.0]))
    assert nt.shape == (3,)


def test_attributes_and_conversion():
    x = minitorch.arange(6.0).reshape(2, 3)
    assert x.shape == (2, 3) and x.size() == (2, 3) and x.size(1) == 3 and x.size(-1) == 3
    assert x.ndim == 2 and x.dim() == 2 and x.numel() == 6 and len(x) == 2
    assert x.T.shape == (3, 2) and x.t().shape == (3, 2)
    assert x.device == minitorch.device("cpu") and str(x.device) == "cpu"
    assert x.float().dtype == minitorch.float32 and x.double().dtype == minitorch.float64
    assert x.long().dtype == minitorch.int64 and x.int().dtype == minitorch.int32
    assert x.bool().dtype == minitorch.bool
    assert x.to(minitorch.float64).dtype == minitorch.float64
    assert x.to("cpu") is x
    assert x.to(minitorch.ones(1, dtype=minitorch.int64)).dtype == minitorch.int64
    assert np.array(x).shape == (2, 3) and x.numpy().dtype == np.float32
    assert x.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    assert x[1, 2].item() == 5.0 and float(x[0, 1]) == 1.0 and int(x[1, 1]) == 4
    assert x.is_contiguous() and not x.t().is_contiguous()
    assert x.t().contiguous().is_contiguous()
    assert [r.tolist() for r in x] == x.tolist()
    d = x.detach()
    assert d._data is x._data and not d.requires_grad
    c = x.clone()
    c[0, 0] = 100
    assert x[0, 0].item() == 0
    assert x.shape == minitorch.Size([2, 3]) and repr(x.shape) == "minitorch.Size([2, 3])"
    assert minitorch.is_tensor(x) and not minitorch.is_tensor(3)
    assert x.numel() == minitorch.numel(x)


def test_repr():
    assert repr(minitorch.tensor([1.0, 2.5])) == "tensor([1.0000, 2.5000])"
    assert repr(minitorch.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert repr(minitorch.tensor([1, 2])) == "tensor([1, 2])"
    assert repr(minitorch.tensor(3.5)) == "tensor(3.5000)"
    assert repr(minitorch.tensor([True, False])) == "tensor([ True, False])"
    assert repr(minitorch.tensor([1.0], dtype=minitorch.float64)) == \
        "tensor([1.], dtype=minitorch.float64)"
    assert repr(minitorch.tensor([1, 2], dtype=minitorch.int32)) == \
        "tensor([1, 2], dtype=minitorch.int32)"
    w = minitorch.tensor([1.0, 2.0], requires_grad=True)
    assert repr(w) == "tensor([1., 2.], requires_grad=True)"
    assert repr(w * 2) == "tensor([2., 4.], grad_fn=<MulBackward0>)"
    assert repr(minitorch.tensor([[1.0, -2.5], [3.0, 4.0]])) == (
        "tensor([[ 1.0000, -2.5000],\n        [ 3.0000,  4.0000]])")
    assert "..." in repr(minitorch.zeros(2000))
    assert repr(minitorch.zeros(0, 3)) == "tensor([], size=(0, 3))"
    if torch is not None:
        for f in (lambda m: m.tensor([1.0, 2.5]), lambda m: m.tensor([[1.0, -2.5], [3.0, 4.0]]),
                  lambda m: m.tensor([1, 2]), lambda m: m.tensor([True, False]),
                  lambda m: m.tensor(3.5), lambda m: m.tensor([1e-5, 1.0])):
            assert repr(f(minitorch)) == repr(f(torch)), (repr(f(minitorch)), repr(f(torch)))


def test_device_parsing_and_errors():
    assert minitorch.device("cuda:1").index == 1 and minitorch.device("cuda").type == "cuda"
    assert minitorch.device("cuda", 0) == minitorch.device("cuda:0")
    assert repr(minitorch.device("cpu")) == "device(type='cpu')"
    assert str(minitorch.device("cuda:0")) == "cuda:0"
    with pytest.raises(RuntimeError, match="Expected one of"):
        minitorch.device("tpu")
    with pytest.raises(RuntimeError, match="Invalid device string"):
        minitorch.device("cuda:x")


@pytest.mark.skipif(minitorch.cuda.is_available(), reason="a GPU is present")
def test_cuda_unavailable_says_why():
    assert minitorch.cuda.is_available() is False
    why = minitorch.cuda.unavailable_reason()
    assert why
    with pytest.raises(RuntimeError, match="cuda device is not available: " + why[:20]):
        minitorch.zeros(2, device="cuda")
    with pytest.raises(RuntimeError, match="cuda device is not available"):
        minitorch.ones(2).to("cuda")
    with pytest.raises(RuntimeError, match="cuda device is not available"):
        minitorch.ones(2).cuda()


def test_default_dtype():
    minitorch.set_default_dtype(minitorch.float64)
    try:
        assert minitorch.tensor([1.5]).dtype == minitorch.float64
        assert (minitorch.tensor([1, 2]) / 2).dtype == minitorch.float64
        assert minitorch.zeros(2).dtype == minitorch.float64
    finally:
        minitorch.set_default_dtype(minitorch.float32)
    with pytest.raises(TypeError):
        minitorch.set_default_dtype(minitorch.int64)


def test_no_pickle():
    import pickle
    with pytest.raises(TypeError, match="minitorch.save"):
        pickle.dumps(minitorch.ones(2))
