"""Indexing primitives of the kernel backend on kernels/index.cu: ``index``, ``index_put_``,
``gather``, ``scatter_add_`` and ``nonzero``."""
from __future__ import annotations

import numpy as np

from . import layout as L

_I32, _I64 = np.int32, np.int64

_SCALARS = (bool, int, float, np.bool_, np.integer, np.floating)


class IndexMixin:
    def _index_arrays(self, idxs):
        """The k index arrays as int64 and one (k, nb) contiguous buffer (row j = idxs[j])."""
        idxs = [i if i.dtype == L.INT64 else self.astype(i, L.INT64) for i in idxs]
        bshape = idxs[0].shape
        if any(i.shape != bshape for i in idxs):
            bshape = L.broadcast_shape(*[i.shape for i in idxs])
            idxs = [self.expand(i, bshape) for i in idxs]
        nb = L.prod(bshape)
        if len(idxs) == 1 and idxs[0].flags.c_contiguous:
            return bshape, nb, idxs[0]
        buf = self.xp.empty((len(idxs), nb), np.int64)
        for j, i in enumerate(idxs):
            self._copy_into(buf[j].reshape(bshape), i)
        return bshape, nb, buf

    def _index_meta(self, x, k):
        xst = L.estrides(x)
        rshape, (rst,) = L.coalesce(x.shape[k:], [xst[k:]])
        return len(rshape), self.meta(tuple(x.shape[:k]) + xst[:k] + rshape + rst)

    def index(self, x, idxs):
        k = len(idxs)
        bshape, nb, idx = self._index_arrays(idxs)
        rest = x.shape[k:]
        out = self.xp.empty(tuple(bshape) + tuple(rest), x.dtype)
        if not out.size:
            return out
        inner = L.prod(rest)
        nrest, meta = self._index_meta(x, k)
        self.launch_1d(self.kernel("index.cu", f"index_gather<{L.C_TYPE[x.dtype]}>"), out.size,
                       (_I64(nb), _I64(inner), _I32(k), _I32(nrest), idx, meta, x, out))
        return out

    def index_put_(self, x, idxs, values, accumulate):
        L.check_writable(x, "assignment destination is read-only")
        k = len(idxs)
        bshape, nb, idx = self._index_arrays(idxs)
        rest = x.shape[k:]
        inner = L.prod(rest)
        if not nb * inner:
            return
        full = tuple(bshape) + tuple(rest)
        if isinstance(values, _SCALARS):
            v, vstride = self.full((), values, x.dtype), 0
        else:
            if not isinstance(values, self.array_type):
                values = self.from_numpy(np.asarray(values))
            if values.dtype != x.dtype:
                values = self.astype(values, x.dtype)
            if values.size == 1:
                v, vstride = values.reshape(()), 0
            elif values.shape == full and values.flags.c_contiguous:
                v, vstride = values, 1
            else:
                v, vstride = self.contiguous(self.expand(values, full)), 1
            if self._overlaps(x, v):
                v = self.astype(v, v.dtype)
        nrest, meta = self._index_meta(x, k)
        self.launch_1d(self.kernel("index.cu", f"index_put<{L.C_TYPE[x.dtype]}>"), nb * inner,
                       (_I64(nb), _I64(inner), _I32(k), _I32(nrest), idx, meta, x, v,
                        _I64(vstride), _I32(1 if accumulate else 0)))

    def _along_dim(self, x, dim, index):
        """(x with dim's stride zeroed, x's size and stride along dim, int64 index)."""
        dim %= max(x.ndim, 1)
        if index.dtype != L.INT64:
            index = self.astype(index, L.INT64)
        xst = list(L.estrides(x))
        if not xst:  # 0-d
            return [], 1, 0, index
        xsd = xst[dim]
        xst[dim] = 0
        return xst, x.shape[dim], xsd, index

    def gather(self, x, dim, index):
        xst, xsize, xsd, index = self._along_dim(x, dim, index)
        out = self.xp.empty(index.shape, x.dtype)
        n = out.size
        if not n:
            return out
        shape, st = L.coalesce(index.shape, [L.estrides(out), L.estrides(index), xst])
        self.launch_1d(self.kernel("index.cu", f"gather_kernel<{L.C_TYPE[x.dtype]}>"), n,
                       (_I64(n), _I32(len(shape)), self.meta(shape + st[0] + st[1] + st[2]),
                        x, index, _I64(xsize), _I64(xsd), out))
        return out

    def scatter_add_(self, x, dim, index, src):
        L.check_writable(x, "output array is read-only")
        xst, xsize, xsd, index = self._along_dim(x, dim, index)
        n = index.size
        if not n:
            return
        if src.dtype != x.dtype:
            src = self.astype(src, x.dtype)
        if self._overlaps(x, src):
            src = self.astype(src, src.dtype)
        sst = L.estrides(src)
        shape, st = L.coalesce(index.shape, [L.estrides(index), sst, xst])
        self.launch_1d(self.kernel("index.cu", f"scatter_add_kernel<{L.C_TYPE[x.dtype]}>"), n,
                       (_I64(n), _I32(len(shape)), self.meta(shape + st[0] + st[1] + st[2]),
                        x, index, src, _I64(xsize), _I64(xsd)))

    def nonzero(self, x):
        nd = x.ndim
        if nd == 0:
            raise ValueError("Calling nonzero on 0d arrays is not allowed. Use "
                             "np.atleast_1d(scalar).nonzero() instead.")
        x = self.contiguous(x)
        n = x.size
        if not n:
            return tuple(self.xp.empty((0,), np.int64) for _ in range(nd))
        block = 256
        nblocks = min(L.cdiv(n, block * 4), self._max_grid)
        chunk = L.cdiv(n, nblocks)
        nblocks = L.cdiv(n, chunk)
        ct = L.C_TYPE[x.dtype]
        counts = self.xp.empty((nblocks,), np.int64)
        offsets = self.xp.empty((nblocks,), np.int64)
        total = self.xp.empty((1,), np.int64)
        self.kernel("index.cu", f"nonzero_count<{ct}>")((nblocks,), (block,),
                                                         (_I64(n), _I64(chunk), x, counts))
        self.kernel("index.cu", "exclusive_scan")((1,), (256,),
                                                  (_I64(nblocks), counts, offsets, total))
        count = int(self.to_numpy(total)[0])
        out = self.xp.empty((nd, count), np.int64)
        if count:
            self.kernel("index.cu", f"nonzero_write<{ct}>")(
                (nblocks,), (block,),
                (_I64(n), _I64(chunk), x, offsets, _I32(nd), self.meta(x.shape), _I64(count), out))
        return tuple(out[d] for d in range(nd))
