"""F.scaled_dot_product_attention on the fused ``attention`` / ``attention_backward``
primitives (kernels/attention.cu on cudasim): forward and input gradients against the
unfused NumPy formula and torch; odd sizes that are not multiples of the kernel's tiles
(64 queries x 32 keys x 32 features), causal, bool and float masks, batch/head broadcasting,
float64 gradcheck, double backward, dropout, errors."""
import math

import numpy as np
import pytest

import minitorch as mt
import minitorch.nn.functional as F
from minitorch.autograd import gradcheck

rng = np.random.default_rng(0)


def _ref(q, k, v, mask=None, causal=False, scale=None):
    """The unfused formula in NumPy (float64)."""
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
    s = q @ np.swapaxes(k, -1, -2) * scale
    if causal:
        s = np.where(np.tril(np.ones(s.shape[-2:], bool)), s, -np.inf)
    if mask is not None:
        s = s + (np.where(mask, 0.0, -np.inf) if mask.dtype == bool else mask)
    s = s - s.max(-1, keepdims=True)
    p = np.exp(s)
    p /= p.sum(-1, keepdims=True)
    return p @ v


def _np(t):
    return t.detach().cpu().numpy()


CASES = [  # (q shape, k shape, v shape)
    ((5, 4), (7, 4), (7, 6)),
    ((2, 3, 5, 4), (2, 3, 7, 4), (2, 3, 7, 6)),
    ((1, 2, 70, 33), (1, 2, 45, 33), (1, 2, 45, 35)),   # L > tile, E and Ev > 32, odd
    ((2, 1, 67, 9), (2, 1, 70, 9), (2, 1, 70, 3)),
    ((3, 1, 65, 8), (1, 2, 33, 8), (3, 2, 33, 8)),      # broadcast batch dims
]


def _inputs(qs, ks, vs, dt, device):
    q, k, v = (rng.standard_normal(s).astype(dt) for s in (qs, ks, vs))
    return (q, k, v), tuple(mt.tensor(a, device=device, requires_grad=True) for a in (q, k, v))


@pytest.mark.parametrize("shapes", CASES)
@pytest.mark.parametrize("kind", ["none", "causal", "bool", "float", "scale"])
def test_sdpa_forward_matches_formula(device, shapes, kind):
    (q, k, v), (tq, tk, tv) = _inputs(*shapes, np.float64, device)
    L, S = shapes[0][-2], shapes[1][-2]
    mask = None
    kw = {}
    if kind == "bool":
        mask = rng.random((L, S)) > 0.3
        mask[:, 0] = True
    elif kind == "float":
        mask = rng.standard_normal((L, S))
    elif kind == "scale":
        kw["scale"] = 0.37
    causal = kind == "causal"
    out = F.scaled_dot_product_attention(
        tq, tk, tv, attn_mask=None if mask is None else mt.tensor(mask, device=device),
        is_causal=causal, **kw)
    ref = _ref(q, k, v, mask, causal, kw.get("scale"))
    assert tuple(out.shape) == ref.shape
    np.testing.assert_allclose(_np(out), ref, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("shapes", CASES[:4])
@pytest.mark.parametrize("kind", ["none", "causal", "bool", "float"])
@pytest.mark.parametrize("dt", [np.float32, np.float64])
def test_sdpa_matches_torch_with_grads(device, shapes, kind, dt):
    torch = pytest.importorskip("torch")
    (q, k, v), (tq, tk, tv) = _inputs(*shapes, dt, device)
    L, S = shapes[0][-2], shapes[1][-2]
    mask = None
    if kind == "bool":
        mask = rng.random((L, S)) > 0.3
        mask[:, 0] = True
    elif kind == "float":
        mask = rng.standard_normal(shapes[0][:-2] + (L, S)).astype(dt)
    g = rng.standard_normal(shapes[0][:-1] + (shapes[2][-1],)).astype(dt)
    pq, pk, pv = (torch.tensor(a, requires_grad=True) for a in (q, k, v))
    po = torch.nn.functional.scaled_dot_product_attention(
        pq, pk, pv, attn_mask=None if mask is None else torch.tensor(mask),
        is_causal=kind == "causal")
    po.backward(torch.tensor(g))
    out = F.scaled_dot_product_attention(
        tq, tk, tv, attn_mask=None if mask is None else mt.tensor(mask, device=device),
        is_causal=kind == "causal")
    out.backward(mt.tensor(g, device=device))
    tol = dict(rtol=1e-4, atol=1e-5) if dt == np.float32 else dict(rtol=1e-9, atol=1e-11)
    assert out.dtype == mt.float32 if dt == np.float32 else mt.float64
    np.testing.assert_allclose(_np(out), po.detach().numpy(), **tol)
    for a, b in ((tq, pq), (tk, pk), (tv, pv)):
        np.testing.assert_allclose(_np(a.grad), b.grad.numpy(), **tol)


@pytest.mark.parametrize("kind", ["none", "causal", "float"])
def test_sdpa_gradcheck_float64(device, kind):
    (q, k, v), (tq, tk, tv) = _inputs((2, 5, 3), (2, 6, 3), (2, 6, 4), np.float64, device)
    mask = mt.tensor(rng.standard_normal((5, 6)), device=device) if kind == "float" else None
    fn = lambda a, b, c: F.scaled_dot_product_attention(a, b, c, attn_mask=mask,  # noqa: E731
                                                        is_causal=kind == "causal")
    assert gradcheck(fn, (tq, tk, tv))


def test_sdpa_double_backward(device):
    torch = pytest.importorskip("torch")
    (q, k, v), (tq, tk, tv) = _inputs((2, 4, 3), (2, 5, 3), (2, 5, 2), np.float64, device)
    pq, pk, pv = (torch.tensor(a, requires_grad=True) for a in (q, k, v))
    res = []
    for fn, a, lib in ((F.scaled_dot_product_attention, (tq, tk, tv), mt),
                       (torch.nn.functional.scaled_dot_product_attention, (pq, pk, pv), torch)):
        out = fn(*a, is_causal=True)
        gs = lib.autograd.grad(out.pow(2).sum(), a, create_graph=True)
        sum(x.pow(2).sum() for x in gs).backward()
        res.append([np.asarray(_np(x.grad) if lib is mt else x.grad.numpy()) for x in a])
    for a, b in zip(*res):
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-10)


