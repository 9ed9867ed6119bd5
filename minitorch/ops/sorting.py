"""``sort``, ``argsort``, ``topk`` composed from comparisons and sums (no sort primitive).

The rank of element i along the dim is the number of elements that come before it
(strictly smaller -- larger when descending -- or equal with a smaller index: a stable
order); NaN counts as larger than every number, as in PyTorch.  The permutation follows from
the ranks by a one-hot sum, and the values are ``gather`` of the input, so the gradient flows
to the selected positions.  Cost: O(n^2) memory and time per sorted row (n = size of dim):
fine for the small rows real code sorts (top-k over logits of a few thousand), not for huge.
"""
from __future__ import annotations


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


def sort(input: Tensor, dim: int = -1, descending: bool = False, *, stable: bool = False):
    """Sorted values and their indices along ``dim`` (always stable here)."""
    return sort_result(*_sort(input, dim, descending))


def argsort(input: Tensor, dim: int = -1, descending: bool = False, *, stable: bool = False):
    return _sort(input, dim, descending)[1]


def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):
    """The k largest (or smallest) values along ``dim`` and their indices (always sorted)."""
    if input.dtype.name == "bool":
        raise RuntimeError("topk does not support bool dtypes on CPU")
    d = _wrap_dim(dim, input.dim())
    n = input.shape[d] if input.dim() else 1
    if not 0 <= k <= n:
        raise RuntimeError(f"selected index k out of range (k={k}, size of dim {dim} is {n})")
    values, indices = _sort(input, d, largest)
    if input.dim() == 0:
        return topk_result(values, indices)
    return topk_result(values.narrow(d, 0, k), indices.narrow(d, 0, k))
