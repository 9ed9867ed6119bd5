"""``minitorch.nn.modules.dropout``: the path PyTorch code imports; re-exports the real classes (no copies)."""
from ..dropout import Dropout  # noqa: F401

__all__ = ['Dropout']
