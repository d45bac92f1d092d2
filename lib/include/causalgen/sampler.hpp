// Sampling the next character from logits: greedy, temperature, top-k, top-p,
// driven by PCG32 (O'Neill's pcg32, XSH-RR) seeded explicitly, so the same
// model, prompt and seed give the same text on every platform.
#pragma once
#include <cstdint>
#include "causalgen/status.hpp"

namespace causalgen {

struct Pcg32 {
  uint64_t state = 0, inc = 1;
  void seed(uint64_t seed, uint64_t stream = 0xda3e39cb94b95bdbULL);
  uint32_t next_u32();
  float next_float();  // uniform in [0, 1), 24 random bits
};

struct SamplerParams {
  float temperature = 1.0f;  // 0 = greedy (argmax, ties to the lowest id)
  uint32_t top_k = 0;        // 0 = off
  float top_p = 1.0f;        // 1 = off; keeps the smallest set with mass >= top_p
};

Status validate_sampler(const SamplerParams& p, Error* err);

// probs and order are V-element scratch arrays (a State has them).
uint32_t sample_token(const float* logits, uint32_t V, const SamplerParams& p, Pcg32* rng,
                      float* probs, uint32_t* order);

}  // namespace causalgen
