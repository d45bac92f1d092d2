#include "kernels.hpp"

#include <cstring>

namespace causalgen::kernels {
namespace {

// Eight f32 lanes. GCC/Clang lower this to SSE/AVX on x86, SIMD128 on wasm and
// scalar code on Cortex-M; lane-wise IEEE operations give the same bits on all.
typedef float v8f __attribute__((vector_size(32)));

inline v8f load8(const float* p) {
  v8f v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline float reduce8(v8f a) {
  return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
}
inline float pow2i(int n) {  // 2^n for -126 <= n <= 127
  uint32_t bits = static_cast<uint32_t>(n + 127) << 23;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

}  // namespace

float exp_f32(float x) {
  if (x != x) return x;
  if (x > 88.72283f) return __builtin_inff();
  if (x < -103.97208f) return 0.0f;
  // x = n ln2 + r with |r| <= ln2/2 (Cody-Waite split of ln2), then a degree-7
  // Taylor polynomial for e^r (error < 1 ulp-ish over the range) and 2^n.
  const float t = x * 1.44269504f;
  const int n = static_cast<int>(t >= 0.0f ? t + 0.5f : t - 0.5f);
  const float fn = static_cast<float>(n);
  const float r = (x - fn * 0.693359375f) - fn * -2.12194440e-4f;
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
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

}  // namespace causalgen::kernels
