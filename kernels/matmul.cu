// matmul.cu -- batched matrix product  C[z] = A[z] @ B[z]   (A: M x K, B: K x N, C: M x N)
//
// What it computes
//   One kernel launch multiplies a whole batch of matrices.  A and B are read through
//   strides (row stride lda/ldb, unit column stride, two batch strides each, so broadcast
//   batch dims are just stride 0); C is a fresh contiguous (batch, M, N) array.  Any M, N,
//   K works: tiles that hang over an edge load zeros and skip the out-of-range stores.
//
// Two kernels
//   matmul_tiled<T>   float / double: shared-memory tiling + register blocking (below).
//   matmul_simple<T>  int / long long / bool: the textbook 16x16 shared-memory tile, one
//                     output per thread, integer arithmetic that wraps like NumPy's.
//
// How threads map to data (matmul_tiled<float>; double uses the numbers in brackets)
//   * A block of 256 threads owns a BM x BN = 128 x 128 [64 x 64] tile of C and walks K
//     in steps of BK = 8.  blockIdx.x picks the column tile, blockIdx.y the row tile,
//     blockIdx.z the matrix of the batch.  (y and z are limited to 65535 blocks: the host
//     launches again with offsets z_off / tm_off in the rare case that is not enough --
//     a grid-stride loop here would cost the registers that decide occupancy.)
//   * Each step the block stages an A tile (BM x BK) and a B tile (BK x BN) in shared
//     memory: 256 threads x 4 [2] elements each, so every element of A and B is fetched
//     from global memory once per block instead of once per thread that needs it.
//   * Register blocking: each thread computes an 8 x 8 [4 x 4] sub-tile of C held in
//     registers.  Per k it reads 8 values of A and 8 of B from shared memory and does
//     64 FMAs with them: 4 FMAs per shared-memory load instead of 1 with the
//     one-output-per-thread kernel.  That ratio is what moves the kernel from
//     shared-memory-bound to FMA-bound.
//   * The thread's 8 rows are two strips of 4, at ty*4 and 64 + ty*4 (columns likewise at
//     tx*4 and 64 + tx*4).  With that split the 16 threads of a half-warp read 16
//     consecutive float4s of a shared row (256 contiguous bytes: no bank conflicts), and
//     later store 16 consecutive float4s of a C row (coalesced).  Eight contiguous columns
//     per thread would make the same reads 2-way bank-conflicted.
//   * A is stored transposed in shared memory (As[k][m]) so that the 4 A values a thread
//     needs for one k are contiguous too: one 16-byte shared load.  Its rows are padded by
//     4 elements to spread the transposing stores over more banks.
//
// CUDA ideas shown
//   shared-memory tiling, register blocking, vectorized (128-bit) global and shared loads,
//   coalescing, two shared buffers (the next tile is written into the buffer not being
//   read, so one __syncthreads per K step suffices instead of two), and
//   __launch_bounds__(256, 2): "fit two blocks per SM", i.e. at most 128 registers.
//
// Occupancy versus prefetching: the classic refinement prefetches the next tile into
//   registers before the FMAs and stores it to shared memory after them.  Measured with
//   ptxas (tests/test_kernels_compile.py), that needs ~140-150 registers: either 1 block
//   per SM or spills at 2.  This kernel loads the next tile *after* the FMAs instead, and
//   lets the second resident block hide the load latency: while one block waits for
//   global memory, the other's 8 warps issue their FMAs.  Zero spills on sm_80 and sm_90
//   (nvcc 13 and NVRTC 12.9).
//
// Performance (design targets; see docs/kernels.md for measured numbers)
//   At 4096^3 in FP32 the kernel does 2*4096^3 FLOP = 137 GFLOP.  Per block and K step it
//   loads 2 * 128*8*4 B = 8 KiB from global and does 128*128*8 FMA, i.e. 32 FLOP per byte
//   from L2: far above an H100's ~ 20 FLOP/B ridge point, so it is FMA-bound.  Occupancy:
//   <= 128 registers x 256 threads = 2 blocks (16 warps) per SM, 2 x 16.3 KiB of shared
//   memory.  Designs of this shape (128x128x8 tiles, 8x8 per thread, float4 loads) reach
//   roughly 70-90% of cuBLAS SGEMM on Ampere/Hopper class GPUs without tensor cores (cuBLAS
//   FP32 does not use them either unless TF32 is enabled).

// Vector loads need 16-byte alignment: the host passes vec_a / vec_b = 1 only when the
// base pointer, the row stride and the batch strides are multiples of 4 [2] elements;
// otherwise, and in edge tiles, threads fall back to scalar, bounds-checked loads.
// All index arithmetic is 64-bit (long long): M*K can pass 2^31 for big batches.

#include "common.cuh"

// Vec<T, N> (common.cuh) is a bundle of N elements moved with one vector instruction
// (N*sizeof(T) = 16 bytes gives LDG.128 / LDS.128 / STG.128).
template <typename T, int N>
__device__ __forceinline__ Vec<T, N> load_vec(const T* p) {
    return *reinterpret_cast<const Vec<T, N>*>(p);
}

