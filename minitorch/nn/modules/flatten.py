"""``minitorch.nn.modules.flatten``: the path PyTorch code imports; re-exports the real classes (no copies)."""
from ..flatten import Flatten, Unflatten  # noqa: F401

__all__ = ['Flatten', 'Unflatten']
