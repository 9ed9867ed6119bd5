"""Activation functions: ``F.relu``, ``F.gelu``, ``F.softmax`` ... (their Modules, ``nn.ReLU``
and the rest, are in nn/activation.py).

Most are composed from Tensor ops (autograd differentiates them).  Four are built-in
Functions: ``softmax`` and ``log_softmax`` (the backend's fused, stable primitives),
``logsigmoid`` (stable for both signs, exact gradient at 0) and ``erf`` (used by the exact
GELU), which the backend contract has no primitive for: it is evaluated here from backend
arithmetic with a Chebyshev fit of erfc, accurate to about 2e-15.
"""
from __future__ import annotations

import math
import warnings
from typing import Optional

from ...amp import autocast_mode as _ac  # issue 18: autocast's one check
from ... import _dtype as D
from ...autograd.function import Function, is_grad_enabled
from ...ops.elementwise import where
from ...ops.inplace import inplace as _inplace
from ...tensor import Tensor, _make, _wrap_dim

__all__ = ["relu", "relu_", "relu6", "leaky_relu", "elu", "selu", "celu", "gelu", "silu",
           "mish", "softplus", "sigmoid", "tanh", "logsigmoid", "hardtanh", "softmax",
           "log_softmax", "softmin", "prelu", "erf"]


# --------------------------------------------------------------------------------------------
# erf: erfc(z) = t·exp(-z² + h(u)) for z >= 0, with t = K/(K+z), u = 1 - 2t in [-1, 1) and h a
# degree-24 Chebyshev series (coefficients fitted to math.erfc; max |error| of erf ~2e-15)

_K = 2.0
_ERFC_CHEB = (
    -0.651326859890855, -0.6419697923564908, 0.019476473204186003, 0.009561514786808547,
    -0.0009465953444818804, -0.00036683949785291985, 4.2523324807071504e-05,
    2.027857811224085e-05, -1.6242900046380765e-06, -1.3036558355789683e-06,
    1.562644188219412e-08, 8.523809573710242e-08, 6.529054606554523e-09,
    -5.059343689748411e-09, -9.913639824506344e-10, 2.2736518965672363e-10,
    9.646771562149516e-11, -2.3942256197342388e-12, -6.8863110463758945e-12,
    -8.945974238174582e-13, 3.130741407362557e-13, 1.1271427915900935e-13,
    6.177083415815624e-16, -7.011529861677808e-15, -1.3698801615316366e-15,
)


def _erf_raw(be, x):
    """erf of a raw floating-point array, from backend arithmetic (Clenshaw recurrence)."""
    z = be.unary("abs", x)
    t = be.binary("div", _K, be.binary("add", z, _K))
    u = be.binary("sub", 1.0, be.binary("mul", t, 2.0))
    u2 = be.binary("mul", u, 2.0)
    c = _ERFC_CHEB
    b2 = c[-1]
    b1 = be.binary("add", be.binary("mul", u2, c[-1]), c[-2])
    for ck in c[-3:0:-1]:
        b1, b2 = be.binary("add", be.binary("sub", be.binary("mul", u2, b1), b2), ck), b1
    h = be.binary("sub", be.binary("add", be.binary("mul", u, b1), c[0]), b2)
    erfc = be.binary("mul", t, be.unary("exp", be.binary("sub", h, be.binary("mul", z, z))))
    r = be.binary("mul", be.unary("sign", x), be.binary("sub", 1.0, erfc))
    # erf(±0) = ±0 (sign(0) times a rounding residue of 1 - erfc(0) can be -0.0)
    return be.where(be.binary("eq", x, x.dtype.type(0)), x, r)


class Erf(Function):
    _raw_forward = True

    @staticmethod
    def forward(ctx, x):
        be = x._device._be
        a = x._data
        out_dt = D._BY_NP[a.dtype] if a.dtype.kind in "fV" else D.get_default_dtype()
        ctx.save_for_backward(x)
        # evaluated in float64 (float32's rounding in exp(h - z²) would cost a few ulps)
        r = _erf_raw(be, a if a.dtype == D.float64.np else be.astype(a, D.float64))
        return r if out_dt is D.float64 else be.astype(r, out_dt)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * (2.0 / math.sqrt(math.pi)) * (-(x * x)).exp()


