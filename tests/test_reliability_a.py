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
