#include "train/loop/progress.hpp"

#include <chrono>
#include <cstring>

#include "train/loop/run_files.hpp"

namespace causalgen::train {

namespace {
double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
std::string rate(double tokens_per_s) {
  char b[32];
  if (tokens_per_s >= 1e6) std::snprintf(b, sizeof b, "%.2fM", tokens_per_s / 1e6);
  else if (tokens_per_s >= 1e3) std::snprintf(b, sizeof b, "%.1fk", tokens_per_s / 1e3);
  else std::snprintf(b, sizeof b, "%.0f", tokens_per_s);
  return b;
}
}  // namespace

std::string with_commas(uint64_t v) {
  const std::string d = std::to_string(v);
  std::string s;
  for (size_t i = 0; i < d.size(); ++i) {
    if (i && (d.size() - i) % 3 == 0) s += ',';
    s += d[i];
  }
  return s;
}

std::string format_duration(double s) {
  if (!(s >= 0) || s > 1e8) return "?";
  const long t = long(s + 0.5);
  char b[32];
  if (t < 60) std::snprintf(b, sizeof b, "%lds", t);
  else if (t < 3600) std::snprintf(b, sizeof b, "%ldm%02lds", t / 60, t % 60);
  else std::snprintf(b, sizeof b, "%ldh%02ldm", t / 3600, (t / 60) % 60);
  return b;
}

void Progress::iteration(uint64_t step, uint64_t max_steps, double loss, double lr,
                         double tokens_per_s, double eta_s) {
  if (!out_) return;
  char b[256];
  std::snprintf(b, sizeof b, "iter %llu/%llu | loss %.4f | lr %.2e | %s tok/s | ETA %s",
                static_cast<unsigned long long>(step), static_cast<unsigned long long>(max_steps),
                loss, lr, rate(tokens_per_s).c_str(), format_duration(eta_s).c_str());
  if (live_) {
    const double t = now_s();
    if (step != max_steps && t - last_draw_ < 0.1) return;
    last_draw_ = t;
    std::fprintf(out_, "\r\033[K%s", b);
    std::fflush(out_);
    dirty_ = true;
  } else if (step % log_interval_ == 0 || step == max_steps) {
    std::fprintf(out_, "%s\n", b);
    std::fflush(out_);
  }
}

void Progress::line(const std::string& s) {
  if (!out_) return;
  end_live();
  std::fprintf(out_, "%s\n", s.c_str());
  std::fflush(out_);
}

void Progress::end_live() {
  if (dirty_) {
    std::fprintf(out_, "\r\033[K");
    std::fflush(out_);
    dirty_ = false;
  }
}

RunLog::~RunLog() {
  if (iters_) std::fclose(iters_);
  if (evals_) std::fclose(evals_);
}

bool RunLog::open(const std::string& dir, const TrainState& s, std::string* err) {
  const std::string ip = dir + "/" + kLogCsv, ep = dir + "/" + kEvalCsv;
  iters_ = std::fopen(ip.c_str(), "w");
  evals_ = iters_ ? std::fopen(ep.c_str(), "w") : nullptr;
  if (!iters_ || !evals_) {
    *err = (iters_ ? ep : ip) + ": " + std::strerror(errno);
    return false;
  }
  std::fprintf(iters_, "step,loss,lr,grad_norm,tokens_per_s,elapsed_s\n");
  std::fprintf(evals_, "step,train_loss,val_loss,elapsed_s\n");
  for (const IterRecord& r : s.iters) iteration(r);
  for (const EvalRecord& r : s.evals) evaluation(r);
  return true;
}

void RunLog::iteration(const IterRecord& r) {
  if (!iters_) return;
  std::fprintf(iters_, "%llu,%.6f,%.6e,%.6f,%.1f,%.3f\n", static_cast<unsigned long long>(r.step),
               double(r.loss), double(r.lr), double(r.grad_norm), double(r.tokens_per_s),
               r.elapsed_s);
  std::fflush(iters_);
}

void RunLog::evaluation(const EvalRecord& r) {
  if (!evals_) return;
  std::fprintf(evals_, "%llu,%.6f,%.6f,%.3f\n", static_cast<unsigned long long>(r.step),
               r.train_loss, r.val_loss, r.elapsed_s);
  std::fflush(evals_);
}

}  // namespace causalgen::train
