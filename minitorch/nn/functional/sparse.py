"""``embedding`` (a row gather of the weight, with ``padding_idx`` and ``max_norm``) and
``one_hot``."""
from __future__ import annotations

from typing import Optional

from ... import _dtype as D
from ..._tracing import host_check
from ...autograd.function import Function
from ...autograd.grad_mode import no_grad
from ...ops.elementwise import where
from ...ops.index import one_hot as _one_hot
from ...tensor import Tensor

__all__ = ["embedding", "one_hot"]


def embedding(input: Tensor, weight: Tensor, padding_idx: Optional[int] = None,
              max_norm: Optional[float] = None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Rows of ``weight`` picked by the integer ``input``: ``weight[input]``.  Repeated
    indices accumulate their gradients; rows at ``padding_idx`` get none.  ``max_norm``
    first renormalizes (in place, like PyTorch) the looked-up rows whose norm exceeds it."""
    if input.dtype not in (D.int64, D.int32):
        raise RuntimeError(f"Expected tensor for argument #1 'indices' to have one of the "
                           f"following scalar types: Long, Int; but got "
                           f"{input.type_name()} instead (while "
                           f"checking arguments for embedding)")
    if sparse or scale_grad_by_freq:
        raise NotImplementedError("embedding: sparse gradients and scale_grad_by_freq are not "
                                  "supported in minitorch")
    n = weight.shape[0]
    if input.numel():
        _check_rows(input._device._be, input._data, n)
    if padding_idx is not None:
        if not -n <= padding_idx < n:
            raise AssertionError("Padding_idx must be within num_embeddings")
        padding_idx = padding_idx + n if padding_idx < 0 else padding_idx
    if max_norm is not None:
        _renorm_rows(weight, input, max_norm, norm_type)
    idx = input.long() if input.dtype is D.int32 else input
    if weight.dim() == 2 and idx.numel():
        out = Embedding.apply(weight, idx)
    else:
        out = weight[idx]
    if padding_idx is not None and weight.requires_grad:
        # the same values, but no gradient path from the padding positions
        out = where((input == padding_idx).unsqueeze(-1), out.detach(), out)
    return out


# backward as one one-hot matmul while the (indices x rows) one-hot matrix stays this small
_ONE_HOT_MAX = 1 << 21


class Embedding(Function):
    """``weight[idx]`` (one ``index`` call) whose backward sums the gradient rows of
    repeated indices without a scatter-add: ``onehot(idx)ᵀ @ g``, one compare and one
    matmul (NumPy's ``np.add.at``, what ``index_put_(accumulate=True)`` costs on cpu, runs
    an inner loop per index: 4x slower at 384 tokens x 50 rows).  Past ``_ONE_HOT_MAX``
    elements of one-hot (large vocabularies) it is the scatter-add after all.  The backward
    is Tensor ops, so it is differentiable (double backward)."""

    _raw_forward = True

    @staticmethod
    def forward(ctx, weight, idx):
        ctx.save_for_backward(idx)
        ctx.rows = weight._data.shape[0]
        return weight._device._be.index(weight._data, (idx._data,))

    @staticmethod
    def backward(ctx, g):
        from ...creation import arange, zeros
        from ...ops.linalg import MatMul
        (idx,) = ctx.saved_tensors
        v, m, e = ctx.rows, idx.numel(), g.shape[-1]
        flat = idx.reshape(m)
        g2 = g.reshape(m, e)
        if m * v <= _ONE_HOT_MAX and _finite(g2):
            # (a NaN/inf in g would reach every row through 0 * NaN: the scatter-add then,
            # as PyTorch, where it reaches only its own row; traced, always the scatter-add)
            onehot = (flat.unsqueeze(1) == arange(v, device=g.device)).to(g.dtype)
            return MatMul.apply(onehot.t(), g2), None
        return zeros((v, e), dtype=g.dtype, device=g.device).scatter_add(
            0, flat.unsqueeze(1).expand(m, e), g2), None


def _finite(g: Tensor) -> bool:
    """Whether every value of g is finite (g * 0 sums to 0 exactly then, else to NaN); False
    while a graph is traced (no data-dependent choice is baked into it)."""
    from ... import _tracing
    if _tracing.active is not None:
        return False
    with no_grad():
        return bool(((g * 0).sum() == 0).item())


@host_check
def _check_rows(be, idx, n: int) -> None:
    """PyTorch's ``index out of range in self`` for an index outside [0, n)."""
    ax = tuple(range(idx.ndim))
    lo = int(be.to_numpy(be.reduce("min", idx, ax, False)))
    hi = int(be.to_numpy(be.reduce("max", idx, ax, False)))
    if lo < 0 or hi >= n:
        raise IndexError("index out of range in self")


def _renorm_rows(weight: Tensor, input: Tensor, max_norm: float, norm_type: float) -> None:
    """In place, untracked: rows of ``weight`` used by ``input`` with norm > max_norm are
    scaled to norm ``max_norm`` (PyTorch's embedding_renorm_, same 1e-7 guard)."""
    with no_grad():
        idx = input.reshape(-1).long()
        w = weight.data
        rows = w[idx]
        norms = (rows.abs() ** norm_type).sum(1, keepdim=True) ** (1.0 / norm_type)
        scale = (max_norm / (norms + 1e-7)).masked_fill(norms <= max_norm, 1.0)
        w[idx] = rows * scale


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """Int64 tensor of shape (*, num_classes) with a 1 at each index of ``tensor``."""
    return _one_hot(tensor, num_classes)
