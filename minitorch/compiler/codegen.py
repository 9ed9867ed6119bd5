"""Code generation: one fused group -> the source of one kernel, in C++ (cpu) or CUDA C
(cuda and cudasim).

There is one table of op spellings, and it is not here: the scalar functions of
``kernels/elementwise.cu`` (``unary_apply<UOP_TANH, float>(x)``,
``binary_apply<BOP_MUL, float>(a, b)``) are what the eager kernels run, and the generated
code calls the same functions -- on cuda and cudasim by including that file, on cpu by
including it after a small host prelude (``HOST_PRELUDE``) that defines the CUDA keywords as
nothing.  So a fused kernel computes each op exactly as the unfused kernel of that op does;
only the loads and stores between ops are gone.  Two exceptions, both on purpose:

* on cpu, ``cpu_math.h`` (next to this file) specializes ``unary_apply`` for float32
  ``exp``, ``tanh`` and ``sigmoid`` with branch-free polynomial versions (a few ULP, tested
  over the whole float range) that GCC vectorizes; the C library's ``expf``/``tanhf`` are
  scalar calls that keep the loop scalar;
* ``x ** 2`` and ``x ** 3`` with a constant exponent are spelled as multiplies (``powf`` is a
  scalar call as well); the result differs from ``pow`` by at most an ULP or two.

A kernel is specialized to its group (ops, dtypes, shapes) and to a *layout signature*: one
token per load of an input (``sig_tokens``): ``c`` (C-contiguous with the domain's shape: the
flat index), ``1`` (one element: ``in[0]``) or strided -- on CUDA ``s`` (any strides,
broadcast included: strides come in ``meta``), on cpu ``s[42,336,7,1]``: the strides
themselves, constants of the kernel.  With constant strides the cpu renderer coalesces the
dims every operand steps through as one (``coalesce``) and writes a loop over rows around a
contiguous inner loop (row coordinates and offsets once per row, operands broadcast along
the row loaded once per row), which GCC vectorizes; per-element index arithmetic (a
division per dim) would keep it scalar.  Outputs are always fresh C-contiguous arrays (a
matmul epilogue writes over the matmul's own result).

Kinds (fusion.py):

* elementwise -- one loop over the output (``#pragma omp parallel for simd`` on cpu past
  32k elements, a grid-stride loop on CUDA);
* reduction -- one output element per outer iteration (cpu: OpenMP across outputs, the inner
  loop over the reduced elements vectorized with ``omp simd reduction``; CUDA: one block per
  output, each thread striding over the reduced elements, then a shared-memory tree).  The
  prologue runs inside the inner loop, the epilogue once per output.  float32 sums
  accumulate in double on cpu (NumPy's pairwise sum is within an ULP or so of that) and in
  float on CUDA (as ``kernels/reduce.cu`` does);
* matmul epilogue -- the elementwise loop, reading the matmul result and writing over it.
"""
from __future__ import annotations

import math
import re
from typing import Dict, List, Sequence, Tuple

import numpy as np

from ..backends.kernel import layout as L
from ..jit.graph import Graph, Node, Ref
from .fusion import Group, n_name, reduce_axes

__all__ = ["kernel_name", "render", "HOST_PRELUDE", "loads_of", "c_strides", "coalesce",
           "sig_tokens", "token_strides"]

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
_CPU_FAST = {"exp", "tanh", "sigmoid"}   # cpu_math.h's float32 specializations
_PAR_MIN = 32768                          # OpenMP across cores past this many elements
_IDENTITY = {"sum": "0", "prod": "1"}


