"""Indexing: ``t[key]`` and ``t[key] = v`` with NumPy/PyTorch semantics, and gather,
scatter_add, index_select, masked_fill, one_hot, tril/triu, nonzero.

``t[key]`` is decomposed in two steps over two primitives: the basic part (ints, slices,
None, ...) is a ``slice`` view; the integer/boolean tensors then index the dims they sit on
with the backend's ``index`` (after moving those dims to the front).  Its backward is
``index_put_`` with accumulation, so repeated indices sum their gradients.
"""
from __future__ import annotations

import numpy as np

from .. import _dtype as D
from .._tracing import host_check
from ..autograd.function import Function, _state
from ..tensor import Tensor, _make, _shape_str, _wrap_dim
from .elementwise import _device_error, broadcast_shapes, sum_to, where
from .shape import Slice


class IndexSpec:
    """A parsed key: the basic part, and the advanced index arrays (device, int64,
    non-negative, broadcast to one shape) with the dims they index in the sliced view."""
    __slots__ = ("basic", "trivial", "pos", "idxs", "bshape", "out_perm")

    def __init__(self, basic, pos, idxs, bshape, view_ndim):
        self.basic = basic
        self.trivial = all(isinstance(k, slice) and k == slice(None) for k in basic)
        self.pos = pos
        self.idxs = idxs
        self.bshape = bshape
        self.out_perm = None
        k = len(pos)
        if k and pos[0] > 0 and list(pos) == list(range(pos[0], pos[0] + k)):
            # adjacent advanced dims: the result keeps them in place (NumPy rule)
            nb = len(bshape)
            rest = view_ndim - k
            before = pos[0]
            order = list(range(nb, nb + before)) + list(range(nb)) + list(
                range(nb + before, nb + rest))
            self.out_perm = tuple(order)

    def perm(self, ndim):
        rest = [d for d in range(ndim) if d not in self.pos]
        return tuple(self.pos) + tuple(rest)


_VALID = ("only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables are "
          "valid indices")


def _as_index_tensor(obj, ref: Tensor) -> Tensor:
    if isinstance(obj, Tensor):
        t = obj
    else:
        arr = np.asarray(obj)
        if arr.size == 0:
            arr = arr.astype(np.int64)
        if arr.dtype.kind not in "biu":
            raise IndexError(f"{_VALID} (got {arr.dtype})")
        from ..creation import tensor
        t = tensor(arr.astype(np.bool_ if arr.dtype.kind == "b" else np.int64),
                   device=ref._device)
    if t._data.dtype.kind not in "biu":
        raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
    if t._device is not ref._device:
        if t._device.type == "cpu":  # PyTorch accepts cpu indices for any device's tensor
            return t.to(ref._device)
        raise RuntimeError(f"indices should be either on cpu or on the same device as the indexed "
                           f"tensor ({ref._device})")
    return t


