"""Loss functions: ``F.mse_loss``, ``F.cross_entropy`` ... (their Modules, ``nn.MSELoss`` and
the rest, are in nn/loss.py).

``reduction`` is 'mean' | 'sum' | 'none' throughout.  Cross-entropy is PyTorch's two graph
nodes: the backend's fused ``log_softmax``, then ``NllLoss``, a built-in Function that picks
the target log-probabilities, weights them and reduces in one backend pass (its backward
scatters the gradient back, in Tensor ops).  On backends that set ``fused_cross_entropy``
(cuda, cudasim) the common case -- class indices, no weights, no label smoothing -- is one
node instead, ``CrossEntropy``, on the fused ``cross_entropy`` primitives.
``binary_cross_entropy`` is built in too, for PyTorch's clamped logs and its gradient
formula.
"""
from __future__ import annotations

import math
import warnings
from typing import Optional

import numpy as np

from ...amp import autocast_mode as _ac  # issue 18: autocast's one check
from ... import _dtype as D
from ..._tracing import host_check
from ...autograd.function import Function, is_grad_enabled
from ...ops.elementwise import where
from ...ops.index import ScatterAdd
from ...tensor import Tensor, _make
from .activation import log_softmax, logsigmoid, softmax

__all__ = ["l1_loss", "mse_loss", "smooth_l1_loss", "huber_loss", "nll_loss", "cross_entropy",
           "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div"]


def _legacy_reduction(size_average, reduce, reduction: str) -> str:
    """The deprecated size_average/reduce pair, translated as PyTorch does."""
    if size_average is None and reduce is None:
        return reduction
    warnings.warn("size_average and reduce args will be deprecated, please use reduction='"
                  f"{_legacy_string(size_average, reduce)}' instead.", stacklevel=3)
    return _legacy_string(size_average, reduce)


def _legacy_string(size_average, reduce) -> str:
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    return ("mean" if size_average else "sum") if reduce else "none"


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"{reduction} is not a valid value for reduction")


def _check_reduction(reduction: str) -> None:
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{reduction} is not a valid value for reduction")


def _float_pair(kernel: str, input, target, broadcast: bool = False):
    """PyTorch's pointwise losses run in the promoted dtype and exist for floats only: its
    dispatch error for other dtypes, and both operands cast to the promoted dtype.  With
    ``broadcast`` (mse, l1, smooth_l1: PyTorch broadcasts the pair first), a 0-d operand
    beside a dimensioned one promotes as a dimensioned one does."""
    if not (isinstance(input, Tensor) and isinstance(target, Tensor)):
        return input, target
    if broadcast and (input.ndim or target.ndim):
        rt = D.promote_types(input.dtype, target.dtype)
    else:
        rt = D.result_type(input, target)
    if not rt.is_floating_point:
        raise NotImplementedError(f'"{kernel}" not implemented for \'{rt.pt_name}\'')
    return (input if input.dtype is rt else input.to(rt),
            target if target.dtype is rt else target.to(rt))


def _warn_size(input: Tensor, target: Tensor) -> None:
    if target.shape != input.shape:
        warnings.warn(f"Using a target size ({target.shape}) that is different to the input size "
                      f"({input.shape}). This will likely lead to incorrect results due to "
                      f"broadcasting. Please ensure they have the same size.", stacklevel=3)


# --------------------------------------------------------------------------------------------
# regression losses


def l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
            reduction: str = "mean", weight: Optional[Tensor] = None) -> Tensor:
    """|input - target|."""
    if _ac.active:  # autocast (minitorch/amp): runs in float32
        input, target, weight = _ac.cast_fp32(input, target, weight)
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _warn_size(input, target)
    if isinstance(input, Tensor) and isinstance(target, Tensor) and \
            bool(input.ndim) != bool(target.ndim):  # PyTorch broadcasts the pair first (so a
        from ...ops.shape import broadcast_tensors
        input, target = broadcast_tensors(input, target)  # 0-d operand promotes as dimensioned)
    loss = (input - target).abs()
    return _reduce(loss if weight is None else loss * weight, reduction)


