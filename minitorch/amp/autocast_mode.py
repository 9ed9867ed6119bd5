"""``minitorch.autocast``: run the ops that gain from it in a 16-bit float, the rest in float32.

Inside ``with minitorch.autocast("cpu", dtype=minitorch.bfloat16):`` each op on the lists
below casts its floating-point tensor arguments first (float64 is left alone, as PyTorch
does):

* **lower precision** (``LOWER_PRECISION``): matmul, mm, bmm, linear, conv1d, conv2d,
  scaled_dot_product_attention, prelu -- the products, which Tensor Cores run ~10x faster in
  FP16/BF16 and which accumulate in float32 anyway;
* **float32** (``FP32[device]``): losses (and, on cuda, softmax/log_softmax and the norms),
  where a 16-bit float's 3 significant digits (bfloat16) or its 65504 range (float16) lose
  the answer.

Everything else runs in whatever dtype its inputs have, so an elementwise op after a
bfloat16 matmul stays bfloat16.  These are PyTorch's lists for the ops minitorch has
(``aten/src/ATen/autocast_mode.cpp``; tests/test_amp.py checks the CPU ones against
``torch.autocast("cpu")`` op by op).

How: each listed op starts with ``if _ac.active:`` -- one module-attribute read, the number
of autocast regions open in any thread -- so with autocast off nothing else happens.  When
it is non-zero the op asks this module for its thread's state (``threading.local``: autocast
is per thread, like PyTorch's) and casts.  Casts are ordinary ``Tensor.to`` calls, so
gradients flow back to the float32 weights in float32.  With ``cache_enabled`` the cast of a
leaf that requires grad (a weight) is made once per outermost region and reused.
"""
from __future__ import annotations

import functools
import threading
import warnings
from typing import Optional

from .. import _dtype as D

__all__ = ["autocast", "is_autocast_enabled", "get_autocast_dtype", "set_autocast_enabled",
           "set_autocast_dtype", "clear_autocast_cache", "is_autocast_available",
           "LOWER_PRECISION", "FP32"]

# the one number the hot path reads: autocast regions open (enabled) in any thread
active = 0
_lock = threading.Lock()
_tls = threading.local()

LOWER_PRECISION = ("matmul", "mm", "bmm", "linear", "conv1d", "conv2d",
                   "scaled_dot_product_attention", "prelu")
_LOSSES = ("mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "kl_div", "nll_loss",
           "cross_entropy", "binary_cross_entropy", "binary_cross_entropy_with_logits")
FP32 = {"cpu": _LOSSES,
        "cuda": _LOSSES + ("softmax", "log_softmax", "layer_norm", "group_norm")}
_DEFAULT = {"cpu": D.bfloat16, "cuda": D.float16}
_SUPPORTED = {"cpu": (D.bfloat16, D.float16), "cuda": (D.float16, D.bfloat16)}


class _State:
    __slots__ = ("enabled", "dtype", "cache_enabled", "nesting", "cache")

    def __init__(self):
        self.enabled = {"cpu": False, "cuda": False}
        self.dtype = dict(_DEFAULT)
        self.cache_enabled = True
        self.nesting = 0
        self.cache = {}


def _state() -> _State:
    s = getattr(_tls, "s", None)
    if s is None:
        s = _tls.s = _State()
    return s


def _kind(device_type: str) -> str:
    """cudasim follows cuda's state and lists (it runs the cuda kernels)."""
    if device_type in ("cuda", "cudasim"):
        return "cuda"
    if device_type == "cpu":
        return "cpu"
    raise RuntimeError(f"Invalid device string: '{device_type}'")


def is_autocast_available(device_type: str) -> bool:
    return device_type in ("cpu", "cuda", "cudasim")


def is_autocast_enabled(device_type: Optional[str] = None) -> bool:
    """Is autocast on for ``device_type`` in this thread (``cuda`` when not given, as
    PyTorch's deprecated no-argument form)?"""
    return _state().enabled[_kind(device_type or "cuda")]


def get_autocast_dtype(device_type: str):
    return _state().dtype[_kind(device_type)]


def set_autocast_enabled(device_type: str, enabled: bool) -> None:
    global active
    s = _state()
    k = _kind(device_type)
    if s.enabled[k] != bool(enabled):
        with _lock:
            active += 1 if enabled else -1
        s.enabled[k] = bool(enabled)


