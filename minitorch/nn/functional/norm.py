"""Normalization: ``batch_norm`` (running statistics updated in place, as in PyTorch),
``layer_norm``, ``group_norm`` and ``normalize`` (divide by the p-norm), composed from Tensor
ops."""
from __future__ import annotations

from typing import Optional

from ...amp import autocast_mode as _ac  # issue 18: autocast's one check
from ...autograd.function import Function, is_grad_enabled
from ...autograd.grad_mode import no_grad
from ...tensor import Tensor, _make, _shape_str

__all__ = ["batch_norm", "layer_norm", "group_norm", "normalize"]


def batch_norm(input: Tensor, running_mean: Optional[Tensor], running_var: Optional[Tensor],
               weight: Optional[Tensor] = None, bias: Optional[Tensor] = None,
               training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalize each channel (dim 1) over the batch and spatial dims.

    Training: batch mean and *biased* variance normalize; the running stats (if given) are
    updated in place as ``(1-momentum)*running + momentum*batch`` with the *unbiased*
    variance.  Eval: the running stats normalize."""
    if input.ndim < 2:
        raise ValueError(f"Expected 2D or more input (got {input.ndim}D input)")
    c = input.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is not None and t.numel() != c:
            raise RuntimeError(f"{name} should contain {c} elements not {t.numel()}")
    dims = (0,) + tuple(range(2, input.ndim))
    shape = (1, c) + (1,) * (input.ndim - 2)
    if training:
        count = input.numel() // c if c else 0
        if count <= 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input "
                             f"size {input.shape!r}")
        mean = input.mean(dims)
        var = input.var(dims, correction=0)
        with no_grad():
            if running_mean is not None:
                running_mean.mul_(1 - momentum).add_(mean.detach() * momentum)
            if running_var is not None:
                running_var.mul_(1 - momentum).add_(var.detach() * (momentum * count /
                                                                     (count - 1)))
    else:
        if running_mean is None or running_var is None:
            raise RuntimeError("running_mean and running_var must be defined in evaluation "
                               "mode")
        mean, var = running_mean, running_var
    out = (input - mean.reshape(shape)) * (var + eps).rsqrt().reshape(shape)
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


def layer_norm(input: Tensor, normalized_shape, weight: Optional[Tensor] = None,
               bias: Optional[Tensor] = None, eps: float = 1e-5) -> Tensor:
    """Normalize over the trailing ``normalized_shape`` dims (biased variance), then scale
    and shift elementwise."""
    if _ac.active:  # autocast (minitorch/amp): runs in float32
        input, weight, bias = _ac.fp32_listed("layer_norm", input, weight, bias)
    ns = (int(normalized_shape),) if isinstance(normalized_shape, int) else \
        tuple(int(s) for s in normalized_shape)
    k = len(ns)
    if k == 0 or input.ndim < k or tuple(input.shape[-k:]) != ns:
        raise RuntimeError(f"Given normalized_shape={list(ns)}, expected input with shape "
                           f"[*, {', '.join(map(str, ns))}], but got input of size"
                           f"{_shape_str(input.shape)}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != ns:
            raise RuntimeError(f"Expected {name} to be of same shape as normalized_shape, but "
                               f"got {name} of shape {_shape_str(t.shape)} and normalized_shape "
                               f"= {list(ns)}")
    if not input.dtype.is_floating_point:
        raise NotImplementedError(f'"LayerNormKernelImpl" not implemented for '
                                  f"'{input.dtype.pt_name}'")
    if _fused_ok(input, weight, bias):
        return LayerNorm_.apply(input, weight, bias, k, float(eps))
    return _layer_norm_ops(input, weight, bias, k, eps)


def _layer_norm_ops(input, weight, bias, k, eps):
    """LayerNorm composed from Tensor ops (dtypes the fused primitive does not take)."""
    dims = tuple(range(input.ndim - k, input.ndim))
    mean = input.mean(dims, keepdim=True)
    var = input.var(dims, keepdim=True, correction=0)
    out = (input - mean) * (var + eps).rsqrt()
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


def _fused_ok(input, weight, bias) -> bool:
    """The fused primitive takes one float dtype on one device (no promotion)."""
    if input._data.dtype.kind not in "fV":
        return False
    for t in (weight, bias):
        if t is not None and (not isinstance(t, Tensor) or t.dtype != input.dtype or
                              t._device is not input._device):
            return False
    return True


def _rows(be, a, shape):
    """``a`` as a contiguous array of ``shape``: a view when the strides allow (no
    ``contiguous`` call, so a traced graph gets no copy node that aliases the input)."""
    r = be.reshape(a, shape)
    if r is None or not _is_c_contig(r):
        r = be.reshape(be.contiguous(a), shape)
    return r


def _is_c_contig(a) -> bool:
    f = getattr(a, "flags", None)
    return f is None or bool(f.c_contiguous)


class LayerNorm_(Function):
    """LayerNorm over the last ``k`` dims on the backend's fused ``layer_norm`` (saves the
    row mean and 1/std) and ``layer_norm_backward`` (dx, dweight, dbias in one call).  With
    ``create_graph`` the backward is written in Tensor ops, so it differentiates again."""

    _raw_forward = True

    @staticmethod
    def forward(ctx, x, weight, bias, k, eps):
        be = x._device._be
        shape = tuple(x.shape)
        n = 1
        for s in shape[len(shape) - k:]:
            n *= s
        m = x.numel() // n if n else 0
        x2, w, b = (None if t is None else _rows(be, t._data, s)
                    for t, s in ((x, (m, n)), (weight, (n,)), (bias, (n,))))
        out, mean, rstd = be.layer_norm(x2, w, b, eps)
        if any(ctx.needs_input_grad):
            ctx.save_for_backward(x, weight)
            ctx.stats = (x2, mean, rstd, w)
        ctx.k, ctx.eps = k, eps
        return be.reshape(out, shape)

    @staticmethod
    def backward(ctx, g):
        x, weight = ctx.saved_tensors
        k, eps = ctx.k, ctx.eps
        nw = ctx.needs_input_grad
        if is_grad_enabled():  # create_graph: the same formulas in Tensor ops
            dims = tuple(range(x.ndim - k, x.ndim))
            lead = tuple(range(x.ndim - k))
            mean = x.mean(dims, keepdim=True)
            rstd = (x.var(dims, keepdim=True, correction=0) + eps).rsqrt()
            xhat = (x - mean) * rstd
            gw = g * weight if weight is not None else g
            dx = rstd * (gw - gw.mean(dims, keepdim=True) -
                         xhat * (gw * xhat).mean(dims, keepdim=True))
            dw = (g * xhat).sum(lead) if nw[1] else None
            db = g.sum(lead) if nw[2] else None
            return dx, dw, db, None, None
        be = x._device._be
        x2, mean, rstd, w = ctx.stats
        dx, dw, db = be.layer_norm_backward(_rows(be, g._data, x2.shape), x2, mean, rstd, w)
        dev = x._device
        wrap = lambda a, shape: _make(be.reshape(a, shape), dev, False, None, 0, None)  # noqa
        ns = tuple(x.shape[x.ndim - k:])
        return (wrap(dx, tuple(x.shape)) if nw[0] else None,
                wrap(dw, ns) if nw[1] else None,
                wrap(db, ns) if nw[2] else None, None, None)


LayerNorm_.__name__ = LayerNorm_.__qualname__ = "NativeLayerNorm"
LayerNorm_._backward_cls.__name__ = LayerNorm_._backward_cls.__qualname__ = \
    "NativeLayerNormBackward0"


def group_norm(input: Tensor, num_groups: int, weight: Optional[Tensor] = None,
               bias: Optional[Tensor] = None, eps: float = 1e-5) -> Tensor:
    """Normalize (N, C, *) over each group of C/num_groups channels (and all positions),
    then scale and shift per channel."""
    if _ac.active:  # autocast (minitorch/amp): runs in float32
        input, weight, bias = _ac.fp32_listed("group_norm", input, weight, bias)
    if input.dim() < 2:
        raise RuntimeError(f"Expected at least 2 dimensions for input tensor but received "
                           f"{input.dim()}")
    n, c = input.shape[0], input.shape[1]
    if c % num_groups:
        raise RuntimeError(f"Expected number of channels in input to be divisible by "
                           f"num_groups, but got input of shape {_shape_str(input.shape)} and "
                           f"num_groups={num_groups}")
    x = input.reshape(n, num_groups, -1)
    mean = x.mean(2, keepdim=True)
    var = x.var(2, keepdim=True, correction=0)
    out = ((x - mean) * (var + eps).rsqrt()).reshape(input.shape)
    shape = (1, c) + (1,) * (input.dim() - 2)
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


# -- dropout -------------------------------------------------------------------------------


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> Tensor:
    """input / max(‖input‖_p along dim, eps)."""
    if isinstance(input, Tensor) and not input.dtype.is_floating_point:
        raise RuntimeError("linalg.vector_norm: Expected a floating point or complex tensor as "
                           f"input. Got {input.dtype.pt_name}")
    # PyTorch's composition: the vector norm (one node, its gradient: 0 where the norm is
    # 0), clamped, expanded, divided into the input
    norm = input.norm(p, dim, keepdim=True)
    return input / norm.clamp(min=eps).expand_as(input)
