// CRC-32 (zlib's: reflected, polynomial 0xEDB88320), sliced by 8.
//
// Every model load checks the CRC over the whole file (2.4 MB for the shipped
// model), so this loop is most of the start-up cost of `causalgen generate`.
// Byte-at-a-time takes about 8 instructions per byte; eight tables let one
// step consume 8 bytes with 8 independent lookups (about 2.5 per byte). The
// bytes are assembled explicitly, so the result does not depend on the
// target's endianness or alignment rules (Cortex-M0 has no unaligned loads).
// On x86-64 with PCLMULQDQ, crc32_pclmul.cpp folds 64 bytes a step instead
// (about 0.1 instructions per byte); this table form stays the reference.
#include "causalgen/model_file.hpp"
#include "crc32_target.hpp"

namespace causalgen {
namespace {

struct CrcTables {
  uint32_t t[8][256];
  constexpr CrcTables() : t{} {
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[0][i] = c;
    }
    // t[k][i]: the CRC of byte i followed by k zero bytes.
    for (int k = 1; k < 8; ++k)
      for (uint32_t i = 0; i < 256; ++i) t[k][i] = t[0][t[k - 1][i] & 0xFF] ^ (t[k - 1][i] >> 8);
  }
};
constexpr CrcTables kCrc;

// The table form: the CRC register (not inverted) after the n bytes at p.
uint32_t crc32_tables(const uint8_t* p, size_t n, uint32_t crc) {
  const auto& t = kCrc.t;
  for (; n >= 8; n -= 8, p += 8) {
    const uint32_t lo = crc ^ (uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 |
                               uint32_t(p[3]) << 24);
    crc = t[7][lo & 0xFF] ^ t[6][(lo >> 8) & 0xFF] ^ t[5][(lo >> 16) & 0xFF] ^ t[4][lo >> 24] ^
          t[3][p[4]] ^ t[2][p[5]] ^ t[1][p[6]] ^ t[0][p[7]];
  }
  for (; n > 0; --n, ++p) crc = t[0][(crc ^ *p) & 0xFF] ^ (crc >> 8);
  return crc;
}

}  // namespace

uint32_t crc32(const void* data, size_t n, uint32_t crc) {
  const auto* p = static_cast<const uint8_t*>(data);
  crc = ~crc;
#if defined(CAUSALGEN_CRC_PCLMUL)
  if (n >= 64 && __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1")) {
    const size_t folded = n & ~size_t(15);
    crc = detail::crc32_pclmul(p, folded, crc);
    p += folded;
    n -= folded;
  }
#endif
  return ~crc32_tables(p, n, crc);
}

uint32_t detail::crc32_reference(const void* data, size_t n, uint32_t crc) {
  return ~crc32_tables(static_cast<const uint8_t*>(data), n, ~crc);
}

}  // namespace causalgen
