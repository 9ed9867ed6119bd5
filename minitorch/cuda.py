"""``minitorch.cuda``: availability and generators of the cuda device, as in ``torch.cuda``."""
from __future__ import annotations

from .backends.runtime import probe as cuda_probe


def is_available() -> bool:
    """True when CuPy, a driver and a GPU are all present (never raises)."""
    try:
        return cuda_probe.unavailable_reason() is None
    except Exception:
        return False


def unavailable_reason():
    """Why ``device('cuda')`` cannot be used here, or None."""
    return cuda_probe.unavailable_reason()


def device_count() -> int:
    if not is_available():
        return 0
    import cupy
    return int(cupy.cuda.runtime.getDeviceCount())


def manual_seed(seed: int) -> None:
    from .random import _device_generators
    for dev, g in _device_generators.items():
        if dev.type == "cuda":
            g.manual_seed(seed)


manual_seed_all = manual_seed


def synchronize() -> None:
    if is_available():
        import cupy
        cupy.cuda.runtime.deviceSynchronize()


from .amp._aliases import cuda_amp as amp  # noqa: E402,F401  (torch.cuda.amp: issue 18)
