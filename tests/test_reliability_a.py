"""Regression tests for the reliability issue, part A: lost gradients, elementwise ops,
reductions, losses and activations.  Each test runs the same code on minitorch (every
device) and on PyTorch and compares; the issue's examples are the inputs."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import minitorch

from conftest import DEVICES

torch = pytest.importorskip("torch")


def _np(t):
    if isinstance(t, minitorch.Tensor):
        return np.asarray(t.detach().cpu().numpy())
    return t.detach().numpy()


def _close(mine, ref, rtol=1e-6, atol=1e-7):
    """minitorch result vs PyTorch result: same dtype, shape and values (NaN where NaN)."""
    if ref is None or mine is None:
        assert mine is None and ref is None, (mine, ref)
        return
    assert str(mine.dtype).replace("minitorch.", "") == str(ref.dtype).replace("torch.", ""), \
        (mine.dtype, ref.dtype)
    assert tuple(mine.shape) == tuple(ref.shape), (mine.shape, ref.shape)
    np.testing.assert_allclose(_np(mine).astype(np.float64), _np(ref).astype(np.float64),
                               rtol=rtol, atol=atol, equal_nan=True)


def _both(fn, device):
    """fn(m, dev) with minitorch on ``device`` and with PyTorch on cpu."""
    return fn(minitorch, device), fn(torch, "cpu")


# ---------------------------------------------------------------------------------------
# 1. lost gradients: a node that receives only None still releases its children


def _pass_first(m):
    class PassFirst(m.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            return a + b

        @staticmethod
        def backward(ctx, g):
            return g, None
    return PassFirst


def test_none_gradient_edge_keeps_subgraph(device):
    def run(m, dev):
        x = m.tensor([1.0, 2.0], device=dev, requires_grad=True)
        y = x * 2
        _pass_first(m).apply(y.exp(), y.sin()).sum().backward()
        return x.grad
    mine, ref = _both(run, device)
    assert mine is not None
    _close(mine, ref)


def test_none_gradient_edge_autograd_grad(device):
    def run(m, dev):
        x = m.tensor([1.0, 2.0], device=dev, requires_grad=True)
        y = x * 2
        out = _pass_first(m).apply(y.exp(), (y * 3).sin())
        return m.autograd.grad(out.sum(), x)[0]
    mine, ref = _both(run, device)
    _close(mine, ref)


def test_none_gradient_into_user_function_gets_zeros(device):
    """PyTorch calls a user backward whose outputs got no gradient with zeros
    (materialize_grads), or with None after ``set_materialize_grads(False)``."""
    def run(m, dev, materialize):
        seen = []

        class Ident(m.autograd.Function):
            @staticmethod
            def forward(ctx, a):
                ctx.set_materialize_grads(materialize)
                return a * 1

            @staticmethod
            def backward(ctx, g):
                seen.append(None if g is None else _np(g).tolist())
                return m.ones_like(g) if g is not None else None

        x = m.tensor([1.0, 2.0], device=dev, requires_grad=True)
        _pass_first(m).apply(x.exp(), Ident.apply(x)).sum().backward()
        return x.grad, seen
    for materialize in (True, False):
        (mine, seen_m), (ref, seen_t) = run(minitorch, device, materialize), \
            run(torch, "cpu", materialize)
        assert seen_m == seen_t
        _close(mine, ref)


def test_none_gradient_hooks_see_none(device):
    def run(m, dev):
        log = []
        x = m.tensor([1.0, 2.0], device=dev, requires_grad=True)
        s = x.sin()
        s.register_hook(lambda g: log.append(("tensor", g is None)))
        s.grad_fn.register_prehook(lambda go: log.append(("pre", go[0] is None)))
        s.grad_fn.register_hook(lambda gi, go: log.append(("post", gi[0] is None)))
        _pass_first(m).apply(x.exp(), s).sum().backward()
        return x.grad, log
    (mine, log_m), (ref, log_t) = _both(run, device)
    assert log_m == log_t
    _close(mine, ref)


# ---------------------------------------------------------------------------------------
# 2. double backward through relu (ThresholdBackward) and gradient penalties


def test_double_backward_through_relu(device):
    def run(m, dev):
        x = m.tensor([1.0, -2.0, 3.0], device=dev, requires_grad=True)
        g = m.autograd.grad((x.relu() + x * x).sum(), x, create_graph=True)[0]
        return m.autograd.grad(g.sum(), x)[0]
    mine, ref = _both(run, device)
    _close(mine, ref)


def test_gradient_penalty_relu_net(device):
    def run(m, dev):
        m.manual_seed(0)
        w1 = m.tensor(np.linspace(-1, 1, 12).reshape(4, 3), dtype=m.float32, device=dev,
                      requires_grad=True)
        b1 = m.tensor([0.1, -0.2, 0.3, 0.0], device=dev, requires_grad=True)
        w2 = m.tensor([[0.5, -1.0, 2.0, 1.5]], device=dev, requires_grad=True)
        x = m.tensor([[0.5, -1.0, 2.0], [1.0, 1.0, -1.0]], device=dev, requires_grad=True)
        out = m.nn.functional.linear(m.nn.functional.linear(x, w1, b1).relu(), w2)
        g = m.autograd.grad(out.sum(), x, create_graph=True)[0]
        ((g.norm(2, dim=1) - 1) ** 2).mean().backward()
        return w1.grad, w2.grad
    (m1, m2), (t1, t2) = _both(run, device)
    assert m1 is not None
    _close(m1, t1, rtol=1e-5)
    _close(m2, t2, rtol=1e-5)


# ---------------------------------------------------------------------------------------
# 3. expm1 / log1p accurate near 0; fmod with C semantics


@pytest.mark.parametrize("dt", ["float32", "float64"])
@pytest.mark.parametrize("op", ["expm1", "log1p"])
def test_expm1_log1p_accurate_near_zero(device, dt, op):
    vals = [1e-8, -1e-10, 1e-30, 0.0, 1e-3, -0.5, 3.0]

    def run(m, dev):
        x = m.tensor(vals, dtype=getattr(m, dt), device=dev, requires_grad=True)
        y = getattr(x, op)()
        y.backward(m.ones_like(y))
        return y, x.grad, getattr(m, op)(m.tensor([1, 2], device=dev))
    (y, g, i), (ty, tg, ti) = _both(run, device)
    _close(y, ty, rtol=1e-6 if dt == "float32" else 1e-14, atol=0)
    _close(g, tg, rtol=1e-6)
    _close(i, ti)


def test_expm1_inplace_and_function(device):
    x = minitorch.tensor([1e-8, 1.0], device=device)
    assert minitorch.expm1(x).tolist() == x.expm1().tolist()
    x.expm1_()
    np.testing.assert_allclose(x.tolist(), np.expm1([1e-8, 1.0]).astype(np.float32), rtol=1e-7)


@pytest.mark.parametrize("dt", ["float32", "float64", "int32", "int64"])
def test_fmod_matches_torch(device, dt):
    if dt.startswith("float"):
        a = [-3.0, 3.0, -0.0, 5.5, -5.5, 7.0, float("inf"), 2.0]
        b = [2.0, -2.0, 1.0, 0.0, 2.5, float("inf"), 3.0, -0.75]
    else:
        a = [-7, 7, -7, 7, 0, 9]
        b = [3, 3, -3, -3, 5, 4]

    def run(m, dev):
        x = m.tensor(a, dtype=getattr(m, dt), device=dev)
        y = m.tensor(b, dtype=getattr(m, dt), device=dev)
        return (m.fmod(x, y), x.fmod(3), x.fmod(2.5), x.fmod(-2), x.fmod(y[:1]),
                x.clone().fmod_(y))
    for mine, ref in zip(*_both(run, device)):
        _close(mine, ref, rtol=1e-6, atol=1e-6)


def test_fmod_gradient_matches_torch(device):
    def run(m, dev):
        x = m.tensor([5.5, -3.2, 0.3, -7.0], dtype=m.float64, device=dev, requires_grad=True)
        y = m.tensor([2.0, 1.5, -0.2, 2.5], dtype=m.float64, device=dev, requires_grad=True)
        (m.fmod(x, y) * m.tensor([1.0, 2.0, 3.0, 4.0], dtype=m.float64, device=dev)).sum() \
            .backward()
        z = m.tensor([5.5, -3.2], device=dev, requires_grad=True)
        z.fmod(2.0).sum().backward()
        return x.grad, y.grad, z.grad
    for mine, ref in zip(*_both(run, device)):
        _close(mine, ref)


def test_fmod_errors_like_torch(device):
    for m, dev in ((minitorch, device), (torch, "cpu")):
        i = m.tensor([-7, 7], device=dev)
        with pytest.raises(RuntimeError, match="ZeroDivisionError"):
            m.fmod(i, 0)
        with pytest.raises(RuntimeError, match="ZeroDivisionError"):
            m.fmod(i, m.tensor([0, 1], device=dev))
        with pytest.raises(NotImplementedError, match="fmod.*Bool"):
            m.fmod(m.tensor([True], device=dev), m.tensor([True], device=dev))
        with pytest.raises(TypeError, match="fmod"):
            m.fmod(3, m.tensor([2.0], device=dev))


# ---------------------------------------------------------------------------------------
# 4. finite gradients where PyTorch's are finite


def _grad_of(m, dev, data, fn, dtype="float32"):
    x = m.tensor(data, dtype=getattr(m, dtype), device=dev, requires_grad=True)
    out = fn(m, x)
    out.backward(m.ones_like(out))
    return out, x.grad


@pytest.mark.parametrize("p", [2, 3, 1.5, 0.5, 1, -1, 0, math.inf, -math.inf])
@pytest.mark.parametrize("dim", [None, 1])
def test_norm_gradient_at_zero(device, p, dim):
    data = [[0.0, 0.0, 0.0], [1.0, -2.0, 0.0]]
    mine, ref = _both(lambda m, dev: _grad_of(m, dev, data, lambda m, x: x.norm(p, dim=dim)),
                      device)
    for a, b in zip(mine, ref):
        _close(a, b)


def test_norm_of_zeros_issue_example(device):
    mine, ref = _both(lambda m, dev: _grad_of(m, dev, [0.0, 0.0, 0.0], lambda m, x: x.norm()),
                      device)
    _close(mine[1], ref[1])
    assert mine[0].grad_fn.name() == ref[0].grad_fn.name()  # LinalgVectorNormBackward0


@pytest.mark.parametrize("dt", ["float32", "float64"])
def test_std_of_constant_has_zero_gradient(device, dt):
    for fn in (lambda m, x: x.std(), lambda m, x: x.std(1), lambda m, x: x.std(0, keepdim=True),
               lambda m, x: x.std(correction=0)):
        mine, ref = _both(lambda m, dev: _grad_of(m, dev, [[1.0, 1.0], [1.0, 2.0]], fn, dt),
                          device)
        for a, b in zip(mine, ref):
            _close(a, b)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_every_target_ignored(device, reduction):
    logits = np.random.default_rng(0).standard_normal((3, 4))

    def run(m, dev, create_graph):
        x = m.tensor(logits, dtype=m.float32, device=dev, requires_grad=True)
        t = m.tensor([-100, -100, -100], device=dev)
        loss = m.nn.functional.cross_entropy(x, t, reduction=reduction)
        (g,) = m.autograd.grad(loss.sum(), x, create_graph=create_graph)
        return loss, g
    for cg in (False, True):
        (l, g), (tl, tg) = run(minitorch, device, cg), run(torch, "cpu", cg)
        _close(l, tl)
        _close(g, tg)
        nl, ng = _both(lambda m, dev: _grad_of(
            m, dev, logits, lambda m, x: m.nn.functional.nll_loss(
                x.log_softmax(1), m.tensor([-100, -100, -100], device=dev),
                reduction=reduction)), device)
        _close(nl[1], ng[1])


def test_overwritten_positions_get_zero_gradient(device):
    """y = x*1; y[:1].zero_(); y.log(): the zeroed position's inf gradient stops there."""
    def run(m, dev):
        x = m.tensor([0.5, 2.0, 3.0], device=dev, requires_grad=True)
        y = x * 1
        y[:1].zero_()
        y.log().sum().backward()
        x2 = m.tensor([0.5, 2.0, 3.0], device=dev, requires_grad=True)
        z = x2 * 1
        z.fill_(0.0)
        (z.log() * 0 + z).sum().backward()
        return x.grad, x2.grad
    for a, b in zip(*_both(run, device)):
        _close(a, b)


