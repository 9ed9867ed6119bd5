// optim.cu -- fused optimizer updates: SGD (momentum, Nesterov) and Adam / AdamW (AMSGrad)
//
// What it computes
//   sgd_update:  for every element, in one pass,
//       g = grad (negated if maximize);  g = p*wd + g;
//       b = g (first step) or b*momentum + g*(1-dampening);  g = nesterov ? b*momentum + g : b
//       p = p + g*(-lr)
//   adam_update: g as above (or p = p*(1 - lr*wd) for decoupled decay, i.e. AdamW);
//       m = lerp(m, g, 1-beta1);  v = v*beta2 + (g*(1-beta2))*g;  vmax = max(vmax, v)
//       p = p + (m*(-lr/bc1)) / (sqrt(v or vmax)/sqrt(bc2) + eps)
//   The hyper-parameters arrive already folded into scalars of the parameter's dtype (the
//   host computes 1-dampening, -lr, the bias corrections ... in double, as PyTorch does).
//
// How threads map to data: one thread per element, grid-stride loop.  An unfused update
// built from elementwise ops reads and writes p, grad and the state once *per operator*
// (Adam: ~15 array passes with temporaries); fused, every array is read once and written
// once: Adam moves 4-5 arrays x 4 bytes per parameter, SGD with momentum 3-4.  Memory-bound:
// expect ~ copy bandwidth.
//
// CUDA idea shown: kernel fusion, and floating-point reproducibility.  The kernels must
// give exactly the bits of the NumPy reference (backends/cpu.py), which rounds after every
// operation.  nvcc would otherwise contract a*b + c into one fused multiply-add (one
// rounding instead of two): the __fmul_rn / __fadd_rn / __fdiv_rn / __fsqrt_rn intrinsics
// are never contracted and round to nearest-even like NumPy.  (On the simulator the
// plain operators already round after each operation.)

#include "common.cuh"

// (cudasim.h defines __CUDA_ARCH__ as well, so that code written for it compiles; the shim's
// own __CUDASIM__ tells the two apart)
#if defined(__CUDA_ARCH__) && !defined(__CUDASIM__)
__device__ __forceinline__ float rn_add(float a, float b) { return __fadd_rn(a, b); }
__device__ __forceinline__ float rn_mul(float a, float b) { return __fmul_rn(a, b); }
__device__ __forceinline__ float rn_div(float a, float b) { return __fdiv_rn(a, b); }
__device__ __forceinline__ float rn_sqrt(float a) { return __fsqrt_rn(a); }
__device__ __forceinline__ double rn_add(double a, double b) { return __dadd_rn(a, b); }
__device__ __forceinline__ double rn_mul(double a, double b) { return __dmul_rn(a, b); }
__device__ __forceinline__ double rn_div(double a, double b) { return __ddiv_rn(a, b); }
__device__ __forceinline__ double rn_sqrt(double a) { return __dsqrt_rn(a); }
#else
template <typename T> __device__ __forceinline__ T rn_add(T a, T b) {
    volatile T r = a + b;  // volatile: a store, so the host compiler cannot fuse it into an FMA
    return r;
}
template <typename T> __device__ __forceinline__ T rn_mul(T a, T b) {
    volatile T r = a * b;
    return r;
}
template <typename T> __device__ __forceinline__ T rn_div(T a, T b) { return a / b; }
__device__ __forceinline__ float rn_sqrt(float a) { return sqrtf(a); }
__device__ __forceinline__ double rn_sqrt(double a) { return sqrt(a); }
#endif

// flags bits
#define SGD_MAXIMIZE 1
#define SGD_WEIGHT_DECAY 2
#define SGD_MOMENTUM 4
#define SGD_FIRST_STEP 8    // the momentum buffer is new: b = g
#define SGD_DAMPENING 16    // dampening != 0: b = b*momentum + g*(1-dampening)
#define SGD_NESTEROV 32

template <typename T>
__global__ void sgd_update(T* __restrict__ p, const T* __restrict__ grad, T* __restrict__ buf,
                           i64 n, int flags, T weight_decay, T momentum, T one_minus_damp,
                           T neg_lr) {
    GRID_STRIDE_LOOP(i, n) {
        T g = grad[i];
        if (flags & SGD_MAXIMIZE) g = -g;
        const T pv = p[i];
        if (flags & SGD_WEIGHT_DECAY) g = rn_add(rn_mul(pv, weight_decay), g);
        if (flags & SGD_MOMENTUM) {
            T b;
            if (flags & SGD_FIRST_STEP) {
                b = g;
            } else {
                b = rn_mul(buf[i], momentum);
                b = rn_add(b, (flags & SGD_DAMPENING) ? rn_mul(g, one_minus_damp) : g);
            }
            buf[i] = b;
            g = (flags & SGD_NESTEROV) ? rn_add(rn_mul(b, momentum), g) : b;
        }
        p[i] = rn_add(pv, rn_mul(g, neg_lr));
    }
}

#define ADAM_MAXIMIZE 1
#define ADAM_WEIGHT_DECAY 2   // L2: g = p*wd + g
#define ADAM_DECOUPLED 4      // AdamW: p = p*(1 - lr*wd)
#define ADAM_AMSGRAD 8
#define ADAM_LERP_SMALL 16    // |1-beta1| < 0.5: m = m + (g-m)*w, else m = (g-m)*(-(1-w)) + g

template <typename T>
__global__ void adam_update(T* __restrict__ p, const T* __restrict__ grad, T* __restrict__ m,
                            T* __restrict__ v, T* __restrict__ vmax, i64 n, int flags,
                            T weight_decay, T decay_factor, T lerp_w, T lerp_w_neg,
                            T beta2, T one_minus_beta2, T bc2_sqrt, T eps, T neg_step_size) {
    GRID_STRIDE_LOOP(i, n) {
        T g = grad[i];
        if (flags & ADAM_MAXIMIZE) g = -g;
        T pv = p[i];
        if (flags & ADAM_DECOUPLED) pv = rn_mul(pv, decay_factor);
        else if (flags & ADAM_WEIGHT_DECAY) g = rn_add(rn_mul(pv, weight_decay), g);
        // first moment: PyTorch's two-sided lerp
        T mv = m[i];
        T t = rn_add(g, -mv);
        if (flags & ADAM_LERP_SMALL) mv = rn_add(mv, rn_mul(t, lerp_w));
        else mv = rn_add(rn_mul(t, lerp_w_neg), g);
        m[i] = mv;
        // second moment
        T vv = rn_add(rn_mul(v[i], beta2), rn_mul(rn_mul(g, one_minus_beta2), g));
        v[i] = vv;
        if (flags & ADAM_AMSGRAD) {
            vv = max_nan(vmax[i], vv);
            vmax[i] = vv;
        }
        const T denom = rn_add(rn_div(rn_sqrt(vv), bc2_sqrt), eps);
        p[i] = rn_add(pv, rn_div(rn_mul(mv, neg_step_size), denom));
    }
}
