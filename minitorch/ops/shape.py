"""Shape ops.  reshape/view/permute/expand/slicing return *views* (they share memory and
the version counter with their base, like PyTorch's); cat, flip and repeat copy."""
from __future__ import annotations

from typing import Sequence

from .. import _dtype as D
from ..autograd.function import Function, _state
from ..tensor import Tensor, _shape_str, _wrap_dim
from .elementwise import _device_error, sum_to


def _shape_arg(shape) -> tuple:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    out = []
    for s in shape:
        if isinstance(s, Tensor):
            s = int(s.item())
        if not isinstance(s, int):
            raise TypeError(f"shape must be a sequence of ints, got {type(s).__name__}")
        out.append(s)
    return tuple(out)


def infer_shape(shape: tuple, numel: int) -> tuple:
    """Resolve one -1 and check the element count, with PyTorch's messages."""
    neg = [i for i, s in enumerate(shape) if s == -1]
    if len(neg) > 1:
        raise RuntimeError("only one dimension can be inferred")
    for s in shape:
        if s < -1:
            raise RuntimeError(f"invalid shape dimension {s}")
    known = 1
    for s in shape:
        if s != -1:
            known *= s
    if neg:
        if known == 0 or numel % known:
            raise RuntimeError(f"shape '{_shape_str(shape)}' is invalid for input of size {numel}")
        shape = shape[:neg[0]] + (numel // known,) + shape[neg[0] + 1:]
    elif known != numel:
        raise RuntimeError(f"shape '{_shape_str(shape)}' is invalid for input of size {numel}")
    return shape


class Reshape(Function):
    _raw_forward = True

    @staticmethod
    def forward(ctx, a, shape, must_view):
        x = a._data
        ctx.in_shape = x.shape
        be = a._device._be
        v = be.reshape(x, shape)
        if v is None:
            if must_view:
                raise RuntimeError("view size is not compatible with input tensor's size and stride "
                                   "(at least one dimension spans across two contiguous subspaces)."
                                   " Use .reshape(...) instead.")
            return be.reshape(be.contiguous(x), shape)
        ctx.replay = (_replay_reshape, shape)
        return v

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.in_shape), None, None


def _replay_reshape(t, shape):
    return t.reshape(shape)


def reshape(self: Tensor, *args, shape=None) -> Tensor:
    shape = infer_shape(_shape_arg(args if shape is None else (shape,)), self._data.size)
    if shape == self._data.shape:
        return _alias(self)
    return Reshape.apply(self, shape, False)


def view(self: Tensor, *args, size=None, dtype=None) -> Tensor:
    if dtype is not None or (len(args) == 1 and isinstance(args[0], D.dtype)):
        raise RuntimeError("view(dtype) is not supported by minitorch; use .to(dtype)")
    shape = infer_shape(_shape_arg(args if size is None else (size,)), self._data.size)
    return Reshape.apply(self, shape, True)


def _alias(self: Tensor) -> Tensor:
    return Reshape.apply(self, self._data.shape, True)


class Permute(Function):
    _raw_forward = True

    @staticmethod
    def forward(ctx, a, dims):
        ctx.dims = dims
        ctx.replay = (_replay_permute, dims)
        return a._device._be.permute(a._data, dims)

    @staticmethod
    def backward(ctx, g):
        inv = [0] * len(ctx.dims)
        for i, d in enumerate(ctx.dims):
            inv[d] = i
        return g.permute(tuple(inv)), None


def _replay_permute(t, dims):
    return t.permute(dims)


def permute(self: Tensor, *args, dims=None) -> Tensor:
    if not args and dims is None:
        raise TypeError('permute() missing 1 required positional arguments: "dims"')
    dims = _shape_arg(args if dims is None else (dims,))
    n = self._data.ndim
    if len(dims) != n:
        raise RuntimeError(f"permute(sparse_coo): number of dimensions in the tensor input does not "
                           f"match the length of the desired ordering of dimensions i.e. input.dim()"
                           f" = {n} is not equal to len(dims) = {len(dims)}")
    wd = tuple(_wrap_dim(d, n) for d in dims)
    if len(set(wd)) != n:
        raise RuntimeError("permute(): duplicate dims are not allowed.")
    return Permute.apply(self, wd)