def parse_key(t: Tensor, key) -> IndexSpec:
    if not isinstance(key, tuple):
        key = (key,)
    items = []
    for k in key:
        if k is None or k is Ellipsis or isinstance(k, slice):
            items.append(k)
        elif isinstance(k, (bool, np.bool_)):
            items.append(_as_index_tensor(np.array(k), t))  # x[True] -> mask over 0 dims
        elif isinstance(k, (int, np.integer)):
            items.append(int(k))
        elif isinstance(k, (Tensor, list, np.ndarray, range)):
            it = _as_index_tensor(list(k) if isinstance(k, range) else k, t)
            if it._data.ndim == 0 and it._data.dtype.kind in "iu":
                items.append(int(it.item()))
            else:
                items.append(it)
        else:
            raise IndexError(f"{_VALID} (got {type(k).__name__})")
    consumed = 0
    for k in items:
        if isinstance(k, Tensor):
            consumed += k._data.ndim if k._data.dtype.kind == "b" else 1
        elif k is not None and k is not Ellipsis:
            consumed += 1
    ndim = t._data.ndim
    n_ell = sum(1 for k in items if k is Ellipsis)
    if n_ell > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    if consumed > ndim:
        raise IndexError(f"too many indices for tensor of dimension {ndim}")
    if n_ell:
        i = next(i for i, k in enumerate(items) if k is Ellipsis)
        items[i:i + 1] = [slice(None)] * (ndim - consumed)
    shape = t._data.shape
    be = t._device._be
    basic, pos, raw = [], [], []
    d = r = 0
    for k in items:
        if k is None:
            basic.append(None)
            r += 1
        elif isinstance(k, int):
            size = shape[d]
            if not -size <= k < size:
                raise IndexError(f"index {k} is out of bounds for dimension {d} with size {size}")
            basic.append(k)
            d += 1
        elif isinstance(k, slice):
            if k.step is not None and _int(k.step) <= 0:
                raise ValueError("step must be greater than zero")
            basic.append(slice(_int(k.start), _int(k.stop), _int(k.step)))
            d += 1
            r += 1
        elif k._data.dtype.kind == "b":
            m = k._data
            if m.ndim == 0:  # x[True] adds a dim of size 1, x[False] of size 0
                basic.append(None)
                pos.append(r)
                raw.append(be.arange(0, 1 if bool(k.item()) else 0, 1, D.int64))
                r += 1
                continue
            for j in range(m.ndim):
                if m.shape[j] != shape[d + j]:
                    raise IndexError(f"The shape of the mask {_shape_str(m.shape)} at index {j} does "
                                     f"not match the shape of the indexed tensor "
                                     f"{_shape_str(shape)} at index {d + j}")
            for arr in be.nonzero(m):
                basic.append(slice(None))
                pos.append(r)
                raw.append(arr)
                r += 1
                d += 1
        else:
            size = shape[d]
            if size and not t._data.size:
                # another dim is empty: PyTorch reads no element and checks no bound; any
                # valid index gives the same (empty) result
                arr = be.full(k._data.shape, 0, D.int64)
            else:
                arr = _check_range(be, k._data, size, d)
            basic.append(slice(None))
            pos.append(r)
            raw.append(arr)
            r += 1
            d += 1
    view_ndim = r + (ndim - d)
    bshape = ()
    if raw:
        try:
            for a in raw:
                bshape = broadcast_shapes(bshape, a.shape)
        except RuntimeError:
            raise IndexError("shape mismatch: indexing tensors could not be broadcast together with "
                             "shapes " + ", ".join(_shape_str(a.shape) for a in raw)) from None
        raw = [a if a.shape == bshape else be.contiguous(be.expand(a, bshape)) for a in raw]
    return IndexSpec(tuple(basic), tuple(pos), tuple(raw), bshape, view_ndim)


def _int(v):
    if v is None:
        return None
    if isinstance(v, Tensor):
        return int(v.item())
    return int(v)


def _check_range(be, arr, size, d):
    """int64, in range, negatives wrapped: what the index primitive expects."""
    if arr.dtype.kind != "i" or arr.dtype.itemsize != 8:
        arr = be.astype(arr, D.int64)
    if arr.size:
        negative = _check_bounds(be, arr, size, d)
        if negative is None or negative:  # None: traced, the graph must wrap on every call
            arr = be.where(be.binary("lt", arr, 0), be.binary("add", arr, np.int64(size)), arr)
    return arr


@host_check
def _check_bounds(be, arr, size: int, d: int):
    """IndexError for an index outside [-size, size); returns whether any is negative."""
    lo = int(be.to_numpy(be.reduce("min", arr, tuple(range(arr.ndim)), False)))
    hi = int(be.to_numpy(be.reduce("max", arr, tuple(range(arr.ndim)), False)))
    if hi >= size or lo < -size:
        bad = hi if hi >= size else lo
        raise IndexError(f"index {bad} is out of bounds for dimension {d} with size {size}")
    return lo < 0


class Index(Function):
    """Advanced indexing of a (basic-sliced) view; see the module docstring."""
    _raw_forward = True

    @staticmethod
    def forward(ctx, a, spec):
        be = a._device._be
        v = a._data
        if not spec.trivial:
            v = be.slice(v, spec.basic)
        perm = spec.perm(v.ndim)
        vp = be.permute(v, perm) if perm != tuple(range(v.ndim)) else v
        out = be.index(vp, spec.idxs)
        if spec.out_perm is not None:
            out = be.contiguous(be.permute(out, spec.out_perm))
        ctx.args = (spec, a._data.shape, v.shape, perm)
        return out

    @staticmethod
    def backward(ctx, g):
        return IndexAccumulate.apply(g, ctx.args), None


