// A training run's configuration: the model's shape plus the optimisation
// settings. Every setting is a row of the hyperparameter table
// (hyperparams.hpp), which gives its JSON key, flag, default and allowed
// values. Resolved in layers: a named base (DESIGN.md's `tiny` / `small`,
// with nanoGPT shakespeare_char's settings), then a JSON file's keys, then
// command-line flags; then the derived defaults (lr_decay_iters = max_iters,
// min_lr = lr/10, position embedding on iff a layer is attention).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "causalgen/config.hpp"
#include "train/loop/hyperparams.hpp"

namespace causalgen::train {

// Defaults, allowed values and help: the table in hyperparams.cpp.
struct TrainConfig {
  TrainConfig();  // the `tiny` base's defaults

  Config model;  // vocab_size is set from the data
  std::string base;
  uint32_t batch_size{}, max_iters{}, warmup_iters{}, lr_decay_iters{};
  double learning_rate{}, min_lr{}, weight_decay{}, beta1{}, beta2{}, grad_clip{};
  float dropout{};
  uint32_t eval_interval{}, eval_iters{};
  uint32_t ckpt_interval{};  // steps between checkpoints of `last` (0: every eval)
  uint32_t log_interval{};   // steps between plain log lines (not on a terminal)
  uint64_t seed{};
  uint32_t threads{};  // 0: all cores
  // How MPI ranks share the work (docs/distributed.md); never saved in a
  // checkpoint (OnResume::per_run): the results do not depend on them.
  bool overlap_allreduce{};
  uint32_t zero_stage{};  // 1: ZeRO-1, the AdamW moments sharded across the ranks
};

// The settings given for a run (a JSON file's, the flags', a checkpoint's),
// by their key in the hyperparameter table; the others take their defaults.
class TrainOverrides {
 public:
  // v must hold the row's type; a number converts to it. An unknown key is a
  // programming error (aborts).
  void set(std::string_view key, HyperValue v);
  template <class T>
    requires std::is_arithmetic_v<T>
  void set(std::string_view key, T v) {
    if constexpr (std::is_same_v<T, bool>) set(key, HyperValue(v));
    else if constexpr (std::is_integral_v<T>) set_integer(key, uint64_t(v));
    else set_real(key, double(v));
  }
  void set(std::string_view key, const char* v) { set(key, HyperValue(std::string(v))); }

  const HyperValue* find(std::string_view key) const;  // nullptr: not given
  bool empty() const { return values_.empty(); }
  // Settings given in `later` replace ours.
  void merge(const TrainOverrides& later);

 private:
  void set_integer(std::string_view key, uint64_t v);
  void set_real(std::string_view key, double v);
  std::map<std::string, HyperValue, std::less<>> values_;
};

// A --resume continues the checkpoint's run: settings that shape the model
// or the optimisation may be given again but must equal the checkpoint's;
// the others (OnResume::may_change in the table) replace its. False with
// *err naming the first that differs, or an invalid result.
bool apply_resume_overrides(const TrainOverrides& o, TrainConfig* c, std::string* err);

// "max", "max-avg", ... or a comma-separated per-layer list.
bool parse_mixer_list(const std::string& s, std::vector<Mixer>* out, std::string* err);
std::string mixer_list_string(const Config& c);  // "max-avg" if all equal, else "max,attention,..."

// A settings file is one object of the table's keys: a few kilobytes, two
// levels deep (a mixer list). Larger or deeper files are refused before
// they are parsed.
constexpr uint64_t kMaxConfigBytes = uint64_t(1) << 20;
constexpr uint32_t kMaxJsonDepth = 64;

// Reads a JSON object of the table's keys; unknown keys, wrong types and
// values outside a setting's range are errors.
bool load_config_json(const std::string& path, TrainOverrides* out, std::string* err);
// The resolved config as JSON (every key that applies to the model;
// load_config_json reads it back).
std::string config_json(const TrainConfig& c);

// Applies base, overrides and derived defaults; validates everything.
bool resolve_config(const TrainOverrides& o, TrainConfig* out, std::string* err);
// Checks a complete config (vocab_size may be 0: checked when the data is known).
bool validate_train_config(const TrainConfig& c, std::string* err);

}  // namespace causalgen::train
