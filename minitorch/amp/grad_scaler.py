"""``minitorch.amp.GradScaler``: loss scaling for float16 training, PyTorch's contract.

float16 has 5 exponent bits: gradients below 2^-24 become 0.  Multiplying the loss by a
large ``scale`` (65536 to start) moves every gradient up by the same factor; ``unscale_``
divides them back before the optimizer sees them.  Too large a scale overflows to inf/NaN:
then ``step`` skips the update and ``update`` halves the scale (``backoff_factor``); after
``growth_interval`` clean steps in a row it doubles (``growth_factor``).

The inf/NaN test is one fused pass per gradient: while unscaling, each gradient adds
``sum(g * 0)`` to one device-side accumulator (0 for finite values, NaN for an inf or a NaN;
it cannot overflow, unlike ``sum(g)``), and the host reads that one number once per step --
one synchronization for all gradients, as PyTorch's ``_amp_foreach_non_finite_check_and_
unscale_`` (a multi-tensor kernel) gives.  The check looks at the gradients before they are
multiplied, as PyTorch's does.
"""
from __future__ import annotations

import enum
import warnings
from collections import defaultdict
from typing import Any, Dict, Optional

from .. import _dtype as D

__all__ = ["GradScaler", "OptState"]


class OptState(enum.Enum):
    READY = 0
    UNSCALED = 1
    STEPPED = 2


def _refresh_per_optimizer_state() -> Dict[str, Any]:
    return {"stage": OptState.READY, "found_inf_per_device": {}}


