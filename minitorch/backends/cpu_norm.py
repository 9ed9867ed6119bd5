"""The cpu backend's fused GELU and LayerNorm primitives (issue 12), in NumPy.

Each is a handful of whole-array NumPy passes written in place into one or two scratch
buffers, where the composed Tensor-op versions made a fresh temporary (and an autograd
node) per arithmetic step: the exact GELU's erf alone was ~75 elementwise ops.

erf / erfc: ``erfc(z) = t * exp(-z**2 + h(u))`` for ``z = |x| >= 0``, ``t = K / (K + z)``,
``u = 1 - 2t`` and ``h`` a Chebyshev series (the coefficients of nn/functional/activation.py,
fitted to math.erfc).  float64 uses all 25 terms (|error| ~1e-15, what gradcheck needs);
float32 uses Numerical Recipes' degree-9 fit of the same form (fractional error < 1.2e-7;
evaluated in float32, whose rounding of ``z**2`` dominates: ~1e-7 absolute on Phi), half the
passes of the series.  CpuBackend binds these functions
as methods (``_opmath`` runs float16/bfloat16 in float32, as PyTorch's CPU kernels do).
"""
from __future__ import annotations

import math

import numpy as np

_SQRT1_2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_TANH_BETA = math.sqrt(2.0 / math.pi)
_TANH_KAPPA = 0.044715


def _cheb():
    from ..nn.functional.activation import _ERFC_CHEB, _K
    return _ERFC_CHEB, _K


# float32: Numerical Recipes' erfcc fit, erfc(z) = t exp(-z**2 + P(t)), t = 1/(1 + z/2), P of
# degree 9 (fractional error < 1.2e-7 for every z >= 0): 2 passes a term in Horner form
_NR = (-1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806, 0.27886807,
       -1.13520398, 1.48851587, -0.82215223, 0.17087277)


def _erfc_abs32(z):
    t = np.multiply(z, np.float32(0.5))
    t += 1.0
    np.divide(1.0, t, out=t)
    acc = np.multiply(t, _NR[-1])
    for ck in _NR[-2:0:-1]:
        acc += ck
        acc *= t
    acc += _NR[0]
    np.multiply(z, z, out=z)
    acc -= z
    np.exp(acc, out=acc)
    acc *= t
    return acc


def _erfc_abs(z, tmp):
    """erfc(z) for z = |x| >= 0 (float32 or float64 array, overwritten by the result --
    or, for float32, a new array returned; ``tmp`` a scratch array of the same shape)."""
    if z.dtype == np.float32:
        return _erfc_abs32(z)
    c, k = _cheb()
    t = np.add(z, k)
    np.divide(k, t, out=t)                     # t = K / (K + z)
    u2 = np.multiply(t, -4.0)
    u2 += 2.0                                  # 2u = 2 - 4t
    b1 = np.multiply(u2, c[-1])
    b1 += c[-2]
    b2 = np.full_like(z, c[-1])
    for ck in c[-3:0:-1]:                      # Clenshaw: b_k = 2u b_{k+1} - b_{k+2} + c_k
        np.multiply(u2, b1, out=tmp)
        tmp -= b2
        tmp += ck
        b1, b2, tmp = tmp, b1, b2
    np.multiply(u2, b1, out=tmp)
    tmp *= 0.5                                 # h = u b1 - b2 + c0
    tmp -= b2
    tmp += c[0]
    np.multiply(z, z, out=b1)
    tmp -= b1
    np.exp(tmp, out=tmp)
    np.multiply(tmp, t, out=z)
    return z


def _phi(x):
    """The normal cdf Phi(x) = erfc(-x / sqrt 2) / 2, accurate in the lower tail too."""
    z = np.multiply(x, x.dtype.type(_SQRT1_2))
    np.abs(z, out=z)
    tmp = np.empty_like(z)
    e = _erfc_abs(z, tmp)
    e *= 0.5                                   # h = erfc(|x|/sqrt2) / 2 = Phi(-|x|)
    # Phi = h (x < 0) or 1 - h (x >= 0), branch-free (a masked copy mispredicts on random
    # signs): h + [x >= 0] (1 - 2h); exact for x < 0, within an ulp of 1 - h otherwise
    np.multiply(e, -2.0, out=tmp)
    tmp += 1.0
    tmp *= np.greater_equal(x, 0)
    tmp += e                                   # NaN: h is NaN, so is Phi
    return tmp


