"""Higher-order gradients (create_graph), gradcheck / gradgradcheck, and anomaly mode."""
from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

import minitorch

from conftest import _np, _t  # noqa: F401  (and the fixture m)
from minitorch import autograd
from minitorch.autograd import GradcheckError, gradcheck, gradgradcheck


_rng = np.random.default_rng(3)
_XV = _rng.uniform(-0.9, 0.9, 4)
_WV = _rng.standard_normal((4, 3)) * 0.5
_VV = _rng.standard_normal(4)

# f(m, x, w) -> tensor; w only used where noted
FUNCS = {
    "cube": lambda m, x, w: x ** 3,
    "sin_exp": lambda m, x, w: x.sin() * x.exp(),
    "tanh_matmul": lambda m, x, w: (x.reshape(1, 4) @ w).tanh().sum(),
    "sigmoid": lambda m, x, w: x.sigmoid(),
    "log_1_plus_x2": lambda m, x, w: (1 + x * x).log(),
    "softmax": lambda m, x, w: x.exp() / x.exp().sum(),
    "sqrt_div": lambda m, x, w: (x * x + 1).sqrt() / (x * x + 2),
    "relu_sq": lambda m, x, w: (x.reshape(1, 4) @ w).relu() ** 2,
    "centered_var": lambda m, x, w: ((x - x.mean()) ** 2).mean(),
}


def _hvp(m, name, with_w):
    """First gradient and two Hessian-vector products (double backward via grad twice)."""
    x = _t(m, _XV, True)
    w = _t(m, _WV, with_w)
    y = FUNCS[name](m, x, w)
    ins = (x, w) if with_w else (x,)
    go = m.ones_like(y) if y.dim() else None
    gs = m.autograd.grad(y, ins, grad_outputs=go, create_graph=True)
    v = _t(m, _VV)
    s = (gs[0] * v).sum()
    hs = m.autograd.grad(s, ins, allow_unused=True)
    return [_np(g) for g in gs], [None if h is None else _np(h) for h in hs]


@pytest.mark.parametrize("name", list(FUNCS))
def test_second_derivatives_match_torch(name):
    torch = pytest.importorskip("torch")
    with_w = name in ("tanh_matmul", "relu_sq")
    g1, h1 = _hvp(minitorch, name, with_w)
    g2, h2 = _hvp(torch, name, with_w)
    for a, b in zip(g1, g2):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    for a, b in zip(h1, h2):
        a = np.zeros_like(b) if a is None and b is not None else a
        b = np.zeros_like(a) if b is None and a is not None else b
        if a is not None:
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_second_derivative_values_by_hand():
    x = _t(minitorch, _XV, True)
    (g,) = autograd.grad((x ** 3).sum(), x, create_graph=True)
    (h,) = autograd.grad(g.sum(), x)
    np.testing.assert_allclose(_np(h), 6 * _XV)
    (g,) = autograd.grad((x.sin() * x.exp()).sum(), x, create_graph=True)
    (h,) = autograd.grad(g.sum(), x)
    np.testing.assert_allclose(_np(h), 2 * np.cos(_XV) * np.exp(_XV))
    (g,) = autograd.grad(x.sigmoid().sum(), x, create_graph=True)
    (h,) = autograd.grad(g.sum(), x)
    s = 1 / (1 + np.exp(-_XV))
    np.testing.assert_allclose(_np(h), s * (1 - s) * (1 - 2 * s))
    (g,) = autograd.grad((1 + x * x).log().sum(), x, create_graph=True)
    (h,) = autograd.grad(g.sum(), x)
    np.testing.assert_allclose(_np(h), (2 - 2 * _XV ** 2) / (1 + _XV ** 2) ** 2)


def test_third_derivative():
    x = _t(minitorch, [0.3, -0.7], True)
    (g,) = autograd.grad((x ** 4).sum(), x, create_graph=True)
    (h,) = autograd.grad(g.sum(), x, create_graph=True)
    (k,) = autograd.grad(h.sum(), x)
    np.testing.assert_allclose(_np(k), 24 * np.array([0.3, -0.7]))