def test_sdpa_fused_saves_no_scores(device):
    """The fused path is one graph node (no (L, S) probabilities kept for backward)."""
    _, (tq, tk, tv) = _inputs((3, 100, 8), (3, 90, 8), (3, 90, 8), np.float32, device)
    out = F.scaled_dot_product_attention(tq, tk, tv)
    assert type(out.grad_fn).__name__ == "ScaledDotProductAttentionBackward0"


def test_sdpa_fully_masked_row_is_zero_like_torch(device):
    torch = pytest.importorskip("torch")
    (q, k, v), (tq, tk, tv) = _inputs((3, 2), (4, 2), (4, 2), np.float64, device)
    mask = np.ones((3, 4), bool)
    mask[1] = False
    ref = torch.nn.functional.scaled_dot_product_attention(
        *(torch.tensor(a) for a in (q, k, v)), attn_mask=torch.tensor(mask)).numpy()
    out = _np(F.scaled_dot_product_attention(tq, tk, tv, attn_mask=mt.tensor(mask,
                                                                              device=device)))
    np.testing.assert_allclose(out, ref, rtol=1e-10)  # torch: zeros, not NaN
    pq, pk, pv = (torch.tensor(a, requires_grad=True) for a in (q, k, v))
    torch.nn.functional.scaled_dot_product_attention(
        pq, pk, pv, attn_mask=torch.tensor(mask)).sum().backward()
    F.scaled_dot_product_attention(tq, tk, tv, attn_mask=mt.tensor(mask, device=device)
                                   ).sum().backward()
    for a, b in ((tq, pq), (tk, pk), (tv, pv)):
        np.testing.assert_allclose(_np(a.grad), b.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_sdpa_gqa(device):
    torch = pytest.importorskip("torch")
    (q, k, v), (tq, tk, tv) = _inputs((2, 4, 5, 3), (2, 2, 6, 3), (2, 2, 6, 3), np.float64,
                                      device)
    ref = torch.nn.functional.scaled_dot_product_attention(
        *(torch.tensor(a) for a in (q, k, v)), enable_gqa=True).numpy()
    out = F.scaled_dot_product_attention(tq, tk, tv, enable_gqa=True)
    np.testing.assert_allclose(_np(out), ref, rtol=1e-10)


def test_sdpa_dropout(device):
    (q, k, v), (tq, tk, tv) = _inputs((2, 8, 4), (2, 8, 4), (2, 8, 4), np.float64, device)
    full = _np(F.scaled_dot_product_attention(tq, tk, tv, dropout_p=0.0))
    np.testing.assert_allclose(full, _ref(q, k, v), rtol=1e-10)
    assert np.all(_np(F.scaled_dot_product_attention(tq, tk, tv, dropout_p=1.0)) == 0)
    mt.manual_seed(3)
    a = _np(F.scaled_dot_product_attention(tq, tk, tv, dropout_p=0.5))
    mt.manual_seed(3)
    b = F.scaled_dot_product_attention(tq, tk, tv, dropout_p=0.5)
    np.testing.assert_array_equal(a, _np(b))
    assert not np.allclose(a, full)
    b.sum().backward()
    assert tq.grad is not None and tq.grad.shape == tq.shape


def test_sdpa_errors(device):
    _, (tq, tk, tv) = _inputs((2, 5, 4), (2, 6, 4), (2, 6, 3), np.float32, device)
    with pytest.raises(RuntimeError, match="same dtype"):
        F.scaled_dot_product_attention(tq, tk, tv.double())
    with pytest.raises(RuntimeError, match="should not be set when is_causal"):
        F.scaled_dot_product_attention(tq, tk, tv, attn_mask=mt.ones(5, 6, dtype=mt.bool,
                                                                     device=device),
                                       is_causal=True)
    with pytest.raises(RuntimeError, match=r"query \(2, 5, 4\), key \(2, 6, 3\)"):
        F.scaled_dot_product_attention(tq, tk[..., :3], tv)
    with pytest.raises(RuntimeError, match="attn_mask of shape"):
        F.scaled_dot_product_attention(tq, tk, tv, attn_mask=mt.ones(4, 6, device=device))
