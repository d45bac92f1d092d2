// Causal multi-head attention, the parts around the two GEMMs (gemm.cu):
// qkv (N,3C) -> q, k, v (B,H,T,hs); pre = q k^T (B*H,T,T); att = softmax;
// y = att_drop v (B,H,T,hs) -> m (N,C). Each forward beside its backward.
#include "../common.cuh"
#include "../ops/reduce.cuh"
#include "attention.cuh"

namespace causalgen::cuda {

template <class A>
__global__ void qkv_split_forward_kernel(A* q, A* k, A* v, const A* qkv, const float* b,
                                         int T, int C, int H, size_t total) {
  const size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;  // over N*3C
  if (i >= total) return;
  const int C3 = 3 * C, hs = C / H;
  const size_t n = i / C3;
  const int j = static_cast<int>(i % C3);
  const int part = j / C, cc = j % C, head = cc / hs, d = cc % hs;
  const int bb = static_cast<int>(n / T), t = static_cast<int>(n % T);
  const size_t o = ((static_cast<size_t>(bb) * H + head) * T + t) * hs + d;
  const A val = from_f32<A>(to_f32(qkv[i]) + (b ? b[j] : 0.0f));
  (part == 0 ? q : part == 1 ? k : v)[o] = val;
}

template <class A>
void qkv_split_forward(A* q, A* k, A* v, const A* qkv, const float* b, int B, int T, int C,
                       int H, cudaStream_t s) {
  const size_t total = static_cast<size_t>(B) * T * 3 * C;
  qkv_split_forward_kernel<<<ceil_div(total, 256), 256, 0, s>>>(q, k, v, qkv, b, T, C, H, total);
  CG_LAUNCH_CHECK();
}

template <class A>
__global__ void qkv_split_backward_kernel(A* dqkv, const float* dq, const float* dk,
                                          const float* dv, int T, int C, int H, size_t total) {
  const size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
  if (i >= total) return;
  const int C3 = 3 * C, hs = C / H;
  const size_t n = i / C3;
  const int j = static_cast<int>(i % C3);
  const int part = j / C, cc = j % C, head = cc / hs, d = cc % hs;
  const int bb = static_cast<int>(n / T), t = static_cast<int>(n % T);
  const size_t o = ((static_cast<size_t>(bb) * H + head) * T + t) * hs + d;
  dqkv[i] = from_f32<A>((part == 0 ? dq : part == 1 ? dk : dv)[o]);
}

template <class A>
void qkv_split_backward(A* dqkv, float* db, const float* dq, const float* dk, const float* dv,
                        float* partial, int B, int T, int C, int H, cudaStream_t s) {
  const size_t total = static_cast<size_t>(B) * T * 3 * C;
  qkv_split_backward_kernel<<<ceil_div(total, 256), 256, 0, s>>>(dqkv, dq, dk, dv, T, C, H, total);
  CG_LAUNCH_CHECK();
  if (db) column_sum<1>(db, nullptr, partial, B * T, 3 * C, ReadAt<A>{dqkv, 3 * C}, s);
}

// One warp per (bh, t) row of the T x T score matrix.
template <class A>
__global__ void causal_softmax_forward_kernel(A* att, A* att_drop, const float* pre, float scale,
                                              int rows, int T, float p, uint64_t seed,
                                              uint64_t salt) {
  const int row = blockIdx.x * (blockDim.x / kWarp) + threadIdx.x / kWarp;
  const int lane = threadIdx.x % kWarp;
  if (row >= rows) return;
  const int t = row % T;
  const size_t off = static_cast<size_t>(row) * T;
  float mx = -INFINITY;
  for (int s = lane; s <= t; s += kWarp) mx = fmaxf(mx, pre[off + s] * scale);
  mx = warp_max(mx);
  float sum = 0.0f;
  for (int s = lane; s <= t; s += kWarp) sum += expf(pre[off + s] * scale - mx);
  const float inv = 1.0f / warp_sum(sum);
  for (int s = lane; s < T; s += kWarp) {
    const float a = s <= t ? expf(pre[off + s] * scale - mx) * inv : 0.0f;
    const A av = from_f32<A>(a);
    att[off + s] = av;
    att_drop[off + s] = from_f32<A>(to_f32(av) * dropout_scale(p, seed, salt, off + s));
  }
}

template <class A>
void causal_softmax_forward(A* att, A* att_drop, const float* pre, float scale, int BH, int T,
                            float p, uint64_t seed, uint64_t salt, cudaStream_t s) {
  const int rows = BH * T;
  causal_softmax_forward_kernel<<<ceil_div(rows, 8), 256, 0, s>>>(att, att_drop, pre, scale,
                                                                  rows, T, p, seed, salt);
  CG_LAUNCH_CHECK();
}

template <class A>
__global__ void causal_softmax_backward_kernel(A* dpre, const float* datt_drop, const A* att,
                                               float scale, int rows, int T, float p,
                                               uint64_t seed, uint64_t salt) {
  const int row = blockIdx.x * (blockDim.x / kWarp) + threadIdx.x / kWarp;
  const int lane = threadIdx.x % kWarp;
  if (row >= rows) return;
  const int t = row % T;
  const size_t off = static_cast<size_t>(row) * T;
  float dot = 0.0f;
  for (int s = lane; s <= t; s += kWarp)
    dot += to_f32(att[off + s]) * datt_drop[off + s] * dropout_scale(p, seed, salt, off + s);
  dot = warp_sum(dot);
  for (int s = lane; s < T; s += kWarp) {
    float g = 0.0f;
    if (s <= t) {
      const float da = datt_drop[off + s] * dropout_scale(p, seed, salt, off + s);
      g = scale * to_f32(att[off + s]) * (da - dot);
    }
    dpre[off + s] = from_f32<A>(g);
  }
}

template <class A>
void causal_softmax_backward(A* dpre, const float* datt_drop, const A* att, float scale, int BH,
                             int T, float p, uint64_t seed, uint64_t salt, cudaStream_t s) {
  const int rows = BH * T;
  causal_softmax_backward_kernel<<<ceil_div(rows, 8), 256, 0, s>>>(dpre, datt_drop, att, scale,
                                                                   rows, T, p, seed, salt);
  CG_LAUNCH_CHECK();
}

template <class A>
__global__ void merge_heads_kernel(A* m, const float* y, int T, int C, int H, size_t total) {
  const size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;  // over N*C
  if (i >= total) return;
  const int hs = C / H;
  const size_t n = i / C;
  const int cc = static_cast<int>(i % C), head = cc / hs, d = cc % hs;
  const int bb = static_cast<int>(n / T), t = static_cast<int>(n % T);
  m[i] = from_f32<A>(y[((static_cast<size_t>(bb) * H + head) * T + t) * hs + d]);
}

template <class A>
void merge_heads_forward(A* m, const float* y, int B, int T, int C, int H, cudaStream_t s) {
  const size_t total = static_cast<size_t>(B) * T * C;
  merge_heads_kernel<<<ceil_div(total, 256), 256, 0, s>>>(m, y, T, C, H, total);
  CG_LAUNCH_CHECK();
}

template <class A>
__global__ void split_heads_kernel(A* dy, const A* dm, int T, int C, int H, size_t total) {
  const size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;  // over N*C
  if (i >= total) return;
  const int hs = C / H;
  const size_t n = i / C;
  const int cc = static_cast<int>(i % C), head = cc / hs, d = cc % hs;
  const int bb = static_cast<int>(n / T), t = static_cast<int>(n % T);
  dy[((static_cast<size_t>(bb) * H + head) * T + t) * hs + d] = dm[i];
}

template <class A>
void merge_heads_backward(A* dy, const A* dm, int B, int T, int C, int H, cudaStream_t s) {
  const size_t total = static_cast<size_t>(B) * T * C;
  split_heads_kernel<<<ceil_div(total, 256), 256, 0, s>>>(dy, dm, T, C, H, total);
  CG_LAUNCH_CHECK();
}

// Explicit instantiations for the two activation types.
#define CG_INSTANTIATE(A)                                                                         \
  template void qkv_split_forward<A>(A*, A*, A*, const A*, const float*, int, int, int, int,      \
                                     cudaStream_t);                                               \
  template void qkv_split_backward<A>(A*, float*, const float*, const float*, const float*,       \
                                      float*, int, int, int, int, cudaStream_t);                  \
  template void causal_softmax_forward<A>(A*, A*, const float*, float, int, int, float, uint64_t, \
                                          uint64_t, cudaStream_t);                                \
  template void causal_softmax_backward<A>(A*, const float*, const A*, float, int, int, float,    \
                                           uint64_t, uint64_t, cudaStream_t);                     \
  template void merge_heads_forward<A>(A*, const float*, int, int, int, int, cudaStream_t);       \
  template void merge_heads_backward<A>(A*, const A*, int, int, int, int, cudaStream_t);

CG_INSTANTIATE(float)
CG_INSTANTIATE(__nv_bfloat16)
#undef CG_INSTANTIATE

}  // namespace causalgen::cuda
