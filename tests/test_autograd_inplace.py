"""In-place ops and autograd: the version counter, saved-tensor checks, the leaf rules, and
gradients of in-place ops on non-leaf tensors and on their views (CopySlices rebasing),
compared with PyTorch."""
from __future__ import annotations

import numpy as np
import pytest

import minitorch

from conftest import _np, _t  # noqa: F401  (and the fixture m)


_MODIFIED = "modified by an inplace operation"
_LEAF = "a leaf Variable that requires grad is being used in an in-place operation."
_VIEW_LEAF = "a view of a leaf Variable that requires grad is being used in an in-place operation."

# --------------------------------------------------------------------------------------------
# version counter


def test_version_counter_bumps(m):
    x = m.zeros(2, 3, dtype=m.float64)
    assert x._version == 0
    x.add_(1)
    assert x._version == 1
    x.mul_(2)
    x += 1
    assert x._version == 3
    x[0] = 5.0
    assert x._version == 4
    x.zero_()
    x.fill_(2.0)
    x.copy_(m.ones(2, 3, dtype=m.float64))
    assert x._version == 7
    y = x * 2  # out of place: a new counter
    assert y._version == 0 and x._version == 7


def test_views_share_the_version_counter(m):
    x = m.zeros(2, 3, dtype=m.float64)
    v = x[0]
    w = x.t()
    r = x.reshape(6)
    v.add_(1)
    assert x._version == v._version == w._version == r._version == 1
    x.mul_(2)
    assert v._version == 2 and r._version == 2
    np.testing.assert_allclose(_np(w)[:, 0], [2.0, 2.0, 2.0])


def test_data_is_not_version_tracked(m):
    x = _t(m, [1.0, 2.0], requires_grad=True)
    y = x.sin()
    z = (y * y).sum()
    y.data.mul_(1.0)  # .data bypasses autograd's checks (as in PyTorch)
    z.backward()
    np.testing.assert_allclose(_np(x.grad), 2 * np.sin([1.0, 2.0]) * np.cos([1.0, 2.0]))


# --------------------------------------------------------------------------------------------
# saved tensors modified in place


def test_saved_input_modified_raises(m):
    x = _t(m, [1.0, 2.0], requires_grad=True)
    y = x * 2
    z = y.sin()  # saves y
    y.add_(1)
    with pytest.raises(RuntimeError, match=_MODIFIED):
        z.sum().backward()


def test_saved_output_modified_raises(m):
    x = _t(m, [1.0, 2.0], requires_grad=True)
    y = x.exp()  # saves its output
    y.mul_(2)
    with pytest.raises(RuntimeError, match=_MODIFIED):
        y.sum().backward()


