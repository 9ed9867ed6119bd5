"""Reliability, part C: the disagreements with PyTorch found by tests/test_fuzz_parity.py.

Each case is a small program run on minitorch (on every test device) and on PyTorch (cpu):
the same values, dtypes and gradients, or the same exception class (and the meaningful words
of its message).  Each one failed before its fix; the fuzzer seed that found it is noted.
"""
from __future__ import annotations

import numpy as np
import pytest

import minitorch

torch = pytest.importorskip("torch")


def _plain(r):
    """Tensors (also inside tuples and lists) as (values, dtype name, shape)."""
    if hasattr(r, "detach"):
        v = r.detach().cpu()
        if str(v.dtype).split(".")[-1] in ("float16", "bfloat16"):
            v = v.float()
        return (np.asarray(v.numpy()).tolist(), str(r.dtype).split(".")[-1], tuple(r.shape))
    if isinstance(r, (tuple, list)):
        return type(r)(_plain(x) for x in r)
    return r


def _outcome(fn):
    """('ok', value) or (builtin exception class, first line of the message)."""
    try:
        r = fn()
    except Exception as e:  # noqa: BLE001 - the class is what is compared
        base = next(c for c in type(e).__mro__ if c.__module__ == "builtins")
        return base.__name__, str(e).split("\n")[0]
    return "ok", _plain(r)


def _nan_safe(v):
    """Values with NaN spelled out, so that equal results compare equal."""
    if isinstance(v, float) and v != v:
        return "nan"
    if isinstance(v, (list, tuple)):
        return type(v)(_nan_safe(x) for x in v)
    return v


def _close(got, want) -> bool:
    """Equal structure, dtypes and shapes; values equal up to float rounding (NaN == NaN)."""
    if isinstance(want, tuple) and len(want) == 3 and isinstance(want[1], str) \
            and isinstance(want[2], tuple):  # one tensor: (values, dtype, shape)
        if not (isinstance(got, tuple) and len(got) == 3 and got[1:] == want[1:]):
            return False
        g, w = np.asarray(got[0], dtype=np.float64), np.asarray(want[0], dtype=np.float64)
        return g.shape == w.shape and bool(np.allclose(g, w, rtol=1e-5, atol=1e-6,
                                                       equal_nan=True))
    if isinstance(want, (tuple, list)):
        return (isinstance(got, (tuple, list)) and len(got) == len(want)
                and all(_close(a, b) for a, b in zip(got, want)))
    return _nan_safe(got) == _nan_safe(want)


def _same(fn, dev, words=True):
    """fn(m, dev) behaves the same on minitorch (on ``dev``) and on PyTorch (cpu)."""
    got = _outcome(lambda: fn(minitorch, dev))
    want = _outcome(lambda: fn(torch, "cpu"))
    if got[0] == "ok" and want[0] == "ok":
        assert _close(got[1], want[1]), (got, want)
    elif words:
        assert got == want
    else:
        assert got[0] == want[0], (got, want)


def _grad(expr):
    """A case returning (forward value, gradient of x) for x = tensor([...]) requiring grad."""
    def fn(m, dev):
        x = m.tensor([1.5, -0.5, 0.0, 2.0], device=dev, requires_grad=True)
        y = expr(m, x)
        y.backward(m.ones(y.shape, dtype=y.dtype, device=dev))
        return y, x.grad
    return fn


def _t(m, dev, data, dt):
    return m.tensor(data, dtype=getattr(m, dt), device=dev)


# -- errors: the class PyTorch raises (dtype dispatch errors are NotImplementedError) ---------

