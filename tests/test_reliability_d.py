"""Reliability, part D: the disagreements with PyTorch found by tests/test_fuzz_parity.py.

Each case is a small program run on minitorch (on every test device) and on PyTorch (cpu):
the same values, dtypes and gradients, or the same exception class (and the meaningful words
of its message).  Each one failed before its fix; the fuzzer seed that found it is noted.
"""
from __future__ import annotations

import numpy as np
import pytest

import minitorch

torch = pytest.importorskip("torch")


def _plain(r):
    """Tensors (also inside tuples and lists) as (values, dtype name, shape)."""
    if hasattr(r, "detach"):
        v = r.detach().cpu()
        if str(v.dtype).split(".")[-1] in ("float16", "bfloat16"):
            v = v.float()
        return (np.asarray(v.numpy()).tolist(), str(r.dtype).split(".")[-1], tuple(r.shape))
    if isinstance(r, (tuple, list)):
        return type(r)(_plain(x) for x in r)
    return r


def _outcome(fn):
    """('ok', value) or (builtin exception class, first line of the message)."""
    try:
        r = fn()
    except Exception as e:  # noqa: BLE001 - the class is what is compared
        base = next(c for c in type(e).__mro__ if c.__module__ == "builtins")
        return base.__name__, str(e).split("\n")[0]
    return "ok", _plain(r)


def _nan_safe(v):
    """Values with NaN spelled out, so that equal results compare equal."""
    if isinstance(v, float) and v != v:
        return "nan"
    if isinstance(v, (list, tuple)):
        return type(v)(_nan_safe(x) for x in v)
    return v


def _close(got, want) -> bool:
    """Equal structure, dtypes and shapes; values equal up to float rounding (NaN == NaN)."""
    if isinstance(want, tuple) and len(want) == 3 and isinstance(want[1], str) \
            and isinstance(want[2], tuple):  # one tensor: (values, dtype, shape)
        if not (isinstance(got, tuple) and len(got) == 3 and got[1:] == want[1:]):
            return False
        g, w = np.asarray(got[0], dtype=np.float64), np.asarray(want[0], dtype=np.float64)
        return g.shape == w.shape and bool(np.allclose(g, w, rtol=1e-5, atol=1e-6,
                                                       equal_nan=True))
    if isinstance(want, (tuple, list)):
        return (isinstance(got, (tuple, list)) and len(got) == len(want)
                and all(_close(a, b) for a, b in zip(got, want)))
    return _nan_safe(got) == _nan_safe(want)


def _same(fn, dev, words=True):
    """fn(m, dev) behaves the same on minitorch (on ``dev``) and on PyTorch (cpu)."""
    got = _outcome(lambda: fn(minitorch, dev))
    want = _outcome(lambda: fn(torch, "cpu"))
    if got[0] == "ok" and want[0] == "ok":
        assert _close(got[1], want[1]), (got, want)
    elif words:
        assert got == want
    else:
        assert got[0] == want[0], (got, want)


def _t(m, dev, data, dt):
    return m.tensor(data, dtype=getattr(m, dt), device=dev)


# -- nll_loss / cross_entropy on zero-size input: PyTorch's order of checks (seed 606) ------

_NLL = [((0, 3), (0,), None), ((0, 3), (0,), 0), ((3, 0), (3,), None), ((0,), (), None),
        ((0, 0), (0,), None), ((2, 0, 3), (2, 3), None), ((2, 0, 3), (2, 3), 0),
        ((0, 2, 3), (0, 3), None), ((2, 3, 0), (2, 0), None), ((0, 3), (2,), None),
        ((2, 3), (0,), None), ((2, 3), (2, 1), None), ((3,), (0,), None),
        ((0,), (0,), None), ((3,), (1,), None), ((3,), (2,), None), ((2, 0), (2,), 0),
        ((0,), (), 0), ((2, 0, 3, 1), (2, 3, 1), None), ((2, 0, 3, 1), (2, 3, 1), 0),
        ((2, 0, 3, 1, 1), (2, 3, 1, 1), None), ((0, 0, 2), (0, 2), None)]


@pytest.mark.parametrize("loss", ["nll_loss", "cross_entropy"])
@pytest.mark.parametrize("reduction", ["mean", "none"])
@pytest.mark.parametrize("xs,ts,ignore", _NLL, ids=[f"{a}-{b}-{c}" for a, b, c in _NLL])
def test_nll_loss_zero_size_check_order(device, loss, reduction, xs, ts, ignore):
    def fn(m, dev):
        x = m.zeros(xs, device=dev, requires_grad=True)
        kw = {} if ignore is None else {"ignore_index": ignore}
        y = getattr(m.nn.functional, loss)(x, m.zeros(ts, dtype=m.int64, device=dev),
                                             reduction=reduction, **kw)
        if len(xs) == 1 and len(ts) == 1:  # PyTorch's own backward refuses this form
            return y
        y.backward(m.ones(y.shape, device=dev))
        return y, x.grad
    _same(fn, device)


# -- take: out-of-range and empty (IndexError, as PyTorch) ---------------------------------

@pytest.mark.parametrize("n,idx", [(3, [3]), (3, [-4]), (3, [-3, 2]), (0, [0]), (0, [])])
def test_take_out_of_range(device, n, idx):
    _same(lambda m, dev: m.take(m.arange(float(n), device=dev),
                                m.tensor(idx, dtype=m.int64, device=dev)), device, words=False)


# -- x ** 0.5 and x ** -0.5 at -0.0 and -inf: sqrt / rsqrt for float, double, bfloat16 ------

_POW = {"sqrt": lambda x: x.sqrt(), "**0.5": lambda x: x ** 0.5, "pow(0.5)": lambda x: x.pow(0.5),
        "rsqrt": lambda x: x.rsqrt(), "**-0.5": lambda x: x ** -0.5, "**1.5": lambda x: x ** 1.5,
        "**2.5": lambda x: x ** 2.5, "**-1.5": lambda x: x ** -1.5,
        "pow(t0.5)": lambda x: x.pow(x.new_full((), 0.5)),
        "pow(t-0.5)": lambda x: x.pow(x.new_full((), -0.5))}


