"""Layout bookkeeping for the kernel backends: dtype -> C type names, kernel name tables,
dim coalescing, view strides and launch sizes.

Nothing here launches a kernel; ``backend.py`` and its mixins do, using these helpers.  Strides
are in *elements* (NumPy/CuPy report bytes; ``estrides`` converts).
"""
from __future__ import annotations

import os
import re
from functools import lru_cache

import numpy as np

from ..runtime.base import KERNELS_DIR

# NumPy dtype -> the C type the kernels are instantiated with
C_TYPE = {np.dtype(np.float32): "float", np.dtype(np.float64): "double",
          np.dtype(np.int32): "int", np.dtype(np.int64): "long long",
          np.dtype(np.bool_): "bool"}
ALL_C = ("float", "double", "int", "long long", "bool")
# the 16-bit floats (issue 18): native copy/cast kernels; everything that computes runs in
# float32 (lowp.py: converted on the device, computed, rounded once, as PyTorch's opmath)
import ml_dtypes as _mld  # noqa: E402
C_TYPE.update({np.dtype(np.float16): "__half", np.dtype(_mld.bfloat16): "__nv_bfloat16"})
LOW_C = ("__half", "__nv_bfloat16")
FLOAT_C = ("float", "double")
INT_C = ("int", "long long")
BOOL = np.dtype(np.bool_)
INT64 = np.dtype(np.int64)
FLOAT64 = np.dtype(np.float64)


@lru_cache(maxsize=None)
def op_codes(filename: str, prefix: str) -> dict:
    """``{'neg': 0, ...}`` read from the ``enum`` in a kernel file: the .cu source is the one
    place the numbering is written down."""
    with open(os.path.join(KERNELS_DIR, filename)) as f:
        src = f.read()
    return {m.group(1).lower(): int(m.group(2))
            for m in re.finditer(prefix + r"_(\w+)\s*=\s*(\d+)", src)}


# which dtypes each op is instantiated for (others are refused or cast on the host, as NumPy
# would: TypeError for ``bool - bool``, ``float & float`` ...)
_UNARY_FLOAT_ONLY = ("exp", "expm1", "log", "log1p", "sqrt", "rsqrt", "sin", "cos", "tan", "tanh",
                     "sigmoid")
_UNARY_DTYPES = {op: FLOAT_C for op in _UNARY_FLOAT_ONLY}
_UNARY_DTYPES.update({"neg": FLOAT_C + INT_C, "sign": ALL_C,
                      "bitwise_not": INT_C + ("bool",)})
_BINARY_DTYPES = {"sub": FLOAT_C + INT_C, "div": FLOAT_C, "pow": FLOAT_C + INT_C,
                  "floor_divide": FLOAT_C + INT_C, "remainder": FLOAT_C + INT_C,
                  "fmod": FLOAT_C + INT_C,
                  "bitwise_and": INT_C + ("bool",), "bitwise_or": INT_C + ("bool",),
                  "bitwise_xor": INT_C + ("bool",)}


def unary_dtypes(op: str) -> tuple:
    return _UNARY_DTYPES.get(op, ALL_C)


def binary_dtypes(op: str) -> tuple:
    return _BINARY_DTYPES.get(op, ALL_C)


