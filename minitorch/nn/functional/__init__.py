"""``minitorch.nn.functional`` (``F``): the stateless forms of the layers, activations and
losses, one module per family (the Modules in ``minitorch.nn`` call these):

activation.py  relu, gelu, softmax, log_softmax, erf ...
loss.py        mse_loss, cross_entropy, nll_loss, binary_cross_entropy ...
dense.py       linear
conv.py        conv1d/2d, unfold, fold, max/avg/adaptive pooling, pad
conv_transpose.py  conv_transpose1d/2d
norm.py        batch_norm, layer_norm, group_norm, normalize
noise.py       dropout
attention.py   scaled_dot_product_attention
sparse.py      embedding, one_hot

(The family modules are not named after a function they hold, so that ``F.linear`` is
always the function.)
"""
from . import activation, attention, conv, conv_transpose, dense, loss, noise, norm, sparse
from .activation import *  # noqa: F401,F403
from .attention import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .conv_transpose import *  # noqa: F401,F403
from .dense import linear  # noqa: F401
from .loss import *  # noqa: F401,F403
from .noise import *  # noqa: F401,F403
from .norm import *  # noqa: F401,F403
from .sparse import *  # noqa: F401,F403

__all__ = [n for m in (activation, attention, conv, conv_transpose, loss, noise, norm, sparse)
           for n in m.__all__] + [
    "linear"]
