// Causal multi-head self-attention in the CPU trainer: qkv = Wqkv h + bqkv
// (its own tensors), then softmax attention per head; backward keeps qkv and
// the probabilities.
#include <algorithm>
#include <cmath>
#include <vector>

#include "train/model/gemm.hpp"
#include "train/model/layers.hpp"
#include "train/model/mixers/mixer.hpp"
#include "train/model/parallel.hpp"
#include "train/model/rng.hpp"

namespace causalgen::train::mixers {

// Per (sequence b, head h), with Q, K, V the T x hs slices of qkv (row stride
// 3C) and P the T x T probabilities (the stored att block):
//   S = scale Q K^T, P = causal softmax(S), P~ = dropout(P), Y = P~ V
// backward:
//   dP~ = dY V^T, dV = P~^T dY, dP = dropout(dP~),
//   dS = P (dP - rowsum(P dP)), dQ = scale dS K, dK = scale dS^T Q.
// Every product is one BLAS call on strided slices (the masked upper
// triangle is computed and ignored: P is 0 there). With window W > 0 the
// mask is a band: position t sees keys max(0, t - W + 1) .. t (`local`).
inline int first_key(int t, int window) { return window > 0 && t + 1 > window ? t + 1 - window : 0; }

template <class T>
void attention_forward(T* out, T* att, const T* qkv, int B, int Tn, int C, int H, float p,
                       uint64_t key, uint64_t index0, int window) {
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
        const int lo = first_key(t, window);
        T mx = a[lo];
        for (int s = lo + 1; s <= t; ++s) mx = std::max(mx, a[s]);
        T total = 0;
        for (int s = lo; s <= t; ++s) {
          a[s] = std::exp(a[s] - mx);
          total += a[s];
        }
        const T inv = T(1) / total;
        for (int s = lo; s <= t; ++s) a[s] *= inv;
        for (int s = 0; s < lo; ++s) a[s] = 0;
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
                        int H, float p, uint64_t key, uint64_t index0, int window) {
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
        const int lo = first_key(t, window);
        if (p > 0)
          for (int s = lo; s <= t; ++s)
            d[s] *= hash_uniform(key, base + size_t(t) * Tn + s) < p ? T(0) : keep_scale;
        T dot = 0;
        for (int s = lo; s <= t; ++s) dot += a[s] * d[s];
        for (int s = lo; s <= t; ++s) d[s] = a[s] * (d[s] - dot);
        for (int s = 0; s < lo; ++s) d[s] = 0;
        for (int s = t + 1; s < Tn; ++s) d[s] = 0;
      }
      // dQ = scale dS K;  dK = scale dS^T Q.
      gemm_one<T>(false, false, Tn, hs, Tn, scale, dP.data(), Tn, Q + C, C3, T(0), dQ, C3);
      gemm_one<T>(true, false, Tn, hs, Tn, scale, dP.data(), Tn, Q, C3, T(0), dQ + C, C3);
    }
  });
}

// saved: qkv (N x 3C; q and k rotated when `rotate`), then the probabilities (B x H x T x T).
namespace {
size_t qkv_values(const Config& c, int B, int Tn) { return size_t(B) * Tn * 3 * c.n_embd; }
}  // namespace

template <class T>
size_t qkv_attention_saved_bytes(const Config& c, int max_B, int max_T) {
  return (qkv_values(c, max_B, max_T) + size_t(max_B) * c.n_head * max_T * max_T) * sizeof(T);
}

template <class T>
void qkv_attention_forward(const Pass<T>& a, const T* h, T* m, bool rotate, int window) {
  const Config& c = *a.config;
  const int C = int(c.n_embd), H = int(c.n_head), N = a.B * a.Tn;
  T* qkv = reinterpret_cast<T*>(a.saved);
  T* att = qkv + qkv_values(c, a.B, a.Tn);
  matmul_forward(qkv, h, a.w, a.b, N, C, 3 * C);
  if (rotate) rope_rotate_qk(qkv, a.B, a.Tn, C, C / H, false);
  attention_forward(m, att, qkv, a.B, a.Tn, C, H, a.p, a.key,
                    a.first_window * uint64_t(H) * a.Tn * a.Tn, window);
}

template <class T>
void qkv_attention_backward(const Pass<T>& a, const T* h, const T* dm, T* dh, T* dw, T* db,
                            T* scratch, bool rotate, int window) {
  const Config& c = *a.config;
  const int C = int(c.n_embd), H = int(c.n_head), N = a.B * a.Tn;
  const T* qkv = reinterpret_cast<const T*>(a.saved);
  const T* att = qkv + qkv_values(c, a.B, a.Tn);
  T* dqkv = scratch;  // N x 3C
  attention_backward(dqkv, dm, qkv, att, a.B, a.Tn, C, H, a.p, a.key,
                     a.first_window * uint64_t(H) * a.Tn * a.Tn, window);
  if (rotate) rope_rotate_qk(dqkv, a.B, a.Tn, C, C / H, true);  // d(rotated) -> d(unrotated): R^T
  matmul_backward(dh, dw, db, dqkv, h, a.w, N, C, 3 * C, false);
}

namespace {

// Full causal attention: no rotation (the model's position embedding), no window.
template <class T>
void forward(const Pass<T>& a, const T* h, T* m) {
  qkv_attention_forward(a, h, m, false, 0);
}

template <class T>
void backward(const Pass<T>& a, const T* h, const T* dm, T* dh, T* dw, T* db, T* scratch) {
  qkv_attention_backward(a, h, dm, dh, dw, db, scratch, false, 0);
}

}  // namespace

template <class T>
TrainMixer<T> attention_mixer() {
  return {Mixer::attention, qkv_attention_saved_bytes<T>, forward<T>, backward<T>};
}

#define CAUSALGEN_ATTENTION(T)                                                                 \
  template void attention_forward<T>(T*, T*, const T*, int, int, int, int, float, uint64_t,    \
                                     uint64_t, int);                                           \
  template void attention_backward<T>(T*, const T*, const T*, const T*, int, int, int, int,    \
                                      float, uint64_t, uint64_t, int);                         \
  template size_t qkv_attention_saved_bytes<T>(const Config&, int, int);                       \
  template void qkv_attention_forward<T>(const Pass<T>&, const T*, T*, bool, int);             \
  template void qkv_attention_backward<T>(const Pass<T>&, const T*, const T*, T*, T*, T*, T*,  \
                                          bool, int);                                          \
  template TrainMixer<T> attention_mixer<T>();
CAUSALGEN_ATTENTION(float)
CAUSALGEN_ATTENTION(double)

}  // namespace causalgen::train::mixers
