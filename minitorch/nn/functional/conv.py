"""Convolution (``conv1d``, ``conv2d``, ``unfold``, ``fold``), pooling (``max_pool1d/2d``,
``avg_pool1d/2d``, ``adaptive_avg_pool1d/2d``) and constant ``pad``.

Three fused Functions sit underneath (``ops/conv.py``: im2col, col2im, max-pool); everything
else is composed from Tensor ops, so autograd (and double backward) comes for free.  1-D
forms are the 2-D ones with a unit height.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Optional, Sequence, Union

import numpy as np

from ...amp import autocast_mode as _ac  # issue 18: autocast's one check
from ...creation import tensor as _tensor, zeros as _zeros
from ...ops.conv import Col2im, Im2col, Im2colT, MaxPool2d, conv_out_size, pool_out_size
from ...ops.shape import cat
from ...tensor import Tensor, _shape_str

__all__ = ["conv1d", "conv2d", "unfold", "fold", "max_pool1d", "max_pool2d", "avg_pool1d",
           "avg_pool2d", "adaptive_avg_pool1d", "adaptive_avg_pool2d", "pad"]

IntOr2 = Union[int, Sequence[int]]


def _pair(v, name: str = "value") -> tuple:
    if isinstance(v, Tensor):
        v = v.tolist()
    if isinstance(v, (list, tuple)):
        if len(v) == 1:
            return (int(v[0]),) * 2
        if len(v) != 2:
            raise RuntimeError(f"expected {name} to be a single integer value or a list of 2 "
                               f"values, but got {name}={list(v)}")
        return (int(v[0]), int(v[1]))
    return (int(v), int(v))


def _single(v, name: str = "value") -> int:
    if isinstance(v, (list, tuple)):
        if len(v) != 1:
            raise RuntimeError(f"expected {name} to be a single integer value or a list of 1 "
                               f"values to match the convolution dimensions, but got "
                               f"{name}={list(v)}")
        return int(v[0])
    return int(v)


def _const(values: np.ndarray, like: Tensor) -> Tensor:
    """A constant (no grad) tensor of ``like``'s dtype and device."""
    return _tensor(values, dtype=like.dtype, device=like._device)


def _pad_end(x: Tensor, extra_h: int, extra_w: int) -> Tensor:
    """Zero rows at the bottom / columns at the right of (N, C, H, W) (differentiable)."""
    n, c, h, w = x.shape
    if extra_h:
        x = cat([x, _zeros(n, c, extra_h, w, dtype=x.dtype, device=x._device)], 2)
    if extra_w:
        x = cat([x, _zeros(n, c, x.shape[2], extra_w, dtype=x.dtype, device=x._device)], 3)
    return x


def _batched(input: Tensor, name: str, msg: Optional[str] = None):
    """(N, C, H, W) view of a 3-D (unbatched) or 4-D input, and whether to squeeze back."""
    if input.ndim == 4:
        return input, False
    if input.ndim == 3:
        return input.unsqueeze(0), True
    raise RuntimeError(msg or f"Expected 3D (unbatched) or 4D (batched) input to {name}, but "
                              f"got input of size: {_shape_str(input.shape)}")


