// gelu.cu -- the GELU activation and its derivative, elementwise, in one pass each
//
// What it computes (PyTorch's formulas, aten/src/ATen/native/cuda/ActivationGeluKernel.cu)
//   exact  (TANH = false)   y  = x * Phi(x),   Phi(x) = (1 + erf(x / sqrt 2)) / 2
//                           dx = g * (Phi(x) + x * exp(-x^2 / 2) / sqrt(2 pi))
//   tanh   (TANH = true)    u  = sqrt(2/pi) * (x + 0.044715 x^3),  t = tanh(u)
//                           y  = x * (1 + t) / 2
//                           dx = g * ((1 + t) / 2 + x/2 * (1 - t^2) * sqrt(2/pi) *
//                                     (1 + 3 * 0.044715 x^2))
//   Composed from elementwise ops, the exact GELU is a chain of 5 kernels (and erf, which
//   has no primitive, far more); fused it is one read of x and one write of y, and the
//   backward one read of x and g: the temporaries never reach memory.
//
// How threads map to data: a flat grid-stride loop, one element per thread per step
// (consecutive threads, consecutive addresses: coalesced).
//
// CUDA ideas shown: kernel fusion of an elementwise chain, a compile-time template flag
// picking the formula (no branch in the loop), the CUDA math library's erf/tanh.

#include "common.cuh"

__device__ __forceinline__ float gl_erf(float x) { return erff(x); }
__device__ __forceinline__ double gl_erf(double x) { return erf(x); }

#define GL_SQRT1_2 0.70710678118654752440
#define GL_INV_SQRT_2PI 0.39894228040143267794
#define GL_BETA 0.79788456080286535588   // sqrt(2/pi)
#define GL_KAPPA 0.044715

template <typename T, bool TANH>
__global__ void gelu_fwd(const T* __restrict__ x, T* __restrict__ y, i64 n) {
    GRID_STRIDE_LOOP(i, n) {
        const T v = x[i];
        if (TANH) {
            const T u = T(GL_BETA) * (v + T(GL_KAPPA) * v * v * v);
            y[i] = T(0.5) * v * (T(1) + m_tanh(u));
        } else {
            y[i] = v * T(0.5) * (T(1) + gl_erf(v * T(GL_SQRT1_2)));
        }
    }
}

template <typename T, bool TANH>
__global__ void gelu_bwd(const T* __restrict__ g, const T* __restrict__ x,
                         T* __restrict__ dx, i64 n) {
    GRID_STRIDE_LOOP(i, n) {
        const T v = x[i];
        if (TANH) {
            const T v2 = v * v;
            const T t = m_tanh(T(GL_BETA) * (v + T(GL_KAPPA) * v2 * v));
            const T left = T(0.5) * (T(1) + t);
            const T right = T(0.5) * v * (T(1) - t * t) * T(GL_BETA) *
                            (T(1) + T(3 * GL_KAPPA) * v2);
            dx[i] = g[i] * (left + right);
        } else {
            const T cdf = T(0.5) * (T(1) + gl_erf(v * T(GL_SQRT1_2)));
            const T pdf = m_exp(T(-0.5) * v * v) * T(GL_INV_SQRT_2PI);
            dx[i] = g[i] * (cdf + v * pdf);
        }
    }
}
