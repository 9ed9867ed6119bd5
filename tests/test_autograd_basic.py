"""Autograd basics: graph attributes, ``backward`` / ``autograd.grad`` and their options and
errors, gradient accumulation, retain_graph, hooks, retain_grad, detach, grad modes and the
iterative engine.  Parity tests run the same code with ``m = torch`` (skipped without it)."""
from __future__ import annotations

import time

import numpy as np
import pytest

import minitorch

from conftest import _np, _t  # noqa: F401  (and the fixture m)
from minitorch import autograd


pytestmark = pytest.mark.filterwarnings(
    "ignore:The .grad attribute of a Tensor that is not a leaf")


@pytest.fixture
def tt():
    return pytest.importorskip("torch")


# --------------------------------------------------------------------------------------------
# graph attributes


def test_leaf_attributes(m):
    a = _t(m, [1.0, 2.0])
    assert not a.requires_grad and a.is_leaf and a.grad_fn is None and a.grad is None
    x = _t(m, [1.0, 2.0], requires_grad=True)
    assert x.requires_grad and x.is_leaf and x.grad_fn is None and x.grad is None
    y = x * 2
    assert y.requires_grad and not y.is_leaf and y.grad_fn is not None
    z = a * 2  # no input requires grad: nothing recorded
    assert not z.requires_grad and z.is_leaf and z.grad_fn is None


