"""Elementwise primitives: unary math, binary arithmetic with broadcasting and type
promotion, ``where``, ``clamp`` and casts.  Each forward is one backend call; each backward
is written in Tensor ops (so it is differentiable again)."""
from __future__ import annotations

from functools import lru_cache
from numbers import Number

import numpy as np

from .. import _dtype as D
from .._tracing import host_check
from ..autograd.function import Function, _NO_EDGE, _edge, _hooks, _record, _state
from ..tensor import Tensor, _make

# --------------------------------------------------------------------------------------------
# broadcasting


@lru_cache(maxsize=4096)
def broadcast_shapes(a: tuple, b: tuple) -> tuple:
    """The broadcast of two shapes, with PyTorch's error message when they don't match."""
    n = max(len(a), len(b))
    pa = (1,) * (n - len(a)) + a
    pb = (1,) * (n - len(b)) + b
    out = []
    for i, (x, y) in enumerate(zip(pa, pb)):
        if x == y or y == 1:
            out.append(x)
        elif x == 1:
            out.append(y)
        else:
            raise RuntimeError(f"The size of tensor a ({x}) must match the size of tensor b ({y}) "
                               f"at non-singleton dimension {i}")
    return tuple(out)


def sum_to(g: Tensor, shape: tuple) -> Tensor:
    """Sum a broadcast gradient back down to ``shape`` (the inverse of broadcasting)."""
    gs = g._data.shape
    if gs == shape:
        return g
    lead = len(gs) - len(shape)
    axes = tuple(range(lead)) + tuple(i + lead for i, s in enumerate(shape)
                                      if s == 1 and gs[i + lead] != 1)
    if axes:
        g = g.sum(axes, keepdim=True)
    return g.reshape(shape)


def _device_error(a: Tensor, b: Tensor):
    return RuntimeError(f"Expected all tensors to be on the same device, but found at least two "
                        f"devices, {a._device} and {b._device}!")


def _check_scalar(x, opname):
    if isinstance(x, (bool, int, float, np.bool_, np.integer, np.floating)):
        return
    raise TypeError(f"{opname}(): unsupported operand type: expected a Tensor or a Python number, "
                    f"got {type(x).__name__}")


def _cast(x, dt: D.dtype, be):
    return x if x.dtype is dt.np or x.dtype == dt.np else be.astype(x, dt)


def _promote(ctx, a, b, opname, to_float=False):
    """Raw operands of a binary op in their common dtype; records the input dtypes on ctx
    when a cast happened, so backward can cast gradients back."""
    at = isinstance(a, Tensor)
    bt = isinstance(b, Tensor)
    if at and bt:
        if a._device is not b._device:
            raise _device_error(a, b)
        x, y = a._data, b._data
        if x.dtype is y.dtype and not (to_float and x.dtype.kind not in "fV"):
            return x, y, a._device._be
        rt = D.result_type(a, b)
    elif at:
        _check_scalar(b, opname)
        x, y = a._data, b
        rt = D.result_type(a, b)
        if rt.np == x.dtype and not (to_float and x.dtype.kind not in "fV"):
            if rt.itemsize == 2:  # float16/bfloat16: the scalar stays float32 (opmath)
                ctx._opmath = rt
                return x, np.float32(y), a._device._be
            return x, (rt.np.type(y) if rt.category else y), a._device._be
    else:
        _check_scalar(a, opname)
        x, y = a, b._data
        rt = D.result_type(a, b)
        if rt.np == y.dtype and not (to_float and y.dtype.kind not in "fV"):
            if rt.itemsize == 2:
                ctx._opmath = rt
                return np.float32(x), y, b._device._be
            return (rt.np.type(x) if rt.category else x), y, b._device._be
    if to_float and not rt.is_floating_point:
        rt = D.get_default_dtype()
    be = (a if at else b)._device._be
    x = _cast(x, rt, be) if at else rt.np.type(x)
    y = _cast(y, rt, be) if bt else rt.np.type(y)
    return x, y, be


def _shape_error(a, b):
    sa = a._data.shape if isinstance(a, Tensor) else ()
    sb = b._data.shape if isinstance(b, Tensor) else ()
    broadcast_shapes(sa, sb)  # raises the PyTorch-style message


def _meta(t):
    """(shape, numpy dtype) of a tensor input: what its gradient must look like."""
    return (t._data.shape, t._data.dtype) if isinstance(t, Tensor) else None


def _grad_for(g: Tensor, meta) -> Tensor:
    """Reduce a gradient to an input's shape and cast it to the input's dtype."""
    g = sum_to(g, meta[0])
    if g._data.dtype != meta[1]:
        g = cast(g, D._BY_NP[meta[1]])
    return g


class _Binary(Function):
    _raw_forward = True
    op = ""
    to_float = False

    @classmethod
    def forward(cls, ctx, a, b):
        if (isinstance(a, Tensor) and isinstance(b, Tensor) and a._data.dtype is b._data.dtype
                and a._device is b._device and (a._data.dtype.kind in "fV" or not cls.to_float)):
            x = a._data
            y = b._data
            be = a._device._be
            ctx._in = ((x.shape, x.dtype), (y.shape, y.dtype))
        else:
            x, y, be = _promote(ctx, a, b, cls.op, cls.to_float)
            ctx._in = (_meta(a), _meta(b))
        if cls._saves:
            cls._save(ctx, a, b)
        try:
            if ctx.__dict__.get("_opmath") is not None:  # a 16-bit float with a Python scalar:
                r = be.binary(cls.op, x, y)              # computed in float32, rounded once
                return be.astype(r, ctx._opmath) if r.dtype == np.float32 else r
            return be.binary(cls.op, x, y)
        except ValueError:
            _shape_error(a, b)
            raise

    _saves = False

    @staticmethod
    def _save(ctx, a, b):
        """Keep both operands for backward (tensors as saved tensors, scalars as values)."""
        at, bt = isinstance(a, Tensor), isinstance(b, Tensor)
        ctx.save_for_backward(a if at else None, b if bt else None)
        ctx.scalars = (None if at else a, None if bt else b)


