"""``minitorch.utils.data``: datasets, samplers, collation and the ``DataLoader``, with the
API and behaviour of ``torch.utils.data``.

    dataset.py     Dataset, IterableDataset, TensorDataset, StackDataset, ConcatDataset,
                   ChainDataset, Subset, random_split
    sampler.py     Sampler, SequentialSampler, RandomSampler, SubsetRandomSampler,
                   WeightedRandomSampler, BatchSampler
    distributed.py DistributedSampler (each rank's share of the dataset, set_epoch)
    collate.py     default_collate, default_convert (samples -> batches)
    dataloader.py  DataLoader (single process, or worker processes with in-order delivery)
    _worker.py     the worker process loop, get_worker_info, and the tensor-free wire format
"""
from .collate import default_collate, default_convert
from .dataloader import DataLoader, _DatasetKind
from ._worker import WorkerInfo, get_worker_info
from .dataset import (ChainDataset, ConcatDataset, Dataset, IterableDataset, StackDataset,
                      Subset, TensorDataset, random_split)
from .sampler import (BatchSampler, RandomSampler, Sampler, SequentialSampler,
                      SubsetRandomSampler, WeightedRandomSampler)
from .distributed import DistributedSampler

__all__ = ["BatchSampler", "ChainDataset", "ConcatDataset", "DataLoader", "Dataset",
           "DistributedSampler",
           "IterableDataset", "RandomSampler", "Sampler", "SequentialSampler", "StackDataset",
           "Subset", "SubsetRandomSampler", "TensorDataset", "WeightedRandomSampler",
           "WorkerInfo", "default_collate", "default_convert", "get_worker_info",
           "random_split"]