@pytest.mark.parametrize("name,fn", [
    ("AddBackward0", lambda x, w: x + w),
    ("SubBackward0", lambda x, w: x - w),
    ("MulBackward0", lambda x, w: x * w),
    ("DivBackward0", lambda x, w: x / w),
    ("NegBackward0", lambda x, w: -x),
    ("ExpBackward0", lambda x, w: x.exp()),
    ("LogBackward0", lambda x, w: x.log()),
    ("TanhBackward0", lambda x, w: x.tanh()),
    ("SigmoidBackward0", lambda x, w: x.sigmoid()),
    ("ReluBackward0", lambda x, w: x.relu()),
    ("PowBackward0", lambda x, w: x ** 2),
    ("SumBackward0", lambda x, w: x.sum()),
    ("PermuteBackward0", lambda x, w: x.permute(1, 0)),
    ("SliceBackward0", lambda x, w: x[:, 1:]),
    ("CloneBackward0", lambda x, w: x.clone()),
    ("ExpandBackward0", lambda x, w: x[:1].expand(4, 3)),
])
def test_grad_fn_names(m, name, fn):
    x = _t(m, [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    w = _t(m, [[1.0, 2.0, 3.0], [4.0, 5.0, 7.0]], requires_grad=True)
    gf = fn(x, w).grad_fn
    assert gf.name() == name
    assert type(gf).__name__ == name


def test_next_functions_and_accumulate_grad():
    x = _t(minitorch, [1.0, 2.0], requires_grad=True)
    c = _t(minitorch, [3.0, 4.0])
    y = x * c
    (acc, nr), (none, _) = y.grad_fn.next_functions
    assert type(acc).__name__ == "AccumulateGrad" and acc.variable is x and nr == 0
    assert none is None
    z = y + x
    assert z.grad_fn.next_functions[0][0] is y.grad_fn
    assert z.grad_fn.next_functions[1][0] is acc  # one AccumulateGrad per leaf


def test_non_float_outputs_do_not_require_grad(m):
    x = _t(m, [1.0, 3.0, 2.0], requires_grad=True)
    assert not x.argmax().requires_grad
    assert not (x > 1).requires_grad
    assert (x * 2).requires_grad


# --------------------------------------------------------------------------------------------
# backward


def test_backward_scalar_and_accumulation(m):
    x = _t(m, [1.0, 2.0, 3.0], requires_grad=True)
    (x * x).sum().backward()
    np.testing.assert_allclose(_np(x.grad), [2.0, 4.0, 6.0])
    (x * 3).sum().backward()  # accumulates
    np.testing.assert_allclose(_np(x.grad), [5.0, 7.0, 9.0])
    x.grad = None
    x.sum().backward()
    np.testing.assert_allclose(_np(x.grad), [1.0, 1.0, 1.0])


def test_backward_gradient_argument(m):
    x = _t(m, [1.0, 2.0], requires_grad=True)
    (x * x).backward(gradient=_t(m, [1.0, 10.0]))
    np.testing.assert_allclose(_np(x.grad), [2.0, 40.0])


def test_backward_gradient_shape_mismatch(m):
    x = _t(m, [1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="Mismatch in shape"):
        (x * 2).backward(_t(m, [1.0, 1.0, 1.0]))


def test_implicit_grad_only_for_scalars(m):
    x = _t(m, [1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar "
                                           "outputs"):
        (x * 2).backward()


def test_backward_without_grad_fn(m):
    a = _t(m, [1.0, 2.0])
    with pytest.raises(RuntimeError, match="element 0 of tensors does not require grad and does "
                                           "not have a grad_fn"):
        a.sum().backward()
    x = _t(m, [1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="element 1 of tensors does not require grad"):
        m.autograd.backward([x.sum(), a.sum()])


def test_backward_on_leaf(m):
    x = _t(m, 3.0, requires_grad=True)
    x.backward()
    assert float(x.grad) == 1.0


def test_backward_inputs_restricts_accumulation(m):
    a = _t(m, 2.0, requires_grad=True)
    b = _t(m, 3.0, requires_grad=True)
    (a * b).backward(inputs=[a])
    assert float(a.grad) == 3.0 and b.grad is None
    (a * b).backward(inputs=b)
    assert float(a.grad) == 3.0 and float(b.grad) == 2.0


def test_backward_inputs_non_leaf(m):
    x = _t(m, [1.0, 2.0], requires_grad=True)
    h = x * 2
    (h * h).sum().backward(inputs=[h])
    np.testing.assert_allclose(_np(h.grad), [4.0, 8.0])
    assert x.grad is None


def test_autograd_backward_list(m):
    x = _t(m, [1.0, 2.0], requires_grad=True)
    m.autograd.backward([(x * 2).sum(), (x * x).sum()])
    np.testing.assert_allclose(_np(x.grad), [4.0, 6.0])
    m.autograd.backward([x * 1, x * x], [_t(m, [1.0, 1.0]), _t(m, [2.0, 2.0])])
    np.testing.assert_allclose(_np(x.grad), [4.0 + 1 + 4, 6.0 + 1 + 8])


def test_grad_flows_through_shared_subexpression(m):
    x = _t(m, [1.0, 2.0], requires_grad=True)
    h = x.exp()
    out = (h * h + h.sin() + h).sum()
    out.backward()
    e = np.exp([1.0, 2.0])
    np.testing.assert_allclose(_np(x.grad), (2 * e + np.cos(e) + 1) * e)


def test_leaf_grad_does_not_alias_caller_gradient(m):
    x = _t(m, [1.0, 2.0], requires_grad=True)
    y = _t(m, [1.0, 2.0], requires_grad=True)
    G = _t(m, [1.0, 1.0])
    x.backward(G)
    x.grad.zero_()
    (x + y).backward(G)
    x.grad.mul_(5)
    y.grad.mul_(7)
    np.testing.assert_allclose(_np(G), [1.0, 1.0])
    np.testing.assert_allclose(_np(x.grad), [5.0, 5.0])
    np.testing.assert_allclose(_np(y.grad), [7.0, 7.0])


def test_leaf_grad_is_writable_after_broadcast_backward(m):
    # sum's backward broadcasts the gradient: .grad must still be an ordinary tensor
    x = _t(m, [1.0, 2.0, 3.0], requires_grad=True)
    x.sum().backward()
    x.grad.add_(1)
    np.testing.assert_allclose(_np(x.grad), [2.0, 2.0, 2.0])
    x.grad.zero_()
    np.testing.assert_allclose(_np(x.grad), [0.0, 0.0, 0.0])
    w = _t(m, [[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    (m.ones(3, 2, dtype=m.float64) @ w.t()).sum().backward()
    w.grad.mul_(2)
    np.testing.assert_allclose(_np(w.grad), [[6.0, 6.0], [6.0, 6.0]])


def test_two_leaves_get_separate_grad_buffers(m):
    a = _t(m, [1.0, 2.0], requires_grad=True)
    b = _t(m, [1.0, 2.0], requires_grad=True)
    (a + b).sum().backward()
    a.grad.mul_(3)
    np.testing.assert_allclose(_np(b.grad), [1.0, 1.0])


# --------------------------------------------------------------------------------------------
# autograd.grad


def test_grad_basic_and_no_accumulation(m):
    x = _t(m, [1.0, 2.0], requires_grad=True)
    (g,) = m.autograd.grad((x * x).sum(), x)
    np.testing.assert_allclose(_np(g), [2.0, 4.0])
    assert x.grad is None
    assert not g.requires_grad


def test_grad_returns_tuple_for_list_inputs(m):
    a = _t(m, 2.0, requires_grad=True)
    b = _t(m, 3.0, requires_grad=True)
    ga, gb = m.autograd.grad(a * b, [a, b])
    assert (float(ga), float(gb)) == (3.0, 2.0)


def test_grad_allow_unused(m):
    a = _t(m, 2.0, requires_grad=True)
    b = _t(m, 3.0, requires_grad=True)
    out = a * a
    with pytest.raises(RuntimeError, match="appears to not have been used in the graph"):
        m.autograd.grad(out, [a, b], retain_graph=True)
    ga, gb = m.autograd.grad(out, [a, b], allow_unused=True)
    assert float(ga) == 4.0 and gb is None


def test_grad_unused_message_names_index(tt):
    for mod in (minitorch, tt):
        a = _t(mod, 2.0, requires_grad=True)
        b = _t(mod, 3.0, requires_grad=True)
        with pytest.raises(RuntimeError, match="The differentiated Tensor at index 1 appears"):
            mod.autograd.grad(a * a, [a, b])


def test_grad_materialize_grads():
    a = _t(minitorch, 2.0, requires_grad=True)
    b = _t(minitorch, [3.0, 4.0], requires_grad=True)
    ga, gb = autograd.grad(a * a, [a, b], materialize_grads=True)
    assert float(ga) == 4.0
    np.testing.assert_allclose(_np(gb), [0.0, 0.0])


def test_grad_outputs(m):
    v = _t(m, [1.0, 2.0], requires_grad=True)
    (g,) = m.autograd.grad(v * v, v, grad_outputs=_t(m, [1.0, 10.0]))
    np.testing.assert_allclose(_np(g), [2.0, 40.0])
    a, b = v * 2, v * 3
    (g,) = m.autograd.grad([a, b], v, grad_outputs=[_t(m, [1.0, 1.0]), _t(m, [2.0, 2.0])])
    np.testing.assert_allclose(_np(g), [8.0, 8.0])


def test_grad_wrt_non_leaf_and_runs_its_hooks(m):
    x = _t(m, [1.0, 2.0], requires_grad=True)
    h = x * 2
    calls = []
    h.register_hook(lambda g: calls.append(1))
    (g,) = m.autograd.grad((h ** 2).sum(), h)
    np.testing.assert_allclose(_np(g), [4.0, 8.0])
    assert calls == [1] and x.grad is None


def test_grad_wrt_leaf_runs_leaf_hook(m):
    x = _t(m, [1.0, 2.0], requires_grad=True)
    x.register_hook(lambda g: g * 10)
    (g,) = m.autograd.grad((x * x).sum(), x)
    np.testing.assert_allclose(_np(g), [20.0, 40.0])


def test_grad_input_that_does_not_require_grad(m):
    x = _t(m, [1.0, 2.0], requires_grad=True)
    c = _t(m, [1.0, 2.0])
    with pytest.raises(RuntimeError, match="does not require grad"):
        m.autograd.grad((x * c).sum(), c)


def test_grad_create_graph_gives_differentiable_result(m):
    x = _t(m, [1.0, 2.0], requires_grad=True)
    (g,) = m.autograd.grad((x ** 3).sum(), x, create_graph=True)
    assert g.requires_grad and g.grad_fn is not None
    np.testing.assert_allclose(_np(g), [3.0, 12.0])
    (gg,) = m.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(_np(gg), [6.0, 12.0])


@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph=True")
def test_backward_create_graph(m):
    x = _t(m, [1.0, 2.0], requires_grad=True)
    (x ** 3).sum().backward(create_graph=True)
    assert x.grad.requires_grad
    np.testing.assert_allclose(_np(x.grad), [3.0, 12.0])
    (gg,) = m.autograd.grad(x.grad.sum(), x)
    np.testing.assert_allclose(_np(gg), [6.0, 12.0])


# --------------------------------------------------------------------------------------------
# saved tensors and retain_graph

_FREED = "Trying to backward through the graph a second time"


def test_second_backward_raises(m):
    x = _t(m, [1.0, 2.0], requires_grad=True)
    z = (x * x).sum()
    z.backward()
    with pytest.raises(RuntimeError, match=_FREED):
        z.backward()


def test_second_grad_raises(m):
    x = _t(m, [1.0, 2.0], requires_grad=True)
    z = (x.exp() * x).sum()
    m.autograd.grad(z, x)
    with pytest.raises(RuntimeError, match=_FREED):
        m.autograd.grad(z, x)


def test_intermediate_graph_freed_for_new_root(m):
    x = _t(m, [1.0, 2.0], requires_grad=True)
    h = x.exp()
    (h * 2).sum().backward()
    with pytest.raises(RuntimeError, match=_FREED):
        (h * 3).sum().backward()  # h's ExpBackward0 released its saved result


def test_retain_graph_allows_second_backward_and_accumulates(m):
    x = _t(m, [1.0, 2.0], requires_grad=True)
    z = (x * x).sum()
    z.backward(retain_graph=True)
    z.backward(retain_graph=True)
    np.testing.assert_allclose(_np(x.grad), [4.0, 8.0])
    z.backward()
    np.testing.assert_allclose(_np(x.grad), [6.0, 12.0])
    with pytest.raises(RuntimeError, match=_FREED):
        z.backward()


def test_graph_without_saved_tensors_can_run_twice(m):
    x = _t(m, [1.0, 2.0], requires_grad=True)
    z = (x + 1).sum()
    z.backward()
    z.backward()
    np.testing.assert_allclose(_np(x.grad), [2.0, 2.0])


def test_saved_tensors_released_after_backward():
    x = _t(minitorch, [1.0, 2.0], requires_grad=True)
    y = x.sin()
    node = y.grad_fn
    assert len(node.saved_tensors) == 1
    y.sum().backward()
    with pytest.raises(RuntimeError, match=_FREED):
        node.saved_tensors


# --------------------------------------------------------------------------------------------
# hooks, retain_grad


def test_retain_grad_on_non_leaf(m):
    x = _t(m, [1.0, 2.0], requires_grad=True)
    y = x * 2
    y.retain_grad()
    assert y.retains_grad
    (y * y).sum().backward()
    np.testing.assert_allclose(_np(y.grad), [4.0, 8.0])
    np.testing.assert_allclose(_np(x.grad), [8.0, 16.0])
    w = x * 3  # without retain_grad: no .grad
    (w * w).sum().backward()
    assert w.grad is None


def test_retain_grad_accumulates_and_leaf_noop(m):
    x = _t(m, [1.0, 2.0], requires_grad=True)
    x.retain_grad()  # no-op on a leaf
    assert not x.retains_grad
    y = x * 2
    y.retain_grad()
    z = (y * y).sum()
    z.backward(retain_graph=True)
    z.backward()
    np.testing.assert_allclose(_np(y.grad), [8.0, 16.0])


def test_retain_grad_requires_grad(m):
    with pytest.raises(RuntimeError, match="can't retain_grad on Tensor that has "
                                           "requires_grad=False"):
        _t(m, [1.0]).retain_grad()


def test_retained_grad_does_not_alias_leaf_grad(m):
    x = _t(m, [1.0, 2.0], requires_grad=True)
    h = x + 0
    h.retain_grad()
    h.sum().backward()
    h.grad.mul_(10)
    np.testing.assert_allclose(_np(x.grad), [1.0, 1.0])
    np.testing.assert_allclose(_np(h.grad), [10.0, 10.0])


def test_hook_on_non_leaf_modifies_gradient(m):
    x = _t(m, [1.0, 2.0, 3.0], requires_grad=True)
    y = x * 2
    y.retain_grad()
    handle = y.register_hook(lambda g: g * 10)
    (y ** 2).sum().backward()
    # retain_grad sees the hooked gradient, whatever the registration order
    np.testing.assert_allclose(_np(y.grad), [40.0, 80.0, 120.0])
    np.testing.assert_allclose(_np(x.grad), [80.0, 160.0, 240.0])
    handle.remove()
    x.grad = None
    y = x * 2
    h2 = y.register_hook(lambda g: g * 10)
    h2.remove()
    (y ** 2).sum().backward()
    np.testing.assert_allclose(_np(x.grad), [8.0, 16.0, 24.0])


def test_hook_registered_before_retain_grad(m):
    x = _t(m, [1.0, 2.0], requires_grad=True)
    h = x * 2
    h.register_hook(lambda g: g * 100)
    h.retain_grad()
    h.sum().backward()
    np.testing.assert_allclose(_np(h.grad), [100.0, 100.0])
    np.testing.assert_allclose(_np(x.grad), [200.0, 200.0])


def test_hook_on_leaf(m):
    x = _t(m, [1.0, 2.0, 3.0], requires_grad=True)
    seen = []
    handle = x.register_hook(lambda g: seen.append(_np(g)) or g + 1)
    (x * x).sum().backward()
    np.testing.assert_allclose(_np(x.grad), [3.0, 5.0, 7.0])
    np.testing.assert_allclose(seen[0], [2.0, 4.0, 6.0])
    handle.remove()
    x.grad = None
    (x * x).sum().backward()
    np.testing.assert_allclose(_np(x.grad), [2.0, 4.0, 6.0])
    assert len(seen) == 1


def test_hook_called_once_with_summed_gradient(m):
    x = _t(m, [1.0, 2.0], requires_grad=True)
    h = x * 2
    calls = []
    h.register_hook(lambda g: calls.append(_np(g)))
    (h * h + h).sum().backward()
    assert len(calls) == 1
    np.testing.assert_allclose(calls[0], [5.0, 9.0])


def test_hooks_chain_in_registration_order(m):
    x = _t(m, [1.0], requires_grad=True)
    h = x * 1
    h.register_hook(lambda g: g + 1)
    h.register_hook(lambda g: g * 3)
    h.sum().backward()
    np.testing.assert_allclose(_np(x.grad), [6.0])  # (1 + 1) * 3


def test_hook_returning_none_keeps_gradient(m):
    x = _t(m, [1.0, 2.0], requires_grad=True)
    x.register_hook(lambda g: None)
    (x * 4).sum().backward()
    np.testing.assert_allclose(_np(x.grad), [4.0, 4.0])


def test_register_hook_requires_grad(m):
    with pytest.raises(RuntimeError, match="cannot register a hook on a tensor that doesn't "
                                           "require gradient"):
        _t(m, [1.0]).register_hook(lambda g: g)


def test_hook_on_root_output(m):
    x = _t(m, [1.0, 2.0], requires_grad=True)
    y = (x * 3).sum()
    y.register_hook(lambda g: g * 2)
    y.backward()
    np.testing.assert_allclose(_np(x.grad), [6.0, 6.0])


# --------------------------------------------------------------------------------------------
# detach, requires_grad_


def test_detach_shares_data_and_version_counter(m):
    x = _t(m, [1.0, 2.0], requires_grad=True)
    y = x * 2
    d = y.detach()
    assert not d.requires_grad and d.is_leaf and d.grad_fn is None
    v0 = y._version
    d.add_(1)  # visible through y, and bumps the shared version counter
    np.testing.assert_allclose(_np(y), [3.0, 5.0])
    assert y._version == v0 + 1 and d._version == y._version
    w = m.ones(3, dtype=m.float64)
    w.detach().mul_(4)
    np.testing.assert_allclose(_np(w), [4.0, 4.0, 4.0])
    assert w._version == 1


def test_detach_cuts_the_graph(m):
    x = _t(m, [1.0, 2.0], requires_grad=True)
    y = x * x
    z = (y.detach() * x).sum()  # d/dx = y (treated as a constant)
    z.backward()
    np.testing.assert_allclose(_np(x.grad), [1.0, 4.0])


def test_modifying_detached_saved_tensor_is_detected(m):
    x = _t(m, [1.0, 2.0], requires_grad=True)
    y = x.sin()
    z = (y * y).sum()  # saves y
    y.detach().zero_()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.backward()


def test_detach_inplace(m):
    x = _t(m, [1.0, 2.0], requires_grad=True)
    h = x * 2
    assert h.detach_() is h
    assert not h.requires_grad and h.grad_fn is None and h.is_leaf


def test_requires_grad_(m):
    q = m.zeros(2, dtype=m.float64)
    assert q.requires_grad_() is q
    assert q.requires_grad and q.is_leaf
    (q * 3).sum().backward()
    np.testing.assert_allclose(_np(q.grad), [3.0, 3.0])
    q.requires_grad_(False)
    assert not q.requires_grad
    with pytest.raises(RuntimeError, match="you can only change requires_grad flags of leaf "
                                           "variables"):
        (_t(m, [1.0], requires_grad=True) * 2).requires_grad_(False)
    with pytest.raises(RuntimeError, match="only Tensors of floating point dtype can require "
                                           "gradients"):
        m.tensor([1, 2]).requires_grad_()


# --------------------------------------------------------------------------------------------
# grad modes


def test_no_grad_context(m):
    x = _t(m, [1.0], requires_grad=True)
    assert m.is_grad_enabled()
    with m.no_grad():
        assert not m.is_grad_enabled()
        y = x * 2
        with m.enable_grad():
            assert m.is_grad_enabled()
            w = x * 2
        assert not m.is_grad_enabled()
    assert m.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None and y.is_leaf
    assert w.requires_grad


def test_no_grad_restores_on_exception(m):
    with pytest.raises(ValueError):
        with m.no_grad():
            raise ValueError
    assert m.is_grad_enabled()


def test_no_grad_decorators(m):
    x = _t(m, [1.0], requires_grad=True)

    @m.no_grad()
    def f():
        return (x * 2).requires_grad, m.is_grad_enabled()

    @m.no_grad
    def g():
        """doc"""
        return (x * 2).requires_grad

    assert f() == (False, False)
    assert g() is False and g.__name__ == "g" and g.__doc__ == "doc"
    assert m.is_grad_enabled()

    @m.enable_grad()
    def e():
        return (x * 2).requires_grad

    @m.enable_grad
    def e2():
        return m.is_grad_enabled()

    with m.no_grad():
        assert e() is True and e2() is True
        assert not m.is_grad_enabled()


def test_set_grad_enabled(m):
    x = _t(m, [1.0], requires_grad=True)
    try:
        m.set_grad_enabled(False)  # plain call
        assert not m.is_grad_enabled()
        assert not (x * 2).requires_grad
    finally:
        m.set_grad_enabled(True)
    assert m.is_grad_enabled()
    with m.set_grad_enabled(False):
        assert not m.is_grad_enabled()
        with m.set_grad_enabled(True):
            assert (x * 2).requires_grad
        assert not m.is_grad_enabled()
    assert m.is_grad_enabled()

    @m.set_grad_enabled(False)
    def f():
        return m.is_grad_enabled()

    assert m.is_grad_enabled()  # decorating does not switch the mode
    assert f() is False
    assert m.is_grad_enabled()


def test_inference_mode(m):
    x = _t(m, [1.0], requires_grad=True)
    with m.inference_mode():
        assert not m.is_grad_enabled()
        assert not (x * 2).requires_grad
    assert m.is_grad_enabled()
    with m.inference_mode(False):
        assert m.is_grad_enabled()

    @m.inference_mode()
    def f():
        return m.is_grad_enabled()

    @m.inference_mode
    def g():
        return m.is_grad_enabled()

    assert f() is False and g() is False and m.is_grad_enabled()


def test_grad_mode_aliases():
    assert minitorch.autograd.no_grad is minitorch.no_grad
    assert minitorch.autograd.is_grad_enabled() is True


def test_requires_grad_tensor_in_no_grad_backward_later(m):
    # a graph recorded before no_grad can still be backpropagated inside it
    x = _t(m, [1.0, 2.0], requires_grad=True)
    z = (x * x).sum()
    with m.no_grad():
        z.backward()
    np.testing.assert_allclose(_np(x.grad), [2.0, 4.0])


# --------------------------------------------------------------------------------------------
# the iterative engine


def test_long_chain_no_recursion_error():
    x = _t(minitorch, [1.0], requires_grad=True)
    t0 = time.process_time()  # CPU time: robust to other jobs sharing the machine
    y = x
    for _ in range(100_000):
        y = y + 0
    y.sum().backward()
    elapsed = time.process_time() - t0
    np.testing.assert_allclose(_np(x.grad), [1.0])
    assert elapsed < 10, elapsed  # about 2 s here: forward and backward together
    del y  # freeing the 100,000-node graph must not recurse either


def test_long_mul_chain_grad_value():
    x = _t(minitorch, [1.0], requires_grad=True)
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    (g,) = autograd.grad(y.sum(), x)
    np.testing.assert_allclose(_np(g), [1.0001 ** 10_000], rtol=1e-9)


def test_diamond_graph_order():
    # every node must run after all of its consumers: a wide diamond with shared parts
    x = _t(minitorch, [0.5], requires_grad=True)
    a = x * 2
    b = a.exp()
    c = a.sin()
    d = b * c + a
    e = (d * b).sum() + c.sum()
    e.backward()
    xv = 0.5
    av = 2 * xv
    bv, cv = np.exp(av), np.sin(av)
    dv = bv * cv + av
    # de/da via b, c, a
    de_db = dv + bv * cv
    de_dd = bv
    de_dc = de_dd * bv + 1
    de_da = de_db * bv + de_dc * np.cos(av) + de_dd
    np.testing.assert_allclose(_np(x.grad), [2 * de_da])


def test_empty_inputs_rejected(m):
    x = _t(m, [1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"`inputs` argument to `grad\(\)` cannot be empty"):
        m.autograd.grad((x * 2).sum(), [])
    with pytest.raises(RuntimeError, match=r"`inputs` argument to `backward\(\)` cannot be "
                                           r"empty"):
        (x * 2).sum().backward(inputs=[])


def test_backward_inputs_unreached_leaf_stays_none(m):
    x = _t(m, [1.0, 2.0], requires_grad=True)
    u = _t(m, [1.0, 2.0], requires_grad=True)
    (x * x).sum().backward(inputs=[u])
    assert u.grad is None and x.grad is None


def test_grad_of_tensor_wrt_itself(m):
    x = _t(m, [1.0, 2.0], requires_grad=True)
    (g,) = m.autograd.grad(x, x, grad_outputs=_t(m, [3.0, 4.0]))
    np.testing.assert_allclose(_np(g), [3.0, 4.0])


def test_leaf_modified_under_no_grad_before_backward(m):
    x = _t(m, [1.0, 2.0], requires_grad=True)
    y = x * x  # saves x
    with m.no_grad():
        x.add_(1)  # e.g. an optimizer step between forward and backward
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph=True")
def test_create_graph_accumulation_keeps_graph(m):
    x = _t(m, [1.0, 2.0], requires_grad=True)
    (x ** 2).sum().backward(create_graph=True)
    (x ** 2).sum().backward(create_graph=True)
    assert x.grad.requires_grad
    np.testing.assert_allclose(_np(x.grad), [4.0, 8.0])
    (gg,) = m.autograd.grad(x.grad.sum(), x)
    np.testing.assert_allclose(_np(gg), [4.0, 4.0])


# --------------------------------------------------------------------------------------------
# gaps found by these tests and fixed outside minitorch/autograd


def test_requires_grad_true_on_non_leaf_is_noop():
    x = _t(minitorch, [1.0], requires_grad=True)
    y = x * 2
    assert y.requires_grad_() is y


def test_retain_grad_follows_inplace():
    x = _t(minitorch, [1.0, 2.0], requires_grad=True)
    z = x * 2
    z.retain_grad()
    z.mul_(3)
    z.sum().backward()
    np.testing.assert_allclose(_np(x.grad), [6.0, 6.0])
    np.testing.assert_allclose(_np(z.grad), [1.0, 1.0])


def test_grad_assignment_checks_shape():
    x = _t(minitorch, [1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="attempting to assign a gradient of size"):
        x.grad = minitorch.zeros(3, dtype=minitorch.float64)


def test_top_level_is_anomaly_enabled():
    assert minitorch.is_anomaly_enabled() is False
