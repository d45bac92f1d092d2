// The shift mixers (max, min, max-avg, min-avg) in the CPU trainer: no
// tensors of their own; backward needs only which argument each output chose.
#include <algorithm>
#include <vector>

#include "train/model/mixers/mixer.hpp"
#include "train/model/parallel.hpp"

namespace causalgen::train::mixers {

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

namespace {

template <class T>
size_t saved_bytes(const Config& c, int max_B, int max_T) {
  return size_t(max_B) * max_T * c.n_embd;  // sel, one byte per value
}

template <class T>
void forward(const Pass<T>& a, const T* h, T* m) {
  // The mixer of this pass's layer is the one the registry found for it.
  shift_mix_forward(a.config->mixers[a.layer], m, a.saved, h, a.B, a.Tn, int(a.config->n_embd));
}

template <class T>
void backward(const Pass<T>& a, const T*, const T* dm, T* dh, T*, T*, T*) {
  const int C = int(a.config->n_embd);
  std::fill_n(dh, size_t(a.B) * a.Tn * C, T(0));
  shift_mix_backward(dh, dm, a.saved, a.B, a.Tn, C);
}

}  // namespace

template <class T>
TrainMixer<T> shift_mixer(Mixer code) {
  return {code, saved_bytes<T>, forward<T>, backward<T>};
}

#define CAUSALGEN_SHIFT(T)                                                                 \
  template void shift_mix_forward<T>(Mixer, T*, uint8_t*, const T*, int, int, int);        \
  template void shift_mix_backward<T>(T*, const T*, const uint8_t*, int, int, int);        \
  template TrainMixer<T> shift_mixer<T>(Mixer);
CAUSALGEN_SHIFT(float)
CAUSALGEN_SHIFT(double)

}  // namespace causalgen::train::mixers
