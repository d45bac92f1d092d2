/* causalgen C API: the stable boundary used by firmware, WebAssembly and other
 * languages. No function allocates: the caller supplies the memory for the
 * model descriptor and the generation state (sizes from cg_model_bytes() and
 * cg_state_bytes()). The model's bytes are read in place and must outlive it.
 *
 *   static cg_model_storage ms;            // or any cg_model_bytes() buffer
 *   cg_error err;
 *   cg_model* m = cg_model_load(&ms, sizeof ms, bytes, n, &err);
 *   void* mem = ...cg_state_bytes(m)...;   // 16-byte aligned
 *   cg_state* s = cg_state_init(m, mem, size, seed, &err);
 *   cg_feed_text(s, "ROMEO:", 6, &err);
 *   for (...) { uint32_t cp = cg_sample(s, &params); ... cg_feed_char(s, cp, &err); }
 */
#ifndef CAUSALGEN_H
#define CAUSALGEN_H
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cg_model cg_model;
typedef struct cg_state cg_state;

/* Status codes, the same numbers as causalgen::Status. */
enum {
  CG_OK = 0, CG_TRUNCATED = 1, CG_BAD_MAGIC = 2, CG_BAD_VERSION = 3, CG_CRC_MISMATCH = 4,
  CG_BAD_CONFIG = 5, CG_BAD_VOCAB = 6, CG_BAD_TENSOR = 7, CG_OUT_OF_BOUNDS = 8,
  CG_MISALIGNED = 9, CG_ARENA_TOO_SMALL = 10, CG_UNKNOWN_CHAR = 11, CG_BAD_ARGUMENT = 12,
  CG_WINDOW_EXCEEDED = 13
};

typedef struct cg_error {
  int32_t code;        /* CG_OK on success */
  char message[192];   /* names the problem, NUL-terminated */
} cg_error;

typedef struct cg_sampler {
  float temperature;   /* 0 = greedy */
  uint32_t top_k;      /* 0 = off */
  float top_p;         /* 1 = off */
} cg_sampler;

/* Storage big enough for a model descriptor, suitably aligned. */
typedef struct cg_model_storage { uint64_t words[1024]; } cg_model_storage;

const char* cg_status_string(int32_t code);  /* "truncated", "crc mismatch", ... */

size_t cg_model_bytes(void);
/* Parses and validates bytes[0..n) (4-byte aligned) into mem (cg_model_bytes() bytes, aligned as
 * cg_model_storage). NULL on error: CG_MISALIGNED / CG_ARENA_TOO_SMALL for bad mem. */
cg_model* cg_model_load(void* mem, size_t mem_size, const void* bytes, size_t n, cg_error* err);

uint32_t cg_vocab_size(const cg_model* m);
uint32_t cg_vocab_codepoint(const cg_model* m, uint32_t id);
uint32_t cg_block_size(const cg_model* m);
uint32_t cg_n_layer(const cg_model* m);
uint32_t cg_n_embd(const cg_model* m);
uint64_t cg_parameter_count(const cg_model* m);

size_t cg_state_bytes(const cg_model* m);
/* mem must be 16-byte aligned; seed drives the sampler's PCG32. */
cg_state* cg_state_init(const cg_model* m, void* mem, size_t mem_size, uint64_t seed, cg_error* err);
/* Forgets the text; the sampler keeps its position unless reseeded. */
void cg_state_reset(cg_state* s);
void cg_state_seed(cg_state* s, uint64_t seed);
uint64_t cg_state_position(const cg_state* s);

/* Feeding characters. Each returns CG_OK or an error (unknown character,
 * malformed UTF-8) and leaves the logits for the next character. */
int32_t cg_feed_token(cg_state* s, uint32_t token, cg_error* err);
int32_t cg_feed_char(cg_state* s, uint32_t codepoint, cg_error* err);
int32_t cg_feed_text(cg_state* s, const char* utf8, size_t len, cg_error* err);

const float* cg_logits(const cg_state* s); /* vocab_size floats */
/* Samples the next token id from the current logits (does not feed it). */
uint32_t cg_sample_token(cg_state* s, const cg_sampler* p);
/* Same, returning the code point. */
uint32_t cg_sample(cg_state* s, const cg_sampler* p);
int32_t cg_sampler_check(const cg_sampler* p, cg_error* err);

/* UTF-8 encoding of a code point into out[4]; returns bytes written. */
size_t cg_utf8_encode(uint32_t codepoint, char* out);

#ifdef __cplusplus
}
#endif
#endif
