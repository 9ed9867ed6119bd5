// softmax.cu -- softmax, log-softmax and fused cross-entropy over rows of a matrix
//
// What it computes
//   For every row x of a (rows, cols) contiguous matrix:
//     softmax      y = exp(x - m) / s                 m = max(x), s = sum(exp(x - m))
//     log_softmax  y = (x - m) - log(s)
//     cross_entropy_fwd   lse = m + log(s),  loss = lse - x[target]  (0 where ignored)
//     cross_entropy_bwd   dx = g_row * (exp(x - lse) - [j == target])  (0 * p where ignored)
//   softmax_strided does the same along the middle axis of an (outer, C, inner) array
//   (softmax over dim 1 of NCHW) without transposing it first.
//
// The online max-and-sum (one pass over the row for the statistics)
//   The textbook kernel reads the row three times: max, then sum of exp(x - max), then
//   the output.  Here each thread keeps a running pair (m, s) = (max so far, sum of
//   exp(x - m) so far) and updates it per element:
//       x > m:  s = s * exp(m - x) + 1;  m = x        (rescale the old sum to the new max)
//       else:   s = s + exp(x - m)
//   Two partial pairs combine the same way: m = max(m1, m2), s = s1*exp(m1-m) + s2*exp(m2-m).
//   That combination is associative, so partial pairs from 32 lanes reduce with warp
//   shuffles, and partials from the warps of a block through shared memory.  One pass
//   gives m and s; a second pass writes y (for rows that fit in L1/L2 it is a cache hit).
//
// How threads map to data
//   *_warp:    one warp per row (4 rows per 128-thread block).  Lane l reads columns
//              l, l+32, ... : consecutive lanes read consecutive addresses (coalesced).
//              The reduction is 5 __shfl_xor_sync steps; no shared memory, no barrier.
//              Used for rows of up to 1024 columns.
//   *_block:   one block of 256 threads per row, for long rows (vocabulary-sized
//              logits): warps reduce with shuffles, then warp 0 reduces the 8 warp
//              results from shared memory.
//   softmax_strided: one thread per (outer, inner) column; at each step c the threads of
//              a warp read x[o, c, i..i+31]: consecutive addresses again, with no
//              transpose.
//   cross_entropy_bwd: a flat grid-stride loop over rows*cols elements.
//
// CUDA ideas shown: warp shuffles (__shfl_xor_sync butterfly: every lane ends with the
// result), a two-level block reduction through shared memory, online (streaming)
// normalisation, coalescing, grid-stride loops, 64-bit indices.
//
// Special values, exactly as the NumPy reference (backends/cpu.py) and PyTorch: the shift is
// the row max m; when m is not finite (a row that holds +inf or NaN, or is all -inf) x - m
// is NaN somewhere and so is every output of the row (s is made NaN).
//
// Performance: memory-bound.  Rows that fit in cache are read twice from L1/L2 but once
// from DRAM and written once, so softmax should run near copy bandwidth (2 x bytes).

#include "common.cuh"

template <typename T> __device__ __forceinline__ T sm_neg_inf() { return Traits<T>::lowest(); }

template <typename T> __device__ __forceinline__ bool sm_finite(T x) { return x - x == T(0); }

// running (max, rescaled sum): add one element.  NaN sticks in m (x != x) and then in s.
template <typename T>
__device__ __forceinline__ void online_add(T& m, T& s, T x) {
    if (x > m || x != x) {
        s = s * m_exp(m - x) + T(1);   // m = -inf at the start: exp(-inf) = 0
        m = x;
    } else if (x != sm_neg_inf<T>()) {     // -inf adds 0 (and must not make exp(-inf+inf))
        s += m_exp(x - m);
    }
}

// combine two partial (max, sum) pairs; a -inf max means "nothing seen yet" (sum 0)
template <typename T>
__device__ __forceinline__ void online_merge(T& m, T& s, T m2, T s2) {
    T mm = (m2 > m || m2 != m2) ? m2 : m;
    if (m != m) mm = m;
    if (mm == sm_neg_inf<T>()) return;     // both empty
    T a = (m == sm_neg_inf<T>()) ? T(0) : s * m_exp(m - mm);
    T b = (m2 == sm_neg_inf<T>()) ? T(0) : s2 * m_exp(m2 - mm);
    m = mm;
    s = a + b;
}