def kernel_names(filename: str) -> list:
    """Every template instantiation a file's kernels are used with (the name expressions)."""
    names = []
    if filename == "elementwise.cu":
        for op, code in op_codes(filename, "UOP").items():
            for t in unary_dtypes(op):
                names += [f"unary_contig<{t}, {code}>", f"unary_strided<{t}, {code}>"]
        for op, code in op_codes(filename, "BOP").items():
            for t in binary_dtypes(op):
                names += [f"binary_contig<{t}, {code}>", f"binary_contig_scalar<{t}, {code}>",
                          f"binary_strided<{t}, {code}>"]
        for t in ALL_C:
            names += [f"where_strided<{t}>", f"where_contig<{t}>", f"fill_contig<{t}>",
                      f"fill_strided<{t}>", f"arange_float<{t}>", f"arange_int<{t}>"]
    elif filename == "copy.cu":
        for s in ALL_C + LOW_C:
            for d in ALL_C + LOW_C:
                names += [f"copy_contig<{s}, {d}>", f"copy_strided<{s}, {d}>"]
            names.append(f"transpose_tiled<{s}>")
    elif filename == "reduce.cu":
        for t in ALL_C:
            for code in op_codes(filename, "ROP").values():
                names += [f"reduce_rows<{t}, {code}>", f"reduce_rows_block<{t}, {code}>",
                          f"reduce_cols<{t}, {code}>"]
            names += [f"argreduce_rows<{t}, 0>", f"argreduce_rows<{t}, 1>"]
        for t in LOW_C:  # float16/bfloat16 in, float32 accumulated and written (lowp.py)
            for op, code in op_codes(filename, "ROP").items():
                if op in ("sum", "prod", "max", "min"):
                    names += [f"reduce_rows<{t}, {code}>", f"reduce_rows_block<{t}, {code}>",
                              f"reduce_cols<{t}, {code}>"]
    elif filename == "index.cu":
        for t in ALL_C:
            names += [f"index_gather<{t}>", f"index_put<{t}>", f"gather_kernel<{t}>",
                      f"scatter_add_kernel<{t}>", f"nonzero_count<{t}>", f"nonzero_write<{t}>"]
    elif filename == "random.cu":
        for t in FLOAT_C:
            names += [f"uniform_kernel<{t}>", f"normal_kernel<{t}>", f"bernoulli_kernel<{t}>"]
        for t in INT_C + ("bool",):
            names.append(f"randint_kernel<{t}>")
    elif filename == "matmul.cu":
        names += [f"matmul_tiled<{t}>" for t in FLOAT_C]
        names += [f"matmul_simple<{t}>" for t in INT_C + ("bool",)]
    elif filename == "softmax.cu":
        for t in FLOAT_C:
            names += [f"{k}<{t}, {b}>" for k in ("softmax_warp", "softmax_block",
                                                  "softmax_strided") for b in ("true", "false")]
            names += [f"{k}<{t}>" for k in ("cross_entropy_fwd_warp", "cross_entropy_fwd_block",
                                             "cross_entropy_bwd")]
    elif filename == "conv.cu":
        for t in ALL_C:
            names += [f"im2col_kernel<{t}>", f"col2im_kernel<{t}>"]
        names += [f"max_pool2d_kernel<{t}>" for t in FLOAT_C + INT_C]
    elif filename == "optim.cu":
        names += [f"{k}<{t}>" for t in FLOAT_C for k in ("sgd_update", "adam_update")]
    elif filename == "elementwise_lowp.cu":  # float16/bfloat16 storage, float32 math
        for t in LOW_C:
            for op, code in op_codes("elementwise.cu", "UOP").items():
                if "float" in unary_dtypes(op):
                    names.append(f"unary_lowp<{t}, {code}>")
            for op, code in op_codes("elementwise.cu", "BOP").items():
                if "float" in binary_dtypes(op):
                    names.append(f"binary_lowp<{t}, {code}>")
    elif filename == "mma.cu":  # tensor cores (wmma): float16 / bfloat16 in, float32 sums
        names += [f"mma_wmma<{t}>" for t in LOW_C]
    elif filename == "rnn.cu":  # fused LSTM / GRU cells (nn/rnn.py)
        names += [f"{k}<{t}>" for t in FLOAT_C for k in ("lstm_cell_fwd", "lstm_cell_bwd",
                                                          "gru_cell_fwd", "gru_cell_bwd")]
    elif filename == "attention.cu":
        names += [f"{k}<{t}>" for t in FLOAT_C for k in ("attn_fwd", "attn_bwd_dq",
                                                          "attn_bwd_dkdv")]
    elif filename == "norm.cu":
        names += [f"{k}<{t}>" for t in FLOAT_C for k in ("layer_norm_fwd", "layer_norm_bwd_dx",
                                                          "layer_norm_bwd_dwdb")]
    elif filename == "gelu.cu":
        names += [f"{k}<{t}, {b}>" for t in FLOAT_C for k in ("gelu_fwd", "gelu_bwd")
                  for b in ("false", "true")]
    return names


def all_kernel_instantiations():
    """``[(file, name_expressions), ...]`` for every ``kernels/*.cu`` file: every template
    instantiation the kernel backend launches.  tests/test_kernels_compile.py compiles exactly
    these with nvcc for sm_80 and sm_90."""
    return [(f, tuple(dict.fromkeys(kernel_names(f))))
            for f in sorted(os.listdir(KERNELS_DIR)) if f.endswith(".cu")]


