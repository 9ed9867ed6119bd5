"""The fused primitives of the kernel backends: matmul, softmax / log_softmax, cross-entropy,
im2col / col2im / max_pool2d and the SGD / Adam updates, each one launch (or two) of a
hand-written kernel from kernels/matmul.cu, softmax.cu, conv.cu and optim.cu.

``KernelExtMixin`` is mixed into ``KernelBackend`` (kernel_backend.py), which provides
``self.runtime`` (compiles and launches), ``self.xp`` (numpy or cupy: allocation and views
only), ``self.ptr(a)`` (an array's address), ``self.contiguous``, ``self.copy_`` and
``self._fill``.  Here the host side does what kernels should not: shape arithmetic, choosing
a kernel variant (warp- or block-per-row softmax, tiled or simple matmul), grid sizes, and
folding hyper-parameters into scalars of the exact C type.  docs/kernels.md explains each
kernel.

``kernel_instantiations()`` lists every template instantiation this file launches, per
kernel file: tests/test_kernels_compile.py compiles exactly these for sm_80 and sm_90.
"""
from __future__ import annotations

import numpy as np

from . import kernel_layout as L

__all__ = ["KernelExtMixin", "kernel_instantiations", "all_kernel_instantiations",
           "EXT_KERNELS"]

_I32, _I64 = np.int32, np.int64
_FLOAT = ("float", "double")
_TF = ("true", "false")

# every instantiation each file is used with (compiled per first template argument, so a
# float32-only program never waits for the double versions)
EXT_KERNELS = {
    "matmul.cu": tuple([f"matmul_tiled<{t}>" for t in _FLOAT]
                       + [f"matmul_simple<{t}>" for t in ("int", "long long", "bool")]),
    "softmax.cu": tuple(
        [f"{k}<{t}, {b}>" for t in _FLOAT for k in ("softmax_warp", "softmax_block",
                                                     "softmax_strided") for b in _TF]
        + [f"{k}<{t}>" for t in _FLOAT for k in ("cross_entropy_fwd_warp",
                                                  "cross_entropy_fwd_block",
                                                  "cross_entropy_bwd")]),
    "conv.cu": tuple([f"{k}<{t}>" for t in L.ALL_C for k in ("im2col_kernel", "col2im_kernel")]
                     + [f"max_pool2d_kernel<{t}>" for t in _FLOAT + L.INT_C]),
    "optim.cu": tuple(f"{k}<{t}>" for t in _FLOAT for k in ("sgd_update", "adam_update")),
}


def kernel_instantiations():
    """``[(file, name_expressions), ...]`` for every kernel this module launches."""
    return [(f, names) for f, names in EXT_KERNELS.items()]


def all_kernel_instantiations():
    """``[(file, name_expressions), ...]`` for every ``kernels/*.cu`` file: the names
    kernel_backend.py launches (``kernel_layout.kernel_names``) plus this module's.  What
    tests/test_kernels_compile.py compiles with nvcc for sm_80 and sm_90."""
    import os
    from .runtime import KERNELS_DIR
    out = []
    for f in sorted(os.listdir(KERNELS_DIR)):
        if f.endswith(".cu"):
            names = tuple(L.kernel_names(f)) + tuple(EXT_KERNELS.get(f, ()))
            out.append((f, tuple(dict.fromkeys(names))))
    return out


# matmul_tiled's tile per dtype (kernels/matmul.cu, MatmulConfig): (BM, BN)
_MM_TILE = {"float": (128, 128), "double": (64, 64)}
_MM_SIMPLE = 16
_MAX_Y = _MAX_Z = 65535
_WARP_ROWS = 4         # softmax_warp: rows per block (SM_WARPS)
_WARP_MAX_COLS = 1024  # longer rows get a block each
_SM_BLOCK = 256

# optimizer flag bits (kernels/optim.cu)
_SGD = dict(maximize=1, weight_decay=2, momentum=4, first=8, dampening=16, nesterov=32)
_ADAM = dict(maximize=1, weight_decay=2, decoupled=4, amsgrad=8, lerp_small=16)


def _ct(dt) -> str:
    return L.C_TYPE[np.dtype(dt)]


def _pool_out(size, k, s, p, d, ceil_mode):
    out = (size + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)) // s + 1
    return out - 1 if ceil_mode and (out - 1) * s >= size + p else out


