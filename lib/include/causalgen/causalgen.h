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
 *   cg_generator g;
 *   if (cg_generate_begin(&g, s, &params, "ROMEO:", 6, 500, &err) != CG_OK) ...;
 *   int32_t cp;
 *   while ((cp = cg_generate_next(&g, &err)) >= 0) emit(cp);
 *   if (cp == CG_GENERATE_ERROR) ...err.message...;
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
uint32_t cg_n_head(const cg_model* m);
int32_t cg_has_bias(const cg_model* m);     /* 1 or 0 */
int32_t cg_has_pos_emb(const cg_model* m);  /* 1 or 0 */
/* 1 when the model sees only the last cg_block_size() characters (position
 * embedding or an attention layer); 0 when its state carries the whole text. */
int32_t cg_window_limited(const cg_model* m);
/* Layer l's sequence mixer: "max", "min", "max-avg", "min-avg", "attention". */
const char* cg_mixer_name(const cg_model* m, uint32_t layer);

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

/* Prompt encoding: UTF-8 text to token ids in ids[0..cap) (cap = len always
 * suffices; ids NULL: only validate and count), the count in *n_ids. Errors:
 * CG_UNKNOWN_CHAR names the character and its byte offset, CG_BAD_ARGUMENT
 * malformed UTF-8, CG_ARENA_TOO_SMALL more than cap characters. */
int32_t cg_encode_text(const cg_model* m, const char* utf8, size_t len, uint32_t* ids, size_t cap,
                       size_t* n_ids, cg_error* err);

const float* cg_logits(const cg_state* s); /* vocab_size floats */
/* Samples the next token id from the current logits (does not feed it). */
uint32_t cg_sample_token(cg_state* s, const cg_sampler* p);
/* Same, returning the code point. */
uint32_t cg_sample(cg_state* s, const cg_sampler* p);
int32_t cg_sampler_check(const cg_sampler* p, cg_error* err);

/* Generation: the one loop behind `causalgen generate`, the wasm module, the
 * firmware and the tests. cg_generate_begin feeds the prompt -- or, when it is
 * empty, a newline (token 0 if the vocabulary has none) that is not output --
 * then each cg_generate_next samples a character from the current logits and
 * returns it; the character is fed on the following call, so the last one of
 * a generation is never fed. The caller stops early by not calling again. */
enum { CG_GENERATE_END = -1, CG_GENERATE_ERROR = -2 };

/* One generation in progress; the caller owns it and reads its fields. */
typedef struct cg_generator {
  cg_state* state;
  cg_sampler sampler;
  uint32_t tokens;        /* characters to generate */
  uint32_t generated;     /* characters returned so far */
  uint32_t prompt_chars;  /* characters fed before the first sample (1 for an empty prompt) */
  uint32_t last_token;    /* the last returned character's id, fed by the next call */
} cg_generator;

/* Checks the sampler, then feeds the prompt (validated whole first: a bad
 * character feeds nothing) to s as it is; seed or reset s before. prompt may be
 * NULL when len is 0. On error *g generates nothing. */
int32_t cg_generate_begin(cg_generator* g, cg_state* s, const cg_sampler* p, const char* prompt,
                          size_t len, uint32_t tokens, cg_error* err);
/* The next character's code point (>= 0); CG_GENERATE_END after g->tokens
 * characters; CG_GENERATE_ERROR with *err set if feeding failed (then END). */
int32_t cg_generate_next(cg_generator* g, cg_error* err);

/* Called with each character; a nonzero return stops the generation after it. */
typedef int32_t (*cg_char_fn)(void* user, uint32_t codepoint, const cg_generator* g);
/* A whole generation: cg_generate_begin, then cg_generate_next until g->tokens
 * characters or until on_char (may be NULL) asks to stop. Afterwards *g holds
 * the statistics: g->generated (< g->tokens when stopped), g->prompt_chars.
 * Returns CG_OK or the error's code. */
int32_t cg_generate(cg_generator* g, cg_state* s, const cg_sampler* p, const char* prompt,
                    size_t len, uint32_t tokens, cg_char_fn on_char, void* user, cg_error* err);

/* UTF-8 encoding of a code point into out[4]; returns bytes written. */
size_t cg_utf8_encode(uint32_t codepoint, char* out);

#ifdef __cplusplus
}
#endif
#endif
