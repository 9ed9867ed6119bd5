// norm.cu -- fused LayerNorm over the rows of a matrix, forward and backward
//
// What it computes (x is a contiguous (rows, cols) matrix; w, b are (cols,) or absent)
//   layer_norm_fwd      mean[r] = sum_j x[r,j] / cols
//                       rstd[r] = 1 / sqrt(sum_j (x[r,j] - mean[r])^2 / cols + eps)
//                       y[r,j]  = (x[r,j] - mean[r]) * rstd[r] * w[j] + b[j]
//   layer_norm_bwd_dx   with gw = g * w, ds = sum(gw * x), db = sum(gw) (per row r),
//                       b = (db * mean - ds) * rstd^3 / cols, c = -b * mean - db * rstd / cols:
//                       dx = rstd * gw + b * x + c  (= rstd * (gw - mean(gw) - xhat *
//                       mean(gw * xhat)); PyTorch's CPU algebra, whose inf/NaN it shares)
//   layer_norm_bwd_dwdb dw[j] = sum_r g[r,j] * xhat[r,j],   db[j] = sum_r g[r,j]
//   The forward saves mean and rstd (2 numbers per row) so the backward never recomputes
//   the statistics: the whole op is one launch forward and two backward, where the
//   composed version (mean, sub, square, mean, add, rsqrt, mul, mul, add) wrote a full-size
//   temporary at every step.
//
// How threads map to data
//   layer_norm_fwd / layer_norm_bwd_dx: one warp per row (LN_WARPS rows per block of
//   32 x LN_WARPS threads).  Lane l reads columns l, l+32, ...: consecutive lanes touch
//   consecutive addresses (coalesced).  Row sums are reduced with 5 __shfl_xor_sync steps
//   (every lane ends with the total), no shared memory and no barrier.  The variance is a
//   second pass over the row (x - mean)^2 rather than E[x^2] - mean^2: that formula
//   cancels catastrophically when |mean| >> std; the second read hits L1/L2.
//   layer_norm_bwd_dwdb: a reduction over rows, i.e. down the columns: one thread per
//   column j walks every row, so at each step the threads of a warp read 32 neighbouring
//   columns of one row (coalesced again, no transpose, no atomics: deterministic sums).
//
// CUDA ideas shown: warp-per-row reductions with butterfly shuffles, a two-pass
// (numerically careful) variance, column reductions without atomics, grid-stride loops,
// 64-bit indices, optional operands passed as a flag plus a dummy pointer.
//
// Performance: memory-bound; the forward reads x twice (once from L1/L2) and writes y once.

#include "common.cuh"

#define LN_WARPS 4   // rows per 128-thread block

template <typename T>
__device__ __forceinline__ T ln_warp_sum(T v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(MT_FULL_MASK, v, o);
    return v;
}

__device__ __forceinline__ float ln_rsqrt(float v) { return 1.0f / sqrtf(v); }
__device__ __forceinline__ double ln_rsqrt(double v) { return 1.0 / sqrt(v); }

// flags: bit 0 = weight given, bit 1 = bias given (w / b then point at (cols,) arrays;
// otherwise they are any valid pointer and are not read)
template <typename T>
__global__ void layer_norm_fwd(const T* __restrict__ x, const T* __restrict__ w,
                               const T* __restrict__ b, T* __restrict__ y,
                               T* __restrict__ mean, T* __restrict__ rstd, i64 rows,
                               i64 cols, T eps, int flags) {
    const int lane = threadIdx.x;  // blockDim = (32, LN_WARPS)
    const bool hw = flags & 1, hb = flags & 2;
    for (i64 r = (i64)blockIdx.x * LN_WARPS + threadIdx.y; r < rows;
         r += (i64)gridDim.x * LN_WARPS) {
        const T* row = x + r * cols;
        T s = T(0);
        for (i64 j = lane; j < cols; j += 32) s += row[j];
        const T mu = ln_warp_sum(s) / T(cols);
        T q = T(0);
        for (i64 j = lane; j < cols; j += 32) {
            const T d = row[j] - mu;
            q += d * d;
        }
        const T rs = ln_rsqrt(ln_warp_sum(q) / T(cols) + eps);
        T* out = y + r * cols;
        for (i64 j = lane; j < cols; j += 32) {
            T v = (row[j] - mu) * rs;
            if (hw) v *= w[j];
            if (hb) v += b[j];
            out[j] = v;
        }
        if (lane == 0) {
            mean[r] = mu;
            rstd[r] = rs;
        }
    }
}

template <typename T>
__global__ void layer_norm_bwd_dx(const T* __restrict__ g, const T* __restrict__ x,
                                  const T* __restrict__ mean, const T* __restrict__ rstd,
                                  const T* __restrict__ w, T* __restrict__ dx, i64 rows,
                                  i64 cols, int flags) {
    const int lane = threadIdx.x;
    const bool hw = flags & 1;
    for (i64 r = (i64)blockIdx.x * LN_WARPS + threadIdx.y; r < rows;
         r += (i64)gridDim.x * LN_WARPS) {
        const T* xr = x + r * cols;
        const T* gr = g + r * cols;
        const T mu = mean[r], rs = rstd[r];
        T sa = T(0), sb = T(0);
        for (i64 j = lane; j < cols; j += 32) {
            const T gw = hw ? gr[j] * w[j] : gr[j];
            sa += gw;            // db = sum(gw)
            sb += gw * xr[j];    // ds = sum(gw * x)
        }
        const T db = ln_warp_sum(sa), ds = ln_warp_sum(sb);
        // PyTorch's CPU algebra (minitorch's cpu backend too), so that inf/NaN gradients
        // land where its do: dx = rstd * gw + b * x + c
        const T b = (db * mu - ds) * rs * rs * rs / T(cols);
        const T c = -b * mu - db * rs / T(cols);
        T* out = dx + r * cols;
        for (i64 j = lane; j < cols; j += 32) {
            const T gw = hw ? gr[j] * w[j] : gr[j];
            out[j] = rs * gw + b * xr[j] + c;
        }
    }
}

template <typename T>
__global__ void layer_norm_bwd_dwdb(const T* __restrict__ g, const T* __restrict__ x,
                                    const T* __restrict__ mean, const T* __restrict__ rstd,
                                    T* __restrict__ dw, T* __restrict__ db, i64 rows,
                                    i64 cols) {
    GRID_STRIDE_LOOP(j, cols) {
        T sw = T(0), sb = T(0);
        for (i64 r = 0; r < rows; ++r) {
            const T gv = g[r * cols + j];
            sw += gv * ((x[r * cols + j] - mean[r]) * rstd[r]);
            sb += gv;
        }
        dw[j] = sw;
        db[j] = sb;
    }
}