class Add(_Binary):
    op = "add"

    @staticmethod
    def backward(ctx, g):
        return ctx.a_grad(g), ctx.b_grad(g)


class Sub(_Binary):
    op = "sub"

    @classmethod
    def forward(cls, ctx, a, b):
        ba, bb = _is_bool(a), _is_bool(b)
        if ba and bb:
            raise RuntimeError("Subtraction, the `-` operator, with two bool tensors is not "
                               "supported. Use the `^` or `logical_xor()` operator instead.")
        if ba or bb:  # PyTorch refuses a bool on either side, a Python bool included
            raise RuntimeError("Subtraction, the `-` operator, with a bool tensor is not "
                               "supported. If you are trying to invert a mask, use the `~` or "
                               "`logical_not()` operator instead.")
        return super().forward.__func__(cls, ctx, a, b)

    @staticmethod
    def backward(ctx, g):
        return ctx.a_grad(g), ctx.b_grad(-g if ctx.needs_input_grad[1] else None)


class Mul(_Binary):
    op = "mul"
    _saves = True

    @staticmethod
    def _save(ctx, a, b):
        # d(ab)/da needs only b and d(ab)/db only a: save just what will be used, so that
        # `y.mul_(2)` on a tensor that needs no gradient of its own stays legal
        at, bt = isinstance(a, Tensor), isinstance(b, Tensor)
        nig = ctx.needs_input_grad
        ctx.save_for_backward(a if at and nig[1] else None, b if bt and nig[0] else None)
        ctx.scalars = (None if at else a, None if bt else b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        sa, sb = ctx.scalars
        ga = ctx.a_grad(g * (b if b is not None else sb)) if ctx.needs_input_grad[0] else None
        gb = ctx.b_grad(g * (a if a is not None else sa)) if ctx.needs_input_grad[1] else None
        return ga, gb


class Div(_Binary):
    op = "div"
    to_float = True
    _saves = True

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        sa, sb = ctx.scalars
        bb = b if b is not None else sb
        ga = ctx.a_grad(g / bb) if ctx.needs_input_grad[0] else None
        gb = None
        if ctx.needs_input_grad[1]:
            aa = a if a is not None else sa
            gb = ctx.b_grad(-g * aa / (bb * bb))
        return ga, gb


_ROOT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64), D.bfloat16.np)


