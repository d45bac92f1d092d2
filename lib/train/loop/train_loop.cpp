#include "train/loop/train_loop.hpp"

#include <omp.h>
#include <unistd.h>

#include <chrono>
#include <cstdarg>
#include <cmath>
#include <filesystem>

#include "host/model_io.hpp"
#include "train/loop/backend_library.hpp"
#include "train/io/checkpoint.hpp"
#include "train/model/gemm.hpp"
#include "train/io/loss_plot.hpp"
#include "train/loop/progress.hpp"
#include "train/loop/trainer.hpp"

namespace causalgen::train {

namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string with_commas(uint64_t v) {
  const std::string d = std::to_string(v);
  std::string s;
  for (size_t i = 0; i < d.size(); ++i) {
    if (i && (d.size() - i) % 3 == 0) s += ',';
    s += d[i];
  }
  return s;
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

// Fresh run or resume: the state, the data and the thread count.
bool prepare(const TrainRunOptions& o, TrainState* s, TextData* data, std::string* err) {
  const std::string last = o.out_dir + "/" + kLastCheckpoint;
  if (o.resume) {
    if (!std::filesystem::exists(last)) {
      *err = "--resume: " + last + " does not exist (no run to resume in " + o.out_dir + ")";
      return false;
    }
    if (!load_checkpoint(last, s, err)) return false;
    TrainConfig& c = s->config;
    if (!apply_resume_overrides(o.overrides, &c, err)) return false;
    set_threads(c.threads ? int(c.threads) : int(s->threads));
    s->threads = uint32_t(threads());
    c.threads = s->threads;
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
    if (std::filesystem::exists(last)) {
      *err = o.out_dir + " already holds a run (" + kLastCheckpoint +
             "): use --resume to continue it, or another --out";
      return false;
    }
    c.threads = c.threads ? c.threads : uint32_t(std::max(1, omp_get_num_procs()));
    set_threads(int(c.threads));
    if (!load_text_data(o.data_path, data, err)) return false;
    c.model.vocab_size = uint32_t(data->vocab.size());
    init_state(c, *data, s);
  }
  return check_windows(*data, s->config.model.block_size, err);
}

}  // namespace

int run_training(const TrainRunOptions& o, TrainRunResult* r, std::string* err) {
  *r = TrainRunResult{};
  std::error_code ec;
  if (o.out_dir.empty()) {
    *err = "--out: an output folder is required";
    return 1;
  }
  std::filesystem::create_directories(o.out_dir, ec);
  if (ec || !std::filesystem::is_directory(o.out_dir)) {
    *err = o.out_dir + ": cannot create the output folder" + (ec ? ": " + ec.message() : "");
    return 1;
  }
  TrainState s;
  TextData data;
  if (!prepare(o, &s, &data, err)) return 1;
  TrainConfig& c = s.config;
  const Config& m = c.model;
  {
    const std::string json = config_json(c);
    if (!host::write_file_atomic(o.out_dir + "/config.json", json.data(), json.size(), err))
      return 1;
  }

  const bool live = o.live >= 0 ? o.live == 1 : (o.out && ::isatty(::fileno(o.out)));
  Progress progress(o.out, live, c.log_interval);
  RunLog log;
  if (!log.open(o.out_dir, s, err)) return 1;
  std::unique_ptr<Backend> gpu;
  if (o.cuda && !(gpu = open_cuda_backend(backend_options(c, o.cuda_bf16), err))) return 1;
  Trainer trainer = gpu ? Trainer(s, std::move(gpu)) : Trainer(s);
  r->parameters = m.parameter_count();

  progress.line(fmt("%s: %s %u layers x %u, mixers %s, %s%s parameters %s, vocab %u", 
                    o.resume ? "resuming" : "training", c.base.c_str(), m.n_layer, m.n_embd,
                    mixer_list_string(m).c_str(), m.pos_emb ? "position embedding, " : "",
                    with_commas(m.parameter_count()).c_str(), m.bias ? "(bias)" : "(no bias)",
                    m.vocab_size));
  progress.line(fmt("data %s: %s train / %s val characters; batch %u x %u, %u steps, lr %.2g, "
                    "dropout %.2g, seed %llu, %d threads",
                    o.data_path.c_str(), with_commas(data.train.size()).c_str(),
                    with_commas(data.val.size()).c_str(), c.batch_size, m.block_size,
                    c.max_iters, c.learning_rate, double(c.dropout),
                    static_cast<unsigned long long>(c.seed), threads()));
  progress.line("device: " + trainer.device_description());
  if (o.resume)
    progress.line(fmt("resumed at step %llu of %u", static_cast<unsigned long long>(s.step),
                      c.max_iters));

  const std::string last = o.out_dir + "/" + kLastCheckpoint;
  const std::string best = o.out_dir + "/" + kBestCheckpoint;
  const double t_start = now_s();
  const double elapsed0 = s.elapsed_s;
  auto elapsed = [&] { return elapsed0 + (now_s() - t_start); };
  auto write_plot = [&] {
    const std::string svg = loss_curve_svg(
        s.iters, s.evals,
        fmt("%s, %s, %u x %u", c.base.c_str(), mixer_list_string(m).c_str(), m.n_layer, m.n_embd));
    std::string e2;
    host::write_file_atomic(o.out_dir + "/loss.svg", svg.data(), svg.size(), &e2);
  };
  auto save = [&](const std::string& path) {
    trainer.sync_to_state();
    s.elapsed_s = elapsed();
    return save_checkpoint(path, s, err);
  };
  auto stop_requested = [&] { return o.stop_flag && o.stop_flag->load(); };
  auto eval_due = [&](uint64_t k) { return k % c.eval_interval == 0 || k == c.max_iters; };

  const uint64_t tokens_per_step = uint64_t(c.batch_size) * m.block_size;
  double step_time_ema = 0, train_time = 0;
  uint64_t steps_here = 0;
  bool stopped = false;
  for (;;) {
    const uint64_t k = s.step;
    if (eval_due(k) && (s.evals.empty() || s.evals.back().step != k)) {
      double tl, vl;
      if (!trainer.evaluate(data, &tl, &vl, o.stop_flag)) {
        stopped = true;
        break;
      }
      s.evals.push_back({k, tl, vl, elapsed()});
      log.evaluation(s.evals.back());
      r->train_loss = tl, r->val_loss = vl;
      std::string note;
      if (vl < s.best_val) {
        s.best_val = vl;
        s.best_step = k;
        if (!save(best)) return 1;
        note = " (best; saved " + std::string(kBestCheckpoint) + ")";
      }
      progress.line(fmt("step %llu: train loss %.4f, val loss %.4f%s",
                        static_cast<unsigned long long>(k), tl, vl, note.c_str()));
      if (!save(last)) return 1;
      write_plot();
    }
    if (k >= c.max_iters) break;
    if (stop_requested()) {
      stopped = true;
      break;
    }
    const double t0 = now_s();
    double norm = 0, lr = 0;
    const double loss = trainer.step(data, &norm, &lr);
    const double dt = now_s() - t0;
    train_time += dt;
    ++steps_here;
    step_time_ema = steps_here == 1 ? dt : 0.9 * step_time_ema + 0.1 * dt;
    if (!std::isfinite(loss)) {
      *err = fmt("the loss became %f at step %llu (diverged); lower --lr or check the data", loss,
                 static_cast<unsigned long long>(k));
      return 1;
    }
    s.iters.push_back({k, float(loss), float(lr), float(norm), float(tokens_per_step / dt),
                       elapsed()});
    log.iteration(s.iters.back());
    const uint64_t remaining = c.max_iters - s.step;
    progress.iteration(s.step, c.max_iters, loss, lr, tokens_per_step / step_time_ema,
                       remaining * step_time_ema);
    if (stop_requested() || (o.stop_at && s.step >= o.stop_at)) {
      stopped = true;
      break;
    }
    if (c.ckpt_interval && s.step % c.ckpt_interval == 0 && !eval_due(s.step))
      if (!save(last)) return 1;
  }
  if (stopped) {
    if (!save(last)) return 1;
    write_plot();
    progress.line(fmt("stopped at step %llu: saved %s (continue with --resume)",
                      static_cast<unsigned long long>(s.step), last.c_str()));
  } else {
    progress.line(fmt("done: %llu steps, val loss %.4f (best %.4f at step %llu), %s",
                      static_cast<unsigned long long>(s.step), r->val_loss, s.best_val,
                      static_cast<unsigned long long>(s.best_step),
                      format_duration(elapsed()).c_str()));
  }
  r->step = s.step;
  r->stopped = stopped;
  r->best_val = s.best_val;
  r->elapsed_s = now_s() - t_start;
  r->tokens_per_s = train_time > 0 ? double(steps_here * tokens_per_step) / train_time : 0;
  if (std::isnan(r->val_loss) && !s.evals.empty()) {
    r->train_loss = s.evals.back().train_loss;
    r->val_loss = s.evals.back().val_loss;
  }
  return stopped ? 130 : 0;
}

}  // namespace causalgen::train
