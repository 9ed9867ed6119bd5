// softplus.cu -- y = log(1 + e**x), computed as max(x, 0) + log1p(exp(-|x|)) so that it
// never overflows (the same formula as the cpu backend and docs/extending.md's built-in).
//
// How threads map to data: one element per grid-stride step (GRID_STRIDE_LOOP from
// common.cuh: thread t of T handles t, t+T, t+2T ... with 64-bit indices), consecutive
// threads on consecutive addresses -- coalesced loads and stores.
//
// CUDA idea shown: the smallest useful kernel -- a template instantiated per dtype through
// NVRTC name expressions ("softplus_kernel<float>"), 64-bit grid-stride indexing, and the
// dtype-overloaded math wrappers of common.cuh.  Memory-bound: 8 bytes per float32
// element, so expect ~ copy bandwidth on a GPU.
#include "common.cuh"

template <typename T>
__global__ void softplus_kernel(const T* __restrict__ x, T* __restrict__ y, i64 n) {
    GRID_STRIDE_LOOP(i, n) {
        const T v = x[i];
        y[i] = (v > T(0) ? v : T(0)) + m_log1p(m_exp(-m_fabs(v)));
    }
}
