// LayerNorm over each row, eps 1e-5, biased variance; one warp a row.
//   forward:  out (N,C) A = (x - mean) * rstd * w + b;  mean, rstd (N) saved
//   backward: dx (N,C) +=;  dw, db (C) written (column sums, fixed order);
//             dbranch (N,C) A = drop'(dx) for the residual branch below
#include "../common.cuh"
#include "../layers.cuh"
#include "reduce.cuh"

namespace causalgen::cuda {

size_t ln_partial_floats(int N, int C) { return 2 * static_cast<size_t>(ceil_div(N, kColRows)) * C; }

template <class A>
__global__ void layernorm_forward_kernel(A* out, float* mean, float* rstd, const float* x,
                                         const float* w, const float* b, int N, int C) {
  const int row = blockIdx.x * (blockDim.x / kWarp) + threadIdx.x / kWarp;
  const int lane = threadIdx.x % kWarp;
  if (row >= N) return;
  const float* xr = x + static_cast<size_t>(row) * C;
  float s = 0.0f;
  for (int c = lane; c < C; c += kWarp) s += xr[c];
  const float mu = warp_sum(s) / C;
  float v = 0.0f;
  for (int c = lane; c < C; c += kWarp) {
    const float d = xr[c] - mu;
    v += d * d;
  }
  const float rs = rsqrtf(warp_sum(v) / C + 1e-5f);
  A* o = out + static_cast<size_t>(row) * C;
  for (int c = lane; c < C; c += kWarp) {
    const float y = (xr[c] - mu) * rs * w[c] + (b ? b[c] : 0.0f);
    o[c] = from_f32<A>(y);
  }
  if (lane == 0) {
    mean[row] = mu;
    rstd[row] = rs;
  }
}

template <class A>
void layernorm_forward(A* out, float* mean, float* rstd, const float* x, const float* w,
                       const float* b, int N, int C, cudaStream_t s) {
  layernorm_forward_kernel<<<ceil_div(N, 8), 256, 0, s>>>(out, mean, rstd, x, w, b, N, C);
  CG_LAUNCH_CHECK();
}

template <class A>
__global__ void layernorm_backward_kernel(float* dx, const A* dout, const float* x, const float* w,
                                          const float* mean, const float* rstd, int N, int C,
                                          A* dbranch, float p, uint64_t seed, uint64_t salt) {
  const int row = blockIdx.x * (blockDim.x / kWarp) + threadIdx.x / kWarp;
  const int lane = threadIdx.x % kWarp;
  if (row >= N) return;
  const size_t off = static_cast<size_t>(row) * C;
  const float mu = mean[row], rs = rstd[row];
  float s1 = 0.0f, s2 = 0.0f;  // mean(dxhat), mean(dxhat * xhat)
  for (int c = lane; c < C; c += kWarp) {
    const float xhat = (x[off + c] - mu) * rs;
    const float dxhat = to_f32(dout[off + c]) * w[c];
    s1 += dxhat;
    s2 += dxhat * xhat;
  }
  s1 = warp_sum(s1) / C;
  s2 = warp_sum(s2) / C;
  for (int c = lane; c < C; c += kWarp) {
    const float xhat = (x[off + c] - mu) * rs;
    const float dxhat = to_f32(dout[off + c]) * w[c];
    const float d = dx[off + c] + rs * (dxhat - s1 - xhat * s2);
    dx[off + c] = d;
    // The residual branch below this LayerNorm sees the same gradient, through its dropout.
    if (dbranch) dbranch[off + c] = from_f32<A>(d * dropout_scale(p, seed, salt, off + c));
  }
}

// k = 0: dw = sum dout * xhat; k = 1: db = sum dout.
template <class A>
struct LnWeightGrad {
  const A* dout;
  const float *x, *mean, *rstd;
  int C;
  __device__ float operator()(int n, int c, int k) const {
    const size_t i = static_cast<size_t>(n) * C + c;
    const float d = to_f32(dout[i]);
    return k == 0 ? d * ((x[i] - mean[n]) * rstd[n]) : d;
  }
};

template <class A>
void layernorm_backward(float* dx, float* dw, float* db, const A* dout, const float* x,
                        const float* w, const float* mean, const float* rstd, float* partial,
                        int N, int C, A* dbranch, float p, uint64_t seed, uint64_t salt,
                        cudaStream_t s) {
  layernorm_backward_kernel<<<ceil_div(N, 8), 256, 0, s>>>(dx, dout, x, w, mean, rstd, N, C,
                                                           dbranch, p, seed, salt);
  CG_LAUNCH_CHECK();
  const LnWeightGrad<A> f{dout, x, mean, rstd, C};
  if (db) column_sum<2>(dw, db, partial, N, C, f, s);
  else column_sum<1>(dw, nullptr, partial, N, C, f, s);
}

// Explicit instantiations for the two activation types.
#define CG_INSTANTIATE(A)                                                                          \
  template void layernorm_forward<A>(A*, float*, float*, const float*, const float*, const float*, \
                                     int, int, cudaStream_t);                                      \
  template void layernorm_backward<A>(float*, float*, float*, const A*, const float*,              \
                                      const float*, const float*, const float*, float*, int, int,  \
                                      A*, float, uint64_t, uint64_t, cudaStream_t);

CG_INSTANTIATE(float)
CG_INSTANTIATE(__nv_bfloat16)
#undef CG_INSTANTIATE

}  // namespace causalgen::cuda
