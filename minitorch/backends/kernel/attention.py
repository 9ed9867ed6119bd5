"""Fused scaled dot-product attention of the kernel backend on kernels/attention.cu: a block
of 64 threads per tile of 64 query rows (one thread per row) walks the keys 32 at a time
through shared memory with an online softmax, never storing the L x S scores; the backward
recomputes the probabilities from the saved log-sum-exp (one kernel for dQ, one for dK/dV)."""
from __future__ import annotations

import numpy as np

from . import layout as L

_I32, _I64 = np.int32, np.int64
_BQ = 64


class AttentionMixin:
    def _attn_args(self, q, k, v, mask):
        b, lq, e = q.shape
        s, ev = k.shape[1], v.shape[2]
        q, k, v = self.contiguous(q), self.contiguous(k), self.contiguous(v)
        if mask is None:
            m, mbs, has = q, 0, 0
        else:
            m = self.contiguous(mask)
            mbs, has = (0 if m.shape[0] == 1 else lq * s), 1
        return q, k, v, m, b, lq, s, e, ev, mbs, has

    def attention(self, q, k, v, mask, causal, scale):
        xp = self.xp
        q, k, v, m, b, lq, s, e, ev, mbs, has = self._attn_args(q, k, v, mask)
        out = xp.empty((b, lq, ev), q.dtype)
        lse = xp.empty((b, lq), q.dtype)
        if out.size == 0 or lse.size == 0:
            return out, lse
        ct = L.ctype(q.dtype)
        fn = self.kernel("attention.cu", f"attn_fwd<{ct}>")
        tiles = b * L.cdiv(lq, _BQ)
        fn((min(tiles, self._max_grid * 8),), (_BQ,),
           (q, k, v, m, out, lse, _I64(b), _I64(lq), _I64(s), _I64(e), _I64(ev), _I64(mbs),
            _I32(has), _I32(1 if causal else 0), q.dtype.type(scale)))
        return out, lse

    def attention_backward(self, q, k, v, out, lse, grad, mask, causal, scale):
        xp = self.xp
        q, k, v, m, b, lq, s, e, ev, mbs, has = self._attn_args(q, k, v, mask)
        dq = xp.zeros(q.shape, q.dtype)
        dk = xp.zeros(k.shape, q.dtype)
        dv = xp.zeros(v.shape, q.dtype)
        if b == 0 or lq == 0 or s == 0:
            return dq, dk, dv
        out, lse, g = self.contiguous(out), self.contiguous(lse), self.contiguous(grad)
        dbuf = xp.empty((b, lq), q.dtype)
        ct = L.ctype(q.dtype)
        tail = (_I64(b), _I64(lq), _I64(s), _I64(e), _I64(ev), _I64(mbs), _I32(has),
                _I32(1 if causal else 0), q.dtype.type(scale))
        fn = self.kernel("attention.cu", f"attn_bwd_dq<{ct}>")
        fn((min(b * L.cdiv(lq, _BQ), self._max_grid * 8),), (_BQ,),
           (q, k, v, m, out, lse, g, dq, dbuf) + tail)
        fn = self.kernel("attention.cu", f"attn_bwd_dkdv<{ct}>")
        fn((min(b * L.cdiv(s, _BQ), self._max_grid * 8),), (_BQ,),
           (q, k, v, m, lse, g, dbuf, dk, dv) + tail)
        return dq, dk, dv
