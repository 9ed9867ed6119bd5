// One warp, one 16x16x16 wmma product D = A @ B + C with every layout the shim supports:
// A row- or column-major (template), B row- or column-major, C loaded and D stored row- or
// column-major (runtime flags).  tests/test_mma.py compares it with NumPy.
#include <cuda_fp16.h>
#include <mma.h>
using namespace nvcuda;

template <typename LA, typename LB>
__global__ void wmma_one(const __half* a, const __half* b, const float* c, float* d,
                         int c_col, int d_col, float scale) {
    wmma::fragment<wmma::matrix_a, 16, 16, 16, __half, LA> fa;
    wmma::fragment<wmma::matrix_b, 16, 16, 16, __half, LB> fb;
    wmma::fragment<wmma::accumulator, 16, 16, 16, float> fc;
    wmma::load_matrix_sync(fa, a, 16);
    wmma::load_matrix_sync(fb, b, 16);
    wmma::load_matrix_sync(fc, c, 16, c_col ? wmma::mem_col_major : wmma::mem_row_major);
    wmma::mma_sync(fc, fa, fb, fc);
    for (int i = 0; i < fc.num_elements; ++i) fc.x[i] *= scale;   // elementwise: portable
    wmma::store_matrix_sync(d, fc, 16, d_col ? wmma::mem_col_major : wmma::mem_row_major);
}

// a fill_fragment / store only: every element written exactly once by the warp
extern "C" __global__ void wmma_fill(float* d, float v) {
    wmma::fragment<wmma::accumulator, 16, 16, 16, float> fc;
    wmma::fill_fragment(fc, v);
    wmma::store_matrix_sync(d, fc, 16, wmma::mem_row_major);
}