class IndexAccumulate(Function):
    """The backward of Index: zeros of the input's shape, with ``g`` added at the indices."""
    _raw_forward = True

    @staticmethod
    def forward(ctx, g, args):
        spec, in_shape, v_shape, perm = args
        be = g._device._be
        dt = D._BY_NP[g._data.dtype]
        gd = g._data
        if spec.out_perm is not None:
            inv = [0] * len(spec.out_perm)
            for i, p in enumerate(spec.out_perm):
                inv[p] = i
            gd = be.permute(gd, tuple(inv))
        zp = be.full(tuple(v_shape[p] for p in perm), 0, dt)
        be.index_put_(zp, spec.idxs, gd, True)
        inv = [0] * len(perm)
        for i, p in enumerate(perm):
            inv[p] = i
        zv = be.contiguous(be.permute(zp, tuple(inv)))
        ctx.args = args
        if spec.trivial:
            return zv
        z = be.full(in_shape, 0, dt)
        be.copy_(be.slice(z, spec.basic), zv)
        return z

    @staticmethod
    def backward(ctx, gg):
        return Index.apply(gg, ctx.args[0]), None


def getitem(self: Tensor, key) -> Tensor:
    if type(key) is int or type(key) is slice:  # fast path for the common cases
        if self._data.ndim == 0:
            raise IndexError("invalid index of a 0-dim tensor. Use `tensor.item()` in Python or "
                             "`tensor.item<T>()` in C++ to convert a 0-dim tensor to a number")
        if type(key) is int:
            size = self._data.shape[0]
            if not -size <= key < size:
                raise IndexError(f"index {key} is out of bounds for dimension 0 with size {size}")
        elif key.step is not None and key.step <= 0:
            raise ValueError("step must be greater than zero")
        return Slice.apply(self, (key,))
    spec = parse_key(self, key)
    if not spec.idxs:
        return Slice.apply(self, spec.basic)
    return Index.apply(self, spec)


class IndexPut(Function):
    """Out-of-place ``t[key] = v``: a copy of ``t`` with ``v`` written at ``key``."""
    _raw_forward = True

    @staticmethod
    def forward(ctx, a, v, spec):
        be = a._device._be
        out = be.astype(a._data, D._BY_NP[a._data.dtype])  # a fresh contiguous copy
        _write(be, out, spec, v._data)
        ctx.args = (spec, v._data.shape, a._data.shape)
        return out

    @staticmethod
    def backward(ctx, g):
        spec, v_shape, a_shape = ctx.args
        ga = gv = None
        if ctx.needs_input_grad[0]:
            zero = _make(g._device._be.full((), 0, D._BY_NP[g._data.dtype]), g._device, False,
                         None, 0, None)
            ga = IndexPut.apply(g, zero, spec)
        if ctx.needs_input_grad[1]:
            sel = Index.apply(g, spec) if spec.idxs else Slice.apply(g, spec.basic)
            gv = sum_to(sel, v_shape)
        return ga, gv, None


def _write(be, x, spec, vals):
    """Write ``vals`` into ``x`` at ``spec`` in place (no autograd)."""
    v = x if spec.trivial else be.slice(x, spec.basic)
    if not spec.idxs:
        try:
            be.copy_(v, vals)
        except ValueError:
            raise RuntimeError(f"shape mismatch: value tensor of shape {_shape_str(vals.shape)} "
                               f"cannot be broadcast to indexing result of shape "
                               f"{_shape_str(v.shape)}") from None
        return
    perm = spec.perm(v.ndim)
    vp = be.permute(v, perm) if perm != tuple(range(v.ndim)) else v
    target = spec.bshape + vp.shape[len(spec.pos):]
    if spec.out_perm is not None and getattr(vals, "ndim", 0):
        # values are given in the result's layout: move the index dims to the front
        full = len(target)
        vals = be.expand(vals, tuple(target[p] for p in spec.out_perm)) if vals.ndim else vals
        inv = [0] * full
        for i, p in enumerate(spec.out_perm):
            inv[p] = i
        vals = be.permute(vals, tuple(inv))
    try:
        if getattr(vals, "ndim", 0) and vals.shape != target:
            vals = be.expand(vals, target)
    except ValueError:
        raise RuntimeError(f"shape mismatch: value tensor of shape {_shape_str(vals.shape)} cannot "
                           f"be broadcast to indexing result of shape {_shape_str(target)}") from None
    be.index_put_(vp, spec.idxs, vals, False)


