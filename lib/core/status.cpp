#include "causalgen/status.hpp"

#include <cstdarg>
#include <cstdint>

namespace causalgen {

const char* status_name(Status s) {
  switch (s) {
    case Status::ok: return "ok";
    case Status::truncated: return "truncated";
    case Status::bad_magic: return "bad magic";
    case Status::bad_version: return "unsupported version";
    case Status::crc_mismatch: return "crc mismatch";
    case Status::bad_config: return "bad config";
    case Status::bad_vocab: return "bad vocabulary";
    case Status::bad_tensor: return "bad tensor";
    case Status::out_of_bounds: return "out of bounds";
    case Status::misaligned: return "misaligned";
    case Status::arena_too_small: return "arena too small";
    case Status::unknown_char: return "unknown character";
    case Status::bad_argument: return "bad argument";
    case Status::window_exceeded: return "window exceeded";
  }
  return "unknown status";
}

namespace {

// The core's own small printf for error messages: the same text on every
// target (newlib-nano's printf, used on Cortex-M, has no %zu or %llu).
// Supports %s (with precision), %c, %d/%i, %u, %x/%X with the l, ll and z
// length modifiers, a '0' flag and a width, %g (fixed, up to 6 decimals) and %%.
struct Out {
  char* p;
  size_t cap, n = 0;
  void put(char c) {
    if (n + 1 < cap) p[n] = c;
    ++n;
  }
  void pad(size_t len, unsigned width, char fill) {
    for (size_t i = len; i < width; ++i) put(fill);
  }
};

void put_unsigned(Out& o, uint64_t v, unsigned base, bool upper, unsigned width, char fill,
                  bool negative = false) {
  char digits[24];
  size_t n = 0;
  do {
    const unsigned d = unsigned(v % base);
    digits[n++] = char(d < 10 ? '0' + d : (upper ? 'A' : 'a') + d - 10);
    v /= base;
  } while (v);
  if (negative && fill == '0') o.put('-');
  o.pad(n + (negative ? 1 : 0), width, fill);
  if (negative && fill != '0') o.put('-');
  while (n) o.put(digits[--n]);
}

void put_double(Out& o, double v) {
  if (v != v) {
    for (const char* c = "nan"; *c; ++c) o.put(*c);
    return;
  }
  if (v < 0) {
    o.put('-');
    v = -v;
  }
  if (v > 1e18) {
    for (const char* c = "inf"; *c; ++c) o.put(*c);
    return;
  }
  uint64_t whole = uint64_t(v);
  uint64_t frac = uint64_t((v - double(whole)) * 1e6 + 0.5);
  if (frac >= 1000000) {
    ++whole;
    frac -= 1000000;
  }
  put_unsigned(o, whole, 10, false, 0, ' ');
  if (frac) {
    char d[6];
    for (int i = 5; i >= 0; --i, frac /= 10) d[i] = char('0' + frac % 10);
    int last = 5;
    while (d[last] == '0') --last;
    o.put('.');
    for (int i = 0; i <= last; ++i) o.put(d[i]);
  }
}

// One conversion's flags, width, precision and length, as written after '%'.
struct Spec {
  char fill = ' ';
  unsigned width = 0;
  int precision = -1;  // -1: none
  int longs = 0;       // number of 'l' modifiers
  bool size_t_arg = false;
  char conversion = '\0';
};

// Reads the spec that starts at f (just after '%'); returns where it ends
// (at the conversion character).
const char* parse_spec(const char* f, Spec& s) {
  if (*f == '0') {
    s.fill = '0';
    ++f;
  }
  while (*f >= '0' && *f <= '9') s.width = s.width * 10 + unsigned(*f++ - '0');
  if (*f == '.') {
    s.precision = 0;
    for (++f; *f >= '0' && *f <= '9'; ++f) s.precision = s.precision * 10 + (*f - '0');
  }
  for (;; ++f) {
    if (*f == 'l') ++s.longs;
    else if (*f == 'z') s.size_t_arg = true;
    else break;
  }
  s.conversion = *f;
  return f;
}

// va_list travels by pointer: a va_list passed by value may not be used by
// the caller afterwards on every ABI.
uint64_t unsigned_arg(const Spec& s, va_list* ap) {
  if (s.size_t_arg) return va_arg(*ap, size_t);
  if (s.longs >= 2) return va_arg(*ap, unsigned long long);
  if (s.longs == 1) return va_arg(*ap, unsigned long);
  return va_arg(*ap, unsigned);
}

int64_t signed_arg(const Spec& s, va_list* ap) {
  if (s.longs >= 2) return va_arg(*ap, long long);
  if (s.longs == 1) return va_arg(*ap, long);
  return va_arg(*ap, int);
}

void put_string(Out& o, const Spec& s, const char* str) {
  if (!str) str = "(null)";
  size_t len = 0;
  while (str[len] && (s.precision < 0 || len < size_t(s.precision))) ++len;
  o.pad(len, s.width, ' ');
  for (size_t i = 0; i < len; ++i) o.put(str[i]);
}

void put_conversion(Out& o, const Spec& s, va_list* ap) {
  switch (s.conversion) {
    case 'd':
    case 'i': {
      const int64_t v = signed_arg(s, ap);
      put_unsigned(o, v < 0 ? uint64_t(0) - uint64_t(v) : uint64_t(v), 10, false, s.width, s.fill,
                   v < 0);
      break;
    }
    case 'u': put_unsigned(o, unsigned_arg(s, ap), 10, false, s.width, s.fill); break;
    case 'x': put_unsigned(o, unsigned_arg(s, ap), 16, false, s.width, s.fill); break;
    case 'X': put_unsigned(o, unsigned_arg(s, ap), 16, true, s.width, s.fill); break;
    case 'c': o.put(char(va_arg(*ap, int))); break;
    case 's': put_string(o, s, va_arg(*ap, const char*)); break;
    case 'g':
    case 'f': put_double(o, va_arg(*ap, double)); break;
    case '%': o.put('%'); break;
    default: o.put('%'); o.put(s.conversion); break;
  }
}

void format_message(char* buf, size_t cap, const char* fmt, va_list ap) {
  Out o{buf, cap};
  va_list args;
  va_copy(args, ap);
  for (const char* f = fmt; *f; ++f) {
    if (*f != '%') {
      o.put(*f);
      continue;
    }
    Spec spec;
    f = parse_spec(f + 1, spec);
    if (spec.conversion == '\0') break;  // a lone '%' at the end
    put_conversion(o, spec, &args);
  }
  va_end(args);
  if (cap) buf[o.n < cap ? o.n : cap - 1] = '\0';
}

}  // namespace

Status fail(Error* err, Status s, const char* fmt, ...) {
  if (err) {
    err->status = s;
    va_list ap;
    va_start(ap, fmt);
    format_message(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
  }
  return s;
}

}  // namespace causalgen
