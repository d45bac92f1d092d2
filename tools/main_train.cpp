// causalgen-train: the trainer's commands of the causalgen command line
// (kTrainerCommands: train, eval, export, bench train). `causalgen` runs it
// for those commands; it can also be run directly.
#include <cstdio>
#include <cstdlib>

#include "commands.hpp"
#include "stdout_check.hpp"

int main(int argc, char** argv) {
  std::atexit(causalgen::cli::check_stdout_at_exit);
  CLI::App app{causalgen::cli::kAppDescription};
  app.require_subcommand(1);
  int exit_code = 0;
  CLI::App* bench = app.add_subcommand("bench", causalgen::cli::kBenchDescription);
  bench->require_subcommand(1);
  causalgen::cli::add_bench_train(bench, exit_code);
  causalgen::cli::add_train(app, exit_code);
  causalgen::cli::add_eval(app, exit_code);
  causalgen::cli::add_export(app, exit_code);
  return causalgen::cli::run_main(app, argc, argv, exit_code);
}
