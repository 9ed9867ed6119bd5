"""The fused recurrent primitives (lstm_cell, gru_cell and their backwards) and the one-node
layers built on them (nn/rnn.py), on every device: primitives against PyTorch's autograd of
the same formulas, layers and cells against torch.nn with copied weights (values and every
gradient), float64 gradcheck and double backward, the graph shape, and the tracer."""
from __future__ import annotations

import numpy as np
import pytest

import minitorch
from minitorch import nn
from minitorch.autograd import gradcheck, gradgradcheck

torch = pytest.importorskip("torch")


def _be(device):
    from minitorch.device import canonical
    return canonical(device)._be


def _dev(be, a):
    return be.from_numpy(np.ascontiguousarray(a))


def _host(be, a):
    return np.asarray(be.to_numpy(a))


def _tol(dtype):
    return dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)


# -- the primitives ------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bias,upstream_dc", [(True, True), (False, False)])
def test_lstm_cell_primitives_match_torch_autograd(device, dtype, bias, upstream_dc):
    be = _be(device)
    rng = np.random.default_rng(1)
    N, H = 3, 5
    gi, gh = (rng.standard_normal((N, 4 * H)).astype(dtype) * 2 for _ in range(2))
    b = rng.standard_normal(4 * H).astype(dtype) if bias else None
    c = rng.standard_normal((N, H)).astype(dtype)
    dh = rng.standard_normal((N, H)).astype(dtype)
    dc = rng.standard_normal((N, H)).astype(dtype) if upstream_dc else None
    h2, c2, act = be.lstm_cell(_dev(be, gi), _dev(be, gh), None if b is None else _dev(be, b),
                               _dev(be, c))
    d, dcp = be.lstm_cell_backward(act, _dev(be, c), c2, _dev(be, dh),
                                   None if dc is None else _dev(be, dc))
    T = [torch.tensor(a, requires_grad=True) for a in (gi, gh, c)]
    hh = T[1] + torch.tensor(b) if bias else T[1]
    i, f, g, o = (T[0] + hh).chunk(4, 1)
    tc = f.sigmoid() * T[2] + i.sigmoid() * g.tanh()
    th = o.sigmoid() * tc.tanh()
    outs, grads = [th], [torch.tensor(dh)]
    if dc is not None:
        outs, grads = [th, tc], [torch.tensor(dh), torch.tensor(dc)]
    ggi, ggh, gc = torch.autograd.grad(outs, T, grads)
    tol = _tol(dtype)
    np.testing.assert_allclose(_host(be, h2), th.detach().numpy(), **tol)
    np.testing.assert_allclose(_host(be, c2), tc.detach().numpy(), **tol)
    acts = torch.cat([i.sigmoid(), f.sigmoid(), g.tanh(), o.sigmoid()], 1)
    np.testing.assert_allclose(_host(be, act), acts.detach().numpy(), **tol)
    np.testing.assert_allclose(_host(be, d), ggi.numpy(), **tol)
    np.testing.assert_allclose(_host(be, d), ggh.numpy(), **tol)
    np.testing.assert_allclose(_host(be, dcp), gc.numpy(), **tol)
    assert _host(be, h2).dtype == dtype and _host(be, d).dtype == dtype


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bias", [True, False])
def test_gru_cell_primitives_match_torch_autograd(device, dtype, bias):
    be = _be(device)
    rng = np.random.default_rng(2)
    N, H = 4, 3
    gi, gh = (rng.standard_normal((N, 3 * H)).astype(dtype) * 2 for _ in range(2))
    b = rng.standard_normal(3 * H).astype(dtype) if bias else None
    h = rng.standard_normal((N, H)).astype(dtype)
    dh = rng.standard_normal((N, H)).astype(dtype)
    h2, ws = be.gru_cell(_dev(be, gi), _dev(be, gh), None if b is None else _dev(be, b),
                         _dev(be, h))
    dgi, dgh, dhd = be.gru_cell_backward(ws, _dev(be, h), _dev(be, dh))
    T = [torch.tensor(a, requires_grad=True) for a in (gi, gh, h)]
    hh = T[1] + torch.tensor(b) if bias else T[1]
    i_r, i_z, i_n = T[0].chunk(3, 1)
    h_r, h_z, h_n = hh.chunk(3, 1)
    r, z = (i_r + h_r).sigmoid(), (i_z + h_z).sigmoid()
    n = (i_n + r * h_n).tanh()
    th = (T[2] - n) * z + n
    g1, g2, g3 = torch.autograd.grad(th, T, torch.tensor(dh))
    tol = _tol(dtype)
    np.testing.assert_allclose(_host(be, h2), th.detach().numpy(), **tol)
    np.testing.assert_allclose(_host(be, dgi), g1.numpy(), **tol)
    np.testing.assert_allclose(_host(be, dgh), g2.numpy(), **tol)
    np.testing.assert_allclose(_host(be, dhd), g3.numpy(), **tol)  # h's direct path
    np.testing.assert_allclose(_host(be, ws)[:, 3 * H:], h_n.detach().numpy(), **tol)


