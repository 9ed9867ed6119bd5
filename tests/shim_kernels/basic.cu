// basic.cu -- tiny kernels that exercise the runtime: 1-D elementwise, scalar types,
// templates and 2-D/3-D indexing.

// y[i] = a * x[i] + b, one thread per element, 64-bit index
extern "C" __global__ void axpb(float* y, const float* __restrict__ x, float a, float b,
                                long long n) {
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) y[i] = a * x[i] + b;
}

// each thread writes its global coordinates: out[z][y][x] = x + 1000*y + 1000000*z
extern "C" __global__ void coords3d(int* out, int nx, int ny, int nz) {
  unsigned x = blockIdx.x * blockDim.x + threadIdx.x;
  unsigned y = blockIdx.y * blockDim.y + threadIdx.y;
  unsigned z = blockIdx.z * blockDim.z + threadIdx.z;
  if (x < (unsigned)nx && y < (unsigned)ny && z < (unsigned)nz)
    out[((long long)z * ny + y) * nx + x] = (int)(x + 1000 * y + 1000000 * z);
}

// template instantiation: out[i] = in[i] * K  (T and K from the name expression)
template <typename T, int K, bool NEG>
__global__ void scale(T* out, const T* in, long long n) {
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] = NEG ? -(in[i] * (T)K) : in[i] * (T)K;
}

// scalar parameter types round trip
extern "C" __global__ void scalars(long long* o, long long a, unsigned long long b, double c,
                                   int d, unsigned int e, float f, bool g) {
  o[0] = a; o[1] = (long long)b; o[2] = (long long)(c * 4.0); o[3] = d; o[4] = (long long)e;
  o[5] = (long long)(f * 2.0f); o[6] = g ? 7 : -7;
}
