"""Focused regression tests for what tests/programs/ found missing or wrong (issue #19)."""
from __future__ import annotations

import numpy as np
import pytest

import minitorch

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("args", [(2, 3), (torch.Size([2, 3]),), ([1, 2],), ((2, 3),), ()],
                         ids=["sizes", "Size", "list", "tuple-data", "empty"])
@pytest.mark.parametrize("dtype", ["float32", "int64"])
def test_legacy_tensor_new(args, dtype, device):
    # word_language_model's init_hidden: weight.new(nlayers, bsz, nhid).zero_()
    t = torch.ones(2, dtype=getattr(torch, dtype))
    m = minitorch.ones(2, dtype=getattr(minitorch, dtype), device=device)
    margs = tuple(minitorch.Size(a) if isinstance(a, torch.Size) else a for a in args)
    want, got = t.new(*args), m.new(*margs)
    assert tuple(got.shape) == tuple(want.shape)
    assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
    assert got.device == m.device
    if args and not isinstance(args[0], (int, torch.Size)):  # data, not sizes
        np.testing.assert_array_equal(got.cpu().numpy(), want.numpy())


def test_legacy_tensor_new_error():
    with pytest.raises(TypeError, match="new()"):
        minitorch.ones(2).new(2, [3])


def _lr_sequence(lib, build, steps=30):
    p = lib.nn.Parameter(lib.zeros(2))
    opt = lib.optim.SGD([p], lr=0.5)
    sched = build(lib.optim.lr_scheduler, opt)
    out = []
    for _ in range(steps):
        opt.step()
        sched.step()
        out.append((opt.param_groups[0]["lr"], sched.get_last_lr()[0]))
    return out, sched


_SCHEDULES = {
    "warmup-cosine": lambda L, o: L.SequentialLR(
        o, [L.LinearLR(o, start_factor=0.1, total_iters=10),
            L.CosineAnnealingLR(o, T_max=15, eta_min=1e-3)], milestones=[10]),
    "three-phases": lambda L, o: L.SequentialLR(
        o, [L.ExponentialLR(o, gamma=0.9), L.StepLR(o, step_size=3, gamma=0.5),
            L.MultiStepLR(o, milestones=[4, 8], gamma=0.3)], milestones=[5, 12]),
    "chained": lambda L, o: L.ChainedScheduler(
        [L.ExponentialLR(o, gamma=0.95), L.StepLR(o, step_size=4, gamma=0.5)]),
}


@pytest.mark.parametrize("name", sorted(_SCHEDULES))
def test_sequential_and_chained_schedulers_match_torch(name):
    # regression_scheduler.py: SequentialLR(warmup, cosine) did not exist
    import torch.optim  # noqa: F401
    want, tsched = _lr_sequence(torch, _SCHEDULES[name])
    got, msched = _lr_sequence(minitorch, _SCHEDULES[name])
    np.testing.assert_allclose(np.array(got), np.array(want), rtol=1e-12, atol=0)
    # state_dict carries the children's states and reloads
    sd = msched.state_dict()
    assert len(sd["_schedulers"]) == len(tsched.state_dict()["_schedulers"])
    msched.load_state_dict(sd)


def test_sequential_lr_errors():
    import torch.optim  # noqa: F401
    for lib in (torch, minitorch):
        p = lib.nn.Parameter(lib.zeros(2))
        opt = lib.optim.SGD([p], lr=0.5)
        L = lib.optim.lr_scheduler
        with pytest.raises(ValueError, match="one more than the number of milestone points"):
            L.SequentialLR(opt, [L.StepLR(opt, 2), L.StepLR(opt, 3)], milestones=[1, 2])
        with pytest.raises(ValueError, match="does not support `ReduceLROnPlateau`"):
            L.SequentialLR(opt, [L.StepLR(opt, 2), L.ReduceLROnPlateau(opt)], milestones=[1])


