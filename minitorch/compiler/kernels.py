"""Fused kernels at run time: build, cache, load, launch.

``FusedKernel`` is what a ``fused`` node of a compiled graph calls with the arrays of its
inputs.  On first use of a layout signature it renders the source (codegen.py) and builds it:

* cpu: the host C++ compiler (``-O3 -march=native -fopenmp``), through the verified disk cache
  of ``backends/runtime/cache.py`` (a library is loaded only after its manifest, size and
  SHA-256 check out; a truncated or foreign file is rebuilt, never executed), then ctypes;
* cuda / cudasim: the generated ``.cu`` file goes through the device's own runtime, exactly
  like ``kernels/*.cu`` (NVRTC on a GPU; the host compiler and the shim on cudasim, where the
  race checks -- shuffled thread order, the ASan build -- apply to generated kernels too).
"""
from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import threading
from typing import Dict, List, Sequence

import numpy as np

from ..backends.runtime import cache as _cache
from ..backends.runtime.base import KERNELS_DIR, debug_level
from ..jit.graph import node_refs
from .codegen import c_strides, loads_of, reduce_block, render, sig_tokens

__all__ = ["FusedKernel", "host_compiler", "stats"]

_HERE = os.path.dirname(os.path.abspath(__file__))  # cpu_math.h
_LOCK = threading.Lock()
_LIBS: Dict[str, object] = {}      # library path -> ctypes.CDLL (dlopen'ed once)
stats = {"built": 0, "launches": 0}
_FLAGS = ("-O3", "-march=native", "-fopenmp", "-shared", "-fPIC", "-std=c++17", "-fno-trapping-math",
          "-fno-strict-aliasing")


def host_compiler():
    """The C++ compiler used for cpu kernels (``CXX`` or c++/g++/clang++), or None."""
    for c in (os.environ.get("CXX"), "c++", "g++", "clang++"):
        if c and shutil.which(c):
            return shutil.which(c)
    return None


