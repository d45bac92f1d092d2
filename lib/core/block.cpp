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

}  // namespace causalgen::block