template <typename T>
__device__ __forceinline__ void warp_merge(T& m, T& s) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
        T m2 = __shfl_xor_sync(MT_FULL_MASK, m, o);
        T s2 = __shfl_xor_sync(MT_FULL_MASK, s, o);
        online_merge(m, s, m2, s2);
    }
}

template <typename T>
__device__ __forceinline__ T warp_sum(T v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(MT_FULL_MASK, v, o);
    return v;
}

// The statistics of one row, with `lane`/`nthreads` striding the columns, reduced by
// `reduce_pair` / `reduce_sum` (warp-only or whole block).  Returns (shift, s) with the
// reference's convention: shift = m, and s = NaN if m is not finite.
template <typename T, typename RP, typename RS>
__device__ __forceinline__ void row_stats(const T* __restrict__ row, i64 cols, int lane,
                                          int nthreads, T& shift, T& s, RP reduce_pair,
                                          RS reduce_sum) {
    T m = sm_neg_inf<T>();
    s = T(0);
    for (i64 j = lane; j < cols; j += nthreads) online_add(m, s, row[j]);
    reduce_pair(m, s);
    shift = m;
    if (!sm_finite(m)) s = m - m;  // +-inf - +-inf or NaN: the whole row is NaN, as x - m is
}

// ---- one warp per row ------------------------------------------------------------------

#define SM_WARPS 4   // rows per 128-thread block

template <typename T>
struct WarpReduce {
    __device__ void operator()(T& m, T& s) const { warp_merge(m, s); }
    __device__ T operator()(T v) const { return warp_sum(v); }
};

template <typename T, bool LOG>
__global__ void softmax_warp(const T* __restrict__ x, T* __restrict__ y, i64 rows, i64 cols) {
    const int lane = threadIdx.x;  // blockDim = (32, SM_WARPS)
    WarpReduce<T> red;
    for (i64 r = (i64)blockIdx.x * SM_WARPS + threadIdx.y; r < rows;
         r += (i64)gridDim.x * SM_WARPS) {
        const T* row = x + r * cols;
        T* out = y + r * cols;
        T shift, s;
        row_stats(row, cols, lane, 32, shift, s, red, red);
        if (LOG) {
            const T ls = m_log(s);
            for (i64 j = lane; j < cols; j += 32) out[j] = (row[j] - shift) - ls;
        } else {
            for (i64 j = lane; j < cols; j += 32) out[j] = m_exp(row[j] - shift) / s;
        }
    }
}

template <typename T>
__global__ void cross_entropy_fwd_warp(const T* __restrict__ x,
                                       const long long* __restrict__ target,
                                       T* __restrict__ loss, T* __restrict__ lse, i64 rows,
                                       i64 cols, i64 ignore_index) {
    const int lane = threadIdx.x;
    WarpReduce<T> red;
    for (i64 r = (i64)blockIdx.x * SM_WARPS + threadIdx.y; r < rows;
         r += (i64)gridDim.x * SM_WARPS) {
        const T* row = x + r * cols;
        T shift, s;
        row_stats(row, cols, lane, 32, shift, s, red, red);
        if (lane == 0) {
            const T l = shift + m_log(s);
            const i64 t = target[r];
            lse[r] = l;
            loss[r] = (t == ignore_index) ? T(0) : l - row[t];
        }
    }
}

// ---- one block per row -----------------------------------------------------------------

#define SM_BLOCK 256

// Block-wide reductions: shuffles inside each warp, then warp 0 combines the per-warp
// results left in shared memory and leaves the answer in slot 0 for everyone.
template <typename T>
struct BlockReduce {
    T* sm_m;  // [32] in shared memory
    T* sm_s;  // [32]
    __device__ void operator()(T& m, T& s) const {
        const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
        const int nwarps = (blockDim.x + 31) >> 5;
        warp_merge(m, s);
        __syncthreads();  // the slots may still be read from the previous row
        if (lane == 0) { sm_m[warp] = m; sm_s[warp] = s; }
        __syncthreads();
        if (warp == 0) {
            m = lane < nwarps ? sm_m[lane] : sm_neg_inf<T>();
            s = lane < nwarps ? sm_s[lane] : T(0);
            warp_merge(m, s);
            if (lane == 0) { sm_m[0] = m; sm_s[0] = s; }
        }
        __syncthreads();
        m = sm_m[0];
        s = sm_s[0];
    }
    __device__ T operator()(T v) const {
        const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
        const int nwarps = (blockDim.x + 31) >> 5;
        v = warp_sum(v);
        __syncthreads();
        if (lane == 0) sm_s[warp] = v;
        __syncthreads();
        if (warp == 0) {
            v = lane < nwarps ? sm_s[lane] : T(0);
            v = warp_sum(v);
            if (lane == 0) sm_s[0] = v;
        }
        __syncthreads();
        return sm_s[0];
    }
};

