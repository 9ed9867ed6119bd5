// reduce.cu — sum / prod / max / min / all / any over any set of axes, and argmax / argmin
// along one axis.
//
// What it computes
//   The host splits the input's dims into *kept* dims (they index the output element o) and
//   *reduced* dims (they index the element r inside one output's reduction), merges dims
//   that are contiguous with each other, and passes both lists in `meta`:
//       meta = [kshape(nk), kstride(nk), rshape(nr), rstride(nr)]
//   so x's element (o, r) is at x[koff(o) + roff(r)] for any input strides.
//   out[o] = combine over r of x(o, r) with NumPy's semantics: max/min propagate NaN, sum and
//   prod of bools are or/and, all/any test `x != 0`.  Argmax/argmin return the first index of
//   the extreme value (the first NaN if there is one).
//
// How threads map to data — three shapes of parallelism, chosen by the host:
//   reduce_rows: one WARP per (output, chunk of r), for many outputs.  Lanes stride through
//     r, so when the reduced dim has unit stride the warp reads 128 contiguous bytes per step
//     (coalesced); each lane keeps four independent partial results to have several loads
//     in flight.  The 32 lane partials are combined with __shfl_down_sync (a register
//     butterfly, no shared memory).
//   reduce_rows_block: one BLOCK per (output, chunk), for few long rows: warp shuffles, then
//     one value per warp through shared memory (the classic block reduction).
//   reduce_cols: one THREAD per output column and 8 threads (threadIdx.y) splitting r.  When
//     the outputs are contiguous (e.g. summing (N, C) over N: a bias gradient) consecutive
//     threads read consecutive addresses; the 8 partials per column are combined through a
//     shared-memory array and __syncthreads.
//   All three can split r into `split` chunks handled by different warps/blocks: they write
//   partial results and the host launches the same kernel again over the partials (a
//   two-pass reduction).  This keeps every SM busy when there are few outputs (a full sum
//   has one) — no atomics, so the result is deterministic.
//
// CUDA ideas shown: warp shuffles, shared-memory tree reduction, coalescing for both
// reduction orientations, two-pass reduction, 64-bit indexing, functor-templated kernels.
#include "common.cuh"

enum ReduceOp { ROP_SUM = 0, ROP_PROD = 1, ROP_MAX = 2, ROP_MIN = 3, ROP_ALL = 4, ROP_ANY = 5 };


// the value type being combined: bool for all/any, the input type otherwise
template <int OP, typename T> struct ReduceAcc {
    typedef typename Select<(OP == ROP_ALL || OP == ROP_ANY), bool, T>::type type;
};
// float16 / bfloat16 inputs (sum/prod/max/min) accumulate and write float32, as PyTorch's
// kernels do; the host rounds the (small) result to 16 bits (backends/kernel/lowp.py)
#include <cuda_fp16.h>
#include <cuda_bf16.h>
template <int OP> struct ReduceAcc<OP, __half> { typedef float type; };
template <int OP> struct ReduceAcc<OP, __nv_bfloat16> { typedef float type; };

template <int OP, typename A>
struct Combine {
    __device__ inline A operator()(A a, A b) const {
        constexpr bool B = sizeof(A) == 1 && !Traits<A>::is_float;   // bool
        typedef typename Unsigned<A>::type U;
        if constexpr (OP == ROP_SUM) {
            if constexpr (B) return a || b;
            else if constexpr (Traits<A>::is_float) return a + b;
            else return (A)((U)a + (U)b);                   // wraps like NumPy
        } else if constexpr (OP == ROP_PROD) {
            if constexpr (B) return a && b;
            else if constexpr (Traits<A>::is_float) return a * b;
            else return (A)((U)a * (U)b);
        } else if constexpr (OP == ROP_MAX) return max_nan(a, b);
        else if constexpr (OP == ROP_MIN) return min_nan(a, b);
        else if constexpr (OP == ROP_ALL) return a && b;
        else return a || b;
    }
    __device__ static inline A identity() {
        if constexpr (OP == ROP_SUM) return (A)0;
        else if constexpr (OP == ROP_PROD) return (A)1;
        else if constexpr (OP == ROP_MAX) return Traits<A>::lowest();
        else if constexpr (OP == ROP_MIN) return Traits<A>::highest();
        else if constexpr (OP == ROP_ALL) return true;
        else return false;
    }
    template <typename T> __device__ static inline A load(T v) {
        if constexpr (OP == ROP_ALL || OP == ROP_ANY) return v != 0;
        else return (A)v;      // (a 16-bit float widens to float: exact)
    }
};

// offset of reduction element r (nr dims; the 1-dim case is a multiply)
__device__ inline i64 red_offset(i64 r, int nr, const i64* rshape, const i64* rstride) {
    return nr == 1 ? r * rstride[0] : strided_offset(r, nr, rshape, rstride);
}
__device__ inline i64 kept_offset(i64 o, int nk, const i64* kshape, const i64* kstride) {
    return nk == 0 ? 0 : (nk == 1 ? o * kstride[0] : strided_offset(o, nk, kshape, kstride));
}

