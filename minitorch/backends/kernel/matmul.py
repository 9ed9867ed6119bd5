"""Matmul of the kernel backend on kernels/matmul.cu: one launch of a shared-memory tiled
GEMM (float/double; ``matmul_simple`` for integer and bool dtypes) over a strided, possibly
broadcast batch.  The host folds the batch into rows when B is shared (``x @ W`` becomes one
large GEMM), picks float4 loads when pointers and row strides are 16-byte aligned, and splits
launches past gridDim's 65535 limit in y and z."""
from __future__ import annotations

import numpy as np

from . import layout as L

_I32, _I64 = np.int32, np.int64

# matmul_tiled's tile per dtype (kernels/matmul.cu, MatmulConfig): (BM, BN)
_MM_TILE = {"float": (128, 128), "double": (64, 64)}
_MM_SIMPLE = 16
_MAX_Y = _MAX_Z = 65535


class MatmulMixin:
    def matmul(self, a, b):
        xp = self.xp
        *ba, n, k = a.shape
        *bb, _, m = b.shape
        bshape = L.broadcast_shape(tuple(ba), tuple(bb))
        out = xp.empty(bshape + (n, m), a.dtype)
        if out.size == 0:
            return out
        if k == 0:
            self._fill(out, 0)
            return out
        # the kernels read rows through a stride and need unit column stride
        if k > 1 and a.strides[-1] != a.itemsize:
            a = self.contiguous(a)
        if m > 1 and b.strides[-1] != b.itemsize:
            b = self.contiguous(b)
        sa = L.broadcast_strides(tuple(ba), L.estrides(a)[:-2], bshape)
        sb = L.broadcast_strides(tuple(bb), L.estrides(b)[:-2], bshape)
        lda, ldb = L.estrides(a)[-2], L.estrides(b)[-2]
        rows = n
        if bshape and not any(sb):
            # one B for the whole batch (x @ W): fold the batch into the rows of A when its
            # batch dims and rows form one strided run -- a single large GEMM
            shape, (st,) = L.coalesce(bshape + (n,), [sa + (lda,)])
            if len(shape) <= 1:
                rows, lda = L.prod(bshape) * n, (st[0] if st else lda)
                bshape, sa, sb = (), (), ()
        cst = tuple(s * n * m for s in L.contiguous_strides(bshape))
        shape, (sa, sb, _) = L.coalesce(bshape, [sa, sb, cst])
        if len(shape) > 2:  # rare: materialize the broadcast batch as one contiguous run
            a = self.contiguous(self.expand(a, bshape + a.shape[-2:]))
            b = self.contiguous(self.expand(b, bshape + b.shape[-2:]))
            bt = L.prod(bshape)
            shape, sa, sb = (bt,), (n * k,), (k * m,)
        shape = (1,) * (2 - len(shape)) + tuple(shape)
        sa = (0,) * (2 - len(sa)) + tuple(sa)
        sb = (0,) * (2 - len(sb)) + tuple(sb)
        batch = shape[0] * shape[1]
        ct = L.ctype(a.dtype)
        common = (a, b, out, _I64(rows), _I64(m), _I64(k), _I64(lda), _I64(ldb), _I64(batch),
                  _I64(shape[1]), _I64(sa[0]), _I64(sa[1]), _I64(sb[0]), _I64(sb[1]))
        if ct in _MM_TILE:
            bm, bn = _MM_TILE[ct]
            fn = self.kernel("matmul.cu", f"matmul_tiled<{ct}>")
            vec = (_I32(self._aligned16(a, lda, *sa)), _I32(self._aligned16(b, ldb, *sb)))
            block = (256, 1, 1)
        else:
            bm = bn = _MM_SIMPLE
            fn = self.kernel("matmul.cu", f"matmul_simple<{ct}>")
            vec = ()
            block = (_MM_SIMPLE, _MM_SIMPLE, 1)
        tiles_m, tiles_n = L.cdiv(rows, bm), L.cdiv(m, bn)
        # gridDim.y and .z stop at 65535: launch again with offsets past that
        for z0 in range(0, batch, _MAX_Z):
            for t0 in range(0, tiles_m, _MAX_Y):
                grid = (tiles_n, min(tiles_m - t0, _MAX_Y), min(batch - z0, _MAX_Z))
                fn(grid, block, common + vec + (_I64(z0), _I64(t0)))
        return out
