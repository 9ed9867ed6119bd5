"""``dropout``: zero each element with probability p and scale the rest by 1/(1-p), with a
mask drawn from the input device's generator."""
from __future__ import annotations

from ...random import generator_for
from ...tensor import Tensor, _make

__all__ = ["dropout"]


def dropout(input: Tensor, p: float = 0.5, training: bool = True,
            inplace: bool = False) -> Tensor:
    """Zero each element with probability ``p`` (bernoulli draws from the default
    generator) and scale the survivors by ``1/(1-p)``; the identity when not training."""
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    be = input._device._be
    if p == 1.0:
        noise = be.full(input.shape, 0, input.dtype)
    else:
        keep = be.full(input.shape, 1.0 - p, input.dtype)
        noise = be.binary("div", be.bernoulli(keep, generator_for(input._device)), 1.0 - p)
    mask = _make(noise, input._device, False, None, 0, None)
    return input.mul_(mask) if inplace else input * mask


# -- embedding -----------------------------------------------------------------------------
