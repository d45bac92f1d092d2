#include "train/loop/train_loop.hpp"

#include <omp.h>
#include <unistd.h>

#include <chrono>
#include <cstdarg>
#include <cmath>
#include <filesystem>

#include "host/model_io.hpp"
#include "host/same_file.hpp"
#include "train/loop/backend_library.hpp"
#include "train/loop/collectives.hpp"
#include "train/loop/communicator.hpp"
#include "train/loop/memory_budget.hpp"
#include "train/io/checkpoint.hpp"
#include "train/model/gemm.hpp"
#include "train/io/loss_plot.hpp"
#include "train/loop/progress.hpp"
#include "train/loop/run_files.hpp"
#include "train/loop/trainer.hpp"

namespace causalgen::train {

namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string fmt(const char* f, ...) __attribute__((format(printf, 1, 2)));
std::string fmt(const char* f, ...) {
  char b[512];
  va_list ap;
  va_start(ap, f);
  std::vsnprintf(b, sizeof b, f, ap);
  va_end(ap);
  return b;
}

// The checkpoint to resume: rank 0 reads it and sends its bytes to every
// rank (the other ranks need no shared folder). Collective.
bool load_resume_checkpoint(const std::string& last, const std::string& out_dir,
                            Communicator& comm, TrainState* s, std::string* err) {
  std::vector<uint8_t> bytes;
  bool ok = true;
  if (comm.rank() == 0) {
    host::AlignedBytes file;
    ok = std::filesystem::exists(last);
    if (!ok)
      *err = "--resume: " + last + " does not exist (no run to resume in " + out_dir + ")";
    else if ((ok = read_checkpoint_file(last, &file, err)))
      bytes.assign(file.data.get(), file.data.get() + file.size);
  }
  if (!all_ok(comm, ok, err)) return false;
  broadcast_bytes(comm, &bytes, 0);
  return decode_checkpoint(bytes.data(), bytes.size(), last, s, err);
}

// The run's files (run_files.hpp) that already exist in its folder, as a
// list ("ckpt_best.cgc, log.csv"); "" if none.
std::string existing_run_files(const std::string& dir) {
  std::string found;
  for (const char* name : kRunFiles) {
    std::error_code ec;
    if (std::filesystem::exists(std::filesystem::path(dir) / name, ec))
      found += (found.empty() ? "" : ", ") + std::string(name);
  }
  return found;
}

// --data must not be one of the files the run writes.
bool check_data_apart(const TrainRunOptions& o, std::string* err) {
  std::vector<host::NamedPath> outputs;
  for (const char* name : kRunFiles) outputs.push_back({"--out", o.out_dir + "/" + name});
  *err = host::paths_overlap({{"--data", o.data_path}}, outputs);
  return err->empty();
}

// Fresh run or resume: the state, the data and the thread count (by default
// the machine's cores shared by its ranks). Writes nothing: a run that cannot
// start leaves its folder as it was.
bool prepare(const TrainRunOptions& o, Communicator& comm, TrainState* s, TextData* data,
             std::string* err) {
  const std::string last = o.out_dir + "/" + kLastCheckpoint;
  if (!check_data_apart(o, err)) return false;
  if (o.resume) {
    if (!load_resume_checkpoint(last, o.out_dir, comm, s, err)) return false;
    TrainConfig& c = s->config;
    if (!apply_resume_overrides(o.overrides, &c, err)) return false;
    set_threads(c.threads ? int(c.threads) : int(s->threads));
    s->threads = uint32_t(threads());
    c.threads = s->threads;
    if (c.max_iters <= s->step) {
      *err = "--resume: " + last + " is at step " + std::to_string(s->step) + " and --max-iters is " +
             std::to_string(c.max_iters) + ": nothing to train; give a --max-iters above " +
             std::to_string(s->step) + " to continue the run";
      return false;
    }
    if (!o.cuda && !check_training_memory(c, threads(), err)) return false;
    if (!load_text_data(o.data_path, s->vocab, data, err)) return false;
    if (data->text_crc != s->data_crc || data->text_bytes != s->data_bytes) {
      *err = o.data_path + ": not the text this run was trained on (" +
             std::to_string(data->text_bytes) + " bytes, CRC " + fmt("%08x", data->text_crc) +
             "; the checkpoint's: " + std::to_string(s->data_bytes) + " bytes, CRC " +
             fmt("%08x", s->data_crc) + ")";
      return false;
    }
  } else {
    TrainConfig c;
    if (!resolve_config(o.overrides, &c, err)) return false;
    if (const std::string found = comm.rank() == 0 ? existing_run_files(o.out_dir) : "";
        !found.empty()) {
      *err = o.out_dir + " already holds a run (" + found +
             "): use --resume to continue it, or another --out";
      return false;
    }
    c.threads = c.threads ? c.threads
                          : uint32_t(std::max(1, omp_get_num_procs() / comm.local_size()));
    set_threads(int(c.threads));
    if (!load_text_data(o.data_path, data, err)) return false;
    c.model.vocab_size = uint32_t(data->vocab.size());
    if (!o.cuda && !check_training_memory(c, threads(), err)) return false;
    init_state(c, *data, s);
  }
  return check_windows(*data, s->config.model.block_size, err);
}

// The output folder, created if missing.
bool make_out_dir(const std::string& dir, std::string* err) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec || !std::filesystem::is_directory(dir)) {
    *err = dir + ": cannot create the output folder" + (ec ? ": " + ec.message() : "");
    return false;
  }
  return true;
}

