"""User-defined ``autograd.Function``: ctx API, multiple and non-differentiable outputs,
non-tensor arguments, mark_dirty, gradient validation, and parity with PyTorch's
``torch.autograd.Function`` (the same class body runs against both)."""
from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

import minitorch

from conftest import _np, _t  # noqa: F401  (and the fixture m)


# the Functions are built per module so that one body runs on minitorch and on torch

def make_mul_scale(m, log=None):
    class MulScale(m.autograd.Function):
        """out = x * y * k, with k a Python number."""

        @staticmethod
        def forward(ctx, x, y, k):
            if log is not None:
                log.append(tuple(ctx.needs_input_grad))
            ctx.save_for_backward(x, y)
            ctx.k = k
            return x * y * k

        @staticmethod
        def backward(ctx, g):
            x, y = ctx.saved_tensors
            gx = g * y * ctx.k if ctx.needs_input_grad[0] else None
            gy = g * x * ctx.k if ctx.needs_input_grad[1] else None
            return gx, gy, None
    return MulScale


def make_exp(m):
    class MyExp(m.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            r = x.exp()
            ctx.save_for_backward(r)  # saves its own output
            return r

        @staticmethod
        def backward(ctx, g):
            (r,) = ctx.saved_tensors
            return g * r
    return MyExp


def make_split(m):
    class Split(m.autograd.Function):
        """Three outputs: two differentiable, one integer index marked non-differentiable."""

        @staticmethod
        def forward(ctx, x):
            idx = x.argmax()
            ctx.mark_non_differentiable(idx)
            ctx.save_for_backward(x)
            return x * 2, x.exp(), idx

        @staticmethod
        def backward(ctx, g1, g2, g3):
            (x,) = ctx.saved_tensors
            return g1 * 2 + g2 * x.exp()
    return Split


# --------------------------------------------------------------------------------------------


def test_save_for_backward_needs_input_grad_and_non_tensor_args(m):
    log = []
    MulScale = make_mul_scale(m, log)
    x = _t(m, [1.0, 2.0], requires_grad=True)
    y = _t(m, [3.0, 4.0])
    out = MulScale.apply(x, y, 2.0)
    assert log == [(True, False, False)]
    np.testing.assert_allclose(_np(out), [6.0, 16.0])
    out.sum().backward()
    np.testing.assert_allclose(_np(x.grad), [6.0, 8.0])
    assert y.grad is None


def test_user_function_grad_fn_name(m):
    MulScale = make_mul_scale(m)
    x = _t(m, [1.0], requires_grad=True)
    gf = MulScale.apply(x, x, 1.0).grad_fn
    assert type(gf).__name__ == "MulScaleBackward"
    assert gf.name() == "MulScaleBackward"


def test_user_function_both_inputs(m):
    MulScale = make_mul_scale(m)
    x = _t(m, [1.0, 2.0], requires_grad=True)
    y = _t(m, [3.0, 4.0], requires_grad=True)
    (MulScale.apply(x, y, 3.0) * _t(m, [1.0, 10.0])).sum().backward()
    np.testing.assert_allclose(_np(x.grad), [9.0, 120.0])
    np.testing.assert_allclose(_np(y.grad), [3.0, 60.0])


def test_user_function_under_no_grad(m):
    log = []
    MulScale = make_mul_scale(m, log)
    x = _t(m, [1.0], requires_grad=True)
    with m.no_grad():
        out = MulScale.apply(x, x, 2.0)
    assert not out.requires_grad and out.grad_fn is None
    # (PyTorch reports the inputs' requires_grad here even under no_grad; minitorch reports
    # that no gradient will be needed, which spares built-in forwards from saving anything)
    if m is minitorch:
        assert log == [(False, False, False)]


def test_forward_runs_without_recording(m):
    class Probe(m.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            y = x * 2
            ctx.inner = (y.requires_grad, m.is_grad_enabled())
            return y

        @staticmethod
        def backward(ctx, g):
            return g * 2

    x = _t(m, [1.0], requires_grad=True)
    out = Probe.apply(x)
    assert out.grad_fn.inner == (False, False)
    assert m.is_grad_enabled()


def test_saving_output_and_no_reference_cycle():
    MyExp = make_exp(minitorch)
    x = _t(minitorch, [0.0, 1.0], requires_grad=True)
    out = MyExp.apply(x)
    out.sum().backward()
    np.testing.assert_allclose(_np(x.grad), np.exp([0.0, 1.0]))
    out2 = MyExp.apply(x)
    node = out2.grad_fn
    ref = weakref.ref(out2)
    del out2
    gc.disable()
    try:
        assert ref() is None  # freed by reference counting alone: no out -> node -> out cycle
    finally:
        gc.enable()
    (r,) = node.saved_tensors  # the saved output is still usable, linked to its node
    assert r.grad_fn is node


def test_multiple_outputs_and_mark_non_differentiable(m):
    Split = make_split(m)
    x = _t(m, [1.0, 2.0], requires_grad=True)
    a, b, i = Split.apply(x)
    assert a.grad_fn is b.grad_fn and a.grad_fn.name() == "SplitBackward"
    assert not i.requires_grad and i.grad_fn is None
    (a.sum() + b.sum()).backward()
    np.testing.assert_allclose(_np(x.grad), 2 + np.exp([1.0, 2.0]))


def test_unused_output_gets_zero_gradient(m):
    seen = []

    class Two(m.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2, x * 3

        @staticmethod
        def backward(ctx, g1, g2):
            seen.append((_np(g1), _np(g2)))
            return g1 * 2 + g2 * 3

    x = _t(m, [1.0, 2.0], requires_grad=True)
    a, b = Two.apply(x)
    a.sum().backward()
    np.testing.assert_allclose(seen[0][1], [0.0, 0.0])  # materialized zeros
    np.testing.assert_allclose(_np(x.grad), [2.0, 2.0])


def test_set_materialize_grads_false(m):
    seen = []

    class Two(m.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.set_materialize_grads(False)
            return x * 2, x * 3

        @staticmethod
        def backward(ctx, g1, g2):
            seen.append(g2 is None)
            return g1 * 2

    x = _t(m, [1.0, 2.0], requires_grad=True)
    a, _ = Two.apply(x)
    a.sum().backward()
    assert seen == [True]
    np.testing.assert_allclose(_np(x.grad), [2.0, 2.0])


def test_non_tensor_outputs(m):
    class WithInfo(m.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2, "info"

        @staticmethod
        def backward(ctx, g, _):
            return g * 2

    x = _t(m, [1.0], requires_grad=True)
    y, info = WithInfo.apply(x)
    assert info == "info"
    y.sum().backward()
    np.testing.assert_allclose(_np(x.grad), [2.0])


def test_returning_an_input_makes_a_new_tensor(m):
    class Ident(m.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x

        @staticmethod
        def backward(ctx, g):
            return g * 3

    x = _t(m, [1.0, 2.0], requires_grad=True)
    r = Ident.apply(x)
    assert r is not x and x.is_leaf and x.grad_fn is None
    assert r.grad_fn.name() == "IdentBackward"
    r.sum().backward()
    np.testing.assert_allclose(_np(x.grad), [3.0, 3.0])


def test_wrong_number_of_gradients(m):
    class Bad(m.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            return x * y

        @staticmethod
        def backward(ctx, g):
            return g

    x = _t(m, [1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="returned an incorrect number of gradients"):
        Bad.apply(x, x).sum().backward()


def test_invalid_gradient_shape(m):
    class Bad(m.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g[:1]

    x = _t(m, [1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"Function BadBackward returned an invalid gradient "
                                           r"at index 0 - got \[1\] but expected shape "
                                           r"compatible with \[2\]"):
        (Bad.apply(x) * 1).sum().backward()


def test_broadcast_gradient_is_summed(m):
    class Wide(m.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1

        @staticmethod
        def backward(ctx, g):
            return g.expand(3, 2) * 1  # shape (3, 2) for a (2,) input

    x = _t(m, [1.0, 2.0], requires_grad=True)
    y = _t(m, [1.0, 2.0], requires_grad=True)
    (Wide.apply(x * y) * 1).sum().backward()
    np.testing.assert_allclose(_np(x.grad), [3.0, 6.0])


def test_gradient_cast_to_input_dtype(m):
    class ToDouble(m.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return (g * 2).double()

    x = m.tensor([1.0, 2.0], dtype=m.float32, requires_grad=True)
    h = x * 1
    ToDouble.apply(h).sum().backward()
    assert x.grad.dtype == m.float32
    np.testing.assert_allclose(_np(x.grad), [2.0, 2.0])


def test_saved_input_modified_inplace_is_detected(m):
    MulScale = make_mul_scale(m)
    x = _t(m, [1.0, 2.0], requires_grad=True)
    y = _t(m, [3.0, 4.0])
    out = MulScale.apply(x, y, 1.0)
    y.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()


def test_double_backward_through_user_function(m):
    MyExp = make_exp(m)
    x = _t(m, [0.5, 1.0], requires_grad=True)
    (g,) = m.autograd.grad(MyExp.apply(x * x).sum(), x, create_graph=True)
    (gg,) = m.autograd.grad(g.sum(), x)
    xv = np.array([0.5, 1.0])
    np.testing.assert_allclose(_np(g), 2 * xv * np.exp(xv ** 2))
    np.testing.assert_allclose(_np(gg), (2 + 4 * xv ** 2) * np.exp(xv ** 2))


def test_once_differentiable(m):
    class Sq(m.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 2

        @staticmethod
        @m.autograd.function.once_differentiable
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * x * g

    x = _t(m, [2.0, 3.0], requires_grad=True)
    (g,) = m.autograd.grad(Sq.apply(x).sum(), x, create_graph=True)
    np.testing.assert_allclose(_np(g), [4.0, 6.0])
    assert not g.requires_grad


def test_mark_dirty(m):
    class AddOne_(m.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            x.add_(1)
            ctx.mark_dirty(x)
            return x

        @staticmethod
        def backward(ctx, g):
            return g * 5

    x = _t(m, [1.0, 2.0], requires_grad=True)
    y = x * 2
    z = AddOne_.apply(y)
    assert z is y and y.grad_fn.name() == "AddOne_Backward"
    assert y._version == 2
    (y * 1).sum().backward()
    np.testing.assert_allclose(_np(x.grad), [10.0, 10.0])
    np.testing.assert_allclose(_np(y), [3.0, 5.0])
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad has been used in "
                                           "an in-place operation."):
        AddOne_.apply(x)


def test_mark_dirty_on_view_rebases_base(m):
    class Sq_(m.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x.clone())
            x.mul_(x)
            ctx.mark_dirty(x)
            return x

        @staticmethod
        def backward(ctx, g):
            (x0,) = ctx.saved_tensors
            return 2 * x0 * g

    x = _t(m, [[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    y = x * 1
    v0 = y[1]
    Sq_.apply(y[0])
    out = (y * _t(m, [[1.0, 2.0], [3.0, 4.0]])).sum() + (v0 * 10).sum()
    out.backward()
    np.testing.assert_allclose(_np(y), [[1.0, 4.0], [3.0, 4.0]])
    np.testing.assert_allclose(_np(x.grad), [[2.0, 8.0], [13.0, 14.0]])


def test_custom_function_matches_builtin_gradients(m):
    """A hand-written softplus-like op gives the same gradients as composing built-ins, on
    minitorch and PyTorch alike."""

    class SoftplusMul(m.autograd.Function):
        @staticmethod
        def forward(ctx, x, w):
            ctx.save_for_backward(x, w)
            return (1 + (x * w).exp()).log()

        @staticmethod
        def backward(ctx, g):
            x, w = ctx.saved_tensors
            s = (x * w).sigmoid()
            return g * s * w, g * s * x

    rng = np.random.default_rng(0)
    xv, wv = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    gv = rng.standard_normal((3, 4))
    x1, w1 = _t(m, xv, True), _t(m, wv, True)
    SoftplusMul.apply(x1, w1).backward(_t(m, gv))
    x2, w2 = _t(m, xv, True), _t(m, wv, True)
    (1 + (x2 * w2).exp()).log().backward(_t(m, gv))
    np.testing.assert_allclose(_np(x1.grad), _np(x2.grad), rtol=1e-12)
    np.testing.assert_allclose(_np(w1.grad), _np(w2.grad), rtol=1e-12)


def test_custom_function_parity_with_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    xv, yv = rng.standard_normal(5), rng.standard_normal(5)
    grads = []
    for mod in (minitorch, torch):
        F = make_mul_scale(mod)
        E = make_exp(mod)
        x, y = _t(mod, xv, True), _t(mod, yv, True)
        out = E.apply(F.apply(x, y, 0.5)).sum() + F.apply(x, x, 2.0).sum()
        out.backward()
        grads.append((_np(x.grad), _np(y.grad)))
    np.testing.assert_allclose(grads[0][0], grads[1][0], rtol=1e-12)
    np.testing.assert_allclose(grads[0][1], grads[1][1], rtol=1e-12)


def test_function_is_not_instantiated():
    F = make_exp(minitorch)
    with pytest.raises(RuntimeError, match="apply"):
        F()


def test_save_for_backward_rejects_non_tensors():
    class Bad(minitorch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x, 3)
            return x * 1

        @staticmethod
        def backward(ctx, g):
            return g

    with pytest.raises(TypeError, match="save_for_backward can only save"):
        Bad.apply(_t(minitorch, [1.0], True))


def test_node_hooks():
    x = _t(minitorch, [1.0, 2.0], requires_grad=True)
    y = x * 3
    seen = []
    y.grad_fn.register_prehook(lambda gos: seen.append(("pre", _np(gos[0]))))
    y.grad_fn.register_hook(lambda gis, gos: (gis[0] * 2,))
    y.sum().backward()
    assert seen[0][0] == "pre"
    np.testing.assert_allclose(seen[0][1], [1.0, 1.0])
    np.testing.assert_allclose(_np(x.grad), [6.0, 6.0])
