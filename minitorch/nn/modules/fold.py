"""``minitorch.nn.modules.fold``: re-exports the real classes (no copies)."""
from ..conv import Fold, Unfold  # noqa: F401

__all__ = ["Fold", "Unfold"]
