// WebAssembly glue around the C API (causalgen.h): aligned allocation for the
// model bytes and the state, struct sizes, and steps of the C API's generation
// loop taken many at a time, so that JS is entered once per chunk of
// characters, not once per character. Everything else is the C API itself,
// exported as it is.
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

CGW_EXPORT size_t cgw_generator_bytes(void) { return sizeof(cg_generator); }

// Up to n steps of cg_generate_next, the code points into out[0..). Returns the
// number written: fewer than n at the generation's end, or on an error, which
// is then in *err (err->code != CG_OK).
CGW_EXPORT uint32_t cgw_generate_chunk(cg_generator* g, uint32_t n, uint32_t* out, cg_error* err) {
  uint32_t i = 0;
  for (; i < n; ++i) {
    const int32_t cp = cg_generate_next(g, err);
    if (cp < 0) break;
    out[i] = static_cast<uint32_t>(cp);
  }
  return i;
}
