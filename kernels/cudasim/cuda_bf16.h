// cuda_bf16.h (cudasim) -- `__nv_bfloat16`, the top 16 bits of a float32 (8 exponent bits,
// 7 mantissa bits: float32's range, 3 significant digits), under CUDA's names, so
// `#include <cuda_bf16.h>` compiles with NVRTC and here.  Conversions round to nearest
// even (__float2bfloat16_rn); widening to float is exact (a 16-bit shift).
#pragma once
#include "cuda_fp16.h"

struct __nv_bfloat16 {
  unsigned short __x;
  __nv_bfloat16() = default;
  inline __nv_bfloat16(float f);
  inline operator float() const;
};
typedef __nv_bfloat16 nv_bfloat16;

namespace cudasim_fp {
static inline unsigned short f2bf(float f) {
  const unsigned x = f_bits(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return (unsigned short)((x >> 16) | 0x40u);  // NaN
  return (unsigned short)((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);  // ties to even; a carry
}                                                                    // past max gives inf
static inline float bf2f(unsigned short b) { return bits_f((unsigned)b << 16); }
}  // namespace cudasim_fp

static inline __nv_bfloat16 __float2bfloat16_rn(float f) {
  __nv_bfloat16 b; b.__x = cudasim_fp::f2bf(f); return b;
}
static inline __nv_bfloat16 __float2bfloat16(float f) { return __float2bfloat16_rn(f); }
static inline __nv_bfloat16 __double2bfloat16(double d) {
  return __float2bfloat16_rn(cudasim_fp::d2f_odd(d));
}
static inline float __bfloat162float(__nv_bfloat16 b) { return cudasim_fp::bf2f(b.__x); }
static inline unsigned short __bfloat16_as_ushort(__nv_bfloat16 b) { return b.__x; }
static inline __nv_bfloat16 __ushort_as_bfloat16(unsigned short u) {
  __nv_bfloat16 b; b.__x = u; return b;
}
inline __nv_bfloat16::__nv_bfloat16(float f) : __x(cudasim_fp::f2bf(f)) {}
inline __nv_bfloat16::operator float() const { return cudasim_fp::bf2f(__x); }
