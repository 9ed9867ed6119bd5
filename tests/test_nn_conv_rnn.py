"""Spatial, normalization, dropout, embedding and recurrent layers: forward and backward
against PyTorch in float64 (weights copied across through ``load_state_dict``), gradients
against finite differences (gradcheck), default initializations, reprs and error messages.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

import minitorch
from minitorch.autograd import gradcheck, gradgradcheck
from minitorch.backends.cpu import CpuBackend
from minitorch.nn import functional as F
from minitorch.nn import conv, dropout, embedding, normalization, pooling, rnn

try:
    import torch
    import torch.nn.functional as TF
except ImportError:  # parity tests skip
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch not installed")
TOL = 1e-9


# -- helpers ---------------------------------------------------------------------------------
def mt_from(t, device="cpu", requires_grad=False):
    """A minitorch copy of a torch tensor (through NumPy)."""
    return minitorch.tensor(t.detach().numpy(), device=device, requires_grad=requires_grad)


def pair(shape, rng, device="cpu", requires_grad=True):
    """The same float64 values as a torch tensor and a minitorch tensor."""
    a = rng.standard_normal(shape)
    return (torch.tensor(a, requires_grad=requires_grad),
            minitorch.tensor(a, device=device, requires_grad=requires_grad))


def close(m, t, tol=TOL):
    assert m is not None and t is not None
    a, b = np.asarray(m.detach().numpy_view()), t.detach().numpy()
    assert a.shape == b.shape, (a.shape, b.shape)
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def load_from_torch(m, t, device="cpu"):
    """Copy a torch module's state into ``m``; the state_dict keys must be the same."""
    sd = t.state_dict()
    assert list(m.state_dict().keys()) == list(sd.keys())
    m.load_state_dict({k: mt_from(v, device) for k, v in sd.items()})


def backward_both(m_out, t_out, rng):
    g = rng.standard_normal(tuple(t_out.shape))
    t_out.backward(torch.tensor(g))
    m_out.backward(minitorch.tensor(g, device=m_out.device))


def check_param_grads(m, t, tol=TOL):
    tp = dict(t.named_parameters())
    for name, p in m.named_parameters():
        close(p.grad, tp[name].grad, tol)


# -- conv2d ----------------------------------------------------------------------------------
CONV_CASES = [
    dict(),
    dict(stride=2),
    dict(stride=(2, 1), padding=1),
    dict(padding=(2, 1), dilation=(1, 2)),
    dict(dilation=2, stride=2, padding=2),
    dict(groups=2),
    dict(groups=4, padding=1),          # depthwise
    dict(groups=2, stride=2, dilation=2, padding=(1, 2)),
    dict(padding="same"),
    dict(padding="same", dilation=(2, 1)),   # even total padding on one dim, odd on the other
    dict(padding="valid", bias=False),
    dict(stride=3, bias=False, padding=1),
]


@needs_torch
@pytest.mark.parametrize("kw", CONV_CASES,
                         ids=lambda kw: ",".join(f"{k}={v}" for k, v in kw.items()) or "default")