class GradScaler:
    def __init__(self, device: str = "cuda", init_scale: float = 2.0 ** 16,
                 growth_factor: float = 2.0, backoff_factor: float = 0.5,
                 growth_interval: int = 2000, enabled: bool = True) -> None:
        self._device = device
        self._enabled = enabled
        if self._device == "cuda" and enabled:
            from .. import cuda as _cuda
            if not _cuda.is_available():
                warnings.warn("torch.cuda.amp.GradScaler is enabled, but CUDA is not available."
                              "  Disabling.", stacklevel=2)
                self._enabled = False
        if self._enabled:
            if growth_factor <= 1.0:
                raise AssertionError("The growth factor must be > 1.0.")
            if backoff_factor >= 1.0:
                raise AssertionError("The backoff factor must be < 1.0.")
            self._init_scale = init_scale
            self._scale = None
            self._growth_factor = growth_factor
            self._backoff_factor = backoff_factor
            self._growth_interval = growth_interval
            self._init_growth_tracker = 0
            self._growth_tracker = None
            self._per_optimizer_states = defaultdict(_refresh_per_optimizer_state)

    # -- lazily created device state ------------------------------------------------------
    def _lazy_init_scale_growth_tracker(self, dev) -> None:
        from ..creation import full
        self._scale = full((), self._init_scale, dtype=D.float32, device=dev)
        self._growth_tracker = full((), self._init_growth_tracker, dtype=D.int32, device=dev)

    def _check_scale_growth_tracker(self, funcname: str):
        fix = "This may indicate your script did not use scaler.scale(loss or outputs) earlier " \
              "in the iteration."
        if self._scale is None:
            raise AssertionError(f"Attempted {funcname} but _scale is None.  " + fix)
        if self._growth_tracker is None:
            raise AssertionError(f"Attempted {funcname} but _growth_tracker is None.  " + fix)
        return self._scale, self._growth_tracker

    # -- the four calls of a training step ------------------------------------------------
    def scale(self, outputs):
        """``outputs * scale`` (a tensor, or each tensor of a list/tuple/iterable)."""
        from ..tensor import Tensor
        if not self._enabled:
            return outputs
        if isinstance(outputs, Tensor):
            if self._scale is None:
                self._lazy_init_scale_growth_tracker(outputs._device)
            return outputs * self._scale.to(device=outputs._device)

        def apply_scale(val):
            if isinstance(val, Tensor):
                if self._scale is None:
                    self._lazy_init_scale_growth_tracker(val._device)
                return val * self._scale.to(device=val._device)
            if isinstance(val, (list, tuple)):
                r = [apply_scale(v) for v in val]
                return type(val)(r) if isinstance(val, tuple) else r
            if hasattr(val, "__iter__") and not isinstance(val, (str, bytes)):
                return map(apply_scale, val)
            raise ValueError("outputs must be a Tensor or an iterable of Tensors")
        return apply_scale(outputs)

    def _unscale_grads_(self, optimizer, inv_scale, found_inf, allow_fp16: bool):
        """Multiply every gradient by ``inv_scale`` in place; one device-side NaN/inf
        accumulator per device (see the module docstring)."""
        from ..autograd.grad_mode import no_grad
        per_device: Dict[str, Any] = {}
        with no_grad():
            for group in optimizer.param_groups:
                for p in group["params"]:
                    g = p.grad
                    if g is None:
                        continue
                    if not allow_fp16 and g.dtype is D.float16:
                        raise ValueError("Attempting to unscale FP16 gradients.")
                    key = str(g._device)
                    acc = per_device.get(key)
                    probe = (g * 0).sum(dtype=D.float32)  # 0, or NaN if g holds inf/NaN
                    per_device[key] = probe if acc is None else acc + probe
                    g.mul_(inv_scale.to(device=g._device))
        out = {}
        for key, acc in per_device.items():
            flag = found_inf.to(device=acc._device)
            flag = flag + (acc != acc).to(D.float32)  # NaN != NaN: 1.0 where one was found
            out[key] = flag
        return out

    def unscale_(self, optimizer) -> None:
        """Divide the optimizer's gradients by the scale (once per step; before clipping)."""
        if not self._enabled:
            return
        self._check_scale_growth_tracker("unscale_")
        state = self._per_optimizer_states[id(optimizer)]
        if state["stage"] is OptState.UNSCALED:
            raise RuntimeError("unscale_() has already been called on this optimizer since the "
                               "last update().")
        if state["stage"] is OptState.STEPPED:
            raise RuntimeError("unscale_() is being called after step().")
        inv_scale = self._scale.double().reciprocal().float()
        from ..creation import full
        found_inf = full((), 0.0, dtype=D.float32, device=self._scale._device)
        state["found_inf_per_device"] = self._unscale_grads_(optimizer, inv_scale, found_inf,
                                                             False)
        state["stage"] = OptState.UNSCALED

    def _maybe_opt_step(self, optimizer, state, *args, **kwargs):
        if not sum(v.item() for v in state["found_inf_per_device"].values()):
            return optimizer.step(*args, **kwargs)
        return None

    def step(self, optimizer, *args, **kwargs):
        """``unscale_`` (unless done) then ``optimizer.step()`` -- skipped when a gradient
        holds an inf or a NaN.  Returns what ``optimizer.step`` returned (None if skipped)."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise RuntimeError("Closure use is not currently supported if GradScaler is "
                               "enabled.")
        self._check_scale_growth_tracker("step")
        state = self._per_optimizer_states[id(optimizer)]
        if state["stage"] is OptState.STEPPED:
            raise RuntimeError("step() has already been called since the last update().")
        if state["stage"] is OptState.READY:
            self.unscale_(optimizer)
        if len(state["found_inf_per_device"]) == 0:
            raise AssertionError("No inf checks were recorded for this optimizer.")
        retval = self._maybe_opt_step(optimizer, state, *args, **kwargs)
        state["stage"] = OptState.STEPPED
        return retval

    def update(self, new_scale=None) -> None:
        """Back off (inf/NaN seen this step) or count a clean step and grow every
        ``growth_interval`` of them; or set ``new_scale`` (a float or a 1-element tensor)."""
        if not self._enabled:
            return
        scale, tracker = self._check_scale_growth_tracker("update")
        if new_scale is not None:
            if isinstance(new_scale, float):
                scale.fill_(new_scale)
            else:
                reason = ("new_scale should be a float or a 1-element torch.cuda.FloatTensor or "
                          "torch.FloatTensor with requires_grad=False.")
                if new_scale._device.type != scale._device.type or new_scale.numel() != 1 \
                        or new_scale.requires_grad:
                    raise AssertionError(reason)
                scale.copy_(new_scale)
        else:
            found = [f for st in self._per_optimizer_states.values()
                     for f in st["found_inf_per_device"].values()]
            if not found:
                raise AssertionError("No inf checks were recorded prior to update.")
            total = found[0]
            for f in found[1:]:
                total = total + f.to(device=total._device)
            # PyTorch's _amp_update_scale_ (float32 arithmetic on the scale)
            if total.item():
                scale.mul_(self._backoff_factor)
                tracker.fill_(0)
            else:
                n = int(tracker.item()) + 1
                if n == self._growth_interval:
                    grown = scale * self._growth_factor
                    if grown.isfinite().item():
                        scale.copy_(grown)
                    n = 0
                tracker.fill_(n)
        self._per_optimizer_states = defaultdict(_refresh_per_optimizer_state)

    # -- accessors, state dict ------------------------------------------------------------
    def get_scale(self) -> float:
        if self._enabled:
            return self._init_scale if self._scale is None else float(self._scale.item())
        return 1.0

    def get_growth_factor(self) -> float:
        return self._growth_factor

    def set_growth_factor(self, new_factor: float) -> None:
        self._growth_factor = new_factor

    def get_backoff_factor(self) -> float:
        return self._backoff_factor

    def set_backoff_factor(self, new_factor: float) -> None:
        self._backoff_factor = new_factor

    def get_growth_interval(self) -> int:
        return self._growth_interval

    def set_growth_interval(self, new_interval: int) -> None:
        self._growth_interval = new_interval

    def _get_growth_tracker(self) -> int:
        if self._enabled:
            return self._init_growth_tracker if self._growth_tracker is None else \
                int(self._growth_tracker.item())
        return 0

    def is_enabled(self) -> bool:
        return self._enabled

    def state_dict(self) -> Dict[str, Any]:
        if self._enabled:
            return {"scale": self.get_scale(), "growth_factor": self._growth_factor,
                    "backoff_factor": self._backoff_factor,
                    "growth_interval": self._growth_interval,
                    "_growth_tracker": self._get_growth_tracker()}
        return {}

    def load_state_dict(self, state_dict: Dict[str, Any]) -> None:
        if not self._enabled:
            return
        if len(state_dict) == 0:
            raise RuntimeError("The source state dict is empty, possibly because it was saved "
                               "from a disabled instance of GradScaler.")
        self._init_scale = float(state_dict["scale"])
        if self._scale is not None:
            self._scale.fill_(state_dict["scale"])
        self._growth_factor = float(state_dict["growth_factor"])
        self._backoff_factor = float(state_dict["backoff_factor"])
        self._growth_interval = int(state_dict["growth_interval"])
        self._init_growth_tracker = int(state_dict["_growth_tracker"])
        if self._growth_tracker is not None:
            self._growth_tracker.fill_(state_dict["_growth_tracker"])
