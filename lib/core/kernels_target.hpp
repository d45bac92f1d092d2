// What the target-specific int8 kernels share with the portable reference
// (kernels.cpp), and which of them this target has: each CAUSALGEN_Q8_* below
// is defined exactly where its file compiles a kernel. kernels.cpp's
// matvec_q8 and linear_q8 are the one dispatch. Every target form computes
// exact int32 group sums and then the same float operations, in the same
// order, as matvec_q8_rows, so all give the same bits (kernels.hpp).
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define CAUSALGEN_Q8_AVX2 1  // kernels_avx2.cpp (used when the CPU has AVX2)
#endif
#if defined(__wasm_simd128__)
#define CAUSALGEN_Q8_WASM 1  // kernels_wasm.cpp
#endif
#if defined(__ARM_FEATURE_DSP) && defined(__ARM_FP) && defined(__thumb2__)
#define CAUSALGEN_Q8_M4 1  // kernels_cortex_m.cpp (ARMv7E-M with FPU: M4F, M7)
#endif

namespace causalgen::kernels::detail {

// --- the portable pieces (kernels.cpp) ---------------------------------------

// max |x| over the non-NaN elements (exact in any order); *has_nan is set
// when x may hold a NaN (always, on SIMD targets, which handle it anyway).
float vector_amax(const float* x, uint32_t n, bool* has_nan);

// v = x * (127 / max|x|) to an integer: clamp to [-127, 127], NaN -> 0,
// round half away from zero.
inline int quantize_one(float v) {
  v = v > 127.0f ? 127.0f : v;
  v = v < -127.0f ? -127.0f : v;
  v = v == v ? v : 0.0f;
  return static_cast<int>(v + (v >= 0.0f ? 0.5f : -0.5f));
}
// The same when every element is finite: then |v| <= 127 (1 + 2^-23)^2 <
// 127.5, so no clamp is needed; +-0.5 takes v's sign from its bits.
inline int quantize_finite(float v) {
  uint32_t b;
  std::memcpy(&b, &v, 4);
  b = (b & 0x80000000u) | 0x3F000000u;
  float half;
  std::memcpy(&half, &b, 4);
  return static_cast<int>(v + half);
}

inline float finish_q8(float acc, float xs, const float* b, uint32_t r) {
  const float y = acc * xs;
  return b ? y + b[r] : y;
}

// Rows [r0, rows), one at a time: the reference form of matvec_q8; the
// target forms finish their last rows with it.
void matvec_q8_rows(float* out, const int8_t* W, const float* S, uint32_t group, const float* b,
                    const int8_t* xq, float xs, uint32_t r0, uint32_t rows, uint32_t cols);

// --- the target forms: the same arguments as matvec_q8 ---------------------------

#if defined(CAUSALGEN_Q8_AVX2)
// Needs group % 32 == 0 and cols % group == 0, and a CPU with AVX2.
__attribute__((target("avx2"))) void matvec_q8_avx2(float* out, const int8_t* W, const float* S,
                                                    uint32_t group, const float* b,
                                                    const int8_t* xq, float xs, uint32_t rows,
                                                    uint32_t cols);
#endif
#if defined(CAUSALGEN_Q8_WASM)
// Needs group % 16 == 0 and cols % group == 0.
void matvec_q8_wasm(float* out, const int8_t* W, const float* S, uint32_t group, const float* b,
                    const int8_t* xq, float xs, uint32_t rows, uint32_t cols);
#endif
#if defined(CAUSALGEN_Q8_M4)
// x (n, a multiple of 4) quantized as quantize_vector does, as 16-bit pairs.
float quantize_pairs(uint32_t* q, const float* x, uint32_t n);
// Needs group % 8 == 0 and cols % group == 0; xp from quantize_pairs.
void matvec_q8_m4(float* out, const int8_t* W, const float* S, uint32_t group, const float* b,
                  const uint32_t* xp, float xs, uint32_t rows, uint32_t cols);
#endif

}  // namespace causalgen::kernels::detail
