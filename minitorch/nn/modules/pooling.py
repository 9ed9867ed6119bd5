"""``minitorch.nn.modules.pooling``: the path PyTorch code imports; re-exports the real classes (no copies)."""
from ..pooling import _MaxPoolNd, MaxPool2d, MaxPool1d, AvgPool2d, AvgPool1d, AdaptiveAvgPool2d, AdaptiveAvgPool1d  # noqa: F401

__all__ = ['MaxPool2d', 'MaxPool1d', 'AvgPool2d', 'AvgPool1d', 'AdaptiveAvgPool2d', 'AdaptiveAvgPool1d']
