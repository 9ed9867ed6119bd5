"""Datasets and functions for the DataLoader worker tests.

They live in an importable module (not in the test file) so that worker processes started
with 'spawn' can unpickle them by reference without importing the test module (and torch).
"""
import os
import time

import numpy as np

import minitorch
from minitorch.utils.data import Dataset, IterableDataset, get_worker_info


class DictDataset(Dataset):
    """Sample i: a dict with a float tensor, an int, a float and a NumPy array."""

    def __init__(self, n: int):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return {"x": minitorch.tensor([float(i), float(i * i)]), "y": i, "w": i / 2,
                "a": np.full((2, 2), i, dtype=np.int32)}


class WorkerInfoDataset(Dataset):
    """Sample i: (i, worker id, worker seed, a draw from minitorch's default RNG, the value
    set by ``record_init``)."""

    def __init__(self, n: int):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        info = get_worker_info()
        assert info is not None and info.dataset is not None
        return (i, info.id, info.seed, minitorch.rand(1).item(), _INIT_MARK)


_INIT_MARK = None


def record_init(worker_id: int) -> None:
    """worker_init_fn: leave a per-worker mark that WorkerInfoDataset returns."""
    global _INIT_MARK
    _INIT_MARK = f"init{worker_id}:pid{os.getpid()}"


class RaisingDataset(Dataset):
    def __init__(self, n: int, bad: int):
        self.n, self.bad = n, bad

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if i == self.bad:
            raise ValueError(f"bad sample {i}")
        return minitorch.tensor(i)


class ExitingDataset(Dataset):
    """The worker that fetches index ``bad`` dies on the spot."""

    def __init__(self, n: int, bad: int):
        self.n, self.bad = n, bad

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if i == self.bad:
            os._exit(1)
        return i


class SlowDataset(Dataset):
    def __init__(self, n: int, delay: float):
        self.n, self.delay = n, delay

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        time.sleep(self.delay)
        return i


class RangeIterable(IterableDataset):
    """start..end-1; with ``split`` each worker yields its own share (get_worker_info), else
    every worker yields everything (PyTorch's duplication)."""

    def __init__(self, start: int, end: int, split: bool = True):
        self.start, self.end, self.split = start, end, split

    def __len__(self):
        return self.end - self.start

    def __iter__(self):
        info = get_worker_info()
        if info is None or not self.split:
            return iter(range(self.start, self.end))
        per = -(-(self.end - self.start) // info.num_workers)
        lo = self.start + info.id * per
        return iter(range(lo, min(lo + per, self.end)))
