"""The one dispatch point: ``Function.apply``.

Every differentiable op in minitorch is a ``Function`` subclass with a ``forward`` and a
``backward``.  ``apply`` runs ``forward``, and when autograd needs it, records a graph node.
The node *is* the ``ctx`` object that ``forward`` and ``backward`` receive: an instance of
``<Name>Backward`` (created once per Function class), which is also what ``tensor.grad_fn``
returns.  Anomaly mode, the graph renderer and the tracer all hook in here.

Two flavours share this class:
* user Functions (``class MyExp(minitorch.autograd.Function)``): ``forward`` gets Tensors
  and returns Tensors, exactly like ``torch.autograd.Function``;
* built-in primitives (``_raw_forward = True``): ``forward`` gets Tensors and returns the
  backend's raw arrays, which ``apply`` wraps.  This avoids one Tensor per intermediate.
Backward formulas always take and return Tensors, so they are differentiable themselves.
"""
from __future__ import annotations

import threading
import traceback
from weakref import ref as _weakref
from typing import Optional, Tuple

from ..tensor import Tensor, _make

__all__ = ["Function", "BackwardNode", "AccumulateGrad", "FunctionCtx", "once_differentiable"]

class _ThreadState(threading.local):
    """Grad mode and anomaly mode, per thread as in PyTorch: ``with no_grad():`` in one thread
    leaves every other thread recording.  The class attributes are what a new thread starts
    with.  grad_mode.py and anomaly.py set them; every op reads ``_state.grad``."""
    grad = True
    anomaly = False
    anomaly_check_nan = True


_state = _ThreadState()
_hooks = []  # callables(node, inputs, outputs) run after each recorded op (tracer, viz)
# the nn.Module whose forward is running (innermost last): recorded on each node as
# ``node._module`` so that the graph renderer can group nodes by module
_module_stack = [None]


def push_module(module) -> None:
    _module_stack.append(module)


def pop_module() -> None:
    _module_stack.pop()


def is_grad_enabled() -> bool:
    return _state.grad


_FREED_MSG = ("Trying to backward through the graph a second time (or directly access saved "
              "tensors after they have already been freed). Saved intermediate values of the "
              "graph are freed when you call .backward() or autograd.grad(). Specify "
              "retain_graph=True if you need to backward through the graph a second time or if "
              "you need to access saved tensors after calling backward.")


class BackwardNode:
    """A node of the autograd graph, and the ``ctx`` of the Function call that made it.

    next_functions: one ``(node, 0)`` pair per Tensor input (``(None, 0)`` where no gradient
    flows), in input order, like PyTorch's.
    """

    # class-level defaults: creating a node must be cheap (it happens on every recorded op)
    _forward_cls = None
    _n_outputs = 1
    next_functions: Tuple = ()
    needs_input_grad: Tuple[bool, ...] = ()
    _saved = None           # tuple of (tensor, version, output_nr)
    _freed = False
    _pre_hooks = None       # {output_nr: [fn(grad) -> grad|None]}
    _post_hooks = None      # [fn(grad_inputs, grad_outputs)]
    _trace = None           # anomaly mode: the stack where the op ran
    _out_meta = None        # [(shape, np dtype) | None] per output, for zero-filling
    _module = None          # the nn.Module whose forward created this node, if any
    _builtin = False        # made by one of minitorch's own Functions (trusted backward)
    materialize_grads = True

    @property
    def metadata(self) -> dict:
        d = self.__dict__.get("_metadata")
        if d is None:
            d = self.__dict__["_metadata"] = {}
        return d

    # -- what forward calls ---------------------------------------------------------------
    def save_for_backward(self, *tensors) -> None:
        saved = []
        for t in tensors:
            if t is None:
                saved.append((None, 0, -1))
            elif isinstance(t, Tensor):
                vc = t._vc
                if vc is None:
                    vc = t._vc = [0]
                saved.append((t, vc[0], -1))
            else:
                raise TypeError(f"save_for_backward can only save tensors, but argument "
                                f"{len(saved)} was of type {type(t).__name__}")
        self._saved = tuple(saved)

    def mark_non_differentiable(self, *tensors) -> None:
        self.__dict__.setdefault("_non_diff", set()).update(id(t) for t in tensors)

    def set_materialize_grads(self, value: bool) -> None:
        self.materialize_grads = bool(value)

    def mark_dirty(self, *tensors) -> None:
        """forward modified these inputs in place (and returns them as outputs)."""
        self.__dict__.setdefault("_dirty", set()).update(id(t) for t in tensors)

    @property
    def saved_tensors(self) -> Tuple[Optional[Tensor], ...]:
        if self._freed:
            raise RuntimeError(_FREED_MSG)
        saved = self._saved
        if not saved:
            return ()
        out = []
        for t, version, out_nr in saved:
            if t is None:
                out.append(None)
                continue
            if t._vc[0] != version:
                raise RuntimeError(
                    f"one of the variables needed for gradient computation has been modified by "
                    f"an inplace operation: [{t.type_name()} {list(t.shape)}] is at version "
                    f"{t._vc[0]}; expected version {version} instead. Hint: the backtrace further "
                    f"above (enable minitorch.autograd.set_detect_anomaly(True)) shows the "
                    f"operation that failed to compute its gradient. The variable in question was "
                    f"changed in there or anywhere later. Good luck!")
            if out_nr >= 0:  # an output saved as a detached alias: relink it to this node
                t = _make(t._data, t._device, True, self, out_nr, t._vc)
            out.append(t)
        return tuple(out)

    # -- graph API --------------------------------------------------------------------------
    def name(self) -> str:
        return type(self).__name__

    def register_hook(self, fn):
        """fn(grad_inputs, grad_outputs) after this node ran; may return new grad_inputs."""
        if self._post_hooks is None:
            self._post_hooks = []
        self._post_hooks.append(fn)
        return _RemovableHandle(self._post_hooks, fn)

    def register_prehook(self, fn):
        """fn(grad_outputs) before this node runs; may return new grad_outputs."""
        return self._add_pre_hook(-1, fn)

    def _add_pre_hook(self, output_nr: int, fn):
        if self._pre_hooks is None:
            self._pre_hooks = {}
        lst = self._pre_hooks.setdefault(output_nr, [])
        lst.append(fn)
        return _RemovableHandle(lst, fn)

    def apply(self, *grad_outputs):
        """Run this node's backward on Tensor gradients (one per output)."""
        return self._forward_cls.backward(self, *grad_outputs)

    def _release(self) -> None:
        if self._saved is not None:
            self._saved = None
            self._freed = True

    def __repr__(self) -> str:
        return f"<{self.name()} object at {id(self):#x}>"

    def __call__(self, *grads):
        return self.apply(*grads)


