// elementwise.cu — unary math, binary arithmetic/comparisons with broadcasting, where(),
// fill and arange.
//
// What it computes
//   unary:  y = f(x) for the 21 ops of base.UNARY_OPS (NumPy semantics: round is half to
//           even, sigmoid is the stable two-sided form, relu/maximum/minimum propagate NaN;
//           sign is PyTorch's, 0 for NaN).
//   binary: out = a (op) b for the 19 ops of base.BINARY_OPS; one side may be a scalar;
//           floor_divide/remainder follow the sign of the divisor (Python/NumPy), fmod the
//           sign of the dividend (C).
//   where:  out = cond ? a : b, either branch may be a scalar.
//   fill, arange: initialize a buffer.
//   (Casts are copies with a conversion: copy_contig / copy_strided in copy.cu.)
//
// How threads map to data
//   Every kernel is a grid-stride loop (GRID_STRIDE_LOOP in common.cuh): thread t of T total
//   handles elements t, t+T, t+2T, ...  so any grid size is correct and the host can pick the
//   grid for occupancy, not for n.  Two layouts:
//   * *_contig kernels: all operands are C-contiguous with the output's shape.  Consecutive
//     threads touch consecutive addresses (coalesced), and when every pointer is 16-byte
//     aligned (`aligned`) each thread moves one 16-byte Vec per step (4 floats, 2 doubles,
//     16 bools): fewer, wider memory transactions — this path is what reaches copy bandwidth.
//   * *_strided kernels: any strides, incl. 0 (broadcast) and negative.  A thread turns its
//     linear output index into one offset per operand (strided_offsets: a div/mod per dim,
//     in 32 bits whenever the numbers fit — GPUs emulate 64-bit division in software).  The host first merges dims that are contiguous in every operand, so a typical
//     broadcast like (N, C) + (C,) runs with ndim = 2.
//
// CUDA ideas shown: grid-stride loops, coalesced + vectorized (128-bit) global memory access,
// broadcasting through stride 0, compile-time specialization (the op and dtype are template
// parameters: each instantiation is a separate, branch-free kernel; names like
// `binary_contig<float, 0>` are instantiated through NVRTC name expressions).
#include "common.cuh"

// ---------------------------------------------------------------------------------------
// op codes (the Python side, kernel_layout.op_codes, reads these enums from this source)
enum UnaryOp {
    UOP_NEG = 0, UOP_EXP = 1, UOP_LOG = 2, UOP_LOG1P = 3, UOP_SQRT = 4, UOP_RSQRT = 5,
    UOP_ABS = 6, UOP_SIGN = 7, UOP_SIN = 8, UOP_COS = 9, UOP_TANH = 10, UOP_SIGMOID = 11,
    UOP_RELU = 12, UOP_FLOOR = 13, UOP_CEIL = 14, UOP_ROUND = 15, UOP_LOGICAL_NOT = 16,
    UOP_BITWISE_NOT = 17, UOP_ISNAN = 18, UOP_EXPM1 = 19, UOP_TAN = 20
};
enum BinaryOp {
    BOP_ADD = 0, BOP_SUB = 1, BOP_MUL = 2, BOP_DIV = 3, BOP_POW = 4, BOP_MAXIMUM = 5,
    BOP_MINIMUM = 6, BOP_FLOOR_DIVIDE = 7, BOP_REMAINDER = 8, BOP_EQ = 9, BOP_NE = 10,
    BOP_LT = 11, BOP_LE = 12, BOP_GT = 13, BOP_GE = 14, BOP_BITWISE_AND = 15,
    BOP_BITWISE_OR = 16, BOP_BITWISE_XOR = 17, BOP_FMOD = 18
};

// result type: bool for logical_not / isnan / comparisons, else the input type
template <int OP, typename T> struct UnaryOut { typedef T type; };
template <typename T> struct UnaryOut<UOP_LOGICAL_NOT, T> { typedef bool type; };
template <typename T> struct UnaryOut<UOP_ISNAN, T> { typedef bool type; };
template <int OP, typename T> struct BinaryOut {
    typedef typename Select<(OP >= BOP_EQ && OP <= BOP_GE), bool, T>::type type;
};

// ---------------------------------------------------------------------------------------
// the scalar functions

