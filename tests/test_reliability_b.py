"""Reliability, part B: views, shapes, indexing and creation, checked against PyTorch.

Each test runs minitorch on every test device (cpu, cudasim, cuda when present) and the same
code on PyTorch (cpu), then compares values, gradients, strides, or the exception class and
message.  The regressions they pin down: views taken before their base had a history,
``repeat``/``tile`` aliasing, silent integer wrap-around at construction, ``clone`` strides,
``cat`` with skipped empty tensors, quadratic nested-view bookkeeping, errors that escaped
from NumPy, and PyTorch's errors for multi-output views and duplicate dims.
"""
from __future__ import annotations

import numpy as np
import pytest

import minitorch

torch = pytest.importorskip("torch")


def _plain(r):
    """Tensors (also inside tuples and lists) as (values, dtype name, shape)."""
    if hasattr(r, "detach"):
        return (r.detach().cpu().tolist(), str(r.dtype).split(".")[-1], tuple(r.shape))
    if isinstance(r, (tuple, list)):
        return type(r)(_plain(x) for x in r)
    return r


def _outcome(fn):
    """('ok', value) or (exception class name, message): what a call did."""
    try:
        r = fn()
    except Exception as e:  # noqa: BLE001 - the class is what is compared
        return type(e).__name__, str(e).split("\n")[0]
    return "ok", _plain(r)


def _same(fn, dev):
    """fn(m, dev) behaves the same on minitorch (on ``dev``) and on PyTorch (cpu)."""
    got = _outcome(lambda: fn(minitorch, dev))
    want = _outcome(lambda: fn(torch, "cpu"))
    assert got == want


def _np(t):
    return np.asarray(t.detach().cpu().tolist(), dtype=np.float64)


# -- 1. a view taken before its base had a history --------------------------------------------

def _early_view(m, dev):
    b = m.zeros(3, device=dev)
    v = b[1:]
    a = m.ones(3, requires_grad=True, device=dev)
    b.add_(a)
    (b.sum() + (v * 10).sum()).backward()
    return a.grad


def _early_view_of_view(m, dev):
    b = m.zeros(2, 3, device=dev)
    v = b[1]
    w = v[1:]
    t = b.t()
    a = m.ones(2, 3, requires_grad=True, device=dev)
    b.mul_(a).add_(a)
    ((w * 10).sum() + (t * m.arange(6.0, device=dev).reshape(3, 2)).sum()).backward()
    return a.grad


def _early_view_write_through_sibling(m, dev):
    b = m.zeros(3, device=dev)
    v = b[1:]
    w = b[:2]
    a = m.ones(2, requires_grad=True, device=dev)
    v.add_(a)  # a view of the plain base gets the history; its sibling w must see it
    (b.sum() + (w * 10).sum()).backward()
    return a.grad


@pytest.mark.parametrize("case", [_early_view, _early_view_of_view,
                                  _early_view_write_through_sibling])
def test_view_taken_before_base_had_history(device, case):
    _same(case, device)


# -- 2. repeat / tile always copy --------------------------------------------------------------

@pytest.mark.parametrize("shape, op", [
    ((3,), lambda a: a.repeat(1)), ((2, 3), lambda a: a.repeat(1, 1)),
    ((2, 3), lambda a: a.repeat(1, 1, 1)), ((3,), lambda a: a.tile((1,))),
    ((2, 3), lambda a: a.tile((1,))), ((2, 3), lambda a: a.tile((1, 1))),
    ((2, 3), lambda a: a.t().repeat(1, 1)), ((2, 3), lambda a: a.repeat(0, 1)),
    ((), lambda a: a.repeat(())), ((2, 3), lambda a: a.repeat(2, 1)),
])
def test_repeat_and_tile_copy(device, shape, op):
    def run(m, dev):
        a = m.ones(shape, device=dev)
        r = op(a)
        r.mul_(2)
        return a.tolist(), r.tolist(), a._version, r.is_contiguous(), r.stride()
    _same(run, device)


def test_repeat_of_requires_grad_is_not_a_view(device):
    def run(m, dev):
        x = m.ones(3, requires_grad=True, device=dev)
        y = x * 1
        r = y.repeat(1)
        r.mul_(3)  # a copy: y (and x's gradient) are not affected
        (y.sum() + r.sum()).backward()
        return x.grad, y._version
    _same(run, device)


