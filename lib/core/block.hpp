// One position's worth of each piece of the network, shared by the sequence
// forward (forward.cpp) and the recurrent step (state.cpp) so that both produce
// the same bits. Shapes are in floats; C = n_embd.
#pragma once
#include <cstdint>
#include "causalgen/model_file.hpp"

namespace causalgen::block {

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

// x += Wo m + bo, then x += fc2 GELU(fc1 LN2(x) + b1) + b2.
// Scratch: h (C), hidden (4C), tmp (C).
void residual_and_mlp(const LayerWeights& w, uint32_t C, const float* m,
                      float* x, float* h, float* hidden, float* tmp);

// logits (V) = wte . LN_f(x); h (C) scratch.
void logits(const Model& m, const float* x, float* h, float* out);

}  // namespace causalgen::block
