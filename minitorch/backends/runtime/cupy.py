"""``cuda``: compile ``kernels/*.cu`` with NVRTC through CuPy ``RawModule`` and launch on a GPU.

Kept deliberately thin: CuPy does the compiling (for the current device's architecture, with
its own on-disk cache under ``~/.cupy/kernel_cache``) and the launching; this file adds the
include path, a per-process module cache, exact-type checks on scalar arguments, clear
compile errors and ``MINITORCH_DEBUG`` logging (shared with cudasim in base.py).
"""
from __future__ import annotations

import os

from .base import (DEFAULT_MAX_SHARED, KERNELS_DIR, CapturedLaunches, CaptureError,
                      KernelFunction, KernelModule, Runtime, _log, compile_error, debug_level,
                      display_name, kernel_path, scalar_code, source_hash)

__all__ = ["CupyRuntime", "nvcc_check"]

_MODULES: dict = {}  # (device, source hash, options, name expressions) -> CupyModule


class CupyFunction(KernelFunction):
    def __init__(self, module: "CupyModule", name: str, kernel):
        super().__init__(module, name)
        self._kernel = kernel            # cupy.RawKernel
        self._shared_attr = DEFAULT_MAX_SHARED

    def _max_shared(self, requested: int) -> int:
        return max(DEFAULT_MAX_SHARED, self.module.runtime.max_shared_optin)

    def _launch(self, grid, block, args, shared_mem):
        cp = self.module.runtime.xp
        for i, a in enumerate(args):
            if not isinstance(a, cp.ndarray):
                try:
                    scalar_code(a)  # TypeError for Python numbers and foreign objects
                except TypeError as e:
                    raise TypeError(f"argument {i} of kernel {self.name} "
                                    f"({self.module.filename}): {e}") from None
        if shared_mem > self._shared_attr:  # > 48 KiB needs an opt-in per kernel
            self._kernel.max_dynamic_shared_size_bytes = shared_mem
            self._shared_attr = shared_mem
        with self.module.runtime.device:
            self._kernel(grid, block, args, shared_mem=shared_mem)


    def _record(self, grid, block, args, shared_mem):
        """Capture: launch into the capturing stream (CuPy launches on the current stream,
        which begin_capture made the capture stream) and keep the arguments alive."""
        self._launch(grid, block, args, shared_mem)
        KernelFunction._capture.launches.append((self, grid, block, args, shared_mem, None))


class CupyGraph(CapturedLaunches):
    """A ``cupy.cuda.Graph`` captured from one stream; ``replay()`` launches it on the current
    stream (so it is ordered with the eager kernels around it).  ``launches`` keeps every
    argument array of the capture alive: the graph holds their addresses."""

    def __init__(self, runtime, launches, graph):
        super().__init__(runtime, launches)
        self.graph = graph

    def replay(self) -> None:
        with self.runtime.device:
            self.graph.launch()
        self.replays += 1


class CupyModule(KernelModule):
    def __init__(self, runtime, filename, raw_module):
        super().__init__(runtime, filename)
        self._raw = raw_module

    def _get_function(self, name):
        try:
            with self.runtime.device:
                k = self._raw.get_function(name)
        except Exception as e:  # CUDA_ERROR_NOT_FOUND ...
            raise RuntimeError(
                f"cuda: no kernel {name!r} in {self.filename} ({type(e).__name__}: "
                f"{e}); a template kernel must be listed in name_expressions, spelled exactly "
                f"as passed to get_function, and a plain kernel must be extern \"C\"") from None
        return CupyFunction(self, name, k)


