"""What runs inside a DataLoader worker process, and how things cross the process boundary.

Three parts:

* **Fetchers** turn an index (or a list of indices) into a collated batch.  The main process
  uses them directly when ``num_workers=0``; each worker process uses its own.
* **The wire format.**  minitorch tensors refuse to be pickled (``Tensor.__reduce_ex__``
  raises: tensors are stored with ``minitorch.save``).  Everything that crosses between
  processes (batches, indices, and under 'spawn'/'forkserver' the dataset and functions
  themselves) therefore goes through ``dumps``/``loads`` below: a pickler whose
  ``persistent_id`` replaces every Tensor, wherever it sits in the object, by a plain record
  ``(tag, numpy array, dtype name, device, requires_grad)``; the unpickler's
  ``persistent_load`` builds a Tensor again from that record.  The queues then carry bytes.
* **The worker loop**: seed the RNGs, run ``worker_init_fn``, then fetch what the index
  queue asks for and put ``(task index, batch)`` on the shared result queue, until told to
  stop or until the parent process is gone.  An exception becomes an ``ExceptionWrapper``
  that carries the traceback text, re-raised by the main process.
"""
from __future__ import annotations

import io
import os
import pickle
import queue
import random
import sys
import traceback
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from ... import _dtype as D
from ...device import canonical
from ...random import manual_seed
from ...tensor import Tensor, _make

__all__ = ["WorkerInfo", "get_worker_info"]

# How often a waiting worker checks that its parent process still exists and that it has
# not been told to stop (seconds).
_WORKER_POLL_INTERVAL = 0.2


# -- worker info -----------------------------------------------------------------------------

@dataclass(frozen=True)
class WorkerInfo:
    """What a worker process knows about itself (``get_worker_info()`` inside a worker)."""

    id: int
    num_workers: int
    seed: int
    dataset: Any


_worker_info: Optional[WorkerInfo] = None


def get_worker_info() -> Optional[WorkerInfo]:
    """In a DataLoader worker process: its ``WorkerInfo`` (id, num_workers, seed, the
    worker's own copy of the dataset).  In the main process: ``None``."""
    return _worker_info


# -- fetchers --------------------------------------------------------------------------------

class _MapDatasetFetcher:
    """Batches from a map-style dataset: ``dataset[i]`` for each index, then collate."""

    def __init__(self, dataset, auto_collation: bool, collate_fn, drop_last: bool) -> None:
        self.dataset = dataset
        self.auto_collation = auto_collation
        self.collate_fn = collate_fn

    def fetch(self, possibly_batched_index):
        if self.auto_collation:
            getitems = getattr(self.dataset, "__getitems__", None)
            if getitems:
                data = getitems(possibly_batched_index)
            else:
                data = [self.dataset[i] for i in possibly_batched_index]
        else:
            data = self.dataset[possibly_batched_index]
        return self.collate_fn(data)


class _IterableDatasetFetcher:
    """Batches from an iterable dataset: the next ``len(batch index)`` samples of its
    iterator (the index values themselves are placeholders).  Raises StopIteration at the
    end, and for a short last batch when ``drop_last``."""

    def __init__(self, dataset, auto_collation: bool, collate_fn, drop_last: bool) -> None:
        self.dataset_iter = iter(dataset)
        self.auto_collation = auto_collation
        self.collate_fn = collate_fn
        self.drop_last = drop_last
        self.ended = False

    def fetch(self, possibly_batched_index):
        if self.ended:
            raise StopIteration
        if self.auto_collation:
            data = []
            for _ in possibly_batched_index:
                try:
                    data.append(next(self.dataset_iter))
                except StopIteration:
                    self.ended = True
                    break
            if not data or (self.drop_last and len(data) < len(possibly_batched_index)):
                raise StopIteration
        else:
            data = next(self.dataset_iter)
        return self.collate_fn(data)


def create_fetcher(iterable: bool, dataset, auto_collation, collate_fn, drop_last):
    cls = _IterableDatasetFetcher if iterable else _MapDatasetFetcher
    return cls(dataset, auto_collation, collate_fn, drop_last)


# -- the wire format -------------------------------------------------------------------------

_TENSOR_TAG = "minitorch.Tensor"


def _tensor_record(t: Tensor) -> tuple:
    """A Tensor as plain picklable data: (tag, ndarray, dtype name, device, requires_grad)."""
    if t.requires_grad and t.grad_fn is not None:
        raise RuntimeError("Cowardly refusing to serialize non-leaf tensor which requires_grad, "
                           "since autograd does not support crossing process boundaries.  If "
                           "you just want to transfer the data, call detach() on the tensor "
                           "before serializing (e.g., putting it on the queue).")
    arr = np.asarray(t._device._be.to_numpy(t._data))
    return (_TENSOR_TAG, arr, t.dtype.name, str(t.device), bool(t.requires_grad))


def _tensor_from_record(record: tuple) -> Tensor:
    tag, arr, dtype_name, device, requires_grad = record
    if tag != _TENSOR_TAG:
        raise pickle.UnpicklingError(f"unknown persistent id {tag!r}")
    arr = np.asarray(arr, dtype=D._BY_NAME[dtype_name].np)
    dev = canonical(device)
    return _make(dev._be.from_numpy(arr), dev, requires_grad, None, 0, None)


class _Pickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, Tensor):
            return _tensor_record(obj)
        return None


class _Unpickler(pickle.Unpickler):
    def persistent_load(self, pid):
        return _tensor_from_record(pid)