@pytest.mark.parametrize("loss", ["smooth_l1_loss", "huber_loss"])
@pytest.mark.parametrize("param", [1.0, 0.5, 2.0])
def test_robust_losses_with_infinite_input(device, loss, param):
    data = [math.inf, 1.0, -math.inf, 0.2, -3.0, 0.0]
    kw = {"beta" if loss == "smooth_l1_loss" else "delta": param}

    def run(m, dev):
        x = m.tensor(data, device=dev, requires_grad=True)
        out = getattr(m.nn.functional, loss)(x, m.zeros(6, device=dev), reduction="sum", **kw)
        out.backward()
        return out, x.grad
    for a, b in zip(*_both(run, device)):
        _close(a, b)


@pytest.mark.parametrize("which", ["max", "min"])
@pytest.mark.parametrize("data", [[1.0, math.nan, 3.0], [1.0, math.nan, math.nan],
                                  [2.0, 5.0, 5.0], [[1.0, math.nan], [4.0, -1.0]]],
                         ids=["one_nan", "two_nans", "tie", "2d"])
def test_max_min_gradient_goes_to_nan(device, which, data):
    fns = [lambda m, x: getattr(x, which)(), lambda m, x: getattr(x, "a" + which)(),
           lambda m, x: getattr(x, which)(0)[0]]
    for fn in fns:
        mine, ref = _both(lambda m, dev: _grad_of(m, dev, data, fn), device)
        for a, b in zip(mine, ref):
            _close(a, b)
    mine, ref = _both(lambda m, dev: _grad_of(m, dev, data, fns[0]), device)
    assert mine[0].grad_fn.name() == ref[0].grad_fn.name()  # MaxBackward1 / MinBackward1


