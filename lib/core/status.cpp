#include "causalgen/status.hpp"

#include <cstdarg>
#include <cstdio>

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

Status fail(Error* err, Status s, const char* fmt, ...) {
  if (err) {
    err->status = s;
    va_list ap;
    va_start(ap, fmt);
    std::vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
  }
  return s;
}

}  // namespace causalgen
