// Launchers of the static multi-scale EMA mixers' kernels (mixers/ema.cu).
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "causalgen/config.hpp"

namespace causalgen::cuda {

// Channel i's rate exponent k_i (its update weight is 2^-k_i) for C channels
// in `scales` groups: the core's ema_rate_log2(config, i) with scales =
// ema_scales(config), written again so that a kernel can compute it (the
// registry test checks that the two agree on every channel).
__host__ __device__ inline uint32_t ema_rate_log2_of(uint32_t i, uint32_t scales, uint32_t C) {
  return 1 + static_cast<uint32_t>(uint64_t(i) * scales / C);
}

// EMA mixers over h (B,T,C), per sequence and channel: a_0 = h_0,
// a_t = a_{t-1} + w_i (h_t - a_{t-1}). ema: m_t = a_t; max-ema: m_t =
// max(h_t, h_{t-1}, a_t), h_{-1} := h_0, and sel (B,T,C) records the chosen
// argument (0: h_t, 1: h_{t-1}, 2: a_t; ties to the first). ema leaves sel
// untouched (it may be null).
template <class A>
void ema_mix_forward(A* m, uint8_t* sel, const A* h, int B, int T, int C, uint32_t scales,
                     Mixer mixer, cudaStream_t s);
// dh (B,T,C) A, written, from dm (B,T,C) A and (max-ema) sel.
template <class A>
void ema_mix_backward(A* dh, const A* dm, const uint8_t* sel, int B, int T, int C,
                      uint32_t scales, Mixer mixer, cudaStream_t s);

// The same arithmetic on host arrays: each kernel's per-thread body run for
// every (b, c) in turn on the host, so that tests check the kernels'
// indexing and sums on a machine without a GPU (the launch itself, grid and
// bounds, is left to the GPU cases).
template <class A>
void ema_mix_forward_on_host(A* m, uint8_t* sel, const A* h, int B, int T, int C,
                             uint32_t scales, Mixer mixer);
template <class A>
void ema_mix_backward_on_host(A* dh, const A* dm, const uint8_t* sel, int B, int T, int C,
                              uint32_t scales, Mixer mixer);

}  // namespace causalgen::cuda