# -- Tensor repr: suffixes wrap at the line width as in PyTorch (custom_function.py) --------
@pytest.mark.parametrize("n", [3, 5, 7, 9])
@pytest.mark.parametrize("grad", [False, True])
def test_repr_suffix_wraps_like_torch(n, grad):
    a = np.linspace(-3, 3, n)

    def make(lib):
        t = lib.tensor(a, dtype=lib.float64, requires_grad=grad)
        return t * 2 if grad else t
    want = repr(make(torch))
    got = repr(make(minitorch))
    # the line breaks where PyTorch's does, though "minitorch." is longer than "torch."
    assert got.replace("minitorch.", "torch.") == want


def test_repr_suffix_wrap_uses_pytorchs_line_length():
    # 79 columns in PyTorch's spelling: one line there, so one line here (83 columns)
    x = minitorch.tensor([1.0, 2.5, 1.0004e-3, float("inf")], dtype=minitorch.float16)
    t = torch.tensor([1.0, 2.5, 1.0004e-3, float("inf")], dtype=torch.float16)
    assert "\n" not in repr(t) and repr(x).replace("minitorch.", "torch.") == repr(t)


def test_repr_suffix_wrap_exact():
    x = minitorch.tensor(np.linspace(-3, 3, 7), dtype=minitorch.float64, requires_grad=True)
    assert repr(x * 2).splitlines()[1] == "       grad_fn=<MulBackward0>)"
    assert "\n" not in repr(minitorch.tensor([1.0, 2.0], dtype=minitorch.float64))


# -- torch.diag / diagonal (char_rnn.py's confusion.diag()) -----------------------------------
@pytest.mark.parametrize("shape,args", [((4,), ()), ((4,), (1,)), ((3,), (-2,)),
                                        ((3, 5), ()), ((5, 3), (1,)), ((4, 4), (-1,)),
                                        ((2, 3), (5,))])
def test_diag_matches_torch(shape, args, device):
    a = np.random.default_rng(0).standard_normal(shape)
    t = torch.tensor(a, requires_grad=True)
    m = minitorch.tensor(a, requires_grad=True, device=device)
    want, got = torch.diag(t, *args), minitorch.diag(m, *args)
    np.testing.assert_array_equal(got.detach().cpu().numpy(), want.detach().numpy())
    g = np.random.default_rng(1).standard_normal(tuple(want.shape))
    want.backward(torch.tensor(g))
    got.backward(minitorch.tensor(g, device=device))
    np.testing.assert_allclose(m.grad.cpu().numpy(), t.grad.numpy())
    np.testing.assert_array_equal(m.detach().diag(*args).cpu().numpy(), want.detach().numpy())


@pytest.mark.parametrize("args", [(), (1,), (-1, 0, 2), (0, 2, 1), (1, -1, -2)])
def test_diagonal_matches_torch(args, device):
    a = np.random.default_rng(2).standard_normal((3, 4, 5))
    t = torch.tensor(a, requires_grad=True)
    m = minitorch.tensor(a, requires_grad=True, device=device)
    want, got = t.diagonal(*args), m.diagonal(*args)
    np.testing.assert_array_equal(got.detach().cpu().numpy(), want.detach().numpy())
    want.sum().backward()
    got.sum().backward()
    np.testing.assert_array_equal(m.grad.cpu().numpy(), t.grad.numpy())


def test_diag_errors():
    for lib in (torch, minitorch):
        with pytest.raises(RuntimeError, match=r"diag\(\): Supports 1D or 2D tensors. Got 3D"):
            lib.diag(lib.ones(2, 2, 2))
        with pytest.raises(RuntimeError, match="diagonal dimensions cannot be identical 1, 1"):
            lib.ones(3, 3).diagonal(0, 1, 1)
        with pytest.raises(IndexError, match="Dimension out of range"):
            lib.ones(3).diagonal()


