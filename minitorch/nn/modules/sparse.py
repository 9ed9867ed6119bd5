"""``minitorch.nn.modules.sparse``: the path PyTorch code imports; re-exports the real classes (no copies)."""
from ..embedding import Embedding  # noqa: F401

__all__ = ['Embedding']
