// The CPU trainer's side of a mixer: forward and backward over a batch for
// one layer, keyed by the same code as the core's registry
// (lib/core/mixers/). docs/adding-a-mixer.md lists every file a mixer has.
#pragma once
#include <cstddef>
#include <cstdint>

#include "causalgen/config.hpp"

namespace causalgen::train::mixers {

// One layer's mixer over B windows of Tn positions (N = B*Tn rows, C = n_embd).
template <class T>
struct Pass {
  const Config* config;
  int layer;
  int B, Tn;
  const T* w;      // the mixer's own tensors (TensorRole::mixer_w, mixer_b), null if none
  const T* b;
  uint8_t* saved;  // saved_bytes(config, max_B, max_T) bytes: what backward needs
  // Dropout inside the mixer (attention weights): probability, key, and the
  // batch part's first window in the whole batch (mask indices continue from it).
  float p;
  uint64_t key;
  uint64_t first_window;
};

template <class T>
struct TrainMixer {
  Mixer code;
  size_t (*saved_bytes)(const Config& c, int max_B, int max_T);
  // m (N x C) writes, from h (N x C, the LN1 output).
  void (*forward)(const Pass<T>& a, const T* h, T* m);
  // dh (N x C) writes, from dm (N x C); dw, db += (null when the mixer has
  // none); scratch holds N x 4C values.
  void (*backward)(const Pass<T>& a, const T* h, const T* dm, T* dh, T* dw, T* db, T* scratch);
};

// The registry (registry.cpp); throws std::invalid_argument for an unknown code.
template <class T>
const TrainMixer<T>& find(Mixer code);

// ---- The kernels, also called by the gradient tests.

// Shift mixers over h (N x C), per sequence and channel (DESIGN.md §1):
//   max: m_t = max(h_t, h_{t-1});  min: min(...);  max-avg / min-avg: also a_t,
//   a_t = (1/(t+1)) sum_{i<=t} h_i (0-based t, Kahan sum as the core), h_{-1} := h_0.
// Writes out (N x C) and sel (N x C): which argument was chosen, 0 = h_t,
// 1 = h_{t-1}, 2 = a_t; ties go to the first in that order (as the core).
template <class T>
void shift_mix_forward(Mixer mixer, T* out, uint8_t* sel, const T* h, int B, int Tn, int C);
// dh (N x C) +=: each gradient to the argument sel chose; the mean's share is
// the suffix sum dh_i += sum_{t>=i} g_t [sel=2] / (t+1).
template <class T>
void shift_mix_backward(T* dh, const T* dout, const uint8_t* sel, int B, int Tn, int C);

// Static multi-scale EMA over h (N x C), per sequence and channel
// (lib/core/mixers/ema.cpp): a_0 = h_0, a_t = a_{t-1} + w_i (h_t - a_{t-1}),
// w_i = 2^-ema_rate_log2(c, i). ema: m_t = a_t. max-ema: m_t = max(h_t,
// h_{t-1}, a_t), h_{-1} := h_0, with sel (N x C) as the shift mixers' (0 = h_t,
// 1 = h_{t-1}, 2 = a_t; ties to the first); ema leaves sel untouched.
template <class T>
void ema_mix_forward(const Config& c, Mixer mixer, T* out, uint8_t* sel, const T* h, int B,
                     int Tn);
// dh (N x C) writes.
template <class T>
void ema_mix_backward(const Config& c, Mixer mixer, T* dh, const T* dout, const uint8_t* sel,
                      int B, int Tn);

// minGRU's recurrence over the window (lib/core/mixers/mingru.cpp). zc
// (N x 2C) holds u = W h + b per row (gate input | candidate); in place, the
// gate input becomes z = sigmoid(.). out (N x C) writes s_t, s_{-1} = 0.
template <class T>
void mingru_scan_forward(T* out, T* zc, int B, int Tn, int C);
// du (N x 2C) writes dL/du from dout (N x C), zc and out as forward left them.
template <class T>
void mingru_scan_backward(T* du, const T* dout, const T* zc, const T* out, int B, int Tn, int C);

// Causal multi-head attention. qkv (N x 3C): q, k, v in that order (nanoGPT's
// split), head h owns channels [h*C/H, (h+1)*C/H) of each. Writes att
// (B x H x T x T, softmax probabilities before dropout, 0 above the diagonal)
// and out (N x C, heads side by side). Dropout p on the probabilities with
// key; the mask index of att[b][h][t][s] is index0 + ((b*H + h)*T + t)*T + s.
// window W > 0 limits position t to keys t - W + 1 .. t (local attention; 0 there too).
template <class T>
void attention_forward(T* out, T* att, const T* qkv, int B, int Tn, int C, int H, float p,
                       uint64_t key, uint64_t index0 = 0, int window = 0);
// dqkv (N x 3C) writes.
template <class T>
void attention_backward(T* dqkv, const T* dout, const T* qkv, const T* att, int B, int Tn, int C,
                        int H, float p, uint64_t key, uint64_t index0 = 0, int window = 0);

// The attention and local mixers' layer: h (N x C) -> qkv = h Wqkv + b, q and
// k rotated by rope_rotate_qk when `rotate`, then attention_forward with
// `window` into m (N x C). Saves qkv (as rotated) and the probabilities.
template <class T>
size_t qkv_attention_saved_bytes(const Config& c, int max_B, int max_T);
template <class T>
void qkv_attention_forward(const Pass<T>& a, const T* h, T* m, bool rotate, int window);
template <class T>
void qkv_attention_backward(const Pass<T>& a, const T* h, const T* dm, T* dh, T* dw, T* db,
                            T* scratch, bool rotate, int window);

// Rotary position embedding (lib/core/mixers/local.cpp) on the q and k of
// qkv (N x 3C, B windows of Tn positions, position t = row mod Tn): channel
// pairs (2j, 2j + 1) of each head of hs channels rotated by the core's angles
// for position t; `inverse` rotates back (the transpose: backward's dq, dk).
template <class T>
void rope_rotate_qk(T* qkv, int B, int Tn, int C, int hs, bool inverse);

}  // namespace causalgen::train::mixers
