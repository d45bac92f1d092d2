// One position's worth of each piece of the network, shared by the sequence
// forward (forward.cpp) and the recurrent step (state.cpp) so that both produce
// the same bits. Shapes are in floats; C = n_embd.
#pragma once
#include <cstdint>
#include "causalgen/model_file.hpp"

namespace causalgen::block {

// A weight matrix as stored: f32 values, or int8 values with group-major
// per-group scales (model_file.hpp). Exactly one of f32 and q is set.
struct Matrix {
  const float* f32;
  const int8_t* q;
  const float* scales;
  uint32_t group;
};
// The matrix with f32 pointer f32 or int8 data at byte offset q_offset.
Matrix matrix(const Model& m, const float* f32, uint32_t q_offset, uint32_t rows, uint32_t cols);

// out (rows) = W x (+ b). For an int8 W, x is first quantized into
// q_scratch (2 * cols bytes, 4-byte aligned, not overlapping out; it may be x
// itself, which is then overwritten); f32 ignores q_scratch.
void linear(float* out, const Matrix& W, const float* b, const float* x, uint32_t rows,
            uint32_t cols, void* q_scratch);

// x (C) = wte[token] (+ wpe[pos])
void embed(const Model& m, uint32_t token, uint32_t pos, float* x);

// Shift mixer: m (C) from h (C, this position's LN1 output) and prev (C, the
// previous position's; h itself at the first). For the -avg mixers the Kahan
// pair (sum, comp) is updated with h first, then a = sum / count.
void shift_mix(Mixer mixer, const float* h, const float* prev, float* sum, float* comp,
               uint64_t count, uint32_t C, float* m);

// Causal attention for position t: q (C) against K, V (rows 0..t, each C),
// H heads; att is scratch of t+1 floats. Writes m (C).
void attention_mix(const float* q, const float* K, const float* V, uint32_t t, uint32_t C,
                   uint32_t H, float* att, float* m);

// x += Wo m + bo, then x += fc2 GELU(fc1 LN2(x) + b1) + b2 for layer l.
// Scratch: h (C), hidden (4C), tmp (C); int8 matrices quantize their input
// into whichever of them is free at that point (hidden, tmp, or hidden itself).
void residual_and_mlp(const Model& model, uint32_t l, const float* m, float* x, float* h,
                      float* hidden, float* tmp);

// logits (V) = wte . LN_f(x); h (C) scratch, q_scratch (2C bytes) for int8.
void logits(const Model& m, const float* x, float* h, float* out, void* q_scratch);

// qkv (3C) = Wqkv h (+ bqkv) for attention layer l; q_scratch (2C bytes) for int8.
void qkv(const Model& m, uint32_t l, const float* h, float* out, void* q_scratch);

}  // namespace causalgen::block
