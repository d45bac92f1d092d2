// What a run shows and records: a live status line on a terminal (iteration,
// loss, learning rate, tokens/s, ETA) or plain lines every log_interval steps
// otherwise; permanent lines for evaluations; and the CSV logs in the run's
// folder (log.csv: one row per step; eval.csv: one row per evaluation).
#pragma once
#include <cstdint>
#include <cstdio>
#include <string>

#include "train/loop/trainer.hpp"

namespace causalgen::train {

std::string format_duration(double seconds);  // "42s", "3m05s", "1h02m"
std::string with_commas(uint64_t v);          // "8,011,392"

// out may be null: nothing is shown.
class Progress {
 public:
  Progress(std::FILE* out, bool live, uint32_t log_interval)
      : out_(out), live_(live), log_interval_(log_interval ? log_interval : 1) {}
  ~Progress() { end_live(); }
  // After step `step` (1-based count of steps done) of max_steps.
  void iteration(uint64_t step, uint64_t max_steps, double loss, double lr, double tokens_per_s,
                 double eta_s);
  // A permanent line (ends a live line first).
  void line(const std::string& s);
  void end_live();

 private:
  std::FILE* out_;
  bool live_;
  uint32_t log_interval_;
  bool dirty_ = false;
  double last_draw_ = -1;
};

// log.csv and eval.csv. open() rewrites both from the state's history (so a
// resumed run's logs hold exactly the steps its checkpoint has), then rows are
// appended and flushed as they come.
class RunLog {
 public:
  ~RunLog();
  bool open(const std::string& dir, const TrainState& s, std::string* err);
  void iteration(const IterRecord& r);
  void evaluation(const EvalRecord& r);

 private:
  std::FILE* iters_ = nullptr;
  std::FILE* evals_ = nullptr;
};

}  // namespace causalgen::train