class FusedKernel:
    """One fused group's kernel.  ``source``: the generated code of the layout it ran with
    (all-contiguous until it first runs); ``name``; ``kind`` ("elementwise", "reduce",
    "matmul"); ``ops`` (how many nodes it replaced); ``srcs`` (the user's source lines).

    Called with the arrays of the fused node's inputs; returns its outputs.  A matmul
    epilogue kernel first runs the device's own matmul on its first two inputs, then one
    pass over that result, written in place when the result is not itself an output."""

    def __init__(self, name: str, graph, group, inputs: Sequence[int], outputs: Sequence[int]):
        self.name = name
        self.kind = group.kind
        self.shape = tuple(group.shape)
        self.out_shape = tuple(group.out_shape)
        self.device = group.device
        self.inputs = list(inputs)
        self.outputs = list(outputs)
        from .. import _dtype as D
        self.out_dtypes = [D._BY_NP[np.dtype(graph.values[v].dtype)] for v in outputs]
        pro = {n.outs[0] for n in group.prologue}
        # the shape of each output: a reduction's prologue values have the input's shape
        self.out_shapes = [self.shape if (self.kind != "reduce" or v in pro) else self.out_shape
                           for v in outputs]
        self.ops = len(group.nodes)
        self.srcs = sorted({n.src for n in group.nodes if n.src})
        self._graph, self._group = graph, group
        self._variants: Dict[str, object] = {}
        self._sources: Dict[str, str] = {}
        self._layouts: Dict[tuple, tuple] = {}
        self.lang = "cpp" if group.device == "cpu" else "cuda"
        if self.kind == "matmul":
            mm = group.mm
            self._mm_args = [self.inputs.index(a.v) for a in mm.args]
            epi_reads = {r for n in group.nodes[1:] for r in node_refs(n)}
            self._kin_idx = [k for k, v in enumerate(self.inputs) if v in epi_reads]
            self.kin = [mm.outs[0]] + [self.inputs[k] for k in self._kin_idx]
            self._mm_out = (self.outputs.index(mm.outs[0]) if mm.outs[0] in self.outputs
                            else None)
        else:
            self.kin = list(self.inputs)
        self.loads = loads_of(graph, group, self.kin)
        self.n = int(np.prod(self.out_shape if self.kind == "reduce" else self.shape))
        if self.kind == "reduce":
            self.block = reduce_block(graph, group)

    # -- sources ---------------------------------------------------------------------------
    def source_for(self, signature: str) -> str:
        src = self._sources.get(signature)
        if src is None:
            src = self._sources[signature] = render(self._graph, self._group, self.kin,
                                                    self.outputs, signature, self.lang,
                                                    self.name)
        return src

    @property
    def source(self) -> str:
        """The source of the first layout it ran with; before it ran, of the layout the
        graph's value shapes imply (contiguous inputs, a smaller input broadcast)."""
        if self._sources:
            return next(iter(self._sources.values()))
        return self.source_for(self.traced_signature())

    def traced_signature(self) -> str:
        toks = []
        for k, space in self.loads:
            dom = self._dom(space)
            shape = tuple(self._graph.values[self.kin[k]].shape)
            n = int(np.prod(dom)) if dom else 1
            if int(np.prod(shape)) == 1 and n != 1:
                toks.append("1")
            elif shape == dom:
                toks.append("c")
            elif self.lang != "cpp":
                toks.append("s")
            else:
                st = [0] * (len(dom) - len(shape)) + c_strides(shape)
                full = (1,) * (len(dom) - len(shape)) + shape
                toks.append(_stoken([0 if full[d] == 1 and dom[d] != 1 else st[d]
                                     for d in range(len(dom))]))
        return "".join(toks)

    def __repr__(self) -> str:
        return f"<FusedKernel {self.name}: {self.ops} ops, {list(self.shape)} on {self.device}>"

    # -- running ---------------------------------------------------------------------------
    def _dom(self, space: str) -> tuple:
        return self.shape if space == "full" else self.out_shape

    def signature(self, arrays) -> str:
        """One layout token per load (codegen.sig_tokens): ``c`` (C-contiguous, the domain's
        shape), ``1`` (one element) or strided -- ``s`` on CUDA (strides passed in ``meta``),
        on cpu the element strides over the domain (``s[784,25088,28,1]``, 0 where
        broadcast), which the generated loop nest then has as constants."""
        out = []
        for k, space in self.loads:
            a, dom = arrays[k], self._dom(space)
            n = int(np.prod(dom)) if dom else 1
            if a.size == 1 and n != 1:
                out.append("1")
            elif a.shape == dom and a.flags.c_contiguous:
                out.append("c")
            elif self.lang == "cpp":
                out.append(_stoken(_bstrides(a, dom)))
            else:
                out.append("s")
        return "".join(out)

    def _meta(self, arrays, signature) -> List[int]:
        meta: List[int] = []
        if self.lang == "cpp":   # every stride is a constant of the kernel
            return [0]
        for (k, space), s in zip(self.loads, sig_tokens(signature)):
            if s != "s":
                continue
            meta += _bstrides(arrays[k], self._dom(space))
        return meta or [0]

    def __call__(self, be, arrays):
        stats["launches"] += 1
        outs = None
        if self.kind == "matmul":
            m = be.matmul(arrays[self._mm_args[0]], arrays[self._mm_args[1]])
            arrays = [m] + [arrays[k] for k in self._kin_idx]
            alias = self._mm_out
            if alias is None:
                # write the epilogue's first output of the matmul's dtype over the matmul's
                # result: read once, written once, no second buffer
                alias = next((j for j, dt in enumerate(self.out_dtypes)
                              if np.dtype(m.dtype) == np.dtype(dt.np)), None)
                if alias is not None and not m.flags.c_contiguous:
                    alias = None
            outs = [m if j == alias else be.empty(s, dt)
                    for j, (s, dt) in enumerate(zip(self.out_shapes, self.out_dtypes))]
        # the layout of this call's arrays (their strides: the graph fixes their shapes)
        # -> (signature, kernel, meta), worked out once per layout
        key = tuple(a.strides for a in arrays)
        hit = self._layouts.get(key)
        if hit is None:
            sig = self.signature(arrays)
            fn = self._variants.get(sig)
            if fn is None:
                fn = self._build(be, sig)
            meta = self._meta(arrays, sig)
            hit = self._layouts[key] = (sig, fn, meta,
                                        np.asarray(meta, dtype=np.int64)
                                        if self.lang == "cpp" else None)
        sig, fn, meta, mt = hit
        if outs is None:
            outs = [be.empty(s, dt) for s, dt in zip(self.out_shapes, self.out_dtypes)]
        if self.n:
            if self.lang == "cpp":
                fn(self.n, mt.ctypes.data, *[a.ctypes.data for a in arrays],
                   *[o.ctypes.data for o in outs])
            else:
                args = (np.int64(self.n), be.meta(meta)) + tuple(arrays) + tuple(outs)
                if self.kind == "reduce":
                    fn((min(self.n, 65535),), (self.block,), args)
                else:
                    be.launch_1d(fn, self.n, args)
        return tuple(outs)

    def _build(self, be, sig: str):
        src = self.source_for(sig)
        if debug_level() >= 3:
            print(f"[minitorch.compiler] source of {self.name} ({sig}):\n{src}")
        with _LOCK:
            fn = self._variants.get(sig)
            if fn is not None:
                return fn
            if self.lang == "cpp":
                fn = _build_cpp(self.name, src)
                fn.argtypes = [ctypes.c_int64] + [ctypes.c_void_p] * (
                    1 + len(self.kin) + len(self.outputs))
            else:
                fn = _build_cuda(be, self.name, src)
            self._variants[sig] = fn
            stats["built"] += 1
        return fn