class Pow(_Binary):
    op = "pow"
    _saves = True

    @classmethod
    def forward(cls, ctx, a, b):
        if _is_bool(a) and _is_bool(b):  # (a bool tensor with a Python bool: see pow())
            raise NotImplementedError('"pow" not implemented for \'Bool\'')
        # PyTorch's pow casts a Python float to a float16/bfloat16 tensor's dtype (the other
        # binary ops keep it in float32): bfloat16 x ** 1.004 is x ** 1.0078125, and the
        # backward's x ** (1e-3 - 1) is x ** -1.0 (so -inf at -0.0)
        low = next((t for t in (a, b) if t.__class__ is Tensor and t._data.dtype.itemsize == 2
                    and t._data.dtype.kind in "fV"), None)
        if low is not None:
            a, b = (float(low.dtype.np.type(v)) if v.__class__ is float else v for v in (a, b))
        if (b.__class__ is float and (b == 0.5 or b == -0.5) and a.__class__ is Tensor
                and a._data.dtype in _ROOT_DTYPES):
            # PyTorch computes float/double/bfloat16 (not half) x ** 0.5 as sqrt(x) and
            # x ** -0.5 as rsqrt(x):
            # sqrt(-0.) = -0., rsqrt(-0.) = -inf, NaN at -inf (pow: +0, +inf, +inf / 0).
            # The backward's x ** -0.5 (for ** 0.5) comes here too: its gradient at -0.
            cls._save(ctx, a, b)
            ctx._in = (_meta(a), None)
            return a._device._be.unary("sqrt" if b > 0 else "rsqrt", a._data)
        return super().forward.__func__(cls, ctx, a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        sa, sb = ctx.scalars
        ga = gb = None
        if ctx.needs_input_grad[0]:
            if b is None:  # scalar exponent
                if sb == 0:
                    ga = _zeros_like(g)
                elif sb == 1:
                    ga = g
                elif sb == 2:
                    ga = g * (a * 2.0)
                else:
                    ga = g * sb * a ** (sb - 1)
            else:
                ga = g * b * where(b == 0, 1.0, a) ** (b - 1)
                ga = where(b == 0, 0.0, ga)  # (PyTorch's where: 0 even for an infinite g)
            ga = ctx.a_grad(ga)
        if ctx.needs_input_grad[1]:
            base = a if a is not None else sa
            out = base ** b
            if isinstance(base, Tensor):
                # d/db a**b = a**b * log(a), defined as 0 where a == 0 and b >= 0
                safe = where((base == 0) & (b >= 0), 1.0, base)
                # (PyTorch's: g times the masked factor, so an infinite g gives NaN there)
                gb = g * where((base == 0) & (b >= 0), 0.0, out * safe.log())
            else:
                if base != 0:
                    gb = g * (out * float(np.log(base)))
                else:  # PyTorch's: 0 where b >= 0, else 0**b · log 0 = inf · -inf
                    gb = g * where(b >= 0, 0.0, out * float("-inf"))
            gb = ctx.b_grad(gb)
        return ga, gb


class _TieSplit(_Binary):
    """maximum / minimum: the gradient goes to the larger (smaller) input, split on ties.
    PyTorch's formula exactly: an input gets ``g`` unless it lost (``g / 2`` on a tie), so
    where a NaN is involved (no comparison holds) both inputs get ``g``."""
    _saves = True
    wins = ""

    @classmethod
    def backward(cls, ctx, g):
        a, b = ctx.saved_tensors
        sa, sb = ctx.scalars
        aa = a if a is not None else sa
        bb = b if b is not None else sb
        tie = aa == bb
        half = g * 0.5
        ga = gb = None
        if ctx.needs_input_grad[0]:
            lost = (aa < bb) if cls.wins == "gt" else (aa > bb)
            ga = ctx.a_grad(where(tie, half, where(lost, 0.0, g)))
        if ctx.needs_input_grad[1]:
            lost = (aa > bb) if cls.wins == "gt" else (aa < bb)
            gb = ctx.b_grad(where(tie, half, where(lost, 0.0, g)))
        return ga, gb


class Maximum(_TieSplit):
    op = "maximum"
    wins = "gt"


class Minimum(_TieSplit):
    op = "minimum"
    wins = "lt"


def _is_bool(t) -> bool:
    return (t._data.dtype.kind == "b") if isinstance(t, Tensor) else isinstance(t, (bool,
                                                                                   np.bool_))


def _check_int_zero_division(a, b) -> None:
    """Integer // and % by zero raise, as in PyTorch (NumPy would return 0 with a warning)."""
    ints = all((t._data.dtype.kind in "iub") if isinstance(t, Tensor) else
               isinstance(t, (int, np.integer)) for t in (a, b))
    if not ints or any(isinstance(t, Tensor) and not t._data.size for t in (a, b)):
        return  # (an empty result divides nothing: PyTorch does not raise)
    if isinstance(b, Tensor):
        _check_no_zero(b._device._be, b._data)
    elif b == 0:
        raise RuntimeError("ZeroDivisionError")


@host_check
def _check_no_zero(be, x) -> None:
    if bool(be.to_numpy(be.reduce("any", be.binary("eq", x, x.dtype.type(0)),
                                  tuple(range(x.ndim)), False))):
        raise RuntimeError("ZeroDivisionError")


class _IntDivision(_Binary):
    @classmethod
    def forward(cls, ctx, a, b):
        _check_int_zero_division(a, b)
        return super().forward.__func__(cls, ctx, a, b)


class Remainder(_IntDivision):
    op = "remainder"
    _saves = True

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        sa, sb = ctx.scalars
        gb = None
        if ctx.needs_input_grad[1]:
            if a is None and sa is not None:  # number % tensor: PyTorch has no derivative
                raise RuntimeError("derivative for aten::remainder is not implemented")
            gb = ctx.b_grad(-g * floor_divide(a if a is not None else sa, b))
        return ctx.a_grad(g), gb


class Fmod(_IntDivision):
    """C's fmod: the remainder of the truncating division, with the sign of the dividend."""
    op = "fmod"
    _saves = True

    @staticmethod
    def _save(ctx, a, b):
        at, bt = isinstance(a, Tensor), isinstance(b, Tensor)
        nig = ctx.needs_input_grad
        ctx.save_for_backward(a if at and nig[1] else None, b if bt and nig[1] else None)
        ctx.scalars = (None if at else a, None if bt else b)

    @staticmethod
    def backward(ctx, g):
        gb = None
        if ctx.needs_input_grad[1]:  # PyTorch: -grad * self.div(other, rounding_mode="trunc")
            a, b = ctx.saved_tensors
            gb = ctx.b_grad(-g * div(a if a is not None else ctx.scalars[0], b,
                                     rounding_mode="trunc"))
        return ctx.a_grad(g), gb


class FloorDivide(_IntDivision):
    """``floor_divide`` / ``//``: PyTorch defines no derivative, its backward raises."""
    op = "floor_divide"

    @staticmethod
    def backward(ctx, g):
        raise RuntimeError("derivative for aten::floor_divide is not implemented")


class DivFloor(FloorDivide):
    """``div(rounding_mode='floor')``: the same values; PyTorch's gradient is zero."""

    @staticmethod
    def backward(ctx, g):
        z = _zeros_like(g)
        return ctx.a_grad(z), ctx.b_grad(z)


def _nondiff_binary(name):
    return type(name.title().replace("_", ""), (_Binary,), {
        "op": name, "backward": staticmethod(lambda ctx, g: (None, None)),
        "__module__": __name__})


_CMP = {n: _nondiff_binary(n) for n in ("eq", "ne", "lt", "le", "gt", "ge",
                                        "bitwise_and", "bitwise_or", "bitwise_xor")}


def _a_grad(ctx, g):
    if g is None or not ctx.needs_input_grad[0]:
        return None
    return _grad_for(g, ctx._in[0])


def _b_grad(ctx, g):
    if g is None or not ctx.needs_input_grad[1]:
        return None
    return _grad_for(g, ctx._in[1])


for _cls in (Add, Sub, Mul, Div, Pow, Maximum, Minimum, Remainder, Fmod, FloorDivide,
             DivFloor):
    _cls._backward_cls.a_grad = _a_grad
    _cls._backward_cls.b_grad = _b_grad


# --------------------------------------------------------------------------------------------
# user-facing binary functions (Tensor methods and minitorch.* functions)

_BOOL_KERNEL = {"floor_divide": "div_floor_cpu"}  # PyTorch's kernel names for bool // bool


def _binary_fn(cls, name):
    op = cls.op
    to_float = cls.to_float
    check_zero = issubclass(cls, _IntDivision)

    def fn(self, other):
        if check_zero:
            if _is_bool(self) and _is_bool(other):
                raise NotImplementedError(f'"{_BOOL_KERNEL.get(op, op + "_cpu")}" not '
                                          f"implemented for 'Bool'")
            _check_int_zero_division(self, other)
        if isinstance(other, Tensor) and isinstance(self, Tensor):
            x = self._data
            y = other._data
            if (x.dtype is y.dtype and self._device is other._device
                    and not (to_float and x.dtype.kind not in "fV")):
                if not (_state.grad and (self._requires_grad or other._requires_grad)
                        or _hooks):
                    # fastest path: nothing to record, nobody watching
                    be = self._device._be
                    try:
                        r = be.binary_table[op](x, y)
                        if r.__class__ is not be.array_type:
                            r = be.asarray(r)
                        return _make(r, self._device, False, None, 0, None)
                    except ValueError:
                        _shape_error(self, other)
                        raise
                    except TypeError:  # e.g. bool - bool: let the op say it PyTorch's way
                        return cls.apply(self, other)
                if not _hooks and not _state.anomaly:
                    return _record_binary(cls, self, other, x, y)
            return cls.apply(self, other)
        if (type(other) is float or type(other) is int) and isinstance(self, Tensor):
            r = _scalar_fast(self, other, op, to_float, False)
            if r is not None:
                return r
        return _apply_binary(cls, self, other)
    fn.__name__ = name
    return fn


def _scalar_fast(t: Tensor, s, op: str, to_float: bool, reflected: bool):
    """``t op s`` (or ``s op t``) for a Python float/int when nothing is recorded and the
    result keeps t's dtype (a float tensor, or an int tensor with an int): one backend call.
    Returns None when the general path must decide (promotion, autograd, hooks)."""
    x = t._data
    k = x.dtype.char  # float16 ('e') and bfloat16 take the general path: scalar opmath
    if ((_state.grad and t._requires_grad) or _hooks
            or not (k in "fd" or (k in "ilq" and type(s) is int and not to_float))):
        return None
    be = t._device._be
    try:
        r = be.binary_table[op](s, x) if reflected else be.binary_table[op](x, s)
    except (ValueError, TypeError, OverflowError):
        return None
    if r.__class__ is not be.array_type:
        r = be.asarray(r)
    return _make(r, t._device, False, None, 0, None)


def reflected_fn(cls):
    """``scalar op tensor`` (``__rsub__``, ``__rtruediv__`` ...)."""
    op = cls.op
    to_float = cls.to_float
    check_zero = issubclass(cls, _IntDivision)

    def fn(self, other):
        if check_zero:
            if _is_bool(self) and _is_bool(other):  # (True // bool_tensor, as _binary_fn)
                raise NotImplementedError(f'"{_BOOL_KERNEL.get(op, op + "_cpu")}" not '
                                          f"implemented for 'Bool'")
            _check_int_zero_division(other, self)
        if type(other) is float or type(other) is int:
            r = _scalar_fast(self, other, op, to_float, True)
            if r is not None:
                return r
        return _apply_binary(cls, other, self)
    return fn


def _record_binary(cls, a, b, x, y):
    """``cls.apply(a, b)`` specialized to two tensors of one dtype and device with autograd
    recording on and no hooks or anomaly mode: the hot path of training.  It skips apply's
    general argument loop, and completes the node with the same ``_edge``/``_record``."""
    ctx = cls._backward_cls()
    ra = a._requires_grad
    rb = b._requires_grad
    ctx.needs_input_grad = (ra, rb)
    ctx._in = ((x.shape, x.dtype), (y.shape, y.dtype))
    if cls._saves:
        cls._save(ctx, a, b)
    be = a._device._be
    try:
        r = be.binary(cls.op, x, y)
    except ValueError:
        _shape_error(a, b)
        raise
    ctx.next_functions = (_edge(a) if ra else _NO_EDGE, _edge(b) if rb else _NO_EDGE)
    out = _make(r, a._device, False, None, 0, None)
    _record(ctx, out)
    return out


def _apply_binary(cls, a, b):
    if not isinstance(b, Tensor) and not isinstance(b, (Number, np.bool_, np.number)):
        return NotImplemented
    return cls.apply(a, b)


binary_add = _binary_fn(Add, "__add__")
binary_sub = _binary_fn(Sub, "__sub__")
binary_mul = _binary_fn(Mul, "__mul__")
binary_div = _binary_fn(Div, "__truediv__")
binary_pow = _binary_fn(Pow, "__pow__")
_maximum = _binary_fn(Maximum, "maximum")
_minimum = _binary_fn(Minimum, "minimum")


def _tensor_other(name, fn):
    def op(input, other):
        if not isinstance(other, Tensor):  # PyTorch: only Tensor overloads
            raise TypeError(f"{name}(): argument 'other' must be Tensor, not "
                            f"{type(other).__name__}")
        return fn(input, other)
    op.__name__ = name
    return op


maximum = _tensor_other("maximum", _maximum)
minimum = _tensor_other("minimum", _minimum)
remainder = _binary_fn(Remainder, "remainder")
floor_divide = _binary_fn(FloorDivide, "floor_divide")
_div_floor = _binary_fn(DivFloor, "div")
_fmod = _binary_fn(Fmod, "fmod")


def fmod(input, other):
    """C's fmod (``torch.fmod``): ``input - trunc(input / other) * other``, the sign of
    ``input``; integer division by zero raises."""
    if not isinstance(input, Tensor):
        raise TypeError(f"fmod(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")
    if isinstance(other, (Tensor, Number, np.bool_, np.number)) and \
            D.result_type(input, other) is D.bool:
        raise NotImplementedError('"fmod_cpu" not implemented for \'Bool\'')
    return _fmod(input, other)
eq = _binary_fn(_CMP["eq"], "eq")
ne = _binary_fn(_CMP["ne"], "ne")
lt = _binary_fn(_CMP["lt"], "lt")
le = _binary_fn(_CMP["le"], "le")
gt = _binary_fn(_CMP["gt"], "gt")
ge = _binary_fn(_CMP["ge"], "ge")


def _bitwise(name):
    f = _binary_fn(_CMP[name], name)

    def fn(self, other):
        if isinstance(other, (Tensor, Number, np.bool_, np.number)):
            rt = D.result_type(self, other)  # PyTorch names the promoted dtype
            if rt.is_floating_point:
                raise NotImplementedError(f'"{name}_cpu" not implemented for '
                                          f"'{rt.pt_name}'")
        return f(self, other)
    fn.__name__ = name
    return fn


bitwise_and = _bitwise("bitwise_and")
bitwise_or = _bitwise("bitwise_or")
bitwise_xor = _bitwise("bitwise_xor")


def _alpha(input, other, alpha):
    """other * alpha with PyTorch's dtype rules: the result dtype is that of input + other
    (bool + bool stays bool), a float alpha refused for integral operands."""
    rt = D.result_type(input, other)
    if isinstance(alpha, float) and not rt.is_floating_point:
        raise RuntimeError("For integral input tensors, argument alpha must not be a floating "
                           "point number.")
    if rt is D.bool:
        alpha = bool(alpha)
        return other if alpha else other & False
    if isinstance(other, Tensor) and other.dtype is not rt and rt.is_floating_point:
        other = other.to(rt)  # in the result dtype first: 0 * -1 is -0.0 there, as PyTorch's
    scaled = other * alpha
    if isinstance(scaled, Tensor) and scaled.dtype is not rt and scaled.dim():
        scaled = scaled.to(rt)  # int other * float alpha: in input's float dtype, as PyTorch
    return scaled


def add(input, other, *, alpha=1):
    if alpha != 1:
        other = _alpha(input, other, alpha)
    return binary_add(input, other)


def sub(input, other, *, alpha=1):
    if alpha != 1 and not (_is_bool(input) or _is_bool(other)):  # (a bool: sub's own error)
        other = _alpha(input, other, alpha)
    return binary_sub(input, other)


class _ZeroGrad(Function):
    """``value`` (computed without a graph) as a piecewise-constant function of ``a`` and
    ``b``: their gradients are zeros (PyTorch's for ``div(rounding_mode='trunc')``)."""
    _raw_forward = True

    @staticmethod
    def forward(ctx, value, a, b):
        ctx.like = tuple(t if isinstance(t, Tensor) else None for t in (a, b))
        return value._data

    @staticmethod
    def backward(ctx, g):
        return (None,) + tuple(None if t is None else _zeros_like(t) for t in ctx.like)


def div(input, other, *, rounding_mode=None):
    if rounding_mode is None:
        return binary_div(input, other)
    if rounding_mode == "floor":
        return _div_floor(input, other)
    if rounding_mode == "trunc":
        if _is_bool(input) and _is_bool(other):
            raise NotImplementedError("\"div_trunc_cpu\" not implemented for 'Bool'")
        _check_int_zero_division(input, other)
        a, b = (t.detach() if isinstance(t, Tensor) else t for t in (input, other))
        q = binary_div(a, b)
        q = where(q < 0, ceil(q), floor(q))
        rt = D.result_type(input, other)
        q = q if rt.is_floating_point else cast(q, rt)
        if any(isinstance(t, Tensor) and t._requires_grad for t in (input, other)):
            q = _ZeroGrad.apply(q, input, other)  # PyTorch: a zero gradient (not 0 * inf)
        return q
    raise ValueError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but "
                     f"found '{rounding_mode}'")