def npdt(dtype) -> np.dtype:
    """A minitorch dtype, NumPy dtype or type -> NumPy dtype."""
    d = getattr(dtype, "np", None)
    return d if d is not None else np.dtype(dtype)


def ctype(dt) -> str:
    """The C type name of a NumPy dtype (``"float"``, ``"long long"`` ...)."""
    return C_TYPE[np.dtype(dt)]


def group_of(name: str) -> str:
    """Kernels are compiled in groups (one module per file and first template argument), so
    a program that only uses float32 never waits for the int64 instantiations."""
    i = name.find("<")
    if i < 0:
        return ""
    j = name.find(",", i)
    k = name.find(">", i)
    end = j if 0 <= j < k else k
    return name[i + 1:end].strip()


# ------------------------------------------------------------------------------------------
# shapes and strides

def estrides(a) -> tuple:
    """Strides of an array in elements."""
    it = a.itemsize
    return tuple(s // it for s in a.strides)


def contiguous_strides(shape) -> tuple:
    st = []
    acc = 1
    for s in reversed(shape):
        st.append(acc)
        acc *= s
    return tuple(reversed(st))


def broadcast_strides(shape, strides, out_shape) -> tuple:
    """Strides of an operand of ``shape`` broadcast to ``out_shape`` (0 on broadcast dims)."""
    k = len(out_shape) - len(shape)
    return (0,) * k + tuple(0 if s == 1 else st for s, st in zip(shape, strides))


def broadcast_shape(*shapes) -> tuple:
    n = max(len(s) for s in shapes)
    out = [1] * n
    for s in shapes:
        for i, d in enumerate(s, n - len(s)):
            if d != 1:
                if out[i] != 1 and out[i] != d:
                    raise ValueError("operands could not be broadcast together with shapes "
                                     + " ".join(str(tuple(x)) for x in shapes))
                out[i] = d
    return tuple(out)


def coalesce(shape, strides_list):
    """Drop size-1 dims and merge neighbouring dims that are contiguous with each other in
    every operand (TensorIterator's trick): ``(N, C)`` contiguous + ``(N, C)`` contiguous
    becomes one dim of N*C.  Returns (shape, [strides per operand])."""
    dims = [d for d, s in enumerate(shape) if s != 1]
    out_shape = []
    out_st = [[] for _ in strides_list]
    for d in dims:
        if out_shape and all(st[-1] == src[d] * shape[d] for st, src in zip(out_st, strides_list)):
            out_shape[-1] *= shape[d]
            for st, src in zip(out_st, strides_list):
                st[-1] = src[d]
        else:
            out_shape.append(shape[d])
            for st, src in zip(out_st, strides_list):
                st.append(src[d])
    return tuple(out_shape), [tuple(s) for s in out_st]


def view_strides(old_shape, old_strides, new_shape):
    """Strides for viewing (old_shape, old_strides) as new_shape without a copy, or None if
    no such strides exist (PyTorch's computeStride)."""
    numel = 1
    for s in old_shape:
        numel *= s
    if numel == 0 or not old_shape:
        return contiguous_strides(new_shape)
    new_strides = [0] * len(new_shape)
    view_d = len(new_shape) - 1
    chunk_base = old_strides[-1]
    tensor_numel = 1
    view_numel = 1
    for td in range(len(old_shape) - 1, -1, -1):
        tensor_numel *= old_shape[td]
        if td == 0 or (old_shape[td - 1] != 1
                       and old_strides[td - 1] != tensor_numel * chunk_base):
            while view_d >= 0 and (view_numel < tensor_numel or new_shape[view_d] == 1):
                new_strides[view_d] = view_numel * chunk_base
                view_numel *= new_shape[view_d]
                view_d -= 1
            if view_numel != tensor_numel:
                return None
            if td > 0:
                chunk_base = old_strides[td - 1]
                tensor_numel = 1
                view_numel = 1
    if view_d != -1:
        return None
    return tuple(new_strides)


def check_writable(a, msg: str) -> None:
    """A broadcast view (stride 0 on a dim of size > 1) cannot be written: several threads
    would write one element.  NumPy marks such views read-only; so do we, with its words.
    (An array with no element has nothing to write: NumPy gives it stride 0 on every dim.)"""
    if not a.size:
        return
    for s, st in zip(a.shape, a.strides):
        if st == 0 and s > 1:
            raise ValueError(msg)


def prod(shape) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


def cdiv(a: int, b: int) -> int:
    return -(-a // b)
