// Kernel launchers, one forward/backward pair per operation, shapes in the
// comments (N = B*T rows, C channels, A = activation type: float or bf16).
// Every reduction runs in a fixed order without atomics (see causalgen_cuda/backend.hpp).
// Each operation's kernels live in ops/<operation>.cu. The mixers' live in
// mixers/<mixer>.cu, reached by the trainer through their descriptors
// (mixers/mixer.cuh) and by the tests through mixers/<mixer>.cuh.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace causalgen::cuda {

// ---- ops/embedding.cu

// x (N,C) f32 = drop(wte[tok] + wpe[t]); wpe may be null.
void embed_forward(float* x, const uint32_t* tokens, const float* wte, const float* wpe,
                   int B, int T, int C, float p, uint64_t seed, uint64_t salt, cudaStream_t s);
// dwte (V,C) += the gradient summed over the positions holding each token;
// dwpe (T,C) = summed over the batch. dx (N,C) is the gradient at the
// embedding output. order: positions bucketed by token (in position order);
// token_chunks (V+1): token v's chunks are [token_chunks[v], token_chunks[v+1]);
// chunk k covers order[start[k] .. end[k]); partial: n_chunks x C floats.
uint32_t embed_chunk_count(int N, int V);  // upper bound on n_chunks
uint32_t embed_chunk_size();
void embed_backward(float* dwte, float* dwpe, const float* dx, const uint32_t* order,
                    const uint32_t* token_chunks, const uint32_t* start, const uint32_t* end,
                    uint32_t n_chunks, float* partial, int B, int T, int C, int V, float p,
                    uint64_t seed, uint64_t salt, cudaStream_t s);

// ---- ops/layernorm.cu

// out (N,C) A = LN(x) with w, b (b may be null); mean, rstd (N) saved.
template <class A>
void layernorm_forward(A* out, float* mean, float* rstd, const float* x, const float* w,
                       const float* b, int N, int C, cudaStream_t s);
// dx (N,C) f32 += LN backward of dout (N,C); dw, db (C) written (db may be
// null). If dbranch is set, it receives drop'(dx) (site salt) for the
// residual branch below, so the next backward step needs no extra pass.
// partial: scratch of ln_partial_floats(N, C) floats.
template <class A>
void layernorm_backward(float* dx, float* dw, float* db, const A* dout, const float* x,
                        const float* w, const float* mean, const float* rstd, float* partial,
                        int N, int C, A* dbranch, float p, uint64_t seed, uint64_t salt,
                        cudaStream_t s);
size_t ln_partial_floats(int N, int C);

// ---- ops/residual.cu

// x_out (N,C) f32 = x + drop(branch + bias); ln_out (N,C) A = LN(x_out), with
// mean, rstd saved: the residual add and the next LayerNorm in one pass.
template <class A>
void residual_layernorm_forward(float* x_out, A* ln_out, float* mean, float* rstd, const float* x,
                                const A* branch, const float* bias, const float* w, const float* b,
                                int N, int C, float p, uint64_t seed, uint64_t salt, cudaStream_t s);
// db (C) = column sums of dbranch (N,C); nothing if db is null.
template <class A>
void bias_grad(float* db, const A* dbranch, float* partial, int N, int C, cudaStream_t s);

// ---- ops/gelu.cu

// pre (N,H) A = in + b (saved); out (N,H) A = GELU(pre), tanh approximation.
template <class A>
void bias_gelu_forward(A* pre, A* out, const A* in, const float* b, int N, int H, cudaStream_t s);
// dpre (N,H) A = dout * GELU'(pre); db (H) column sums of dpre (if db).
template <class A>
void gelu_backward(A* dpre, float* db, const A* dout, const A* pre, float* partial, int N, int H,
                   cudaStream_t s);

// ---- ops/crossentropy.cu

// Cross-entropy: loss_rows (N) and dlogits (N,V) A = (softmax - onehot) / N.
template <class A>
void crossentropy_forward_backward(float* loss_rows, A* dlogits, const float* logits,
                                   const uint32_t* targets, int N, int V, bool want_grad,
                                   cudaStream_t s);
// out[0] = mean of x (n), fixed order.
void mean_reduce(float* out, const float* x, int n, cudaStream_t s);

// ---- ops/adamw.cu

// Gradient norm (fixed-order two-stage reduction) then AdamW with clipping:
// the clip factor is read on the device, so the host never waits.
void grad_norm(float* norm, const float* g, size_t n, float* partial, cudaStream_t s);
size_t grad_norm_partial_floats();
void adamw_update(float* params, float* m, float* v, const float* g, const uint8_t* decay,
                  size_t n, float lr, float beta1, float beta2, float eps, float wd,
                  float bias_corr1, float bias_corr2, const float* norm, float clip,
                  cudaStream_t s);

// ---- ops/cast.cu

template <class A>
void cast_f32(A* out, const float* in, size_t n, cudaStream_t s);
void to_f32(float* out, const __nv_bfloat16* in, size_t n, cudaStream_t s);

}  // namespace causalgen::cuda
