#include "train/model/layers.hpp"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>
#include <vector>

#include "core/exp_reduced.hpp"
#include "train/model/gemm.hpp"
#include "train/model/parallel.hpp"
#include "train/model/rng.hpp"

namespace causalgen::train {

namespace {

constexpr float kGeluK = 0.7978845608028654f;  // sqrt(2/pi)
constexpr float kGeluA = 0.044715f;

// tanh without branches so that the GELU loops vectorise: 1 - 2/(e^{2|u|}+1)
// with e^y = 2^n p(r) (core/exp_reduced.hpp, the polynomial of the core's
// tanh_f32). Accurate to a few ulp of 1 (absolute ~1e-7).
inline float tanh_fast(float u) {
  float a = std::fabs(u);
  a = a < 9.0f ? a : 9.0f;  // a select under -fno-trapping-math
  const float y = 2.0f * a;
  const int n = static_cast<int>(y * 1.44269504f + 0.5f);
  const float p = detail::exp_reduced(y, n);
  const int32_t bits = (n + 127) << 23;
  const float s = __builtin_bit_cast(float, bits);
  const float t = 1.0f - 2.0f / (p * s + 1.0f);
  return std::copysign(t, u);
}

}  // namespace

// ---------------------------------------------------------------- dropout
template <class T>
void dropout(T* x, size_t n, float p, uint64_t key, uint64_t index0) {
  if (p <= 0.0f) return;
  const T scale = T(1) / (T(1) - T(p));
  parallel_ranges(n, [&](size_t i0, size_t i1) {
    for (size_t i = i0; i < i1; ++i)
      x[i] = hash_uniform(key, index0 + i) < p ? T(0) : x[i] * scale;
  });
}

// -------------------------------------------------------------- embedding
template <class T>
void embedding_forward(T* out, const uint32_t* tok, const T* wte, const T* wpe, int B, int Tn,
                       int C) {
  parallel_ranges(size_t(B) * Tn, [&](size_t r0, size_t r1) {
    for (size_t r = r0; r < r1; ++r) {
      const T* te = wte + size_t(tok[r]) * C;
      T* o = out + r * C;
      if (wpe) {
        const T* pe = wpe + (r % Tn) * C;
        for (int i = 0; i < C; ++i) o[i] = te[i] + pe[i];
      } else {
        for (int i = 0; i < C; ++i) o[i] = te[i];
      }
    }
  });
}

template <class T>
void embedding_backward(T* dwte, T* dwpe, const T* dout, const uint32_t* tok, int B, int Tn,
                        int C) {
  // Rows in order, so each wte row sums its occurrences in a fixed order;
  // threads take channel ranges.
  parallel_ranges(size_t(C), [&](size_t c0, size_t c1) {
    for (size_t r = 0; r < size_t(B) * Tn; ++r) {
      const T* d = dout + r * C;
      T* g = dwte + size_t(tok[r]) * C;
      for (size_t i = c0; i < c1; ++i) g[i] += d[i];
      if (dwpe) {
        T* gp = dwpe + (r % Tn) * C;
        for (size_t i = c0; i < c1; ++i) gp[i] += d[i];
      }
    }
  });
}

// -------------------------------------------------------------- layernorm
template <class T>
void layernorm_forward(T* out, T* mean, T* rstd, const T* x, const T* w, const T* b, int N,
                       int C) {
  parallel_ranges(size_t(N), [&](size_t r0, size_t r1) {
    for (size_t r = r0; r < r1; ++r) {
      const T* xr = x + r * C;
      T s = 0;
      for (int i = 0; i < C; ++i) s += xr[i];
      const T m = s / T(C);
      T v = 0;
      for (int i = 0; i < C; ++i) v += (xr[i] - m) * (xr[i] - m);
      const T rs = T(1) / std::sqrt(v / T(C) + T(1e-5));
      T* o = out + r * C;
      for (int i = 0; i < C; ++i) {
        const T y = ((xr[i] - m) * rs) * w[i];
        o[i] = b ? y + b[i] : y;
      }
      mean[r] = m;
      rstd[r] = rs;
    }
  });
}

template <class T>
void layernorm_backward(T* dx, T* dw, T* db, const T* dout, const T* x, const T* mean,
                        const T* rstd, const T* w, int N, int C) {
  // dx: rows are independent.
  parallel_ranges(size_t(N), [&](size_t r0, size_t r1) {
    for (size_t r = r0; r < r1; ++r) {
      const T* xr = x + r * C;
      const T* dr = dout + r * C;
      const T m = mean[r], rs = rstd[r];
      T sum_d = 0, sum_dx = 0;  // mean of dxhat and of dxhat * xhat
      for (int i = 0; i < C; ++i) {
        const T xhat = (xr[i] - m) * rs;
        const T dxhat = dr[i] * w[i];
        sum_d += dxhat;
        sum_dx += dxhat * xhat;
      }
      sum_d /= T(C);
      sum_dx /= T(C);
      T* g = dx + r * C;
      for (int i = 0; i < C; ++i) {
        const T xhat = (xr[i] - m) * rs;
        const T dxhat = dr[i] * w[i];
        g[i] += rs * (dxhat - sum_d - xhat * sum_dx);
      }
    }
  });
  // dw, db: sums over rows in row order; threads take channel ranges.
  parallel_ranges(size_t(C), [&](size_t c0, size_t c1) {
    for (size_t r = 0; r < size_t(N); ++r) {
      const T* xr = x + r * C;
      const T* dr = dout + r * C;
      const T m = mean[r], rs = rstd[r];
      for (size_t i = c0; i < c1; ++i) {
        dw[i] += dr[i] * ((xr[i] - m) * rs);
        if (db) db[i] += dr[i];
      }
    }
  });
}

// ----------------------------------------------------------------- matmul
template <class T>
void matmul_forward(T* out, const T* inp, const T* W, const T* b, int N, int IC, int OC) {
  if (b) {
    parallel_ranges(size_t(N), [&](size_t r0, size_t r1) {
      for (size_t r = r0; r < r1; ++r) std::memcpy(out + r * OC, b, sizeof(T) * OC);
    });
    gemm_nt<T>(out, inp, W, N, OC, IC, T(1));
  } else {
    gemm_nt<T>(out, inp, W, N, OC, IC, T(0));
  }
}

template <class T>
void matmul_backward(T* dinp, T* dW, T* db, const T* dout, const T* inp, const T* W, int N,
                     int IC, int OC, bool accumulate_dinp) {
  if (dinp) gemm_nn<T>(dinp, dout, W, N, IC, OC, accumulate_dinp ? T(1) : T(0));
  gemm_tn<T>(dW, dout, inp, OC, IC, N, T(1));
  if (db) {
    parallel_ranges(size_t(OC), [&](size_t c0, size_t c1) {
      for (size_t r = 0; r < size_t(N); ++r) {
        const T* d = dout + r * OC;
        for (size_t i = c0; i < c1; ++i) db[i] += d[i];
      }
    });
  }
}

// ------------------------------------------------------------------- gelu
namespace {

// The float loops, branch-free so they vectorise (built with
// -fno-trapping-math so that the clamp is a select), cloned for AVX2.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define CAUSALGEN_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define CAUSALGEN_CLONES
#endif

CAUSALGEN_CLONES
void gelu_forward_f32(float* __restrict out, const float* __restrict x, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    const float v = x[i];
    const float u = kGeluK * (v + kGeluA * (v * v * v));
    out[i] = 0.5f * v * (1.0f + tanh_fast(u));
  }
}

CAUSALGEN_CLONES
void gelu_backward_f32(float* dx, const float* dout, const float* __restrict x, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    const float v = x[i];
    const float u = kGeluK * (v + kGeluA * (v * v * v));
    const float th = tanh_fast(u);
    const float du = kGeluK * (1.0f + (3.0f * kGeluA) * v * v);
    const float grad = 0.5f * (1.0f + th) + 0.5f * v * (1.0f - th * th) * du;
    dx[i] = dout[i] * grad;
  }
}

}  // namespace

