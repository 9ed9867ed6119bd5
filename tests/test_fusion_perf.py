"""What the fusion benchmark targets of issue 11 rest on, checked for behaviour (never timed):
a compiled call frees what it no longer needs at once (no reference cycles), reuses an
output buffer of an earlier call only when nothing references it any more, and the cpu
codegen's loop splits for broadcast operands compute what the eager ops compute."""
from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

import minitorch
from conftest import DEVICES


def _gelu(x):
    return 0.5 * x * (1 + (0.79788456 * (x + 0.044715 * x ** 3)).tanh())


class _NoGC:
    """Cyclic garbage collection off: what is freed here is freed by reference counts."""

    def __enter__(self):
        self.was = gc.isenabled()
        gc.disable()

    def __exit__(self, *exc):
        if self.was:
            gc.enable()


@pytest.mark.parametrize("device", DEVICES)
def test_compiled_call_frees_its_result_and_inputs_without_the_garbage_collector(device):
    # a recursive closure in build_output/flatten was a reference cycle holding the call's
    # environment: every output and intermediate of a call stayed alive until gc ran, so the
    # next call could not reuse their memory (fresh pages: the GELU benchmark ran 2-6x slower)
    f = minitorch.compile(_gelu)
    x = minitorch.randn(4096, device=device)
    for _ in range(3):
        f(x)
    with _NoGC():
        y = minitorch.randn(4096, device=device)
        out = f(y)
        np.testing.assert_allclose(out.cpu().numpy(), _gelu(y).cpu().numpy(), rtol=1e-6,
                                   atol=1e-6)
        w_out, w_in = weakref.ref(out), weakref.ref(y)
        del out, y
        assert w_out() is None, "the compiled call's result outlived its last user"
        assert w_in() is None, "the compiled call kept its input alive"


# -- cpu loop nests for strided and broadcast operands ---------------------------------------

def _bn_like(x, a, b):
    # a per-channel affine map of an NCHW activation, then ReLU (BatchNorm's apply step)
    return ((x - b) * a * 0.5 + b).relu()


def _inner_loop(src: str) -> str:
    body = src[src.index("#pragma omp simd"):]
    return body[body.index("{"):]


def test_cpu_broadcast_operands_get_a_row_loop_and_a_contiguous_inner_loop():
    # the CNN's conv output is NCHW seen through a permute (its memory is CNHW); the per-
    # channel operands are broadcast.  The kernel must not decompose every element's index
    # (a div/mod chain per dim kept GCC from vectorizing: 24 ms for 401k elements)
    x = minitorch.randn(16, 8, 6, 7).permute(1, 0, 2, 3)
    a, b = minitorch.randn(1, 16, 1, 1), minitorch.randn(16, 1, 1)
    g = minitorch.compile(_bn_like)
    for _ in range(2):
        out = g(x, a, b)
    np.testing.assert_allclose(out.numpy(), _bn_like(x, a, b).numpy(), rtol=1e-6, atol=1e-6)
    (k,) = g.graphs[-1].kernels
    src = k.source
    assert "s[42,336,7,1]" in src and "rows of 42" in src, src
    inner = _inner_loop(src)
    assert "%" not in inner and "/=" not in inner, inner      # no index arithmetic per element
    assert inner.count("in0[") == 1 and "in1[" not in inner and "in2[" not in inner, inner
    assert src.count("// the same for the whole row") == 2, src


def test_cpu_reduction_over_strided_dims_is_a_loop_nest_with_a_contiguous_inner_loop():
    # BatchNorm's statistics: a sum over (N, H, W) of a permuted NCHW tensor -- the reduced
    # elements of one channel are one contiguous run in memory
    x = minitorch.randn(16, 8, 6, 7).permute(1, 0, 2, 3)
    m = minitorch.randn(1, 16, 1, 1)
    f = minitorch.compile(lambda x, m: ((x - m) * (x - m)).sum((0, 2, 3)))
    for _ in range(2):
        out = f(x, m)
    xn, mn = x.numpy().astype(np.float64), m.numpy().astype(np.float64)
    np.testing.assert_allclose(out.numpy(), ((xn - mn) ** 2).sum((0, 2, 3)), rtol=1e-5)
    (k,) = f.graphs[-1].kernels
    inner = _inner_loop(k.source)
    assert "for (long long q0 = 0; q0 < 336LL; ++q0)" in k.source and "q1" not in k.source, k.source
    assert "%" not in inner and "/=" not in inner, inner


def _cases():
    """(name, function, argument builders): layouts the loop nests must get right."""
    r = minitorch.randn
    return [
        ("permuted+broadcast", _bn_like,
         lambda d: (r(5, 3, 4, 2, device=d).permute(1, 0, 2, 3), r(1, 5, 1, 1, device=d),
                    r(5, 1, 1, device=d))),
        ("transposed+row", lambda x, y: (x * 2 + y).tanh() * x,
         lambda d: (r(6, 9, device=d).t(), r(6, device=d))),
        ("column+stepped", lambda x, y: (x - y).exp() + x,
         lambda d: (r(7, 1, device=d), r(7, 10, device=d)[:, ::2])),
        ("scalar+0d", lambda x, y: x * y + y,
         lambda d: (r(4, 3, device=d), r((), device=d))),
        ("sum over leading axes", lambda x, m: ((x - m) * (x - m)).sum((0, 2)),
         lambda d: (r(4, 3, 5, device=d).permute(1, 2, 0), r(5, 1, device=d))),
        ("mean over rows of a transpose", lambda x: (x * x).mean(1, keepdim=True) + x,
         lambda d: (r(8, 6, device=d).t(),)),
        ("max of a stepped slice", lambda x: (x * 3).amax(0),
         lambda d: (r(9, 4, device=d)[::3],)),
    ]


@pytest.mark.parametrize("case", range(len(_cases())), ids=[c[0] for c in _cases()])
@pytest.mark.parametrize("device", DEVICES)
def test_strided_and_broadcast_layouts_fused_equal_eager(device, case):
    _, fn, make = _cases()[case]
    args = make(device)
    want = fn(*args)
    f = minitorch.compile(fn)
    for _ in range(2):
        got = f(*args)
    assert f.graphs[-1].kernels, "nothing fused"
    assert tuple(got.shape) == tuple(want.shape) and got.dtype == want.dtype
    np.testing.assert_allclose(got.cpu().numpy(), want.cpu().numpy(), rtol=1e-5, atol=1e-6)
