// The training hyperparameters, each declared once: one row of the table in
// hyperparams.cpp gives a setting's JSON key, command-line flag, type,
// default, allowed values, whether --resume may change it, its help text and
// where it lives in TrainConfig. Everything else comes from the rows: the
// flags and `causalgen train --help` (tools/cmd_train.cpp), the JSON config
// reader and writer, validation and the resume rules (train_config.cpp), the
// settings in a checkpoint (checkpoint.cpp), and the table in
// docs/trainer.md (`causalgen train --help-markdown`; a test compares them).
//
// A new hyperparameter is a field in TrainConfig, a row in the table, and the
// code that uses it.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "causalgen/config.hpp"

namespace causalgen::train {

struct TrainConfig;

using MixerList = std::vector<Mixer>;

// A setting's value. A row's HyperType is the index of the alternative it holds.
using HyperValue = std::variant<uint32_t, uint64_t, float, double, bool, std::string, MixerList>;
enum class HyperType : uint8_t { u32, u64, f32, f64, on_off, name, mixers };

enum class OnResume : uint8_t {
  must_match,               // shapes the model or the optimisation
  may_change,               // a resume may extend the run or change how it reports
  must_match_if_attention,  // must match where an attention or local layer uses it
  per_run,                  // how this run computes, not what: not saved in checkpoints,
                            // so a resume takes the flag or the default
};

// The allowed numbers: lo..hi, each end open or closed (hi = infinity: no
// upper bound). Integers are also bounded by their type.
struct Range {
  double lo = 0, hi = 0;
  bool lo_open = false, hi_open = false;
};

// Where a setting lives in a TrainConfig.
struct Access {
  HyperType type;
  HyperValue (*get)(const TrainConfig&);
  // False with *err when the value cannot apply (a mixer list of another length).
  bool (*set)(TrainConfig&, const HyperValue&, std::string* err);
};

struct Default {
  const char* value = nullptr;  // as on the command line; nullptr: the base's model shape (core)
  const char* small = nullptr;  // the `small` base's, where it differs
  void (*derive)(TrainConfig&) = nullptr;  // or computed from the other settings...
  const char* derived_from = nullptr;      // ... as this says (help, docs)
};

struct Hyperparam {
  const char* key;   // JSON key (config files, config.json, checkpoints); the name in messages
  const char* flag;  // command-line flag; nullptr: none
  Access access;
  Default def;
  Range range;       // numbers only
  OnResume on_resume;
  const char* help;
  // Whether the setting means anything for this model (null: always); one that
  // does not is left out of config.json (`window` without a local layer).
  bool (*applies)(const Config&) = nullptr;
};

// Every row, in the order of config.json and the docs.
std::span<const Hyperparam> hyperparams();
const Hyperparam* find_hyperparam(std::string_view key);  // nullptr: no such setting

// The named bases (the core's named_config): "tiny", "small".
std::span<const char* const> base_names();
// A base's defaults: the core's model shape for it and every row's default.
bool set_base_defaults(const std::string& base, TrainConfig* c, std::string* err);

// A value as given on the command line, as the row's type and within its range.
// False with *err = "must be <allowed>, not <text>".
bool parse_hyperparam(const Hyperparam& p, const std::string& text, HyperValue* out,
                      std::string* err);
// Whether v is allowed; false with *err = "must be <allowed>, not <v>".
bool check_hyperparam(const Hyperparam& p, const HyperValue& v, std::string* err);

std::string allowed_text(const Hyperparam& p);  // "a positive number", "an integer in 1..64", ...
std::string value_text(const HyperValue& v);    // as on the command line: 0.001, on, max,attention
std::string default_text(const Hyperparam& p);  // "12 (small: 64)", "= max_iters"
std::string hyperparam_help(const Hyperparam& p);  // help, default and allowed values
const char* type_name(HyperType t);               // UINT, FLOAT, on|off, ...

// The table in Markdown: docs/trainer.md holds a copy (tests/train/docs_table.sh).
std::string hyperparams_markdown();

}  // namespace causalgen::train