// One training run over a prepared state: evaluations, steps, checkpoints,
// the log and the plot. run_training() drives it.
class Run {
 public:
  Run(const TrainRunOptions& o, Communicator& comm, TrainState& s, const TextData& data,
      Trainer& trainer, Progress& progress, RunLog& log, TrainRunResult* r)
      : o_(o), comm_(comm), s_(s), c_(s.config), data_(data), trainer_(trainer),
        progress_(progress), log_(log),
        r_(r), last_(o.out_dir + "/" + kLastCheckpoint), best_(o.out_dir + "/" + kBestCheckpoint),
        t_start_(now_s()), elapsed0_(s.elapsed_s),
        tokens_per_step_(uint64_t(c_.batch_size) * c_.model.block_size),
        saved_(o.resume), saved_step_(s.step) {}

  // What the run is, in two or three lines.
  void banner() {
    const Config& m = c_.model;
    progress_.line(fmt("%s: %s %u layers x %u, mixers %s, %s%s parameters %s, vocab %u",
                       o_.resume ? "resuming" : "training", c_.base.c_str(), m.n_layer, m.n_embd,
                       mixer_list_string(m).c_str(), m.pos_emb ? "position embedding, " : "",
                       with_commas(m.parameter_count()).c_str(), m.bias ? "(bias)" : "(no bias)",
                       m.vocab_size));
    progress_.line(fmt("data %s: %s train / %s val characters; batch %u x %u, %u steps, lr %.2g, "
                       "dropout %.2g, seed %llu, %d threads",
                       o_.data_path.c_str(), with_commas(data_.train.size()).c_str(),
                       with_commas(data_.val.size()).c_str(), c_.batch_size, m.block_size,
                       c_.max_iters, c_.learning_rate, double(c_.dropout),
                       static_cast<unsigned long long>(c_.seed), threads()));
    progress_.line("device: " + trainer_.device_description());
    if (o_.resume)
      progress_.line(fmt("resumed at step %llu of %u", static_cast<unsigned long long>(s_.step),
                         c_.max_iters));
  }

  // Evaluates at step k when due (once per step), saving best and last.
  // *stopped when a stop request interrupted it; false on a write error.
  bool evaluate_if_due(uint64_t k, bool* stopped, std::string* err) {
    if (!eval_due(k) || (!s_.evals.empty() && s_.evals.back().step == k)) return true;
    double tl, vl;
    if (!trainer_.evaluate(data_, &tl, &vl, o_.stop_flag)) {
      *stopped = true;
      return true;
    }
    if (!std::isfinite(tl) || !std::isfinite(vl))
      return diverged(fmt("the evaluation's losses are %f (train) and %f (val)", tl, vl), err);
    s_.evals.push_back({k, tl, vl, elapsed()});
    log_.evaluation(s_.evals.back());
    r_->train_loss = tl, r_->val_loss = vl;
    std::string note;
    if (vl < s_.best_val) {
      s_.best_val = vl;
      s_.best_step = k;
      if (!save(best_, err)) return false;
      note = " (best; saved " + std::string(kBestCheckpoint) + ")";
    }
    progress_.line(fmt("step %llu: train loss %.4f, val loss %.4f%s",
                       static_cast<unsigned long long>(k), tl, vl, note.c_str()));
    if (!save(last_, err)) return false;
    write_plot();
    return true;
  }

  // One optimizer step at step k, logged; false (with *err) if the loss diverged.
  bool step(uint64_t k, std::string* err) {
    const double t0 = now_s();
    double norm = 0, lr = 0;
    const double loss = trainer_.step(data_, &norm, &lr);
    const double dt = now_s() - t0;
    train_time_ += dt;
    ++steps_here_;
    step_time_ema_ = steps_here_ == 1 ? dt : 0.9 * step_time_ema_ + 0.1 * dt;
    if (!std::isfinite(loss)) return diverged(fmt("the loss became %f", loss), err, k);
    s_.iters.push_back({k, float(loss), float(lr), float(norm), float(tokens_per_step_ / dt),
                        elapsed()});
    log_.iteration(s_.iters.back());
    const uint64_t remaining = c_.max_iters - s_.step;
    progress_.iteration(s_.step, c_.max_iters, loss, lr, tokens_per_step_ / step_time_ema_,
                        remaining * step_time_ema_);
    return true;
  }

