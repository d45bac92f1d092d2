// The fixed-size generation state (DESIGN.md §1, recurrent form) and the
// per-character step. All memory comes from one caller-supplied arena whose
// size state_bytes() computes from the config; nothing here allocates.
//
// Per shift layer: prev (C, the previous position's LN1 output) and a running
// sum of LN1 outputs kept as a Kahan pair (sum, compensation; 2C) so that the
// average stays accurate over millions of characters. Per attention layer: a
// K/V cache of T positions. Window-limited models (position embedding or
// attention) also keep the last T tokens, to re-encode when the window slides.
#pragma once
#include <cstddef>
#include <cstdint>
#include "causalgen/model_file.hpp"

namespace causalgen {

struct LayerState {
  float* prev;  // C   (shift layers)
  float* sum;   // C   (shift layers with an average)
  float* comp;  // C   Kahan compensation for sum
  float* k;     // T x C (attention layers)
  float* v;     // T x C
};

struct State {
  const Model* model;
  uint64_t position;     // characters fed since the last reset
  uint64_t window_len;   // positions in the current window (== position for unlimited models)
  LayerState layers[kMaxLayers];
  float *x, *h, *mix, *tmp, *hidden, *qkv, *att;  // scratch: C, C, C, C, 4C, 3C, T
  float* logits;      // V, valid after a feed
  float* probs;       // V, sampler scratch
  uint32_t* order;    // V, sampler scratch
  uint32_t* history;  // T, last tokens (window-limited models only)
};

// Bytes for the State struct and everything it points to.
size_t state_bytes(const Config& c);

// Carves a State out of mem (16-byte aligned) and resets it.
Status state_init(const Model& m, void* mem, size_t bytes, State** out, Error* err);
void state_reset(State* s);

// Feeds one token; afterwards s->logits holds the next-token logits.
// Past T positions, a window-limited model re-encodes the last T tokens.
Status state_feed(State* s, uint32_t token, Error* err);

}  // namespace causalgen
