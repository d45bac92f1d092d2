#include "block.hpp"

#include "kernels.hpp"

namespace causalgen::block {

Matrix matrix(const Model& m, const float* f32, uint32_t q_offset, uint32_t rows, uint32_t cols) {
  Matrix w{f32, nullptr, nullptr, 0};
  if (!f32 && q_offset) {
    const uint8_t* p = m.bytes + q_offset;
    w.q = reinterpret_cast<const int8_t*>(p);
    w.scales = reinterpret_cast<const float*>(p + int8_scales_offset(rows, cols));
    w.group = m.q_group;
  }
  return w;
}

void linear(float* out, const Matrix& W, const float* b, const float* x, uint32_t rows,
            uint32_t cols, void* q_scratch) {
  if (W.f32) {
    kernels::matvec(out, W.f32, b, x, rows, cols);
    return;
  }
  kernels::linear_q8(out, W.q, W.scales, W.group, b, x, rows, cols, q_scratch);
}

namespace {
// Row `row` of an embedding table (rows x C), f32 or dequantized int8.
inline float embedding_at(const Matrix& t, uint32_t rows, uint32_t C, uint32_t row, uint32_t i) {
  if (t.f32) return t.f32[static_cast<size_t>(row) * C + i];
  return static_cast<float>(t.q[static_cast<size_t>(row) * C + i]) *
         t.scales[static_cast<size_t>(i / t.group) * rows + row];
}
}  // namespace

void embed(const Model& m, uint32_t token, uint32_t pos, float* x) {
  const uint32_t C = m.config.n_embd;
  if (!m.q_wte && !m.q_wpe) {  // f32
    const float* te = m.wte + static_cast<size_t>(token) * C;
    if (m.wpe) {
      const float* pe = m.wpe + static_cast<size_t>(pos) * C;
      for (uint32_t i = 0; i < C; ++i) x[i] = te[i] + pe[i];
    } else {
      for (uint32_t i = 0; i < C; ++i) x[i] = te[i];
    }
    return;
  }
  const uint32_t V = m.config.vocab_size, T = m.config.block_size;
  const Matrix te = matrix(m, m.wte, m.q_wte, V, C);
  const Matrix pe = matrix(m, m.wpe, m.q_wpe, T, C);
  const bool has_pe = m.wpe || m.q_wpe;
  for (uint32_t i = 0; i < C; ++i) {
    const float t = embedding_at(te, V, C, token, i);
    x[i] = has_pe ? t + embedding_at(pe, T, C, pos, i) : t;
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

void residual_and_mlp(const Model& model, uint32_t l, const float* m, float* x, float* h,
                      float* hidden, float* tmp) {
  const uint32_t C = model.config.n_embd;
  const LayerWeights& w = model.layers[l];
  const QuantLayer& q = model.q_layers[l];
  // int8 scratch (2 x inputs bytes) for each product: a buffer that is dead
  // at that point (hidden: 16C bytes, tmp: 4C), or for fc2 its own input.
  linear(tmp, matrix(model, w.wo, q.wo, C, C), w.bo, m, C, C, hidden);
  for (uint32_t i = 0; i < C; ++i) x[i] = x[i] + tmp[i];
  kernels::layernorm(h, x, w.ln2_w, w.ln2_b, C);
  linear(hidden, matrix(model, w.fc1_w, q.fc1_w, 4 * C, C), w.fc1_b, h, 4 * C, C, tmp);
  kernels::gelu_inplace(hidden, 4 * C);
  linear(tmp, matrix(model, w.fc2_w, q.fc2_w, C, 4 * C), w.fc2_b, hidden, C, 4 * C, hidden);
  for (uint32_t i = 0; i < C; ++i) x[i] = x[i] + tmp[i];
}

void logits(const Model& m, const float* x, float* h, float* out, void* q_scratch) {
  const uint32_t C = m.config.n_embd, V = m.config.vocab_size;
  kernels::layernorm(h, x, m.lnf_w, m.lnf_b, C);
  linear(out, matrix(m, m.wte, m.q_wte, V, C), nullptr, h, V, C, q_scratch);
}

void qkv(const Model& m, uint32_t l, const float* h, float* out, void* q_scratch) {
  const uint32_t C = m.config.n_embd;
  const LayerWeights& w = m.layers[l];
  linear(out, matrix(m, w.wqkv, m.q_layers[l].wqkv, 3 * C, C), w.bqkv, h, 3 * C, C, q_scratch);
}

}  // namespace causalgen::block
