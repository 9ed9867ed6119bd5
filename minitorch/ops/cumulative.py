"""``torch.cumsum`` / ``torch.cumprod``: inclusive scans along a dim.

Composed from ``narrow``, ``cat`` and one elementwise op per step of a Hillis-Steele scan:
after step k every element holds the sum (product) of the 2^k elements ending at it, so
log2(n) steps cover the dim.  Being Tensor ops, the scans run on every device; cumsum's
gradient (and double backward) comes from them.  cumprod is one node (``Cumprod``) with
PyTorch's gradient formulas, so its NaN/inf patterns are PyTorch's too (a division by the
input where there is no zero, the exact products around zeros), and an exact
division-free form under create_graph.  The additions happen in tree order rather than
PyTorch's left to right, so float results can differ from PyTorch's in the last bits.

Integer and bool inputs scan in int64, as in PyTorch; ``dtype=`` casts the input first.
"""
from __future__ import annotations

from .. import _dtype as D
from ..autograd.function import Function
from ..tensor import Tensor, _wrap_dim


def _scan(input: Tensor, dim: int, dtype, op: str) -> Tensor:
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
    if op == "prod":
        return Cumprod.apply(x, d)
    return _hillis_steele(x, d, op, input)


def _hillis_steele(x: Tensor, d: int, op: str, input=None) -> Tensor:
    from .shape import cat
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


class Cumprod(Function):
    """The product scan (forward: the Hillis-Steele steps above) with PyTorch's gradient
    (its cumprod_backward, step for step, in Tensor ops so that it differentiates again):
    with no zero in the input, reversed_cumsum(out·g) / x; with zeros, the exact
    derivative before the first zero (the same formula on the zero-free prefix) and at it
    (the product before it times the sum of g times the products after it, up to the next
    zero); 0 beyond."""

    @staticmethod
    def forward(ctx, x, d):
        out = _hillis_steele(x, d, "prod")
        ctx.save_for_backward(x, out)
        ctx.d = d
        return out

    @staticmethod
    def backward(ctx, g):
        from .elementwise import where
        from .shape import cat
        from ..autograd.function import is_grad_enabled
        x, out = ctx.saved_tensors
        d = ctx.d
        n = x.shape[d]
        if x.numel() <= 1 or n == 1:
            return g, None
        edge = (*x.shape[:d], 1, *x.shape[d + 1:])
        prior = cat([x.new_ones(edge), out.narrow(d, 0, n - 1)], d)  # product of those before
        if is_grad_enabled():
            # create_graph: the exact derivative without divisions or masks, so that it
            # differentiates again (PyTorch switches formulas here too): dx_j = prod(x[:j])
            # * R_j, with R_j = g_j + x_{j+1} R_{j+1} (a reversed affine scan)
            a = cat([x.narrow(d, 1, n - 1), x.new_zeros(edge)], d)
            return prior * _affine_rscan(a, g, d), None

        def rcumsum(t):
            return t.flip(d).cumsum(d).flip(d)
        w = out * g
        is_zero = x == 0
        cs = is_zero.to(D.int64).cumsum(d)
        before = cs == 0                      # [0, z1)
        first = (cs == 1) & is_zero           # z1
        mid = (cs == 1) & ~is_zero            # (z1, z2)
        at_prefix = rcumsum(where(before, w, 0.0)) / where(before, x, 1.0)
        after = where(mid, x, 1.0).cumprod(d) * where(cs == 1, g, 0.0)
        at_zero = after.sum(d, keepdim=True) * prior
        with_zeros = where(before, at_prefix, where(first, at_zero, 0.0))
        no_zero = rcumsum(w) / where(is_zero, 1.0, x)
        return where(is_zero.any(), with_zeros, no_zero), None


def _affine_rscan(a: Tensor, b: Tensor, d: int) -> Tensor:
    """R with R_j = b_j + a_j R_{j+1} (R past the end = 0) along ``d``: a Hillis-Steele
    scan of affine maps on the reversed sequence (composing f_i after f_k gives
    (a_i a_k, b_i + a_i b_k))."""
    from .shape import cat
    A, B = a.flip(d), b.flip(d)
    n = A.shape[d]
    step = 1
    while step < n:
        A_hi, B_hi = A.narrow(d, step, n - step), B.narrow(d, step, n - step)
        A_lo, B_lo = A.narrow(d, 0, n - step), B.narrow(d, 0, n - step)
        A = cat([A.narrow(d, 0, step), A_hi * A_lo], d)
        B = cat([B.narrow(d, 0, step), B_hi + A_hi * B_lo], d)
        step *= 2
    return B.flip(d)


def cumsum(input: Tensor, dim: int, *, dtype=None) -> Tensor:
    """Inclusive cumulative sum of ``input`` along ``dim``."""
    return _scan(input, dim, dtype, "sum")


def cumprod(input: Tensor, dim: int, *, dtype=None) -> Tensor:
    """Inclusive cumulative product of ``input`` along ``dim``."""
    return _scan(input, dim, dtype, "prod")
