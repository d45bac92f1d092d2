// Local attention with rotary positions in the CPU trainer (formulas:
// lib/core/mixers/local.cpp): qkv = Wqkv h + bqkv, q and k rotated by the
// core's RoPE angles for their position in the window, then attention with a
// band mask of the layer's window W. Backward is attention's, then the
// transposed rotation on dq and dk, then the projection.
#include <vector>

#include "train/model/layers.hpp"
#include "train/model/mixers/mixer.hpp"
#include "train/model/parallel.hpp"

namespace causalgen::train::mixers {

template <class T>
void rope_rotate_qk(T* qkv, int B, int Tn, int C, int hs, bool inverse) {
  // The angles of each position, from the core (f32, the same bits the model
  // file's reader uses), shared by every sequence and head.
  const int pairs = hs / 2;
  std::vector<float> cs(size_t(Tn) * (pairs + 1)), sn(cs.size());
  for (int t = 0; t < Tn; ++t)
    rope_cos_sin(uint64_t(t), uint32_t(hs), &cs[size_t(t) * (pairs + 1)], &sn[size_t(t) * (pairs + 1)]);
  const T sign = inverse ? T(-1) : T(1);
  parallel_ranges(size_t(B) * Tn, [&](size_t r0, size_t r1) {
    for (size_t r = r0; r < r1; ++r) {
      const size_t t = r % size_t(Tn);
      const float* c = &cs[t * (pairs + 1)];
      const float* s = &sn[t * (pairs + 1)];
      T* row = qkv + r * 3 * C;
      for (int part = 0; part < 2; ++part)  // q, then k
        for (int off = 0; off + hs <= C; off += hs)
          for (int j = 0; j < pairs; ++j) {
            T* p = row + part * C + off + 2 * j;
            const T a = p[0], b = p[1], cj = T(c[j]), sj = sign * T(s[j]);
            p[0] = a * cj - b * sj;
            p[1] = a * sj + b * cj;
          }
    }
  });
}

namespace {

// Attention's layer with q and k rotated and the layer's window.
template <class T>
void forward(const Pass<T>& a, const T* h, T* m) {
  qkv_attention_forward(a, h, m, true, int(a.config->window[a.layer]));
}

template <class T>
void backward(const Pass<T>& a, const T* h, const T* dm, T* dh, T* dw, T* db, T* scratch) {
  qkv_attention_backward(a, h, dm, dh, dw, db, scratch, true, int(a.config->window[a.layer]));
}

}  // namespace

template <class T>
TrainMixer<T> local_mixer() {
  return {Mixer::local, qkv_attention_saved_bytes<T>, forward<T>, backward<T>};
}

#define CAUSALGEN_LOCAL(T)                                               \
  template void rope_rotate_qk<T>(T*, int, int, int, int, bool);       \
  template TrainMixer<T> local_mixer<T>();
CAUSALGEN_LOCAL(float)
CAUSALGEN_LOCAL(double)

}  // namespace causalgen::train::mixers