def transpose(self: Tensor, dim0: int, dim1: int) -> Tensor:
    n = self._data.ndim
    if n == 0:
        return _alias(self)
    d0, d1 = _wrap_dim(dim0, n), _wrap_dim(dim1, n)
    dims = list(range(n))
    dims[d0], dims[d1] = dims[d1], dims[d0]
    return Permute.apply(self, tuple(dims))


def t(self: Tensor) -> Tensor:
    if self._data.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is "
                           f"{self._data.ndim}D")
    if self._data.ndim < 2:
        return _alias(self)
    return Permute.apply(self, (1, 0))


def T(self: Tensor) -> Tensor:
    n = self._data.ndim
    return Permute.apply(self, tuple(range(n - 1, -1, -1))) if n >= 2 else _alias(self)


def mT(self: Tensor) -> Tensor:
    if self._data.ndim == 0:  # PyTorch: the identity on 0-d (deprecated there, a warning)
        return _alias(self)
    if self._data.ndim < 2:
        raise RuntimeError("tensor.mT is only supported on matrices or batches of matrices. Got "
                           f"{self._data.ndim}-D tensor.")
    return transpose(self, -2, -1)


class Expand(Function):
    _raw_forward = True

    @staticmethod
    def forward(ctx, a, shape):
        ctx.in_shape = a._data.shape
        ctx.replay = (_replay_expand, shape)
        return a._device._be.expand(a._data, shape)

    @staticmethod
    def backward(ctx, g):
        return sum_to(g, ctx.in_shape), None


def _replay_expand(t, shape):
    return t.expand(shape)


def expand(self: Tensor, *args, size=None, implicit: bool = False) -> Tensor:
    sizes = _shape_arg(args if size is None else (size,))
    old = self._data.shape
    if len(sizes) < len(old):
        raise RuntimeError(f"expand({self.type_name()}{{{_shape_str(old)}}}, size={_shape_str(sizes)}):"
                           f" the number of sizes provided ({len(sizes)}) must be greater or equal "
                           f"to the number of dimensions in the tensor ({len(old)})")
    lead = len(sizes) - len(old)
    out = []
    for i, s in enumerate(sizes):
        if i < lead:
            if s < 0:
                raise RuntimeError(f"The expanded size of the tensor ({s}) isn't allowed in a "
                                   f"leading, non-existing dimension {i}")
            out.append(s)
            continue
        o = old[i - lead]
        if s == -1:
            out.append(o)
        elif o == s or o == 1:
            out.append(s)
        else:
            raise RuntimeError(f"The expanded size of the tensor ({s}) must match the existing size "
                               f"({o}) at non-singleton dimension {i}.  Target sizes: "
                               f"{_shape_str(sizes)}.  Tensor sizes: {_shape_str(old)}")
    out = tuple(out)
    if out == old:
        return _alias(self)
    return Expand.apply(self, out)


def expand_as(self: Tensor, other: Tensor) -> Tensor:
    return expand(self, other._data.shape)


def broadcast_to(self: Tensor, size) -> Tensor:
    return expand(self, tuple(size))


def broadcast_tensors(*tensors):
    from .elementwise import broadcast_shapes
    shape = ()
    for t in tensors:
        shape = broadcast_shapes(shape, t._data.shape)
    return tuple(expand(t, shape) for t in tensors)


def squeeze(self: Tensor, dim=None) -> Tensor:
    shape = self._data.shape
    if dim is None:
        new = tuple(s for s in shape if s != 1)
    else:
        dims = (dim,) if isinstance(dim, int) else tuple(dim)
        dims = _unique_dims(dims, len(shape))
        new = tuple(s for i, s in enumerate(shape) if not (i in dims and s == 1))
    return reshape(self, new) if new != shape else _alias(self)


def unsqueeze(self: Tensor, dim: int) -> Tensor:
    n = self._data.ndim + 1
    if not -n <= dim < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], "
                         f"but got {dim})")
    d = dim + n if dim < 0 else dim
    shape = self._data.shape
    return Reshape.apply(self, shape[:d] + (1,) + shape[d:], True)


