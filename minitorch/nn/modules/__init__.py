"""``minitorch.nn.modules``: PyTorch's module paths (``torch.nn.modules.transformer`` etc.).

Each submodule re-exports the real classes defined in ``minitorch.nn``'s own files, so
``minitorch.nn.modules.linear.Linear is minitorch.nn.Linear``.
"""
from . import (module, container, linear, conv, activation, transformer, loss, rnn,  # noqa: F401
               normalization, batchnorm, pooling, dropout, sparse, flatten, fold)
from .module import *  # noqa: F401,F403
from .container import *  # noqa: F401,F403
from .linear import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .activation import *  # noqa: F401,F403
from .transformer import *  # noqa: F401,F403
from .loss import *  # noqa: F401,F403
from .rnn import *  # noqa: F401,F403
from .normalization import *  # noqa: F401,F403
from .batchnorm import *  # noqa: F401,F403
from .pooling import *  # noqa: F401,F403
from .dropout import *  # noqa: F401,F403
from .sparse import *  # noqa: F401,F403
from .flatten import *  # noqa: F401,F403
from .fold import *  # noqa: F401,F403
