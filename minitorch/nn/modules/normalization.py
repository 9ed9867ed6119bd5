"""``minitorch.nn.modules.normalization``: the path PyTorch code imports; re-exports the real classes (no copies)."""
from ..normalization import LayerNorm, GroupNorm  # noqa: F401

__all__ = ['LayerNorm', 'GroupNorm']
