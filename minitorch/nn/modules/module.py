"""``minitorch.nn.modules.module``: the path PyTorch code imports; re-exports the real classes (no copies)."""
from ..module import Module  # noqa: F401

__all__ = ['Module']
