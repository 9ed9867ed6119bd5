"""The kernel runtime interface: compile ``kernels/*.cu``, get a kernel, launch it.

Two implementations share it: ``CupyRuntime`` (device ``cuda``: NVRTC through CuPy
``RawModule``) and ``CudasimRuntime`` (device ``cudasim``: the same source compiled with the
host C++ compiler and run on the CPU, see docs/cudasim.md).  ``KernelBackend`` implements the
backend contract on top of either, so every kernel runs in CI without a GPU.

    rt = CudasimRuntime()                              # or CupyRuntime(0)
    mod = rt.module("elementwise.cu", name_expressions=("unary_kernel<float,3>",))
    k = mod.get_function("unary_kernel<float,3>")
    k(grid, block, (out, x, np.int64(n)), shared_mem=0)

Launch arguments are device arrays (``rt.xp`` arrays; the kernel gets a pointer to the first
element of the view) or NumPy scalars of an exact C type -- ``np.int32 np.int64 np.uint32
np.uint64 np.float32 np.float64 np.bool_``.  Python ints and floats are refused: a kernel
that declares ``long long n`` and receives 4 bytes reads garbage on a GPU, silently.

Capture and replay (CUDA graphs, ``minitorch.compile(mode="reduce-overhead")``):
``rt.begin_capture()`` starts recording every launch of this runtime, ``rt.end_capture()``
returns a ``CapturedLaunches`` whose ``replay()`` runs them again with the very same
arguments (the arrays are kept alive by the capture).  ``CupyRuntime`` captures a CUDA stream
into a ``cupy.cuda.Graph``; ``CudasimRuntime`` records the launch list (kernel, grid, block,
packed argument slots) and replays it.  While capturing, kernels do not run (as on a GPU),
and what a graph cannot hold -- ``synchronize()``, a host read-back -- raises
``CaptureError`` with the reason.

``MINITORCH_DEBUG=1`` prints every launch (kernel, grid, block, shared memory, milliseconds
measured after a synchronize); ``=2`` also prints a module's source when it compiles.
"""
from __future__ import annotations

import hashlib
import os
import re
import sys
import time
from typing import Sequence, Tuple, Union

import numpy as np

__all__ = ["Runtime", "KernelModule", "KernelFunction", "KERNELS_DIR", "debug_level",
           "SCALAR_TYPES", "Dim3", "CaptureError", "CapturedLaunches"]

# <repo>/kernels: this file is <repo>/minitorch/backends/runtime/base.py
KERNELS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))), "kernels")

Dim3 = Union[int, Tuple[int, ...]]

# NumPy scalar type -> the C type code it passes (what cudasim's signature check compares)
SCALAR_TYPES = {
    np.int32: "i4", np.int64: "i8", np.uint32: "u4", np.uint64: "u8",
    np.float32: "f4", np.float64: "f8", np.bool_: "b1",
    np.int8: "i1", np.uint8: "u1", np.int16: "i2", np.uint16: "u2",
}
C_NAMES = {"i4": "int", "i8": "long long", "u4": "unsigned int", "u8": "unsigned long long",
           "f4": "float", "f8": "double", "b1": "bool", "i1": "signed char",
           "u1": "unsigned char", "i2": "short", "u2": "unsigned short", "v": "void",
           "?": "a struct or vector type"}

# CUDA's launch limits (every current GPU): checked on both devices, so that a launch the
# simulator accepts also launches on hardware
MAX_THREADS_PER_BLOCK = 1024
MAX_BLOCK = (1024, 1024, 64)
MAX_GRID = (2**31 - 1, 65535, 65535)
DEFAULT_MAX_SHARED = 48 * 1024


_ENV = getattr(os.environ, "_data", None)  # the raw dict: 10x cheaper than os.environ.get
_DEBUG_KEY = os.environ.encodekey("MINITORCH_DEBUG") if hasattr(os.environ, "encodekey") else None