def _fit_value(self: Tensor, spec: IndexSpec, value: Tensor) -> Tensor:
    """Check that ``value`` broadcasts to the indexing result (PyTorch's messages), with its
    leading size-1 dims dropped first as PyTorch does (``t[0] = v`` with ``v`` of shape
    (1, 3) into a row of 3), and that the written region has no element twice in memory."""
    from .inplace import check_no_overlap
    x = self._data
    if not value._data.ndim and 0 not in x.strides:
        return value  # a scalar into memory with no broadcast dim: nothing can go wrong
    be = self._device._be
    region = x if spec.trivial else be.slice(x, spec.basic)
    check_no_overlap(region)
    if spec.idxs:  # the shape Index would return: broadcast index dims, then the others
        rest = [d for d in range(region.ndim) if d not in spec.pos]
        target = spec.bshape + tuple(region.shape[d] for d in rest)
        if spec.out_perm is not None:
            target = tuple(target[p] for p in spec.out_perm)
    else:
        target = tuple(region.shape)
    vs = value._data.shape
    lead = 0
    while lead < len(vs) and vs[lead] == 1 and len(vs) - lead > len(target):
        lead += 1
    if lead:
        value = value.reshape(vs[lead:])
        vs = vs[lead:]
    ok = len(vs) <= len(target) and all(
        v == 1 or v == t for v, t in zip(reversed(vs), reversed(target)))
    if not ok:
        if spec.idxs:
            raise RuntimeError(f"shape mismatch: value tensor of shape {_shape_str(vs)} cannot be "
                               f"broadcast to indexing result of shape {_shape_str(target)}")
        from .shape import expand
        expand(value, target)  # raises PyTorch's words for this case
    return value


def setitem(self: Tensor, key, value) -> None:
    from .inplace import check_inplace, commit_inplace
    if not isinstance(value, Tensor):
        from ..creation import tensor
        if isinstance(value, (list, tuple, np.ndarray)):
            value = tensor(value, dtype=self.dtype, device=self._device)
        elif isinstance(value, (bool, int, float, np.number, np.bool_)):
            D.check_scalar(value, self.dtype)
            value = _make(self._device._be.full((), value, self.dtype), self._device, False, None,
                          0, None)
        else:
            raise TypeError(f"can't assign a {type(value).__name__} to a {self.type_name()}")
    if value._device is not self._device:
        raise _device_error(self, value)
    if value._data.dtype != self._data.dtype:
        value = value.to(self.dtype)
    spec = parse_key(self, key)
    value = _fit_value(self, spec, value)
    recording = _state.grad and (self._requires_grad or value._requires_grad)
    check_inplace(self)
    if not recording:
        _write(self._device._be, self._data, spec, value._data)
        commit_inplace(self, None)
        return
    out = IndexPut.apply(self, value, spec)
    commit_inplace(self, out)


class Gather(Function):
    _raw_forward = True

    @staticmethod
    def forward(ctx, a, dim, index):
        ctx.args = (a._data.shape, dim, index)
        return a._device._be.gather(a._data, dim, index._data)

    @staticmethod
    def backward(ctx, g):
        shape, dim, index = ctx.args
        z = g.new_zeros(shape)
        return z.scatter_add(dim, index, g), None, None


def _check_index_arg(name, self, dim, index, src=None):
    if not isinstance(index, Tensor):
        raise TypeError(f"{name}(): argument 'index' must be Tensor, not {type(index).__name__}")
    if index._data.dtype != np.int64 and index._data.dtype != np.int32:
        raise RuntimeError(f"{'scatter' if name.startswith('scatter') else name}(): Expected "
                           f"dtype int32/int64 for index")
    if index._device is not self._device:
        raise _device_error(self, index)
    nd = self._data.ndim
    d = _wrap_dim(dim, nd)
    if index._data.ndim != nd and not (nd == 0 and index._data.ndim <= 1):
        raise RuntimeError("Index tensor must have the same number of dimensions as "
                           + ("input tensor" if src is None else "self tensor"))
    for k in range(index._data.ndim):
        if k != d and index._data.shape[k] > self._data.shape[k]:
            raise RuntimeError(f"Size does not match at dimension {k} expected index "
                               f"{_shape_str(index._data.shape)} to be smaller than self "
                               f"{_shape_str(self._data.shape)} apart from dimension {d}")
    if index._data.size:
        _check_index_values(self._device._be, index._data, self._data.shape[d] if nd else 1, d)
    return d


