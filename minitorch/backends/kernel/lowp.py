"""float16 and bfloat16 on the kernel devices (issue 18).

Storage and casts are native: ``copy.cu`` has ``copy_contig``/``copy_strided``/
``transpose_tiled`` instantiations for ``__half`` and ``__nv_bfloat16`` (conversions with
CUDA's round-to-nearest-even intrinsics; the cudasim shim supplies them in
``kernels/cudasim/cuda_fp16.h`` and ``cuda_bf16.h``).  So astype, contiguous, copy_, cat
and flip of 16-bit arrays run one kernel, as for any dtype; views are dtype-agnostic.

Native 16-bit compute kernels: unary and binary ops (``kernels/elementwise_lowp.cu``:
16-bit loads and stores, float32 math, a scalar operand kept in float32) and matmul on the
Tensor Cores (``kernels/mma.cu``: float32 accumulation); sum/prod/max/min read 16 bits in
``reduce.cu`` and accumulate in float32.  Everything else that computes (softmax, losses, indexing, where, optimizer updates ...) runs on float32 copies
made by the cast kernels, and its float results are rounded back to the 16-bit dtype
once.  That is PyTorch's own numerics -- its half kernels load 16 bits, compute in float ("opmath") and round the result once; sums and
matmuls accumulate in float -- so cpu and cudasim give the same numbers.  It costs two extra
passes over memory per staged primitive on a GPU; native 16-bit variants of those are what
remains to be written for speed.

``install(cls)`` wraps the compute primitives of ``KernelBackend``.  The check is one
``itemsize == 2`` test per array argument (only float16/bfloat16 arrays are 2 bytes wide
here), so float32/float64/int programs pay one Python call per primitive and nothing else.
"""
from __future__ import annotations

import functools

import numpy as np

_F32 = np.dtype(np.float32)

# primitive -> positions (or keyword names) of the arrays it writes in place
_COMPUTE = {
    "where": (), "argreduce": (),
    "softmax": (), "log_softmax": (), "cross_entropy": (),
    "cross_entropy_backward": (), "im2col": (), "col2im": (), "max_pool2d": (),
    "index": (), "gather": (), "nonzero": (), "attention": (), "attention_backward": (),
    "gelu": (), "gelu_backward": (), "layer_norm": (), "layer_norm_backward": (),
    "lstm_cell": (), "lstm_cell_backward": (), "gru_cell": (), "gru_cell_backward": (),
    "bernoulli": (), "index_put_": (0,), "scatter_add_": (0,), "sgd_update_": (0, 2),
    "adam_update_": (0, 2, 3, 4),
}
# factories: (position of the dtype argument)
_FACTORIES = {"full": 2, "arange": 3, "uniform": 3, "normal": 3}


def _is_low_dtype(d) -> bool:
    d = getattr(d, "np", d)
    try:
        d = np.dtype(d)
    except TypeError:
        return False
    return d.itemsize == 2 and d.kind in "fV"


def _wrap_compute(fn, writes):
    pos_writes = tuple(w for w in writes if isinstance(w, int))
    kw_writes = tuple(w for w in writes if isinstance(w, str))

    @functools.wraps(fn)
    def wrapped(self, *args, **kw):
        at = self.array_type
        for a in args:
            if a.__class__ is at and a.itemsize == 2:
                break
        else:
            o = kw.get("out") if kw_writes else None
            if o is None or o.itemsize != 2:
                return fn(self, *args, **kw)
        return _upcast_call(self, fn, args, kw, pos_writes, kw_writes)
    return wrapped


def _upcast_call(self, fn, args, kw, pos_writes, kw_writes):
    at = self.array_type
    low = None
    new_args = list(args)
    for i, a in enumerate(args):
        if a.__class__ is at and a.itemsize == 2:
            low = low or a.dtype
            new_args[i] = self.astype(a, _F32)
    new_kw = dict(kw)
    for k in kw_writes:
        o = kw.get(k)
        if o is not None and o.itemsize == 2:
            low = low or o.dtype
            new_kw[k] = self.astype(o, _F32)
    r = fn(self, *new_args, **new_kw)
    for i in pos_writes:  # in-place primitives: write the float32 results back
        if i < len(args) and args[i].__class__ is at and args[i].itemsize == 2:
            self.copy_(args[i], new_args[i])
    for k in kw_writes:
        o = kw.get(k)
        if o is not None and o.itemsize == 2:
            self.copy_(o, new_kw[k])
            if r is new_kw[k]:
                r = o

    def back(x):
        return self.astype(x, low) if x.__class__ is at and x.dtype == _F32 else x
    if isinstance(r, tuple):
        return tuple(back(x) for x in r)
    return back(r)