def debug_level() -> int:
    """MINITORCH_DEBUG as an int (0 when unset; 1 when set but not a number).  Read at every
    launch, so that it can be switched on in the middle of a program."""
    if _ENV is not None and _DEBUG_KEY is not None:
        v = _ENV.get(_DEBUG_KEY)
        if not v:
            return 0
        v = os.environ.get("MINITORCH_DEBUG", "")
    else:
        v = os.environ.get("MINITORCH_DEBUG", "")
    try:
        return int(v) if v else 0
    except ValueError:
        return 1


def _log(msg: str) -> None:
    print(f"[minitorch] {msg}", file=sys.stderr, flush=True)


def _dim3(v, what: str) -> Tuple[int, int, int]:
    if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
        t = (int(v), 1, 1)
    elif isinstance(v, (tuple, list)) and 1 <= len(v) <= 3 and all(
            isinstance(e, (int, np.integer)) and not isinstance(e, bool) for e in v):
        t = tuple(int(e) for e in v) + (1,) * (3 - len(v))
    else:
        raise TypeError(f"{what} must be an int or a tuple of 1 to 3 ints, got {v!r}")
    if min(t) < 1:
        raise ValueError(f"{what} dimensions must be >= 1, got {v!r}")
    return t  # type: ignore[return-value]


def check_launch(name: str, grid, block, shared_mem, max_shared: int = DEFAULT_MAX_SHARED):
    """Normalize and validate launch dimensions the way the CUDA driver would."""
    if type(grid) is int and type(block) is int and type(shared_mem) is int \
            and 0 < grid <= MAX_GRID[0] and 0 < block <= MAX_BLOCK[0] \
            and 0 <= shared_mem <= DEFAULT_MAX_SHARED:  # the common 1-D case
        return (grid, 1, 1), (block, 1, 1), shared_mem
    g, b = _dim3(grid, "grid"), _dim3(block, "block")
    if b[0] * b[1] * b[2] > MAX_THREADS_PER_BLOCK:
        raise ValueError(f"launch of {name}: block {b} has {b[0] * b[1] * b[2]} threads, more "
                         f"than the {MAX_THREADS_PER_BLOCK} a CUDA block may have")
    for i, ax in enumerate("xyz"):
        if b[i] > MAX_BLOCK[i]:
            raise ValueError(f"launch of {name}: blockDim.{ax} = {b[i]} exceeds {MAX_BLOCK[i]}")
        if g[i] > MAX_GRID[i]:
            raise ValueError(f"launch of {name}: gridDim.{ax} = {g[i]} exceeds {MAX_GRID[i]}")
    if not isinstance(shared_mem, (int, np.integer)) or isinstance(shared_mem, bool) \
            or shared_mem < 0:
        raise TypeError(f"launch of {name}: shared_mem must be a non-negative int, "
                        f"got {shared_mem!r}")
    if shared_mem > max_shared:
        raise ValueError(f"launch of {name}: {shared_mem} bytes of dynamic shared memory "
                         f"exceed the {max_shared} available per block")
    return g, b, int(shared_mem)


def scalar_code(a) -> str:
    """The C type code of a launch scalar; TypeError for Python numbers and other objects."""
    c = SCALAR_TYPES.get(type(a))
    if c is not None:
        return c
    if isinstance(a, (bool, int, float)):
        raise TypeError(
            f"kernel scalar arguments must have an exact C type: got the Python "
            f"{type(a).__name__} {a!r}; pass np.int32(...), np.int64(...), np.float32(...), "
            f"np.float64(...), np.uint32(...), np.uint64(...) or np.bool_(...)")
    raise TypeError(f"kernel arguments must be device arrays or NumPy scalars, "
                    f"got {type(a).__name__}")


