"""``sort``, ``argsort``, ``topk`` composed from comparisons and sums (no sort primitive).

The rank of element i along the dim is the number of elements that come before it
(strictly smaller -- larger when descending -- or equal with a smaller index: a stable
order); NaN counts as larger than every number, as in PyTorch.  The permutation follows from
the ranks by a one-hot sum, and the values are ``gather`` of the input, so the gradient flows
to the selected positions.  Cost: O(n^2) memory and time per sorted row (n = size of dim):
fine for the small rows real code sorts (top-k over logits of a few thousand), not for huge.
"""
from __future__ import annotations


import numpy as np

from ..autograd.grad_mode import no_grad
from ..tensor import Tensor, _wrap_dim

from ..return_types import sort as sort_result, topk as topk_result  # noqa: E402


def _perm(x: Tensor, descending: bool) -> Tensor:
    """Indices that sort x (detached) along its last dim."""
    from ..creation import arange
    n = x.shape[-1]
    if x.dtype.is_floating_point:
        nan = x.isnan()
        x = x.masked_fill(nan, 0.0)
    else:
        x = x.to(__import__("minitorch").int64)
        nan = None
    a, b = x.unsqueeze(-1), x.unsqueeze(-2)          # a: element i, b: element j
    before = (b > a) if descending else (b < a)
    equal = b == a
    if nan is not None:
        na, nb = nan.unsqueeze(-1), nan.unsqueeze(-2)
        nan_first = (na.logical_not() & nb) if descending else (nb.logical_not() & na)
        before = (before & na.logical_not() & nb.logical_not()) | nan_first
        equal = (equal & (na == nb)) | (na & nb)
    idx = arange(n, device=x.device)
    earlier = idx.unsqueeze(-1) > idx.unsqueeze(-2)   # j < i
    rank = before.sum(-1) + (equal & earlier).sum(-1)  # (..., n): position of element i
    onehot = rank.unsqueeze(-2) == idx.unsqueeze(-1)  # (..., r, i)
    return (onehot.to(idx.dtype) * idx).sum(-1)


def _sort(input: Tensor, dim: int, descending: bool):
    if input.dim() == 0:
        from ..creation import zeros
        return input.clone(), zeros((), dtype=__import__("minitorch").int64,
                                    device=input.device)
    d = _wrap_dim(dim, input.dim())
    with no_grad():
        xm = input.detach().movedim(d, -1)
        perm = _perm(xm, descending).movedim(-1, d).contiguous()
    return input.gather(d, perm), perm


def _sort_args(name, args, kw):
    """PyTorch's two signatures: ``(input, dim=-1, descending=False)`` and, with ``stable``,
    ``(input, *, stable, dim=-1, descending=False)`` (then dim and descending are keywords);
    dim an int (not a bool), descending a bool.  Returns (dim, descending)."""
    vals = dict(zip(("dim", "descending"), args))
    ok = (len(args) <= 2 and set(kw) <= {"dim", "descending", "stable"}
          and not (set(vals) & set(kw)) and not ("stable" in kw and args))
    vals.update(kw)
    dim, desc = vals.get("dim", -1), vals.get("descending", False)
    stable = vals.get("stable")
    ok = (ok and isinstance(dim, (int, np.integer)) and not isinstance(dim, (bool, np.bool_))
          and isinstance(desc, (bool, np.bool_))
          and (stable is None and name == "sort" or isinstance(stable, (bool, np.bool_))
               or "stable" not in vals))  # (sort's stable is ``bool?``, argsort's ``bool``)
    if not ok:
        got = ", ".join(["Tensor"] + [type(a).__name__ for a in args]
                        + [f"{k}={type(v).__name__}" for k, v in kw.items()])
        raise TypeError(f"{name}() received an invalid combination of arguments - got ({got}), "
                        f"but expected one of:\n * (Tensor input, *, bool stable, int dim = -1, "
                        f"bool descending = False)\n * (Tensor input, int dim = -1, "
                        f"bool descending = False)")
    return int(dim), bool(desc)


_UNSET = object()


def _given(**kw):
    return {k: v for k, v in kw.items() if v is not _UNSET}


def sort(input: Tensor, *args, dim=_UNSET, descending=_UNSET, stable=_UNSET, **kwargs):
    """``sort(input, dim=-1, descending=False)`` or ``sort(input, *, stable, dim=-1,
    descending=False)``: sorted values and their indices along ``dim`` (always stable)."""
    kw = _given(dim=dim, descending=descending, stable=stable, **kwargs)
    return sort_result(*_sort(input, *_sort_args("sort", args, kw)))


def argsort(input: Tensor, *args, dim=_UNSET, descending=_UNSET, stable=_UNSET, **kwargs):
    """Indices that sort ``input`` along ``dim`` (the forms of ``sort``)."""
    kw = _given(dim=dim, descending=descending, stable=stable, **kwargs)
    return _sort(input, *_sort_args("argsort", args, kw))[1]


def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):
    """The k largest (or smallest) values along ``dim`` and their indices (always sorted)."""
    d = _wrap_dim(dim, input.dim())
    n = input.shape[d] if input.dim() else 1
    if not 0 <= k <= n:
        raise RuntimeError(f"selected index k out of range (k={k}, size of dim {dim} is {n})")
    if input.dtype.name == "bool":  # (after the dim and k checks, as PyTorch)
        raise RuntimeError("topk does not support bool dtypes on CPU")
    values, indices = _sort(input, d, largest)
    if input.dim() == 0:
        return topk_result(values, indices)
    return topk_result(values.narrow(d, 0, k), indices.narrow(d, 0, k))
