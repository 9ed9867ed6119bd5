// wmma.h (cudasim) -- nvcuda::wmma, the warp-level matrix-multiply API of Tensor Cores, for
// one warp on the CPU.  `#include <mma.h>` in a kernel finds kernels/cudasim/mma.h here
// (which includes this file) and CUDA's own header under NVRTC/nvcc.
//
// On a GPU a fragment is spread over the 32 lanes of a warp in an unspecified layout: each
// lane holds `num_elements` of the tile's values in `x[]`, and only code that treats x[]
// elementwise (scaling, conversion) is portable.  Here every lane holds the WHOLE tile
// (num_elements = rows * cols, row-major), which is one valid reading of "unspecified":
//   load_matrix_sync   each lane reads the full tile (row- or column-major, stride ldm);
//   mma_sync           each lane computes D = A @ B + C for the full tile, products of the
//                      16-bit inputs exact in float32 and summed in float32 in k order (the
//                      hardware's order is unspecified too);
//   store_matrix_sync  each lane writes its share (elements lane, lane + 32, ...), so the
//                      tile is complete only after the whole warp has stored it;
//   fill_fragment      sets every element.
// Each *_sync call begins with __syncwarp(): the simulator checks that all 32 lanes reach
// the same collective (a divergent wmma call fails loudly, as it is undefined on a GPU).
// Supported shapes: m16n16k16 with __half or __nv_bfloat16 inputs and float accumulators
// (the combinations kernels/mma.cu uses), plus the general template for other M/N/K.
#pragma once

namespace nvcuda {
namespace wmma {

struct matrix_a {};
struct matrix_b {};
struct accumulator {};
struct row_major {};
struct col_major {};
enum layout_t { mem_row_major, mem_col_major };

template <typename Use, int M, int N, int K> struct cudasim_dims;
template <int M, int N, int K> struct cudasim_dims<matrix_a, M, N, K> {
  static constexpr int rows = M, cols = K;
};
template <int M, int N, int K> struct cudasim_dims<matrix_b, M, N, K> {
  static constexpr int rows = K, cols = N;
};
template <int M, int N, int K> struct cudasim_dims<accumulator, M, N, K> {
  static constexpr int rows = M, cols = N;
};

static inline float cudasim_to_float(float x) { return x; }
static inline float cudasim_to_float(__half x) { return __half2float(x); }
static inline float cudasim_to_float(__nv_bfloat16 x) { return __bfloat162float(x); }
template <typename T> static inline T cudasim_from_float(float x);
template <> inline float cudasim_from_float<float>(float x) { return x; }
template <> inline __half cudasim_from_float<__half>(float x) { return __float2half_rn(x); }
template <> inline __nv_bfloat16 cudasim_from_float<__nv_bfloat16>(float x) {
  return __float2bfloat16_rn(x);
}

template <typename Use, int M, int N, int K, typename T, typename Layout = void>
struct fragment {
  static constexpr int rows = cudasim_dims<Use, M, N, K>::rows;
  static constexpr int cols = cudasim_dims<Use, M, N, K>::cols;
  static constexpr int num_elements = rows * cols;
  typedef T element_type;
  typedef T storage_element_type;
  T x[num_elements];  // the whole tile, row-major (see the header comment)
};

static inline void cudasim_warp_enter() { __syncwarp(); }
static inline unsigned cudasim_lane() { return ::cudasim::g_cur->lane; }

template <typename Use, int M, int N, int K, typename T, typename L, typename V>
static inline void fill_fragment(fragment<Use, M, N, K, T, L>& f, const V& v) {
  for (int i = 0; i < f.num_elements; ++i) f.x[i] = cudasim_from_float<T>((float)v);
}

// matrix_a / matrix_b: the layout is part of the fragment's type
template <typename Use, int M, int N, int K, typename T>
static inline void load_matrix_sync(fragment<Use, M, N, K, T, row_major>& f, const T* p,
                                    unsigned ldm) {
  cudasim_warp_enter();
  for (int r = 0; r < f.rows; ++r)
    for (int c = 0; c < f.cols; ++c) f.x[r * f.cols + c] = p[(long long)r * ldm + c];
}
template <typename Use, int M, int N, int K, typename T>
static inline void load_matrix_sync(fragment<Use, M, N, K, T, col_major>& f, const T* p,
                                    unsigned ldm) {
  cudasim_warp_enter();
  for (int r = 0; r < f.rows; ++r)
    for (int c = 0; c < f.cols; ++c) f.x[r * f.cols + c] = p[(long long)c * ldm + r];
}
// accumulator: the layout is an argument
template <int M, int N, int K, typename T>
static inline void load_matrix_sync(fragment<accumulator, M, N, K, T, void>& f, const T* p,
                                    unsigned ldm, layout_t layout) {
  cudasim_warp_enter();
  for (int r = 0; r < f.rows; ++r)
    for (int c = 0; c < f.cols; ++c)
      f.x[r * f.cols + c] = layout == mem_row_major ? p[(long long)r * ldm + c]
                                                    : p[(long long)c * ldm + r];
}

template <int M, int N, int K, typename T>
static inline void store_matrix_sync(T* p, const fragment<accumulator, M, N, K, T, void>& f,
                                     unsigned ldm, layout_t layout) {
  cudasim_warp_enter();
  for (int e = (int)cudasim_lane(); e < f.num_elements; e += 32) {
    const int r = e / f.cols, c = e % f.cols;
    if (layout == mem_row_major) p[(long long)r * ldm + c] = f.x[e];
    else p[(long long)c * ldm + r] = f.x[e];
  }
}

// D = A @ B + C (D may be C)
template <int M, int N, int K, typename Tab, typename La, typename Lb, typename Tc>
static inline void mma_sync(fragment<accumulator, M, N, K, Tc, void>& d,
                            const fragment<matrix_a, M, N, K, Tab, La>& a,
                            const fragment<matrix_b, M, N, K, Tab, Lb>& b,
                            const fragment<accumulator, M, N, K, Tc, void>& c) {
  cudasim_warp_enter();
  float out[M * N];
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < N; ++j) {
      float acc = cudasim_to_float(c.x[i * N + j]);
      for (int k = 0; k < K; ++k)
        acc += cudasim_to_float(a.x[i * K + k]) * cudasim_to_float(b.x[k * N + j]);
      out[i * N + j] = acc;
    }
  for (int e = 0; e < M * N; ++e) d.x[e] = cudasim_from_float<Tc>(out[e]);
}

}  // namespace wmma
}  // namespace nvcuda