@pytest.mark.parametrize("kernel", [(3, 3), (2, 3)])
def test_conv2d_matches_torch(kw, kernel, device):
    rng = np.random.default_rng(0)
    kw = dict(kw)
    use_bias = kw.pop("bias", True)
    g = kw.get("groups", 1)
    tx, mx = pair((2, 4, 7, 8), rng, device)
    tw, mw = pair((6 if g != 4 else 8, 4 // g) + kernel, rng, device)
    tb, mb = pair((tw.shape[0],), rng, device) if use_bias else (None, None)
    t_out = TF.conv2d(tx, tw, tb, **kw)
    m_out = F.conv2d(mx, mw, mb, **kw)
    close(m_out, t_out)
    backward_both(m_out, t_out, rng)
    close(mx.grad, tx.grad)
    close(mw.grad, tw.grad)
    if use_bias:
        close(mb.grad, tb.grad)


@needs_torch
def test_conv2d_unbatched_and_conv1d(device):
    rng = np.random.default_rng(1)
    tx, mx = pair((3, 6, 5), rng, device)
    tw, mw = pair((4, 3, 3, 2), rng, device)
    close(F.conv2d(mx, mw, padding=1), TF.conv2d(tx, tw, padding=1))
    for kw in (dict(), dict(stride=2, padding=1, dilation=2), dict(padding="same", groups=3)):
        tx, mx = pair((2, 3, 9), rng, device)
        tw, mw = pair((6, 3 // kw.get("groups", 1), 4), rng, device)
        tb, mb = pair((6,), rng, device)
        t_out, m_out = TF.conv1d(tx, tw, tb, **kw), F.conv1d(mx, mw, mb, **kw)
        close(m_out, t_out)
        backward_both(m_out, t_out, rng)
        for m, t in ((mx, tx), (mw, tw), (mb, tb)):
            close(m.grad, t.grad)


@needs_torch
@pytest.mark.parametrize("cls,args", [
    ("Conv2d", (4, 6, 3)),
    ("Conv2d", (4, 8, (3, 2), 2, 1, 1, 2, False)),
    ("Conv2d", (4, 4, 3, 1, "same", 2, 4)),
    ("Conv1d", (3, 5, 3, 1, 2)),
])
def test_conv_modules_match_torch(cls, args, device):
    rng = np.random.default_rng(2)
    m = getattr(conv, cls)(*args, dtype=minitorch.float64, device=device)
    t = getattr(torch.nn, cls)(*args, dtype=torch.float64)
    assert repr(m) == repr(t)
    load_from_torch(m, t, device)
    shape = (2, args[0], 9, 8) if cls == "Conv2d" else (2, args[0], 11)
    tx, mx = pair(shape, rng, device)
    t_out, m_out = t(tx), m(mx)
    close(m_out, t_out)
    backward_both(m_out, t_out, rng)
    close(mx.grad, tx.grad)
    check_param_grads(m, t)


@needs_torch
@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=(2, 3), stride=(1, 2)),
                                dict(kernel_size=3, padding=1, dilation=2, stride=2)])
def test_unfold_fold_match_torch(kw, device):
    rng = np.random.default_rng(3)
    tx, mx = pair((2, 3, 6, 7), rng, device)
    t_cols, m_cols = TF.unfold(tx, **kw), F.unfold(mx, **kw)
    close(m_cols, t_cols)
    t_img, m_img = TF.fold(t_cols, (6, 7), **kw), F.fold(m_cols, (6, 7), **kw)
    close(m_img, t_img)  # overlapping windows add up
    backward_both(m_img, t_img, rng)
    close(mx.grad, tx.grad)


def test_im2col_col2im_are_adjoint():
    """<im2col(x), y> == <x, col2im(y)> for the cpu primitives, over many geometries."""
    be, rng = CpuBackend(), np.random.default_rng(4)
    for kernel, stride, padding, dilation in [((3, 3), (1, 1), (1, 1), (1, 1)),
                                              ((2, 3), (2, 1), (0, 2), (2, 1)),
                                              ((1, 1), (3, 2), (0, 0), (1, 1)),
                                              ((3, 2), (2, 3), (1, 1), (1, 2))]:
        x = rng.standard_normal((2, 3, 7, 9))
        cols = be.im2col(x, kernel, stride, padding, dilation)
        y = rng.standard_normal(cols.shape)
        back = be.col2im(y, x.shape, kernel, stride, padding, dilation)
        assert back.shape == x.shape and cols.flags.c_contiguous
        assert math.isclose((cols * y).sum(), (x * back).sum(), rel_tol=1e-12)


# -- pooling ---------------------------------------------------------------------------------
MAXPOOL_CASES = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=2),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=(2, 3), stride=(2, 1), padding=(1, 1), dilation=(2, 1), ceil_mode=True),
    dict(kernel_size=2, stride=3, ceil_mode=True),
    dict(kernel_size=4, stride=3, padding=2, dilation=1, ceil_mode=True),
]


@needs_torch
@pytest.mark.parametrize("kw", MAXPOOL_CASES)
def test_max_pool2d_matches_torch(kw, device):
    rng = np.random.default_rng(5)
    tx, mx = pair((2, 3, 7, 8), rng, device)
    t_out, t_idx = TF.max_pool2d(tx, return_indices=True, **kw)
    m_out, m_idx = F.max_pool2d(mx, return_indices=True, **kw)
    close(m_out, t_out)
    assert m_idx.dtype == minitorch.int64
    np.testing.assert_array_equal(m_idx.numpy_view(), t_idx.numpy())
    backward_both(m_out, t_out, rng)
    close(mx.grad, tx.grad)
    m = pooling.MaxPool2d(**kw)
    assert repr(m) == repr(torch.nn.MaxPool2d(**kw))
    close(m(mx), t_out)


@needs_torch
def test_max_pool_ties_negative_inputs_1d_and_unbatched(device):
    # every value negative: the -inf padding must never win; ties give the first index
    x = -np.ones((1, 2, 4, 4))
    x[0, 1, 1:3, 1:3] = -0.5
    tx, mx = torch.tensor(x, requires_grad=True), minitorch.tensor(x, device=device,
                                                                    requires_grad=True)
    t_out, t_idx = TF.max_pool2d(tx, 3, 2, 1, return_indices=True)
    m_out, m_idx = F.max_pool2d(mx, 3, 2, 1, return_indices=True)
    close(m_out, t_out)
    np.testing.assert_array_equal(m_idx.numpy_view(), t_idx.numpy())
    rng = np.random.default_rng(6)
    backward_both(m_out, t_out, rng)
    close(mx.grad, tx.grad)
    tx, mx = pair((3, 10), rng, device)   # unbatched 1-D
    t_out, t_idx = TF.max_pool1d(tx, 3, 2, 1, return_indices=True, ceil_mode=True)
    m_out, m_idx = F.max_pool1d(mx, 3, 2, 1, return_indices=True, ceil_mode=True)
    close(m_out, t_out)
    np.testing.assert_array_equal(m_idx.numpy_view(), t_idx.numpy())
    close(pooling.MaxPool1d(2)(mx), torch.nn.MaxPool1d(2)(tx))
    tx, mx = pair((3, 5, 6), rng, device)  # unbatched 2-D
    close(F.max_pool2d(mx, 2), TF.max_pool2d(tx, 2))


