// Characters <-> token ids. The vocabulary is the sorted set of Unicode code
// points of the training text; text is UTF-8.
#pragma once
#include <cstddef>
#include <cstdint>
#include "causalgen/status.hpp"

namespace causalgen {

// A view of a sorted, duplicate-free code point table (lives in the model file).
struct Vocab {
  const uint8_t* codepoints_le = nullptr;  // size*4 bytes, little-endian u32
  uint32_t size = 0;

  uint32_t codepoint(uint32_t id) const;
  // Binary search; false if the code point is not in the vocabulary.
  bool find(uint32_t codepoint, uint32_t* id) const;
};

// Decodes one UTF-8 code point from s[0..n). Returns bytes consumed (1-4), or
// 0 on malformed input (overlong, surrogate, truncated, > U+10FFFF).
size_t utf8_decode(const char* s, size_t n, uint32_t* cp);
// Encodes cp into out (at least 4 bytes); returns bytes written (0 if invalid).
size_t utf8_encode(uint32_t cp, char* out);

// Encodes UTF-8 text into ids[0..cap). On success *n_ids is the count. Errors:
// unknown_char (message names the character and its byte offset),
// bad_argument (malformed UTF-8), arena_too_small (cap too small). With ids
// null it only validates the text and counts its characters.
Status encode_text(const Vocab& v, const char* text, size_t len, uint32_t* ids, size_t cap,
                   size_t* n_ids, Error* err);

}  // namespace causalgen
