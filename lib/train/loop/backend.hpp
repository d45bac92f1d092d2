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
//
// Data parallelism across processes (docs/distributed.md): every process
// (rank) of a run is handed the same global batch and computes the rows
// rows_of_rank() gives it; forward_backward leaves in every rank the global
// batch's gradient (the ranks' gradients summed with weights rows/B through
// the Communicator), so clipping, AdamW, loss() and grad_norm() see exactly
// what one process with the whole batch would.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "causalgen/config.hpp"
#include "train/optim/adamw.hpp"

namespace causalgen::train {

// The processes of one training run and their collectives: MPI ranks
// (communicator.hpp opens it), or a single process. Every rank calls every
// collective in the same order. Only one thread of a process calls it.
class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // Among the ranks on this machine (one GPU each, threads shared).
  virtual int local_rank() const = 0;
  virtual int local_size() const = 0;
  // In place: data[i] = the sum of data[i] over the ranks.
  virtual void allreduce_sum(float* data, size_t n) = 0;
  virtual void allreduce_sum(double* data, size_t n) = 0;
  // root's bytes to every rank.
  virtual void broadcast(void* data, size_t bytes, int root) = 0;
  virtual void barrier() = 0;
  // Ends every rank of the run at once with this exit code.
  [[noreturn]] virtual void abort(int code) = 0;
  // "one process", "MPI, 2 ranks on 1 machine"
  virtual std::string description() const = 0;

  // Non-blocking sums, to overlap the gradient exchange with the backward
  // pass (gradient_exchange.hpp): start_allreduce_sum begins data[i] = the
  // sum of data[i] over the ranks and returns at once; data must not be
  // touched until wait_all(). Every rank starts the same sums in the same
  // order. With 2 ranks each element is the same as allreduce_sum's (a sum
  // of two terms has one value); with more, MPI may add in another order.
  virtual void start_allreduce_sum(float* data, size_t n) = 0;
  // Lets started sums advance (MPI moves them only inside its calls).
  virtual void progress() = 0;
  // Returns when every started sum is done.
  virtual void wait_all() = 0;

  // Sharded arrays (ZeRO-1): rank r owns elements shard_of(n, r, size()).
  // In place: every rank's own shard of data to every rank.
  virtual void allgather_shards(float* data, size_t n) = 0;
  // Every rank's shard (`shard`: its shard_of() values) into root's `full`
  // (n values; unused on the other ranks, which may pass null).
  virtual void gather_shards(const float* shard, float* full, size_t n, int root) = 0;
};

// A rank's rows of a global batch of B rows: contiguous, rank r holds
// [B r / n, B (r+1) / n), the same split DataParallelGpt makes over threads.
struct RowSlice {
  uint32_t first = 0, count = 0;
};
inline RowSlice rows_of_rank(uint32_t B, int rank, int ranks) {
  const auto at = [&](int r) { return uint32_t(uint64_t(B) * uint64_t(r) / uint64_t(ranks)); };
  return RowSlice{at(rank), at(rank + 1) - at(rank)};
}

// A rank's share of an n-element array (ZeRO-1's moments): contiguous,
// rank r holds [n r / ranks, n (r+1) / ranks).
struct Shard {
  size_t first = 0, count = 0;
};
inline Shard shard_of(size_t n, int rank, int ranks) {
  const auto at = [&](int r) { return size_t(uint64_t(n) * uint64_t(r) / uint64_t(ranks)); };
  return Shard{at(rank), at(rank + 1) - at(rank)};
}

struct BackendOptions {
  Config model;
  uint32_t batch_size = 12;
  uint32_t block_size = 64;  // T used in training (<= model.block_size)
  float dropout = 0.0f;
  uint64_t seed = 1337;      // dropout masks
  bool bf16 = true;          // CUDA: bf16 products (else f32, for parity checks)
  // The run's ranks (alive as long as the backend); null: this process alone.
  // batch_size stays the global batch: each rank computes rows_of_rank().
  Communicator* comm = nullptr;
  // With several ranks (CPU): all-reduce each layer's gradients while the
  // backward pass goes on (else one all-reduce after it; the same sums).
  bool overlap_allreduce = true;
  // With several ranks (CPU): ZeRO-1, each rank keeps and updates only its
  // shard_of() the AdamW moments, then the parameters are all-gathered.
  bool shard_moments = false;
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

  // Copies between the caller's buffers and the backend's. With sharded
  // moments (moments_sharded()), set_moments takes this rank's shard of the
  // full arrays, and get_moments is collective: it fills m and v on rank 0
  // only (the other ranks may pass null).
  virtual void set_parameters(const float* params) = 0;
  virtual void get_parameters(float* params) = 0;
  virtual void set_moments(const float* m, const float* v) = 0;
  virtual void get_moments(float* m, float* v) = 0;
  virtual void get_gradients(float* grads) = 0;

  // Forward and backward of a batch with dropout for the update that follows
  // `steps_done` updates; the gradients stay in the backend (with several
  // ranks: summed over the ranks, so every rank holds the global batch's).
  virtual void forward_backward(const uint32_t* inputs, const uint32_t* targets,
                                uint64_t steps_done) = 0;
  // The mean cross-entropy of the last forward_backward (over the global batch).
  virtual double loss() = 0;
  // Clip and AdamW with the last forward_backward's gradients.
  virtual void optimizer_step(const OptimizerStep& s) = 0;
  // The gradient norm before clipping, of the last optimizer_step.
  virtual double grad_norm() = 0;
  // Mean cross-entropy of the global batch without dropout or gradients.
  virtual double eval_loss(const uint32_t* inputs, const uint32_t* targets) = 0;
  // True when this rank keeps only its shard of the moments (ZeRO-1).
  virtual bool moments_sharded() const { return false; }
};

}  // namespace causalgen::train