FunctionCtx = BackwardNode


class AccumulateGrad(BackwardNode):
    """Sink node of a leaf tensor that requires grad: adds the incoming gradient to .grad."""

    _forward_cls = None
    _post_acc_hooks = None  # [fn(tensor)]: Tensor.register_post_accumulate_grad_hook

    def __init__(self, variable: Tensor):
        self.variable = variable

    def apply(self, grad):  # pragma: no cover - the engine handles accumulation itself
        raise RuntimeError("AccumulateGrad is run by the engine")


class _RemovableHandle:
    __slots__ = ("_lst", "_fn")

    def __init__(self, lst, fn):
        self._lst, self._fn = lst, fn

    def remove(self) -> None:
        try:
            self._lst.remove(self._fn)
        except ValueError:
            pass


def _accumulate_node(t: Tensor) -> AccumulateGrad:
    """The (cached) AccumulateGrad sink node of a leaf tensor."""
    x = t._x
    if x is None:
        x = t._x = {}
    node = x.get("acc")
    if node is None:
        node = x["acc"] = AccumulateGrad(t)
    return node


_NO_EDGE = (None, 0)


def _edge(t: Tensor) -> tuple:
    """The graph edge ``(node, output_nr)`` to a tensor that requires grad: its grad_fn, or
    the AccumulateGrad sink of a leaf."""
    fn = t.grad_fn
    return (fn, t._output_nr) if fn is not None else (_accumulate_node(t), 0)


