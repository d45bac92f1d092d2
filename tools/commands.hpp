// The `causalgen` subcommands. Each add_* registers its flags on the app and
// returns a callback-bearing subcommand; the callback runs the command and
// sets the process exit code through `exit_code`.
#pragma once
#include <CLI/CLI.hpp>

namespace causalgen::cli {

void add_generate(CLI::App& app, int& exit_code);
void add_info(CLI::App& app, int& exit_code);
void add_bench(CLI::App& app, int& exit_code);
void add_convert(CLI::App& app, int& exit_code);
void add_train(CLI::App& app, int& exit_code);
void add_eval(CLI::App& app, int& exit_code);
void add_export(CLI::App& app, int& exit_code);
// `bench train`, a second subcommand of `bench` (cmd_bench_train.cpp).
void add_bench_train(CLI::App* bench, int& exit_code);

// Prints "causalgen: error: <message>" to stderr and returns 1.
int error(const std::string& message);

}  // namespace causalgen::cli
