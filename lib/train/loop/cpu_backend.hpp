// The CPU backend: one data-parallel part per thread (data_parallel.hpp),
// BLAS products, AdamW and clipping from adamw.hpp. It updates the caller's
// parameter and moment buffers in place (the TrainState's, no copy), so
// get_/set_ copy only when handed other buffers. With several ranks it
// computes its rows of each batch and sums the weighted gradients and losses
// over the ranks (backend.hpp); one rank x n threads and n ranks x 1 thread
// split a batch alike.
#pragma once
#include <memory>
#include <vector>

#include "train/loop/backend.hpp"
#include "train/model/data_parallel.hpp"

namespace causalgen::train {

class CpuBackend final : public Backend {
 public:
  // params, m, v: parameter_count() floats each, owned by the caller and
  // alive as long as the backend.
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

  DataParallelGpt& model() { return gpt_; }

 private:
  BackendOptions opt_;
  DataParallelGpt gpt_;
  float *params_, *m_, *v_;
  Communicator* comm_;  // null: one process
  RowSlice rows_;       // this rank's rows of each batch
  std::vector<float> grads_;
  double loss_ = 0, grad_norm_ = 0;
  // This rank's mean loss over its rows -> the global batch's mean.
  double global_mean(double local_mean);
};

}  // namespace causalgen::train
