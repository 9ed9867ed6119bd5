"""Random primitives of the kernel backend on kernels/random.cu (Philox4x32-10).

Each call uses the generator's seed as the Philox key and ``gen.offset`` as the first
counter, then advances ``gen.offset`` by the number of elements drawn: successive calls
differ, ``manual_seed`` replays them, and the numbers do not depend on the launch
configuration.  They are not the numbers the cpu device draws (that one is NumPy's PCG64).
"""
from __future__ import annotations

import numpy as np

from . import layout as L

_I64, _U64, _F64 = np.int64, np.uint64, np.float64
_MASK64 = (1 << 64) - 1


class RandomMixin:
    def _philox_counter(self, gen, n):
        """(key, first counter) for n draws; advances the generator."""
        off = gen.offset
        gen.offset = off + n
        return _U64(gen.initial_seed() & _MASK64), _U64(off & _MASK64)

    def _random_float(self, kernel, shape, a, b, dtype, gen):
        dt = L.npdt(dtype)
        kt = dt if dt == L.FLOAT64 else np.dtype(np.float32)
        shape = tuple(shape)
        out = self.xp.empty(shape, kt)
        n = out.size
        if n:
            seed, off = self._philox_counter(gen, n)
            self.launch_1d(self.kernel("random.cu", f"{kernel}<{L.C_TYPE[kt]}>"), n,
                           (_I64(n), seed, off, _F64(a), _F64(b), out))
        return out if kt == dt else self.astype(out, dt)

    def uniform(self, shape, low, high, dtype, gen):
        return self._random_float("uniform_kernel", shape, low, high, dtype, gen)

    def normal(self, shape, mean, std, dtype, gen):
        return self._random_float("normal_kernel", shape, mean, std, dtype, gen)

    def randint(self, shape, low, high, dtype, gen):
        low, high = int(low), int(high)
        if low >= high:
            raise ValueError("low >= high")
        dt = L.npdt(dtype)
        kt = dt if dt.kind in "ib" else L.INT64
        out = self.xp.empty(tuple(shape), kt)
        n = out.size
        if n:
            seed, off = self._philox_counter(gen, n)
            self.launch_1d(self.kernel("random.cu", f"randint_kernel<{L.C_TYPE[kt]}>"), n,
                           (_I64(n), seed, off, _I64(low), _U64((high - low) & _MASK64), out))
        return out if kt == dt else self.astype(out, dt)

    def randperm(self, n, dtype, gen):
        """Drawn on the HOST from the generator's NumPy stream (``gen.np_gen.permutation``)
        and copied to the device: a device shuffle needs a sort of random keys, which this
        backend does not implement.  Reproducible under ``manual_seed`` like everything
        else."""
        return self.from_numpy(gen.np_gen.permutation(int(n)).astype(L.npdt(dtype)))

    def bernoulli(self, x, gen):
        dt = x.dtype
        p = self.contiguous(x) if dt.kind in "fV" else self.astype(x, L.FLOAT64)
        out = self.xp.empty(p.shape, p.dtype)
        n = out.size
        if n:
            seed, off = self._philox_counter(gen, n)
            self.launch_1d(self.kernel("random.cu", f"bernoulli_kernel<{L.C_TYPE[p.dtype]}>"),
                           n, (_I64(n), seed, off, p, out))
        return out if out.dtype == dt else self.astype(out, dt)
