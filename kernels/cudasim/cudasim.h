// cudasim.h -- the CUDA C dialect on the host C++ compiler, for the `cudasim` device.
//
// minitorch compiles every kernels/*.cu twice: with NVRTC (through CuPy) for the `cuda`
// device, and with g++/clang++ for `cudasim`, with this header force-included
// (`-include cudasim.h`).  The header supplies what nvcc would: the keywords, the built-in
// variables (threadIdx, blockIdx, ...), __syncthreads, warp shuffles and votes, atomics,
// vector types and the device math library, plus the machinery that runs a grid:
//
//   * every thread of a block is a fiber (its own small stack); a hand-written x86-64
//     context switch moves between them in a few nanoseconds (ucontext elsewhere);
//   * a block's fibers are scheduled in a seeded random order: a thread runs until it
//     finishes or waits (barrier, warp collective), then a random ready thread goes next,
//     so a kernel that forgets a __syncthreads reads stale shared memory and fails tests;
//   * blocks run one after another, also in a seeded random order.
//
// The machinery lives in scheduler.h (included below); this file is the CUDA-facing part.
//
// Two markers are left for the Python side (minitorch/backends/cudasim_runtime.py), which
// preprocesses the kernel file, finds the kernels, rewrites the markers and appends the
// launcher table (see docs/cudasim.md):
//   __global__  -> __cudasim_global__   (removed once the kernels are found)
//   __shared__  -> __cudasim_shared__   (`static` storage, which is per block because a
//                                        block's threads share one OS thread and blocks
//                                        run one at a time; `extern __shared__ T a[];`
//                                        becomes a pointer to the launch's dynamic buffer)
#pragma once
#define __CUDASIM__ 1
#ifndef __CUDA_ARCH__
#define __CUDA_ARCH__ 800
#endif

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#if defined(__x86_64__) && !defined(CUDASIM_FORCE_UCONTEXT)
#define CUDASIM_ASM_SWITCH 1
#else
#define CUDASIM_ASM_SWITCH 0
#include <ucontext.h>
#endif

// ---- keywords ------------------------------------------------------------------------------
#define __global__ __cudasim_global__
#define __shared__ __cudasim_shared__
#define __device__
#define __host__
#define __constant__
#define __managed__
#define __forceinline__ inline __attribute__((always_inline))
#define __noinline__ __attribute__((noinline))
#define __launch_bounds__(...)
#define __align__(n) __attribute__((aligned(n)))
#define __grid_constant__

// ---- vector types ----------------------------------------------------------------------------
#define CUDASIM_VEC2(T, N, A) struct __attribute__((aligned(A))) N##2 { T x, y; }; \
  static __forceinline__ N##2 make_##N##2(T x, T y) { N##2 r; r.x = x; r.y = y; return r; }
#define CUDASIM_VEC3(T, N) struct N##3 { T x, y, z; }; \
  static __forceinline__ N##3 make_##N##3(T x, T y, T z) {                                     \
    N##3 r; r.x = x; r.y = y; r.z = z; return r; }
#define CUDASIM_VEC4(T, N, A) struct __attribute__((aligned(A))) N##4 { T x, y, z, w; }; \
  static __forceinline__ N##4 make_##N##4(T x, T y, T z, T w) {                                \
    N##4 r; r.x = x; r.y = y; r.z = z; r.w = w; return r; }
CUDASIM_VEC2(char, char, 2) CUDASIM_VEC4(char, char, 4)
CUDASIM_VEC2(unsigned char, uchar, 2) CUDASIM_VEC4(unsigned char, uchar, 4)
CUDASIM_VEC2(short, short, 4) CUDASIM_VEC4(short, short, 8)
CUDASIM_VEC2(int, int, 8) CUDASIM_VEC3(int, int) CUDASIM_VEC4(int, int, 16)
CUDASIM_VEC2(unsigned int, uint, 8) CUDASIM_VEC4(unsigned int, uint, 16)
CUDASIM_VEC2(float, float, 8) CUDASIM_VEC3(float, float) CUDASIM_VEC4(float, float, 16)
CUDASIM_VEC2(double, double, 16) CUDASIM_VEC4(double, double, 16)
CUDASIM_VEC2(long long, longlong, 16) CUDASIM_VEC4(long long, longlong, 16)
CUDASIM_VEC2(unsigned long long, ulonglong, 16)
struct uint3 { unsigned int x, y, z; };
static __forceinline__ uint3 make_uint3(unsigned x, unsigned y, unsigned z) {
  uint3 r; r.x = x; r.y = y; r.z = z; return r;
}
struct dim3 {
  unsigned int x, y, z;
  constexpr dim3(unsigned int vx = 1, unsigned int vy = 1, unsigned int vz = 1)
      : x(vx), y(vy), z(vz) {}
  constexpr dim3(uint3 v) : x(v.x), y(v.y), z(v.z) {}
  constexpr operator uint3() const { return uint3{x, y, z}; }
};

