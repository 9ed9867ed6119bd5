// copy.cu — moving elements between layouts, with an optional dtype conversion.
//
// What it computes
//   copy_contig<S, D>:   dst[i] = D(src[i]) for contiguous buffers (astype of a contiguous
//                        array; S == D is a plain copy).
//   copy_strided<S, D>:  dst[off_dst(i)] = D(src[off_src(i)]) for any strides on both sides.
//                        One kernel serves contiguous() (strided -> contiguous), copy_()
//                        (broadcast source: stride 0; strided destination), flip (negative
//                        source strides), cat (each input copied into a slice view of the
//                        output) and astype of non-contiguous arrays.
//   transpose_tiled<T>:  the common "make a transposed matrix contiguous" case
//                        (dst[b, r, c] = src[b, r, c] where src walks r with stride 1).
//   Conversions follow NumPy's casting: to bool is `x != 0` (NaN -> true), bool -> number is
//   0/1, float -> int truncates toward zero.
//
// How threads map to data
//   copy_contig / copy_strided: one element per grid-stride step (strided_offsets in
//   common.cuh computes both offsets from the linear index).  copy_contig moves 16-byte Vecs
//   when every pointer is aligned.
//   transpose_tiled: a 32x8 thread block stages a 32x32 tile in shared memory.  Reading the
//   tile, consecutive threads (threadIdx.x) walk the source's unit-stride dim; writing it,
//   they walk the destination's unit-stride dim — so both global accesses are coalesced,
//   which a naive element-per-thread transpose cannot achieve for both sides at once.  The
//   tile is 32x33: the extra column shifts each row by one bank so the column-wise reads of
//   shared memory hit 32 different banks (no bank conflicts).
//
// CUDA ideas shown: coalescing, shared-memory tiling, bank-conflict padding, __syncthreads,
// grid-stride loops over tiles with 64-bit tile indices.
#include "common.cuh"
#include <cuda_fp16.h>
#include <cuda_bf16.h>

// the two 16-bit floats (float16 = __half, bfloat16 = __nv_bfloat16) convert through float
// (or double) with CUDA's round-to-nearest-even intrinsics, never through C++ operators
template <typename A, typename B> struct IsSameT { static constexpr bool value = false; };
template <typename A> struct IsSameT<A, A> { static constexpr bool value = true; };
template <typename T> struct IsLowFloat { static constexpr bool value = false; };
template <> struct IsLowFloat<__half> { static constexpr bool value = true; };
template <> struct IsLowFloat<__nv_bfloat16> { static constexpr bool value = true; };

__device__ inline float low_to_float(__half x) { return __half2float(x); }
__device__ inline float low_to_float(__nv_bfloat16 x) { return __bfloat162float(x); }
template <typename D> __device__ inline D low_from_double(double x);
template <> __device__ inline __half low_from_double<__half>(double x) { return __double2half(x); }
template <> __device__ inline __nv_bfloat16 low_from_double<__nv_bfloat16>(double x) {
    return __double2bfloat16(x);
}
template <typename D> __device__ inline D low_from_float(float x);
template <> __device__ inline __half low_from_float<__half>(float x) { return __float2half_rn(x); }
template <> __device__ inline __nv_bfloat16 low_from_float<__nv_bfloat16>(float x) {
    return __float2bfloat16_rn(x);
}

template <typename D, typename S>
__device__ inline D convert(S x) {
    constexpr bool LS = IsLowFloat<S>::value, LD = IsLowFloat<D>::value;
    if constexpr (LS && LD) {
        if constexpr (IsSameT<S, D>::value) return x;
        else return low_from_float<D>(low_to_float(x));   // float16 <-> bfloat16: one rounding
    } else if constexpr (LS) {
        if constexpr (sizeof(D) == 1) return low_to_float(x) != 0.0f;        // -> bool (NaN: 1)
        else return (D)low_to_float(x);                    // -> float/double exact, ints truncate
    } else if constexpr (LD) {
        if constexpr (sizeof(S) == 1) return low_from_float<D>(x ? 1.0f : 0.0f);   // bool
        else return low_from_double<D>((double)x);       // float/double/ints: rounded once
    } else if constexpr (sizeof(D) == 1 && !Traits<D>::is_float) return x != 0;   // -> bool
    else return (D)x;
}

template <typename S, typename D>
__global__ void copy_contig(i64 n, const S* __restrict__ src, D* __restrict__ dst, int aligned) {
    constexpr int N = VecWidth<S, D>::value;
    i64 done = 0;
    if (aligned) {
        const i64 nv = n / N;
        GRID_STRIDE_LOOP(i, nv) {
            const Vec<S, N> a = reinterpret_cast<const Vec<S, N>*>(src)[i];
            Vec<D, N> r;
#pragma unroll
            for (int k = 0; k < N; ++k) r.v[k] = convert<D, S>(a.v[k]);
            reinterpret_cast<Vec<D, N>*>(dst)[i] = r;
        }
        done = nv * N;
    }
    for (i64 i = done + global_thread_id(); i < n; i += global_thread_count())
        dst[i] = convert<D, S>(src[i]);
}

// meta operands: 0 = dst, 1 = src
template <typename S, typename D>
__global__ void copy_strided(i64 n, int ndim, const i64* __restrict__ meta,
                             const S* __restrict__ src, D* __restrict__ dst) {
    GRID_STRIDE_LOOP(i, n) {
        i64 off[2];
        strided_offsets<2>(i, ndim, meta, off);
        dst[off[0]] = convert<D, S>(src[off[1]]);
    }
}

#define TILE 32
#define TILE_ROWS 8

// dst is contiguous (batch, rows, cols); src element (b, r, c) lives at
// src[b*sb + r + c*sc] (unit stride along r).  blockDim = (TILE, TILE_ROWS).
template <typename T>
__global__ void transpose_tiled(i64 batch, i64 rows, i64 cols, i64 sb, i64 sc,
                                const T* __restrict__ src, T* __restrict__ dst) {
    __shared__ T tile[TILE][TILE + 1];
    const i64 tiles_r = (rows + TILE - 1) / TILE, tiles_c = (cols + TILE - 1) / TILE;
    const i64 ntiles = batch * tiles_r * tiles_c;
    for (i64 t = blockIdx.x; t < ntiles; t += gridDim.x) {
        const i64 b = t / (tiles_r * tiles_c);
        const i64 rem = t % (tiles_r * tiles_c);
        const i64 r0 = (rem / tiles_c) * TILE, c0 = (rem % tiles_c) * TILE;
        const T* s = src + b * sb;
        T* d = dst + b * rows * cols;
        // load: threadIdx.x runs along r (the source's unit-stride dim)
        for (int j = threadIdx.y; j < TILE; j += TILE_ROWS) {
            const i64 r = r0 + threadIdx.x, c = c0 + j;
            if (r < rows && c < cols) tile[threadIdx.x][j] = s[r + c * sc];
        }
        __syncthreads();
        // store: threadIdx.x runs along c (the destination's unit-stride dim)
        for (int j = threadIdx.y; j < TILE; j += TILE_ROWS) {
            const i64 r = r0 + j, c = c0 + threadIdx.x;
            if (r < rows && c < cols) d[r * cols + c] = tile[j][threadIdx.x];
        }
        __syncthreads();   // the tile is reused by the next iteration
    }
}
