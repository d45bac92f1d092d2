// CRC-32 by carry-less multiplication (x86-64 PCLMULQDQ), chosen at run time
// by crc32 (crc32.cpp) when the CPU has it.
//
// The method is Intel's "Fast CRC Computation for Generic Polynomials Using
// PCLMULQDQ" (Gopal et al., 2009): four 128-bit accumulators each fold 64
// bytes ahead by multiplying with x^(512±32) mod P, then fold into one, reduce
// 128 -> 64 -> 32 bits, and a Barrett reduction gives the remainder. The
// constants are powers of x modulo the bit-reflected CRC-32 polynomial; the
// table form in crc32.cpp is the reference it is tested against bit for bit.
#include "crc32_target.hpp"

#if defined(CAUSALGEN_CRC_PCLMUL)
#include <immintrin.h>

namespace causalgen::detail {
namespace {

#define CG_PCLMUL __attribute__((target("pclmul,sse4.1")))

CG_PCLMUL inline __m128i load16(const uint8_t* p) {
  return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
}

// x advanced by the distance k encodes (low half times k's low, high half
// times k's high), plus the next 16 bytes.
CG_PCLMUL inline __m128i fold(__m128i x, __m128i k, __m128i next) {
  return _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(x, k, 0x00), _mm_clmulepi64_si128(x, k, 0x11)),
                       next);
}

}  // namespace

CG_PCLMUL uint32_t crc32_pclmul(const uint8_t* p, size_t n, uint32_t reg) {
  // Pairs (high, low): x^(4*128+32) and x^(4*128-32), x^(128+32) and
  // x^(128-32), each mod P and bit-reflected; x^64 mod P; then Barrett's
  // floor(x^64 / P) and P itself.
  const __m128i k_by4 = _mm_set_epi64x(0x1c6e41596, 0x154442bd4);
  const __m128i k_by1 = _mm_set_epi64x(0x0ccaa009e, 0x1751997d0);
  const __m128i k_64 = _mm_set_epi64x(0, 0x163cd6124);
  const __m128i barrett = _mm_set_epi64x(0x1f7011641, 0x1db710641);
  const __m128i low32 = _mm_set_epi32(0, 0, 0, -1);

  // Four accumulators over the first 64 bytes, the running CRC in the first.
  __m128i x0 = _mm_xor_si128(load16(p), _mm_cvtsi32_si128(int(reg)));
  __m128i x1 = load16(p + 16), x2 = load16(p + 32), x3 = load16(p + 48);
  p += 64;
  n -= 64;
  for (; n >= 64; p += 64, n -= 64) {
    x0 = fold(x0, k_by4, load16(p));
    x1 = fold(x1, k_by4, load16(p + 16));
    x2 = fold(x2, k_by4, load16(p + 32));
    x3 = fold(x3, k_by4, load16(p + 48));
  }
  // Into one accumulator, then the remaining 16-byte blocks.
  x0 = fold(x0, k_by1, x1);
  x0 = fold(x0, k_by1, x2);
  x0 = fold(x0, k_by1, x3);
  for (; n >= 16; p += 16, n -= 16) x0 = fold(x0, k_by1, load16(p));

  // 128 -> 64 bits, 64 -> 32 bits, then Barrett: the remainder mod P.
  x0 = _mm_xor_si128(_mm_clmulepi64_si128(x0, k_by1, 0x10), _mm_srli_si128(x0, 8));
  x0 = _mm_xor_si128(_mm_clmulepi64_si128(_mm_and_si128(x0, low32), k_64, 0x00), _mm_srli_si128(x0, 4));
  __m128i t = _mm_clmulepi64_si128(_mm_and_si128(x0, low32), barrett, 0x10);
  t = _mm_clmulepi64_si128(_mm_and_si128(t, low32), barrett, 0x00);
  return uint32_t(_mm_extract_epi32(_mm_xor_si128(x0, t), 1));
}

}  // namespace causalgen::detail
#endif
