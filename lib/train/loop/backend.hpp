// A training backend: where the model's forward, backward and AdamW run.
// The CPU backend (cpu_backend.hpp) is part of lib/train; the CUDA backend
// (cuda/) implements this interface in a shared library that the trainer
// opens only when asked for (backend_library.hpp). This header is the whole
// contract between them: standard C++ and the core's Config, nothing else.
//
// Buffers are flat f32 arrays of Config::parameter_count() values in the
// core's canonical tensor order, so a checkpoint written through one backend
// resumes on any other. Batches are B x T token ids, row-major.
//
// The CUDA backend queues work without waiting: forward_backward and
// optimizer_step return at once, and loss() or grad_norm() wait for the
// result. The CPU backend computes at each call.
#pragma once
#include <cstdint>
#include <string>

#include "causalgen/config.hpp"
#include "train/optim/adamw.hpp"

namespace causalgen::train {

struct BackendOptions {
  Config model;
  uint32_t batch_size = 12;
  uint32_t block_size = 64;  // T used in training (<= model.block_size)
  float dropout = 0.0f;
  uint64_t seed = 1337;      // dropout masks
  bool bf16 = true;          // CUDA: bf16 products (else f32, for parity checks)
};

// One AdamW update after a forward_backward: clip to grad_clip (0: off), then
// AdamW at step t (1-based) with learning rate lr.
struct OptimizerStep {
  double lr = 1e-3;
  uint64_t t = 1;
  AdamWParams adamw;
  double grad_clip = 1.0;
};

class Backend {
 public:
  virtual ~Backend() = default;
  // "CPU, 2 threads", "CUDA: NVIDIA H200, bf16 products"
  virtual std::string description() const = 0;

  // Copies between the caller's buffers and the backend's.
  virtual void set_parameters(const float* params) = 0;
  virtual void get_parameters(float* params) = 0;
  virtual void set_moments(const float* m, const float* v) = 0;
  virtual void get_moments(float* m, float* v) = 0;
  virtual void get_gradients(float* grads) = 0;

  // Forward and backward of a batch with dropout for the update that follows
  // `steps_done` updates; the gradients stay in the backend.
  virtual void forward_backward(const uint32_t* inputs, const uint32_t* targets,
                                uint64_t steps_done) = 0;
  // The mean cross-entropy of the last forward_backward.
  virtual double loss() = 0;
  // Clip and AdamW with the last forward_backward's gradients.
  virtual void optimizer_step(const OptimizerStep& s) = 0;
  // The gradient norm before clipping, of the last optimizer_step.
  virtual double grad_norm() = 0;
  // Mean cross-entropy without dropout or gradients.
  virtual double eval_loss(const uint32_t* inputs, const uint32_t* targets) = 0;
};

}  // namespace causalgen::train