def test_cell_primitives_accept_empty_batches(device):
    be = _be(device)
    z = lambda *s: _dev(be, np.zeros(s, np.float32))  # noqa: E731
    h, c, act = be.lstm_cell(z(0, 8), z(0, 8), None, z(0, 2))
    assert _host(be, h).shape == (0, 2) and _host(be, act).shape == (0, 8)
    d, dc = be.lstm_cell_backward(act, z(0, 2), c, z(0, 2), None)
    assert _host(be, d).shape == (0, 8) and _host(be, dc).shape == (0, 2)
    h, ws = be.gru_cell(z(0, 6), z(0, 6), None, z(0, 2))
    assert _host(be, ws).shape == (0, 8)
    assert [_host(be, a).shape for a in be.gru_cell_backward(ws, z(0, 2), z(0, 2))] == [
        (0, 6), (0, 6), (0, 2)]


# -- layers: one graph node per layer and direction ------------------------------------------
def _load(m, t, device):
    with torch.no_grad():
        for (name, p) in m.named_parameters():
            p.data = minitorch.tensor(t.state_dict()[name].numpy(), device=device)


@pytest.mark.parametrize("mode", ["LSTM", "GRU", "RNN_TANH", "RNN_RELU"])
def test_layer_is_one_node_and_matches_torch_in_float32(device, mode):
    cls = {"LSTM": "LSTM", "GRU": "GRU"}.get(mode, "RNN")
    kw = {"nonlinearity": "relu"} if mode == "RNN_RELU" else {}
    torch.manual_seed(0)
    t = getattr(torch.nn, cls)(6, 8, batch_first=True, **kw)
    m = getattr(nn, cls)(6, 8, batch_first=True, device=device, **kw)
    _load(m, t, device)
    rng = np.random.default_rng(3)
    xa = rng.standard_normal((4, 7, 6)).astype(np.float32)
    tx = torch.tensor(xa, requires_grad=True)
    mx = minitorch.tensor(xa, device=device, requires_grad=True)
    to, mo = t(tx), m(mx)
    # the recurrence is one node: output <- transpose <- _RecurrentLayer
    node = mo[0].grad_fn.next_functions[0][0]
    assert type(node).__name__ == "_RecurrentLayerBackward0"
    np.testing.assert_allclose(mo[0].detach().cpu().numpy(), to[0].detach().numpy(),
                               rtol=1e-5, atol=1e-6)
    ga = rng.standard_normal(tuple(to[0].shape)).astype(np.float32)
    (to[0] * torch.tensor(ga)).sum().backward()
    (mo[0] * minitorch.tensor(ga, device=device)).sum().backward()
    np.testing.assert_allclose(mx.grad.cpu().numpy(), tx.grad.numpy(), rtol=1e-4, atol=1e-5)
    for name, p in m.named_parameters():
        np.testing.assert_allclose(p.grad.cpu().numpy(), dict(t.named_parameters())[name]
                                   .grad.numpy(), rtol=1e-4, atol=1e-5, err_msg=name)


