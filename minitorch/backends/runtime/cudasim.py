"""``cudasim``: run the CUDA C kernels of ``kernels/*.cu`` on the CPU.

A kernel file is compiled with the host C++ compiler in three steps (docs/cudasim.md):

1. preprocess it with ``kernels/cudasim/cudasim.h`` force-included; the shim turns
   ``__global__`` and ``__shared__`` into markers that survive preprocessing;
2. in Python, find the kernels (name, template or not, ``extern "C"`` or not), rewrite the
   ``__shared__`` markers (``static`` storage; ``extern __shared__ T a[];`` becomes a pointer
   to the launch's dynamic shared memory) and append a launcher table: for each kernel
   ``cudasim::Entry<&kernel>`` unpacks the argument slots by the kernel's own parameter
   types (C++ deduces them: nothing is parsed by hand) and runs the grid as fibers;
3. compile the result into a shared library, cached on disk by the hash of the source, its
   includes, the shim, the options and the compiler (``cache.py``: a manifest beside each
   library is checked before it is loaded, and the library must report the build key it was
   compiled with, or it is rebuilt), and load it with ctypes.

Launches check every argument against the kernel's signature (array dtypes against pointer
types, NumPy scalar types against scalar parameter types): mistakes that a GPU would turn
into silent garbage are TypeErrors here.

Environment: ``MINITORCH_CUDASIM_SEED`` (thread-order seed, default 0; ``sequential`` runs
threads and blocks in index order), ``MINITORCH_CUDASIM_ASAN=1`` (AddressSanitizer build,
needs ``LD_PRELOAD=$(g++ -print-file-name=libasan.so)``), ``MINITORCH_CACHE`` (cache root,
default ``~/.cache/minitorch``), ``CXX`` (compiler, default g++ then c++ then clang++).
"""
from __future__ import annotations

import ctypes
import os
import re
import shutil
import struct
import subprocess
import tempfile
import threading
import time

import numpy as np

from . import cache as _cache
from .base import (C_NAMES, KERNELS_DIR, SCALAR_TYPES, CapturedLaunches, CaptureError,
                      KernelFunction, KernelModule, Runtime, _log, compile_error, debug_level,
                      display_name, kernel_path, scalar_code, source_hash)

__all__ = ["CudasimRuntime", "find_compiler", "unavailable_reason", "stats"]

SHIM_DIR = os.path.join(KERNELS_DIR, "cudasim")
SHIM = os.path.join(SHIM_DIR, "cudasim.h")
_GEN_VERSION = "cudasim-4"  # bump when the generated code or flags change
_CFLAGS = ("-O2", "-fPIC", "-shared", "-fvisibility=hidden", "-fno-strict-aliasing")
_ASAN_CFLAGS = ("-O1", "-g", "-fPIC", "-shared", "-fvisibility=hidden", "-fno-strict-aliasing",
                "-fsanitize=address", "-fno-omit-frame-pointer")

stats = {"compiled": 0, "disk_hits": 0, "memory_hits": 0, "rejected": 0}
_MODULES: dict = {}            # cache key -> CudasimModule (one compile/load per process)
_MODULES_LOCK = threading.Lock()
_LAUNCH_LOCK = threading.Lock()  # the simulator's scheduler state is global per library


def find_compiler() -> str | None:
    """Path of the host C++ compiler: $CXX, else g++, c++, clang++ on PATH."""
    for c in (os.environ.get("CXX"), "g++", "c++", "clang++"):
        if c:
            p = shutil.which(c)
            if p:
                return p
    return None


def unavailable_reason() -> str | None:
    if find_compiler() is None:
        return ("no C++ compiler was found (install g++ or clang++, or point $CXX at one): "
                "cudasim compiles the CUDA kernels for the CPU")
    return None


def _asan_loaded() -> bool:
    try:
        return hasattr(ctypes.CDLL(None), "__asan_init")
    except OSError:
        return False


def _cache_root() -> str:
    """``$MINITORCH_CACHE/cudasim`` (default ``~/.cache/minitorch/cudasim``), created 0700."""
    return _cache.cache_dir("cudasim")