def test_mixed_second_derivative(m):
    x = _t(m, [1.0, 2.0], True)
    y = _t(m, [3.0, 4.0], True)
    (gx,) = m.autograd.grad((x * x * y).sum(), x, create_graph=True)  # 2xy
    (gy,) = m.autograd.grad(gx.sum(), y)  # 2x
    np.testing.assert_allclose(_np(gy), [2.0, 4.0])


def test_create_graph_false_gives_constant_gradient(m):
    x = _t(m, [1.0, 2.0], True)
    (g,) = m.autograd.grad((x ** 3).sum(), x)
    assert not g.requires_grad and g.grad_fn is None
    with pytest.raises(RuntimeError, match="does not require grad"):
        m.autograd.grad(g.sum(), x)


# --------------------------------------------------------------------------------------------
# gradcheck / gradgradcheck


@pytest.mark.parametrize("name", list(FUNCS))
def test_gradcheck_and_gradgradcheck_builtin_composites(name):
    with_w = name in ("tanh_matmul", "relu_sq")  # (x @ w has no entry near relu's kink)
    x = _t(minitorch, _XV, True)
    w = _t(minitorch, _WV, with_w)
    if with_w:
        fn = lambda a, b: FUNCS[name](minitorch, a, b)  # noqa: E731
        ins = (x, w)
    else:
        fn = lambda a: FUNCS[name](minitorch, a, None)  # noqa: E731
        ins = (x,)
    assert gradcheck(fn, ins)
    assert gradgradcheck(fn, ins)


