"""The deprecated spellings ``torch.cpu.amp.autocast`` / ``torch.cuda.amp.autocast`` /
``torch.cuda.amp.GradScaler``: same objects with their old signatures, and PyTorch's
FutureWarning pointing at ``torch.amp``."""
from __future__ import annotations

import warnings

from .. import _dtype as D
from .autocast_mode import autocast as _autocast
from .grad_scaler import GradScaler as _GradScaler


class _CpuAutocast(_autocast):
    def __init__(self, enabled: bool = True, dtype=D.bfloat16, cache_enabled: bool = True):
        warnings.warn("`torch.cpu.amp.autocast(args...)` is deprecated. Please use "
                      "`torch.amp.autocast('cpu', args...)` instead.", FutureWarning,
                      stacklevel=2)
        super().__init__("cpu", dtype=dtype, enabled=enabled, cache_enabled=cache_enabled)


class _CudaAutocast(_autocast):
    def __init__(self, enabled: bool = True, dtype=D.float16, cache_enabled: bool = True):
        warnings.warn("`torch.cuda.amp.autocast(args...)` is deprecated. Please use "
                      "`torch.amp.autocast('cuda', args...)` instead.", FutureWarning,
                      stacklevel=2)
        super().__init__("cuda", dtype=dtype, enabled=enabled, cache_enabled=cache_enabled)


class _CudaGradScaler(_GradScaler):
    def __init__(self, init_scale: float = 2.0 ** 16, growth_factor: float = 2.0,
                 backoff_factor: float = 0.5, growth_interval: int = 2000,
                 enabled: bool = True) -> None:
        warnings.warn("`torch.cuda.amp.GradScaler(args...)` is deprecated. Please use "
                      "`torch.amp.GradScaler('cuda', args...)` instead.", FutureWarning,
                      stacklevel=2)
        super().__init__("cuda", init_scale=init_scale, growth_factor=growth_factor,
                         backoff_factor=backoff_factor, growth_interval=growth_interval,
                         enabled=enabled)


class cpu_amp:  # the namespace object ``minitorch.cpu.amp``
    autocast = _CpuAutocast


class cuda_amp:  # ``minitorch.cuda.amp``
    autocast = _CudaAutocast
    GradScaler = _CudaGradScaler


def _make_cpu_module():
    """``minitorch.cpu``: the namespace of ``torch.cpu`` that ported code touches."""
    import types
    m = types.ModuleType("minitorch.cpu", "CPU namespace (torch.cpu): amp, is_available.")
    m.amp = cpu_amp
    m.is_available = lambda: True
    m.device_count = lambda: 1
    m.synchronize = lambda device=None: None
    return m


cpu = _make_cpu_module()
