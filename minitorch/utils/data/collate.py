"""Turning samples into batches: ``default_collate`` (a list of samples -> one batch) and
``default_convert`` (one sample -> tensors, used when auto-batching is off).

The rules are PyTorch's: tensors are stacked along a new first dimension; NumPy arrays
become tensors and are stacked; NumPy scalars become a tensor of their own dtype; Python
floats become a float64 tensor and ints an int64 one (bools a bool one); strings and bytes
stay a list; dicts, namedtuples and sequences are collated field by field (tuples come
back as lists, as in PyTorch).  ``collate(batch, collate_fn_map=...)`` is the dispatching
core; extend a copy of ``default_collate_fn_map`` to handle your own types.
"""
from __future__ import annotations

import collections.abc
import copy
import re
from typing import Any, Callable, Dict, Optional, Sequence, Tuple, Type, Union

import numpy as np

from ... import _dtype as D
from ...creation import as_tensor, tensor
from ...ops.shape import stack
from ...tensor import Tensor

__all__ = ["default_collate", "default_convert", "collate", "default_collate_fn_map"]

_STR_OR_OBJECT = re.compile(r"[SaUO]")  # NumPy dtype kinds that cannot become tensors

default_collate_err_msg_format = ("default_collate: batch must contain tensors, numpy "
                                  "arrays, numbers, dicts or lists; found {}")

CollateFnMap = Dict[Union[Type, Tuple[Type, ...]], Callable]


def _numpy_to_tensor(a) -> Tensor:
    """ndarray or NumPy scalar -> tensor with the same dtype (not the default float)."""
    return as_tensor(np.asarray(a))


def default_convert(data: Any) -> Any:
    """Convert NumPy arrays and scalars inside ``data`` to tensors, keeping the structure."""
    elem_type = type(data)
    if isinstance(data, Tensor):
        return data
    if elem_type.__module__ == "numpy" and elem_type.__name__ not in ("str_", "string_",
                                                                       "bytes_"):
        if isinstance(data, np.ndarray) and _STR_OR_OBJECT.search(data.dtype.str):
            return data
        return _numpy_to_tensor(data)
    if isinstance(data, collections.abc.Mapping):
        converted = {key: default_convert(data[key]) for key in data}
        return _rebuild_mapping(data, converted)
    if isinstance(data, tuple) and hasattr(data, "_fields"):  # namedtuple
        return elem_type(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        return _rebuild_sequence(data, [default_convert(d) for d in data])
    return data


def _rebuild_mapping(like, items: dict):
    """A mapping of ``like``'s type holding ``items`` (a plain dict if that type refuses)."""
    try:
        if isinstance(like, collections.abc.MutableMapping):
            clone = copy.copy(like)
            clone.update(items)
            return clone
        return type(like)(items)
    except TypeError:
        return items


def _rebuild_sequence(like, items: list):
    """A sequence of ``like``'s type holding ``items`` (a plain list if that type refuses)."""
    try:
        if isinstance(like, collections.abc.MutableSequence):
            clone = copy.copy(like)
            for i, x in enumerate(items):
                clone[i] = x
            return clone
        return type(like)(items)
    except TypeError:
        return items


def collate(batch: Sequence, *, collate_fn_map: Optional[CollateFnMap] = None) -> Any:
    """Collate ``batch`` (a list of samples): dispatch on the type of the first sample
    through ``collate_fn_map`` (exact type first, then ``isinstance``), else recurse into
    mappings, namedtuples and sequences."""
    elem = batch[0]
    elem_type = type(elem)
    if collate_fn_map is not None:
        if elem_type in collate_fn_map:
            return collate_fn_map[elem_type](batch, collate_fn_map=collate_fn_map)
        for key, fn in collate_fn_map.items():
            if isinstance(elem, key):
                return fn(batch, collate_fn_map=collate_fn_map)
    if isinstance(elem, collections.abc.Mapping):
        items = {key: collate([d[key] for d in batch], collate_fn_map=collate_fn_map)
                 for key in elem}
        return _rebuild_mapping(elem, items)
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return elem_type(*(collate(s, collate_fn_map=collate_fn_map) for s in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if not all(len(e) == size for e in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        # each column is a tuple (strings in it come back as a tuple, as in PyTorch)
        columns = [collate(s, collate_fn_map=collate_fn_map) for s in zip(*batch)]
        if isinstance(elem, tuple):
            return columns
        return _rebuild_sequence(elem, columns)
    raise TypeError(default_collate_err_msg_format.format(elem_type))


def collate_tensor_fn(batch, *, collate_fn_map=None) -> Tensor:
    return stack(list(batch), 0)


def collate_numpy_array_fn(batch, *, collate_fn_map=None):
    if _STR_OR_OBJECT.search(batch[0].dtype.str):
        raise TypeError(default_collate_err_msg_format.format(batch[0].dtype))
    return collate([_numpy_to_tensor(b) for b in batch], collate_fn_map=collate_fn_map)


def collate_numpy_scalar_fn(batch, *, collate_fn_map=None) -> Tensor:
    return _numpy_to_tensor(batch)


def collate_float_fn(batch, *, collate_fn_map=None) -> Tensor:
    return tensor(list(batch), dtype=D.float64)


def collate_int_fn(batch, *, collate_fn_map=None) -> Tensor:
    return tensor(list(batch))


def collate_str_fn(batch, *, collate_fn_map=None):
    return batch


default_collate_fn_map: CollateFnMap = {
    Tensor: collate_tensor_fn,
    np.ndarray: collate_numpy_array_fn,
    (np.bool_, np.number, np.object_): collate_numpy_scalar_fn,
    float: collate_float_fn,
    int: collate_int_fn,
    str: collate_str_fn,
    bytes: collate_str_fn,
}


def default_collate(batch: Sequence) -> Any:
    """Stack a list of samples into a batch (see the module docstring for the rules).

    >>> default_collate([(0, 1.5, "a"), (1, 2.5, "b")])
    [tensor([0, 1]), tensor([1.5000, 2.5000], dtype=minitorch.float64), ('a', 'b')]
    """
    return collate(batch, collate_fn_map=default_collate_fn_map)