def source_hash(path: str, include_dirs: Sequence[str] = ()) -> str:
    """sha256 of a kernel file and every file it includes with ``#include "..."``
    (found next to the including file or in ``include_dirs``), recursively."""
    h = hashlib.sha256()
    seen = set()
    stack = [os.path.abspath(path)]
    while stack:
        p = stack.pop()
        if p in seen:
            continue
        seen.add(p)
        with open(p, "rb") as f:
            data = f.read()
        h.update(p.encode() + b"\0" + data + b"\0")
        for m in re.finditer(rb'^\s*#\s*include\s*"([^"]+)"', data, re.M):
            inc = m.group(1).decode()
            for d in (os.path.dirname(p),) + tuple(include_dirs):
                q = os.path.join(d, inc)
                if os.path.isfile(q):
                    stack.append(os.path.abspath(q))
                    break
    return h.hexdigest()


def kernel_path(filename: str) -> str:
    """``kernels/<filename>`` (or ``filename`` itself when absolute), checked to exist."""
    p = filename if os.path.isabs(filename) else os.path.join(KERNELS_DIR, filename)
    if not os.path.isfile(p):
        raise FileNotFoundError(f"kernel source {filename!r} not found (looked for {p})")
    return p


def display_name(path: str) -> str:
    """A kernel file as messages show it: relative to the repository when inside it."""
    root = os.path.dirname(KERNELS_DIR)
    rel = os.path.relpath(path, root)
    return path if rel.startswith("..") else rel


class CaptureError(RuntimeError):
    """Something was done while a runtime was capturing that a CUDA graph cannot hold (a
    synchronize, a host read-back or upload, a launch on another device)."""


class CapturedLaunches:
    """The launches one capture recorded: ``replay()`` runs them again in order, with the
    arguments they were captured with; ``len()`` is the number of kernel launches;
    ``names`` the kernels, in order.  Implemented per runtime."""

    def __init__(self, runtime: "Runtime", launches: list):
        self.runtime = runtime
        self.launches = launches   # (KernelFunction, grid, block, args, shared_mem, extra)
        self.replays = 0

    def __len__(self) -> int:
        return len(self.launches)

    @property
    def names(self):
        return [f.name for f, *_ in self.launches]

    def replay(self) -> None:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{self.runtime.name} graph: {len(self.launches)} launches>"


class _Capture:
    """The state of a capture in progress (one per process at a time)."""
    __slots__ = ("runtime", "launches")

    def __init__(self, runtime):
        self.runtime = runtime
        self.launches: list = []


class KernelFunction:
    """One kernel of a compiled module: ``f(grid, block, args, shared_mem=0)`` launches it."""

    _capture = None  # the _Capture in progress (class-wide: one check per launch)

    def __init__(self, module: "KernelModule", name: str):
        self.module = module
        self.name = name

    def __repr__(self) -> str:
        return f"<{self.module.runtime.name} kernel {self.module.filename}:{self.name}>"

    def __call__(self, grid: Dim3, block: Dim3, args: tuple, shared_mem: int = 0) -> None:
        g, b, shm = check_launch(self.name, grid, block, shared_mem, self._max_shared(shared_mem))
        if type(args) is not tuple:
            if not isinstance(args, (tuple, list)):
                raise TypeError(f"launch of {self.name}: args must be a tuple, got "
                                f"{type(args).__name__}")
            args = tuple(args)
        if self._capture is not None:
            if self._capture.runtime is not self.module.runtime:
                raise CaptureError(f"launch of {self.name} on {self.module.runtime.name} while "
                                   f"{self._capture.runtime.name} is capturing a graph")
            self._record(g, b, args, shm)
            return
        if not debug_level():
            self._launch(g, b, args, shm)
            return
        rt = self.module.runtime
        rt.synchronize()
        t0 = time.perf_counter()
        self._launch(g, b, args, shm)
        rt.synchronize()
        ms = (time.perf_counter() - t0) * 1e3
        _log(f"{rt.name} launch {self.module.filename}:{self.name} grid={g} block={b} "
             f"shared_mem={shm} {ms:.3f} ms")

    # -- implemented by each runtime -----------------------------------------------------
    def _max_shared(self, requested: int) -> int:
        return DEFAULT_MAX_SHARED

    def _launch(self, grid, block, args: tuple, shared_mem: int) -> None:
        raise NotImplementedError

    def _record(self, grid, block, args: tuple, shared_mem: int) -> None:
        """Called instead of ``_launch`` while the runtime captures: check the arguments and
        append the launch (cudasim), or launch into the capturing stream (cuda)."""
        raise NotImplementedError