class MseLoss(Function):
    """(x - t)² reduced, in one node; backward is one product with 2(x - t)/n."""

    _raw_forward = True

    @staticmethod
    def forward(ctx, x, t, reduction):
        be = x._device._be
        d = be.binary("sub", x._data, t._data)
        sq = be.binary("mul", d, d)
        n = 1
        if reduction == "none":
            out = sq
        else:
            low = sq.dtype.itemsize == 2 and sq.dtype.kind in "fV"
            s32 = be.astype(sq, D.float32) if low else sq  # 16-bit: sum and mean in float32,
            out = be.reduce("sum", s32, tuple(range(sq.ndim)), False)  # rounded once
            if reduction == "mean":
                n = sq.size
                out = be.binary("div", out, n) if n else be.binary("mul", out, float("nan"))
            if low:
                out = be.astype(out, x.dtype)
        if any(ctx.needs_input_grad):
            ctx.reduction_n = (reduction, n)
            ctx.d2 = _wrap(be.binary("mul", d, 2.0 / n if n else 0.0), x)
            ctx.save_for_backward(x, t)
        return out

    @staticmethod
    def backward(ctx, g):
        if is_grad_enabled():  # building a graph of the gradient: use differentiable ops
            x, t = ctx.saved_tensors
            d2 = (x - t) * (2.0 / ctx.reduction_n[1])
        else:
            d2 = ctx.d2
        gx = d2 * g
        return (gx if ctx.needs_input_grad[0] else None,
                -gx if ctx.needs_input_grad[1] else None, None)


def mse_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
             reduction: str = "mean", weight: Optional[Tensor] = None) -> Tensor:
    """(input - target)²."""
    if _ac.active:  # autocast (minitorch/amp): runs in float32
        input, target, weight = _ac.cast_fp32(input, target, weight)
    reduction = _legacy_reduction(size_average, reduce, reduction)
    input, target = _float_pair("mse_cpu", input, target, broadcast=True)
    _warn_size(input, target)
    if (weight is None and reduction in ("mean", "sum", "none") and isinstance(target, Tensor)
            and input._data.shape == target._data.shape
            and input._data.dtype == target._data.dtype and input._data.dtype.kind in "fV"
            and input._device is target._device):
        return MseLoss.apply(input, target, reduction)
    d = input - target
    loss = d * d
    return _reduce(loss if weight is None else loss * weight, reduction)


def smooth_l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                   reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """0.5·d²/beta where |d| < beta, else |d| - 0.5·beta (beta = 0: L1)."""
    if _ac.active:  # autocast (minitorch/amp): runs in float32
        input, target = _ac.cast_fp32(input, target)
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    input, target = _float_pair("smooth_l1_cpu", input, target, broadcast=True)
    _warn_size(input, target)
    if beta == 0.0:
        return l1_loss(input, target, reduction=reduction)
    d = input - target
    ad = d.abs()
    # the quadratic branch sees 0 where it is not selected: its gradient is then 0, never
    # 0 * inf = NaN (d = +-inf gives PyTorch's gradient, +-1); a NaN d takes the quadratic
    # branch, so its gradient is NaN, as PyTorch's
    lin = ad >= beta
    dc = where(lin, 0.0, d)
    loss = where(lin, ad - 0.5 * beta, (0.5 / beta) * dc * dc)
    return _reduce(loss, reduction)


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0,
               weight: Optional[Tensor] = None) -> Tensor:
    """0.5·d² where |d| < delta, else delta·(|d| - 0.5·delta)."""
    if _ac.active:  # autocast (minitorch/amp): runs in float32
        input, target, weight = _ac.cast_fp32(input, target, weight)
    if isinstance(input, Tensor) and isinstance(target, Tensor):
        # PyTorch's huber_loss writes into an output of the input's dtype
        rt, out = D.result_type(input, target), input.dtype
        if rt.category > out.category:
            raise RuntimeError(f"result type {rt.pt_name} can't be cast to the desired output "
                               f"type {out.pt_name}")
        input, target = _float_pair("huber_cpu", input, target)
        if out is not rt:
            input, target = input.to(out), target.to(out)
    _warn_size(input, target)
    d = input - target
    ad = d.abs()
    lin = ad >= delta  # as in smooth_l1_loss: no 0 * inf in the unused branch, NaN passes
    dc = where(lin, 0.0, d)
    loss = where(lin, delta * (ad - 0.5 * delta), 0.5 * dc * dc)
    return _reduce(loss if weight is None else loss * weight, reduction)


# --------------------------------------------------------------------------------------------
# classification losses


