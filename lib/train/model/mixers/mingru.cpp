// The minGRU mixer in the CPU trainer (formulas: lib/core/mixers/mingru.cpp).
// The projection is one product over the batch; the recurrence is a
// sequential scan over the window per sequence and channel (O(T) steps, each
// cheap; the sequences run in parallel), not a parallel (log-depth) scan.
#include <algorithm>
#include <cmath>
#include <vector>

#include "train/model/layers.hpp"
#include "train/model/mixers/mixer.hpp"
#include "train/model/parallel.hpp"

namespace causalgen::train::mixers {

template <class T>
void mingru_scan_forward(T* out, T* zc, int B, int Tn, int C) {
  parallel_ranges(size_t(B), [&](size_t b0, size_t b1) {
    for (size_t b = b0; b < b1; ++b)
      for (int t = 0; t < Tn; ++t) {
        const size_t r = b * Tn + t;
        T* z = zc + r * 2 * C;
        const T* c = z + C;
        const T* prev = t == 0 ? nullptr : out + (r - 1) * C;
        T* s = out + r * C;
        for (int i = 0; i < C; ++i) {
          z[i] = T(1) / (T(1) + std::exp(-z[i]));
          s[i] = (T(1) - z[i]) * (prev ? prev[i] : T(0)) + z[i] * c[i];
        }
      }
  });
}

template <class T>
void mingru_scan_backward(T* du, const T* dout, const T* zc, const T* out, int B, int Tn, int C) {
  parallel_ranges(size_t(B), [&](size_t b0, size_t b1) {
    std::vector<T> gs(C);  // dL/ds_t, carried back through s_t = (1 - z) s_{t-1} + z c
    for (size_t b = b0; b < b1; ++b) {
      std::fill(gs.begin(), gs.end(), T(0));
      for (int t = Tn - 1; t >= 0; --t) {
        const size_t r = b * Tn + t;
        const T* z = zc + r * 2 * C;
        const T* c = z + C;
        const T* prev = t == 0 ? nullptr : out + (r - 1) * C;
        const T* g = dout + r * C;
        T* dz = du + r * 2 * C;
        T* dc = dz + C;
        for (int i = 0; i < C; ++i) {
          const T gi = gs[i] + g[i];
          const T p = prev ? prev[i] : T(0);
          dz[i] = gi * (c[i] - p) * z[i] * (T(1) - z[i]);  // through the sigmoid
          dc[i] = gi * z[i];
          gs[i] = gi * (T(1) - z[i]);
        }
      }
    }
  });
}

namespace {

// saved: z | c (N x 2C; the gate after its sigmoid), then s (N x C).
template <class T>
size_t saved_bytes(const Config& c, int max_B, int max_T) {
  return size_t(max_B) * max_T * 3 * c.n_embd * sizeof(T);
}

template <class T>
void forward(const Pass<T>& a, const T* h, T* m) {
  const int C = int(a.config->n_embd), N = a.B * a.Tn;
  T* zc = reinterpret_cast<T*>(a.saved);
  T* s = zc + size_t(N) * 2 * C;
  matmul_forward(zc, h, a.w, a.b, N, C, 2 * C);
  mingru_scan_forward(s, zc, a.B, a.Tn, C);
  std::copy_n(s, size_t(N) * C, m);
}

template <class T>
void backward(const Pass<T>& a, const T* h, const T* dm, T* dh, T* dw, T* db, T* scratch) {
  const int C = int(a.config->n_embd), N = a.B * a.Tn;
  const T* zc = reinterpret_cast<const T*>(a.saved);
  const T* s = zc + size_t(N) * 2 * C;
  T* du = scratch;  // N x 2C
  mingru_scan_backward(du, dm, zc, s, a.B, a.Tn, C);
  matmul_backward(dh, dw, db, du, h, a.w, N, C, 2 * C, false);
}

}  // namespace

template <class T>
TrainMixer<T> mingru_mixer() {
  return {Mixer::mingru, saved_bytes<T>, forward<T>, backward<T>};
}

#define CAUSALGEN_MINGRU(T)                                                                  \
  template void mingru_scan_forward<T>(T*, T*, int, int, int);                              \
  template void mingru_scan_backward<T>(T*, const T*, const T*, const T*, int, int, int);   \
  template TrainMixer<T> mingru_mixer<T>();
CAUSALGEN_MINGRU(float)
CAUSALGEN_MINGRU(double)

}  // namespace causalgen::train::mixers