# -- 3. out-of-range values are refused at construction --------------------------------------

_CONSTRUCT = [
    "m.tensor(2**63)", "m.tensor([2**63])", "m.tensor([1, 2**64])", "m.tensor(-2**63 - 1)",
    "m.tensor([[1, 2], [3, 2**63]])", "m.tensor([True, 2**63])", "m.tensor(2**64, dtype=m.int64)",
    "m.tensor(2**63, dtype=m.int32)",
    "m.tensor([3e9], dtype=m.int32)", "m.tensor(3e9, dtype=m.int32)",
    "m.tensor(float('nan'), dtype=m.int64)", "m.tensor(float('inf'), dtype=m.int32)",
    "m.tensor([2**31], dtype=m.int32)", "m.tensor(2**40, dtype=m.int32)",
    "m.tensor(1e20, dtype=m.int64)", "m.tensor(2147483647.5, dtype=m.int32)",
    "m.tensor(-2147483648.9, dtype=m.int32)", "m.tensor(9.3e18, dtype=m.int64)",
    "m.tensor(np.float64('nan'), dtype=m.int64)", "m.tensor([np.float64(3e9)], dtype=m.int32)",
    "m.ones(2, dtype=m.int32).new_tensor([2**40])", "m.as_tensor([3e9], dtype=m.int32)",
    "m.full((2,), 2**63)", "m.full((2,), 3e9, dtype=m.int32)", "m.full((2,), 2**31, dtype=m.int32)",
    "m.full((2,), -2**31 - 1, dtype=m.int32)", "m.full((1,), float('nan'), dtype=m.int64)",
    "m.full((1,), 1e300, dtype=m.float32)", "m.full((2,), -2**63 - 1)", "m.full((2,), 2**64)",
    "m.zeros(2, dtype=m.int32).fill_(3e9)", "m.zeros(2, dtype=m.int64).fill_(2**63)",
    "m.zeros(2, dtype=m.int64).fill_(float('nan'))", "m.zeros(2).fill_(1e300)",
    "m.zeros(2, dtype=m.int32).masked_fill(m.tensor([True, False]), 2**40)",
    # in range: these work, with PyTorch's values
    "m.tensor(2**63 - 1)", "m.tensor(-2**63)", "m.tensor(2**63, dtype=m.float32)",
    "m.tensor([2**64], dtype=m.float32)", "m.tensor([2**70], dtype=m.bool)",
    "m.tensor([1.0, 2**63])", "m.tensor(2**31 - 1, dtype=m.int32)", "m.tensor([1.5e10], dtype=m.int64)",
    "m.tensor(1e300, dtype=m.float32)", "m.tensor(float(2**63), dtype=m.int64)",
    "m.tensor(np.array([3e9]), dtype=m.int32)", "m.full((2,), 3.5, dtype=m.int64)",
    "m.full((2,), 2**63, dtype=m.float32)", "m.full((2,), float('inf'))",
    "m.zeros(2, dtype=m.float64).fill_(1e300)", "m.zeros(2, dtype=m.bool).fill_(5)",
]


@pytest.mark.parametrize("expr", _CONSTRUCT)
def test_construction_range_checks(expr):
    _same(lambda m, dev: eval(expr, {"m": m, "np": np}), "cpu")


@pytest.mark.parametrize("expr", ["m.zeros(2, dtype=m.int32, device=dev).__setitem__(0, 3e9)",
                                  "m.zeros(2, dtype=m.int32, device=dev).__setitem__(0, 2**40)",
                                  "m.full((2,), 2**40, dtype=m.int32, device=dev)",
                                  "m.tensor([3e9], dtype=m.int32, device=dev)"])
def test_construction_range_checks_on_device(device, expr):
    _same(lambda m, dev: eval(expr, {"m": m, "dev": dev}), device)


# -- 4. clone keeps the strides of a dense tensor ----------------------------------------------

def _ar(m, d, *shape):
    return m.arange(float(np.prod(shape)), device=d).reshape(shape)


