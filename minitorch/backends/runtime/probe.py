"""Find out whether the ``cuda`` and ``cudasim`` devices can be used here, and say why not."""
from __future__ import annotations


def unavailable_reason() -> str | None:
    """Why device ``cuda`` cannot be used (no CuPy, no driver, no GPU), or None."""
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
    """``KernelBackend(CupyRuntime(index))``, or a RuntimeError that says why not."""
    why = unavailable_reason()
    if why is not None:
        raise RuntimeError(f"cuda device is not available: {why}")
    import cupy
    n = cupy.cuda.runtime.getDeviceCount()
    if index >= n:
        raise RuntimeError(f"CUDA error: invalid device ordinal: cuda:{index} requested but only "
                           f"{n} GPU(s) are visible")
    from .cupy import CupyRuntime
    from ..kernel import KernelBackend
    return KernelBackend(CupyRuntime(index))


def cudasim_unavailable_reason() -> str | None:
    """Why device ``cudasim`` cannot be used (no C++ compiler), or None."""
    from .cudasim import unavailable_reason as why
    return why()


def make_cudasim_backend(index: int):
    """``KernelBackend(CudasimRuntime())`` for device ``cudasim`` (index 0 only)."""
    why = cudasim_unavailable_reason()
    if why is not None:
        raise RuntimeError(f"cudasim device is not available: {why}")
    if index != 0:
        raise RuntimeError(f"invalid device ordinal: cudasim:{index} requested but the simulator "
                           f"is one device, cudasim:0")
    from .cudasim import CudasimRuntime
    from ..kernel import KernelBackend  # an error in the backend's code surfaces here, loudly
    return KernelBackend(CudasimRuntime())
