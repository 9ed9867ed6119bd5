"""``minitorch.nn.modules.activation``: the path PyTorch code imports; re-exports the real classes (no copies)."""
from ..activation import ReLU, Hardtanh, ReLU6, LeakyReLU, ELU, CELU, SELU, GELU, SiLU, Mish, Softplus, Sigmoid, Tanh, LogSigmoid, Softmax, LogSoftmax, Softmin, PReLU  # noqa: F401
from ..transformer import MultiheadAttention  # noqa: F401

__all__ = ['ReLU', 'Hardtanh', 'ReLU6', 'LeakyReLU', 'ELU', 'CELU', 'SELU', 'GELU', 'SiLU', 'Mish', 'Softplus', 'Sigmoid', 'Tanh', 'LogSigmoid', 'Softmax', 'LogSoftmax', 'Softmin', 'PReLU', 'MultiheadAttention']