_STRIDED = [
    lambda m, d: _ar(m, d, 3, 4).t(),
    lambda m, d: _ar(m, d, 2, 3, 4).permute(2, 0, 1),
    lambda m, d: _ar(m, d, 2, 3, 4).permute(0, 2, 1),
    lambda m, d: _ar(m, d, 3, 1, 4).permute(2, 1, 0),
    lambda m, d: _ar(m, d, 4, 3).t().unsqueeze(0),
    lambda m, d: _ar(m, d, 4, 3).t().unsqueeze(1),
    lambda m, d: _ar(m, d, 4, 3).t()[:, :2],
    lambda m, d: _ar(m, d, 4, 6)[:, ::2],
    lambda m, d: _ar(m, d, 3, 1).expand(3, 4),
    lambda m, d: _ar(m, d, 4, 3)[::2],
    lambda m, d: _ar(m, d, 4, 3).t()[1],
    lambda m, d: _ar(m, d, 4, 3),
    lambda m, d: _ar(m, d, 2, 3, 4).permute(1, 0, 2)[:, 1],
]


@pytest.mark.parametrize("make", _STRIDED)
def test_clone_preserves_dense_strides(device, make):
    def run(m, dev):
        x = make(m, dev)
        c = x.clone()
        k = x.contiguous()
        cc = x.clone(memory_format=m.contiguous_format)
        return (x.stride(), c.stride(), c.is_contiguous(), c.tolist(), k.stride(),
                k.is_contiguous(), cc.stride(), cc.is_contiguous(),
                _outcome(lambda: c.view(-1).tolist()))
    _same(run, device)


def test_clone_backward_and_version(device):
    def run(m, dev):
        x = m.arange(12.0, device=dev).reshape(3, 4).requires_grad_()
        c = x.t().clone()
        c.mul_(2)  # the clone is not a view: x is untouched
        (c * m.arange(12.0, device=dev).reshape(4, 3)).sum().backward()
        return x.grad, x._version, c.stride()
    _same(run, device)


# -- 5. cat with skipped 1-D empty tensors -----------------------------------------------------

_CATS = [
    lambda m, d: (m.zeros(0, dtype=m.float64, device=d), m.ones(2, dtype=m.int64, device=d)),
    lambda m, d: (m.ones(2, dtype=m.int64, device=d), m.zeros(0, dtype=m.float64, device=d)),
    lambda m, d: (m.zeros(0, dtype=m.int64, device=d), m.zeros(0, device=d)),
    lambda m, d: (m.zeros(0, device=d), m.ones(2, 3, dtype=m.float64, device=d)),
    lambda m, d: (m.ones(2, 3, device=d), m.zeros(0, dtype=m.int64, device=d),
                  m.ones(1, 3, device=d)),
]


@pytest.mark.parametrize("make", _CATS)
def test_cat_promotes_over_skipped_empty_tensors(device, make):
    _same(lambda m, dev: m.cat(make(m, dev)), device)


@pytest.mark.parametrize("shapes", [((0,), (2, 3)), ((0,), (3,)), ((0,), (0,)), ((2, 0), (2, 3)),
                                    ((2, 3), (0,), (1, 3))])
def test_cat_gives_empty_leaves_a_gradient(device, shapes):
    def run(m, dev):
        xs = [m.ones(*s, requires_grad=True, device=dev) for s in shapes]
        y = m.cat(xs, dim=-1 if shapes[0] == (2, 0) else 0)
        (y * m.arange(float(y.numel()), device=dev).reshape(y.shape)).sum().backward()
        return [(x.grad.tolist(), tuple(x.grad.shape)) for x in xs], tuple(y.shape)
    _same(run, device)


def test_cat_single_tensor_is_a_contiguous_copy(device):
    def run(m, dev):
        x = m.arange(12.0, device=dev).reshape(3, 4).t()
        y = m.cat([x])
        y.add_(1)
        return y.stride(), x.tolist(), y.tolist()
    _same(run, device)


# -- 6. nested views: bookkeeping stays linear --------------------------------------------------

def test_nested_views_keep_a_short_chain():
    # quadratic bookkeeping (copying the whole chain per view) took ~15 s at this size
    n = 40000
    x = minitorch.ones(3, requires_grad=True) * 1
    y = x
    for _ in range(n):
        y = y.unsqueeze(0)[0]
    assert y._x["base"] is x
    assert y._x["chain"][2] <= 9  # collapsed: y is one contiguous block of x
    assert len(x._x["views"]) <= 2 * 64  # dead views are pruned as the list grows
    y.mul_(2)
    (y * minitorch.arange(3.0)).sum().backward()  # the rebased graph is usable