def erf(input: Tensor) -> Tensor:
    """The error function, 2/√π ∫₀ˣ exp(-t²) dt."""
    return Erf.apply(input)


# --------------------------------------------------------------------------------------------
# built-in Functions over the backend's fused primitives


def _softmax_dim(name: str, ndim: int) -> int:
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call to "
                  f"include dim=X as an argument.", stacklevel=4)
    return 0 if ndim in (0, 1, 3) else 1


class Softmax_(Function):
    _raw_forward = True
    _save_output = True

    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim = dim
        return x._device._be.softmax(x._data, dim)

    @staticmethod
    def backward(ctx, g):
        y = ctx.saved_tensors[-1]
        gy = g * y
        return gy - y * gy.sum(ctx.dim, keepdim=True), None


class LogSoftmax_(Function):
    _raw_forward = True
    _save_output = True

    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim = dim
        return x._device._be.log_softmax(x._data, dim)

    @staticmethod
    def backward(ctx, g):
        y = ctx.saved_tensors[-1]
        return g - y.exp() * g.sum(ctx.dim, keepdim=True), None




def _pytorch_name(fn, name: str) -> None:
    """Name a Function (and its graph node) as PyTorch does, where the plain name is taken
    by the Module of the same name: SoftmaxBackward0, LogSoftmaxBackward0 ..."""
    fn.__name__ = fn.__qualname__ = name
    fn._backward_cls.__name__ = fn._backward_cls.__qualname__ = name + "Backward0"


_pytorch_name(Softmax_, "Softmax")
_pytorch_name(LogSoftmax_, "LogSoftmax")


def _softmax_impl(fn, name, input, dim, dtype):
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}(): argument 'input' must be Tensor, not {type(input).__name__}")
    if dtype is not None:
        input = input.to(D.to_dtype(dtype))
    nd = input._data.ndim
    if dim is None:
        dim = _softmax_dim(name, nd)
    dim = _wrap_dim(dim, nd)
    if input._data.dtype.kind not in "fV":
        if not input._data.size:  # PyTorch runs no kernel: an empty result of that dtype
            return input.detach().clone()
        kernel = f"{name}_lastdim_kernel_impl" if dim >= nd - 1 else f"{name}_kernel_impl"
        raise NotImplementedError(f'"{kernel}" not implemented for '
                                  f"'{input.type_name()[6:-6]}'")
    if nd == 0:
        return fn.apply(input.reshape(1), 0).reshape(())
    return fn.apply(input, dim)


def softmax(input: Tensor, dim: Optional[int] = None, _stacklevel: int = 3,
            dtype=None) -> Tensor:
    """exp(x) / Σ exp(x) along ``dim`` (one fused, numerically stable backend call)."""
    if _ac.active:  # autocast (minitorch/amp): runs in float32
        input, = _ac.fp32_listed("softmax", input)
    return _softmax_impl(Softmax_, "softmax", input, dim, dtype)


def log_softmax(input: Tensor, dim: Optional[int] = None, _stacklevel: int = 3,
                dtype=None) -> Tensor:
    """x - logsumexp(x) along ``dim`` (one fused, numerically stable backend call)."""
    if _ac.active:  # autocast (minitorch/amp): runs in float32
        input, = _ac.fp32_listed("log_softmax", input)
    return _softmax_impl(LogSoftmax_, "log_softmax", input, dim, dtype)


def softmin(input: Tensor, dim: Optional[int] = None, _stacklevel: int = 3,
            dtype=None) -> Tensor:
    if dim is None:
        dim = _softmax_dim("softmin", input.ndim)
    return softmax(-input, dim, dtype=dtype)


class LogSigmoid_(Function):
    """log σ(x) = min(x, 0) - log1p(exp(-|x|)); gradient σ(-x)."""
    _raw_forward = True

    @staticmethod
    def forward(ctx, x):
        be = x._device._be
        a = x._data
        ctx.save_for_backward(x)
        soft = be.unary("log1p", be.unary("exp", be.unary("neg", be.unary("abs", a))))
        return be.binary("sub", be.binary("minimum", a, 0.0), soft)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * (-x).sigmoid()


_pytorch_name(LogSigmoid_, "LogSigmoid")