@pytest.mark.parametrize("which", ["maximum", "minimum"])
def test_maximum_minimum_nan_gradient(device, which):
    a = [math.nan, 1.0, 2.0, math.nan, 3.0]
    b = [1.0, math.nan, 2.0, math.nan, -1.0]

    def run(m, dev):
        x = m.tensor(a, device=dev, requires_grad=True)
        y = m.tensor(b, device=dev, requires_grad=True)
        out = getattr(m, which)(x, y)
        out.backward(m.tensor([1.0, 2.0, 3.0, 4.0, 5.0], device=dev))
        xs = m.tensor([math.nan, 1.0], device=dev, requires_grad=True)
        getattr(m, which)(xs, m.tensor(1.0, device=dev)).sum().backward()
        return out, x.grad, y.grad, xs.grad
    for p, q in zip(*_both(run, device)):
        _close(p, q)


@pytest.mark.parametrize("op", ["sign", "floor", "ceil", "round", "pow0"])
def test_piecewise_constant_ops_give_zero_not_nan(device, op):
    fns = {"sign": lambda m, x: x.sign(), "floor": lambda m, x: x.floor(),
           "ceil": lambda m, x: x.ceil(), "round": lambda m, x: x.round(),
           "pow0": lambda m, x: x ** 0}

    def run(m, dev):
        x = m.tensor([0.5, -1.5, 2.0], device=dev, requires_grad=True)
        (fns[op](m, x) * math.inf).sum().backward()  # the upstream gradient is inf
        return x.grad
    _close(*_both(run, device))