ERRORS = {
    # bitwise ops on floats: NotImplementedError naming the promoted dtype (seed 0, 26)
    "and_float": lambda m, d: _t(m, d, [1.0], "float32") & _t(m, d, [1], "int64"),
    "or_half": lambda m, d: _t(m, d, [1.0], "float16") | _t(m, d, [1.0], "float32"),
    "xor_bf16": lambda m, d: _t(m, d, [1.0], "bfloat16") ^ _t(m, d, [1], "int32"),
    "and_int_float_scalar": lambda m, d: _t(m, d, [1], "int64") & 1.5,
    "bitwise_not_float": lambda m, d: _t(m, d, [1.0], "float64").bitwise_not(),
    # ~float is a TypeError in PyTorch (seed 258)
    "invert_float": lambda m, d: ~_t(m, d, [1.0], "float32"),
    # masked_fill with a Python bool mask: TypeError (seed 93)
    "masked_fill_python_mask": lambda m, d: _t(m, d, [1.0], "float32").masked_fill(True, 1.0),
    # outer of non-vectors (seed 20)
    "outer_2d": lambda m, d: m.outer(m.ones(2, 2, device=d), m.ones(2, device=d)),
    "outer_vec2_2d": lambda m, d: m.outer(m.ones(2, device=d), m.ones(2, 1, device=d)),
    # maximum/minimum take tensors only (seed 297)
    "maximum_scalar": lambda m, d: m.maximum(_t(m, d, [1], "int32"), 0.5),
    "minimum_scalar_method": lambda m, d: _t(m, d, [1.0], "float32").minimum(2),
    # floor/ceil refuse bool (seed 116)
    "floor_bool": lambda m, d: _t(m, d, [True], "bool").floor(),
    "ceil_bool": lambda m, d: m.ceil(_t(m, d, [True], "bool")),
    # argmax/argmin refuse bool (seed 169)
    "argmax_bool": lambda m, d: _t(m, d, [[True, False]], "bool").argmax(1),
    "argmin_bool": lambda m, d: _t(m, d, [True, False], "bool").argmin(),
    # losses: PyTorch's float-only kernels (seeds 75, 104, 111, 215, 222)
    "kl_div_int": lambda m, d: m.nn.functional.kl_div(_t(m, d, [1, 2], "int64"),
                                                      _t(m, d, [1.0, 2.0], "float32")),
    "kl_div_int_target": lambda m, d: m.nn.functional.kl_div(
        _t(m, d, [1.0, 2.0], "float32"), _t(m, d, [1, 2], "int32"), reduction="sum"),
    "normalize_int": lambda m, d: m.nn.functional.normalize(_t(m, d, [1, 2], "int64"), dim=0),
    "normalize_bool": lambda m, d: m.nn.functional.normalize(_t(m, d, [True], "bool"), dim=0),
    "layer_norm_int": lambda m, d: m.nn.functional.layer_norm(_t(m, d, [1, 2], "int32"), (2,)),
    "smooth_l1_int": lambda m, d: m.nn.functional.smooth_l1_loss(_t(m, d, [1, 2], "int64"),
                                                                 _t(m, d, [1, 3], "int64")),
    "huber_int": lambda m, d: m.nn.functional.huber_loss(_t(m, d, [1, 2], "int64"),
                                                         _t(m, d, [1, 3], "int64")),
    "huber_cast": lambda m, d: m.nn.functional.huber_loss(_t(m, d, [1, 2], "int64"),
                                                          _t(m, d, [1, 3], "float16")),
    "mse_bool": lambda m, d: m.nn.functional.mse_loss(_t(m, d, [True], "bool"),
                                                      _t(m, d, [False], "bool")),
    "mse_int_none": lambda m, d: m.nn.functional.mse_loss(
        _t(m, d, [1, 2], "int64"), _t(m, d, [1, 3], "int64"), reduction="none"),
    # bool // bool, bool % bool: dispatch errors, not ZeroDivisionError (seeds 456, 474)
    "remainder_bool": lambda m, d: _t(m, d, [True], "bool") % _t(m, d, [False], "bool"),
    "floor_divide_bool": lambda m, d: _t(m, d, [True], "bool") // _t(m, d, [True], "bool"),
    # 0-d operands (seeds 597, 762, 1250)
    "mv_0d": lambda m, d: m.mv(m.tensor(1.0, device=d), m.tensor(1.0, device=d)),
    "index_select_0d_empty": lambda m, d: m.tensor(1.0, device=d).index_select(
        0, m.tensor([], dtype=m.int64, device=d)),
    "index_select_0d_two": lambda m, d: m.tensor(1.0, device=d).index_select(
        0, m.tensor([0, 0], device=d)),
    "split_0d": lambda m, d: m.tensor(3, device=d).split(1),
    "chunk_0d": lambda m, d: m.tensor(3, device=d).chunk(1),
    # bool matmul: no kernels in PyTorch (seeds 812, 991)
    "matmul_bool": lambda m, d: _t(m, d, [[True, False]], "bool") @ _t(m, d, [[True], [True]],
                                                                        "bool"),
    "matmul_bool_vec": lambda m, d: _t(m, d, [[True, False]], "bool") @ _t(m, d, [True, True],
                                                                           "bool"),
    "dot_bool": lambda m, d: m.dot(_t(m, d, [True], "bool"), _t(m, d, [True], "bool")),
    "bmm_bool": lambda m, d: m.ones(2, 2, 2, dtype=m.bool, device=d) @
    m.ones(2, 2, 2, dtype=m.bool, device=d),
    "linear_bool": lambda m, d: m.nn.functional.linear(
        m.ones(2, 3, dtype=m.bool, device=d), m.ones(4, 3, dtype=m.bool, device=d)),
    "matmul_bool_shape_first": lambda m, d: _t(m, d, [True, False], "bool") @
    _t(m, d, [True, True, False], "bool"),
    # an integral sum of a tensor that requires grad (seed 1379)
    "sum_int_dtype_grad": lambda m, d: m.ones(2, device=d, requires_grad=True).sum(
        dtype=m.int64),
    "sum_bool_dtype_grad": lambda m, d: m.ones(2, 2, device=d, requires_grad=True).sum(
        0, dtype=m.bool),
    # a float alpha with integral operands (seed 1267)
    "add_int_float_alpha": lambda m, d: m.add(_t(m, d, [1], "int64"), 2, alpha=0.5),
    "sub_int_float_alpha": lambda m, d: m.sub(_t(m, d, [1], "int32"), _t(m, d, [2], "int32"),
                                              alpha=0.5),
    # softmax kernels: the non-last-dim name (seed 1709)
    "softmax_int_dim0": lambda m, d: m.nn.functional.softmax(m.ones(2, 2, dtype=m.int64,
                                                                    device=d), 0),
    "softmax_int_lastdim": lambda m, d: m.nn.functional.log_softmax(
        m.ones(2, 2, dtype=m.int32, device=d), -1),
    # cross_entropy: a 0-d input with a 0-d integer target is read as class probabilities
    # (seed 591); nll on non-float input is a dispatch error (seeds 425, 2048, 2641)
    "cross_entropy_0d_probabilities": lambda m, d: m.nn.functional.cross_entropy(
        m.tensor(1.0, device=d), m.tensor(0, device=d)),
    "nll_bool": lambda m, d: m.nn.functional.nll_loss(m.ones(2, 3, dtype=m.bool, device=d),
                                                      m.tensor([0, 1], device=d)),
    "nll_2d_int": lambda m, d: m.nn.functional.nll_loss(
        m.ones(2, 3, 1, 2, dtype=m.int32, device=d), m.zeros(2, 1, 2, dtype=m.int64, device=d)),
    "cross_entropy_empty_int": lambda m, d: m.nn.functional.cross_entropy(
        m.ones(2, 3, 0, 2, dtype=m.int32, device=d), m.ones(2, 0, 2, dtype=m.int64, device=d)),
    # div(rounding_mode='trunc'): bool is a dispatch error, integer zero division raises
    # (seed 2038)
    "div_trunc_bool": lambda m, d: m.div(_t(m, d, [True], "bool"), _t(m, d, [True], "bool"),
                                         rounding_mode="trunc"),
    "div_trunc_int_zero": lambda m, d: m.div(_t(m, d, [1], "int64"), _t(m, d, [0], "int64"),
                                             rounding_mode="trunc"),
    # topk refuses bool on PyTorch's CPU
    "topk_bool": lambda m, d: _t(m, d, [True, False], "bool").topk(1),
    # bool - bool with alpha is sub's bool error (seed 4373)
    "sub_bool_alpha": lambda m, d: m.sub(_t(m, d, [True], "bool"), True, alpha=2),
    # permute() without dims (seed 1431)
    "permute_no_dims": lambda m, d: m.tensor(1.0, device=d).permute(),
}


