// The C API: thin wrappers that carve the C++ objects out of caller memory.
#include "causalgen/causalgen.h"

#include <cstring>

#include "causalgen/causalgen.hpp"

using namespace causalgen;

struct cg_model {
  Model m;
};
struct cg_state {
  State* s;
  Pcg32 rng;
};

static_assert(sizeof(cg_model) <= sizeof(cg_model_storage), "cg_model_storage too small");
static_assert(sizeof(Error::message) == sizeof(cg_error::message), "message sizes differ");

namespace {
constexpr size_t kHead = (sizeof(cg_state) + 15) & ~size_t(15);

int32_t report(const Error& e, cg_error* err) {
  if (err) {
    err->code = static_cast<int32_t>(e.status);
    std::memcpy(err->message, e.message, sizeof err->message);
  }
  return static_cast<int32_t>(e.status);
}
void clear(cg_error* err) {
  if (err) {
    err->code = CG_OK;
    err->message[0] = 0;
  }
}
}  // namespace

extern "C" {

const char* cg_status_string(int32_t code) { return status_name(static_cast<Status>(code)); }

size_t cg_model_bytes(void) { return sizeof(cg_model); }

cg_model* cg_model_load(void* mem, size_t mem_size, const void* bytes, size_t n, cg_error* err) {
  Error e;
  if (!mem || reinterpret_cast<uintptr_t>(mem) % alignof(cg_model)) {
    fail(&e, Status::misaligned, "model memory must be %zu-byte aligned", alignof(cg_model));
    report(e, err);
    return nullptr;
  }
  if (mem_size < sizeof(cg_model)) {
    fail(&e, Status::arena_too_small, "model memory %zu bytes, need %zu", mem_size, sizeof(cg_model));
    report(e, err);
    return nullptr;
  }
  auto* m = static_cast<cg_model*>(mem);
  if (parse_model(bytes, n, &m->m, &e) != Status::ok) {
    report(e, err);
    return nullptr;
  }
  clear(err);
  return m;
}

uint32_t cg_vocab_size(const cg_model* m) { return m->m.config.vocab_size; }
uint32_t cg_vocab_codepoint(const cg_model* m, uint32_t id) { return m->m.vocab.codepoint(id); }
uint32_t cg_block_size(const cg_model* m) { return m->m.config.block_size; }
uint32_t cg_n_layer(const cg_model* m) { return m->m.config.n_layer; }
uint32_t cg_n_embd(const cg_model* m) { return m->m.config.n_embd; }
uint64_t cg_parameter_count(const cg_model* m) { return m->m.config.parameter_count(); }
uint32_t cg_n_head(const cg_model* m) { return m->m.config.n_head; }
int32_t cg_has_bias(const cg_model* m) { return m->m.config.bias ? 1 : 0; }
int32_t cg_has_pos_emb(const cg_model* m) { return m->m.config.pos_emb ? 1 : 0; }
int32_t cg_window_limited(const cg_model* m) { return m->m.config.window_limited() ? 1 : 0; }
const char* cg_mixer_name(const cg_model* m, uint32_t layer) {
  return layer < m->m.config.n_layer ? mixer_name(m->m.config.mixers[layer]) : "?";
}

size_t cg_state_bytes(const cg_model* m) { return kHead + state_bytes(m->m.config); }

cg_state* cg_state_init(const cg_model* m, void* mem, size_t mem_size, uint64_t seed,
                        cg_error* err) {
  Error e;
  if (!mem || reinterpret_cast<uintptr_t>(mem) % 16 != 0) {
    fail(&e, Status::misaligned, "state memory must be 16-byte aligned");
    report(e, err);
    return nullptr;
  }
  if (mem_size < cg_state_bytes(m)) {
    fail(&e, Status::arena_too_small, "state memory %zu bytes, need %zu", mem_size,
         cg_state_bytes(m));
    report(e, err);
    return nullptr;
  }
  auto* cs = static_cast<cg_state*>(mem);
  if (state_init(m->m, static_cast<uint8_t*>(mem) + kHead, mem_size - kHead, &cs->s, &e) !=
      Status::ok) {
    report(e, err);
    return nullptr;
  }
  cs->rng = Pcg32{};
  cs->rng.seed(seed);
  clear(err);
  return cs;
}

void cg_state_reset(cg_state* s) { state_reset(s->s); }
void cg_state_seed(cg_state* s, uint64_t seed) { s->rng.seed(seed); }
uint64_t cg_state_position(const cg_state* s) { return s->s->position; }

int32_t cg_feed_token(cg_state* s, uint32_t token, cg_error* err) {
  Error e;
  if (state_feed(s->s, token, &e) != Status::ok) return report(e, err);
  clear(err);
  return CG_OK;
}

int32_t cg_feed_char(cg_state* s, uint32_t codepoint, cg_error* err) {
  uint32_t id = 0;
  if (!s->s->model->vocab.find(codepoint, &id)) {
    Error e;
    fail(&e, Status::unknown_char, "character U+%04X is not in the model's vocabulary", codepoint);
    return report(e, err);
  }
  return cg_feed_token(s, id, err);
}

int32_t cg_feed_text(cg_state* s, const char* utf8, size_t len, cg_error* err) {
  // Validate the whole text first so that a bad character feeds nothing.
  Error e;
  const Vocab& v = s->s->model->vocab;
  size_t n_chars = 0;
  if (encode_text(v, utf8, len, nullptr, 0, &n_chars, &e) != Status::ok) return report(e, err);
  for (size_t i = 0; i < len;) {
    uint32_t cp = 0, id = 0;
    i += utf8_decode(utf8 + i, len - i, &cp);
    v.find(cp, &id);
    if (state_feed(s->s, id, &e) != Status::ok) return report(e, err);
  }
  clear(err);
  return CG_OK;
}

int32_t cg_encode_text(const cg_model* m, const char* utf8, size_t len, uint32_t* ids, size_t cap,
                       size_t* n_ids, cg_error* err) {
  Error e;
  if (encode_text(m->m.vocab, utf8, len, ids, cap, n_ids, &e) != Status::ok) return report(e, err);
  clear(err);
  return CG_OK;
}

const float* cg_logits(const cg_state* s) { return s->s->logits; }

uint32_t cg_sample_token(cg_state* s, const cg_sampler* p) {
  SamplerParams sp{p->temperature, p->top_k, p->top_p};
  return sample_token(s->s->logits, s->s->model->config.vocab_size, sp, &s->rng, s->s->probs,
                      s->s->order);
}

uint32_t cg_sample(cg_state* s, const cg_sampler* p) {
  return s->s->model->vocab.codepoint(cg_sample_token(s, p));
}

int32_t cg_sampler_check(const cg_sampler* p, cg_error* err) {
  Error e;
  if (validate_sampler(SamplerParams{p->temperature, p->top_k, p->top_p}, &e) != Status::ok)
    return report(e, err);
  clear(err);
  return CG_OK;
}

int32_t cg_generate_begin(cg_generator* g, cg_state* s, const cg_sampler* p, const char* prompt,
                          size_t len, uint32_t tokens, cg_error* err) {
  *g = cg_generator{s, *p, 0, 0, 0, 0};
  if (const int32_t rc = cg_sampler_check(p, err); rc != CG_OK) return rc;
  const uint64_t start = s->s->position;
  if (len > 0) {
    if (const int32_t rc = cg_feed_text(s, prompt, len, err); rc != CG_OK) return rc;
  } else {
    // As nanoGPT: an empty prompt starts from a newline, or token 0 without one.
    uint32_t newline = 0;
    s->s->model->vocab.find('\n', &newline);
    if (const int32_t rc = cg_feed_token(s, newline, err); rc != CG_OK) return rc;
  }
  g->prompt_chars = static_cast<uint32_t>(s->s->position - start);
  g->tokens = tokens;
  return CG_OK;
}

int32_t cg_generate_next(cg_generator* g, cg_error* err) {
  clear(err);
  if (g->generated >= g->tokens) return CG_GENERATE_END;
  // Feeding the previous character here, not after returning it, leaves the
  // last character of a generation unfed: no step is computed in vain.
  if (g->generated > 0 && cg_feed_token(g->state, g->last_token, err) != CG_OK) {
    g->tokens = g->generated;
    return CG_GENERATE_ERROR;
  }
  g->last_token = cg_sample_token(g->state, &g->sampler);
  ++g->generated;
  return static_cast<int32_t>(g->state->s->model->vocab.codepoint(g->last_token));
}

int32_t cg_generate(cg_generator* g, cg_state* s, const cg_sampler* p, const char* prompt,
                    size_t len, uint32_t tokens, cg_char_fn on_char, void* user, cg_error* err) {
  cg_error own;
  if (!err) err = &own;  // the step's code is needed below
  if (const int32_t rc = cg_generate_begin(g, s, p, prompt, len, tokens, err); rc != CG_OK)
    return rc;
  for (;;) {
    const int32_t cp = cg_generate_next(g, err);
    if (cp == CG_GENERATE_END) return CG_OK;
    if (cp == CG_GENERATE_ERROR) return err->code;
    if (on_char && on_char(user, static_cast<uint32_t>(cp), g) != 0) return CG_OK;
  }
}

size_t cg_utf8_encode(uint32_t codepoint, char* out) { return utf8_encode(codepoint, out); }

}  // extern "C"