# -- nn.utils.rnn: pad/pack and packed input to RNN/LSTM/GRU (char_rnn.py) ------------------
def _seqs(lib, lengths, feat=3, seed=0, device="cpu"):
    rng = np.random.default_rng(seed)
    kw = {} if lib is torch else {"device": device}
    return [lib.tensor(rng.standard_normal((n, feat)), dtype=lib.float64, requires_grad=True,
                       **kw) for n in lengths]


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("side", ["right", "left"])
def test_pad_sequence_matches_torch(batch_first, side, device):
    from torch.nn.utils.rnn import pad_sequence as tpad
    from minitorch.nn.utils.rnn import pad_sequence as mpad
    want = tpad(_seqs(torch, [2, 4, 1]), batch_first=batch_first, padding_value=-1.0,
                padding_side=side)
    got = mpad(_seqs(minitorch, [2, 4, 1], device=device), batch_first=batch_first,
               padding_value=-1.0, padding_side=side)
    np.testing.assert_array_equal(got.detach().cpu().numpy(), want.detach().numpy())


@pytest.mark.parametrize("enforce_sorted,lengths", [(True, [4, 2, 2, 1]),
                                                     (False, [2, 4, 1, 2])])
def test_pack_and_unpack_match_torch(enforce_sorted, lengths, device):
    import torch.nn.utils.rnn as T
    import minitorch.nn.utils.rnn as M
    tp = T.pack_sequence(_seqs(torch, lengths), enforce_sorted=enforce_sorted)
    mp = M.pack_sequence(_seqs(minitorch, lengths, device=device),
                         enforce_sorted=enforce_sorted)
    np.testing.assert_array_equal(mp.data.detach().cpu().numpy(), tp.data.detach().numpy())
    assert mp.batch_sizes.tolist() == tp.batch_sizes.tolist()
    for a, b in ((mp.sorted_indices, tp.sorted_indices),
                 (mp.unsorted_indices, tp.unsorted_indices)):
        assert (a is None) == (b is None) and (a is None or a.tolist() == b.tolist())
    tpad, tlen = T.pad_packed_sequence(tp, batch_first=True, total_length=6)
    mpad, mlen = M.pad_packed_sequence(mp, batch_first=True, total_length=6)
    np.testing.assert_array_equal(mpad.detach().cpu().numpy(), tpad.detach().numpy())
    assert mlen.tolist() == tlen.tolist()
    for a, b in zip(M.unpack_sequence(mp), T.unpack_sequence(tp)):
        np.testing.assert_array_equal(a.detach().cpu().numpy(), b.detach().numpy())


def test_pack_errors():
    import torch.nn.utils.rnn as T
    import minitorch.nn.utils.rnn as M
    for lib, R in ((torch, T), (minitorch, M)):
        with pytest.raises(RuntimeError, match="must be sorted in decreasing order"):
            R.pack_padded_sequence(lib.zeros(3, 2, 1), [1, 3])


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("bidirectional,layers,batch_first", [(False, 1, True),
                                                              (True, 2, False)])
