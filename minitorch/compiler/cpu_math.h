// cpu_math.h -- vectorizable float32 exp, tanh and sigmoid for the generated cpu kernels.
//
// Why: the generated loops are `#pragma omp simd` loops, but the C library's expf / tanhf
// are scalar calls (GCC vectorizes them only with -ffast-math, which would also change NaN
// and signed-zero handling everywhere).  These versions are straight-line code: every branch
// is a select, every helper inlines, so GCC turns one loop iteration into 8 lanes of AVX2.
//
// Accuracy (tests/test_fusion.py checks it against NumPy's float64 functions, rounded to
// float32, over a sweep of every 2^32/4M-th float bit pattern plus edge values -- +-0,
// +-inf, NaN, denormals, the overflow and underflow thresholds): within 3 ULP everywhere; NaN
// in gives NaN out, exp(-inf) = 0, exp(+inf) = inf, tanh(+-inf) = +-1, tanh(-0) = -0.
//
// How:
//   exp(x) = 2^n * e^r with n = round(x / ln 2) and r = x - n ln 2 (|r| <= ln2/2), computed
//     in two steps (ln 2 = hi + lo, hi with trailing zero bits so n*hi is exact: Cody and
//     Waite's reduction).  e^r = 1 + r + r^2 Q(r), Q a degree-4 polynomial fitted here (least
//     squares on Chebyshev nodes, relative error 4e-9 before float rounding).  n comes from
//     the "magic number" trick (adding 1.5 * 2^23 rounds to an integer in the low bits), and
//     2^n is built in the exponent field in two halves, so results in the denormal range
//     round once, and overflow gives inf.
//   tanh(x) = x (1 + x^2 P(x^2)) for |x| < 0.625 (P degree 4, fitted likewise, relative
//     error 5e-9), else sign(x) (1 - 2 / (e^(2|x|) + 1)); the second form loses no accuracy
//     there because the result is far from 0.
//   sigmoid(x) as elementwise.cu does it (exp of a non-positive argument only).
// These are specializations of elementwise.cu's unary_apply for float, so generated code
// still spells every op the way the eager kernels do.
#pragma once
#include <cstdint>
#include <cstring>

static inline float mt_as_float(uint32_t u) { float f; std::memcpy(&f, &u, 4); return f; }
static inline uint32_t mt_as_uint(float f) { uint32_t u; std::memcpy(&u, &f, 4); return u; }

static inline float mt_expf(float x) {
    // clamp so that n stays in [-150, 128]: below -104 the result rounds to 0, above 89 it
    // overflows to inf anyway (a NaN passes both comparisons unchanged)
    float xc = x < -104.0f ? -104.0f : x;
    xc = xc > 89.0f ? 89.0f : xc;
    const float magic = 12582912.0f;                    // 1.5 * 2^23
    const float t = xc * 1.44269504f + magic;           // round(x / ln 2) in the low bits
    const float n = t - magic;
    const int32_t ni = (int32_t)(mt_as_uint(t) - mt_as_uint(magic));
    float r = xc - n * 0.693145751953125f;              // ln 2, high part (exact product)
    r = r - n * 1.42860682e-6f;                         // ln 2, low part
    float q = 0.00137514074f;
    q = q * r + 0.00836891588f;
    q = q * r + 0.0416695327f;
    q = q * r + 0.166665182f;
    q = q * r + 0.499999881f;
    const float p = 1.0f + r + (r * r) * q;
    // 2^n = 2^n1 * 2^n2, each factor a normal float (n1, n2 in [-75, 64])
    const int32_t n1 = ni >> 1;
    const int32_t n2 = ni - n1;
    const float s1 = mt_as_float((uint32_t)(n1 + 127) << 23);
    const float s2 = mt_as_float((uint32_t)(n2 + 127) << 23);
    const float res = (p * s1) * s2;
    return x != x ? x : res;
}

static inline float mt_tanhf(float x) {
    const float a = __builtin_fabsf(x);
    const float x2 = a * a;
    float q = -0.00571896276f;
    q = q * x2 + 0.0206531249f;
    q = q * x2 - 0.0537446588f;
    q = q * x2 + 0.133315131f;
    q = q * x2 - 0.333332866f;
    const float small = a + a * (x2 * q);
    const float e = mt_expf(2.0f * (a < 20.0f ? a : 20.0f));   // tanh(20) is 1 in float
    const float big = 1.0f - 2.0f / (e + 1.0f);
    const float r = a < 0.625f ? small : big;
    return x != x ? x : __builtin_copysignf(r, x);
}

static inline float mt_sigmoidf(float x) {
    const float e = mt_expf(-__builtin_fabsf(x));
    const float pos = 1.0f / (1.0f + e);
    const float neg = e / (1.0f + e);
    return x >= 0.0f ? pos : neg;                        // NaN: e is NaN, so neg is NaN
}

template <> inline typename UnaryOut<UOP_EXP, float>::type unary_apply<UOP_EXP, float>(float x) {
    return mt_expf(x);
}
template <> inline typename UnaryOut<UOP_TANH, float>::type unary_apply<UOP_TANH, float>(float x) {
    return mt_tanhf(x);
}
template <> inline typename UnaryOut<UOP_SIGMOID, float>::type
unary_apply<UOP_SIGMOID, float>(float x) {
    return mt_sigmoidf(x);
}
