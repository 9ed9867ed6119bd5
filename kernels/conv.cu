// conv.cu -- sliding windows: im2col, col2im and max_pool2d (values + argmax indices)
//
// What it computes (shapes as in backends/base.py; every array contiguous)
//   im2col:  x (N, C, H, W) -> cols (N, C*kh*kw, oh*ow);
//            cols[n, (c*kh + i)*kw + j, y*ow + x] = x[n, c, y*sh - ph + i*dh, x*sw - pw + j*dw]
//            (0 where that position lies in the padding).  A convolution is then one matmul.
//   col2im:  the adjoint: cols -> image, every column entry *added* back where it was read.
//   max_pool2d: max over each window -> (values, int64 flat index h*W + w of the first max).
//
// How threads map to data
//   im2col: one thread per element of cols (grid-stride loop over N*C*kh*kw*oh*ow).  The
//     flat index decomposes with the window position l = y*ow + x fastest, so consecutive
//     threads *write* consecutive addresses (coalesced stores) and read input pixels sw
//     apart (for stride 1: consecutive too).
//   col2im: one thread per *input* pixel (n, c, h, w).  The thread walks the kernel offsets
//     (i, j), keeps those for which (h + ph - i*dh) is a multiple of sh and the window row
//     y = (h + ph - i*dh) / sh lies in [0, oh) (and likewise for w), and sums those column
//     entries.  This is the "gather" form of a scatter-add: overlapping windows would make
//     a thread-per-column-entry kernel collide on the same pixel (needing atomicAdd, which
//     is slower under contention and makes float sums depend on timing); here each output
//     is owned by exactly one thread, so no atomics, and the sum order is fixed -- the
//     result is deterministic run to run.
//   max_pool2d: one thread per output (n, c, oy, ox), looping over its kh*kw window.
//
// CUDA ideas shown: scatter turned into gather (owner computes), coalesced stores, grid-
// stride loops with 64-bit flat indices (N*C*kh*kw*oh*ow passes 2^31 quickly: 64 images
// of 256 channels, 3x3 kernel, 64x64 outputs is 2.4e9).
//
// Performance: all three are memory-bound copies/reductions.  im2col writes kh*kw times the
// input's bytes; expect ~ copy bandwidth on the writes.  col2im reads that much and writes
// the image once.  (Implicit-GEMM convolution -- fusing im2col into the matmul's tile
// loads -- would avoid the cols buffer entirely; that is the next step, not done here.)

#include "common.cuh"

template <typename T>
__global__ void im2col_kernel(const T* __restrict__ x, T* __restrict__ cols, i64 N, i64 C,
                              i64 H, i64 W, int kh, int kw, int sh, int sw, int ph, int pw,
                              int dh, int dw, i64 oh, i64 ow) {
    const i64 L = oh * ow;
    const i64 total = N * C * kh * kw * L;
    GRID_STRIDE_LOOP(idx, total) {
        const i64 l = idx % L;
        const i64 row = (idx / L) % ((i64)C * kh * kw);
        const i64 n = idx / (L * C * kh * kw);
        const int j = (int)(row % kw), i = (int)((row / kw) % kh);
        const i64 c = row / ((i64)kh * kw);
        const i64 yy = (l / ow) * sh - ph + (i64)i * dh;
        const i64 xx = (l % ow) * sw - pw + (i64)j * dw;
        T v = T(0);
        if (yy >= 0 && yy < H && xx >= 0 && xx < W) v = x[((n * C + c) * H + yy) * W + xx];
        cols[idx] = v;
    }
}

template <typename T>
__global__ void col2im_kernel(const T* __restrict__ cols, T* __restrict__ x, i64 N, i64 C,
                              i64 H, i64 W, int kh, int kw, int sh, int sw, int ph, int pw,
                              int dh, int dw, i64 oh, i64 ow) {
    const i64 L = oh * ow;
    const i64 total = N * C * H * W;
    GRID_STRIDE_LOOP(idx, total) {
        const i64 w = idx % W, h = (idx / W) % H;
        const i64 nc = idx / (H * W);  // n * C + c
        const T* base = cols + nc * kh * kw * L;  // rows (c*kh + i)*kw + j of image n
        T acc = T(0);
        for (int i = 0; i < kh; ++i) {
            const i64 ty = h + ph - (i64)i * dh;  // = y * sh for the window row y, if any
            if (ty < 0 || ty % sh != 0) continue;
            const i64 y = ty / sh;
            if (y >= oh) continue;
            for (int j = 0; j < kw; ++j) {
                const i64 tx = w + pw - (i64)j * dw;
                if (tx < 0 || tx % sw != 0) continue;
                const i64 xw = tx / sw;
                if (xw >= ow) continue;
                acc += base[((i64)i * kw + j) * L + y * ow + xw];
            }
        }
        x[idx] = acc;
    }
}

// "greater, or NaN" replaces the running max: the first maximum wins, NaN propagates --
// the rule of PyTorch's kernel and of the NumPy reference.
template <typename T> __device__ __forceinline__ bool pool_takes(T v, T best) {
    return v > best || is_nan(v);
}

template <typename T>
__global__ void max_pool2d_kernel(const T* __restrict__ x, T* __restrict__ out,
                                  long long* __restrict__ indices, i64 N, i64 C, i64 H, i64 W,
                                  int kh, int kw, int sh, int sw, int ph, int pw, int dh,
                                  int dw, i64 oh, i64 ow, T low) {
    const i64 total = N * C * oh * ow;
    GRID_STRIDE_LOOP(idx, total) {
        const i64 ox = idx % ow, oy = (idx / ow) % oh;
        const i64 nc = idx / (oh * ow);
        const T* plane = x + nc * H * W;
        const i64 y0 = oy * sh - ph, x0 = ox * sw - pw;
        // Padding (and, with ceil_mode, the overhang past it) counts as `low` (-inf, or the
        // integer minimum): positions outside the image take part in the comparison like
        // the reference's padded copy, but are never reported.
        T best = low;
        i64 arg = -1;
        bool first = true;
        for (int i = 0; i < kh; ++i) {
            const i64 yy = y0 + (i64)i * dh;
            for (int j = 0; j < kw; ++j) {
                const i64 xx = x0 + (i64)j * dw;
                const bool inside = yy >= 0 && yy < H && xx >= 0 && xx < W;
                const T v = inside ? plane[yy * W + xx] : low;
                if (first || pool_takes(v, best)) {
                    best = v;
                    arg = inside ? yy * W + xx : -1;
                    first = false;
                }
            }
        }
        if (arg < 0) {
            // every real input equals `low` and a padding position came first: point at the
            // window's first real input, as PyTorch does
            i64 fy = y0, fx = x0;
            if (fy < 0) fy += ((-fy + dh - 1) / dh) * dh;
            if (fx < 0) fx += ((-fx + dw - 1) / dw) * dw;
            arg = fy * W + fx;
        }
        out[idx] = best;
        indices[idx] = arg;
    }
}
