// The network's operations around the mixers (mixers/), each forward beside
// its backward. Row-major
// arrays; N = B*T rows (batch b, position t -> row b*T + t); C = n_embd.
// Backward functions ADD (+=) into every gradient they produce unless the
// comment says "writes". Templates are instantiated for float (training) and
// double (finite-difference gradient checks in the tests).
// Threading: OpenMP static schedules over rows (or over channels, for
// parameter gradients that sum over rows), so results are reproducible for a
// thread count; sums over rows run in row order inside one thread. Called
// inside a parallel region (the data-parallel trainer), they run serially.
#pragma once
#include <cstddef>
#include <cstdint>

#include "causalgen/config.hpp"

namespace causalgen::train {

// Dropout with probability p at one site: x[i] *= keep(key, index0 + i) / (1 - p).
// The mask comes from a counter hash of (key, index), so the backward pass
// (the same call on the gradient) regenerates it, and a batch split into
// parts (index0 = the part's first element) gets the masks of the whole.
// p == 0: nothing.
template <class T>
void dropout(T* x, size_t n, float p, uint64_t key, uint64_t index0 = 0);

// out (N x C) = wte[tok] (+ wpe[t]);  wte V x C, wpe T x C or null.
template <class T>
void embedding_forward(T* out, const uint32_t* tok, const T* wte, const T* wpe, int B, int Tn,
                       int C);
// dwte (V x C) += scatter of dout by token; dwpe (T x C) += sum over b.
template <class T>
void embedding_backward(T* dwte, T* dwpe, const T* dout, const uint32_t* tok, int B, int Tn,
                        int C);

// LayerNorm over each row of x (N x C), eps 1e-5, biased variance:
// out = (x - mean) * rstd * w + b; writes mean (N), rstd (N). b may be null.
template <class T>
void layernorm_forward(T* out, T* mean, T* rstd, const T* x, const T* w, const T* b, int N, int C);
// dx (N x C) +=, dw (C) +=, db (C) += (db may be null).
template <class T>
void layernorm_backward(T* dx, T* dw, T* db, const T* dout, const T* x, const T* mean,
                        const T* rstd, const T* w, int N, int C);

// out (N x OC) writes = inp (N x IC) . W^T + b;  W is OC x IC (y = W x), b (OC) or null.
template <class T>
void matmul_forward(T* out, const T* inp, const T* W, const T* b, int N, int IC, int OC);
// dinp (N x IC) writes (accumulate_dinp: +=) dout . W; dW (OC x IC) += dout^T . inp;
// db (OC) += column sums of dout. dinp may be null (not needed).
template <class T>
void matmul_backward(T* dinp, T* dW, T* db, const T* dout, const T* inp, const T* W, int N,
                     int IC, int OC, bool accumulate_dinp);

// GELU, tanh approximation (as nanoGPT): out (n) writes = gelu(x).
template <class T>
void gelu_forward(T* out, const T* x, size_t n);
// dx (n) writes = dout * gelu'(x). dx may alias dout.
template <class T>
void gelu_backward(T* dx, const T* dout, const T* x, size_t n);

// Softmax cross-entropy over logits (N x V), in place: logits become the
// probabilities; losses (N) writes -log p[target]. Returns the mean (double sum
// in row order).
template <class T>
double crossentropy_forward(T* logits, T* losses, const uint32_t* targets, int N, int V);
// In place: probs (N x V) becomes dlogits = (probs - onehot(target)) * scale.
template <class T>
void crossentropy_backward(T* probs, const uint32_t* targets, int N, int V, T scale);

}  // namespace causalgen::train