AVGPOOL_CASES = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=3, stride=2, padding=1, count_include_pad=False),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
    dict(kernel_size=(2, 3), stride=(3, 2), padding=(1, 0), ceil_mode=True),
    dict(kernel_size=(3, 2), stride=2, padding=1, ceil_mode=True, divisor_override=5),
    dict(kernel_size=4, stride=3, padding=2, ceil_mode=True, count_include_pad=False),
]


@needs_torch
@pytest.mark.parametrize("kw", AVGPOOL_CASES)
def test_avg_pool2d_matches_torch(kw, device):
    rng = np.random.default_rng(7)
    tx, mx = pair((2, 3, 7, 8), rng, device)
    t_out, m_out = TF.avg_pool2d(tx, **kw), F.avg_pool2d(mx, **kw)
    close(m_out, t_out)
    backward_both(m_out, t_out, rng)
    close(mx.grad, tx.grad)
    m = pooling.AvgPool2d(**kw)
    assert repr(m) == repr(torch.nn.AvgPool2d(**kw))
    close(m(mx), t_out)


@needs_torch
def test_avg_pool1d_matches_torch(device):
    rng = np.random.default_rng(8)
    tx, mx = pair((2, 3, 11), rng, device)
    for kw in (dict(kernel_size=3), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True,
                                         count_include_pad=False)):
        t_out, m_out = TF.avg_pool1d(tx, **kw), F.avg_pool1d(mx, **kw)
        close(m_out, t_out)
        assert repr(pooling.AvgPool1d(**kw)) == repr(torch.nn.AvgPool1d(**kw))
        close(pooling.AvgPool1d(**kw)(mx), t_out)


@needs_torch
@pytest.mark.parametrize("out", [(3, 4), (5, 3), 1, 2, (None, 3), (7, None), (7, 9), (4, 1)])
def test_adaptive_avg_pool2d_matches_torch(out, device):
    rng = np.random.default_rng(9)
    tx, mx = pair((2, 3, 7, 9), rng, device)
    t_out, m_out = TF.adaptive_avg_pool2d(tx, out), F.adaptive_avg_pool2d(mx, out)
    close(m_out, t_out)
    backward_both(m_out, t_out, rng)
    close(mx.grad, tx.grad)
    m = pooling.AdaptiveAvgPool2d(out)
    assert repr(m) == repr(torch.nn.AdaptiveAvgPool2d(out))
    tx, mx = pair((3, 7, 9), rng, device)  # unbatched
    close(m(mx), torch.nn.AdaptiveAvgPool2d(out)(tx))


@needs_torch
def test_adaptive_avg_pool1d_matches_torch(device):
    rng = np.random.default_rng(10)
    tx, mx = pair((2, 3, 10), rng, device)
    for out in (1, 3, 4, 7, 10):
        close(F.adaptive_avg_pool1d(mx, out), TF.adaptive_avg_pool1d(tx, out))
        close(pooling.AdaptiveAvgPool1d(out)(mx), torch.nn.AdaptiveAvgPool1d(out)(tx))


# -- normalization ---------------------------------------------------------------------------
@needs_torch
@pytest.mark.parametrize("cls,shape,kw", [
    ("BatchNorm1d", (6, 4), {}),
    ("BatchNorm1d", (5, 4, 3), {}),
    ("BatchNorm2d", (3, 4, 5, 2), {}),
    ("BatchNorm2d", (3, 4, 2, 2), dict(momentum=None)),         # cumulative average
    ("BatchNorm2d", (3, 4, 2, 2), dict(affine=False, momentum=0.3, eps=1e-3)),
    ("BatchNorm1d", (5, 4), dict(track_running_stats=False)),
    ("BatchNorm1d", (5, 4, 2), dict(bias=False)),
    ("BatchNorm3d", (2, 4, 2, 3, 2), {}),
])
def test_batch_norm_train_then_eval_matches_torch(cls, shape, kw, device):
    rng = np.random.default_rng(11)
    t = getattr(torch.nn, cls)(4, dtype=torch.float64, **kw)
    m = getattr(normalization, cls)(4, dtype=minitorch.float64, device=device, **kw)
    assert repr(m) == repr(t)
    if t.affine:  # non-trivial affine parameters
        with torch.no_grad():
            t.weight.normal_()
            if t.bias is not None:
                t.bias.normal_()
    load_from_torch(m, t, device)
    for _ in range(3):  # several training steps: the running stats accumulate
        tx, mx = pair(shape, rng, device)
        t_out, m_out = t(tx), m(mx)
        close(m_out, t_out)
        backward_both(m_out, t_out, rng)
        close(mx.grad, tx.grad)
        check_param_grads(m, t)
        for name, b in t.named_buffers():
            close(getattr(m, name), b)
    m.eval()
    t.eval()
    tx, mx = pair(shape, rng, device)
    t_out, m_out = t(tx), m(mx)
    close(m_out, t_out)
    backward_both(m_out, t_out, rng)
    close(mx.grad, tx.grad)
    if m.track_running_stats:
        assert int(m.num_batches_tracked.item()) == 3