@pytest.mark.parametrize("dt", ["float32", "float64", "float16", "bfloat16"])
@pytest.mark.parametrize("op", list(_POW))
def test_pow_half_at_negative_zero(device, dt, op):
    """Values and gradients, signed zeros and infinities included (fuzz seed 3179: the
    gradient of x ** 0.5 at -0.0 is -inf * g in PyTorch, as that of sqrt)."""
    res = {}
    for m, dev in ((minitorch, device), (torch, "cpu")):
        x = m.tensor([-0.0, 0.0, -1.0, float("-inf"), float("inf"), 4.0],
                     dtype=getattr(m, dt), device=dev, requires_grad=True)
        y = _POW[op](x)
        y.backward(m.tensor([1.0, 1.0, 1.0, 1.0, 1.0, -2.0], dtype=y.dtype, device=dev))
        res[m] = [np.asarray(v.detach().cpu().double().numpy()) for v in (y, x.grad)]
    for got, want in zip(res[minitorch], res[torch]):
        np.testing.assert_allclose(got, want, rtol=1e-2)
        num = ~np.isnan(want)  # (the sign of a NaN means nothing)
        assert (np.signbit(got) == np.signbit(want))[num].all(), (op, dt, got, want)
    with minitorch.no_grad():  # the no-autograd fast path too
        x = minitorch.tensor([-0.0, float("-inf")], dtype=getattr(minitorch, dt), device=device)
        got = np.asarray(_POW[op](x).double().cpu().numpy())
    want = np.asarray(_POW[op](torch.tensor([-0.0, float("-inf")],
                                            dtype=getattr(torch, dt))).double().numpy())
    np.testing.assert_array_equal(got, want)
    assert (np.signbit(got) == np.signbit(want))[~np.isnan(want)].all()


# -- embedding backward with a NaN/inf upstream gradient (fuzz seed 1224) -------------------

@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_embedding_grad_nonfinite_stays_in_its_row(device, bad):
    """The one-hot matmul backward spread 0 * NaN over every row of the weight; PyTorch's
    scatter-add keeps it in the rows the index used."""
    def fn(m, dev):
        w = m.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0]], device=dev,
                     requires_grad=True)
        y = m.nn.functional.embedding(m.tensor([[1, 2], [1, 0]], device=dev), w)
        g = m.tensor([[[bad, 1.0], [2.0, 3.0]], [[4.0, -bad], [5.0, 6.0]]], device=dev)
        y.backward(g)
        return y, w.grad
    _same(fn, device)


# -- sort / argsort argument forms: ``stable`` makes dim and descending keyword-only --------

_SORT_FORMS = {
    "x,0,True,stable": lambda f, x: f(x, 0, True, stable=True),
    "x,stable,dim": lambda f, x: f(x, stable=True, dim=0),
    "x,stable": lambda f, x: f(x, stable=True),
    "x,stable=None": lambda f, x: f(x, stable=None),
    "x,True": lambda f, x: f(x, True),
    "x,0,True": lambda f, x: f(x, 0, True),
    "x,0,True,True": lambda f, x: f(x, 0, True, True),
    "x,stable,dim,desc": lambda f, x: f(x, stable=True, dim=0, descending=True),
    "x,False,0": lambda f, x: f(x, False, 0),
    "x,False,dim": lambda f, x: f(x, False, dim=0),
    "x,0,1": lambda f, x: f(x, 0, 1),
    "x,0.5": lambda f, x: f(x, 0.5),
    "x,0,dim": lambda f, x: f(x, 0, dim=0),
    "x,bogus": lambda f, x: f(x, bogus=1),
}


@pytest.mark.parametrize("name", ["sort", "argsort"])
@pytest.mark.parametrize("method", [False, True])
@pytest.mark.parametrize("form", list(_SORT_FORMS))
def test_sort_argument_forms(device, name, method, form):
    def fn(m, dev):
        x = m.tensor([3.0, 1.0, 2.0, 1.0], device=dev)
        f = (lambda t, *a, **k: getattr(t, name)(*a, **k)) if method else getattr(m, name)
        r = _SORT_FORMS[form](f, x)
        return tuple(r) if name == "sort" else r
    _same(fn, device, words=False)


# -- index_select range errors: PyTorch's classes by dim and emptiness (seeds 1662, 1774) ----

_SEL = [((2, 3), 1, 3), ((2, 3), 1, -1), ((2, 3), 0, -1), ((3,), 0, -1), ((3,), 0, 3),
        ((), 0, 1), ((), 0, -1), ((), 0, 0), ((3, 0), 1, 0), ((0,), 0, 0), ((0, 2), 1, 2),
        ((2, 0, 3), 0, 5), ((2, 0), 0, 5), ((2, 0), 0, -1), ((2, 3, 2), 1, 3),
        ((2, 3, 2), 2, 2), ((2, 3), -1, 3), ((2, 3), 1, 2), ((2, 3, 2), 0, 2)]


@pytest.mark.parametrize("shape,dim,i", _SEL, ids=[f"{s}-{d}-{i}" for s, d, i in _SEL])
def test_index_select_range_errors(device, shape, dim, i):
    _same(lambda m, dev: m.index_select(m.zeros(shape, device=dev), dim,
                                        m.tensor([i], device=dev)), device)


# -- sub with a Python bool and alpha (seed 3134): sub's bool error, as without alpha ---------

@pytest.mark.parametrize("form", ["t-True", "t-False", "True-t", "bool-True", "t-tbool"])
@pytest.mark.parametrize("alpha", [1, 2])
def test_sub_bool_scalar_with_alpha(device, form, alpha):
    def fn(m, dev):
        t = m.tensor([1.0, 2.0], device=dev)
        b = m.tensor([True, False], device=dev)
        a, o = {"t-True": (t, True), "t-False": (t, False), "True-t": (True, t),
                "bool-True": (b, True), "t-tbool": (t, b)}[form]
        return m.sub(a, o, alpha=alpha) if isinstance(a, m.Tensor) else m.sub(a, o)
    _same(fn, device, words=False)


# -- matmul / bmm with operands of two dtypes when the product is empty or sums zero terms ---

_MM_SHAPES = [((0, 2, 3), (0, 3, 2)), ((2, 2, 0), (2, 0, 2)), ((2, 0, 3), (2, 3, 2)),
              ((2, 2, 3), (2, 3, 0)), ((2, 2, 3), (2, 3, 2)), ((2, 0), (3, 0, 2)),
              ((0, 3), (2, 3, 2)), ((2, 3), (0, 3, 2)), ((3,), (0, 3, 2)), ((0,), (2, 0, 2)),
              ((2, 2, 0), (0,)), ((0, 2, 3), (3,)), ((2, 0, 3), (3,)), ((2, 2, 0), (0, 2)),
              ((0, 2, 3), (3, 2)), ((2, 0, 3), (3, 2)), ((2, 2, 3), (3, 0)),
              ((2, 1, 2, 0), (3, 0, 2)), ((1, 2, 0), (3, 0, 2)), ((0, 2, 2, 3), (2, 3, 2)),
              ((2, 3), (3, 2)), ((2, 0), (0, 2))]
_MM_DTYPES = [("bool", "float32"), ("float32", "bool"), ("int64", "float32"),
              ("float32", "int64"), ("float64", "float32")]