@pytest.mark.parametrize("mode", ["LSTM", "GRU", "RNN_TANH", "RNN_RELU"])
@pytest.mark.parametrize("reverse", [False, True])
def test_layer_function_gradcheck_and_double_backward(device, mode, reverse):
    from minitorch.nn.rnn import _run_layer
    G = {"LSTM": 4, "GRU": 3}.get(mode, 1)
    rng = np.random.default_rng(4)
    # (cudasim runs each of gradgradcheck's hundreds of evaluations through the simulator:
    # a smaller problem there, still two time steps and a batch of two)
    T, N, H = (3, 2, 3) if device == "cpu" else (2, 2, 2)

    def leaf(*shape):
        return minitorch.tensor(rng.standard_normal(shape) * 0.7, dtype=minitorch.float64,
                                device=device, requires_grad=True)
    gi, h0, w, b = leaf(T, N, G * H), leaf(N, H), leaf(G * H, H), leaf(G * H)
    if mode == "RNN_RELU":  # keep the pre-activations away from relu's kink
        gi = minitorch.tensor(np.abs(gi.detach().cpu().numpy()) + 0.3, dtype=minitorch.float64,
                              device=device, requires_grad=True)
    args = [gi, h0] + ([leaf(N, H)] if mode == "LSTM" else []) + [w, b]

    def f(*a):
        gi_, h0_ = a[0], a[1]
        c0_ = a[2] if mode == "LSTM" else None
        w_, b_ = a[-2], a[-1]
        return _run_layer(gi_, h0_, c0_, w_, b_, mode, reverse)
    assert gradcheck(f, args)
    assert gradgradcheck(f, args)


@pytest.mark.parametrize("cls", ["LSTMCell", "GRUCell"])
def test_cells_fused_match_torch_and_double_backward(device, cls):
    torch.manual_seed(1)
    t = getattr(torch.nn, cls)(4, 5, dtype=torch.float64)
    m = getattr(nn, cls)(4, 5, dtype=minitorch.float64, device=device)
    _load(m, t, device)
    rng = np.random.default_rng(5)
    xa, ha, ca = (rng.standard_normal(s) for s in ((3, 4), (3, 5), (3, 5)))
    tx, th, tc = (torch.tensor(a, requires_grad=True) for a in (xa, ha, ca))
    mx, mh, mc = (minitorch.tensor(a, dtype=minitorch.float64, device=device,
                                   requires_grad=True) for a in (xa, ha, ca))
    if cls == "LSTMCell":
        to, mo = t(tx, (th, tc)), m(mx, (mh, mc))
        node = mo[0].grad_fn
        assert type(node).__name__ == "_LSTMCellFnBackward0"
        tl, ml = (to[0] ** 2).sum() + to[1].sum(), (mo[0] ** 2).sum() + mo[1].sum()
        pairs = [(mx, tx), (mh, th), (mc, tc)]
    else:
        to, mo = t(tx, th), m(mx, mh)
        assert type(mo.grad_fn).__name__ == "_GRUCellFnBackward0"
        tl, ml = (to ** 2).sum(), (mo ** 2).sum()
        pairs = [(mx, tx), (mh, th)]
    tg = torch.autograd.grad(tl, [b for _, b in pairs] + list(t.parameters()),
                             create_graph=True)
    mg = minitorch.autograd.grad(ml, [a for a, _ in pairs] + list(m.parameters()),
                                 create_graph=True)
    for a, b in zip(mg, tg):
        np.testing.assert_allclose(a.detach().cpu().numpy(), b.detach().numpy(), rtol=1e-9,
                                   atol=1e-12)
    # double backward: d/dx of sum of the squared first-order gradients
    tgg = torch.autograd.grad(sum((g ** 2).sum() for g in tg), [tx])[0]
    mgg = minitorch.autograd.grad(sum((g ** 2).sum() for g in mg), [mx])[0]
    np.testing.assert_allclose(mgg.cpu().numpy(), tgg.numpy(), rtol=1e-8, atol=1e-11)


def test_lstm_second_order_gradient_matches_torch(device):
    """create_graph through the whole-layer node (the backward replays the layer in Tensor
    ops): a gradient penalty on the input, as torch computes it."""
    torch.manual_seed(2)
    t = torch.nn.LSTM(3, 4, num_layers=2, dtype=torch.float64)
    m = nn.LSTM(3, 4, num_layers=2, dtype=minitorch.float64, device=device)
    _load(m, t, device)
    xa = np.random.default_rng(6).standard_normal((5, 2, 3))
    tx = torch.tensor(xa, requires_grad=True)
    mx = minitorch.tensor(xa, dtype=minitorch.float64, device=device, requires_grad=True)
    (tg,) = torch.autograd.grad(t(tx)[0].sum(), [tx], create_graph=True)
    (mg,) = minitorch.autograd.grad(m(mx)[0].sum(), [mx], create_graph=True)
    np.testing.assert_allclose(mg.detach().cpu().numpy(), tg.detach().numpy(), rtol=1e-9)
    (tg ** 2).sum().backward()
    (mg ** 2).sum().backward()
    for name, p in m.named_parameters():
        np.testing.assert_allclose(p.grad.cpu().numpy(), dict(t.named_parameters())[name]
                                   .grad.numpy(), rtol=1e-8, atol=1e-12, err_msg=name)


