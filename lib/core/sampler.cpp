#include "causalgen/sampler.hpp"

#include <algorithm>

#include "kernels.hpp"

namespace causalgen {

void Pcg32::seed(uint64_t seed, uint64_t stream) {
  state = 0;
  inc = (stream << 1) | 1;
  next_u32();
  state += seed;
  next_u32();
}

uint32_t Pcg32::next_u32() {
  const uint64_t old = state;
  state = old * 6364136223846793005ULL + inc;
  const uint32_t xorshifted = static_cast<uint32_t>(((old >> 18) ^ old) >> 27);
  const uint32_t rot = static_cast<uint32_t>(old >> 59);
  return (xorshifted >> rot) | (xorshifted << ((32 - rot) & 31));
}

float Pcg32::next_float() { return static_cast<float>(next_u32() >> 8) * (1.0f / 16777216.0f); }

Status validate_sampler(const SamplerParams& p, Error* err) {
  if (!(p.temperature >= 0.0f) || p.temperature > 100.0f)
    return fail(err, Status::bad_argument, "temperature %g outside 0..100", double(p.temperature));
  if (!(p.top_p > 0.0f) || p.top_p > 1.0f)
    return fail(err, Status::bad_argument, "top-p %g outside (0, 1]", double(p.top_p));
  return Status::ok;
}

uint32_t sample_token(const float* logits, uint32_t V, const SamplerParams& p, Pcg32* rng,
                      float* probs, uint32_t* order) {
  // Greedy: the first maximum. (Consumes no randomness.)
  if (p.temperature <= 0.0f) {
    uint32_t best = 0;
    for (uint32_t i = 1; i < V; ++i)
      if (logits[i] > logits[best]) best = i;
    return best;
  }
  float mx = logits[0];
  for (uint32_t i = 1; i < V; ++i) mx = logits[i] > mx ? logits[i] : mx;
  for (uint32_t i = 0; i < V; ++i) probs[i] = kernels::exp_f32((logits[i] - mx) / p.temperature);

  uint32_t kept = V;
  const bool filter = (p.top_k > 0 && p.top_k < V) || p.top_p < 1.0f;
  for (uint32_t i = 0; i < V; ++i) order[i] = i;
  if (filter) {
    // Descending probability, ties to the lower id: a total order, so every
    // sort implementation gives the same sequence.
    std::sort(order, order + V, [probs](uint32_t a, uint32_t b) {
      return probs[a] > probs[b] || (probs[a] == probs[b] && a < b);
    });
    if (p.top_k > 0 && p.top_k < kept) kept = p.top_k;
    if (p.top_p < 1.0f) {
      float total = 0.0f;
      for (uint32_t i = 0; i < kept; ++i) total = total + probs[order[i]];
      const float limit = p.top_p * total;
      float cum = 0.0f;
      uint32_t n = 0;
      while (n < kept) {
        cum = cum + probs[order[n]];
        ++n;
        if (cum >= limit) break;
      }
      kept = n;
    }
  }
  float total = 0.0f;
  for (uint32_t i = 0; i < kept; ++i) total = total + probs[order[i]];
  const float u = rng->next_float() * total;
  float cum = 0.0f;
  for (uint32_t i = 0; i < kept; ++i) {
    cum = cum + probs[order[i]];
    if (u < cum) return order[i];
  }
  return order[kept - 1];  // u rounded up to the total
}

}  // namespace causalgen