@host_check
def _check_index_values(be, index, size: int, d: int) -> None:
    """gather/scatter indices must lie in [0, size)."""
    ax = tuple(range(index.ndim))
    lo = int(be.to_numpy(be.reduce("min", index, ax, False)))
    hi = int(be.to_numpy(be.reduce("max", index, ax, False)))
    if lo < 0 or hi >= size:
        raise RuntimeError(f"index {hi if hi >= size else lo} is out of bounds for dimension "
                           f"{d} with size {size}")


def gather(self: Tensor, dim: int, index: Tensor) -> Tensor:
    d = _check_index_arg("gather", self, dim, index)
    if index._data.dtype != np.int64:  # int32 indices are accepted, as in PyTorch
        index = index.long()
    if self._data.ndim == 0:  # PyTorch: a 0-d input is a vector of one element
        return Gather.apply(self.reshape(1), 0, index.reshape(-1)).reshape(index.shape)
    return Gather.apply(self, d, index)


class ScatterAdd(Function):
    _raw_forward = True

    @staticmethod
    def forward(ctx, a, dim, index, src):
        be = a._device._be
        out = be.astype(a._data, D._BY_NP[a._data.dtype])
        s = src._data
        if s.dtype != out.dtype:
            s = be.astype(s, D._BY_NP[out.dtype])
        be.scatter_add_(out, dim, index._data, s)
        ctx.args = (dim, index, src._data.shape)
        return out

    @staticmethod
    def backward(ctx, g):
        dim, index, src_shape = ctx.args
        gs = None
        if ctx.needs_input_grad[3]:
            gs = g.gather(dim, index)
            if gs._data.shape != src_shape:
                full = g.new_zeros(src_shape)
                full[tuple(slice(0, s) for s in index._data.shape)] = gs
                gs = full
        return g, None, None, gs