template <int OP, typename T>
__device__ inline typename UnaryOut<OP, T>::type unary_apply(T x) {
    constexpr bool F = Traits<T>::is_float;
    if constexpr (OP == UOP_NEG) {
        if constexpr (F) return -x;
        else return (T)(typename Unsigned<T>::type)(0 - (typename Unsigned<T>::type)x);
    } else if constexpr (OP == UOP_EXP) return m_exp(x);
    else if constexpr (OP == UOP_LOG) return m_log(x);
    else if constexpr (OP == UOP_LOG1P) return m_log1p(x);
    else if constexpr (OP == UOP_SQRT) return m_sqrt(x);
    else if constexpr (OP == UOP_RSQRT) return (T)1 / m_sqrt(x);
    else if constexpr (OP == UOP_ABS) {
        if constexpr (F) return m_fabs(x);
        else if constexpr (sizeof(T) == 1) return x;                    // bool
        else return x < 0 ? (T)(0 - (typename Unsigned<T>::type)x) : x;
    } else if constexpr (OP == UOP_SIGN) {
        // PyTorch's (0 < x) - (x < 0): 0 for +-0 and for NaN; a bool is itself
        if constexpr (sizeof(T) == 1) return x;
        else return x > 0 ? (T)1 : (x < 0 ? (T)-1 : (T)0);
    } else if constexpr (OP == UOP_SIN) return m_sin(x);
    else if constexpr (OP == UOP_COS) return m_cos(x);
    else if constexpr (OP == UOP_TANH) return m_tanh(x);
    else if constexpr (OP == UOP_SIGMOID) {
        // stable for both signs: exp() only ever sees a non-positive argument
        if (x >= 0) return (T)1 / ((T)1 + m_exp(-x));
        const T e = m_exp(x);
        return e / ((T)1 + e);
    } else if constexpr (OP == UOP_RELU) return x < (T)0 ? (T)0 : x;  // NaN and -0. stay
    else if constexpr (OP == UOP_FLOOR) { if constexpr (F) return m_floor(x); else return x; }
    else if constexpr (OP == UOP_CEIL) { if constexpr (F) return m_ceil(x); else return x; }
    else if constexpr (OP == UOP_ROUND) { if constexpr (F) return m_rint(x); else return x; }
    else if constexpr (OP == UOP_LOGICAL_NOT) return !x;
    else if constexpr (OP == UOP_BITWISE_NOT) {
        if constexpr (sizeof(T) == 1) return !x; else return ~x;        // bool: logical not
    } else if constexpr (OP == UOP_ISNAN) return is_nan(x);
    else if constexpr (OP == UOP_EXPM1) return m_expm1(x);     // exact near 0, unlike exp - 1
    else if constexpr (OP == UOP_TAN) return m_tan(x);
}

// Python/NumPy floor division and modulo for floats (NumPy's npy_divmod, step for step)
template <typename T> __device__ inline T float_floor_divide(T a, T b) {
    if (b == 0) return a / b;
    const T mod = m_fmod(a, b);
    T div = (a - mod) / b;
    if (mod != 0 && ((b < 0) != (mod < 0))) div -= 1;
    if (div != 0) {
        T fl = m_floor(div);
        if (div - fl > (T)0.5) fl += 1;
        return fl;
    }
    return m_copysign((T)0, a / b);
}
// PyTorch's remainder: fmod, moved into the divisor's sign; a zero result keeps fmod's
// sign, the dividend's (NumPy gives it the divisor's: -6 % 3 is -0. here, 0. in NumPy)
template <typename T> __device__ inline T float_remainder(T a, T b) {
    T mod = m_fmod(a, b);
    if (mod != 0 && ((b < 0) != (mod < 0))) mod += b;
    return mod;
}
// integers: the quotient rounds toward -inf; x/0 gives 0 (NumPy; the Tensor layer raises
// first); MIN/-1 wraps instead of trapping
template <typename T> __device__ inline T int_floor_divide(T a, T b) {
    typedef typename Unsigned<T>::type U;
    if (b == 0) return 0;
    if (b == -1) return (T)(U)(0 - (U)a);
    T q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) q -= 1;
    return q;
}
// C's fmod for integers: the remainder of the truncating division (sign of the dividend);
// x % 0 gives 0 (the Tensor layer raises first) and MIN % -1 gives 0 instead of trapping
template <typename T> __device__ inline T int_fmod(T a, T b) {
    if (b == 0 || b == -1) return 0;
    return a % b;
}
template <typename T> __device__ inline T int_remainder(T a, T b) {
    if (b == 0 || b == -1) return 0;
    T r = a % b;
    if (r != 0 && ((r < 0) != (b < 0))) r += b;
    return r;
}
// integer power by repeated squaring (wrapping); negative exponents give 0 except for +-1
template <typename T> __device__ inline T int_pow(T a, T b) {
    typedef typename Unsigned<T>::type U;
    if (b < 0) return a == 1 ? (T)1 : (a == -1 ? ((b & 1) ? (T)-1 : (T)1) : (T)0);
    U r = 1, base = (U)a;
    while (b) {
        if (b & 1) r *= base;
        base *= base;
        b >>= 1;
    }
    return (T)r;
}

