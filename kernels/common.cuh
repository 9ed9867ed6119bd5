// common.cuh — device helpers shared by every minitorch kernel file.
//
// What it provides
//   * fixed-width integer names (i64, u64, u32) that work under NVRTC, nvcc and the
//     cudasim shim alike (no <stdint.h> needed);
//   * GRID_STRIDE_LOOP: the 64-bit grid-stride loop every elementwise kernel uses, so a launch
//     with any grid size covers any n (n may pass 2^31);
//   * the strided-metadata convention (shape + per-operand strides, up to MT_MAX_DIMS dims)
//     and strided_offsets(), which turns a row-major linear index into one element offset
//     per operand — broadcasting is simply a stride of 0;
//   * Vec<T, N>: an aligned N-element struct, so one load/store moves 16 bytes (a "vectorized"
//     LDG.128 / STG.128 on the GPU);
//   * per-dtype traits (lowest/highest values, NaN test) and math wrappers that pick the float
//     or double C function by overload, so a template body reads the same for every dtype;
//   * warp_reduce(): a butterfly of __shfl_down_sync steps.
//
// Conventions (the Python side, minitorch/backends/kernel_backend.py, relies on them)
//   * dtypes map to C types: float32 float, float64 double, int32 int, int64 long long,
//     bool bool (1 byte, always 0 or 1).
//   * strides are in ELEMENTS, signed (negative strides walk backwards: flip uses them).
//   * A strided metadata array `meta` (int64, on the device) for `nops` operands over `ndim`
//     dims is laid out as
//         meta[0 .. ndim)                      shape
//         meta[ndim*(1+k) .. ndim*(2+k))       strides of operand k, k = 0 .. nops-1
//     Linear index i enumerates the shape in row-major (C) order.
//   * Everything that indexes memory is 64-bit (i64); only thread/block ids are 32-bit.
//
// Keep this header stable: softmax.cu, matmul.cu, conv.cu and optim.cu include it too.
#pragma once

typedef long long i64;
typedef unsigned long long u64;
typedef unsigned int u32;

// Select<C, A, B>::type is A when C is true, else B (std::conditional without <type_traits>)
template <bool C, typename A, typename B> struct Select { typedef A type; };
template <typename A, typename B> struct Select<false, A, B> { typedef B type; };

// Unsigned<T>::type: the unsigned twin of an integer type, so integer +, -, * can wrap around
// like NumPy's without C++'s signed-overflow undefined behaviour (floats and bool map to
// themselves)
template <typename T> struct Unsigned { typedef T type; };
template <> struct Unsigned<int> { typedef unsigned int type; };
template <> struct Unsigned<long long> { typedef unsigned long long type; };

#define MT_MAX_DIMS 8
#define MT_WARP 32
#define MT_FULL_MASK 0xffffffffu

// for (i64 i = global thread id; i < n; i += total threads)  — the grid-stride loop
#define GRID_STRIDE_LOOP(i, n)                                                   \
    for (i64 i = (i64)blockIdx.x * blockDim.x + threadIdx.x; i < (i64)(n);       \
         i += (i64)blockDim.x * gridDim.x)

// global thread id and total thread count as 64-bit numbers
__device__ inline i64 global_thread_id() { return (i64)blockIdx.x * blockDim.x + threadIdx.x; }
__device__ inline i64 global_thread_count() { return (i64)blockDim.x * gridDim.x; }

// ---------------------------------------------------------------------------------------
// strided indexing

// i / size and i % size.  GPUs have no 64-bit integer divider: a 64-bit division is a
// software routine of dozens of instructions, a 32-bit one a handful.  When both numbers fit
// in 32 bits (almost always) the cheap one is used; the 64-bit one keeps sizes past 2^32
// correct.
__device__ inline i64 divmod_index(i64 i, i64 size, i64& rem) {
    if ((((u64)i | (u64)size) >> 32) == 0) {
        const u32 q = (u32)i / (u32)size;
        rem = (i64)((u32)i - q * (u32)size);
        return (i64)q;
    }
    rem = i % size;
    return i / size;
}

// Offsets (in elements) of row-major linear index `i` in each of NOPS operands described by
// `meta` (layout above).  The loop peels dims from the innermost outwards: one div/mod per
// dim, shared by all operands.
template <int NOPS>
__device__ inline void strided_offsets(i64 i, int ndim, const i64* __restrict__ meta,
                                       i64 (&off)[NOPS]) {
    for (int k = 0; k < NOPS; ++k) off[k] = 0;
    for (int d = ndim - 1; d >= 0; --d) {
        i64 c;
        i = divmod_index(i, meta[d], c);
        for (int k = 0; k < NOPS; ++k) off[k] += c * meta[ndim * (1 + k) + d];
    }
}

// One operand's offset of linear index `i` over `ndim` dims: shape[d], strides[d].
__device__ inline i64 strided_offset(i64 i, int ndim, const i64* __restrict__ shape,
                                     const i64* __restrict__ strides) {
    i64 off = 0;
    for (int d = ndim - 1; d >= 0; --d) {
        i64 c;
        i = divmod_index(i, shape[d], c);
        off += c * strides[d];
    }
    return off;
}

