#include "causalgen/forward.hpp"

#include <cstring>

#include "block.hpp"
#include "kernels.hpp"

namespace causalgen {

namespace {

// Carves float arrays from an arena in order; sizes in floats, each rounded up
// to 16 bytes so that every array stays aligned.
struct Carver {
  float* p;
  size_t used = 0;
  float* take(size_t n) {
    float* r = p ? p + used : nullptr;
    used += (n + 3) & ~size_t(3);
    return r;
  }
};

struct SeqBuffers {
  float *X, *Hs, *M, *K, *V, *qkv, *att, *h, *hidden, *tmp, *sum, *comp;
};

size_t carve(const Config& c, uint32_t n, float* base, SeqBuffers* b) {
  const size_t C = c.n_embd, N = n;
  const bool attn = c.has_attention();
  Carver k{base};
  b->X = k.take(N * C);       // residual stream, n x C
  b->Hs = k.take(N * C);      // LN1 outputs, n x C
  b->M = k.take(N * C);       // mixer outputs, n x C
  b->K = attn ? k.take(N * C) : nullptr;
  b->V = attn ? k.take(N * C) : nullptr;
  b->qkv = attn ? k.take(3 * C) : nullptr;
  b->att = attn ? k.take(N) : nullptr;
  b->h = k.take(C);
  b->hidden = k.take(4 * C);
  b->tmp = k.take(C);
  b->sum = k.take(C);
  b->comp = k.take(C);
  return k.used * sizeof(float);
}

}  // namespace

size_t forward_arena_bytes(const Config& c, uint32_t n) {
  SeqBuffers b;
  return carve(c, n, nullptr, &b);
}

Status forward_sequence(const Model& m, const uint32_t* tokens, uint32_t n, float* logits,
                        void* arena, size_t arena_bytes, Error* err) {
  const Config& c = m.config;
  const uint32_t C = c.n_embd;
  if (n == 0) return Status::ok;
  if (c.window_limited() && n > c.block_size)
    return fail(err, Status::window_exceeded, "%u positions exceed the model's window of %u", n,
                c.block_size);
  for (uint32_t t = 0; t < n; ++t)
    if (tokens[t] >= c.vocab_size)
      return fail(err, Status::bad_argument, "token %u at position %u is not below vocab size %u",
                  tokens[t], t, c.vocab_size);
  if (reinterpret_cast<uintptr_t>(arena) % 16 != 0)
    return fail(err, Status::misaligned, "arena must be 16-byte aligned");
  if (arena_bytes < forward_arena_bytes(c, n))
    return fail(err, Status::arena_too_small, "arena %zu bytes, need %zu", arena_bytes,
                forward_arena_bytes(c, n));
  SeqBuffers b;
  carve(c, n, static_cast<float*>(arena), &b);
  auto row = [C](float* base, uint32_t t) { return base + static_cast<size_t>(t) * C; };

  for (uint32_t t = 0; t < n; ++t) block::embed(m, tokens[t], t, row(b.X, t));

  for (uint32_t l = 0; l < c.n_layer; ++l) {
    const LayerWeights& w = m.layers[l];
    const Mixer mixer = c.mixers[l];
    for (uint32_t t = 0; t < n; ++t) kernels::layernorm(row(b.Hs, t), row(b.X, t), w.ln1_w, w.ln1_b, C);
    if (mixer == Mixer::attention) {
      for (uint32_t t = 0; t < n; ++t) {
        block::qkv(m, l, row(b.Hs, t), b.qkv, b.hidden);  // hidden: free int8 scratch here
        std::memcpy(row(b.K, t), b.qkv + C, C * sizeof(float));
        std::memcpy(row(b.V, t), b.qkv + 2 * C, C * sizeof(float));
        block::attention_mix(b.qkv, b.K, b.V, t, C, c.n_head, b.att, row(b.M, t));
      }
    } else {
      std::memset(b.sum, 0, C * sizeof(float));
      std::memset(b.comp, 0, C * sizeof(float));
      for (uint32_t t = 0; t < n; ++t) {
        const float* prev = row(b.Hs, t == 0 ? 0 : t - 1);  // h_0 := h_1
        block::shift_mix(mixer, row(b.Hs, t), prev, b.sum, b.comp, t + 1ull, C, row(b.M, t));
      }
    }
    for (uint32_t t = 0; t < n; ++t)
      block::residual_and_mlp(m, l, row(b.M, t), row(b.X, t), b.h, b.hidden, b.tmp);
  }
  for (uint32_t t = 0; t < n; ++t)
    block::logits(m, row(b.X, t), b.h, logits + static_cast<size_t>(t) * c.vocab_size, b.tmp);
  return Status::ok;
}

}  // namespace causalgen
