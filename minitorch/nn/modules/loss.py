"""``minitorch.nn.modules.loss``: the path PyTorch code imports; re-exports the real classes (no copies)."""
from ..loss import _Loss, _WeightedLoss, L1Loss, MSELoss, SmoothL1Loss, HuberLoss, NLLLoss, CrossEntropyLoss, BCELoss, BCEWithLogitsLoss, KLDivLoss  # noqa: F401

__all__ = ['L1Loss', 'MSELoss', 'SmoothL1Loss', 'HuberLoss', 'NLLLoss', 'CrossEntropyLoss', 'BCELoss', 'BCEWithLogitsLoss', 'KLDivLoss']
