// Everything a training run is (TrainState: what a checkpoint stores) and the
// one-step machinery over it (Trainer, on a Backend). Parameters, gradients and the AdamW
// moments are each one flat allocation in the core's canonical tensor order.
#pragma once
#include <atomic>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include <xtensor/xtensor.hpp>

#include "train/optim/adamw.hpp"
#include "train/loop/backend.hpp"
#include "train/optim/lr_schedule.hpp"
#include "train/model/rng.hpp"
#include "train/data/text_data.hpp"
#include "train/loop/train_config.hpp"

namespace causalgen::train {

struct IterRecord {
  uint64_t step;       // the step this loss was computed at (0-based)
  float loss, lr, grad_norm, tokens_per_s;
  double elapsed_s;    // wall time of the run when the step finished
};
struct EvalRecord {
  uint64_t step;       // optimizer steps done before this evaluation
  double train_loss, val_loss, elapsed_s;
};

using Flat = xt::xtensor<float, 1>;

struct TrainState {
  TrainConfig config;            // config.model.vocab_size == vocab.size()
  std::vector<uint32_t> vocab;   // code points, ascending
  Flat params, m, v;             // parameter_count() each
  uint64_t step = 0;             // optimizer steps done
  Rng batch_rng;                 // the data loader's generator
  double best_val = std::numeric_limits<double>::infinity();
  uint64_t best_step = 0;
  std::vector<IterRecord> iters;
  std::vector<EvalRecord> evals;
  double elapsed_s = 0;
  uint32_t threads = 1;          // thread count the run used (determinism)
  uint64_t data_bytes = 0;       // the training text (a resume checks it)
  uint32_t data_crc = 0;
};

// A fresh run: vocabulary from the data, nanoGPT init from config.seed.
void init_state(const TrainConfig& cfg, const TextData& data, TrainState* s);

LrSchedule schedule_of(const TrainConfig& c);
AdamWParams adamw_of(const TrainConfig& c);

// The backend's settings for a run: its model, batch, window, dropout and
// seed; bf16 products on CUDA unless told otherwise; the run's ranks (null:
// this process alone).
BackendOptions backend_options(const TrainConfig& c, bool bf16 = true,
                               Communicator* comm = nullptr);

// The training loop's step and evaluation over one Backend (the CPU's, or
// the GPU's from backend_library.hpp): the same batches, schedule and AdamW
// on any backend. A backend keeps its own parameters and moments between
// sync_to_state() calls (the CPU backend works in the TrainState's buffers).
class Trainer {
 public:
  // On the CPU backend, over the ranks of comm (null: this process alone).
  explicit Trainer(TrainState& s, Communicator* comm = nullptr);
  // On the given backend, which receives s's parameters and moments now.
  Trainer(TrainState& s, std::unique_ptr<Backend> backend, Communicator* comm = nullptr);
  ~Trainer();
  std::string device_description() const { return backend_->description(); }
  // Copies the backend's parameters and moments into the TrainState (before
  // a checkpoint is written). Collective. With sharded moments (ZeRO-1) the
  // TrainState holds no moments between checkpoints: rank 0 gathers them
  // here into full arrays, the other ranks' stay empty, and
  // drop_synced_moments() frees them again after the save.
  void sync_to_state();
  void drop_synced_moments();
  // One optimizer step on a batch drawn from the training split: forward,
  // backward, clip, AdamW. Returns the batch loss; *grad_norm before clipping.
  double step(const TextData& data, double* grad_norm = nullptr, double* lr = nullptr);
  // nanoGPT's estimate on both splits (dropout off): eval_iters random
  // batches each, windows from a generator seeded by (seed, step), so the
  // training stream is untouched and a resumed run evaluates identically.
  // False (nothing written) if *stop became true meanwhile (on any rank).
  bool evaluate(const TextData& data, double* train_loss, double* val_loss,
                const std::atomic<bool>* stop = nullptr);
  Backend& backend() { return *backend_; }
  TrainState& state() { return s_; }
  // A stop request here or on any other rank (every rank calls it alike).
  bool stop_anywhere(bool here);

 private:
  TrainState& s_;
  std::unique_ptr<Backend> backend_;
  Communicator* comm_;
  std::vector<uint32_t> x_, y_;
};

}  // namespace causalgen::train