def kernel_name(grp: Group) -> str:
    """What it fuses, in order: ``fused_mul_add_tanh_mul`` (elementwise),
    ``fused_sum_of_mul_sub`` (a sum of mul of sub: the reduction, then its prologue from
    the outside in; ``_then_div`` names an epilogue), ``fused_matmul_add_relu``.  Long
    chains are shortened."""
    def short(names):
        return names[:6] + [f"{len(names) - 7}more", names[-1]] if len(names) > 8 else names
    if grp.red is not None:
        pro = [n_name(n) for n in grp.prologue][::-1]
        parts = [n_name(grp.red)] + (["of"] + short(pro) if pro else [])
        if grp.epilogue:
            parts += ["then"] + short([n_name(n) for n in grp.epilogue])
        return "fused_" + "_".join(parts)
    return "fused_" + "_".join(short([n_name(n) for n in grp.nodes]))


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


def c_strides(shape) -> List[int]:
    out, s = [], 1
    for d in reversed(shape):
        out.append(s)
        s *= int(d)
    return out[::-1]


_TOKEN = re.compile(r"s\[[-0-9,]*\]|[cs1]")


def sig_tokens(signature: str) -> List[str]:
    """A layout signature's tokens, one per load: ``c`` (C-contiguous, the domain's shape),
    ``1`` (one element), ``s`` (strided: strides in ``meta``, CUDA) or ``s[784,25088,28,1]``
    (cpu: these element strides over the domain, 0 where broadcast -- constants of the
    kernel)."""
    toks = _TOKEN.findall(signature)
    assert "".join(toks) == signature, signature
    return toks


def token_strides(tok: str, dom) -> List[int]:
    """The element strides (over ``dom``) that a cpu layout token stands for: ``c`` the
    C-contiguous ones, ``1`` zeros, ``s<a>,<b>,...`` the strides it spells (0: broadcast)."""
    if tok == "c":
        return c_strides(dom)
    if tok == "1":
        return [0] * len(dom)
    return [int(x) for x in tok[2:-1].split(",") if x]


def coalesce(sizes, strides: List[List[int]]) -> List[Tuple[int, List[int]]]:
    """Loop dims after dropping size-1 dims and merging each dim into the next inner one
    where every operand steps through both as through one (``stride[d] == stride[e] *
    size[e]``, broadcast dims included: 0 == 0 * n).  Returns (size, strides per operand)
    from the outermost dim in; ``[]`` for a single element."""
    dims = [(int(n), [st[d] for st in strides]) for d, n in enumerate(sizes) if int(n) != 1]
    out: List[Tuple[int, List[int]]] = []
    for n, st in dims:
        if out:
            pn, pst = out[-1]
            if all(a == b * n for a, b in zip(pst, st)):
                out[-1] = (pn * n, st)
                continue
        out.append((n, st))
    return out


def _off(coord: str, stride: int) -> str:
    return "" if stride == 0 else (coord if stride == 1 else f"{coord} * {stride}LL")


def _sum(terms) -> str:
    terms = [t for t in terms if t]
    return " + ".join(terms) or "0"


def loads_of(g: Graph, grp: Group, inputs: Sequence[int]) -> List[Tuple[int, str]]:
    """(index into ``inputs``, space) for every load the kernel does: space "full" (the
    elementwise domain: the reduction's input) or "out" (a reduction's output, read by its
    epilogue).  A value read in both spaces is loaded twice."""
    pos = {v: k for k, v in enumerate(inputs)}
    full, out = [], []
    body = grp.prologue + ([grp.red] if grp.red is not None else [])
    for n in body:
        for r in _refs(n):
            if r in pos and pos[r] not in full:
                full.append(pos[r])
    for n in grp.epilogue:
        for r in _refs(n):
            if r in pos and pos[r] not in out:
                out.append(pos[r])
    if grp.mm is not None:
        full = [0] + [k for k in full if k != 0]
    return [(k, "full") for k in sorted(full)] + [(k, "out") for k in sorted(out)]


def _refs(n: Node) -> List[int]:
    from ..jit.graph import node_refs
    return node_refs(n)


