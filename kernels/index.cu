// index.cu — advanced indexing: index (gather by k index arrays), index_put_ (with or
// without accumulation), gather / scatter_add_ along one dim, and nonzero.
//
// What it computes
//   index_gather:  out[b, q] = x[idx_0[b], ..., idx_{k-1}[b], q]   (q runs over x's other dims)
//   index_put:     x[idx_0[b], ..., q] = values[b, q]   (or += with accumulate)
//   gather:        out[p] = x[p with coordinate `dim` replaced by index[p]]
//   scatter_add:   x[p with coordinate `dim` replaced by index[p]] += src[p]
//   nonzero:       the coordinates of the nonzero elements of a contiguous x, in row-major
//                  order, as a (ndim, count) int64 array.
//
// How threads map to data
//   index_gather / index_put / gather / scatter_add: one output (or source) element per
//   grid-stride step; the thread computes where it reads and where it writes.  Different
//   threads may hit the SAME destination (repeated indices), so the accumulating kernels use
//   atomicAdd: the hardware serializes the read-modify-write of each address.  There is no
//   atomicAdd for signed 64-bit integers, but two's-complement addition is the same bit
//   operation as unsigned addition, so the `unsigned long long` overload does it.  Bools
//   "accumulate" as logical or: writing `true` is idempotent, so no atomic is needed.
//   nonzero runs three kernels, a classic stream compaction:
//     1. nonzero_count: block b counts the nonzeros of its chunk (per-thread counts, then a
//        warp-shuffle + shared-memory block reduction);
//     2. exclusive_scan: one block turns the per-block counts into start offsets;
//     3. nonzero_write: block b walks its chunk again, one blockDim-wide tile at a time.  In
//        each tile __ballot_sync gives every warp a 32-bit mask of its nonzero lanes;
//        __popc(mask & lanes_below) is a lane's rank inside its warp, and a scan over the
//        per-warp counts (in shared memory) gives each warp's base — so the output keeps
//        row-major order without any sorting.
//
// CUDA ideas shown: atomics (incl. the 64-bit-integer trick), warp vote (__ballot_sync,
// __popc) for stream compaction, block-wide scans, 64-bit index math.
#include "common.cuh"

template <typename T> __device__ inline void atomic_add(T* p, T v);
template <> __device__ inline void atomic_add<float>(float* p, float v) { atomicAdd(p, v); }
template <> __device__ inline void atomic_add<double>(double* p, double v) { atomicAdd(p, v); }
template <> __device__ inline void atomic_add<int>(int* p, int v) { atomicAdd(p, v); }
template <> __device__ inline void atomic_add<long long>(long long* p, long long v) {
    atomicAdd(reinterpret_cast<unsigned long long*>(p), (unsigned long long)v);
}
template <> __device__ inline void atomic_add<bool>(bool* p, bool v) {
    if (v) *p = true;
}

__device__ inline i64 wrap_index(i64 i, i64 size) { return i < 0 ? i + size : i; }

// meta = [dsize(k), dstride(k), rshape(nrest), rstride(nrest)]; idx holds k rows of nb
// indices (row j at idx + j*nb).  Returns x's offset of element (b, q).
__device__ inline i64 indexed_offset(i64 b, i64 q, i64 nb, int k, int nrest,
                                     const i64* __restrict__ idx, const i64* __restrict__ meta) {
    i64 off = 0;
    for (int j = 0; j < k; ++j) off += wrap_index(idx[j * nb + b], meta[j]) * meta[k + j];
    return off + strided_offset(q, nrest, meta + 2 * k, meta + 2 * k + nrest);
}

// out is contiguous (nb, inner)
template <typename T>
__global__ void index_gather(i64 nb, i64 inner, int k, int nrest, const i64* __restrict__ idx,
                             const i64* __restrict__ meta, const T* __restrict__ x,
                             T* __restrict__ out) {
    GRID_STRIDE_LOOP(e, nb * inner) {
        const i64 b = e / inner, q = e % inner;
        out[e] = x[indexed_offset(b, q, nb, k, nrest, idx, meta)];
    }
}

// values[e * vstride] is the value for element e = b*inner + q (vstride 0: one value for all)
template <typename T>
__global__ void index_put(i64 nb, i64 inner, int k, int nrest, const i64* __restrict__ idx,
                          const i64* __restrict__ meta, T* x, const T* __restrict__ values,
                          i64 vstride, int accumulate) {
    GRID_STRIDE_LOOP(e, nb * inner) {
        const i64 b = e / inner, q = e % inner;
        const i64 off = indexed_offset(b, q, nb, k, nrest, idx, meta);
        const T v = values[e * vstride];
        if (accumulate) atomic_add(x + off, v);
        else x[off] = v;
    }
}

// meta operands over index's shape: 0 = out (contiguous), 1 = index, 2 = x with its stride
// along `dim` set to 0 (the index value supplies that coordinate: xstride_dim).
template <typename T>
__global__ void gather_kernel(i64 n, int ndim, const i64* __restrict__ meta,
                              const T* __restrict__ x, const i64* __restrict__ index,
                              i64 xsize_dim, i64 xstride_dim, T* __restrict__ out) {
    GRID_STRIDE_LOOP(i, n) {
        i64 off[3];
        strided_offsets<3>(i, ndim, meta, off);
        out[off[0]] = x[off[2] + wrap_index(index[off[1]], xsize_dim) * xstride_dim];
    }
}

