"""``torch.roll``: shift elements along dims, wrapping around.  Composed from ``narrow`` and
``cat`` (so the gradient is the opposite roll, for free); no dims rolls the flattened tensor."""
from __future__ import annotations

from ..tensor import Tensor, _wrap_dim


def roll(input: Tensor, shifts, dims=None) -> Tensor:
    from .shape import cat
    shifts = (shifts,) if isinstance(shifts, int) else tuple(shifts)
    if dims is None:
        if len(shifts) != 1:
            raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, dims:0")
        return roll(input.flatten(), shifts, 0).view(input.shape)
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    if len(shifts) != len(dims):
        raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, "
                           f"dims:{len(dims)}")
    if not input.numel():  # (PyTorch returns an empty input's copy before the dim checks)
        return input.clone()
    out = input
    for s, d in zip(shifts, dims):
        d = _wrap_dim(d, input.dim())
        n = input.shape[d]
        if n == 0:
            continue
        s = int(s) % n
        if s:
            out = cat([out.narrow(d, n - s, s), out.narrow(d, 0, n - s)], d)
    return out if out is not input else input.clone()