def _node_lines(nodes, ct: Dict[int, str], lang: str) -> List[str]:
    """``const float v7 = binary_apply<BOP_MUL, float>(v3, v5);  // mul`` for each node."""
    uops = L.op_codes("elementwise.cu", "UOP")
    bops = L.op_codes("elementwise.cu", "BOP")
    body: List[str] = []
    for n in nodes:
        o = n.outs[0]
        r = ct[o]

        def arg(a, t):
            return f"v{a.v}" if isinstance(a, Ref) else _lit(a, t)
        if n.op == "unary":
            x = n.args[1]
            t = ct[x.v]
            fast = " (cpu_math.h: vectorizable)" if (
                lang == "cpp" and t == "float" and n.args[0] in _CPU_FAST) else ""
            body.append(f"const {r} v{o} = unary_apply<UOP_{n.args[0].upper()}, {t}>"
                        f"({arg(x, t)});  // {n.args[0]}{fast}")
            assert n.args[0] in uops
        elif n.op == "binary":
            a, b = n.args[1], n.args[2]
            ref = a if isinstance(a, Ref) else b
            t = ct[ref.v]
            if (n.args[0] == "pow" and isinstance(a, Ref) and not isinstance(b, Ref)
                    and t in ("float", "double") and not isinstance(b, (bool, np.bool_))
                    and float(b) in (2.0, 3.0)):
                k = int(float(b))
                body.append(f"const {r} v{o} = {' * '.join([f'v{a.v}'] * k)};  "
                            f"// pow {k}, as multiplies")
                continue
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
    return body


def _header(g: Graph, grp: Group, name: str, signature: str, lang: str) -> List[str]:
    lines: List[str] = []
    srcs = sorted({n.src for n in grp.nodes if n.src}, key=lambda s: (s.split(":")[0], s))
    what = {"elementwise": f"{len(grp.nodes)} elementwise ops fused into one kernel",
            "reduce": f"a {grp.red.args[0] if grp.red is not None else ''} reduction with "
                      f"{len(grp.prologue)} prologue and {len(grp.epilogue)} epilogue op(s) "
                      f"fused into one kernel",
            "matmul": f"matmul + {len(grp.nodes) - 1} epilogue op(s): one pass over the "
                      f"matmul's result"}[grp.kind]
    lines.append(f"// {name}: {what}, from {', '.join(srcs) or 'unknown lines'}")
    for n in grp.nodes:
        lines.append(f"//   {g.format_node(n).split('  #')[0].strip()}")
    sig = signature or "-"
    legend = ("c: contiguous, s: strided via meta, 1: one element" if lang != "cpp" else
              "c: contiguous, s[strides]: these element strides, 0 where broadcast, "
              "1: one element")
    if grp.kind == "reduce":
        lines.append(f"// input shape {list(grp.shape)}, reduced over axes "
                     f"{list(reduce_axes(g, grp.red))} -> {list(grp.out_shape)}; "
                     f"load layouts {sig} ({legend})")
    else:
        lines.append(f"// output shape {list(grp.shape)}; input layouts {sig} ({legend})")
    if lang == "cpp":
        lines.append(HOST_PRELUDE)
    lines.append('#include "elementwise.cu"')
    if lang == "cpp":
        lines.append('#include "cpu_math.h"   // vectorizable float32 exp/tanh/sigmoid')
    return lines


def _params(g, inputs, outputs, ct, restrict=True, n="n") -> str:
    R = " __restrict__" if restrict else ""
    params = [f"long long {n}", "const long long* __restrict__ meta"]
    for k, vid in enumerate(inputs):
        params.append(f"const {ct[vid]}*{R if (restrict or k) else ''} in{k}")
    for j, vid in enumerate(outputs):
        params.append(f"{ct[vid]}*{R if (restrict or j) else ''} out{j}")
    return ", ".join(params)


def render(g: Graph, grp: Group, inputs: Sequence[int], outputs: Sequence[int],
           signature: str, lang: str, name: str) -> str:
    """The kernel's source.  ``lang``: "cpp" or "cuda"; ``signature``: one layout token
    (``sig_tokens``) per entry of ``loads_of(g, grp, inputs)``."""
    if grp.kind == "reduce":
        return _render_reduce(g, grp, inputs, outputs, signature, lang, name)
    return _render_elementwise(g, grp, inputs, outputs, signature, lang, name)


