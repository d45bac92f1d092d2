// The int8 linear layer on Cortex-M4F/M7 (ARMv7E-M DSP extension + FPU):
// the input as 16-bit pairs and SMLAD in assembly, chosen by linear_q8
// (kernels.cpp).
#include "kernels_target.hpp"

#if defined(CAUSALGEN_Q8_M4)
#include <cstring>

namespace causalgen::kernels::detail {

// Cortex-M4F/M7 (ARMv7E-M with FPU): four rows at a time in assembly. x comes
// as 16-bit pairs, per four columns the words (x0,x2) and (x1,x3) (one LDRD);
// per row one word of four weights is unpacked by SXTB16 into (w0,w2) and
// (w1,w3) and two SMLAD (two 16x16 products added to the 32-bit sum each)
// follow: 21 instructions per 16 multiply-adds. After each group the four
// exact sums are converted and scaled with VCVT/VMUL/VADD (separately
// rounded: the same float operations, in the same order, as matvec_q8_rows).
struct Q8Block {
  const int8_t* w;  // 0: first weight of the block's first row
  uint32_t cols;    // 4: row stride in bytes
  const uint32_t* x; // 8: quantized input as 16-bit pairs (quantize_pairs)
  const float* s;   // 12: scales of group 0 for the block's first row (advanced per group)
  uint32_t sstride; // 16: bytes from one group's scales to the next (rows * 4)
  uint32_t ng;      // 20: groups per row
  uint32_t n8;      // 24: group / 8 (the inner loop does 8 columns per turn)
  float acc[4];     // 28: results
};
static_assert(sizeof(void*) == 4, "Q8Block offsets assume 32-bit pointers");

#define CG_Q8_ROW(P, A)               \
  "ldr r11, [" P "], #4\n\t"          \
  "sxtb16 r12, r11\n\t"               \
  "sxtb16 r11, r11, ror #8\n\t"       \
  "smlad " A ", r12, r9, " A "\n\t"   \
  "smlad " A ", r11, r10, " A "\n\t"
#define CG_Q8_COLS4                   \
  "ldrd r9, r10, [r0], #8\n\t"        \
  CG_Q8_ROW("r1", "r5") CG_Q8_ROW("r2", "r6") CG_Q8_ROW("r3", "r7") CG_Q8_ROW("r4", "r8")
#define CG_Q8_SCALE(A, SI, SS, SACC)                     \
  "vmov " SI ", " A "\n\t"                               \
  "vcvt.f32.s32 " SI ", " SI "\n\t"                      \
  "vmul.f32 " SI ", " SI ", " SS "\n\t"                  \
  "vadd.f32 " SACC ", " SACC ", " SI "\n\t"

extern "C" __attribute__((naked, noinline)) void causalgen_q8_rows4(Q8Block* /*p*/) {
  __asm__ volatile(
      ".syntax unified\n\t"
      "push {r4-r11, lr}\n\t"
      "sub sp, sp, #8\n\t"
      "str r0, [sp]\n\t"             // [sp]: the block
      "ldr r1, [r0, #20]\n\t"
      "str r1, [sp, #4]\n\t"         // [sp, #4]: groups left
      "mov r1, #0\n\t"
      "vmov s0, r1\n\t"
      "vmov s1, r1\n\t"
      "vmov s2, r1\n\t"
      "vmov s3, r1\n\t"
      "ldr r12, [r0, #4]\n\t"        // cols
      "ldr r1, [r0, #0]\n\t"         // row pointers r1..r4
      "add r2, r1, r12\n\t"
      "add r3, r2, r12\n\t"
      "add r4, r3, r12\n\t"
      "ldr r0, [r0, #8]\n\t"         // x pointer
      "1:\n\t"                       // each group
      "mov r5, #0\n\t"
      "mov r6, #0\n\t"
      "mov r7, #0\n\t"
      "mov r8, #0\n\t"
      "ldr r12, [sp]\n\t"
      "ldr lr, [r12, #24]\n\t"
      "2:\n\t"                       // eight columns of the group
      CG_Q8_COLS4 CG_Q8_COLS4
      "subs lr, lr, #1\n\t"
      "bne 2b\n\t"
      "ldr r12, [sp]\n\t"
      "ldr r11, [r12, #12]\n\t"
      "vldmia r11, {s4-s7}\n\t"
      "ldr lr, [r12, #16]\n\t"
      "add r11, r11, lr\n\t"
      "str r11, [r12, #12]\n\t"
      CG_Q8_SCALE("r5", "s8", "s4", "s0") CG_Q8_SCALE("r6", "s9", "s5", "s1")
      CG_Q8_SCALE("r7", "s10", "s6", "s2") CG_Q8_SCALE("r8", "s11", "s7", "s3")
      "ldr lr, [sp, #4]\n\t"
      "subs lr, lr, #1\n\t"
      "str lr, [sp, #4]\n\t"
      "bne 1b\n\t"
      "ldr r12, [sp]\n\t"
      "add r12, r12, #28\n\t"
      "vstmia r12, {s0-s3}\n\t"
      "add sp, sp, #8\n\t"
      "pop {r4-r11, pc}\n\t");
}
#undef CG_Q8_ROW
#undef CG_Q8_COLS4
#undef CG_Q8_SCALE

// x (n, a multiple of 4) quantized as quantize_vector does, stored as 16-bit
// pairs: for columns 4c..4c+3 the words (x[4c], x[4c+2]) and (x[4c+1],
// x[4c+3]), low half first. q may be x itself (chunk c is read before its
// 8 bytes, which lie in chunks <= c, are written).
float quantize_pairs(uint32_t* q, const float* x, uint32_t n) {
  bool has_nan = false;
  const float amax = vector_amax(x, n, &has_nan);
  const bool finite = amax > 0.0f && amax <= 3.4028234e38f;
  const float inv = finite ? 127.0f / amax : 0.0f;
  if (finite && !has_nan) {  // the usual case, without per-element branches
    for (uint32_t c = 0; c < n / 4; ++c) {
      const float* v = x + 4 * c;
      const int k0 = quantize_finite(v[0] * inv), k1 = quantize_finite(v[1] * inv);
      const int k2 = quantize_finite(v[2] * inv), k3 = quantize_finite(v[3] * inv);
      const uint32_t w[2] = {(uint32_t(k0) & 0xFFFFu) | uint32_t(k2) << 16,
                             (uint32_t(k1) & 0xFFFFu) | uint32_t(k3) << 16};
      std::memcpy(reinterpret_cast<char*>(q) + 8 * c, w, 8);
    }
    return amax / 127.0f;
  }
  for (uint32_t c = 0; c < n / 4; ++c) {
    const float* v = x + 4 * c;
    int k[4] = {0, 0, 0, 0};
    if (finite) {
      const float v0 = v[0] * inv, v1 = v[1] * inv, v2 = v[2] * inv, v3 = v[3] * inv;
      if (has_nan) {
        k[0] = quantize_one(v0), k[1] = quantize_one(v1), k[2] = quantize_one(v2), k[3] = quantize_one(v3);
      } else {
        k[0] = quantize_finite(v0), k[1] = quantize_finite(v1);
        k[2] = quantize_finite(v2), k[3] = quantize_finite(v3);
      }
    }
    const uint32_t w[2] = {(uint32_t(k[0]) & 0xFFFFu) | uint32_t(k[2]) << 16,
                           (uint32_t(k[1]) & 0xFFFFu) | uint32_t(k[3]) << 16};
    std::memcpy(reinterpret_cast<char*>(q) + 8 * c, w, 8);
  }
  if (!finite) return amax == 0.0f ? 0.0f : __builtin_nanf("");
  return amax / 127.0f;
}

inline int32_t pair_at(const uint32_t* xp, uint32_t i) {
  const uint32_t w = xp[2 * (i / 4) + (i & 1)];
  return static_cast<int16_t>((i & 2) ? w >> 16 : w & 0xFFFFu);
}

void matvec_q8_m4(float* out, const int8_t* W, const float* S, uint32_t group, const float* b,
                  const uint32_t* xp, float xs, uint32_t rows, uint32_t cols) {
  // The caller checks group % 8 == 0 and cols % group == 0.
  Q8Block blk;
  blk.cols = cols;
  blk.x = xp;
  blk.sstride = rows * 4;
  blk.ng = cols / group;
  blk.n8 = group / 8;
  uint32_t r = 0;
  for (; r + 4 <= rows; r += 4) {
    blk.w = W + static_cast<size_t>(r) * cols;
    blk.s = S + r;
    causalgen_q8_rows4(&blk);
    for (uint32_t j = 0; j < 4; ++j) out[r + j] = finish_q8(blk.acc[j], xs, b, r + j);
  }
  const uint32_t ng = cols / group;
  for (; r < rows; ++r) {  // the last rows % 4, as matvec_q8_rows
    const int8_t* w = W + static_cast<size_t>(r) * cols;
    float acc = 0.0f;
    for (uint32_t g = 0; g < ng; ++g) {
      int32_t sum = 0;
      for (uint32_t c = g * group; c < g * group + group; ++c) sum += int32_t(w[c]) * pair_at(xp, c);
      acc = acc + static_cast<float>(sum) * S[static_cast<size_t>(g) * rows + r];
    }
    out[r] = finish_q8(acc, xs, b, r);
  }
}

}  // namespace causalgen::kernels::detail

#endif  // CAUSALGEN_Q8_M4