def test_rnn_on_packed_sequence_matches_torch(kind, bidirectional, layers, batch_first, device):
    import torch.nn.utils.rnn as T
    import minitorch.nn.utils.rnn as M
    lengths = [3, 5, 1, 3]
    tnet = getattr(torch.nn, kind)(3, 4, num_layers=layers, bidirectional=bidirectional,
                                   batch_first=batch_first).double()
    mnet = getattr(minitorch.nn, kind)(3, 4, num_layers=layers, bidirectional=bidirectional,
                                       batch_first=batch_first).double().to(device)
    mnet.load_state_dict({k: minitorch.tensor(v.detach().numpy())
                          for k, v in tnet.state_dict().items()})
    ts, ms = _seqs(torch, lengths), _seqs(minitorch, lengths, device=device)
    tpad = T.pad_sequence(ts, batch_first=batch_first)
    mpad = M.pad_sequence(ms, batch_first=batch_first)
    tp = T.pack_padded_sequence(tpad, lengths, batch_first=batch_first, enforce_sorted=False)
    mp = M.pack_padded_sequence(mpad, lengths, batch_first=batch_first, enforce_sorted=False)
    dirs = 2 if bidirectional else 1
    h0 = np.random.default_rng(5).standard_normal((layers * dirs, 4, 4))
    th0, mh0 = torch.tensor(h0), minitorch.tensor(h0, device=device)
    if kind == "LSTM":
        th0, mh0 = (th0, th0 * 0.5), (mh0, mh0 * 0.5)
    tout, th = tnet(tp, th0)
    mout, mh = mnet(mp, mh0)
    assert isinstance(mout, M.PackedSequence)
    np.testing.assert_allclose(mout.data.detach().cpu().numpy(), tout.data.detach().numpy(),
                               rtol=1e-10, atol=1e-12)
    th, mh = (th if kind == "LSTM" else (th,)), (mh if kind == "LSTM" else (mh,))
    for a, b in zip(mh, th):
        np.testing.assert_allclose(a.detach().cpu().numpy(), b.detach().numpy(),
                                   rtol=1e-10, atol=1e-12)
    (tout.data.sum() + sum(h.sum() for h in th)).backward()
    (mout.data.sum() + sum(h.sum() for h in mh)).backward()
    for a, b in zip(ms, ts):
        np.testing.assert_allclose(a.grad.cpu().numpy(), b.grad.numpy(), rtol=1e-9, atol=1e-11)


# -- return_types: x.max(dim) / topk / sort print as PyTorch's (tensor_tutorial.py) ---------
@pytest.mark.parametrize("op", ["max", "min", "sort", "topk"])
def test_return_types_repr_and_fields(op):
    a = np.array([[0.5, -1.0, 2.0], [3.0, 0.25, -0.5]], np.float32)
    call = {"max": lambda L, t: L.max(t, dim=1), "min": lambda L, t: t.min(1),
            "sort": lambda L, t: L.sort(t, dim=1), "topk": lambda L, t: t.topk(2)}[op]
    want, got = call(torch, torch.tensor(a)), call(minitorch, minitorch.tensor(a))
    assert repr(got).replace("minitorch.", "torch.") == repr(want)
    assert type(got).__name__ == type(want).__name__ == op
    values, indices = got
    assert values is got.values and indices is got[1]
    assert isinstance(got, tuple) and got._fields == ("values", "indices")


# -- cumsum / cumprod (tensor_tutorial.py) ----------------------------------------------------
@pytest.mark.parametrize("op", ["cumsum", "cumprod"])
@pytest.mark.parametrize("shape,dim", [((7,), 0), ((3, 5), 1), ((4, 3, 2), 0), ((2, 9), -1),
                                       ((1,), 0), ((0, 3), 0), ((), 0)])
def test_cumulative_matches_torch(op, shape, dim, device):
    a = np.random.default_rng(3).uniform(-1.5, 1.5, shape)
    if a.size > 2:
        a.flat[1] = 0.0  # cumprod's gradient through a zero needs no division
    t = torch.tensor(a, requires_grad=True)
    m = minitorch.tensor(a, requires_grad=True, device=device)
    want, got = getattr(torch, op)(t, dim), getattr(m, op)(dim=dim)
    np.testing.assert_allclose(got.detach().cpu().numpy(), want.detach().numpy(), rtol=1e-12,
                               atol=1e-14)
    if a.size:
        g = np.random.default_rng(4).standard_normal(shape)
        want.backward(torch.tensor(g))
        got.backward(minitorch.tensor(g, device=device))
        np.testing.assert_allclose(m.grad.cpu().numpy(), t.grad.numpy(), rtol=1e-10,
                                   atol=1e-12)


