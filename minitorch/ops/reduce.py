"""Reductions along dims (int or tuple, with keepdim): sum, prod, amax/amin, max/min with
indices, argmax/argmin, all/any, and the composites mean, var, std, logsumexp."""
from __future__ import annotations

from collections import namedtuple
from typing import Optional

from .. import _dtype as D
from ..autograd.function import Function
from ..tensor import Tensor, _wrap_dim

values_indices = namedtuple("values_indices", ["values", "indices"])


def norm_dims(dim, ndim: int) -> tuple:
    """``None`` -> all dims; int or sequence -> sorted tuple of non-negative dims."""
    if dim is None:
        return tuple(range(ndim))
    if isinstance(dim, int):
        return (_wrap_dim(dim, ndim),) if ndim else ()
    dims = []
    for d in dim:
        w = _wrap_dim(d, ndim)
        if w in dims:
            raise RuntimeError(f"dim {w} appears multiple times in the list of dims")
        dims.append(w)
    if not ndim:
        return ()
    return tuple(sorted(dims))


def _keep_shape(shape, dims):
    return tuple(1 if i in dims else s for i, s in enumerate(shape))


def expand_back(g: Tensor, shape: tuple, dims: tuple, keepdim: bool) -> Tensor:
    """Broadcast a reduced gradient back to the input's shape."""
    if not keepdim:
        g = g.reshape(_keep_shape(shape, dims))
    return g.expand(shape)


class Sum(Function):
    _raw_forward = True

    @staticmethod
    def forward(ctx, a, dims, keepdim, dtype):
        x = a._data
        be = a._device._be
        if dtype is not None:
            x = be.astype(x, dtype)
        elif x.dtype.kind in "biu":
            x = be.astype(x, D.int64)
        ctx.args = (x.shape, dims, keepdim)
        return be.reduce("sum", x, dims, keepdim)

    @staticmethod
    def backward(ctx, g):
        shape, dims, keepdim = ctx.args
        return expand_back(g, shape, dims, keepdim), None, None, None


