// The static multi-scale EMA mixers (ema, max-ema) in the CPU trainer; the
// formulas are the core's (lib/core/mixers/ema.cpp). No tensors of their own;
// max-ema's backward needs which argument each output chose.
#include <algorithm>
#include <vector>

#include "train/model/mixers/mixer.hpp"
#include "train/model/parallel.hpp"

namespace causalgen::train::mixers {

namespace {
// Channel i's update weight w_i = 2^-k_i (exact in float and double).
template <class T>
std::vector<T> ema_weights(const Config& c) {
  std::vector<T> w(c.n_embd);
  for (uint32_t i = 0; i < c.n_embd; ++i) w[i] = T(1) / T(uint64_t(1) << ema_rate_log2(c, i));
  return w;
}
}  // namespace

template <class T>
void ema_mix_forward(const Config& c, Mixer mixer, T* out, uint8_t* sel, const T* h, int B,
                     int Tn) {
  const int C = int(c.n_embd);
  const bool with_max = mixer == Mixer::max_ema;
  const std::vector<T> w = ema_weights<T>(c);
  parallel_ranges(size_t(B), [&](size_t b0, size_t b1) {
    std::vector<T> a(C);
    for (size_t b = b0; b < b1; ++b)
      for (int t = 0; t < Tn; ++t) {
        const size_t r = b * Tn + t;
        const T* ht = h + r * C;
        const T* hp = h + (t == 0 ? r : r - 1) * C;
        T* o = out + r * C;
        for (int i = 0; i < C; ++i) {
          a[i] = t == 0 ? ht[i] : a[i] + w[i] * (ht[i] - a[i]);
          if (!with_max) {
            o[i] = a[i];
            continue;
          }
          T v = ht[i];
          uint8_t k = 0;
          if (hp[i] > v) v = hp[i], k = 1;
          if (a[i] > v) v = a[i], k = 2;
          o[i] = v;
          sel[r * C + i] = k;
        }
      }
  });
}

template <class T>
void ema_mix_backward(const Config& c, Mixer mixer, T* dh, const T* dout, const uint8_t* sel,
                      int B, int Tn) {
  const int C = int(c.n_embd);
  const bool with_max = mixer == Mixer::max_ema;
  const std::vector<T> w = ema_weights<T>(c);
  std::fill_n(dh, size_t(B) * Tn * C, T(0));
  parallel_ranges(size_t(B), [&](size_t b0, size_t b1) {
    std::vector<T> ga(C);  // dL/da_t, carried backwards through a_t = (1-w) a_{t-1} + w h_t
    for (size_t b = b0; b < b1; ++b) {
      std::fill(ga.begin(), ga.end(), T(0));
      for (int t = Tn - 1; t >= 0; --t) {
        const size_t r = b * Tn + t;
        const T* g = dout + r * C;
        T* dt = dh + r * C;
        T* dp = dh + (t == 0 ? r : r - 1) * C;
        for (int i = 0; i < C; ++i) {
          const uint8_t k = with_max ? sel[r * C + i] : 2;
          if (k == 0)
            dt[i] += g[i];
          else if (k == 1)
            dp[i] += g[i];
          else
            ga[i] += g[i];
          if (t == 0) {
            dt[i] += ga[i];  // a_0 = h_0
          } else {
            dt[i] += w[i] * ga[i];
            ga[i] = (T(1) - w[i]) * ga[i];
          }
        }
      }
    }
  });
}

namespace {

// max-ema: sel, one byte per value; ema needs nothing (it is linear in h).
template <bool kMax>
size_t saved_bytes(const Config& c, int max_B, int max_T) {
  return kMax ? size_t(max_B) * max_T * c.n_embd : 0;
}

template <class T>
void forward(const Pass<T>& a, const T* h, T* m) {
  ema_mix_forward(*a.config, a.config->mixers[a.layer], m, a.saved, h, a.B, a.Tn);
}

template <class T>
void backward(const Pass<T>& a, const T*, const T* dm, T* dh, T*, T*, T*) {
  ema_mix_backward(*a.config, a.config->mixers[a.layer], dh, dm, a.saved, a.B, a.Tn);
}

}  // namespace

template <class T>
TrainMixer<T> ema_mixer(Mixer code) {
  return {code, code == Mixer::max_ema ? saved_bytes<true> : saved_bytes<false>, forward<T>,
          backward<T>};
}

#define CAUSALGEN_EMA(T)                                                                    \
  template void ema_mix_forward<T>(const Config&, Mixer, T*, uint8_t*, const T*, int, int); \
  template void ema_mix_backward<T>(const Config&, Mixer, T*, const T*, const uint8_t*, int, \
                                    int);                                                   \
  template TrainMixer<T> ema_mixer<T>(Mixer);
CAUSALGEN_EMA(float)
CAUSALGEN_EMA(double)

}  // namespace causalgen::train::mixers
