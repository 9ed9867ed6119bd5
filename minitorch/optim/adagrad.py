"""``Adagrad``: per-coordinate learning rates that shrink with the sum of squared gradients
seen so far (Duchi et al., 2011), exactly as ``torch.optim.Adagrad``::

    g = -grad if maximize else grad
    g = g + weight_decay * p
    clr = lr / (1 + (t - 1) * lr_decay)
    s = s + g*g                       (s starts at initial_accumulator_value)
    p = p - clr * g / (sqrt(s) + eps)

As in PyTorch, the state is created for every parameter in the constructor, and a state
created later takes ``initial_accumulator_value`` from the optimizer's defaults, not from
the parameter's group.
"""
from __future__ import annotations

from typing import Callable, Optional

from ..creation import full_like
from .optimizer import (Optimizer, ParamsT, _advance, _check, _no_differentiable,
                        _step_tensor, _written)

__all__ = ["Adagrad", "adagrad_update_"]


class Adagrad(Optimizer):
    """Adagrad with learning-rate decay; see the module docstring."""

    def __init__(self, params: ParamsT, lr: float = 1e-2, lr_decay: float = 0,
                 weight_decay: float = 0, initial_accumulator_value: float = 0,
                 eps: float = 1e-10, foreach: Optional[bool] = None, *,
                 maximize: bool = False, differentiable: bool = False,
                 fused: Optional[bool] = None) -> None:
        _check(0.0 <= lr, f"Invalid learning rate: {lr}")
        _check(0.0 <= lr_decay, f"Invalid lr_decay value: {lr_decay}")
        _check(0.0 <= weight_decay, f"Invalid weight_decay value: {weight_decay}")
        _check(0.0 <= initial_accumulator_value,
               f"Invalid initial_accumulator_value value: {initial_accumulator_value}")
        _check(0.0 <= eps, f"Invalid epsilon value: {eps}")
        _no_differentiable(differentiable)
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p)

    def _init_state(self, p) -> dict:
        state = self.state[p]
        state["step"] = _step_tensor()
        state["sum"] = full_like(p, self.defaults["initial_accumulator_value"])
        return state

    def step(self, closure: Optional[Callable[[], float]] = None) -> Optional[float]:
        """One update of every parameter that has a gradient."""
        loss = self._closure_loss(closure)
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if len(state) == 0:  # a group added after construction
                    state = self._init_state(p)
                adagrad_update_(
                    p._data, p.grad._data, state["sum"]._data, _advance(state["step"]),
                    p._device._be, lr=float(group["lr"]), lr_decay=group["lr_decay"],
                    eps=group["eps"], weight_decay=group["weight_decay"],
                    maximize=group["maximize"])
                _written(p)
        return loss


def adagrad_update_(p, grad, state_sum, step: float, be, *, lr: float, lr_decay: float,
                    eps: float, weight_decay: float, maximize: bool) -> None:
    """The Adagrad update on raw device arrays (``step`` counts this update)."""
    g = be.unary("neg", grad) if maximize else grad
    if weight_decay != 0:
        t = be.binary("mul", p, weight_decay)
        be.binary("add", t, g, out=t)
        g = t
    clr = lr / (1 + (step - 1) * lr_decay)
    be.binary("add", state_sum, be.binary("mul", g, g), out=state_sum)
    std = be.unary("sqrt", state_sum)
    be.binary("add", std, eps, out=std)
    t = be.binary("mul", g, -clr)
    be.binary("div", t, std, out=t)
    be.binary("add", p, t, out=p)
