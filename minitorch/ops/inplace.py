"""In-place ops (``add_``, ``+=``, ``t[k] = v``, ``zero_`` ...).

An in-place op computes its result out of place, writes it into the tensor's memory and
bumps the version counter that the tensor shares with its views.  With autograd recording,
the tensor takes over the result's graph node; if the tensor is a *view*, its base is
"rebased" (PyTorch's CopySlices): the base gets a node whose backward routes the view's
region of the gradient into the new graph and the rest into the base's old graph.
"""
from __future__ import annotations

from .. import _dtype as D
from ..autograd.function import Function, _state, replay_view
from ..tensor import Tensor, _make, _shape_str


def check_inplace(self: Tensor) -> None:
    if _state.grad:
        if self._requires_grad:
            x = self._x
            if x is not None and "multi" in x:
                raise multi_view_error(self, True)
            if self.grad_fn is None:
                raise RuntimeError("a leaf Variable that requires grad is being used in an "
                                   "in-place operation.")
        base = self._base
        if base is not None and base._requires_grad and base.grad_fn is None:
            raise RuntimeError("a view of a leaf Variable that requires grad is being used in an "
                               "in-place operation.")


_OVERLAP_MSG = ("unsupported operation: more than one element of the written-to tensor refers to a "
                "single memory location. Please clone() the tensor before performing the "
                "operation.")


def internal_overlap(a) -> bool:
    """Do several elements of array ``a`` share one memory location (a broadcast view:
    stride 0 on a dim of size > 1)?  PyTorch refuses most in-place writes into those."""
    strides = a.strides
    if 0 not in strides or not a.size:
        return False
    for s, st in zip(a.shape, strides):
        if st == 0 and s > 1:
            return True
    return False


def check_no_overlap(a) -> None:
    if internal_overlap(a):
        raise RuntimeError(_OVERLAP_MSG)


def distinct_region(be, a):
    """The elements of ``a`` with each memory location once (a broadcast view sliced to size 1
    along its stride-0 dims): what ``fill_`` writes, as PyTorch's fill_ allows overlap."""
    if not internal_overlap(a):
        return a
    return be.slice(a, tuple(slice(0, 1) if st == 0 and s > 1 else slice(None)
                             for s, st in zip(a.shape, a.strides)))


_MULTI_TAIL = ("This view is the output of a function that returns multiple views. Such functions "
               "do not allow the output views to be modified inplace. You should replace the "
               "inplace operation by an out-of-place one.")


def multi_view_error(t: Tensor, modified_self: bool) -> RuntimeError:
    """PyTorch's error for an in-place op on (or under) an output of split/chunk/unbind.
    ``t._x["multi"]`` is ``(label or None, base required grad when the view was taken)``."""
    label, grad = t._x["multi"]
    if grad:
        if label is None:  # a view of such an output: named after its own view op
            fn = t.grad_fn
            name = fn.name() if fn is not None else "View"
            name = name[:-9] if name.endswith("Backward0") else name
            label = f"Output {t._output_nr} of {name}"
        head = label + " is a view and " + (
            "is being modified inplace." if modified_self else
            "its base or another view of its base has been modified inplace.")
    else:
        head = "A view was created in no_grad mode and " + (
            "is being modified inplace with grad mode enabled." if modified_self else
            "its base or another view of its base has been modified inplace with grad mode "
            "enabled.")
    return RuntimeError(head + " " + _MULTI_TAIL)


class ModifiedMultiOutputView(Function):
    """The grad_fn of an output of split/chunk/unbind whose base was modified in place
    afterwards: PyTorch forbids differentiating through it (its error is raised when the
    gradient reaches this node; PyTorch raises on the first use of the view)."""

    @staticmethod
    def backward(ctx, g):
        raise RuntimeError(ctx.msg)


def _bump(self: Tensor) -> None:
    vc = self._vc
    if vc is None:
        self._vc = [1]
    else:
        vc[0] += 1


def commit_inplace(self: Tensor, out, write: bool = True) -> Tensor:
    """Make ``self`` hold ``out`` (already written into self's memory if out is None, or if
    ``write`` is false)."""
    if out is not None:
        if out._data.shape != self._data.shape:
            raise RuntimeError(f"output with shape {_shape_str(self._data.shape)} doesn't match the "
                               f"broadcast shape {_shape_str(out._data.shape)}")
        src, dst = out.dtype, self.dtype
        if src.category > dst.category:
            raise RuntimeError(f"result type {src.pt_name} can't be cast to the desired output "
                               f"type {dst.pt_name}")
        if out.grad_fn is not None and self._x is not None and "multi" in self._x:
            raise multi_view_error(self, True)  # a plain output of split & co, now recorded
        be = self._device._be
        if write and out._data is not self._data:
            check_no_overlap(self._data)
            try:
                be.copy_(self._data, out._data)
            except ValueError as e:
                raise RuntimeError("unsupported operation: more than one element of the written-to "
                                   "tensor refers to a single memory location. Please clone() the "
                                   "tensor before performing the operation.") from e
    _bump(self)
    if out is not None and out.grad_fn is not None:
        base = self._base
        if base is not None:
            _rebase(self, base, out)
        else:
            self.grad_fn = out.grad_fn
            self._output_nr = out._output_nr
            self._requires_grad = True
        _refresh_views(base if base is not None else self, self)
        if self._x is not None and "retain_hook" in self._x:
            self._move_retain_hook()
    return self