def logsigmoid(input: Tensor) -> Tensor:
    _float_only(input, "log_sigmoid_cpu")
    return LogSigmoid_.apply(input)


# --------------------------------------------------------------------------------------------
# composed activations


def _float_only(input: Tensor, kernel: str) -> None:
    """PyTorch has these activations for floating point only: its dispatch error, which
    names the kernel and the dtype (``"elu_cpu" not implemented for 'Long'``)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{kernel.split('_')[0]}(): argument 'input' must be Tensor, not "
                        f"{type(input).__name__}")
    if input._data.dtype.kind not in "fV":
        raise NotImplementedError(f'"{kernel}" not implemented for \'{input.dtype.pt_name}\'')


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    return input.relu_() if inplace else input.relu()


def relu_(input: Tensor) -> Tensor:
    return input.relu_()


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0,
             inplace: bool = False) -> Tensor:
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    kind = input._data.dtype.kind
    if kind == "b":
        raise RuntimeError("Bool inputs not supported for hardtanh")
    if kind not in "fV":  # integers stay integers: PyTorch converts the bounds to the dtype (C cast)
        lo, hi = int(min_val), int(max_val)
        return input.clamp_(lo, hi) if inplace else input.clamp(lo, hi)
    return _inplace(_hardtanh)(input, min_val, max_val) if inplace else \
        _hardtanh(input, min_val, max_val)


def _hardtanh(input: Tensor, lo: float, hi: float) -> Tensor:
    # the clamp, but with PyTorch's gradient: zero at the bounds too (clamp passes it there)
    inside = ~((input <= lo) | (input >= hi))  # NaN is inside: its gradient passes, as PyTorch
    return where(inside, input, input.detach().clamp(lo, hi))


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    return hardtanh(input, 0.0, 6.0, inplace)


def _leaky_relu(input: Tensor, negative_slope: float) -> Tensor:
    return where(input > 0, input, input * negative_slope)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x if x > 0 else negative_slope·x."""
    _float_only(input, "leaky_relu_cpu")
    if inplace:
        return _inplace(_leaky_relu)(input, negative_slope)
    return _leaky_relu(input, negative_slope)


def _elu(input: Tensor, alpha: float, scale: float = 1.0, input_scale: float = 1.0) -> Tensor:
    if input.dtype.itemsize == 2:  # float16/bfloat16: computed in float32, rounded once
        return _elu(input.float(), alpha, scale, input_scale).to(input.dtype)
    # expm1 only of non-positive values: no overflow (and no inf·0 in backward) for large
    # x; accurate near 0, and elu(-0.) = -0. (as PyTorch's alpha·expm1(x))
    neg = alpha * (input.clamp(max=0.0) * input_scale).expm1()
    out = where(input <= 0, neg, input)  # NaN takes the x branch: its gradient passes, as PyTorch
    return out * scale if scale != 1.0 else out


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x if x > 0 else alpha·(exp(x) - 1)."""
    _float_only(input, "elu_cpu")
    if inplace:
        return _inplace(_elu)(input, alpha)
    return _elu(input, alpha)


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    _float_only(input, "elu_cpu")
    if inplace:
        return _inplace(_elu)(input, _SELU_ALPHA, _SELU_SCALE)
    return _elu(input, _SELU_ALPHA, _SELU_SCALE)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError")
    _float_only(input, "elu_cpu")
    if inplace:
        return _inplace(_elu)(input, alpha, 1.0, 1.0 / alpha)
    return _elu(input, alpha, 1.0, 1.0 / alpha)


_SQRT1_2 = 1 / math.sqrt(2.0)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def _gelu_grad_ops(x: Tensor, approximate: str) -> Tensor:
    """d gelu / dx in Tensor ops (differentiable: what double backward runs)."""
    if approximate == "tanh":
        t = (_SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)).tanh()
        return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * _SQRT_2_OVER_PI * (
            1.0 + 3 * 0.044715 * x * x)
    return 0.5 * (1.0 + Erf.apply(x * _SQRT1_2)) + x * (-0.5 * x * x).exp() * (
        1.0 / math.sqrt(2.0 * math.pi))


class Gelu(Function):
    """GELU on the backend's fused ``gelu`` / ``gelu_backward`` primitives (one node, no
    temporaries); with ``create_graph`` the backward is written in Tensor ops."""

    _raw_forward = True

    @staticmethod
    def forward(ctx, x, approximate):
        ctx.approximate = approximate
        if ctx.needs_input_grad[0]:
            ctx.save_for_backward(x)
        return x._device._be.gelu(x._data, approximate)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        if is_grad_enabled():  # create_graph: differentiable again
            return g * _gelu_grad_ops(x, ctx.approximate), None
        be = x._device._be
        return _make(be.gelu_backward(be.contiguous(g._data), x._data, ctx.approximate),
                     x._device, False, None, 0, None), None


_pytorch_name(Gelu, "Gelu")


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """x·Φ(x) (exact, with erf) or, with approximate='tanh', 0.5x(1 + tanh(√(2/π)(x + 0.044715x³)))."""
    _float_only(input, "GeluKernelImpl")
    if approximate not in ("none", "tanh"):
        raise RuntimeError("approximate argument must be either none or tanh.")
    return Gelu.apply(input, approximate)


def _opmath(x: Tensor) -> Tensor:
    """float16/bfloat16 computed in float32 (rounded once at the end), as PyTorch's kernels."""
    return x.float() if x.dtype.itemsize == 2 else x