template <int OP, typename T>
__device__ inline typename BinaryOut<OP, T>::type binary_apply(T a, T b) {
    constexpr bool F = Traits<T>::is_float;
    constexpr bool B = sizeof(T) == 1;   // bool
    typedef typename Unsigned<T>::type U;
    if constexpr (OP == BOP_ADD) {
        if constexpr (F) return a + b; else if constexpr (B) return a || b;
        else return (T)((U)a + (U)b);
    } else if constexpr (OP == BOP_SUB) {
        if constexpr (F) return a - b; else return (T)((U)a - (U)b);
    } else if constexpr (OP == BOP_MUL) {
        if constexpr (F) return a * b; else if constexpr (B) return a && b;
        else return (T)((U)a * (U)b);
    } else if constexpr (OP == BOP_DIV) return a / b;                  // floats only
    else if constexpr (OP == BOP_POW) {
        if constexpr (F) return m_pow(a, b); else return int_pow(a, b);
    }
    else if constexpr (OP == BOP_MAXIMUM) return max_nan(a, b);
    else if constexpr (OP == BOP_MINIMUM) return min_nan(a, b);
    else if constexpr (OP == BOP_FLOOR_DIVIDE) {
        if constexpr (F) return float_floor_divide(a, b); else return int_floor_divide(a, b);
    } else if constexpr (OP == BOP_REMAINDER) {
        if constexpr (F) return float_remainder(a, b); else return int_remainder(a, b);
    } else if constexpr (OP == BOP_FMOD) {
        if constexpr (F) return m_fmod(a, b); else return int_fmod(a, b);
    } else if constexpr (OP == BOP_EQ) return a == b;
    else if constexpr (OP == BOP_NE) return a != b;
    else if constexpr (OP == BOP_LT) return a < b;
    else if constexpr (OP == BOP_LE) return a <= b;
    else if constexpr (OP == BOP_GT) return a > b;
    else if constexpr (OP == BOP_GE) return a >= b;
    else if constexpr (OP == BOP_BITWISE_AND) { if constexpr (B) return a && b; else return a & b; }
    else if constexpr (OP == BOP_BITWISE_OR) { if constexpr (B) return a || b; else return a | b; }
    else if constexpr (OP == BOP_BITWISE_XOR) { if constexpr (B) return a != b; else return a ^ b; }
}

// ---------------------------------------------------------------------------------------
// unary kernels

template <typename T, int OP>
__global__ void unary_contig(i64 n, const T* __restrict__ x,
                             typename UnaryOut<OP, T>::type* __restrict__ y, int aligned) {
    typedef typename UnaryOut<OP, T>::type R;
    constexpr int N = VecWidth<T, R>::value;
    i64 done = 0;
    if (aligned) {                       // 16-byte vectors, then a scalar tail
        const i64 nv = n / N;
        GRID_STRIDE_LOOP(i, nv) {
            const Vec<T, N> a = reinterpret_cast<const Vec<T, N>*>(x)[i];
            Vec<R, N> r;
#pragma unroll
            for (int k = 0; k < N; ++k) r.v[k] = unary_apply<OP, T>(a.v[k]);
            reinterpret_cast<Vec<R, N>*>(y)[i] = r;
        }
        done = nv * N;
    }
    for (i64 i = done + global_thread_id(); i < n; i += global_thread_count())
        y[i] = unary_apply<OP, T>(x[i]);
}

// meta operands: 0 = y (output), 1 = x
template <typename T, int OP>
__global__ void unary_strided(i64 n, int ndim, const i64* __restrict__ meta,
                              const T* __restrict__ x, typename UnaryOut<OP, T>::type* y) {
    GRID_STRIDE_LOOP(i, n) {
        i64 off[2];
        strided_offsets<2>(i, ndim, meta, off);
        y[off[0]] = unary_apply<OP, T>(x[off[1]]);
    }
}

// ---------------------------------------------------------------------------------------
// binary kernels

template <typename T, int OP>
__global__ void binary_contig(i64 n, const T* a, const T* b,
                              typename BinaryOut<OP, T>::type* out, int aligned) {
    typedef typename BinaryOut<OP, T>::type R;
    constexpr int N = VecWidth<T, R>::value;
    i64 done = 0;
    if (aligned) {
        const i64 nv = n / N;
        GRID_STRIDE_LOOP(i, nv) {
            const Vec<T, N> va = reinterpret_cast<const Vec<T, N>*>(a)[i];
            const Vec<T, N> vb = reinterpret_cast<const Vec<T, N>*>(b)[i];
            Vec<R, N> r;
#pragma unroll
            for (int k = 0; k < N; ++k) r.v[k] = binary_apply<OP, T>(va.v[k], vb.v[k]);
            reinterpret_cast<Vec<R, N>*>(out)[i] = r;
        }
        done = nv * N;
    }
    for (i64 i = done + global_thread_id(); i < n; i += global_thread_count())
        out[i] = binary_apply<OP, T>(a[i], b[i]);
}

