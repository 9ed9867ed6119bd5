"""``minitorch.utils``: helpers outside the core tensor library (``utils.data``: datasets,
samplers and the ``DataLoader``)."""
from . import data  # noqa: F401
from . import dlpack  # noqa: F401  (issue 18: to_dlpack / from_dlpack)

__all__ = ["data"]