@pytest.mark.parametrize("fn", ["matmul", "bmm"])
def test_matmul_two_dtypes_empty(device, fn):
    """PyTorch's bmm makes an empty product, or one over k = 0, in the second operand's dtype
    without a dtype check; mm / mv (also where matmul folds into them: should_fold, which
    looks at requires_grad and strides) check first.  Values, dtypes, gradients, classes."""
    bad = []
    for sa, sb in _MM_SHAPES:
        if fn == "bmm" and (len(sa) != 3 or len(sb) != 3):
            continue
        for da, db in _MM_DTYPES:
            for rga, rgb, ta in ((False, False, False), (True, False, False),
                                 (False, True, False), (False, False, True)):
                if (rga and "float" not in da) or (rgb and "float" not in db) \
                        or (ta and len(sa) < 2):
                    continue

                def case(m, dev):
                    a = m.zeros(sa[::-1] if ta else sa, dtype=getattr(m, da), device=dev)
                    if ta:
                        a = a.permute(*range(len(sa) - 1, -1, -1))
                    b = m.ones(sb, dtype=getattr(m, db), device=dev)
                    a.requires_grad_(rga)
                    b.requires_grad_(rgb)
                    y = getattr(m, fn)(a, b)
                    if not y.requires_grad:
                        return y
                    y.sum().backward()
                    return y, a.grad, b.grad
                got = _outcome(lambda: case(minitorch, device))
                want = _outcome(lambda: case(torch, "cpu"))
                same = (got[0] == want[0] == "ok" and _close(got[1], want[1])) or \
                    (got[0] == want[0] != "ok")
                if not same:
                    bad.append((sa, sb, da, db, rga, rgb, ta, got, want))
    assert not bad, bad[:5]


# -- found by the widened generator (cumsum/cumprod, diag/trace, einsum, nonzero, ...) -------

_NEW = {
    "topk_bool_bad_dim": lambda m, d: m.topk(m.zeros(3, dtype=m.bool, device=d), 2, dim=1),
    "topk_bool_bad_k": lambda m, d: m.topk(m.zeros(3, dtype=m.bool, device=d), 5),
    "topk_bool": lambda m, d: m.topk(m.zeros(3, dtype=m.bool, device=d), 2),
    "cumsum_int_dtype_grad": lambda m, d: m.cumsum(
        m.ones(3, device=d, requires_grad=True), 0, dtype=m.int64),
    "cumprod_int_dtype_grad": lambda m, d: m.ones(3, device=d, requires_grad=True).cumprod(
        dim=0, dtype=m.int32),
    "cumsum_int_dtype_nograd": lambda m, d: m.cumsum(m.ones(3, device=d), 0, dtype=m.int64),
    "nonzero_0d_true": lambda m, d: m.nonzero(m.tensor(2.0, device=d)),
    "nonzero_0d_false": lambda m, d: m.tensor(0.0, device=d).nonzero(),
    "argwhere_0d": lambda m, d: m.argwhere(m.tensor(True, device=d)),
    "trace_bool_1d": lambda m, d: m.trace(m.zeros(2, dtype=m.bool, device=d)),
    "trace_bool_2d": lambda m, d: m.zeros(2, 2, dtype=m.bool, device=d).trace(),
    "einsum_ii_not_square": lambda m, d: m.einsum("ii->i", m.zeros(5, 1, device=d)),
    "einsum_ii_empty": lambda m, d: m.einsum("ii->", m.zeros(0, 2, device=d)),
    "linear_bool_k0_bias": lambda m, d: m.nn.functional.linear(
        m.zeros(2, 0, dtype=m.bool, device=d), m.zeros(2, 0, dtype=m.bool, device=d),
        m.zeros(2, dtype=m.bool, device=d)),
    "linear_bool_k0_nobias": lambda m, d: m.nn.functional.linear(
        m.zeros(2, 0, dtype=m.bool, device=d), m.zeros(2, 0, dtype=m.bool, device=d)),
    "linear_bool_empty_bias": lambda m, d: m.nn.functional.linear(
        m.zeros(0, 3, dtype=m.bool, device=d), m.zeros(2, 3, dtype=m.bool, device=d),
        m.zeros(2, dtype=m.bool, device=d)),
}


@pytest.mark.parametrize("name", list(_NEW))
def test_widened_fuzzer_findings(device, name):
    _same(_NEW[name], device, words=False)


@pytest.mark.parametrize("fn", ["elu", "selu", "celu"])
@pytest.mark.parametrize("dt", ["float32", "float64", "float16", "bfloat16"])
def test_elu_small_negative_and_signed_zero(device, fn, dt):
    """alpha * expm1(x), computed in float32 for 16-bit inputs (bfloat16 elu(-0.001) was 0:
    exp(x) - 1 rounded, seed 2359); elu(-0.) = -0. (seed 2847: then ** 0.5 has gradient
    -inf).  Values with their signs and gradients."""
    res = {}
    for m, dev in ((minitorch, device), (torch, "cpu")):
        x = m.tensor([-0.0, 0.0, -0.0010138413390176557, -1.0, 2.0, -3.5], device=dev,
                     dtype=getattr(m, dt), requires_grad=True)
        y = getattr(m.nn.functional, fn)(x)
        y.backward(m.ones_like(y))
        res[m] = [np.asarray(v.detach().cpu().double().numpy()) for v in (y, x.grad)]
    for got, want in zip(res[minitorch], res[torch]):
        np.testing.assert_allclose(got, want, rtol=1e-2 if dt in ("float16", "bfloat16")
                                   else 1e-6, atol=1e-7)
    assert (np.signbit(res[minitorch][0]) == np.signbit(res[torch][0])).all()


@pytest.mark.parametrize("kw", [{"max": 0.0}, {"min": 0.0}, {"min": -0.0}, {"min": -0.0, "max": 0.0},
                                {"min": -1.0, "max": 1.0}])
def test_clamp_keeps_signed_zero(device, kw):
    got = minitorch.tensor([-0.0, 0.0, -2.0, 2.0, float("nan")], device=device).clamp(**kw)
    want = torch.tensor([-0.0, 0.0, -2.0, 2.0, float("nan")]).clamp(**kw)
    g, w = got.cpu().numpy(), want.numpy()
    np.testing.assert_array_equal(g, w)
    assert (np.signbit(g) == np.signbit(w))[~np.isnan(w)].all()


# -- einsum of two dtypes: a product PyTorch does as a broadcast mul promotes (seeds 3622,
#    4968, 5923, 6144); one that needs a bmm/dot raises, Bool first NotImplementedError ------