template <typename T, bool LOG>
__global__ void softmax_block(const T* __restrict__ x, T* __restrict__ y, i64 rows, i64 cols) {
    __shared__ T sm_m[32], sm_s[32];
    BlockReduce<T> red{sm_m, sm_s};
    for (i64 r = blockIdx.x; r < rows; r += gridDim.x) {
        const T* row = x + r * cols;
        T* out = y + r * cols;
        T shift, s;
        row_stats(row, cols, threadIdx.x, blockDim.x, shift, s, red, red);
        if (LOG) {
            const T ls = m_log(s);
            for (i64 j = threadIdx.x; j < cols; j += blockDim.x) out[j] = (row[j] - shift) - ls;
        } else {
            for (i64 j = threadIdx.x; j < cols; j += blockDim.x)
                out[j] = m_exp(row[j] - shift) / s;
        }
    }
}

template <typename T>
__global__ void cross_entropy_fwd_block(const T* __restrict__ x,
                                        const long long* __restrict__ target,
                                        T* __restrict__ loss, T* __restrict__ lse, i64 rows,
                                        i64 cols, i64 ignore_index) {
    __shared__ T sm_m[32], sm_s[32];
    BlockReduce<T> red{sm_m, sm_s};
    for (i64 r = blockIdx.x; r < rows; r += gridDim.x) {
        const T* row = x + r * cols;
        T shift, s;
        row_stats(row, cols, threadIdx.x, blockDim.x, shift, s, red, red);
        if (threadIdx.x == 0) {
            const T l = shift + m_log(s);
            const i64 t = target[r];
            lse[r] = l;
            loss[r] = (t == ignore_index) ? T(0) : l - row[t];
        }
    }
}

// ---- along the middle axis of (outer, C, inner), inner > 1 -----------------------------

template <typename T, bool LOG>
__global__ void softmax_strided(const T* __restrict__ x, T* __restrict__ y, i64 outer,
                                i64 C, i64 inner) {
    const i64 total = outer * inner;
    GRID_STRIDE_LOOP(idx, total) {
        const i64 o = idx / inner, i = idx % inner;
        const T* col = x + o * C * inner + i;
        T* out = y + o * C * inner + i;
        T m = sm_neg_inf<T>(), s = T(0);
        for (i64 c = 0; c < C; ++c) online_add(m, s, col[c * inner]);
        const T shift = m;
        if (!sm_finite(m)) s = m - m;  // the whole column is NaN (see row_stats)
        if (LOG) {
            const T ls = m_log(s);
            for (i64 c = 0; c < C; ++c) out[c * inner] = (col[c * inner] - shift) - ls;
        } else {
            for (i64 c = 0; c < C; ++c) out[c * inner] = m_exp(col[c * inner] - shift) / s;
        }
    }
}

// ---- cross-entropy backward: elementwise ----------------------------------------------

template <typename T>
__global__ void cross_entropy_bwd(const T* __restrict__ x, const long long* __restrict__ target,
                                  const T* __restrict__ lse, const T* __restrict__ g,
                                  T* __restrict__ dx, i64 rows, i64 cols, i64 ignore_index) {
    const i64 total = rows * cols;
    GRID_STRIDE_LOOP(idx, total) {
        const i64 r = idx / cols, j = idx % cols;
        const i64 t = target[r];
        T v = m_exp(x[idx] - lse[r]);
        if (t != ignore_index) {
            if (j == t) v -= T(1);
            v *= g[r];
        } else {
            v *= T(0);  // PyTorch's log_softmax backward, 0 - p*0: NaN where p is NaN
        }
        dx[idx] = v;
    }
}
