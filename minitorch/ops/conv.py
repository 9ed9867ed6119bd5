"""Sliding-window Functions: ``Im2col`` (``F.unfold``), ``Col2im`` (``F.fold``) and
``MaxPool2d``; the layers in ``nn`` (conv, avg/max pooling) are built on these three.

Convolution is a matrix product once the windows are unfolded:

    cols = im2col(x)                     # (N, C*kh*kw, L), one column per output position
    out  = weight.reshape(O, C*kh*kw) @ cols  ->  (N, O, L)  ->  (N, O, oh, ow)

The two Functions are each other's adjoint, so each one's backward is the other one:
the gradient of ``im2col`` scatters-adds columns back into an image (``col2im``), and the
gradient of ``col2im`` gathers windows again (``im2col``).  Both backwards are Function
calls, so gradients of gradients work (``create_graph=True``).

``MaxPool2d`` keeps the flat position of each window's maximum; its backward adds the
incoming gradient at those positions with ``scatter_add`` (a Tensor op, hence again
differentiable: the second derivative is a ``gather``).
"""
from __future__ import annotations

from .. import _dtype as D
from ..autograd.function import Function
from ..tensor import Tensor, _make

__all__ = ["Im2col", "Im2colT", "Col2im", "MaxPool2d", "conv_out_size", "pool_out_size"]

Pair = tuple  # (h, w) of ints


def conv_out_size(size: int, k: int, s: int, p: int, d: int) -> int:
    """Output length of a convolution (floor mode) along one dim."""
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


def pool_out_size(size: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    """PyTorch's ``pooling_output_shape``: with ``ceil_mode`` the division rounds up, but
    the last window must start inside the input or the left padding."""
    out = (size + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


class Im2col(Function):
    """(N, C, H, W) -> (N, C*kh*kw, oh*ow): every sliding window as a column."""

    _raw_forward = True

    @staticmethod
    def forward(ctx, x: Tensor, kernel: Pair, stride: Pair, padding: Pair, dilation: Pair):
        be = x._device._be
        ctx.args = (x._data.shape, kernel, stride, padding, dilation)
        return be.im2col(be.contiguous(x._data), kernel, stride, padding, dilation)

    @staticmethod
    def backward(ctx, g):
        shape, kernel, stride, padding, dilation = ctx.args
        return Col2im.apply(g, shape, kernel, stride, padding, dilation), None, None, None, None


class Im2colT(Function):
    """(N, C, H, W) -> (C*kh*kw, N*oh*ow): ``Im2col`` with the batch folded into the columns
    (the backend's ``im2col_t``), what conv2d's single GEMM takes without a transposing
    copy.  Its backward is ``Col2im`` of the gradient viewed as (N, C*kh*kw, L)."""

    _raw_forward = True

    @staticmethod
    def forward(ctx, x: Tensor, kernel: Pair, stride: Pair, padding: Pair, dilation: Pair):
        be = x._device._be
        ctx.args = (x._data.shape, kernel, stride, padding, dilation)
        return be.im2col_t(be.contiguous(x._data), kernel, stride, padding, dilation)

    @staticmethod
    def backward(ctx, g):
        shape, kernel, stride, padding, dilation = ctx.args
        k = g.shape[0]
        g3 = g.reshape(k, shape[0], -1).transpose(0, 1)  # a view: (N, C*kh*kw, L)
        return Col2im.apply(g3, shape, kernel, stride, padding, dilation), None, None, None, None


class Col2im(Function):
    """(N, C*kh*kw, oh*ow) -> (N, C, H, W): columns added back at their window positions."""

    _raw_forward = True

    @staticmethod
    def forward(ctx, cols: Tensor, input_shape: tuple, kernel: Pair, stride: Pair,
                padding: Pair, dilation: Pair):
        be = cols._device._be
        ctx.args = (kernel, stride, padding, dilation)
        return be.col2im(cols._data, tuple(input_shape), kernel, stride,  # any strides
                         padding, dilation)

    @staticmethod
    def backward(ctx, g):
        return (Im2col.apply(g, *ctx.args),) + (None,) * 5


class MaxPool2d(Function):
    """Max over windows of (N, C, H, W); outputs (values, int64 flat indices)."""

    _raw_forward = True

    @staticmethod
    def forward(ctx, x: Tensor, kernel: Pair, stride: Pair, padding: Pair, dilation: Pair,
                ceil_mode: bool):
        be = x._device._be
        vals, idx = be.max_pool2d(be.contiguous(x._data), kernel, stride, padding, dilation,
                                  ceil_mode)
        # windows that cannot overlap pick distinct inputs: the backward is then a write
        disjoint = all(s >= d * (k - 1) + 1 for k, s, d in zip(kernel, stride, dilation))
        ctx.args = (x._data.shape, idx, disjoint)
        return vals, idx

    @staticmethod
    def backward(ctx, g, _g_indices=None):
        (n, c, h, w), idx, disjoint = ctx.args
        index = _make(idx, g._device, False, None, 0, None).reshape(n, c, -1)
        if disjoint and n * c * h * w:
            # distinct indices: an indexed write into zeros (no scatter-add accumulation)
            be = g._device._be
            plane = be.arange(0, n * c * h * w, h * w, D.int64)
            plane = _make(be.reshape(plane, (n * c, 1)), g._device, False, None, 0, None)
            flat = (index.reshape(n * c, -1) + plane).reshape(-1)
            gx = g.new_zeros((n * c * h * w,))
            gx[flat] = g.reshape(-1)
            return (gx.reshape(n, c, h, w),) + (None,) * 5
        gx = g.new_zeros((n, c, h * w)).scatter_add(2, index, g.reshape(n, c, -1))
        return (gx.reshape(n, c, h, w),) + (None,) * 5
