"""Copies (``clone``, ``contiguous``), ``Tensor.new_*`` factories and random in-place fills."""
from __future__ import annotations

from .. import _dtype as D
from ..autograd.function import Function
from ..tensor import Tensor


class Clone(Function):
    """A copy; ``keep_strides``: PyTorch's ``memory_format=torch.preserve_format``, where a
    dense, non-overlapping tensor keeps its strides (``x.t().clone()`` is still transposed in
    memory) and any other comes out C-contiguous."""
    _raw_forward = True

    @staticmethod
    def forward(ctx, a, keep_strides):
        be = a._device._be
        x = a._data
        dt = D._BY_NP[x.dtype]
        if keep_strides:
            out = empty_preserving(be, x)
            if out is not None:
                be.copy_(out, x)
                return out
        return be.astype(x, dt)

    @staticmethod
    def backward(ctx, g):
        return g, None


def empty_preserving(be, x):
    """An uninitialised array shaped like ``x`` with the same memory order (PyTorch's
    ``empty_like(x, memory_format=preserve_format)``) when x is dense, non-overlapping and
    not C-contiguous; None where a C-contiguous result is what PyTorch gives too."""
    if x.ndim < 2 or not x.size or x.flags.c_contiguous:
        return None
    order = _dense_order(x)
    if order is None:
        return None
    inv = [0] * len(order)  # allocate in that memory order, view it back
    for j, i in enumerate(order):
        inv[i] = j
    return be.permute(be.empty(tuple(x.shape[i] for i in order), D._BY_NP[x.dtype]),
                      tuple(inv))


def _dense_order(x):
    """The dims of ``x`` from outermost to innermost in memory if its elements fill one block
    with no gaps and no repeats (c10's is_non_overlapping_and_dense), else None.  Size-1 dims
    go just inside the dim whose stride they share, which reproduces their strides in the
    usual cases (``unsqueeze`` of a transposed tensor)."""
    it = x.itemsize
    st = [s // it for s in x.strides]
    shape = x.shape
    if any(s < 0 for s in st):
        return None
    need = 1
    for i in sorted((i for i in range(len(shape)) if shape[i] > 1), key=lambda i: st[i]):
        if st[i] != need:
            return None
        need *= shape[i]
    return sorted(range(len(shape)), key=lambda i: (-st[i], shape[i] == 1))


def clone(self: Tensor, *, memory_format=None) -> Tensor:
    if memory_format is None or memory_format is D.preserve_format:
        return Clone.apply(self, True)
    if memory_format is D.contiguous_format:
        return Clone.apply(self, False)
    raise RuntimeError(f"clone(): unsupported memory format {memory_format!r} (minitorch has "
                       "preserve_format and contiguous_format)")


def contiguous(self: Tensor, memory_format=None) -> Tensor:
    if memory_format is not None and memory_format is not D.contiguous_format:
        raise RuntimeError(f"contiguous(): unsupported memory format {memory_format!r}")
    return self if self.is_contiguous() else Clone.apply(self, False)


def new_factories() -> dict:
    from .. import creation as C

    def _kw(self, dtype, device):
        return dict(dtype=self.dtype if dtype is None else dtype,
                    device=self._device if device is None else device)

    def new_zeros(self, *args, size=None, dtype=None, device=None, requires_grad=False):
        return C.zeros(*args, size=size, requires_grad=requires_grad, **_kw(self, dtype, device))

    def new_ones(self, *args, size=None, dtype=None, device=None, requires_grad=False):
        return C.ones(*args, size=size, requires_grad=requires_grad, **_kw(self, dtype, device))

    def new_empty(self, *args, size=None, dtype=None, device=None, requires_grad=False):
        return C.empty(*args, size=size, requires_grad=requires_grad, **_kw(self, dtype, device))

    def new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False):
        return C.full(size, fill_value, requires_grad=requires_grad, **_kw(self, dtype, device))

    def new_tensor(self, data, *, dtype=None, device=None, requires_grad=False):
        return C.tensor(data, requires_grad=requires_grad, **_kw(self, dtype, device))

    def new(self, *args, device=None):
        """Legacy ``x.new(...)`` (old code's ``weight.new(n, b, h).zero_()``), dtype and device
        of ``self``: ``new(*sizes)`` or ``new(torch.Size)`` -> that shape (zeros here; PyTorch
        leaves the memory uninitialized), ``new(data)`` -> a tensor of the data, ``new()`` ->
        shape (0,)."""
        from ..tensor import Size
        kw = _kw(self, None, device)
        if not args:
            return C.zeros(0, **kw)
        if len(args) == 1 and isinstance(args[0], Size):
            return C.zeros(tuple(args[0]), **kw)
        if all(isinstance(a, int) and not isinstance(a, bool) for a in args):
            return C.zeros(args, **kw)
        if len(args) == 1:
            return C.tensor(args[0], **kw)
        raise TypeError(f"new(): expected sizes (ints), a torch.Size or one sequence of data, "
                        f"got {len(args)} arguments")

    return {"new_zeros": new_zeros, "new_ones": new_ones, "new_empty": new_empty,
            "new_full": new_full, "new_tensor": new_tensor, "new": new}


