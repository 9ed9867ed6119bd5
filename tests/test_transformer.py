"""nn.MultiheadAttention and the Transformer family against torch: a torch module's
state_dict is loaded into the minitorch one, then outputs and input gradients are compared
(eval mode, dropout 0), batch_first both ways, with masks, norm_first, on cpu and cudasim."""
import numpy as np
import pytest

import minitorch as mt

torch = pytest.importorskip("torch")
rng = np.random.default_rng(0)


def _load(mod, tmod, device):
    sd = {k: mt.tensor(v.detach().numpy()) for k, v in tmod.state_dict().items()}
    mod.load_state_dict(sd)
    mod.to(device)
    mod.eval()
    tmod.eval()
    return mod


def _pair(shape, device, dt=np.float64):
    a = rng.standard_normal(shape).astype(dt)
    return torch.tensor(a, requires_grad=True), mt.tensor(a, device=device, requires_grad=True)


def _close(a, b, tol=1e-9):
    np.testing.assert_allclose(a.detach().cpu().numpy(), b.detach().numpy(), rtol=tol,
                               atol=tol)


def _masks(L, S, N, kind, device, mha=True):
    if kind == "none":
        return {}, {}
    if kind == "bool":  # True = masked in MHA
        m = rng.random((L, S)) < 0.3
        m[:, 0] = False
        return {"attn_mask": torch.tensor(m)}, {"attn_mask": mt.tensor(m, device=device)}
    if kind == "float":
        m = rng.standard_normal((L, S))
        return {"attn_mask": torch.tensor(m)}, {"attn_mask": mt.tensor(m, device=device)}
    if kind == "padding":
        m = np.zeros((N, S), bool)
        m[0, -2:] = True
        return ({"key_padding_mask": torch.tensor(m)},
                {"key_padding_mask": mt.tensor(m, device=device)})
    raise ValueError(kind)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("need_weights", [True, False])
@pytest.mark.parametrize("kind", ["none", "bool", "float", "padding"])
def test_mha_matches_torch(device, batch_first, need_weights, kind):
    E, H, L, S, N = 8, 2, 5, 6, 3
    tm = torch.nn.MultiheadAttention(E, H, batch_first=batch_first, dtype=torch.float64)
    m = _load(mt.nn.MultiheadAttention(E, H, batch_first=batch_first, dtype=mt.float64), tm,
              device)
    sh = (lambda n, s: (n, s, E)) if batch_first else (lambda n, s: (s, n, E))
    (tq, q), (tk, k), (tv, v) = _pair(sh(N, L), device), _pair(sh(N, S), device), \
        _pair(sh(N, S), device)
    tkw, kw = _masks(L, S, N, kind, device)
    to, tw = tm(tq, tk, tv, need_weights=need_weights, **tkw)
    o, w = m(q, k, v, need_weights=need_weights, **kw)
    _close(o, to)
    if need_weights:
        _close(w, tw)
    else:
        assert w is None
    g = rng.standard_normal(tuple(to.shape))
    to.backward(torch.tensor(g))
    o.backward(mt.tensor(g, device=device))
    for a, b in ((q, tq), (k, tk), (v, tv)):
        _close(a.grad, b.grad)
    _close(m.in_proj_weight.grad, tm.in_proj_weight.grad)


@pytest.mark.parametrize("opts", [dict(kdim=5, vdim=7), dict(add_bias_kv=True),
                                  dict(add_zero_attn=True), dict(bias=False)])
def test_mha_options_match_torch(device, opts):
    E, H, L, S, N = 6, 3, 4, 5, 2
    tm = torch.nn.MultiheadAttention(E, H, dtype=torch.float64, **opts)
    m = _load(mt.nn.MultiheadAttention(E, H, dtype=mt.float64, **opts), tm, device)
    assert set(dict(m.named_parameters())) == set(dict(tm.named_parameters()))
    (tq, q) = _pair((L, N, E), device)
    (tk, k) = _pair((S, N, opts.get("kdim", E)), device)
    (tv, v) = _pair((S, N, opts.get("vdim", E)), device)
    tkw, kw = _masks(L, S, N, "padding", device)
    for nw in (True, False):
        to, tw = tm(tq, tk, tv, need_weights=nw, **tkw)
        o, w = m(q, k, v, need_weights=nw, **kw)
        _close(o, to)
        if nw:
            _close(w, tw)
    to.sum().backward()
    o.sum().backward()
    _close(q.grad, tq.grad)
    _close(k.grad, tk.grad)