_EINSUM = [("bij,bij->bi", [(1, 1, 1), (1, 1, 1)], ["int32", "float32"]),
           ("ij,jk->ik", [(2, 1), (1, 3)], ["int32", "float32"]),
           ("ij,jk->ik", [(2, 1), (1, 3)], ["int32", "int32"]),
           ("ij,jk->ik", [(2, 1), (3, 3)], ["int32", "int32"]),
           ("ij,j->i", [(2, 3), (1,)], ["int32", "float32"]),
           ("ij,j->i", [(2, 3), (1,)], ["int32", "int32"]),
           ("i,j->ij", [(2,), (3,)], ["int32", "float64"]),
           ("ij,jk->k", [(2, 3), (3, 2)], ["int32", "float32"]),
           ("ij,jk->k", [(1, 3), (3, 2)], ["int32", "float32"]),
           ("ij,ij->", [(2, 3), (2, 3)], ["int32", "float32"]),
           ("ij,ij->", [(1, 1), (1, 1)], ["int32", "float32"]),
           ("ij,jk,kl->il", [(2, 1), (1, 3), (3, 2)], ["int32", "float32", "float64"]),
           ("ij,jk->ik", [(2, 1), (1, 2)], ["bool", "bool"]),
           ("ij,jk->ik", [(2, 2), (2, 2)], ["bool", "bool"]),
           ("ij,jk->ik", [(1, 2), (2, 1)], ["bool", "int32"]),
           ("ij,jk->ik", [(1, 2), (2, 1)], ["int32", "bool"]),
           ("ij,kj->ik", [(2, 1), (1, 1)], ["int32", "float32"]),
           ("ij->j", [(1, 3)], ["int32"]), ("ii->i", [(1, 1)], ["int32"]),
           ("ii->", [(1, 1)], ["int32"])]


@pytest.mark.parametrize("eq,shapes,dts", _EINSUM,
                         ids=[f"{e}-{'-'.join(d)}-{s}" for e, s, d in _EINSUM])
def test_einsum_two_dtypes(device, eq, shapes, dts):
    def fn(m, dev):
        ops = [m.tensor(np.arange(1, 1 + int(np.prod(s))).reshape(s) % 3,
                        device=dev).to(getattr(m, d)) for s, d in zip(shapes, dts)]
        return m.einsum(eq, *ops)
    _same(fn, device, words=False)


def test_einsum_two_dtypes_gradient(device):
    """The broadcast-mul path keeps the gradient (float operand of an int one)."""
    def fn(m, dev):
        a = m.tensor([[2], [3]], dtype=m.int32, device=dev)
        b = m.tensor([[1.5, -2.0, 0.5]], device=dev, requires_grad=True)
        y = m.einsum("ij,jk->ik", a, b)
        y.backward(m.ones(2, 3, device=dev))
        return y, b.grad
    _same(fn, device)


# -- cumsum / cumprod: PyTorch's sum starts from +0.0 (seed 5619); the dim is checked first
#    (seeds 9145, 9325); dtype=bool is NotImplementedError but on 0-d (seeds 9645, 10082) ---

@pytest.mark.parametrize("data", [[-0.0, 1.0], [-0.0, -0.0], [-0.0], -0.0, [[-0.0, 2.0]]],
                         ids=str)
def test_cumsum_signed_zero(device, data):
    for m, dev in ((minitorch, device), (torch, "cpu")):
        y = m.tensor(data, device=dev).cumsum(-1)
        r = np.signbit(np.asarray(y.detach().cpu().numpy()))
        if m is torch:
            assert (r == got).all(), (data, got, r)
        got = r


@pytest.mark.parametrize("op", ["cumsum", "cumprod"])
@pytest.mark.parametrize("shape", [(3,), (), (2, 3)], ids=str)
@pytest.mark.parametrize("dim", [0, 2, -3])
@pytest.mark.parametrize("dt", ["bool", "int64", "float64", None])
@pytest.mark.parametrize("grad", [False, True])
def test_cum_check_order(device, op, shape, dim, dt, grad):
    def fn(m, dev):
        x = m.ones(shape, device=dev, requires_grad=grad) * 2
        kw = {} if dt is None else {"dtype": getattr(m, dt)}
        return getattr(x, op)(dim, **kw)
    _same(fn, device, words=False)


# -- norm: the default p='fro' takes at most two dims (seed 8644); 'nuc' is refused clearly;
#    dim=() means every dim for sum, mean, var, std, norm, count_nonzero (not for all/any) ---

@pytest.mark.parametrize("kw", [{"dim": (0, 1, 2)}, {"p": "fro", "dim": (0, 1, 2)},
                                {"p": 1, "dim": (0, 1, 2)}, {"p": 2, "dim": (2, 0, 1)},
                                {"dim": (0, 1)}, {"dim": 1}, {}, {"dim": ()},
                                {"p": 1, "dim": ()}, {"p": "fro", "dim": (1, 2)}], ids=str)
def test_norm_dims(device, kw):
    _same(lambda m, dev: m.tensor(np.arange(24.0).reshape(2, 3, 4) - 11,
                                  device=dev).norm(**kw), device)


def test_norm_nuclear_is_a_clear_error():
    with pytest.raises(NotImplementedError, match="nuc"):
        minitorch.ones(2, 2).norm(p="nuc")


@pytest.mark.parametrize("f", ["sum", "mean", "var", "std", "count_nonzero", "amax", "amin",
                               "all", "any"])
@pytest.mark.parametrize("dim", [(), []], ids=["tuple", "list"])
def test_empty_dim_list(device, f, dim):
    def fn(m, dev):
        x = m.tensor([[1.0, -2.0, 0.0], [4.0, 0.5, 3.0]], device=dev)
        if f in ("all", "any"):
            x = x > 0
        return getattr(m, f)(x, dim=dim)
    _same(fn, device)


# -- more fuzz findings (seeds 10318 .. 19547, cudasim 3564) ---------------------------------

@pytest.mark.parametrize("xs,ws", [((1, 1, 0), (1, 0)), ((2, 0, 0), (3, 0)), ((0, 2), (3, 2))],
                         ids=str)
def test_linear_zero_size_leading_dims(device, xs, ws):
    """An input with no elements and a zero-size last dim: no reshape(-1, 0) (seed 10318)."""
    def fn(m, dev):
        x = m.zeros(xs, device=dev, requires_grad=True)
        w = m.zeros(ws, device=dev, requires_grad=True)
        b = m.ones(ws[0], device=dev, requires_grad=True)
        y = m.nn.functional.linear(x, w, b)
        y.backward(m.ones(y.shape, device=dev))
        return y, x.grad, w.grad, b.grad
    _same(fn, device)


def test_sum_checks_dim_before_dtype(device):
    """seed 9325: the dim is out of range before the dtype needs a gradient."""
    _same(lambda m, dev: m.ones(3, device=dev, requires_grad=True).sum(1, dtype=m.int64),
          device, words=False)


