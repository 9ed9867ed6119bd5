"""Find out whether the ``cuda`` device can be used here, and say why not if it can't."""
from __future__ import annotations


def unavailable_reason() -> str | None:
    try:
        import cupy  # noqa: F401
    except ImportError:
        return ("CuPy is not installed. Install the wheel that matches your CUDA driver, e.g. "
                "`pip install minitorch[cuda]` (cupy-cuda12x) — see README.md")
    except Exception as e:  # broken install, missing libcuda ...
        return f"CuPy failed to import ({type(e).__name__}: {e})"
    try:
        n = cupy.cuda.runtime.getDeviceCount()
    except Exception as e:
        return f"no usable NVIDIA driver or GPU was found ({type(e).__name__}: {e})"
    if n == 0:
        return "no NVIDIA GPU was found (cudaGetDeviceCount() == 0)"
    return None


def make_backend(index: int):
    why = unavailable_reason()
    if why is not None:
        raise RuntimeError(f"cuda device is not available: {why}")
    import cupy
    n = cupy.cuda.runtime.getDeviceCount()
    if index >= n:
        raise RuntimeError(f"CUDA error: invalid device ordinal: cuda:{index} requested but only "
                           f"{n} GPU(s) are visible")
    try:
        from .cuda import CudaBackend  # provided by the CUDA device work
    except ImportError as e:
        raise RuntimeError(f"cuda device is not available: this minitorch build has no cuda "
                           f"backend module ({e})") from None
    return CudaBackend(index)