@needs_torch
@pytest.mark.parametrize("shape,ns,kw", [
    ((4, 5), 5, {}),
    ((2, 3, 4, 5), (4, 5), {}),
    ((3, 6), (6,), dict(elementwise_affine=False)),
    ((2, 3, 6), 6, dict(bias=False, eps=1e-3)),
])
def test_layer_norm_matches_torch(shape, ns, kw, device):
    rng = np.random.default_rng(12)
    t = torch.nn.LayerNorm(ns, dtype=torch.float64, **kw)
    m = normalization.LayerNorm(ns, dtype=minitorch.float64, device=device, **kw)
    assert repr(m) == repr(t)
    if t.weight is not None:
        with torch.no_grad():
            t.weight.normal_()
            if t.bias is not None:
                t.bias.normal_()
    load_from_torch(m, t, device)
    tx, mx = pair(shape, rng, device)
    t_out, m_out = t(tx), m(mx)
    close(m_out, t_out)
    backward_both(m_out, t_out, rng)
    close(mx.grad, tx.grad)
    check_param_grads(m, t)


@needs_torch
def test_group_norm_matches_torch(device):
    rng = np.random.default_rng(13)
    t = torch.nn.GroupNorm(2, 6, dtype=torch.float64)
    m = normalization.GroupNorm(2, 6, dtype=minitorch.float64, device=device)
    assert repr(m) == repr(t)
    with torch.no_grad():
        t.weight.normal_()
        t.bias.normal_()
    load_from_torch(m, t, device)
    tx, mx = pair((3, 6, 4, 2), rng, device)
    t_out, m_out = t(tx), m(mx)
    close(m_out, t_out)
    backward_both(m_out, t_out, rng)
    close(mx.grad, tx.grad)
    check_param_grads(m, t)


# -- dropout ---------------------------------------------------------------------------------
@pytest.mark.parametrize("p", [0.2, 0.5, 0.9])
def test_dropout_statistics_scaling_and_gradient(p, device):
    x = minitorch.ones(200, 500, dtype=minitorch.float64, device=device, requires_grad=True)
    y = F.dropout(x, p)
    a = y.detach().numpy_view()
    zero = a == 0
    # the fraction of zeros is p within 5 binomial standard deviations
    assert abs(zero.mean() - p) < 5 * math.sqrt(p * (1 - p) / a.size)
    np.testing.assert_allclose(a[~zero], 1 / (1 - p), rtol=1e-12)  # survivors scaled
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy_view(), a)  # gradient = the scaled mask


def test_dropout_eval_identity_extremes_inplace_and_seed(device):
    x = minitorch.randn(50, 40, dtype=minitorch.float64, device=device)
    m = dropout.Dropout(0.5)
    m.eval()
    assert m(x) is x
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x
    assert (F.dropout(x, 1.0).numpy_view() == 0).all()
    minitorch.manual_seed(3)
    a = F.dropout(x, 0.3).numpy_view()
    minitorch.manual_seed(3)
    z = x.clone()
    out = dropout.Dropout(0.3, inplace=True)(z)
    assert out is z
    np.testing.assert_array_equal(z.numpy_view(), a)  # same seed, same mask
    assert repr(dropout.Dropout(0.2, True)) == "Dropout(p=0.2, inplace=True)"
    with pytest.raises(ValueError, match=r"dropout probability has to be between 0 and 1, "
                                         r"but got 1.5"):
        F.dropout(x, 1.5)
    with pytest.raises(ValueError, match="but got -0.1"):
        dropout.Dropout(-0.1)


# -- embedding -------------------------------------------------------------------------------
@needs_torch
def test_embedding_matches_torch_with_repeats_and_padding_idx(device):
    rng = np.random.default_rng(14)
    t = torch.nn.Embedding(7, 3, padding_idx=2, dtype=torch.float64)
    m = embedding.Embedding(7, 3, padding_idx=2, dtype=minitorch.float64, device=device)
    assert repr(m) == repr(t)
    assert (m.weight.numpy_view()[2] == 0).all()  # the padding row starts at zero
    with torch.no_grad():
        t.weight[2] = 1.5  # a non-zero padding row: forward reads it, backward skips it
    load_from_torch(m, t, device)
    idx = np.array([[0, 2, 5, 0], [2, 6, 0, 1]])
    t_out = t(torch.tensor(idx))
    m_out = m(minitorch.tensor(idx, device=device))
    close(m_out, t_out)
    backward_both(m_out, t_out, rng)
    close(m.weight.grad, t.weight.grad)      # repeated 0 accumulates, row 2 stays zero
    assert (m.weight.grad.numpy_view()[2] == 0).all()
    assert (m.weight.grad.numpy_view()[0] != 0).all()
    idx32 = minitorch.tensor(idx, dtype=minitorch.int32, device=device)
    close(m(idx32), t_out)


