"""``SGD``: stochastic gradient descent, with momentum (heavy ball or Nesterov), dampening,
weight decay (L2 added to the gradient) and ``maximize``, exactly as ``torch.optim.SGD``::

    g = -grad if maximize else grad
    g = g + weight_decay * p
    b = g (first step)  or  momentum * b + (1 - dampening) * g
    g = g + momentum * b (nesterov)  or  b
    p = p - lr * g

The arithmetic is the backend primitive ``sgd_update_`` (NumPy in backends/cpu.py, one fused
kernel on cuda/cudasim: kernels/optim.cu).
"""
from __future__ import annotations

from typing import Callable, Optional

from .optimizer import Optimizer, ParamsT, _check, _no_differentiable, _tensor_like, _written

__all__ = ["SGD", "sgd_update_"]


class SGD(Optimizer):
    """Stochastic gradient descent (optionally with momentum); see the module docstring."""

    def __init__(self, params: ParamsT, lr: float = 1e-3, momentum: float = 0,
                 dampening: float = 0, weight_decay: float = 0, nesterov: bool = False, *,
                 maximize: bool = False, foreach: Optional[bool] = None,
                 differentiable: bool = False, fused: Optional[bool] = None) -> None:
        _check(lr >= 0.0, f"Invalid learning rate: {lr}")
        _check(momentum >= 0.0, f"Invalid momentum value: {momentum}")
        _check(weight_decay >= 0.0, f"Invalid weight_decay value: {weight_decay}")
        _no_differentiable(differentiable)
        # foreach / fused are accepted for compatibility; the update below is one path
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, maximize=maximize,
                        foreach=foreach, differentiable=differentiable, fused=fused)
        _check(not nesterov or (momentum > 0 and dampening == 0),
               "Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, defaults)

    def step(self, closure: Optional[Callable[[], float]] = None) -> Optional[float]:
        """One update of every parameter that has a gradient."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            momentum = group["momentum"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                buf = None
                if momentum != 0:
                    state = self.state[p]
                    buf = state.get("momentum_buffer")
                new_buf = p._device._be.sgd_update_(
                    p._data, p.grad._data, None if buf is None else buf._data,
                    float(group["lr"]), momentum, group["dampening"], group["weight_decay"],
                    group["nesterov"], group["maximize"])
                _written(p)
                if momentum != 0 and buf is None:
                    state["momentum_buffer"] = _tensor_like(new_buf, p)
        return loss


def sgd_update_(p, grad, buf, be=None, *, lr: float, momentum: float, dampening: float,
                weight_decay: float, nesterov: bool, maximize: bool):
    """The SGD update on raw device arrays: writes ``p`` (and ``buf``) in place.  Returns the
    momentum buffer: ``buf`` itself, or a new array on the first step (``buf is None``).

    The math is the backend primitive ``sgd_update_`` (NumPy operators on cpu, one fused
    kernel on cuda/cudasim); ``be`` defaults to the cpu backend."""
    if be is None:
        from ..backends.cpu import CpuBackend
        be = CpuBackend()
    return be.sgd_update_(p, grad, buf, lr, momentum, dampening, weight_decay, nesterov,
                          maximize)