# ---------------------------------------------------------------------------------------
# 5. var / std: no float32 overflow; correction >= N


def test_std_var_float32_no_overflow(device):
    data = [1e20, -1e20, 3e20]
    for fn in (lambda m, x: x.std(), lambda m, x: x.var(), lambda m, x: x.std(0, keepdim=True),
               lambda m, x: (x * 1e-20).var() * 1e40):
        mine, ref = _both(lambda m, dev: _grad_of(m, dev, data, fn), device)
        for a, b in zip(mine, ref):
            _close(a, b, rtol=1e-6)
    big = [3e38, -3e38]
    mine, ref = _both(lambda m, dev: (m.tensor(big, device=dev).std(),
                                      m.tensor(big, device=dev).var()), device)
    for a, b in zip(mine, ref):
        _close(a, b)


@pytest.mark.parametrize("op", ["var", "std"])
@pytest.mark.parametrize("shape,dim,correction,keepdim", [
    ((3,), None, 3, False), ((3,), None, 4, False), ((3,), 0, 3, False), ((3,), 0, 5, False),
    ((3, 1), 0, 3, True), ((3, 1), 0, 4, False), ((1,), None, 1, False), ((0,), None, 1, False),
    ((0, 3), 0, 1, False), ((0, 3), 1, 1, False), ((), None, 1, False), ((), None, 0, False),
    ((2, 3), (0, 1), 6, False), ((3,), None, 2.5, False)])
def test_var_std_correction_at_least_n(device, op, shape, dim, correction, keepdim):
    data = np.arange(1.0, 1.0 + int(np.prod(shape))).reshape(shape)

    def run(m, dev):
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            out, g = _grad_of(m, dev, data, lambda m, x: getattr(x, op)(
                dim, correction=correction, keepdim=keepdim))
        return out, g, [str(x.message).split(" (Triggered")[0] for x in w
                         if "degrees of freedom" in str(x.message)]
    (o, g, w), (to, tg, tw) = _both(run, device)
    _close(o, to)
    _close(g, tg)
    assert w == tw


# ---------------------------------------------------------------------------------------
# 6. result dtypes equal PyTorch's


