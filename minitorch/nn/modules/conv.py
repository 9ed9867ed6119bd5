"""``minitorch.nn.modules.conv``: the path PyTorch code imports; re-exports the real classes (no copies)."""
from ..conv import _ConvNd, Conv2d, Conv1d  # noqa: F401
from ..conv_transpose import _ConvTransposeNd, ConvTranspose1d, ConvTranspose2d  # noqa: F401

__all__ = ['Conv2d', 'Conv1d']