def flatten(self: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    shape = self._data.shape
    if not shape:
        return reshape(self, (1,))
    s, e = _wrap_dim(start_dim, len(shape)), _wrap_dim(end_dim, len(shape))
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    n = 1
    for x in shape[s:e + 1]:
        n *= x
    return reshape(self, shape[:s] + (n,) + shape[e + 1:])


def unflatten(self: Tensor, dim: int, sizes) -> Tensor:
    shape = self._data.shape
    if not shape:
        raise RuntimeError(f"unflatten got an unexpected error:\nDimension specified as {dim} but "
                           f"tensor has no dimensions")
    d = _wrap_dim(dim, len(shape))
    sizes = _shape_arg((sizes,)) if not isinstance(sizes, int) else (sizes,)
    if not sizes:
        raise RuntimeError("unflatten: sizes must be non-empty")
    try:
        sizes = infer_shape(sizes, shape[d])
    except RuntimeError:
        if sum(1 for s in sizes if s == -1) > 1:
            raise
        raise RuntimeError(f"unflatten: Provided sizes {_shape_str(sizes)} don't multiply up to the "
                           f"size of dim {dim} ({shape[d]}) in the input tensor") from None
    return reshape(self, shape[:d] + sizes + shape[d + 1:])


def ravel(self: Tensor) -> Tensor:
    return reshape(self, (-1,))


class Slice(Function):
    """Basic indexing (ints, slices with positive steps, None): a view."""
    _raw_forward = True

    @staticmethod
    def forward(ctx, a, key):
        ctx.args = (a._data.shape, key)
        ctx.replay = (_replay_slice, key)
        return a._device._be.slice(a._data, key)

    @staticmethod
    def backward(ctx, g):
        shape, key = ctx.args
        return SliceScatter.apply(g, shape, key), None


def _replay_slice(t, key):
    return Slice.apply(t, key)


class SliceScatter(Function):
    """Zeros of ``shape`` with ``g`` written at ``key`` (the backward of Slice)."""
    _raw_forward = True

    @staticmethod
    def forward(ctx, g, shape, key):
        be = g._device._be
        z = be.full(shape, 0, D._BY_NP[g._data.dtype])
        be.copy_(be.slice(z, key), g._data)
        ctx.key = key
        return z

    @staticmethod
    def backward(ctx, gg):
        return Slice.apply(gg, ctx.key), None, None


class Flip(Function):
    _raw_forward = True

    @staticmethod
    def forward(ctx, a, dims):
        ctx.dims = dims
        be = a._device._be
        r = be.flip(a._data, dims)
        from .misc import empty_preserving  # PyTorch's flip keeps a dense input's layout
        out = empty_preserving(be, a._data)
        if out is None:
            return r
        be.copy_(out, r)
        return out

    @staticmethod
    def backward(ctx, g):
        return Flip.apply(g, ctx.dims), None


def _unique_dims(dims, n: int) -> set:
    """Wrap each dim; PyTorch refuses one named twice (``flip(0, -2)`` on 2-d)."""
    seen = set()
    for d in dims:
        w = _wrap_dim(d, n)
        if w in seen:
            raise RuntimeError(f"dim {w} appears multiple times in the list of dims")
        seen.add(w)
    return seen


def flip(self: Tensor, *args, dims=None) -> Tensor:
    if not args and dims is None:
        raise TypeError('flip() missing 1 required positional arguments: "dims"')
    dims = _shape_arg(args if dims is None else (dims,))
    n = self._data.ndim
    wd = _unique_dims(dims, n)
    return Flip.apply(self, tuple(sorted(wd)) if n else ())  # a 0-d tensor has nothing to flip


def _skipped(t: Tensor) -> bool:
    """PyTorch's legacy rule: cat skips 1-D empty tensors (whatever the other shapes)."""
    return t._data.ndim == 1 and t._data.shape[0] == 0


class Cat(Function):
    """Concatenation.  ``skip``: the inputs left out by the legacy rule above; they still
    take part in dtype promotion and get a (zero-size) gradient."""
    _raw_forward = True

    @staticmethod
    def forward(ctx, dim, skip, *ts):
        be = ts[0]._device._be
        rt = ts[0].dtype
        for t in ts[1:]:
            rt = D.promote_types(rt, t.dtype)
        kept = [t for i, t in enumerate(ts) if i not in skip] if skip else ts
        arrs = [t._data if t._data.dtype == rt.np else be.astype(t._data, rt) for t in kept]
        ctx.sizes = [None if i in skip else t._data.shape[dim] for i, t in enumerate(ts)]
        ctx.dtypes = [t.dtype for t in ts]
        ctx.dim = dim
        return be.contiguous(be.cat(arrs, dim))  # (NumPy keeps F order for F-order inputs)

    @staticmethod
    def backward(ctx, g):
        outs = [None, None]
        start = 0
        for s, dt in zip(ctx.sizes, ctx.dtypes):
            if s is None:
                outs.append(g.new_zeros(0, dtype=dt))
                continue
            piece = g.narrow(ctx.dim, start, s)
            outs.append(piece if piece.dtype is dt else piece.to(dt))
            start += s
        return tuple(outs)


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    if isinstance(tensors, Tensor):
        raise TypeError("cat(): argument 'tensors' must be a tuple or list of Tensors, not Tensor")
    ts = list(tensors)
    if not ts:
        raise ValueError("torch.cat(): expected a non-empty list of Tensors")
    for i, t in enumerate(ts):
        if not isinstance(t, Tensor):
            raise TypeError(f"expected Tensor as element {i} in argument 0, but got "
                            f"{type(t).__name__}")
    # legacy behaviour kept by PyTorch: 1-D empty tensors are skipped (unless all are)
    ref = next((t for t in ts if not _skipped(t)), ts[0])
    skip = frozenset(i for i, t in enumerate(ts) if t is not ref and _skipped(t))
    nd = ref._data.ndim
    for i, t in enumerate(ts):
        if t._data.ndim == 0:
            raise RuntimeError(f"zero-dimensional tensor (at position {i}) cannot be "
                               f"concatenated")
    # every input a 1-D empty tensor: PyTorch returns one without looking at ``dim``
    d = 0 if all(_skipped(t) for t in ts) else _wrap_dim(dim, nd)
    for i, t in enumerate(ts):
        if t._device is not ref._device:
            raise _device_error(ref, t)
        if i in skip:
            continue
        if t._data.ndim != nd:
            raise RuntimeError(f"Tensors must have same number of dimensions: got {nd} and "
                               f"{t._data.ndim}")
        for k in range(nd):
            if k != d and t._data.shape[k] != ref._data.shape[k]:
                raise RuntimeError(f"Sizes of tensors must match except in dimension {d}. Expected "
                                   f"size {ref._data.shape[k]} but got size {t._data.shape[k]} for "
                                   f"tensor number {i} in the list.")
    return Cat.apply(d, skip, *ts)


concat = cat
concatenate = cat


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    ts = list(tensors)
    if not ts:
        raise RuntimeError("stack expects a non-empty TensorList")
    s0 = ts[0]._data.shape
    for i, t in enumerate(ts):
        if not isinstance(t, Tensor):
            raise TypeError(f"expected Tensor as element {i} in argument 0, but got "
                            f"{type(t).__name__}")
        if t._data.shape != s0:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got "
                               f"{_shape_str(s0)} at entry 0 and {_shape_str(t._data.shape)} at "
                               f"entry {i}")
    n = len(s0) + 1
    if not -n <= dim < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], "
                         f"but got {dim})")
    d = dim + n if dim < 0 else dim
    return cat([unsqueeze(t, d) for t in ts], d)