class Silu(Function):
    """x·σ(x) as one node with PyTorch's gradient, g·σ·(1 + x·(1 - σ)) (the product rule's
    two terms, g·σ + g·x·σ'(x), give inf - inf = NaN for an infinite g)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        y = _opmath(x)
        return (y * y.sigmoid()).to(x.dtype)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        y = _opmath(x)
        s = y.sigmoid()
        return (_opmath(g) * s * (1 + y * (1 - s))).to(g.dtype)


class Mish(Function):
    """x·tanh(softplus(x)) as one node with PyTorch's gradient,
    g·(tanh(sp) + x·σ(x)·(1 - tanh(sp)²))."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        y = _opmath(x)
        return (y * softplus(y).tanh()).to(x.dtype)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        y = _opmath(x)
        t = softplus(y).tanh()
        return (_opmath(g) * (t + y * y.sigmoid() * (1 - t * t))).to(g.dtype)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x·σ(x)."""
    _float_only(input, "silu_cpu")
    if inplace:
        return _inplace(Silu.apply)(input)
    return Silu.apply(input)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta·x)) / beta, and x itself where beta·x > threshold."""
    _float_only(input, "softplus_cpu")
    if input.dtype.itemsize == 2:  # float16/bfloat16: in float32, rounded once (PyTorch)
        return softplus(input.float(), beta, threshold).to(input.dtype)
    bx = input * beta if beta != 1.0 else input
    over = bx > threshold
    soft = where(over, 0.0, bx).exp().log1p()  # (not clamp: a NaN's gradient stays NaN)
    if beta != 1.0:
        soft = soft / beta
    return where(over, input, soft)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """x·tanh(softplus(x))."""
    _float_only(input, "mish_cpu")
    if inplace:
        return _inplace(Mish.apply)(input)
    return Mish.apply(input)


def sigmoid(input: Tensor) -> Tensor:
    return input.sigmoid()


def tanh(input: Tensor) -> Tensor:
    return input.tanh()


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """x if x > 0 else weight·x, with one weight per channel (dim 1) or one shared."""
    if _ac.active:  # autocast (minitorch/amp): runs in its 16-bit dtype
        input, weight = _ac.cast_lower(input, weight)
    if input._data.dtype != weight._data.dtype:
        raise RuntimeError(f"prelu: Type promoting not supported. Got {input.dtype.pt_name} and "
                           f"{weight.dtype.pt_name}")
    _float_only(input, "prelu_cpu")
    w = weight
    if weight.numel() != 1:
        if input.ndim < 2 or input.shape[1] != weight.numel():
            raise RuntimeError(f"Mismatch of parameter numbers and input channel size. Found "
                               f"parameter numbers = {weight.numel()} and channel size = "
                               f"{input.shape[1] if input.ndim >= 2 else 1}.")
        w = weight.reshape((weight.numel(),) + (1,) * (input.ndim - 2))
    return where(input > 0, input, w * input)