DTYPE_CASES = {
    "square_bool": lambda m, d: m.tensor([True, False], device=d).square(),
    "square_int32": lambda m, d: m.tensor([-3, 2], dtype=m.int32, device=d).square(),
    "clamp_bool_int": lambda m, d: m.tensor([True, False], device=d).clamp(0, 1),
    "clamp_bool_min": lambda m, d: m.tensor([True, False], device=d).clamp(min=0),
    "clamp_bool_float": lambda m, d: m.tensor([True, False], device=d).clamp(0.5),
    "clamp_int32_int": lambda m, d: m.tensor([-3, 2, 8], dtype=m.int32, device=d).clamp(0, 5),
    "clamp_int_float": lambda m, d: m.tensor([-3, 2, 8], device=d).clamp(0.5, 5),
    "relu6_int": lambda m, d: m.nn.functional.relu6(m.tensor([-3, 2, 8], device=d)),
    "relu6_int32": lambda m, d: m.nn.functional.relu6(m.tensor([-3, 2, 8], dtype=m.int32,
                                                               device=d)),
    "hardtanh_int": lambda m, d: m.nn.functional.hardtanh(m.tensor([-3, 2, 8], device=d)),
    "hardtanh_int_float_bounds": lambda m, d: m.nn.functional.hardtanh(
        m.tensor([-3, 2, 8], device=d), -1.5, 1.5),
    "hardtanh_int_inplace": lambda m, d: m.nn.functional.hardtanh(
        m.tensor([-3, 2, 8], device=d), inplace=True),
    "softmax_inf": lambda m, d: m.tensor([math.inf, 1.0], device=d).softmax(0),
    "softmax_all_inf": lambda m, d: m.tensor([math.inf, math.inf], device=d).softmax(0),
    "softmax_all_neg_inf": lambda m, d: m.tensor([-math.inf, -math.inf], device=d).softmax(0),
    "softmax_neg_inf": lambda m, d: m.tensor([-math.inf, 1.0], device=d).softmax(0),
    "log_softmax_inf": lambda m, d: m.tensor([[math.inf, 1.0], [0.0, 1.0]], device=d)
    .log_softmax(1),
    "log_softmax_neg_inf": lambda m, d: m.tensor([-math.inf, 1.0], device=d).log_softmax(0),
    "softmax_inf_dim0": lambda m, d: m.tensor([[math.inf, 1.0], [0.0, 1.0]], device=d)
    .softmax(0),
    "softmax_inf_long_row": lambda m, d: m.cat([m.tensor([math.inf], device=d),
                                                m.zeros(2000, device=d)]).softmax(0),
    "sign_nan": lambda m, d: m.tensor([math.nan, -0.0, 2.0, -3.0], device=d).sign(),
    "sign_int": lambda m, d: m.tensor([-3, 0, 8], device=d).sign(),
    "sign_bool": lambda m, d: m.tensor([True, False], device=d).sign(),
    "bool_pow_false": lambda m, d: m.tensor([True, False], device=d).pow(False),
    "bool_pow_true": lambda m, d: m.tensor([True, False], device=d).pow(True),
    "bool_pow_2": lambda m, d: m.tensor([True, False], device=d).pow(2),
    "int_pow_neg_tensor": lambda m, d: m.tensor([-3, 2, 8, 1, -1], device=d)
    ** m.tensor([-1, 1, 2, -5, -3], device=d),
    "int_pow_neg_0d": lambda m, d: m.tensor([-3, 2, 1, -1], device=d) ** m.tensor(-1, device=d),
    "scalar_pow_neg_int": lambda m, d: 2 ** m.tensor([-1, 2], device=d),
    "round_decimals": lambda m, d: m.tensor([1.2345, -2.5551, 2.5, 0.125], device=d)
    .round(decimals=2),
    "round_decimals_0": lambda m, d: m.tensor([1.5, 2.5, -0.5], device=d).round(decimals=0),
    "round_decimals_neg": lambda m, d: m.tensor([1234.5, -2551.0, 150.0], device=d)
    .round(decimals=-2),
    "round_decimals_f64": lambda m, d: m.tensor([1.2345678901], dtype=m.float64, device=d)
    .round(decimals=8),
    "round_decimals_overflow": lambda m, d: m.tensor([1e30], device=d).round(decimals=10),
    "round_fn_decimals": lambda m, d: m.round(m.tensor([1.2345], device=d), decimals=3),
    "round_inplace_decimals": lambda m, d: m.tensor([1.2345], device=d).round_(decimals=2),
}


@pytest.mark.parametrize("name", list(DTYPE_CASES))
def test_result_dtype_and_value_match_torch(device, name):
    _close(*_both(DTYPE_CASES[name], device), rtol=1e-6, atol=0)


def test_round_decimals_gradient(device):
    def run(m, dev):
        x = m.tensor([1.2345, -2.5], device=dev, requires_grad=True)
        (x.round(decimals=2) * math.inf).sum().backward()
        return x.grad
    _close(*_both(run, device))


