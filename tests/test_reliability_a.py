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
