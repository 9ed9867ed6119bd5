// attention.cu -- fused scaled dot-product attention (FlashAttention-style), forward and backward
//
// What it computes
//   For every batch item b (batch and head dims flattened) with queries Q (L x E), keys
//   K (S x E), values V (S x Ev) and an optional additive mask M (L x S):
//       s_ij = scale * q_i . k_j + M_ij        (-inf where j > i when causal)
//       out_i = sum_j softmax_j(s_i) v_j,      lse_i = log sum_j exp(s_ij)
//   The backward recomputes p_ij = exp(s_ij - lse_i) from the saved lse, with
//   D_i = dO_i . out_i:   dp_ij = dO_i . v_j,  ds_ij = p_ij (dp_ij - D_i),
//       dQ_i = scale sum_j ds_ij k_j,  dK_j = scale sum_i ds_ij q_i,  dV_j = sum_i p_ij dO_i.
//
// How threads map to data
//   attn_fwd / attn_bwd_dq: a block of ATT_BQ = 64 threads owns a tile of 64 query rows,
//   one thread per row.  The block walks the keys ATT_BK = 32 at a time; the 64 threads
//   load each key tile (and then each value tile) into shared memory together, ATT_EC = 32
//   features at a time, so any E / Ev fits in 4-8 KB of shared memory.  Each thread keeps
//   its 32 scores of the current tile in registers.  attn_bwd_dkdv is the mirror image:
//   one thread per key row, walking tiles of 32 queries.  Grids are grid-stride loops over
//   (batch, tile) pairs.  Edge tiles load zeros and score -inf.
//
// The CUDA idea: shared-memory tiling + the online softmax
//   The L x S score matrix is never stored.  Each thread keeps a running max m and a
//   running sum l of exp(s - m); when a new tile raises the max to m', the old sum and
//   the partial output (kept in the output row itself) are rescaled by exp(m - m').
//   After the last tile out_i /= l and lse_i = m + log(l).  Memory traffic is O(L*E + S*E)
//   per tile row instead of O(L*S); the backward pays a recomputation of the scores
//   (cheap FLOPs) instead of storing the probabilities (expensive bytes).
//   Every thread writes only its own row, so there are no atomics; __syncthreads brackets
//   every shared tile (block-uniform loop bounds, so no thread skips a barrier).
//   A row whose every score is -inf gives l = 0: out is 0 (PyTorch's safe softmax).

#include "common.cuh"

#define ATT_BQ 64
#define ATT_BK 32
#define ATT_EC 32

template <typename T> __device__ __forceinline__ T att_ninf() { return Traits<T>::lowest(); }

// the tile of rows r0..r0+ATT_BK-1, features e0..e0+ATT_EC-1 of a (rows, cols) matrix
template <typename T>
__device__ __forceinline__ void att_load(T (*tile)[ATT_EC + 1], const T* x, i64 r0, i64 rows,
                                         i64 e0, i64 cols) {
    for (int t = threadIdx.x; t < ATT_BK * ATT_EC; t += ATT_BQ) {
        const int rr = t / ATT_EC, ee = t % ATT_EC;
        const i64 r = r0 + rr, e = e0 + ee;
        tile[rr][ee] = (r < rows && e < cols) ? x[r * cols + e] : T(0);
    }
}

// the scores of row `row` of `a` (its own row, from global memory) against the ATT_BK rows
// of `b` starting at c0: s[cc] = a_row . b_{c0+cc}  (block-wide: every thread must call it)
template <typename T>
__device__ __forceinline__ void att_dots(T* s, T (*tile)[ATT_EC + 1], const T* arow, bool valid,
                                         const T* b, i64 c0, i64 crows, i64 E) {
    for (int cc = 0; cc < ATT_BK; ++cc) s[cc] = T(0);
    for (i64 e0 = 0; e0 < E; e0 += ATT_EC) {
        __syncthreads();
        att_load(tile, b, c0, crows, e0, E);
        __syncthreads();
        if (valid) {
            const int ne = (int)((E - e0) < ATT_EC ? (E - e0) : ATT_EC);
            for (int ee = 0; ee < ne; ++ee) {
                const T av = arow[e0 + ee];
                for (int cc = 0; cc < ATT_BK; ++cc) s[cc] += av * tile[cc][ee];
            }
        }
    }
}

// scale and mask a score: query i, key j
template <typename T>
__device__ __forceinline__ T att_score(T dot, i64 i, i64 j, i64 L, i64 S, const T* mask,
                                       int has_mask, int causal, T scale) {
    if (i >= L || j >= S || (causal && j > i)) return att_ninf<T>();
    T x = dot * scale;
    if (has_mask) x += mask[i * S + j];
    return x;
}