@needs_torch
def test_embedding_max_norm_and_from_pretrained(device):
    rng = np.random.default_rng(15)
    w = rng.standard_normal((6, 4)) * 2
    t = torch.nn.Embedding(6, 4, max_norm=1.0, _weight=torch.tensor(w))
    m = embedding.Embedding(6, 4, max_norm=1.0, _weight=minitorch.tensor(w, device=device))
    assert repr(m) == repr(t)
    idx = np.array([1, 3, 3, 5])
    t_out = t(torch.tensor(idx))
    m_out = m(minitorch.tensor(idx, device=device))
    close(m_out, t_out)
    close(m.weight, t.weight)  # used rows renormalized in place, the others untouched
    e = embedding.Embedding.from_pretrained(minitorch.tensor(w, device=device))
    assert not e.weight.requires_grad
    close(e(minitorch.tensor([4], device=device)), torch.tensor(w[[4]]))


# -- recurrent layers ------------------------------------------------------------------------
RNN_CASES = [
    ("LSTM", dict(num_layers=2)),
    ("LSTM", dict(num_layers=2, batch_first=True, bidirectional=True)),
    ("GRU", dict(num_layers=2)),
    ("GRU", dict(num_layers=2, batch_first=True, bidirectional=True, bias=False)),
    ("RNN", dict(num_layers=2, batch_first=True)),
    ("RNN", dict(num_layers=2, nonlinearity="relu", bidirectional=True)),
]


@needs_torch
@pytest.mark.parametrize("cls,kw", RNN_CASES)
@pytest.mark.parametrize("initial_state", [False, True])
def test_recurrent_layers_match_torch(cls, kw, initial_state, device):
    rng = np.random.default_rng(16)
    t = getattr(torch.nn, cls)(3, 4, dtype=torch.float64, **kw)
    m = getattr(rnn, cls)(3, 4, dtype=minitorch.float64, device=device, **kw)
    assert repr(m) == repr(t)
    load_from_torch(m, t, device)
    T, N = 5, 2
    tx, mx = pair((N, T, 3) if kw.get("batch_first") else (T, N, 3), rng, device)
    dirs = 2 if kw.get("bidirectional") else 1
    hshape = (kw["num_layers"] * dirs, N, 4)
    t_args, m_args = (tx,), (mx,)
    if initial_state:
        th, mh = pair(hshape, rng, device)
        if cls == "LSTM":
            tc, mc = pair(hshape, rng, device)
            t_args, m_args = (tx, (th, tc)), (mx, (mh, mc))
        else:
            t_args, m_args = (tx, th), (mx, mh)
    t_out, t_state = t(*t_args)
    m_out, m_state = m(*m_args)
    close(m_out, t_out)
    t_states = t_state if cls == "LSTM" else (t_state,)
    m_states = m_state if cls == "LSTM" else (m_state,)
    for ms, ts in zip(m_states, t_states):
        close(ms, ts)
    # a loss through the output and every final state
    g = [rng.standard_normal(tuple(o.shape)) for o in (t_out,) + tuple(t_states)]
    t_loss = sum((o * torch.tensor(gi)).sum() for o, gi in zip((t_out,) + tuple(t_states), g))
    m_loss = sum((o * minitorch.tensor(gi, device=device)).sum()
                 for o, gi in zip((m_out,) + tuple(m_states), g))
    t_loss.backward()
    m_loss.backward()
    close(mx.grad, tx.grad)
    check_param_grads(m, t)
    if initial_state:
        for mi, ti in zip(m_args[1] if cls == "LSTM" else (m_args[1],),
                          t_args[1] if cls == "LSTM" else (t_args[1],)):
            close(mi.grad, ti.grad)


@needs_torch
@pytest.mark.parametrize("cls,batch_first", [("LSTM", False), ("GRU", True), ("RNN", False),
                                             ("LSTM", True)])
def test_recurrent_unbatched_input(cls, batch_first, device):
    rng = np.random.default_rng(17)
    t = getattr(torch.nn, cls)(3, 4, num_layers=2, batch_first=batch_first,
                               dtype=torch.float64)
    m = getattr(rnn, cls)(3, 4, num_layers=2, batch_first=batch_first, dtype=minitorch.float64,
                          device=device)
    load_from_torch(m, t, device)
    tx, mx = pair((6, 3), rng, device)
    t_out, t_state = t(tx)
    m_out, m_state = m(mx)
    close(m_out, t_out)
    close(m_state[0] if cls == "LSTM" else m_state, t_state[0] if cls == "LSTM" else t_state)


def test_recurrent_dropout_between_layers_only_in_training(device):
    m = rnn.GRU(3, 4, num_layers=2, dropout=0.5, dtype=minitorch.float64, device=device)
    x = minitorch.randn(5, 2, 3, dtype=minitorch.float64, device=device)
    m.eval()
    a, b = m(x)[0].numpy_view(), m(x)[0].numpy_view()
    np.testing.assert_array_equal(a, b)  # deterministic in eval mode
    m.train()
    c, d = m(x)[0].numpy_view(), m(x)[0].numpy_view()
    assert not np.array_equal(c, d)      # dropout between the layers while training
    with pytest.warns(UserWarning, match="num_layers greater than 1"):
        rnn.LSTM(3, 4, dropout=0.5)


