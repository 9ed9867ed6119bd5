"""Random number generators: ``Generator`` objects and the seeded default ones.

Each device has a default generator, seeded together by ``manual_seed``.  On cpu a
Generator wraps NumPy's PCG64; the streams are reproducible run to run but are not the
numbers PyTorch draws (its CPU generator is an MT19937 with its own transforms).
"""
from __future__ import annotations

import os

import numpy as np

from .device import canonical

__all__ = ["Generator", "manual_seed", "seed", "initial_seed", "default_generator",
           "get_rng_state", "set_rng_state"]

_DEFAULT_SEED = 67280421310721


class Generator:
    def __init__(self, device="cpu"):
        self.device = canonical(device)
        self.manual_seed(_DEFAULT_SEED)

    def manual_seed(self, seed) -> "Generator":
        seed = int(seed)
        if not -(2 ** 63) <= seed < 2 ** 64:
            raise RuntimeError(f"Overflow when unpacking long, seed {seed} out of range")
        self._seed = seed % (2 ** 64)
        self.np_gen = np.random.Generator(np.random.PCG64(self._seed))
        self.offset = 0  # counter-based generators (the cuda device) advance this
        return self

    def seed(self) -> int:
        s = int.from_bytes(os.urandom(8), "little") >> 1
        self.manual_seed(s)
        return s

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self):
        from .creation import tensor
        st = self.np_gen.bit_generator.state
        words = [st["state"]["state"], st["state"]["inc"]]
        vals = []
        for w in words:
            vals += [(w >> 64) & (2 ** 64 - 1), w & (2 ** 64 - 1)]
        vals += [st["has_uint32"], st["uinteger"], self._seed, self.offset]
        arr = np.array(vals, dtype=np.uint64).view(np.int64)
        return tensor(arr)

    def set_state(self, new_state) -> "Generator":
        arr = np.asarray(new_state.numpy_view(), dtype=np.int64)
        if arr.shape != (8,):
            raise RuntimeError(f"Expected a generator state of 8 int64 values, got shape "
                               f"{list(arr.shape)}")
        u = [int(x) for x in arr.view(np.uint64)]
        bg = np.random.PCG64()
        bg.state = {"bit_generator": "PCG64",
                    "state": {"state": (u[0] << 64) | u[1], "inc": (u[2] << 64) | u[3]},
                    "has_uint32": int(u[4]), "uinteger": int(u[5])}
        self.np_gen = np.random.Generator(bg)
        self._seed, self.offset = u[6], u[7]
        return self

    def __repr__(self) -> str:
        return f"<minitorch.Generator object (device={self.device})>"


default_generator = Generator()
_device_generators = {}


def generator_for(device, gen=None) -> Generator:
    """The generator to draw from for ``device`` (checking a user-passed one)."""
    if gen is not None:
        if not isinstance(gen, Generator):
            raise TypeError(f"generator must be a minitorch.Generator, got {type(gen).__name__}")
        if gen.device.type != device.type:
            raise RuntimeError(f"Expected a '{device.type}' device type for generator but found "
                               f"'{gen.device.type}'")
        return gen
    if device.type == "cpu":
        return default_generator
    g = _device_generators.get(device)
    if g is None:
        g = _device_generators[device] = Generator(device)
        g.manual_seed(default_generator.initial_seed())
    return g


def manual_seed(seed) -> Generator:
    """Seed every device's default generator."""
    default_generator.manual_seed(seed)
    for g in _device_generators.values():
        g.manual_seed(seed)
    return default_generator


def seed() -> int:
    s = default_generator.seed()
    for g in _device_generators.values():
        g.manual_seed(s)
    return s


def initial_seed() -> int:
    return default_generator.initial_seed()


def get_rng_state():
    return default_generator.get_state()


def set_rng_state(new_state) -> None:
    default_generator.set_state(new_state)
