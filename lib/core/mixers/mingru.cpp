// A gated linear recurrence, minGRU-style (Feng et al., arXiv 2410.01201):
//   u = W h_t + b (2C): rows [0, C) the gate's input, rows [C, 2C) the candidate
//   z = sigmoid(u[0..C)),  c = u[C..2C)
//   s_t = (1 - z) s_{t-1} + z c,   s_{-1} = 0;   m_t = s_t
// The gate depends on the current position only, so training can scan the
// window; generation keeps s. Its W and b take the place of attention's Wqkv.
//
// State per layer: s (C).
#include "../block.hpp"
#include "../kernels.hpp"
#include "mixer.hpp"

namespace causalgen::mixers {

extern const MixerDesc kMinGru;  // registry.cpp lists it

namespace {

const TensorRow kTensors[] = {
    {TensorRole::mixer_w, "mingru.w", Dim::C2, Dim::C, TensorKind::matrix, false},
    {TensorRole::mixer_b, "mingru.b", Dim::one, Dim::C2, TensorKind::bias, false},
};

// s (C) from the previous s (prev, null at the first position) and h; u is
// scratch of 2C floats. s may be prev.
void recur(const Model& m, uint32_t l, const float* h, const float* prev, float* u,
           void* q_scratch, float* s) {
  const uint32_t C = m.config.n_embd;
  const LayerWeights& w = m.layers[l];
  block::linear(u, block::matrix(m, w.wqkv, m.q_layers[l].wqkv, 2 * C, C), w.bqkv, h, 2 * C, C,
                q_scratch);
  for (uint32_t i = 0; i < C; ++i) {
    const float z = 1.0f / (1.0f + kernels::exp_f32(-u[i]));
    const float keep = 1.0f - z;
    const float before = prev ? prev[i] : 0.0f;
    s[i] = keep * before + z * u[C + i];
  }
}

size_t state_floats(const Config& c, uint32_t) { return c.n_embd; }
size_t scratch_floats(const Config& c) { return round4(2 * c.n_embd); }
size_t sequence_scratch_floats(const Config& c, uint32_t) { return scratch_floats(c); }

void step(const StepArgs& a) {
  const uint32_t C = a.model->config.n_embd;
  // After a reset the state is zero, which is s_{-1}; passing it keeps one path.
  recur(*a.model, a.layer, a.h, a.state, a.scratch, a.q_scratch, a.state);
  for (uint32_t i = 0; i < C; ++i) a.m[i] = a.state[i];
}

void sequence(const SequenceArgs& a) {
  const uint32_t C = a.model->config.n_embd;
  for (uint32_t t = 0; t < a.n; ++t) {
    float* s = a.M + size_t(t) * C;
    recur(*a.model, a.layer, a.H + size_t(t) * C, t == 0 ? nullptr : s - C, a.scratch,
          a.q_scratch, s);
  }
}

}  // namespace

const MixerDesc kMinGru = {Mixer::mingru, "mingru", false, kTensors, 2,
                           state_floats,  scratch_floats, step,
                           sequence_scratch_floats, sequence};

}  // namespace causalgen::mixers
