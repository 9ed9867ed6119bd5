"""Fused GELU (kernels/gelu.cu) and LayerNorm (kernels/norm.cu) of the kernel backend
(issue 12): one elementwise launch for GELU forward or backward; LayerNorm forward is one
warp per row (saving the row mean and 1/std), its backward one warp per row for dx and one
thread per column for dweight/dbias."""
from __future__ import annotations

import numpy as np

from . import layout as L

_I32, _I64 = np.int32, np.int64
_LN_WARPS = 4  # kernels/norm.cu LN_WARPS


def _tanh_flag(approximate) -> str:
    return "true" if approximate == "tanh" else "false"


class NormMixin:
    def gelu(self, x, approximate):
        out = self.xp.empty(x.shape, x.dtype)
        if x.size:
            fn = self.kernel("gelu.cu", f"gelu_fwd<{L.ctype(x.dtype)}, "
                                         f"{_tanh_flag(approximate)}>")
            self.launch_1d(fn, x.size, (self.contiguous(x), out, _I64(x.size)))
        return out

    def gelu_backward(self, grad, x, approximate):
        out = self.xp.empty(x.shape, x.dtype)
        if x.size:
            fn = self.kernel("gelu.cu", f"gelu_bwd<{L.ctype(x.dtype)}, "
                                         f"{_tanh_flag(approximate)}>")
            self.launch_1d(fn, x.size, (self.contiguous(grad), self.contiguous(x), out,
                                        _I64(x.size)))
        return out

    def _ln_grid(self, rows):
        return min(max(L.cdiv(rows, _LN_WARPS), 1), self._max_grid * 8)

    def layer_norm(self, x, weight, bias, eps):
        xp = self.xp
        m, n = x.shape
        out = xp.empty((m, n), x.dtype)
        if m and not n:  # no columns: mean and rstd of nothing are NaN (0/0), as NumPy
            nan = xp.full((m,), np.nan, x.dtype)
            return out, nan, nan.copy()
        mean, rstd = xp.empty((m,), x.dtype), xp.empty((m,), x.dtype)
        if not m:
            return out, mean, rstd
        x = self.contiguous(x)
        flags = (1 if weight is not None else 0) | (2 if bias is not None else 0)
        w = x if weight is None else self.contiguous(weight)
        b = x if bias is None else self.contiguous(bias)
        T = np.dtype(x.dtype).type
        fn = self.kernel("norm.cu", f"layer_norm_fwd<{L.ctype(x.dtype)}>")
        fn((self._ln_grid(m),), (32, _LN_WARPS),
           (x, w, b, out, mean, rstd, _I64(m), _I64(n), T(eps), _I32(flags)))
        return out, mean, rstd

    def layer_norm_backward(self, grad, x, mean, rstd, weight):
        xp = self.xp
        m, n = x.shape
        dx = xp.empty((m, n), x.dtype)
        dw, db = xp.empty((n,), x.dtype), xp.empty((n,), x.dtype)
        if not n:
            return dx, dw, db
        if not m:
            return dx, xp.zeros((n,), x.dtype), xp.zeros((n,), x.dtype)
        g, x = self.contiguous(grad), self.contiguous(x)
        mean, rstd = self.contiguous(mean), self.contiguous(rstd)
        ct = L.ctype(x.dtype)
        w = x if weight is None else self.contiguous(weight)
        fn = self.kernel("norm.cu", f"layer_norm_bwd_dx<{ct}>")
        fn((self._ln_grid(m),), (32, _LN_WARPS),
           (g, x, mean, rstd, w, dx, _I64(m), _I64(n), _I32(0 if weight is None else 1)))
        fn = self.kernel("norm.cu", f"layer_norm_bwd_dwdb<{ct}>")
        self.launch_1d(fn, n, (g, x, mean, rstd, dw, db, _I64(m), _I64(n)))
        return dx, dw, db