def _wrong_first(m):
    class WrongSquare(m.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * x * 3  # should be 2x
    return WrongSquare


def _wrong_second(m):
    class CubeDetached(m.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 3 * x.detach() ** 2  # right value, but not differentiable in x
    return CubeDetached


def _right(m):
    class Cube(m.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 3 * x ** 2
    return Cube


def test_gradcheck_passes_on_correct_function(m):
    x = _t(m, [0.5, -1.5, 2.0], True)
    assert m.autograd.gradcheck(_right(m).apply, (x,))
    assert m.autograd.gradgradcheck(_right(m).apply, (x,))


def test_gradcheck_fails_on_wrong_backward(m):
    x = _t(m, [0.5, 1.5], True)
    with pytest.raises(RuntimeError, match="Jacobian mismatch") as info:
        m.autograd.gradcheck(_wrong_first(m).apply, (x,))
    assert type(info.value).__name__ == "GradcheckError"
    assert m.autograd.gradcheck(_wrong_first(m).apply, (x,), raise_exception=False) is False


def test_gradgradcheck_fails_on_wrong_double_backward(m):
    x = _t(m, [0.5, 1.5], True)
    f = _wrong_second(m).apply
    assert m.autograd.gradcheck(f, (x,))  # first derivatives are right
    with pytest.raises(RuntimeError, match="Jacobian mismatch"):
        m.autograd.gradgradcheck(f, (x,))
    assert m.autograd.gradgradcheck(f, (x,), raise_exception=False) is False


def test_gradcheck_error_is_runtime_error():
    assert issubclass(GradcheckError, RuntimeError)


def test_gradcheck_multiple_inputs_and_outputs():
    a = _t(minitorch, [0.5, 1.5], True)
    b = _t(minitorch, [[1.0, 2.0], [3.0, -1.0]], True)
    c = _t(minitorch, [7.0, 8.0])  # not checked

    def fn(a, b, c):
        return (a @ b) * c, (a.exp() * b).sum(0)

    assert gradcheck(fn, (a, b, c))
    assert gradgradcheck(fn, (a, b, c))

    def wrong_in_one_output(a, b, c):
        return (a @ b) * c, _wrong_first(minitorch).apply(a)

    assert not gradcheck(wrong_in_one_output, (a, b, c), raise_exception=False)


def test_gradcheck_needs_an_input_requiring_grad():
    with pytest.raises(ValueError, match="at least one input tensor to require gradient"):
        gradcheck(lambda a: a * 2, (_t(minitorch, [1.0]),))


def test_gradcheck_warns_on_float32():
    x = minitorch.tensor([0.5, 1.0], requires_grad=True)
    with pytest.warns(UserWarning, match="not a double precision"):
        assert gradcheck(lambda a: a * 2, (x,), eps=1e-2, atol=1e-2, rtol=1e-2)


def test_gradcheck_restores_inputs_and_grad_mode():
    x = _t(minitorch, [0.5, 1.0], True)
    with minitorch.no_grad():
        assert gradcheck(lambda a: a.sin(), (x,))
        assert not minitorch.is_grad_enabled()
    np.testing.assert_array_equal(_np(x), [0.5, 1.0])
    assert x.grad is None


# --------------------------------------------------------------------------------------------
# anomaly mode

pytestmark = pytest.mark.filterwarnings("ignore:Anomaly Detection has been enabled",
                                        "ignore:Error detected in",
                                        "ignore:invalid value encountered",
                                        "ignore:divide by zero encountered")


def _nan_function(m):
    class Bad(m.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            return x * y

        @staticmethod
        def backward(ctx, g):
            return g, g * float("nan")
    return Bad


def test_anomaly_names_the_node_sqrt(m):
    x = _t(m, [0.0, 1.0], True)
    with m.autograd.detect_anomaly():
        with pytest.raises(RuntimeError, match="^" + re.escape(
                "Function 'SqrtBackward0' returned nan values in its 0th output.") + "$"):
            (x.sqrt() * 0).sum().backward()
    assert not (m.is_anomaly_enabled() if m is not minitorch else autograd.is_anomaly_enabled())


def test_anomaly_names_custom_function_and_output_index(m):
    a = _t(m, [1.0], True)
    b = _t(m, [2.0], True)
    with m.autograd.detect_anomaly():
        with pytest.raises(RuntimeError, match=re.escape(
                "Function 'BadBackward' returned nan values in its 1th output.")):
            _nan_function(m).apply(a, b).sum().backward()


def test_no_error_without_anomaly_mode(m):
    x = _t(m, [0.0, 1.0], True)
    (x.sqrt() * 0).sum().backward()
    assert np.isnan(_np(x.grad)[0]) and _np(x.grad)[1] == 0.0
    a = _t(m, [1.0], True)
    b = _t(m, [2.0], True)
    _nan_function(m).apply(a, b).sum().backward()
    assert np.isnan(_np(b.grad)[0])


def test_anomaly_check_nan_false(m):
    a = _t(m, [1.0], True)
    b = _t(m, [2.0], True)
    with m.autograd.detect_anomaly(check_nan=False):
        _nan_function(m).apply(a, b).sum().backward()
    assert np.isnan(_np(b.grad)[0])


def test_anomaly_warns_with_forward_stack():
    x = _t(minitorch, [0.0, 1.0], True)
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        with autograd.detect_anomaly():
            y = x.sqrt()  # the forward line the warning must point at
            with pytest.raises(RuntimeError):
                (y * 0).sum().backward()
    msgs = [str(w.message) for w in rec]
    assert any("Anomaly Detection has been enabled" in s for s in msgs)
    detail = [s for s in msgs if s.startswith("Error detected in SqrtBackward0")]
    assert detail and "test_anomaly_warns_with_forward_stack" in detail[0]
    assert "y = x.sqrt()" in detail[0]


def test_anomaly_mode_switches():
    assert not autograd.is_anomaly_enabled()
    with autograd.detect_anomaly():
        assert autograd.is_anomaly_enabled()
    assert not autograd.is_anomaly_enabled()
    autograd.set_detect_anomaly(True)
    try:
        assert autograd.is_anomaly_enabled()
    finally:
        autograd.set_detect_anomaly(False)
    assert not autograd.is_anomaly_enabled()
    with autograd.set_detect_anomaly(True):
        assert autograd.is_anomaly_enabled()
    assert not autograd.is_anomaly_enabled()
    with pytest.raises(KeyError):
        with autograd.detect_anomaly():
            raise KeyError
    assert not autograd.is_anomaly_enabled()


def test_anomaly_no_false_positive():
    x = _t(minitorch, [0.5, 1.0], True)
    with autograd.detect_anomaly():
        (x.sqrt() * x.exp()).sum().backward()
    assert np.all(np.isfinite(_np(x.grad)))