def random_inplace(kind: str):
    """``uniform_(a, b)``, ``normal_(mean, std)``, ``bernoulli_(p)``: refill in place."""
    from ..random import generator_for
    from .inplace import check_inplace, check_no_overlap, commit_inplace

    def method(self, a=None, b=None, *, generator=None):
        check_inplace(self)
        check_no_overlap(self._data)
        be = self._device._be
        if self._data.dtype.kind not in "fV":
            raise RuntimeError(f"{kind}_ expects a floating point tensor, got {self.dtype}")
        g = generator_for(self._device, generator)
        shape, dt = self._data.shape, self.dtype
        if kind == "uniform":
            lo, hi = (0.0 if a is None else a), (1.0 if b is None else b)
            if lo > hi:
                raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found "
                                   f"from={lo} > to={hi}")
            data = be.uniform(shape, float(lo), float(hi), dt, g)
        elif kind == "normal":
            mu, sigma = (0.0 if a is None else a), (1.0 if b is None else b)
            if sigma < 0:
                raise RuntimeError(f"normal expects std >= 0.0, but found std {sigma}")
            data = be.normal(shape, float(mu), float(sigma), dt, g)
        else:
            prob = 0.5 if a is None else a
            probs = prob._data if isinstance(prob, Tensor) else be.full(shape, prob, dt)
            data = be.bernoulli(be.contiguous(be.expand(probs, shape)), g)
        be.copy_(self._data, data)
        return commit_inplace(self, None)
    method.__name__ = kind + "_"
    return method


# -- composites PyTorch users reach for as Tensor methods ----------------------------------

def softmax(self: Tensor, dim: int, dtype=None) -> Tensor:
    from ..nn.functional.activation import softmax as _softmax  # the fused Function lives with nn
    return _softmax(self, dim, dtype=dtype)


def log_softmax(self: Tensor, dim: int, dtype=None) -> Tensor:
    from ..nn.functional.activation import log_softmax as _log_softmax
    return _log_softmax(self, dim, dtype=dtype)


def erf(self: Tensor) -> Tensor:
    from ..nn.functional.activation import erf as _erf
    return _erf(self)


def type_as(self: Tensor, other: Tensor) -> Tensor:
    return self.to(other.dtype)


def allclose(self: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08,
             equal_nan: bool = False) -> bool:
    if not isinstance(other, Tensor):
        raise TypeError(f"allclose(): argument 'other' must be Tensor, not {type(other).__name__}")
    return bool(isclose(self, other, rtol, atol, equal_nan).all().item())


def isclose(self: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08,
            equal_nan: bool = False) -> Tensor:
    for arg, t in (("input", self), ("other", other)):
        if not isinstance(t, Tensor):
            raise TypeError(f"isclose(): argument '{arg}' must be Tensor, not {type(t).__name__}")
    if self.dtype != other.dtype:
        raise RuntimeError(f"{self.dtype.pt_name} did not match {other.dtype.pt_name}")
    a, b = self.double(), other.double()
    close = ((a - b).abs() <= atol + rtol * b.abs()) & a.isfinite() & b.isfinite()
    close = close | (a == b)  # infinities only of the same sign (x is not close to inf)
    if equal_nan:
        close = close | (a.isnan() & b.isnan())
    return close


def equal(self: Tensor, other: Tensor) -> bool:
    return self.shape == other.shape and bool((self == other).all().item())


def norm(self: Tensor, p="fro", dim=None, keepdim: bool = False, dtype=None) -> Tensor:
    """Vector p-norm over ``dim`` (all elements by default); p may be inf / -inf / 0, or
    ``"fro"`` (the default: the 2-norm of the elements, over at most two dims)."""
    x = self if dtype is None else self.to(dtype)
    if p == "fro":
        if dim is not None and not isinstance(dim, int) and len(dim) > 2:
            raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple. Got "
                               f"{' '.join(str(d) for d in dim)}")
        p = 2
    elif isinstance(p, str):
        raise NotImplementedError(f"norm(p={p!r}) is not supported by minitorch (only "
                                  f"p='fro' and numeric p; 'nuc' needs an SVD)")
    from .reduce import vector_norm  # one node, PyTorch's gradient (0 where the norm is 0)
    return vector_norm(x, p, dim, keepdim)


def masked_select(self: Tensor, mask: Tensor) -> Tensor:
    from .elementwise import broadcast_shapes
    shape = broadcast_shapes(self._data.shape, mask._data.shape)
    return self.expand(shape)[mask.expand(shape)]
