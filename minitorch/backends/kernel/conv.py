"""Convolution windows and pooling of the kernel backend on kernels/conv.cu: ``im2col``
(a thread per column element), ``col2im`` (a thread per input pixel that sums the window
entries reading it: a gather, so no atomics) and ``max_pool2d`` (values and argmax indices)."""
from __future__ import annotations

import numpy as np

from . import layout as L

_I32, _I64 = np.int32, np.int64


def _pool_out(size, k, s, p, d, ceil_mode):
    out = (size + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)) // s + 1
    return out - 1 if ceil_mode and (out - 1) * s >= size + p else out


class ConvMixin:
    def _win_args(self, shape, kernel, stride, padding, dilation, oh, ow):
        n, c, h, w = shape
        return (_I64(n), _I64(c), _I64(h), _I64(w)) + tuple(
            _I32(v) for v in (*kernel, *stride, *padding, *dilation)) + (_I64(oh), _I64(ow))

    def im2col(self, x, kernel, stride, padding, dilation):
        n, c, h, w = x.shape
        (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
        oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
        ow = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
        out = self.xp.empty((n, c * kh * kw, max(oh, 0) * max(ow, 0)), x.dtype)
        if out.size:
            fn = self.kernel("conv.cu", f"im2col_kernel<{L.ctype(x.dtype)}>")
            fn((self._grid_1d(out.size),), (256,),
               (self.contiguous(x), out) + self._win_args(x.shape, kernel, stride, padding,
                                                          dilation, oh, ow))
        return out

    def im2col_t(self, x, kernel, stride, padding, dilation):
        # im2col_kernel, then one transposing copy (copy.cu) to (C*kh*kw, N, L)
        cols = self.im2col(x, kernel, stride, padding, dilation)
        n, k, l = cols.shape
        return self.reshape(self.contiguous(self.permute(cols, (1, 0, 2))), (k, n * l))

    def col2im(self, cols, input_shape, kernel, stride, padding, dilation):
        n, c, h, w = input_shape
        (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
        oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
        ow = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
        out = self.xp.empty(tuple(input_shape), cols.dtype)
        if out.size:
            fn = self.kernel("conv.cu", f"col2im_kernel<{L.ctype(cols.dtype)}>")
            fn((self._grid_1d(out.size),), (256,),
               (self.contiguous(cols), out) + self._win_args(input_shape, kernel, stride,
                                                             padding, dilation, oh, ow))
        return out

    def max_pool2d(self, x, kernel, stride, padding, dilation, ceil_mode):
        n, c, h, w = x.shape
        (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
        oh = _pool_out(h, kh, sh, ph, dh, ceil_mode)
        ow = _pool_out(w, kw, sw, pw, dw, ceil_mode)
        shape = (n, c, max(oh, 0), max(ow, 0))
        vals = self.xp.empty(shape, x.dtype)
        idx = self.xp.empty(shape, np.int64)
        if vals.size:
            dt = np.dtype(x.dtype)
            low = dt.type(-np.inf) if dt.kind in "fV" else dt.type(np.iinfo(dt).min)
            fn = self.kernel("conv.cu", f"max_pool2d_kernel<{L.ctype(dt)}>")
            fn((self._grid_1d(vals.size),), (256,),
               (self.contiguous(x), vals, idx) + self._win_args(x.shape, kernel, stride,
                                                                padding, dilation, oh, ow)
               + (low,))
        return vals, idx
