"""``minitorch.optim``: optimizers (SGD, Adam, AdamW, RMSprop, Adagrad, LBFGS) and learning-rate
schedulers (``minitorch.optim.lr_scheduler``), with PyTorch's names, options, update
formulas and ``state_dict`` formats."""
from .optimizer import Optimizer, required  # noqa: F401
from .sgd import SGD  # noqa: F401
from .adam import Adam  # noqa: F401
from .adamw import AdamW  # noqa: F401
from .rmsprop import RMSprop  # noqa: F401
from .adagrad import Adagrad  # noqa: F401
from .lbfgs import LBFGS  # noqa: F401
from . import lr_scheduler  # noqa: F401

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "LBFGS", "lr_scheduler"]