class NllLoss(Function):
    """-w[t]·logp[n, t] per element, then the reduction (mean divides by Σ w[t])."""

    _raw_forward = True

    @staticmethod
    def forward(ctx, logp, target, weight, ignore_index, reduction):
        be = logp._device._be
        x, t = logp._data, target._data
        valid = be.binary("ne", t, ignore_index)
        safe = be.where(valid, t, 0)
        idx = be.reshape(safe, safe.shape[:1] + (1,) + safe.shape[1:])
        w = be.astype(valid, D._BY_NP[x.dtype])
        # zero classes: every target is ignore_index (checked), nothing to pick
        picked = be.reshape(be.gather(x, 1, idx), safe.shape) if x.shape[1] else w
        if weight is not None:
            w = be.binary("mul", w, be.index(weight._data, (safe,)))
        loss = be.binary("mul", be.unary("neg", picked), w)
        # ignored targets contribute exactly 0 (not 0 * inf = NaN from an inf/NaN logit)
        loss = be.where(valid, loss, x.dtype.type(0))
        ctx.args = (x.shape, reduction)
        ctx.idx = _wrap(idx, logp)
        ctx.w = _wrap(w, logp)
        ctx.valid = _wrap(valid, logp)
        if reduction == "none":
            return loss
        axes = tuple(range(loss.ndim))
        total = be.reduce("sum", loss, axes, False)
        if reduction == "sum":
            return total
        wsum = be.reduce("sum", w, axes, False)
        ctx.wsum = _wrap(wsum, logp)
        return be.binary("div", total, wsum)

    @staticmethod
    def backward(ctx, g):
        shape, reduction = ctx.args
        coef = -ctx.w * g
        if reduction == "mean":
            # ignored targets get exactly 0 (every target ignored: 0, not 0/0, as PyTorch)
            coef = where(ctx.valid, coef / ctx.wsum, 0.0)
        else:  # exactly 0 also where g is inf (not 0 * inf = NaN), as PyTorch
            coef = where(ctx.valid, coef, 0.0)
        coef = coef.reshape(ctx.idx.shape)
        if not shape[1]:  # zero classes: nothing was picked
            return g.new_zeros(shape), None, None, None, None
        # the indices were checked in forward: skip scatter_add's range checks
        return ScatterAdd.apply(g.new_zeros(shape), 1, ctx.idx, coef), None, None, None, None


def _wrap(raw, like: Tensor) -> Tensor:
    """A raw backend array as a (constant) Tensor on ``like``'s device."""
    return _make(raw, like._device, False, None, 0, None)


@host_check
def _check_targets(be, t, n_classes: int, ignore_index: int) -> None:
    """PyTorch's ``Target k is out of bounds.`` before any kernel runs."""
    if t.size == 0:
        return
    a = np.asarray(be.to_numpy(t))
    bad = (a != ignore_index) & ((a < 0) | (a >= n_classes))
    if bad.any():
        raise IndexError(f"Target {int(a[bad].flat[0])} is out of bounds.")


