// The CPU backend: one data-parallel part per thread (data_parallel.hpp),
// BLAS products, AdamW and clipping from adamw.hpp. It updates the caller's
// parameter and moment buffers in place (the TrainState's, no copy), so
// get_/set_ copy only when handed other buffers. With several ranks it
// computes its rows of each batch and sums the weighted gradients and losses
// over the ranks (backend.hpp); one rank x n threads and n ranks x 1 thread
// split a batch alike. The sum over the ranks is overlapped with the backward
// pass (gradient_exchange.hpp) unless BackendOptions says otherwise; with
// sharded moments (ZeRO-1) the backend keeps its shard of m and v itself and
// never touches the caller's.
#pragma once
#include <memory>
#include <optional>
#include <vector>

#include "train/loop/backend.hpp"
#include "train/loop/gradient_exchange.hpp"
#include "train/model/data_parallel.hpp"

namespace causalgen::train {

class CpuBackend final : public Backend {
 public:
  // params, m, v: parameter_count() floats each, owned by the caller and
  // alive as long as the backend (m and v only while moments are not
  // sharded: then only set_moments reads them).
  CpuBackend(const BackendOptions& o, float* params, float* m, float* v);

  std::string description() const override;
  void set_parameters(const float* params) override;
  void get_parameters(float* params) override;
  void set_moments(const float* m, const float* v) override;
  void get_moments(float* m, float* v) override;
  void get_gradients(float* grads) override;
  void forward_backward(const uint32_t* inputs, const uint32_t* targets,
                        uint64_t steps_done) override;
  double loss() override { return loss_; }
  void optimizer_step(const OptimizerStep& s) override;
  double grad_norm() override { return grad_norm_; }
  double eval_loss(const uint32_t* inputs, const uint32_t* targets) override;
  bool moments_sharded() const override { return sharded_; }

  DataParallelGpt& model() { return gpt_; }
  // This rank's elements of the moments: all of them, or its ZeRO-1 shard.
  Shard moment_shard() const { return shard_; }

 private:
  BackendOptions opt_;
  DataParallelGpt gpt_;
  float *params_, *m_, *v_;  // m_, v_: the caller's, or own_m_, own_v_
  Communicator* comm_;  // null: one process
  RowSlice rows_;       // this rank's rows of each batch
  bool sharded_;        // ZeRO-1: this rank keeps only its shard of the moments
  Shard shard_;         // this rank's moments (all, unless sharded_)
  std::vector<float> grads_, own_m_, own_v_;
  std::optional<GradientExchange> overlap_;  // none: one all-reduce after the backward pass
  double loss_ = 0, grad_norm_ = 0;
  // This rank's mean loss over its rows -> the global batch's mean.
  double global_mean(double local_mean);
  // The local gradient -> the global batch's on every rank.
  double backward_summed(const uint32_t* x, const uint32_t* y, const DropoutSpec& drop);
};

}  // namespace causalgen::train