def pow(input, exponent):  # noqa: A001
    if not isinstance(input, Tensor):
        return _apply_binary(Pow, input, exponent)
    if exponent.__class__ is float and (exponent == 0.5 or exponent == -0.5):
        return Pow.apply(input, exponent)  # (sqrt / rsqrt there, not the scalar fast path)
    if isinstance(exponent, (int, np.integer)) and not isinstance(exponent, (bool, np.bool_)):
        # an integer result with a negative Python exponent (a negative exponent *tensor*
        # is computed: 0 except for bases 1 and -1, as in PyTorch)
        if exponent < 0 and input._data.dtype.kind in "iub":
            raise RuntimeError("Integers to negative integer powers are not allowed.")
    elif input._data.dtype.kind == "b":
        if isinstance(exponent, bool):
            # bool ** bool scalar stays bool (x ** False is all True, x ** True is x)
            return input.clone() if exponent else input.new_ones(input.shape)
        if isinstance(exponent, Tensor) and exponent._data.dtype.kind == "b":
            raise NotImplementedError('"pow" not implemented for \'Bool\'')
    return binary_pow(input, exponent)


# --------------------------------------------------------------------------------------------
# unary


class _Unary(Function):
    _raw_forward = True
    op = ""
    to_float = False   # int inputs are computed in the default float dtype (torch.exp(int))
    refuse = ""        # dtype kinds PyTorch refuses ("b": -bool, abs(bool), relu(bool))

    @classmethod
    def forward(cls, ctx, a):
        x = a._data
        be = a._device._be
        if x.dtype.kind in cls.refuse:
            exc, msg = _REFUSED[cls.op]
            raise exc(msg)
        if cls.to_float and x.dtype.kind not in "fV":
            x = be.astype(x, D.get_default_dtype())
        if cls._saves_input:
            ctx.save_for_backward(a)
        return be.unary(cls.op, x)

    _saves_input = False