def _nll_checks(input: Tensor, target: Tensor, weight: Optional[Tensor], ignore_index: int):
    """nll_loss's argument checks, in PyTorch's order (nll_loss_nd, then the kernels).
    Returns (input, target, unbatched) with 1-D input made a batch of one and the target
    int64."""
    if input.ndim < 1:
        raise ValueError(f"Expected 1 or more dimensions (got {input.ndim})")
    if input.ndim != 1 and (target.shape[0] if target.ndim else 1) != input.shape[0]:
        raise ValueError(f"Expected input batch_size ({input.shape[0]}) to match target "
                         f"batch_size ({target.shape[0] if target.ndim else 1}).")
    if input.ndim <= 2 and target.ndim > 1:
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    if target._data.dtype not in (np.int64, np.uint8):
        raise RuntimeError(f"expected target dtype to be Long or Byte, but got "
                           f"{target.type_name()[6:-6]}")
    unbatched = input.ndim == 1
    if unbatched:
        if target.ndim == 1:  # PyTorch: a 1-D target of one element is the batch of one
            if target.shape[0] != 1:
                raise ValueError(f"For 1D input, 1D target must have size 1, but got target "
                                 f"size: {target.shape[0]}")
            target = target.reshape(())
        elif target.ndim != 0:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        input, target = input.unsqueeze(0), target.unsqueeze(0)
    n, c = input.shape[0], input.shape[1]
    if tuple(target.shape[1:]) != tuple(input.shape[2:]):
        raise RuntimeError(f"Expected target size {list((n,) + tuple(input.shape[2:]))}, got "
                           f"{list(target.shape)}")
    if input.ndim in (3,) or input.ndim > 4:
        # PyTorch folds the spatial dims (input (n, c, 1, -1), target (n, 1, -1); an empty
        # one (n, c, 0, 0) / (n, 0, 0)): zero classes with a non-empty target mismatch there
        if (input.numel() == 0) != (target.numel() == 0):
            fi = [n, c, 1, -1] if input.numel() else [n, c, 0, 0]
            ft = [n, 1, target.numel() // n] if target.numel() else [n, 0, 0]
            raise RuntimeError(f"size mismatch (got input: {fi} , target: {ft}")
    if weight is not None and (weight.ndim != 1 or weight.shape[0] != c):
        raise RuntimeError(f"weight tensor should be defined either for all {c} classes or no "
                           f"classes but got weight tensor of shape: {list(weight.shape)}")
    if target._data.dtype != D.int64.np:
        target = target.long()
    if input._data.dtype.kind not in "fV":  # PyTorch's kernels are for floats only
        kernel = "nll_loss2d_forward_out_frame" if input.ndim == 4 else "nll_loss_out_frame"
        raise NotImplementedError(f'"{kernel}" not implemented for '
                                  f"'{input.dtype.pt_name}'")
    _check_targets(input._device._be, target._data, c, ignore_index)
    return input, target, unbatched


def nll_loss(input: Tensor, target: Tensor, weight: Optional[Tensor] = None,
             size_average=None, ignore_index: int = -100, reduce=None,
             reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of class-index targets, given log-probabilities: input (N, C),
    (N, C, d1, ...) or (C,); target (N,), (N, d1, ...) or ()."""
    if _ac.active:  # autocast (minitorch/amp): runs in float32
        input, target, weight = _ac.cast_fp32(input, target, weight)
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    input, target, unbatched = _nll_checks(input, target, weight, ignore_index)
    out = NllLoss.apply(input, target, weight, ignore_index, reduction)
    return out.squeeze(0) if unbatched and reduction == "none" else out


class CrossEntropy(Function):
    """Fused cross-entropy of (N, C) logits and int64 class indices: one backend call
    (``cross_entropy``: per-row loss and log-sum-exp, with ``ignore_index``) and the
    reduction.  Backward is one more (``cross_entropy_backward``: softmax minus one-hot,
    scaled per row); when a graph of the gradient is being built (``create_graph=True``) it
    is written in Tensor ops instead, so it can be differentiated again."""

    _raw_forward = True

    @staticmethod
    def forward(ctx, x, target, ignore_index, reduction):
        be = x._device._be
        t = target._data
        loss, lse = be.cross_entropy(x._data, t, ignore_index)
        n = loss.shape[0]
        if ctx.needs_input_grad[0]:
            ctx.save_for_backward(x)
            ctx.args = (_wrap(t, x), _wrap(lse, x), ignore_index, reduction, n)
        if reduction == "none":
            return loss
        total = be.reduce("sum", loss, (0,), False)
        if reduction == "sum":
            return total
        count = be.reduce("sum", be.astype(be.binary("ne", t, ignore_index),
                                           D._BY_NP[loss.dtype]), (0,), False)
        if ctx.needs_input_grad[0]:
            ctx.count = _wrap(count, x)
        return be.binary("div", total, count)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        target, lse, ignore_index, reduction, n = ctx.args
        if reduction == "mean":
            g = g / ctx.count
        g_rows = g if reduction == "none" else g.expand(n)  # upstream gradient per row
        if is_grad_enabled():  # differentiable form: (softmax(x) - onehot) * g, rows masked
            valid = target != ignore_index
            safe = where(valid, target, 0).unsqueeze(1)
            onehot = x.new_zeros(x.shape).scatter_add(1, safe, x.new_ones((n, 1)))
            # ignored rows get exactly 0 (not g * 0: g is inf when every target is ignored)
            return ((softmax(x, 1) - onehot) * where(valid, g_rows, 0.0).unsqueeze(1),
                    None, None, None)
        be = x._device._be
        gx = be.cross_entropy_backward(x._data, target._data, lse._data,
                                       be.contiguous(g_rows._data), ignore_index)
        return _wrap(gx, x), None, None, None


def _fused_cross_entropy(input: Tensor, target: Tensor, ignore_index: int,
                         reduction: str) -> Tensor:
    """Class-index cross-entropy through ``CrossEntropy``: the class dim is moved last and
    everything else flattened into rows."""
    input, target, unbatched = _nll_checks(input, target, None, ignore_index)
    shape = tuple(target.shape)
    if input.ndim > 2:
        c = input.shape[1]
        input = input.movedim(1, -1).reshape(target.numel(), c)  # (c may be 0)
        target = target.reshape(-1)
    out = CrossEntropy.apply(input, target, ignore_index, reduction)
    if reduction == "none":
        out = out.squeeze(0) if unbatched else out.reshape(shape)
    return out


def _class_weight(weight: Tensor, ndim: int, class_dim: int) -> Tensor:
    shape = [1] * ndim
    shape[class_dim] = weight.shape[0]
    return weight.reshape(shape)


def _per_class(label_smoothing: float, c: int) -> float:
    """label_smoothing / C in floating point, as PyTorch's C++: C = 0 gives inf (so a
    smoothing term over no classes is NaN there too, not a ZeroDivisionError)."""
    return label_smoothing / c if c else math.inf


def cross_entropy(input: Tensor, target: Tensor, weight: Optional[Tensor] = None,
                  size_average=None, ignore_index: int = -100, reduce=None,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """log_softmax over the class dim (1, or 0 for unbatched input), then the negative
    log-likelihood of class-index targets, or of class-probability targets (float, same
    shape as input).  ``label_smoothing`` mixes in the uniform distribution."""
    if _ac.active:  # autocast (minitorch/amp): runs in float32
        input, target, weight = _ac.cast_fp32(input, target, weight)
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    class_dim = 0 if input.ndim == 1 else 1
    if (weight is None and label_smoothing <= 0 and input.ndim >= 1
            and target.shape != input.shape and input._data.dtype.kind in "fV"
            and getattr(input._device._be, "fused_cross_entropy", False)):
        # the common case, fused (on the kernel devices; cpu keeps PyTorch's graph)
        return _fused_cross_entropy(input, target, ignore_index, reduction)
    if target.shape == input.shape and target._data.dtype.kind not in "fV":
        raise RuntimeError(f"Expected floating point type for target with class "
                           f"probabilities, got {target.type_name()[6:-6]}")
    logp = log_softmax(input, class_dim)
    c = input.shape[class_dim]
    if target.shape == input.shape:  # class probabilities
        if target._data.dtype.kind not in "fV":
            raise RuntimeError(f"Expected floating point type for target with class "
                               f"probabilities, got {target.type_name()[6:-6]}")
        if label_smoothing > 0:
            target = target * (1 - label_smoothing) + _per_class(label_smoothing, c)
        prod = logp * target
        if weight is not None:
            prod = prod * _class_weight(weight, input.ndim, class_dim)
        if reduction == "none":
            return -prod.sum(class_dim)
        total = -prod.sum()
        return total if reduction == "sum" else total / (input.numel() // c if c else 0)
    nll = nll_loss(logp, target, weight, ignore_index=ignore_index, reduction=reduction)
    if label_smoothing <= 0:
        return nll
    if weight is not None:
        smooth = -(logp * _class_weight(weight, input.ndim, class_dim)).sum(class_dim)
    else:
        smooth = -logp.sum(class_dim)
    ignored = target == ignore_index
    smooth = smooth.masked_fill(ignored, 0.0)
    if reduction == "mean":
        if weight is not None:
            kept = where(ignored, 0, target)
            denom = (weight[kept] * (~ignored).to(weight.dtype)).sum()
        else:
            denom = (~ignored).sum()
        smooth = smooth.sum() / denom
    elif reduction == "sum":
        smooth = smooth.sum()
    return (1 - label_smoothing) * nll + smooth * _per_class(label_smoothing, c)


_BCE_EPS = float(np.float32(1e-12))  # PyTorch's EPSILON is a float constant


class BinaryCrossEntropy(Function):
    """-w·(t·max(log x, -100) + (1-t)·max(log(1-x), -100)), PyTorch's gradient formula."""

    _raw_forward = True

    @staticmethod
    def forward(ctx, x, t, w):
        be = x._device._be
        a, b = x._data, t._data
        # (float16/bfloat16: each step rounds to the dtype, as PyTorch's kernel's Half math)
        lx = be.binary("maximum", be.unary("log", a), -100.0)
        l1x = be.binary("maximum", be.unary("log1p", be.unary("neg", a)), -100.0)
        loss = be.binary("add", be.binary("mul", b, lx),
                         be.binary("mul", be.binary("sub", 1.0, b), l1x))
        loss = be.unary("neg", loss)
        if w is not None:
            loss = be.binary("mul", loss, w._data)
        ctx.save_for_backward(x, t, w)
        return loss

    @staticmethod
    def backward(ctx, g):
        x, t, w = ctx.saved_tensors
        nig = ctx.needs_input_grad
        gx = gt = None
        if nig[0]:
            gx = g * (x - t) / ((1 - x) * x).clamp(min=_BCE_EPS)
            if w is not None:
                gx = gx * w
        if nig[1]:
            gt = g * ((-x).log1p() - x.log())  # unclamped, as in PyTorch
            if w is not None:
                gt = gt * w
        return gx, gt, None


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Optional[Tensor] = None,
                         size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """Binary cross-entropy of probabilities; logs are clamped at -100 as in PyTorch."""
    if _ac.active:  # autocast (minitorch/amp): runs in float32
        input, target, weight = _ac.cast_fp32(input, target, weight)
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    if target.shape != input.shape:
        raise ValueError(f"Using a target size ({target.shape}) that is different to the input "
                         f"size ({input.shape}) is deprecated. Please ensure they have the same "
                         f"size.")
    if target._data.dtype != input._data.dtype:
        raise RuntimeError(f"Found dtype {target.dtype.pt_name} but expected "
                           f"{input.dtype.pt_name}")
    # PyTorch's checks, in its order; written as "not inside [0, 1]" so that NaN fails too
    for t, what in ((input, "input"), (target, "target")):
        if t.numel() and not bool(((t >= 0) & (t <= 1)).all()):
            raise RuntimeError(f"all elements of {what} should be between 0 and 1")
    if weight is not None:
        weight = weight.expand(input.shape)
    return _reduce(BinaryCrossEntropy.apply(input, target, weight), reduction)


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor,
                                     weight: Optional[Tensor] = None, size_average=None,
                                     reduce=None, reduction: str = "mean",
                                     pos_weight: Optional[Tensor] = None) -> Tensor:
    """BCE of sigmoid(input), computed stably: (1-t)·x - (1 + (pw-1)·t)·log σ(x)."""
    if _ac.active:  # autocast (minitorch/amp): runs in float32
        input, target, weight, pos_weight = _ac.cast_fp32(input, target, weight, pos_weight)
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    if target.shape != input.shape:
        raise ValueError(f"Target size ({target.shape}) must be the same as input size "
                         f"({input.shape})")
    ls = logsigmoid(input)
    if pos_weight is not None:
        loss = (1 - target) * input - ((pos_weight - 1) * target + 1) * ls
    else:
        loss = (1 - target) * input - ls
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


