#include "kernels.hpp"
#include "exp_reduced.hpp"

#include <cstring>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#endif
#if defined(__wasm_simd128__)
#include <wasm_simd128.h>
#endif

namespace causalgen::kernels {
namespace {

// Eight f32 lanes. GCC/Clang lower this to SSE/AVX on x86, SIMD128 on wasm and
// scalar code on Cortex-M; lane-wise IEEE operations give the same bits on all.
typedef float v8f __attribute__((vector_size(32)));

// always_inline: matvec has an AVX2 clone, and a v8f passed to or returned
// from an out-of-line (non-AVX) helper uses a different ABI there, which
// gave wrong results in unoptimised (-O0) builds.
__attribute__((always_inline)) inline v8f load8(const float* p) {
  v8f v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
__attribute__((always_inline)) inline float reduce8(v8f a) {
  return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
}
inline float pow2i(int n) {  // 2^n for -126 <= n <= 127
  uint32_t bits = static_cast<uint32_t>(n + 127) << 23;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

}  // namespace

using detail::exp_reduced;  // exp_reduced.hpp: shared with the CPU trainer

float exp_f32(float x) {
  if (x != x) return x;
  if (x > 88.72283f) return __builtin_inff();
  if (x < -103.97208f) return 0.0f;
  // x = n ln2 + r with |r| <= ln2/2 (Cody-Waite split of ln2), then a degree-7
  // Taylor polynomial for e^r (error < 1 ulp-ish over the range) and 2^n.
  const float t = x * 1.44269504f;
  const int n = static_cast<int>(t >= 0.0f ? t + 0.5f : t - 0.5f);
  const float p = exp_reduced(x, n);
  // 2^n split in two factors so that subnormal results and n = 128 work.
  const int n1 = n / 2, n2 = n - n1;
  return (p * pow2i(n1)) * pow2i(n2);
}

float tanh_f32(float x) {
  const float a = x < 0.0f ? -x : x;
  float t;
  if (a > 9.0f) {
    t = 1.0f;
  } else {
    t = 1.0f - 2.0f / (exp_f32(2.0f * a) + 1.0f);
  }
  return x < 0.0f ? -t : t;
}

float gelu(float x) {
  const float k = 0.7978845608f;  // sqrt(2/pi)
  const float u = k * (x + 0.044715f * (x * x * x));
  return 0.5f * x * (1.0f + tanh_f32(u));
}

// Four GELUs at once where the target has 128-bit SIMD (x86-64 SSE2, wasm
// SIMD128): each lane performs exactly the IEEE operations of exp_f32/
// tanh_f32/gelu above, in the same order, with branches turned into selects
// (both sides computed on clamped inputs, the scalar's result kept), so every
// lane has the scalar's bits; tests/core/test_int8.cpp compares them. Elsewhere
// (Cortex-M) the scalar loop, where branches are cheap.
#if defined(__x86_64__) || defined(__wasm_simd128__) || defined(__aarch64__)
#define CAUSALGEN_SIMD4 1
namespace {
typedef float v4f __attribute__((vector_size(16)));
typedef int32_t v4i __attribute__((vector_size(16)));
__attribute__((always_inline)) inline v4f splat(float v) { return v4f{v, v, v, v}; }
__attribute__((always_inline)) inline v4f load4(const float* p) {
  v4f v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
__attribute__((always_inline)) inline v4f select(v4i mask, v4f a, v4f b) {
  return (v4f)(((v4i)a & mask) | ((v4i)b & ~mask));
}
__attribute__((always_inline)) inline v4f exp4(v4f x) {
  const v4i nan = x != x, big = x > splat(88.72283f), small = x < splat(-103.97208f);
  v4f xc = select(big, splat(88.72283f), x);
  xc = select(small, splat(-103.97208f), xc);
  xc = select(nan, splat(0.0f), xc);
  const v4f t = xc * splat(1.44269504f);
  const v4i n = __builtin_convertvector(t + select(t >= splat(0.0f), splat(0.5f), splat(-0.5f)), v4i);
  const v4f fn = __builtin_convertvector(n, v4f);
  const v4f r = (xc - fn * splat(0.693359375f)) - fn * splat(-2.12194440e-4f);
  v4f p = splat(1.0f / 5040.0f);
  p = p * r + splat(1.0f / 720.0f);
  p = p * r + splat(1.0f / 120.0f);
  p = p * r + splat(1.0f / 24.0f);
  p = p * r + splat(1.0f / 6.0f);
  p = p * r + splat(0.5f);
  p = p * r + splat(1.0f);
  p = p * r + splat(1.0f);
  const v4i n1 = n / 2, n2 = n - n1;
  const v4f e = (p * (v4f)((n1 + 127) << 23)) * (v4f)((n2 + 127) << 23);
  v4f out = select(big, splat(__builtin_inff()), e);
  out = select(small, splat(0.0f), out);
  return select(nan, x, out);
}
__attribute__((always_inline)) inline v4f tanh4(v4f x) {
  const v4i neg = x < splat(0.0f);
  const v4f a = select(neg, -x, x);
  const v4f t = select(a > splat(9.0f), splat(1.0f),
                       splat(1.0f) - splat(2.0f) / (exp4(splat(2.0f) * a) + splat(1.0f)));
  return select(neg, -t, t);
}
}  // namespace
#endif

namespace {
// gelu(x) with the same bits, cheaper without SIMD (Cortex-M): tanh only ever
// takes exp of 2|u| in [0, 18] here (|u| > 9 gives 1 without exp), where
// exp_f32's range checks never fire and (p * 2^n1) * 2^n2 is exactly p * 2^n
// (p ~ e^r in [0.7, 1.5], normal), i.e. n added to p's exponent bits. NaN
// takes the general path.
inline float gelu_fast(float x) {
  const float u = 0.7978845608f * (x + 0.044715f * (x * x * x));
  const float a = u < 0.0f ? -u : u;
  if (a != a) return gelu(x);
  float t = 1.0f;
  if (!(a > 9.0f)) {
    const float y = 2.0f * a;
    const int n = static_cast<int>(y * 1.44269504f + 0.5f);
    float p = exp_reduced(y, n);
    uint32_t bits;
    std::memcpy(&bits, &p, 4);
    bits += static_cast<uint32_t>(n) << 23;
    std::memcpy(&p, &bits, 4);
    t = 1.0f - 2.0f / (p + 1.0f);
  }
  t = u < 0.0f ? -t : t;
  return 0.5f * x * (1.0f + t);
}
}  // namespace

void gelu_inplace(float* x, uint32_t n) {
  uint32_t i = 0;
#if defined(CAUSALGEN_SIMD4)
  const v4f k = splat(0.7978845608f), c = splat(0.044715f);
  for (; i + 4 <= n; i += 4) {
    const v4f v = load4(x + i);
    const v4f u = k * (v + c * ((v * v) * v));
    const v4f y = (splat(0.5f) * v) * (splat(1.0f) + tanh4(u));
    std::memcpy(x + i, &y, sizeof y);
  }
#endif
  for (; i < n; ++i) x[i] = gelu_fast(x[i]);
}

float sum(const float* x, uint32_t n) {
  v8f acc = {};
  uint32_t i = 0;
  for (; i + 8 <= n; i += 8) acc += load8(x + i);
  for (uint32_t lane = 0; i < n; ++i, ++lane) acc[lane] += x[i];
  return reduce8(acc);
}

float dot(const float* a, const float* b, uint32_t n) {
  v8f acc = {};
  uint32_t i = 0;
  for (; i + 8 <= n; i += 8) acc += load8(a + i) * load8(b + i);
  for (uint32_t lane = 0; i < n; ++i, ++lane) acc[lane] += a[i] * b[i];
  return reduce8(acc);
}

// Four rows at a time share each load of x; every row still sums exactly as
// dot() does, so the result is the same bits as calling dot() per row.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__linux__)
__attribute__((target_clones("avx2", "default")))
#endif
void matvec(float* out, const float* W, const float* b, const float* x, uint32_t rows,
            uint32_t cols) {
  uint32_t r = 0;
  const uint32_t body = cols & ~7u;
  for (; r + 4 <= rows; r += 4) {
    const float* w0 = W + static_cast<size_t>(r) * cols;
    const float* w1 = w0 + cols;
    const float* w2 = w1 + cols;
    const float* w3 = w2 + cols;
    v8f a0 = {}, a1 = {}, a2 = {}, a3 = {};
    for (uint32_t i = 0; i < body; i += 8) {
      const v8f xv = load8(x + i);
      a0 += load8(w0 + i) * xv;
      a1 += load8(w1 + i) * xv;
      a2 += load8(w2 + i) * xv;
      a3 += load8(w3 + i) * xv;
    }
    for (uint32_t i = body, lane = 0; i < cols; ++i, ++lane) {
      a0[lane] += w0[i] * x[i];
      a1[lane] += w1[i] * x[i];
      a2[lane] += w2[i] * x[i];
      a3[lane] += w3[i] * x[i];
    }
    out[r] = reduce8(a0);
    out[r + 1] = reduce8(a1);
    out[r + 2] = reduce8(a2);
    out[r + 3] = reduce8(a3);
  }
  for (; r < rows; ++r) out[r] = dot(W + static_cast<size_t>(r) * cols, x, cols);
  if (b)
    for (uint32_t i = 0; i < rows; ++i) out[i] = out[i] + b[i];
}

void layernorm(float* out, const float* x, const float* w, const float* b, uint32_t n) {
  const float inv_n = 1.0f / static_cast<float>(n);
  const float mean = sum(x, n) * inv_n;
  v8f acc = {};
  uint32_t i = 0;
  const v8f mv = {mean, mean, mean, mean, mean, mean, mean, mean};
  for (; i + 8 <= n; i += 8) {
    const v8f d = load8(x + i) - mv;
    acc += d * d;
  }
  for (uint32_t lane = 0; i < n; ++i, ++lane) {
    const float d = x[i] - mean;
    acc[lane] += d * d;
  }
  const float var = reduce8(acc) * inv_n;
  const float rstd = 1.0f / __builtin_sqrtf(var + 1e-5f);
  for (uint32_t j = 0; j < n; ++j) {
    const float y = ((x[j] - mean) * rstd) * w[j];
    out[j] = b ? y + b[j] : y;
  }
}

namespace {

// max |x| over the non-NaN elements (exact in any order); *has_nan is set
// when x may hold a NaN (always, on SIMD targets, which handle it anyway).
float vector_amax(const float* x, uint32_t n, bool* has_nan) {
  float amax = 0.0f;
  uint32_t i = 0;
#if defined(CAUSALGEN_SIMD4)
  v4f m = {};
  for (; i + 4 <= n; i += 4) {
    const v4f v = load4(x + i);
    const v4f a = select(v < splat(0.0f), -v, v);
    m = select(a > m, a, m);
  }
  for (int k = 0; k < 4; ++k) amax = m[k] > amax ? m[k] : amax;
  for (; i < n; ++i) {
    const float a = x[i] < 0.0f ? -x[i] : x[i];
    amax = a > amax ? a : amax;
  }
  *has_nan = true;
#else
  // Without SIMD: on the bits. Non-negative floats order as their bit patterns.
  uint32_t mbits = 0;
  bool nan = false;
  for (; i < n; ++i) {
    uint32_t b;
    std::memcpy(&b, x + i, 4);
    b &= 0x7FFFFFFFu;
    if (b > 0x7F800000u) nan = true;
    else if (b > mbits) mbits = b;
  }
  std::memcpy(&amax, &mbits, 4);
  *has_nan = nan;
#endif
  return amax;
}

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

}  // namespace

float quantize_vector(int8_t* q, const float* x, uint32_t n) {
  // q may be x itself: element i is read before byte i is written, and byte
  // i lies in an element already read.
  bool has_nan = false;
  const float amax = vector_amax(x, n, &has_nan);
  if (!(amax > 0.0f && amax <= 3.4028234e38f)) {
    for (uint32_t k = 0; k < n; ++k) q[k] = 0;
    return amax == 0.0f ? 0.0f : __builtin_nanf("");
  }
  const float inv = 127.0f / amax;
  uint32_t i = 0;
  if (!has_nan) {
    for (; i < n; ++i) q[i] = static_cast<int8_t>(quantize_finite(x[i] * inv));
    return amax / 127.0f;
  }
#if defined(CAUSALGEN_SIMD4)
  for (; i + 4 <= n; i += 4) {
    v4f v = load4(x + i) * splat(inv);
    v = select(v > splat(127.0f), splat(127.0f), v);
    v = select(v < splat(-127.0f), splat(-127.0f), v);
    v = select(v == v, v, splat(0.0f));
    typedef int8_t v4c __attribute__((vector_size(4)));
    const v4i r = __builtin_convertvector(v + select(v >= splat(0.0f), splat(0.5f), splat(-0.5f)), v4i);
    const v4c b = __builtin_convertvector(r, v4c);  // in [-127, 127]: exact
    std::memcpy(q + i, &b, sizeof b);
  }
#endif
  for (; i < n; ++i) q[i] = static_cast<int8_t>(quantize_one(x[i] * inv));
  return amax / 127.0f;
}

namespace {

inline int32_t dot_i8(const int8_t* a, const int8_t* b, uint32_t n) {
  int32_t s = 0;
  for (uint32_t i = 0; i < n; ++i) s += int32_t(a[i]) * int32_t(b[i]);
  return s;
}

inline float finish_q8(float acc, float xs, const float* b, uint32_t r) {
  const float y = acc * xs;
  return b ? y + b[r] : y;
}

// Rows [r0, rows), one at a time: the reference form of matvec_q8.
void matvec_q8_rows(float* out, const int8_t* W, const float* S, uint32_t group, const float* b,
                    const int8_t* xq, float xs, uint32_t r0, uint32_t rows, uint32_t cols) {
  const uint32_t ng = (cols + group - 1) / group;
  for (uint32_t r = r0; r < rows; ++r) {
    const int8_t* w = W + static_cast<size_t>(r) * cols;
    float acc = 0.0f;
    for (uint32_t g = 0; g < ng; ++g) {
      const uint32_t c0 = g * group, len = cols - c0 < group ? cols - c0 : group;
      acc = acc + static_cast<float>(dot_i8(w + c0, xq + c0, len)) * S[static_cast<size_t>(g) * rows + r];
    }
    out[r] = finish_q8(acc, xs, b, r);
  }
}

#if defined(__ARM_FEATURE_DSP) && defined(__ARM_FP) && defined(__thumb2__)
#define CAUSALGEN_Q8_M4 1
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
#endif

#if defined(__wasm_simd128__)
#define CAUSALGEN_Q8_WASM 1
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
#endif

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define CAUSALGEN_Q8_AVX2 1
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
#endif

}  // namespace

void matvec_q8(float* out, const int8_t* W, const float* S, uint32_t group, const float* b,
               const int8_t* xq, float xs, uint32_t rows, uint32_t cols) {
#if defined(CAUSALGEN_Q8_AVX2)
  if (group % 32 == 0 && cols % group == 0 && __builtin_cpu_supports("avx2"))
    return matvec_q8_avx2(out, W, S, group, b, xq, xs, rows, cols);
#endif
#if defined(CAUSALGEN_Q8_WASM)
  if (group % 16 == 0 && cols % group == 0) return matvec_q8_wasm(out, W, S, group, b, xq, xs, rows, cols);
#endif
  matvec_q8_rows(out, W, S, group, b, xq, xs, 0, rows, cols);
}

void linear_q8(float* out, const int8_t* W, const float* S, uint32_t group, const float* b,
               const float* x, uint32_t rows, uint32_t cols, void* scratch) {
#if defined(CAUSALGEN_Q8_M4)
  if (group % 8 == 0 && cols % group == 0) {
    uint32_t* xp = static_cast<uint32_t*>(scratch);
    const float xs = quantize_pairs(xp, x, cols);
    matvec_q8_m4(out, W, S, group, b, xp, xs, rows, cols);
    return;
  }
#endif
  int8_t* xq = static_cast<int8_t*>(scratch);
  const float xs = quantize_vector(xq, x, cols);
  matvec_q8(out, W, S, group, b, xq, xs, rows, cols);
}

}  // namespace causalgen::kernels
