// One position's worth of each piece of the network around the mixers
// (mixers/), shared by the sequence forward (forward.cpp) and the recurrent
// step (state.cpp) so that both produce the same bits. Shapes are in floats; C = n_embd.
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

// x += Wo m + bo, then x += fc2 GELU(fc1 LN2(x) + b1) + b2 for layer l.
// Scratch: h (C), hidden (4C), tmp (C); int8 matrices quantize their input
// into whichever of them is free at that point (hidden, tmp, or hidden itself).
void residual_and_mlp(const Model& model, uint32_t l, const float* m, float* x, float* h,
                      float* hidden, float* tmp);

// logits (V) = wte . LN_f(x); h (C) scratch, q_scratch (2C bytes) for int8.
void logits(const Model& m, const float* x, float* h, float* out, void* q_scratch);

}  // namespace causalgen::block
