"""Device strings and the registry that maps a device type to its backend.

``device('cpu')``, ``device('cuda:0')``, ``device('cuda', 1)`` parse like PyTorch's.  A
backend is created on first use; a device that cannot be used here raises a RuntimeError
that says why (no CuPy, no driver, no GPU ...).
"""
from __future__ import annotations

from typing import Callable, Dict, Optional, Union

__all__ = ["device", "register_backend", "get_backend", "is_available"]


class device:
    __slots__ = ("type", "index", "_be")

    def __init__(self, type: Union[str, "device"], index: Optional[int] = None):  # noqa: A002
        self._be = None
        if isinstance(type, device):
            self.type, self.index = type.type, type.index
            return
        if not isinstance(type, str):
            raise TypeError(f"device() expects a string such as 'cpu' or 'cuda:0', got {type!r}")
        t = type.strip()
        if ":" in t:
            if index is not None:
                raise RuntimeError(f"type (string) must not include an index because index was "
                                   f"passed explicitly: {type}")
            t, _, idx = t.partition(":")
            if not idx.isdigit():
                raise RuntimeError(f"Invalid device string: '{type}'")
            index = int(idx)
        if t not in _FACTORIES:
            raise RuntimeError(f"Expected one of {', '.join(sorted(_FACTORIES))} device type at "
                               f"start of device string: {type}")
        if index is not None and index < 0:
            raise RuntimeError(f"Device index must not be negative, got {index}")
        self.type = t
        self.index = index

    def __repr__(self) -> str:
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other) -> bool:
        if isinstance(other, str):
            try:
                other = device(other)
            except RuntimeError:
                return False
        return isinstance(other, device) and self.type == other.type and self.index == other.index

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __enter__(self) -> "device":
        """``with minitorch.device('cudasim'):`` -- factories inside default to this device."""
        from .creation import _enter_device
        _enter_device(self)
        return self

    def __exit__(self, *exc) -> None:
        from .creation import _exit_device
        _exit_device()


# device type -> factory(index) returning a Backend; factories may raise RuntimeError("why")
_FACTORIES: Dict[str, Callable[[int], object]] = {}
_BACKENDS: Dict[tuple, object] = {}


def register_backend(type_name: str, factory: Callable[[int], object]) -> None:
    """Make ``device(type_name)`` usable: ``factory(index)`` returns the backend object."""
    _FACTORIES[type_name] = factory


def get_backend(dev: device):
    """The backend for a (normalized) device, created on first use."""
    key = (dev.type, dev.index or 0)
    be = _BACKENDS.get(key)
    if be is None:
        be = _FACTORIES[dev.type](dev.index or 0)
        _BACKENDS[key] = be
    return be


def is_available(type_name: str) -> bool:
    try:
        get_backend(device(type_name))
        return True
    except RuntimeError:
        return False


def canonical(dev) -> device:
    """Normalize a device argument to the one cached instance per (type, index), with its
    backend attached.  'cuda' means 'cuda:0', as tensors report it.  Raises RuntimeError
    (saying why) when the device cannot be used here."""
    if dev is None:
        return CPU
    d = _CANON.get(dev) if isinstance(dev, (str, int)) else None
    if d is not None:
        return d
    if isinstance(dev, device):
        key = (dev.type, dev.index or 0)
    elif isinstance(dev, str):
        p = device(dev)
        key = (p.type, p.index or 0)
    elif isinstance(dev, int) and not isinstance(dev, bool):
        key = ("cuda", dev)
    else:
        raise TypeError(f"expected a device (a string like 'cpu' or 'cuda:0', or minitorch.device), "
                        f"got {type(dev).__name__}")
    if key[0] == "cpu":
        key = ("cpu", 0)
    d = _CANON.get(key)
    if d is None:
        be = get_backend(device(key[0], key[1]))  # raises if unavailable
        d = device(key[0], None if key[0] == "cpu" else key[1])
        d._be = be
        _CANON[key] = d
    if isinstance(dev, (str, int)):
        _CANON[dev] = d
    return d


_CANON: Dict[object, device] = {}


def _cpu_factory(index: int):
    from .backends.cpu import CpuBackend
    return CpuBackend()


def _cuda_factory(index: int):
    # KernelBackend(CupyRuntime(index)): CUDA C kernels compiled by NVRTC through CuPy
    from .backends.runtime import probe as cuda_probe
    return cuda_probe.make_backend(index)


def _cudasim_factory(index: int):
    # KernelBackend(CudasimRuntime()): the same kernels compiled for the CPU (docs/cudasim.md)
    from .backends.runtime import probe as cuda_probe
    return cuda_probe.make_cudasim_backend(index)


register_backend("cpu", _cpu_factory)
register_backend("cuda", _cuda_factory)
register_backend("cudasim", _cudasim_factory)
CPU = canonical("cpu")
