"""Device backends.  ``base.Backend`` is the contract; ``cpu`` implements it with NumPy.

The small objects below exist so that PyTorch code that reads or sets
``torch.backends.cudnn.benchmark``, ``torch.backends.cuda.matmul.allow_tf32`` or asks
``torch.backends.mps.is_available()`` runs unchanged.  They are flags only: minitorch has no
cuDNN, TF32 or MPS paths, so setting them changes nothing (documented in docs/api/tensor.md).
"""
from types import SimpleNamespace as _NS


class _Flags:
    """A namespace of settable no-op flags with ``is_available()`` / ``is_built()``."""

    def __init__(self, name, available=False, **flags):
        self.__dict__.update(flags)
        self._name = name
        self._available = available

    def is_available(self) -> bool:
        return self._available

    def is_built(self) -> bool:
        return self._available

    def __repr__(self):
        return f"<minitorch.backends.{self._name} (no-op flags)>"


mps = _Flags("mps")
cudnn = _Flags("cudnn", enabled=True, benchmark=False, deterministic=False, allow_tf32=True)
cudnn.version = lambda: None
cuda = _Flags("cuda", matmul=_NS(allow_tf32=False, allow_fp16_reduced_precision_reduction=True,
                                 allow_bf16_reduced_precision_reduction=True),
              flash_sdp_enabled=lambda: True, mem_efficient_sdp_enabled=lambda: True,
              math_sdp_enabled=lambda: True)


def _cuda_built() -> bool:
    try:
        from ..device import is_available
        return bool(is_available("cuda"))
    except Exception:
        return False


cuda.is_built = _cuda_built