class KernelModule:
    """A compiled kernel file."""

    def __init__(self, runtime: "Runtime", filename: str):
        self.runtime = runtime
        self.filename = filename
        self._functions: dict = {}

    def get_function(self, name: str) -> KernelFunction:
        """A plain ``extern "C"`` kernel name, or one of the module's name expressions
        (``'unary_kernel<float,3>'``)."""
        f = self._functions.get(name)
        if f is None:
            f = self._functions[name] = self._get_function(name)
        return f

    def _get_function(self, name: str) -> KernelFunction:
        raise NotImplementedError


class Runtime:
    """Compiles kernel files into modules and synchronizes the device."""

    name: str = "abstract"
    xp = np  # the array module: numpy (cudasim) or cupy (cuda)

    def module(self, filename: str, name_expressions: tuple = (),
               options: tuple = ()) -> KernelModule:
        """Compile ``kernels/<filename>`` (once per source hash, options and arch per process;
        cudasim also caches the shared library on disk), instantiating the templates named in
        ``name_expressions``."""
        raise NotImplementedError

    def synchronize(self) -> None:
        """Wait for every launched kernel to finish."""

    # -- capture / replay (CUDA graphs) --------------------------------------------------
    @property
    def capturing(self) -> bool:
        cap = KernelFunction._capture
        return cap is not None and cap.runtime is self

    def begin_capture(self) -> None:
        """Start recording this runtime's launches (instead of running them) until
        ``end_capture``.  One capture at a time per process."""
        if KernelFunction._capture is not None:
            raise CaptureError(f"{self.name}: a capture is already in progress on "
                               f"{KernelFunction._capture.runtime.name}")
        self._begin_capture()
        KernelFunction._capture = _Capture(self)

    def end_capture(self) -> CapturedLaunches:
        """Stop recording; the captured launches, ready to ``replay()``."""
        cap = KernelFunction._capture
        if cap is None or cap.runtime is not self:
            raise CaptureError(f"{self.name}: end_capture without begin_capture")
        KernelFunction._capture = None
        return self._end_capture(cap.launches)

    def abort_capture(self) -> None:
        """Drop a capture in progress (after an error), leaving the runtime usable."""
        cap = KernelFunction._capture
        if cap is not None and cap.runtime is self:
            KernelFunction._capture = None
            try:
                self._abort_capture()
            except Exception:  # noqa: BLE001  (already failing; the first error is the one)
                pass

    def _begin_capture(self) -> None:
        raise CaptureError(f"{self.name}: this runtime cannot capture launches")

    def _end_capture(self, launches: list) -> CapturedLaunches:
        raise NotImplementedError

    def _abort_capture(self) -> None:
        pass

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


def compile_error(device: str, filename: str, log: str, cmd: str = "") -> RuntimeError:
    """A RuntimeError that opens with the first ``file:line: error`` of a compiler log."""
    log = log.strip()
    first = ""
    for line in log.splitlines():
        if re.search(r"(:\d+(:\d+)?:|\(\d+\):)\s*(fatal )?error", line):
            first = line.strip()
            break
    head = f"{device}: failed to compile {filename}"
    if first:
        head += f": {first}"
    msg = head + "\n" + log
    if cmd:
        msg += f"\n(command: {cmd})"
    return RuntimeError(msg)
