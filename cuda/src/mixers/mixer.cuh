// The CUDA trainer's side of a mixer: one layer's forward and backward on the
// GPU, keyed by the same code as the core's registry (lib/core/mixers/). Each
// mixer's file (mixers/<mixer>.cu) gives its descriptor, registry.cu lists
// them; the trainer (trainer.cu) carves each layer's saved block and the
// shared scratch from the sizes here and calls the two launchers.
// docs/adding-a-mixer.md lists every file a mixer has.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "causalgen/config.hpp"

namespace causalgen::cuda {

class Gemm;

namespace mixers {

// A batch: B windows of T positions (N = B*T rows), C channels, H heads.
struct Shape {
  int B, T, C, H;
};

// One layer's mixer on one batch. The forward reads h and writes m; the
// backward reads dm (and h, saved) and writes dh and the gradients of the
// mixer's own tensors. Everything runs on `stream`, in launch order.
template <class A>
struct Pass {
  Mixer code;  // the layer's mixer (one descriptor may serve several codes)
  const Config* config;  // the model (host memory): its fixed constants, e.g. ema's rates
  Shape shape;
  const A* h;   // (N,C) the layer's LN1 output, kept by the trainer until the backward
  A* m;         // (N,C) forward: the output (null in the backward)
  const A* dm;  // (N,C) backward: the gradient at m (null in the forward)
  A* dh;        // (N,C) backward: the gradient at h, written (null in the forward)
  void* saved;     // this layer's saved_bytes(shape) bytes: what the backward needs
  void* scratch;   // scratch_bytes(shape) bytes, shared by all layers, both passes
  float* partial;  // column-sum scratch: ln_partial_floats(N, 4C) floats (ops/layernorm.cu)
  // The mixer's own tensors (TensorRole::mixer_w, mixer_b), null when it has
  // none: w as the products' type A, b in f32; gradients f32, written.
  const A* w;
  const float* b;
  float* dw;
  float* db;
  // Dropout inside the mixer: probability (0 when not training), the run's
  // seed, and this layer's mixer site salt (the trainer's salt scheme).
  float p;
  uint64_t seed, salt;
  Gemm* gemm;
  cudaStream_t stream;
};

template <class A>
struct CudaMixer {
  Mixer code;
  size_t (*saved_bytes)(const Shape& s);    // per layer
  size_t (*scratch_bytes)(const Shape& s);  // one block for all layers
  void (*forward)(const Pass<A>& a);
  void (*backward)(const Pass<A>& a);
};

// The registry (registry.cu): the descriptor for a code, null if unknown.
template <class A>
const CudaMixer<A>* find(Mixer code);

// Arrays laid out one after another in a block, each on a 256-byte boundary
// (cudaMalloc's alignment, which cuBLASLt's plans assume). Without a base it
// only counts: bytes() is then the block's size.
class Carver {
 public:
  explicit Carver(void* base = nullptr) : base_(reinterpret_cast<uintptr_t>(base)) {}
  template <class T>
  T* take(size_t n) {
    T* p = reinterpret_cast<T*>(base_ + used_);
    used_ += (n * sizeof(T) + kAlign - 1) / kAlign * kAlign;
    return p;
  }
  size_t bytes() const { return used_; }

 private:
  static constexpr size_t kAlign = 256;
  uintptr_t base_;
  size_t used_ = 0;
};

}  // namespace mixers
}  // namespace causalgen::cuda