@needs_torch
@pytest.mark.parametrize("cls,kw", [("RNNCell", {}), ("RNNCell", dict(nonlinearity="relu",
                                                                     bias=False)),
                                    ("LSTMCell", {}), ("GRUCell", {}), ("GRUCell",
                                                                       dict(bias=False))])
def test_cells_match_torch(cls, kw, device):
    rng = np.random.default_rng(18)
    t = getattr(torch.nn, cls)(3, 4, dtype=torch.float64, **kw)
    m = getattr(rnn, cls)(3, 4, dtype=minitorch.float64, device=device, **kw)
    assert repr(m) == repr(t)
    load_from_torch(m, t, device)
    tx, mx = pair((2, 3), rng, device)
    th, mh = pair((2, 4), rng, device)
    if cls == "LSTMCell":
        tc, mc = pair((2, 4), rng, device)
        (t_h, t_c), (m_h, m_c) = t(tx, (th, tc)), m(mx, (mh, mc))
        close(m_c, t_c)
        t_loss, m_loss = (t_h * 2 + t_c).sum(), (m_h * 2 + m_c).sum()
    else:
        t_h, m_h = t(tx, th), m(mx, mh)
        t_loss, m_loss = (t_h ** 2).sum(), (m_h ** 2).sum()
    close(m_h, t_h)
    t_loss.backward()
    m_loss.backward()
    close(mx.grad, tx.grad)
    close(mh.grad, th.grad)
    check_param_grads(m, t)
    # no state given, and unbatched
    tx1, mx1 = pair((3,), rng, device)
    t0, m0 = t(tx1), m(mx1)
    close(m0[0] if cls == "LSTMCell" else m0, t0[0] if cls == "LSTMCell" else t0)


# -- finite differences (float64, tiny shapes) -----------------------------------------------
def _leaf(shape, rng, device="cpu"):
    return minitorch.tensor(rng.standard_normal(shape), device=device, requires_grad=True)


def test_gradcheck_conv_and_im2col_col2im(device):
    rng = np.random.default_rng(19)
    x, w, b = _leaf((1, 2, 4, 4), rng, device), _leaf((2, 1, 2, 3), rng, device), \
        _leaf((2,), rng, device)
    assert gradcheck(lambda x, w, b: F.conv2d(x, w, b, stride=(2, 1), padding=1, groups=2,
                                              dilation=(1, 2)), (x, w, b))
    assert gradcheck(lambda x: F.unfold(x, 2, padding=1, stride=2), (x,))
    cols = _leaf((1, 2 * 4, 9), rng, device)
    assert gradcheck(lambda c: F.fold(c, (4, 4), 2, padding=1, stride=2), (cols,))
    # double backward: im2col and col2im differentiate each other
    x2, w2 = _leaf((1, 1, 3, 3), rng, device), _leaf((1, 1, 2, 2), rng, device)
    assert gradgradcheck(lambda x, w: F.conv2d(x, w, padding=1), (x2, w2))


def test_gradcheck_pooling_and_norms(device):
    rng = np.random.default_rng(20)
    # well-separated values keep the max-pool argmax stable under the finite differences
    vals = rng.permutation(2 * 5 * 5).reshape(1, 2, 5, 5) * 0.1
    x = minitorch.tensor(vals, device=device, requires_grad=True)
    assert gradcheck(lambda x: F.max_pool2d(x, 3, 2, 1, ceil_mode=True), (x,))
    assert gradgradcheck(lambda x: F.max_pool2d(x, 2), (x,))
    y = _leaf((1, 2, 5, 5), rng, device)
    assert gradcheck(lambda y: F.avg_pool2d(y, 3, 2, 1, ceil_mode=True,
                                            count_include_pad=False), (y,))
    assert gradcheck(lambda y: F.adaptive_avg_pool2d(y, (2, 3)), (y,))
    z, w, b = _leaf((3, 4), rng, device), _leaf((4,), rng, device), _leaf((4,), rng, device)
    assert gradcheck(lambda z, w, b: F.layer_norm(z, (4,), w, b), (z, w, b))
    z3, g3, b3 = _leaf((3, 2, 2), rng, device), _leaf((2,), rng, device), _leaf((2,), rng, device)
    assert gradcheck(lambda z, w, b: F.batch_norm(z, None, None, w, b, training=True),
                     (z3, g3, b3))
    assert gradgradcheck(lambda z: F.batch_norm(z, None, None, training=True), (z3,))


# -- default initialization ------------------------------------------------------------------
def _bounds(t):
    a = t.detach().numpy_view()
    return a.min(), a.max()


