// The portable f32/int8 reference kernels, in plain C++ and GCC/Clang vector
// extensions (which lower to SSE on x86-64, SIMD128 on wasm32 and scalar code
// on Cortex-M with the same bits), and the one place that picks a
// target-specific int8 matrix-vector product (matvec_q8, linear_q8 at the
// end). The target forms: kernels_avx2.cpp, kernels_wasm.cpp,
// kernels_cortex_m.cpp, declared in kernels_target.hpp.
#include "kernels.hpp"
#include "exp_reduced.hpp"
#include "kernels_target.hpp"

#include <cstring>

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

using causalgen::detail::exp_reduced;  // exp_reduced.hpp: shared with the CPU trainer

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

namespace detail {

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

}  // namespace detail

using detail::quantize_finite;
using detail::quantize_one;
using detail::vector_amax;

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

}  // namespace

namespace detail {

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

}  // namespace detail

// --- the dispatch: the target form where this target has one and the shape
// allows it (kernels_target.hpp), else the reference -------------------------

void matvec_q8(float* out, const int8_t* W, const float* S, uint32_t group, const float* b,
               const int8_t* xq, float xs, uint32_t rows, uint32_t cols) {
#if defined(CAUSALGEN_Q8_AVX2)
  if (group % 32 == 0 && cols % group == 0 && __builtin_cpu_supports("avx2"))
    return detail::matvec_q8_avx2(out, W, S, group, b, xq, xs, rows, cols);
#endif
#if defined(CAUSALGEN_Q8_WASM)
  if (group % 16 == 0 && cols % group == 0)
    return detail::matvec_q8_wasm(out, W, S, group, b, xq, xs, rows, cols);
#endif
  detail::matvec_q8_rows(out, W, S, group, b, xq, xs, 0, rows, cols);
}

void linear_q8(float* out, const int8_t* W, const float* S, uint32_t group, const float* b,
               const float* x, uint32_t rows, uint32_t cols, void* scratch) {
#if defined(CAUSALGEN_Q8_M4)
  if (group % 8 == 0 && cols % group == 0) {
    uint32_t* xp = static_cast<uint32_t*>(scratch);
    const float xs = detail::quantize_pairs(xp, x, cols);
    detail::matvec_q8_m4(out, W, S, group, b, xp, xs, rows, cols);
    return;
  }
#endif
  int8_t* xq = static_cast<int8_t*>(scratch);
  const float xs = quantize_vector(xq, x, cols);
  matvec_q8(out, W, S, group, b, xq, xs, rows, cols);
}

}  // namespace causalgen::kernels