class CopySlices(Function):
    """The base after one of its views was modified in place (data already written)."""
    _raw_forward = True

    @staticmethod
    def forward(ctx, base, new_view, chain):
        ctx.chain = chain
        return base._data

    @staticmethod
    def backward(ctx, g):
        g_base = ZeroRegion.apply(g, ctx.chain) if ctx.needs_input_grad[0] else None
        g_view = replay_view(g, ctx.chain) if ctx.needs_input_grad[1] else None
        return g_base, g_view, None


class ZeroRegion(Function):
    """A copy of ``g`` with a view's region set to zero: linear and its own adjoint, so
    CopySlices' backward stays differentiable (double backward through in-place ops)."""
    _raw_forward = True

    @staticmethod
    def forward(ctx, g, chain):
        ctx.chain = chain
        be = g._device._be
        out = be.astype(g._data, D._BY_NP[g._data.dtype])  # a fresh contiguous copy
        region = replay_view(_make(out, g._device, False, None, 0, None), chain)
        be.copy_(region._data, 0)
        return out

    @staticmethod
    def backward(ctx, gg):
        return ZeroRegion.apply(gg, ctx.chain), None


def _rebase(view: Tensor, base: Tensor, new_view: Tensor) -> None:
    chain = view._x["chain"]
    nb = CopySlices.apply(base, new_view, chain)
    base.grad_fn = nb.grad_fn
    base._output_nr = 0
    base._requires_grad = True
    _regenerate(view, base, chain)


def _regenerate(view: Tensor, base: Tensor, chain) -> None:
    """Point ``view``'s grad_fn at the base's current graph (PyTorch regenerates a view's
    grad_fn the same way, lazily, once the base's version has changed)."""
    fresh = replay_view(base, chain)
    view.grad_fn = fresh.grad_fn
    view._output_nr = fresh._output_nr
    view._requires_grad = fresh._requires_grad


def _refresh_views(base: Tensor, skip: Tensor) -> None:
    """After ``base`` (or one of its views) got a new graph node, the other live views of
    ``base`` must not keep pointing at its old graph: they see the new values.  (Views are
    tracked from the moment they are taken, also when the base had no history then.)"""
    refs = base._x.get("views") if base._x else None
    if not refs:
        return
    for r in tuple(refs):
        v = r()
        if v is not None and v is not skip:
            if "multi" in v._x:  # an output of split & co: PyTorch forbids using it now
                node = ModifiedMultiOutputView._backward_cls()
                node.msg = str(multi_view_error(v, False))
                v.grad_fn, v._output_nr, v._requires_grad = node, 0, True
            else:
                _regenerate(v, base, v._x["chain"])
    refs[:] = [r for r in refs if r() is not None]


def _address(a):
    ai = getattr(a, "__array_interface__", None)  # NumPy (cpu, cudasim)
    if ai is None:
        ai = getattr(a, "__cuda_array_interface__", None)  # CuPy
        if ai is None:
            return None
    return ai["data"][0]


def collapse_chain(base: Tensor, out: Tensor, chain):
    """A deep chain of view ops (``_link_view``), replaced by flatten -> slice -> reshape when
    the view is one C-contiguous block of a C-contiguous base: nested views such as
    ``y = y.unsqueeze(0)[0]`` in a loop then keep a chain of bounded length."""
    b, o = base._data, out._data
    n = o.size
    if not n or not b.flags.c_contiguous or not o.flags.c_contiguous:
        return chain
    pb, po = _address(b), _address(o)
    if pb is None or po is None:
        return chain
    k, r = divmod(po - pb, b.itemsize)
    if r or k < 0 or k + n > b.size:
        return chain
    from .shape import _replay_reshape, _replay_slice
    c = (None, (_replay_reshape, (b.size,)), 1)
    c = (c, (_replay_slice, (slice(k, k + n),)), 2)
    return (c, (_replay_reshape, tuple(o.shape)), 3)


def inplace(op):
    """Turn an out-of-place Tensor method ``op(self, *args)`` into its in-place twin."""
    def method(self, *args, **kwargs):
        check_inplace(self)
        src = self
        if _state.grad and (self._requires_grad or _any_requires_grad(args, kwargs)):
            # the op may save its input for backward, and the write below overwrites self's
            # memory: let it see a copy of the current values (PyTorch saves "original self")
            src = _make(self._device._be.astype(self._data, self.dtype), self._device,
                        self._requires_grad, self.grad_fn, self._output_nr, None)
        out = op(src, *args, **kwargs)
        if out is NotImplemented:
            return out
        if out._data.dtype != self._data.dtype:
            if out.dtype.category > self.dtype.category:
                raise RuntimeError(f"result type {out.dtype.pt_name} can't be cast to the "
                                   f"desired output type {self.dtype.pt_name}")
            out = out.to(self.dtype)
        return commit_inplace(self, out)
    method.__name__ = getattr(op, "__name__", "op") + "_"
    method.__signature__ = _signature(op)  # inspect/help show op's (PyTorch's) names
    return method