// meta operands over index's shape: 0 = index, 1 = src, 2 = x (stride along dim set to 0)
template <typename T>
__global__ void scatter_add_kernel(i64 n, int ndim, const i64* __restrict__ meta, T* x,
                                   const i64* __restrict__ index, const T* __restrict__ src,
                                   i64 xsize_dim, i64 xstride_dim) {
    GRID_STRIDE_LOOP(i, n) {
        i64 off[3];
        strided_offsets<3>(i, ndim, meta, off);
        atomic_add(x + off[2] + wrap_index(index[off[0]], xsize_dim) * xstride_dim, src[off[1]]);
    }
}

// ---------------------------------------------------------------------------------------
// nonzero

// block-wide sum of one i64 per thread (warp shuffles, then one value per warp in shared
// memory); the result is valid in thread 0.  blockDim.x must be a multiple of 32, <= 1024.
__device__ inline i64 block_sum(i64 v) {
    __shared__ i64 warp_sums[32];
    struct Add { __device__ i64 operator()(i64 a, i64 b) const { return a + b; } };
    const int lane = threadIdx.x % MT_WARP, wid = threadIdx.x / MT_WARP;
    v = warp_reduce(v, Add());
    if (lane == 0) warp_sums[wid] = v;
    __syncthreads();
    i64 total = 0;
    if (threadIdx.x == 0)
        for (int w = 0; w < (int)(blockDim.x / MT_WARP); ++w) total += warp_sums[w];
    __syncthreads();
    return total;
}

// block b counts the nonzeros of x[b*chunk, (b+1)*chunk)
template <typename T>
__global__ void nonzero_count(i64 n, i64 chunk, const T* __restrict__ x, i64* __restrict__ counts) {
    const i64 lo = (i64)blockIdx.x * chunk;
    const i64 hi = lo + chunk < n ? lo + chunk : n;
    i64 c = 0;
    for (i64 i = lo + threadIdx.x; i < hi; i += blockDim.x) c += x[i] != 0;
    c = block_sum(c);
    if (threadIdx.x == 0) counts[blockIdx.x] = c;
}

// exclusive prefix sum of n counts by ONE block, a blockDim-wide tile at a time;
// total[0] receives the sum of all counts.
extern "C" __global__ void exclusive_scan(i64 n, const i64* __restrict__ counts,
                                          i64* __restrict__ offsets, i64* __restrict__ total) {
    __shared__ i64 s[1024];
    i64 running = 0;
    for (i64 t0 = 0; t0 < n; t0 += blockDim.x) {
        const i64 i = t0 + threadIdx.x;
        const i64 v = i < n ? counts[i] : 0;
        s[threadIdx.x] = v;
        __syncthreads();
        // Hillis-Steele inclusive scan in shared memory: log2(blockDim) steps
        for (unsigned d = 1; d < blockDim.x; d <<= 1) {
            const i64 add = threadIdx.x >= d ? s[threadIdx.x - d] : 0;
            __syncthreads();
            s[threadIdx.x] += add;
            __syncthreads();
        }
        if (i < n) offsets[i] = running + s[threadIdx.x] - v;
        running += s[blockDim.x - 1];
        __syncthreads();
    }
    if (threadIdx.x == 0) total[0] = running;
}

// out is (ndim, count): row d holds coordinate d.  shape: x's shape (ndim entries).
template <typename T>
__global__ void nonzero_write(i64 n, i64 chunk, const T* __restrict__ x,
                              const i64* __restrict__ offsets, int ndim,
                              const i64* __restrict__ shape, i64 count, i64* __restrict__ out) {
    __shared__ int warp_counts[32];
    __shared__ int warp_base[32];
    const int lane = threadIdx.x % MT_WARP, wid = threadIdx.x / MT_WARP;
    const int nwarps = blockDim.x / MT_WARP;
    const unsigned below = (1u << lane) - 1u;            // lanes with a smaller id
    const i64 lo = (i64)blockIdx.x * chunk;
    const i64 hi = lo + chunk < n ? lo + chunk : n;
    i64 pos0 = offsets[blockIdx.x];
    for (i64 t0 = lo; t0 < hi; t0 += blockDim.x) {
        const i64 i = t0 + threadIdx.x;
        const bool flag = i < hi && x[i] != 0;
        const unsigned mask = __ballot_sync(MT_FULL_MASK, flag);
        if (lane == 0) warp_counts[wid] = __popc(mask);
        __syncthreads();
        if (threadIdx.x == 0) {          // scan of (at most 32) warp counts
            int acc = 0;
            for (int w = 0; w < nwarps; ++w) { warp_base[w] = acc; acc += warp_counts[w]; }
            warp_counts[0] = acc;        // tile total, read below
        }
        __syncthreads();
        if (flag) {
            i64 pos = pos0 + warp_base[wid] + __popc(mask & below);
            i64 rem = i;
            for (int d = ndim - 1; d >= 0; --d) {
                out[(i64)d * count + pos] = rem % shape[d];
                rem /= shape[d];
            }
        }
        pos0 += warp_counts[0];
        __syncthreads();
    }
}
