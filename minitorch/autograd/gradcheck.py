"""``gradcheck`` / ``gradgradcheck``: compare analytical gradients with float64 central
differences.  Public because whoever writes a Function or a kernel needs them."""
from __future__ import annotations

from typing import Callable

import numpy as np

from ..tensor import Tensor
from .function import _state

__all__ = ["gradcheck", "gradgradcheck", "GradcheckError"]


class GradcheckError(RuntimeError):
    pass


def _as_tuple(x):
    return (x,) if isinstance(x, Tensor) else tuple(x)


def _outputs(fn, inputs):
    out = fn(*inputs)
    return _as_tuple(out)


def _numerical_jacobians(fn, inputs, eps):
    """J[i][j]: d out_j / d in_i as an array of shape (in_i.numel(), out_j.numel())."""
    from ..autograd.grad_mode import no_grad
    with no_grad():
        outs = _outputs(fn, inputs)
        jac = []
        for t in inputs:
            if not (isinstance(t, Tensor) and t._requires_grad):
                jac.append(None)
                continue
            flat = t._device._be.to_numpy(t._data)
            host = np.array(flat, copy=True)
            cols = [np.zeros((t._data.size, o._data.size)) for o in outs]
            for k in range(t._data.size):
                for sign, store in ((1, "p"), (-1, "m")):
                    h = host.copy().reshape(-1)
                    h[k] += sign * eps
                    t._device._be.copy_(t._data, h.reshape(host.shape))
                    vals = [np.array(o._device._be.to_numpy(o._data), dtype=np.float64).reshape(-1)
                            for o in _outputs(fn, inputs)]
                    if store == "p":
                        plus = vals
                    else:
                        minus = vals
                t._device._be.copy_(t._data, host)
                for j in range(len(outs)):
                    cols[j][k] = (plus[j] - minus[j]) / (2 * eps)
            jac.append(cols)
    return jac


def _analytical_jacobians(fn, inputs):
    from .engine import grad
    outs = _outputs(fn, inputs)
    diff_in = [t for t in inputs if isinstance(t, Tensor) and t._requires_grad]
    jac = {id(t): [np.zeros((t._data.size, o._data.size)) for o in outs] for t in diff_in}
    for j, o in enumerate(outs):
        if not o._requires_grad:
            continue
        for k in range(o._data.size):
            g = np.zeros(o._data.size, dtype=o._data.dtype)
            g[k] = 1
            from ..creation import tensor
            gt = tensor(g.reshape(o._data.shape), device=o._device)
            gs = grad(o, diff_in, gt, retain_graph=True, allow_unused=True)
            for t, gi in zip(diff_in, gs):
                if gi is not None:
                    jac[id(t)][j][:, k] = np.asarray(gi._device._be.to_numpy(gi._data)).reshape(-1)
    return [jac.get(id(t)) if isinstance(t, Tensor) and t._requires_grad else None
            for t in inputs], outs


def gradcheck(func: Callable, inputs, *, eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3, raise_exception: bool = True, **_ignored) -> bool:
    """Check ``func``'s backward against central differences at ``inputs``.

    Inputs that require grad should be float64: float32 differences are too noisy.
    """
    inputs = _as_tuple(inputs)
    if not any(isinstance(t, Tensor) and t._requires_grad for t in inputs):
        raise ValueError("gradcheck expects at least one input tensor to require gradient, but "
                         "none of the them have requires_grad=True.")
    for t in inputs:
        if isinstance(t, Tensor) and t._requires_grad and t._data.dtype != np.float64:
            import warnings
            warnings.warn(f"Input #{inputs.index(t)} requires gradient and is not a double "
                          "precision floating point. gradcheck is meant for float64 inputs.")
    prev = _state.grad
    _state.grad = True
    try:
        analytical, outs = _analytical_jacobians(func, inputs)
        numerical = _numerical_jacobians(func, inputs, eps)
    finally:
        _state.grad = prev
    for i, (a, n) in enumerate(zip(analytical, numerical)):
        if a is None:
            continue
        for j, (aj, nj) in enumerate(zip(a, n)):
            if not np.allclose(aj, nj, rtol=rtol, atol=atol):
                msg = (f"Jacobian mismatch for output {j} with respect to input {i},\n"
                       f"numerical:{nj}\nanalytical:{aj}\n")
                if raise_exception:
                    raise GradcheckError(msg)
                return False
    return True


def gradgradcheck(func: Callable, inputs, grad_outputs=None, *, eps: float = 1e-6,
                  atol: float = 1e-5, rtol: float = 1e-3, raise_exception: bool = True,
                  **_ignored) -> bool:
    """Check second derivatives: gradcheck of (inputs, v) -> vjp(func, inputs, v)."""
    from ..creation import randn
    from .engine import grad
    from .grad_mode import enable_grad
    inputs = _as_tuple(inputs)
    outs = _outputs(func, inputs)
    if grad_outputs is None:
        grad_outputs = tuple(randn(o._data.shape, dtype=o.dtype, device=o._device,
                                   requires_grad=True) for o in outs)
    grad_outputs = _as_tuple(grad_outputs)
    n_in = len(inputs)
    diff_idx = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t._requires_grad]

    def vjp(*args):
        ins, gos = args[:n_in], args[n_in:]
        with enable_grad():  # the numerical pass runs under no_grad; this needs a graph
            o = _outputs(func, ins)
            gs = grad(o, [ins[i] for i in diff_idx], gos, create_graph=True, allow_unused=True)
        return tuple(g for g in gs if g is not None)

    return gradcheck(vjp, inputs + grad_outputs, eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception)
