#include "causalgen/forward.hpp"

#include "block.hpp"
#include "kernels.hpp"
#include "mixers/mixer.hpp"

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
  float *X, *Hs, *M, *h, *hidden, *tmp, *mixer;
};

// The largest scratch any layer's mixer needs for n positions.
size_t mixer_scratch_floats(const Config& c, uint32_t n) {
  size_t most = 0;
  for (uint32_t l = 0; l < c.n_layer; ++l) {
    const size_t f = mixers::find(c.mixers[l])->sequence_scratch_floats(c, n);
    if (f > most) most = f;
  }
  return most;
}

size_t carve(const Config& c, uint32_t n, float* base, SeqBuffers* b) {
  const size_t C = c.n_embd, N = n;
  Carver k{base};
  b->X = k.take(N * C);       // residual stream, n x C
  b->Hs = k.take(N * C);      // LN1 outputs, n x C
  b->M = k.take(N * C);       // mixer outputs, n x C
  b->h = k.take(C);
  b->hidden = k.take(4 * C);
  b->tmp = k.take(C);
  b->mixer = k.take(mixer_scratch_floats(c, n));
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
    for (uint32_t t = 0; t < n; ++t) kernels::layernorm(row(b.Hs, t), row(b.X, t), w.ln1_w, w.ln1_b, C);
    // hidden is free until the MLP: the mixer's int8 scratch.
    mixers::find(c.mixers[l])->sequence({&m, l, b.Hs, n, b.mixer, b.hidden, b.M});
    for (uint32_t t = 0; t < n; ++t)
      block::residual_and_mlp(m, l, row(b.M, t), row(b.X, t), b.h, b.hidden, b.tmp);
  }
  for (uint32_t t = 0; t < n; ++t)
    block::logits(m, row(b.X, t), b.h, logits + static_cast<size_t>(t) * c.vocab_size, b.tmp);
  return Status::ok;
}

}  // namespace causalgen
