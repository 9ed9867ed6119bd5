"""``Adam``: adaptive moment estimation, exactly as ``torch.optim.Adam``::

    g = -grad if maximize else grad
    p = p * (1 - lr * weight_decay)     (decoupled_weight_decay, i.e. AdamW)
    g = g + weight_decay * p            (otherwise: L2 added to the gradient)
    m = lerp(m, g, 1 - beta1)           first moment
    v = beta2 * v + (1 - beta2) * g*g   second moment
    vmax = max(vmax, v)                 (amsgrad: normalize by the largest v seen)
    p = p - lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)

The bias corrections are Python floats; note that ``eps`` is added *after* dividing
``sqrt(v)`` by the second correction, as PyTorch does.  The arithmetic is the backend
primitive ``adam_update_`` (NumPy in backends/cpu.py, one fused kernel on cuda/cudasim:
kernels/optim.cu).
"""
from __future__ import annotations

from typing import Callable, Optional, Tuple

from ..creation import zeros_like
from ..tensor import Tensor
from .optimizer import (Optimizer, ParamsT, _advance, _check, _no_differentiable,
                        _step_tensor, _written)

__all__ = ["Adam", "adam_update_"]


def _check_adam_args(lr, betas, eps, weight_decay) -> Tuple[float, float]:
    _check(0.0 <= lr, f"Invalid learning rate: {lr}")
    _check(0.0 <= eps, f"Invalid epsilon value: {eps}")
    _check(0.0 <= betas[0] < 1.0, f"Invalid beta parameter at index 0: {betas[0]}")
    _check(0.0 <= betas[1] < 1.0, f"Invalid beta parameter at index 1: {betas[1]}")
    _check(0.0 <= weight_decay, f"Invalid weight_decay value: {weight_decay}")
    both_tensors = isinstance(betas[0], Tensor) and isinstance(betas[1], Tensor)
    _check((isinstance(betas[0], float) and isinstance(betas[1], float)) or both_tensors,
           "betas must be either both floats or both Tensors")
    return (float(betas[0]), float(betas[1])) if both_tensors else tuple(betas)


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2014), with ``amsgrad``, ``maximize`` and optionally decoupled
    weight decay; see the module docstring."""

    def __init__(self, params: ParamsT, lr: float = 1e-3,
                 betas: Tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *,
                 foreach: Optional[bool] = None, maximize: bool = False,
                 capturable: bool = False, differentiable: bool = False,
                 fused: Optional[bool] = None, decoupled_weight_decay: bool = False) -> None:
        betas = _check_adam_args(lr, betas, eps, weight_decay)
        _no_differentiable(differentiable)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        amsgrad=amsgrad, maximize=maximize, foreach=foreach,
                        capturable=capturable, differentiable=differentiable, fused=fused,
                        decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def step(self, closure: Optional[Callable[[], float]] = None) -> Optional[float]:
        """One update of every parameter that has a gradient."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            amsgrad = group["amsgrad"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if len(state) == 0:  # lazy initialization, at the first step
                    state["step"] = _step_tensor()
                    state["exp_avg"] = zeros_like(p)
                    state["exp_avg_sq"] = zeros_like(p)
                    if amsgrad:
                        state["max_exp_avg_sq"] = zeros_like(p)
                p._device._be.adam_update_(
                    p._data, p.grad._data, state["exp_avg"]._data, state["exp_avg_sq"]._data,
                    state["max_exp_avg_sq"]._data if amsgrad else None,
                    _advance(state["step"]), float(group["lr"]), beta1, beta2, group["eps"],
                    group["weight_decay"], amsgrad, group["maximize"],
                    group["decoupled_weight_decay"])
                _written(p)
        return loss


def adam_update_(p, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, step: float, be, *,
                 lr: float, beta1: float, beta2: float, eps: float, weight_decay: float,
                 decoupled_weight_decay: bool, maximize: bool) -> None:
    """The Adam update on raw device arrays (``step`` already counts this update): writes
    ``p``, ``exp_avg``, ``exp_avg_sq`` (and ``max_exp_avg_sq`` unless None) in place.  The
    math is the backend primitive ``adam_update_`` (NumPy operators on cpu, one fused kernel
    on cuda/cudasim)."""
    be.adam_update_(p, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, step, lr, beta1, beta2, eps,
                    weight_decay, max_exp_avg_sq is not None, maximize, decoupled_weight_decay)
