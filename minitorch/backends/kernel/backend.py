"""The kernel backend: every primitive of the contract (base.Backend) as a hand-written CUDA C
kernel from ``kernels/*.cu``, launched through a ``Runtime`` (backends/runtime/).

One class serves two devices: ``KernelBackend(CupyRuntime(i))`` is ``cuda:i`` (NVRTC, a real
GPU) and ``KernelBackend(CudasimRuntime())`` is ``cudasim`` (the same source compiled for the
CPU).  ``runtime.xp`` (cupy or numpy) is used for allocation, views and host<->device copies
only; every value a primitive computes comes out of a kernel.  Exceptions, on the host:
``randperm`` (a permutation drawn from the generator's NumPy stream, then copied over) —
see randperm's docstring.

This file holds memory, copies, views and the elementwise ops (kernels/elementwise.cu and
copy.cu).  Each other kernel file has the mixin module of the same name: reduce.py,
index.py, random.py, matmul.py, softmax.py (softmax and cross-entropy), conv.py (im2col,
col2im, max-pool) and optim.py (fused SGD/Adam updates).  Helpers they share:
``self.kernel(file, name)`` returns a launchable kernel, ``self.launch_1d(fn, n, args)``
launches a grid-stride kernel over n items, ``self.meta(values)`` is a cached int64 device
array of strided metadata, ``self.ptr(a)`` an array's device address.  layout.py holds the
pure layout arithmetic and the table of kernel instantiations.
"""
from __future__ import annotations

import math

import numpy as np

from . import layout as L
from ..base import BINARY_OPS, COMPARISONS, Backend
from .attention import AttentionMixin
from .conv import ConvMixin
from .index import IndexMixin
from .matmul import MatmulMixin
from .norm import NormMixin
from .optim import OptimMixin
from .random import RandomMixin
from .reduce import ReduceMixin
from .rnn import RnnMixin
from .softmax import SoftmaxMixin

_BLOCK = 256
_I32, _I64, _U64, _F64, _BOOL = np.int32, np.int64, np.uint64, np.float64, np.bool_
_SCALAR_TYPES = (bool, int, float, np.bool_, np.integer, np.floating)