# ---- step 2: find kernels, rewrite markers, generate launchers --------------------------------
_TOKENS = re.compile(
    r'(?P<xsh>\bextern\b(?P<pre>[^;{}"]*?)__cudasim_shared__(?P<ty>[^;{}]*?)'
    r'\b(?P<name>[A-Za-z_]\w*)\s*\[\s*\]\s*;)'
    r'|(?P<xc>\bextern\s*"C"\s*\{)'
    r'|(?P<ns>\bnamespace\b[^{};()]*\{)'
    r'|(?P<str>"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\')'
    r'|(?P<sh>__cudasim_shared__)'
    r'|(?P<gl>__cudasim_global__)'
    r'|(?P<br>[{};])')
_ATTR = re.compile(r"__attribute__\s*\(\((?:[^()]|\((?:[^()]|\([^()]*\))*\))*\)\)")
_LINEMARK = re.compile(r'^#\s*(\d+)\s+"((?:\\.|[^"\\])*)"', re.M)


def _origin(text: str, pos: int):
    """(file, line) of offset ``pos`` of preprocessed text, from its line markers."""
    last = None
    for m in _LINEMARK.finditer(text, 0, pos):
        last = m
    if last is None:
        return "?", text.count("\n", 0, pos) + 1
    line = int(last.group(1)) + text.count("\n", last.end(), pos) - 1
    return last.group(2), line


class Kernel:
    __slots__ = ("name", "template", "extern_c", "file", "line")

    def __init__(self, name, template, extern_c, file, line):
        self.name, self.template, self.extern_c, self.file, self.line = (
            name, template, extern_c, file, line)


def _declarator_names(decl: str):
    """Names declared by ``float a[4], b[2][3]`` (the text between __shared__ and ;)."""
    parts, depth, cur = [], 0, []
    for ch in _ATTR.sub(" ", decl):
        if ch in "<([{":
            depth += 1
        elif ch in ">)]}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    names = []
    for p in parts:
        m = re.search(r"([A-Za-z_]\w*)\s*(?:\[[^\]]*\]\s*)*$", p.split("=")[0].strip())
        if m:
            names.append(m.group(1))
    return names


def transform(text: str, filename: str):
    """Rewrite the markers of preprocessed text; return (new text, {name: Kernel}).

    * ``__global__`` (marker) is dropped once the kernel's name and kind are recorded;
    * ``__shared__ T a[N];`` becomes ``static T a[N];`` followed (at block scope) by a
      ``static`` epoch counter and ``::cudasim::poison_shared(&a, sizeof(a), &epoch)``,
      which fills the array with 0xff bytes the
      first time a block reaches it: shared memory never carries values over from another
      block or launch, and reading it before writing gives NaN / -1;
    * ``extern __shared__ T a[];`` becomes ``T* const a = (T*)::cudasim::dyn_shared();``.
    Line structure is kept, so compiler messages keep pointing at the original lines."""
    edits = []          # (start, end, replacement) in text coordinates, ascending
    stack = []          # 'c' extern "C" block, 'n' namespace, 'o' any other brace
    n_other = 0
    boundary = 0        # just after the last ; { }
    kernels: dict = {}
    for m in _TOKENS.finditer(text):
        kind = m.lastgroup
        if m.group("xsh") is not None:
            if n_other == 0:
                f, ln = _origin(text, m.start())
                raise RuntimeError(
                    f"cudasim: {f}:{ln}: `extern __shared__ {m.group('name')}[]` at namespace "
                    f"scope is not supported; declare it inside the kernel (or device function) "
                    f"that uses it")
            ty = " ".join(_ATTR.sub(" ", m.group("pre") + " " + m.group("ty")).split())
            name = m.group("name")
            edits.append((m.start(), m.end(),
                          f"{ty}* const {name} = ({ty}*)::cudasim::dyn_shared();"
                          + "\n" * m.group(0).count("\n")))
            boundary = m.end()
        elif kind == "xc":
            stack.append("c")
            boundary = m.end()
        elif kind == "ns":
            stack.append("n")
            boundary = m.end()
        elif kind == "br":
            c = m.group("br")
            if c == "{":
                stack.append("o")
                n_other += 1
            elif c == "}":
                if stack and stack.pop() == "o":
                    n_other -= 1
            boundary = m.end()
        elif kind == "sh":
            edits.append((m.start(), m.end(), "static"))
            semi = text.find(";", m.end())
            if n_other and semi > 0:
                poison = "".join(f" static unsigned long long {n}_cudasim_epoch_;"
                                 f" ::cudasim::poison_shared(&{n}, sizeof({n}),"
                                 f" &{n}_cudasim_epoch_);"
                                 for n in _declarator_names(text[m.end():semi]))
                edits.append((semi + 1, semi + 1, poison))
        elif kind == "gl":
            seg = text[boundary:m.start()]
            after = _ATTR.sub(" ", text[m.end():m.end() + 2000])
            nm = re.match(r"[^(;{}]*?\b([A-Za-z_]\w*)\s*\(", after)
            f, ln = _origin(text, m.start())
            if nm is None:
                raise RuntimeError(f"cudasim: {f}:{ln}: cannot find the name of this __global__ "
                                   f"function")
            name = nm.group(1)
            k = Kernel(name, bool(re.search(r"\btemplate\b", seg)),
                       "c" in stack or bool(re.search(r'\bextern\s*"C"', seg)), f, ln)
            prev = kernels.get(name)
            if prev is None or not prev.extern_c:
                kernels[name] = k
            edits.append((m.start(), m.end(), ""))
    out, last = [], 0
    for a, b, rep in sorted(edits, key=lambda e: (e[0], e[1])):
        out.append(text[last:a])
        out.append(rep)
        last = b
    out.append(text[last:])
    new = "".join(out)
    new = re.sub(r"\bstatic(\s+)static\b", lambda mm: "static" + mm.group(1) + "      ", new)
    return new, kernels


