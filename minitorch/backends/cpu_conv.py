"""The cpu backend's batch-folded ``im2col_t`` (issue 12) and the scratch-buffer cache its
large outputs come from.

Why a cache: NumPy has no caching allocator.  A buffer of a few MB is an ``mmap`` that glibc
returns to the OS when it is freed, so every training step pays a fresh one -- the kernel
zero-fills each 4 KB page on its first touch (~2500 minor page faults for conv2's 10 MB
column matrix in the CNN of examples/benchmarks/workloads.py).  ``scratch(shape, dtype)``
hands back a buffer of that shape from an earlier call when nothing references it any more,
which CPython can tell exactly: the cache's own reference is then the only one
(``sys.getrefcount``; a live view, Tensor or memoryview of it holds a reference through
its ``base``).  Only arrays of at least ``_MIN_BYTES`` are kept, at most ``_PER_KEY`` per
(shape, dtype) and ``_KEYS`` shapes (least recently used dropped first).
"""
from __future__ import annotations

import sys
import threading
from collections import OrderedDict

import numpy as np

_MIN_BYTES = 1 << 20
_PER_KEY = 2
_KEYS = 8
_FREE_REFS = 3  # the cache's list, the loop variable, getrefcount's argument
_cache: "OrderedDict[tuple, list]" = OrderedDict()
_lock = threading.Lock()


def scratch(shape, dtype) -> np.ndarray:
    """An uninitialized C-contiguous array, reused from an earlier call when it is free."""
    dtype = np.dtype(dtype)
    if int(np.prod(shape)) * dtype.itemsize < _MIN_BYTES:
        return np.empty(shape, dtype)
    key = (tuple(shape), dtype)
    with _lock:
        lst = _cache.get(key)
        if lst is None:
            lst = _cache[key] = []
            if len(_cache) > _KEYS:
                _cache.popitem(last=False)
        else:
            _cache.move_to_end(key)
            for b in lst:
                if sys.getrefcount(b) <= _FREE_REFS:
                    return b
        b = np.empty(shape, dtype)
        if len(lst) < _PER_KEY:
            lst.append(b)
        return b


def clear() -> None:
    """Drop every cached buffer (their memory goes back when no one else holds them)."""
    with _lock:
        _cache.clear()


def im2col_t(self, x, kernel, stride, padding, dilation):
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    out = scratch((c * kh * kw, n * max(oh, 0) * max(ow, 0)), x.dtype)
    if not out.size:
        return out
    if ph or pw:
        xp = np.zeros((n, c, h + 2 * ph, w + 2 * pw), x.dtype)
        xp[:, :, ph:ph + h, pw:pw + w] = x
    else:
        xp = np.ascontiguousarray(x)
    s0, s1, s2, s3 = xp.strides
    win = np.lib.stride_tricks.as_strided(
        xp, (c, kh, kw, n, oh, ow), (s1, s2 * dh, s3 * dw, s0, s2 * sh, s3 * sw),
        writeable=False)
    np.copyto(out.reshape(c, kh, kw, n, oh, ow), win)  # the one copy
    return out
