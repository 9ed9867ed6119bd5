// broken.cu -- a kernel with a type error on line 4, for the compile-error test.

extern "C" __global__ void broken(float* out) {
  out[threadIdx.x] = undefined_variable;
}
