"""``RMSprop``: divide the gradient by a running root-mean-square of recent gradients
(Hinton's lecture 6e), exactly as ``torch.optim.RMSprop``::

    g = -grad if maximize else grad
    g = g + weight_decay * p
    v = alpha * v + (1 - alpha) * g*g
    c = lerp(c, g, 1 - alpha);  avg = sqrt(v - c*c) + eps   (centered: variance estimate)
                                avg = sqrt(v) + eps         (otherwise)
    b = momentum * b + g / avg;  p = p - lr * b              (momentum > 0)
    p = p - lr * g / avg                                      (otherwise)
"""
from __future__ import annotations

from typing import Callable, Optional

from ..creation import zeros_like
from .optimizer import (Optimizer, ParamsT, _advance, _check, _lerp_, _no_differentiable,
                        _step_tensor, _written)

__all__ = ["RMSprop", "rmsprop_update_"]


class RMSprop(Optimizer):
    """RMSprop with optional momentum and centering; see the module docstring."""

    def __init__(self, params: ParamsT, lr: float = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0, momentum: float = 0,
                 centered: bool = False, capturable: bool = False,
                 foreach: Optional[bool] = None, maximize: bool = False,
                 differentiable: bool = False) -> None:
        _check(0.0 <= lr, f"Invalid learning rate: {lr}")
        _check(0.0 <= eps, f"Invalid epsilon value: {eps}")
        _check(0.0 <= momentum, f"Invalid momentum value: {momentum}")
        _check(0.0 <= weight_decay, f"Invalid weight_decay value: {weight_decay}")
        _check(0.0 <= alpha, f"Invalid alpha value: {alpha}")
        _no_differentiable(differentiable)
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, capturable=capturable, foreach=foreach,
                        maximize=maximize, differentiable=differentiable)
        super().__init__(params, defaults)

    def step(self, closure: Optional[Callable[[], float]] = None) -> Optional[float]:
        """One update of every parameter that has a gradient."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            momentum, centered = group["momentum"], group["centered"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = _step_tensor()
                    state["square_avg"] = zeros_like(p)
                    if momentum > 0:
                        state["momentum_buffer"] = zeros_like(p)
                    if centered:
                        state["grad_avg"] = zeros_like(p)
                _advance(state["step"])
                rmsprop_update_(
                    p._data, p.grad._data, state["square_avg"]._data,
                    state["grad_avg"]._data if centered else None,
                    state["momentum_buffer"]._data if momentum > 0 else None,
                    p._device._be, lr=float(group["lr"]), alpha=group["alpha"],
                    eps=group["eps"], weight_decay=group["weight_decay"], momentum=momentum,
                    maximize=group["maximize"])
                _written(p)
        return loss


def rmsprop_update_(p, grad, square_avg, grad_avg, momentum_buffer, be, *, lr: float,
                    alpha: float, eps: float, weight_decay: float, momentum: float,
                    maximize: bool) -> None:
    """The RMSprop update on raw device arrays; ``grad_avg`` is None unless centered,
    ``momentum_buffer`` None unless ``momentum > 0``.  Writes the arrays in place."""
    g = be.unary("neg", grad) if maximize else grad
    if weight_decay != 0:
        t = be.binary("mul", p, weight_decay)
        be.binary("add", t, g, out=t)
        g = t
    be.binary("mul", square_avg, alpha, out=square_avg)
    t = be.binary("mul", g, 1 - alpha)
    be.binary("mul", t, g, out=t)
    be.binary("add", square_avg, t, out=square_avg)
    if grad_avg is not None:
        _lerp_(grad_avg, g, 1 - alpha, be)
        t = be.binary("mul", grad_avg, -1.0)
        be.binary("mul", t, grad_avg, out=t)
        be.binary("add", t, square_avg, out=t)
        avg = be.unary("sqrt", t)
    else:
        avg = be.unary("sqrt", square_avg)
    be.binary("add", avg, eps, out=avg)
    if momentum_buffer is not None:
        be.binary("mul", momentum_buffer, momentum, out=momentum_buffer)
        t = be.binary("div", g, avg)
        be.binary("add", momentum_buffer, t, out=momentum_buffer)
        be.binary("sub", p, be.binary("mul", momentum_buffer, lr), out=p)
    else:
        t = be.binary("mul", g, -lr)
        be.binary("div", t, avg, out=t)
        be.binary("add", p, t, out=p)