def _wrap_factory(fn, pos):
    @functools.wraps(fn)
    def wrapped(self, *args, **kw):
        if len(args) > pos and _is_low_dtype(args[pos]):
            low = getattr(args[pos], "np", args[pos])
            args = args[:pos] + (_F32,) + args[pos + 1:]
            return self.astype(fn(self, *args, **kw), low)
        return fn(self, *args, **kw)
    return wrapped


def _wrap_unary(fn):
    """16-bit unary ops: kernels/elementwise_lowp.cu (16-bit loads, float32 math)."""
    from . import layout as L

    @functools.wraps(fn)
    def wrapped(self, op, x):
        if x.__class__ is not self.array_type or x.itemsize != 2:
            return fn(self, op, x)
        if "float" not in L.unary_dtypes(op):  # bitwise_not: the float32 path's TypeError
            return _upcast_call(self, fn, (op, x), {}, (), ())
        out = self.xp.empty(x.shape, L.BOOL if op in ("logical_not", "isnan") else x.dtype)
        n = x.size
        if n:
            shape, (so, sx) = L.coalesce(x.shape, [L.estrides(out), L.estrides(x)])
            k = self.kernel("elementwise_lowp.cu",
                            f"unary_lowp<{L.ctype(x.dtype)}, {self._uops[op]}>")
            self.launch_1d(k, n, (np.int64(n), np.int32(len(shape)), self.meta(shape + so + sx),
                                  x, out))
        return out
    return wrapped


def _wrap_binary(fn):
    """16-bit binary ops: kernels/elementwise_lowp.cu, a scalar operand kept in float32."""
    from . import layout as L
    from ..base import COMPARISONS

    @functools.wraps(fn)
    def wrapped(self, op, a, b, out=None):
        at = a.__class__ is self.array_type
        bt = b.__class__ is self.array_type
        low = (at and a.itemsize == 2) or (bt and b.itemsize == 2)
        if not low and (out is None or out.itemsize != 2):
            return fn(self, op, a, b, out=out)
        arr = a if at else b
        if "float" not in L.binary_dtypes(op) or (at and bt and a.dtype != b.dtype) or \
                not (at or bt) or (out is not None and (out.dtype != (
                    L.BOOL if op in COMPARISONS else arr.dtype)
                    or (at and self._overlaps(out, a)) or (bt and self._overlaps(out, b)))):
            return _upcast_call(self, fn, (op, a, b), {"out": out}, (), ("out",))
        shape = a.shape if not bt else b.shape if not at else L.broadcast_shape(a.shape, b.shape)
        if out is None:
            out = self.xp.empty(shape, L.BOOL if op in COMPARISONS else arr.dtype)
        else:
            L.check_writable(out, "output array is read-only")
        n = out.size
        if not n:
            return out
        oshape = out.shape
        zeros = (0,) * len(oshape)
        st = [L.estrides(out),
              L.broadcast_strides(a.shape, L.estrides(a), oshape) if at else zeros,
              L.broadcast_strides(b.shape, L.estrides(b), oshape) if bt else zeros]
        cshape, st = L.coalesce(oshape, st)
        k = self.kernel("elementwise_lowp.cu",
                        f"binary_lowp<{L.ctype(arr.dtype)}, {self._bops[op]}>")
        f32 = np.float32
        self.launch_1d(k, n, (np.int64(n), np.int32(len(cshape)),
                              self.meta(cshape + st[0] + st[1] + st[2]), a if at else arr,
                              b if bt else arr, out, f32(0) if at else f32(a),
                              f32(0) if bt else f32(b), np.int32((0 if at else 1) |
                                                                 (0 if bt else 2))))
        return out
    return wrapped