// ---------------------------------------------------------------------------------------
// one warp per (output o, chunk c); out has n_out*split entries, entry o*split + c.

template <typename T, int OP>
__global__ void reduce_rows(i64 n_out, i64 n_red, i64 split, int nk, int nr,
                            const i64* __restrict__ meta, const T* __restrict__ x,
                            typename ReduceAcc<OP, T>::type* __restrict__ out) {
    typedef typename ReduceAcc<OP, T>::type A;
    typedef Combine<OP, A> C;
    const C comb;
    const i64* kshape = meta;
    const i64* kstride = meta + nk;
    const i64* rshape = meta + 2 * nk;
    const i64* rstride = meta + 2 * nk + nr;
    const int lane = threadIdx.x % MT_WARP;
    const i64 warp = global_thread_id() / MT_WARP;
    const i64 nwarps = global_thread_count() / MT_WARP;
    const i64 chunk = (n_red + split - 1) / split;
    const bool unit = nr == 1 && rstride[0] == 1;

    for (i64 task = warp; task < n_out * split; task += nwarps) {
        const i64 o = task / split, c = task % split;
        const i64 lo = c * chunk;
        const i64 hi = lo + chunk < n_red ? lo + chunk : n_red;
        const T* base = x + kept_offset(o, nk, kshape, kstride);
        A a0 = C::identity(), a1 = C::identity(), a2 = C::identity(), a3 = C::identity();
        i64 r = lo + lane;
        if (unit) {                       // contiguous row: 4 independent loads per step
            for (; r + 3 * MT_WARP < hi; r += 4 * MT_WARP) {
                a0 = comb(a0, C::load(base[r]));
                a1 = comb(a1, C::load(base[r + MT_WARP]));
                a2 = comb(a2, C::load(base[r + 2 * MT_WARP]));
                a3 = comb(a3, C::load(base[r + 3 * MT_WARP]));
            }
            for (; r < hi; r += MT_WARP) a0 = comb(a0, C::load(base[r]));
        } else {
            for (; r < hi; r += MT_WARP)
                a0 = comb(a0, C::load(base[red_offset(r, nr, rshape, rstride)]));
        }
        A acc = comb(comb(a0, a1), comb(a2, a3));
        acc = warp_reduce(acc, comb);
        if (lane == 0) out[task] = acc;
    }
}

// ---------------------------------------------------------------------------------------
// one BLOCK per (output o, chunk c), for few outputs with long rows (a full sum has one).
// The classic block reduction: each thread strides through the chunk by blockDim.x, each
// warp combines its 32 values with shuffles, warp leaders leave one value each in shared
// memory, and warp 0 combines those.  Same output layout as reduce_rows.

template <typename T, int OP>
__global__ void reduce_rows_block(i64 n_out, i64 n_red, i64 split, int nk, int nr,
                                  const i64* __restrict__ meta, const T* __restrict__ x,
                                  typename ReduceAcc<OP, T>::type* __restrict__ out) {
    typedef typename ReduceAcc<OP, T>::type A;
    typedef Combine<OP, A> C;
    const C comb;
    __shared__ A warp_part[32];
    const i64* kshape = meta;
    const i64* kstride = meta + nk;
    const i64* rshape = meta + 2 * nk;
    const i64* rstride = meta + 2 * nk + nr;
    const int lane = threadIdx.x % MT_WARP, wid = threadIdx.x / MT_WARP;
    const int nwarps = blockDim.x / MT_WARP;
    const i64 step = blockDim.x;
    const i64 chunk = (n_red + split - 1) / split;
    const bool unit = nr == 1 && rstride[0] == 1;

    for (i64 task = blockIdx.x; task < n_out * split; task += gridDim.x) {
        const i64 o = task / split, c = task % split;
        const i64 lo = c * chunk;
        const i64 hi = lo + chunk < n_red ? lo + chunk : n_red;
        const T* base = x + kept_offset(o, nk, kshape, kstride);
        A a0 = C::identity(), a1 = C::identity(), a2 = C::identity(), a3 = C::identity();
        i64 r = lo + threadIdx.x;
        if (unit) {                       // coalesced: a block reads blockDim contiguous values
            for (; r + 3 * step < hi; r += 4 * step) {
                a0 = comb(a0, C::load(base[r]));
                a1 = comb(a1, C::load(base[r + step]));
                a2 = comb(a2, C::load(base[r + 2 * step]));
                a3 = comb(a3, C::load(base[r + 3 * step]));
            }
            for (; r < hi; r += step) a0 = comb(a0, C::load(base[r]));
        } else {
            for (; r < hi; r += step)
                a0 = comb(a0, C::load(base[red_offset(r, nr, rshape, rstride)]));
        }
        A acc = warp_reduce(comb(comb(a0, a1), comb(a2, a3)), comb);
        if (lane == 0) warp_part[wid] = acc;
        __syncthreads();
        if (wid == 0) {
            acc = lane < nwarps ? warp_part[lane] : C::identity();
            acc = warp_reduce(acc, comb);
            if (lane == 0) out[task] = acc;
        }
        __syncthreads();   // warp_part is reused by the next task
    }
}

