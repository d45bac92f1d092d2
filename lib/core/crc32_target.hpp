// Which accelerated CRC-32 this target compiles (crc32.cpp dispatches).
#pragma once
#include <cstddef>
#include <cstdint>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define CAUSALGEN_CRC_PCLMUL 1  // crc32_pclmul.cpp (used when the CPU has PCLMULQDQ and SSE4.1)
#endif

namespace causalgen::detail {
// crc32 (model_file.hpp) by the portable tables alone: what the accelerated
// forms are tested against.
uint32_t crc32_reference(const void* data, size_t n, uint32_t crc = 0);
#if defined(CAUSALGEN_CRC_PCLMUL)
// The CRC register (not inverted) after the n bytes at p; n >= 64, n % 16 == 0.
uint32_t crc32_pclmul(const uint8_t* p, size_t n, uint32_t reg);
#endif
}  // namespace causalgen::detail
