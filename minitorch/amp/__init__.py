"""Automatic mixed precision (issue 18): ``autocast`` and ``GradScaler``, as ``torch.amp``.
See docs/amp.md."""
from .autocast_mode import (autocast, is_autocast_available, is_autocast_enabled,  # noqa: F401
                            get_autocast_dtype, set_autocast_enabled, set_autocast_dtype,
                            clear_autocast_cache)
from .grad_scaler import GradScaler  # noqa: F401

__all__ = ["autocast", "GradScaler", "is_autocast_available"]
