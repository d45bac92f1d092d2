// Launchers of the shift mixers' kernels (mixers/shift.cu).
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "causalgen/config.hpp"

namespace causalgen::cuda {

// Shift mixers over (B,T,C): m = max|min(h_t, h_{t-1}[, a_t]); sel records
// the chosen argument (0: h_t, 1: h_{t-1}, 2: a_t; ties to the first). The
// running mean is a prefix sum, computed in segments (scratch:
// shift_scratch_floats() floats).
size_t shift_scratch_floats(int B, int T, int C);
template <class A>
void shift_mix_forward(A* m, uint8_t* sel, const A* h, float* scratch, int B, int T, int C,
                       Mixer mixer, cudaStream_t s);
// dh (B,T,C) = gradient routed by sel, the mean's part as a suffix sum.
template <class A>
void shift_mix_backward(A* dh, const A* dm, const uint8_t* sel, float* scratch, int B, int T, int C,
                        Mixer mixer, cudaStream_t s);

}  // namespace causalgen::cuda
