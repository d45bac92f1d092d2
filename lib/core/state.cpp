#include "causalgen/state.hpp"

#include <cstring>

#include "block.hpp"
#include "kernels.hpp"
#include "mixers/mixer.hpp"

namespace causalgen {

namespace {

constexpr size_t kAlign = 16;
size_t round_up(size_t n) { return (n + kAlign - 1) & ~(kAlign - 1); }

// Lays the State and its arrays out from base (or only measures when base is
// null). Returns the bytes used.
size_t layout(const Config& c, uint8_t* base, State* s) {
  size_t used = round_up(sizeof(State));
  auto take = [&](size_t bytes) -> void* {
    void* p = base ? base + used : nullptr;
    used += round_up(bytes);
    return p;
  };
  auto floats = [&](size_t n) { return static_cast<float*>(take(n * sizeof(float))); };
  const size_t C = c.n_embd, T = c.block_size, V = c.vocab_size;
  size_t scratch = 0;
  for (uint32_t l = 0; l < c.n_layer; ++l) {
    const mixers::MixerDesc* d = mixers::find(c.mixers[l]);
    if (!d) continue;  // an invalid config: state_init refuses it
    float* layer = floats(d->state_floats(c, l));
    if (s) s->layers[l] = layer;
    if (d->step_scratch_floats(c) > scratch) scratch = d->step_scratch_floats(c);
  }
  State tmp{};
  State* t = s ? s : &tmp;
  t->x = floats(C);
  t->h = floats(C);
  t->mix = floats(C);
  t->tmp = floats(C);
  t->hidden = floats(4 * C);
  t->mixer_scratch = scratch ? floats(scratch) : nullptr;
  t->logits = floats(V);
  t->probs = floats(V);
  t->order = static_cast<uint32_t*>(take(V * sizeof(uint32_t)));
  t->history = c.window_limited() ? static_cast<uint32_t*>(take(T * sizeof(uint32_t))) : nullptr;
  return used;
}

// Runs one token at window position pos through every layer.
// pos: the wpe row (window-limited models); the mixers see s->window_len.
void step_at(State* s, uint32_t token, uint32_t pos, bool want_logits) {
  const Model& m = *s->model;
  const Config& c = m.config;
  const uint32_t C = c.n_embd;
  block::embed(m, token, pos, s->x);
  for (uint32_t l = 0; l < c.n_layer; ++l) {
    const LayerWeights& w = m.layers[l];
    kernels::layernorm(s->h, s->x, w.ln1_w, w.ln1_b, C);
    // hidden is free until the MLP: the mixer's int8 scratch.
    mixers::find(c.mixers[l])->step({&m, l, s->h, s->window_len,
                                     s->layers[l], s->mixer_scratch, s->hidden, s->mix});
    // s->h is free again: reuse it as the MLP's LN2 scratch.
    block::residual_and_mlp(m, l, s->mix, s->x, s->h, s->hidden, s->tmp);
  }
  if (want_logits) block::logits(m, s->x, s->h, s->logits, s->tmp);
}

// A fresh window: every mixer state starts at zero.
void clear_layers(State* s) {
  const Config& c = s->model->config;
  for (uint32_t l = 0; l < c.n_layer; ++l)
    std::memset(s->layers[l], 0, layer_state_floats(c, l) * sizeof(float));
  s->window_len = 0;
}

}  // namespace

size_t state_bytes(const Config& c) { return layout(c, nullptr, nullptr); }

size_t layer_state_floats(const Config& c, uint32_t l) {
  const mixers::MixerDesc* d = l < c.n_layer ? mixers::find(c.mixers[l]) : nullptr;
  return d ? d->state_floats(c, l) : 0;
}

Status state_init(const Model& m, void* mem, size_t bytes, State** out, Error* err) {
  if (!mem || reinterpret_cast<uintptr_t>(mem) % kAlign != 0)
    return fail(err, Status::misaligned, "state memory must be %zu-byte aligned", kAlign);
  if (Status st = validate_config(m.config, err); st != Status::ok) return st;
  const size_t need = state_bytes(m.config);
  if (bytes < need)
    return fail(err, Status::arena_too_small, "state memory %zu bytes, need %zu", bytes, need);
  auto* s = static_cast<State*>(mem);
  *s = State{};
  s->model = &m;
  layout(m.config, static_cast<uint8_t*>(mem), s);
  state_reset(s);
  *out = s;
  return Status::ok;
}

void state_reset(State* s) {
  clear_layers(s);
  s->position = 0;
  std::memset(s->logits, 0, s->model->config.vocab_size * sizeof(float));
}

Status state_feed(State* s, uint32_t token, Error* err) {
  const Config& c = s->model->config;
  if (token >= c.vocab_size)
    return fail(err, Status::bad_argument, "token %u is not below vocab size %u", token,
                c.vocab_size);
  if (c.window_limited()) {
    const uint32_t T = c.block_size;
    if (s->window_len == T) {
      // Window full: drop the oldest token and re-encode the last T, exactly
      // what nanoGPT's generate() does when it crops its context to T.
      std::memmove(s->history, s->history + 1, (T - 1) * sizeof(uint32_t));
      s->history[T - 1] = token;
      clear_layers(s);
      for (uint32_t p = 0; p < T; ++p) {
        step_at(s, s->history[p], p, p + 1 == T);
        s->window_len = p + 1;
      }
      s->position += 1;
      return Status::ok;
    }
    s->history[s->window_len] = token;
  }
  // Only window-limited models use the position (wpe row, K/V slot).
  const uint32_t pos = c.window_limited() ? static_cast<uint32_t>(s->window_len) : 0;
  step_at(s, token, pos, true);
  s->window_len += 1;
  s->position += 1;
  return Status::ok;
}

}  // namespace causalgen