template <typename T, int N>
__device__ __forceinline__ void store_vec(T* p, const Vec<T, N>& x) {
    *reinterpret_cast<Vec<T, N>*>(p) = x;
}

// Tile shapes per dtype.  THREADS = (BM/TM) * (BN/TN) = 256 in both cases.
template <typename T> struct MatmulConfig;
template <> struct MatmulConfig<float> {
    static constexpr int BM = 128, BN = 128, BK = 8, TM = 8, TN = 8;
};
template <> struct MatmulConfig<double> {
    static constexpr int BM = 64, BN = 64, BK = 8, TM = 4, TN = 4;
};

#define MATMUL_THREADS 256

template <typename T>
__global__ void __launch_bounds__(MATMUL_THREADS, 2)
matmul_tiled(const T* __restrict__ A, const T* __restrict__ B, T* __restrict__ C,
             i64 M, i64 N, i64 K, i64 lda, i64 ldb,
             i64 batch, i64 batch1, i64 sa0, i64 sa1, i64 sb0, i64 sb1,
             int vec_a, int vec_b, i64 z_off, i64 tm_off)
{
    typedef MatmulConfig<T> Cfg;
    constexpr int BM = Cfg::BM, BN = Cfg::BN, BK = Cfg::BK, TM = Cfg::TM, TN = Cfg::TN;
    constexpr int THREADS = (BM / TM) * (BN / TN);
    static_assert(THREADS == MATMUL_THREADS, "tile config must use 256 threads");
    constexpr int LA = BM * BK / THREADS;   // A elements each thread stages per K step
    constexpr int LB = BK * BN / THREADS;   // B elements each thread stages per K step
    constexpr int HM = TM / 2, HN = TN / 2; // the two strips per thread
    constexpr int PAD = 16 / sizeof(T);     // keeps As rows 16-byte aligned

    // two buffers per tile: [buffer][k][m or n]
    __shared__ __align__(16) T As[2][BK][BM + PAD];
    __shared__ __align__(16) T Bs[2][BK][BN];

    const int tid = threadIdx.x;
    const int tx = tid % (BN / TN), ty = tid / (BN / TN);
    // which elements this thread stages (A: LA consecutive k of one row; B: LB consecutive n)
    const int a_row = tid / (BK / LA), a_k = (tid % (BK / LA)) * LA;
    const int b_row = tid / (BN / LB), b_col = (tid % (BN / LB)) * LB;

    const i64 n0 = (i64)blockIdx.x * BN;
    const i64 ktiles = (K + BK - 1) / BK;

    const i64 z = (i64)blockIdx.z + z_off;   // which matrix of the batch
    const T* Az = A + (z / batch1) * sa0 + (z % batch1) * sa1;
    const T* Bz = B + (z / batch1) * sb0 + (z % batch1) * sb1;
    const i64 m0 = ((i64)blockIdx.y + tm_off) * BM;
    T acc[TM][TN];
#pragma unroll
    for (int i = 0; i < TM; ++i)
#pragma unroll
        for (int j = 0; j < TN; ++j) acc[i][j] = T(0);

    T ra[LA], rb[LB];  // one tile's worth of this thread's elements, global -> shared
    // Running pointers to this thread's next A and B elements: advancing them by a
    // K step is one add, which keeps 64-bit index arithmetic (2 registers per
    // value) out of the inner loop -- register pressure decides occupancy here.
    const bool a_in = m0 + a_row < M;
    const bool b_vec = vec_b && n0 + b_col + LB <= N;
    const T* a_src = Az + (a_in ? (m0 + a_row) * lda : 0) + a_k;
    const T* b_src = Bz + (i64)b_row * ldb + n0 + b_col;
    const i64 b_step = (i64)BK * ldb;
    // global -> registers; `kr_` = K - k0, the part of K still ahead (> 0)
    auto fetch = [&](i64 kr_) {
        const int kr = kr_ < BK ? (int)kr_ : BK;  // 32-bit compares from here on
        if (vec_a && a_in && a_k + LA <= kr) {
            Vec<T, LA> p = load_vec<T, LA>(a_src);
#pragma unroll
            for (int i = 0; i < LA; ++i) ra[i] = p.v[i];
        } else {
#pragma unroll
            for (int i = 0; i < LA; ++i) ra[i] = (a_in && a_k + i < kr) ? a_src[i] : T(0);
        }
        if (b_vec && b_row < kr) {
            Vec<T, LB> p = load_vec<T, LB>(b_src);
#pragma unroll
            for (int i = 0; i < LB; ++i) rb[i] = p.v[i];
        } else {
#pragma unroll
            for (int i = 0; i < LB; ++i)
                rb[i] = (b_row < kr && n0 + b_col + i < N) ? b_src[i] : T(0);
        }
        a_src += BK;
        b_src += b_step;
    };
    // registers -> shared buffer `buf` (A transposed)
    auto stash = [&](int buf) {
#pragma unroll
        for (int i = 0; i < LA; ++i) As[buf][a_k + i][a_row] = ra[i];
        Vec<T, LB> p;
#pragma unroll
        for (int i = 0; i < LB; ++i) p.v[i] = rb[i];
        store_vec<T, LB>(&Bs[buf][b_row][b_col], p);
    };

    if (ktiles > 0) {
        fetch(K);
        stash(0);
    }
    __syncthreads();
    for (i64 t = 0; t < ktiles; ++t) {
        const int cur = (int)(t & 1);
#pragma unroll
        for (int k = 0; k < BK; ++k) {
            T a[TM], b[TN];
            Vec<T, HM> a0 = load_vec<T, HM>(&As[cur][k][ty * HM]);
            Vec<T, HM> a1 = load_vec<T, HM>(&As[cur][k][BM / 2 + ty * HM]);
            Vec<T, HN> b0 = load_vec<T, HN>(&Bs[cur][k][tx * HN]);
            Vec<T, HN> b1 = load_vec<T, HN>(&Bs[cur][k][BN / 2 + tx * HN]);
#pragma unroll
            for (int i = 0; i < HM; ++i) { a[i] = a0.v[i]; a[HM + i] = a1.v[i]; }
#pragma unroll
            for (int j = 0; j < HN; ++j) { b[j] = b0.v[j]; b[HN + j] = b1.v[j]; }
#pragma unroll
            for (int i = 0; i < TM; ++i)
#pragma unroll
                for (int j = 0; j < TN; ++j) acc[i][j] += a[i] * b[j];
        }
        if (t + 1 < ktiles) {  // the next tile, into the buffer nobody is reading
            fetch(K - (t + 1) * BK);
            stash(cur ^ 1);
        }
        __syncthreads();  // next tile visible; current buffer free for reuse
    }

    // epilogue: registers -> C, one vector store per strip where it fits
    const bool vec_c = (N % HN) == 0;
    const i64 r0 = m0 + ty * HM, c0 = n0 + tx * HN;
    T* c_ptr = C + ((i64)blockIdx.z + z_off) * M * N + r0 * N + c0;
#pragma unroll
    for (int i = 0; i < TM; ++i) {
        const int ri = i < HM ? i : BM / 2 + (i - HM);  // a compile-time constant
        if (r0 + ri >= M) continue;
#pragma unroll
        for (int h = 0; h < 2; ++h) {
            const int cj = h * (BN / 2);
            T* dst = c_ptr + ri * N + cj;
            if (vec_c && c0 + cj + HN <= N) {
                Vec<T, HN> p;
#pragma unroll
                for (int j = 0; j < HN; ++j) p.v[j] = acc[i][h * HN + j];
                store_vec<T, HN>(dst, p);
            } else {
#pragma unroll
                for (int j = 0; j < HN; ++j)
                    if (c0 + cj + j < N) dst[j] = acc[i][h * HN + j];
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Integer and bool matmul: one output per thread, 16x16 tiles of A and B in shared memory.
// Products accumulate in an unsigned type of the same width, so overflow wraps exactly as
// NumPy's integer matmul does (signed overflow would be undefined behaviour in C++); for
// bool the accumulator is bool itself: acc + a*b != 0 is "any(a & b)".
#define MATMUL_SIMPLE_TILE 16

template <typename T>
__global__ void matmul_simple(const T* __restrict__ A, const T* __restrict__ B,
                              T* __restrict__ C, i64 M, i64 N, i64 K, i64 lda, i64 ldb,
                              i64 batch, i64 batch1, i64 sa0, i64 sa1, i64 sb0, i64 sb1,
                              i64 z_off, i64 tm_off)
{
    constexpr int TS = MATMUL_SIMPLE_TILE;
    typedef typename Unsigned<T>::type Acc;  // common.cuh: unsigned twin for ints
    __shared__ T As[TS][TS];
    __shared__ T Bs[TS][TS + 1];
    const int tx = threadIdx.x, ty = threadIdx.y;
    const i64 z = (i64)blockIdx.z + z_off;
    const T* Az = A + (z / batch1) * sa0 + (z % batch1) * sa1;
    const T* Bz = B + (z / batch1) * sb0 + (z % batch1) * sb1;
    const i64 row = ((i64)blockIdx.y + tm_off) * TS + ty;
    const i64 col = (i64)blockIdx.x * TS + tx;
    Acc acc = Acc(0);
    for (i64 k0 = 0; k0 < K; k0 += TS) {
        // each thread stages one element of each tile (zero outside the matrices)
        As[ty][tx] = (row < M && k0 + tx < K) ? Az[row * lda + k0 + tx] : T(0);
        Bs[ty][tx] = (k0 + ty < K && col < N) ? Bz[(k0 + ty) * ldb + col] : T(0);
        __syncthreads();
#pragma unroll
        for (int k = 0; k < TS; ++k) acc = acc + (Acc)As[ty][k] * (Acc)Bs[k][tx];
        __syncthreads();
    }
    if (row < M && col < N) C[z * M * N + row * N + col] = (T)acc;
}
