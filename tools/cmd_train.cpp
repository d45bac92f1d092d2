// causalgen train: train a model on a text file with the CPU trainer.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "cli_checks.hpp"
#include "commands.hpp"
#include "train/loop/collectives.hpp"
#include "train/loop/communicator.hpp"
#include "train/loop/hyperparams.hpp"
#include "train/loop/train_loop.hpp"

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

// One option per row of the hyperparameter table (lib/train/loop/hyperparams.hpp):
// its flag, its help with the default and the allowed values, and a check
// that reads the text as the row's type and range. Returns the function that
// collects the settings given.
std::function<train::TrainOverrides()> add_hyperparam_flags(CLI::App* sub) {
  const auto rows = train::hyperparams();
  auto texts = std::make_shared<std::vector<std::string>>(rows.size());
  std::vector<std::pair<size_t, CLI::Option*>> options;
  for (size_t i = 0; i < rows.size(); ++i) {
    const train::Hyperparam& p = rows[i];
    if (!p.flag) continue;
    auto check = [&p](std::string& text) {
      train::HyperValue v;
      std::string err;
      return train::parse_hyperparam(p, text, &v, &err) ? std::string() : err;
    };
    CLI::Option* o = sub->add_option(p.flag, (*texts)[i], train::hyperparam_help(p))
                         ->type_name(train::type_name(p.access.type))
                         ->check(CLI::Validator(check, ""));
    options.emplace_back(i, o);
  }
  return [rows, texts, options] {
    train::TrainOverrides given;
    for (auto [i, o] : options) {
      train::HyperValue v;
      std::string err;
      if (o->count() && train::parse_hyperparam(rows[i], (*texts)[i], &v, &err))
        given.set(rows[i].key, v);
    }
    return given;
  };
}

struct TrainFlags {
  std::string data, out, config = "tiny", device = "cpu", precision = "bf16";
  uint64_t stop_at = 0;
  bool resume = false, no_live = false, quiet = false;
};

// The settings --config names: a named base (tiny, small) or a JSON file.
bool config_overrides(const TrainFlags& f, bool given, train::TrainOverrides* ov, std::string* err) {
  if (!given) return true;
  const auto bases = train::base_names();
  if (std::find(bases.begin(), bases.end(), f.config) != bases.end()) {
    ov->set("base", f.config);
    return true;
  }
  if (!std::filesystem::exists(f.config)) {
    *err = "--config '" + f.config + "': neither a named config (tiny, small) nor an existing JSON file";
    return false;
  }
  return train::load_config_json(f.config, ov, err);
}

// The train command: one rank of the run (the only one without a launcher);
// rank 0 reports for every rank, every rank exits 1 on an error.
int run_train(const TrainFlags& f, bool config_given, const train::TrainOverrides& flags) {
  std::string err;
  bool quiet_error = false;
  const std::unique_ptr<train::Communicator> comm = train::open_communicator(&err, &quiet_error);
  if (!comm) return quiet_error ? 1 : error(err);
  const auto fail = [&] { return comm->rank() == 0 ? error(err) : 1; };
  train::TrainOverrides ov;
  if (!train::all_ok(*comm, config_overrides(f, config_given, &ov, &err), &err)) return fail();
  ov.merge(flags);

  train::TrainRunOptions ro;
  ro.data_path = f.data;
  ro.out_dir = f.out;
  ro.overrides = ov;
  ro.resume = f.resume;
  ro.stop_at = f.stop_at;
  ro.stop_flag = &g_stop;
  ro.out = f.quiet ? nullptr : stdout;
  ro.live = f.no_live ? 0 : -1;
  ro.cuda = f.device == "cuda";
  ro.cuda_bf16 = f.precision == "bf16";
  ro.comm = comm.get();
  install_interrupt_handler();
  train::TrainRunResult r;
  if (train::run_training(ro, &r, &err) == 1) return fail();
  return g_stop.load() ? 130 : 0;
}

}  // namespace

void add_train(CLI::App& app, int& exit_code) {
  auto f = std::make_shared<TrainFlags>();
  CLI::App* sub = app.add_subcommand("train", trainer_description("", "train"));
  sub->add_option("--data", f->data, "Training text (UTF-8); first 90% trains, last 10% validates")
      ->required();
  sub->add_option("--out", f->out, "Output folder for checkpoints and logs")->required();
  auto* config = sub->add_option("--config", f->config,
                                 "Named config (tiny, small) or a JSON file of settings");
  // Every hyperparameter can be overridden; only the flags given apply.
  const auto hyperparam_flags = add_hyperparam_flags(sub);
  sub->add_flag_callback(
         "--help-markdown",
         [] {
           std::fputs(train::hyperparams_markdown().c_str(), stdout);
           throw CLI::Success();
         },
         "Print the hyperparameter table in Markdown (docs/trainer.md) and exit")
      ->group("")
      ->trigger_on_parse();
  sub->add_option("--device", f->device, "cpu, or cuda (the GPU trainer; same checkpoints)")
      ->check(CLI::IsMember({"cpu", "cuda"}));
  sub->add_option("--precision", f->precision, "CUDA products: bf16 (default) or f32")
      ->check(CLI::IsMember({"bf16", "f32"}));
  sub->add_flag("--resume", f->resume, "Continue the run in --out from ckpt_last.cgc");
  sub->add_option("--stop-at", f->stop_at, "Stop after this step, saving ckpt_last, as if interrupted")
      ->check(count_range(1, UINT32_MAX));
  sub->add_flag("--no-live", f->no_live, "Plain log lines even on a terminal");
  sub->add_flag("--quiet", f->quiet, "No progress output");

  sub->callback([=, &exit_code] { exit_code = run_train(*f, config->count() > 0, hyperparam_flags()); });
}

}  // namespace causalgen::cli
