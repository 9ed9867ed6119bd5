"""``Dropout``: zero each element with probability ``p`` while training, scaling the rest
by ``1/(1-p)`` so that the expected value is unchanged; the identity in eval mode."""
from __future__ import annotations

from ..tensor import Tensor
from .functional.noise import dropout
from .module import Module

__all__ = ["Dropout"]


class Dropout(Module):
    """Random zeroing with the default generator (``minitorch.manual_seed`` makes it
    reproducible; the masks are not the ones PyTorch draws)."""

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if p < 0 or p > 1:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = p
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return dropout(input, self.p, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"
