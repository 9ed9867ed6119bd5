"""The cpu fast paths of issue #12 (max-pool when the windows tile the input, col2im that
accumulates one kernel offset at a time and reads conv2d's transposed input gradient in
place), checked against PyTorch on every device: values, indices (first maximum on ties,
PyTorch's NaN), gradients."""
import numpy as np
import pytest

import minitorch

torch = pytest.importorskip("torch")

POOL_CASES = [((2, 3, 8, 8), 2, None, 0, False),        # tiles
              ((2, 3, 9, 7), 2, None, 0, False),        # tiles after cropping
              ((2, 3, 9, 7), 3, None, 0, True),         # ceil mode: partial windows
              ((1, 2, 12, 12), (3, 2), None, 0, False),  # rectangular tiles
              ((2, 3, 8, 8), 2, 1, 0, False),           # overlapping (general path)
              ((2, 3, 9, 9), 3, 2, 1, False)]           # padded (general path)


@pytest.mark.parametrize("case", POOL_CASES)
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
def test_max_pool2d_fast_path_matches_torch_ties_and_nan(device, case, dtype):
    shape, k, s, p, ceil = case
    rng = np.random.default_rng(1)
    a = rng.integers(-2, 3, shape).astype(dtype)
    if dtype == "float32":
        a = np.maximum(a, 0)                   # many ties, as after a ReLU
    variants = [a]
    if dtype != "int64":
        b = a.copy()
        b.flat[[3, 4, 5, 17]] = np.nan         # NaNs, two in one window
        variants.append(b)
    for arr in variants:
        tv, ti = torch.nn.functional.max_pool2d(torch.tensor(arr), k, s, p, ceil_mode=ceil,
                                                return_indices=True)
        mv, mi = minitorch.nn.functional.max_pool2d(minitorch.tensor(arr, device=device), k, s,
                                                    p, ceil_mode=ceil, return_indices=True)
        np.testing.assert_array_equal(mv.cpu().numpy(), tv.numpy())
        np.testing.assert_array_equal(mi.cpu().numpy(), ti.numpy())


def test_max_pool2d_tiled_gradient_goes_to_first_maximum(device):
    x = np.maximum(np.random.default_rng(2).integers(-1, 2, (2, 4, 6, 6)), 0).astype(np.float32)
    tx = torch.tensor(x, requires_grad=True)
    mx = minitorch.tensor(x, device=device, requires_grad=True)
    torch.nn.functional.max_pool2d(tx, 2).sum().backward()
    minitorch.nn.functional.max_pool2d(mx, 2).sum().backward()
    np.testing.assert_array_equal(mx.grad.cpu().numpy(), tx.grad.numpy())


CONV_CASES = [((2, 3, 9, 9), 3, 1, 1, 1), ((2, 3, 9, 8), (3, 2), 2, (1, 2), 1),
              ((2, 3, 11, 11), 3, 2, 0, 2), ((1, 2, 5, 5), 5, 1, 4, 1),
              ((3, 2, 7, 7), 2, 3, 3, 2), ((2, 3, 6, 6), 1, 1, 0, 1)]


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv2d_and_fold_gradients_match_torch(device, case):
    shape, k, s, p, d = case
    rng = np.random.default_rng(3)
    x = rng.standard_normal(shape).astype(np.float32)
    ks = (k, k) if isinstance(k, int) else k
    w = rng.standard_normal((4, shape[1]) + ks).astype(np.float32)
    tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    mx = minitorch.tensor(x, device=device, requires_grad=True)
    mw = minitorch.tensor(w, device=device, requires_grad=True)
    to = torch.nn.functional.conv2d(tx, tw, None, s, p, d)
    mo = minitorch.nn.functional.conv2d(mx, mw, None, s, p, d)
    np.testing.assert_allclose(mo.detach().cpu().numpy(), to.detach().numpy(), atol=1e-4)
    g = rng.standard_normal(to.shape).astype(np.float32)
    to.backward(torch.tensor(g))
    mo.backward(minitorch.tensor(g, device=device))
    np.testing.assert_allclose(mx.grad.cpu().numpy(), tx.grad.numpy(), atol=1e-4)
    np.testing.assert_allclose(mw.grad.cpu().numpy(), tw.grad.numpy(), atol=1e-4)
    cols = rng.standard_normal(torch.nn.functional.unfold(tx, k, d, p, s).shape)
    tf = torch.nn.functional.fold(torch.tensor(cols), shape[2:], k, d, p, s)
    mf = minitorch.nn.functional.fold(minitorch.tensor(cols, device=device), shape[2:], k, d,
                                      p, s)
    np.testing.assert_allclose(mf.cpu().numpy(), tf.numpy(), rtol=1e-10, atol=1e-10)


def test_cpu_reshape_of_non_viewable_array_does_not_copy_to_find_out():
    """CpuBackend.reshape returns None for a strided array that has no view of the new shape
    (the caller then copies once); NumPy's shape setter would copy it first (a wasted full
    copy per such reshape: conv2d's weight gradient paid 4 ms for it)."""
    import tracemalloc
    from minitorch.backends.cpu import CpuBackend
    be = CpuBackend()
    a = np.ones((64, 400, 196), np.float32).transpose(1, 0, 2)    # 20 MB, not viewable
    tracemalloc.start()
    try:
        assert be.reshape(a, (400, 64 * 196)) is None
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < a.nbytes // 10
    v = be.reshape(a, (400, 64, 14, 14))                           # viewable: a view
    assert v is not None and np.shares_memory(v, a)
    np.testing.assert_array_equal(v, a.reshape(400, 64, 14, 14))
