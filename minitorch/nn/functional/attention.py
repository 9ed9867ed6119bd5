"""``F.scaled_dot_product_attention``: PyTorch's semantics, on one fused backend primitive.

Without dropout (and without a float mask that needs its own gradient) the whole attention
is one graph node, ``ScaledDotProductAttention``, on the backend's ``attention`` primitive
(kernels/attention.cu on cuda/cudasim: FlashAttention's tiling and online softmax, the
L x S scores never stored) and ``attention_backward`` (the probabilities recomputed from the
saved log-sum-exp).  When a graph of the gradient is being built (``create_graph=True``) the
backward is written in Tensor ops instead, so it can be differentiated again.  With
``dropout_p > 0`` the attention is composed from unfused ops in PyTorch's math-path order:
``softmax(q @ k^T * scale + mask)``, dropout (from the device's generator), then ``@ v``.
"""
from __future__ import annotations

import math
from typing import Optional

from ...amp import autocast_mode as _ac  # issue 18: autocast's one check
from ... import _dtype as D
from ...autograd.function import Function, is_grad_enabled
from ...tensor import Tensor, _make
from .activation import softmax
from .noise import dropout

__all__ = ["scaled_dot_product_attention"]


def _wrap(raw, like: Tensor) -> Tensor:
    return _make(raw, like._device, False, None, 0, None)


def _broadcast_shapes(*shapes):
    nd = max(len(s) for s in shapes)
    out = []
    for i in range(nd):
        dims = {s[i - nd + len(s)] for s in shapes if i - nd + len(s) >= 0} - {1}
        if len(dims) > 1:
            raise RuntimeError(f"The size of tensor a must match the size of tensor b at "
                               f"non-singleton dimension {i}: shapes {list(map(list, shapes))}")
        out.append(dims.pop() if dims else 1)
    return tuple(out)


def _repeat_heads(x, r):
    """``x.repeat_interleave(r, dim=-3)``."""
    sh = tuple(x.shape)
    return x.unsqueeze(-3).expand(sh[:-2] + (r,) + sh[-2:]).reshape(
        sh[:-3] + (sh[-3] * r,) + sh[-2:])


def _safe_softmax(s):
    """softmax over the last dim, 0 (not NaN) on rows whose every score is -inf (PyTorch)."""
    p = softmax(s, -1)
    return p.masked_fill((s == float("-inf")).all(-1, keepdim=True), 0.0)


def _scores(q, k, mask, causal, scale):
    """The masked, scaled scores in Tensor ops (double backward and the dropout path)."""
    s = (q @ k.transpose(-2, -1)) * scale
    if mask is not None:
        s = s + mask
    if causal:
        L, S = q.shape[-2], k.shape[-2]
        keep = q.new_ones((L, S), dtype=D.bool).tril()
        s = s.masked_fill(keep.logical_not(), float("-inf"))
    return s