def test_zero_length_sequence_is_refused_like_torch():
    with pytest.raises(RuntimeError) as tm:
        torch.nn.LSTM(3, 4)(torch.zeros(0, 2, 3))
    with pytest.raises(RuntimeError) as mm:
        nn.LSTM(3, 4)(minitorch.zeros(0, 2, 3))
    assert str(mm.value) == str(tm.value)


def test_traced_training_step_records_the_fused_primitives_and_replays(device):
    minitorch.manual_seed(0)
    model = nn.LSTM(3, 4, device=device)
    gru = nn.GRU(4, 4, device=device)
    x = minitorch.randn(5, 2, 3, device=device)

    def step(x):
        out, _ = model(x)
        out2, _ = gru(out)
        loss = (out2 ** 2).sum()
        loss.backward()
        return loss
    g = minitorch.jit.trace(step, x)
    ops = [n.op for n in g.nodes]
    for name in ("lstm_cell", "lstm_cell_backward", "gru_cell", "gru_cell_backward"):
        assert ops.count(name) == 5, (name, ops.count(name))
    for p in list(model.parameters()) + list(gru.parameters()):
        p.grad = None
    eager = step(x).item()
    grads = [p.grad.cpu().numpy().copy() for p in model.parameters()]
    for p in list(model.parameters()) + list(gru.parameters()):
        p.grad = None
    replay = g(x)
    np.testing.assert_allclose(replay.item(), eager, rtol=1e-6)
    for p, ge in zip(model.parameters(), grads):
        np.testing.assert_allclose(p.grad.cpu().numpy(), ge, rtol=1e-5, atol=1e-7)


# -- embedding backward: one-hot matmul instead of a scatter-add -------------------------------
@pytest.mark.parametrize("big", [False, True])
def test_embedding_backward_sums_repeated_rows_like_torch(device, big, monkeypatch):
    from minitorch.nn.functional import sparse
    if big:  # the scatter-add fallback for large vocabularies
        monkeypatch.setattr(sparse, "_ONE_HOT_MAX", 0)
    rng = np.random.default_rng(7)
    wa = rng.standard_normal((11, 4))
    ia = rng.integers(0, 11, (3, 9))
    ga = rng.standard_normal((3, 9, 4))
    tw = torch.tensor(wa, requires_grad=True)
    mw = minitorch.tensor(wa, dtype=minitorch.float64, device=device, requires_grad=True)
    to = torch.nn.functional.embedding(torch.tensor(ia), tw, padding_idx=3)
    mo = minitorch.nn.functional.embedding(minitorch.tensor(ia, device=device), mw,
                                           padding_idx=3)
    np.testing.assert_array_equal(mo.detach().cpu().numpy(), to.detach().numpy())
    (to * torch.tensor(ga)).sum().backward()
    (mo * minitorch.tensor(ga, device=device)).sum().backward()
    np.testing.assert_allclose(mw.grad.cpu().numpy(), tw.grad.numpy(), rtol=1e-12,
                               atol=1e-12)
    assert mw.grad.dtype == minitorch.float64


def test_embedding_node_name_and_double_backward(device):
    idx = minitorch.tensor([[1, 1, 4], [0, 1, 2]], device=device)
    w = minitorch.randn(5, 3, dtype=minitorch.float64, device=device, requires_grad=True)
    out = minitorch.nn.functional.embedding(idx, w)
    assert type(out.grad_fn).__name__ == "EmbeddingBackward0"  # torch's name
    assert gradcheck(lambda w: minitorch.nn.functional.embedding(idx, w) ** 2, [w])
    assert gradgradcheck(lambda w: minitorch.nn.functional.embedding(idx, w) ** 2, [w])