#include "scheduler.h"  // fibers, scheduler, barriers, warp collectives, kernel entries

// ---- built-in variables -------------------------------------------------------------------------
#define threadIdx (static_cast<const ::uint3&>(::cudasim::g_cur->idx))
#define blockIdx (static_cast<const ::uint3&>(::cudasim::g_blockIdx))
#define blockDim (static_cast<const ::dim3&>(::cudasim::g_blockDim))
#define gridDim (static_cast<const ::dim3&>(::cudasim::g_gridDim))
static constexpr int warpSize = 32;

// ---- synchronization ---------------------------------------------------------------------------
static __forceinline__ void __syncthreads() { ::cudasim::syncthreads_impl(0); }
static __forceinline__ int __syncthreads_count(int p) { return ::cudasim::syncthreads_impl(p); }
static __forceinline__ int __syncthreads_and(int p) {
  return ::cudasim::syncthreads_impl(p) == ::cudasim::g_bar_total;
}
static __forceinline__ int __syncthreads_or(int p) { return ::cudasim::syncthreads_impl(p) != 0; }
static __forceinline__ void __syncwarp(unsigned mask = 0xffffffffu) {
  ::cudasim::warp_collective(mask, ::cudasim::W_SYNC, 0);
}
static __forceinline__ void __threadfence() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
static __forceinline__ void __threadfence_block() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
static __forceinline__ void __threadfence_system() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
static __forceinline__ void __nanosleep(unsigned) { ::cudasim::yield_now(); }
static __forceinline__ unsigned __activemask() {
  return ::cudasim::warp_lanes_alive(::cudasim::g_cur->warp);
}
static __forceinline__ unsigned __lanemask_lt() { return (1u << ::cudasim::g_cur->lane) - 1u; }
[[noreturn]] static __forceinline__ void __trap() {
  ::cudasim::fail("cudasim: __trap() called");
  __builtin_unreachable();
}
#if defined(__x86_64__)
static __forceinline__ long long clock64() { return (long long)__builtin_ia32_rdtsc(); }
#endif

#undef assert
#define assert(e) ((e) ? (void)0 : ::cudasim::device_assert_fail(#e, __FILE__, __LINE__))

// ---- warp shuffles and votes -------------------------------------------------------------------
namespace cudasim {
template <class T> static __forceinline__ unsigned long long to_bits(T v) {
  unsigned long long b = 0;
  memcpy(&b, &v, sizeof(T));
  return b;
}
template <class T> static __forceinline__ T from_bits(unsigned long long b) {
  T v;
  memcpy(&v, &b, sizeof(T));
  return v;
}
template <class T>
static __forceinline__ T shfl(unsigned mask, T v, int mode, unsigned arg, int width, int clamp) {
  int c = ((32 - width) << 8) | clamp;
  return from_bits<T>(warp_collective(mask, W_SHFL, to_bits(v), mode, arg, c));
}
}  // namespace cudasim
#define CUDASIM_SHFL(T)                                                                          \
  static __forceinline__ T __shfl_sync(unsigned m, T v, int src, int w = 32) {                   \
    return ::cudasim::shfl<T>(m, v, ::cudasim::SH_IDX, (unsigned)src, w, 0x1f); }                \
  static __forceinline__ T __shfl_up_sync(unsigned m, T v, unsigned d, int w = 32) {             \
    return ::cudasim::shfl<T>(m, v, ::cudasim::SH_UP, d, w, 0); }                                \
  static __forceinline__ T __shfl_down_sync(unsigned m, T v, unsigned d, int w = 32) {           \
    return ::cudasim::shfl<T>(m, v, ::cudasim::SH_DOWN, d, w, 0x1f); }                           \
  static __forceinline__ T __shfl_xor_sync(unsigned m, T v, int lm, int w = 32) {                \
    return ::cudasim::shfl<T>(m, v, ::cudasim::SH_XOR, (unsigned)lm, w, 0x1f); }                 \
  static __forceinline__ unsigned __match_any_sync(unsigned m, T v) {                            \
    return (unsigned)::cudasim::warp_collective(m, ::cudasim::W_MATCH, ::cudasim::to_bits(v)); }