template <typename T>
__global__ void attn_fwd(const T* __restrict__ q, const T* __restrict__ k,
                         const T* __restrict__ v, const T* __restrict__ mask, T* out, T* lse,
                         i64 B, i64 L, i64 S, i64 E, i64 Ev, i64 mask_bs, int has_mask,
                         int causal, T scale) {
    __shared__ T tile[ATT_BK][ATT_EC + 1];
    const i64 ntq = (L + ATT_BQ - 1) / ATT_BQ;
    for (i64 t = blockIdx.x; t < B * ntq; t += gridDim.x) {
        const i64 b = t / ntq, i0 = (t % ntq) * ATT_BQ, i = i0 + threadIdx.x;
        const i64 ilast = (i0 + ATT_BQ - 1 < L - 1) ? i0 + ATT_BQ - 1 : L - 1;
        const bool row = i < L;
        const T* qi = q + (b * L + (row ? i : 0)) * E;
        T* oi = out + (b * L + (row ? i : 0)) * Ev;
        const T* mb = mask + b * mask_bs;
        if (row) for (i64 e = 0; e < Ev; ++e) oi[e] = T(0);
        T m = att_ninf<T>(), l = T(0);
        T s[ATT_BK];
        for (i64 j0 = 0; j0 < S; j0 += ATT_BK) {
            if (causal && j0 > ilast) break;           // block-uniform
            att_dots(s, tile, qi, row, k + b * S * E, j0, S, E);
            T mt = att_ninf<T>();
            for (int jj = 0; jj < ATT_BK; ++jj) {
                s[jj] = att_score(s[jj], i, j0 + jj, L, S, mb, has_mask, causal, scale);
                mt = max_nan(mt, s[jj]);
            }
            const T mn = max_nan(m, mt);
            const T alpha = (mn == att_ninf<T>()) ? T(1) : m_exp(m - mn);
            T psum = T(0);
            for (int jj = 0; jj < ATT_BK; ++jj) {
                s[jj] = (s[jj] == att_ninf<T>()) ? T(0) : m_exp(s[jj] - mn);
                psum += s[jj];
            }
            l = l * alpha + psum;
            m = mn;
            for (i64 e0 = 0; e0 < Ev; e0 += ATT_EC) {
                __syncthreads();
                att_load(tile, v + b * S * Ev, j0, S, e0, Ev);
                __syncthreads();
                if (row) {
                    const int ne = (int)((Ev - e0) < ATT_EC ? (Ev - e0) : ATT_EC);
                    for (int ee = 0; ee < ne; ++ee) {
                        T acc = oi[e0 + ee] * alpha;
                        for (int jj = 0; jj < ATT_BK; ++jj) acc += s[jj] * tile[jj][ee];
                        oi[e0 + ee] = acc;
                    }
                }
            }
        }
        if (row) {
            const T inv = (l == T(0)) ? T(0) : T(1) / l;
            for (i64 e = 0; e < Ev; ++e) oi[e] = oi[e] * inv;
            lse[b * L + i] = m + m_log(l);
        }
        __syncthreads();
    }
}

// dQ, and D_i = dO_i . out_i for attn_bwd_dkdv
template <typename T>
__global__ void attn_bwd_dq(const T* __restrict__ q, const T* __restrict__ k,
                            const T* __restrict__ v, const T* __restrict__ mask,
                            const T* __restrict__ out, const T* __restrict__ lse,
                            const T* __restrict__ g, T* dq, T* Dbuf, i64 B, i64 L, i64 S,
                            i64 E, i64 Ev, i64 mask_bs, int has_mask, int causal, T scale) {
    __shared__ T tile[ATT_BK][ATT_EC + 1];
    const i64 ntq = (L + ATT_BQ - 1) / ATT_BQ;
    for (i64 t = blockIdx.x; t < B * ntq; t += gridDim.x) {
        const i64 b = t / ntq, i0 = (t % ntq) * ATT_BQ, i = i0 + threadIdx.x;
        const i64 ilast = (i0 + ATT_BQ - 1 < L - 1) ? i0 + ATT_BQ - 1 : L - 1;
        const bool row = i < L;
        const i64 r = b * L + (row ? i : 0);
        const T* qi = q + r * E;
        const T* gi = g + r * Ev;
        T* dqi = dq + r * E;
        const T* mb = mask + b * mask_bs;
        T D = T(0), li = T(0);
        if (row) {
            for (i64 e = 0; e < Ev; ++e) D += gi[e] * out[r * Ev + e];
            Dbuf[r] = D;
            li = lse[r];
            for (i64 e = 0; e < E; ++e) dqi[e] = T(0);
        }
        T s[ATT_BK], dp[ATT_BK];
        for (i64 j0 = 0; j0 < S; j0 += ATT_BK) {
            if (causal && j0 > ilast) break;
            att_dots(s, tile, qi, row, k + b * S * E, j0, S, E);
            att_dots(dp, tile, gi, row, v + b * S * Ev, j0, S, Ev);
            for (int jj = 0; jj < ATT_BK; ++jj) {
                const T x = att_score(s[jj], i, j0 + jj, L, S, mb, has_mask, causal, scale);
                const T p = (x == att_ninf<T>()) ? T(0) : m_exp(x - li);
                s[jj] = p * (dp[jj] - D) * scale;
            }
            for (i64 e0 = 0; e0 < E; e0 += ATT_EC) {
                __syncthreads();
                att_load(tile, k + b * S * E, j0, S, e0, E);
                __syncthreads();
                if (row) {
                    const int ne = (int)((E - e0) < ATT_EC ? (E - e0) : ATT_EC);
                    for (int ee = 0; ee < ne; ++ee) {
                        T acc = dqi[e0 + ee];
                        for (int jj = 0; jj < ATT_BK; ++jj) acc += s[jj] * tile[jj][ee];
                        dqi[e0 + ee] = acc;
                    }
                }
            }
        }
        __syncthreads();
    }
}

