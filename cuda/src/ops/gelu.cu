// Bias + GELU (tanh approximation) of the MLP's hidden layer, H = 4C.
//   forward:  pre (N,H) A = in + b (saved);  out (N,H) A = GELU(pre)
//   backward: dpre (N,H) A = dout * GELU'(pre);  db (H) = column sums of dpre
#include "../common.cuh"
#include "../layers.cuh"
#include "reduce.cuh"

namespace causalgen::cuda {

__device__ __forceinline__ float gelu_f(float x) {
  const float k = 0.7978845608f;
  return 0.5f * x * (1.0f + tanhf(k * (x + 0.044715f * x * x * x)));
}
__device__ __forceinline__ float gelu_grad(float x) {
  const float k = 0.7978845608f;
  const float u = k * (x + 0.044715f * x * x * x);
  const float t = tanhf(u);
  const float du = k * (1.0f + 3.0f * 0.044715f * x * x);
  return 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * du;
}

// Both GELU kernels move 16 bytes per access (8 bf16 or 4 floats): they are
// pure memory traffic over (N, 4C).
template <class A>
struct alignas(16) Pack {
  static constexpr int n = 16 / sizeof(A);
  A v[n];
};

template <class A>
__global__ void bias_gelu_forward_kernel(A* pre, A* out, const A* in, const float* b, int H,
                                         size_t packs) {
  using P = Pack<A>;
  const size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
  if (i >= packs) return;
  const P x = reinterpret_cast<const P*>(in)[i];
  const int c0 = static_cast<int>((i * P::n) % H);
  P pv, ov;
#pragma unroll
  for (int j = 0; j < P::n; ++j) {
    pv.v[j] = from_f32<A>(to_f32(x.v[j]) + (b ? b[c0 + j] : 0.0f));
    ov.v[j] = from_f32<A>(gelu_f(to_f32(pv.v[j])));
  }
  reinterpret_cast<P*>(pre)[i] = pv;
  reinterpret_cast<P*>(out)[i] = ov;
}

template <class A>
void bias_gelu_forward(A* pre, A* out, const A* in, const float* b, int N, int H,
                       cudaStream_t s) {
  if (H % Pack<A>::n != 0) throw std::runtime_error("GELU width must be a multiple of 8");
  const size_t packs = static_cast<size_t>(N) * H / Pack<A>::n;
  bias_gelu_forward_kernel<<<ceil_div(packs, 256), 256, 0, s>>>(pre, out, in, b, H, packs);
  CG_LAUNCH_CHECK();
}

template <class A>
__global__ void gelu_backward_kernel(A* dpre, const A* dout, const A* pre, size_t packs) {
  using P = Pack<A>;
  const size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
  if (i >= packs) return;
  const P d = reinterpret_cast<const P*>(dout)[i];
  const P x = reinterpret_cast<const P*>(pre)[i];
  P r;
#pragma unroll
  for (int j = 0; j < P::n; ++j) r.v[j] = from_f32<A>(to_f32(d.v[j]) * gelu_grad(to_f32(x.v[j])));
  reinterpret_cast<P*>(dpre)[i] = r;
}

template <class A>
void gelu_backward(A* dpre, float* db, const A* dout, const A* pre, float* partial, int N,
                   int H, cudaStream_t s) {
  if (H % Pack<A>::n != 0) throw std::runtime_error("GELU width must be a multiple of 8");
  const size_t packs = static_cast<size_t>(N) * H / Pack<A>::n;
  gelu_backward_kernel<<<ceil_div(packs, 256), 256, 0, s>>>(dpre, dout, pre, packs);
  CG_LAUNCH_CHECK();
  if (db) column_sum<1>(db, nullptr, partial, N, H, ReadAt<A>{dpre, H}, s);
}

// Explicit instantiations for the two activation types.
#define CG_INSTANTIATE(A)                                                                     \
  template void bias_gelu_forward<A>(A*, A*, const A*, const float*, int, int, cudaStream_t); \
  template void gelu_backward<A>(A*, float*, const A*, const A*, float*, int, int, cudaStream_t);

CG_INSTANTIATE(float)
CG_INSTANTIATE(__nv_bfloat16)
#undef CG_INSTANTIATE

}  // namespace causalgen::cuda