def _bstrides(a, dom) -> List[int]:
    """The element strides of array ``a`` broadcast to shape ``dom`` (0 along broadcast
    dims)."""
    nd = len(dom)
    st = [0] * (nd - a.ndim) + [x // a.itemsize for x in a.strides]
    full = (1,) * (nd - a.ndim) + tuple(a.shape)
    return [0 if full[d] == 1 and dom[d] != 1 else st[d] for d in range(nd)]


def _stoken(strides) -> str:
    return "s[" + ",".join(str(int(x)) for x in strides) + "]"


def _build_cpp(name: str, src: str):
    cxx = host_compiler()
    if cxx is None:
        raise RuntimeError("no C++ compiler found (set CXX, or install g++)")

    def build(out_path):
        import subprocess
        d = os.path.dirname(out_path)
        cpp = os.path.join(d, name + ".cpp")
        with open(cpp, "w") as f:
            f.write(src)
        cmd = [cxx, *_FLAGS, "-I" + KERNELS_DIR, "-I" + _HERE, cpp, "-o", out_path]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"compiling the fused kernel {name} failed:\n{r.stderr[-4000:]}"
                               f"\ncommand: {' '.join(cmd)}")
    digest = hashlib.sha256((src + _kernel_headers_digest()).encode()).hexdigest()
    path = _cache.build_cached(digest, _FLAGS, build, name=name, compiler=cxx,
                               directory=_cache.cache_dir("fused"))
    lib = _LIBS.get(path)
    if lib is None:
        lib = _LIBS[path] = ctypes.CDLL(path)
    fn = getattr(lib, name)
    fn.restype = None
    return fn


_HDR = {}


def _kernel_headers_digest() -> str:
    """The generated code includes kernels/elementwise.cu and common.cuh: a change there must
    rebuild every cached kernel."""
    key = "d"
    if key not in _HDR:
        h = hashlib.sha256()
        for f in ("elementwise.cu", "common.cuh"):
            with open(os.path.join(KERNELS_DIR, f), "rb") as fh:
                h.update(fh.read())
        with open(os.path.join(_HERE, "cpu_math.h"), "rb") as fh:
            h.update(fh.read())
        _HDR[key] = h.hexdigest()
    return _HDR[key]


def _build_cuda(be, name: str, src: str):
    """Write the source to a content-addressed file in the private cache, then load it through
    the device's runtime (which caches its own build of it)."""
    digest = hashlib.sha256(src.encode()).hexdigest()[:24]
    d = _cache.cache_dir("fused-src")
    path = os.path.join(d, f"{name[:80]}-{digest}.cu")
    if not os.path.exists(path):
        tmp = f"{path}.{os.getpid()}.{threading.get_ident()}.tmp"
        with open(tmp, "w") as f:
            f.write(src)
        os.replace(tmp, path)
    mod = be.runtime.module(path, ())
    return mod.get_function(name)
