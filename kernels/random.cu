// random.cu — random numbers from a counter-based generator (Philox4x32-10).
//
// What it computes
//   uniform [low, high), normal (Box-Muller), randint [low, high), bernoulli(p), and the raw
//   Philox output (random_bits, used by the known-answer test).
//
// How threads map to data
//   Philox is a *counter-based* generator: a pure function (counter, key) -> 4 random 32-bit
//   words (10 rounds of multiply-hi/lo + xor, Salmon et al., SC'11).  There is no state to
//   carry from one number to the next, so element e simply uses counter = offset + e and
//   key = seed; every thread computes its elements independently in a grid-stride loop, and
//   the values do not depend on the grid or block size.  The host advances the generator's
//   offset by n after each call, so successive calls draw fresh numbers and
//   manual_seed(s) replays them.
//   Word use per element: float32 uniform 24 bits of word 0; float64 uniform 53 bits of
//   words 0-1; normal: two uniforms (words 0-1 / 2-3 for float64) through Box-Muller, keeping
//   the cosine branch; randint: a 64-bit value (words 0-1) mod (high - low) — the modulo bias
//   is below 2^-32 for ranges under 2^32; bernoulli: a 53-bit uniform compared with p.
//
// CUDA ideas shown: counter-based RNG (parallel, reproducible, no per-thread state),
// 32x32->64-bit multiplies (__umulhi on the GPU), grid-stride loops.
#include "common.cuh"

struct U32x4 { u32 x, y, z, w; };

__device__ inline U32x4 philox4x32_10(u64 counter, u64 seed) {
    const u32 M0 = 0xD2511F53u, M1 = 0xCD9E8D57u;     // multipliers
    const u32 W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;     // key schedule (golden ratio, sqrt 3)
    U32x4 c = {(u32)counter, (u32)(counter >> 32), 0u, 0u};
    u32 k0 = (u32)seed, k1 = (u32)(seed >> 32);
#pragma unroll
    for (int r = 0; r < 10; ++r) {
        const u64 p0 = (u64)M0 * c.x, p1 = (u64)M1 * c.z;
        const U32x4 n = {(u32)(p1 >> 32) ^ c.y ^ k0, (u32)p1, (u32)(p0 >> 32) ^ c.w ^ k1, (u32)p0};
        c = n;
        k0 += W0;
        k1 += W1;
    }
    return c;
}

// a raw variant for tests: words of counter (offset + e) at out[4e .. 4e+3], counter words
// 2 and 3 are zero
extern "C" __global__ void random_bits(i64 n, u64 seed, u64 offset, u32* __restrict__ out) {
    GRID_STRIDE_LOOP(e, n) {
        const U32x4 r = philox4x32_10(offset + (u64)e, seed);
        out[4 * e] = r.x;
        out[4 * e + 1] = r.y;
        out[4 * e + 2] = r.z;
        out[4 * e + 3] = r.w;
    }
}

__device__ inline float u01_float(u32 a) { return (float)(a >> 8) * (1.0f / 16777216.0f); }
__device__ inline double u01_double(u32 a, u32 b) {
    return (double)(((u64)(a >> 5) << 26) | (u64)(b >> 6)) * (1.0 / 9007199254740992.0);
}
template <typename T> __device__ inline T uniform01(const U32x4& r);
template <> __device__ inline float uniform01<float>(const U32x4& r) { return u01_float(r.x); }
template <> __device__ inline double uniform01<double>(const U32x4& r) {
    return u01_double(r.x, r.y);
}

template <typename T>
__global__ void uniform_kernel(i64 n, u64 seed, u64 offset, double low, double high,
                               T* __restrict__ out) {
    const T lo = (T)low, span = (T)(high - low);
    GRID_STRIDE_LOOP(e, n) {
        const U32x4 r = philox4x32_10(offset + (u64)e, seed);
        out[e] = uniform01<T>(r) * span + lo;
    }
}

template <typename T>
__global__ void normal_kernel(i64 n, u64 seed, u64 offset, double mean, double std,
                              T* __restrict__ out) {
    const T m = (T)mean, s = (T)std;
    const T two_pi = (T)6.283185307179586;
    GRID_STRIDE_LOOP(e, n) {
        const U32x4 r = philox4x32_10(offset + (u64)e, seed);
        T u1, u2;
        if constexpr (sizeof(T) == 4) { u1 = u01_float(r.x); u2 = u01_float(r.y); }
        else { u1 = u01_double(r.x, r.y); u2 = u01_double(r.z, r.w); }
        u1 = (T)1 - u1;                                  // (0, 1]: log is finite
        out[e] = m_sqrt((T)-2 * m_log(u1)) * m_cos(two_pi * u2) * s + m;
    }
}

// range == 0 means 2^64 (every 64-bit value)
template <typename T>
__global__ void randint_kernel(i64 n, u64 seed, u64 offset, long long low, u64 range,
                               T* __restrict__ out) {
    GRID_STRIDE_LOOP(e, n) {
        const U32x4 r = philox4x32_10(offset + (u64)e, seed);
        u64 v = ((u64)r.y << 32) | r.x;
        if (range) v %= range;
        out[e] = (T)(long long)((u64)low + v);
    }
}

// x and out contiguous; out[e] = 1 with probability x[e]
template <typename T>
__global__ void bernoulli_kernel(i64 n, u64 seed, u64 offset, const T* __restrict__ p,
                                 T* __restrict__ out) {
    GRID_STRIDE_LOOP(e, n) {
        const U32x4 r = philox4x32_10(offset + (u64)e, seed);
        out[e] = u01_double(r.x, r.y) < (double)p[e] ? (T)1 : (T)0;
    }
}