def _wrap_reduce(fn):
    """16-bit sum/prod/max/min: reduce.cu reads 16 bits and accumulates in float32 (its
    ``ReduceAcc`` for __half/__nv_bfloat16), the small result is rounded once here."""
    from . import layout as L

    @functools.wraps(fn)
    def wrapped(self, op, x, axes, keepdim):
        if x.__class__ is not self.array_type or x.itemsize != 2:
            return fn(self, op, x, axes, keepdim)
        nd = x.ndim
        axes = sorted({a % nd for a in axes}) if nd else []
        if op not in ("sum", "prod", "max", "min") or not axes or not x.size:
            return _upcast_call(self, fn, (op, x, axes, keepdim), {}, (), ())
        shape = x.shape
        out_shape = tuple(1 if d in axes else s for d, s in enumerate(shape)) if keepdim else \
            tuple(s for d, s in enumerate(shape) if d not in axes)
        out = self.xp.empty(out_shape, _F32)
        if not out.size:
            return self.astype(out, x.dtype)
        st = L.estrides(x)
        kept = [d for d in range(nd) if d not in axes]
        kshape, (kst,) = L.coalesce([shape[d] for d in kept], [[st[d] for d in kept]])
        red = sorted(axes, key=lambda d: -abs(st[d]))
        rshape, (rst,) = L.coalesce([shape[d] for d in red], [[st[d] for d in red]])
        self._reduce_pass(op, x, kshape, kst, rshape, rst, out)
        return self.astype(out, x.dtype)
    return wrapped


def _wrap_matmul(fn):
    """16-bit matmul on the Tensor Cores (kernels/mma.cu); other dtypes as before."""
    @functools.wraps(fn)
    def wrapped(self, a, b):
        if a.itemsize == 2 and b.itemsize == 2 and a.dtype == b.dtype:
            return mma_matmul(self, a, b)
        if a.itemsize == 2 or b.itemsize == 2:
            return _upcast_call(self, fn, (a, b), {}, (), ())
        return fn(self, a, b)
    return wrapped


def mma_matmul(self, a, b):
    """``a @ b`` for float16/bfloat16 arrays (..., n, k) @ (..., k, m): the wmma kernel,
    FP32 accumulation, one rounding of the result."""
    from . import layout as L
    *ba, n, k = a.shape
    *bb, _, m = b.shape
    bshape = L.broadcast_shape(tuple(ba), tuple(bb))
    out = self.xp.empty(bshape + (n, m), a.dtype)
    if out.size == 0:
        return out
    if k == 0:
        self._fill(out, 0)
        return out
    if not bb:  # x @ W: fold the batch into the rows, one GEMM
        a = self.contiguous(self.expand(a, bshape + (n, k)) if bshape != tuple(ba) else a)
        rows, batch, sa, sb = L.prod(bshape) * n, 1, 0, 0
        b = self.contiguous(b)
    else:
        a = self.contiguous(self.expand(a, bshape + (n, k)))
        b = self.contiguous(self.expand(b, bshape + (k, m)))
        rows, batch, sa, sb = n, L.prod(bshape), n * k, k * m
    fn = self.kernel("mma.cu", f"mma_wmma<{L.ctype(a.dtype)}>")
    i64 = np.int64
    tiles_m, tiles_n = L.cdiv(rows, 32), L.cdiv(m, 32)
    for z0 in range(0, batch, 65535):  # gridDim.y/z stop at 65535: offset the pointers
        nz = min(batch - z0, 65535)
        for t0 in range(0, tiles_m, 65535):
            nt = min(tiles_m - t0, 65535)
            r0 = t0 * 32
            av = a.reshape(-1)[z0 * sa + r0 * k:] if (z0 or r0) else a
            ov = out.reshape(-1)[(z0 * rows + r0) * m:] if (z0 or r0) else out
            bv = b.reshape(-1)[z0 * sb:] if z0 else b
            fn((tiles_n, nt, nz), (128, 1, 1),
               (av, bv, ov, i64(min(rows - r0, nt * 32) if batch == 1 else rows), i64(m),
                i64(k), i64(k), i64(m), i64(sa), i64(sb)))
    return out


def install(cls):
    """Wrap ``cls``'s compute primitives and factories for the 16-bit floats."""
    for name, writes in _COMPUTE.items():
        fn = getattr(cls, name, None)
        if fn is not None and not getattr(fn, "_lowp", False):
            w = _wrap_compute(fn, writes)
            w._lowp = True
            setattr(cls, name, w)
    for name, wrap in (("unary", _wrap_unary), ("binary", _wrap_binary),
                       ("reduce", _wrap_reduce)):
        if not getattr(getattr(cls, name), "_lowp", False):
            w = wrap(getattr(cls, name))
            w._lowp = True
            setattr(cls, name, w)
    if not getattr(cls.matmul, "_lowp", False):
        w = _wrap_matmul(cls.matmul)
        w._lowp = True
        cls.matmul = w
    for name, pos in _FACTORIES.items():
        fn = getattr(cls, name, None)
        if fn is not None and not getattr(fn, "_lowp", False):
            w = _wrap_factory(fn, pos)
            w._lowp = True
            setattr(cls, name, w)
    return cls