def hstack(tensors):
    ts = list(tensors)
    return cat(ts, 0 if ts[0]._data.ndim == 1 else 1)


def vstack(tensors):
    return cat([t.reshape(1, -1) if t._data.ndim < 2 else t for t in tensors], 0)


def narrow(self: Tensor, dim: int, start: int, length: int) -> Tensor:
    if not self._data.ndim:
        raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
    d = _wrap_dim(dim, self._data.ndim)
    size = self._data.shape[d]
    if start < 0:
        start += size
    if not 0 <= start <= size or length < 0 or start + length > size:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({size}).")
    key = (slice(None),) * d + (slice(start, start + length),)
    return Slice.apply(self, key)


def split(self: Tensor, split_size_or_sections, dim: int = 0) -> tuple:
    if self._data.ndim == 0:
        raise RuntimeError("split expects at least a 1-dimensional tensor")
    d = _wrap_dim(dim, self._data.ndim)
    size = self._data.shape[d]
    if isinstance(split_size_or_sections, int):
        step = split_size_or_sections
        if step <= 0:
            raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got dimension "
                               f"size of {size}" if step == 0 else "split expects split_size be "
                               "non-negative")
        sizes = [min(step, size - i) for i in range(0, size, step)] or [0]
    else:
        sizes = list(split_size_or_sections)
        if builtin_sum(sizes) != size:
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {size} "
                               f"(input tensor's size at dimension {d}), but got split_sizes="
                               f"{_shape_str(sizes)}")
    out, start = [], 0
    for s in sizes:
        out.append(narrow(self, d, start, s))
        start += s
    return _multi_output(self, out, "Split" if isinstance(split_size_or_sections, int)
                         else "SplitWithSizes")


