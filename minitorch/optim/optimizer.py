"""``Optimizer``: the base class of every optimizer (parameter groups, per-parameter state,
``zero_grad``, ``state_dict`` / ``load_state_dict``), with PyTorch's behaviour and formats.

A subclass sets its hyper-parameter ``defaults`` and implements ``step``.  Every ``step``
defined by a subclass is wrapped (``__init_subclass__``) so that it runs under ``no_grad``
and marks the optimizer as stepped (the learning-rate schedulers check that order).

How the updates are computed.  An update touches every parameter once per step, so it must
be cheap: the optimizers in this package work on the tensors' raw device arrays
(``tensor._data``), in place, and never build autograd nodes.  SGD and Adam/AdamW call the
fused backend primitives ``sgd_update_`` / ``adam_update_`` (NumPy operators on cpu, one
kernel per parameter on cuda and cudasim, kernels/optim.cu); RMSprop and Adagrad are a
handful of backend primitives each (``binary`` with ``out=`` for the in-place steps,
``unary("sqrt")``), so on every device they run the device's own kernels.  All are written
in the same order of operations as PyTorch's, rounding in the parameter's dtype, so that
results agree bit for bit.  After writing a parameter in place its version counter is
bumped, like any in-place op, so a graph that saved the old value refuses to run backward.
"""
from __future__ import annotations

import functools
import warnings
from collections import defaultdict
from copy import deepcopy
from itertools import chain
from typing import Any, Callable, Dict, Iterable, List, Optional, Union

from .. import _dtype as D
from .._tracing import host_counter
from ..autograd.grad_mode import enable_grad, no_grad
from ..creation import tensor
from ..ops.inplace import _bump
from ..tensor import Tensor, _make

__all__ = ["Optimizer", "required"]

ParamsT = Union[Iterable[Tensor], Iterable[Dict[str, Any]], Iterable[tuple]]