// dK and dV: one thread per key row, walking tiles of ATT_BK queries
template <typename T>
__global__ void attn_bwd_dkdv(const T* __restrict__ q, const T* __restrict__ k,
                              const T* __restrict__ v, const T* __restrict__ mask,
                              const T* __restrict__ lse, const T* __restrict__ g,
                              const T* __restrict__ Dbuf, T* dk, T* dv, i64 B, i64 L, i64 S,
                              i64 E, i64 Ev, i64 mask_bs, int has_mask, int causal, T scale) {
    __shared__ T tile[ATT_BK][ATT_EC + 1];
    const i64 ntk = (S + ATT_BQ - 1) / ATT_BQ;
    for (i64 t = blockIdx.x; t < B * ntk; t += gridDim.x) {
        const i64 b = t / ntk, j0 = (t % ntk) * ATT_BQ, j = j0 + threadIdx.x;
        const bool col = j < S;
        const i64 c = b * S + (col ? j : 0);
        const T* kj = k + c * E;
        const T* vj = v + c * Ev;
        T* dkj = dk + c * E;
        T* dvj = dv + c * Ev;
        const T* mb = mask + b * mask_bs;
        if (col) {
            for (i64 e = 0; e < E; ++e) dkj[e] = T(0);
            for (i64 e = 0; e < Ev; ++e) dvj[e] = T(0);
        }
        T p[ATT_BK], dp[ATT_BK];
        for (i64 i0 = 0; i0 < L; i0 += ATT_BK) {
            if (causal && i0 + ATT_BK - 1 < j0) continue;   // every query of the tile is before every key
            att_dots(p, tile, kj, col, q + b * L * E, i0, L, E);
            att_dots(dp, tile, vj, col, g + b * L * Ev, i0, L, Ev);
            for (int ii = 0; ii < ATT_BK; ++ii) {
                const i64 i = i0 + ii;
                const T x = att_score(p[ii], i, j, L, S, mb, has_mask, causal, scale);
                const T pi = (x == att_ninf<T>()) ? T(0) : m_exp(x - lse[b * L + i]);
                p[ii] = pi;
                dp[ii] = (x == att_ninf<T>()) ? T(0) : pi * (dp[ii] - Dbuf[b * L + i]) * scale;
            }
            for (i64 e0 = 0; e0 < Ev; e0 += ATT_EC) {     // dV_j += sum_i p_ij dO_i
                __syncthreads();
                att_load(tile, g + b * L * Ev, i0, L, e0, Ev);
                __syncthreads();
                if (col) {
                    const int ne = (int)((Ev - e0) < ATT_EC ? (Ev - e0) : ATT_EC);
                    for (int ee = 0; ee < ne; ++ee) {
                        T acc = dvj[e0 + ee];
                        for (int ii = 0; ii < ATT_BK; ++ii) acc += p[ii] * tile[ii][ee];
                        dvj[e0 + ee] = acc;
                    }
                }
            }
            for (i64 e0 = 0; e0 < E; e0 += ATT_EC) {      // dK_j += scale sum_i ds_ij q_i
                __syncthreads();
                att_load(tile, q + b * L * E, i0, L, e0, E);
                __syncthreads();
                if (col) {
                    const int ne = (int)((E - e0) < ATT_EC ? (E - e0) : ATT_EC);
                    for (int ee = 0; ee < ne; ++ee) {
                        T acc = dkj[e0 + ee];
                        for (int ii = 0; ii < ATT_BK; ++ii) acc += dp[ii] * tile[ii][ee];
                        dkj[e0 + ee] = acc;
                    }
                }
            }
        }
        __syncthreads();
    }
}