class Function:
    """Base class of every differentiable op; subclass it to write your own.

    >>> class Exp(Function):
    ...     @staticmethod
    ...     def forward(ctx, x):
    ...         y = x.exp(); ctx.save_for_backward(y); return y
    ...     @staticmethod
    ...     def backward(ctx, g):
    ...         (y,) = ctx.saved_tensors; return g * y
    """

    _raw_forward = False   # built-ins return raw backend arrays from forward
    _save_output = False   # built-ins: keep output 0 for backward (ctx.saved_tensors[-1])
    _backward_cls = BackwardNode

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        builtin = cls.__module__.startswith("minitorch.")
        name = cls.__name__ + ("Backward0" if builtin else "Backward")
        cls._backward_cls = type(name, (BackwardNode,), {"_forward_cls": cls,
                                                         "__module__": cls.__module__,
                                                         "_builtin": builtin})

    def __init__(self, *args, **kwargs):
        raise RuntimeError("Function objects are not instantiated: call "
                           f"{type(self).__name__}.apply(...) instead")

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("You must implement the forward function for custom "
                                  "autograd.Function.")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("You must implement either the backward or vjp method for "
                                  "your custom autograd.Function to use it with backward mode AD.")

    vjp = backward

    @classmethod
    def apply(cls, *args, **kwargs):
        ctx = cls._backward_cls()
        record = False
        if _state.grad:
            # one pass over the inputs: which need a gradient, and the graph edges to them
            # (next_functions has one edge per *tensor* input, as in PyTorch)
            nig = []
            edges = []
            plain = False
            for a in args:
                if isinstance(a, Tensor):
                    if a._requires_grad:
                        record = True
                        nig.append(True)
                        edges.append(_edge(a))
                    else:
                        nig.append(False)
                        edges.append(_NO_EDGE)
                else:
                    nig.append(False)
                    plain = True
            ctx.needs_input_grad = tuple(nig)
            if plain and record:  # backward returns one value per argument: map them
                ctx._grad_pos = tuple(i for i, a in enumerate(args) if isinstance(a, Tensor))
        else:
            ctx.needs_input_grad = (False,) * len(args)

        if cls._raw_forward:
            raw = cls.forward(ctx, *args, **kwargs)
            a0 = args[0]
            dev = a0._device if isinstance(a0, Tensor) else _device_of(args)
            if type(raw) is tuple:
                outs = tuple(_make(r, dev, False, None, 0, None) for r in raw)
            else:
                outs = _make(raw, dev, False, None, 0, None)
                if "replay" in ctx.__dict__:
                    _link_view(a0, outs, ctx.replay)
        else:
            prev = _state.grad
            _state.grad = False
            try:
                outs = cls.forward(ctx, *args, **kwargs)
            finally:
                _state.grad = prev
            dirty = ctx.__dict__.get("_dirty")
            outs = _user_outputs(args, outs, dirty)
            if record:
                # what the engine checks this Function's gradients against
                ctx._in_meta = tuple((a._data.shape, a._data.dtype) if isinstance(a, Tensor)
                                     else None for a in args)
                ctx.next_functions = tuple(edges)
                _record(ctx, outs)
                # what the engine zero-fills a missing output gradient with (materialize_grads)
                if isinstance(outs, Tensor):
                    ctx._out_meta = [(outs._data.shape, outs._data.dtype)]
                ctx._out_device = next((o._device for o in (outs if type(outs) is tuple
                                                            else (outs,))
                                        if isinstance(o, Tensor)), None)
                if dirty:
                    _rebase_dirty(outs, dirty)
            if _hooks:
                for h in _hooks:
                    h(ctx if record else None, cls, args, kwargs, outs)
            return outs

        if record:
            ctx.next_functions = tuple(edges)
            _record(ctx, outs)
        if _hooks:
            for h in _hooks:
                h(ctx if record else None, cls, args, kwargs, outs)
        return outs


def _link_view(inp: Tensor, out: Tensor, replay) -> None:
    """``out`` shares memory with ``inp``: share the version counter and remember how to
    rebuild ``out`` from the root base (used when ``out`` or its base is later modified in
    place).

    The chain of view ops is a linked list ``(parent, replay, depth)`` that shares its prefix
    with ``inp``'s chain, so taking a view costs O(1) however deep the nesting; a deep chain
    whose view is a contiguous block of a contiguous base collapses to three ops
    (ops/inplace.py: ``collapse_chain``)."""
    x = inp._x
    base = x.get("base") if x else None
    if base is None:
        base, chain = inp, (None, replay, 1)
    else:
        prev = x["chain"]
        chain = (prev, replay, prev[2] + 1)
        if chain[2] > 8:
            from ..ops.inplace import collapse_chain
            chain = collapse_chain(base, out, chain)
    vc = base._vc
    if vc is None:
        vc = base._vc = [0]
    out._vc = vc
    ox = out._x = {"base": base, "chain": chain}
    if _state.grad:
        if x and "multi" in x:  # a view of an output of split/chunk/unbind (ops/shape.py)
            ox["multi"] = (None, x["multi"][1])
        if out._data.dtype.kind in "fV" and not (base._requires_grad and base.grad_fn is None):
            # a view of a non-leaf, or of a plain tensor that may get a history later: an
            # in-place op on the base (or on another of its views) must re-point this
            # view's grad_fn (ops/inplace.py: _refresh_views).  Leaves that require grad
            # cannot be modified in place while recording, so their views are not tracked.
            bx = base._x
            if bx is None:
                bx = base._x = {}
            refs = bx.get("views")
            if refs is None:
                bx["views"] = [_weakref(out)]
                return
            n = len(refs)
            if n >= 64 and n >= bx.get("views_cap", 64):  # drop dead entries, amortized O(1)
                refs[:] = [r for r in refs if r() is not None]
                bx["views_cap"] = 2 * len(refs)
            refs.append(_weakref(out))


