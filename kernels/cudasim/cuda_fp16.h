// cuda_fp16.h (cudasim) -- the IEEE binary16 type `__half` and its conversions, under the
// name CUDA gives them, so `#include <cuda_fp16.h>` in a kernel compiles both with NVRTC
// (CUDA's own header) and here (kernels/cudasim is on the include path).
//
// A `__half` is its 16 bits (sign, 5 exponent bits, 10 mantissa bits).  Kernels convert
// through float with the intrinsics (__half2float, __float2half_rn, __double2half) and
// compute in float, as PyTorch's CUDA kernels do ("opmath"); the constructor and `operator
// float` are there for code that relies on the implicit conversions CUDA provides.
// Every conversion to half rounds to nearest, ties to even, like the hardware's cvt.rn.
#pragma once
#include <math.h>
#include <string.h>

struct __half {
  unsigned short __x;
  __half() = default;
  inline __half(float f);
  inline operator float() const;
};
typedef __half half;
struct __half_raw { unsigned short x; };

namespace cudasim_fp {
static inline unsigned f_bits(float f) { unsigned u; memcpy(&u, &f, 4); return u; }
static inline float bits_f(unsigned u) { float f; memcpy(&f, &u, 4); return f; }

// float -> half bits, round to nearest even (overflow -> inf, NaN stays NaN, subnormals)
static inline unsigned short f2h(float f) {
  const unsigned x = f_bits(f);
  const unsigned short sign = (unsigned short)((x >> 16) & 0x8000u);
  const unsigned ax = x & 0x7fffffffu;
  if (ax > 0x7f800000u) return (unsigned short)(sign | 0x7e00u);   // NaN (quiet)
  if (ax >= 0x477ff000u) return (unsigned short)(sign | 0x7c00u);  // >= 65520: inf
  if (ax < 0x38800000u) {                                          // below 2^-14: subnormal
    // the subnormal unit is 2^-24: scale exactly, then rintf rounds half to even
    const unsigned m = (unsigned)rintf(bits_f(ax) * 16777216.0f);
    return (unsigned short)(sign | m);                             // m == 0x400 is 2^-14
  }
  unsigned h = ((((ax >> 23) - 127u + 15u)) << 10) | ((ax >> 13) & 0x3ffu);
  const unsigned rem = ax & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) ++h;          // a carry may bump the
  return (unsigned short)(sign | h);                               // exponent: still right
}

static inline float h2f(unsigned short h) {
  const unsigned sign = (unsigned)(h & 0x8000u) << 16;
  const unsigned e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
  if (e == 0) {
    const float f = (float)m * (1.0f / 16777216.0f);  // exact: m * 2^-24
    return sign ? -f : f;
  }
  if (e == 31) return bits_f(sign | 0x7f800000u | (m << 13));
  return bits_f(sign | ((e - 15u + 127u) << 23) | (m << 13));
}

// double -> float rounded to odd: a second rounding to a format at least 2 bits narrower
// is then correctly rounded (no double-rounding error), so double -> half/bfloat16 is exact
static inline float d2f_odd(double d) {
  float f = (float)d;
  if (d == d && (double)f != d && !(f_bits(f) & 1u) && fabsf(f) != INFINITY)
    f = nextafterf(f, (double)f < d ? INFINITY : -INFINITY);
  return f;
}
}  // namespace cudasim_fp

static inline __half __float2half_rn(float f) { __half h; h.__x = cudasim_fp::f2h(f); return h; }
static inline __half __float2half(float f) { return __float2half_rn(f); }
static inline __half __double2half(double d) { return __float2half_rn(cudasim_fp::d2f_odd(d)); }
static inline float __half2float(__half h) { return cudasim_fp::h2f(h.__x); }
static inline unsigned short __half_as_ushort(__half h) { return h.__x; }
static inline __half __ushort_as_half(unsigned short u) { __half h; h.__x = u; return h; }
inline __half::__half(float f) : __x(cudasim_fp::f2h(f)) {}
inline __half::operator float() const { return cudasim_fp::h2f(__x); }
