// The optimizer step over the flat parameter buffer (P floats): the global
// gradient norm (two fixed-order stages), then AdamW with clipping.
//   norm (1) = sqrt(sum g^2);  params, m, v (P) updated from g (P), decay (P)
#include "../common.cuh"
#include "../layers.cuh"

namespace causalgen::cuda {

constexpr int kNormBlocks = 264;  // 2 per H100 multiprocessor; fixed for determinism
constexpr int kNormThreads = 512;

__global__ void sumsq_partial_kernel(float* partial, const float* g, size_t n) {
  __shared__ float buf[kNormThreads];
  float acc = 0.0f;
  for (size_t i = blockIdx.x * static_cast<size_t>(kNormThreads) + threadIdx.x; i < n;
       i += static_cast<size_t>(kNormBlocks) * kNormThreads)
    acc += g[i] * g[i];
  buf[threadIdx.x] = acc;
  __syncthreads();
  for (int w = kNormThreads / 2; w > 0; w >>= 1) {
    if (threadIdx.x < w) buf[threadIdx.x] += buf[threadIdx.x + w];
    __syncthreads();
  }
  if (threadIdx.x == 0) partial[blockIdx.x] = buf[0];
}
__global__ void sumsq_final_kernel(float* norm, const float* partial) {
  if (threadIdx.x != 0) return;
  float acc = 0.0f;
  for (int i = 0; i < kNormBlocks; ++i) acc += partial[i];
  norm[0] = sqrtf(acc);
}

size_t grad_norm_partial_floats() { return kNormBlocks; }

void grad_norm(float* norm, const float* g, size_t n, float* partial, cudaStream_t s) {
  sumsq_partial_kernel<<<kNormBlocks, kNormThreads, 0, s>>>(partial, g, n);
  CG_LAUNCH_CHECK();
  sumsq_final_kernel<<<1, 32, 0, s>>>(norm, partial);
  CG_LAUNCH_CHECK();
}

__global__ void adamw_kernel(float* params, float* m, float* v, const float* g,
                             const uint8_t* decay, size_t n, float lr, float beta1, float beta2,
                             float eps, float wd, float bc1, float bc2, const float* norm,
                             float clip) {
  const size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  const float gn = norm[0];
  const float scale = (clip > 0.0f && gn > clip) ? clip / (gn + 1e-6f) : 1.0f;
  const float gi = g[i] * scale;
  float p = params[i];
  if (decay[i]) p -= lr * wd * p;
  const float mi = beta1 * m[i] + (1.0f - beta1) * gi;
  const float vi = beta2 * v[i] + (1.0f - beta2) * gi * gi;
  m[i] = mi;
  v[i] = vi;
  const float mhat = mi / bc1, vhat = vi / bc2;
  params[i] = p - lr * mhat / (sqrtf(vhat) + eps);
}

void adamw_update(float* params, float* m, float* v, const float* g, const uint8_t* decay,
                  size_t n, float lr, float beta1, float beta2, float eps, float wd,
                  float bias_corr1, float bias_corr2, const float* norm, float clip,
                  cudaStream_t s) {
  adamw_kernel<<<ceil_div(n, 256), 256, 0, s>>>(params, m, v, g, decay, n, lr, beta1, beta2, eps,
                                                wd, bias_corr1, bias_corr2, norm, clip);
  CG_LAUNCH_CHECK();
}

}  // namespace causalgen::cuda
