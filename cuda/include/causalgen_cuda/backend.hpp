// The CUDA backend: train::Backend (lib/train/loop/backend.hpp) on one GPU, the
// same model, flat parameter layout and AdamW as the CPU backend. Host-only
// header: no CUDA types, so tests include it without nvcc. The trainer
// reaches it through libcausalgen_cuda_backend.so (backend_library.cpp);
// the CUDA tests link it directly.
//
// Precision: `bf16` runs every matrix product with bf16 operands and f32
// accumulation (weights cast from the f32 master copy each step); activations
// feeding products are bf16, the residual stream, LayerNorm statistics, the
// loss and AdamW stay f32. `f32` (BackendOptions::bf16 = false) keeps
// everything f32 (and disables TF32) for parity tests against the CPU.
//
// Determinism: no atomics in any reduction (bias and LayerNorm-weight
// gradients, the embedding gradient and the gradient norm are reduced in a
// fixed order), dropout masks come from a counter-based hash of (seed, step,
// element), and cuBLASLt runs with one fixed algorithm per product; so the
// same seed on the same GPU and build gives bitwise identical weights.
#pragma once
#include <memory>
#include <string>

#include "train/loop/backend.hpp"

namespace causalgen::cuda {

// True if a CUDA device can be used; otherwise *why says why not.
bool device_available(std::string* why);
std::string device_name();

class CudaBackend : public train::Backend {
 public:
  // Logits of the last forward (B*T x V), for parity tests.
  virtual void get_logits(float* out) = 0;
};

// Null with *error when no GPU is usable or the shape is unsupported.
std::unique_ptr<CudaBackend> create_backend(const train::BackendOptions& o, std::string* error);

}  // namespace causalgen::cuda
