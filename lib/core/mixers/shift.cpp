// The paper's shift mixers (DESIGN.md §1): m_t = max or min of h_t, h_{t-1}
// and, for the -avg forms, the causal running mean a_t. h_0 := h_1, so the
// first position passes through. No tensors of their own.
//
// State per layer: prev (C), and for the -avg forms the running sum as a
// Kahan pair (sum, comp: C each) so that the mean stays exact over millions
// of characters.
#include <cstring>

#include "mixer.hpp"

namespace causalgen::mixers {

extern const MixerDesc kMax, kMin, kMaxAvg, kMinAvg;  // registry.cpp lists them

namespace {

// m (C) from h, prev and, with avg, the running Kahan pair updated with h
// first (count = positions so far, this one included).
template <bool kMax, bool kAvg>
void mix(const float* h, const float* prev, float* sum, float* comp, uint64_t count, uint32_t C,
         float* m) {
  const float n = static_cast<float>(count);
  for (uint32_t i = 0; i < C; ++i) {
    float v = h[i];
    if (kAvg) {
      // Kahan summation: comp carries the low-order bits lost by sum.
      const float y = h[i] - comp[i];
      const float t = sum[i] + y;
      comp[i] = (t - sum[i]) - y;
      sum[i] = t;
      const float a = t / n;
      if (kMax) {
        if (prev[i] > v) v = prev[i];
        if (a > v) v = a;
      } else {
        if (prev[i] < v) v = prev[i];
        if (a < v) v = a;
      }
    } else {
      // Ties keep h (the first argument), as every backend does.
      v = kMax ? (h[i] >= prev[i] ? h[i] : prev[i]) : (h[i] <= prev[i] ? h[i] : prev[i]);
    }
    m[i] = v;
  }
}

template <bool kAvg>
size_t state_floats(const Config& c, uint32_t) {
  return size_t(c.n_embd) * (kAvg ? 3 : 1);  // prev [, sum, comp]
}
size_t no_scratch(const Config&) { return 0; }

template <bool kMax, bool kAvg>
void step(const StepArgs& a) {
  const uint32_t C = a.model->config.n_embd;
  float* prev = a.state;
  float* sum = kAvg ? a.state + C : nullptr;
  float* comp = kAvg ? a.state + 2 * C : nullptr;
  mix<kMax, kAvg>(a.h, a.t == 0 ? a.h : prev, sum, comp, a.t + 1ull, C, a.m);
  std::memcpy(prev, a.h, C * sizeof(float));
}

template <bool kAvg>
size_t sequence_scratch_floats(const Config& c, uint32_t) {
  return kAvg ? 2 * round4(c.n_embd) : 0;  // sum, comp
}

template <bool kMax, bool kAvg>
void sequence(const SequenceArgs& a) {
  const uint32_t C = a.model->config.n_embd;
  float* sum = a.scratch;
  float* comp = kAvg ? a.scratch + round4(C) : nullptr;
  if (kAvg) {
    std::memset(sum, 0, C * sizeof(float));
    std::memset(comp, 0, C * sizeof(float));
  }
  for (uint32_t t = 0; t < a.n; ++t) {
    const float* h = a.H + size_t(t) * C;
    const float* prev = t == 0 ? h : h - C;  // h_0 := h_1
    mix<kMax, kAvg>(h, prev, sum, comp, t + 1ull, C, a.M + size_t(t) * C);
  }
}

template <bool kMax, bool kAvg>
constexpr MixerDesc shift(Mixer code, const char* name) {
  return {code,           name,           false, nullptr, 0, state_floats<kAvg>, no_scratch,
          step<kMax, kAvg>, sequence_scratch_floats<kAvg>, sequence<kMax, kAvg>};
}

}  // namespace

const MixerDesc kMax = shift<true, false>(Mixer::max, "max");
const MixerDesc kMin = shift<false, false>(Mixer::min, "min");
const MixerDesc kMaxAvg = shift<true, true>(Mixer::max_avg, "max-avg");
const MixerDesc kMinAvg = shift<false, true>(Mixer::min_avg, "min-avg");

}  // namespace causalgen::mixers
