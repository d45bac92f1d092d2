#include "train/model/gpt.hpp"

#include <omp.h>

#include <algorithm>
#include <cstring>

#include "train/model/gemm.hpp"
#include "train/model/layers.hpp"
#include "train/model/rng.hpp"

namespace causalgen::train {

namespace {
// Dropout sites: 0 embeddings, then per layer 1 + 3l (mixer projection),
// 2 + 3l (MLP), 3 + 3l (inside the mixer: attention weights).
uint32_t site_proj(int l) { return 1 + 3 * uint32_t(l); }
uint32_t site_mlp(int l) { return 2 + 3 * uint32_t(l); }
uint32_t site_att(int l) { return 3 + 3 * uint32_t(l); }

template <class T>
void add(T* out, const T* a, const T* b, size_t n) {
#pragma omp parallel for schedule(static) if (threads() > 1 && n >= 16384 && !omp_in_parallel())
  for (size_t i = 0; i < n; ++i) out[i] = a[i] + b[i];
}
}  // namespace

template <class T>
Gpt<T>::Gpt(const Config& c, int max_B, int max_T)
    : cfg_(c), lay_(c), maxB_(max_B), maxT_(max_T), maxN_(size_t(max_B) * max_T) {
  const size_t L = c.n_layer, C = c.n_embd, N = maxN_, V = c.vocab_size;
  res_.resize((L + 1) * N * C);
  ln1_.resize(L * N * C);
  ln1_mean_.resize(L * N);
  ln1_rstd_.resize(L * N);
  mix_.resize(L * N * C);
  size_t saved = 0;
  for (size_t l = 0; l < L; ++l) {
    saved_offset_.push_back(saved);
    const size_t bytes = mixers::find<T>(c.mixers[l]).saved_bytes(c, max_B, max_T);
    saved += (bytes + 63) / 64 * 64;
  }
  saved_.resize(saved);
  resmid_.resize(L * N * C);
  ln2_.resize(L * N * C);
  ln2_mean_.resize(L * N);
  ln2_rstd_.resize(L * N);
  fc1_.resize(L * N * 4 * C);
  gelu_.resize(L * N * 4 * C);
  lnf_.resize(N * C);
  lnf_mean_.resize(N);
  lnf_rstd_.resize(N);
  logits_.resize(N * V);
  losses_.resize(N);
  tmp_.resize(N * C);
  dres_.resize(N * C);
  dA_.resize(N * C);
  dB_.resize(N * C);
  dbig_.resize(N * 4 * C);
}

// The constructor's buffers, counted as it sizes them.
template <class T>
uint64_t Gpt<T>::buffer_bytes(const Config& c, int max_B, int max_T) {
  const uint64_t L = c.n_layer, C = c.n_embd, N = uint64_t(max_B) * uint64_t(max_T),
                 V = c.vocab_size;
  const uint64_t values = (L + 1) * N * C        // res
                          + 4 * L * N * C        // ln1, mix, resmid, ln2
                          + 4 * L * N            // ln1/ln2 mean and rstd
                          + 2 * L * N * 4 * C    // fc1, gelu
                          + N * C + 3 * N        // lnf, its stats, losses
                          + N * V                // logits
                          + 4 * N * C + N * 4 * C;  // tmp, dres, dA, dB, dbig
  uint64_t saved = 0;
  for (uint64_t l = 0; l < L; ++l)
    saved += (mixers::find<T>(c.mixers[l]).saved_bytes(c, max_B, max_T) + 63) / 64 * 64;
  return values * sizeof(T) + saved + 2 * N * sizeof(uint32_t);  // + token copies
}

template <class T>
double Gpt<T>::forward(const T* params, const uint32_t* tokens, const uint32_t* targets, int B,
                       int Tn, const DropoutSpec& drop) {
  const Config& c = cfg_;
  const int C = int(c.n_embd), V = int(c.vocab_size);
  const int N = B * Tn;
  B_ = B, Tn_ = Tn, drop_ = drop;
  tok_copy_.assign(tokens, tokens + N);
  if (targets) tgt_copy_.assign(targets, targets + N);
  tokens_ = tok_copy_.data();
  targets_ = targets ? tgt_copy_.data() : nullptr;
  const float p = drop.p;
  auto key = [&](uint32_t site) { return dropout_key(drop.seed, drop.step, site); };
  const ParamView<const T> w = view(lay_, params);
  // Mask indices continue from this part's first window (see DropoutSpec).
  const uint64_t e0 = drop.first_window * uint64_t(Tn) * C;

  T* x0 = row(res_, 0, C);
  embedding_forward(x0, tokens_, w.wte, w.wpe, B, Tn, C);
  dropout(x0, size_t(N) * C, p, key(0), e0);

  for (int l = 0; l < int(c.n_layer); ++l) {
    const LayerView<const T>& lw = w.layers[l];
    T* x = row(res_, l, C);
    T* h = row(ln1_, l, C);
    T* m = row(mix_, l, C);
    layernorm_forward(h, row(ln1_mean_, l, 1), row(ln1_rstd_, l, 1), x, lw.ln1_w, lw.ln1_b, N, C);
    mixers::find<T>(c.mixers[l]).forward(mixer_pass(l, w, B, Tn, drop), h, m);
    T* proj = tmp_.data();
    matmul_forward(proj, m, lw.wo, lw.bo, N, C, C);
    dropout(proj, size_t(N) * C, p, key(site_proj(l)), e0);
    T* xm = row(resmid_, l, C);
    add(xm, x, proj, size_t(N) * C);
    T* h2 = row(ln2_, l, C);
    layernorm_forward(h2, row(ln2_mean_, l, 1), row(ln2_rstd_, l, 1), xm, lw.ln2_w, lw.ln2_b, N, C);
    T* f1 = row(fc1_, l, 4 * C);
    T* g = row(gelu_, l, 4 * C);
    matmul_forward(f1, h2, lw.fc1_w, lw.fc1_b, N, C, 4 * C);
    gelu_forward(g, f1, size_t(N) * 4 * C);
    matmul_forward(proj, g, lw.fc2_w, lw.fc2_b, N, 4 * C, C);
    dropout(proj, size_t(N) * C, p, key(site_mlp(l)), e0);
    add(row(res_, l + 1, C), xm, proj, size_t(N) * C);
  }
  layernorm_forward(lnf_.data(), lnf_mean_.data(), lnf_rstd_.data(), row(res_, c.n_layer, C),
                    w.lnf_w, w.lnf_b, N, C);
  matmul_forward(logits_.data(), lnf_.data(), w.wte, static_cast<const T*>(nullptr), N, C, V);
  if (!targets_) return 0.0;
  return crossentropy_forward(logits_.data(), losses_.data(), targets_, N, V);
}

template <class T>
void Gpt<T>::backward(const T* params, T* grads, const GradsReady& ready) {
  const auto finished_from = [&](size_t first) {
    if (ready) ready(first);
  };
  const Config& c = cfg_;
  const int C = int(c.n_embd), V = int(c.vocab_size);
  const int B = B_, Tn = Tn_, N = B * Tn;
  const float p = drop_.p;
  auto key = [&](uint32_t site) { return dropout_key(drop_.seed, drop_.step, site); };
  const ParamView<const T> w = view(lay_, params);
  const uint64_t e0 = drop_.first_window * uint64_t(Tn) * C;
  std::fill_n(grads, lay_.total, T(0));
  const ParamView<T> g = view(lay_, grads);
  const size_t NC = size_t(N) * C;

  // Logits (tied to wte) and the final LayerNorm.
  crossentropy_backward(logits_.data(), targets_, N, V, T(1) / T(N));
  T* dlnf = dA_.data();
  matmul_backward(dlnf, g.wte, static_cast<T*>(nullptr), logits_.data(), lnf_.data(), w.wte, N, C,
                  V, false);
  T* dres = dres_.data();
  std::fill_n(dres, NC, T(0));
  layernorm_backward(dres, g.lnf_w, g.lnf_b, dlnf, row(res_, c.n_layer, C), lnf_mean_.data(),
                     lnf_rstd_.data(), w.lnf_w, N, C);
  finished_from(lay_.at(TensorRole::lnf_w));

  for (int l = int(c.n_layer) - 1; l >= 0; --l) {
    const LayerView<const T>& lw = w.layers[l];
    const LayerView<T>& lg = g.layers[l];
    // res[l+1] = resmid + drop(fc2 GELU(fc1 LN2(resmid)))
    T* dproj = tmp_.data();
    std::copy_n(dres, NC, dproj);
    dropout(dproj, NC, p, key(site_mlp(l)), e0);
    T* dg = dbig_.data();
    matmul_backward(dg, lg.fc2_w, lg.fc2_b, dproj, row(gelu_, l, 4 * C), lw.fc2_w, N, 4 * C, C,
                    false);
    gelu_backward(dg, dg, row(fc1_, l, 4 * C), NC * 4);
    T* dh2 = dA_.data();
    matmul_backward(dh2, lg.fc1_w, lg.fc1_b, dg, row(ln2_, l, C), lw.fc1_w, N, C, 4 * C, false);
    layernorm_backward(dres, lg.ln2_w, lg.ln2_b, dh2, row(resmid_, l, C), row(ln2_mean_, l, 1),
                       row(ln2_rstd_, l, 1), lw.ln2_w, N, C);
    // resmid = res[l] + drop(wo Mix(LN1(res[l])))
    std::copy_n(dres, NC, dproj);
    dropout(dproj, NC, p, key(site_proj(l)), e0);
    T* dm = dB_.data();
    matmul_backward(dm, lg.wo, lg.bo, dproj, row(mix_, l, C), lw.wo, N, C, C, false);
    T* dh = dA_.data();
    mixers::find<T>(c.mixers[l]).backward(mixer_pass(l, w, B, Tn, drop_), row(ln1_, l, C), dm, dh,
                                          lg.mix_w, lg.mix_b, dbig_.data());
    layernorm_backward(dres, lg.ln1_w, lg.ln1_b, dh, row(res_, l, C), row(ln1_mean_, l, 1),
                       row(ln1_rstd_, l, 1), lw.ln1_w, N, C);
    finished_from(lay_.at(TensorRole::ln1_w, uint32_t(l)));
  }
  dropout(dres, NC, p, key(0), e0);
  embedding_backward(g.wte, g.wpe, dres, tokens_, B, Tn, C);
  finished_from(0);
}

// The arguments of layer l's mixer for this batch.
template <class T>
mixers::Pass<T> Gpt<T>::mixer_pass(int l, const ParamView<const T>& w, int B, int Tn,
                                   const DropoutSpec& drop) {
  const uint64_t key = dropout_key(drop.seed, drop.step, site_att(l));
  return {&cfg_, l, B, Tn, w.layers[l].mix_w, w.layers[l].mix_b, saved_.data() + saved_offset_[l],
          drop.p, key, drop.first_window};
}

template class Gpt<float>;
template class Gpt<double>;

}  // namespace causalgen::train