# ---------------------------------------------------------------------------------------
# 7 and 8. PyTorch's errors (class and words), and valid calls that must not escape as
# NumPy errors


def _raises_like_torch(fn, device, words):
    """fn(m, dev) raises the same exception class on minitorch and on PyTorch; minitorch's
    message contains ``words`` (a regex)."""
    with pytest.raises(Exception) as ref:
        fn(torch, "cpu")
    with pytest.raises(Exception) as mine:
        fn(minitorch, device)
    assert mine.type is ref.type, (mine.type, ref.type, str(mine.value))
    assert mine.match(words)


_x = lambda m, d: m.tensor([[1.0, 5.0, 2.0], [3.0, 0.0, 4.0]], device=d)  # noqa: E731
_b = lambda m, d: m.tensor([True, False], device=d)  # noqa: E731
_i = lambda m, d: m.tensor([-3, 2, 8], device=d)  # noqa: E731
_F = lambda m: m.nn.functional  # noqa: E731

ERROR_CASES = {
    # tuple dims: max/min/argmax/argmin take one int (amax and friends take tuples: below)
    "max_tuple": (lambda m, d: _x(m, d).max((0, 1)),
                  "max.*argument 'dim' must be int, not tuple"),
    "min_list": (lambda m, d: _x(m, d).min([0]), "dim.*int.*list"),
    "max_tuple_keepdim": (lambda m, d: _x(m, d).max((0,), True), "dim.*must be int, not tuple"),
    "max_dim_kw_tuple": (lambda m, d: _x(m, d).max(dim=(0,)), "dim.*tuple"),
    "argmax_tuple": (lambda m, d: _x(m, d).argmax((0, 1)), "argmax.*dim.*must be int, not tuple"),
    "argmin_list": (lambda m, d: m.argmin(_x(m, d), [0]), "argmin.*dim.*must be int, not list"),
    "argmax_float": (lambda m, d: _x(m, d).argmax(0.5), "argmax.*dim.*must be int, not float"),
    "norm_ord_tuple": (lambda m, d: _x(m, d).norm((0, 1)), "ord.*must be Number, not tuple"),
    # logical ops and isclose take tensors only
    "logical_and_number": (lambda m, d: m.logical_and(_b(m, d), True),
                           "logical_and.*'other'.*must be Tensor, not bool"),
    "logical_or_number": (lambda m, d: _b(m, d).logical_or(1.5),
                          "logical_or.*'other'.*must be Tensor, not float"),
    "logical_xor_number": (lambda m, d: m.logical_xor(_b(m, d), 0),
                           "logical_xor.*'other'.*must be Tensor, not int"),
    "logical_and_number_first": (lambda m, d: m.logical_and(True, _b(m, d)),
                                 "logical_and.*'input'.*must be Tensor, not bool"),
    "isclose_number": (lambda m, d: m.isclose(_x(m, d), 1.0),
                       "isclose.*'other'.*must be Tensor, not float"),
    "isclose_number_first": (lambda m, d: m.isclose(1.0, _x(m, d)),
                             "isclose.*'input'.*must be Tensor, not float"),
    "allclose_number": (lambda m, d: _x(m, d).allclose(1.0),
                        "allclose.*'other'.*must be Tensor, not float"),
    "isclose_dtypes": (lambda m, d: m.isclose(_x(m, d), _x(m, d).double()),
                       "Float did not match Double"),
    # bool arithmetic
    "neg_bool": (lambda m, d: -_b(m, d), "Negation.*bool tensor.*`~` or `logical_not\\(\\)`"),
    "neg_bool_method": (lambda m, d: _b(m, d).neg(), "Negation.*bool tensor"),
    "pybool_minus_tensor": (lambda m, d: True - _x(m, d), "Subtraction.*with a bool tensor"),
    "tensor_minus_pybool": (lambda m, d: _x(m, d) - False, "Subtraction.*with a bool tensor"),
    "bool_tensor_minus_int": (lambda m, d: _b(m, d) - 1, "Subtraction.*with a bool tensor"),
    "int_minus_bool_tensor": (lambda m, d: 1 - _b(m, d), "Subtraction.*with a bool tensor"),
    "bool_minus_bool": (lambda m, d: _b(m, d) - _b(m, d), "two bool tensors.*logical_xor"),
    "bool_tensor_minus_pybool": (lambda m, d: _b(m, d) - True, "two bool tensors"),
    "abs_bool": (lambda m, d: _b(m, d).abs(), "abs_cpu.*Bool"),
    "relu_bool": (lambda m, d: _F(m).relu(_b(m, d)), "Boolean inputs not supported for relu"),
    "round_bool": (lambda m, d: _b(m, d).round(), "round.*Bool"),
    "clamp_bool_bool": (lambda m, d: _b(m, d).clamp(False, True), "clamp.*Bool"),
    "bool_pow_bool_tensor": (lambda m, d: _b(m, d) ** _b(m, d), "pow.*Bool"),
    "pybool_pow_bool_tensor": (lambda m, d: True ** _b(m, d), "pow.*Bool"),
    # binary cross-entropy ranges (NaN is outside too) and dtypes
    "bce_target_above": (lambda m, d: _F(m).binary_cross_entropy(
        m.tensor([0.5, 0.3], device=d), m.tensor([1.5, 0.0], device=d)),
        "all elements of target should be between 0 and 1"),
    "bce_target_below": (lambda m, d: _F(m).binary_cross_entropy(
        m.tensor([0.5, 0.3], device=d), m.tensor([-0.5, 0.0], device=d)),
        "all elements of target should be between 0 and 1"),
    "bce_target_nan": (lambda m, d: _F(m).binary_cross_entropy(
        m.tensor([0.5, 0.3], device=d), m.tensor([math.nan, 0.0], device=d)),
        "all elements of target should be between 0 and 1"),
    "bce_input_nan": (lambda m, d: _F(m).binary_cross_entropy(
        m.tensor([math.nan, 0.3], device=d), m.tensor([1.0, 0.0], device=d)),
        "all elements of input should be between 0 and 1"),
    "bce_input_first": (lambda m, d: _F(m).binary_cross_entropy(
        m.tensor([1.5], device=d), m.tensor([2.0], device=d)),
        "all elements of input should be between 0 and 1"),
    "bce_int_target": (lambda m, d: _F(m).binary_cross_entropy(
        m.tensor([0.5], device=d), m.tensor([1], device=d)), "Found dtype Long but expected Float"),
    # activations PyTorch has for floating point only
    "elu_int": (lambda m, d: _F(m).elu(_i(m, d)), "\"elu_cpu\" not implemented for 'Long'"),
    "elu_bool": (lambda m, d: _F(m).elu(_b(m, d)), "\"elu_cpu\" not implemented for 'Bool'"),
    "selu_int": (lambda m, d: _F(m).selu(_i(m, d)), "elu_cpu.*Long"),
    "celu_int": (lambda m, d: _F(m).celu(_i(m, d)), "elu_cpu.*Long"),
    "silu_int": (lambda m, d: _F(m).silu(_i(m, d)), "\"silu_cpu\" not implemented for 'Long'"),
    "gelu_int": (lambda m, d: _F(m).gelu(_i(m, d)), "GeluKernelImpl.*Long"),
    "gelu_tanh_bool": (lambda m, d: _F(m).gelu(_b(m, d), approximate="tanh"),
                       "GeluKernelImpl.*Bool"),
    "mish_int": (lambda m, d: _F(m).mish(_i(m, d)), "mish_cpu.*Long"),
    "softplus_int": (lambda m, d: _F(m).softplus(_i(m, d)), "softplus_cpu.*Long"),
    "logsigmoid_bool": (lambda m, d: _F(m).logsigmoid(_b(m, d)), "log_sigmoid_cpu.*Bool"),
    "leaky_relu_int": (lambda m, d: _F(m).leaky_relu(_i(m, d)), "leaky_relu_cpu.*Long"),
    "hardtanh_bool": (lambda m, d: _F(m).hardtanh(_b(m, d)),
                      "Bool inputs not supported for hardtanh"),
    "relu6_bool": (lambda m, d: _F(m).relu6(_b(m, d)), "Bool inputs not supported for hardtanh"),
    "prelu_int": (lambda m, d: _F(m).prelu(_i(m, d), m.tensor([0.25], device=d)),
                  "prelu: Type promoting not supported. Got Long and Float"),
    # integers to negative integer (Python) powers
    "int_pow_neg1": (lambda m, d: _i(m, d) ** -1,
                     "^Integers to negative integer powers are not allowed.$"),
    "int_pow_method": (lambda m, d: _i(m, d).pow(-2), "Integers to negative integer powers"),
    "int32_pow_neg": (lambda m, d: m.pow(_i(m, d).int(), -1), "Integers to negative integer"),
    "bool_pow_neg": (lambda m, d: _b(m, d) ** -1, "Integers to negative integer powers"),
    "int_pow_numpy_neg": (lambda m, d: _i(m, d) ** np.int64(-1), "Integers to negative integer"),
    # round(decimals=) is for floating point
    "round_decimals_int": (lambda m, d: _i(m, d).round(decimals=2), "round_cpu.*Long"),
    # reductions over no elements
    "max_empty": (lambda m, d: m.zeros(0, 3, device=d).max(),
                  "max\\(\\): Expected reduction dim to be specified for input.numel\\(\\) == 0"),
    "min_empty": (lambda m, d: m.zeros(0, device=d).min(), "min\\(\\): Expected reduction dim"),
    "amax_empty": (lambda m, d: m.zeros(0, 3, device=d).amax(),
                   "amax\\(\\): Expected reduction dim to be specified"),
    "amin_empty_dims": (lambda m, d: m.zeros(0, 3, device=d).amin((0, 1)),
                        "amin\\(\\): Expected reduction dim 0 to have non-zero size"),
    "amax_empty_dim0": (lambda m, d: m.zeros(0, 3, device=d).amax(0),
                        "amax\\(\\): Expected reduction dim 0 to have non-zero size"),
    "max_empty_dim0": (lambda m, d: m.zeros(0, 3, device=d).max(0),
                       "max\\(\\): Expected reduction dim 0 to have non-zero size"),
    "argmax_empty_dim0": (lambda m, d: m.zeros(0, 3, device=d).argmax(0),
                          "argmax\\(\\): Expected reduction dim 0 to have non-zero size"),
    "argmin_empty": (lambda m, d: m.zeros(3, 0, device=d).argmin(),
                     "argmin\\(\\): Expected reduction dim to be specified"),
    "norm_inf_empty": (lambda m, d: m.zeros(0, device=d).norm(math.inf),
                       "cannot compute the inf norm on an empty tensor"),
}


