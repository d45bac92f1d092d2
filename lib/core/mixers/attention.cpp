// Standard causal multi-head self-attention, the baseline the paper compares
// against: qkv (3C) = Wqkv h (+ bqkv), rows q | k | v, head j owning channels
// j*C/H .. (j+1)*C/H - 1 of each; softmax(q k^T / sqrt(C/H)) v per head.
//
// State per layer: the K and V of every position in the window (T x C each),
// so an attention model is window-limited: past T the state re-encodes.
#include <cstring>

#include "../block.hpp"
#include "../kernels.hpp"
#include "mixer.hpp"

namespace causalgen::mixers {

extern const MixerDesc kAttention;  // registry.cpp lists them

namespace {

const TensorRow kTensors[] = {
    {TensorRole::mixer_w, "attn.wqkv", Dim::C3, Dim::C, TensorKind::matrix, false},
    {TensorRole::mixer_b, "attn.bqkv", Dim::one, Dim::C3, TensorKind::bias, false},
};

// q (C) against K, V (rows 0..t, each C), H heads; att is scratch of t+1
// floats. Writes m (C).
void attend(const float* q, const float* K, const float* V, uint32_t t, uint32_t C, uint32_t H,
            float* att, float* m) {
  const uint32_t hs = C / H;
  const float scale = 1.0f / __builtin_sqrtf(static_cast<float>(hs));
  for (uint32_t head = 0; head < H; ++head) {
    const uint32_t off = head * hs;
    float mx = -__builtin_inff();
    for (uint32_t s = 0; s <= t; ++s) {
      att[s] = kernels::dot(q + off, K + static_cast<size_t>(s) * C + off, hs) * scale;
      if (att[s] > mx) mx = att[s];
    }
    float total = 0.0f;
    for (uint32_t s = 0; s <= t; ++s) {
      att[s] = kernels::exp_f32(att[s] - mx);
      total = total + att[s];
    }
    const float inv = 1.0f / total;
    for (uint32_t s = 0; s <= t; ++s) att[s] = att[s] * inv;
    float* out = m + off;
    for (uint32_t i = 0; i < hs; ++i) out[i] = 0.0f;
    for (uint32_t s = 0; s <= t; ++s) {
      const float* v = V + static_cast<size_t>(s) * C + off;
      const float p = att[s];
      for (uint32_t i = 0; i < hs; ++i) out[i] = out[i] + p * v[i];
    }
  }
}

// Position t: qkv from h, its k and v stored as row t of K and V, then attend.
void attend_at(const Model& m, uint32_t l, const float* h, uint32_t t, float* K, float* V,
               float* qkv, float* att, void* q_scratch, float* out) {
  const uint32_t C = m.config.n_embd;
  const LayerWeights& w = m.layers[l];
  block::linear(qkv, block::matrix(m, w.wqkv, m.q_layers[l].wqkv, 3 * C, C), w.bqkv, h, 3 * C, C,
                q_scratch);
  std::memcpy(K + static_cast<size_t>(t) * C, qkv + C, C * sizeof(float));
  std::memcpy(V + static_cast<size_t>(t) * C, qkv + 2 * C, C * sizeof(float));
  attend(qkv, K, V, t, C, m.config.n_head, att, out);
}

size_t state_floats(const Config& c, uint32_t) {
  return 2 * round4(size_t(c.block_size) * c.n_embd);
}
size_t step_scratch_floats(const Config& c) { return round4(3 * c.n_embd) + round4(c.block_size); }

void step(const StepArgs& a) {
  const Config& c = a.model->config;
  float* K = a.state;
  float* V = a.state + round4(size_t(c.block_size) * c.n_embd);
  float* qkv = a.scratch;
  float* att = a.scratch + round4(3 * c.n_embd);
  attend_at(*a.model, a.layer, a.h, static_cast<uint32_t>(a.t), K, V, qkv, att, a.q_scratch, a.m);
}

size_t sequence_scratch_floats(const Config& c, uint32_t n) {
  return 2 * round4(size_t(n) * c.n_embd) + round4(3 * c.n_embd) + round4(n);
}

void sequence(const SequenceArgs& a) {
  const uint32_t C = a.model->config.n_embd;
  float* K = a.scratch;
  float* V = K + round4(size_t(a.n) * C);
  float* qkv = V + round4(size_t(a.n) * C);
  float* att = qkv + round4(3 * C);
  for (uint32_t t = 0; t < a.n; ++t)
    attend_at(*a.model, a.layer, a.H + size_t(t) * C, t, K, V, qkv, att, a.q_scratch,
              a.M + size_t(t) * C);
}

}  // namespace

const MixerDesc kAttention = {Mixer::attention, "attention", true, kTensors, 2,
                              state_floats,     step_scratch_floats, step,
                              sequence_scratch_floats, sequence};

}  // namespace causalgen::mixers