@pytest.mark.parametrize("dtype,arg", [("int32", None), ("bool", None), ("int64", "float32"),
                                       ("float32", "float64")])
def test_cumulative_dtypes_match_torch(dtype, arg):
    a = np.array([1, 0, 2, 3], dtype=dtype)
    for op in ("cumsum", "cumprod"):
        kw = {} if arg is None else {"dtype": getattr(torch, arg)}
        mkw = {} if arg is None else {"dtype": getattr(minitorch, arg)}
        want = getattr(torch, op)(torch.tensor(a), 0, **kw)
        got = getattr(minitorch, op)(minitorch.tensor(a), 0, **mkw)
        assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
        np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_cumulative_errors():
    for lib in (torch, minitorch):
        with pytest.raises(IndexError, match="Dimension out of range"):
            lib.cumsum(lib.ones(2, 2), 2)
        with pytest.raises(TypeError):
            lib.cumsum(lib.ones(2, 2))


# -- einsum / trace (tensor_tutorial.py) ------------------------------------------------------
_EINSUM = [("ij,jk->ik", [(3, 4), (4, 5)]), ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
           ("ii->i", [(4, 4)]), ("ii", [(4, 4)]), ("ij->", [(3, 4)]), ("i,j->ij", [(3,), (4,)]),
           ("bhqd,bhkd->bhqk", [(2, 3, 4, 5), (2, 3, 6, 5)]), ("...ij,...jk", [(2, 3, 4), (4, 5)]),
           ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 5)]), ("i,i->", [(5,), (5,)]),
           ("ijk->kji", [(2, 3, 4)]), ("bn,anm,bm->ba", [(2, 3), (4, 3, 5), (2, 5)]),
           ("ij,ij->ij", [(1, 4), (3, 4)]), ("ij", [(2, 3)]), ("ba", [(2, 3)])]


@pytest.mark.parametrize("eq,shapes", _EINSUM, ids=[e for e, _ in _EINSUM])
def test_einsum_matches_torch(eq, shapes, device):
    rng = np.random.default_rng(5)
    arrs = [rng.standard_normal(s) for s in shapes]
    ts = [torch.tensor(a, requires_grad=True) for a in arrs]
    ms = [minitorch.tensor(a, requires_grad=True, device=device) for a in arrs]
    want, got = torch.einsum(eq, *ts), minitorch.einsum(eq, *ms)
    assert tuple(got.shape) == tuple(want.shape)
    np.testing.assert_allclose(got.detach().cpu().numpy(), want.detach().numpy(), rtol=1e-10,
                               atol=1e-12)
    g = rng.standard_normal(tuple(want.shape))
    want.backward(torch.tensor(g))
    got.backward(minitorch.tensor(g, device=device))
    for a, b in zip(ms, ts):
        np.testing.assert_allclose(a.grad.cpu().numpy(), b.grad.numpy(), rtol=1e-10,
                                   atol=1e-12)


def test_einsum_list_operands_and_errors():
    a = np.arange(6.0).reshape(2, 3)
    want = torch.einsum("ij,kj->ik", [torch.tensor(a), torch.tensor(a)])
    got = minitorch.einsum("ij,kj->ik", [minitorch.tensor(a), minitorch.tensor(a)])
    np.testing.assert_allclose(got.numpy(), want.numpy())
    for lib in (torch, minitorch):
        with pytest.raises(RuntimeError, match="number of subscripts in the equation"):
            lib.einsum("ijk->i", lib.ones(2, 3))


def test_trace_matches_torch(device):
    a = np.random.default_rng(6).standard_normal((4, 3))
    t = torch.tensor(a, requires_grad=True)
    m = minitorch.tensor(a, requires_grad=True, device=device)
    want, got = torch.trace(t), m.trace()
    np.testing.assert_allclose(got.item(), want.item())
    want.backward()
    got.backward()
    np.testing.assert_array_equal(m.grad.cpu().numpy(), t.grad.numpy())
    for lib in (torch, minitorch):
        with pytest.raises(RuntimeError, match="expected a matrix"):
            lib.trace(lib.ones(3))


