"""Property tests (hypothesis): broadcasting, reductions and indexing agree with NumPy on
random shapes, values and keys — forward values, result shapes and gradient shapes."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import minitorch

SETTINGS = settings(max_examples=60, deadline=None)
floats = st.floats(-10, 10, allow_nan=False, width=32)


@st.composite
def broadcastable_pair(draw):
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4,
                                                    max_side=4))
    a = draw(hnp.arrays(np.float32, shapes.input_shapes[0], elements=floats))
    b = draw(hnp.arrays(np.float32, shapes.input_shapes[1], elements=floats))
    return a, b


@SETTINGS
@given(broadcastable_pair(), st.sampled_from(["add", "sub", "mul", "maximum", "minimum"]))
def test_broadcast_binary(pair, op):
    a, b = pair
    ta = minitorch.tensor(a, requires_grad=True)
    tb = minitorch.tensor(b, requires_grad=True)
    out = getattr(minitorch, op)(ta, tb)
    ref = getattr(np, {"add": "add", "sub": "subtract", "mul": "multiply",
                       "maximum": "maximum", "minimum": "minimum"}[op])(a, b)
    assert out.shape == ref.shape
    np.testing.assert_allclose(out.detach().numpy(), ref, rtol=1e-6)
    out.sum().backward()
    assert ta.grad.shape == a.shape and tb.grad.shape == b.shape
    if op == "add":  # d(sum(a+b))/da counts how often each element of a was broadcast
        np.testing.assert_allclose(ta.grad.numpy(), _sum_to(np.ones(ref.shape), a.shape))
        np.testing.assert_allclose(tb.grad.numpy(), _sum_to(np.ones(ref.shape), b.shape))


def _sum_to(x, shape):
    lead = x.ndim - len(shape)
    x = x.sum(axis=tuple(range(lead)))
    axes = tuple(i for i, s in enumerate(shape) if s == 1 and x.shape[i] != 1)
    return x.sum(axis=axes, keepdims=True).reshape(shape)


@SETTINGS
@given(broadcastable_pair())
def test_broadcast_mismatch_is_clean_error(pair):
    a, b = pair
    # append incompatible trailing dims to force a mismatch
    a2, b2 = np.zeros(a.shape + (2,), np.float32), np.zeros(b.shape + (3,), np.float32)
    with pytest.raises(RuntimeError, match="must match the size of tensor b"):
        minitorch.tensor(a2) + minitorch.tensor(b2)


@st.composite
def array_and_dims(draw):
    arr = draw(hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=4, max_side=4),
                          elements=st.floats(-5, 5, allow_nan=False)))
    dims = draw(st.lists(st.integers(0, arr.ndim - 1), unique=True, min_size=1,
                         max_size=arr.ndim))
    neg = draw(st.booleans())
    dims = [d - arr.ndim if neg else d for d in dims]
    return arr, tuple(dims), draw(st.booleans())


@SETTINGS
@given(array_and_dims(), st.sampled_from(["sum", "mean", "amax", "amin", "prod"]))
def test_reductions(arg, op):
    arr, dims, keepdim = arg
    t = minitorch.tensor(arr, requires_grad=True)
    out = getattr(t, op)(dims, keepdim=keepdim)
    npop = {"sum": np.sum, "mean": np.mean, "amax": np.max, "amin": np.min, "prod": np.prod}[op]
    ref = npop(arr, axis=dims, keepdims=keepdim)
    assert out.shape == ref.shape
    np.testing.assert_allclose(out.detach().numpy(), ref, rtol=1e-9, atol=1e-12)
    out.sum().backward()
    assert t.grad.shape == arr.shape
    if op == "sum":
        np.testing.assert_allclose(t.grad.numpy(), np.ones_like(arr))


@SETTINGS
@given(array_and_dims())
def test_var_std_logsumexp(arg):
    arr, dims, keepdim = arg
    n = np.prod([arr.shape[d] for d in dims])
    t = minitorch.tensor(arr)
    if n > 1:
        np.testing.assert_allclose(t.var(dims, keepdim=keepdim).numpy(),
                                   arr.var(axis=dims, ddof=1, keepdims=keepdim), rtol=1e-9,
                                   atol=1e-12)
        np.testing.assert_allclose(t.std(dims, keepdim=keepdim, unbiased=False).numpy(),
                                   arr.std(axis=dims, keepdims=keepdim), rtol=1e-9, atol=1e-12)
    m = arr.max(axis=dims, keepdims=True)
    lse = np.log(np.exp(arr - m).sum(axis=dims, keepdims=True)) + m
    if not keepdim:
        lse = lse.reshape(np.sum(arr, axis=dims).shape)
    np.testing.assert_allclose(t.logsumexp(dims, keepdim=keepdim).numpy(), lse, rtol=1e-9)


def _slice(size, draw):
    start = draw(st.one_of(st.none(), st.integers(-size - 2, size + 2)))
    stop = draw(st.one_of(st.none(), st.integers(-size - 2, size + 2)))
    step = draw(st.one_of(st.none(), st.integers(1, 3)))
    return slice(start, stop, step)


@st.composite
def array_and_key(draw):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=5))
    arr = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)
    key = []
    dim = 0
    n_adv = 0
    while dim < len(shape) and draw(st.booleans()):
        size = shape[dim]
        kind = draw(st.sampled_from(["int", "slice", "none", "list", "ellipsis"]))
        if kind == "int":
            key.append(draw(st.integers(-size, size - 1)))
            dim += 1
        elif kind == "slice":
            key.append(_slice(size, draw))
            dim += 1
        elif kind == "none":
            key.append(None)
        elif kind == "list":
            if n_adv == 0:
                ln = draw(st.integers(1, 3))
            key.append(draw(st.lists(st.integers(-size, size - 1), min_size=ln, max_size=ln)))
            n_adv += 1
            dim += 1
        elif kind == "ellipsis" and Ellipsis not in key:
            key.append(Ellipsis)
            dim = len(shape)  # consume the rest
    if draw(st.booleans()) and Ellipsis not in key:
        mask_dims = 1
        if dim + mask_dims <= len(shape) and n_adv == 0:
            mask = draw(hnp.arrays(np.bool_, shape[dim:dim + mask_dims]))
            key.append(mask)
    return arr, tuple(key)


def _reference_getitem(arr, key):
    """PyTorch's result (ints are basic indices, unlike NumPy where an int next to an array
    index counts as advanced); NumPy where the two agree, when torch is absent."""
    try:
        import torch
    except ImportError:
        torch = None
    mixed = any(isinstance(k, int) for k in key) and any(
        isinstance(k, (list, np.ndarray)) for k in key)
    if torch is not None:
        tkey = tuple(torch.tensor(k) if isinstance(k, (list, np.ndarray)) else k for k in key)
        return torch.tensor(arr)[tkey].numpy()
    if mixed:
        return None
    return arr[key]


@settings(max_examples=150, deadline=None)
@given(array_and_key())
def test_getitem_matches_torch(arg):
    arr, key = arg
    try:
        ref = _reference_getitem(arr, key)
    except IndexError:
        return
    if ref is None:
        return
    t = minitorch.tensor(arr, requires_grad=True)
    mkey = tuple(minitorch.tensor(k) if isinstance(k, np.ndarray) else k for k in key)
    out = t[mkey]
    assert out.shape == ref.shape
    np.testing.assert_array_equal(out.detach().numpy(), ref)
    # gradient: each element's count of appearances in the result
    out.sum().backward()
    counts = np.zeros(arr.size)
    ids = _reference_getitem(np.arange(arr.size).reshape(arr.shape), key)
    np.add.at(counts, np.asarray(ids).ravel(), 1)
    np.testing.assert_array_equal(t.grad.numpy(), counts.reshape(arr.shape))


@settings(max_examples=100, deadline=None)
@given(array_and_key())
def test_setitem_matches_numpy(arg):
    arr, key = arg
    ref = arr.copy()
    try:
        target = _reference_getitem(ref, key)
        if target is None:
            return
        target_shape = target.shape
        ref[key] = -1.0  # the same set of elements in NumPy and PyTorch
    except IndexError:
        return
    t = minitorch.tensor(arr)
    mkey = tuple(minitorch.tensor(k) if isinstance(k, np.ndarray) else k for k in key)
    t[mkey] = -1.0
    np.testing.assert_array_equal(t.numpy(), ref)
    if len(target_shape) and all(isinstance(k, (int, slice)) or k is None for k in key):
        v = np.arange(np.prod(target_shape), dtype=np.float64).reshape(target_shape) + 100
        ref2 = arr.copy()
        ref2[key] = v
        t2 = minitorch.tensor(arr)
        t2[mkey] = minitorch.tensor(v)
        np.testing.assert_array_equal(t2.numpy(), ref2)


@SETTINGS
@given(hnp.array_shapes(min_dims=1, max_dims=4, max_side=4), st.data())
def test_reshape_permute_roundtrip(shape, data):
    arr = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)
    perm = data.draw(st.permutations(range(len(shape))))
    t = minitorch.tensor(arr, requires_grad=True)
    p = t.permute(*perm)
    np.testing.assert_array_equal(p.detach().numpy(), arr.transpose(perm))
    flat = p.reshape(-1)
    np.testing.assert_array_equal(flat.detach().numpy(), arr.transpose(perm).reshape(-1))
    w = minitorch.tensor(np.arange(arr.size, dtype=np.float64))
    (flat * w).sum().backward()
    np.testing.assert_array_equal(t.grad.numpy().transpose(perm).reshape(-1), w.numpy())