def test_default_inits_follow_pytorch_formulas():
    minitorch.manual_seed(0)
    c = conv.Conv2d(8, 16, 3, groups=2)          # fan_in = 8/2 * 9 = 36
    bound = 1 / math.sqrt(36)
    for p in (c.weight, c.bias):
        lo, hi = _bounds(p)
        assert -bound <= lo and hi <= bound
    lo, hi = _bounds(c.weight)
    assert hi > 0.9 * bound and lo < -0.9 * bound  # fills the interval (576 draws)
    assert c.weight.shape == (16, 4, 3, 3) and c.weight.dtype == minitorch.float32
    c1 = conv.Conv1d(4, 6, 5)
    assert max(abs(v) for v in _bounds(c1.weight)) <= 1 / math.sqrt(20)
    e = embedding.Embedding(300, 20)
    w = e.weight.detach().numpy_view()
    assert abs(w.mean()) < 0.03 and abs(w.std() - 1) < 0.03   # N(0, 1)
    for layer in (rnn.LSTM(5, 16, 2, bidirectional=True), rnn.GRU(5, 16), rnn.RNN(5, 16),
                  rnn.LSTMCell(5, 16), rnn.GRUCell(5, 16)):
        for p in layer.parameters():
            lo, hi = _bounds(p)
            assert -0.25 <= lo and hi <= 0.25    # U(-1/sqrt(hidden), 1/sqrt(hidden))
    lstm = rnn.LSTM(5, 16, 2, bidirectional=True)
    assert lstm.weight_ih_l1_reverse.shape == (64, 32)
    assert lstm.weight_hh_l0.shape == (64, 16) and lstm.bias_ih_l0.shape == (64,)
    bn = normalization.BatchNorm2d(5)
    assert (bn.weight.numpy_view() == 1).all() and (bn.bias.numpy_view() == 0).all()
    assert (bn.running_var.numpy_view() == 1).all() and bn.num_batches_tracked.dtype == \
        minitorch.int64
    ln = normalization.LayerNorm((2, 3))
    assert (ln.weight.numpy_view() == 1).all() and ln.bias.shape == (2, 3)


# -- reprs and errors ------------------------------------------------------------------------
@needs_torch
def test_reprs_match_torch():
    pairs = [
        (conv.Conv2d(3, 8, (3, 5), stride=2, padding=1, dilation=2, bias=False),
         torch.nn.Conv2d(3, 8, (3, 5), stride=2, padding=1, dilation=2, bias=False)),
        (conv.Unfold(2), torch.nn.Unfold(2)), (conv.Fold((4, 4), 2), torch.nn.Fold((4, 4), 2)),
        (pooling.MaxPool2d((2, 3), 1, 1, 2, True, True),
         torch.nn.MaxPool2d((2, 3), 1, 1, 2, True, True)),
        (normalization.BatchNorm1d(3, momentum=None, affine=False, track_running_stats=False),
         torch.nn.BatchNorm1d(3, momentum=None, affine=False, track_running_stats=False)),
        (embedding.Embedding(10, 3, padding_idx=-1, max_norm=1.0),
         torch.nn.Embedding(10, 3, padding_idx=-1, max_norm=1.0)),
        (rnn.RNN(3, 4, 2, nonlinearity="relu", bias=False, batch_first=True, dropout=0.5,
                 bidirectional=True),
         torch.nn.RNN(3, 4, 2, nonlinearity="relu", bias=False, batch_first=True, dropout=0.5,
                      bidirectional=True)),
    ]
    for m, t in pairs:
        assert repr(m) == repr(t)


