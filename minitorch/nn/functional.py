"""``minitorch.nn.functional`` (``F``): the stateless forms of the layers, activations and
losses.  The implementations live next to their Modules (linear.py, activation.py, loss.py;
convolution, pooling, normalisation, dropout, embedding in _functional_layers.py); this
module gathers them under PyTorch's names."""
from __future__ import annotations

from typing import Sequence

from ..ops.index import one_hot as _one_hot
from ..tensor import Tensor
from .activation import (relu, relu_, relu6, leaky_relu, elu, selu, celu, gelu, silu,  # noqa: F401
                         mish, softplus, sigmoid, tanh, logsigmoid, hardtanh, softmax,
                         log_softmax, softmin, prelu)
from .linear import linear  # noqa: F401
from .loss import (l1_loss, mse_loss, smooth_l1_loss, huber_loss, nll_loss,  # noqa: F401
                   cross_entropy, binary_cross_entropy, binary_cross_entropy_with_logits,
                   kl_div)


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """Int64 tensor of shape (*, num_classes) with a 1 at each index of ``tensor``."""
    return _one_hot(tensor, num_classes)


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> Tensor:
    """input / max(‖input‖_p along dim, eps)."""
    if p == 2.0:
        sq = (input * input).sum(dim, keepdim=True)
        pos = sq > 0
        norm = sq.where(pos, 1.0).sqrt().where(pos, 0.0)  # no 0/0 in the gradient at 0
    else:
        a = input.abs()
        norm = a.amax(dim, keepdim=True) if p == float("inf") else \
            (a ** p).sum(dim, keepdim=True) ** (1.0 / p)
    return input / norm.clamp(min=eps).expand_as(input)


def pad(input: Tensor, pad: Sequence[int], mode: str = "constant", value: float = 0.0) -> Tensor:
    """Constant padding: ``pad`` = (left, right) for the last dim, then the one before ..."""
    if mode != "constant":
        raise NotImplementedError(f"pad mode {mode!r} is not supported (only 'constant')")
    if len(pad) % 2 or len(pad) // 2 > input.ndim:
        raise RuntimeError("Padding length must be divisible by 2 and at most twice the number "
                           "of dimensions of the input")
    shape = list(input.shape)
    key = [slice(None)] * input.ndim
    for i in range(len(pad) // 2):
        d = input.ndim - 1 - i
        lo, hi = pad[2 * i], pad[2 * i + 1]
        if lo < 0 or hi < 0:  # negative padding crops
            input = input.narrow(d, max(-lo, 0), input.shape[d] - max(-lo, 0) - max(-hi, 0))
            lo, hi = max(lo, 0), max(hi, 0)
        shape[d] = input.shape[d] + lo + hi
        key[d] = slice(lo, lo + input.shape[d])
    out = input.new_full(shape, value)
    out[tuple(key)] = input
    return out


from ._functional_layers import *  # noqa: F401,F403,E402
