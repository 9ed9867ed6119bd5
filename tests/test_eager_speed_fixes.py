"""Issue #12, third round: the cpu fast paths of the eager CNN / GPT / LSTM steps, checked
against PyTorch on every device (the kernel devices run the same calls through their own
kernels, so a change of the cpu path must agree with them too)."""
import numpy as np
import pytest

import minitorch

torch = pytest.importorskip("torch")


# -- max_pool2d, windows that tile the input: indices from "first offset equal to the max" --
TILED = [((2, 3, 12, 12), 3), ((2, 2, 8, 12), (4, 2)), ((1, 2, 6, 10), (1, 5)),
         ((2, 3, 9, 8), (3, 1)), ((3, 4, 10, 10), 2)]


@pytest.mark.parametrize("shape,k", TILED)
@pytest.mark.parametrize("dtype", ["float32", "float16", "int32"])
def test_tiled_max_pool2d_indices_values_grads_match_torch(device, shape, k, dtype):
    rng = np.random.default_rng(5)
    a = rng.integers(-2, 2, shape).astype(dtype)        # many ties in every window
    if dtype != "int32":
        a[0, 0] = -np.inf                                   # a plane of -inf: index 0 wins
    tv, ti = torch.nn.functional.max_pool2d(torch.tensor(a), k, return_indices=True)
    mv, mi = minitorch.nn.functional.max_pool2d(minitorch.tensor(a, device=device), k,
                                                return_indices=True)
    assert mi.dtype == minitorch.int64
    np.testing.assert_array_equal(mv.cpu().numpy(), tv.numpy())
    np.testing.assert_array_equal(mi.cpu().numpy(), ti.numpy())
    if dtype == "float32":
        g = rng.standard_normal(tv.shape).astype(np.float32)
        tx = torch.tensor(a, requires_grad=True)
        mx = minitorch.tensor(a, device=device, requires_grad=True)
        torch.nn.functional.max_pool2d(tx, k).backward(torch.tensor(g))
        minitorch.nn.functional.max_pool2d(mx, k).backward(minitorch.tensor(g, device=device))
        np.testing.assert_array_equal(mx.grad.cpu().numpy(), tx.grad.numpy())


# -- fused SDPA on cpu: in-place softmax, masked copy for causal, blocks of query rows --
@pytest.mark.parametrize("block", [256, 7])
@pytest.mark.parametrize("kind", ["causal", "mask_rows_masked"])
def test_sdpa_blocked_causal_and_masked_rows_match_torch(device, monkeypatch, block, kind):
    from minitorch.backends.cpu import CpuBackend
    monkeypatch.setattr(CpuBackend, "_ATT_BQ", block)   # several query blocks on cpu
    rng = np.random.default_rng(7)
    q, k, v = (rng.standard_normal((2, 3, 20, 8)) for _ in range(3))
    mask = None
    if kind != "causal":
        mask = rng.random((20, 20)) > 0.4
        mask[[2, 11]] = False                                # rows with every key masked
    causal = kind == "causal"
    tt = [torch.tensor(a, requires_grad=True) for a in (q, k, v)]
    mm = [minitorch.tensor(a, device=device, requires_grad=True) for a in (q, k, v)]
    ref = torch.nn.functional.scaled_dot_product_attention(
        *tt, attn_mask=None if mask is None else torch.tensor(mask), is_causal=causal)
    out = minitorch.nn.functional.scaled_dot_product_attention(
        *mm, attn_mask=None if mask is None else minitorch.tensor(mask, device=device),
        is_causal=causal)
    np.testing.assert_allclose(out.detach().cpu().numpy(), ref.detach().numpy(), rtol=1e-10,
                               atol=1e-12)
    g = rng.standard_normal(ref.shape)
    ref.backward(torch.tensor(g))
    out.backward(minitorch.tensor(g, device=device))
    for a, b in zip(mm, tt):
        np.testing.assert_allclose(a.grad.cpu().numpy(), b.grad.numpy(), rtol=1e-9,
                                   atol=1e-11)
