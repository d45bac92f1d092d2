// Forward pass over a whole sequence, layer by layer (the form training and
// evaluation use). Bit-identical to feeding the same tokens one at a time
// through a State (step.hpp): both call the same kernels in the same order.
#pragma once
#include <cstddef>
#include <cstdint>
#include "causalgen/model_file.hpp"

namespace causalgen {

// Bytes of scratch forward_sequence needs for n positions.
size_t forward_arena_bytes(const Config& c, uint32_t n);

// logits: n x V floats. For window-limited models n must be <= T
// (window_exceeded otherwise). arena must be 16-byte aligned.
Status forward_sequence(const Model& m, const uint32_t* tokens, uint32_t n, float* logits,
                        void* arena, size_t arena_bytes, Error* err);

}  // namespace causalgen
