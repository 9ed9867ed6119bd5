"""``torch.diag`` and ``torch.diagonal``, composed from indexing (so gradients, double
backward and every device come for free).

``diagonal`` returns a copy here, where PyTorch returns a strided view: reading is the same,
writing into the result does not reach the input.
"""
from __future__ import annotations

from ..tensor import Tensor, _wrap_dim


def _diag_index(rows: int, cols: int, offset: int, device):
    from ..creation import arange
    r0, c0 = (0, offset) if offset >= 0 else (-offset, 0)
    n = max(0, min(rows - r0, cols - c0))
    i = arange(n, device=device)
    return i + r0, i + c0


def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """The diagonal ``offset`` of the 2-D slices over ``dim1``, ``dim2``, as the last dim."""
    nd = input.dim()
    d1, d2 = _wrap_dim(dim1, nd), _wrap_dim(dim2, nd)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    x = input.movedim((d1, d2), (-2, -1))
    r, c = _diag_index(x.shape[-2], x.shape[-1], int(offset), input.device)
    return x[..., r, c]


def diag(input: Tensor, diagonal: int = 0) -> Tensor:
    """1-D input: the square matrix with ``input`` on diagonal ``diagonal``; 2-D input: that
    diagonal of it, as a 1-D tensor."""
    from ..creation import zeros
    if input.dim() == 2:
        r, c = _diag_index(input.shape[0], input.shape[1], int(diagonal), input.device)
        return input[r, c]
    if input.dim() != 1:
        raise RuntimeError("diag(): Supports 1D or 2D tensors. Got "
                           f"{input.dim()}D")
    n = input.shape[0] + abs(int(diagonal))
    out = zeros(n, n, dtype=input.dtype, device=input.device)
    r, c = _diag_index(n, n, int(diagonal), input.device)
    out[r, c] = input
    return out