template <class T>
void gelu_forward(T* out, const T* x, size_t n) {
  parallel_ranges(n, [&](size_t i0, size_t i1) {
    if constexpr (std::is_same_v<T, float>) {
      gelu_forward_f32(out + i0, x + i0, i1 - i0);
    } else {
      for (size_t i = i0; i < i1; ++i) {
        const T v = x[i];
        const T u = T(kGeluK) * (v + T(kGeluA) * (v * v * v));
        out[i] = T(0.5) * v * (T(1) + std::tanh(u));
      }
    }
  });
}

template <class T>
void gelu_backward(T* dx, const T* dout, const T* x, size_t n) {
  parallel_ranges(n, [&](size_t i0, size_t i1) {
    if constexpr (std::is_same_v<T, float>) {
      gelu_backward_f32(dx + i0, dout + i0, x + i0, i1 - i0);
    } else {
      for (size_t i = i0; i < i1; ++i) {
        const T v = x[i];
        const T u = T(kGeluK) * (v + T(kGeluA) * (v * v * v));
        const T th = std::tanh(u);
        const T du = T(kGeluK) * (T(1) + T(3 * kGeluA) * v * v);
        const T grad = T(0.5) * (T(1) + th) + T(0.5) * v * (T(1) - th * th) * du;
        dx[i] = dout[i] * grad;
      }
    }
  });
}

