// The int8 matrix-vector product with AVX2 (x86-64), chosen at run time by
// matvec_q8 (kernels.cpp) when the CPU has it.
#include "kernels_target.hpp"

#if defined(CAUSALGEN_Q8_AVX2)
#include <immintrin.h>

namespace causalgen::kernels::detail {

// Eight rows at a time; each group of 32 columns: sign-extend to 16 bits,
// VPMADDWD (pairs of products summed exactly into 32 bits), then a
// horizontal-add tree gives the eight rows' exact group sums in one vector,
// scaled lane by lane: each lane computes exactly what matvec_q8_rows does.
__attribute__((target("avx2"))) void matvec_q8_avx2(float* out, const int8_t* W, const float* S,
                                                    uint32_t group, const float* b, const int8_t* xq,
                                                    float xs, uint32_t rows, uint32_t cols) {
  const uint32_t ng = cols / group;  // the caller checks cols % group == 0, group % 32 == 0
  uint32_t r = 0;
  const __m256 xsv = _mm256_set1_ps(xs);
  for (; r + 8 <= rows; r += 8) {
    const int8_t* w = W + static_cast<size_t>(r) * cols;
    __m256 acc = _mm256_setzero_ps();
    for (uint32_t g = 0; g < ng; ++g) {
      __m256i s[8];
      for (int j = 0; j < 8; ++j) s[j] = _mm256_setzero_si256();
      for (uint32_t k = g * group, end = k + group; k < end; k += 32) {
        const __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq + k));
        const __m256i xlo = _mm256_cvtepi8_epi16(_mm256_castsi256_si128(xv));
        const __m256i xhi = _mm256_cvtepi8_epi16(_mm256_extracti128_si256(xv, 1));
        for (int j = 0; j < 8; ++j) {
          const __m256i wv =
              _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + static_cast<size_t>(j) * cols + k));
          const __m256i wlo = _mm256_cvtepi8_epi16(_mm256_castsi256_si128(wv));
          const __m256i whi = _mm256_cvtepi8_epi16(_mm256_extracti128_si256(wv, 1));
          s[j] = _mm256_add_epi32(
              s[j], _mm256_add_epi32(_mm256_madd_epi16(wlo, xlo), _mm256_madd_epi16(whi, xhi)));
        }
      }
      const __m256i a01 = _mm256_hadd_epi32(s[0], s[1]), a23 = _mm256_hadd_epi32(s[2], s[3]);
      const __m256i a45 = _mm256_hadd_epi32(s[4], s[5]), a67 = _mm256_hadd_epi32(s[6], s[7]);
      const __m256i b03 = _mm256_hadd_epi32(a01, a23), b47 = _mm256_hadd_epi32(a45, a67);
      const __m256i sums = _mm256_add_epi32(_mm256_permute2x128_si256(b03, b47, 0x20),
                                            _mm256_permute2x128_si256(b03, b47, 0x31));
      const __m256 sc = _mm256_loadu_ps(S + static_cast<size_t>(g) * rows + r);
      acc = _mm256_add_ps(acc, _mm256_mul_ps(_mm256_cvtepi32_ps(sums), sc));
    }
    __m256 y = _mm256_mul_ps(acc, xsv);
    if (b) y = _mm256_add_ps(y, _mm256_loadu_ps(b + r));
    _mm256_storeu_ps(out + r, y);
  }
  // Leave no dirty upper halves behind: the SSE code that runs next would
  // pay for the AVX/SSE transition on every instruction.
  _mm256_zeroupper();
  matvec_q8_rows(out, W, S, group, b, xq, xs, r, rows, cols);
}

}  // namespace causalgen::kernels::detail

#endif  // CAUSALGEN_Q8_AVX2