def _c_string(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def launcher_section(entries, build_key: str = "") -> str:
    """C++ appended to the preprocessed kernel file: the kernel table and the C API (which
    includes ``cudasim_build_key()``: the cache key the library was built for)."""
    lines = ['# 1 "<cudasim launchers>"']
    lines.append("static const ::cudasim::KernelEntry cudasim_table_[] = {")
    for name, expr in entries:
        e = f"::cudasim::Entry<&{expr}>"
        lines.append(f"  {{{_c_string(name)}, &{e}::launch, &{e}::signature, {e}::nargs}},")
    lines.append("};")
    api = '\nextern "C" __attribute__((visibility("default"))) '
    lines.append(
        api + "int cudasim_num_kernels() { return (int)(sizeof cudasim_table_ / "
        "sizeof cudasim_table_[0]); }"
        + api + "const char* cudasim_kernel_name(int i) { return cudasim_table_[i].name; }"
        + api + "const char* cudasim_kernel_signature(int i) { return "
        "cudasim_table_[i].signature(); }"
        + api + "const char* cudasim_last_error() { return ::cudasim::g_error; }"
        + api + f"const char* cudasim_build_key() {{ return {_c_string(build_key)}; }}"
        + api + "int cudasim_launch(int i, const unsigned long long* args, unsigned gx, "
        "unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz, "
        "unsigned long long shm, unsigned long long seed, int ordered) {\n"
        "  return cudasim_table_[i].launch(args, gx, gy, gz, bx, by, bz, shm, seed, ordered);\n}")
    return "\n".join(lines) + "\n"


def _split_options(options):
    """NVRTC/CuPy options -> (preprocessor flags, -std flag); the rest do not apply here."""
    pp, std = [], "-std=c++17"
    it = iter(options)
    for o in it:
        if o in ("-I", "-D", "-U", "--include-path", "--define-macro"):
            v = next(it, "")
            pp.append({"--include-path": "-I", "--define-macro": "-D"}.get(o, o) + v)
        elif o.startswith(("-I", "-D", "-U")):
            pp.append(o)
        elif o.startswith("--include-path="):
            pp.append("-I" + o.split("=", 1)[1])
        elif o.startswith("--define-macro="):
            pp.append("-D" + o.split("=", 1)[1])
        elif o.startswith(("--std=", "-std=")):
            std = "-std=" + o.split("=", 1)[1]
    return pp, std


# ---- modules and functions ------------------------------------------------------------------
_PTR_FMT, _SCALAR_FMT = "Q", {"i4": "i4x", "u4": "I4x", "i8": "q", "u8": "Q", "f4": "f4x",
                              "f8": "d", "b1": "?7x", "i1": "b7x", "u1": "B7x", "i2": "h6x",
                              "u2": "H6x"}
_DT_CODE: dict = {}
_BYTEISH = {"b1", "i1", "u1"}


def _dtype_code(dt) -> str:
    c = _DT_CODE.get(dt)
    if c is None:
        c = _DT_CODE[dt] = f"{dt.kind}{dt.itemsize}"
    return c


def _ptr_ok(param: str, arr: str) -> bool:
    if param in ("v", "?") or param == arr:
        return True
    if param in _BYTEISH and arr in _BYTEISH:
        return True
    # same-size signed/unsigned integers (bit tricks on int arrays)
    return param[0] in "iu" and arr[0] in "iu" and param[1:] == arr[1:]


def _c_type(code: str) -> str:
    if code.startswith("p"):
        return C_NAMES.get(code[1:], code[1:]) + "*"
    return C_NAMES.get(code, code)


class CudasimFunction(KernelFunction):
    def __init__(self, module: "CudasimModule", name: str, index: int, sig: str):
        super().__init__(module, name)
        self._index = index
        self._codes = tuple(c for c in sig.split(",") if c) if sig else ()
        fmt = "<"
        for c in self._codes:
            fmt += _PTR_FMT if c.startswith("p") else _SCALAR_FMT.get(c, "Q")
        self._struct = struct.Struct(fmt)
        self._c_launch = module._lib.cudasim_launch
        self.signature = tuple(_c_type(c) for c in self._codes)
        self._accept = tuple(_accepted(c) for c in self._codes)

    def _bad(self, i, a, what):
        return TypeError(f"argument {i} of kernel {self.name} ({self.module.filename}) is "
                         f"`{self.signature[i]}` but got {what}")

    def _launch(self, grid, block, args, shared_mem):
        self._run(self._pack(args), grid, block, shared_mem)

    def _record(self, grid, block, args, shared_mem):
        """Capture: check and pack the arguments now; the replay passes the packed slots."""
        KernelFunction._capture.launches.append(
            (self, grid, block, args, shared_mem, self._pack(args)))

    def _pack(self, args) -> bytes:
        """The argument slots of one launch, checked against the kernel's signature."""
        accept = self._accept
        if len(args) != len(accept):
            raise TypeError(f"kernel {self.name} ({self.module.filename}) takes {len(accept)} "
                            f"arguments ({', '.join(self.signature)}), got {len(args)}")
        vals = []
        for i, a in enumerate(args):  # fast path; anything unusual goes through _arg
            ok = accept[i]
            t = type(a)
            if t is np.ndarray and ok.__class__ is frozenset and a.dtype.char in ok:
                vals.append(_data_ptr(a))
            elif t is ok:
                vals.append(a)
            else:
                vals.append(self._arg(i, a))
        return self._struct.pack(*vals)

    def _run(self, buf, grid, block, shared_mem):
        rt = self.module.runtime
        with _LAUNCH_LOCK:
            rc = self._c_launch(self._index, buf, grid[0], grid[1], grid[2], block[0], block[1],
                                block[2], shared_mem, rt._seed, rt._ordered)
            err = self.module._lib.cudasim_last_error().decode(errors="replace") if rc else ""
        if rc:
            raise RuntimeError(f"{err} [kernel {self.name} in {self.module.filename}, grid "
                               f"{grid}, block {block}]")

    def _arg(self, i, a):
        """Check argument ``i`` against the kernel's parameter type; its slot value."""
        c = self._codes[i]
        if c[0] == "p":
            if not isinstance(a, np.ndarray):
                if isinstance(a, (np.generic, int, float)):
                    raise self._bad(i, a, f"a {type(a).__name__} scalar")
                raise self._bad(i, a, f"a {type(a).__name__} (cudasim kernels take NumPy "
                                      f"arrays)")
            if not _ptr_ok(c[1:], _dtype_code(a.dtype)):
                raise self._bad(i, a, f"an array of {a.dtype}")
            return a.ctypes.data
        if isinstance(a, np.ndarray):
            raise self._bad(i, a, f"an array of {a.dtype} (pass a NumPy scalar)")
        try:
            sc = scalar_code(a)
        except TypeError as e:
            raise TypeError(f"argument {i} of kernel {self.name} "
                            f"({self.module.filename}): {e}") from None
        if c == "?":
            raise self._bad(i, a, "a scalar (cudasim passes only arrays and scalars)")
        if sc != c:
            raise self._bad(i, a, f"np.{type(a).__name__}; pass np.{_NP_NAME[c]}(...)")
        return a


def _accepted(code: str):
    """Fast-path acceptance of one parameter: dtype chars for pointers, the NumPy scalar
    type for scalars, None (always the slow path) otherwise."""
    if code.startswith("p"):
        return frozenset(np.dtype(t).char for t in _ALL_NP if _ptr_ok(code[1:], _dtype_code(
            np.dtype(t))))
    for t, c in SCALAR_TYPES.items():
        if c == code:
            return t
    return None


_ALL_NP = (np.bool_, np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32, np.int64,
           np.uint64, np.longlong, np.ulonglong, np.float16, np.float32, np.float64,
           np.complex64, np.complex128)


def _verify_data_offset() -> bool:
    """``_data_ptr`` reads PyArrayObject.data (the first field after the object header)
    directly: 8x faster than ``a.ctypes.data``.  Used only if it agrees here."""
    try:
        base = np.arange(64, dtype=np.float64)
        for a in (base, base[3:], base[::2][5:], base.reshape(8, 8)[2:, 1:], np.zeros(0)):
            if ctypes.c_void_p.from_address(id(a) + _HEAD).value != a.ctypes.data:
                return False
        return True
    except Exception:
        return False


_HEAD = object.__basicsize__  # sizeof(PyObject): 16 on 64-bit CPython
if _verify_data_offset():
    _from_address = ctypes.c_void_p.from_address

    def _data_ptr(a):
        return _from_address(id(a) + _HEAD).value or 0
else:  # pragma: no cover
    def _data_ptr(a):
        return a.ctypes.data


_NP_NAME = {"i4": "int32", "i8": "int64", "u4": "uint32", "u8": "uint64", "f4": "float32",
            "f8": "float64", "b1": "bool_", "i1": "int8", "u1": "uint8", "i2": "int16",
            "u2": "uint16"}


class CudasimGraph(CapturedLaunches):
    """A captured launch list on cudasim: ``replay()`` runs each launch with its packed
    argument slots (checked once, at capture) under one lock, in capture order -- what
    ``cudaGraphLaunch`` does with a graph captured from one stream."""

    def replay(self) -> None:
        rt = self.runtime
        seed, ordered = rt._seed, rt._ordered
        dbg = debug_level()
        t0 = time.perf_counter() if dbg else 0.0
        with _LAUNCH_LOCK:
            for f, g, b, _args, shm, buf in self.launches:
                rc = f._c_launch(f._index, buf, g[0], g[1], g[2], b[0], b[1], b[2], shm, seed,
                                 ordered)
                if rc:
                    err = f.module._lib.cudasim_last_error().decode(errors="replace")
                    raise RuntimeError(f"{err} [kernel {f.name} in {f.module.filename}, grid "
                                       f"{g}, block {b}, replaying a captured graph]")
        self.replays += 1
        if dbg:
            _log(f"cudasim graph replay: {len(self.launches)} launches "
                 f"{(time.perf_counter() - t0) * 1e3:.3f} ms")


class _NotThisBuild(Exception):
    """The library that was loaded is not the build that was asked for."""


class CudasimModule(KernelModule):
    def __init__(self, runtime, filename, lib_path, build_key=None):
        super().__init__(runtime, filename)
        self.path = lib_path
        lib = ctypes.CDLL(lib_path)
        self._lib = lib
        if build_key is not None:
            try:
                f = lib.cudasim_build_key
            except AttributeError:
                raise _NotThisBuild("not a cudasim library (no cudasim_build_key)") from None
            f.restype = ctypes.c_char_p
            got = (f() or b"").decode(errors="replace")
            if got != build_key:
                raise _NotThisBuild(f"built for key {got[:16]!r}..., not {build_key[:16]!r}...")
        lib.cudasim_num_kernels.restype = ctypes.c_int
        lib.cudasim_kernel_name.restype = ctypes.c_char_p
        lib.cudasim_kernel_name.argtypes = [ctypes.c_int]
        lib.cudasim_kernel_signature.restype = ctypes.c_char_p
        lib.cudasim_kernel_signature.argtypes = [ctypes.c_int]
        lib.cudasim_last_error.restype = ctypes.c_char_p
        u, ull = ctypes.c_uint, ctypes.c_ulonglong
        lib.cudasim_launch.restype = ctypes.c_int
        lib.cudasim_launch.argtypes = [ctypes.c_int, ctypes.c_char_p, u, u, u, u, u, u, ull,
                                       ull, ctypes.c_int]
        self._table = {}
        for i in range(lib.cudasim_num_kernels()):
            self._table[lib.cudasim_kernel_name(i).decode()] = (
                i, lib.cudasim_kernel_signature(i).decode())

    @property
    def kernel_names(self):
        return tuple(self._table)

    def _get_function(self, name):
        ent = self._table.get(name)
        if ent is None:
            raise RuntimeError(
                f"cudasim: no kernel {name!r} in {self.filename} (available: "
                f"{', '.join(sorted(self._table)) or 'none'}); a template kernel must be "
                f"listed in name_expressions, spelled exactly as passed to get_function, and a "
                f"plain kernel must be extern \"C\" (as on the cuda device)")
        return CudasimFunction(self, name, ent[0], ent[1])


class CudasimRuntime(Runtime):
    """Runs kernels/*.cu on the CPU (see the module docstring)."""

    name = "cudasim"
    xp = np

    def __init__(self, asan: bool | None = None, cache_dir: str | None = None,
                 cxx: str | None = None, seed=None):
        self.cxx = cxx or find_compiler()
        if self.cxx is None:
            raise RuntimeError(f"cudasim device is not available: {unavailable_reason()}")
        if asan is None:
            asan = os.environ.get("MINITORCH_CUDASIM_ASAN", "") not in ("", "0")
        self.asan = bool(asan)
        if self.asan and not _asan_loaded():
            raise RuntimeError(
                "cudasim ASan mode needs the AddressSanitizer runtime loaded before Python "
                "starts: run with LD_PRELOAD=$(g++ -print-file-name=libasan.so) "
                "ASAN_OPTIONS=detect_leaks=0")
        self.cache_dir = cache_dir
        self.seed = os.environ.get("MINITORCH_CUDASIM_SEED", "0") if seed is None else seed

    @property
    def seed(self):
        return self._seed_value

    @seed.setter
    def seed(self, v):
        """An int, or 'sequential' for threads and blocks in index order."""
        self._seed_value = v
        if isinstance(v, str) and v.strip().lower() in ("sequential", "ordered", "none", "off"):
            self._ordered, self._seed = 1, 0
        else:
            self._ordered, self._seed = 0, int(v) & (2**64 - 1)

    def synchronize(self) -> None:
        if KernelFunction._capture is not None and KernelFunction._capture.runtime is self:
            raise CaptureError("cudasim: synchronize() while capturing a graph (a CUDA graph "
                               "cannot wait for its own kernels: no host synchronization "
                               "inside a captured region)")

    # -- capture / replay: the launch list -------------------------------------------------
    def _begin_capture(self) -> None:
        pass

    def _end_capture(self, launches):
        return CudasimGraph(self, launches)

    # -- compile -------------------------------------------------------------------------
    def module(self, filename, name_expressions=(), options=()):
        path = kernel_path(filename)
        filename = display_name(path)
        name_expressions = tuple(name_expressions)
        options = tuple(options)
        pp, std = _split_options(options)
        inc = [SHIM_DIR, os.path.dirname(path), KERNELS_DIR] + [o[2:] for o in pp
                                                                  if o.startswith("-I")]
        flags = _ASAN_CFLAGS if self.asan else _CFLAGS
        desc = "\0".join((_GEN_VERSION, std, repr(pp), repr(name_expressions),
                           source_hash(path, inc), source_hash(SHIM)))
        key = _cache.cache_key(desc, flags, self.cxx)
        # per runtime: a module belongs to the runtime that loaded it (its captures, its
        # cache directory); another CudasimRuntime in the process loads its own
        mod = _MODULES.get((self, key))
        if mod is not None:
            stats["memory_hits"] += 1
            return mod
        with _MODULES_LOCK:
            mod = _MODULES.get((self, key))
            if mod is None:
                if debug_level() >= 2:
                    with open(path) as f:
                        _log(f"cudasim: source of {filename}\n{f.read()}")
                mod = self._load(path, filename, desc, key, name_expressions, pp, std, flags)
                _MODULES[(self, key)] = mod
        return mod

    def _load(self, path, filename, desc, key, name_expressions, pp, std, flags):
        """Load the module from the disk cache, building it when there is no sound entry
        (cache.build_cached verifies the entry before anything is loaded); a library that
        then reports another build key than ``key`` is rebuilt."""
        directory = self.cache_dir or _cache_root()
        base = re.sub(r"\W", "_", os.path.splitext(os.path.basename(path))[0])
        name = base + ("-asan" if self.asan else "")
        built = []

        def build(out):
            built.append(out)
            self._build(path, filename, key, name_expressions, pp, std, flags, out)

        why, loaded = None, []
        for attempt in range(3):
            t0 = time.perf_counter()
            rejected = _cache.stats["rejected"]
            so = _cache.build_cached(desc, flags, build, name=name, compiler=self.cxx,
                                     directory=directory, rebuild=why is not None,
                                     avoid=loaded)
            if why is None:  # entries rejected before loading (a rebuild counts below)
                stats["rejected"] += _cache.stats["rejected"] - rejected
            loaded.append(so)
            try:
                mod = CudasimModule(self, filename, so, build_key=key)
            except (OSError, _NotThisBuild) as e:  # unloadable, or a forged cache entry
                why = f"{so}: {e}"
                stats["rejected"] += 1
                if debug_level():
                    _log(f"cudasim: {filename}: rejected {why}; rebuilding")
                continue
            if built:
                stats["compiled"] += 1
                if debug_level():
                    _log(f"cudasim: compiled {filename} ({len(mod.kernel_names)} kernels) in "
                         f"{time.perf_counter() - t0:.2f} s -> {so}")
            else:
                stats["disk_hits"] += 1
                if debug_level():
                    _log(f"cudasim: {filename}: loaded {so}")
            return mod
        raise RuntimeError(f"cudasim: cannot load a sound build of {filename} from the cache "
                           f"{directory}: {why}")

    def _build(self, path, filename, key, name_expressions, pp, std, flags, out):
        """Preprocess, transform and compile ``path`` into the shared library ``out``."""
        base = re.sub(r"\W", "_", os.path.splitext(os.path.basename(path))[0])
        with tempfile.TemporaryDirectory(dir=os.path.dirname(out), prefix=".ii-") as tmp:
            cmd = [self.cxx, "-E", "-x", "c++", std, "-include", "cudasim.h", "-I" + SHIM_DIR,
                   "-I" + os.path.dirname(path), "-I" + KERNELS_DIR, *pp]
            if self.asan:
                cmd.append("-fsanitize=address")
            cmd.append(path)
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode:
                raise compile_error("cudasim", filename, r.stderr, " ".join(cmd))
            text, kernels = transform(r.stdout, filename)
            entries = [(k.name, k.name) for k in kernels.values()
                       if k.extern_c and not k.template]
            for expr in name_expressions:
                base_name = expr.split("<", 1)[0].strip()
                k = kernels.get(base_name)
                if k is None:
                    raise ValueError(
                        f"cudasim: name expression {expr!r} names no __global__ function of "
                        f"{filename} (kernels: "
                        f"{', '.join(sorted(kernels)) or 'none'})")
                if k.template and "<" not in expr:
                    raise ValueError(f"cudasim: name expression {expr!r}: {base_name} is a "
                                     f"template kernel; give its template arguments, e.g. "
                                     f"'{base_name}<float>'")
                if expr not in (e[0] for e in entries):
                    entries.append((expr, expr))
            src = text + "\n" + launcher_section(entries, key)
            ii = os.path.join(tmp, base + ".ii")
            with open(ii, "w") as f:
                f.write(src)
            cmd2 = [self.cxx, "-x", "c++-cpp-output", std, *flags, ii, "-o", out]
            r = subprocess.run(cmd2, capture_output=True, text=True)
            if r.returncode:
                log = r.stderr
                m = re.search(r"<cudasim launchers>:(\d+)", log)
                if m:
                    i = int(m.group(1)) - 2
                    if 0 <= i < len(entries):
                        log = (f"(while instantiating kernel {entries[i][1]!r}: check the name "
                               f"expression against the template's parameters)\n" + log)
                raise compile_error("cudasim", filename, log, " ".join(cmd2))
            if r.stderr.strip() and debug_level():
                _log(f"cudasim: {filename}: compiler warnings:\n{r.stderr}")