@pytest.mark.parametrize("red", ["none", "mean", "sum"])
@pytest.mark.parametrize("kw", [{"ignore_index": 0, "label_smoothing": 0.1},
                                {"ignore_index": 0}], ids=str)
def test_cross_entropy_no_classes(device, red, kw):
    """seed 14042: label smoothing over 0 classes is NaN (PyTorch's ls / C in floating
    point), not a ZeroDivisionError."""
    _same(lambda m, dev: m.nn.functional.cross_entropy(
        m.zeros(0, device=dev, requires_grad=True), m.tensor(0, device=dev), reduction=red,
        **kw), device)


@pytest.mark.parametrize("rows", [[[float("inf"), 2.0, 3.0], [1.0, 2.0, 0.0]],
                                  [[float("nan"), 2.0, 3.0], [1.0, 2.0, 0.0]],
                                  [[0.0, float("inf"), 2.0], [1.0, 2.0, 4.0]],
                                  [[float("inf"), 2.0, 3.0], [1.0, 2.0, 4.0]]], ids=str)
@pytest.mark.parametrize("dim", [1, 0, None])
def test_prod_gradient_rule(device, rows, dim):
    """seed 14326: with a zero anywhere in the input PyTorch's prod gradient is the product
    of the other elements (exclusive cumprods: exact where inf meets 0), else g*prod/x."""
    def fn(m, dev):
        x = m.tensor(rows, dtype=m.float64, device=dev, requires_grad=True)
        y = x.prod() if dim is None else x.prod(dim)
        g = m.tensor(0.0 if dim is None else [0.0, 1.0, 2.0][:y.shape[0]], dtype=m.float64,
                     device=dev)
        y.backward(g)
        return y, x.grad
    _same(fn, device)


@pytest.mark.parametrize("x", [[[1.0, 0.0, 3.0], [2.0, 5.0, 7.0]],
                               [[1.5, 0.5, 3.0], [2.0, 5.0, 7.0]],
                               [[0.0, 0.0, 3.0], [2.0, 5.0, 7.0]]], ids=str)
def test_prod_gradgrad(device, x):
    t = minitorch.tensor(x, dtype=minitorch.float64, device=device, requires_grad=True)
    for f in (lambda a: a.prod(1), lambda a: a.prod(0, keepdim=True), lambda a: a.prod()):
        assert minitorch.autograd.gradcheck(f, (t,))
        assert minitorch.autograd.gradgradcheck(f, (t,))


@pytest.mark.parametrize("dt", ["float32", "float16", "bfloat16"])
def test_std_of_one_value_gradient_dtype(device, dt):
    """seed 15262: std with no degrees of freedom: the NaN/inf gradient keeps x's dtype."""
    def fn(m, dev):
        x = m.tensor(1.5, dtype=getattr(m, dt), device=dev, requires_grad=True)
        v = x * 1  # (a leaf's .grad is cast to its dtype anyway: ask for the node's output)
        with __import__("warnings").catch_warnings():
            __import__("warnings").simplefilter("ignore")
            y = v.std()
        return y, m.autograd.grad(y, v)[0]
    _same(fn, device)


def test_max_all_nan_gradient_goes_only_to_the_max(device):
    """seed 16372: max()/min() over all elements: the others get 0 even for a NaN gradient
    (PyTorch's CPU masked_fill); amax keeps mask * g."""
    def fn(m, dev):
        x = m.tensor([[1.0, 2.0], [0.5, 3.0]], device=dev, requires_grad=True)
        x.max().backward(m.tensor(float("nan"), device=dev))
        a = x.grad
        x.grad = None
        x.min().backward(m.tensor(float("nan"), device=dev))
        b = x.grad
        x.grad = None
        x.amax().backward(m.tensor(float("nan"), device=dev))
        return a, b, x.grad
    _same(fn, device)


@pytest.mark.parametrize("dt", ["float32", "float64", "float16", "bfloat16"])
def test_tan_is_one_node_with_pytorchs_gradient(device, dt):
    """seed 17721: tan is a primitive (TanBackward0, g·(1 + tan²) in the output's dtype:
    float16 overflow gives inf there, and 0 · inf = NaN, as PyTorch), not sin/cos."""
    def fn(m, dev):
        x = m.tensor([-4.7109375, 0.3, 1.2, float("inf"), -0.0], dtype=getattr(m, dt),
                     device=dev, requires_grad=True)
        y = x.tan()
        assert type(y.grad_fn).__name__ == "TanBackward0"
        y.backward(m.tensor([0.0, 1.0, -2.0, 1.0, 1.0], dtype=y.dtype, device=dev))
        return y, x.grad
    _same(fn, device)
    x = minitorch.tensor([0.3, -1.1], dtype=minitorch.float64, device=device,
                         requires_grad=True)
    assert minitorch.autograd.gradgradcheck(minitorch.tan, (x,))


@pytest.mark.parametrize("kw", [{}, {"nan": 1.0}, {"posinf": 3.0, "neginf": -2.0}], ids=str)
@pytest.mark.parametrize("dt", ["float32", "float64", "float16", "bfloat16", "int64", "bool"])
def test_nan_to_num(device, kw, dt):
    def fn(m, dev):
        data = [float("nan"), float("inf"), -float("inf"), 1.5, -0.0]
        if dt in ("int64", "bool"):
            return m.nan_to_num(m.tensor([0, 1, 2], device=dev).to(getattr(m, dt)), **kw)
        x = m.tensor(data, dtype=getattr(m, dt), device=dev, requires_grad=True)
        y = x.nan_to_num(**kw)
        y.backward(m.ones(5, dtype=y.dtype, device=dev))
        z = x.detach().clone()
        z.nan_to_num_(**kw)
        return y, x.grad, z
    _same(fn, device)


def test_dot_of_empty_bools_is_refused(device):
    """seed 14564: dot has no Bool kernel, even for empty vectors (mm skips empties)."""
    _same(lambda m, dev: m.dot(m.zeros(0, dtype=m.bool, device=dev),
                               m.zeros(0, dtype=m.bool, device=dev)), device)
    _same(lambda m, dev: m.mm(m.zeros(2, 0, dtype=m.bool, device=dev),
                              m.zeros(0, 3, dtype=m.bool, device=dev)), device)


@pytest.mark.parametrize("shape,perm,dims", [((3, 4), (1, 0), (0,)), ((3, 4), (1, 0), (1,)),
                                              ((2, 3, 4), (2, 0, 1), (0,)),
                                              ((2, 3, 4), (1, 2, 0), (0, 2)),
                                              ((4, 6), None, (0,))], ids=str)