class KernelExtMixin:
    """matmul, softmax, cross-entropy, conv/pool windows and optimizer updates as kernels."""

    # nn.functional.cross_entropy uses the fused primitives on this backend (on cpu it keeps
    # PyTorch's two-node log_softmax + nll_loss graph); see nn/loss.py
    fused_cross_entropy = True

    # -- kernel lookup ---------------------------------------------------------------------
    def _ext_kernel(self, filename: str, name: str):
        fns = self.__dict__.get("_ext_fns")
        if fns is None:
            fns = self._ext_fns = {}
            self._ext_modules = {}
        f = fns.get((filename, name))
        if f is None:
            group = L.group_of(name)
            mod = self._ext_modules.get((filename, group))
            if mod is None:
                names = tuple(n for n in EXT_KERNELS[filename] if L.group_of(n) == group)
                mod = self._ext_modules[(filename, group)] = self.runtime.module(filename, names)
            f = fns[(filename, name)] = mod.get_function(name)
        return f

    def _grid_1d(self, n: int, block: int = 256) -> int:
        return min(max(L.cdiv(n, block), 1), self._max_grid)

    def _aligned16(self, a, *elem_strides) -> bool:
        it = a.itemsize
        return self.ptr(a) % 16 == 0 and all((s * it) % 16 == 0 for s in elem_strides)

    # -- matmul --------------------------------------------------------------------------
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
        ct = _ct(a.dtype)
        common = (a, b, out, _I64(rows), _I64(m), _I64(k), _I64(lda), _I64(ldb), _I64(batch),
                  _I64(shape[1]), _I64(sa[0]), _I64(sa[1]), _I64(sb[0]), _I64(sb[1]))
        if ct in _MM_TILE:
            bm, bn = _MM_TILE[ct]
            fn = self._ext_kernel("matmul.cu", f"matmul_tiled<{ct}>")
            vec = (_I32(self._aligned16(a, lda, *sa)), _I32(self._aligned16(b, ldb, *sb)))
            block = (256, 1, 1)
        else:
            bm = bn = _MM_SIMPLE
            fn = self._ext_kernel("matmul.cu", f"matmul_simple<{ct}>")
            vec = ()
            block = (_MM_SIMPLE, _MM_SIMPLE, 1)
        tiles_m, tiles_n = L.cdiv(rows, bm), L.cdiv(m, bn)
        # gridDim.y and .z stop at 65535: launch again with offsets past that
        for z0 in range(0, batch, _MAX_Z):
            for t0 in range(0, tiles_m, _MAX_Y):
                grid = (tiles_n, min(tiles_m - t0, _MAX_Y), min(batch - z0, _MAX_Z))
                fn(grid, block, common + vec + (_I64(z0), _I64(t0)))
        return out

    # -- softmax ---------------------------------------------------------------------------
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
        ct, lg = _ct(x.dtype), ("true" if log else "false")
        c = x.shape[axis]
        outer, inner = L.prod(x.shape[:axis]), L.prod(x.shape[axis + 1:])
        if inner == 1:
            self._softmax_rows(x, out, outer, c, ct, lg)
        elif outer * inner >= 4096 or c <= 256:
            # one thread per (outer, inner) column: coalesced along `inner`, no transpose
            fn = self._ext_kernel("softmax.cu", f"softmax_strided<{ct}, {lg}>")
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
            fn = self._ext_kernel("softmax.cu", f"softmax_warp<{ct}, {lg}>")
            grid = min(L.cdiv(rows, _WARP_ROWS), self._max_grid * 8)
            fn((grid,), (32, _WARP_ROWS), (x, out, _I64(rows), _I64(cols)))
        else:
            fn = self._ext_kernel("softmax.cu", f"softmax_block<{ct}, {lg}>")
            fn((min(rows, self._max_grid * 8),), (_SM_BLOCK,), (x, out, _I64(rows), _I64(cols)))

    # -- cross-entropy ---------------------------------------------------------------------
    def cross_entropy(self, logits, target, ignore_index):
        xp = self.xp
        n, c = logits.shape
        loss, lse = xp.empty((n,), logits.dtype), xp.empty((n,), logits.dtype)
        if n == 0:
            return loss, lse
        x, t = self.contiguous(logits), self.contiguous(target)
        ct = _ct(x.dtype)
        args = (x, t, loss, lse, _I64(n), _I64(c), _I64(ignore_index))
        if c <= _WARP_MAX_COLS:
            fn = self._ext_kernel("softmax.cu", f"cross_entropy_fwd_warp<{ct}>")
            fn((min(L.cdiv(n, _WARP_ROWS), self._max_grid * 8),), (32, _WARP_ROWS), args)
        else:
            fn = self._ext_kernel("softmax.cu", f"cross_entropy_fwd_block<{ct}>")
            fn((min(n, self._max_grid * 8),), (_SM_BLOCK,), args)
        return loss, lse

    def cross_entropy_backward(self, logits, target, lse, grad, ignore_index):
        n, c = logits.shape
        out = self.xp.empty((n, c), logits.dtype)
        if out.size == 0:
            return out
        fn = self._ext_kernel("softmax.cu", f"cross_entropy_bwd<{_ct(logits.dtype)}>")
        fn((self._grid_1d(n * c),), (256,),
           (self.contiguous(logits), self.contiguous(target), self.contiguous(lse),
            self.contiguous(grad), out, _I64(n), _I64(c), _I64(ignore_index)))
        return out

    # -- convolution windows and pooling ---------------------------------------------------
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
            fn = self._ext_kernel("conv.cu", f"im2col_kernel<{_ct(x.dtype)}>")
            fn((self._grid_1d(out.size),), (256,),
               (self.contiguous(x), out) + self._win_args(x.shape, kernel, stride, padding,
                                                          dilation, oh, ow))
        return out

    def col2im(self, cols, input_shape, kernel, stride, padding, dilation):
        n, c, h, w = input_shape
        (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
        oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
        ow = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
        out = self.xp.empty(tuple(input_shape), cols.dtype)
        if out.size:
            fn = self._ext_kernel("conv.cu", f"col2im_kernel<{_ct(cols.dtype)}>")
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
            low = dt.type(-np.inf) if dt.kind == "f" else dt.type(np.iinfo(dt).min)
            fn = self._ext_kernel("conv.cu", f"max_pool2d_kernel<{_ct(dt)}>")
            fn((self._grid_1d(vals.size),), (256,),
               (self.contiguous(x), vals, idx) + self._win_args(x.shape, kernel, stride,
                                                                padding, dilation, oh, ow)
               + (low,))
        return vals, idx

    # -- optimizer updates -----------------------------------------------------------------
    def _inplace_operands(self, *arrays):
        """Contiguous working copies of the arrays a kernel updates in place (the arrays
        themselves when already contiguous), and the pairs to copy back afterwards."""
        work, back = [], []
        for a in arrays:
            if a is None or a.flags.c_contiguous:
                work.append(a)
            else:
                w = self.contiguous(a)
                work.append(w)
                back.append((a, w))
        return work, back

    def sgd_update_(self, p, grad, buf, lr, momentum, dampening, weight_decay, nesterov,
                    maximize):
        first = momentum != 0 and buf is None
        if first:
            buf = self.xp.empty(p.shape, p.dtype)
        if p.size == 0:
            return buf
        T = np.dtype(p.dtype).type
        (pw, bw), back = self._inplace_operands(p, buf if momentum != 0 else None)
        flags = ((_SGD["maximize"] if maximize else 0)
                 | (_SGD["weight_decay"] if weight_decay != 0 else 0)
                 | (_SGD["momentum"] if momentum != 0 else 0)
                 | (_SGD["first"] if first else 0)
                 | (_SGD["dampening"] if dampening != 0 else 0)
                 | (_SGD["nesterov"] if nesterov else 0))
        fn = self._ext_kernel("optim.cu", f"sgd_update<{_ct(p.dtype)}>")
        fn((self._grid_1d(p.size),), (256,),
           (pw, self.contiguous(self._same_shape(grad, p)), pw if bw is None else bw,
            _I64(p.size), _I32(flags), T(weight_decay), T(momentum), T(1 - dampening),
            T(-lr)))
        for dst, w in back:
            self.copy_(dst, w)
        return buf

    def adam_update_(self, p, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, step, lr, beta1,
                     beta2, eps, weight_decay, amsgrad, maximize, decoupled):
        if p.size == 0:
            return
        T = np.dtype(p.dtype).type
        vmax = max_exp_avg_sq if amsgrad else None
        (pw, mw, vw, xw), back = self._inplace_operands(p, exp_avg, exp_avg_sq, vmax)
        weight = 1 - beta1
        flags = ((_ADAM["maximize"] if maximize else 0)
                 | (_ADAM["amsgrad"] if amsgrad else 0)
                 | (_ADAM["lerp_small"] if abs(weight) < 0.5 else 0))
        if weight_decay != 0:
            flags |= _ADAM["decoupled"] if decoupled else _ADAM["weight_decay"]
        # the Python-float scalars of PyTorch's formula, each rounded once to p's dtype
        step_size = lr / (1 - beta1 ** step)
        bc2_sqrt = (1 - beta2 ** step) ** 0.5
        fn = self._ext_kernel("optim.cu", f"adam_update<{_ct(p.dtype)}>")
        fn((self._grid_1d(p.size),), (256,),
           (pw, self.contiguous(self._same_shape(grad, p)), mw, vw, vw if xw is None else xw,
            _I64(p.size), _I32(flags), T(weight_decay), T(1 - lr * weight_decay), T(weight),
            T(-(1 - weight)), T(beta2), T(1 - beta2), T(bc2_sqrt), T(eps), T(-step_size)))
        for dst, w in back:
            self.copy_(dst, w)

    def _same_shape(self, g, p):
        return g if g.shape == p.shape else self.expand(g, p.shape)