def _unary(name, backward, to_float=True, saves_input=False, save_output=False, refuse=""):
    cls = type(name.title().replace("_", ""), (_Unary,), {
        "op": name, "to_float": to_float, "_saves_input": saves_input,
        "_save_output": save_output, "backward": staticmethod(backward),
        "refuse": refuse, "__module__": __name__})
    return cls


# what PyTorch raises for the dtypes a unary op refuses (its words)
_REFUSED = {
    "neg": (RuntimeError, "Negation, the `-` operator, on a bool tensor is not supported. If "
                          "you are trying to invert a mask, use the `~` or `logical_not()` "
                          "operator instead."),
    "abs": (NotImplementedError, '"abs_cpu" not implemented for \'Bool\''),
    "relu": (RuntimeError, "Boolean inputs not supported for relu"),
    "round": (NotImplementedError, '"round_vml_cpu" not implemented for \'Bool\''),
    "floor": (NotImplementedError, '"floor_vml_cpu" not implemented for \'Bool\''),
    "ceil": (NotImplementedError, '"ceil_vml_cpu" not implemented for \'Bool\''),
}


def _saved(ctx):
    return ctx.saved_tensors[0]


Neg = _unary("neg", lambda ctx, g: -g, to_float=False, refuse="b")
Exp = _unary("exp", lambda ctx, g: g * _saved(ctx), save_output=True)
Expm1 = _unary("expm1", lambda ctx, g: g * (_saved(ctx) + 1), save_output=True)
Log = _unary("log", lambda ctx, g: g / _saved(ctx), saves_input=True)
Log1p = _unary("log1p", lambda ctx, g: g / (_saved(ctx) + 1), saves_input=True)
Sqrt = _unary("sqrt", lambda ctx, g: g / (2 * _saved(ctx)), save_output=True)
Rsqrt = _unary("rsqrt", lambda ctx, g: -0.5 * g * _saved(ctx) ** 3, save_output=True)
Abs = _unary("abs", lambda ctx, g: g * _saved(ctx).sign(), to_float=False, saves_input=True,
             refuse="b")
