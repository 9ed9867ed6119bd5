"""``minitorch.nn.parallel``: ``DistributedDataParallel`` (data parallelism across processes,
on ``minitorch.distributed``), as ``torch.nn.parallel``."""
from .distributed import DistributedDataParallel

__all__ = ["DistributedDataParallel"]