def test_nested_strided_views_share_their_chain():
    # a view that is not one contiguous block is not collapsed: its chain node points at
    # its input's, so each view still costs O(1) bookkeeping
    x = minitorch.zeros(4, 6)[:, ::2] * 1
    x = x.t()  # non-contiguous, and a view of a non-leaf
    prev = x.unsqueeze(0)
    y = prev[0]
    assert y._x["chain"][0] is prev._x["chain"]
    for _ in range(2000):
        y = y.unsqueeze(0)[0]
    assert y._x["chain"][2] == 2 * 2001 + 1


@pytest.mark.parametrize("contiguous", [True, False])
def test_nested_views_inplace_gradients(device, contiguous):
    def run(m, dev):
        a = m.arange(1.0, 13.0, device=dev).reshape(3, 4).requires_grad_()
        x = a * 1 if contiguous else (a * 1).t()
        y = x
        for _ in range(20):
            y = y.unsqueeze(0)[0]
        z = y[1:]
        z.mul_(3)
        y.add_(1)
        w = m.arange(12.0, device=dev).reshape(x.shape)
        ((x * w).sum() + (z * z).sum()).backward()
        return a.grad, x.tolist()
    _same(run, device)


# -- 7. errors that escaped from NumPy ---------------------------------------------------------

_ESCAPES = [
    lambda m, d: m.tensor(1.0, device=d).flip(0),
    lambda m, d: m.tensor(1.0, device=d).flip(-1),
    lambda m, d: m.tensor(1.0, device=d).flip(1),
    lambda m, d: m.zeros(3, device=d).flip(),
    lambda m, d: m.zeros(3, device=d).expand(2, 3)[0].fill_(2),
    lambda m, d: m.zeros(3, device=d).expand(2, 3).fill_(2),
    lambda m, d: m.zeros(3, device=d).expand(2, 3).zero_(),
    lambda m, d: m.zeros(3, device=d).expand(2, 3)[0].add_(2),
    lambda m, d: m.zeros(3, device=d).expand(2, 3).add_(2),
    lambda m, d: m.zeros(3, device=d).expand(2, 3).mul_(m.ones(2, 3, device=d)),
    lambda m, d: m.zeros(3, device=d).expand(2, 3).exp_(),
    lambda m, d: m.zeros(3, device=d).expand(2, 3).copy_(m.ones(2, 3, device=d)),
    lambda m, d: m.zeros(3, device=d).expand(2, 3)[0].copy_(m.ones(3, device=d)),
    lambda m, d: m.zeros(3, device=d).expand(2, 3).uniform_(),
    lambda m, d: m.zeros(3, device=d).expand(2, 3)[:, 0:1].add_(1),
    lambda m, d: m.zeros(1, device=d).expand(1, 3).add_(1),
    lambda m, d: m.zeros(3, device=d).expand(2, 3).fill_(m.tensor(1.0, device=d)),
    lambda m, d: (m.zeros(3, requires_grad=True, device=d) * 1).expand(2, 3).fill_(2),
    lambda m, d: (m.zeros(3, requires_grad=True, device=d) * 1).expand(2, 3)[0].add_(2),
]


@pytest.mark.parametrize("i", range(len(_ESCAPES)))
def test_no_numpy_errors_escape(device, i):
    _same(_ESCAPES[i], device)


def _setitem(key, value_shape, shape=(2, 3), grad=False):
    def run(m, dev):
        t = m.zeros(*shape, device=dev, dtype=m.float64)
        v = m.arange(1.0, 1.0 + float(np.prod(value_shape)), dtype=m.float64,
                     device=dev).reshape(value_shape)
        if grad:
            v.requires_grad_()
            t = t.requires_grad_() * 1
        t[key] = v
        if grad:
            (t * t).sum().backward()
            return t, v.grad
        return t
    return run


_SETITEMS = [
    (0, (1,), (1,)), (0, (1, 1), (1,)), (0, (1, 1, 3)), (0, (1, 3)), ([0, 1], (1, 2, 3)),
    (([0, 1], 0), (1, 1, 2)), (0, (2, 3)), (0, (2,)), ((slice(None), [0, 1]), (3,)),
    ((slice(None), [0, 1]), (1, 2, 2)), (Ellipsis, (1, 1, 2, 3)), (0, (3, 1)),
]


