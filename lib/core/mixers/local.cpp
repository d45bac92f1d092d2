// Local (sliding-window) attention with rotary position embedding:
//   qkv = Wqkv h + bqkv (3C), rows q | k | v and heads as attention's;
//   q and k of position t rotated by RoPE at the absolute position t
//   (rope_cos_sin), then softmax attention of q_t over the keys of the last
//   W positions max(0, t - W + 1) .. t (W = Config::window[layer] <= T).
// Scores depend on positions only through their distance, so the layer needs
// no position embedding and generation never has to re-encode: the state is a
// ring buffer of the last W rotated keys and values (slot t mod W), and the
// position is the state's own counter. Bounded state, constant cost per step.
//
// State per layer: K and V rings, W x C each.
#include <cstring>

#include "../block.hpp"
#include "../kernels.hpp"
#include "mixer.hpp"

namespace causalgen {

namespace {
// Pair j turns by 10000^(-2j/hs) radians per position; as 64-bit fixed-point
// turns (2^64 = one turn) so that a position's phase is an exact product.
uint64_t turns_per_position(uint32_t pair, uint32_t head_size) {
  const float a = static_cast<float>(2 * pair) / static_cast<float>(head_size);
  const float theta = kernels::exp_f32(-(a * 9.21034037f));  // ln 10000
  const float turns = theta * 0.159154943f;                  // 1 / (2 pi)
  return static_cast<uint64_t>(turns * 18446744073709551616.0f);  // exact: x 2^64, integral
}

// cos and sin of the angle `phase` / 2^64 turns: the nearest quarter turn,
// then Taylor polynomials on the remainder (|x| <= pi/4).
void cos_sin(uint64_t phase, float* c, float* s) {
  const uint32_t quarter = static_cast<uint32_t>((phase + (uint64_t(1) << 61)) >> 62);
  const int64_t rest = static_cast<int64_t>(phase - (uint64_t(quarter) << 62));
  const float x = static_cast<float>(rest >> 38) * (6.28318531f / 67108864.0f);  // 2 pi / 2^26, exact
  const float x2 = x * x;
  float ps = 2.75573192e-06f;
  ps = ps * x2 + -1.98412698e-04f;
  ps = ps * x2 + 8.33333333e-03f;
  ps = ps * x2 + -1.66666667e-01f;
  const float sn = x + (x * x2) * ps;
  float pc = 2.48015873e-05f;
  pc = pc * x2 + -1.38888889e-03f;
  pc = pc * x2 + 4.16666667e-02f;
  pc = pc * x2 + -0.5f;
  const float cs = 1.0f + x2 * pc;
  switch (quarter) {
    case 0: *c = cs, *s = sn; break;
    case 1: *c = -sn, *s = cs; break;
    case 2: *c = -cs, *s = -sn; break;
    default: *c = sn, *s = -cs; break;
  }
}
}  // namespace

void rope_cos_sin(uint64_t position, uint32_t head_size, float* cos, float* sin) {
  for (uint32_t j = 0; j < head_size / 2; ++j)
    cos_sin(position * turns_per_position(j, head_size), &cos[j], &sin[j]);
}

namespace mixers {

extern const MixerDesc kLocal;  // registry.cpp lists it

namespace {

const TensorRow kTensors[] = {
    {TensorRole::mixer_w, "attn.wqkv", Dim::C3, Dim::C, TensorKind::matrix, false},
    {TensorRole::mixer_b, "attn.bqkv", Dim::one, Dim::C3, TensorKind::bias, false},
};

// Rotates channel pairs (2j, 2j + 1) of every head of v (C) by the angles
// whose cosines and sines are cs, sn (hs / 2 each).
void rotate(float* v, uint32_t C, uint32_t hs, const float* cs, const float* sn) {
  for (uint32_t off = 0; off < C; off += hs)
    for (uint32_t j = 0; j < hs / 2; ++j) {
      float* p = v + off + 2 * j;
      const float a = p[0], b = p[1];
      p[0] = a * cs[j] - b * sn[j];
      p[1] = a * sn[j] + b * cs[j];
    }
}

// q (C) against the n = min(t + 1, W) newest rows of the rings K, V (W x C;
// position u in slot u mod W), oldest first; att: scratch of W floats.
void attend(const float* q, const float* K, const float* V, uint64_t t, uint32_t W, uint32_t C,
            uint32_t H, float* att, float* m) {
  const uint32_t hs = C / H;
  const float scale = 1.0f / __builtin_sqrtf(static_cast<float>(hs));
  const uint64_t first = t + 1 > W ? t + 1 - W : 0;
  const uint32_t n = static_cast<uint32_t>(t + 1 - first);
  // Ring row of the i-th oldest position: one 64-bit division per call, not
  // one per key (a library call on 32-bit targets).
  const uint32_t first_row = static_cast<uint32_t>(first % W);
  auto slot = [&](uint32_t i) {
    const uint32_t row = first_row + i;  // < 2W <= 2^17
    return static_cast<size_t>(row < W ? row : row - W) * C;
  };
  for (uint32_t head = 0; head < H; ++head) {
    const uint32_t off = head * hs;
    float mx = -__builtin_inff();
    for (uint32_t i = 0; i < n; ++i) {
      att[i] = kernels::dot(q + off, K + slot(i) + off, hs) * scale;
      if (att[i] > mx) mx = att[i];
    }
    float total = 0.0f;
    for (uint32_t i = 0; i < n; ++i) {
      att[i] = kernels::exp_f32(att[i] - mx);
      total = total + att[i];
    }
    const float inv = 1.0f / total;
    for (uint32_t i = 0; i < n; ++i) att[i] = att[i] * inv;
    float* out = m + off;
    for (uint32_t k = 0; k < hs; ++k) out[k] = 0.0f;
    for (uint32_t i = 0; i < n; ++i) {
      const float* v = V + slot(i) + off;
      const float p = att[i];
      for (uint32_t k = 0; k < hs; ++k) out[k] = out[k] + p * v[k];
    }
  }
}

// Scratch of one position: qkv (3C), cos and sin (hs / 2 each), att (T).
struct Scratch {
  float *qkv, *cs, *sn, *att;
};
size_t scratch_floats(const Config& c) {
  const uint32_t hs = c.n_embd / c.n_head;
  return round4(3 * c.n_embd) + 2 * round4(hs / 2 + 1) + round4(c.block_size);
}
Scratch carve(const Config& c, float* base) {
  const uint32_t hs = c.n_embd / c.n_head;
  Scratch s;
  s.qkv = base;
  s.cs = s.qkv + round4(3 * c.n_embd);
  s.sn = s.cs + round4(hs / 2 + 1);
  s.att = s.sn + round4(hs / 2 + 1);
  return s;
}

// Position t: qkv from h, q and k rotated, k and v into slot t mod W, attend.
void attend_at(const Model& m, uint32_t l, const float* h, uint64_t t, float* K, float* V,
               const Scratch& s, void* q_scratch, float* out) {
  const Config& c = m.config;
  const uint32_t C = c.n_embd, H = c.n_head, hs = C / H, W = c.window[l];
  const LayerWeights& w = m.layers[l];
  block::linear(s.qkv, block::matrix(m, w.wqkv, m.q_layers[l].wqkv, 3 * C, C), w.bqkv, h, 3 * C,
                C, q_scratch);
  rope_cos_sin(t, hs, s.cs, s.sn);
  rotate(s.qkv, C, hs, s.cs, s.sn);
  rotate(s.qkv + C, C, hs, s.cs, s.sn);
  const size_t slot = static_cast<size_t>(t % W) * C;
  std::memcpy(K + slot, s.qkv + C, C * sizeof(float));
  std::memcpy(V + slot, s.qkv + 2 * C, C * sizeof(float));
  attend(s.qkv, K, V, t, W, C, H, s.att, out);
}

size_t ring_floats(const Config& c, uint32_t W) { return round4(size_t(W) * c.n_embd); }

size_t state_floats(const Config& c, uint32_t layer) { return 2 * ring_floats(c, c.window[layer]); }

void step(const StepArgs& a) {
  const Config& c = a.model->config;
  float* K = a.state;
  float* V = a.state + ring_floats(c, c.window[a.layer]);
  attend_at(*a.model, a.layer, a.h, a.t, K, V, carve(c, a.scratch), a.q_scratch, a.m);
}

// The rings for any layer's window (W <= T), then one position's scratch.
size_t sequence_scratch_floats(const Config& c, uint32_t) {
  return 2 * ring_floats(c, c.block_size) + scratch_floats(c);
}

void sequence(const SequenceArgs& a) {
  const Config& c = a.model->config;
  const uint32_t C = c.n_embd;
  float* K = a.scratch;
  float* V = K + ring_floats(c, c.block_size);
  const Scratch s = carve(c, V + ring_floats(c, c.block_size));
  for (uint32_t t = 0; t < a.n; ++t)
    attend_at(*a.model, a.layer, a.H + size_t(t) * C, t, K, V, s, a.q_scratch,
              a.M + size_t(t) * C);
}

}  // namespace

const MixerDesc kLocal = {Mixer::local, "local", false, kTensors, 2,
                          state_floats, scratch_floats, step,
                          sequence_scratch_floats, sequence, true};

}  // namespace mixers
}  // namespace causalgen