# -- tensor repr: elements per line as PyTorch (dcgan.py printed 7 where PyTorch prints 8) --
@pytest.mark.parametrize("shape", [(8,), (9,), (2, 8), (2, 9), (3, 10), (2, 2, 8), (2, 2, 9),
                                   (3, 3, 3, 9), (4, 20)])
@pytest.mark.parametrize("scale", [1.0, 1000.0, 1e-3])
@pytest.mark.parametrize("kind", ["float", "int"])
def test_repr_line_wrapping_matches_torch(shape, scale, kind):
    a = np.random.default_rng(0).standard_normal(shape) * scale
    a = np.round(a).astype(np.int64) if kind == "int" else a.astype(np.float32)
    assert repr(minitorch.tensor(a)).replace("minitorch.", "torch.") == repr(torch.tensor(a))


# -- ConvTranspose1d/2d (dcgan.py) ------------------------------------------------------------
_CT = [  # N, Cin, H, W, Cout, k, stride, padding, output_padding, groups, dilation
    (2, 4, 3, 3, 6, 4, 1, 0, 0, 1, 1), (2, 4, 5, 4, 2, 4, 2, 1, 0, 1, 1),
    (1, 4, 3, 5, 6, 3, 2, 1, 1, 2, 1), (2, 2, 4, 4, 3, 3, 1, 2, 0, 1, 2),
    (1, 3, 2, 2, 2, 2, 3, 0, 2, 1, 1), (1, 2, 3, 3, 2, 3, 1, 1, 1, 1, 2),
    (1, 2, 3, 3, 2, 3, 1, 0, 1, 1, 2)]