# PyTorch's words name the argument position, which depends on the call form
_CLASS_ONLY = {"maximum_scalar", "minimum_scalar_method"}


@pytest.mark.parametrize("case", sorted(ERRORS))
def test_errors_match_pytorch(device, case):
    _same(ERRORS[case], device, words=case not in _CLASS_ONLY)


# -- values where minitorch raised or gave another result -------------------------------------

VALUES = {
    # isinf/isfinite on bool and ints (seed 311)
    "isinf_bool": lambda m, d: (_t(m, d, [True, False], "bool").isinf(),
                                m.isfinite(_t(m, d, [True], "bool"))),
    "isinf_int": lambda m, d: (_t(m, d, [1, -3], "int32").isinf(),
                               _t(m, d, [1, -3], "int64").isfinite()),
    # gather / scatter_add / index_select on 0-d tensors (seeds 339, 657, 762)
    "gather_0d": lambda m, d: (m.gather(m.tensor(1.5, device=d), 0, m.tensor([0, 0], device=d)),
                               m.gather(m.tensor(1.5, device=d), -1, m.tensor(0, device=d))),
    "scatter_add_0d": lambda m, d: (
        m.tensor(1.5, device=d).scatter_add(0, m.tensor([0], device=d),
                                            m.tensor([2.0, 3.0], device=d)),
        m.tensor(1.5, device=d).scatter_add(0, m.tensor(0, device=d), m.tensor(2.0, device=d))),
    "index_select_0d": lambda m, d: m.tensor(1.5, device=d).index_select(
        0, m.tensor([0], device=d)),
    # copy_ from a Python number (seed 892)
    "copy_number": lambda m, d: (m.zeros(2, device=d).copy_(1e-3),
                                 m.zeros(2, dtype=m.int64, device=d).copy_(2.5),
                                 m.zeros(1, device=d).copy_(True)),
    # bool + bool * alpha stays bool (seed 898)
    "add_bool_alpha": lambda m, d: (m.add(_t(m, d, [True, False], "bool"),
                                          _t(m, d, [False, True], "bool"), alpha=2),
                                    m.add(_t(m, d, [True, False], "bool"),
                                          _t(m, d, [True, True], "bool"), alpha=0),
                                    m.add(_t(m, d, [True], "bool"), 2, alpha=2)),
    # mT of a 0-d tensor is the identity (seed 190)
    "mT_0d": lambda m, d: m.tensor(2.0, device=d).mT,
    # huber_loss keeps the input's dtype (seed 1363)
    "huber_dtype": lambda m, d: m.nn.functional.huber_loss(
        _t(m, d, [1.0, 2.0], "float32"), _t(m, d, [1.5, 5.0], "float64")),
    "mse_float_bool": lambda m, d: m.nn.functional.mse_loss(
        _t(m, d, [1.0, 0.0], "float32"), _t(m, d, [True, True], "bool")),
    # an empty integral softmax runs no kernel (seed 620)
    "softmax_int_empty": lambda m, d: (
        m.nn.functional.log_softmax(m.ones(2, 0, dtype=m.int32, device=d), 1),
        m.nn.functional.softmax(m.ones(0, 2, dtype=m.int64, device=d), 0)),
    # a 0-d flip is a tensor (a NumPy scalar on cpu broke movedim/view after it) (seed 1097)
    "flip_0d_then_view": lambda m, d: (m.tensor(1.5, device=d).flip((0,)).movedim(0, 0),
                                       m.tensor(1.5, device=d).flip(0).view(1)),
    # clamp with tensor bounds: dtype of all three, NaN propagated (seeds 491, 2591)
    "clamp_tensor_bounds": lambda m, d: (
        m.clamp(_t(m, d, [1.0, float("nan"), 0.5, 3.0], "float32"),
                min=_t(m, d, [1.0, 1.0, float("nan"), 5.0], "float32"),
                max=_t(m, d, [2.0, 2.0, 2.0, 4.0], "float32")),
        m.clamp(_t(m, d, [[1.0, 2.0]], "float32"), min=m.tensor(1.5, dtype=m.float64,
                                                                  device=d)),
        m.clamp(_t(m, d, [1, 5], "int64"), max=m.tensor(2.5, device=d)),
        m.clamp(_t(m, d, [1, 5], "int32"), min=_t(m, d, [2, 2], "int64"))),
    # normalize: a NaN norm stays NaN (not treated as a zero norm) (seed 2911)
    "normalize_nan": lambda m, d: m.nn.functional.normalize(
        _t(m, d, [[1.0, float("nan")], [2.0, 3.0]], "float32"), dim=1),
    # kl_div with a negative target is NaN, as xlogy(t, t)
    "kl_div_negative_target": lambda m, d: m.nn.functional.kl_div(
        _t(m, d, [0.5, -1.0], "float32"), _t(m, d, [-1.0, 0.5], "float32"), reduction="none"),
    # erf keeps the sign of zero: 1/erf(+0) is +inf (sort fuzzing, seed 131)
    "erf_signed_zero": lambda m, d: (1 / m.erf(_t(m, d, [0.0, -0.0], "float32")),
                                     1 / m.erf(_t(m, d, [0.0, -0.0], "float64")),
                                     m.rsqrt(m.erf(_t(m, d, [0.0], "float32")))),
    # an empty result reads nothing: no bounds check, no zero division (seeds 6661, 4167)
    "index_empty_out_of_range": lambda m, d: (m.ones(4, 0, device=d)[m.tensor([4], device=d)],
                                              m.ones(4, 0, device=d)[m.tensor([-5, 1],
                                                                              device=d)]),
    "int_divide_empty_by_zero": lambda m, d: (
        m.ones(3, 0, dtype=m.int64, device=d) // m.tensor(0, device=d),
        m.ones(0, dtype=m.int32, device=d) % m.zeros(1, dtype=m.int32, device=d)),
    # float16 + int32 * 0.5: float16, as PyTorch (seed 7000)
    "add_half_int_alpha": lambda m, d: m.add(m.ones(2, dtype=m.float16, device=d),
                                             _t(m, d, [1, 2], "int32"), alpha=0.5),
    # ignored targets add exactly 0, also under inf/NaN logits (seed 3564)
    "nll_ignored_nonfinite": lambda m, d: (
        m.nn.functional.nll_loss(_t(m, d, [[float("-inf"), 1.0], [float("nan"), 2.0]],
                                    "float32"), m.tensor([0, 0], device=d), ignore_index=0,
                                 reduction="sum"),
        m.nn.functional.cross_entropy(_t(m, d, [[float("inf"), 1.0], [float("nan"), 2.0]],
                                         "float32"), m.tensor([0, 1], device=d),
                                      ignore_index=0, reduction="none")),
    # isclose: a number is not close to an infinity (seed 4419)
    "isclose_inf": lambda m, d: m.isclose(
        _t(m, d, [1.0, float("inf"), float("inf"), float("nan"), 1e300], "float64"),
        _t(m, d, [float("inf"), float("inf"), -float("inf"), float("nan"), float("inf")],
           "float64")),
    # bool matmul of zero-size operands (seed 253)
    "matmul_bool_empty": lambda m, d: m.ones(2, 0, dtype=m.bool, device=d) @
    m.ones(0, 3, dtype=m.bool, device=d),
}


