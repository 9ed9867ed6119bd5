"""``conv_transpose1d`` / ``conv_transpose2d``: the gradient of a convolution with respect
to its input, used as a layer (DCGAN generators, U-Net decoders).

Each input pixel scatters ``weight[c_in]`` (a ``C_out x kh x kw`` stamp) into the output at
``stride`` steps: as matrices, ``cols = weight^T @ x`` makes one stamp column per input
pixel, ``fold`` (col2im) adds the overlapping stamps into place, and the result is cropped
by ``padding`` (``output_padding`` extends the far edge).
Both are Tensor ops, so the gradients (an unfold and a matmul) come with them.  Output
size ``(H - 1) * stride - 2 * padding + dilation * (kh - 1) + output_padding + 1``.
"""
from __future__ import annotations

from typing import Optional

from ...ops.shape import cat
from ...tensor import Tensor, _shape_str
from .conv import _pair, fold

__all__ = ["conv_transpose1d", "conv_transpose2d"]


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Optional[Tensor] = None, stride=1,
                     padding=0, output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """Transposed 2-D convolution of (N, C_in, H, W) (or (C_in, H, W)) with weight
    (C_in, C_out / groups, kh, kw)."""
    if input.dim() not in (3, 4):
        raise RuntimeError(f"Expected 3D (unbatched) or 4D (batched) input to "
                           f"conv_transpose2d, but got input of size: {_shape_str(input.shape)}")
    x = input.unsqueeze(0) if input.dim() == 3 else input
    s, p, op, d = _pair(stride), _pair(padding), _pair(output_padding), _pair(dilation)
    if weight.dim() != 4:
        raise RuntimeError(f"weight should have 4 dimensions, got {weight.dim()}")
    cin, cout_g, kh, kw = weight.shape
    n, c, h, w = x.shape
    if c != cin:
        raise RuntimeError(f"Given transposed=1, weight of size {_shape_str(weight.shape)}, "
                           f"expected input{_shape_str(x.shape)} to have {cin} channels, but "
                           f"got {c} channels instead")
    if cin % groups:
        raise RuntimeError("in_channels must be divisible by groups")
    for i in range(2):
        if not (op[i] < s[i] or op[i] < d[i]):
            raise RuntimeError("output padding must be smaller than either stride or dilation, "
                               f"but got output_padding_height: {op[0]} output_padding_width: "
                               f"{op[1]} stride_height: {s[0]} stride_width: {s[1]} "
                               f"dilation_height: {d[0]} dilation_width: {d[1]}")
    oh = (h - 1) * s[0] - 2 * p[0] + d[0] * (kh - 1) + op[0] + 1
    ow = (w - 1) * s[1] - 2 * p[1] + d[1] * (kw - 1) + op[1] + 1
    if oh <= 0 or ow <= 0:
        raise RuntimeError(f"Given input size per channel: ({h} x {w}). Calculated output size "
                           f"per channel: ({oh} x {ow}). Output size is too small")
    fh, fw = (h - 1) * s[0] + d[0] * (kh - 1) + 1, (w - 1) * s[1] + d[1] * (kw - 1) + 1
    cin_g = cin // groups
    outs = []
    for g in range(groups):
        xg = x[:, g * cin_g:(g + 1) * cin_g].reshape(n, cin_g, h * w)
        wg = weight[g * cin_g:(g + 1) * cin_g].reshape(cin_g, cout_g * kh * kw)
        cols = wg.t().matmul(xg)  # (N, C_out/g * kh * kw, H * W)
        outs.append(fold(cols, (fh, fw), (kh, kw), d, 0, s))  # every stamp, uncropped
    y = outs[0] if groups == 1 else cat(outs, 1)
    # crop `padding` at the near edges; output_padding grows the far edge, into zeros where
    # it passes the stamps
    y = y[:, :, p[0]:p[0] + oh, p[1]:p[1] + ow]
    if y.shape[2] < oh or y.shape[3] < ow:
        from .conv import pad
        y = pad(y, (0, ow - y.shape[3], 0, oh - y.shape[2]))
    if bias is not None:
        y = y + bias.reshape(1, -1, 1, 1)
    return y.squeeze(0) if input.dim() == 3 else y


def conv_transpose1d(input: Tensor, weight: Tensor, bias: Optional[Tensor] = None, stride=1,
                     padding=0, output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """Transposed 1-D convolution of (N, C_in, L) (or (C_in, L)) with weight
    (C_in, C_out / groups, k): ``conv_transpose2d`` on a height-1 image."""
    if input.dim() not in (2, 3):
        raise RuntimeError(f"Expected 2D (unbatched) or 3D (batched) input to "
                           f"conv_transpose1d, but got input of size: {_shape_str(input.shape)}")
    one = lambda v: (1, v[0] if isinstance(v, (tuple, list)) else v)  # noqa: E731
    out = conv_transpose2d(input.unsqueeze(-2), weight.unsqueeze(-2), bias, one(stride),
                           (0, padding[0] if isinstance(padding, (tuple, list)) else padding),
                           (0, output_padding[0] if isinstance(output_padding, (tuple, list))
                            else output_padding), groups, one(dilation))
    return out.squeeze(-2)
