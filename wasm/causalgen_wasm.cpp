// WebAssembly glue around the C API (causalgen.h): aligned allocation for the
// model bytes and the state, and a generation loop that runs many characters
// per call so that JS is entered once per chunk, not once per character.
// Everything else is the C API itself, exported as it is.
#include <cstdint>
#include <cstdlib>

#include "causalgen/causalgen.h"

#define CGW_EXPORT extern "C" __attribute__((used, visibility("default")))

// 64-byte aligned memory (tensors are 64-byte aligned inside a model file, the
// state needs 16). Never returns a pointer for 0 bytes.
CGW_EXPORT void* cgw_alloc(size_t n) {
  const size_t size = ((n ? n : 1) + 63) & ~size_t(63);
  return std::aligned_alloc(64, size);
}
CGW_EXPORT void cgw_free(void* p) { std::free(p); }

CGW_EXPORT size_t cgw_error_bytes(void) { return sizeof(cg_error); }
CGW_EXPORT size_t cgw_error_message_offset(void) { return offsetof(cg_error, message); }
CGW_EXPORT size_t cgw_sampler_bytes(void) { return sizeof(cg_sampler); }

// Writes sampler parameters into p (a cgw_sampler_bytes() buffer), so that JS
// does not depend on the struct's layout.
CGW_EXPORT void cgw_sampler_set(cg_sampler* p, float temperature, uint32_t top_k, float top_p) {
  p->temperature = temperature;
  p->top_k = top_k;
  p->top_p = top_p;
}

// Generates n characters exactly as `causalgen generate` does: sample, write
// the code point to out[i], then feed the token back -- except after the very
// last character of the whole generation (feed_last == 0 on the final chunk).
// Returns the number of characters written; fewer than n only on an error,
// which is then in *err.
CGW_EXPORT uint32_t cgw_generate(cg_state* s, const cg_model* m, const cg_sampler* p, uint32_t n,
                                 int32_t feed_last, uint32_t* out, cg_error* err) {
  for (uint32_t i = 0; i < n; ++i) {
    const uint32_t id = cg_sample_token(s, p);
    out[i] = cg_vocab_codepoint(m, id);
    if ((i + 1 < n || feed_last) && cg_feed_token(s, id, err) != CG_OK) return i + 1;
  }
  if (err) {
    err->code = CG_OK;
    err->message[0] = 0;
  }
  return n;
}