  // The loop: evaluate when due, step, checkpoint; until max_iters or a stop.
  // Returns 0, or 1 on an error; *stopped when a stop ended it early.
  int loop(bool* stopped, std::string* err) {
    for (;;) {
      const uint64_t k = s_.step;
      if (!evaluate_if_due(k, stopped, err)) return 1;
      if (*stopped || k >= c_.max_iters) return 0;
      if (stop_requested()) {
        *stopped = true;
        return 0;
      }
      if (!step(k, err)) return 1;
      if (stop_requested() || (o_.stop_at && s_.step >= o_.stop_at)) {
        *stopped = true;
        return 0;
      }
      if (c_.ckpt_interval && s_.step % c_.ckpt_interval == 0 && !eval_due(s_.step))
        if (!save(last_, err)) return 1;
    }
  }

  // The last checkpoint and plot after a stop, the closing line, the result.
  int finish(bool stopped, std::string* err) {
    if (stopped) {
      if (!save(last_, err)) return 1;
      write_plot();
      progress_.line(fmt("stopped at step %llu: saved %s (continue with --resume)",
                         static_cast<unsigned long long>(s_.step), last_.c_str()));
    } else {
      progress_.line(fmt("done: %llu steps, val loss %.4f (best %.4f at step %llu), %s",
                         static_cast<unsigned long long>(s_.step), r_->val_loss, s_.best_val,
                         static_cast<unsigned long long>(s_.best_step),
                         format_duration(elapsed()).c_str()));
    }
    r_->step = s_.step;
    r_->stopped = stopped;
    r_->best_val = s_.best_val;
    r_->elapsed_s = now_s() - t_start_;
    r_->tokens_per_s =
        train_time_ > 0 ? double(steps_here_ * tokens_per_step_) / train_time_ : 0;
    if (std::isnan(r_->val_loss) && !s_.evals.empty()) {
      r_->train_loss = s_.evals.back().train_loss;
      r_->val_loss = s_.evals.back().val_loss;
    }
    return stopped ? 130 : 0;
  }

 private:
  double elapsed() const { return elapsed0_ + (now_s() - t_start_); }
  bool eval_due(uint64_t k) const { return k % c_.eval_interval == 0 || k == c_.max_iters; }
  // Collective: a stop requested on any rank stops every rank at the same step.
  bool stop_requested() { return o_.stop_flag && trainer_.stop_anywhere(o_.stop_flag->load()); }
  // Rank 0 writes; every rank learns whether it could (collective). Never
  // writes weights or moments that are not finite: that ends the run on
  // every rank (rank 0, which holds them all, checks; under ZeRO-1 the other
  // ranks hold only shards of the moments).
  bool save(const std::string& path, std::string* err) {
    trainer_.sync_to_state();
    std::string why = comm_.rank() == 0 ? state_value_problem(s_) : "";
    if (!all_ok(comm_, why.empty(), &why))
      return diverged("the weights are no longer finite (" + why + ")", err);
    bool ok = true;
    if (comm_.rank() == 0) {
      s_.elapsed_s = elapsed();
      ok = save_checkpoint(path, s_, err);
    }
    trainer_.drop_synced_moments();
    if (!all_ok(comm_, ok, err)) return false;
    if (path == last_) saved_ = true, saved_step_ = s_.step;
    return true;
  }
  // The run diverged at step k (default: the steps done): *err says how and
  // where the last good checkpoint is; false.
  bool diverged(const std::string& how, std::string* err, uint64_t k = UINT64_MAX) {
    if (k == UINT64_MAX) k = s_.step;
    const std::string kept =
        saved_ ? fmt("the last good checkpoint is %s (step %llu)", last_.c_str(),
                     static_cast<unsigned long long>(saved_step_))
               : std::string("no checkpoint was saved");
    *err = fmt("training diverged at step %llu: %s; nothing was saved from it: %s. Lower --lr or "
               "check the data",
               static_cast<unsigned long long>(k), how.c_str(), kept.c_str());
    return false;
  }
  void write_plot() {
    if (comm_.rank() != 0) return;
    const Config& m = c_.model;
    const std::string svg = loss_curve_svg(
        s_.iters, s_.evals,
        fmt("%s, %s, %u x %u", c_.base.c_str(), mixer_list_string(m).c_str(), m.n_layer, m.n_embd));
    std::string ignored;  // a plot that cannot be written does not stop training
    host::write_file_atomic(o_.out_dir + "/" + kLossSvg, svg.data(), svg.size(), &ignored);
  }