Sin = _unary("sin", lambda ctx, g: g * _saved(ctx).cos(), saves_input=True)
Cos = _unary("cos", lambda ctx, g: -g * _saved(ctx).sin(), saves_input=True)
Tanh = _unary("tanh", lambda ctx, g: g * (1 - _saved(ctx) ** 2), save_output=True)
Tan = _unary("tan", lambda ctx, g: g * (1 + _saved(ctx) ** 2), save_output=True)  # (PyTorch's)
Sigmoid = _unary("sigmoid", lambda ctx, g: _sigmoid_backward(g, _saved(ctx)), save_output=True)
Relu = _unary("relu", lambda ctx, g: ThresholdBackward.apply(g, _saved(ctx)), to_float=False,
              save_output=True, refuse="b")
def _zero_grad(ctx, g):
    """The gradient of a piecewise-constant op: zeros (not ``g * 0``, NaN where g is inf)."""
    return _zeros_like(g)


Sign = _unary("sign", _zero_grad, to_float=False)
Floor = _unary("floor", _zero_grad, to_float=False, refuse="b")
Ceil = _unary("ceil", _zero_grad, to_float=False, refuse="b")
Round = _unary("round", _zero_grad, to_float=False, refuse="b")
LogicalNot = _unary("logical_not", lambda ctx, g: None, to_float=False)
BitwiseNot = _unary("bitwise_not", lambda ctx, g: None, to_float=False)
Isnan = _unary("isnan", lambda ctx, g: None, to_float=False)


class ThresholdBackward(Function):
    """ReLU's backward, ``g where out > 0 else 0``, as one op (PyTorch's threshold_backward);
    itself differentiable in ``g`` for double backward."""
    _raw_forward = True

    @staticmethod
    def forward(ctx, g, out):
        be = g._device._be
        ctx.save_for_backward(out)
        o = out._data
        # ``out <= 0`` (not ``out > 0``): a NaN output passes its gradient on, as in PyTorch
        return be.where(be.binary("le", o, o.dtype.type(0)), g._data.dtype.type(0), g._data)

    @staticmethod
    def backward(ctx, gg):
        (out,) = ctx.saved_tensors
        # d/d(out) is zero almost everywhere: a zero gradient (PyTorch's ZeroTensor), not
        # None, so that a third-order pass still reaches the relu's input
        gout = _zeros_like(out) if ctx.needs_input_grad[1] else None
        return ThresholdBackward.apply(gg, out), gout


def _zeros_like(t: Tensor) -> Tensor:
    d = t._data
    return _make(t._device._be.full(d.shape, 0, D._BY_NP[d.dtype]), t._device, False, None, 0,
                 None)


def _sigmoid_backward(g, y):
    return g * y * (1 - y)


def _unary_fn(cls, name):
    op = cls.op
    # dtype kinds that take the full path through apply: cast to float first, or refused
    slow = "biu" if cls.to_float else cls.refuse

    def fn(self):
        if not isinstance(self, Tensor):
            raise TypeError(f"{name}(): argument 'input' must be Tensor, not {type(self).__name__}")
        if not (_state.grad and self._requires_grad) and not _hooks and \
                self._data.dtype.kind not in slow:
            return _make(self._device._be.unary(op, self._data), self._device, False, None, 0,
                         None)
        return cls.apply(self)
    fn.__name__ = name
    return fn


