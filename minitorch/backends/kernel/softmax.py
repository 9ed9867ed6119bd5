"""Softmax, log-softmax and the fused cross-entropy of the kernel backend on
kernels/softmax.cu: a warp per row for rows up to 1024 long (a block per row past that), a
thread per column when the softmax axis is not the last one; cross-entropy computes the
log-sum-exp and the loss of each row in one pass and its backward in one more."""
from __future__ import annotations

import numpy as np

from . import layout as L

_I32, _I64 = np.int32, np.int64

_WARP_ROWS = 4         # softmax_warp: rows per block (SM_WARPS)
_WARP_MAX_COLS = 1024  # longer rows get a block each
_SM_BLOCK = 256


class SoftmaxMixin:
    # nn.functional.cross_entropy uses the fused primitives on this backend (on cpu it keeps
    # PyTorch's two-node log_softmax + nll_loss graph); see nn/loss.py
    fused_cross_entropy = True

    def softmax(self, x, axis):
        return self._softmax(x, axis, False)

    def log_softmax(self, x, axis):
        return self._softmax(x, axis, True)

    def _softmax(self, x, axis, log):
        xp = self.xp
        if x.ndim == 0:
            return self._softmax(x.reshape(1), 0, log).reshape(())
        axis %= x.ndim
        out = xp.empty(x.shape, x.dtype)
        if x.size == 0:
            return out
        x = self.contiguous(x)
        ct, lg = L.ctype(x.dtype), ("true" if log else "false")
        c = x.shape[axis]
        outer, inner = L.prod(x.shape[:axis]), L.prod(x.shape[axis + 1:])
        if inner == 1:
            self._softmax_rows(x, out, outer, c, ct, lg)
        elif outer * inner >= 4096 or c <= 256:
            # one thread per (outer, inner) column: coalesced along `inner`, no transpose
            fn = self.kernel("softmax.cu", f"softmax_strided<{ct}, {lg}>")
            fn((self._grid_1d(outer * inner),), (256,), (x, out, _I64(outer), _I64(c),
                                                          _I64(inner)))
        else:
            # long reductions over few columns: move the axis last, then one row per warp
            perm = tuple(d for d in range(x.ndim) if d != axis) + (axis,)
            xt = self.contiguous(self.permute(x, perm))
            yt = xp.empty(xt.shape, x.dtype)
            self._softmax_rows(xt, yt, outer * inner, c, ct, lg)
            inv = tuple(int(i) for i in np.argsort(perm))
            self.copy_(out, self.permute(yt, inv))
        return out

    def _softmax_rows(self, x, out, rows, cols, ct, lg):
        if cols <= _WARP_MAX_COLS:
            fn = self.kernel("softmax.cu", f"softmax_warp<{ct}, {lg}>")
            grid = min(L.cdiv(rows, _WARP_ROWS), self._max_grid * 8)
            fn((grid,), (32, _WARP_ROWS), (x, out, _I64(rows), _I64(cols)))
        else:
            fn = self.kernel("softmax.cu", f"softmax_block<{ct}, {lg}>")
            fn((min(rows, self._max_grid * 8),), (_SM_BLOCK,), (x, out, _I64(rows), _I64(cols)))

    # -- cross-entropy ---------------------------------------------------------------------
    def cross_entropy(self, logits, target, ignore_index):
        xp = self.xp
        n, c = logits.shape
        loss, lse = xp.empty((n,), logits.dtype), xp.empty((n,), logits.dtype)
        if n == 0:
            return loss, lse
        x, t = self.contiguous(logits), self.contiguous(target)
        ct = L.ctype(x.dtype)
        args = (x, t, loss, lse, _I64(n), _I64(c), _I64(ignore_index))
        if c <= _WARP_MAX_COLS:
            fn = self.kernel("softmax.cu", f"cross_entropy_fwd_warp<{ct}>")
            fn((min(L.cdiv(n, _WARP_ROWS), self._max_grid * 8),), (32, _WARP_ROWS), args)
        else:
            fn = self.kernel("softmax.cu", f"cross_entropy_fwd_block<{ct}>")
            fn((min(n, self._max_grid * 8),), (_SM_BLOCK,), args)
        return loss, lse

    def cross_entropy_backward(self, logits, target, lse, grad, ignore_index):
        n, c = logits.shape
        out = self.xp.empty((n, c), logits.dtype)
        if out.size == 0:
            return out
        fn = self.kernel("softmax.cu", f"cross_entropy_bwd<{L.ctype(logits.dtype)}>")
        fn((self._grid_1d(n * c),), (256,),
           (self.contiguous(logits), self.contiguous(target), self.contiguous(lse),
            self.contiguous(grad), out, _I64(n), _I64(c), _I64(ignore_index)))
        return out