def _multi_output(self: Tensor, outs, name: str) -> tuple:
    """Mark the views returned by split/chunk/unbind: PyTorch refuses in-place ops on them
    (and the use of one after its base or a sibling was modified in place) while autograd
    records; see ops/inplace.py ``multi_view_error``."""
    if _state.grad:
        rg = self._requires_grad
        for i, o in enumerate(outs):
            o._x["multi"] = (f"Output {i} of {name}", rg)
    return tuple(outs)


builtin_sum = sum


def chunk(self: Tensor, chunks: int, dim: int = 0) -> tuple:
    if chunks <= 0:
        raise RuntimeError("chunk expects `chunks` to be greater than 0, got: " + str(chunks))
    if self._data.ndim == 0:
        raise RuntimeError("chunk expects at least a 1-dimensional tensor")
    d = _wrap_dim(dim, self._data.ndim)
    size = self._data.shape[d]
    step = -(-size // chunks) if size else 1
    if size:
        return split(self, step, d)
    return _multi_output(self, [narrow(self, d, 0, 0) for _ in range(chunks)], "Split")


def unbind(self: Tensor, dim: int = 0) -> tuple:
    d = _wrap_dim(dim, self._data.ndim)
    key_pre = (slice(None),) * d
    return _multi_output(self, [Slice.apply(self, key_pre + (i,))
                                for i in range(self._data.shape[d])], "Unbind")


def repeat(self: Tensor, *args, repeats=None) -> Tensor:
    if not args and repeats is None:
        raise TypeError('repeat() missing 1 required positional arguments: "repeats"')
    sizes = _shape_arg(args if repeats is None else (repeats,))
    shape = self._data.shape
    if len(sizes) < len(shape):
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number of "
                           "dimensions of tensor")
    shape = (1,) * (len(sizes) - len(shape)) + shape
    x = reshape(self, shape)
    # (a, b) repeated (r, s): view as (1, a, 1, b), expand to (r, a, s, b), merge pairs
    inter = []
    for s in shape:
        inter += [1, s]
    target = []
    for r, s in zip(sizes, shape):
        target += [r, s]
    y = expand(reshape(x, tuple(inter)), tuple(target))
    out = reshape(y, tuple(r * s for r, s in zip(sizes, shape)))
    if out._x is not None and "base" in out._x:  # no copy was needed (all counts 1, or zero
        from .misc import Clone                   # elements): PyTorch always copies
        out = Clone.apply(out, False)
    return out


def tile(self: Tensor, dims) -> Tensor:
    dims = tuple(dims)
    if len(dims) < self._data.ndim:
        dims = (1,) * (self._data.ndim - len(dims)) + dims
    return repeat(self, dims)


def movedim(self: Tensor, source, destination) -> Tensor:
    n = self._data.ndim
    src = [source] if isinstance(source, int) else list(source)
    dst = [destination] if isinstance(destination, int) else list(destination)
    if len(src) != len(dst):
        raise RuntimeError(f"movedim: Invalid source or destination dims: source "
                           f"({_shape_str(src)} dims) should contain the same number of dims as "
                           f"destination ({_shape_str(dst)} dims)")
    src = [_wrap_dim(s, n) for s in src]
    dst = [_wrap_dim(d, n) for d in dst]
    for name, ds in (("source", src), ("destination", dst)):
        if len(set(ds)) != len(ds):
            raise RuntimeError(f"movedim: repeated dim in `{name}` ({_shape_str(ds)})")
    if n == 0:
        return _alias(self)
    order = [i for i in range(n) if i not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return permute(self, tuple(order))


def swapaxes(self, a, b):
    return transpose(self, a, b)