ERROR_CASES = [
    # (name, call(m, F) in PyTorch's API; shapes are made by mk)
    ("conv rank", lambda m, F, mk: F.conv2d(mk(2, 3), mk(4, 3, 3, 3))),
    ("conv channels", lambda m, F, mk: F.conv2d(mk(2, 5, 8, 8), mk(4, 3, 3, 3))),
    ("conv groups", lambda m, F, mk: F.conv2d(mk(2, 4, 8, 8), mk(4, 3, 3, 3), groups=2)),
    ("conv divisible", lambda m, F, mk: F.conv2d(mk(2, 6, 8, 8), mk(3, 3, 3, 3), groups=2)),
    ("conv small", lambda m, F, mk: F.conv2d(mk(2, 3, 2, 2), mk(4, 3, 3, 3))),
    ("conv same strided", lambda m, F, mk: F.conv2d(mk(1, 3, 8, 8), mk(4, 3, 3, 3), stride=2,
                                                    padding="same")),
    ("conv pad string", lambda m, F, mk: F.conv2d(mk(1, 3, 8, 8), mk(4, 3, 3, 3),
                                                  padding="foo")),
    ("conv bias", lambda m, F, mk: F.conv2d(mk(1, 3, 8, 8), mk(4, 3, 3, 3), mk(3))),
    ("conv stride", lambda m, F, mk: F.conv2d(mk(1, 3, 8, 8), mk(4, 3, 3, 3), stride=0)),
    ("conv padding", lambda m, F, mk: F.conv2d(mk(1, 3, 8, 8), mk(4, 3, 3, 3), padding=-1)),
    ("pool pad", lambda m, F, mk: F.max_pool2d(mk(1, 3, 8, 8), 2, padding=2)),
    ("avgpool pad", lambda m, F, mk: F.avg_pool2d(mk(1, 3, 8, 8), 2, padding=2)),
    ("pool rank", lambda m, F, mk: F.max_pool2d(mk(2, 3), 2)),
    ("pool too small", lambda m, F, mk: F.max_pool2d(mk(1, 1, 1, 1), 2)),
    ("avgpool too small", lambda m, F, mk: F.avg_pool2d(mk(1, 1, 1, 1), 2)),
    ("avgpool divisor", lambda m, F, mk: F.avg_pool2d(mk(1, 1, 4, 4), 2, divisor_override=0)),
    ("adaptive rank", lambda m, F, mk: F.adaptive_avg_pool2d(mk(3, 4), 2)),
    ("bn one value", lambda m, F, mk: F.batch_norm(mk(1, 3), m.zeros(3, dtype=m.float64),
                                                   m.ones(3, dtype=m.float64), training=True)),
    ("bn running size", lambda m, F, mk: F.batch_norm(mk(4, 3), m.zeros(4, dtype=m.float64),
                                                      m.ones(3, dtype=m.float64),
                                                      training=True)),
    ("ln shape", lambda m, F, mk: F.layer_norm(mk(2, 3), (4,))),
    ("ln weight", lambda m, F, mk: F.layer_norm(mk(2, 3), (3,), mk(4))),
    ("bn1d rank", lambda m, F, mk: m.nn.BatchNorm1d(3)(mk(2, 3, 4, 5).float())),
    ("bn2d rank", lambda m, F, mk: m.nn.BatchNorm2d(3)(mk(2, 3, 4).float())),
    ("emb range", lambda m, F, mk: F.embedding(m.tensor([5]), mk(3, 2))),
    ("emb dtype", lambda m, F, mk: F.embedding(m.tensor([1.0]), mk(3, 2))),
    ("emb padding", lambda m, F, mk: m.nn.Embedding(3, 2, padding_idx=3)),
    ("lstm input size", lambda m, F, mk: m.nn.LSTM(3, 4).double()(mk(2, 3, 5))),
    ("lstm hidden", lambda m, F, mk: m.nn.LSTM(3, 4).double()(mk(5, 2, 3), (mk(1, 3, 4),
                                                                            mk(1, 3, 4)))),
    ("gru hidden", lambda m, F, mk: m.nn.GRU(3, 4).double()(mk(5, 2, 3), mk(2, 2, 4))),
    ("rnn nonlinearity", lambda m, F, mk: m.nn.RNN(3, 4, nonlinearity="foo")),
    ("rnn rank", lambda m, F, mk: m.nn.RNN(3, 4).double()(mk(5, 2, 3, 1))),
    ("rnn dropout", lambda m, F, mk: m.nn.RNN(3, 4, 2, dropout=1.5)),
    ("cell input", lambda m, F, mk: m.nn.RNNCell(3, 4).double()(mk(5, 2))),
    ("conv groups module", lambda m, F, mk: m.nn.Conv2d(3, 4, 3, groups=2)),
]


class _NS:
    """minitorch with ``nn`` classes looked up in this package's modules."""
    def __init__(self):
        self.__dict__.update({k: getattr(minitorch, k) for k in ("tensor", "zeros", "ones",
                                                                 "float64")})
        self.nn = type("nn", (), {})
        for mod in (conv, pooling, normalization, dropout, embedding, rnn):
            for name in mod.__all__:
                setattr(self.nn, name, getattr(mod, name))


@needs_torch
@pytest.mark.parametrize("name,call", ERROR_CASES, ids=[c[0] for c in ERROR_CASES])
def test_errors_match_torch(name, call):
    import warnings
    rng = np.random.default_rng(21)

    def run(m, f, mk):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                call(m, f, mk)
            except Exception as e:  # noqa: BLE001 - comparing whatever each raises
                return type(e), str(e)
        return None, None

    shapes = []

    def mk_t(*shape):
        a = rng.standard_normal(shape)
        shapes.append(a)
        return torch.tensor(a)

    t_type, t_msg = run(torch, TF, mk_t)
    it = iter(shapes)
    m_type, m_msg = run(_NS(), F, lambda *shape: minitorch.tensor(next(it)))
    assert t_type is not None
    assert m_type is t_type, (m_type, m_msg, t_type, t_msg)
    assert m_msg.replace("minitorch", "torch") == t_msg


def test_layers_exported_from_nn():
    """``import minitorch as torch`` code reaches every layer as ``torch.nn.X`` and every
    functional form as ``torch.nn.functional.x``."""
    for mod in (conv, pooling, normalization, dropout, embedding, rnn):
        missing = [n for n in mod.__all__ if getattr(minitorch.nn, n, None) is not
                   getattr(mod, n)]
        assert not missing, f"minitorch.nn lacks {missing} (from {mod.__name__})"
    missing = [n for n in F.__all__ if getattr(minitorch.nn.functional, n, None) is not
               getattr(F, n)]
    assert not missing, f"minitorch.nn.functional lacks {missing}"