def _signature(op):
    import inspect
    try:
        return inspect.signature(op)
    except (TypeError, ValueError):
        return None


def _any_requires_grad(args, kwargs) -> bool:
    for a in args:
        if isinstance(a, Tensor) and a._requires_grad:
            return True
    for a in kwargs.values():
        if isinstance(a, Tensor) and a._requires_grad:
            return True
    return False


def zero_(self: Tensor) -> Tensor:
    return fill_(self, 0)


def fill_(self: Tensor, value) -> Tensor:
    if isinstance(value, Tensor):
        if value._data.ndim:
            raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with "
                               f"{value._data.ndim} dimensions.")
        return copy_(self, value)
    check_inplace(self)
    x = self._data
    dt = D._BY_NP[x.dtype]
    D.check_scalar(value, dt)
    be = self._device._be
    dst = distinct_region(be, x) if 0 in x.strides else x
    if _state.grad and self._requires_grad:
        src = _make(be.full((), value, dt), self._device, False, None, 0, None)
        out = Overwrite.apply(self, src)
        be.copy_(dst, value)
        return commit_inplace(self, out, write=False)
    be.copy_(dst, value)
    return commit_inplace(self, None)


class Overwrite(Function):
    """``self`` replaced by ``src`` (broadcast, cast): the old value gets a zero gradient."""
    _raw_forward = True

    @staticmethod
    def forward(ctx, a, src):
        be = a._device._be
        x = src._data
        if x.dtype != a._data.dtype:
            x = be.astype(x, a.dtype)
        ctx.src_meta = (src._data.shape, src.dtype)
        return be.contiguous(be.expand(x, a._data.shape)) if x.shape != a._data.shape \
            else be.astype(x, a.dtype)

    @staticmethod
    def backward(ctx, g):
        from .elementwise import sum_to
        shape, dt = ctx.src_meta
        ga = g.new_zeros(g.shape) if ctx.needs_input_grad[0] else None  # not g*0: inf*0 is nan
        gs = sum_to(g, shape).to(dt) if ctx.needs_input_grad[1] else None
        return ga, gs


def copy_(self: Tensor, src: Tensor, non_blocking: bool = False) -> Tensor:
    check_inplace(self)
    if isinstance(src, (bool, int, float)):  # PyTorch accepts a number: a 0-d source
        from ..creation import tensor
        src = tensor(src, device=self._device)
    if not isinstance(src, Tensor):
        raise TypeError(f"copy_(): argument 'src' must be Tensor, not {type(src).__name__}")
    if src._device is not self._device:
        src = src.to(self._device)
    from .elementwise import broadcast_shapes
    try:
        if broadcast_shapes(self._data.shape, src._data.shape) != self._data.shape:
            raise RuntimeError
    except RuntimeError:
        raise RuntimeError(f"output with shape {_shape_str(self._data.shape)} doesn't match the "
                           f"broadcast shape {_shape_str(src._data.shape)}") from None
    if _state.grad and (src._requires_grad or self._requires_grad):
        return commit_inplace(self, Overwrite.apply(self, src))
    check_no_overlap(self._data)
    self._device._be.copy_(self._data, src._data)  # copy_ casts freely, like PyTorch
    return commit_inplace(self, None)


def binary_inplace(op: str, generic):
    """``add_``/``sub_``/``mul_``/``div_`` (and ``+=`` ...): when nothing is recorded, write
    the result straight into the tensor's memory (``binary(..., out=)``: no temporary, no
    copy) — the optimizer-update hot path.  Everything else goes through ``generic``."""
    from .elementwise import broadcast_shapes
    from ..autograd.function import _hooks

    def method(self, other, **kwargs):
        if not kwargs and not _hooks and not (_state.grad and (
                self._requires_grad or (isinstance(other, Tensor) and other._requires_grad))):
            x = self._data
            if isinstance(other, Tensor):
                y = other._data
                ok = (y.dtype is x.dtype and other._device is self._device
                      and (y.shape == x.shape or broadcast_shapes(x.shape, y.shape) == x.shape))
            else:
                y = other
                ok = (isinstance(other, (int, float)) and not isinstance(other, bool)
                      and (x.dtype.kind in "fV" or (isinstance(other, int) and op != "div")))
            if ok and x.dtype.kind != "b" and (op != "div" or x.dtype.kind in "fV"):
                if self._base is not None or self.grad_fn is not None:
                    check_inplace(self)
                try:
                    self._device._be.binary(op, x, y, out=x)
                except ValueError:
                    return generic(self, other)  # e.g. a read-only (expanded) view: say why
                _bump(self)
                return self
        return generic(self, other, **kwargs)
    method.__name__ = op + "_"
    method.__signature__ = _signature(generic)
    return method
