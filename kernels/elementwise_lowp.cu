// elementwise_lowp.cu — unary and binary elementwise ops on float16 (__half) and bfloat16
// (__nv_bfloat16) tensors, computed in float32 ("opmath") and rounded once.
//
// What it computes
//   unary_lowp<T, OP>:  y = f(x) for the float ops of elementwise.cu's UnaryOp enum; the
//                       result is T, or bool for isnan / logical_not.
//   binary_lowp<T, OP>: out = a (op) b for the float ops of BinaryOp (arithmetic, pow,
//                       maximum/minimum, floor_divide/remainder/fmod, comparisons -> bool);
//                       either side may be a scalar, passed as a float (PyTorch keeps a
//                       Python scalar in float32 when the tensor is 16-bit, so
//                       `x.half() * 1e-9` does not first round 1e-9 to zero).
//   Each element is loaded as 16 bits, widened to float (exact), computed with the very
//   same scalar functions as the float32 kernels (unary_apply / binary_apply<OP, float>,
//   this file includes elementwise.cu), and rounded to 16 bits once with round-to-nearest-
//   even -- so results equal the float32 computation rounded, on every device.
//
// How threads map to data
//   One grid-stride loop over the output's elements; each thread turns its linear index
//   into one offset per operand (strided_offsets in common.cuh), so any strides, broadcast
//   (stride 0) and contiguous layouts are one kernel.  16-bit loads halve the bytes moved
//   compared with float32, which is the whole gain on a bandwidth-bound elementwise op.
//
// CUDA ideas shown: mixed precision in registers (16-bit storage, 32-bit arithmetic), the
// cuda_fp16.h / cuda_bf16.h conversion intrinsics, reuse of templated scalar functions
// across storage types.
#include "elementwise.cu"
#include <cuda_fp16.h>
#include <cuda_bf16.h>

__device__ inline float lp_load(__half x) { return __half2float(x); }
__device__ inline float lp_load(__nv_bfloat16 x) { return __bfloat162float(x); }
template <typename T> __device__ inline T lp_store(float x);
template <> __device__ inline __half lp_store<__half>(float x) { return __float2half_rn(x); }
template <> __device__ inline __nv_bfloat16 lp_store<__nv_bfloat16>(float x) {
    return __float2bfloat16_rn(x);
}
// a bool result (isnan, comparisons) is stored as is
template <typename T> __device__ inline T lp_out(float x) { return lp_store<T>(x); }
template <typename T> __device__ inline T lp_out(bool x) { return (T)x; }

template <int OP, typename T> struct LowUnaryOut { typedef T type; };
template <typename T> struct LowUnaryOut<UOP_LOGICAL_NOT, T> { typedef bool type; };
template <typename T> struct LowUnaryOut<UOP_ISNAN, T> { typedef bool type; };
template <int OP, typename T> struct LowBinaryOut {
    typedef typename Select<(OP >= BOP_EQ && OP <= BOP_GE), bool, T>::type type;
};

// meta operands: 0 = y, 1 = x
template <typename T, int OP>
__global__ void unary_lowp(i64 n, int ndim, const i64* __restrict__ meta,
                           const T* __restrict__ x,
                           typename LowUnaryOut<OP, T>::type* __restrict__ y) {
    typedef typename LowUnaryOut<OP, T>::type R;
    GRID_STRIDE_LOOP(i, n) {
        i64 off[2];
        strided_offsets<2>(i, ndim, meta, off);
        y[off[0]] = lp_out<R>(unary_apply<OP, float>(lp_load(x[off[1]])));
    }
}

// meta operands: 0 = out, 1 = a, 2 = b.  mask bit 1: a is the scalar sa; bit 2: b is sb.
template <typename T, int OP>
__global__ void binary_lowp(i64 n, int ndim, const i64* __restrict__ meta,
                            const T* __restrict__ a, const T* __restrict__ b,
                            typename LowBinaryOut<OP, T>::type* __restrict__ out, float sa,
                            float sb, int mask) {
    typedef typename LowBinaryOut<OP, T>::type R;
    GRID_STRIDE_LOOP(i, n) {
        i64 off[3];
        strided_offsets<3>(i, ndim, meta, off);
        const float x = (mask & 1) ? sa : lp_load(a[off[1]]);
        const float y = (mask & 2) ? sb : lp_load(b[off[2]]);
        out[off[0]] = lp_out<R>(binary_apply<OP, float>(x, y));
    }
}