// ---------------------------------------------------------------------------------------
// vectorized access: a 16-byte aligned bundle of N elements

template <typename T, int N>
struct alignas(sizeof(T) * N) Vec {
    T v[N];
};

// elements per 16-byte vector for a kernel touching types A and B (the larger one decides)
template <typename A, typename B>
struct VecWidth {
    static constexpr int value = 16 / (sizeof(A) > sizeof(B) ? sizeof(A) : sizeof(B));
};

// ---------------------------------------------------------------------------------------
// dtype traits

template <typename T> struct Traits;
template <> struct Traits<float> {
    static constexpr bool is_float = true;
    __device__ static inline float lowest() { return __int_as_float((int)0xff800000u); }   // -inf
    __device__ static inline float highest() { return __int_as_float(0x7f800000); }   // +inf
};
template <> struct Traits<double> {
    static constexpr bool is_float = true;
    __device__ static inline double lowest() {                                            // -inf
        return __longlong_as_double((long long)0xfff0000000000000ull);
    }
    __device__ static inline double highest() {                                           // +inf
        return __longlong_as_double(0x7ff0000000000000ll);
    }
};
template <> struct Traits<int> {
    static constexpr bool is_float = false;
    __device__ static inline int lowest() { return (int)0x80000000; }
    __device__ static inline int highest() { return 0x7fffffff; }
};
template <> struct Traits<long long> {
    static constexpr bool is_float = false;
    __device__ static inline long long lowest() { return (long long)0x8000000000000000ull; }
    __device__ static inline long long highest() { return 0x7fffffffffffffffll; }
};
template <> struct Traits<bool> {
    static constexpr bool is_float = false;
    __device__ static inline bool lowest() { return false; }
    __device__ static inline bool highest() { return true; }
};

// x != x is the NaN test; integers are never NaN (the compiler folds it away)
template <typename T> __device__ inline bool is_nan(T x) { return x != x; }

// NaN-propagating max/min (NumPy's maximum/minimum): a NaN on either side wins.
template <typename T> __device__ inline T max_nan(T a, T b) { return (a > b || is_nan(a)) ? a : b; }
template <typename T> __device__ inline T min_nan(T a, T b) { return (a < b || is_nan(a)) ? a : b; }

// ---------------------------------------------------------------------------------------
// math wrappers: one name, float and double overloads

#define MT_MATH1(name, ffun, dfun)                                     \
    __device__ inline float name(float x) { return ffun(x); }          \
    __device__ inline double name(double x) { return dfun(x); }
MT_MATH1(m_exp, expf, exp)
MT_MATH1(m_expm1, expm1f, expm1)
MT_MATH1(m_log, logf, log)
MT_MATH1(m_log1p, log1pf, log1p)
MT_MATH1(m_sqrt, sqrtf, sqrt)
MT_MATH1(m_sin, sinf, sin)
MT_MATH1(m_cos, cosf, cos)
MT_MATH1(m_tanh, tanhf, tanh)
MT_MATH1(m_tan, tanf, tan)
MT_MATH1(m_floor, floorf, floor)
MT_MATH1(m_ceil, ceilf, ceil)
MT_MATH1(m_rint, rintf, rint)   // round half to even (the default rounding mode)
MT_MATH1(m_fabs, fabsf, fabs)
#undef MT_MATH1
__device__ inline float m_pow(float a, float b) { return powf(a, b); }
__device__ inline double m_pow(double a, double b) { return pow(a, b); }
__device__ inline float m_fmod(float a, float b) { return fmodf(a, b); }
__device__ inline double m_fmod(double a, double b) { return fmod(a, b); }
__device__ inline float m_copysign(float a, float b) { return copysignf(a, b); }
__device__ inline double m_copysign(double a, double b) { return copysign(a, b); }

// ---------------------------------------------------------------------------------------
// warp shuffles.  __shfl_down_sync has no bool overload: bools travel as ints.

template <typename T> __device__ inline T shfl_down(T v, int delta) {
    return __shfl_down_sync(MT_FULL_MASK, v, delta);
}
template <> __device__ inline bool shfl_down<bool>(bool v, int delta) {
    return __shfl_down_sync(MT_FULL_MASK, (int)v, delta) != 0;
}

// warp-level reduction: after the loop lane 0 holds combine() of all 32 lanes' values.
// Each step halves the number of lanes that carry a partial result; no shared memory and no
// __syncthreads are needed because a warp's lanes exchange registers directly.  `combine`
// is a functor (a struct with operator()), so the whole tree inlines.
template <typename T, typename F>
__device__ inline T warp_reduce(T v, F combine) {
    for (int delta = MT_WARP / 2; delta > 0; delta >>= 1) v = combine(v, shfl_down(v, delta));
    return v;
}
