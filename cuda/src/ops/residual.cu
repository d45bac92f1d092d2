// The residual branch: its add fused with the next LayerNorm, and the branch
// bias's gradient. (The branch's input gradient is layernorm_backward's
// dbranch output.)
//   forward:  x_out (N,C) f32 = x + drop(branch + bias);  ln_out (N,C) A = LN(x_out)
//   backward: db (C) = column sums of dbranch (N,C)
#include "../common.cuh"
#include "../layers.cuh"
#include "reduce.cuh"

namespace causalgen::cuda {

template <class A>
__global__ void residual_layernorm_kernel(float* x_out, A* ln_out, float* mean, float* rstd,
                                          const float* x, const A* branch, const float* bias,
                                          const float* w, const float* b, int N, int C, float p,
                                          uint64_t seed, uint64_t salt) {
  const int row = blockIdx.x * (blockDim.x / kWarp) + threadIdx.x / kWarp;
  const int lane = threadIdx.x % kWarp;
  if (row >= N) return;
  const size_t off = static_cast<size_t>(row) * C;
  float s = 0.0f;
  for (int c = lane; c < C; c += kWarp) {
    const size_t i = off + c;
    const float v = to_f32(branch[i]) + (bias ? bias[c] : 0.0f);
    const float y = x[i] + v * dropout_scale(p, seed, salt, i);
    x_out[i] = y;
    s += y;
  }
  const float mu = warp_sum(s) / C;
  float var = 0.0f;
  for (int c = lane; c < C; c += kWarp) {
    const float d = x_out[off + c] - mu;
    var += d * d;
  }
  const float rs = rsqrtf(warp_sum(var) / C + 1e-5f);
  for (int c = lane; c < C; c += kWarp)
    ln_out[off + c] = from_f32<A>((x_out[off + c] - mu) * rs * w[c] + (b ? b[c] : 0.0f));
  if (lane == 0) {
    mean[row] = mu;
    rstd[row] = rs;
  }
}

template <class A>
void residual_layernorm_forward(float* x_out, A* ln_out, float* mean, float* rstd, const float* x,
                                const A* branch, const float* bias, const float* w, const float* b,
                                int N, int C, float p, uint64_t seed, uint64_t salt, cudaStream_t s) {
  residual_layernorm_kernel<<<ceil_div(N, 8), 256, 0, s>>>(x_out, ln_out, mean, rstd, x, branch,
                                                           bias, w, b, N, C, p, seed, salt);
  CG_LAUNCH_CHECK();
}

template <class A>
void bias_grad(float* db, const A* dbranch, float* partial, int N, int C, cudaStream_t s) {
  if (db) column_sum<1>(db, nullptr, partial, N, C, ReadAt<A>{dbranch, C}, s);
}

// Explicit instantiations for the two activation types.
#define CG_INSTANTIATE(A)                                                                         \
  template void residual_layernorm_forward<A>(float*, A*, float*, float*, const float*, const A*, \
                                              const float*, const float*, const float*, int, int, \
                                              float, uint64_t, uint64_t, cudaStream_t);           \
  template void bias_grad<A>(float*, const A*, float*, int, int, cudaStream_t);

CG_INSTANTIATE(float)
CG_INSTANTIATE(__nv_bfloat16)
#undef CG_INSTANTIATE

}  // namespace causalgen::cuda