// ---------------------------------------------------------- cross-entropy
template <class T>
double crossentropy_forward(T* logits, T* losses, const uint32_t* targets, int N, int V) {
  parallel_ranges(size_t(N), [&](size_t r0, size_t r1) {
    for (size_t r = r0; r < r1; ++r) {
      T* l = logits + r * V;
      T mx = l[0];
      for (int i = 1; i < V; ++i) mx = std::max(mx, l[i]);
      const T target_logit = l[targets[r]];
      T total = 0;
      for (int i = 0; i < V; ++i) {
        l[i] = std::exp(l[i] - mx);
        total += l[i];
      }
      const T inv = T(1) / total;
      for (int i = 0; i < V; ++i) l[i] *= inv;
      losses[r] = std::log(total) + mx - target_logit;
    }
  });
  double sum = 0;
  for (int r = 0; r < N; ++r) sum += double(losses[r]);
  return sum / N;
}

template <class T>
void crossentropy_backward(T* probs, const uint32_t* targets, int N, int V, T scale) {
  parallel_ranges(size_t(N), [&](size_t r0, size_t r1) {
    for (size_t r = r0; r < r1; ++r) {
      T* p = probs + r * V;
      p[targets[r]] -= T(1);
      for (int i = 0; i < V; ++i) p[i] *= scale;
    }
  });
}

// ---------------------------------------------------------- instantiation
#define CAUSALGEN_TRAIN_LAYERS(T)                                                              \
  template void dropout<T>(T*, size_t, float, uint64_t, uint64_t);                             \
  template void embedding_forward<T>(T*, const uint32_t*, const T*, const T*, int, int, int);  \
  template void embedding_backward<T>(T*, T*, const T*, const uint32_t*, int, int, int);       \
  template void layernorm_forward<T>(T*, T*, T*, const T*, const T*, const T*, int, int);      \
  template void layernorm_backward<T>(T*, T*, T*, const T*, const T*, const T*, const T*,      \
                                      const T*, int, int);                                     \
  template void matmul_forward<T>(T*, const T*, const T*, const T*, int, int, int);            \
  template void matmul_backward<T>(T*, T*, T*, const T*, const T*, const T*, int, int, int,    \
                                   bool);                                                      \
  template void gelu_forward<T>(T*, const T*, size_t);                                         \
  template void gelu_backward<T>(T*, const T*, const T*, size_t);                              \
  template double crossentropy_forward<T>(T*, T*, const uint32_t*, int, int);                  \
  template void crossentropy_backward<T>(T*, const uint32_t*, int, int, T);

CAUSALGEN_TRAIN_LAYERS(float)
CAUSALGEN_TRAIN_LAYERS(double)

}  // namespace causalgen::train
