"""``minitorch.nn.modules.container``: the path PyTorch code imports; re-exports the real classes (no copies)."""
from ..container import Sequential, ModuleList, ModuleDict, ParameterList, ParameterDict  # noqa: F401

__all__ = ['Sequential', 'ModuleList', 'ModuleDict', 'ParameterList', 'ParameterDict']