@pytest.mark.parametrize("case", _SETITEMS)
@pytest.mark.parametrize("grad", [False, True])
def test_setitem_value_shapes(device, case, grad):
    key, vshape = case[0], case[1]
    shape = case[2] if len(case) > 2 else (2, 3)
    _same(_setitem(key, vshape, shape, grad), device)


def test_setitem_into_expanded(device):
    def run(m, dev, key, val):
        x = m.zeros(3, device=dev).expand(2, 3)
        x[key] = val(m, dev)
        return x
    for key, val in [((slice(None), 0), lambda m, d: 5.0), (0, lambda m, d: m.ones(3, device=d)),
                     ((slice(None), 0), lambda m, d: m.ones(2, device=d)),
                     (Ellipsis, lambda m, d: 1.0)]:
        _same(lambda m, dev: run(m, dev, key, val), device)


@pytest.mark.parametrize("op", [
    lambda x: x.add_(1), lambda x: x.mul_(x), lambda x: x.exp_(), lambda x: x.clamp_(0, 1),
    lambda x: x.fill_(1), lambda x: x.zero_(), lambda x: x.copy_(x * 2), lambda x: x.uniform_(),
    lambda x: x.masked_fill_(x > 0, 1), lambda x: x.__setitem__(slice(None), 1),
    lambda x: x.t().add_(1), lambda x: x[:, 3:].add_(1),
])
def test_inplace_on_zero_size(device, op):
    def run(m, dev):
        x = m.zeros(0, 3, device=dev)
        op(x)
        y = m.zeros(4, 3, device=dev)[:, 3:]
        op(y)
        return tuple(x.shape), tuple(y.shape), x._version
    _same(run, device)


@pytest.mark.parametrize("view", [
    lambda x: x[:, 3:], lambda x: x[::2, 1:1], lambda x: x.t()[3:], lambda x: x[4:, ::2],
])
def test_backward_through_zero_size_slices(device, view):
    def run(m, dev):
        x = m.ones(4, 3, requires_grad=True, device=dev)
        e = m.ones(0, 3, requires_grad=True, device=dev)
        (view(x) * 2).sum().backward()
        (e.t()[1:] * 2).sum().backward()
        h = x * 1
        view(h).mul_(2)
        h.sum().backward()
        return x.grad, e.grad
    _same(run, device)


# -- 8. PyTorch's errors ------------------------------------------------------------------------

_ERRORS = [
    lambda m, d: m.tensor(1.0, device=d).unflatten(0, (1,)),
    lambda m, d: m.zeros(3, device=d).unflatten(0, ()),
    lambda m, d: m.zeros(3, device=d).unflatten(0, (2, -1)),
    lambda m, d: m.zeros(3, device=d).unflatten(0, (1, -1)),
    lambda m, d: m.tensor(1.0, device=d).narrow(0, 0, 1),
    lambda m, d: m.tensor(1.0, device=d).movedim(0, 0),
    lambda m, d: m.tensor(1.0, device=d).movedim(-1, 0),
    lambda m, d: m.tensor(1.0, device=d).movedim(1, 0),
    lambda m, d: m.zeros(2, 3, device=d).movedim((0, 0), (1, 0)),
    lambda m, d: m.zeros(2, 3, device=d).movedim((0, 1), (1, 1)),
    lambda m, d: m.zeros(2, 3, device=d).movedim((0, 1), (1,)),
    lambda m, d: m.zeros(2, 3, device=d).__setitem__(0, m.ones(2, device=d)),
    lambda m, d: m.zeros(2, 3, device=d).__setitem__((slice(None), [0, 1]), m.ones(3, device=d)),
    lambda m, d: m.zeros(2, 3, device=d).__setitem__([0, 1], m.ones(3, 3, device=d)),
    lambda m, d: m.zeros(3, device=d).scatter_add(0, m.tensor([0, 1], device=d),
                                                  m.ones(2, dtype=m.float64, device=d)),
    lambda m, d: m.zeros(3, dtype=m.int64, device=d).scatter_add(0, m.tensor([0, 1], device=d),
                                                                 m.ones(2, device=d)),
    lambda m, d: m.zeros(3, device=d).scatter_add_(0, m.tensor([0, 1], device=d),
                                                   m.ones(2, dtype=m.float64, device=d)),
    lambda m, d: m.zeros(3, device=d).scatter_add(0, m.tensor([0, 1], dtype=m.int32, device=d),
                                                  m.ones(2, device=d)),
    lambda m, d: m.zeros(3, device=d).scatter_add(0, m.tensor([0.0, 1.0], device=d),
                                                  m.ones(2, device=d)),
    lambda m, d: m.arange(3.0, device=d).gather(0, m.tensor([2, 1], dtype=m.int32, device=d)),
    lambda m, d: m.zeros(3, device=d).flip(0, 0),
    lambda m, d: m.zeros(3, 2, device=d).flip(0, -2),
    lambda m, d: m.tensor(1.0, device=d).flip(0, -1),
    lambda m, d: m.zeros(1, 3, device=d).squeeze((0, 0)),
    lambda m, d: m.zeros(1, 3, device=d).squeeze((0, -2)),
    lambda m, d: m.tensor(1.0, device=d).squeeze((0, -1)),
]


