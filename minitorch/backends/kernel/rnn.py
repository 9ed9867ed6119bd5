"""Fused recurrent cells of the kernel backend on kernels/rnn.cu: one launch per LSTM/GRU
step forward (bias add, every gate activation, the new state, the saved activations) and one
per step backward; a thread per (row, hidden unit) reads that unit's gate columns.  The
recurrent products ``h @ W_hhᵀ`` stay in matmul.cu (nn/rnn.py calls ``matmul``)."""
from __future__ import annotations

import numpy as np

from . import layout as L

_I32, _I64 = np.int32, np.int64


class RnnMixin:
    def lstm_cell(self, gi, gh, b, c):
        xp = self.xp
        n, hs = c.shape
        h2, c2 = xp.empty((n, hs), c.dtype), xp.empty((n, hs), c.dtype)
        act = xp.empty((n, 4 * hs), c.dtype)
        if n * hs:
            fn = self.kernel("rnn.cu", f"lstm_cell_fwd<{L.ctype(c.dtype)}>")
            bb = self.contiguous(b) if b is not None else c
            self.launch_1d(fn, n * hs, (self.contiguous(gi), self.contiguous(gh), bb,
                                        _I32(b is not None), self.contiguous(c), h2, c2, act,
                                        _I64(n), _I64(hs)))
        return h2, c2, act

    def lstm_cell_backward(self, act, c, c_new, dh, dc):
        xp = self.xp
        n, hs = c.shape
        d = xp.empty((n, 4 * hs), c.dtype)
        dcp = xp.empty((n, hs), c.dtype)
        if n * hs:
            fn = self.kernel("rnn.cu", f"lstm_cell_bwd<{L.ctype(c.dtype)}>")
            dcc = self.contiguous(dc) if dc is not None else c
            self.launch_1d(fn, n * hs, (self.contiguous(act), self.contiguous(c),
                                        self.contiguous(c_new), self.contiguous(dh), dcc,
                                        _I32(dc is not None), d, dcp, _I64(n), _I64(hs)))
        return d, dcp

    def gru_cell(self, gi, gh, b, h):
        xp = self.xp
        n, hs = h.shape
        h2 = xp.empty((n, hs), h.dtype)
        ws = xp.empty((n, 4 * hs), h.dtype)
        if n * hs:
            fn = self.kernel("rnn.cu", f"gru_cell_fwd<{L.ctype(h.dtype)}>")
            bb = self.contiguous(b) if b is not None else h
            self.launch_1d(fn, n * hs, (self.contiguous(gi), self.contiguous(gh), bb,
                                        _I32(b is not None), self.contiguous(h), h2, ws,
                                        _I64(n), _I64(hs)))
        return h2, ws

    def gru_cell_backward(self, ws, h, dh):
        xp = self.xp
        n, hs = h.shape
        dgi = xp.empty((n, 3 * hs), h.dtype)
        dgh = xp.empty((n, 3 * hs), h.dtype)
        dhd = xp.empty((n, hs), h.dtype)
        if n * hs:
            fn = self.kernel("rnn.cu", f"gru_cell_bwd<{L.ctype(h.dtype)}>")
            self.launch_1d(fn, n * hs, (self.contiguous(ws), self.contiguous(h),
                                        self.contiguous(dh), dgi, dgh, dhd, _I64(n),
                                        _I64(hs)))
        return dgi, dgh, dhd
