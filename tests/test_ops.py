"""One recipe, every op: forward against NumPy, gradients against float64 central
differences (gradcheck), and forward + backward against PyTorch when it is importable.

Each case is ``Case(name, fn, ref, shapes, ...)``: ``fn(m, *tensors)`` is written once in
PyTorch's API and runs with ``m = minitorch`` and with ``m = torch``; ``ref(*arrays)`` is
the NumPy reference.  Every case runs on every available device.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

import numpy as np
import pytest

import minitorch
from minitorch.autograd import gradcheck

from conftest import DEVICES

try:
    import torch
except ImportError:  # parity tests skip
    torch = None


@dataclass
class Case:
    name: str
    fn: Callable                      # fn(m, *tensors) in PyTorch's API
    ref: Optional[Callable]           # NumPy reference on float64 arrays, or None
    shapes: Sequence[tuple]
    domain: str = "any"               # any | pos | away0 (|x| >= 0.2) | unit (-0.9..0.9)
    grad: bool = True                 # check gradients
    int_inputs: Sequence[int] = field(default_factory=tuple)  # positions given as int64
    int_high: int = 3                 # exclusive upper bound for int inputs
    out_dtype: str = "float32"        # result dtype for float32 inputs


def _x(shape, domain, rng):
    if domain == "pos":
        return rng.uniform(0.5, 2.0, shape)
    if domain == "away0":
        return rng.uniform(0.2, 1.5, shape) * rng.choice([-1.0, 1.0], shape)
    if domain == "unit":
        return rng.uniform(-0.9, 0.9, shape)
    return rng.standard_normal(shape)


def _scatter_add_ref(x, idx, src):
    out = x.copy()
    for i in range(idx.shape[0]):
        for j in range(idx.shape[1]):
            out[i, idx[i, j]] += src[i, j]
    return out


def _setitem(m, x, v):
    y = x * 1.0
    y[1:, [0, 2]] = v
    return y


def _setitem_ref(x, v):
    y = x.copy()
    y[1:, [0, 2]] = v
    return y


def _mask_setitem(m, x):
    y = x * 2.0
    y[x > 0] = 0.0
    return y


def _mask_setitem_ref(x):
    y = x * 2.0
    y[x > 0] = 0.0
    return y


def _softmax_ref(x, axis):
    e = np.exp(x - x.max(axis, keepdims=True))
    return e / e.sum(axis, keepdims=True)


def _logsumexp_ref(x, axis, keepdims=False):
    m = x.max(axis, keepdims=True)
    r = np.log(np.exp(x - m).sum(axis, keepdims=True)) + m
    return r if keepdims else np.squeeze(r, axis)


CASES = [
    # -- unary -----------------------------------------------------------------------------
    Case("neg", lambda m, a: -a, np.negative, [(3, 4)]),
    Case("exp", lambda m, a: a.exp(), np.exp, [(3, 4)]),
    Case("log", lambda m, a: a.log(), np.log, [(3, 4)], "pos"),
    Case("log1p", lambda m, a: m.log1p(a), np.log1p, [(5,)], "pos"),
    Case("log1p_tiny", lambda m, a: (a * 1e-9).log1p() * 1e9, lambda a: np.log1p(a * 1e-9) * 1e9,
         [(5,)]),
    Case("expm1", lambda m, a: m.expm1(a), np.expm1, [(3, 4)]),
    Case("expm1_tiny", lambda m, a: (a * 1e-9).expm1() * 1e9, lambda a: np.expm1(a * 1e-9) * 1e9,
         [(5,)]),
    Case("sqrt", lambda m, a: a.sqrt(), np.sqrt, [(3, 4)], "pos"),
    Case("rsqrt", lambda m, a: a.rsqrt(), lambda a: 1 / np.sqrt(a), [(3, 4)], "pos"),
    Case("abs", lambda m, a: a.abs(), np.abs, [(3, 4)], "away0"),
    Case("sign", lambda m, a: a.sign(), np.sign, [(3, 4)], "away0"),
    Case("sin", lambda m, a: a.sin(), np.sin, [(3, 4)]),
    Case("cos", lambda m, a: m.cos(a), np.cos, [(3, 4)]),
    Case("tanh", lambda m, a: a.tanh(), np.tanh, [(3, 4)]),
    Case("sigmoid", lambda m, a: a.sigmoid(), lambda a: 1 / (1 + np.exp(-a)), [(3, 4)]),
    Case("relu", lambda m, a: a.relu(), lambda a: np.maximum(a, 0), [(3, 4)], "away0"),
    Case("square", lambda m, a: a.square(), np.square, [(4,)]),
    Case("floor", lambda m, a: a.floor(), np.floor, [(4,)], "away0"),
    Case("ceil", lambda m, a: a.ceil(), np.ceil, [(4,)], "away0"),
    Case("clamp", lambda m, a: a.clamp(-0.5, 0.5), lambda a: np.clip(a, -0.5, 0.5), [(4, 5)],
         "away0"),
    Case("clamp_min", lambda m, a: a.clamp(min=0.1), lambda a: np.maximum(a, 0.1), [(4, 5)]),
    Case("clip_max", lambda m, a: a.clip(max=0.3), lambda a: np.minimum(a, 0.3), [(4, 5)]),
    # -- binary with broadcasting ------------------------------------------------------------
    Case("add", lambda m, a, b: a + b, np.add, [(3, 4), (4,)]),
    Case("add_alpha", lambda m, a, b: m.add(a, b, alpha=2), lambda a, b: a + 2 * b,
         [(3, 4), (3, 1)]),
    Case("sub", lambda m, a, b: a - b, np.subtract, [(2, 1, 4), (3, 1)]),
    Case("mul", lambda m, a, b: a * b, np.multiply, [(3, 4), (3, 4)]),
    Case("div", lambda m, a, b: a / b, np.divide, [(3, 4), (4,)], "pos"),
    Case("pow", lambda m, a, b: a ** b, np.power, [(3, 4), (3, 4)], "pos"),
    Case("maximum", lambda m, a, b: m.maximum(a, b), np.maximum, [(3, 4), (4,)]),
    Case("minimum", lambda m, a, b: m.minimum(a, b), np.minimum, [(3, 4), (3, 1)]),
    Case("remainder", lambda m, a, b: a % b, np.remainder, [(6,), (6,)], "pos", grad=False),
    Case("floor_divide", lambda m, a, b: a // b, np.floor_divide, [(6,), (6,)], "pos",
         grad=False),
    Case("fmod", lambda m, a, b: m.fmod(a, b), np.fmod, [(3, 4), (4,)], "away0"),
    Case("fmod_scalar", lambda m, a: a.fmod(-0.7), lambda a: np.fmod(a, -0.7), [(3, 4)]),
    # -- scalars on either side ------------------------------------------------------------
    Case("add_scalar", lambda m, a: a + 2.5, lambda a: a + 2.5, [(3,)]),
    Case("rsub_scalar", lambda m, a: 2 - a, lambda a: 2 - a, [(3,)]),
    Case("mul_scalar", lambda m, a: 3 * a, lambda a: 3 * a, [(3,)]),
    Case("rdiv_scalar", lambda m, a: 1.5 / a, lambda a: 1.5 / a, [(3,)], "pos"),
    Case("pow_scalar", lambda m, a: a ** 3, lambda a: a ** 3, [(3, 2)]),
    Case("pow_half", lambda m, a: a ** 0.5, np.sqrt, [(3, 2)], "pos"),
    Case("rpow_scalar", lambda m, a: 2 ** a, lambda a: 2 ** a, [(3, 2)]),
    Case("where", lambda m, a, b: m.where(a > 0, a, b), lambda a, b: np.where(a > 0, a, b),
         [(3, 4), (4,)], "away0"),
    Case("where_scalar", lambda m, a: m.where(a > 0, a, 0.0), lambda a: np.where(a > 0, a, 0),
         [(3, 4)], "away0"),
    # -- reductions ------------------------------------------------------------------------
    Case("sum", lambda m, a: a.sum(), np.sum, [(3, 4)]),
    Case("sum_dim", lambda m, a: a.sum(1), lambda a: a.sum(1), [(3, 4, 2)]),
    Case("sum_dims_keep", lambda m, a: a.sum((0, 2), keepdim=True),
         lambda a: a.sum((0, 2), keepdims=True), [(3, 4, 2)]),
    Case("sum_neg_dim", lambda m, a: m.sum(a, -1), lambda a: a.sum(-1), [(3, 4)]),
    Case("mean", lambda m, a: a.mean(), np.mean, [(3, 4)]),
    Case("mean_dim", lambda m, a: a.mean(0, keepdim=True), lambda a: a.mean(0, keepdims=True),
         [(3, 4)]),
    Case("prod", lambda m, a: a.prod(1), lambda a: a.prod(1), [(3, 4)], "away0"),
    Case("prod_all", lambda m, a: a.prod(), np.prod, [(5,)], "away0"),
    Case("amax", lambda m, a: a.amax(1), lambda a: a.max(1), [(3, 4)]),
    Case("amin_dims", lambda m, a: a.amin((0, 1)), lambda a: a.min((0, 1)), [(3, 4, 2)]),
    Case("max_all", lambda m, a: a.max(), np.max, [(3, 4)]),
    Case("min_all", lambda m, a: a.min(), np.min, [(3, 4)]),
    Case("max_dim_values", lambda m, a: a.max(1)[0], lambda a: a.max(1), [(3, 4)]),
    Case("max_dim_keep", lambda m, a: a.max(dim=0, keepdim=True).values,
         lambda a: a.max(0, keepdims=True), [(3, 4)]),
    Case("min_dim_values", lambda m, a: a.min(-1).values, lambda a: a.min(-1), [(3, 4)]),
    Case("var", lambda m, a: a.var(), lambda a: a.var(ddof=1), [(3, 4)]),
    Case("var_dim", lambda m, a: a.var(1, keepdim=True), lambda a: a.var(1, ddof=1,
                                                                         keepdims=True), [(3, 4)]),
    Case("var_biased", lambda m, a: a.var(0, unbiased=False), lambda a: a.var(0), [(3, 4)]),
    Case("var_correction", lambda m, a: a.var(1, correction=0), lambda a: a.var(1), [(3, 4)]),
    Case("std", lambda m, a: a.std(0), lambda a: a.std(0, ddof=1), [(3, 4)]),
    Case("logsumexp", lambda m, a: a.logsumexp(1), lambda a: _logsumexp_ref(a, 1), [(3, 4)]),
    Case("logsumexp_keep", lambda m, a: m.logsumexp(a, (0, 1), keepdim=True),
         lambda a: _logsumexp_ref(a, (0, 1), True), [(3, 4)]),
    Case("softmax_composite", lambda m, a: a.exp() / a.exp().sum(1, keepdim=True),
         lambda a: _softmax_ref(a, 1), [(3, 4)]),
    # -- shapes and views ------------------------------------------------------------------
    Case("reshape", lambda m, a: a.reshape(4, -1), lambda a: a.reshape(4, -1), [(2, 3, 2)]),
    Case("view", lambda m, a: a.view(6, 2), lambda a: a.reshape(6, 2), [(3, 4)]),
    Case("reshape_noncontig", lambda m, a: a.t().reshape(-1), lambda a: a.T.reshape(-1),
         [(3, 4)]),
    Case("flatten", lambda m, a: a.flatten(1), lambda a: a.reshape(2, -1), [(2, 3, 4)]),
    Case("unflatten", lambda m, a: a.unflatten(1, (2, 3)), lambda a: a.reshape(4, 2, 3),
         [(4, 6)]),
    Case("squeeze", lambda m, a: a.squeeze(), np.squeeze, [(3, 1, 4, 1)]),
    Case("squeeze_dim", lambda m, a: a.squeeze(1), lambda a: a.squeeze(1), [(3, 1, 4, 1)]),
    Case("unsqueeze", lambda m, a: a.unsqueeze(-1), lambda a: a[..., None], [(3, 4)]),
    Case("transpose", lambda m, a: a.transpose(0, 2), lambda a: a.swapaxes(0, 2), [(2, 3, 4)]),
    Case("permute", lambda m, a: a.permute(2, 0, 1), lambda a: a.transpose(2, 0, 1),
         [(2, 3, 4)]),
    Case("t", lambda m, a: a.t(), lambda a: a.T, [(3, 4)]),
    Case("T", lambda m, a: a.T * 1, lambda a: a.T, [(3, 4)]),
    Case("expand", lambda m, a: a.expand(2, 3, 4), lambda a: np.broadcast_to(a, (2, 3, 4)),
         [(3, 1)]),
    Case("expand_as", lambda m, a, b: a.expand_as(b) * b, lambda a, b: a * b, [(1, 4), (3, 4)]),
    Case("broadcast_to", lambda m, a: a.broadcast_to((3, 4)), lambda a: np.broadcast_to(a, (3, 4)),
         [(4,)]),
    Case("repeat", lambda m, a: a.repeat(2, 3), lambda a: np.tile(a, (2, 3)), [(2, 3)]),
    Case("repeat_newdim", lambda m, a: a.repeat(2, 1, 2), lambda a: np.tile(a, (2, 1, 2)),
         [(3,)]),
    Case("flip", lambda m, a: a.flip(0, 1), lambda a: a[::-1, ::-1], [(3, 4)]),
    Case("cat", lambda m, a, b: m.cat([a, b], 1), lambda a, b: np.concatenate([a, b], 1),
         [(2, 3), (2, 2)]),
    Case("stack", lambda m, a, b: m.stack([a, b], -1), lambda a, b: np.stack([a, b], -1),
         [(2, 3), (2, 3)]),
    Case("split", lambda m, a: a.split(2, 1)[1], lambda a: a[:, 2:4], [(3, 5)]),
    Case("split_sizes", lambda m, a: a.split([1, 4], 1)[1] * 2, lambda a: a[:, 1:] * 2,
         [(3, 5)]),
    Case("chunk", lambda m, a: a.chunk(3, 0)[2], lambda a: a[4:], [(5, 2)]),
    Case("narrow", lambda m, a: a.narrow(1, 1, 2), lambda a: a[:, 1:3], [(3, 4)]),
    Case("unbind", lambda m, a: a.unbind(1)[2], lambda a: a[:, 2], [(3, 4)]),
    # -- indexing --------------------------------------------------------------------------
    Case("getitem_int", lambda m, a: a[1], lambda a: a[1], [(3, 4)]),
    Case("getitem_neg", lambda m, a: a[-1, -2], lambda a: a[-1, -2], [(3, 4)]),
    Case("getitem_slices", lambda m, a: a[1:, ::2], lambda a: a[1:, ::2], [(3, 5)]),
    Case("getitem_none_ellipsis", lambda m, a: a[None, ..., 1], lambda a: a[None, ..., 1],
         [(2, 3, 4)]),
    Case("getitem_list", lambda m, a: a[[0, 2, 0]], lambda a: a[[0, 2, 0]], [(3, 4)]),
    Case("getitem_tensor_idx", lambda m, a: a[:, m.tensor([3, 1, 3])],
         lambda a: a[:, [3, 1, 3]], [(3, 4)]),
    Case("getitem_two_idx", lambda m, a: a[m.tensor([0, 2]), m.tensor([1, 3])],
         lambda a: a[[0, 2], [1, 3]], [(3, 4)]),
    Case("getitem_adv_separated", lambda m, a: a[[0, 1], :, [2, 0]],
         lambda a: a[[0, 1], :, [2, 0]], [(2, 3, 4)]),
    Case("getitem_adv_middle", lambda m, a: a[:, [2, 0, 2], 1:], lambda a: a[:, [2, 0, 2], 1:],
         [(2, 3, 4)]),
    Case("getitem_mask", lambda m, a: a[a > 0], lambda a: a[a > 0], [(3, 4)], "away0"),
    Case("getitem_row_mask", lambda m, a: a[m.tensor([True, False, True])],
         lambda a: a[[True, False, True]], [(3, 4)]),
    Case("setitem", _setitem, _setitem_ref, [(3, 4), (2, 1)]),
    Case("setitem_mask", _mask_setitem, _mask_setitem_ref, [(3, 4)], "away0"),
    Case("gather", lambda m, a, i: a.gather(1, i), lambda a, i: np.take_along_axis(a, i, 1),
         [(3, 4), (3, 2)], int_inputs=(1,), int_high=4),
    Case("scatter_add", lambda m, a, i, s: a.scatter_add(1, i, s), _scatter_add_ref,
         [(3, 4), (3, 5), (3, 5)], int_inputs=(1,), int_high=4),
    Case("index_select", lambda m, a, i: a.index_select(1, i), lambda a, i: a[:, i],
         [(3, 4), (5,)], int_inputs=(1,), int_high=4),
    Case("masked_fill", lambda m, a: a.masked_fill(a < 0, -1.0), lambda a: np.where(a < 0, -1, a),
         [(3, 4)], "away0"),
    Case("tril", lambda m, a: a.tril(), np.tril, [(4, 4)]),
    Case("triu_k", lambda m, a: a.triu(1), lambda a: np.triu(a, 1), [(3, 5)]),
    # -- matrix products -------------------------------------------------------------------
    Case("mm", lambda m, a, b: a.mm(b), np.matmul, [(3, 4), (4, 2)]),
    Case("matmul_batched", lambda m, a, b: a @ b, np.matmul, [(2, 3, 4), (4, 5)]),
    Case("matmul_broadcast", lambda m, a, b: m.matmul(a, b), np.matmul, [(2, 1, 3, 4),
                                                                         (3, 4, 2)]),
    Case("matmul_vec", lambda m, a, b: a @ b, np.matmul, [(3, 4), (4,)]),
    Case("matmul_vec_left", lambda m, a, b: a @ b, np.matmul, [(4,), (2, 4, 3)]),
    Case("dot", lambda m, a, b: a @ b, np.matmul, [(4,), (4,)]),
    Case("bmm", lambda m, a, b: a.bmm(b), np.matmul, [(2, 3, 4), (2, 4, 5)]),
    Case("outer", lambda m, a, b: m.outer(a, b), np.outer, [(3,), (4,)]),
    # -- composites --------------------------------------------------------------------------
    Case("softmax_method", lambda m, a: a.softmax(1), lambda a: _softmax_ref(a, 1), [(3, 4)]),
    Case("log_softmax_fn", lambda m, a: m.log_softmax(a, 0), lambda a: np.log(_softmax_ref(a, 0)),
         [(3, 4)]),
    Case("norm", lambda m, a: a.norm(), np.linalg.norm, [(3, 4)]),
    Case("norm_p1_dim", lambda m, a: a.norm(1, dim=1), lambda a: np.abs(a).sum(1), [(3, 4)],
         "away0"),
    Case("norm_p3", lambda m, a: a.norm(3, dim=0, keepdim=True),
         lambda a: (np.abs(a) ** 3).sum(0, keepdims=True) ** (1 / 3), [(3, 4)], "away0"),
    Case("masked_select", lambda m, a: a.masked_select(a > 0), lambda a: a[a > 0], [(3, 4)],
         "away0"),
    Case("erf", lambda m, a: a.erf(), np.vectorize(math.erf), [(3, 4)]),
    Case("clone", lambda m, a: a.clone(), lambda a: a.copy(), [(3, 4)]),
    Case("to_double", lambda m, a: a.double() * 2, lambda a: a * 2, [(3,)],
         out_dtype="float64"),
    Case("mlp_chain", lambda m, a, w: (a @ w).relu().sum(1).tanh(),
         lambda a, w: np.tanh(np.maximum(a @ w, 0).sum(1)), [(4, 3), (3, 5)]),
    # relu's backward (ThresholdBackward) has no gradient for its saved output: the other
    # branch's second-order gradient must still arrive (the engine once dropped it)
    Case("relu_plus_square", lambda m, a: a.relu() + a * a, lambda a: np.maximum(a, 0) + a * a,
         [(3, 4)], "away0"),
    Case("relu_net", lambda m, a, w: (a @ w).relu() @ w.t(),
         lambda a, w: np.maximum(a @ w, 0) @ w.T, [(4, 3), (3, 5)]),
]


def _inputs(case, device, dtype_np, rng, requires_grad):
    """minitorch tensors and float64 NumPy arrays for a case."""
    arrs, mts = [], []
    for k, shape in enumerate(case.shapes):
        if k in case.int_inputs:
            a = rng.integers(0, case.int_high, shape).astype(np.int64)
            arrs.append(a)
            mts.append(minitorch.tensor(a, device=device))
            continue
        a = _x(shape, case.domain, rng)
        arrs.append(a)
        mts.append(minitorch.tensor(a.astype(dtype_np), device=device,
                                    requires_grad=requires_grad))
    return mts, arrs


def _out(o):
    return o if isinstance(o, minitorch.Tensor) or (torch is not None and
                                                    isinstance(o, torch.Tensor)) else o[0]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_forward_matches_numpy(case, device):
    rng = np.random.default_rng(1)
    mts, arrs = _inputs(case, device, np.float32, rng, False)
    out = case.fn(minitorch, *mts)
    expected = np.asarray(case.ref(*arrs))
    got = out.cpu().numpy()
    assert got.shape == expected.shape, (got.shape, expected.shape)
    if out.dtype.is_floating_point:
        assert out.dtype.name == case.out_dtype
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


GRAD_CASES = [c for c in CASES if c.grad]


@pytest.mark.parametrize("case", GRAD_CASES, ids=lambda c: c.name)
def test_gradcheck_float64(case, device):
    rng = np.random.default_rng(2)
    mts, _ = _inputs(case, device, np.float64, rng, True)
    assert gradcheck(lambda *ts: case.fn(minitorch, *ts), mts, eps=1e-6, atol=1e-6, rtol=1e-4)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_matches_torch(case, device):
    if torch is None:
        pytest.skip("torch not importable")
    rng = np.random.default_rng(3)
    mts, arrs = _inputs(case, device, np.float64, rng, case.grad)
    tts = []
    for k, a in enumerate(arrs):
        if k in case.int_inputs:
            tts.append(torch.tensor(a))
        else:
            tts.append(torch.tensor(a, dtype=torch.float64, requires_grad=case.grad))
    out = case.fn(minitorch, *mts)
    tout = case.fn(torch, *tts)
    np.testing.assert_allclose(out.cpu().numpy(force=True), tout.detach().numpy(), rtol=1e-10,
                               atol=1e-12)
    assert out.dtype.name == str(tout.dtype).replace("torch.", "")
    if not case.grad:
        return
    g = np.random.default_rng(4).standard_normal(tout.shape)
    out.backward(minitorch.tensor(g, device=device))
    tout.backward(torch.tensor(g))
    for m, t in zip(mts, tts):
        if t.requires_grad:
            np.testing.assert_allclose(m.grad.cpu().numpy(), t.grad.numpy(), rtol=1e-10,
                                       atol=1e-12)


# -- dtype behaviour of ops (PyTorch's promotion and result dtypes) -------------------------

PROMOTIONS = [
    (lambda m: m.tensor([1, 2]) + 2.5, "float32"),
    (lambda m: m.tensor([1, 2]) + 2, "int64"),
    (lambda m: m.tensor([1, 2], dtype=m.int32) + 2, "int32"),
    (lambda m: m.tensor([1, 2], dtype=m.int32) + m.tensor([1, 2]), "int64"),
    (lambda m: m.tensor([1.0], dtype=m.float64) + 2.5, "float64"),
    (lambda m: m.tensor([1.0]) + m.tensor([1.0], dtype=m.float64), "float64"),
    (lambda m: m.tensor([1.0]) + m.tensor(1.0, dtype=m.float64), "float32"),
    (lambda m: m.tensor([1, 2]) + m.tensor(1.5, dtype=m.float64), "float64"),
    (lambda m: m.tensor([True, False]) + 1, "int64"),
    (lambda m: m.tensor([True, False]) + m.tensor([True, True]), "bool"),
    (lambda m: m.tensor([1, 2]) / 2, "float32"),
    (lambda m: m.tensor([1, 2]) / m.tensor([2, 2]), "float32"),
    (lambda m: m.tensor([1, 2]) // 2, "int64"),
    (lambda m: m.tensor([1, 2]) * True, "int64"),
    (lambda m: m.tensor([1, 2]) < 2, "bool"),
    (lambda m: m.tensor([1, 2]).sum(), "int64"),
    (lambda m: m.tensor([True, True]).sum(), "int64"),
    (lambda m: m.tensor([1, 2], dtype=m.int32).sum(), "int64"),
    (lambda m: m.tensor([1, 2]).exp(), "float32"),
    (lambda m: m.tensor([4, 9]).sqrt(), "float32"),
    (lambda m: m.tensor([-1, 2]).abs(), "int64"),
    (lambda m: m.tensor([1, 2]).float().mean(), "float32"),
    (lambda m: m.tensor([1, 2]).argmax(), "int64"),
    (lambda m: m.where(m.tensor([True, False]), m.tensor([1, 2]), 0.5), "float32"),
    (lambda m: m.tensor([3, 4]).prod(), "int64"),
    (lambda m: m.tensor([1.0, 2.0]) ** 2, "float32"),
    (lambda m: 2 ** m.tensor([1, 2]), "int64"),
    (lambda m: m.tensor([1, 2]).clamp(0.5, 1.5), "float32"),
]


@pytest.mark.parametrize("k", range(len(PROMOTIONS)))
def test_result_dtype(k):
    fn, expected = PROMOTIONS[k]
    assert fn(minitorch).dtype.name == expected
    if torch is not None:
        assert str(fn(torch).dtype) == "torch." + expected


@pytest.mark.parametrize("k", range(len(PROMOTIONS)))
def test_result_values(k):
    if torch is None:
        pytest.skip("torch not importable")
    fn, _ = PROMOTIONS[k]
    np.testing.assert_allclose(np.asarray(fn(minitorch).tolist(), dtype=np.float64),
                               np.asarray(fn(torch).tolist(), dtype=np.float64))


def test_int_ops_forward(device):
    a = minitorch.tensor([7, -7, 5, 0], device=device)
    b = minitorch.tensor([2, 2, -3, 4], device=device)
    assert (a // b).tolist() == [3, -4, -2, 0]
    assert (a % b).tolist() == [1, 1, -1, 0]
    assert (a & b).tolist() == np.bitwise_and([7, -7, 5, 0], [2, 2, -3, 4]).tolist()
    assert (~minitorch.tensor([True, False], device=device)).tolist() == [False, True]
    assert a.max().item() == 7 and a.argmin().item() == 1
    assert (a > 0).any().item() is True and (a > 0).all().item() is False
    assert minitorch.div(a, b, rounding_mode="trunc").tolist() == [3, -3, -1, 0]
    assert minitorch.div(a, b, rounding_mode="floor").tolist() == [3, -4, -2, 0]


def test_argmax_argmin_dims(device):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 4, 5))
    t = minitorch.tensor(a, device=device)
    for d in (0, 1, 2, -1):
        assert t.argmax(d).tolist() == a.argmax(d).tolist()
        assert t.argmin(d, keepdim=True).tolist() == np.expand_dims(a.argmin(d), d).tolist()
    assert t.argmax().item() == a.argmax()
    vals, idx = t.max(1)
    np.testing.assert_allclose(vals.cpu().numpy(), a.max(1))
    assert idx.tolist() == a.argmax(1).tolist()


def test_one_hot(device):
    t = minitorch.tensor([0, 2, 1], device=device)
    oh = minitorch.nn_one_hot(t) if hasattr(minitorch, "nn_one_hot") else \
        minitorch.ops.index.one_hot(t, 4)
    assert oh.tolist() == [[1, 0, 0, 0], [0, 0, 1, 0], [0, 1, 0, 0]]
    assert oh.dtype == minitorch.int64


def test_gather_scatter_add_exact(device):
    x = minitorch.tensor([[1.0, 2, 3], [4, 5, 6]], device=device)
    idx = minitorch.tensor([[2, 0], [1, 1]], device=device)
    assert x.gather(1, idx).tolist() == [[3.0, 1.0], [5.0, 5.0]]
    z = minitorch.zeros(2, 3, device=device)
    out = z.scatter_add(1, idx, minitorch.ones(2, 2, device=device))
    assert out.tolist() == [[1.0, 0.0, 1.0], [0.0, 2.0, 0.0]]


def test_repeated_index_accumulates_grad(device):
    x = minitorch.arange(4.0, device=device).requires_grad_()
    x[[0, 0, 3, 0]].sum().backward()
    assert x.grad.tolist() == [3.0, 0.0, 0.0, 1.0]


def test_views_share_memory(device):
    x = minitorch.zeros(3, 4, device=device)
    v = x[1]
    v += 5
    assert x[1].tolist() == [5.0] * 4
    t = x.t()
    t[0, 2] = 7.0
    assert x[2, 0].item() == 7.0
    r = x.view(12)
    r[0] = -1.0
    assert x[0, 0].item() == -1.0
    assert x._version == v._version == r._version


def test_inplace_ops(device):
    x = minitorch.ones(3, device=device)
    v0 = x._version
    x.add_(2).mul_(3).sub_(1).div_(2)
    assert x.tolist() == [4.0] * 3
    assert x._version == v0 + 4
    x.clamp_(max=3.0)
    assert x.tolist() == [3.0] * 3
    x.zero_()
    assert x.tolist() == [0.0] * 3
    x.fill_(2.5)
    assert x.tolist() == [2.5] * 3
    x.copy_(minitorch.tensor([1, 2, 3], device=device))
    assert x.tolist() == [1.0, 2.0, 3.0]
    x.uniform_(0, 1)
    assert all(0 <= v < 1 for v in x.tolist())
    x.normal_(0, 1)
    assert x.shape == (3,)
    i = minitorch.tensor([1, 2], device=device)
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired "
                                           "output type Long"):
        i.add_(1.5)


# -- higher order: every op's backward is itself differentiable (create_graph=True) --------
# The backward formulas run through the same fast paths as user code (binary/scalar/unary
# fast paths, ThresholdBackward for relu ...), so these cases also check that those paths
# record a graph when the gradient is being differentiated.

@pytest.mark.parametrize("case", GRAD_CASES, ids=lambda c: c.name)
def test_gradgradcheck_float64(case, device):
    from minitorch.autograd import gradgradcheck
    rng = np.random.default_rng(5)
    mts, _ = _inputs(case, device, np.float64, rng, True)
    outs = case.fn(minitorch, *mts)
    v = minitorch.tensor(rng.standard_normal(_out(outs).shape), device=device,
                         requires_grad=True)
    assert gradgradcheck(lambda *ts: _out(case.fn(minitorch, *ts)), mts, (v,), eps=1e-6,
                         atol=1e-5, rtol=1e-3)


@pytest.mark.parametrize("case", GRAD_CASES, ids=lambda c: c.name)
def test_gradient_penalty_matches_torch(case, device):
    """d/dx of |dL/dx|² (a gradient penalty) and the double backward of sum(dL/dx): the
    second-order gradients of every input equal PyTorch's (None exactly where PyTorch's is)."""
    if torch is None:
        pytest.skip("torch not importable")
    rng = np.random.default_rng(6)
    mts, arrs = _inputs(case, device, np.float64, rng, True)
    tts = [torch.tensor(a) if k in case.int_inputs else
           torch.tensor(a, dtype=torch.float64, requires_grad=True) for k, a in enumerate(arrs)]
    g = np.random.default_rng(7).standard_normal(tuple(_out(case.fn(torch, *tts)).shape))
    for penalty in (lambda gs: sum((x * x).sum() for x in gs),
                    lambda gs: sum(x.sum() for x in gs)):
        got = []
        for mod, ins, gout in ((minitorch, mts, minitorch.tensor(g, device=device)),
                               (torch, tts, torch.tensor(g))):
            diff = [t for t in ins if t.requires_grad]
            first = mod.autograd.grad(_out(case.fn(mod, *ins)), diff, gout, create_graph=True,
                                      allow_unused=True)
            used = [f for f in first if f is not None and f.requires_grad]
            if not used:
                got.append([None] * len(diff))
                continue
            second = mod.autograd.grad(penalty(used), diff, allow_unused=True)
            got.append([None if s is None else np.asarray(s.detach().cpu().numpy(force=True))
                        for s in second])
        for mine, ref in zip(*got):
            if ref is None:
                # PyTorch has no second-order path: ours is absent or zero
                assert mine is None or not np.any(mine), mine
                continue
            assert mine is not None, "second-order gradient lost (None where PyTorch has one)"
            np.testing.assert_allclose(mine, ref, rtol=1e-9, atol=1e-11)
