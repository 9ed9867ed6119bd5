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