def gelu(self, x, approximate):
    if not x.size:
        return x.copy()
    if not x.ndim:  # NumPy's ufuncs give 0-d results as scalars: work on a 1-element view
        return gelu(self, x.reshape(1), approximate).reshape(())
    if approximate == "tanh":
        dt = x.dtype.type
        inner = np.multiply(x, x)
        inner *= dt(_TANH_KAPPA)
        inner *= x
        inner += x
        inner *= dt(_TANH_BETA)
        np.tanh(inner, out=inner)
        inner += 1.0
        inner *= x
        inner *= 0.5
        return inner
    p = _phi(x)
    p *= x
    return p


def gelu_backward(self, grad, x, approximate):
    if not x.size:
        return np.empty(x.shape, x.dtype)
    if not x.ndim:
        return gelu_backward(self, grad.reshape(1), x.reshape(1), approximate).reshape(())
    dt = x.dtype.type
    if approximate == "tanh":
        # PyTorch: 0.5 (1 + t) + 0.5 x (1 - t**2) beta (1 + 3 kappa x**2)
        x2 = np.multiply(x, x)
        inner = np.multiply(x2, dt(_TANH_KAPPA))
        inner *= x
        inner += x
        inner *= dt(_TANH_BETA)
        np.tanh(inner, out=inner)               # t
        d = np.multiply(inner, inner)
        np.subtract(1.0, d, out=d)              # 1 - t**2
        x2 *= dt(3 * _TANH_KAPPA)
        x2 += 1.0
        x2 *= dt(_TANH_BETA)                    # inner derivative
        d *= x2
        d *= x
        d *= 0.5                                # right derivative
        inner += 1.0
        inner *= 0.5                            # left derivative
        d += inner
        d *= grad
        return d
    pdf = np.multiply(x, x)
    pdf *= -0.5
    np.exp(pdf, out=pdf)
    pdf *= dt(_INV_SQRT_2PI)
    pdf *= x
    pdf += _phi(x)
    pdf *= grad
    return pdf


def layer_norm(self, x, weight, bias, eps):
    m, n = x.shape
    if x.size == 0:
        return (np.empty(x.shape, x.dtype), np.full((m,), np.nan, x.dtype),
                np.full((m,), np.nan, x.dtype))
    mean = np.add.reduce(x, axis=1)
    mean /= n
    out = np.subtract(x, mean[:, None])
    var = np.einsum("ij,ij->i", out, out) if x.dtype.kind == "f" else \
        np.add.reduce(out * out, axis=1)
    var /= n
    var += x.dtype.type(eps)
    rstd = np.sqrt(var, out=var)
    np.divide(1.0, rstd, out=rstd)
    out *= rstd[:, None]
    if weight is not None:
        out *= weight
    if bias is not None:
        out += bias
    return out, mean, rstd


def layer_norm_backward(self, grad, x, mean, rstd, weight):
    m, n = x.shape
    if x.size == 0:
        z = np.zeros((n,), x.dtype)
        return np.empty(x.shape, x.dtype), z, z.copy()
    xhat = np.subtract(x, mean[:, None])
    xhat *= rstd[:, None]
    dbias = np.add.reduce(grad, axis=0)
    dweight = np.einsum("ij,ij->j", grad, xhat)
    gw = grad * weight if weight is not None else grad.copy()
    # PyTorch's CPU algebra (so that inf/NaN gradients land where its do): with
    # ds = sum(gw * x) and db = sum(gw) per row,
    #   b = (db * mean - ds) * rstd^3 / n,  c = -b * mean - db * rstd / n,
    #   dx = rstd * gw + b * x + c
    # (kernels/norm.cu computes the same)
    ds = np.einsum("ij,ij->i", gw, x)
    db = np.add.reduce(gw, axis=1)
    with np.errstate(invalid="ignore", over="ignore"):
        b = (db * mean - ds) * (rstd * rstd * rstd) / n
        c = -b * mean - db * rstd / n
        gw *= rstd[:, None]
        gw += b[:, None] * x
        gw += c[:, None]
    return gw, dweight, dbias