def test_flip_keeps_the_layout(device, shape, perm, dims):
    """seed 11292: flip's result has its input's memory order (PyTorch's empty_like with
    preserve_format), so a later view succeeds or fails as in PyTorch."""
    def fn(m, dev):
        x = m.arange(float(np.prod(shape)), device=dev).reshape(shape)
        x = x.permute(*perm) if perm else x[:, ::2]
        y = x.flip(dims)
        return y, y.stride(), y.is_contiguous()
    _same(fn, device)


def test_cross_entropy_ignored_rows_pass_nan_back(device):
    """cudasim seed 3564: the fused kernel's ignored rows are 0·p (NaN where the row's
    softmax is NaN), as PyTorch's log_softmax backward, not a hard 0."""
    def fn(m, dev):
        x = m.tensor([[float("nan"), -2.5], [1.0, 2.0]], device=dev, requires_grad=True)
        y = m.nn.functional.cross_entropy(x, m.tensor([0, 1], device=dev), reduction="sum",
                                          ignore_index=0)
        y.backward()
        return y, x.grad
    _same(fn, device)


# -- fuzz findings, seeds 20000-60000 ----------------------------------------------------

@pytest.mark.parametrize("dt", ["bfloat16", "float16", "float32"])
def test_pow_scalar_takes_the_tensors_16bit_dtype(device, dt):
    """seed 20577: PyTorch's pow casts a Python float to a 16-bit tensor's dtype (bfloat16
    x ** 1.004 is x ** 1.0078125; the backward's (-0.) ** (1e-3 - 1) is (-0.) ** -1.0)."""
    def fn(m, dev):
        x = m.tensor([-0.0, 0.0, 3.0, 100.0], dtype=getattr(m, dt), device=dev,
                     requires_grad=True)
        y = x.pow(1e-3)
        y.backward(m.tensor([1.0, -1.0, 1.0, 1.0], dtype=y.dtype, device=dev))
        return y, x.grad, x.detach() ** 1.004, 1.004 ** x.detach()
    _same(fn, device)


def test_pow_gradients_with_infinite_upstream(device):
    """seeds 22177, 29034: the exponent's gradient is g times the masked factor (inf·0 is
    NaN there), the base's a where (0 even for an infinite g); 0 ** b has -inf·g for b < 0."""
    def fn(m, dev):
        a = m.tensor([0.0, 0.0, 2.0, 0.0], device=dev, requires_grad=True)
        b = m.tensor([0.5, -1.0, 0.0, 0.0], device=dev, requires_grad=True)
        y = a ** b
        y.backward(m.tensor([float("inf"), 1.0, float("inf"), 2.0], device=dev))
        e = m.tensor([0.5, -2.0, 0.0, -1.0], device=dev, requires_grad=True)
        z = 0 ** e
        z.backward(m.tensor([1.0, 1.0, 1.0, 0.0], device=dev))
        return y, a.grad, b.grad, z, e.grad
    _same(fn, device)


def test_kl_div_target_gradient_is_pytorchs_two_terms(device):
    """seed 20061: xlogy(g, t) (masked at t = 0) + g·t/t: an infinite g meets log(1) = 0
    as NaN, t = 0 gives NaN, as PyTorch."""
    def fn(m, dev):
        x = m.tensor([-float("inf"), -1.5, -0.5, 0.3], device=dev, requires_grad=True)
        t = m.tensor([2.0, 0.0, 1.0, 1.0], device=dev, requires_grad=True)
        y = m.nn.functional.kl_div(x, t, reduction="none")
        y.backward(m.tensor([1.0, 1.0, float("inf"), 0.0], device=dev))
        return y, x.grad, t.grad
    _same(fn, device)


@pytest.mark.parametrize("dt", ["float16", "bfloat16"])
def test_16bit_composites_round_once(device, dt):
    """seeds 24947, 26735: float16/bfloat16 sigmoid and round(decimals=) compute in float32
    and round once, as PyTorch (bfloat16 sigmoid(4.5) is 0.98828125, not 0.9921875; float16
    (-2.0507).round(decimals=1) is -2.1); binary cross-entropy rounds every step, as
    PyTorch's kernel does in Half arithmetic."""
    def fn(m, dev):
        d = getattr(m, dt)
        x = m.tensor([4.5, -2.0507, 0.3, -7.25, 1.0], dtype=d, device=dev)
        p, t = x.sigmoid(), (x * 0.5).sigmoid()
        return (p, x.round(decimals=1), x.round(decimals=2),
                m.nn.functional.binary_cross_entropy(p, t, reduction="none"))
    _same(fn, device)


@pytest.mark.parametrize("dt", ["float16", "bfloat16"])
@pytest.mark.parametrize("kw", [{"dim": 1}, {"dim": 0}, {"dim": 2, "keepdim": True}, {}],
                         ids=str)
def test_16bit_prod_rounds_after_every_multiply_on_cpu(dt, kw):
    """seed 39022: PyTorch's CPU float16/bfloat16 prod rounds each product, in order (its
    sum accumulates in float32)."""
    g = np.random.default_rng(0)
    data = g.standard_normal((40, 7, 3))
    got = minitorch.tensor(data, dtype=getattr(minitorch, dt)).prod(**kw)
    want = torch.tensor(data).to(getattr(torch, dt)).prod(**kw)
    np.testing.assert_array_equal(got.float().numpy(), want.float().numpy())


def test_clamp_bounds_in_the_16bit_dtype_for_the_gradient(device):
    """seed 39063: float16 clamp(min=1e-12) is clamp(min=0), in the backward too."""
    def fn(m, dev):
        x = m.tensor([0.0, 1e-3, -1.0], dtype=m.float16, device=dev, requires_grad=True)
        y = x.clamp(min=1e-12)
        y.backward(m.tensor([float("nan"), 1.0, 1.0], dtype=m.float16, device=dev))
        return y, x.grad
    _same(fn, device)


@pytest.mark.parametrize("args", [(1, 5), ((1, 2), (0, 9)), (1, None)], ids=str)
def test_roll_of_an_empty_tensor_checks_no_dims(device, args):
    """seeds 22193, 42637."""
    _same(lambda m, dev: m.roll(m.zeros(0, 3, device=dev), *args), device)


def test_sum_with_dtype_gives_the_gradient_in_the_inputs_dtype(device):
    """seed 46097: (a @ b).sum(0, dtype=float64) backward reached the float32 matmul with a
    float64 gradient (a RuntimeError)."""
    def fn(m, dev):
        a = m.ones(2, 3, device=dev, requires_grad=True)
        b = m.ones(3, 2, device=dev, requires_grad=True)
        (a @ b).sum(0, dtype=m.float64).sum().backward()
        c = m.ones(3, dtype=m.float16, device=dev, requires_grad=True)
        c.sum(dtype=m.float32).backward()
        return a.grad, b.grad, c.grad
    _same(fn, device)


