#include "causalgen/tokens.hpp"

namespace causalgen {

namespace {
inline uint32_t load_u32(const uint8_t* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}
}  // namespace

uint32_t Vocab::codepoint(uint32_t id) const {
  return id < size ? load_u32(codepoints_le + 4 * size_t(id)) : 0;
}

bool Vocab::find(uint32_t cp, uint32_t* id) const {
  uint32_t lo = 0, hi = size;
  while (lo < hi) {
    const uint32_t mid = lo + (hi - lo) / 2;
    const uint32_t v = codepoint(mid);
    if (v == cp) {
      *id = mid;
      return true;
    }
    if (v < cp) lo = mid + 1; else hi = mid;
  }
  return false;
}

size_t utf8_decode(const char* s, size_t n, uint32_t* cp) {
  if (n == 0) return 0;
  const auto* u = reinterpret_cast<const uint8_t*>(s);
  const uint8_t b0 = u[0];
  size_t len;
  uint32_t c, min;
  if (b0 < 0x80) { *cp = b0; return 1; }
  else if ((b0 & 0xE0) == 0xC0) { len = 2; c = b0 & 0x1F; min = 0x80; }
  else if ((b0 & 0xF0) == 0xE0) { len = 3; c = b0 & 0x0F; min = 0x800; }
  else if ((b0 & 0xF8) == 0xF0) { len = 4; c = b0 & 0x07; min = 0x10000; }
  else return 0;
  if (n < len) return 0;
  for (size_t i = 1; i < len; ++i) {
    if ((u[i] & 0xC0) != 0x80) return 0;
    c = (c << 6) | (u[i] & 0x3F);
  }
  if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return 0;
  *cp = c;
  return len;
}

size_t utf8_encode(uint32_t cp, char* out) {
  auto* o = reinterpret_cast<uint8_t*>(out);
  if (cp < 0x80) { o[0] = uint8_t(cp); return 1; }
  if (cp < 0x800) { o[0] = uint8_t(0xC0 | cp >> 6); o[1] = uint8_t(0x80 | (cp & 0x3F)); return 2; }
  if (cp >= 0xD800 && cp <= 0xDFFF) return 0;
  if (cp < 0x10000) {
    o[0] = uint8_t(0xE0 | cp >> 12); o[1] = uint8_t(0x80 | ((cp >> 6) & 0x3F));
    o[2] = uint8_t(0x80 | (cp & 0x3F));
    return 3;
  }
  if (cp <= 0x10FFFF) {
    o[0] = uint8_t(0xF0 | cp >> 18); o[1] = uint8_t(0x80 | ((cp >> 12) & 0x3F));
    o[2] = uint8_t(0x80 | ((cp >> 6) & 0x3F)); o[3] = uint8_t(0x80 | (cp & 0x3F));
    return 4;
  }
  return 0;
}

Status encode_text(const Vocab& v, const char* text, size_t len, uint32_t* ids, size_t cap,
                   size_t* n_ids, Error* err) {
  size_t n = 0;
  for (size_t i = 0; i < len;) {
    uint32_t cp = 0;
    const size_t used = utf8_decode(text + i, len - i, &cp);
    if (used == 0)
      return fail(err, Status::bad_argument, "malformed UTF-8 at byte %zu", i);
    uint32_t id = 0;
    if (!v.find(cp, &id)) {
      char shown[5] = {0};
      if (cp >= 0x20 && cp != 0x7F) utf8_encode(cp, shown);
      return fail(err, Status::unknown_char,
                  "character '%s' (U+%04X) at byte %zu is not in the model's vocabulary", shown,
                  cp, i);
    }
    if (ids) {
      if (n == cap) return fail(err, Status::arena_too_small, "more than %zu characters", cap);
      ids[n] = id;
    }
    ++n;
    i += used;
  }
  *n_ids = n;
  return Status::ok;
}

}  // namespace causalgen
