// sync.cu -- kernels that only work when the simulator honours CUDA's synchronization rules:
// barriers, shared memory per block, warp shuffles and votes under divergence, atomics.

#define N 256

// Reverse each block's slice of `in` through shared memory.  Every thread reads an element
// another thread wrote, so the __syncthreads between the write and the read is essential.
extern "C" __global__ void reverse_sync(float* out, const float* in) {
  __shared__ float s[N];
  unsigned t = threadIdx.x, base = blockIdx.x * N;
  s[t] = in[base + t];
  __syncthreads();
  out[base + t] = s[N - 1 - t];
}

// The same kernel with the barrier forgotten: a race.
extern "C" __global__ void reverse_nosync(float* out, const float* in) {
  __shared__ float s[N];
  unsigned t = threadIdx.x, base = blockIdx.x * N;
  s[t] = in[base + t];
  out[base + t] = s[N - 1 - t];
}

// out[t] = in[t-1] through shared memory, barrier forgotten: threads running in index
// order would make this (wrongly) pass; the shuffled order must not.
extern "C" __global__ void shift_nosync(float* out, const float* in) {
  __shared__ float s[N];
  unsigned t = threadIdx.x;
  s[t] = in[t];
  out[t] = t ? s[t - 1] : 0.0f;
}

// Tree reduction in dynamic shared memory (blockDim.x a power of two): out[block] = sum.
// Accesses the buffer through a second declaration of another type in a device function,
// as real code does.
__device__ __forceinline__ double* dyn_as_double() {
  extern __shared__ unsigned char smem_raw[];
  return reinterpret_cast<double*>(smem_raw);
}
extern "C" __global__ void block_sum_dyn(double* out, const double* in, long long n) {
  extern __shared__ __align__(16) double sdata[];
  unsigned t = threadIdx.x;
  long long i = (long long)blockIdx.x * blockDim.x + t;
  sdata[t] = i < n ? in[i] : 0.0;
  __syncthreads();
  for (unsigned s = blockDim.x / 2; s > 0; s >>= 1) {
    if (t < s) sdata[t] += sdata[t + s];
    __syncthreads();
  }
  if (t == 0) out[blockIdx.x] = dyn_as_double()[0];
}

// Warp reduction with __shfl_down_sync: out[global warp] = sum of its 32 values.
extern "C" __global__ void warp_sum(float* out, const float* in) {
  unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
  float v = in[i];
  for (int off = 16; off > 0; off >>= 1) v += __shfl_down_sync(0xffffffffu, v, off);
  if ((threadIdx.x & 31) == 0) out[i / 32] = v;
}

// Shuffles and votes under divergence: even and odd lanes take different paths, each with
// a mask naming only its own half.  Per lane, out[lane*8 + k]:
//   0: even: value of lane^2 (xor within evens)      odd: value of lane-2 (shfl_up by 2)
//   1: __ballot_sync over its half of (value > 40)
//   2: __any_sync(half, lane == 7)   3: __all_sync(half, value >= 0)
//   4: __shfl_sync(half, v, 5) (broadcast from lane 5; an odd lane)
//   5: width-8 shfl_down by 1 among all lanes after __syncwarp()
//   6: __shfl_xor_sync(full, v, 16)
//   7: __match_any_sync(full, lane % 3)
extern "C" __global__ void divergent(int* out, const int* in) {
  unsigned lane = threadIdx.x & 31;
  int v = in[threadIdx.x];
  int* o = out + threadIdx.x * 8;
  if (lane % 2 == 0) {
    const unsigned m = 0x55555555u;
    o[0] = __shfl_xor_sync(m, v, 2);
    o[1] = (int)__ballot_sync(m, v > 40);
    o[2] = __any_sync(m, lane == 7);
    o[3] = __all_sync(m, v >= 0);
    o[4] = __shfl_sync(m, v, 5);
  } else {
    const unsigned m = 0xaaaaaaaau;
    o[0] = __shfl_up_sync(m, v, 2);
    o[1] = (int)__ballot_sync(m, v > 40);
    o[2] = __any_sync(m, lane == 7);
    o[3] = __all_sync(m, v >= 0);
    o[4] = __shfl_sync(m, v, 5);
  }
  __syncwarp();
  o[5] = __shfl_down_sync(0xffffffffu, v, 1, 8);
  o[6] = __shfl_xor_sync(0xffffffffu, v, 16);
  o[7] = (int)__match_any_sync(0xffffffffu, (int)(lane % 3));
}

// Atomics from every thread of the grid.
extern "C" __global__ void atomics(int* icount, unsigned long long* usum, float* fsum,
                                   double* dsum, int* imax, long long* lmin, int* cas_count,
                                   unsigned* hist, long long n) {
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  atomicAdd(icount, 1);
  atomicAdd(usum, (unsigned long long)i);
  atomicAdd(fsum, 0.5f);
  atomicAdd(dsum, (double)i);
  atomicMax(imax, (int)((i * 7919) % 100003));
  atomicMin(lmin, (long long)(1000000 - i));
  int old = *cas_count, assumed;
  do { assumed = old; old = atomicCAS(cas_count, assumed, assumed + 2); } while (old != assumed);
  atomicAdd(&hist[i % 10], 1u);
}

// Deadlock: half a warp waits at __syncthreads while the other half waits in __syncwarp
// for it.
extern "C" __global__ void deadlock(int* out) {
  if (threadIdx.x < 16) __syncthreads();
  else __syncwarp();
  out[threadIdx.x] = 1;
}

// Exited threads do not hold a barrier up (as on Volta and later).
extern "C" __global__ void early_exit(int* out, int n) {
  __shared__ int s[64];
  unsigned t = threadIdx.x;
  if ((int)t >= n) return;
  s[t] = (int)t * 10;
  __syncthreads();
  out[t] = s[(t + 1) % n];
}

extern "C" __global__ void asserting(int* out, int bad) {
  assert(threadIdx.x != (unsigned)bad);
  out[threadIdx.x] = 1;
}

// Counts lanes of the first warp with __syncthreads_count / __reduce_add_sync.
extern "C" __global__ void counts(int* out) {
  int c = __syncthreads_count(threadIdx.x % 3 == 0);
  int a = __syncthreads_and(threadIdx.x < 1000);
  int o = __syncthreads_or(threadIdx.x == 5);
  if (threadIdx.x < 32) {
    int r = __reduce_add_sync(0xffffffffu, (int)threadIdx.x);
    int mn = __reduce_min_sync(0xffffffffu, (int)threadIdx.x - 5);
    if (threadIdx.x == 0) { out[0] = c; out[1] = a; out[2] = o; out[3] = r; out[4] = mn; }
  }
}

// Writes one element past the end of `out` (for the AddressSanitizer test).
extern "C" __global__ void write_past_end(float* out, long long n) {
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i <= n) out[i] = 1.0f;  // <= : off by one
}