def dumps(obj) -> bytes:
    """Pickle ``obj``, with every minitorch Tensor in it sent as a NumPy array + dtype tag."""
    buf = io.BytesIO()
    _Pickler(buf, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
    return buf.getvalue()


def loads(data: bytes):
    """Undo ``dumps``: the tensors come back as (new) minitorch Tensors."""
    return _Unpickler(io.BytesIO(data)).load()


# -- messages --------------------------------------------------------------------------------

class ExceptionWrapper:
    """An exception from a worker, as its type and traceback text (picklable)."""

    def __init__(self, exc_info=None, where: str = "in background") -> None:
        if exc_info is None:
            exc_info = sys.exc_info()
        self.exc_type = exc_info[0]
        self.exc_msg = "".join(traceback.format_exception(*exc_info))
        self.where = where

    def reraise(self):
        """Raise the exception again here, its message naming the worker and holding the
        original traceback (like PyTorch's "Caught ValueError in DataLoader worker...")."""
        msg = f"Caught {self.exc_type.__name__} {self.where}.\nOriginal {self.exc_msg}"
        if self.exc_type is KeyError:
            msg = _KeyErrorMessage(msg)
        elif getattr(self.exc_type, "message", None):
            raise self.exc_type(message=msg)
        try:
            exception = self.exc_type(msg)
        except Exception:
            raise RuntimeError(msg) from None
        raise exception


class _KeyErrorMessage(str):
    """A str whose repr is itself, so a re-raised KeyError prints its traceback readably."""

    def __repr__(self) -> str:
        return self


@dataclass(frozen=True)
class _IterableDatasetStopIteration:
    """A worker's iterable-dataset copy is exhausted."""
    worker_id: int


@dataclass(frozen=True)
class _ResumeIteration:
    """Persistent workers: start a new epoch (a worker echoes it back when ready)."""


def _put(data_queue, idx, data, worker_id: int) -> None:
    """Send ``(idx, data)`` as bytes; if ``data`` cannot be sent, send the error instead."""
    try:
        blob = dumps((idx, data))
    except Exception:
        err = ExceptionWrapper(where=f"in DataLoader worker process {worker_id}")
        try:
            blob = dumps((idx, err))
        except Exception:  # the exception type itself cannot be pickled
            err.exc_type = RuntimeError
            blob = dumps((idx, err))
    data_queue.put(blob)


# -- the worker process ----------------------------------------------------------------------

def _numpy_seed(base_seed: int, worker_id: int):
    """Seed for NumPy's global RNG in a worker: the same numbers PyTorch derives (its
    ``_generate_state`` is NumPy's SeedSequence over these four words)."""
    words = [worker_id, base_seed & 0xFFFFFFFF, base_seed >> 32, 0]
    return np.random.SeedSequence(words).generate_state(4)


def _worker_loop(iterable: bool, payload, index_queue, data_queue, done_event,
                 auto_collation: bool, drop_last: bool, base_seed: int, worker_id: int,
                 num_workers: int) -> None:
    """Body of worker process ``worker_id``.

    ``payload`` is ``(dataset, collate_fn, worker_init_fn)``, or those as ``dumps`` bytes
    when the start method pickles process arguments ('spawn', 'forkserver').  The index
    queue brings ``(task index, dumps(indices))``, ``_ResumeIteration()`` or ``None`` (stop).
    """
    global _worker_info
    try:
        seed = base_seed + worker_id
        random.seed(seed)
        manual_seed(seed)
        np.random.seed(_numpy_seed(base_seed, worker_id))

        init_error = None
        fetcher = None
        try:
            dataset, collate_fn, init_fn = loads(payload) if isinstance(payload, bytes) \
                else payload
            _worker_info = WorkerInfo(id=worker_id, num_workers=num_workers, seed=seed,
                                      dataset=dataset)
            if init_fn is not None:
                init_fn(worker_id)
            fetcher = create_fetcher(iterable, dataset, auto_collation, collate_fn, drop_last)
        except Exception:
            init_error = ExceptionWrapper(where=f"in DataLoader worker process {worker_id}")

        iteration_end = False
        parent = os.getppid()
        while os.getppid() == parent:  # stop if the main process has died
            try:
                r = index_queue.get(timeout=_WORKER_POLL_INTERVAL)
            except queue.Empty:
                # The stop message (None) can be lost: when the iterator dies in a garbage
                # cycle, the gc may close the index queue's feeder thread before the
                # iterator's __del__ puts None on it.  The done event still reaches us.
                if done_event.is_set():
                    break
                continue
            if isinstance(r, _ResumeIteration):
                _put(data_queue, r, None, worker_id)
                iteration_end = False
                if init_error is None:
                    fetcher = create_fetcher(iterable, dataset, auto_collation, collate_fn,
                                             drop_last)
                continue
            if r is None:
                break
            if done_event.is_set() or iteration_end:
                continue
            idx, index_blob = r
            if init_error is not None:  # every task reports the failed start-up
                data = init_error
            else:
                try:
                    data = fetcher.fetch(loads(index_blob))
                except Exception as e:
                    if isinstance(e, StopIteration) and iterable:
                        data = _IterableDatasetStopIteration(worker_id)
                        iteration_end = True
                    else:
                        data = ExceptionWrapper(
                            where=f"in DataLoader worker process {worker_id}")
            _put(data_queue, idx, data, worker_id)
            del data, idx, index_blob, r
    except KeyboardInterrupt:
        pass  # the main process sees it too and shuts the workers down
    if done_event.is_set():
        # nobody will read what is still buffered: do not block exit flushing it
        data_queue.cancel_join_thread()
        data_queue.close()
