"""``torch.cumsum`` / ``torch.cumprod``: inclusive scans along a dim.

Composed from ``narrow``, ``cat`` and one elementwise op per step of a Hillis-Steele scan:
after step k every element holds the sum (product) of the 2^k elements ending at it, so
log2(n) steps cover the dim.  Being Tensor ops, the scans run on every device and their
gradients (and double backward) come for free; the product's gradient needs no division,
so zeros are fine.  The additions happen in tree order rather than PyTorch's left to right,
so float results can differ from PyTorch's in the last bits.

Integer and bool inputs scan in int64, as in PyTorch; ``dtype=`` casts the input first.
"""
from __future__ import annotations

from .. import _dtype as D
from ..tensor import Tensor, _wrap_dim


def _scan(input: Tensor, dim: int, dtype, op: str) -> Tensor:
    from .shape import cat
    d = _wrap_dim(dim, max(input.dim(), 1))  # (PyTorch checks the dim before the dtype)
    x = input
    if dtype is not None:
        from ..autograd.function import is_grad_enabled
        dt = D.to_dtype(dtype)
        if dt == D.bool and input.dim() > 0 and input.numel() > 0:
            raise NotImplementedError(f'"cum{op}_out_cpu" not implemented for \'Bool\'')
        if input._requires_grad and not dt.is_floating_point and is_grad_enabled():
            raise RuntimeError(f"Autograd not support dtype: {dt.pt_name}")  # (as sum's)
        x = x.to(dtype)
    elif not x.dtype.is_floating_point:
        x = x.to(D.int64)
    if x.dim() == 0:
        return x.clone()
    if op == "sum" and x.dtype.is_floating_point:
        x = x + 0.0  # PyTorch's sum starts from +0.0: a leading -0.0 comes out as 0.0
    n = x.shape[d]
    step = 1
    out = x
    while step < n:
        head = out.narrow(d, 0, step)
        rest = out.narrow(d, step, n - step)
        prev = out.narrow(d, 0, n - step)
        out = cat([head, rest + prev if op == "sum" else rest * prev], d)
        step *= 2
    return out if out is not input else input.clone()


def cumsum(input: Tensor, dim: int, *, dtype=None) -> Tensor:
    """Inclusive cumulative sum of ``input`` along ``dim``."""
    return _scan(input, dim, dtype, "sum")


def cumprod(input: Tensor, dim: int, *, dtype=None) -> Tensor:
    """Inclusive cumulative product of ``input`` along ``dim``."""
    return _scan(input, dim, dtype, "prod")