def test_add_alpha_scales_in_the_result_dtype(device):
    """seed 49180: -0. + (-1)·False is -0. (False·-1 in float64 is -0.), as PyTorch."""
    def fn(m, dev):
        x = m.tensor([-0.0, 0.0, -0.0, 0.0], dtype=m.float64, device=dev)
        b = m.tensor([False, False, True, True], device=dev)
        return (1 / m.add(x, b, alpha=-1), 1 / m.add(x, m.tensor([0, 0, 1, 1], device=dev),
                                                      alpha=-1))
    _same(fn, device)


def test_nan_to_num_gradient_is_g_times_isfinite(device):
    """seed 54426: a NaN gradient stays NaN at a replaced position (PyTorch's g·isfinite)."""
    def fn(m, dev):
        x = m.tensor([1.0, float("inf"), float("nan")], device=dev, requires_grad=True)
        y = x.nan_to_num()
        assert type(y.grad_fn).__name__ == "NanToNumBackward0"
        y.backward(m.tensor([float("nan"), float("nan"), 1.0], device=dev))
        return y, x.grad
    _same(fn, device)


@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, float("inf")])
def test_normalize_is_pytorchs_composition(device, p):
    """seed 39063: the vector norm node, clamped, expanded, divided (so a zero row's
    gradient is 1/eps, a NaN row's NaN)."""
    def fn(m, dev):
        x = m.tensor([[0.0, 0.0], [3.0, -4.0], [1.0, float("nan")]], device=dev,
                     requires_grad=True)
        y = m.nn.functional.normalize(x, p=p, dim=1)
        y.backward(m.ones(3, 2, device=dev))
        return y, x.grad
    _same(fn, device)


@pytest.mark.filterwarnings("ignore:Using a target size")
def test_smooth_l1_mse_l1_broadcast_before_promoting(device):
    """seed 34827: PyTorch broadcasts the pair first, so a 0-d float64 target beside a
    float32 input gives float64 (huber_loss does not broadcast)."""
    def fn(m, dev):
        x = m.tensor([0.2, 2.3], device=dev)
        t = m.tensor(0.9, dtype=m.float64, device=dev)
        F = m.nn.functional
        return [f(a, b) for f in (F.smooth_l1_loss, F.mse_loss, F.l1_loss, F.huber_loss)
                for a, b in ((x, t), (t, x))]
    _same(fn, device)


@pytest.mark.parametrize("call", ["prod()", "prod(0)", "prod(0, keepdim=True)"])
def test_prod_two_zeros_rule_is_only_for_the_whole_product(device, call):
    """cudasim seed 19127: prod() with two zeros gives zero gradients, prod(dim) the
    exclusive products (0 · -inf is NaN there), as PyTorch."""
    def fn(m, dev):
        x = m.tensor([-float("inf"), 1.0, 0.0, 1.0, 0.0], device=dev, requires_grad=True)
        y = eval("x." + call)
        y.backward(m.ones(y.shape, device=dev))
        return y, x.grad
    _same(fn, device)


@pytest.mark.parametrize("row", [[2.0, 3.0, 4.0], [2.0, 0.0, 4.0, 5.0], [0.0, 3.0, 0.0, 5.0],
                                 [1.5, float("inf"), 2.0], [float("nan"), 2.0, 3.0],
                                 [0.0, float("inf"), 2.0, 0.0, 3.0], [0.0, 0.0]], ids=str)
def test_cumprod_gradient_is_pytorchs(device, row):
    """seeds 4901, 22664, 24191, 75535: cumprod is one node (CumprodBackward0) with
    PyTorch's gradient: reversed_cumsum(out·g)/x without zeros (inf/inf is NaN there, as
    PyTorch's), exact products before and at the first zero, 0 after it."""
    def fn(m, dev):
        x = m.tensor([row, row[::-1]], dtype=m.float64, device=dev, requires_grad=True)
        y = x.cumprod(1)
        assert type(y.grad_fn).__name__ == "CumprodBackward0"
        y.backward(m.tensor([[1.0, -2.0, 0.5, 1.0, 2.0][:len(row)]] * 2, dtype=m.float64,
                            device=dev))
        return y, x.grad
    _same(fn, device)


@pytest.mark.parametrize("x", [[[0.3, 0.0, 1.2, 2.0], [1.5, 0.5, 0.0, 0.0]],
                               [[0.3, 0.7, 1.2, 2.0], [1.5, 0.5, -1.0, 3.0]]], ids=str)
@pytest.mark.parametrize("dim", [0, 1])
def test_cumprod_gradgrad_with_zeros(device, x, dim):
    t = minitorch.tensor(x, dtype=minitorch.float64, device=device, requires_grad=True)
    assert minitorch.autograd.gradcheck(lambda a: a.cumprod(dim), (t,))
    assert minitorch.autograd.gradgradcheck(lambda a: a.cumprod(dim), (t,))


@pytest.mark.parametrize("dt", ["float16", "bfloat16"])
def test_16bit_linear_with_bias_rounds_once_on_cpu(dt):
    """seed 88948: PyTorch's addmm sums product and bias in float32 and rounds once."""
    g = np.random.default_rng(0)
    xwb = g.standard_normal((30, 20)), g.standard_normal((10, 20)), g.standard_normal(10)
    got = minitorch.nn.functional.linear(*[minitorch.tensor(v).to(getattr(minitorch, dt))
                                           for v in xwb])
    want = torch.nn.functional.linear(*[torch.tensor(v).to(getattr(torch, dt)) for v in xwb])
    np.testing.assert_array_equal(got.float().numpy(), want.float().numpy())


@pytest.mark.parametrize("f", ["silu", "mish"])
@pytest.mark.parametrize("dt", ["float32", "float64", "float16", "bfloat16"])
def test_silu_mish_are_one_node_with_pytorchs_gradient(device, f, dt):
    """seed 12222: silu (mish) as x·σ(x) composed gave the product rule's g·σ + g·x·σ',
    inf - inf = NaN for an infinite g; PyTorch's SiluBackward0 is g·σ·(1 + x(1 - σ))."""
    def fn(m, dev):
        d = getattr(m, dt)
        x = m.tensor([1.96, -7.63, 8.98, -0.0, float("nan"), 30.0, -30.0, float("inf")],
                     dtype=d, device=dev, requires_grad=True)
        y = getattr(m.nn.functional, f)(x)
        assert type(y.grad_fn).__name__ == f.title() + "Backward0"
        y.backward(m.tensor([float("inf"), -float("inf"), 1.0, 1.0, 1.0, 2.0, -1.0, 1.0],
                            dtype=d, device=dev))
        return y, x.grad
    got = _outcome(lambda: fn(minitorch, device))
    want = _outcome(lambda: fn(torch, "cpu"))
    assert got[0] == want[0] == "ok", (got, want)
    for a, b in zip(got[1], want[1]):
        np.testing.assert_allclose(np.asarray(a[0], dtype=float), np.asarray(b[0], dtype=float),
                                   rtol=1e-2 if dt in ("float16", "bfloat16") else 1e-6)
    x = minitorch.tensor([0.3, -1.2, 2.0], dtype=minitorch.float64, device=device,
                         requires_grad=True)
    assert minitorch.autograd.gradgradcheck(getattr(minitorch.nn.functional, f), (x,))