neg = _unary_fn(Neg, "neg")
exp = _unary_fn(Exp, "exp")
expm1 = _unary_fn(Expm1, "expm1")
log = _unary_fn(Log, "log")
log1p = _unary_fn(Log1p, "log1p")
sqrt = _unary_fn(Sqrt, "sqrt")
rsqrt = _unary_fn(Rsqrt, "rsqrt")
abs = _unary_fn(Abs, "abs")  # noqa: A001
sin = _unary_fn(Sin, "sin")
cos = _unary_fn(Cos, "cos")
tanh = _unary_fn(Tanh, "tanh")
tan = _unary_fn(Tan, "tan")
sigmoid = _unary_fn(Sigmoid, "sigmoid")
relu = _unary_fn(Relu, "relu")
sign = _unary_fn(Sign, "sign")
floor = _unary_fn(Floor, "floor")
ceil = _unary_fn(Ceil, "ceil")
_round = _unary_fn(Round, "round")
isnan = _unary_fn(Isnan, "isnan")


def logical_not(self):
    return _unary_fn(LogicalNot, "logical_not")(self.bool() if self._data.dtype.kind != "b"
                                                else self)


def bitwise_not(self):
    if self._data.dtype.kind in "fV":
        raise NotImplementedError(f'"bitwise_not_cpu" not implemented for '
                                  f"'{self.dtype.pt_name}'")
    return _unary_fn(BitwiseNot, "bitwise_not")(self)


def invert(self):
    """``~t``: logical not on bool, bitwise not on integers; PyTorch's TypeError on floats."""
    if self._data.dtype.kind == "b":
        return logical_not(self)
    if self._data.dtype.kind in "fV":
        raise TypeError("~ (operator.invert) is only implemented on integer and Boolean-type "
                        "tensors")
    return bitwise_not(self)


def square(self):
    if self._data.dtype.kind == "b":  # PyTorch's square is pow(x, 2): bool becomes int64
        self = cast(self, D.int64)
    return binary_mul(self, self)


def round(input, *, decimals: int = None):  # noqa: A001
    """Round half to even; with ``decimals``, PyTorch's formula: nearbyint(x * 10**d) / 10**d
    (d < 0: nearbyint(x / 10**-d) * 10**-d), with 10**d in the input's dtype."""
    if decimals is None:
        return _round(input)
    if not isinstance(input, Tensor):
        raise TypeError(f"round(): argument 'input' must be Tensor, not {type(input).__name__}")
    if input._data.dtype.kind not in "fV":
        raise NotImplementedError(f'"{"round_vml_cpu" if decimals == 0 else "round_cpu"}" not '
                                  f"implemented for '{input.dtype.pt_name}'")
    if decimals == 0:
        return _round(input)
    scale = float(input._data.dtype.type(10.0) ** input._data.dtype.type(
        decimals if decimals > 0 else -decimals))  # (abs is shadowed in this module)
    if input._data.dtype.itemsize == 2:  # float16/bfloat16: in float32, rounded once (as
        x = input.float()                 # PyTorch's opmath kernel: x·10**d is not rounded)
        r = _round(x * scale) / scale if decimals > 0 else _round(x / scale) * scale
        return r.to(input.dtype)
    if decimals > 0:
        return _round(input * scale) / scale
    return _round(input / scale) * scale


def _logical(name, op):
    def fn(input, other):
        for arg, t in (("input", input), ("other", other)):
            if not isinstance(t, Tensor):
                raise TypeError(f"{name}(): argument '{arg}' must be Tensor, not "
                                f"{type(t).__name__}")
        return op(input.bool() if input._data.dtype.kind != "b" else input,
                  other.bool() if other._data.dtype.kind != "b" else other)
    fn.__name__ = name
    return fn


logical_and = _logical("logical_and", lambda a, b: bitwise_and(a, b))
logical_or = _logical("logical_or", lambda a, b: bitwise_or(a, b))
logical_xor = _logical("logical_xor", lambda a, b: bitwise_xor(a, b))


def isinf(self):
    if self._data.dtype.kind in "biu":  # no infinities: all False (abs refuses bool)
        return self != self
    return abs(self) == float("inf")


def isfinite(self):
    if self._data.dtype.kind in "biu":
        return self == self
    return ~(isnan(self) | isinf(self))


class NanToNum(Function):
    """NaN -> ``nan``, +inf -> ``hi``, -inf -> ``lo``; PyTorch's gradient ``g * isfinite(x)``
    (so a NaN g stays NaN at a replaced position, where a ``where`` would give 0)."""

    @staticmethod
    def forward(ctx, x, nan, hi, lo):
        ctx.save_for_backward(x)
        r = where(isnan(x), nan, x)
        r = where(x == float("inf"), hi, r)
        return where(x == float("-inf"), lo, r)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * isfinite(x).to(g.dtype), None, None, None


def log_base(self, ln_base: float):
    """log2 / log10 as log(x) / ln(base); a float16/bfloat16 x in float32, rounded once
    (rounding log(x) to 16 bits first made bfloat16 log2(2.) 0.99609375, floor 0)."""
    if isinstance(self, Tensor) and self._data.dtype.itemsize == 2 and \
            self._data.dtype.kind in "fV":
        return (log(self.float()) / ln_base).to(self.dtype)
    return log(self) / ln_base


