// Conversions between the f32 master copies and the activation type A.
//   out (n) A = in (n) f32;  out (n) f32 = in (n) bf16
#include "../common.cuh"
#include "../layers.cuh"

namespace causalgen::cuda {

template <class A>
__global__ void cast_kernel(A* out, const float* in, size_t n) {
  const size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
  if (i < n) out[i] = from_f32<A>(in[i]);
}
template <class A>
void cast_f32(A* out, const float* in, size_t n, cudaStream_t s) {
  cast_kernel<<<ceil_div(n, 256), 256, 0, s>>>(out, in, n);
  CG_LAUNCH_CHECK();
}
__global__ void to_f32_kernel(float* out, const __nv_bfloat16* in, size_t n) {
  const size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
  if (i < n) out[i] = __bfloat162float(in[i]);
}
void to_f32(float* out, const __nv_bfloat16* in, size_t n, cudaStream_t s) {
  to_f32_kernel<<<ceil_div(n, 256), 256, 0, s>>>(out, in, n);
  CG_LAUNCH_CHECK();
}

// Explicit instantiations for the two activation types.
#define CG_INSTANTIATE(A) template void cast_f32<A>(A*, const float*, size_t, cudaStream_t);

CG_INSTANTIATE(float)
CG_INSTANTIATE(__nv_bfloat16)
#undef CG_INSTANTIATE

}  // namespace causalgen::cuda