@pytest.mark.parametrize("expr", ["True // x", "x // True", "True % x", "x % False",
                                  "m.fmod(x, True)", "2 // x"])
def test_bool_floor_division_with_a_python_bool(device, expr):
    """seeds 110601, 135399: a Python bool with a bool tensor has no floor-division kernel
    (NotImplementedError), whichever side it is on."""
    def fn(m, dev):
        x = m.tensor([True, False], device=dev)
        return eval(expr)
    _same(fn, device, words=False)


@pytest.mark.parametrize("dt", ["float16", "bfloat16"])
def test_16bit_mean_log2_log10_round_once(dt):
    """seeds 121130, 122418: float16/bfloat16 mean (and mse_loss's mean) sum and divide in
    float32, log2/log10 divide the float32 log: one rounding each, as PyTorch (bfloat16
    log2(2.) was 0.99609375)."""
    g = np.random.default_rng(0)
    data = g.standard_normal((500, 7))
    a, b = minitorch.tensor(data).to(getattr(minitorch, dt)), \
        torch.tensor(data).to(getattr(torch, dt))
    F, TF = minitorch.nn.functional, torch.nn.functional
    for got, want in ((a.mean(1), b.mean(1)), (a.mean(), b.mean()),
                      (F.mse_loss(a, a * 0.3), TF.mse_loss(b, b * 0.3)),
                      (F.mse_loss(a, a * 0.3, reduction="sum"),
                       TF.mse_loss(b, b * 0.3, reduction="sum"))):
        np.testing.assert_array_equal(got.float().numpy(), want.float().numpy())
    v = np.array([2.0, 4.0, 8.0, 0.5, 1000.0, 100.0, 10.0, 3.0, 0.0, -1.0, np.inf])
    for f in ("log2", "log10"):
        got = getattr(minitorch.tensor(v).to(getattr(minitorch, dt)), f)()
        want = getattr(torch.tensor(v).to(getattr(torch, dt)), f)()
        np.testing.assert_array_equal(got.float().numpy(), want.float().numpy())
    x = minitorch.tensor(data[:2], dtype=getattr(minitorch, dt), requires_grad=True)
    x.mean().backward()
    assert x.grad.dtype == x.dtype


def test_relu_keeps_negative_zero(device):
    """seeds 139565, 165078: relu(-0.) is -0. (PyTorch's clamp_min), so 1/relu(-0.) = -inf."""
    def fn(m, dev):
        x = m.tensor([-0.0, 0.0, -1.0, float("nan"), 2.0], device=dev)
        return 1 / m.relu(x), 1 / m.nn.functional.relu(x.double())
    _same(fn, device)


def test_remainder_zero_has_the_dividends_sign(device):
    """seed 158283: PyTorch's remainder is fmod moved into the divisor's sign; a zero keeps
    fmod's sign (-6 % 3 is -0.; NumPy's is +0.)."""
    def fn(m, dev):
        a = m.tensor([-0.0, 0.0, 6.0, -6.0, 6.0, -6.0, 5.5, -5.5], device=dev)
        b = m.tensor([3.0, -3.0, 3.0, 3.0, -3.0, -3.0, 2.0, 2.0], device=dev)
        return 1 / (a % b), 1 / (a % 3), 1 / (7.0 % b), 1 / (a.double() % 2)
    _same(fn, device)


def test_pow_of_minus_inf_by_a_broadcast_half(device):
    """seed 154211: an exponent array that is all 0.5 (expanded) takes NumPy's sqrt path;
    C's pow (PyTorch's) gives (-inf) ** 0.5 = inf."""
    def fn(m, dev):
        a = m.tensor([1.03, -float("inf"), -0.558, -0.0], device=dev)
        return a ** m.tensor([0.5], device=dev).expand(4), a ** m.tensor([0.5], device=dev)
    _same(fn, device)


@pytest.mark.parametrize("dt", ["float16", "bfloat16"])
@pytest.mark.parametrize("dim", [0, 1])
def test_16bit_scatter_add_sums_in_float32(dt, dim):
    """seed 163857: PyTorch's CPU scatter_add of float16/bfloat16 sums each destination's
    updates in float32 and rounds x + sum once."""
    g = np.random.default_rng(0)
    base = g.standard_normal((50, 4) if dim == 0 else (200, 4))
    src = g.standard_normal((200, 4))
    idx = g.integers(0, 50 if dim == 0 else 4, (200, 4))
    got = minitorch.tensor(base).to(getattr(minitorch, dt)).scatter_add(
        dim, minitorch.tensor(idx), minitorch.tensor(src).to(getattr(minitorch, dt)))
    want = torch.tensor(base).to(getattr(torch, dt)).scatter_add(
        dim, torch.tensor(idx), torch.tensor(src).to(getattr(torch, dt)))
    np.testing.assert_array_equal(got.float().numpy(), want.float().numpy())


@pytest.mark.parametrize("dim", [1, 5, -3, 0])
def test_cat_of_only_empty_vectors_ignores_dim(device, dim):
    """seeds 183558, 243019: when every input is a 1-D empty tensor (the legacy skip rule),
    PyTorch returns an empty tensor of the promoted dtype without checking ``dim``."""
    _same(lambda m, dev: m.cat([m.zeros(0, dtype=m.float16, device=dev),
                                m.zeros(0, device=dev)], dim), device)


@pytest.mark.parametrize("dt", ["float16", "bfloat16"])
@pytest.mark.parametrize("kw", [{}, {"beta": 2, "threshold": 20}, {"beta": 0.5, "threshold": 1}],
                         ids=str)
def test_16bit_softplus_rounds_once(dt, kw):
    """seed 175876."""
    x = np.random.default_rng(0).standard_normal(2000) * 4
    got = minitorch.nn.functional.softplus(minitorch.tensor(x).to(getattr(minitorch, dt)), **kw)
    want = torch.nn.functional.softplus(torch.tensor(x).to(getattr(torch, dt)), **kw)
    np.testing.assert_array_equal(got.float().numpy(), want.float().numpy())