class KernelBackend(AttentionMixin, MatmulMixin, SoftmaxMixin, NormMixin, ConvMixin,
                    OptimMixin, ReduceMixin, IndexMixin, RandomMixin, RnnMixin, Backend):
    def __init__(self, runtime):
        self.runtime = runtime
        self.name = runtime.name
        self.xp = xp = runtime.xp
        self.array_type = xp.ndarray
        self._sim = xp is np
        # how much parallelism a launch should expose: the simulator runs every thread as a
        # fiber on one core, so it gets few blocks (kernels are grid-stride, any grid is right)
        sms = 1
        if not self._sim:
            try:
                sms = int(runtime.device.attributes["MultiProcessorCount"])
            except Exception:  # noqa: BLE001  (an older CuPy, a runtime without .device)
                sms = 108
        self._max_grid = 8 if self._sim else sms * 32
        self._par_warps = 16 if self._sim else sms * 64
        self._par_blocks = 2 if self._sim else sms * 4       # reduce_cols blocks
        self._par_row_blocks = 2 if self._sim else sms * 8   # reduce_rows_block blocks
        self._modules: dict = {}
        self._fns: dict = {}
        self._meta: dict = {}
        self._uops = L.op_codes("elementwise.cu", "UOP")
        self._bops = L.op_codes("elementwise.cu", "BOP")
        self._rops = L.op_codes("reduce.cu", "ROP")
        self.binary_table = {op: (lambda a, b, _op=op: self.binary(_op, a, b))
                             for op in BINARY_OPS}
        if self._sim:
            self.ptr = lambda a: a.__array_interface__["data"][0]
        else:
            self.ptr = lambda a: a.data.ptr

    # -- kernels ----------------------------------------------------------------------------
    def kernel(self, filename: str, name: str):
        """The compiled kernel ``name`` of ``kernels/<filename>`` (compiled with the other
        instantiations of its group on first use)."""
        f = self._fns.get((filename, name))
        if f is None:
            group = L.group_of(name)
            key = (filename, group)
            mod = self._modules.get(key)
            if mod is None:
                # template instantiations are name expressions; plain kernels are extern "C"
                names = tuple(n for n in L.kernel_names(filename) if L.group_of(n) == group)
                if "<" in name and name not in names:
                    names += (name,)
                mod = self._modules[key] = self.runtime.module(filename, names)
            f = self._fns[(filename, name)] = mod.get_function(name)
        return f

    def _grid_1d(self, n: int, block: int = _BLOCK) -> int:
        """Blocks for a grid-stride kernel over n items (capped: each thread loops)."""
        return min(max(L.cdiv(n, block), 1), self._max_grid)

    def launch_1d(self, fn, n: int, args: tuple, block: int = _BLOCK):
        """Launch a grid-stride kernel with enough blocks for n items (capped)."""
        fn((self._grid_1d(n, block),), (block,), args)

    def _aligned16(self, a, *elem_strides) -> bool:
        """Is ``a``'s address, and each of these strides (in elements), a multiple of 16 bytes
        (so that a kernel may load float4 vectors)?"""
        it = a.itemsize
        return self.ptr(a) % 16 == 0 and all((s * it) % 16 == 0 for s in elem_strides)

    def meta(self, values) -> object:
        """An int64 device array holding ``values`` (cached: layouts repeat)."""
        key = tuple(values)
        a = self._meta.get(key)
        if a is None:
            if len(self._meta) > 4096:
                self._meta.clear()
            h = np.array(key if key else (0,), dtype=np.int64)
            a = self._meta[key] = h if self._sim else self.xp.asarray(h)
        return a

    def launch_contig(self, fn, n: int, args: tuple, *arrays):
        """Launch a ``*_contig`` kernel (its last parameter is the ``aligned`` flag).  When
        every pointer is 16-byte aligned each thread moves one 16-byte vector per step, so
        n / width threads are launched, width = 16 / the widest itemsize."""
        aligned = all(self.ptr(a) % 16 == 0 for a in arrays)
        width = 16 // max(a.itemsize for a in arrays) if aligned else 1
        self.launch_1d(fn, -(-n // width), args + (_I32(aligned),))

    # -- memory -------------------------------------------------------------------------
    def asarray(self, r):
        return self.xp.asarray(r)

    def from_numpy(self, a):
        return self.xp.array(a, copy=True, order="C")

    def to_numpy(self, x):
        return x if self._sim else self.xp.asnumpy(x)

    def empty(self, shape, dtype):
        return self.xp.empty(shape, L.npdt(dtype))

    def full(self, shape, value, dtype):
        out = self.xp.empty(shape, L.npdt(dtype))
        self._fill(out, value)
        return out

    def _fill(self, out, value):
        n = out.size
        if not n:
            return
        dt = out.dtype
        if dt.itemsize == 2:  # float16/bfloat16: one float32 value, cast, broadcast (lowp.py)
            self._copy_into(out, self.astype(self.xp.full((), value, np.float32), dt))
            return
        v = dt.type(value)
        ct = L.C_TYPE[dt]
        if out.flags.c_contiguous:
            self.launch_contig(self.kernel("elementwise.cu", f"fill_contig<{ct}>"), n,
                               (_I64(n), out, v), out)
        else:
            shape, (st,) = L.coalesce(out.shape, [L.estrides(out)])
            self.launch_1d(self.kernel("elementwise.cu", f"fill_strided<{ct}>"), n,
                           (_I64(n), _I32(len(shape)), self.meta(shape + st), out, v))

    def arange(self, start, stop, step, dtype):
        dt = L.npdt(dtype)
        if all(isinstance(v, (int, np.integer)) for v in (start, stop, step)):
            n = max(0, -(-(int(stop) - int(start)) // int(step)))
        else:
            n = max(0, math.ceil((stop - start) / step))
        out = self.xp.empty((n,), dt)
        if n:
            ct = L.C_TYPE[dt]
            if dt.kind in "fV" or not all(isinstance(v, (int, np.integer)) for v in (start, step)):
                self.launch_1d(self.kernel("elementwise.cu", f"arange_float<{ct}>"), n,
                               (_I64(n), _F64(start), _F64(step), out))
            else:
                self.launch_1d(self.kernel("elementwise.cu", f"arange_int<{ct}>"), n,
                               (_I64(n), _I64(start), _I64(step), out))
        return out

    def astype(self, x, dtype):
        out = self.xp.empty(x.shape, L.npdt(dtype))
        self._copy_into(out, x)
        return out

    def contiguous(self, x):
        if x.flags.c_contiguous:
            return x
        out = self.xp.empty(x.shape, x.dtype)
        self._copy_into(out, x)
        return out

    def copy_(self, dst, src):
        L.check_writable(dst, "assignment destination is read-only")
        if isinstance(src, _SCALAR_TYPES):
            self._fill(dst, src)
            return
        if not isinstance(src, self.array_type):  # a host array (gradcheck writes those)
            src = self.from_numpy(np.asarray(src))
        if src.shape != dst.shape:
            if L.broadcast_shape(dst.shape, src.shape) != tuple(dst.shape):  # or ValueError
                raise ValueError(f"could not broadcast input array from shape {src.shape} into "
                                 f"shape {dst.shape}")
        if self._overlaps(dst, src):
            src = self.astype(src, src.dtype)
        self._copy_into(dst, src)

    def _copy_into(self, dst, src):
        """dst[...] = src (broadcast, cast), both device arrays that do not overlap."""
        n = dst.size
        if not n:
            return
        s_ct, d_ct = L.C_TYPE[src.dtype], L.C_TYPE[dst.dtype]
        if src.shape == dst.shape and src.flags.c_contiguous and dst.flags.c_contiguous:
            self.launch_contig(self.kernel("copy.cu", f"copy_contig<{s_ct}, {d_ct}>"), n,
                               (_I64(n), src, dst), src, dst)
            return
        sst = L.broadcast_strides(src.shape, L.estrides(src), dst.shape)
        shape, (dst_st, src_st) = L.coalesce(dst.shape, [L.estrides(dst), sst])
        nd = len(shape)
        # a transposed matrix (batch) made contiguous: the shared-memory tiled kernel
        if (s_ct == d_ct and nd in (2, 3) and dst_st == L.contiguous_strides(shape)
                and src_st[-2] == 1 and src_st[-1] != 1 and shape[-1] >= 16 and shape[-2] >= 16):
            batch, sb = (shape[0], src_st[0]) if nd == 3 else (1, 0)
            rows, cols = shape[-2], shape[-1]
            tiles = batch * L.cdiv(rows, 32) * L.cdiv(cols, 32)
            fn = self.kernel("copy.cu", f"transpose_tiled<{s_ct}>")
            fn((min(tiles, self._max_grid),), (32, 8),
               (_I64(batch), _I64(rows), _I64(cols), _I64(sb), _I64(src_st[-1]), src, dst))
            return
        self.launch_1d(self.kernel("copy.cu", f"copy_strided<{s_ct}, {d_ct}>"), n,
                       (_I64(n), _I32(nd), self.meta(shape + dst_st + src_st), src, dst))

    def _extent(self, a):
        lo = hi = self.ptr(a)
        it = a.itemsize
        for s, st in zip(a.shape, a.strides):
            if s == 0:
                return lo, lo
            if st > 0:
                hi += (s - 1) * st
            else:
                lo += (s - 1) * st
        return lo, hi + it

    def _overlaps(self, out, x) -> bool:
        """Could writing ``out`` clobber elements of ``x`` before they are read?  Identical
        layouts are fine (each element is read and written by the same thread)."""
        if not isinstance(x, self.array_type) or not x.size or not out.size:
            return False
        lo1, hi1 = self._extent(out)
        lo2, hi2 = self._extent(x)
        if hi1 <= lo2 or hi2 <= lo1:
            return False
        return not (lo1 == lo2 and out.shape == x.shape and out.strides == x.strides)

    # -- views ----------------------------------------------------------------------------
    def reshape(self, x, shape):
        shape = tuple(shape)
        if -1 in shape:
            k = shape.index(-1)
            rest = L.prod(shape[:k] + shape[k + 1:])
            shape = shape[:k] + (x.size // rest if rest else 0,) + shape[k + 1:]
        if x.flags.c_contiguous:
            return x.reshape(shape)
        st = L.view_strides(x.shape, L.estrides(x), shape)
        if st is None:
            return None
        it = x.itemsize
        return self.xp.lib.stride_tricks.as_strided(x, shape, tuple(s * it for s in st))

    def permute(self, x, dims):
        return x.transpose(dims)

    def expand(self, x, shape):
        return self.xp.broadcast_to(x, shape)

    def slice(self, x, key):
        return x[tuple(key) + (Ellipsis,)]

    def flip(self, x, dims):
        nd = x.ndim
        dims = {d % nd for d in dims} if nd else set()
        v = x[tuple(slice(None, None, -1) if d in dims else slice(None) for d in range(nd))
              + (Ellipsis,)]  # (the Ellipsis keeps a 0-d result an array)
        out = self.xp.empty(x.shape, x.dtype)
        self._copy_into(out, v)
        return out

    def cat(self, xs, axis):
        xs = list(xs)
        nd = xs[0].ndim
        axis %= nd
        shape = list(xs[0].shape)
        shape[axis] = sum(x.shape[axis] for x in xs)
        out = self.xp.empty(tuple(shape), xs[0].dtype)
        pos = 0
        pre = (slice(None),) * axis
        for x in xs:
            k = x.shape[axis]
            if k:
                self._copy_into(out[pre + (slice(pos, pos + k),)], x)
            pos += k
        return out

    # -- elementwise ------------------------------------------------------------------------
    def unary(self, op, x):
        dt = x.dtype
        ct = L.C_TYPE[dt]
        if ct not in L.unary_dtypes(op):
            if op in ("neg", "sigmoid") and dt.kind == "b" or \
                    op == "bitwise_not" and dt.kind in "fV":
                raise TypeError(f"ufunc '{op}' not supported for the input type {dt}")
            if op in ("rsqrt", "sigmoid"):        # NumPy computes in float, casts back
                return self.astype(self.unary(op, self.astype(x, np.float64)), dt)
            # exp/log/... of integers: NumPy promotes to float64 (bool: float16, here float32)
            return self.unary(op, self.astype(x, np.float32 if dt.kind == "b" else np.float64))
        code = self._uops[op]
        rdt = L.BOOL if op in ("logical_not", "isnan") else dt
        out = self.xp.empty(x.shape, rdt)
        n = x.size
        if not n:
            return out
        if x.flags.c_contiguous:
            self.launch_contig(self.kernel("elementwise.cu", f"unary_contig<{ct}, {code}>"), n,
                               (_I64(n), x, out), x, out)
        else:
            shape, (so, sx) = L.coalesce(x.shape, [L.estrides(out), L.estrides(x)])
            self.launch_1d(self.kernel("elementwise.cu", f"unary_strided<{ct}, {code}>"), n,
                           (_I64(n), _I32(len(shape)), self.meta(shape + so + sx), x, out))
        return out

    def binary(self, op, a, b, out=None):
        # the Tensor layer has promoted the operands (ops/elementwise.py, _promote): one
        # dtype, or an array and a Python scalar that the array's dtype can hold
        at = isinstance(a, self.array_type)
        bt = isinstance(b, self.array_type)
        if at:
            dt = a.dtype
            if bt and b.dtype != dt:
                raise TypeError(f"binary {op}: operands of dtypes {dt} and {b.dtype}; the "
                                f"backend contract takes one dtype (promote before the call)")
        elif bt:
            dt = b.dtype
        else:
            raise TypeError(f"binary {op}: at least one operand must be a device array")
        if not (at and bt) and dt.kind in "iub" and isinstance(b if at else a, (float,
                                                                              np.floating)):
            raise TypeError(f"binary {op}: a float scalar with a {dt} array (promote before "
                            f"the call)")
        if L.C_TYPE[dt] not in L.binary_dtypes(op):
            if op == "sub":
                raise TypeError("numpy boolean subtract, the `-` operator, is not supported, use "
                                "the bitwise_xor, the `^` operator, or the logical_xor function "
                                "instead.")
            raise TypeError(f"ufunc '{op}' not supported for the input types ({dt}, {dt})")
        ct = L.C_TYPE[dt]
        code = self._bops[op]
        rdt = L.BOOL if op in COMPARISONS else dt
        if not at:
            sa = dt.type(a)
            shape = b.shape
        elif not bt:
            sb = dt.type(b)
            shape = a.shape
        else:
            shape = a.shape if a.shape == b.shape else L.broadcast_shape(a.shape, b.shape)
        if out is None:
            out = self.xp.empty(shape, rdt)
        else:
            L.check_writable(out, "output array is read-only")
            if (at and self._overlaps(out, a)) or (bt and self._overlaps(out, b)):
                r = self.binary(op, a, b)
                self._copy_into(out, r)
                return out
        n = out.size
        if not n:
            return out
        oc = out.flags.c_contiguous
        if at and bt:
            if oc and a.shape == b.shape and a.flags.c_contiguous and b.flags.c_contiguous:
                self.launch_contig(self.kernel("elementwise.cu", f"binary_contig<{ct}, {code}>"),
                                   n, (_I64(n), a, b, out), a, b, out)
                return out
            sa = sb = dt.type(0)
            mask = 0
        else:
            x = a if at else b
            if oc and x.flags.c_contiguous and x.shape == out.shape:
                self.launch_contig(self.kernel("elementwise.cu",
                                               f"binary_contig_scalar<{ct}, {code}>"), n,
                                   (_I64(n), x, sb if at else sa, _I32(0 if at else 1), out),
                                   x, out)
                return out
            # the scalar's pointer slot gets a valid dummy of the right type: the array
            if at:
                b, sa, mask = a, dt.type(0), 2
            else:
                a, sb, mask = b, dt.type(0), 1
        oshape = out.shape
        zeros = (0,) * len(oshape)
        st = [L.estrides(out),
              L.broadcast_strides(a.shape, L.estrides(a), oshape) if mask != 1 else zeros,
              L.broadcast_strides(b.shape, L.estrides(b), oshape) if mask != 2 else zeros]
        shape, st = L.coalesce(oshape, st)
        self.launch_1d(self.kernel("elementwise.cu", f"binary_strided<{ct}, {code}>"), n,
                       (_I64(n), _I32(len(shape)), self.meta(shape + st[0] + st[1] + st[2]),
                        a, b, out, sa, sb, _I32(mask)))
        return out

    def _cast(self, x, dt):
        if not isinstance(x, self.array_type):
            return x
        return x if x.dtype == dt else self.astype(x, dt)

    def where(self, cond, a, b):
        at = isinstance(a, self.array_type)
        bt = isinstance(b, self.array_type)
        if cond.dtype != L.BOOL:
            cond = self.astype(cond, L.BOOL)
        dt = np.result_type(a.dtype if at else a, b.dtype if bt else b)
        a, b = self._cast(a, dt), self._cast(b, dt)
        shapes = [cond.shape] + [x.shape for x in (a, b) if isinstance(x, self.array_type)]
        shape = L.broadcast_shape(*shapes)
        out = self.xp.empty(shape, dt)
        n = out.size
        if not n:
            return out
        ct = L.C_TYPE[dt]
        mask = (0 if at else 1) | (0 if bt else 2)
        sa = dt.type(0) if at else dt.type(a)
        sb = dt.type(0) if bt else dt.type(b)
        pa = a if at else out
        pb = b if bt else out
        if all(x.shape == shape and x.flags.c_contiguous for x in (cond, pa, pb)):
            self.launch_1d(self.kernel("elementwise.cu", f"where_contig<{ct}>"), n,
                           (_I64(n), cond, pa, pb, out, sa, sb, _I32(mask)))
            return out
        st = [L.estrides(out), L.broadcast_strides(cond.shape, L.estrides(cond), shape),
              L.broadcast_strides(pa.shape, L.estrides(pa), shape) if at else (0,) * len(shape),
              L.broadcast_strides(pb.shape, L.estrides(pb), shape) if bt else (0,) * len(shape)]
        cshape, st = L.coalesce(shape, st)
        self.launch_1d(self.kernel("elementwise.cu", f"where_strided<{ct}>"), n,
                       (_I64(n), _I32(len(cshape)), self.meta(cshape + sum(st, ())), cond, pa,
                        pb, out, sa, sb, _I32(mask)))
        return out


from . import lowp as _lowp  # noqa: E402  (float16/bfloat16: native casts, float32 compute)
_lowp.install(KernelBackend)
