"""Fused optimizer updates of the kernel backend on kernels/optim.cu: one launch updates a
parameter and its optimizer state in place (SGD with momentum/Nesterov/weight decay; Adam,
AdamW and AMSGrad), with the hyper-parameters folded into scalars of the parameter's C type."""
from __future__ import annotations

import numpy as np

from . import layout as L

_I32, _I64 = np.int32, np.int64

# optimizer flag bits (kernels/optim.cu)
_SGD = dict(maximize=1, weight_decay=2, momentum=4, first=8, dampening=16, nesterov=32)
_ADAM = dict(maximize=1, weight_decay=2, decoupled=4, amsgrad=8, lerp_small=16)


class OptimMixin:
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
        fn = self.kernel("optim.cu", f"sgd_update<{L.ctype(p.dtype)}>")
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
        fn = self.kernel("optim.cu", f"adam_update<{L.ctype(p.dtype)}>")
        fn((self._grid_1d(p.size),), (256,),
           (pw, self.contiguous(self._same_shape(grad, p)), mw, vw, vw if xw is None else xw,
            _I64(p.size), _I32(flags), T(weight_decay), T(1 - lr * weight_decay), T(weight),
            T(-(1 - weight)), T(beta2), T(1 - beta2), T(bc2_sqrt), T(eps), T(-step_size)))
        for dst, w in back:
            self.copy_(dst, w)

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

    def _same_shape(self, g, p):
        return g if g.shape == p.shape else self.expand(g, p.shape)
