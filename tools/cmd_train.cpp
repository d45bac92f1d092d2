// causalgen train: train a model on a text file with the CPU trainer.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <string>

#include "commands.hpp"
#include "train/train_loop.hpp"

namespace causalgen::cli {

namespace {

std::atomic<bool> g_stop{false};

extern "C" void on_interrupt(int) {
  g_stop.store(true);
  static const char msg[] =
      "\ncausalgen: interrupt: finishing this step and saving a checkpoint "
      "(interrupt again to quit without saving)\n";
  ssize_t ignored = ::write(2, msg, sizeof msg - 1);
  (void)ignored;
}

void install_interrupt_handler() {
  struct sigaction sa {};
  sa.sa_handler = on_interrupt;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESETHAND;  // a second signal gets the default action
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

// Number checks with short messages (CLI11's print the whole double range).
CLI::Validator positive_number() {
  return CLI::Validator(
      [](std::string& v) -> std::string {
        try {
          size_t used = 0;
          const double x = std::stod(v, &used);
          if (used == v.size() && x > 0 && x < 1e300) return {};
        } catch (...) {
        }
        return "must be a positive number, not " + v;
      },
      "POSITIVE");
}
CLI::Validator non_negative_number() {
  return CLI::Validator(
      [](std::string& v) -> std::string {
        try {
          size_t used = 0;
          const double x = std::stod(v, &used);
          if (used == v.size() && x >= 0 && x < 1e300) return {};
        } catch (...) {
        }
        return "must be a number >= 0, not " + v;
      },
      "NONNEGATIVE");
}

struct TrainFlags {
  std::string data, out, config = "tiny", mixer, bias, pos_emb, device = "cpu", precision = "bf16";
  uint32_t n_layer = 0, n_embd = 0, n_head = 0, block_size = 0, batch_size = 0, max_iters = 0,
           warmup_iters = 0, lr_decay_iters = 0, eval_interval = 0, eval_iters = 0,
           ckpt_interval = 0, log_interval = 0, threads = 0;
  double lr = 0, min_lr = 0, weight_decay = 0, beta1 = 0, beta2 = 0, grad_clip = 0, dropout = 0;
  uint64_t seed = 0, stop_at = 0;
  bool resume = false, no_live = false, quiet = false;
};

}  // namespace

void add_train(CLI::App& app, int& exit_code) {
  auto f = std::make_shared<TrainFlags>();
  CLI::App* sub = app.add_subcommand("train", trainer_description("", "train"));
  sub->add_option("--data", f->data, "Training text (UTF-8); first 90% trains, last 10% validates")
      ->required();
  sub->add_option("--out", f->out, "Output folder for checkpoints and logs")->required();
  auto* config = sub->add_option("--config", f->config,
                                 "Named config (tiny, small) or a JSON file of settings");
  auto* mixer = sub->add_option(
      "--mixer", f->mixer,
      "max, min, max-avg, min-avg, attention, or a per-layer list (max-avg,attention,...)");
  // Every hyperparameter can be overridden; only the flags given apply.
  auto* o_layer = sub->add_option("--n-layer", f->n_layer, "Layers")->check(CLI::Range(1u, 64u));
  auto* o_embd = sub->add_option("--n-embd", f->n_embd, "Width C")->check(CLI::Range(1u, 8192u));
  auto* o_head = sub->add_option("--n-head", f->n_head, "Attention heads")->check(CLI::Range(1u, 8192u));
  auto* o_block = sub->add_option("--block-size", f->block_size, "Training window T")->check(CLI::Range(1u, 65536u));
  auto* o_batch = sub->add_option("--batch-size", f->batch_size, "Windows per step")->check(CLI::Range(1u, 1u << 20));
  auto* o_iters = sub->add_option("--max-iters", f->max_iters, "Optimizer steps")->check(CLI::Range(1u, 100000000u));
  auto* o_lr = sub->add_option("--lr", f->lr, "Peak learning rate")->check(positive_number());
  auto* o_minlr = sub->add_option("--min-lr", f->min_lr, "Final learning rate (default lr/10)")->check(non_negative_number());
  auto* o_warm = sub->add_option("--warmup-iters", f->warmup_iters, "Linear warmup steps");
  auto* o_decay = sub->add_option("--lr-decay-iters", f->lr_decay_iters, "Cosine decay length (default max-iters)");
  auto* o_wd = sub->add_option("--weight-decay", f->weight_decay, "AdamW weight decay (matrices only)")->check(non_negative_number());
  auto* o_b1 = sub->add_option("--beta1", f->beta1, "AdamW beta1")->check(CLI::Range(0.0, 0.999999));
  auto* o_b2 = sub->add_option("--beta2", f->beta2, "AdamW beta2")->check(CLI::Range(0.0, 0.999999));
  auto* o_clip = sub->add_option("--grad-clip", f->grad_clip, "Gradient norm clip (0 = off)")->check(non_negative_number());
  auto* o_drop = sub->add_option("--dropout", f->dropout, "Dropout probability")->check(CLI::Range(0.0, 0.99));
  auto* o_evi = sub->add_option("--eval-interval", f->eval_interval, "Steps between evaluations")->check(CLI::Range(1u, 100000000u));
  auto* o_evn = sub->add_option("--eval-iters", f->eval_iters, "Batches per split per evaluation")->check(CLI::Range(1u, 1000000u));
  auto* o_ck = sub->add_option("--ckpt-interval", f->ckpt_interval, "Steps between saves of ckpt_last (0 = at evaluations)");
  auto* o_log = sub->add_option("--log-interval", f->log_interval, "Steps between log lines when not on a terminal")->check(CLI::Range(1u, 100000000u));
  auto* o_seed = sub->add_option("--seed", f->seed, "Seed for initialisation, batches and dropout");
  auto* o_thr = sub->add_option("--threads", f->threads, "Threads (default: all cores; results are reproducible for a seed and thread count)")->check(CLI::Range(1u, 1024u));
  auto* o_bias = sub->add_option("--bias", f->bias, "Biases in Linear and LayerNorm (default on)")->check(CLI::IsMember({"on", "off"}));
  auto* o_pos = sub->add_option("--pos-emb", f->pos_emb, "Learned position embedding (default: on iff a layer is attention)")->check(CLI::IsMember({"on", "off"}));
  sub->add_option("--device", f->device, "cpu, or cuda (the GPU trainer; same checkpoints)")
      ->check(CLI::IsMember({"cpu", "cuda"}));
  sub->add_option("--precision", f->precision, "CUDA products: bf16 (default) or f32")
      ->check(CLI::IsMember({"bf16", "f32"}));
  sub->add_flag("--resume", f->resume, "Continue the run in --out from ckpt_last.cgc");
  sub->add_option("--stop-at", f->stop_at, "Stop after this step, saving ckpt_last, as if interrupted");
  sub->add_flag("--no-live", f->no_live, "Plain log lines even on a terminal");
  sub->add_flag("--quiet", f->quiet, "No progress output");

  sub->callback([=, &exit_code] {
    train::TrainOverrides ov;
    std::string err;
    if (config->count() && f->config != "tiny" && f->config != "small") {
      if (!std::filesystem::exists(f->config)) {
        exit_code = error("--config '" + f->config +
                          "': neither a named config (tiny, small) nor an existing JSON file");
        return;
      }
      if (!train::load_config_json(f->config, &ov, &err)) {
        exit_code = error(err);
        return;
      }
    } else if (config->count()) {
      ov.base = f->config;
    }
    train::TrainOverrides cl;
    if (mixer->count()) {
      std::vector<Mixer> ms;
      if (!train::parse_mixer_list(f->mixer, &ms, &err)) {
        exit_code = error("--mixer: " + err);
        return;
      }
      cl.mixers = ms;
    }
    if (o_layer->count()) cl.n_layer = f->n_layer;
    if (o_embd->count()) cl.n_embd = f->n_embd;
    if (o_head->count()) cl.n_head = f->n_head;
    if (o_block->count()) cl.block_size = f->block_size;
    if (o_batch->count()) cl.batch_size = f->batch_size;
    if (o_iters->count()) cl.max_iters = f->max_iters;
    if (o_lr->count()) cl.learning_rate = f->lr;
    if (o_minlr->count()) cl.min_lr = f->min_lr;
    if (o_warm->count()) cl.warmup_iters = f->warmup_iters;
    if (o_decay->count()) cl.lr_decay_iters = f->lr_decay_iters;
    if (o_wd->count()) cl.weight_decay = f->weight_decay;
    if (o_b1->count()) cl.beta1 = f->beta1;
    if (o_b2->count()) cl.beta2 = f->beta2;
    if (o_clip->count()) cl.grad_clip = f->grad_clip;
    if (o_drop->count()) cl.dropout = f->dropout;
    if (o_evi->count()) cl.eval_interval = f->eval_interval;
    if (o_evn->count()) cl.eval_iters = f->eval_iters;
    if (o_ck->count()) cl.ckpt_interval = f->ckpt_interval;
    if (o_log->count()) cl.log_interval = f->log_interval;
    if (o_seed->count()) cl.seed = f->seed;
    if (o_thr->count()) cl.threads = f->threads;
    if (o_bias->count()) cl.bias = f->bias == "on";
    if (o_pos->count()) cl.pos_emb = f->pos_emb == "on";
    ov.merge(cl);

    train::TrainRunOptions ro;
    ro.data_path = f->data;
    ro.out_dir = f->out;
    ro.overrides = ov;
    ro.resume = f->resume;
    ro.stop_at = f->stop_at;
    ro.stop_flag = &g_stop;
    ro.out = f->quiet ? nullptr : stdout;
    ro.live = f->no_live ? 0 : -1;
    ro.cuda = f->device == "cuda";
    ro.cuda_bf16 = f->precision == "bf16";
    install_interrupt_handler();
    train::TrainRunResult r;
    const int rc = train::run_training(ro, &r, &err);
    if (rc == 1) {
      exit_code = error(err);
      return;
    }
    exit_code = g_stop.load() ? 130 : 0;
  });
}

}  // namespace causalgen::cli