class CupyRuntime(Runtime):
    """The GPU runtime of device ``cuda:<index>``."""

    name = "cuda"

    def __init__(self, index: int = 0):
        import cupy
        self.xp = cupy
        self.index = index
        self.device = cupy.cuda.Device(index)
        self.arch = f"sm_{self.device.compute_capability}"
        try:
            self.max_shared_optin = int(
                self.device.attributes.get("MaxSharedMemoryPerBlockOptin", DEFAULT_MAX_SHARED))
        except Exception:
            self.max_shared_optin = DEFAULT_MAX_SHARED

    def synchronize(self) -> None:
        if self.capturing:
            raise CaptureError("cuda: synchronize() while capturing a CUDA graph (no host "
                               "synchronization inside a captured region)")
        with self.device:
            self.xp.cuda.runtime.deviceSynchronize()

    # -- capture / replay: CUDA stream capture into a cupy.cuda.Graph ---------------------
    def _begin_capture(self) -> None:
        cp = self.xp
        with self.device:
            # everything queued before the capture must be done before the graph's first
            # replay reads it: the capture stream starts after the current one
            cur = cp.cuda.get_current_stream()
            stream = cp.cuda.Stream(non_blocking=True)
            stream.wait_event(cur.record())
            stream.use()
            try:
                mode = getattr(cp.cuda.runtime, "streamCaptureModeRelaxed", None)
                # relaxed: allocations from the memory pool (cudaMalloc) are allowed
                if mode is None:
                    stream.begin_capture()
                else:
                    stream.begin_capture(mode)
            except Exception:
                cur.use()
                raise
        self._cap = (stream, cur)

    def _end_capture(self, launches):
        stream, cur = self._cap
        self._cap = None
        with self.device:
            try:
                graph = stream.end_capture()
            finally:
                cur.use()
        return CupyGraph(self, launches, graph)

    def _abort_capture(self) -> None:
        cap, self._cap = getattr(self, "_cap", None), None
        if cap is None:
            return
        stream, cur = cap
        with self.device:
            try:
                stream.end_capture()
            finally:
                cur.use()

    def module(self, filename, name_expressions=(), options=()):
        import cupy
        path = kernel_path(filename)
        filename = display_name(path)
        name_expressions = tuple(name_expressions)
        src_hash = source_hash(path, (os.path.dirname(path), KERNELS_DIR))
        # CuPy's disk cache keys on the code string and options, not on included headers: the
        # hash of the whole include closure goes into the options so that editing
        # common.cuh recompiles the modules that include it.
        opts = ("-I" + os.path.dirname(path), "-I" + KERNELS_DIR, "--std=c++17",
                f"-DMINITORCH_SRC_HASH=0x{src_hash[:15]}") + tuple(options)
        key = (self.index, self.arch, src_hash, opts, name_expressions)
        mod = _MODULES.get(key)
        if mod is not None:
            return mod
        with open(path) as f:
            code = f'#line 1 "{path}"\n' + f.read()
        if debug_level() >= 2:
            _log(f"cuda: compiling {path} for {self.arch}\n{code}")
        with self.device:
            raw = cupy.RawModule(code=code, options=opts,
                                 name_expressions=name_expressions or None)
            try:
                raw.compile()
            except Exception as e:  # cupy.cuda.compiler.CompileException
                log = getattr(e, "get_message", lambda: str(e))()
                raise compile_error("cuda", filename, log) from None
        mod = _MODULES[key] = CupyModule(self, filename, raw)
        return mod


def nvcc_check(filename: str, name_expressions=(), options=(), arch: str = "sm_80",
               nvcc: str | None = None) -> str:
    """Compile a kernel file for the GPU with ``nvcc -ptx`` (no GPU needed), instantiating
    every name expression, and return the PTX; a RuntimeError with the compiler log (file
    and line first) if it does not compile.

    CuPy compiles with NVRTC, not nvcc, but the two share the front end: this catches on a
    machine without a GPU what cudasim cannot, code that g++ accepts and CUDA does not."""
    import shutil
    import subprocess
    import tempfile
    nvcc = nvcc or shutil.which("nvcc")
    if nvcc is None:
        raise RuntimeError("nvcc_check: nvcc is not installed")
    path = kernel_path(filename)
    shown = display_name(path)
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "check.cu")
        with open(src, "w") as f:
            f.write(f'#include "{path}"\n')
            if name_expressions:
                # taking a kernel's address instantiates it for the device
                f.write("static void* const minitorch_instances[] = {\n")
                for e in name_expressions:
                    f.write(f"#line 1 \"<name expression {e}>\"\n  (void*)&{e},\n")
                f.write("};\nvoid* minitorch_use() { return (void*)minitorch_instances; }\n")
        out = os.path.join(tmp, "check.ptx")
        cmd = [nvcc, "-std=c++17", f"-arch={arch}", "-ptx", "-I" + os.path.dirname(path),
               "-I" + KERNELS_DIR, *options, src, "-o", out]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode:
            raise compile_error("cuda (nvcc)", shown, r.stderr, " ".join(cmd))
        with open(out) as f:
            return f.read()