@pytest.mark.parametrize("case", _CT, ids=[str(c) for c in _CT])
def test_conv_transpose2d_matches_torch(case, device):
    n, cin, h, w, cout, k, s, p, op, g, d = case
    rng = np.random.default_rng(1)
    arrs = (rng.standard_normal((n, cin, h, w)), rng.standard_normal((cin, cout // g, k, k)),
            rng.standard_normal(cout))
    ts = [torch.tensor(a, requires_grad=True) for a in arrs]
    ms = [minitorch.tensor(a, requires_grad=True, device=device) for a in arrs]
    want = torch.nn.functional.conv_transpose2d(*ts, s, p, op, g, d)
    got = minitorch.nn.functional.conv_transpose2d(*ms, stride=s, padding=p, output_padding=op,
                                                   groups=g, dilation=d)
    assert tuple(got.shape) == tuple(want.shape)
    np.testing.assert_allclose(got.detach().cpu().numpy(), want.detach().numpy(), rtol=1e-10,
                               atol=1e-10)
    gr = rng.standard_normal(tuple(want.shape))
    want.backward(torch.tensor(gr))
    got.backward(minitorch.tensor(gr, device=device))
    for a, b in zip(ms, ts):
        np.testing.assert_allclose(a.grad.cpu().numpy(), b.grad.numpy(), rtol=1e-10, atol=1e-10)


def test_conv_transpose_modules_match_torch():
    for kind, shape in (("ConvTranspose2d", (2, 3, 4, 5)), ("ConvTranspose1d", (2, 3, 6))):
        kw = dict(stride=2, padding=1, output_padding=1, bias=True)
        t = getattr(torch.nn, kind)(3, 4, 3, **kw).double()
        m = getattr(minitorch.nn, kind)(3, 4, 3, **kw).double()
        assert repr(m) == repr(t)
        assert [(k, tuple(v.shape)) for k, v in m.state_dict().items()] == \
            [(k, tuple(v.shape)) for k, v in t.state_dict().items()]
        m.load_state_dict({k: minitorch.tensor(v.detach().numpy())
                           for k, v in t.state_dict().items()})
        x = np.random.default_rng(2).standard_normal(shape)
        np.testing.assert_allclose(m(minitorch.tensor(x)).detach().numpy(),
                                   t(torch.tensor(x)).detach().numpy(), rtol=1e-10, atol=1e-12)
    # output_size picks the output_padding
    t = torch.nn.ConvTranspose2d(2, 2, 3, stride=2).double()
    m = minitorch.nn.ConvTranspose2d(2, 2, 3, stride=2).double()
    m.load_state_dict({k: minitorch.tensor(v.detach().numpy()) for k, v in t.state_dict().items()})
    x = np.random.default_rng(3).standard_normal((1, 2, 4, 4))
    want = t(torch.tensor(x), output_size=[10, 10])
    got = m(minitorch.tensor(x), output_size=[10, 10])
    assert tuple(got.shape) == tuple(want.shape) == (1, 2, 10, 10)
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-10)
    assert minitorch.nn.modules.conv.ConvTranspose2d is minitorch.nn.ConvTranspose2d


# -- tensor repr: the column width comes from the nonzero finite values (transformer_lm.py) --
@pytest.mark.parametrize("values", [[0.0, -np.inf], [1.0, -np.inf], [0.0, 1.5, -np.inf],
                                    [np.nan, 2.5, 100.0], [1e-5, np.nan, 3.0],
                                    [-100.0, -np.inf, 0.0], [12345.0, np.inf],
                                    [0.001, 1000.5, np.nan]])
@pytest.mark.parametrize("column", [False, True])
def test_repr_width_ignores_zeros_and_nonfinite_like_torch(values, column):
    a = np.array(values, np.float32)
    a = a.reshape(-1, 1) if column else a
    assert repr(minitorch.tensor(a)).replace("minitorch.", "torch.") == repr(torch.tensor(a))
    m = np.log(np.tril(np.ones((3, 3), np.float32)))  # the causal mask of transformer_lm.py
    assert repr(minitorch.tensor(m)).replace("minitorch.", "torch.") == repr(torch.tensor(m))


# -- torch.bincount (attention_classifier.py) -------------------------------------------------
@pytest.mark.parametrize("weights", [None, "float32", "float64", "int64"])
@pytest.mark.parametrize("minlength", [0, 7])
def test_bincount_matches_torch(weights, minlength, device):
    x = np.array([1, 3, 3, 0, 5, 3], np.int64)
    w = None if weights is None else np.array([0.5, 1, 1, 2, 3, 0.25]).astype(weights)
    want = torch.bincount(torch.tensor(x), None if w is None else torch.tensor(w), minlength)
    got = minitorch.bincount(minitorch.tensor(x, device=device),
                             weights=None if w is None else minitorch.tensor(w, device=device),
                             minlength=minlength)
    assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
    np.testing.assert_array_equal(got.cpu().numpy(), want.numpy())
    assert minitorch.tensor(x).bincount().tolist() == torch.tensor(x).bincount().tolist()


def test_bincount_empty_and_errors():
    for lib in (torch, minitorch):
        e = lib.bincount(lib.tensor([], dtype=lib.int64))
        assert tuple(e.shape) == (0,) and str(e.dtype).endswith("int64")
        for bad in (lib.tensor([-1, 2]), lib.tensor([[1]])):
            with pytest.raises(RuntimeError, match="1-d non-negative integral inputs"):
                lib.bincount(bad)
        with pytest.raises(NotImplementedError, match="not implemented for 'Float'"):
            lib.bincount(lib.tensor([1.5]))
        with pytest.raises(RuntimeError, match="minlength should be >= 0"):
            lib.bincount(lib.tensor([1]), minlength=-1)
        with pytest.raises(RuntimeError, match="weights should be 1-d and have the same length"):
            lib.bincount(lib.tensor([1, 2]), weights=lib.ones(3))