class _RequiredParameter:
    """Marks a hyper-parameter that every parameter group must give."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()


def _typename(obj) -> str:
    if isinstance(obj, Tensor):
        return obj.type_name()
    cls = type(obj)
    module = cls.__module__
    return cls.__qualname__ if module in ("builtins", None) else f"{module}.{cls.__qualname__}"


def _wrap_step(step: Callable) -> Callable:
    @functools.wraps(step)
    def wrapper(self, *args, **kwargs):
        self._opt_called = True
        with no_grad():
            return step(self, *args, **kwargs)
    wrapper._minitorch_wrapped = True
    return wrapper


class Optimizer:
    """Base class of all optimizers.

    Args:
        params: an iterable of Tensors, of ``(name, Tensor)`` pairs, or of dicts (parameter
            groups: ``{"params": [...], "lr": 0.1, ...}``; missing options take ``defaults``).
        defaults: the optimizer's default hyper-parameters.
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        step = cls.__dict__.get("step")
        if step is not None and not getattr(step, "_minitorch_wrapped", False):
            cls.step = _wrap_step(step)

    def __init__(self, params: ParamsT, defaults: Dict[str, Any]) -> None:
        self.defaults = defaults
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            "Tensors or dicts, but got " + _typename(params))
        self.state: Dict[Tensor, Dict[str, Any]] = defaultdict(dict)
        self.param_groups: List[Dict[str, Any]] = []
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)

    # -- parameter groups -------------------------------------------------------------------
    def add_param_group(self, param_group: Dict[str, Any]) -> None:
        """Add a group of parameters (with its own options) to ``param_groups``."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group)}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, "
                            "but the ordering of tensors in sets will change between runs. "
                            "Please use a list instead.")
        else:
            params = list(params)
        names = [p[0] for p in params if isinstance(p, tuple)]
        params = [p[1] if isinstance(p, tuple) else p for p in params]
        param_group["params"] = params
        if names:
            if len(names) != len(params):
                raise ValueError("all optimizer params should be with/without names. Some param "
                                 "names are missing")
            param_group["param_names"] = names

        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError("optimizer can only optimize Tensors, but one of the params is "
                                + _typename(p))
            if not self.defaults.get("differentiable", None) and not (p.is_leaf
                                                                      or p.retains_grad):
                raise ValueError("can't optimize a non-leaf Tensor")

        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError(f"parameter group didn't specify a value of required "
                                 f"optimization parameter {name}")
            param_group.setdefault(name, default)

        ids = [id(p) for p in params]
        if len(ids) != len(set(ids)):
            warnings.warn("optimizer contains a parameter group with duplicate parameters; in "
                          "future, this will cause an error; see "
                          "github.com/pytorch/pytorch/issues/40967 for more information",
                          stacklevel=3)
        seen = set()
        for group in self.param_groups:
            seen.update(id(p) for p in group["params"])
            if ("param_names" in param_group) != ("param_names" in group):
                which = "with names" if "param_names" in param_group else "without names"
                raise ValueError("all optimizer param groups should be with/without names. "
                                 f"cannot add param group {which} to the optimizer")
        if not seen.isdisjoint(ids):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    # -- gradients --------------------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients: to ``None`` (default, frees memory) or to zeros."""
        for group in self.param_groups:
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    if g.grad_fn is not None:
                        g.detach_()
                    else:
                        g.requires_grad_(False)
                    g.zero_()

    def step(self, closure: Optional[Callable[[], float]] = None) -> Optional[float]:
        """Update the parameters once.  ``closure`` re-evaluates the model, returns the loss."""
        raise NotImplementedError

    @staticmethod
    def _closure_loss(closure: Optional[Callable[[], Any]]) -> Any:
        if closure is None:
            return None
        with enable_grad():
            return closure()

    # -- saving and loading -----------------------------------------------------------------
    def state_dict(self) -> Dict[str, Any]:
        """``{"state": {index: {...}}, "param_groups": [{..., "params": [indices]}]}``:
        parameters are replaced by their position across all groups (PyTorch's format).
        The state tensors are the live ones (not copies), as in PyTorch."""
        index: Dict[int, int] = {}
        start = 0

        def pack(group):
            nonlocal start
            packed = {k: v for k, v in group.items() if k != "params"}
            for i, p in enumerate(group["params"], start):
                index.setdefault(id(p), i)
            packed["params"] = [index[id(p)] for p in group["params"]]
            start += len(packed["params"])
            return packed

        groups = [pack(g) for g in self.param_groups]
        state = {(index[id(k)] if isinstance(k, Tensor) else k): v for k, v in self.state.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: Dict[str, Any]) -> None:
        """Restore what ``state_dict`` returned; the groups must match in number and size.
        State tensors are moved to their parameter's device (and dtype, except ``step``)."""
        state_dict = state_dict.copy()
        groups = self.param_groups
        saved_groups = deepcopy(state_dict["param_groups"])
        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(groups, saved_groups)):
            raise ValueError("loaded state dict contains a parameter group that doesn't match "
                             "the size of optimizer's group")
        id_map = dict(zip(chain.from_iterable(g["params"] for g in saved_groups),
                          chain.from_iterable(g["params"] for g in groups)))

        def cast(param, value, key=None):
            if isinstance(value, Tensor):
                if key == "step":
                    return value
                if param.is_floating_point():
                    return value.to(dtype=param.dtype, device=param.device)
                return value.to(device=param.device)
            if isinstance(value, dict):
                return {k: cast(param, v, k) for k, v in value.items()}
            if isinstance(value, (list, tuple)):
                return type(value)(cast(param, v) for v in value)
            return value

        state: Dict[Any, Dict[str, Any]] = defaultdict(dict)
        for k, v in state_dict["state"].items():
            if k in id_map:
                state[id_map[k]] = cast(id_map[k], v)
            else:
                state[k] = v

        def update_group(group, new_group):
            new_group["params"] = group["params"]
            if "param_names" in group and "param_names" not in new_group:
                new_group["param_names"] = group["param_names"]
            return new_group

        self.__setstate__({"state": state, "param_groups": [
            update_group(g, ng) for g, ng in zip(groups, saved_groups)]})

    def __getstate__(self) -> Dict[str, Any]:
        return {"defaults": self.defaults, "state": self.state,
                "param_groups": self.param_groups}

    def __setstate__(self, state: Dict[str, Any]) -> None:
        self.__dict__.update(state)

    def __repr__(self) -> str:
        s = self.__class__.__name__ + " ("
        for i, group in enumerate(self.param_groups):
            s += f"\nParameter Group {i}\n"
            for key in sorted(group.keys()):
                if key != "params":
                    s += f"    {key}: {group[key]}\n"
        return s + ")"


# -- helpers shared by the optimizers ---------------------------------------------------------

def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ValueError(message)


def _no_differentiable(differentiable: bool) -> None:
    if differentiable:
        raise NotImplementedError("differentiable=True (an update recorded by autograd) is not "
                                  "supported by minitorch optimizers")


def _step_tensor() -> Tensor:
    """The ``step`` counter: a 0-d cpu tensor, float64 when that is the default dtype
    (PyTorch keeps it as a tensor too, so ``state_dict`` has the same format)."""
    dt = D.float64 if D.get_default_dtype() == D.float64 else D.float32
    return tensor(0.0, dtype=dt)


def _advance(step_t: Tensor) -> float:
    """``step += 1`` in place; returns the new count as a Python float (traced, the graph
    increments and reads the counter on every call: ``_tracing.host_counter``)."""
    step_t._data += 1
    return host_counter(step_t)


def _tensor_like(array, p: Tensor) -> Tensor:
    """Wrap a raw array (on ``p``'s device) as a plain tensor."""
    return _make(array, p._device, False, None, 0, None)


def _written(p: Tensor) -> None:
    """``p``'s storage was written in place: bump its version counter."""
    _bump(p)


def _lerp_(a, b, weight: float, be) -> None:
    """``a = a + weight * (b - a)`` in place, in PyTorch's two-sided form (exact at both
    ends: weight 0 gives ``a``, weight 1 gives ``b``)."""
    t = be.binary("sub", b, a)
    if abs(weight) < 0.5:
        be.binary("mul", t, weight, out=t)
        be.binary("add", a, t, out=a)
    else:
        be.binary("mul", t, -(1 - weight), out=t)
        be.binary("add", t, b, out=t)
        be.copy_(a, t)
