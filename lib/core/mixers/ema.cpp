// Static multi-scale decays (parameter-free): each channel keeps an
// exponential moving average of h whose rate is fixed by the channel's group,
//   a_0 = h_0,   a_t = a_{t-1} + w_i (h_t - a_{t-1}),   w_i = 2^-k_i,
// k_i = ema_rate_log2(config, i) in 1 .. S (S = ema_scales: half-lives from
// one position to about 2.8 T). `ema` outputs a_t; `max-ema` is `max-avg`
// with a_t in place of the running mean: max(h_t, h_{t-1}, a_t), h_{-1} := h_0.
//
// The weights are powers of two, so w (h - a) is exact and every target gets
// the same bits; the update contracts (|1 - w| < 1), so rounding errors decay
// instead of accumulating: no compensation is needed over long streams.
//
// State per layer: a (C); max-ema also prev (C).
#include <cstring>

#include "mixer.hpp"

namespace causalgen {

uint32_t ema_scales(const Config& c) {
  uint32_t k = 0;  // ceil(log2(T))
  while ((uint64_t(1) << k) < c.block_size) ++k;
  return k + 2;
}

namespace {
// Channel i of C in S equal groups: group g has rate 2^-(g+1).
uint32_t rate_log2(uint32_t i, uint32_t S, uint32_t C) {
  return 1 + static_cast<uint32_t>(uint64_t(i) * S / C);
}
}  // namespace

uint32_t ema_rate_log2(const Config& c, uint32_t channel) {
  return rate_log2(channel, ema_scales(c), c.n_embd);
}

namespace mixers {

extern const MixerDesc kEma, kMaxEma;  // registry.cpp lists them

namespace {

// m (C) from h and, for max-ema, prev; a (C) is updated with h first (at the
// first position a = h).
template <bool kMax>
void mix(const Config& c, const float* h, const float* prev, float* a, bool first, float* m) {
  const uint32_t C = c.n_embd, S = ema_scales(c);
  for (uint32_t i = 0; i < C; ++i) {
    const float w = 1.0f / static_cast<float>(1u << rate_log2(i, S, C));  // exact
    a[i] = first ? h[i] : a[i] + w * (h[i] - a[i]);
    float v = a[i];
    if (kMax) {  // ties keep the earlier argument in (h_t, h_{t-1}, a_t)
      v = h[i];
      if (prev[i] > v) v = prev[i];
      if (a[i] > v) v = a[i];
    }
    m[i] = v;
  }
}

template <bool kMax>
size_t state_floats(const Config& c, uint32_t) {
  return kMax ? 2 * round4(c.n_embd) : c.n_embd;  // a [, prev]
}
size_t no_scratch(const Config&) { return 0; }

template <bool kMax>
void step(const StepArgs& s) {
  const Config& c = s.model->config;
  float* a = s.state;
  float* prev = kMax ? s.state + round4(c.n_embd) : nullptr;
  mix<kMax>(c, s.h, s.t == 0 ? s.h : prev, a, s.t == 0, s.m);
  if (kMax) std::memcpy(prev, s.h, c.n_embd * sizeof(float));
}

size_t sequence_scratch_floats(const Config& c, uint32_t) { return round4(c.n_embd); }  // a

template <bool kMax>
void sequence(const SequenceArgs& s) {
  const Config& c = s.model->config;
  const uint32_t C = c.n_embd;
  for (uint32_t t = 0; t < s.n; ++t) {
    const float* h = s.H + size_t(t) * C;
    mix<kMax>(c, h, t == 0 ? h : h - C, s.scratch, t == 0, s.M + size_t(t) * C);
  }
}

template <bool kMax>
constexpr MixerDesc ema(Mixer code, const char* name) {
  return {code,        name,                    false,         nullptr, 0, state_floats<kMax>,
          no_scratch,  step<kMax>, sequence_scratch_floats, sequence<kMax>};
}

}  // namespace

const MixerDesc kEma = ema<false>(Mixer::ema, "ema");
const MixerDesc kMaxEma = ema<true>(Mixer::max_ema, "max-ema");

}  // namespace mixers
}  // namespace causalgen
