"""``minitorch.utils``: helpers outside the core tensor library (``utils.data``: datasets,
samplers and the ``DataLoader``)."""
from . import data  # noqa: F401

__all__ = ["data"]