class _XLogX(Function):
    """t·log(t), 0 at t = 0 (NaN below): ``xlogy(t, t)``.  Its gradient is PyTorch's
    xlogy(t != 0, t) + t / t: log(t) + 1, NaN at t = 0 (PyTorch's 0/0 from the second
    argument)."""

    @staticmethod
    def forward(ctx, t):
        ctx.save_for_backward(t)
        return where(t == 0, 0.0, t * t.log())

    @staticmethod
    def backward(ctx, g):
        (t,) = ctx.saved_tensors
        # PyTorch's two terms exactly: xlogy(g, t) masked at t = 0 (xlogy is 0 where g is 0
        # and t is no NaN), plus g·t/t -- so an infinite g meets log(1) = 0 as NaN, as there
        first = where((t == 0) | ((g == 0) & (t == t)), 0.0, g * t.log())
        return first + g * t / t


def kl_div(input: Tensor, target: Tensor, size_average=None, reduce=None,
           reduction: str = "mean", log_target: bool = False) -> Tensor:
    """target·(log target - input), input being log-probabilities; 'batchmean' divides the
    sum by the batch size (the true KL divergence)."""
    if _ac.active:  # autocast (minitorch/amp): runs in float32
        input, target = _ac.cast_fp32(input, target)
    if reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the "
                      "support size.'batchmean' divides only by the batch size, and aligns with "
                      "the KL div math definition.'mean' will be changed to behave the same as "
                      "'batchmean' in the next major release.", stacklevel=2)
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(size_average, reduce, reduction)
    if any(isinstance(t, Tensor) and not t.dtype.is_floating_point for t in (input, target)):
        raise RuntimeError("kl_div: Integral inputs not supported.")
    if log_target:
        loss = target.exp() * (target - input)
    else:  # PyTorch's xlogy(t, t) - t·x, gradients included
        loss = _XLogX.apply(target) - target * input
    if reduction == "batchmean":
        return loss.sum() / (input.shape[0] if input.ndim else 1)
    return _reduce(loss, reduction)