# -- convolution ---------------------------------------------------------------------------
def conv2d(input: Tensor, weight: Tensor, bias: Optional[Tensor] = None, stride: IntOr2 = 1,
           padding: Union[IntOr2, str] = 0, dilation: IntOr2 = 1, groups: int = 1) -> Tensor:
    """2-D cross-correlation of (N, C, H, W) with ``weight`` (O, C/groups, kh, kw): im2col
    and one (batched, per group) matmul.  ``padding`` may be 'valid' or 'same' (stride 1;
    an odd total padding puts the extra row/column at the bottom/right, as PyTorch does)."""
    if _ac.active:  # autocast (minitorch/amp): runs in its 16-bit dtype
        input, weight, bias = _ac.cast_lower(input, weight, bias)
    x, unbatched = _batched(input, "conv2d")
    if weight.ndim != 4:
        raise RuntimeError(f"Expected 4-dimensional weight for 4-dimensional input "
                           f"{_shape_str(x.shape)}, but got {weight.ndim}-dimensional weight of "
                           f"size {_shape_str(weight.shape)} instead")
    stride, dilation = _pair(stride, "stride"), _pair(dilation, "dilation")
    if min(stride) <= 0:
        raise RuntimeError("non-positive stride is not supported")
    if min(dilation) <= 0:
        raise RuntimeError("non-positive dilation is not supported")
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    o, cg, kh, kw = weight.shape
    n, c, h, w = x.shape
    if o % groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} "
                           f"at dimension 0, but got weight of size [{_shape_str(weight.shape)}] "
                           f"instead")
    if c != cg * groups:
        raise RuntimeError(f"Given groups={groups}, weight of size {_shape_str(weight.shape)}, "
                           f"expected input{_shape_str(x.shape)} to have {cg * groups} channels, "
                           f"but got {c} channels instead")
    if x.dtype != weight.dtype:
        raise RuntimeError(f"expected scalar type {x.dtype.pt_name} but found {weight.dtype.pt_name}")
    if bias is not None:
        if bias.ndim != 1 or bias.shape[0] != o:
            raise RuntimeError(f"Given weight of size {_shape_str(weight.shape)}, expected bias "
                               f"to be 1-dimensional with {o} elements, but got bias of size "
                               f"{_shape_str(bias.shape)} instead")
        if bias.dtype != x.dtype:
            raise RuntimeError(f"Input type ({x.dtype.c_name}) and bias type "
                               f"({bias.dtype.c_name}) should be the same")
    if isinstance(padding, str):
        if padding == "valid":
            pad = (0, 0)
        elif padding == "same":
            if stride != (1, 1):
                raise RuntimeError("padding='same' is not supported for strided convolutions")
            total = (dilation[0] * (kh - 1), dilation[1] * (kw - 1))
            pad = (total[0] // 2, total[1] // 2)
            x = _pad_end(x, total[0] - 2 * pad[0], total[1] - 2 * pad[1])
            h, w = x.shape[2], x.shape[3]
        else:
            raise RuntimeError(f"Invalid padding string: '{padding}'")
    else:
        pad = _pair(padding, "padding")
        if min(pad) < 0:
            raise RuntimeError("negative padding is not supported")
    eff = (dilation[0] * (kh - 1) + 1, dilation[1] * (kw - 1) + 1)
    if h + 2 * pad[0] < eff[0] or w + 2 * pad[1] < eff[1]:
        raise RuntimeError(f"Calculated padded input size per channel: ({h + 2 * pad[0]} x "
                           f"{w + 2 * pad[1]}). Kernel size: ({eff[0]} x {eff[1]}). Kernel size "
                           f"can't be greater than actual input size")
    oh = conv_out_size(h, kh, stride[0], pad[0], dilation[0])
    ow = conv_out_size(w, kw, stride[1], pad[1], dilation[1])
    k = cg * kh * kw
    # batch and positions side by side, (G, K, N*L): the product is then one large GEMM
    # per group, forward and backward, rather than N small ones (one per sample)
    if groups == 1:
        cols = Im2colT.apply(x, (kh, kw), stride, pad, dilation)  # (K, N*L), no transpose
        out = weight.reshape(o, k).matmul(cols)                   # (O, N*L)
    else:
        cols = Im2col.apply(x, (kh, kw), stride, pad, dilation)   # (N, G*K, L)
        cols = cols.reshape(n, groups, k, oh * ow).permute(1, 2, 0, 3).reshape(groups, k, -1)
        out = weight.reshape(groups, o // groups, k).matmul(cols)  # (G, O/G, N*L)
    out = out.reshape(o, n, oh, ow).transpose(0, 1)
    if bias is not None:
        out = out + bias.reshape(1, o, 1, 1)
    return out.squeeze(0) if unbatched else out


def conv1d(input: Tensor, weight: Tensor, bias: Optional[Tensor] = None, stride: IntOr2 = 1,
           padding: Union[IntOr2, str] = 0, dilation: IntOr2 = 1, groups: int = 1) -> Tensor:
    """1-D cross-correlation of (N, C, L) with ``weight`` (O, C/groups, k): ``conv2d`` on a
    unit height."""
    if _ac.active:  # autocast (minitorch/amp): runs in its 16-bit dtype
        input, weight, bias = _ac.cast_lower(input, weight, bias)
    if input.ndim not in (2, 3):
        raise RuntimeError(f"Expected 2D (unbatched) or 3D (batched) input to conv1d, but got "
                           f"input of size: {_shape_str(input.shape)}")
    if weight.ndim != 3:
        raise RuntimeError(f"Expected 3-dimensional weight for 3-dimensional input, but got "
                           f"{weight.ndim}-dimensional weight of size "
                           f"{_shape_str(weight.shape)} instead")
    s, d = _single(stride, "stride"), _single(dilation, "dilation")
    p = padding if isinstance(padding, str) else (0, _single(padding, "padding"))
    out = conv2d(input.unsqueeze(-2), weight.unsqueeze(2), bias, (1, s), p, (1, d), groups)
    return out.squeeze(-2)


def unfold(input: Tensor, kernel_size: IntOr2, dilation: IntOr2 = 1, padding: IntOr2 = 0,
           stride: IntOr2 = 1) -> Tensor:
    """im2col: sliding blocks of (N, C, H, W) as columns, (N, C*kh*kw, L)."""
    if input.ndim not in (3, 4):
        raise RuntimeError(f"Input Error: Only 3D or 4D input Tensors are supported (got "
                           f"{input.ndim}D)")
    x, unbatched = _batched(input, "unfold")
    k, d, p, s = (_pair(kernel_size), _pair(dilation), _pair(padding), _pair(stride))
    _check_window(k, s, p, d)
    oh = conv_out_size(x.shape[2], k[0], s[0], p[0], d[0])
    ow = conv_out_size(x.shape[3], k[1], s[1], p[1], d[1])
    if oh < 1 or ow < 1:
        raise RuntimeError(f"Given input with spatial size ({x.shape[2]}, {x.shape[3]}), "
                           f"kernel_size={k}, dilation={d}, padding={p}, calculated shape of "
                           f"the array of sliding blocks as ({oh}, {ow}), but its components "
                           f"must be at least one.")
    out = Im2col.apply(x, k, s, p, d)
    return out.squeeze(0) if unbatched else out


def fold(input: Tensor, output_size: IntOr2, kernel_size: IntOr2, dilation: IntOr2 = 1,
         padding: IntOr2 = 0, stride: IntOr2 = 1) -> Tensor:
    """col2im: sums columns (N, C*kh*kw, L) back into (N, C, H, W); overlaps add up."""
    if input.ndim not in (2, 3):
        raise RuntimeError(f"Input Error: Only unbatched (2D) or batched (3D) input Tensors "
                           f"are supported (got {input.ndim}D)")
    x = input.unsqueeze(0) if input.ndim == 2 else input
    size, k, d, p, s = (_pair(output_size), _pair(kernel_size), _pair(dilation),
                        _pair(padding), _pair(stride))
    _check_window(k, s, p, d)
    n, ck, L = x.shape
    if ck % (k[0] * k[1]):
        raise RuntimeError(f"Expected size of input's dimension 1 to be divisible by the "
                           f"product of kernel_size, but got input.size(1)={ck} and "
                           f"kernel_size={k}")
    oh = conv_out_size(size[0], k[0], s[0], p[0], d[0])
    ow = conv_out_size(size[1], k[1], s[1], p[1], d[1])
    if oh * ow != L:
        raise RuntimeError(f"Given output_size={size}, kernel_size={k}, dilation={d}, "
                           f"padding={p}, stride={s}, expected size of input's dimension 2 to "
                           f"match the calculated number of sliding blocks {oh} * {ow} = "
                           f"{oh * ow}, but got input.size(2)={L}.")
    out = Col2im.apply(x, (n, ck // (k[0] * k[1])) + size, k, s, p, d)
    return out.squeeze(0) if input.ndim == 2 else out


def _check_window(k, s, p, d) -> None:
    if min(k) <= 0:
        raise RuntimeError(f"kernel size should be greater than zero, but got kH: {k[0]} kW: "
                           f"{k[1]}")
    if min(s) <= 0:
        raise RuntimeError(f"stride should be greater than zero, but got dH: {s[0]} dW: {s[1]}")
    if min(d) <= 0:
        raise RuntimeError(f"dilation should be greater than zero, but got dilationH: {d[0]} "
                           f"dilationW: {d[1]}")
    if min(p) < 0:
        raise RuntimeError("negative padding is not supported")


# -- pooling -------------------------------------------------------------------------------
def _pool_args(input, kernel_size, stride, padding, dilation, ceil_mode):
    """Normalized pooling arguments, PyTorch's checks, and the output size."""
    if input.ndim not in (3, 4) or input.numel() == 0:
        raise RuntimeError("non-empty 3D or 4D (batch mode) tensor expected for input")
    k = _pair(kernel_size, "kernel_size")
    s = k if stride is None or (isinstance(stride, (list, tuple)) and len(stride) == 0) \
        else _pair(stride, "stride")
    p, d = _pair(padding, "padding"), _pair(dilation, "dilation")
    if min(s) == 0:
        raise RuntimeError("stride should not be zero")
    _check_window(k, s, p, d)
    for i in range(2):
        if p[i] * 2 > d[i] * (k[i] - 1) + 1:
            raise RuntimeError(f"pad should be at most half of effective kernel size, but got "
                               f"pad={p[i]}, kernel_size={k[i]} and dilation={d[i]}")
    h, w = input.shape[-2], input.shape[-1]
    oh = pool_out_size(h, k[0], s[0], p[0], d[0], ceil_mode)
    ow = pool_out_size(w, k[1], s[1], p[1], d[1], ceil_mode)
    if oh < 1 or ow < 1:
        c = input.shape[-3]
        raise RuntimeError(f"Given input size: ({c}x{h}x{w}). Calculated output size: "
                           f"({c}x{oh}x{ow}). Output size is too small")
    return k, s, p, d, oh, ow


def max_pool2d(input: Tensor, kernel_size: IntOr2, stride: Optional[IntOr2] = None,
               padding: IntOr2 = 0, dilation: IntOr2 = 1, ceil_mode: bool = False,
               return_indices: bool = False):
    """Max over (dilated) windows; padding counts as -inf.  ``return_indices`` also returns
    the flat position ``h*W + w`` of each maximum in its input plane (int64)."""
    k, s, p, d, _, _ = _pool_args(input, kernel_size, stride, padding, dilation, ceil_mode)
    x, unbatched = _batched(input, "max_pool2d")
    vals, idx = MaxPool2d.apply(x, k, s, p, d, bool(ceil_mode))
    if unbatched:
        vals, idx = vals.squeeze(0), idx.squeeze(0)
    return (vals, idx) if return_indices else vals


def max_pool1d(input: Tensor, kernel_size: IntOr2, stride: Optional[IntOr2] = None,
               padding: IntOr2 = 0, dilation: IntOr2 = 1, ceil_mode: bool = False,
               return_indices: bool = False):
    """``max_pool2d`` on a unit height: (N, C, L) or (C, L)."""
    if input.ndim not in (2, 3):
        raise RuntimeError(f"max_pool1d() Expected 2D or 3D input tensor, but got "
                           f"{_shape_str(input.shape)}")
    st = None if stride is None or stride == [] or stride == () else (1, _single(stride))
    out = max_pool2d(input.unsqueeze(-2), (1, _single(kernel_size)), st,
                     (0, _single(padding)), (1, _single(dilation)), ceil_mode, True)
    vals, idx = out[0].squeeze(-2), out[1].squeeze(-2)
    return (vals, idx) if return_indices else vals


def avg_pool2d(input: Tensor, kernel_size: IntOr2, stride: Optional[IntOr2] = None,
               padding: IntOr2 = 0, ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: Optional[int] = None) -> Tensor:
    """Mean over windows: im2col, a sum over the kernel positions, and a division by each
    window's size -- the size clipped to the padded input (``count_include_pad``) or to the
    input itself, exactly as PyTorch counts, or ``divisor_override``."""
    k, s, p, _, oh, ow = _pool_args(input, kernel_size, stride, padding, 1, ceil_mode)
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("divisor must be not zero")
    x, unbatched = _batched(input, "avg_pool2d")
    n, c, h, w = x.shape
    # ceil mode: the last windows may run past the padded input; give them zero rows/columns
    x = _pad_end(x, max(0, (oh - 1) * s[0] + k[0] - h - 2 * p[0]),
                 max(0, (ow - 1) * s[1] + k[1] - w - 2 * p[1]))
    cols = Im2col.apply(x, k, s, p, (1, 1))
    total = cols.reshape(n, c, k[0] * k[1], oh, ow).sum(2)
    if divisor_override is not None:
        out = total / divisor_override
    else:
        div = np.outer(_window_counts(h, k[0], s[0], p[0], oh, count_include_pad),
                       _window_counts(w, k[1], s[1], p[1], ow, count_include_pad))
        out = total / _const(div, total)
    return out.squeeze(0) if unbatched else out


def _window_counts(size, k, s, p, out, include_pad) -> np.ndarray:
    """Per output position along one dim: how many positions PyTorch divides by."""
    start = np.arange(out) * s - p
    end = np.minimum(start + k, size + p)
    if include_pad:
        return (end - start).astype(np.float64)
    return (np.minimum(end, size) - np.maximum(start, 0)).astype(np.float64)


def avg_pool1d(input: Tensor, kernel_size: IntOr2, stride: Optional[IntOr2] = None,
               padding: IntOr2 = 0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """``avg_pool2d`` on a unit height: (N, C, L) or (C, L)."""
    if input.ndim not in (2, 3):
        raise RuntimeError(f"avg_pool1d() Expected 2D or 3D input tensor, but got "
                           f"{_shape_str(input.shape)}")
    st = None if stride is None or stride == [] or stride == () else (1, _single(stride))
    return avg_pool2d(input.unsqueeze(-2), (1, _single(kernel_size)), st,
                      (0, _single(padding)), ceil_mode, count_include_pad).squeeze(-2)


@lru_cache(maxsize=64)
def _adaptive_matrix(size: int, out: int) -> np.ndarray:
    """(out, size) averaging matrix: row i averages input[start_i:end_i] with PyTorch's
    start = floor(i*size/out), end = ceil((i+1)*size/out)."""
    m = np.zeros((out, size))
    for i in range(out):
        a, b = (i * size) // out, -((-(i + 1) * size) // out)
        m[i, a:b] = 1.0 / (b - a)
    m.flags.writeable = False  # cached: shared between calls
    return m


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    """Average pooling to a fixed output size (None keeps that input dim).  The windows of
    rows and of columns are independent, so the pool is two small matmuls:
    ``A_h @ x @ A_wᵀ`` with the averaging matrices of ``_adaptive_matrix``."""
    if input.ndim not in (3, 4):
        raise RuntimeError(f"adaptive_avg_pool2d(): Expected 3D or 4D tensor, but got "
                           f"{_shape_str(input.shape)}")
    h, w = input.shape[-2], input.shape[-1]
    if isinstance(output_size, (list, tuple)):
        oh, ow = (h if output_size[0] is None else int(output_size[0]),
                  w if output_size[1] is None else int(output_size[1]))
    else:
        oh = ow = int(output_size)
    if oh < 0 or ow < 0 or (min(oh, ow) == 0 and input.numel()):
        raise RuntimeError(f"adaptive_avg_pool2d: elements of output_size must be greater than "
                           f"or equal to 0 but received {{{oh}, {ow}}}")
    if (oh, ow) == (1, 1):
        return input.mean((-2, -1), keepdim=True)
    out = input
    if oh != h:
        out = _const(_adaptive_matrix(h, oh), input).matmul(out)
    if ow != w:
        out = out.matmul(_const(_adaptive_matrix(w, ow).T, input))
    return out if out is not input else input * 1.0


def adaptive_avg_pool1d(input: Tensor, output_size) -> Tensor:
    """``adaptive_avg_pool2d`` on a unit height: (N, C, L) or (C, L)."""
    if input.ndim not in (2, 3):
        raise RuntimeError(f"adaptive_avg_pool1d(): Expected 2D or 3D tensor, but got "
                           f"{_shape_str(input.shape)}")
    size = output_size[0] if isinstance(output_size, (list, tuple)) else output_size
    return adaptive_avg_pool2d(input.unsqueeze(-2), (1, size)).squeeze(-2)


# -- normalization -------------------------------------------------------------------------


def pad(input: Tensor, pad: Sequence[int], mode: str = "constant", value: float = 0.0) -> Tensor:
    """Constant padding: ``pad`` = (left, right) for the last dim, then the one before ..."""
    if mode != "constant":
        raise NotImplementedError(f"pad mode {mode!r} is not supported (only 'constant')")
    if len(pad) % 2 or len(pad) // 2 > input.ndim:
        raise RuntimeError("Padding length must be divisible by 2 and at most twice the number "
                           "of dimensions of the input")
    shape = list(input.shape)
    key = [slice(None)] * input.ndim
    for i in range(len(pad) // 2):
        d = input.ndim - 1 - i
        lo, hi = pad[2 * i], pad[2 * i + 1]
        if lo < 0 or hi < 0:  # negative padding crops
            input = input.narrow(d, max(-lo, 0), input.shape[d] - max(-lo, 0) - max(-hi, 0))
            lo, hi = max(lo, 0), max(hi, 0)
        shape[d] = input.shape[d] + lo + hi
        key[d] = slice(lo, lo + input.shape[d])
    out = input.new_full(shape, value)
    out[tuple(key)] = input
    return out