// array (op) scalar, or scalar (op) array when scalar_left != 0
template <typename T, int OP>
__global__ void binary_contig_scalar(i64 n, const T* x, T s, int scalar_left,
                                     typename BinaryOut<OP, T>::type* out, int aligned) {
    typedef typename BinaryOut<OP, T>::type R;
    constexpr int N = VecWidth<T, R>::value;
    i64 done = 0;
    if (aligned) {
        const i64 nv = n / N;
        GRID_STRIDE_LOOP(i, nv) {
            const Vec<T, N> v = reinterpret_cast<const Vec<T, N>*>(x)[i];
            Vec<R, N> r;
#pragma unroll
            for (int k = 0; k < N; ++k)
                r.v[k] = scalar_left ? binary_apply<OP, T>(s, v.v[k])
                                     : binary_apply<OP, T>(v.v[k], s);
            reinterpret_cast<Vec<R, N>*>(out)[i] = r;
        }
        done = nv * N;
    }
    for (i64 i = done + global_thread_id(); i < n; i += global_thread_count())
        out[i] = scalar_left ? binary_apply<OP, T>(s, x[i]) : binary_apply<OP, T>(x[i], s);
}

// meta operands: 0 = out, 1 = a, 2 = b.  scalar_mask bit 0: use sa instead of a[], bit 1:
// use sb instead of b[] (the pointer is then a valid dummy and never read).
template <typename T, int OP>
__global__ void binary_strided(i64 n, int ndim, const i64* __restrict__ meta, const T* a,
                               const T* b, typename BinaryOut<OP, T>::type* out, T sa, T sb,
                               int scalar_mask) {
    GRID_STRIDE_LOOP(i, n) {
        i64 off[3];
        strided_offsets<3>(i, ndim, meta, off);
        const T va = (scalar_mask & 1) ? sa : a[off[1]];
        const T vb = (scalar_mask & 2) ? sb : b[off[2]];
        out[off[0]] = binary_apply<OP, T>(va, vb);
    }
}

// ---------------------------------------------------------------------------------------
// where: meta operands 0 = out, 1 = cond, 2 = a, 3 = b; scalar_mask as in binary_strided

template <typename T>
__global__ void where_strided(i64 n, int ndim, const i64* __restrict__ meta,
                              const bool* cond, const T* a, const T* b, T* out, T sa, T sb,
                              int scalar_mask) {
    GRID_STRIDE_LOOP(i, n) {
        i64 off[4];
        strided_offsets<4>(i, ndim, meta, off);
        out[off[0]] = cond[off[1]] ? ((scalar_mask & 1) ? sa : a[off[2]])
                                   : ((scalar_mask & 2) ? sb : b[off[3]]);
    }
}

template <typename T>
__global__ void where_contig(i64 n, const bool* cond, const T* a, const T* b, T* out, T sa,
                             T sb, int scalar_mask) {
    GRID_STRIDE_LOOP(i, n) {
        out[i] = cond[i] ? ((scalar_mask & 1) ? sa : a[i]) : ((scalar_mask & 2) ? sb : b[i]);
    }
}

// ---------------------------------------------------------------------------------------
// fill and arange

template <typename T>
__global__ void fill_contig(i64 n, T* out, T value, int aligned) {
    constexpr int N = 16 / sizeof(T);
    i64 done = 0;
    if (aligned) {
        Vec<T, N> v;
#pragma unroll
        for (int k = 0; k < N; ++k) v.v[k] = value;
        const i64 nv = n / N;
        GRID_STRIDE_LOOP(i, nv) reinterpret_cast<Vec<T, N>*>(out)[i] = v;
        done = nv * N;
    }
    for (i64 i = done + global_thread_id(); i < n; i += global_thread_count()) out[i] = value;
}

// meta operands: 0 = out
template <typename T>
__global__ void fill_strided(i64 n, int ndim, const i64* __restrict__ meta, T* out, T value) {
    GRID_STRIDE_LOOP(i, n) {
        i64 off[1];
        strided_offsets<1>(i, ndim, meta, off);
        out[off[0]] = value;
    }
}

// out[i] = start + i*step: floats computed in double then rounded once, integers exactly
template <typename T>
__global__ void arange_float(i64 n, double start, double step, T* out) {
    GRID_STRIDE_LOOP(i, n) out[i] = (T)(start + (double)i * step);
}
template <typename T>
__global__ void arange_int(i64 n, long long start, long long step, T* out) {
    GRID_STRIDE_LOOP(i, n) out[i] = (T)(long long)((u64)start + (u64)i * (u64)step);
}