def _types(g, grp, inputs):
    ct = {vid: _CT[g.values[vid].dtype] for vid in inputs}
    for n in grp.nodes:
        ct[n.outs[0]] = _CT[g.values[n.outs[0]].dtype]
    return ct


def _render_elementwise(g, grp, inputs, outputs, signature, lang, name):
    if lang == "cpp":
        return _render_elementwise_cpp(g, grp, inputs, outputs, signature, name)
    shape = tuple(grp.shape)
    nd = len(shape)
    ct = _types(g, grp, inputs)
    lines = _header(g, grp, name, signature, lang)
    loads = loads_of(g, grp, inputs)
    body: List[str] = []
    toks = sig_tokens(signature)
    strided = [j for j, s in enumerate(toks) if s == "s"]
    if strided:
        # the output coordinates of element i (the shape is baked in, the strides are not)
        body.append("long long rem = i;")
        for d in range(nd - 1, -1, -1):
            body.append(f"const long long c{d} = rem % {shape[d]}LL; rem /= {shape[d]}LL;")
    for j, (k, _) in enumerate(loads):
        kind = toks[j]
        vid = inputs[k]
        if kind == "c":
            idx = "i"
        elif kind == "1":
            idx = "0"
        else:
            base = strided.index(j) * nd
            idx = " + ".join(f"c{d} * meta[{base + d}]" for d in range(nd)) or "0"
        body.append(f"const {ct[vid]} v{vid} = in{k}[{idx}];")
    nodes = grp.nodes[1:] if grp.mm is not None else grp.nodes
    body += _node_lines(nodes, ct, lang)
    for j, vid in enumerate(outputs):
        if grp.mm is not None and vid == grp.mm.outs[0]:
            continue  # the matmul's own result is already in memory
        body.append(f"out{j}[i] = v{vid};")
    inner = "\n".join("        " + b for b in body)
    # a matmul epilogue writes over its input (in0 and out0 may be the same array)
    sig = _params(g, inputs, outputs, ct, restrict=grp.mm is None)
    if lang == "cpp":
        lines.append(f'extern "C" void {name}({sig}) {{')
        lines.append(f"    #pragma omp parallel for simd if (n > {_PAR_MIN}) schedule(static)")
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