def test_saved_tensor_modified_through_view_raises(m):
    x = _t(m, [[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    y = x * 1
    z = (y * y).sum()
    y[0, 0] = 7.0
    with pytest.raises(RuntimeError, match=_MODIFIED):
        z.backward()


def test_message_names_versions():
    x = _t(minitorch, [1.0, 2.0], requires_grad=True)
    y = x * 2
    z = y.sin()
    y.add_(1)
    y.add_(1)
    with pytest.raises(RuntimeError, match=r"\[torch.DoubleTensor \[2\]\] is at version 2; "
                                           r"expected version 0 instead"):
        z.sum().backward()


def test_unsaved_tensor_modified_is_fine(m):
    x = _t(m, [1.0, 2.0], requires_grad=True)
    y = x * 2
    z = y + 1  # add saves nothing
    y.add_(10)
    z.sum().backward()
    np.testing.assert_allclose(_np(x.grad), [2.0, 2.0])


# --------------------------------------------------------------------------------------------
# leaves


@pytest.mark.parametrize("op", [
    lambda x: x.add_(1),
    lambda x: x.mul_(2),
    lambda x: x.__iadd__(1),
    lambda x: x.__setitem__(0, 1.0),
    lambda x: x.zero_(),
    lambda x: x.fill_(3.0),
    lambda x: x.copy_(x.detach() * 2),
    lambda x: x.exp_(),
])
def test_inplace_on_leaf_requiring_grad(m, op):
    x = _t(m, [1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=_LEAF):
        op(x)
    assert x._version == 0
    np.testing.assert_allclose(_np(x), [1.0, 2.0])


def test_inplace_on_view_of_leaf(m):
    x = _t(m, [[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    with pytest.raises(RuntimeError, match=_VIEW_LEAF):
        x[0].mul_(2)
    with pytest.raises(RuntimeError, match=_VIEW_LEAF):
        x.t()[0] = 1.0


def test_inplace_on_leaf_under_no_grad(m):
    x = _t(m, [1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    with m.no_grad():
        x -= 0.5 * x.grad  # an optimizer step
        x[0] = 10.0
    assert x.is_leaf and x.requires_grad and x.grad_fn is None
    np.testing.assert_allclose(_np(x), [10.0, 0.0])


def test_inplace_on_leaf_without_grad_records_other_operand(m):
    x = _t(m, [1.0, 2.0], requires_grad=True)
    buf = m.full((2,), 3.0, dtype=m.float64)
    buf.mul_(x)  # buf's old value is needed for x's gradient
    assert buf.requires_grad and not buf.is_leaf
    (buf * buf).sum().backward()
    np.testing.assert_allclose(_np(x.grad), 2 * 9.0 * np.array([1.0, 2.0]))


def test_setitem_into_buffer_without_grad(m):
    x = _t(m, [1.0, 2.0], requires_grad=True)
    buf = m.zeros(3, dtype=m.float64)
    buf[1:] = x * x
    assert buf.requires_grad
    (buf * _t(m, [5.0, 6.0, 7.0])).sum().backward()
    np.testing.assert_allclose(_np(x.grad), [12.0, 28.0])


# --------------------------------------------------------------------------------------------
# gradients of in-place ops on non-leaf tensors and views, against PyTorch

_X = np.random.default_rng(0).standard_normal((3, 4))




CASES = {
    "add_scalar": lambda m, x: _ret(x * 2, lambda y: y.add_(1)),
    "mul_scalar": lambda m, x: _ret(x * 2, lambda y: y.mul_(3)),
    "iadd_tensor": lambda m, x: _ret(x * 2, lambda y: y.__iadd__(x)),
    "imul_tensor": lambda m, x: _ret(x * 2, lambda y: y.__imul__(x)),
    "isub_idiv": lambda m, x: _ret(x * 2, lambda y: (y.__isub__(x * x), y.__itruediv__(3.0))),
    "exp_": lambda m, x: _ret(x * 2, lambda y: y.exp_()),
    "mul_then_sigmoid_": lambda m, x: _ret(x * 1, lambda y: (y.mul_(x), y.sigmoid_())),
    "pow_": lambda m, x: _ret(x * 2, lambda y: y.pow_(2)),
    "clamp_": lambda m, x: _ret(x * 2, lambda y: y.clamp_(-1.0, 1.0)),
    "setitem_scalar": lambda m, x: _ret(x * 2, lambda y: y.__setitem__(0, 5.0)),
    "setitem_tensor": lambda m, x: _ret(x * 2, lambda y: y.__setitem__((slice(1, None), 2),
                                                                       x[0, :2] * 3)),
    "zero_": lambda m, x: _ret(x * 2, lambda y: y.zero_()),
    "copy_": lambda m, x: _ret(x * 2, lambda y: y.copy_(x * x)),
    "view_mul_": lambda m, x: _ret(x * 2, lambda y: y[0].mul_(3)),
    "view_iadd": lambda m, x: _ret(x * 2, lambda y: y[:, 1].__iadd__(1)),
    "view_imul_tensor": lambda m, x: _ret(x * 2, lambda y: y[:, 1].__imul__(x[:, 0])),
    "view_of_view": lambda m, x: _ret(x * 1, lambda y: y[:, 1:3][1].mul_(x[0, :2])),
    "view_reshape": lambda m, x: _ret(x * 2, lambda y: y.view(12)[3:5].mul_(4)),
    "view_transpose": lambda m, x: _ret(x * 2, lambda y: y.t()[0].mul_(5)),
    "view_transpose_fill": lambda m, x: _ret(x * 2, lambda y: y.transpose(0, 1)[2].fill_(1.0)),
    "view_reshape_row": lambda m, x: _ret(x * 2, lambda y: y.reshape(2, 6)[1].mul_(2)),
    "view_zero_": lambda m, x: _ret(x * 2, lambda y: y[0].zero_()),
    "view_copy_": lambda m, x: _ret(x * 2, lambda y: y[:, 0].copy_(x[:, 1])),
    "return_view": lambda m, x: _view_out(x),
    "stale_view_after_base_inplace": lambda m, x: _stale(x),
    "stale_view_squared": lambda m, x: _stale2(x),
    "view_then_sibling_view": lambda m, x: _siblings(x),
    "two_inplace_on_views": lambda m, x: _two_views(x),
}


def _ret(y, f):
    f(y)
    return y


def _view_out(x):
    y = x * 2
    v = y[1]
    v.mul_(2)
    return v


def _stale(x):
    y = x * 2
    v = y[0]  # created before the base changes
    y.mul_(3)
    return v


def _stale2(x):
    y = x * 2
    v = y[1]
    y.add_(1)
    return v * v


def _siblings(x):
    y = x * 2
    a = y[0]
    b = y[:, 1]
    a.mul_(x[1])  # changes b[0] too
    return b * b + a.sum()


def _two_views(x):
    y = x.tanh()
    y = y * 1
    y[0].mul_(2)
    y[:, 2].add_(x[:, 3])
    return y * y


@pytest.mark.parametrize("name", list(CASES))
def test_inplace_gradients_match_torch(name):
    torch = pytest.importorskip("torch")
    res = []
    for mod in (minitorch, torch):
        x = _t(mod, _X, requires_grad=True)
        out = CASES[name](mod, x)
        g = np.arange(out.numel(), dtype=np.float64).reshape(tuple(out.shape)) * 0.5 + 1
        out.backward(_t(mod, g))
        res.append((_np(out), _np(x.grad)))
    np.testing.assert_allclose(res[0][0], res[1][0], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(res[0][1], res[1][1], rtol=1e-12, atol=1e-12)


# the same mechanics, checked by hand (these run without PyTorch)


def test_inplace_mul_on_non_leaf():
    x = _t(minitorch, [1.0, 2.0], requires_grad=True)
    y = x * 2
    y.mul_(3)
    assert y.grad_fn.name() == "MulBackward0"
    y.sum().backward()
    np.testing.assert_allclose(_np(x.grad), [6.0, 6.0])


def test_inplace_mul_by_tensor_saves_old_value():
    x = _t(minitorch, [1.0, 2.0], requires_grad=True)
    y = x * 2
    y *= x  # y = 2x^2 ; the old y (2x) is what the gradient needs
    y.sum().backward()
    np.testing.assert_allclose(_np(x.grad), [4.0, 8.0])


def test_inplace_on_view_rebases_base():
    x = _t(minitorch, [[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    y = x * 2
    y[0].mul_(3)
    assert y.grad_fn.name() == "CopySlicesBackward0"
    (y * _t(minitorch, [[1.0, 10.0], [100.0, 1000.0]])).sum().backward()
    np.testing.assert_allclose(_np(x.grad), [[6.0, 60.0], [200.0, 2000.0]])


def test_view_iadd_rebases_base():
    x = _t(minitorch, [[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    y = x * x
    v = y[:, 1]
    v += x[:, 0]
    np.testing.assert_allclose(_np(y), [[1.0, 5.0], [9.0, 19.0]])
    y.sum().backward()
    np.testing.assert_allclose(_np(x.grad), [[3.0, 4.0], [7.0, 8.0]])


def test_view_sees_base_graph_after_base_inplace():
    x = _t(minitorch, [[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    y = x * 2
    v = y[0]
    y.mul_(3)
    np.testing.assert_allclose(_np(v), [6.0, 12.0])
    v.sum().backward()
    np.testing.assert_allclose(_np(x.grad), [[6.0, 6.0], [0.0, 0.0]])


def test_inplace_under_no_grad_keeps_graph():
    x = _t(minitorch, [1.0, 2.0], requires_grad=True)
    y = x * 2
    fn = y.grad_fn
    with minitorch.no_grad():
        y.add_(1)
    assert y.grad_fn is fn and y._version == 1
    y.sum().backward()
    np.testing.assert_allclose(_np(x.grad), [2.0, 2.0])


# double backward through in-place ops (CopySlices' backward must be differentiable)

_X2 = np.array([[0.5, -1.0], [2.0, 1.5]])

DOUBLE_CASES = {
    "view_mul_": lambda x: _ret(x * x, lambda y: y[0].mul_(3)),
    "view_iadd": lambda x: _ret(x * x, lambda y: y[:, 1].__iadd__(x[:, 0] ** 2)),
    "setitem": lambda x: _ret(x * x, lambda y: y.__setitem__(0, x[1] ** 3)),
    "imul": lambda x: _ret(x * x, lambda y: y.__imul__(x)),
    "view_copy_": lambda x: _ret(x * x, lambda y: y[1].copy_(x[0].exp())),
    "view_zero_": lambda x: _ret(x * x, lambda y: y[1].zero_()),
}


def _double(m, f):
    x = _t(m, _X2, requires_grad=True)
    y = f(x)
    (g,) = m.autograd.grad((y * y).sum(), x, create_graph=True)
    (gg,) = m.autograd.grad((g * g).sum(), x)
    return _np(g), _np(gg)


@pytest.mark.parametrize("name", list(DOUBLE_CASES))
def test_double_backward_through_inplace_matches_torch(name):
    torch = pytest.importorskip("torch")
    (g1, h1), (g2, h2) = _double(minitorch, DOUBLE_CASES[name]), _double(torch,
                                                                         DOUBLE_CASES[name])
    np.testing.assert_allclose(g1, g2, rtol=1e-12)
    np.testing.assert_allclose(h1, h2, rtol=1e-12)


def test_double_backward_through_view_inplace_by_hand():
    # y = x*x with row 0 tripled; L = sum(y^2); g = dL/dx = 4 c^2 x^3; sum(g^2) -> 96 c^4 x^5
    x = _t(minitorch, _X2, requires_grad=True)
    y = x * x
    y[0].mul_(3)
    (g,) = minitorch.autograd.grad((y * y).sum(), x, create_graph=True)
    (gg,) = minitorch.autograd.grad((g * g).sum(), x)
    c = np.array([[3.0], [1.0]])
    np.testing.assert_allclose(_np(gg), 96 * c ** 4 * _X2 ** 5)
