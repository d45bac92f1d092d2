// Softmax cross-entropy over the logits, forward and backward in one pass,
// and the mean of the per-row losses.
//   loss_rows (N) = logsumexp(logits) - logits[target];  logits (N,V) f32
//   dlogits (N,V) A = (softmax - onehot(target)) / N
#include "../common.cuh"
#include "../layers.cuh"
#include "reduce.cuh"

namespace causalgen::cuda {

template <class A>
__global__ void crossentropy_kernel(float* loss_rows, A* dlogits, const float* logits,
                                    const uint32_t* targets, int N, int V, bool want_grad) {
  const int row = blockIdx.x * (blockDim.x / kWarp) + threadIdx.x / kWarp;
  const int lane = threadIdx.x % kWarp;
  if (row >= N) return;
  const float* l = logits + static_cast<size_t>(row) * V;
  float mx = -INFINITY;
  for (int j = lane; j < V; j += kWarp) mx = fmaxf(mx, l[j]);
  mx = warp_max(mx);
  float sum = 0.0f;
  for (int j = lane; j < V; j += kWarp) sum += expf(l[j] - mx);
  sum = warp_sum(sum);
  const int tgt = static_cast<int>(targets[row]);
  if (lane == 0) loss_rows[row] = logf(sum) + mx - l[tgt];
  if (want_grad) {
    const float inv_n = 1.0f / N, inv_sum = 1.0f / sum;
    for (int j = lane; j < V; j += kWarp) {
      const float pj = expf(l[j] - mx) * inv_sum;
      dlogits[static_cast<size_t>(row) * V + j] = from_f32<A>((pj - (j == tgt ? 1.0f : 0.0f)) * inv_n);
    }
  }
}

template <class A>
void crossentropy_forward_backward(float* loss_rows, A* dlogits, const float* logits,
                                   const uint32_t* targets, int N, int V, bool want_grad,
                                   cudaStream_t s) {
  crossentropy_kernel<<<ceil_div(N, 8), 256, 0, s>>>(loss_rows, dlogits, logits, targets, N, V,
                                                     want_grad);
  CG_LAUNCH_CHECK();
}

// Single block, fixed order: each thread sums a strided slice, then a tree.
__global__ void mean_reduce_kernel(float* out, const float* x, int n) {
  __shared__ float buf[1024];
  float acc = 0.0f;
  for (int i = threadIdx.x; i < n; i += blockDim.x) acc += x[i];
  buf[threadIdx.x] = acc;
  __syncthreads();
  for (int w = blockDim.x / 2; w > 0; w >>= 1) {
    if (threadIdx.x < w) buf[threadIdx.x] += buf[threadIdx.x + w];
    __syncthreads();
  }
  if (threadIdx.x == 0) out[0] = buf[0] / n;
}

void mean_reduce(float* out, const float* x, int n, cudaStream_t s) {
  mean_reduce_kernel<<<1, 1024, 0, s>>>(out, x, n);
  CG_LAUNCH_CHECK();
}

// Explicit instantiations for the two activation types.
#define CG_INSTANTIATE(A)                                                                        \
  template void crossentropy_forward_backward<A>(float*, A*, const float*, const uint32_t*, int, \
                                                 int, bool, cudaStream_t);

CG_INSTANTIATE(float)
CG_INSTANTIATE(__nv_bfloat16)
#undef CG_INSTANTIATE

}  // namespace causalgen::cuda