def replay_view(t: Tensor, chain) -> Tensor:
    """Apply a view's recorded chain of view ops (see ``_link_view``) to another tensor of
    the base's shape."""
    ops = []
    while chain is not None:
        chain, fn_arg = chain[0], chain[1]
        ops.append(fn_arg)
    for fn, arg in reversed(ops):
        t = fn(t, arg)
    return t


def _device_of(args):
    for a in args:
        if isinstance(a, Tensor):
            return a._device
    from ..device import CPU
    return CPU


def _user_outputs(args, outs, dirty=None):
    """Outputs of a user forward: an input returned as-is becomes a fresh alias (PyTorch
    does the same), so that recording a grad_fn never rewires the caller's input -- unless
    forward modified it in place and said so (``ctx.mark_dirty``): then it is returned
    itself, and gets this node as its grad_fn."""
    single = not isinstance(outs, tuple)
    seq = (outs,) if single else outs
    ids = {id(a) for a in args if isinstance(a, Tensor)}
    fixed = []
    for o in seq:
        if isinstance(o, Tensor):
            if dirty and id(o) in dirty and id(o) in ids:
                if _state.grad:
                    base = o._base
                    if o._requires_grad and o.grad_fn is None:
                        raise RuntimeError("a leaf Variable that requires grad has been used in "
                                           "an in-place operation.")
                    if base is not None and base._requires_grad and base.grad_fn is None:
                        raise RuntimeError("a view of a leaf Variable that requires grad is "
                                           "being used in an in-place operation.")
                if o._vc is None:
                    o._vc = [0]
                o._vc[0] += 1
            elif id(o) in ids or o.grad_fn is not None or o._requires_grad:
                o = _make(o._data, o._device, False, None, 0, o._vc)
        fixed.append(o)
    return fixed[0] if single else tuple(fixed)


def _rebase_dirty(outs, dirty) -> None:
    """Dirty outputs now hold this node's result: a dirty view rebases its base (as an
    in-place op on a view does), and other views of the tensor are re-pointed."""
    from ..ops.inplace import _rebase, _refresh_views
    for o in (outs if type(outs) is tuple else (outs,)):
        if isinstance(o, Tensor) and id(o) in dirty and o.grad_fn is not None:
            base = o._base
            if base is not None:
                _rebase(o, base, _make(o._data, o._device, True, o.grad_fn, o._output_nr,
                                       None))
            _refresh_views(base if base is not None else o, o)


def _record(ctx: BackwardNode, outs) -> None:
    """Link the outputs to their node (``ctx``): they require grad if floating point.

    With ``next_functions`` set, this is the one routine that completes a graph node: every
    route that records an op (``Function.apply``, the binary hot path of
    ops/elementwise.py) ends here."""
    m = _module_stack[-1]
    if m is not None:
        ctx._module = m
    if _state.anomaly:
        ctx._trace = "".join(traceback.format_stack()[:-3])
    non_diff = ctx.__dict__.get("_non_diff")
    fcls = ctx._forward_cls
    if type(outs) is not tuple:  # the common case: one output
        if outs._data.dtype.kind in "fV" and (non_diff is None or id(outs) not in non_diff):
            outs._requires_grad = True
            outs.grad_fn = ctx
        if not (fcls._save_output or ctx._saved):
            return
        seq = (outs,)
    else:
        seq = outs
        ctx._n_outputs = len(seq)
        meta = []
        for i, o in enumerate(seq):
            if isinstance(o, Tensor):
                meta.append((o._data.shape, o._data.dtype))
                if o._data.dtype.kind in "fV" and (non_diff is None or id(o) not in non_diff):
                    o._requires_grad = True
                    o.grad_fn = ctx
                    o._output_nr = i
            else:
                meta.append(None)
        ctx._out_meta = meta
    if fcls._save_output:
        o = seq[0]
        if o._vc is None:
            o._vc = [0]
        ctx._saved = (ctx._saved or ()) + ((_make(o._data, o._device, False, None, 0, o._vc),
                                            o._vc[0], 0),)
    elif ctx._saved and not fcls._raw_forward:
        # an output saved in forward must not keep itself alive through its own grad_fn
        ids = {id(o): i for i, o in enumerate(seq) if isinstance(o, Tensor)}
        ctx._saved = tuple(
            (_make(t._data, t._device, False, None, 0, t._vc), t._version, ids[id(t)])
            if t is not None and id(t) in ids and t.grad_fn is ctx else (t, v, n)
            for t, v, n in ctx._saved)


def once_differentiable(fn):
    """Decorator for a backward that is not itself differentiable (runs under no_grad)."""
    def wrapper(ctx, *args):
        prev = _state.grad
        _state.grad = False
        try:
            return fn(ctx, *args)
        finally:
            _state.grad = prev
    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper
