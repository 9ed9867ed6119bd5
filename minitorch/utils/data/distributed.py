"""``DistributedSampler``: each rank of a data-parallel job reads its own share of a dataset.

PyTorch's partitioning rules exactly: the (optionally shuffled) index list is padded by
repeating its head until it divides by ``num_replicas`` (or, with ``drop_last``, cut to a
multiple), then rank ``r`` takes ``indices[r::num_replicas]``.  The shuffle is
``randperm(len(dataset))`` under a ``Generator`` seeded with ``seed + epoch`` (call
``set_epoch`` at the start of every epoch, or every epoch sees the same order).  As with the
other random samplers the *permutation* differs from PyTorch's, because minitorch's
generator is NumPy's PCG64, not PyTorch's Mersenne Twister; with ``shuffle=False`` the
indices are PyTorch's.
"""
from __future__ import annotations

import math
from typing import Iterator, Optional, TypeVar

from ...creation import randperm
from ...random import Generator
from .sampler import Sampler

__all__ = ["DistributedSampler"]

T_co = TypeVar("T_co", covariant=True)


class DistributedSampler(Sampler[T_co]):
    """Restricts loading to a ``1/num_replicas`` share of the dataset (rank ``rank``'s)."""

    def __init__(self, dataset, num_replicas: Optional[int] = None, rank: Optional[int] = None,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False) -> None:
        if num_replicas is None or rank is None:
            from ... import distributed as dist
            if not dist.is_initialized():
                raise ValueError("Default process group has not been initialized, please make "
                                 "sure to call init_process_group.")
            if num_replicas is None:
                num_replicas = dist.get_world_size()
            if rank is None:
                rank = dist.get_rank()
        if rank >= num_replicas or rank < 0:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval "
                             f"[0, {num_replicas - 1}]")
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        self.drop_last = drop_last
        n = len(self.dataset)
        if self.drop_last and n % self.num_replicas != 0:
            # split to the nearest length that divides evenly: no rank reads padding
            self.num_samples = math.ceil((n - self.num_replicas) / self.num_replicas)
        else:
            self.num_samples = math.ceil(n / self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas
        self.shuffle = shuffle
        self.seed = seed

    def __iter__(self) -> Iterator[T_co]:
        n = len(self.dataset)
        if self.shuffle:
            g = Generator()
            g.manual_seed(self.seed + self.epoch)
            indices = randperm(n, generator=g).tolist()
        else:
            indices = list(range(n))
        if not self.drop_last:
            padding_size = self.total_size - len(indices)
            if padding_size <= len(indices):
                indices += indices[:padding_size]
            else:
                indices += (indices * math.ceil(padding_size / len(indices)))[:padding_size]
        else:
            indices = indices[:self.total_size]
        assert len(indices) == self.total_size
        indices = indices[self.rank:self.total_size:self.num_replicas]
        assert len(indices) == self.num_samples
        return iter(indices)

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """The epoch seeds the shuffle (``seed + epoch``): call it before each epoch so that
        every epoch has a new order, the same on every rank."""
        self.epoch = epoch