CUDASIM_SHFL(int) CUDASIM_SHFL(unsigned int) CUDASIM_SHFL(long) CUDASIM_SHFL(unsigned long)
CUDASIM_SHFL(long long) CUDASIM_SHFL(unsigned long long) CUDASIM_SHFL(float) CUDASIM_SHFL(double)
#undef CUDASIM_SHFL
static __forceinline__ unsigned __ballot_sync(unsigned m, int p) {
  return (unsigned)::cudasim::warp_collective(m, ::cudasim::W_BALLOT, p != 0);
}
static __forceinline__ int __any_sync(unsigned m, int p) {
  return (int)::cudasim::warp_collective(m, ::cudasim::W_ANY, p != 0);
}
static __forceinline__ int __all_sync(unsigned m, int p) {
  return (int)::cudasim::warp_collective(m, ::cudasim::W_ALL, p != 0);
}
static __forceinline__ unsigned __reduce_add_sync(unsigned m, unsigned v) {
  return (unsigned)::cudasim::warp_collective(m, ::cudasim::W_RADD, v);
}
static __forceinline__ int __reduce_add_sync(unsigned m, int v) {
  return (int)::cudasim::warp_collective(m, ::cudasim::W_RADD, (unsigned)v);
}
static __forceinline__ unsigned __reduce_min_sync(unsigned m, unsigned v) {
  return (unsigned)::cudasim::warp_collective(m, ::cudasim::W_RMIN, v, 0, 0, 0, 0);
}
static __forceinline__ int __reduce_min_sync(unsigned m, int v) {
  return (int)::cudasim::warp_collective(m, ::cudasim::W_RMIN, (unsigned)v, 0, 0, 0, 1);
}
static __forceinline__ unsigned __reduce_max_sync(unsigned m, unsigned v) {
  return (unsigned)::cudasim::warp_collective(m, ::cudasim::W_RMAX, v, 0, 0, 0, 0);
}
static __forceinline__ int __reduce_max_sync(unsigned m, int v) {
  return (int)::cudasim::warp_collective(m, ::cudasim::W_RMAX, (unsigned)v, 0, 0, 0, 1);
}
static __forceinline__ unsigned __reduce_and_sync(unsigned m, unsigned v) {
  return (unsigned)::cudasim::warp_collective(m, ::cudasim::W_RAND, v);
}
static __forceinline__ unsigned __reduce_or_sync(unsigned m, unsigned v) {
  return (unsigned)::cudasim::warp_collective(m, ::cudasim::W_ROR, v);
}
static __forceinline__ unsigned __reduce_xor_sync(unsigned m, unsigned v) {
  return (unsigned)::cudasim::warp_collective(m, ::cudasim::W_RXOR, v);
}

// ---- atomics (CUDA's overload set, no more: code that compiles here compiles with nvcc) --------
// Fibers switch only at barriers and collectives, never inside an atomic, but the __atomic
// builtins keep them right should blocks ever run on several OS threads.
#define CUDASIM_RLX __ATOMIC_RELAXED
#define CUDASIM_ATOMIC_INT(T)                                                                     \
  static __forceinline__ T atomicAdd(T* a, T v) { return __atomic_fetch_add(a, v, CUDASIM_RLX); } \
  static __forceinline__ T atomicExch(T* a, T v) {                                                \
    return __atomic_exchange_n(a, v, CUDASIM_RLX); }                                              \
  static __forceinline__ T atomicAnd(T* a, T v) { return __atomic_fetch_and(a, v, CUDASIM_RLX); } \
  static __forceinline__ T atomicOr(T* a, T v) { return __atomic_fetch_or(a, v, CUDASIM_RLX); }   \
  static __forceinline__ T atomicXor(T* a, T v) { return __atomic_fetch_xor(a, v, CUDASIM_RLX); } \
  static __forceinline__ T atomicCAS(T* a, T cmp, T v) {                                          \
    __atomic_compare_exchange_n(a, &cmp, v, false, CUDASIM_RLX, CUDASIM_RLX); return cmp; }