def nan_to_num(self, nan: float = 0.0, posinf=None, neginf=None):
    """NaN -> ``nan``, +inf -> ``posinf``, -inf -> ``neginf`` (by default the dtype's
    largest and lowest finite values), as torch.nan_to_num; integers and bools come back as
    a copy.  The gradient is ``g`` where x is finite, ``0·g`` where it was replaced."""
    if self._data.dtype.kind in "biu":
        return self.clone()
    from .. import _dtype as D
    info = D.finfo(self.dtype)
    hi = info.max if posinf is None else posinf
    lo = info.min if neginf is None else neginf
    return NanToNum.apply(self, nan, hi, lo)


# --------------------------------------------------------------------------------------------
# where, clamp, cast


class Where(Function):
    _raw_forward = True

    @staticmethod
    def forward(ctx, cond, a, b):
        if cond._data.dtype.kind != "b":
            raise RuntimeError(f"where expected condition to be a boolean tensor, but got a tensor "
                               f"with dtype {cond.dtype.name.title()}")
        ts = [t for t in (cond, a, b) if isinstance(t, Tensor)]
        for t in ts[1:]:
            if t._device is not ts[0]._device:
                raise _device_error(ts[0], t)
        vals = [t for t in (a, b)]
        rt = D.result_type(*vals)
        be = cond._device._be
        x = _cast(a._data, rt, be) if isinstance(a, Tensor) else rt.np.type(a)
        y = _cast(b._data, rt, be) if isinstance(b, Tensor) else rt.np.type(b)
        shape = broadcast_shapes(cond._data.shape, broadcast_shapes(
            a._data.shape if isinstance(a, Tensor) else (),
            b._data.shape if isinstance(b, Tensor) else ()))
        ctx.save_for_backward(cond)
        ctx.meta = (_meta(a), _meta(b))
        out = be.where(cond._data, x, y)
        if out.shape != shape:
            out = be.contiguous(be.expand(out, shape))
        return out

    @staticmethod
    def backward(ctx, g):
        (cond,) = ctx.saved_tensors
        ma, mb = ctx.meta
        ga = _grad_for(where(cond, g, 0.0), ma) if ctx.needs_input_grad[1] else None
        gb = _grad_for(where(cond, 0.0, g), mb) if ctx.needs_input_grad[2] else None
        return None, ga, gb


def where(condition, input=None, other=None):  # noqa: A002
    if input is None and other is None:
        from .index import nonzero
        return nonzero(condition, as_tuple=True)
    if not isinstance(condition, Tensor):
        raise TypeError("where(): argument 'condition' must be Tensor")
    return Where.apply(condition, input, other)


class Clamp(Function):
    _raw_forward = True

    @staticmethod
    def forward(ctx, a, lo, hi):
        be = a._device._be
        x = a._data
        if x.dtype.kind not in "fV":  # PyTorch's result type: bool.clamp(0, 1) is int64
            rt = D.result_type(a, *[v for v in (lo, hi) if v is not None])
            if rt is D.bool:
                raise NotImplementedError('"clamp_scalar_cpu" not implemented for \'Bool\'')
            if rt.np != x.dtype:
                x = be.astype(x, rt)
        if lo is not None:
            lo_ = x.dtype.type(lo)
            x = (be.binary("maximum", x, lo_) if lo != 0 or x.dtype.kind not in "fV" else
                 be.where(be.binary("lt", x, lo_), lo_, x))  # (PyTorch keeps x's -0. / +0.)
        if hi is not None:
            hi_ = x.dtype.type(hi)
            x = (be.binary("minimum", x, hi_) if hi != 0 or x.dtype.kind not in "fV" else
                 be.where(be.binary("gt", x, hi_), hi_, x))
        ctx.save_for_backward(a)
        if x.dtype.kind in "fV" and x.dtype.itemsize == 2:  # the bounds as the forward used
            lo, hi = (None if v is None else float(x.dtype.type(v)) for v in (lo, hi))
        ctx.bounds = (lo, hi)  # them: in float16, clamp(min=1e-12) is clamp(min=0)
        return x

    @staticmethod
    def backward(ctx, g):
        (a,) = ctx.saved_tensors
        lo, hi = ctx.bounds
        mask = None
        if lo is not None:
            mask = a >= lo
        if hi is not None:
            m = a <= hi
            mask = m if mask is None else mask & m
        return where(mask, g, 0.0), None, None


def clamp(self, min=None, max=None):  # noqa: A002
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        # PyTorch's clamp with tensor bounds: NaN in x or a bound gives NaN and no gradient;
        # x gets the gradient where min <= x <= max (ties included), a bound where it is
        # the result (max wins over min where min > max)
        rt = D.result_type(*(t for t in (self, min, max) if t is not None))
        out, min, max = (t.to(rt) if isinstance(t, Tensor) and t.dtype is not rt else t
                         for t in (self, min, max))
        if min is not None:
            other = where(out < min, min, float("nan")) if rt.is_floating_point else min
            out = where(out >= min, out, other)
        if max is not None:
            other = where(out > max, max, float("nan")) if rt.is_floating_point else max
            out = where(out <= max, out, other)
        return out
    return Clamp.apply(self, min, max)


class Cast(Function):
    _raw_forward = True

    @staticmethod
    def forward(ctx, a, dt):
        ctx.src = D._BY_NP[a._data.dtype]
        return a._device._be.astype(a._data, dt)

    @staticmethod
    def backward(ctx, g):
        return cast(g, ctx.src), None


def cast(a: Tensor, dt: D.dtype) -> Tensor:
    if a._data.dtype == dt.np:
        return a
    return Cast.apply(a, dt)
