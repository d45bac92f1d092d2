#include "block.hpp"

#include "kernels.hpp"

namespace causalgen::block {

void embed(const Model& m, uint32_t token, uint32_t pos, float* x) {
  const uint32_t C = m.config.n_embd;
  const float* te = m.wte + static_cast<size_t>(token) * C;
  if (m.wpe) {
    const float* pe = m.wpe + static_cast<size_t>(pos) * C;
    for (uint32_t i = 0; i < C; ++i) x[i] = te[i] + pe[i];
  } else {
    for (uint32_t i = 0; i < C; ++i) x[i] = te[i];
  }
}

void shift_mix(Mixer mixer, const float* h, const float* prev, float* sum, float* comp,
               uint64_t count, uint32_t C, float* m) {
  switch (mixer) {
    case Mixer::max:
      for (uint32_t i = 0; i < C; ++i) m[i] = h[i] >= prev[i] ? h[i] : prev[i];
      return;
    case Mixer::min:
      for (uint32_t i = 0; i < C; ++i) m[i] = h[i] <= prev[i] ? h[i] : prev[i];
      return;
    case Mixer::max_avg:
    case Mixer::min_avg: {
      const bool is_max = mixer == Mixer::max_avg;
      const float n = static_cast<float>(count);
      for (uint32_t i = 0; i < C; ++i) {
        // Kahan summation: comp carries the low-order bits lost by sum.
        const float y = h[i] - comp[i];
        const float t = sum[i] + y;
        comp[i] = (t - sum[i]) - y;
        sum[i] = t;
        const float a = t / n;
        float v = h[i];
        if (is_max) {
          if (prev[i] > v) v = prev[i];
          if (a > v) v = a;
        } else {
          if (prev[i] < v) v = prev[i];
          if (a < v) v = a;
        }
        m[i] = v;
      }
      return;
    }
    case Mixer::attention:
      return;  // not a shift mixer
  }
}

void attention_mix(const float* q, const float* K, const float* V, uint32_t t, uint32_t C,
                   uint32_t H, float* att, float* m) {
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

void residual_and_mlp(const LayerWeights& w, uint32_t C, const float* m, float* x,
                      float* h, float* hidden, float* tmp) {
  kernels::matvec(tmp, w.wo, w.bo, m, C, C);
  for (uint32_t i = 0; i < C; ++i) x[i] = x[i] + tmp[i];
  kernels::layernorm(h, x, w.ln2_w, w.ln2_b, C);
  kernels::matvec(hidden, w.fc1_w, w.fc1_b, h, 4 * C, C);
  for (uint32_t i = 0; i < 4 * C; ++i) hidden[i] = kernels::gelu(hidden[i]);
  kernels::matvec(tmp, w.fc2_w, w.fc2_b, hidden, C, 4 * C);
  for (uint32_t i = 0; i < C; ++i) x[i] = x[i] + tmp[i];
}

void logits(const Model& m, const float* x, float* h, float* out) {
  const uint32_t C = m.config.n_embd;
  kernels::layernorm(h, x, m.lnf_w, m.lnf_b, C);
  kernels::matvec(out, m.wte, nullptr, h, m.config.vocab_size, C);
}

}  // namespace causalgen::block