def sum(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:  # noqa: A001
    return Sum.apply(input, norm_dims(dim, input._data.ndim), keepdim,
                     None if dtype is None else D.to_dtype(dtype))


def mean(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    if dtype is not None:
        input = input.to(D.to_dtype(dtype))
    if input._data.dtype.kind != "f":
        raise RuntimeError(f"mean(): could not infer output dtype. Input dtype must be either a "
                           f"floating point or complex dtype. Got: {input.dtype.pt_name}")
    dims = norm_dims(dim, input._data.ndim)
    n = 1
    for d in dims:
        n *= input._data.shape[d]
    s = Sum.apply(input, dims, keepdim, None)
    return s / n if n else s * float("nan")


class Prod(Function):
    _raw_forward = True

    @staticmethod
    def forward(ctx, a, dims, keepdim):
        x = a._data
        be = a._device._be
        if x.dtype.kind in "biu":
            x = be.astype(x, D.int64)
        ctx.save_for_backward(a)
        ctx.args = (dims, keepdim)
        return be.reduce("prod", x, dims, keepdim)

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        dims, keepdim = ctx.args
        shape = a._data.shape
        gk = expand_back(g, shape, dims, keepdim)
        # product of the *other* elements, exact when the input holds zeros:
        # no zero -> prod/a; one zero -> prod of the non-zeros at the zero, 0 elsewhere.
        is_zero = a == 0
        nz = is_zero.sum(dims, keepdim=True)
        safe = a.masked_fill(is_zero, 1.0)
        p_safe = safe.prod(dims, keepdim=True).expand(shape)
        others = D_where(nz == 0, p_safe / safe, D_where((nz == 1) & is_zero, p_safe, 0.0))
        return gk * others, None, None


def D_where(c, a, b):
    from .elementwise import where
    return where(c, a, b)


def prod(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    if dtype is not None:
        input = input.to(D.to_dtype(dtype))
    return Prod.apply(input, norm_dims(dim, input._data.ndim), keepdim)


class _Extreme(Function):
    """amax / amin: the gradient is shared evenly among tied extreme elements."""
    _raw_forward = True
    op = ""

    @classmethod
    def forward(cls, ctx, a, dims, keepdim):
        x = a._data
        if x.size == 0:
            raise IndexError(f"{cls.op}(): Expected reduction dim to be specified for input.numel() "
                             f"== 0. Specify the reduction dim with the 'dim' argument.")
        ctx.save_for_backward(a)
        ctx.args = (dims, keepdim)
        return a._device._be.reduce(cls.op, x, dims, keepdim)

    _save_output = True

    @staticmethod
    def backward(ctx, g):
        a, out = ctx.saved_tensors
        dims, keepdim = ctx.args
        shape = a._data.shape
        outk = expand_back(out, shape, dims, keepdim)
        mask = (a == outk).to(g.dtype)
        count = mask.sum(dims, keepdim=True)
        return expand_back(g, shape, dims, keepdim) * mask / count, None, None


class Amax(_Extreme):
    op = "max"


class Amin(_Extreme):
    op = "min"


def amax(input: Tensor, dim=(), keepdim: bool = False) -> Tensor:
    dims = norm_dims(None if dim == () else dim, input._data.ndim)
    return Amax.apply(input, dims, keepdim)


def amin(input: Tensor, dim=(), keepdim: bool = False) -> Tensor:
    dims = norm_dims(None if dim == () else dim, input._data.ndim)
    return Amin.apply(input, dims, keepdim)


class ArgReduce(Function):
    _raw_forward = True

    @staticmethod
    def forward(ctx, a, op, dim, keepdim):
        x = a._data
        if x.size == 0:
            raise IndexError(f"{op}(): Expected reduction dim to be specified for input.numel() == 0.")
        if x.dtype.kind == "b":
            x = a._device._be.astype(x, D.int32)
        return a._device._be.argreduce(op, x, dim, keepdim)

    @staticmethod
    def backward(ctx, g):
        return None, None, None, None


def argmax(input: Tensor, dim: Optional[int] = None, keepdim: bool = False) -> Tensor:
    d = None if dim is None else _wrap_dim(dim, input._data.ndim)
    if d is not None and input._data.ndim == 0:
        d = None
    return ArgReduce.apply(input, "argmax", d, keepdim)


def argmin(input: Tensor, dim: Optional[int] = None, keepdim: bool = False) -> Tensor:
    d = None if dim is None else _wrap_dim(dim, input._data.ndim)
    if d is not None and input._data.ndim == 0:
        d = None
    return ArgReduce.apply(input, "argmin", d, keepdim)


def _max_min(input, dim, keepdim, other, which):
    if isinstance(dim, Tensor) or other is not None:
        from .elementwise import maximum, minimum
        o = dim if isinstance(dim, Tensor) else other
        return maximum(input, o) if which == "max" else minimum(input, o)
    if dim is None:
        return amax(input) if which == "max" else amin(input)
    d = _wrap_dim(dim, input._data.ndim)
    if input._data.ndim == 0:
        return values_indices(input.clone(), argmax(input))
    if input._data.shape[d] == 0:
        raise IndexError(f"{which}(): Expected reduction dim {d} to have non-zero size.")
    idx = ArgReduce.apply(input, "arg" + which, d, True)
    vals = input.gather(d, idx)
    if not keepdim:
        vals = vals.squeeze(d)
        idx = idx.squeeze(d)
    return values_indices(vals, idx)


def max(input: Tensor, dim=None, keepdim: bool = False, *, other=None):  # noqa: A001
    """``max()`` -> 0-dim tensor; ``max(dim)`` -> (values, indices); ``max(other)`` -> maximum."""
    return _max_min(input, dim, keepdim, other, "max")


def min(input: Tensor, dim=None, keepdim: bool = False, *, other=None):  # noqa: A001
    return _max_min(input, dim, keepdim, other, "min")


class _BoolReduce(Function):
    _raw_forward = True

    @staticmethod
    def forward(ctx, a, op, dims, keepdim):
        x = a._data
        be = a._device._be
        if x.dtype.kind != "b":
            x = be.binary("ne", x, x.dtype.type(0))
        return be.reduce(op, x, dims, keepdim)

    @staticmethod
    def backward(ctx, g):
        return None, None, None, None


def all(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:  # noqa: A001
    return _BoolReduce.apply(input, "all", norm_dims(dim, input._data.ndim), keepdim)


def any(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:  # noqa: A001
    return _BoolReduce.apply(input, "any", norm_dims(dim, input._data.ndim), keepdim)


def var(input: Tensor, dim=None, unbiased=None, keepdim: bool = False, *,
        correction=None) -> Tensor:
    """Variance with Bessel's correction by default (``correction=1``), like torch.var."""
    if isinstance(unbiased, bool) and correction is None and not isinstance(dim, bool):
        correction = 1 if unbiased else 0
    elif isinstance(dim, bool):  # var(True) is var(unbiased=True)
        correction, dim = (1 if dim else 0), None
    if correction is None:
        correction = 1
    if input._data.dtype.kind != "f":
        raise RuntimeError("std and var only support floating point and complex dtypes")
    dims = norm_dims(dim, input._data.ndim)
    n = 1
    for d in dims:
        n *= input._data.shape[d]
    mu = mean(input, dims, keepdim=True)
    diff = input - mu
    ss = (diff * diff).sum(dims, keepdim=keepdim)
    denom = n - correction
    return ss / denom if denom > 0 else ss * float("nan")


def std(input: Tensor, dim=None, unbiased=None, keepdim: bool = False, *,
        correction=None) -> Tensor:
    return var(input, dim, unbiased, keepdim, correction=correction).sqrt()


def logsumexp(input: Tensor, dim, keepdim: bool = False) -> Tensor:
    """log(sum(exp(x))) computed stably: the max is subtracted first (and not differentiated)."""
    if input._data.dtype.kind != "f":
        input = input.to(D.get_default_dtype())
    dims = norm_dims(dim, input._data.ndim)
    m = amax(input.detach(), dims, keepdim=True) if input.numel() else input.detach().sum(
        dims, keepdim=True)
    m = m.masked_fill(m.isinf(), 0.0)
    out = (input - m).exp().sum(dims, keepdim=True).log() + m
    if not keepdim:
        out = out.reshape(tuple(s for i, s in enumerate(out._data.shape) if i not in dims))
    return out


def count_nonzero(input: Tensor, dim=None) -> Tensor:
    return (input != 0).sum(dim)
