// causalgen eval: a checkpoint's or a model file's loss on a text split.
#include <cstdio>
#include <string>

#include "cli_checks.hpp"
#include "commands.hpp"
#include "host/memory_limit.hpp"
#include "stdout_check.hpp"
#include "host/model_io.hpp"
#include "train/io/checkpoint.hpp"
#include "train/loop/eval.hpp"
#include "train/loop/memory_budget.hpp"
#include "train/io/export.hpp"
#include "train/model/gemm.hpp"
#include "train/data/text_data.hpp"
#include "train/loop/train_config.hpp"

namespace causalgen::cli {

namespace {

struct EvalFlags {
  std::string checkpoint, model, data, split = "val", engine = "auto";
  uint32_t batch_size = 0, eval_iters = 0, threads = 0;
  uint64_t seed = 1337;
  bool no_full = false, no_estimate = false;
};

// What is evaluated: a checkpoint's or a model file's weights (the trainer's
// forward), or a model file through the core (int8, or --engine core).
struct EvalSubject {
  Config cfg;
  std::vector<float> params;    // the trainer's flat parameters (not for the core)
  std::vector<uint32_t> vocab;
  host::LoadedModel lm;         // the core's model (a model file)
  bool core = false;
  uint32_t batch = 0, iters = 0;
  uint64_t seed = 0;
  std::string what;             // for the header line
};

bool load_subject(const EvalFlags& f, bool seed_given, EvalSubject* e, std::string* err) {
  e->batch = f.batch_size, e->iters = f.eval_iters, e->seed = f.seed;
  e->core = f.engine == "core";
  if (!f.checkpoint.empty()) {
    if (e->core) return *err = "--engine core evaluates a --model file (export the checkpoint first)", false;
    train::TrainState s;
    if (!train::load_checkpoint(f.checkpoint, &s, err)) return false;
    e->cfg = s.config.model;
    e->params.assign(s.params.begin(), s.params.end());
    e->vocab = s.vocab;
    if (!e->batch) e->batch = s.config.batch_size;
    if (!e->iters) e->iters = s.config.eval_iters;
    if (!seed_given) e->seed = s.config.seed;
    e->what = f.checkpoint + " (step " + std::to_string(s.step) + ")";
  } else {
    if (!host::load_model(f.model, &e->lm, err)) return false;
    e->cfg = e->lm.model.config;
    e->what = f.model;
    if (e->lm.model.quantized()) {
      if (f.engine == "trainer") return *err = f.model + ": an int8 model; use --engine core", false;
      e->core = true;
      e->what += " (int8)";
    }
    if (e->core) {
      e->vocab.resize(e->cfg.vocab_size);
      for (uint32_t i = 0; i < e->cfg.vocab_size; ++i) e->vocab[i] = e->lm.model.vocab.codepoint(i);
    } else if (!train::params_from_model(e->lm.model, &e->params, &e->vocab, err)) {
      return *err = f.model + ": " + *err, false;
    }
  }
  if (!e->batch) e->batch = 12;
  if (!e->iters) e->iters = 200;
  return true;
}

// The split holds a window, and what the evaluation allocates fits in memory.
bool check_eval_limits(const EvalFlags& f, const EvalSubject& e, const std::vector<uint32_t>& split,
                       std::string* err) {
  const uint32_t T = e.cfg.block_size;
  if (split.size() < uint64_t(T) + 1)
    return *err = f.data + ": the " + f.split + " split has " + std::to_string(split.size()) +
                  " characters, fewer than one window of " + std::to_string(T) + " plus one",
           false;
  if (!e.core && !train::check_evaluation_memory(e.cfg, e.batch, train::threads(), err)) return false;
  // The core's estimate lists its windows first (16 bytes each).
  if (e.core && !f.no_estimate &&
      !host::check_budget(uint64_t(e.iters) * e.batch * 16,
                          "evaluating " + std::to_string(e.iters) + " batches of " +
                              std::to_string(e.batch) + " windows with the core",
                          err))
    return *err += "; use a smaller --batch-size or --eval-iters", false;
  return true;
}

void print_eval_header(const EvalFlags& f, const EvalSubject& e, size_t split_chars) {
  std::printf("model     %s: %u layers x %u, mixers %s, vocab %u\n", e.what.c_str(), e.cfg.n_layer,
              e.cfg.n_embd, train::mixer_list_string(e.cfg).c_str(), e.cfg.vocab_size);
  std::printf("data      %s, %s split: %zu characters\n", f.data.c_str(), f.split.c_str(), split_chars);
  std::printf("engine    %s, %d thread(s)\n",
              e.core ? "core forward_sequence (the deployed computation)" : "trainer forward",
              train::threads());
}

int run_eval(const EvalFlags& f, bool seed_given) {
  std::string err;
  EvalSubject e;
  if (!load_subject(f, seed_given, &e, &err)) return error(err);
  train::set_threads(f.threads ? int(f.threads) : train::default_threads());
  train::TextData data;
  if (!train::load_text_data(f.data, e.vocab, &data, &err)) return error(err);
  const auto& split = data.split(f.split == "val");
  if (!check_eval_limits(f, e, split, &err)) return error(err);
  print_eval_header(f, e, split.size());
  const int B = int(e.batch), T = int(e.cfg.block_size);
  std::unique_ptr<train::DataParallelGpt> g;
  if (!e.core) g = std::make_unique<train::DataParallelGpt>(e.cfg, B, T, train::threads());
  if (!f.no_estimate) {
    train::Rng rng;
    rng.seed(e.seed, 0xe7a1000000000000ULL);
    const double est = e.core ? train::core_estimate_loss(e.lm.model, split, B, T, e.iters, rng, &err)
                              : train::estimate_loss(*g, e.params.data(), split, B, T, e.iters, rng);
    if (!err.empty()) return error(err);
    std::printf("estimate  %.6f  (nanoGPT: %u batches of %u random windows of %d, seed %llu)\n", est,
                e.iters, e.batch, T, static_cast<unsigned long long>(e.seed));
    if (!stdout_ok(&err)) return error(err);
  }
  if (!f.no_full) {
    const train::FullPass fp = e.core ? train::core_full_pass_loss(e.lm.model, split, T, &err)
                                      : train::full_pass_loss(*g, e.params.data(), split, B, T);
    if (!err.empty()) return error(err);
    std::printf("full      %.6f  (every %s character: %llu predictions, consecutive windows of %d)\n",
                fp.loss, f.split.c_str(), static_cast<unsigned long long>(fp.tokens), T);
  }
  return 0;
}

}  // namespace

void add_eval(CLI::App& app, int& exit_code) {
  auto f = std::make_shared<EvalFlags>();
  CLI::App* sub = app.add_subcommand("eval", trainer_description("", "eval"));
  auto* ck = sub->add_option("--checkpoint", f->checkpoint, "Training checkpoint (.cgc)");
  auto* md = sub->add_option("--model", f->model, "Model file (.cgm)");
  ck->excludes(md);
  md->excludes(ck);
  sub->add_option("--data", f->data, "Text file, split 90/10 as in training")->required();
  sub->add_option("--split", f->split, "val (default) or train")
      ->check(CLI::IsMember({"val", "train"}));
  sub->add_option("--engine", f->engine,
                  "trainer (batched, fast), core (the deployed forward pass) or auto "
                  "(trainer; core for int8 models)")
      ->check(CLI::IsMember({"auto", "trainer", "core"}));
  sub->add_option("--batch-size", f->batch_size, "Windows per batch (default: the run's, or 12)")
      ->check(count_range(1, 65536));
  sub->add_option("--eval-iters", f->eval_iters,
                  "Random batches of the estimate (default: the run's, or 200)")
      ->check(count_range(1, 1000000));
  auto* seed = add_seed_option(sub, f->seed, "Seed of the estimate's windows (default: the run's, or 1337)");
  sub->add_option("--threads", f->threads, "Threads (default: all cores)")->check(count_range(1, 1024));
  sub->add_flag("--no-full", f->no_full, "Skip the pass over the whole split");
  sub->add_flag("--no-estimate", f->no_estimate, "Skip the random-window estimate");
  sub->callback([f, seed, &exit_code] {
    if (f->checkpoint.empty() && f->model.empty()) {
      exit_code = error("eval: give --checkpoint FILE or --model FILE");
      return;
    }
    exit_code = run_eval(*f, seed->count() > 0);
  });
}

}  // namespace causalgen::cli
