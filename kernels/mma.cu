// mma.cu -- Tensor Core matrix product  C[z] = A[z] @ B[z]  in FP16 (or BF16) with FP32
// accumulation, through the warp-level nvcuda::wmma API.
//
// What it computes
//   A: M x K and B: K x N of __half (float16) or __nv_bfloat16, read through a row stride
//   (lda, ldb; unit column stride) and a batch stride (sa, sb; 0 broadcasts); C: M x N of
//   the same 16-bit type, contiguous per batch.  Every product of two 16-bit numbers is
//   exact in float32 and the sums are kept in float32; only the final C is rounded to 16
//   bits -- what PyTorch's half matmul (cuBLAS with FP32 accumulation) returns.  Any M, N,
//   K: tiles hanging over an edge are zero-padded in shared memory.
//
// What a Tensor Core does
//   One `mma_sync` is a warp-wide instruction: the 32 lanes together multiply a 16x16 tile
//   of A by a 16x16 tile of B and add a 16x16 float tile -- 4096 multiply-adds per warp per
//   instruction, where an FFMA does 32.  The operands live in *fragments*: registers spread
//   over the warp's lanes in an unspecified layout, filled by `load_matrix_sync` (from
//   shared or global memory, a row stride `ldm` that is a multiple of 16 bytes) and
//   written by `store_matrix_sync`.  All 32 lanes must make each call together.
//
// How threads map to data
//   * A block of 128 threads = 4 warps owns a 32 x 32 tile of C (2 x 2 warp tiles of
//     16 x 16).  blockIdx.x picks the column tile, blockIdx.y the row tile, blockIdx.z the
//     matrix of the batch.
//   * Per K step of 16 the block stages A's 32 x 16 strip and B's 16 x 32 strip in shared
//     memory, 4 + 4 elements per thread, zero outside the matrix; each strip is then read
//     by two warps (the warp row shares A, the warp column shares B).  Shared memory also
//     gives wmma the aligned, padded-to-16 layout it needs whatever the input strides are.
//   * Warp (wy, wx) loads its A fragment from As[wy*16][0] and its B fragment from
//     Bs[0][wx*16], and accumulates into its float fragment across all K steps.
//   * At the end each warp stores its float tile to shared memory (Cs), and the block writes
//     the 32 x 32 tile to C with one rounding to 16 bits, skipping out-of-range elements.
//
// CUDA ideas shown
//   Tensor Cores through nvcuda::wmma (fragments, load/mma/store_matrix_sync, fill_fragment),
//   mixed precision (16-bit operands, 32-bit accumulators), shared-memory staging shared by
//   warps, zero padding instead of bounds checks inside the inner loop.  This is the
//   teaching version: production kernels (cuBLAS, CUTLASS) stage 128x128 tiles with
//   cp.async double buffering and use mma.sync/wgmma PTX directly; docs/kernels.md says how
//   far this one is from them.  On cudasim the wmma calls run on the CPU (kernels/cudasim/
//   wmma.h: every lane computes the full tile), so the kernel is tested without a GPU.
#include "common.cuh"
#include <cuda_fp16.h>
#include <cuda_bf16.h>
#include <mma.h>

using namespace nvcuda;

#define MMA_BM 32
#define MMA_BN 32
#define MMA_BK 16

__device__ inline float mma_to_float(__half x) { return __half2float(x); }
__device__ inline float mma_to_float(__nv_bfloat16 x) { return __bfloat162float(x); }
template <typename T> __device__ inline T mma_from_float(float x);
template <> __device__ inline __half mma_from_float<__half>(float x) { return __float2half_rn(x); }
template <> __device__ inline __nv_bfloat16 mma_from_float<__nv_bfloat16>(float x) {
    return __float2bfloat16_rn(x);
}
template <typename T> __device__ inline T mma_zero();
template <> __device__ inline __half mma_zero<__half>() { return __ushort_as_half(0); }
template <> __device__ inline __nv_bfloat16 mma_zero<__nv_bfloat16>() {
    return __ushort_as_bfloat16(0);
}

template <typename T>
__global__ void __launch_bounds__(128)
mma_wmma(const T* __restrict__ A, const T* __restrict__ B, T* __restrict__ C, i64 M, i64 N,
         i64 K, i64 lda, i64 ldb, i64 sa, i64 sb) {
    __shared__ __align__(32) T As[MMA_BM][MMA_BK];
    __shared__ __align__(32) T Bs[MMA_BK][MMA_BN];
    __shared__ __align__(32) float Cs[MMA_BM][MMA_BN];
    const int tid = threadIdx.x, warp = tid / 32, wy = warp / 2, wx = warp % 2;
    const i64 z = blockIdx.z, row0 = (i64)blockIdx.y * MMA_BM, col0 = (i64)blockIdx.x * MMA_BN;
    const T* a = A + z * sa;
    const T* b = B + z * sb;

    wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
    wmma::fill_fragment(acc, 0.0f);
    wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major> fa;
    wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::row_major> fb;

    for (i64 k0 = 0; k0 < K; k0 += MMA_BK) {
        // stage A (32 x 16) and B (16 x 32): 512 elements each, 4 per thread, zero-padded
        for (int e = tid; e < MMA_BM * MMA_BK; e += 128) {
            const int r = e / MMA_BK, c = e % MMA_BK;
            const i64 gr = row0 + r, gc = k0 + c;
            As[r][c] = (gr < M && gc < K) ? a[gr * lda + gc] : mma_zero<T>();
        }
        for (int e = tid; e < MMA_BK * MMA_BN; e += 128) {
            const int r = e / MMA_BN, c = e % MMA_BN;
            const i64 gr = k0 + r, gc = col0 + c;
            Bs[r][c] = (gr < K && gc < N) ? b[gr * ldb + gc] : mma_zero<T>();
        }
        __syncthreads();
        wmma::load_matrix_sync(fa, &As[wy * 16][0], MMA_BK);
        wmma::load_matrix_sync(fb, &Bs[0][wx * 16], MMA_BN);
        wmma::mma_sync(acc, fa, fb, acc);
        __syncthreads();   // the strips are overwritten by the next K step
    }
    wmma::store_matrix_sync(&Cs[wy * 16][wx * 16], acc, MMA_BN, wmma::mem_row_major);
    __syncthreads();       // every warp's tile is in Cs before anyone reads it
    T* c = C + z * M * N;
    for (int e = tid; e < MMA_BM * MMA_BN; e += 128) {
        const int r = e / MMA_BN, cc = e % MMA_BN;
        const i64 gr = row0 + r, gc = col0 + cc;
        if (gr < M && gc < N) c[gr * N + gc] = mma_from_float<T>(Cs[r][cc]);
    }
}
