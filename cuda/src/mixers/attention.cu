// Causal multi-head attention, the parts around the two GEMMs (gemm.cu):
// qkv (N,3C) -> q, k, v (B,H,T,hs); pre = q k^T (B*H,T,T); att = softmax;
// y = att_drop v (B,H,T,hs) -> m (N,C). Each forward beside its backward.
#include <algorithm>
#include <cmath>

#include "../common.cuh"
#include "../gemm.cuh"
#include "../ops/reduce.cuh"
#include "attention.cuh"
#include "mixer.cuh"

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

// ---- The descriptor (mixer.cuh). Forward, N = B*T rows, hs = C/H:
//   qkv (N,3C) = h Wqkv^T; q, k, v (B,H,T,hs) = split(qkv + bqkv)
//   pre (BH,T,T) = q k^T; att = causal softmax(pre / sqrt(hs)); att_drop = drop(att)
//   y (B,H,T,hs) = att_drop v; m (N,C) = merge heads(y)
// The backward retraces it from the saved q, k, v, att and att_drop. The
// forward's and the backward's temporaries share the scratch: the two passes
// never run at the same time, and each writes every element before reading it.
namespace mixers {
namespace {

// Per layer: q, k, v (B,H,T,hs) and att, att_drop (BH,T,T), all A.
template <class A>
struct Saved {
  A *q, *k, *v, *att, *att_drop;
};
template <class A>
Saved<A> saved_layout(Carver& c, const Shape& s) {
  const size_t NC = size_t(s.B) * s.T * s.C, BHTT = size_t(s.B) * s.H * s.T * s.T;
  Saved<A> l;
  l.q = c.take<A>(NC);
  l.k = c.take<A>(NC);
  l.v = c.take<A>(NC);
  l.att = c.take<A>(BHTT);
  l.att_drop = c.take<A>(BHTT);
  return l;
}

// The forward's temporaries: qkv (N,3C) A, pre (BH,T,T) f32, y (B,H,T,hs) f32.
template <class A>
struct ForwardScratch {
  A* qkv;
  float *pre, *y;
};
template <class A>
ForwardScratch<A> forward_layout(Carver& c, const Shape& s) {
  const size_t NC = size_t(s.B) * s.T * s.C, BHTT = size_t(s.B) * s.H * s.T * s.T;
  ForwardScratch<A> l;
  l.qkv = c.take<A>(3 * NC);
  l.pre = c.take<float>(BHTT);
  l.y = c.take<float>(NC);
  return l;
}

// The backward's: the gradients at y (dy, A), att_drop (datt, f32), v, q, k
// (f32), pre (dpre, A) and qkv (dqkv, A).
template <class A>
struct BackwardScratch {
  A* dy;
  float *datt, *dv;
  A* dpre;
  float *dq, *dk;
  A* dqkv;
};
template <class A>
BackwardScratch<A> backward_layout(Carver& c, const Shape& s) {
  const size_t NC = size_t(s.B) * s.T * s.C, BHTT = size_t(s.B) * s.H * s.T * s.T;
  BackwardScratch<A> l;
  l.dy = c.take<A>(NC);
  l.datt = c.take<float>(BHTT);
  l.dv = c.take<float>(NC);
  l.dpre = c.take<A>(BHTT);
  l.dq = c.take<float>(NC);
  l.dk = c.take<float>(NC);
  l.dqkv = c.take<A>(3 * NC);
  return l;
}

template <class A>
size_t attention_saved_bytes(const Shape& s) {
  Carver c;
  saved_layout<A>(c, s);
  return c.bytes();
}

template <class A>
size_t attention_scratch_bytes(const Shape& s) {
  Carver f, b;
  forward_layout<A>(f, s);
  backward_layout<A>(b, s);
  return std::max(f.bytes(), b.bytes());
}

template <class A>
void attention_forward(const Pass<A>& a) {
  const auto [B, T, C, H] = a.shape;
  const int N = B * T, hs = C / std::max(1, H);
  Carver saved(a.saved), scratch(a.scratch);
  const Saved<A> keep = saved_layout<A>(saved, a.shape);
  const ForwardScratch<A> f = forward_layout<A>(scratch, a.shape);
  Gemm& gemm = *a.gemm;
  linear_forward(gemm, f.qkv, a.h, a.w, N, 3 * C, C, a.stream);
  qkv_split_forward(keep.q, keep.k, keep.v, f.qkv, a.b, B, T, C, H, a.stream);
  gemm.run(f.pre, keep.q, keep.k, GemmShape{T, T, hs, false, true, B * H, T * hs, T * hs, T * T},
           1.0f, 0.0f, a.stream);
  causal_softmax_forward(keep.att, keep.att_drop, f.pre, 1.0f / std::sqrt(float(hs)), B * H, T,
                         a.p, a.seed, a.salt, a.stream);
  gemm.run(f.y, keep.att_drop, keep.v,
           GemmShape{T, hs, T, false, false, B * H, T * T, T * hs, T * hs}, 1.0f, 0.0f, a.stream);
  merge_heads_forward(a.m, f.y, B, T, C, H, a.stream);
}

template <class A>
void attention_backward(const Pass<A>& a) {
  const auto [B, T, C, H] = a.shape;
  const int N = B * T, hs = C / std::max(1, H);
  Carver saved(a.saved), scratch(a.scratch);
  const Saved<A> keep = saved_layout<A>(saved, a.shape);
  const BackwardScratch<A> g = backward_layout<A>(scratch, a.shape);
  Gemm& gemm = *a.gemm;
  merge_heads_backward(g.dy, a.dm, B, T, C, H, a.stream);
  gemm.run(g.datt, g.dy, keep.v, GemmShape{T, T, hs, false, true, B * H, T * hs, T * hs, T * T},
           1.0f, 0.0f, a.stream);
  gemm.run(g.dv, keep.att_drop, g.dy,
           GemmShape{T, hs, T, true, false, B * H, T * T, T * hs, T * hs}, 1.0f, 0.0f, a.stream);
  causal_softmax_backward(g.dpre, g.datt, keep.att, 1.0f / std::sqrt(float(hs)), B * H, T, a.p,
                          a.seed, a.salt, a.stream);
  gemm.run(g.dq, g.dpre, keep.k, GemmShape{T, hs, T, false, false, B * H, T * T, T * hs, T * hs},
           1.0f, 0.0f, a.stream);
  gemm.run(g.dk, g.dpre, keep.q, GemmShape{T, hs, T, true, false, B * H, T * T, T * hs, T * hs},
           1.0f, 0.0f, a.stream);
  qkv_split_backward(g.dqkv, a.db, g.dq, g.dk, g.dv, a.partial, B, T, C, H, a.stream);
  linear_dweight(gemm, a.dw, g.dqkv, a.h, N, 3 * C, C, a.stream);
  linear_dinput(gemm, a.dh, g.dqkv, a.w, N, 3 * C, C, a.stream);
}

}  // namespace

template <class A>
CudaMixer<A> attention_mixer() {
  return {Mixer::attention, attention_saved_bytes<A>, attention_scratch_bytes<A>,
          attention_forward<A>, attention_backward<A>};
}

template CudaMixer<float> attention_mixer<float>();
template CudaMixer<__nv_bfloat16> attention_mixer<__nv_bfloat16>();

}  // namespace mixers
}  // namespace causalgen::cuda