class ScaledDotProductAttention(Function):
    """Fused attention of (B, L, E) / (B, S, E) / (B, S, Ev): one backend call forward
    (``attention``: out and log-sum-exp), one backward (``attention_backward``)."""

    _raw_forward = True

    @staticmethod
    def forward(ctx, q, k, v, mask, causal, scale):
        be = q._device._be
        out, lse = be.attention(q._data, k._data, v._data,
                                None if mask is None else mask._data, causal, scale)
        if any(ctx.needs_input_grad):
            ctx.save_for_backward(q, k, v)
            ctx.args = (_wrap(out, q), _wrap(lse, q), mask, causal, scale)
        return out

    @staticmethod
    def backward(ctx, g):
        q, k, v = ctx.saved_tensors
        out, lse, mask, causal, scale = ctx.args
        if is_grad_enabled():  # create_graph: the same formulas in Tensor ops
            p = _safe_softmax(_scores(q, k, mask, causal, scale))
            dv = p.transpose(-2, -1) @ g
            dp = g @ v.transpose(-2, -1)
            ds = p * (dp - (dp * p).sum(-1, keepdim=True)) * scale
            return ds @ k, ds.transpose(-2, -1) @ q, dv, None, None, None
        be = q._device._be
        dq, dk, dv = be.attention_backward(q._data, k._data, v._data, out._data, lse._data,
                                           be.contiguous(g._data),
                                           None if mask is None else mask._data,
                                           causal, scale)
        return _wrap(dq, q), _wrap(dk, q), _wrap(dv, q), None, None, None


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor,
                                 attn_mask: Optional[Tensor] = None, dropout_p: float = 0.0,
                                 is_causal: bool = False, scale: Optional[float] = None,
                                 enable_gqa: bool = False) -> Tensor:
    """``softmax(query @ key^T * scale + mask) @ value`` over the last two dims, as
    ``torch.nn.functional.scaled_dot_product_attention``: query (..., L, E), key (..., S, E),
    value (..., S, Ev) -> (..., L, Ev).  A bool ``attn_mask`` marks with True the scores
    that take part; a float one is added.  ``scale`` defaults to ``1/sqrt(E)``."""
    if _ac.active:  # autocast (minitorch/amp): runs in its 16-bit dtype
        query, key, value, attn_mask = _ac.cast_lower(query, key, value, attn_mask)
    for name, t in (("query", query), ("key", key), ("value", value)):
        if not isinstance(t, Tensor):
            raise TypeError(f"scaled_dot_product_attention(): argument '{name}' must be "
                            f"Tensor, not {type(t).__name__}")
    if not (query.dtype == key.dtype == value.dtype):
        raise RuntimeError("Expected query, key, and value to have the same dtype, but got "
                           f"query.dtype: {query.dtype} key.dtype: {key.dtype} and "
                           f"value.dtype: {value.dtype} instead.")
    if not query.dtype.is_floating_point:
        raise RuntimeError(f"scaled_dot_product_attention: expected a floating point dtype, "
                           f"got {query.dtype}")
    if query.device != key.device or query.device != value.device:
        raise RuntimeError("Expected query, key, and value to have the same device type, "
                           f"but got query.device: {query.device} key.device: {key.device} "
                           f"and value.device: {value.device} instead.")
    if query.ndim < 2 or key.ndim < 2 or value.ndim < 2:
        raise RuntimeError("scaled_dot_product_attention: expected query, key and value to "
                           f"have at least 2 dimensions, got query {tuple(query.shape)}, key "
                           f"{tuple(key.shape)}, value {tuple(value.shape)}")
    if attn_mask is not None and is_causal:
        raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be "
                           "set when is_causal=True")
    E, L, S = query.shape[-1], query.shape[-2], key.shape[-2]
    if key.shape[-1] != E:
        raise RuntimeError(f"scaled_dot_product_attention: the last dimension of query "
                           f"({E}) and key ({key.shape[-1]}) must match: query "
                           f"{tuple(query.shape)}, key {tuple(key.shape)}")
    if value.shape[-2] != S:
        raise RuntimeError(f"scaled_dot_product_attention: key and value must have the same "
                           f"sequence length: key {tuple(key.shape)}, value "
                           f"{tuple(value.shape)}")
    if enable_gqa and query.ndim >= 3 and key.ndim >= 3:
        hq, hk, hv = query.shape[-3], key.shape[-3], value.shape[-3]
        if hq % hk or hq % hv:
            raise RuntimeError(f"scaled_dot_product_attention: number of heads in key/value "
                               f"({hk}/{hv}) must divide the number of heads in query ({hq})")
        if hk != hq:
            key = _repeat_heads(key, hq // hk)
        if hv != hq:
            value = _repeat_heads(value, hq // hv)
    scale = 1.0 / math.sqrt(E) if scale is None else float(scale)
    batch = _broadcast_shapes(tuple(query.shape[:-2]), tuple(key.shape[:-2]),
                              tuple(value.shape[:-2]))
    mask = None
    if attn_mask is not None:
        if attn_mask.dtype == D.bool:
            mask = query.new_zeros(tuple(attn_mask.shape)).masked_fill(
                attn_mask.logical_not(), float("-inf"))
        elif attn_mask.dtype != query.dtype:
            raise RuntimeError(f"Expected attn_mask dtype to be bool or float or to match "
                               f"query dtype, but got attn_mask.dtype: {attn_mask.dtype} and "
                               f"query.dtype: {query.dtype} instead.")
        else:
            mask = attn_mask
        try:
            full = _broadcast_shapes(tuple(mask.shape), batch + (L, S))
        except RuntimeError:
            full = None
        if full != batch + (L, S):
            raise RuntimeError(f"scaled_dot_product_attention: attn_mask of shape "
                               f"{tuple(attn_mask.shape)} cannot be broadcast to the scores' "
                               f"shape {batch + (L, S)}")
    if dropout_p > 0.0 or (mask is not None and mask.requires_grad):
        s = _scores(query, key, mask, is_causal, scale)
        p = dropout(_safe_softmax(s), dropout_p, training=True)
        return p @ value
    nb = 1
    for d in batch:
        nb *= d
    q, k, v = (t if t.ndim == 3 and t.shape[0] == nb else
               (t if tuple(t.shape[:-2]) == batch else t.expand(batch + tuple(t.shape[-2:])))
               .reshape((nb,) + tuple(t.shape[-2:])) for t in (query, key, value))
    m = None
    if mask is not None:
        mb = tuple(mask.shape[:-2])
        if all(d == 1 for d in mb):
            m = mask.expand(mask.shape[:-2] + (L, S)).reshape(1, L, S)
        else:
            m = mask.expand(batch + (L, S)).reshape(nb, L, S)
        m = m.contiguous().detach()
    out = ScaledDotProductAttention.apply(q, k, v, m, bool(is_causal), scale)
    shape = batch + (L, value.shape[-1])
    return out if tuple(out.shape) == shape else out.reshape(shape)
