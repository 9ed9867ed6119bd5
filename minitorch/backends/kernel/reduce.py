"""Reductions of the kernel backend: ``reduce`` and ``argreduce`` on kernels/reduce.cu.

The host's job is layout: split the input's dims into kept dims (they index the output) and
reduced dims, merge dims that are contiguous with each other, order the reduced dims so the
innermost has the smallest stride, and pick the kernel whose threads read memory
coalesced — ``reduce_rows`` (a warp walks one output's elements: unit-stride reduced dim;
``reduce_rows_block`` when there are too few outputs for a warp each) or ``reduce_cols`` (a
thread per output: unit-stride kept dim).  When there are too few outputs
to fill the device, the reduced range is split over several warps/blocks and a second
launch of the same kernel combines the partial results (a two-pass reduction).
"""
from __future__ import annotations

import numpy as np

from . import layout as L

_I32, _I64 = np.int32, np.int64
_WARPS_PER_BLOCK = 8


class ReduceMixin:
    # below these sizes one warp (rows) / one block (cols) per output is enough: no split
    _split_min_rows = 4096
    _split_min_cols = 512

    def reduce(self, op, x, axes, keepdim):
        nd = x.ndim
        axes = sorted({a % nd for a in axes}) if nd else []
        shape = x.shape
        if op in ("max", "min") and not x.size and any(shape[a] == 0 for a in axes):
            raise ValueError(f"zero-size array to reduction operation {op} which has no identity")
        rdt = L.BOOL if op in ("all", "any") else x.dtype
        if keepdim:
            out_shape = tuple(1 if d in axes else s for d, s in enumerate(shape))
        else:
            out_shape = tuple(s for d, s in enumerate(shape) if d not in axes)
        if not axes:  # nothing to reduce: the values themselves (all/any: as bools)
            if op in ("all", "any"):
                return self.binary("ne", x, x.dtype.type(0))
            return self.astype(x, x.dtype)
        out = self.xp.empty(out_shape, rdt)
        if not out.size:
            return out
        if not x.size:  # an empty reduction: the identity
            self._fill(out, {"sum": 0, "prod": 1, "all": True, "any": False}[op])
            return out
        st = L.estrides(x)
        kept = [d for d in range(nd) if d not in axes]
        kshape, (kst,) = L.coalesce([shape[d] for d in kept], [[st[d] for d in kept]])
        red = sorted(axes, key=lambda d: -abs(st[d]))  # innermost: the smallest stride
        rshape, (rst,) = L.coalesce([shape[d] for d in red], [[st[d] for d in red]])
        self._reduce_pass(op, x, kshape, kst, rshape, rst, out)
        return out

    def _reduce_pass(self, op, x, kshape, kst, rshape, rst, out):
        """out.flat[o] = op over r of x[koff(o) + roff(r)]; may recurse once for a split."""
        n_out, n_red = L.prod(kshape), L.prod(rshape)
        nk, nr = len(kshape), len(rshape)
        ct = L.C_TYPE[x.dtype]
        code = self._rops[op]
        meta = self.meta(tuple(kshape) + tuple(kst) + tuple(rshape) + tuple(rst))
        kin = abs(kst[-1]) if nk else 0
        rin = abs(rst[-1]) if nr else 1
        args = (_I64(n_out), _I64(n_red))
        if nk and ((kin == 1 and rin != 1) or (n_red <= 16 and n_out >= 64)):
            col_blocks = L.cdiv(n_out, 32)
            split = 1
            if col_blocks < self._par_blocks and n_red >= self._split_min_cols:
                split = min(L.cdiv(self._par_blocks, col_blocks), L.cdiv(n_red, 256))
            dst = out if split == 1 else self.xp.empty((split, n_out), out.dtype)
            fn = self.kernel("reduce.cu", f"reduce_cols<{ct}, {code}>")
            fn((min(col_blocks * split, self._max_grid),), (32, 8),
               args + (_I64(split), _I32(nk), _I32(nr), meta, x, dst))
            if split > 1:
                self._reduce_pass(op, dst, (n_out,), (1,), (split,), (n_out,), out)
            return
        split = 1
        if n_out >= self._par_warps or n_red < 1024:   # a warp per output fills the device
            fn = self.kernel("reduce.cu", f"reduce_rows<{ct}, {code}>")
            grid = L.cdiv(n_out, _WARPS_PER_BLOCK)
        else:                                           # a block per (output, chunk)
            if n_out < self._par_row_blocks and n_red >= self._split_min_rows:
                split = min(L.cdiv(self._par_row_blocks, n_out), L.cdiv(n_red, 2048))
            fn = self.kernel("reduce.cu", f"reduce_rows_block<{ct}, {code}>")
            grid = n_out * split
        dst = out if split == 1 else self.xp.empty((n_out, split), out.dtype)
        fn((min(grid, self._max_grid),), (32 * _WARPS_PER_BLOCK,),
           args + (_I64(split), _I32(nk), _I32(nr), meta, x, dst))
        if split > 1:
            self._reduce_pass(op, dst, (n_out,), (split,), (split,), (1,), out)

    def argreduce(self, op, x, axis, keepdim):
        code = 0 if op == "argmax" else 1
        nd = x.ndim
        if axis is None or nd == 0:
            if not x.size:
                raise ValueError(f"attempt to get {op} of an empty sequence")
            x = self.contiguous(x)
            out_shape = (1,) * nd if keepdim else ()
            kshape, kst, n_red, rst = (), (), x.size, 1
        else:
            axis %= nd
            shape, st = x.shape, L.estrides(x)
            n_red = shape[axis]
            out_shape = tuple(1 if d == axis else s for d, s in enumerate(shape)) if keepdim \
                else shape[:axis] + shape[axis + 1:]
            if n_red == 0 and L.prod(out_shape):
                raise ValueError(f"attempt to get {op} of an empty sequence")
            kept = [d for d in range(nd) if d != axis]
            kshape, (kst,) = L.coalesce([shape[d] for d in kept], [[st[d] for d in kept]])
            rst = st[axis]
        out = self.xp.empty(out_shape, np.int64)
        n_out = out.size
        if not n_out:
            return out
        split = 1
        if n_out < self._par_warps and n_red >= self._split_min_rows:
            # at most 1024 partials per output: the second pass is one warp per output
            split = min(L.cdiv(self._par_warps, n_out), L.cdiv(n_red, 2048), 1024)
        ct = L.C_TYPE[x.dtype]
        fn = self.kernel("reduce.cu", f"argreduce_rows<{ct}, {code}>")
        vals = self.xp.empty((n_out * split,), x.dtype)
        idx = out if split == 1 else self.xp.empty((n_out * split,), np.int64)
        grid = min(L.cdiv(n_out * split, _WARPS_PER_BLOCK), self._max_grid)
        fn((grid,), (32 * _WARPS_PER_BLOCK,),
           (_I64(n_out), _I64(n_red), _I64(split), _I32(len(kshape)),
            self.meta(tuple(kshape) + tuple(kst)), _I64(rst), x, idx, _I32(0), vals, idx))
        if split > 1:  # second pass over the (value, index) partials, one row per output
            vals2 = self.xp.empty((n_out,), x.dtype)
            grid = min(L.cdiv(n_out, _WARPS_PER_BLOCK), self._max_grid)
            fn((grid,), (32 * _WARPS_PER_BLOCK,),
               (_I64(n_out), _I64(split), _I64(1), _I32(1), self.meta((n_out, split)), _I64(1),
                vals, idx, _I32(1), vals2, out))
        return out
