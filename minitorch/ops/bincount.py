"""``torch.bincount``: how often each non-negative integer occurs (optionally weighted).

A ``scatter_add`` of ones (or the weights) into zeros, so it runs on every device.  As in
PyTorch the result is int64 without weights; with weights it is float32 for float32
weights and float64 otherwise.  Not differentiable (PyTorch's has no gradient either).
"""
from __future__ import annotations

from .. import _dtype as D
from ..autograd.grad_mode import no_grad
from ..tensor import Tensor


def bincount(input: Tensor, weights: Tensor = None, minlength: int = 0) -> Tensor:
    from ..creation import ones, zeros
    if input.dtype.is_floating_point or input.dtype == D.bool:
        raise NotImplementedError(f'"bincount_cpu" not implemented for '
                                  f"'{input.dtype.pt_name}'")
    if minlength < 0:
        raise RuntimeError("minlength should be >= 0")
    if input.dim() != 1 or (input.numel() and int(input.min()) < 0):
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    if weights is not None and (weights.dim() != 1 or weights.shape[0] != input.shape[0]):
        raise RuntimeError("weights should be 1-d and have the same length as input")
    n = max(int(input.max()) + 1 if input.numel() else 0, minlength)
    idx = input.to(D.int64)
    with no_grad():
        if weights is None:
            src = ones(input.shape[0], dtype=D.int64, device=input.device)
        else:
            dt = D.float32 if weights.dtype == D.float32 else D.float64
            src = weights.to(dt)
        out = zeros(n, dtype=src.dtype, device=input.device)
        return out.scatter_add(0, idx, src) if input.numel() else out