  const TrainRunOptions& o_;
  Communicator& comm_;
  TrainState& s_;
  const TrainConfig& c_;
  const TextData& data_;
  Trainer& trainer_;
  Progress& progress_;
  RunLog& log_;
  TrainRunResult* r_;
  const std::string last_, best_;
  const double t_start_, elapsed0_;
  const uint64_t tokens_per_step_;
  double step_time_ema_ = 0, train_time_ = 0;
  uint64_t steps_here_ = 0;
  bool saved_;           // last_ holds a checkpoint of this run (a resume starts from one)
  uint64_t saved_step_;  // its step
};

// What every rank must agree on: the resolved settings (threads aside), the
// data, the step resumed at and the run's flags.
std::string run_fingerprint(const TrainRunOptions& o, const TrainState& s) {
  TrainConfig c = s.config;
  c.threads = 0;
  return config_json(c) + fmt("data %llu %08x step %llu stop-at %llu device %d %d",
                              static_cast<unsigned long long>(s.data_bytes), s.data_crc,
                              static_cast<unsigned long long>(s.step),
                              static_cast<unsigned long long>(o.stop_at), o.cuda, o.cuda_bf16);
}

// --zero 1 shards the AdamW moments over the ranks of a CPU run.
bool check_zero(const TrainRunOptions& o, const Communicator& comm, const TrainConfig& c,
                std::string* err) {
  if (c.zero_stage == 0) return true;
  if (o.cuda)
    *err = "--zero 1 is implemented on the CPU backend only (--device cuda keeps the whole AdamW "
           "moments on every GPU); leave --zero at 0";
  else if (comm.size() == 1)
    *err = "--zero 1 shards the AdamW moments across MPI ranks, but this run is one process: "
           "start it with mpirun -np N (N >= 2) in a build with MPI, or leave --zero at 0";
  return !o.cuda && comm.size() > 1;
}

// Every rank has the same run and a share of each batch. Collective.
bool ranks_agree(const TrainRunOptions& o, Communicator& comm, const TrainState& s,
                 std::string* err) {
  if (!same_on_all_ranks(comm, run_fingerprint(o, s),
                         "the settings (flags, --config, data or resumed step)", err))
    return false;
  if (s.config.batch_size < uint32_t(comm.size())) {
    *err = fmt("--batch-size %u is smaller than the number of ranks (%d): every rank needs at "
               "least one row of each batch",
               s.config.batch_size, comm.size());
    return false;
  }
  return check_zero(o, comm, s.config, err);
}

}  // namespace

int run_training(const TrainRunOptions& o, TrainRunResult* r, std::string* err) {
  *r = TrainRunResult{};
  SingleProcess alone;
  Communicator& comm = o.comm ? *o.comm : alone;
  const bool root = comm.rank() == 0;  // writes the output folder
  // Everything that can refuse the run comes before the first write; each
  // all_ok() ends every rank together when any failed.
  if (o.out_dir.empty()) {
    *err = "--out: an output folder is required";
    return 1;
  }
  TrainState s;
  TextData data;
  if (!all_ok(comm, prepare(o, comm, &s, &data, err), err)) return 1;
  if (!ranks_agree(o, comm, s, err)) return 1;
  std::unique_ptr<Backend> gpu;
  if (o.cuda) gpu = open_cuda_backend(backend_options(s.config, o.cuda_bf16, &comm), err);
  if (!all_ok(comm, !o.cuda || gpu, err)) return 1;

  // The run starts: its folder, its settings, its logs (rank 0).
  const std::string json = config_json(s.config);
  RunLog log;
  if (!all_ok(comm,
              !root || (make_out_dir(o.out_dir, err) &&
                        host::write_file_atomic(o.out_dir + "/" + kConfigJson, json.data(),
                                                json.size(), err) &&
                        log.open(o.out_dir, s, err)),
              err))
    return 1;
  std::FILE* out = root ? o.out : nullptr;
  const bool live = o.live >= 0 ? o.live == 1 : (out && ::isatty(::fileno(out)));
  Progress progress(out, live, s.config.log_interval);
  Trainer trainer = gpu ? Trainer(s, std::move(gpu), &comm) : Trainer(s, &comm);
  r->parameters = s.config.model.parameter_count();

  Run run(o, comm, s, data, trainer, progress, log, r);
  run.banner();
  bool stopped = false;
  if (run.loop(&stopped, err) != 0) return 1;
  return run.finish(stopped, err);
}

}  // namespace causalgen::train
