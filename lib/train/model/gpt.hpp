// The whole model's forward and backward over a batch of windows (DESIGN.md
// §1), on parameters in one flat array (params.hpp). Activations live in
// buffers sized once for (max_B, max_T); the backward pass reuses what the
// last forward stored. T = float trains; T = double is for gradient checks.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "causalgen/config.hpp"
#include "train/model/mixers/mixer.hpp"
#include "train/model/params.hpp"

namespace causalgen::train {

// Dropout (nanoGPT's sites: embeddings, after the mixer projection, after the
// MLP, attention weights); p = 0 is off (evaluation). The masks are a function
// of (seed, step, site, index) only.
struct DropoutSpec {
  float p = 0.0f;
  uint64_t seed = 0, step = 0;
  uint64_t first_window = 0;  // this batch part's first window in the whole batch
};

// Told during a backward pass, from the calling thread, as gradients become
// final: ready(first) means grads[first, parameter_count) will not change
// again. Calls come in decreasing `first`, last layer first: after the final
// LayerNorm, after each layer (its first tensor, ln1.w), and 0 at the end
// (the embeddings, which the logits also feed, are finished last). Lets the
// trainer start exchanging gradients while the backward pass goes on.
using GradsReady = std::function<void(size_t first)>;

template <class T>
class Gpt {
 public:
  Gpt(const Config& c, int max_B, int max_T);
  // The bytes of the buffers such a Gpt allocates (activations, mixers'
  // saved values, scratch), so that a command can refuse a batch that does
  // not fit before allocating it.
  static uint64_t buffer_bytes(const Config& c, int max_B, int max_T);

  const Config& config() const { return cfg_; }
  const ParamLayout& layout() const { return lay_; }

  // B windows of Tn tokens (B <= max_B, Tn <= max_T; tokens row b*Tn + t).
  // With targets: returns the mean cross-entropy and keeps what backward
  // needs. Without (null): logits() holds the N x V logits; returns 0.
  double forward(const T* params, const uint32_t* tokens, const uint32_t* targets, int B, int Tn,
                 const DropoutSpec& drop = {});
  // Writes grads (parameter_count values): d(mean loss of the last forward
  // with targets)/d(params); tells `ready` (if any) as they become final.
  void backward(const T* params, T* grads, const GradsReady& ready = {});

  const T* logits() const { return logits_.data(); }  // probabilities after a loss forward
  const T* losses() const { return losses_.data(); }  // per position, after a loss forward

 private:
  Config cfg_;
  ParamLayout lay_;
  int maxB_, maxT_;
  size_t maxN_;
  int B_ = 0, Tn_ = 0;
  const uint32_t* tokens_ = nullptr;
  const uint32_t* targets_ = nullptr;
  DropoutSpec drop_;
  std::vector<uint32_t> tok_copy_, tgt_copy_;
  // Per layer (stride maxN_ rows): inputs res[l], LN1 out and stats, mixer
  // out, residual after the mixer, LN2 out and stats, fc1 pre-activation,
  // GELU out.
  std::vector<T> res_, ln1_, ln1_mean_, ln1_rstd_, mix_, resmid_, ln2_, ln2_mean_, ln2_rstd_, fc1_,
      gelu_, lnf_, lnf_mean_, lnf_rstd_, logits_, losses_;
  // What each layer's mixer keeps for its backward (its saved_bytes), from
  // saved_offset_[l].
  std::vector<uint8_t> saved_;
  std::vector<size_t> saved_offset_;
  // Scratch.
  std::vector<T> tmp_, dres_, dA_, dB_, dbig_;

  mixers::Pass<T> mixer_pass(int l, const ParamView<const T>& w, int B, int Tn,
                             const DropoutSpec& drop);

  template <class U>
  U* row(std::vector<U>& v, int l, size_t width) {
    return v.data() + size_t(l) * maxN_ * width;
  }
};

extern template class Gpt<float>;
extern template class Gpt<double>;

}  // namespace causalgen::train