@pytest.mark.parametrize("name", list(ERROR_CASES))
def test_errors_like_torch(device, name):
    fn, words = ERROR_CASES[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _raises_like_torch(fn, device, words)


WORKS_CASES = {
    "amax_tuple": lambda m, d: _x(m, d).amax((0, 1)),
    "amin_list": lambda m, d: _x(m, d).amin([0]),
    "logical_and_tensors": lambda m, d: m.logical_and(_x(m, d), _x(m, d) > 2),
    "logical_xor_0d": lambda m, d: _b(m, d).logical_xor(m.tensor(True, device=d)),
    "isclose_0d": lambda m, d: m.isclose(_x(m, d), m.tensor(1.0, device=d)),
    "softmax_empty": lambda m, d: m.zeros(0, device=d).softmax(0),
    "log_softmax_empty": lambda m, d: m.zeros(0, device=d).log_softmax(0),
    "softmax_empty_rows": lambda m, d: m.zeros(0, 3, device=d).softmax(0),
    "softmax_empty_cols": lambda m, d: m.zeros(3, 0, device=d).softmax(1),
    "log_softmax_empty_dim0": lambda m, d: m.zeros(0, 3, device=d).log_softmax(0),
    "sum_empty_dim1": lambda m, d: m.zeros(0, 3, device=d).sum(1),
    "amax_empty_dim1": lambda m, d: m.zeros(0, 3, device=d).amax(1),
    "amin_empty_dim1_keep": lambda m, d: m.zeros(0, 3, device=d).amin(1, keepdim=True),
    "max_empty_dim1_values": lambda m, d: m.zeros(0, 3, device=d).max(1).values,
    "max_empty_dim1_indices": lambda m, d: m.zeros(0, 3, device=d).max(1).indices,
    "min_empty_dim1_keep": lambda m, d: m.zeros(0, 3, device=d).min(1, keepdim=True)[0],
    "max_empty_int": lambda m, d: m.zeros(0, 3, dtype=m.int64, device=d).max(1)[0],
    "argmax_empty_dim1": lambda m, d: m.zeros(0, 3, device=d).argmax(1),
    "argmin_empty_dim1_keep": lambda m, d: m.zeros(0, 3, device=d).argmin(1, keepdim=True),
    "norm_inf_empty_dim1": lambda m, d: m.zeros(0, 3, device=d).norm(math.inf, dim=1),
    "norm_empty": lambda m, d: m.zeros(0, device=d).norm(),
}


@pytest.mark.parametrize("name", list(WORKS_CASES))
def test_valid_calls_work_like_torch(device, name):
    _close(*_both(WORKS_CASES[name], device))


def test_empty_softmax_and_max_backward(device):
    def run(m, dev):
        x = m.zeros(0, 3, device=dev, requires_grad=True)
        (x.softmax(0).sum() + x.max(1).values.sum() + x.amax(1).sum()).backward()
        return x.grad
    _close(*_both(run, device))
