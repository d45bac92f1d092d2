// A whole training run in an output folder:
//   DIR/ckpt_last.cgc   the latest checkpoint (every ckpt_interval steps, every
//                       evaluation, at the end, and on interrupt)
//   DIR/ckpt_best.cgc   the checkpoint with the lowest validation loss so far
//   DIR/log.csv         step,loss,lr,grad_norm,tokens_per_s,elapsed_s
//   DIR/eval.csv        step,train_loss,val_loss,elapsed_s
//   DIR/loss.svg        the loss curve (rewritten at each evaluation and at the end)
//   DIR/config.json     the resolved configuration (readable by --config)
//
// Steps are counted as optimizer updates done. Evaluations happen before the
// update of every step k with k % eval_interval == 0 and after the last
// (k == max_iters). A stop request (stop flag, or stop_at) finishes the
// current update, saves ckpt_last and returns 130. Resuming continues
// exactly: the same thread count gives bit-identical parameters to a run
// that was never stopped.
//
// With several ranks (comm, docs/distributed.md) every rank runs this with
// the same options: rank 0 alone touches the output folder (it reads the
// checkpoint to resume and sends it to the others), and every rank returns
// the same code; on an error rank 0's *err says what (naming the rank when
// another rank failed).
#pragma once
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>

#include "train/loop/backend.hpp"
#include "train/loop/train_config.hpp"

namespace causalgen::train {

struct TrainRunOptions {
  std::string data_path, out_dir;
  TrainOverrides overrides;  // a --config file's keys merged with the flags
  bool resume = false;
  uint64_t stop_at = 0;      // stop (saving) after this many steps; 0: never
  const std::atomic<bool>* stop_flag = nullptr;
  std::FILE* out = stdout;   // progress; null: silent
  int live = -1;             // live status line: 1 on, 0 off, -1 iff out is a terminal
  bool cuda = false;         // train on the CUDA backend (backend_library.hpp); same checkpoints
  bool cuda_bf16 = true;     // bf16 products (else f32, for parity checks)
  Communicator* comm = nullptr;  // the run's ranks (communicator.hpp); null: this process alone
};

struct TrainRunResult {
  uint64_t step = 0;
  bool stopped = false;
  double train_loss = std::numeric_limits<double>::quiet_NaN();  // last evaluation
  double val_loss = std::numeric_limits<double>::quiet_NaN();
  double best_val = std::numeric_limits<double>::infinity();
  double elapsed_s = 0;     // this process's wall time
  double tokens_per_s = 0;  // over this process's steps (evaluations excluded)
  uint64_t parameters = 0;
};

// 0: finished; 130: stopped early with ckpt_last saved; 1: error (*err says
// what, naming the file or flag).
int run_training(const TrainRunOptions& o, TrainRunResult* r, std::string* err);

}  // namespace causalgen::train
