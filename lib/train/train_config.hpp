// A training run's configuration: the model's shape plus the optimisation
// settings. Resolved in layers: a named base (DESIGN.md's `tiny` / `small`,
// with nanoGPT shakespeare_char's settings), then a JSON file's keys, then
// command-line flags; then the derived defaults (lr_decay_iters = max_iters,
// min_lr = lr/10, position embedding on iff a layer is attention).
//
// JSON keys (all optional; nanoGPT's names):
//   base ("tiny" | "small"), n_layer, n_embd, n_head, block_size, bias,
//   pos_emb, mixer ("max-avg" or a per-layer list), batch_size, max_iters,
//   learning_rate, min_lr, warmup_iters, lr_decay_iters, weight_decay, beta1,
//   beta2, grad_clip, dropout, eval_interval, eval_iters, ckpt_interval,
//   log_interval, seed, threads.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "causalgen/config.hpp"

namespace causalgen::train {

struct TrainConfig {
  Config model;  // vocab_size is set from the data
  std::string base = "tiny";
  uint32_t batch_size = 12, max_iters = 2000, warmup_iters = 100, lr_decay_iters = 2000;
  double learning_rate = 1e-3, min_lr = 1e-4, weight_decay = 0.1, beta1 = 0.9, beta2 = 0.99,
         grad_clip = 1.0;
  float dropout = 0.0f;
  uint32_t eval_interval = 250, eval_iters = 20;
  uint32_t ckpt_interval = 0;  // steps between checkpoints of `last` (0: every eval)
  uint32_t log_interval = 10;  // steps between plain log lines (not on a terminal)
  uint64_t seed = 1337;
  uint32_t threads = 0;  // 0: all cores
};

struct TrainOverrides {
  std::optional<std::string> base;
  std::optional<uint32_t> n_layer, n_embd, n_head, block_size, batch_size, max_iters,
      warmup_iters, lr_decay_iters, eval_interval, eval_iters, ckpt_interval, log_interval,
      threads;
  std::optional<double> learning_rate, min_lr, weight_decay, beta1, beta2, grad_clip, dropout;
  std::optional<std::vector<Mixer>> mixers;
  std::optional<bool> bias, pos_emb;
  std::optional<uint64_t> seed;

  // Fields set in o replace ours.
  void merge(const TrainOverrides& o);
};

// A --resume continues the checkpoint's run: settings that shape the model
// or the optimisation may be given again but must equal the checkpoint's
// (all but max_iters, eval_interval, eval_iters, ckpt_interval,
// log_interval, threads). False with *err naming the first that differs.
bool check_resume_overrides(const TrainOverrides& o, const TrainConfig& c, std::string* err);

// "max", "max-avg", ... or a comma-separated per-layer list.
bool parse_mixer_list(const std::string& s, std::vector<Mixer>* out, std::string* err);
std::string mixer_list_string(const Config& c);  // "max-avg" if all equal, else "max,attention,..."

// Reads a JSON object of the keys above; unknown keys and wrong types are errors.
bool load_config_json(const std::string& path, TrainOverrides* out, std::string* err);
// The resolved config as JSON (every key; load_config_json reads it back).
std::string config_json(const TrainConfig& c);

// Applies base, overrides and derived defaults; validates everything.
bool resolve_config(const TrainOverrides& o, TrainConfig* out, std::string* err);
// Checks a complete config (vocab_size may be 0: checked when the data is known).
bool validate_train_config(const TrainConfig& c, std::string* err);

}  // namespace causalgen::train
