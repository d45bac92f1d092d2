// Summing the ranks' gradients on their GPUs for data parallelism across
// processes (docs/distributed.md): an NCCL communicator bootstrapped over the
// run's Communicator (rank 0 makes the unique id and broadcasts it), and one
// in-place ncclAllReduce of the f32 gradient buffer per step, queued on the
// backend's stream after the backward pass. Each rank's gradient is
// multiplied by its weight (rows / global batch) inside the reduction
// (ncclRedOpCreatePreMulSum), so ranks with unequal rows average exactly.
// Which file implements open_gradient_allreduce() is CMake's choice:
// gradient_allreduce_nccl.cpp where nccl.h and libnccl are found,
// gradient_allreduce_none.cpp (an error) otherwise.
#pragma once
#include <cuda_runtime.h>

#include <memory>
#include <string>

#include "train/loop/backend.hpp"

namespace causalgen::cuda {

class GradientAllReduce {
 public:
  virtual ~GradientAllReduce() = default;
  // grads[i] = sum over ranks r of weight_r * grads_r[i], queued on stream.
  virtual void sum(float* grads, size_t n, cudaStream_t stream) = 0;
};

// On the current CUDA device (set before, one per node-local rank); weight:
// this rank's. Collective over comm. Null with *error when it cannot.
std::unique_ptr<GradientAllReduce> open_gradient_allreduce(train::Communicator& comm, float weight,
                                                           std::string* error);

}  // namespace causalgen::cuda
