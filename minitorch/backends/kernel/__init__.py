"""The kernel backend (``cuda`` and ``cudasim``): the backend contract on kernels/*.cu."""
from .backend import KernelBackend

__all__ = ["KernelBackend"]