#define CUDASIM_ATOMIC_MINMAX(T)                                                                  \
  static __forceinline__ T atomicMin(T* a, T v) {                                                 \
    T o = __atomic_load_n(a, CUDASIM_RLX);                                                        \
    while (v < o && !__atomic_compare_exchange_n(a, &o, v, true, CUDASIM_RLX, CUDASIM_RLX)) {}    \
    return o; }                                                                                   \
  static __forceinline__ T atomicMax(T* a, T v) {                                                 \
    T o = __atomic_load_n(a, CUDASIM_RLX);                                                        \
    while (v > o && !__atomic_compare_exchange_n(a, &o, v, true, CUDASIM_RLX, CUDASIM_RLX)) {}    \
    return o; }
CUDASIM_ATOMIC_INT(int) CUDASIM_ATOMIC_INT(unsigned int) CUDASIM_ATOMIC_INT(unsigned long long)
CUDASIM_ATOMIC_MINMAX(int) CUDASIM_ATOMIC_MINMAX(unsigned int) CUDASIM_ATOMIC_MINMAX(long long)
CUDASIM_ATOMIC_MINMAX(unsigned long long)
#undef CUDASIM_ATOMIC_INT
#undef CUDASIM_ATOMIC_MINMAX
static __forceinline__ int atomicSub(int* a, int v) {
  return __atomic_fetch_sub(a, v, __ATOMIC_RELAXED);
}
static __forceinline__ unsigned atomicSub(unsigned* a, unsigned v) {
  return __atomic_fetch_sub(a, v, __ATOMIC_RELAXED);
}
static __forceinline__ unsigned short atomicCAS(unsigned short* a, unsigned short cmp,
                                                unsigned short v) {
  __atomic_compare_exchange_n(a, &cmp, v, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
  return cmp;
}
static __forceinline__ unsigned atomicInc(unsigned* a, unsigned lim) {
  unsigned o = *a;
  *a = (o >= lim) ? 0 : o + 1;
  return o;
}
static __forceinline__ unsigned atomicDec(unsigned* a, unsigned lim) {
  unsigned o = *a;
  *a = (o == 0 || o > lim) ? lim : o - 1;
  return o;
}
#define CUDASIM_ATOMIC_FLOAT(T, U)                                                                \
  static __forceinline__ T atomicAdd(T* a, T v) {                                                 \
    U* p = (U*)a; U o = __atomic_load_n(p, __ATOMIC_RELAXED), n;                                  \
    do { T f; memcpy(&f, &o, sizeof f); f += v; memcpy(&n, &f, sizeof n); }                       \
    while (!__atomic_compare_exchange_n(p, &o, n, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED));     \
    T r; memcpy(&r, &o, sizeof r); return r; }                                                    \
  static __forceinline__ T atomicExch(T* a, T v) {                                                \
    U n; memcpy(&n, &v, sizeof n); U o = __atomic_exchange_n((U*)a, n, __ATOMIC_RELAXED);         \
    T r; memcpy(&r, &o, sizeof r); return r; }
CUDASIM_ATOMIC_FLOAT(float, unsigned int) CUDASIM_ATOMIC_FLOAT(double, unsigned long long)
#undef CUDASIM_ATOMIC_FLOAT

// ---- device math -------------------------------------------------------------------------------
// <math.h> already gives expf logf sqrtf tanhf fabsf fmaxf fminf powf log1pf expm1f erff floorf
// ceilf rintf ... and the double versions; add CUDA's extras and intrinsics.
static __forceinline__ float rsqrtf(float x) { return 1.0f / sqrtf(x); }
static __forceinline__ double rsqrt(double x) { return 1.0 / sqrt(x); }
static __forceinline__ float rcbrtf(float x) { return 1.0f / cbrtf(x); }
static __forceinline__ double rcbrt(double x) { return 1.0 / cbrt(x); }
// (glibc declares its own __expf & co, so these are macros rather than functions)
#define __expf(x) expf(x)
#define __exp10f(x) powf(10.0f, (x))
#define __logf(x) logf(x)
#define __log2f(x) log2f(x)
#define __log10f(x) log10f(x)
#define __sinf(x) sinf(x)
#define __cosf(x) cosf(x)
#define __tanf(x) tanf(x)
#define __powf(x, y) powf((x), (y))
static __forceinline__ float __fdividef(float x, float y) { return x / y; }
static __forceinline__ float fdividef(float x, float y) { return x / y; }
static __forceinline__ float __frcp_rn(float x) { return 1.0f / x; }
static __forceinline__ float __fsqrt_rn(float x) { return sqrtf(x); }
static __forceinline__ float __frsqrt_rn(float x) { return 1.0f / sqrtf(x); }
static __forceinline__ float __fadd_rn(float a, float b) { return a + b; }
static __forceinline__ float __fsub_rn(float a, float b) { return a - b; }
static __forceinline__ float __fmul_rn(float a, float b) { return a * b; }
static __forceinline__ float __fdiv_rn(float a, float b) { return a / b; }
static __forceinline__ float __fmaf_rn(float a, float b, float c) { return fmaf(a, b, c); }
static __forceinline__ double __dadd_rn(double a, double b) { return a + b; }
static __forceinline__ double __dmul_rn(double a, double b) { return a * b; }
static __forceinline__ double __fma_rn(double a, double b, double c) { return fma(a, b, c); }
static __forceinline__ float __saturatef(float x) {
  return x < 0.0f ? 0.0f : (x > 1.0f ? 1.0f : (x != x ? 0.0f : x));
}
static __forceinline__ float normcdff(float x) { return 0.5f * erfcf(-x * 0.70710678118654752f); }
static __forceinline__ double normcdf(double x) { return 0.5 * erfc(-x * 0.70710678118654752); }
static __forceinline__ float sinpif(float x) { return sinf(3.14159265358979323846f * x); }
static __forceinline__ float cospif(float x) { return cosf(3.14159265358979323846f * x); }
static __forceinline__ double sinpi(double x) { return sin(3.14159265358979323846 * x); }
static __forceinline__ double cospi(double x) { return cos(3.14159265358979323846 * x); }

static __forceinline__ int __float_as_int(float x) { int r; memcpy(&r, &x, 4); return r; }
static __forceinline__ unsigned __float_as_uint(float x) {
  unsigned r; memcpy(&r, &x, 4); return r;
}
static __forceinline__ float __int_as_float(int x) { float r; memcpy(&r, &x, 4); return r; }
static __forceinline__ float __uint_as_float(unsigned x) { float r; memcpy(&r, &x, 4); return r; }
static __forceinline__ long long __double_as_longlong(double x) {
  long long r; memcpy(&r, &x, 8); return r;
}
static __forceinline__ double __longlong_as_double(long long x) {
  double r; memcpy(&r, &x, 8); return r;
}
static __forceinline__ int __double2hiint(double x) { return (int)(__double_as_longlong(x) >> 32); }
static __forceinline__ int __double2loint(double x) { return (int)__double_as_longlong(x); }
static __forceinline__ double __hiloint2double(int hi, int lo) {
  return __longlong_as_double((long long)(((unsigned long long)(unsigned)hi << 32) | (unsigned)lo));
}
static __forceinline__ int __float2int_rn(float x) { return (int)rintf(x); }
static __forceinline__ int __float2int_rz(float x) { return (int)x; }
static __forceinline__ int __float2int_rd(float x) { return (int)floorf(x); }
static __forceinline__ int __float2int_ru(float x) { return (int)ceilf(x); }
static __forceinline__ long long __float2ll_rn(float x) { return (long long)rintf(x); }
static __forceinline__ long long __double2ll_rn(double x) { return (long long)rint(x); }
static __forceinline__ int __double2int_rn(double x) { return (int)rint(x); }
static __forceinline__ float __int2float_rn(int x) { return (float)x; }
static __forceinline__ float __ll2float_rn(long long x) { return (float)x; }
static __forceinline__ double __ll2double_rn(long long x) { return (double)x; }
static __forceinline__ float __double2float_rn(double x) { return (float)x; }

static __forceinline__ int __popc(unsigned x) { return __builtin_popcount(x); }
static __forceinline__ int __popcll(unsigned long long x) { return __builtin_popcountll(x); }
static __forceinline__ int __clz(int x) { return x ? __builtin_clz((unsigned)x) : 32; }
static __forceinline__ int __clzll(long long x) {
  return x ? __builtin_clzll((unsigned long long)x) : 64;
}
static __forceinline__ int __ffs(int x) { return __builtin_ffs(x); }
static __forceinline__ int __ffsll(long long x) { return __builtin_ffsll(x); }
static __forceinline__ unsigned __brev(unsigned x) {
  x = ((x >> 1) & 0x55555555u) | ((x & 0x55555555u) << 1);
  x = ((x >> 2) & 0x33333333u) | ((x & 0x33333333u) << 2);
  x = ((x >> 4) & 0x0f0f0f0fu) | ((x & 0x0f0f0f0fu) << 4);
  return __builtin_bswap32(x);
}
static __forceinline__ unsigned long long __brevll(unsigned long long x) {
  return ((unsigned long long)__brev((unsigned)x) << 32) | __brev((unsigned)(x >> 32));
}
static __forceinline__ int __mulhi(int a, int b) { return (int)(((long long)a * b) >> 32); }
static __forceinline__ unsigned __umulhi(unsigned a, unsigned b) {
  return (unsigned)(((unsigned long long)a * b) >> 32);
}
static __forceinline__ long long __mul64hi(long long a, long long b) {
  return (long long)(((__int128)a * b) >> 64);
}
static __forceinline__ unsigned long long __umul64hi(unsigned long long a, unsigned long long b) {
  return (unsigned long long)(((unsigned __int128)a * b) >> 64);
}
static __forceinline__ int __mul24(int a, int b) {
  return (int)((long long)((a << 8) >> 8) * ((b << 8) >> 8));
}

// __ldg: a read through the read-only cache is just a read here
template <class T> static __forceinline__ T __ldg(const T* p) { return *p; }

// min / max: CUDA's overloads (same-type, plus the mixed int/unsigned and float/double ones)
#define CUDASIM_MINMAX(R, A, B) \
  static __forceinline__ R min(A a, B b) { return (R)a < (R)b ? (R)a : (R)b; } \
  static __forceinline__ R max(A a, B b) { return (R)a > (R)b ? (R)a : (R)b; }
CUDASIM_MINMAX(int, int, int) CUDASIM_MINMAX(unsigned, unsigned, unsigned)
CUDASIM_MINMAX(unsigned, int, unsigned) CUDASIM_MINMAX(unsigned, unsigned, int)
CUDASIM_MINMAX(long, long, long) CUDASIM_MINMAX(unsigned long, unsigned long, unsigned long)
CUDASIM_MINMAX(long long, long long, long long)
CUDASIM_MINMAX(unsigned long long, unsigned long long, unsigned long long)
CUDASIM_MINMAX(unsigned long long, long long, unsigned long long)
CUDASIM_MINMAX(unsigned long long, unsigned long long, long long)
#undef CUDASIM_MINMAX
static __forceinline__ float min(float a, float b) { return fminf(a, b); }
static __forceinline__ float max(float a, float b) { return fmaxf(a, b); }
static __forceinline__ double min(double a, double b) { return fmin(a, b); }
static __forceinline__ double max(double a, double b) { return fmax(a, b); }
static __forceinline__ double min(float a, double b) { return fmin(a, b); }
static __forceinline__ double max(float a, double b) { return fmax(a, b); }
static __forceinline__ double min(double a, float b) { return fmin(a, b); }
static __forceinline__ double max(double a, float b) { return fmax(a, b); }

// ---- 16-bit floats ------------------------------------------------------------------------------
// __half and __nv_bfloat16 with CUDA's conversion intrinsics, in headers named like CUDA's so
// that a kernel's `#include <cuda_fp16.h>` / `<cuda_bf16.h>` works under NVRTC and here.
#include "cuda_fp16.h"
#include "cuda_bf16.h"

// ---- Tensor Cores: nvcuda::wmma for one warp (see wmma.h; <mma.h> spells it for kernels) ----
#include "wmma.h"
