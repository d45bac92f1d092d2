// Launchers of the minGRU mixer's scan kernels (mixers/mingru.cu); the
// projection around them is a GEMM (gemm.cuh).
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstddef>

namespace causalgen::cuda {

// minGRU's recurrence over (B,T,C), per sequence and channel. u (N,2C) A is
// h W^T, without the bias b (2C, f32, null when the model has none):
//   z = sigmoid(u[:, i] + b_i),  c = u[:, C + i] + b_{C+i}
//   s_t = (1 - z) s_{t-1} + z c,  s_{-1} = 0;  m_t = s_t
// Writes m (N,C) A and, for the backward, z, c and s (N,C) f32.
template <class A>
void mingru_scan_forward(A* m, float* z, float* c, float* s, const A* u, const float* b, int B,
                         int T, int C, cudaStream_t st);
// du (N,2C) A, written: dL/du (gate input | candidate) from dm (N,C) A and
// the forward's z, c, s.
template <class A>
void mingru_scan_backward(A* du, const A* dm, const float* z, const float* c, const float* s,
                          int B, int T, int C, cudaStream_t st);

// The same arithmetic on host arrays (each kernel's per-thread body run for
// every (b, i) in turn), so that tests check the scans' indexing and sums on
// a machine without a GPU.
template <class A>
void mingru_scan_forward_on_host(A* m, float* z, float* c, float* s, const A* u, const float* b,
                                 int B, int T, int C);
template <class A>
void mingru_scan_backward_on_host(A* du, const A* dm, const float* z, const float* c,
                                  const float* s, int B, int T, int C);

}  // namespace causalgen::cuda