@pytest.mark.parametrize("case", sorted(VALUES))
def test_values_match_pytorch(device, case):
    _same(VALUES[case], device)


# -- gradients --------------------------------------------------------------------------------

def _floor_divide_backward(m, dev):
    x = m.tensor([1.5, 3.0], device=dev, requires_grad=True)
    (x // 1.5).sum().backward()
    return x.grad


def _floor_divide_fn_backward(m, dev):
    x = m.tensor([1.5, 3.0], device=dev, requires_grad=True)
    m.floor_divide(x, m.tensor([2.0, 1.0], device=dev)).sum().backward()
    return x.grad


def _div_floor_backward(m, dev):
    x = m.tensor([1.5, 3.0], device=dev, requires_grad=True)
    y = m.tensor([2.0, 1.0], device=dev, requires_grad=True)
    (m.div(x, y, rounding_mode="floor") * 3).sum().backward()
    return x.grad, y.grad


def _relu_nan_backward(m, dev):
    # a NaN output passes its gradient on (threshold_backward tests out <= 0) (seed 139)
    x = m.tensor([float("nan"), -1.0, 2.0, 0.0], device=dev, requires_grad=True)
    y = m.nn.functional.silu(x.relu())
    y.backward(m.tensor([1.0, 2.0, 3.0, 4.0], device=dev))
    return x.grad


def _relu_nan_double_backward(m, dev):
    x = m.tensor([float("nan"), -1.0, 2.0], device=dev, requires_grad=True)
    (g,) = m.autograd.grad((x.relu() ** 2).sum(), x, create_graph=True)
    (gg,) = m.autograd.grad(g.sum(), x)
    return g, gg


def _nll_ignored_inf_grad(m, dev):
    # every target ignored, the upstream gradient inf: 0, not 0 * inf (seed 1892)
    x = m.tensor([[0.5, -1.0, 2.0]], dtype=m.float64, device=dev, requires_grad=True)
    loss = m.nn.functional.nll_loss(m.nn.functional.log_softmax(x, 1),
                                    m.tensor([0], device=dev), reduction="sum",
                                    ignore_index=0)
    m.rsqrt(loss).backward()
    return x.grad


def _nll_none_inf_grad(m, dev):
    x = m.tensor([[0.5, -1.0], [1.0, 2.0]], device=dev, requires_grad=True)
    loss = m.nn.functional.nll_loss(x, m.tensor([1, 0], device=dev), reduction="none",
                                    ignore_index=1)
    loss.backward(m.tensor([float("inf"), 1.0], device=dev))
    return x.grad


def _clamp_tensor_grads(m, dev):
    # ties give the gradient to x (not half to each side) (seed 2591)
    x = m.tensor([1.0, 2.0, float("nan"), 0.5, 3.0, 1.5], device=dev, requires_grad=True)
    lo = m.tensor([1.0, 1.0, 1.0, float("nan"), 5.0, 0.0], device=dev, requires_grad=True)
    hi = m.tensor([2.0, 2.0, 2.0, 2.0, 4.0, 1.5], device=dev, requires_grad=True)
    m.clamp(x, min=lo).backward(m.ones(6, device=dev))
    g1 = (x.grad, lo.grad)
    x.grad = lo.grad = None
    m.clamp(x, min=lo, max=hi).backward(m.arange(6.0, device=dev))
    return g1, (x.grad, lo.grad, hi.grad)


def _kl_div_target_grad(m, dev):
    # the target's gradient is log(t) + 1 - x, NaN at t = 0 (PyTorch's xlogy) (seed 973)
    x = m.tensor([0.5, -1.0, 2.0], device=dev, requires_grad=True)
    t = m.tensor([0.0, 0.5, 2.0], device=dev, requires_grad=True)
    m.nn.functional.kl_div(x, t, reduction="sum").backward()
    return x.grad, t.grad


def _kl_div_double_backward(m, dev):
    x = m.tensor([0.5, -1.0], device=dev, requires_grad=True)
    t = m.tensor([0.25, 0.5], device=dev, requires_grad=True)
    (g,) = m.autograd.grad(m.nn.functional.kl_div(x, t, reduction="sum"), t,
                           create_graph=True)
    return m.autograd.grad(g.sum(), (x, t))


def _elu_nan_grad(m, dev):
    # a NaN input takes the x branch: its gradient passes (seed 2730)
    x = m.tensor([float("nan"), -1.0, 2.0], device=dev, requires_grad=True)
    y = m.nn.functional.elu(x) + m.nn.functional.selu(x) + m.nn.functional.celu(x, 0.5)
    y.backward(m.tensor([1.0, 2.0, 3.0], device=dev))
    return x.grad


def _normalize_nan_grad(m, dev):
    x = m.tensor([[1.0, float("nan")], [2.0, 3.0], [0.0, 0.0]], device=dev, requires_grad=True)
    m.nn.functional.normalize(x, dim=1).backward(m.ones(3, 2, device=dev))
    return x.grad


def _remainder_scalar_backward(m, dev):
    # number % tensor has no derivative in PyTorch (seed 3373)
    x = m.tensor([1.5, -2.0], device=dev, requires_grad=True)
    (0.5 % x).sum().backward()
    return x.grad


def _remainder_tensor_backward(m, dev):
    x = m.tensor([1.5, -2.0], device=dev, requires_grad=True)
    y = m.tensor([0.7, 0.3], device=dev, requires_grad=True)
    (m.remainder(x, y) + x % 0.4).sum().backward()
    return x.grad, y.grad


def _div_trunc_backward(m, dev):
    # PyTorch's gradient of div(rounding_mode='trunc') is zero, also at inf / 0 (seed 3471)
    x = m.tensor([[1.5, float("inf")], [-2.0, 3.0]], device=dev, requires_grad=True)
    y = m.tensor([0.0, 2.0], device=dev, requires_grad=True)
    q = m.div(x, y, rounding_mode="trunc")
    q.backward(m.ones(2, 2, device=dev))
    return q, x.grad, y.grad


def _nan_through_losses_and_activations(m, dev):
    # a NaN input's gradient is NaN (huber, smooth_l1, softplus) or passes (hardtanh),
    # as in PyTorch's backward kernels (seeds 3402, 4850, 5393, 5714)
    x = m.tensor([float("nan"), 0.5, 3.0, -float("inf"), 1.0], device=dev, requires_grad=True)
    t = m.zeros(5, device=dev)
    F = m.nn.functional
    out = []
    for y in (F.huber_loss(x, t, reduction="sum", delta=1.0),
              F.smooth_l1_loss(x, t, reduction="sum", beta=0.5),
              F.hardtanh(x, -0.5, 2.0).sum(), F.relu6(x).sum(),
              F.softplus(x, beta=2, threshold=1).sum()):
        x.grad = None
        y.backward()
        out.append(x.grad)
    return out


GRADS = {
    "nan_through": _nan_through_losses_and_activations,
    "remainder_scalar": _remainder_scalar_backward,
    "remainder_tensor": _remainder_tensor_backward,
    "div_trunc": _div_trunc_backward,
    "clamp_tensor": _clamp_tensor_grads,
    "kl_div_target": _kl_div_target_grad,
    "kl_div_double": _kl_div_double_backward,
    "elu_nan": _elu_nan_grad,
    "normalize_nan": _normalize_nan_grad,
    "floor_divide_raises": _floor_divide_backward,
    "floor_divide_fn_raises": _floor_divide_fn_backward,
    "div_floor_zero": _div_floor_backward,
    "relu_nan": _relu_nan_backward,
    "relu_nan_double": _relu_nan_double_backward,
    "nll_ignored_inf": _nll_ignored_inf_grad,
    "nll_none_inf": _nll_none_inf_grad,
}


@pytest.mark.parametrize("case", sorted(GRADS))
def test_gradients_match_pytorch(device, case):
    _same(GRADS[case], device)
