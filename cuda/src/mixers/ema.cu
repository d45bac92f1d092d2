// The static multi-scale EMA mixers (ema, max-ema) over h (B,T,C), per
// sequence and channel (formulas: lib/core/mixers/ema.cpp; the CPU trainer's
// lib/train/model/mixers/ema.cpp is the reference the tests hold them to):
//   a_0 = h_0,  a_t = a_{t-1} + w_i (h_t - a_{t-1}),  w_i = 2^-k_i
//   ema: m_t = a_t;  max-ema: m_t = max(h_t, h_{t-1}, a_t), h_{-1} := h_0
//   forward:  m (B,T,C) A;  max-ema: sel (B,T,C) the chosen argument (saved)
//   backward: dh (B,T,C) A, the gradient at a_t carried back through the
//             recurrence, ga_{t-1} = (1 - w_i) ga_t
//
// One thread per (b, c) loops over the T positions in order: the recurrence
// is a sequential scan per channel. That is simple and easy to check, not
// fast (B*C threads, each with T dependent steps); a segmented scan as in
// shift.cu would give more parallelism if this ever shows in a profile.
#include "../common.cuh"
#include "ema.cuh"
#include "mixer.cuh"

namespace causalgen::cuda {

namespace {

constexpr int kThreads = 128;

// The update weight 2^-k (exact in f32: w (h - a) rounds as in the CPU code).
__host__ __device__ inline float ema_weight(int c, uint32_t scales, int C) {
  return 1.0f / static_cast<float>(1ull << ema_rate_log2_of(c, scales, C));
}

// The forward's thread (b, c): the T positions of one sequence's channel.
template <class A>
__host__ __device__ void ema_forward_thread(A* m, uint8_t* sel, const A* h, int b, int c, int T,
                                            int C, uint32_t scales, bool with_max) {
  const size_t base = static_cast<size_t>(b) * T * C + c;
  const float w = ema_weight(c, scales, C);
  float a = 0.0f, prev = 0.0f;
  for (int t = 0; t < T; ++t) {
    const size_t i = base + static_cast<size_t>(t) * C;
    const float x = to_f32(h[i]);
    a = t == 0 ? x : a + w * (x - a);
    if (!with_max) {
      m[i] = from_f32<A>(a);
      continue;
    }
    if (t == 0) prev = x;  // h_{-1} := h_0
    float v = x;
    uint8_t which = 0;
    if (prev > v) v = prev, which = 1;
    if (a > v) v = a, which = 2;
    m[i] = from_f32<A>(v);
    sel[i] = which;
    prev = x;
  }
}

// The backward's thread (b, c), backwards over t. At position t, dh_t
// collects: what position t+1 routed to its h_{t-1} (from_next), g_t when
// sel chose h_t, and the EMA's share w ga_t (all of ga_0 at t = 0, where
// a_0 = h_0). Summed in the CPU trainer's order.
template <class A>
__host__ __device__ void ema_backward_thread(A* dh, const A* dm, const uint8_t* sel, int b, int c,
                                             int T, int C, uint32_t scales, bool with_max) {
  const size_t base = static_cast<size_t>(b) * T * C + c;
  const float w = ema_weight(c, scales, C);
  float ga = 0.0f, from_next = 0.0f;
  for (int t = T - 1; t >= 0; --t) {
    const size_t i = base + static_cast<size_t>(t) * C;
    const float g = to_f32(dm[i]);
    const uint8_t k = with_max ? sel[i] : 2;
    float d = from_next;
    from_next = 0.0f;
    if (k == 0) d += g;
    else if (k == 1) { if (t == 0) d += g; else from_next = g; }  // h_{-1} := h_0
    else ga += g;
    if (t == 0) {
      d += ga;
    } else {
      d += w * ga;
      ga = (1.0f - w) * ga;
    }
    dh[i] = from_f32<A>(d);
  }
}

template <class A>
__global__ void ema_forward_kernel(A* m, uint8_t* sel, const A* h, int B, int T, int C,
                                   uint32_t scales, bool with_max) {
  const int idx = blockIdx.x * blockDim.x + threadIdx.x;  // (b, c)
  if (idx >= B * C) return;
  ema_forward_thread(m, sel, h, idx / C, idx % C, T, C, scales, with_max);
}

template <class A>
__global__ void ema_backward_kernel(A* dh, const A* dm, const uint8_t* sel, int B, int T, int C,
                                    uint32_t scales, bool with_max) {
  const int idx = blockIdx.x * blockDim.x + threadIdx.x;  // (b, c)
  if (idx >= B * C) return;
  ema_backward_thread(dh, dm, sel, idx / C, idx % C, T, C, scales, with_max);
}

}  // namespace

template <class A>
void ema_mix_forward(A* m, uint8_t* sel, const A* h, int B, int T, int C, uint32_t scales,
                     Mixer mixer, cudaStream_t s) {
  ema_forward_kernel<<<ceil_div(size_t(B) * C, kThreads), kThreads, 0, s>>>(
      m, sel, h, B, T, C, scales, mixer == Mixer::max_ema);
  CG_LAUNCH_CHECK();
}

template <class A>
void ema_mix_backward(A* dh, const A* dm, const uint8_t* sel, int B, int T, int C,
                      uint32_t scales, Mixer mixer, cudaStream_t s) {
  ema_backward_kernel<<<ceil_div(size_t(B) * C, kThreads), kThreads, 0, s>>>(
      dh, dm, sel, B, T, C, scales, mixer == Mixer::max_ema);
  CG_LAUNCH_CHECK();
}

template <class A>
void ema_mix_forward_on_host(A* m, uint8_t* sel, const A* h, int B, int T, int C,
                             uint32_t scales, Mixer mixer) {
  for (int b = 0; b < B; ++b)
    for (int c = 0; c < C; ++c)
      ema_forward_thread(m, sel, h, b, c, T, C, scales, mixer == Mixer::max_ema);
}

template <class A>
void ema_mix_backward_on_host(A* dh, const A* dm, const uint8_t* sel, int B, int T, int C,
                              uint32_t scales, Mixer mixer) {
  for (int b = 0; b < B; ++b)
    for (int c = 0; c < C; ++c)
      ema_backward_thread(dh, dm, sel, b, c, T, C, scales, mixer == Mixer::max_ema);
}

// Explicit instantiations for the two activation types.
#define CG_INSTANTIATE(A)                                                                       \
  template void ema_mix_forward<A>(A*, uint8_t*, const A*, int, int, int, uint32_t, Mixer,      \
                                   cudaStream_t);                                               \
  template void ema_mix_backward<A>(A*, const A*, const uint8_t*, int, int, int, uint32_t,      \
                                    Mixer, cudaStream_t);                                       \
  template void ema_mix_forward_on_host<A>(A*, uint8_t*, const A*, int, int, int, uint32_t,     \
                                           Mixer);                                              \
  template void ema_mix_backward_on_host<A>(A*, const A*, const uint8_t*, int, int, int,        \
                                            uint32_t, Mixer);

CG_INSTANTIATE(float)
CG_INSTANTIATE(__nv_bfloat16)
#undef CG_INSTANTIATE

// The descriptor (mixer.cuh), one for each of the two codes: max-ema saves
// sel (one byte per element); ema is linear in h and saves nothing. Neither
// needs scratch. The rates come from the model's block size (ema_scales),
// not the batch's T.
namespace mixers {
namespace {

template <bool kMax>
size_t ema_saved_bytes(const Shape& s) {
  return kMax ? static_cast<size_t>(s.B) * s.T * s.C : 0;
}
size_t ema_scratch_bytes(const Shape&) { return 0; }

template <class A>
void ema_forward(const Pass<A>& a) {
  const Shape& s = a.shape;
  ema_mix_forward(a.m, static_cast<uint8_t*>(a.saved), a.h, s.B, s.T, s.C,
                  ema_scales(*a.config), a.code, a.stream);
}

template <class A>
void ema_backward(const Pass<A>& a) {
  const Shape& s = a.shape;
  ema_mix_backward(a.dh, a.dm, static_cast<const uint8_t*>(a.saved), s.B, s.T, s.C,
                   ema_scales(*a.config), a.code, a.stream);
}

}  // namespace

template <class A>
CudaMixer<A> ema_mixer(Mixer code) {
  const bool with_max = code == Mixer::max_ema;
  return {code, with_max ? ema_saved_bytes<true> : ema_saved_bytes<false>, ema_scratch_bytes,
          ema_forward<A>, ema_backward<A>};
}

template CudaMixer<float> ema_mixer<float>(Mixer);
template CudaMixer<__nv_bfloat16> ema_mixer<__nv_bfloat16>(Mixer);

}  // namespace mixers
}  // namespace causalgen::cuda
