"""``F.linear``: y = x Wᵀ + b (the Modules ``Linear`` and ``Identity`` are in nn/linear.py).

``F.linear`` on a batch of row vectors is one fused built-in Function (``Addmm``): one
matmul and one broadcast add in forward, three small Tensor-op products in backward --
one graph node where ``x @ w.t() + b`` would record three.
"""
from __future__ import annotations

from typing import Optional

from ... import _dtype as D
from ...amp import autocast_mode as _ac  # issue 18: autocast's one check
from ...autograd.function import Function
from ...ops.linalg import MatMul, _check_pair, _mm_error, _rows
from ...ops.reduce import Sum
from ...tensor import Tensor

__all__ = ["linear", "Addmm", "MmTN"]


class Addmm(Function):
    """``x @ w.T + b`` for 2-D ``x`` (N, in), ``w`` (out, in), ``b`` (out,) or None."""

    _raw_forward = True

    @staticmethod
    def forward(ctx, x, w, b):
        be = x._device._be
        nig = ctx.needs_input_grad
        ctx.save_for_backward(x if nig[1] else None, w if nig[0] else None)
        xd, wd = x._data, w._data
        if b is not None and xd.dtype.itemsize == 2 and xd.dtype.kind in "fV" \
                and x._device.type == "cpu":
            # float16/bfloat16 on cpu: product and bias summed in float32, rounded once (as
            # PyTorch's addmm).  The kernel devices round the Tensor Core product first,
            # then add (docs/design.md §7, "Float results")
            f32 = D.float32
            out = be.matmul(be.astype(xd, f32), be.permute(be.astype(wd, f32), (1, 0)))
            return be.astype(be.binary("add", out, be.astype(b._data, f32)), x.dtype)
        out = be.matmul(xd, be.permute(wd, (1, 0)))
        if b is not None:
            out = be.binary("add", out, b._data)
        return out

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        nig = ctx.needs_input_grad
        # shapes were checked in forward: call the matmul Functions directly
        gx = MatMul.apply(g, w) if nig[0] else None
        gw = MmTN.apply(g, x) if nig[1] else None
        gb = Sum.apply(g, (0,), False, None) if len(nig) > 2 and nig[2] else None
        return gx, gw, gb


class MmTN(Function):
    """``a.T @ b`` for 2-D ``a``, ``b``: Linear's weight gradient, without a transpose node."""

    _raw_forward = True

    @staticmethod
    def forward(ctx, a, b):
        be = a._device._be
        ctx.save_for_backward(b if ctx.needs_input_grad[0] else None,
                              a if ctx.needs_input_grad[1] else None)
        return be.matmul(be.permute(a._data, (1, 0)), b._data)

    @staticmethod
    def backward(ctx, g):
        b, a = ctx.saved_tensors
        ga = MatMul.apply(b, g.t()) if ctx.needs_input_grad[0] else None
        gb = MatMul.apply(a, g) if ctx.needs_input_grad[1] else None
        return ga, gb


def linear(input: Tensor, weight: Tensor, bias: Optional[Tensor] = None) -> Tensor:
    """``input @ weight.T + bias``: input (*, in), weight (out, in), bias (out,)."""
    if _ac.active:  # autocast (minitorch/amp): runs in its 16-bit dtype
        input, weight, bias = _ac.cast_lower(input, weight, bias)
    if isinstance(input, Tensor) and isinstance(weight, Tensor) and \
            input._data.dtype != weight._data.dtype:
        raise RuntimeError(f"mat1 and mat2 must have the same dtype, but got "
                           f"{input.dtype.pt_name} and {weight.dtype.pt_name}")
    _check_pair(input, weight, "linear")
    sx, sw = input._data.shape, weight._data.shape
    if bias is not None:
        _check_pair(input, bias, "linear")
        if weight._data.ndim == 2 and bias._data.ndim == 1 and bias._data.shape[0] not in (
                1, sw[0]):
            raise RuntimeError(
                f"The expanded size of the tensor ({sw[0]}) must match the existing size "
                f"({bias._data.shape[0]}) at non-singleton dimension 1.  Target sizes: "
                f"[{_rows(sx)}, {sw[0]}].  Tensor sizes: [{bias._data.shape[0]}]")
    if weight._data.ndim != 2:
        if weight._data.ndim == 1 and sx[-1] == sw[0]:  # weight (in,): a dot product
            out = input.matmul(weight)
            return out if bias is None else out + bias
        raise RuntimeError(f"linear(): weight must be 1-D or 2-D, got {weight._data.ndim}-D")
    if sx[-1] != sw[1]:
        raise _mm_error(sx, (sw[1], sw[0]))
    if input._data.dtype.kind == "b" and input._data.size and weight._data.size:
        raise NotImplementedError("\"addmm_impl_cpu_\" not implemented for 'Bool'")
    if (input._data.dtype.kind == "b" and bias is not None and not sx[-1]
            and _rows(sx) * sw[0]):  # PyTorch's addmm: beta/alpha (Long) into a bool result
        raise RuntimeError("result type Long can't be cast to the desired output type Bool")
    if bias is not None and bias._data.shape not in ((sw[0],), (1,), ()):
        out = Addmm.apply(input.reshape(_rows(sx), sx[-1]), weight, None)
        return out.reshape(*sx[:-1], sw[0]) + bias
    if input._data.ndim == 2:
        return Addmm.apply(input, weight, bias)
    if input._data.ndim == 1:
        return Addmm.apply(input.unsqueeze(0), weight, bias).squeeze(0)
    out = Addmm.apply(input.reshape(_rows(sx), sx[-1]), weight, bias)
    return out.reshape(*sx[:-1], sw[0])
