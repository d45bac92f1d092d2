// The shift mixers (max, min, max-avg, min-avg) over h (B,T,C), per sequence
// and channel: m_t = max|min(h_t, h_{t-1}[, a_t]), a_t the running mean of
// h_0..h_t, h_{-1} := h_0.
//   forward:  m (B,T,C) A;  sel (B,T,C) the chosen argument (0: h_t, 1: h_{t-1}, 2: a_t)
//   backward: dh (B,T,C) A = dm routed by sel; the mean's share as a suffix sum
#include "../common.cuh"
#include "mixer.cuh"
#include "shift.cuh"

namespace causalgen::cuda {

// The sequence is cut into segments of kSegLen positions and one thread takes
// a (b, segment, c): a first pass sums each segment (the running mean's
// prefix, or the backward's suffix), a second adds the earlier (later)
// segments' sums in order and scans its own segment. That gives B*C*T/16
// threads instead of B*C, so the scans are not bound by memory latency.

constexpr int kSegLen = 16;

__host__ __device__ inline int seg_count(int T) { return (T + kSegLen - 1) / kSegLen; }
size_t shift_scratch_floats(int B, int T, int C) { return static_cast<size_t>(B) * seg_count(T) * C; }

template <class A>
__global__ void segment_sum_kernel(float* seg, const A* h, int B, int T, int C) {
  const int idx = blockIdx.x * blockDim.x + threadIdx.x;  // (b, segment, c)
  const int S = seg_count(T);
  if (idx >= B * S * C) return;
  const int c = idx % C, sg = (idx / C) % S, b = idx / (C * S);
  const int t0 = sg * kSegLen, t1 = min(T, t0 + kSegLen);
  const size_t base = static_cast<size_t>(b) * T * C + c;
  float acc = 0.0f;
#pragma unroll 16
  for (int t = t0; t < t1; ++t) acc += to_f32(h[base + static_cast<size_t>(t) * C]);
  seg[idx] = acc;
}

template <class A>
__global__ void shift_mix_forward_kernel(A* m, uint8_t* sel, const A* h, const float* seg, int B,
                                         int T, int C, int mixer) {
  const int idx = blockIdx.x * blockDim.x + threadIdx.x;
  const int S = seg_count(T);
  if (idx >= B * S * C) return;
  const int c = idx % C, sg = (idx / C) % S, b = idx / (C * S);
  const bool is_max = mixer == static_cast<int>(Mixer::max) || mixer == static_cast<int>(Mixer::max_avg);
  const bool avg = mixer == static_cast<int>(Mixer::max_avg) || mixer == static_cast<int>(Mixer::min_avg);
  const int t0 = sg * kSegLen, t1 = min(T, t0 + kSegLen);
  const size_t base = static_cast<size_t>(b) * T * C + c;
  float sum = 0.0f;
  if (avg)
    for (int k = 0; k < sg; ++k) sum += seg[(static_cast<size_t>(b) * S + k) * C + c];
  float prev = to_f32(h[base + static_cast<size_t>(t0 > 0 ? t0 - 1 : 0) * C]);  // h_0 := h_1
  float xs[kSegLen];
#pragma unroll
  for (int j = 0; j < kSegLen; ++j)
    xs[j] = t0 + j < t1 ? to_f32(h[base + static_cast<size_t>(t0 + j) * C]) : 0.0f;
#pragma unroll
  for (int j = 0; j < kSegLen; ++j) {
    const int t = t0 + j;
    if (t >= t1) break;
    const size_t i = base + static_cast<size_t>(t) * C;
    const float x = xs[j];
    float v = x;
    uint8_t which = 0;
    if (is_max ? prev > v : prev < v) { v = prev; which = 1; }
    if (avg) {
      sum += x;
      const float a = sum / static_cast<float>(t + 1);
      if (is_max ? a > v : a < v) { v = a; which = 2; }
    }
    m[i] = from_f32<A>(v);
    sel[i] = which;
    prev = x;
  }
}

template <class A>
void shift_mix_forward(A* m, uint8_t* sel, const A* h, float* scratch, int B, int T, int C,
                       Mixer mixer, cudaStream_t s) {
  const int threads = B * seg_count(T) * C;
  if (mixer_uses_avg(mixer)) {
    segment_sum_kernel<<<ceil_div(threads, 256), 256, 0, s>>>(scratch, h, B, T, C);
    CG_LAUNCH_CHECK();
  }
  shift_mix_forward_kernel<<<ceil_div(threads, 256), 256, 0, s>>>(m, sel, h, scratch, B, T, C,
                                                                  static_cast<int>(mixer));
  CG_LAUNCH_CHECK();
}

// Per segment: sum of the mean's gradient share g_t / (t+1) where sel == 2.
template <class A>
__global__ void segment_avg_grad_kernel(float* seg, const A* dm, const uint8_t* sel, int B, int T,
                                        int C) {
  const int idx = blockIdx.x * blockDim.x + threadIdx.x;
  const int S = seg_count(T);
  if (idx >= B * S * C) return;
  const int c = idx % C, sg = (idx / C) % S, b = idx / (C * S);
  const int t0 = sg * kSegLen, t1 = min(T, t0 + kSegLen);
  const size_t base = static_cast<size_t>(b) * T * C + c;
  float acc = 0.0f;
  for (int t = t1 - 1; t >= t0; --t) {
    const size_t i = base + static_cast<size_t>(t) * C;
    if (sel[i] == 2) acc += to_f32(dm[i]) / static_cast<float>(t + 1);
  }
  seg[idx] = acc;
}

template <class A>
__global__ void shift_mix_backward_kernel(A* dh, const A* dm, const uint8_t* sel, const float* seg,
                                          int B, int T, int C, bool avg) {
  const int idx = blockIdx.x * blockDim.x + threadIdx.x;
  const int S = seg_count(T);
  if (idx >= B * S * C) return;
  const int c = idx % C, sg = (idx / C) % S, b = idx / (C * S);
  const int t0 = sg * kSegLen, t1 = min(T, t0 + kSegLen);
  const size_t base = static_cast<size_t>(b) * T * C + c;
  // suffix: sum over s >= t of the mean's share g_s / (s+1) (later segments
  // first, in order); from_next: what position t+1 sent to its h_{t-1}.
  float suffix = 0.0f;
  if (avg)
    for (int k = S - 1; k > sg; --k) suffix += seg[(static_cast<size_t>(b) * S + k) * C + c];
  float from_next = 0.0f;
  if (t1 < T) {
    const size_t i = base + static_cast<size_t>(t1) * C;
    if (sel[i] == 1) from_next = to_f32(dm[i]);
  }
  float gs[kSegLen];
  uint8_t ws[kSegLen];
#pragma unroll
  for (int j = 0; j < kSegLen; ++j) {
    const int t = t0 + j;
    const size_t i = base + static_cast<size_t>(t < t1 ? t : t0) * C;
    gs[j] = t < t1 ? to_f32(dm[i]) : 0.0f;
    ws[j] = t < t1 ? sel[i] : 0;
  }
#pragma unroll
  for (int j = kSegLen - 1; j >= 0; --j) {
    const int t = t0 + j;
    if (t >= t1) continue;
    const float g = gs[j];
    const uint8_t w = ws[j];
    float d = from_next;
    from_next = 0.0f;
    if (w == 0) d += g;
    else if (w == 1) { if (t == 0) d += g; else from_next = g; }  // h_0 := h_1
    else suffix += g / static_cast<float>(t + 1);
    dh[base + static_cast<size_t>(t) * C] = from_f32<A>(d + suffix);
  }
}

template <class A>
void shift_mix_backward(A* dh, const A* dm, const uint8_t* sel, float* scratch, int B, int T, int C,
                        Mixer mixer, cudaStream_t s) {
  const int threads = B * seg_count(T) * C;
  const bool avg = mixer_uses_avg(mixer);
  if (avg) {
    segment_avg_grad_kernel<<<ceil_div(threads, 256), 256, 0, s>>>(scratch, dm, sel, B, T, C);
    CG_LAUNCH_CHECK();
  }
  shift_mix_backward_kernel<<<ceil_div(threads, 256), 256, 0, s>>>(dh, dm, sel, scratch, B, T, C, avg);
  CG_LAUNCH_CHECK();
}

// Explicit instantiations for the two activation types.
#define CG_INSTANTIATE(A)                                                                         \
  template void shift_mix_forward<A>(A*, uint8_t*, const A*, float*, int, int, int, Mixer,        \
                                     cudaStream_t);                                               \
  template void shift_mix_backward<A>(A*, const A*, const uint8_t*, float*, int, int, int, Mixer, \
                                      cudaStream_t);

CG_INSTANTIATE(float)
CG_INSTANTIATE(__nv_bfloat16)
#undef CG_INSTANTIATE

// The descriptor (mixer.cuh), one for each of the four codes: sel is the
// saved block, the segment sums the scratch.
namespace mixers {
namespace {

size_t shift_saved_bytes(const Shape& s) { return static_cast<size_t>(s.B) * s.T * s.C; }
size_t shift_scratch_bytes(const Shape& s) {
  return shift_scratch_floats(s.B, s.T, s.C) * sizeof(float);
}

template <class A>
void shift_forward(const Pass<A>& a) {
  const Shape& s = a.shape;
  shift_mix_forward(a.m, static_cast<uint8_t*>(a.saved), a.h, static_cast<float*>(a.scratch), s.B,
                    s.T, s.C, a.code, a.stream);
}

template <class A>
void shift_backward(const Pass<A>& a) {
  const Shape& s = a.shape;
  shift_mix_backward(a.dh, a.dm, static_cast<const uint8_t*>(a.saved),
                     static_cast<float*>(a.scratch), s.B, s.T, s.C, a.code, a.stream);
}

}  // namespace

template <class A>
CudaMixer<A> shift_mixer(Mixer code) {
  return {code, shift_saved_bytes, shift_scratch_bytes, shift_forward<A>, shift_backward<A>};
}

template CudaMixer<float> shift_mixer<float>(Mixer);
template CudaMixer<__nv_bfloat16> shift_mixer<__nv_bfloat16>(Mixer);

}  // namespace mixers
}  // namespace causalgen::cuda
