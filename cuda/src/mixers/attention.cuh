// Launchers of the attention mixer's kernels around its GEMMs (mixers/attention.cu).
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

namespace causalgen::cuda {

// Attention helpers. qkv (N,3C) + bias -> q, k, v (B,H,T,hs) A.
template <class A>
void qkv_split_forward(A* q, A* k, A* v, const A* qkv, const float* b, int B, int T, int C,
                       int H, cudaStream_t s);
// dqkv (N,3C) A from dq, dk, dv (B,H,T,hs) f32; db (3C) column sums (if db).
template <class A>
void qkv_split_backward(A* dqkv, float* db, const float* dq, const float* dk, const float* dv,
                        float* partial, int B, int T, int C, int H, cudaStream_t s);
// att (BH,T,T) A = softmax(scale * pre) over s <= t (0 above the diagonal);
// att_drop = drop(att).
template <class A>
void causal_softmax_forward(A* att, A* att_drop, const float* pre, float scale, int BH, int T,
                            float p, uint64_t seed, uint64_t salt, cudaStream_t s);
// dpre (BH,T,T) A = scale * softmax backward of drop'(datt_drop).
template <class A>
void causal_softmax_backward(A* dpre, const float* datt_drop, const A* att, float scale, int BH,
                             int T, float p, uint64_t seed, uint64_t salt, cudaStream_t s);
// y (B,H,T,hs) f32 -> m (N,C) A, and back for the gradient.
template <class A>
void merge_heads_forward(A* m, const float* y, int B, int T, int C, int H, cudaStream_t s);
template <class A>
void merge_heads_backward(A* dy, const A* dm, int B, int T, int C, int H, cudaStream_t s);

}  // namespace causalgen::cuda
