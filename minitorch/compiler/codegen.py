"""Code generation: one fused group -> the source of one kernel, in C++ (cpu) or CUDA C
(cuda and cudasim).

There is one table of op spellings, and it is not here: the scalar functions of
``kernels/elementwise.cu`` (``unary_apply<UOP_TANH, float>(x)``,
``binary_apply<BOP_MUL, float>(a, b)``) are what the eager kernels run, and the generated
code calls the same functions -- on cuda and cudasim by including that file, on cpu by
including it after a small host prelude (``HOST_PRELUDE``) that defines the CUDA keywords as
nothing.  So a fused kernel computes each op exactly as the unfused kernel of that op does;
only the loads and stores between ops are gone.

A kernel is specialized to its group (ops, dtypes, the output shape) and to a *layout
signature*: per input, ``c`` (C-contiguous with the output's shape: read ``in[i]``), ``s``
(any strides, broadcast included: strides come in ``meta`` and the offset is computed from
the output index) or ``1`` (one element: read ``in[0]``).  The output is always a fresh
C-contiguous array.
"""
from __future__ import annotations

import math
from typing import List, Sequence

import numpy as np

from ..backends.kernel import layout as L
from ..jit.graph import Graph, Ref
from .fusion import Group, n_name

__all__ = ["kernel_name", "render", "HOST_PRELUDE"]

HOST_PRELUDE = r"""// host prelude: the CUDA keywords and intrinsics that kernels/common.cuh uses, so that
// its scalar functions (and elementwise.cu's unary_apply / binary_apply) compile as C++
#include <cmath>
#include <cstdint>
#include <cstring>
#define __device__
#define __host__
#define __global__
#define __forceinline__ inline
struct mt_dim3_ { unsigned x = 0, y = 0, z = 0; };
static const mt_dim3_ threadIdx, blockIdx, blockDim, gridDim;
static inline float __int_as_float(int x) { float r; std::memcpy(&r, &x, 4); return r; }
static inline double __longlong_as_double(long long x) { double r; std::memcpy(&r, &x, 8); return r; }
template <typename T> static inline T __shfl_down_sync(unsigned, T v, int, int = 32) { return v; }
"""

_CT = {"float32": "float", "float64": "double", "int32": "int", "int64": "long long",
       "bool": "bool"}


def kernel_name(grp: Group) -> str:
    """``fused_mul_add_tanh_mul``: what it fuses, in order (long chains are shortened)."""
    names = [n_name(n) for n in grp.nodes]
    if len(names) > 8:
        names = names[:6] + [f"{len(names) - 7}more", names[-1]]
    return "fused_" + "_".join(names)


def _lit(v, ct: str) -> str:
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    if isinstance(v, (float, np.floating)):
        f = float(v)
        if math.isnan(f):
            return f"(({ct})__longlong_as_double(0x7ff8000000000000LL))"
        if math.isinf(f):
            return f"(({ct})({'-' if f < 0 else ''}__longlong_as_double(0x7ff0000000000000LL)))"
        return f"(({ct}){f!r})"
    return f"(({ct}){int(v)}LL)" if ct == "long long" else f"(({ct}){int(v)})"


def render(g: Graph, grp: Group, inputs: Sequence[int], outputs: Sequence[int],
           signature: str, lang: str, name: str) -> str:
    """The kernel's source.  ``lang``: "cpp" (a plain loop, OpenMP across cores for large
    sizes) or "cuda" (a grid-stride ``__global__`` kernel)."""
    uops = L.op_codes("elementwise.cu", "UOP")
    bops = L.op_codes("elementwise.cu", "BOP")
    shape = tuple(grp.shape)
    nd = len(shape)
    ct = {vid: _CT[g.values[vid].dtype] for vid in list(inputs) + [n.outs[0] for n in grp.nodes]}
    lines: List[str] = []
    srcs = sorted({n.src for n in grp.nodes if n.src}, key=lambda s: (s.split(":")[0], s))
    lines.append(f"// {name}: {len(grp.nodes)} elementwise ops fused into one kernel, from "
                 f"{', '.join(srcs) or 'unknown lines'}")
    for n in grp.nodes:
        lines.append(f"//   {g.format_node(n).split('  #')[0].strip()}")
    lines.append(f"// output shape {list(shape)}; input layouts {signature or '-'} "
                 f"(c: contiguous, s: strided via meta, 1: one element)")
    if lang == "cpp":
        lines.append(HOST_PRELUDE)
    lines.append('#include "elementwise.cu"')
    params = ["long long n", "const long long* __restrict__ meta"]
    for k, vid in enumerate(inputs):
        params.append(f"const {ct[vid]}* __restrict__ in{k}")
    for j, vid in enumerate(outputs):
        params.append(f"{ct[vid]}* __restrict__ out{j}")
    body: List[str] = []
    strided = [k for k, s in enumerate(signature) if s == "s"]
    if strided:
        # the output coordinates of element i (the shape is baked in, the strides are not)
        body.append("long long rem = i;")
        for d in range(nd - 1, -1, -1):
            body.append(f"const long long c{d} = rem % {shape[d]}LL; rem /= {shape[d]}LL;")
    for k, vid in enumerate(inputs):
        kind = signature[k]
        if kind == "c":
            idx = "i"
        elif kind == "1":
            idx = "0"
        else:
            base = strided.index(k) * nd
            idx = " + ".join(f"c{d} * meta[{base + d}]" for d in range(nd)) or "0"
        body.append(f"const {ct[vid]} v{vid} = in{k}[{idx}];")
    for n in grp.nodes:
        o = n.outs[0]
        r = ct[o]

        def arg(a, t):
            return f"v{a.v}" if isinstance(a, Ref) else _lit(a, t)
        if n.op == "unary":
            x = n.args[1]
            t = ct[x.v]
            body.append(f"const {r} v{o} = unary_apply<UOP_{n.args[0].upper()}, {t}>({arg(x, t)});"
                        f"  // {n.args[0]}")
            assert n.args[0] in uops
        elif n.op == "binary":
            a, b = n.args[1], n.args[2]
            ref = a if isinstance(a, Ref) else b
            t = ct[ref.v]
            body.append(f"const {r} v{o} = binary_apply<BOP_{n.args[0].upper()}, {t}>"
                        f"({arg(a, t)}, {arg(b, t)});  // {n.args[0]}")
            assert n.args[0] in bops
        elif n.op == "where":
            c, a, b = n.args
            body.append(f"const {r} v{o} = {arg(c, 'bool')} ? ({r}){arg(a, r)} : "
                        f"({r}){arg(b, r)};  // where")
        else:  # astype
            x = n.args[0]
            t = ct[x.v]
            conv = f"(v{x.v} != ({t})0)" if r == "bool" else f"static_cast<{r}>(v{x.v})"
            body.append(f"const {r} v{o} = {conv};  // cast {t} -> {r}")
    for j, vid in enumerate(outputs):
        body.append(f"out{j}[i] = v{vid};")
    inner = "\n".join("        " + b for b in body)
    sig = ", ".join(params)
    if lang == "cpp":
        lines.append(f'extern "C" void {name}({sig}) {{')
        lines.append("    #pragma omp parallel for simd if (n > 32768) schedule(static)")
        lines.append("    for (long long i = 0; i < n; ++i) {")
        lines.append(inner)
        lines.append("    }")
        lines.append("}")
    else:
        lines.append(f'extern "C" __global__ void {name}({sig}) {{')
        lines.append("    GRID_STRIDE_LOOP(i, n) {")
        lines.append(inner)
        lines.append("    }")
        lines.append("}")
    return "\n".join(lines) + "\n"
