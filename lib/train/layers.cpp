#include "train/layers.hpp"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>
#include <vector>

#include "core/exp_reduced.hpp"
#include "train/gemm.hpp"
#include "train/rng.hpp"

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

// Splits [0, n) into one contiguous range per thread (static) and runs f(i0, i1).
template <class F>
void parallel_ranges(size_t n, F&& f) {
  const int nt = static_cast<int>(std::min<size_t>(std::max(1, threads()), std::max<size_t>(n, 1)));
  if (nt <= 1 || omp_in_parallel()) {
    f(size_t(0), n);
    return;
  }
#pragma omp parallel for schedule(static) num_threads(nt)
  for (int i = 0; i < nt; ++i) f(n * i / nt, n * (i + 1) / nt);
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

// ------------------------------------------------------------ shift mixers
template <class T>
void shift_mix_forward(Mixer mixer, T* out, uint8_t* sel, const T* h, int B, int Tn, int C) {
  const bool avg = mixer_uses_avg(mixer);
  const bool is_max = mixer == Mixer::max || mixer == Mixer::max_avg;
  // Each (sequence, channel range) is independent.
  parallel_ranges(size_t(B), [&](size_t b0, size_t b1) {
    std::vector<T> sum(C), comp(C);
    for (size_t b = b0; b < b1; ++b) {
      std::fill(sum.begin(), sum.end(), T(0));
      std::fill(comp.begin(), comp.end(), T(0));
      for (int t = 0; t < Tn; ++t) {
        const size_t r = b * Tn + t;
        const T* ht = h + r * C;
        const T* hp = h + (t == 0 ? r : r - 1) * C;
        T* o = out + r * C;
        uint8_t* s = sel + r * C;
        const T n = T(t + 1);
        for (int i = 0; i < C; ++i) {
          T v = ht[i];
          uint8_t k = 0;
          if (is_max ? hp[i] > v : hp[i] < v) v = hp[i], k = 1;
          if (avg) {
            // Kahan summation, exactly as the core's shift_mix.
            const T y = ht[i] - comp[i];
            const T tt = sum[i] + y;
            comp[i] = (tt - sum[i]) - y;
            sum[i] = tt;
            const T a = tt / n;
            if (is_max ? a > v : a < v) v = a, k = 2;
          }
          o[i] = v;
          s[i] = k;
        }
      }
    }
  });
}

template <class T>
void shift_mix_backward(T* dh, const T* dout, const uint8_t* sel, int B, int Tn, int C) {
  parallel_ranges(size_t(B), [&](size_t b0, size_t b1) {
    std::vector<T> acc(C);
    for (size_t b = b0; b < b1; ++b) {
      std::fill(acc.begin(), acc.end(), T(0));
      for (int t = Tn - 1; t >= 0; --t) {
        const size_t r = b * Tn + t;
        const T* g = dout + r * C;
        const uint8_t* s = sel + r * C;
        T* dt = dh + r * C;
        T* dp = dh + (t == 0 ? r : r - 1) * C;
        const T inv = T(1) / T(t + 1);
        for (int i = 0; i < C; ++i) {
          if (s[i] == 0)
            dt[i] += g[i];
          else if (s[i] == 1)
            dp[i] += g[i];
          else
            acc[i] += g[i] * inv;
          dt[i] += acc[i];
        }
      }
    }
  });
}

// -------------------------------------------------------------- attention
// Per (sequence b, head h), with Q, K, V the T x hs slices of qkv (row stride
// 3C) and P the T x T probabilities (the stored att block):
//   S = scale Q K^T, P = causal softmax(S), P~ = dropout(P), Y = P~ V
// backward:
//   dP~ = dY V^T, dV = P~^T dY, dP = dropout(dP~),
//   dS = P (dP - rowsum(P dP)), dQ = scale dS K, dK = scale dS^T Q.
// Every product is one BLAS call on strided slices (the masked upper
// triangle is computed and ignored: P is 0 there).
template <class T>
void attention_forward(T* out, T* att, const T* qkv, int B, int Tn, int C, int H, float p,
                       uint64_t key, uint64_t index0) {
  const int hs = C / H;
  const T scale = T(1) / std::sqrt(T(hs));
  const T keep_scale = p > 0 ? T(1) / (T(1) - T(p)) : T(1);
  const int C3 = 3 * C;
  parallel_ranges(size_t(B) * H, [&](size_t j0, size_t j1) {
    std::vector<T> dropped(p > 0 ? size_t(Tn) * Tn : 0);
    for (size_t j = j0; j < j1; ++j) {
      const size_t b = j / H, h = j % H;
      const T* Q = qkv + b * Tn * C3 + h * hs;
      T* P = att + j * Tn * Tn;
      gemm_one<T>(false, true, Tn, Tn, hs, scale, Q, C3, Q + C, C3, T(0), P, Tn);
      for (int t = 0; t < Tn; ++t) {
        T* a = P + size_t(t) * Tn;
        T mx = a[0];
        for (int s = 1; s <= t; ++s) mx = std::max(mx, a[s]);
        T total = 0;
        for (int s = 0; s <= t; ++s) {
          a[s] = std::exp(a[s] - mx);
          total += a[s];
        }
        const T inv = T(1) / total;
        for (int s = 0; s <= t; ++s) a[s] *= inv;
        for (int s = t + 1; s < Tn; ++s) a[s] = 0;
      }
      const T* Pd = P;
      if (p > 0) {
        const uint64_t base = index0 + j * Tn * Tn;
        for (size_t k = 0; k < size_t(Tn) * Tn; ++k)
          dropped[k] = hash_uniform(key, base + k) < p ? T(0) : P[k] * keep_scale;
        Pd = dropped.data();
      }
      gemm_one<T>(false, false, Tn, hs, Tn, T(1), Pd, Tn, Q + 2 * C, C3, T(0),
                  out + b * Tn * C + h * hs, C);
    }
  });
}

template <class T>
void attention_backward(T* dqkv, const T* dout, const T* qkv, const T* att, int B, int Tn, int C,
                        int H, float p, uint64_t key, uint64_t index0) {
  const int hs = C / H;
  const T scale = T(1) / std::sqrt(T(hs));
  const T keep_scale = p > 0 ? T(1) / (T(1) - T(p)) : T(1);
  const int C3 = 3 * C;
  parallel_ranges(size_t(B) * H, [&](size_t j0, size_t j1) {
    std::vector<T> dP(size_t(Tn) * Tn), dropped(p > 0 ? size_t(Tn) * Tn : 0);
    for (size_t j = j0; j < j1; ++j) {
      const size_t b = j / H, h = j % H;
      const T* Q = qkv + b * Tn * C3 + h * hs;
      const T* P = att + j * Tn * Tn;
      const T* dY = dout + b * Tn * C + h * hs;
      T* dQ = dqkv + b * Tn * C3 + h * hs;
      const uint64_t base = index0 + j * Tn * Tn;
      const T* Pd = P;
      if (p > 0) {
        for (size_t k = 0; k < size_t(Tn) * Tn; ++k)
          dropped[k] = hash_uniform(key, base + k) < p ? T(0) : P[k] * keep_scale;
        Pd = dropped.data();
      }
      // dP~ = dY V^T;  dV = P~^T dY.
      gemm_one<T>(false, true, Tn, Tn, hs, T(1), dY, C, Q + 2 * C, C3, T(0), dP.data(), Tn);
      gemm_one<T>(true, false, Tn, hs, Tn, T(1), Pd, Tn, dY, C, T(0), dQ + 2 * C, C3);
      // Dropout, then the softmax: dS (in dP) = P (dP - sum_u P dP).
      for (int t = 0; t < Tn; ++t) {
        T* d = dP.data() + size_t(t) * Tn;
        const T* a = P + size_t(t) * Tn;
        if (p > 0)
          for (int s = 0; s <= t; ++s)
            d[s] *= hash_uniform(key, base + size_t(t) * Tn + s) < p ? T(0) : keep_scale;
        T dot = 0;
        for (int s = 0; s <= t; ++s) dot += a[s] * d[s];
        for (int s = 0; s <= t; ++s) d[s] = a[s] * (d[s] - dot);
        for (int s = t + 1; s < Tn; ++s) d[s] = 0;
      }
      // dQ = scale dS K;  dK = scale dS^T Q.
      gemm_one<T>(false, false, Tn, hs, Tn, scale, dP.data(), Tn, Q + C, C3, T(0), dQ, C3);
      gemm_one<T>(true, false, Tn, hs, Tn, scale, dP.data(), Tn, Q, C3, T(0), dQ + C, C3);
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
  template void shift_mix_forward<T>(Mixer, T*, uint8_t*, const T*, int, int, int);            \
  template void shift_mix_backward<T>(T*, const T*, const uint8_t*, int, int, int);            \
  template void attention_forward<T>(T*, T*, const T*, int, int, int, int, float, uint64_t,   \
                                     uint64_t);                                                \
  template void attention_backward<T>(T*, const T*, const T*, const T*, int, int, int, int,    \
                                      float, uint64_t, uint64_t);                                  \
  template double crossentropy_forward<T>(T*, T*, const uint32_t*, int, int);                  \
  template void crossentropy_backward<T>(T*, const uint32_t*, int, int, T);

CAUSALGEN_TRAIN_LAYERS(float)
CAUSALGEN_TRAIN_LAYERS(double)

}  // namespace causalgen::train