// ---------------------------------------------------------------------------------------
// blockDim = (32, 8): threadIdx.x picks the output column, threadIdx.y strides through r.
// A block handles 32 consecutive outputs and one chunk c of r; with split > 1, out holds
// split rows of n_out partials: entry c*n_out + o.

#define COL_Y 8

template <typename T, int OP>
__global__ void reduce_cols(i64 n_out, i64 n_red, i64 split, int nk, int nr,
                            const i64* __restrict__ meta, const T* __restrict__ x,
                            typename ReduceAcc<OP, T>::type* __restrict__ out) {
    typedef typename ReduceAcc<OP, T>::type A;
    typedef Combine<OP, A> C;
    const C comb;
    __shared__ A part[COL_Y][MT_WARP];
    const i64* kshape = meta;
    const i64* kstride = meta + nk;
    const i64* rshape = meta + 2 * nk;
    const i64* rstride = meta + 2 * nk + nr;
    const i64 col_blocks = (n_out + MT_WARP - 1) / MT_WARP;
    const i64 chunk = (n_red + split - 1) / split;

    for (i64 task = blockIdx.x; task < col_blocks * split; task += gridDim.x) {
        const i64 cb = task % col_blocks, c = task / col_blocks;
        const i64 o = cb * MT_WARP + threadIdx.x;
        const i64 lo = c * chunk;
        const i64 hi = lo + chunk < n_red ? lo + chunk : n_red;
        A acc = C::identity();
        if (o < n_out) {
            const T* base = x + kept_offset(o, nk, kshape, kstride);
            for (i64 r = lo + threadIdx.y; r < hi; r += COL_Y)
                acc = comb(acc, C::load(base[red_offset(r, nr, rshape, rstride)]));
        }
        part[threadIdx.y][threadIdx.x] = acc;
        __syncthreads();
        // tree over y: 8 -> 4 -> 2 -> 1 partials per column
        for (int h = COL_Y / 2; h > 0; h >>= 1) {
            if (threadIdx.y < h)
                part[threadIdx.y][threadIdx.x] =
                    comb(part[threadIdx.y][threadIdx.x], part[threadIdx.y + h][threadIdx.x]);
            __syncthreads();
        }
        if (threadIdx.y == 0 && o < n_out) out[c * n_out + o] = part[0][threadIdx.x];
        __syncthreads();   // part[] is reused by the next task
    }
}

// ---------------------------------------------------------------------------------------
// argmax (OP 0) / argmin (OP 1) along one dim of stride rstride; one warp per (o, chunk).
// meta = [kshape(nk), kstride(nk)].  When has_idx != 0 the candidate index of element r is
// xidx[offset] (the second pass over (value, index) partials), else r itself.

template <int OP, typename T>
__device__ inline bool arg_better(T v, i64 i, T cur, i64 ci) {
    // does (v, i) replace (cur, ci)?  i < 0 marks "no element yet"
    if (i < 0) return false;
    if (ci < 0) return true;
    if (is_nan(cur)) return is_nan(v) && i < ci;
    if (is_nan(v)) return true;
    if (OP == 0 ? v > cur : v < cur) return true;
    return v == cur && i < ci;
}

template <typename T, int OP>
__global__ void argreduce_rows(i64 n_out, i64 n_red, i64 split, int nk,
                               const i64* __restrict__ meta, i64 rstride,
                               const T* __restrict__ x, const i64* __restrict__ xidx,
                               int has_idx, T* __restrict__ out_val, i64* __restrict__ out_idx) {
    const i64* kshape = meta;
    const i64* kstride = meta + nk;
    const int lane = threadIdx.x % MT_WARP;
    const i64 warp = global_thread_id() / MT_WARP;
    const i64 nwarps = global_thread_count() / MT_WARP;
    const i64 chunk = (n_red + split - 1) / split;

    for (i64 task = warp; task < n_out * split; task += nwarps) {
        const i64 o = task / split, c = task % split;
        const i64 lo = c * chunk;
        const i64 hi = lo + chunk < n_red ? lo + chunk : n_red;
        const i64 base = kept_offset(o, nk, kshape, kstride);
        T best = T();
        i64 bi = -1;
        for (i64 r = lo + lane; r < hi; r += MT_WARP) {
            const i64 off = base + r * rstride;
            const T v = x[off];
            const i64 i = has_idx ? xidx[off] : r;
            if (arg_better<OP>(v, i, best, bi)) { best = v; bi = i; }
        }
        for (int delta = MT_WARP / 2; delta > 0; delta >>= 1) {
            const T v = shfl_down(best, delta);
            const i64 i = shfl_down(bi, delta);
            if (arg_better<OP>(v, i, best, bi)) { best = v; bi = i; }
        }
        if (lane == 0) {
            out_val[task] = best;
            out_idx[task] = bi;
        }
    }
}
