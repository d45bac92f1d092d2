// The fixed-size generation state (DESIGN.md §1, recurrent form) and the
// per-character step. All memory comes from one caller-supplied arena whose
// size state_bytes() computes from the config; nothing here allocates.
//
// Each layer keeps what its mixer's step needs (its descriptor in
// lib/core/mixers/ says what and how much): for the shift mixers the previous
// position's LN1 output and, for the -avg forms, a running sum kept as a Kahan
// pair; for attention a K/V cache of T positions. Window-limited models
// (position embedding or a window-limited mixer) also keep the last T tokens,
// to re-encode when the window slides.
#pragma once
#include <cstddef>
#include <cstdint>
#include "causalgen/model_file.hpp"

namespace causalgen {


struct State {
  const Model* model;
  uint64_t position;     // characters fed since the last reset
  uint64_t window_len;   // positions in the current window (== position for unlimited models)
  float* layers[kMaxLayers];  // each layer's mixer state (layer_state_floats)
  float *x, *h, *mix, *tmp, *hidden;  // scratch: C, C, C, C, 4C
  float* mixer_scratch;  // the largest step scratch of any layer's mixer
  float* logits;      // V, valid after a feed
  float* probs;       // V, sampler scratch
  uint32_t* order;    // V, sampler scratch
  uint32_t* history;  // T, last tokens (window-limited models only)
};

// Bytes for the State struct and everything it points to.
size_t state_bytes(const Config& c);
// Floats of layer l's mixer state (0 for an unknown mixer).
size_t layer_state_floats(const Config& c, uint32_t l);

// Carves a State out of mem (16-byte aligned) and resets it.
Status state_init(const Model& m, void* mem, size_t bytes, State** out, Error* err);
void state_reset(State* s);

// Feeds one token; afterwards s->logits holds the next-token logits.
// Past T positions, a window-limited model re-encodes the last T tokens.
Status state_feed(State* s, uint32_t token, Error* err);

}  // namespace causalgen