def scatter_add(self: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    d = _check_index_arg("scatter_add", self, dim, index, src)
    if not isinstance(src, Tensor):
        raise TypeError("scatter_add(): argument 'src' must be Tensor")
    if src._device is not self._device:
        raise _device_error(self, src)
    if src._data.dtype != self._data.dtype:
        raise RuntimeError("scatter(): Expected self.dtype to be equal to src.dtype")
    if index._data.dtype != np.int64:  # int32 indices are accepted, as in PyTorch
        index = index.long()
    for k in range(index._data.ndim):
        if index._data.shape[k] > src._data.shape[k]:
            raise RuntimeError(f"Size does not match at dimension {k} expected index "
                               f"{_shape_str(index._data.shape)} to be smaller than src "
                               f"{_shape_str(src._data.shape)}")
    if self._data.ndim == 0:  # PyTorch: a 0-d self is a vector of one element
        n = index._data.size
        return ScatterAdd.apply(self.reshape(1), 0, index.reshape(-1),
                                src.reshape(-1)[:n]).reshape(())
    return ScatterAdd.apply(self, d, index, src)


def index_select(self: Tensor, dim: int, index: Tensor) -> Tensor:
    if not isinstance(index, Tensor) or index._data.ndim > 1:
        raise IndexError("index_select(): Index is supposed to be a vector")
    if index._data.dtype.kind not in "iu":
        raise IndexError("index_select(): Expected dtype int32 or int64 for index")
    d = _wrap_dim(dim, self._data.ndim)
    if self._data.ndim == 0:
        if index._data.size != 1:
            raise RuntimeError(f"index_select(): Index to scalar can have only 1 value, got "
                               f"{index._data.size} value(s)")
        _check_select(self._device._be, index._data, 1, 0, 0, 1)
        return gather(self, 0, index.reshape(()))
    if index._data.size:
        _check_select(self._device._be, index._data, self._data.shape[d], d,
                      self._data.ndim, self._data.size)
    return getitem(self, (slice(None),) * d + (index.reshape(-1),))


@host_check
def _check_select(be, idx, n: int, d: int, ndim: int, numel: int) -> None:
    """PyTorch's index_select range errors (its cpu kernel's: IndexError, but RuntimeError
    along dim 1 and from an empty input of 2+ dims)."""
    a = np.asarray(be.to_numpy(idx)).reshape(-1)
    if ndim > 1 and not numel and not n:
        raise RuntimeError("index_select(): self indexing axis dim should be positive")
    bad = (a < 0) | (a >= n)
    if bad.any():
        if ndim > 1 and (d == 1 or not numel):
            raise RuntimeError(f"INDICES element is out of DATA bounds, id={int(a[bad][0])} "
                               f"axis_dim={n}")
        raise IndexError("index out of range in self")


def masked_fill(self: Tensor, mask: Tensor, value) -> Tensor:
    if not isinstance(mask, Tensor):
        raise TypeError(f"masked_fill() received an invalid combination of arguments - got "
                        f"({type(mask).__name__}, {type(value).__name__}), but expected one of:"
                        f"\n * (Tensor mask, Tensor value)\n * (Tensor mask, Number value)")
    if mask._data.dtype.kind != "b":
        raise RuntimeError("masked_fill_ only supports boolean masks, but got mask with dtype "
                           + (mask.dtype.name if isinstance(mask, Tensor) else type(mask).__name__))
    if isinstance(value, Tensor):
        if value._data.ndim:
            raise RuntimeError(f"masked_fill_ only supports a 0-dimensional value tensor, but got "
                               f"tensor with {value._data.ndim} dimension(s).")
        value = value.to(self.dtype)
    else:
        D.check_scalar(value, self.dtype)
        value = self.dtype.np.type(value) if self.dtype.category else bool(value)
    broadcast_shapes(self._data.shape, mask._data.shape)
    out = where(mask, value, self)
    if out._data.shape != self._data.shape:
        raise RuntimeError(f"output with shape {_shape_str(self._data.shape)} doesn't match the "
                           f"broadcast shape {_shape_str(out._data.shape)}")
    return out if out._data.dtype == self._data.dtype else out.to(self.dtype)


def nonzero(self: Tensor, *, as_tuple: bool = False):
    be = self._device._be
    idx = be.nonzero(self._data) if self._data.ndim else be.nonzero(be.reshape(self._data, (1,)))
    ts = tuple(_make(i, self._device, False, None, 0, None) for i in idx)
    if as_tuple:
        return ts
    if not self._data.ndim:  # a 0-d input: (1, 0) where it is nonzero, else (0, 0)
        return _make(be.full((int(idx[0].shape[0]), 0), 0, D.int64), self._device, False,
                     None, 0, None)
    from .shape import stack
    if not ts:
        return _make(be.full((0, 0), 0, D.int64), self._device, False, None, 0, None)
    return stack(ts, 1)


def argwhere(self: Tensor) -> Tensor:
    return nonzero(self)


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    if not isinstance(tensor, Tensor) or tensor._data.dtype != np.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    be = tensor._device._be
    if tensor._data.size:
        lo = int(be.to_numpy(be.reduce("min", tensor._data, tuple(range(tensor.ndim)), False)))
        hi = int(be.to_numpy(be.reduce("max", tensor._data, tuple(range(tensor.ndim)), False)))
        if lo < 0:
            raise RuntimeError("Class values must be non-negative.")
        if num_classes == -1:
            num_classes = hi + 1
        elif hi >= num_classes:
            raise RuntimeError("Class values must be smaller than num_classes.")
    elif num_classes == -1:
        raise RuntimeError("Can not infer total number of classes from empty tensor.")
    from ..creation import arange
    classes = arange(num_classes, device=tensor._device)
    return (tensor.unsqueeze(-1) == classes).long()


def _tri(self: Tensor, diagonal: int, lower: bool) -> Tensor:
    if self._data.ndim < 2:
        raise RuntimeError(f"{'tril' if lower else 'triu'}: input tensor must have at least 2 "
                           f"dimensions")
    from ..creation import arange
    n, m = self._data.shape[-2:]
    r = arange(n, device=self._device).unsqueeze(1)
    c = arange(m, device=self._device).unsqueeze(0)
    keep = (c - r <= diagonal) if lower else (c - r >= diagonal)
    zero = False if self._data.dtype.kind == "b" else 0
    return where(keep, self, zero).to(self.dtype)


def tril(self: Tensor, diagonal: int = 0) -> Tensor:
    return _tri(self, diagonal, True)


def triu(self: Tensor, diagonal: int = 0) -> Tensor:
    return _tri(self, diagonal, False)


def take(self: Tensor, index: Tensor) -> Tensor:
    return getitem(self.reshape(-1), index)
