"""Issue 12's conv path: the ``im2col_t`` primitive (im2col with the batch folded into the
columns, what conv2d multiplies by the weight without a transposing copy) on every device
against ``im2col``, conv2d through it against torch (values, gradients, gradcheck, double
backward), the cpu scratch-buffer cache (reuse only when nothing references a buffer) and
the ONNX lowering of the primitive."""
import io

import numpy as np
import pytest

import minitorch as mt
import minitorch.nn.functional as F
from minitorch.autograd import gradcheck, gradgradcheck
from minitorch.ops.conv import Im2colT

rng = np.random.default_rng(0)

CASES = [  # (x shape, kernel, stride, padding, dilation)
    ((2, 3, 9, 8), (3, 3), (1, 1), (1, 1), (1, 1)),
    ((3, 2, 11, 7), (2, 3), (2, 1), (0, 2), (1, 1)),
    ((1, 4, 10, 10), (3, 2), (1, 2), (2, 0), (2, 1)),
    ((2, 1, 5, 5), (5, 5), (1, 1), (2, 2), (1, 1)),
]


def _np(t):
    return t.detach().cpu().numpy()


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("dt", [np.float32, np.float64, np.int64])
def test_im2col_t_is_im2col_with_batch_in_columns(device, case, dt):
    shape, k, s, p, d = case
    x = (rng.standard_normal(shape) * 10).astype(dt)
    t = mt.tensor(x, device=device)
    be = t._device._be
    a = be.im2col(t._data, k, s, p, d)
    b = be.im2col_t(t._data, k, s, p, d)
    a, b = be.to_numpy(a), be.to_numpy(b)
    n, kk, l = a.shape
    assert b.shape == (kk, n * l) and b.dtype == x.dtype and b.flags.c_contiguous
    np.testing.assert_array_equal(b, a.transpose(1, 0, 2).reshape(kk, n * l))


@pytest.mark.parametrize("case", CASES)
def test_conv2d_matches_torch(device, case):
    torch = pytest.importorskip("torch")
    shape, k, s, p, d = case
    x = rng.standard_normal(shape).astype(np.float32)
    w = rng.standard_normal((5, shape[1]) + k).astype(np.float32)
    b = rng.standard_normal(5).astype(np.float32)
    ms = [mt.tensor(a, device=device, requires_grad=True) for a in (x, w, b)]
    ts = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
    y = F.conv2d(*ms, stride=s, padding=p, dilation=d)
    yt = torch.nn.functional.conv2d(*ts, stride=s, padding=p, dilation=d)
    g = rng.standard_normal(tuple(yt.shape)).astype(np.float32)
    y.backward(mt.tensor(g, device=device))
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(_np(y), yt.detach().numpy(), rtol=1e-5, atol=1e-5)
    for a, t in zip(ms, ts):
        np.testing.assert_allclose(_np(a.grad), t.grad.numpy(), rtol=1e-4, atol=1e-4)


def test_conv2d_gradcheck_and_double_backward(device):
    kw = dict(dtype=mt.float64, device=device, requires_grad=True)
    x = mt.tensor(rng.standard_normal((2, 2, 5, 4)), **kw)
    w = mt.tensor(rng.standard_normal((3, 2, 3, 2)), **kw)
    f = lambda a, b: F.conv2d(a, b, stride=(2, 1), padding=1)  # noqa: E731
    assert gradcheck(f, (x, w))
    assert gradgradcheck(f, (x, w))
    # Im2colT itself: its backward (col2im of a transposed view) and double backward
    g = lambda a: Im2colT.apply(a, (2, 2), (1, 2), (1, 0), (1, 1))  # noqa: E731
    assert gradcheck(g, (x,))
    assert gradgradcheck(g, (x,))


def test_scratch_buffers_are_reused_only_when_free():
    from minitorch.backends import cpu_conv as C
    C.clear()
    shape = (512, 1024)  # 2 MB of float32: cached
    a = C.scratch(shape, np.float32)
    ida = id(a)
    view = a[1:]
    b = C.scratch(shape, np.float32)
    assert b is not a                      # a is still referenced
    del a
    c = C.scratch(shape, np.float32)
    assert id(c) != ida                    # ... through its view
    del view, c
    d = C.scratch(shape, np.float32)
    assert id(d) == ida                    # nothing holds it now: it comes back
    assert d is not b and d.shape == shape and d.flags.c_contiguous
    C.scratch((4, 4), np.float32)          # small arrays are not kept
    assert all(k[0] != (4, 4) for k in C._cache)
    C.clear()


def test_conv_outputs_survive_buffer_reuse():
    """A result still held by the user is never overwritten by the next call."""
    x1 = mt.tensor(rng.standard_normal((8, 4, 20, 20)).astype(np.float32))
    x2 = mt.tensor(rng.standard_normal((8, 4, 20, 20)).astype(np.float32))
    be = x1._device._be
    c1 = be.im2col_t(x1._data, (5, 5), (1, 1), (2, 2), (1, 1))
    keep = c1.copy()
    c2 = be.im2col_t(x2._data, (5, 5), (1, 1), (2, 2), (1, 1))
    assert c2 is not c1
    np.testing.assert_array_equal(c1, keep)
    del c1
    c3 = be.im2col_t(x1._data, (5, 5), (1, 1), (2, 2), (1, 1))
    np.testing.assert_array_equal(c3, keep)


def test_onnx_lowering_of_im2col_t():
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    import minitorch.onnx as mo

    class Cols(mt.nn.Module):
        def forward(self, x):
            return Im2colT.apply(x, (3, 2), (1, 2), (1, 0), (1, 1)) * 2.0

    x = mt.randn(2, 3, 6, 5)
    buf = io.BytesIO()
    mo.export(Cols(), (x,), buf, input_names=["input"], output_names=["output"])
    so = ort.SessionOptions()
    so.log_severity_level = 3
    sess = ort.InferenceSession(buf.getvalue(), so, providers=["CPUExecutionProvider"])
    (got,) = sess.run(None, {"input": x.numpy()})
    np.testing.assert_allclose(got, Cols()(x).numpy(), rtol=1e-6)
