// rnn.cu -- fused recurrent cells: the gates and new state of one LSTM / GRU time step
//
// What it computes (N rows = the batch, H hidden units, gate blocks of H columns in
// PyTorch's order; gi = x W_ih^T + b_ih, gh = h W_hh^T without its bias b):
//   lstm_cell_fwd   a = gi + (gh + b) split into i, f, g, o;
//                   act = [sig(i), sig(f), tanh(g), sig(o)]  (saved for the backward)
//                   c' = sig(f)*c + sig(i)*tanh(g),  h' = sig(o)*tanh(c')
//   lstm_cell_bwd   t = tanh(c'),  dct = dc + dh*o*(1-t^2)
//                   dgates = [dct*g*i(1-i), dct*c*f(1-f), dct*i*(1-g^2), dh*t*o(1-o)]
//                   dc_prev = dct*f
//   gru_cell_fwd    hh = gh + b split into r, z, n blocks;  r = sig(gi_r + hh_r),
//                   z = sig(gi_z + hh_z),  n = tanh(gi_n + r*hh_n),  h' = (h - n)*z + n
//                   ws = [r, z, n, hh_n]  (saved for the backward)
//   gru_cell_bwd    dn = dh(1-z)(1-n^2), dz = dh(h-n)z(1-z), dr = dn*hh_n*r(1-r)
//                   dgi = [dr, dz, dn],  dgh = [dr, dz, dn*r],  dh_direct = dh*z
//   The h W_hh^T products stay in matmul.cu: one GEMM per step for the whole batch.
//
// How threads map to data: one thread per (row n, hidden unit j), a grid-stride loop over
// N*H.  Thread (n, j) reads the 4 (or 3) gate values of unit j -- columns j, H+j, 2H+j,
// 3H+j of row n -- and writes every output of that unit.  Consecutive threads take
// consecutive j, so each of the 4 gate loads of a warp is one coalesced 128-byte segment.
//
// CUDA idea shown: kernel fusion across a gate layout.  Unfused, one LSTM step is ~15
// elementwise launches (chunk, 3 sigmoids, tanh, 5 products and sums), each reading and
// writing an (N, H) array in DRAM; fused it is one launch that reads gi, gh, c once and
// writes h', c' and the activations once, with everything in between in registers.  At
// these sizes (N*H of a few thousand) the step is launch-bound, so the win is the number
// of launches per step, ~15 -> 2 (GEMM + cell).  Inputs are C-contiguous (the host makes
// them so); 64-bit indices throughout.

#include "common.cuh"

template <typename T> __device__ __forceinline__ T rnn_sigmoid(T x) {
    return T(1) / (T(1) + m_exp(-x));
}

template <typename T>
__global__ void lstm_cell_fwd(const T* __restrict__ gi, const T* __restrict__ gh,
                              const T* __restrict__ b, int has_b, const T* __restrict__ c,
                              T* __restrict__ h_out, T* __restrict__ c_out,
                              T* __restrict__ act, i64 n, i64 hs) {
    GRID_STRIDE_LOOP(k, n * hs) {
        i64 j;
        const i64 row = divmod_index(k, hs, j);
        const i64 base = row * 4 * hs + j;
        T a[4];
        for (int q = 0; q < 4; ++q) {
            const i64 o = base + q * hs;
            T hh = gh[o];
            if (has_b) hh = hh + b[q * hs + j];
            a[q] = gi[o] + hh;
        }
        const T ig = rnn_sigmoid(a[0]), fg = rnn_sigmoid(a[1]);
        const T gg = m_tanh(a[2]), og = rnn_sigmoid(a[3]);
        act[base] = ig;
        act[base + hs] = fg;
        act[base + 2 * hs] = gg;
        act[base + 3 * hs] = og;
        const T c2 = fg * c[k] + ig * gg;
        c_out[k] = c2;
        h_out[k] = og * m_tanh(c2);
    }
}

template <typename T>
__global__ void lstm_cell_bwd(const T* __restrict__ act, const T* __restrict__ c,
                              const T* __restrict__ c_new, const T* __restrict__ dh,
                              const T* __restrict__ dc, int has_dc, T* __restrict__ dgates,
                              T* __restrict__ dc_prev, i64 n, i64 hs) {
    GRID_STRIDE_LOOP(k, n * hs) {
        i64 j;
        const i64 row = divmod_index(k, hs, j);
        const i64 base = row * 4 * hs + j;
        const T ig = act[base], fg = act[base + hs], gg = act[base + 2 * hs];
        const T og = act[base + 3 * hs];
        const T t = m_tanh(c_new[k]);
        const T g = dh[k];
        T dct = g * og * (T(1) - t * t);
        if (has_dc) dct = dct + dc[k];
        dgates[base] = dct * gg * ig * (T(1) - ig);
        dgates[base + hs] = dct * c[k] * fg * (T(1) - fg);
        dgates[base + 2 * hs] = dct * ig * (T(1) - gg * gg);
        dgates[base + 3 * hs] = g * t * og * (T(1) - og);
        dc_prev[k] = dct * fg;
    }
}

template <typename T>
__global__ void gru_cell_fwd(const T* __restrict__ gi, const T* __restrict__ gh,
                             const T* __restrict__ b, int has_b, const T* __restrict__ h,
                             T* __restrict__ h_out, T* __restrict__ ws, i64 n, i64 hs) {
    GRID_STRIDE_LOOP(k, n * hs) {
        i64 j;
        const i64 row = divmod_index(k, hs, j);
        const i64 base = row * 3 * hs + j;
        T hh[3];
        for (int q = 0; q < 3; ++q) {
            hh[q] = gh[base + q * hs];
            if (has_b) hh[q] = hh[q] + b[q * hs + j];
        }
        const T r = rnn_sigmoid(gi[base] + hh[0]);
        const T z = rnn_sigmoid(gi[base + hs] + hh[1]);
        const T nn = m_tanh(gi[base + 2 * hs] + r * hh[2]);
        const i64 w = row * 4 * hs + j;
        ws[w] = r;
        ws[w + hs] = z;
        ws[w + 2 * hs] = nn;
        ws[w + 3 * hs] = hh[2];
        h_out[k] = (h[k] - nn) * z + nn;
    }
}

template <typename T>
__global__ void gru_cell_bwd(const T* __restrict__ ws, const T* __restrict__ h,
                             const T* __restrict__ dh, T* __restrict__ dgi,
                             T* __restrict__ dgh, T* __restrict__ dhd, i64 n, i64 hs) {
    GRID_STRIDE_LOOP(k, n * hs) {
        i64 j;
        const i64 row = divmod_index(k, hs, j);
        const i64 w = row * 4 * hs + j;
        const T r = ws[w], z = ws[w + hs], nn = ws[w + 2 * hs], hn = ws[w + 3 * hs];
        const T g = dh[k];
        const T dn = g * (T(1) - z) * (T(1) - nn * nn);
        const T dz = g * (h[k] - nn) * z * (T(1) - z);
        const T dr = dn * hn * r * (T(1) - r);
        const i64 base = row * 3 * hs + j;
        dgi[base] = dr;
        dgi[base + hs] = dz;
        dgi[base + 2 * hs] = dn;
        dgh[base] = dr;
        dgh[base + hs] = dz;
        dgh[base + 2 * hs] = dn * r;
        dhd[k] = g * z;
    }
}
