"""``minitorch.nn.modules.batchnorm``: the path PyTorch code imports; re-exports the real classes (no copies)."""
from ..normalization import _BatchNorm, BatchNorm1d, BatchNorm2d, BatchNorm3d  # noqa: F401

__all__ = ['BatchNorm1d', 'BatchNorm2d', 'BatchNorm3d']