def test_mha_unbatched_and_errors(device):
    E, H = 4, 2
    tm = torch.nn.MultiheadAttention(E, H, dtype=torch.float64)
    m = _load(mt.nn.MultiheadAttention(E, H, dtype=mt.float64), tm, device)
    tq, q = _pair((3, E), device)
    to, tw = tm(tq, tq, tq, average_attn_weights=False)
    o, w = m(q, q, q, average_attn_weights=False)
    _close(o, to)
    _close(w, tw)
    with pytest.raises(AssertionError, match="divisible by num_heads"):
        mt.nn.MultiheadAttention(5, 2)
    with pytest.raises(RuntimeError, match="Need attn_mask"):
        m(q, q, q, is_causal=True)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_encoder_decoder_layers_match_torch(device, batch_first, norm_first, activation):
    d, H, ff, L, S, N = 8, 2, 16, 5, 4, 2
    kw = dict(dim_feedforward=ff, dropout=0.0, activation=activation,
              batch_first=batch_first, norm_first=norm_first)
    te = torch.nn.TransformerEncoderLayer(d, H, dtype=torch.float64, **kw)
    e = _load(mt.nn.TransformerEncoderLayer(d, H, dtype=mt.float64, **kw), te, device)
    sh = (lambda s: (N, s, d)) if batch_first else (lambda s: (s, N, d))
    ts, s = _pair(sh(S), device)
    pad = np.zeros((N, S), bool)
    pad[1, -1] = True
    to = te(ts, src_key_padding_mask=torch.tensor(pad))
    o = e(s, src_key_padding_mask=mt.tensor(pad, device=device))
    _close(o, to)
    to.sum().backward()
    o.sum().backward()
    _close(s.grad, ts.grad)

    tdl = torch.nn.TransformerDecoderLayer(d, H, dtype=torch.float64, **kw)
    dl = _load(mt.nn.TransformerDecoderLayer(d, H, dtype=mt.float64, **kw), tdl, device)
    tt, t = _pair(sh(L), device)
    tmask = torch.nn.Transformer.generate_square_subsequent_mask(L, dtype=torch.float64)
    mask = mt.nn.Transformer.generate_square_subsequent_mask(L, dtype=mt.float64).to(device)
    _close(mask, tmask)
    to = tdl(tt, ts.detach(), tgt_mask=tmask, tgt_is_causal=True,
             memory_key_padding_mask=torch.tensor(pad))
    o = dl(t, s.detach(), tgt_mask=mask, tgt_is_causal=True,
           memory_key_padding_mask=mt.tensor(pad, device=device))
    _close(o, to)
    to.sum().backward()
    o.sum().backward()
    _close(t.grad, tt.grad)


@pytest.mark.parametrize("batch_first", [False, True])
def test_transformer_matches_torch(device, batch_first):
    d, H, ff, L, S, N = 8, 2, 12, 5, 6, 2
    kw = dict(num_encoder_layers=2, num_decoder_layers=2, dim_feedforward=ff, dropout=0.0,
              batch_first=batch_first)
    tt_ = torch.nn.Transformer(d, H, dtype=torch.float64, **kw)
    tr = _load(mt.nn.Transformer(d, H, dtype=mt.float64, **kw), tt_, device)
    assert set(tr.state_dict()) == set(tt_.state_dict())
    sh = (lambda s: (N, s, d)) if batch_first else (lambda s: (s, N, d))
    (tsrc, src), (ttgt, tgt) = _pair(sh(S), device), _pair(sh(L), device)
    tmask = torch.nn.Transformer.generate_square_subsequent_mask(L, dtype=torch.float64)
    mask = mt.nn.Transformer.generate_square_subsequent_mask(L, dtype=mt.float64).to(device)
    to = tt_(tsrc, ttgt, tgt_mask=tmask)
    o = tr(src, tgt, tgt_mask=mask)
    _close(o, to, 1e-8)
    g = rng.standard_normal(tuple(to.shape))
    to.backward(torch.tensor(g))
    o.backward(mt.tensor(g, device=device))
    _close(src.grad, tsrc.grad, 1e-8)
    _close(tgt.grad, ttgt.grad, 1e-8)


def test_transformer_encoder_stack_and_float32(device):
    d, H = 8, 4
    tl = torch.nn.TransformerEncoderLayer(d, H, 16, dropout=0.0)
    te = torch.nn.TransformerEncoder(tl, 3, norm=torch.nn.LayerNorm(d),
                                     enable_nested_tensor=False)
    e = _load(mt.nn.TransformerEncoder(mt.nn.TransformerEncoderLayer(d, H, 16, dropout=0.0),
                                       3, norm=mt.nn.LayerNorm(d)), te, device)
    ts, s = _pair((7, 3, d), device, np.float32)
    mask = torch.nn.Transformer.generate_square_subsequent_mask(7)
    to = te(ts, mask=mask, is_causal=True)
    o = e(s, mask=mt.nn.Transformer.generate_square_subsequent_mask(7).to(device),
          is_causal=True)
    assert o.dtype == mt.float32
    _close(o, to, 1e-5)
