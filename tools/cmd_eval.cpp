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

int run_eval(const EvalFlags& f, bool seed_given) {
  std::string err;
  Config cfg;
  std::vector<float> params;
  std::vector<uint32_t> vocab;
  uint32_t batch = f.batch_size, iters = f.eval_iters;
  uint64_t seed = f.seed;
  std::string what;
  host::LoadedModel lm;
  bool core = f.engine == "core";
  if (!f.checkpoint.empty()) {
    if (core) return error("--engine core evaluates a --model file (export the checkpoint first)");
    train::TrainState s;
    if (!train::load_checkpoint(f.checkpoint, &s, &err)) return error(err);
    cfg = s.config.model;
    params.assign(s.params.begin(), s.params.end());
    vocab = s.vocab;
    if (!batch) batch = s.config.batch_size;
    if (!iters) iters = s.config.eval_iters;
    if (!seed_given) seed = s.config.seed;
    what = f.checkpoint + " (step " + std::to_string(s.step) + ")";
  } else {
    if (!host::load_model(f.model, &lm, &err)) return error(err);
    cfg = lm.model.config;
    what = f.model;
    if (lm.model.quantized()) {
      if (f.engine == "trainer") return error(f.model + ": an int8 model; use --engine core");
      core = true;
      what += " (int8)";
    }
    if (core) {
      vocab.resize(cfg.vocab_size);
      for (uint32_t i = 0; i < cfg.vocab_size; ++i) vocab[i] = lm.model.vocab.codepoint(i);
    } else if (!train::params_from_model(lm.model, &params, &vocab, &err)) {
      return error(f.model + ": " + err);
    }
  }
  if (!batch) batch = 12;
  if (!iters) iters = 200;
  train::set_threads(f.threads ? int(f.threads) : train::default_threads());
  train::TextData data;
  if (!train::load_text_data(f.data, vocab, &data, &err)) return error(err);
  const uint32_t T = cfg.block_size;
  const auto& split = data.split(f.split == "val");
  if (split.size() < uint64_t(T) + 1)
    return error(f.data + ": the " + f.split + " split has " + std::to_string(split.size()) +
                 " characters, fewer than one window of " + std::to_string(T) + " plus one");
  if (!core && !train::check_evaluation_memory(cfg, batch, train::threads(), &err)) return error(err);
  // The core's estimate lists its windows first (16 bytes each).
  if (core && !f.no_estimate &&
      !host::check_budget(uint64_t(iters) * batch * 16,
                          "evaluating " + std::to_string(iters) + " batches of " +
                              std::to_string(batch) + " windows with the core",
                          &err))
    return error(err + "; use a smaller --batch-size or --eval-iters");
  std::printf("model     %s: %u layers x %u, mixers %s, vocab %u\n", what.c_str(), cfg.n_layer,
              cfg.n_embd, train::mixer_list_string(cfg).c_str(), cfg.vocab_size);
  std::printf("data      %s, %s split: %zu characters\n", f.data.c_str(), f.split.c_str(),
              split.size());
  std::printf("engine    %s, %d thread(s)\n",
              core ? "core forward_sequence (the deployed computation)" : "trainer forward",
              train::threads());
  std::unique_ptr<train::DataParallelGpt> g;
  if (!core) g = std::make_unique<train::DataParallelGpt>(cfg, int(batch), int(T), train::threads());
  if (!f.no_estimate) {
    train::Rng rng;
    rng.seed(seed, 0xe7a1000000000000ULL);
    const double est =
        core ? train::core_estimate_loss(lm.model, split, int(batch), int(T), iters, rng, &err)
             : train::estimate_loss(*g, params.data(), split, int(batch), int(T), iters, rng);
    if (!err.empty()) return error(err);
    std::printf("estimate  %.6f  (nanoGPT: %u batches of %u random windows of %u, seed %llu)\n",
                est, iters, batch, T, static_cast<unsigned long long>(seed));
    if (!stdout_ok(&err)) return error(err);
  }
  if (!f.no_full) {
    const train::FullPass fp =
        core ? train::core_full_pass_loss(lm.model, split, int(T), &err)
             : train::full_pass_loss(*g, params.data(), split, int(batch), int(T));
    if (!err.empty()) return error(err);
    std::printf("full      %.6f  (every %s character: %llu predictions, consecutive windows of %u)\n",
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