@pytest.mark.parametrize("i", range(len(_ERRORS)))
def test_errors_match_pytorch(device, i):
    _same(_ERRORS[i], device)


def _split(a):
    return a.split(2)


def _split_sizes(a):
    return a.split([1, 3])


def _chunk(a):
    return a.chunk(2)


def _unbind(a):
    return a.reshape(2, 2).unbind(1)


@pytest.mark.parametrize("make", [_split, _split_sizes, _chunk, _unbind])
@pytest.mark.parametrize("k", [0, 1])
@pytest.mark.parametrize("op", [lambda v: v.mul_(2), lambda v: v.zero_(),
                                lambda v: v.copy_(v * 0), lambda v: v.__setitem__(0, 5.0),
                                lambda v: v.uniform_(), lambda v: v[0:1].add_(1)])
def test_multi_output_views_refuse_inplace(device, make, k, op):
    def run(m, dev):
        a = m.ones(4, requires_grad=True, device=dev) * 1
        parts = make(a)
        try:
            op(parts[k])
        except RuntimeError as e:
            # ``v[0] = x`` is ``v.select(0, 0).fill_(x)`` in PyTorch, which names "Select";
            # minitorch writes v itself and names v: the rest of the message is the same
            msg = str(e)
            return "RuntimeError", msg[msg.index(" is a view"):] if "Select" in msg or (
                op.__code__.co_names[-1:] == ("__setitem__",)) else msg
    _same(run, device)


@pytest.mark.parametrize("make", [_split, _chunk, _unbind])
def test_multi_output_views_allowed_without_grad(device, make):
    def run(m, dev):
        a = m.ones(4, device=dev)
        parts = make(a)
        parts[1].mul_(2)  # nothing is recorded: allowed
        b = m.ones(4, requires_grad=True, device=dev) * 1
        with m.no_grad():
            make(b)[0].mul_(3)  # inside no_grad: allowed
        return a, b.detach()
    _same(run, device)


def test_multi_output_view_of_plain_base_with_recorded_op(device):
    def run(m, dev):
        a = m.ones(4, device=dev)
        p = a.split(2)
        p[0].mul_(m.ones(2, requires_grad=True, device=dev))
    _same(run, device)


_MODIFIED = "its base or another view of its base has been modified inplace"


@pytest.mark.parametrize("modify", [lambda a, p: a.mul_(2), lambda a, p: a[0:1].mul_(2),
                                    lambda a, p: a.__setitem__(3, 0.0)])
@pytest.mark.parametrize("plain", [False, True])
def test_multi_output_view_unusable_after_base_modified(device, modify, plain):
    grads = []
    for m, dev in ((minitorch, device), (torch, "cpu")):
        r = m.arange(1.0, 5.0, requires_grad=True, device=dev)
        a = m.ones(4, device=dev) if plain else r * 1
        p = a.split(2)
        if plain:
            a.add_(r)  # the plain base gets a history after the views were taken
        modify(a, p)
        # PyTorch raises on the first use of p[0]; minitorch when backward reaches it
        with pytest.raises(RuntimeError, match=_MODIFIED) as info:
            (p[0] * 1).sum().backward()
        head = ("A view was created in no_grad mode and " if plain else
                "Output 0 of Split is a view and ")
        assert str(info.value).startswith(head)
        assert "output of a function that returns multiple views" in str(info.value)
        (a * a).sum().backward()  # the base itself is still differentiable
        grads.append(_np(r.grad))
    np.testing.assert_allclose(grads[0], grads[1])
