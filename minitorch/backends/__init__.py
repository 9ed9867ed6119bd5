"""Device backends.  ``base.Backend`` is the contract; ``cpu`` implements it with NumPy.

The small objects below exist so that PyTorch code that reads or sets
``torch.backends.cudnn.benchmark``, ``torch.backends.cuda.matmul.allow_tf32`` or asks
``torch.backends.mps.is_available()`` runs unchanged.  They are flags only: minitorch has no
cuDNN, TF32 or MPS paths, so setting them changes nothing (documented in docs/api/tensor.md).
"""
import contextlib as _contextlib
import sys as _sys
import types as _types


class _Flags(_types.ModuleType):
    """A namespace of settable no-op flags with ``is_available()`` / ``is_built()``.

    A module object registered in ``sys.modules``, so ``import minitorch.backends.cudnn as
    cudnn`` works as it does for PyTorch.  Setting a flag stores it and changes nothing."""

    def __init__(self, name, available=False, **flags):
        super().__init__(f"{__name__}.{name}", f"no-op {name} flags (minitorch has no {name})")
        self.__dict__.update(flags)
        self._name = name
        self._available = available

    def is_available(self) -> bool:
        return self._available

    def is_built(self) -> bool:
        return self._available

    def __repr__(self):
        return f"<minitorch.backends.{self._name} (no-op flags)>"


class _Matmul:
    """``torch.backends.cuda.matmul``: cuBLAS precision flags.  As in PyTorch an unknown
    attribute raises (a misspelt flag is not silently ignored)."""

    _NAMES = ("allow_tf32", "allow_fp16_reduced_precision_reduction",
              "allow_bf16_reduced_precision_reduction", "fp32_precision")

    def __init__(self):
        d = self.__dict__
        d.update(allow_tf32=False, allow_fp16_reduced_precision_reduction=True,
                 allow_bf16_reduced_precision_reduction=True, fp32_precision="none")

    def __getattr__(self, name):
        raise AttributeError(f"Unknown attribute {name}")

    def __setattr__(self, name, value):
        if name not in self._NAMES:
            raise AttributeError(f"Unknown attribute {name}")
        self.__dict__[name] = value

    def __repr__(self):
        return "<minitorch.backends.cuda.matmul (no-op flags)>"


mps = _Flags("mps")
mkldnn = _Flags("mkldnn", enabled=False)
cudnn = _Flags("cudnn", enabled=True, benchmark=False, benchmark_limit=None,
               deterministic=False, allow_tf32=True, fp32_precision="none")
cudnn.version = lambda: None
cudnn.is_acceptable = lambda tensor: False


@_contextlib.contextmanager
def _cudnn_flags(enabled=False, benchmark=False, benchmark_limit=10, deterministic=False,
                 allow_tf32=True, fp32_precision="none", depthwise_kernel="auto"):
    """``with torch.backends.cudnn.flags(...)``: set the flags for the block, restore after."""
    names = ("enabled", "benchmark", "benchmark_limit", "deterministic", "allow_tf32",
             "fp32_precision")
    old = {k: getattr(cudnn, k) for k in names}
    new = dict(zip(names, (enabled, benchmark, benchmark_limit, deterministic, allow_tf32,
                           fp32_precision)))
    cudnn.__dict__.update(new)
    try:
        yield
    finally:
        cudnn.__dict__.update(old)


cudnn.flags = _cudnn_flags

# scaled-dot-product-attention backend switches: recorded and reported, never consulted
# (minitorch has one attention implementation, kernels/attention.cu)
_SDP = {"flash": True, "mem_efficient": True, "math": True, "cudnn": True}


def _sdp_getter(k):
    return lambda: _SDP[k]


def _sdp_setter(k):
    def enable(enabled: bool) -> None:
        _SDP[k] = bool(enabled)
    return enable


@_contextlib.contextmanager
def _sdp_kernel(enable_flash=True, enable_math=True, enable_mem_efficient=True,
                enable_cudnn=True):
    old = dict(_SDP)
    _SDP.update(flash=enable_flash, math=enable_math, mem_efficient=enable_mem_efficient,
                cudnn=enable_cudnn)
    try:
        yield
    finally:
        _SDP.update(old)


def _cuda_built() -> bool:
    """True when the ``cuda`` device can be used here (CuPy and a GPU)."""
    try:
        from ..device import is_available
        return bool(is_available("cuda"))
    except Exception:
        return False


cuda = _Flags("cuda", matmul=_Matmul(), sdp_kernel=_sdp_kernel)
for _k in _SDP:
    setattr(cuda, f"{_k}_sdp_enabled", _sdp_getter(_k))
    setattr(cuda, f"enable_{_k}_sdp", _sdp_setter(_k))
del _k
cuda.is_built = _cuda_built

for _m in (mps, mkldnn, cudnn, cuda):  # ``import minitorch.backends.cudnn as cudnn``
    _sys.modules.setdefault(_m.__name__, _m)
del _m