def _render_elementwise_cpp(g, grp, inputs, outputs, signature, name):
    """The cpu loop nest.  Every load's strides are constants of the layout signature; the
    domain's dims are coalesced (``coalesce``) so that a contiguous or broadcast operand
    costs no index arithmetic: one flat loop where everything is contiguous, else a loop over
    rows (all dims but the innermost coalesced one, coordinates computed once per row, each
    operand's row base hoisted, operands broadcast along the row loaded once per row) around
    a contiguous ``omp simd`` inner loop -- the loop GCC vectorizes."""
    shape = tuple(grp.shape)
    ct = _types(g, grp, inputs)
    lines = _header(g, grp, name, signature, "cpp")
    loads = loads_of(g, grp, inputs)
    toks = sig_tokens(signature)
    st = [token_strides(toks[j], shape) for j in range(len(loads))]
    dims = coalesce(shape, [c_strides(shape)] + st)
    nodes = grp.nodes[1:] if grp.mm is not None else grp.nodes
    stores = [f"out{j}[{{o}}] = v{vid};" for j, vid in enumerate(outputs)
              if not (grp.mm is not None and vid == grp.mm.outs[0])]
    sig = _params(g, inputs, outputs, ct, restrict=grp.mm is None)
    lines.append(f'extern "C" void {name}({sig}) {{')
    if len(dims) <= 1:
        inner_st = dims[0][1][1:] if dims else [0] * len(loads)
        body = [f"const {ct[inputs[k]]} v{inputs[k]} = in{k}[{_sum([_off('i', inner_st[j])])}];"
                for j, (k, _) in enumerate(loads)]
        body += _node_lines(nodes, ct, "cpp") + [x.format(o="i") for x in stores]
        lines.append(f"    #pragma omp parallel for simd if (n > {_PAR_MIN}) schedule(static)")
        lines.append("    for (long long i = 0; i < n; ++i) {")
        lines += ["        " + b for b in body]
        lines.append("    }")
        lines.append("}")
        return "\n".join(lines) + "\n"
    outer, (inner_n, inner_st) = dims[:-1], dims[-1]
    rows = int(np.prod([d[0] for d in outer]))
    lines.append(f"    // {rows} rows of {inner_n}: coordinates and row bases once per row, "
                 f"the inner loop contiguous (vectorized)")
    lines.append(f"    #pragma omp parallel for if (n > {_PAR_MIN}) schedule(static)")
    lines.append(f"    for (long long o = 0; o < {rows}LL; ++o) {{")
    row: List[str] = []
    if len(outer) == 1:
        row.append("const long long r0 = o;")
    else:
        row.append("long long rem = o;")
        for d in range(len(outer) - 1, 0, -1):
            row.append(f"const long long r{d} = rem % {outer[d][0]}LL; rem /= {outer[d][0]}LL;")
        row.append("const long long r0 = rem;")
    body: List[str] = []
    for j, (k, _) in enumerate(loads):
        vid = inputs[k]
        base = _sum(_off(f"r{d}", outer[d][1][1 + j]) for d in range(len(outer)))
        step = inner_st[1 + j]
        if base != "0":
            row.append(f"const long long b{j} = {base};")
        at = _sum([f"b{j}" if base != "0" else "", _off("i", step)])
        (row if step == 0 else body).append(f"const {ct[vid]} v{vid} = in{k}[{at}];"
                                            + ("  // the same for the whole row"
                                               if step == 0 else ""))
    body += _node_lines(nodes, ct, "cpp")
    body += [x.format(o=f"o * {inner_n}LL + i") for x in stores]
    lines += ["        " + b for b in row]
    lines.append("        #pragma omp simd")
    lines.append(f"        for (long long i = 0; i < {inner_n}LL; ++i) {{")
    lines += ["            " + b for b in body]
    lines.append("        }")
    lines.append("    }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _render_reduce(g, grp, inputs, outputs, signature, lang, name):
    red = grp.red
    op = red.args[0]
    shape = tuple(grp.shape)
    out_shape = tuple(grp.out_shape)
    axes = reduce_axes(g, red)
    keepdim = bool(red.args[3])
    kept = [d for d in range(len(shape)) if d not in axes]
    nred = int(np.prod([shape[d] for d in axes]))
    cs = c_strides(shape)
    ct = _types(g, grp, inputs)
    T = ct[red.outs[0]]
    acc_t = "double" if (lang == "cpp" and op == "sum") else T
    x = red.args[1].v
    lines = _header(g, grp, name, signature, lang)
    loads = loads_of(g, grp, inputs)
    # strides of each load: constants for c, meta for s, none for 1 (cpu: all constants)
    toks = sig_tokens(signature)
    meta_pos = 0
    full_off: Dict[int, Tuple[str, str]] = {}     # load j -> (kept part, reduced part)
    out_off: Dict[int, str] = {}
    full_st: Dict[int, List[int]] = {}
    for j, (k, space) in enumerate(loads):
        kind = toks[j]
        dom = shape if space == "full" else out_shape
        if lang == "cpp":
            st = token_strides(kind, dom)      # constants of the layout signature
            full_st[j] = st
        elif kind == "1":
            st = [0] * len(dom)
        elif kind == "c":
            st = c_strides(dom)
        else:
            st = [f"meta[{meta_pos + d}]" for d in range(len(dom))]
            meta_pos += len(dom)
        if space == "full":
            kp = " + ".join(f"c{d} * {st[d]}" for d in kept if st[d] != 0) or "0"
            rp = " + ".join(f"c{d} * {st[d]}" for d in axes if st[d] != 0) or "0"
            full_off[j] = (kp, rp)
        else:
            # the output's coordinates: kept dims in order (keepdim adds 1s, coordinate 0)
            od = [d for d in range(len(shape))] if keepdim else kept
            out_off[j] = " + ".join(f"c{d} * {st[i]}" for i, d in enumerate(od)
                                    if d in kept and st[i] != 0) or "0"
    pro_outs = [(jj, vid) for jj, vid in enumerate(outputs)
                if any(vid == n.outs[0] for n in grp.prologue)]
    epi_outs = [(jj, vid) for jj, vid in enumerate(outputs) if (jj, vid) not in pro_outs]
    outer: List[str] = ["long long rem = o;"]
    for d in reversed(kept):
        outer.append(f"const long long c{d} = rem % {shape[d]}LL; rem /= {shape[d]}LL;")
    for j, (kp, _) in full_off.items():
        outer.append(f"const long long b{j} = {kp};")
    if pro_outs:
        outer.append("const long long bf = " + (" + ".join(f"c{d} * {cs[d]}LL" for d in kept)
                                                or "0") + ";")
    inner: List[str] = []
    red_dims: List[Tuple[int, List[int]]] = []
    if lang == "cpp":
        # the reduced elements as a loop nest over coalesced dims (q0 outermost): offsets are
        # sums of loop counters times constant strides, the innermost loop vectorizes
        fulls = [j for j, (_, space) in enumerate(loads) if space == "full"]
        red_dims = coalesce([shape[d] for d in axes],
                            [[full_st[j][d] for d in axes] for j in fulls]
                            + ([[cs[d] for d in axes]] if pro_outs else []))
        for j in fulls:
            vid = inputs[loads[j][0]]
            at = _sum([f"b{j}"] + [_off(f"q{i}", rd[1][fulls.index(j)])
                                   for i, rd in enumerate(red_dims)])
            inner.append(f"const {ct[vid]} v{vid} = in{loads[j][0]}[{at}];")
    else:
        if len(axes) == 1:
            inner.append(f"const long long c{axes[0]} = r;")
        else:
            inner.append("long long rr = r;")
            for d in reversed(axes):
                inner.append(f"const long long c{d} = rr % {shape[d]}LL; rr /= {shape[d]}LL;")
        for j, (k, space) in enumerate(loads):
            if space == "full":
                vid = inputs[k]
                inner.append(f"const {ct[vid]} v{vid} = in{k}[b{j} + {full_off[j][1]}];")
    inner += _node_lines(grp.prologue, ct, lang)
    if pro_outs:
        if lang == "cpp":
            rf = _sum(_off(f"q{i}", rd[1][-1]) for i, rd in enumerate(red_dims))
        else:
            rf = " + ".join(f"c{d} * {cs[d]}LL" for d in axes)
        for jj, vid in pro_outs:
            inner.append(f"out{jj}[bf + {rf}] = v{vid};")
    combine = {"sum": "acc + ({A})v{x}", "prod": "acc * ({A})v{x}",
               "max": "max_nan(acc, ({A})v{x})", "min": "min_nan(acc, ({A})v{x})"}[op]
    inner.append("acc = " + combine.format(A=acc_t, x=x) + f";  // {op}")
    ident = _IDENTITY.get(op) or (f"Traits<{acc_t}>::lowest()" if op == "max"
                                  else f"Traits<{acc_t}>::highest()")
    epi: List[str] = []
    for j, (k, space) in enumerate(loads):
        if space == "out":
            vid = inputs[k]
            epi.append(f"const {ct[vid]} v{vid} = in{k}[{out_off[j]}];")
    epi += _node_lines(grp.epilogue, ct, lang)
    for jj, vid in epi_outs:
        epi.append(f"out{jj}[o] = v{vid};")
    sig = _params(g, inputs, outputs, ct, n="n_out")
    ind = "        "
    if lang == "cpp":
        simd = {"sum": "    #pragma omp simd reduction(+:acc)",
                "prod": "    #pragma omp simd reduction(*:acc)"}.get(op)
        lines.append(f'extern "C" void {name}({sig}) {{')
        lines.append(f"    // one output per outer iteration (OpenMP across outputs past "
                     f"{_PAR_MIN} elements), the {nred} reduced elements in the inner loop")
        lines.append(f"    #pragma omp parallel for if (n_out > 1 && n_out * {nred}LL > "
                     f"{_PAR_MIN}) schedule(static)")
        lines.append("    for (long long o = 0; o < n_out; ++o) {")
        lines += [ind + s for s in outer]
        lines.append(f"{ind}{acc_t} acc = {ident};")
        if not red_dims:
            lines.append(f"{ind}{{")
        for i, (nq, _) in enumerate(red_dims):
            pad = ind + "    " * i
            if simd and i == len(red_dims) - 1:
                lines.append(pad + simd.strip())
            lines.append(f"{pad}for (long long q{i} = 0; q{i} < {nq}LL; ++q{i}) {{")
        pad = ind + "    " * max(len(red_dims), 1)
        lines += [pad + s for s in inner]
        for i in range(max(len(red_dims), 1) - 1, -1, -1):
            lines.append(f"{ind}{'    ' * i}}}")
        lines.append(f"{ind}const {T} v{red.outs[0]} = ({T})acc;")
        lines += [ind + s for s in epi]
        lines.append("    }")
        lines.append("}")
    else:
        lines.append(f'extern "C" __global__ void {name}({sig}) {{')
        lines.append(f"    // one block per output; its threads stride over the {nred} reduced "
                     f"elements, then combine their partials in a shared-memory tree")
        lines.append(f"    __shared__ {acc_t} part[256];")
        lines.append("    for (long long o = blockIdx.x; o < n_out; o += gridDim.x) {")
        lines += [ind + s for s in outer]
        lines.append(f"{ind}{acc_t} acc = {ident};")
        lines.append(f"{ind}for (long long r = threadIdx.x; r < {nred}LL; r += blockDim.x) {{")
        lines += [ind + "    " + s for s in inner]
        lines.append(f"{ind}}}")
        lines.append(f"{ind}part[threadIdx.x] = acc;")
        lines.append(f"{ind}__syncthreads();")
        lines.append(f"{ind}for (unsigned s = blockDim.x / 2; s > 0; s >>= 1) {{  "
                     f"// blockDim.x is a power of two")
        c2 = {"sum": "part[threadIdx.x] + part[threadIdx.x + s]",
              "prod": "part[threadIdx.x] * part[threadIdx.x + s]",
              "max": "max_nan(part[threadIdx.x], part[threadIdx.x + s])",
              "min": "min_nan(part[threadIdx.x], part[threadIdx.x + s])"}[op]
        lines.append(f"{ind}    if (threadIdx.x < s) part[threadIdx.x] = {c2};")
        lines.append(f"{ind}    __syncthreads();")
        lines.append(f"{ind}}}")
        lines.append(f"{ind}if (threadIdx.x == 0) {{")
        lines.append(f"{ind}    const {T} v{red.outs[0]} = ({T})part[0];")
        lines += [ind + "    " + s for s in epi]
        lines.append(f"{ind}}}")
        lines.append(f"{ind}__syncthreads();  // part[] is reused by this block's next output")
        lines.append("    }")
        lines.append("}")
    return "\n".join(lines) + "\n"


def reduce_block(g: Graph, grp: Group) -> int:
    """Threads per block of a CUDA reduction kernel: a power of two from 32 to 256."""
    nred = int(np.prod([grp.shape[d] for d in reduce_axes(g, grp.red)]))
    b = 32
    while b < 256 and b < nred:
        b *= 2
    return b
