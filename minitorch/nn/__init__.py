"""``minitorch.nn``: Modules, layers, losses, ``functional`` and ``init``, as in ``torch.nn``."""
from __future__ import annotations

from .parameter import Parameter, Buffer  # noqa: F401
from .module import Module  # noqa: F401
from .container import (Sequential, ModuleList, ModuleDict, ParameterList,  # noqa: F401
                        ParameterDict)
from .linear import Linear, Identity  # noqa: F401
from .flatten import Flatten, Unflatten  # noqa: F401
from .activation import (ReLU, ReLU6, LeakyReLU, ELU, SELU, CELU, GELU, SiLU, Mish,  # noqa: F401
                         Softplus, Sigmoid, Tanh, LogSigmoid, Hardtanh, Softmax, LogSoftmax,
                         Softmin, PReLU)
from .loss import (L1Loss, MSELoss, SmoothL1Loss, HuberLoss, NLLLoss,  # noqa: F401
                   CrossEntropyLoss, BCELoss, BCEWithLogitsLoss, KLDivLoss)
from . import functional, init, utils  # noqa: F401
from . import parallel  # noqa: F401,E402 - DistributedDataParallel

# the layers' modules list their classes in __all__: Conv1d/Conv2d/Fold/Unfold,
# MaxPool*/AvgPool*/AdaptiveAvgPool*, BatchNorm*/LayerNorm/GroupNorm, Dropout, Embedding,
# RNN/LSTM/GRU (+Cells)
from .conv import *  # noqa: F401,F403,E402
from .conv_transpose import *  # noqa: F401,F403,E402
from .pooling import *  # noqa: F401,F403,E402
from .normalization import *  # noqa: F401,F403,E402
from .dropout import *  # noqa: F401,F403,E402
from .embedding import *  # noqa: F401,F403,E402
from .rnn import *  # noqa: F401,F403,E402
from .transformer import *  # noqa: F401,F403,E402
from . import modules  # noqa: F401,E402  (torch.nn.modules.* paths, after the layers)