def set_autocast_dtype(device_type: str, dtype) -> None:
    _state().dtype[_kind(device_type)] = dtype


def clear_autocast_cache() -> None:
    _state().cache.clear()


class autocast:
    """``autocast(device_type, dtype=None, enabled=True, cache_enabled=None)``: a context
    manager and a decorator, as ``torch.autocast``.  ``dtype`` defaults to bfloat16 on cpu
    and float16 on cuda; ``enabled=False`` opens a region with autocast off (inside an
    enabled one: those ops run in their inputs' dtypes).  Regions nest; the state is per
    thread."""

    def __init__(self, device_type: str, dtype=None, enabled: bool = True,
                 cache_enabled: Optional[bool] = None):
        if not isinstance(device_type, str):
            raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
        self.device = device_type
        k = _kind(device_type)
        self._kind = k
        self.fast_dtype = get_autocast_dtype(device_type) if dtype is None else D.to_dtype(dtype)
        self._cache_enabled = True if cache_enabled is None else bool(cache_enabled)
        enabled = bool(enabled)
        if enabled and self.fast_dtype not in _SUPPORTED[k]:
            names = ", ".join(f"torch.{d.name}" for d in _SUPPORTED[k])
            warnings.warn(f"In {'CPU' if k == 'cpu' else 'CUDA'} autocast, but the target dtype "
                          f"is not supported. Disabling autocast.\n"
                          f"{'CPU' if k == 'cpu' else 'CUDA'} Autocast only supports dtypes of "
                          f"{names} currently.", UserWarning, stacklevel=2)
            enabled = False
        self._enabled = enabled
        self._prev = []

    def __enter__(self):
        s = _state()
        k = self._kind
        self._prev.append((s.enabled[k], s.dtype[k], s.cache_enabled))
        set_autocast_enabled(k, self._enabled)
        s.dtype[k] = self.fast_dtype
        s.cache_enabled = self._cache_enabled
        s.nesting += 1
        return self

    def __exit__(self, exc_type, exc, tb):
        s = _state()
        k = self._kind
        s.nesting -= 1
        if s.nesting == 0:
            s.cache.clear()  # the outermost region ends: weights may change before the next
        enabled, dtype, cache = self._prev.pop()
        set_autocast_enabled(k, enabled)
        s.dtype[k] = dtype
        s.cache_enabled = cache
        return False

    def __call__(self, func):
        @functools.wraps(func)
        def decorate_autocast(*args, **kwargs):
            with self:
                return func(*args, **kwargs)
        return decorate_autocast


# -- what the listed ops call (only when ``active``) -------------------------------------------

def _device_kind(args) -> Optional[str]:
    for a in args:
        dev = getattr(a, "_device", None)
        if dev is not None:
            return "cuda" if dev.type in ("cuda", "cudasim") else dev.type
    return None


def cast_lower(*args):
    """The arguments of a lower-precision op, floating tensors cast to the autocast dtype
    when autocast is on for their device in this thread (else unchanged)."""
    s = _state()
    k = _device_kind(args)
    if k is None or not s.enabled.get(k, False):
        return args
    dt = s.dtype[k]
    return tuple(_cast(a, dt, s) for a in args)


def cast_fp32(*args):
    """The arguments of a float32-listed op: 16-bit floating tensors cast to float32."""
    s = _state()
    k = _device_kind(args)
    if k is None or not s.enabled.get(k, False):
        return args
    return tuple(_cast(a, D.float32, s) for a in args)


def fp32_listed(op: str, *args):
    """cast_fp32 for an op that only some devices list (softmax & co.: cuda only)."""
    k = _device_kind(args)
    if k is None or op not in FP32.get(k, ()):
        return args
    return cast_fp32(*args)


def _cast(a, dt, s):
    d = getattr(a, "dtype", None)
    if d is None or d.__class__ is not D.dtype or not d.is_floating_point or d is D.float64 \
            or d is dt:
        return a
    if s.cache_enabled and a._requires_grad and a.grad_fn is None and dt is not D.float32:
        key = (id(a), dt.name)
        hit = s.cache.get(key)
        if hit is not None and hit[0] is a and hit[2] == a._version:
            return hit[1]
        r = a.to(dt)
        s.cache[key] = (a, r, a._version)
        return r
    return a.to(dt)
