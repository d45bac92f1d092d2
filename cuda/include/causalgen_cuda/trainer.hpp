// The CUDA training path: the same model, flat parameter layout and AdamW as
// the CPU trainer (lib/train), on one GPU. Host-only header: no CUDA types, so
// the CLI and tests include it without nvcc.
//
// Parameters, gradients and AdamW moments are flat f32 buffers in the core's
// canonical tensor order (causalgen::tensor_spec), so a checkpoint written by
// either trainer resumes on the other.
//
// Precision: `bf16` runs every matrix product with bf16 operands and f32
// accumulation (weights cast from the f32 master copy each step); activations
// feeding products are bf16, the residual stream, LayerNorm statistics, the
// loss and AdamW stay f32. `f32` keeps everything f32 (and disables TF32) for
// parity tests against the CPU.
//
// Determinism: no atomics in any reduction (bias and LayerNorm-weight
// gradients, the embedding gradient and the gradient norm are reduced in a
// fixed order), dropout masks come from a counter-based hash of (seed, step,
// element), and cuBLASLt runs with one fixed algorithm per product; so the
// same seed on the same GPU and build gives bitwise identical weights.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "causalgen/config.hpp"

namespace causalgen::cuda {

// True if a CUDA device can be used; otherwise *why says why not.
bool device_available(std::string* why);
std::string device_name();

enum class Precision { bf16, f32 };

struct TrainerOptions {
  uint32_t batch_size = 12;
  uint32_t block_size = 64;  // T used in training (<= config.block_size)
  float dropout = 0.0f;
  Precision precision = Precision::bf16;
  uint64_t seed = 1337;
};

struct AdamWParams {
  float lr = 1e-3f, beta1 = 0.9f, beta2 = 0.99f, eps = 1e-8f, weight_decay = 0.1f;
  float grad_clip = 1.0f;  // 0 = off
};

class Trainer {
 public:
  virtual ~Trainer() = default;
  static std::unique_ptr<Trainer> create(const Config& c, const TrainerOptions& o,
                                         std::string* error);

  // Host <-> device copies of the flat f32 buffers (parameter_count() floats).
  virtual void set_parameters(const float* params) = 0;
  virtual void set_adam_state(const float* m, const float* v) = 0;
  virtual void get_parameters(float* params) = 0;
  virtual void get_adam_state(float* m, float* v) = 0;
  virtual void get_gradients(float* grads) = 0;

  // Forward + backward on batch_size x block_size tokens (row-major), leaving
  // gradients on the device; returns the mean cross-entropy (waits for it).
  virtual float forward_backward(const uint32_t* inputs, const uint32_t* targets,
                                 uint64_t step) = 0;
  // One training step: forward, backward, clip, AdamW (step counts from 1).
  // Does not wait for the GPU; the loss is read with last_loss().
  virtual void train_step(const uint32_t* inputs, const uint32_t* targets, const AdamWParams& p,
                          uint64_t step) = 0;
  virtual float last_loss() = 0;
  virtual float last_grad_norm() = 0;
  // Mean cross-entropy without dropout or gradients.
  virtual float eval_loss(const uint32_t* inputs, const uint32_t* targets) = 0;
  // Logits of the last eval/forward pass (B*T x V), for parity tests.
  virtual void get_logits(float* out) = 0;
};

}  // namespace causalgen::cuda
