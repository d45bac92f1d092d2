// The int8 matrix-vector product with WebAssembly SIMD128 (wasm32 built with
// -msimd128), chosen by matvec_q8 (kernels.cpp).
#include "kernels_target.hpp"

#if defined(CAUSALGEN_Q8_WASM)
#include <wasm_simd128.h>

namespace causalgen::kernels::detail {

// WebAssembly SIMD128: four rows at a time; per 16 columns of a group, sign
// extension to 16 bits and i32x4.dot_i16x8_s (pairs of products summed
// exactly into 32 bits); after each group a transposing add gives the four
// rows' exact sums in one vector, scaled lane by lane (each lane computes
// exactly what matvec_q8_rows does for its row).
void matvec_q8_wasm(float* out, const int8_t* W, const float* S, uint32_t group, const float* b,
                    const int8_t* xq, float xs, uint32_t rows, uint32_t cols) {
  const uint32_t ng = cols / group;  // the caller checks cols % group == 0, group % 16 == 0
  uint32_t r = 0;
  for (; r + 4 <= rows; r += 4) {
    const int8_t* w0 = W + static_cast<size_t>(r) * cols;
    const int8_t* w1 = w0 + cols;
    const int8_t* w2 = w1 + cols;
    const int8_t* w3 = w2 + cols;
    v128_t acc = wasm_f32x4_splat(0.0f);
    for (uint32_t g = 0; g < ng; ++g) {
      v128_t s0 = wasm_i32x4_splat(0), s1 = s0, s2 = s0, s3 = s0;
      for (uint32_t k = g * group, end = k + group; k < end; k += 16) {
        const v128_t xv = wasm_v128_load(xq + k);
        const v128_t xl = wasm_i16x8_extend_low_i8x16(xv), xh = wasm_i16x8_extend_high_i8x16(xv);
#define CG_Q8_WASM_ROW(S_, W_)                                                                   \
  {                                                                                              \
    const v128_t wv = wasm_v128_load(W_ + k);                                                    \
    S_ = wasm_i32x4_add(S_, wasm_i32x4_add(wasm_i32x4_dot_i16x8(wasm_i16x8_extend_low_i8x16(wv), xl), \
                                           wasm_i32x4_dot_i16x8(wasm_i16x8_extend_high_i8x16(wv), xh))); \
  }
        CG_Q8_WASM_ROW(s0, w0)
        CG_Q8_WASM_ROW(s1, w1)
        CG_Q8_WASM_ROW(s2, w2)
        CG_Q8_WASM_ROW(s3, w3)
#undef CG_Q8_WASM_ROW
      }
      const v128_t a = wasm_i32x4_add(wasm_i32x4_shuffle(s0, s1, 0, 2, 4, 6), wasm_i32x4_shuffle(s0, s1, 1, 3, 5, 7));
      const v128_t c = wasm_i32x4_add(wasm_i32x4_shuffle(s2, s3, 0, 2, 4, 6), wasm_i32x4_shuffle(s2, s3, 1, 3, 5, 7));
      const v128_t sums = wasm_i32x4_add(wasm_i32x4_shuffle(a, c, 0, 2, 4, 6), wasm_i32x4_shuffle(a, c, 1, 3, 5, 7));
      const v128_t sc = wasm_v128_load(S + static_cast<size_t>(g) * rows + r);
      acc = wasm_f32x4_add(acc, wasm_f32x4_mul(wasm_f32x4_convert_i32x4(sums), sc));
    }
    v128_t y = wasm_f32x4_mul(acc, wasm_f32x4_splat(xs));
    if (b) y = wasm_f32x4_add(y, wasm_v128_load(b + r));
    wasm_v128_store(out + r, y);
  }
  matvec_q8_rows(out, W, S, group, b, xq, xs, r, rows, cols);
}

}  // namespace causalgen::kernels::detail

#endif  // CAUSALGEN_Q8_WASM
