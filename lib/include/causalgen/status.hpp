// Error reporting for the core: a status code plus a short message that names
// the problem. The core never throws and never aborts on bad input.
#pragma once
#include <cstddef>
#include <cstdint>

namespace causalgen {

enum class Status : int32_t {
  ok = 0,
  truncated = 1,        // fewer bytes than the format requires
  bad_magic = 2,        // not a causalgen model file
  bad_version = 3,      // a format version this build cannot read
  crc_mismatch = 4,     // bytes changed after the file was written
  bad_config = 5,       // a dimension or flag outside what the format allows
  bad_vocab = 6,        // vocabulary not a sorted set of valid code points
  bad_tensor = 7,       // tensor entry or data that breaks the format (shape, place, padding, value)
  out_of_bounds = 8,    // an offset or size that points past the end
  misaligned = 9,       // buffer or tensor data not aligned as required
  arena_too_small = 10, // caller-supplied memory smaller than required
  unknown_char = 11,    // a character that is not in the model's vocabulary
  bad_argument = 12,    // an argument outside its documented range
  window_exceeded = 13, // sequence longer than the model's window
};

const char* status_name(Status s);

// A status with a message that names what is wrong ("tensor 'l0.wo' has shape
// 64x128, expected 128x128"). Fixed-size so it needs no heap.
struct Error {
  Status status = Status::ok;
  char message[192] = {0};
  bool ok() const { return status == Status::ok; }
};

// printf-style setter; returns s so callers can `return fail(err, ...)`.
Status fail(Error* err, Status s, const char* fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

}  // namespace causalgen
