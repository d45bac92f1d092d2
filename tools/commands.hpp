// The `causalgen` subcommands. Each add_* registers its flags on the app and
// returns a callback-bearing subcommand; the callback runs the command and
// sets the process exit code through `exit_code`.
//
// Two executables share them: `causalgen` runs generate, info, convert and
// bench generate (the core only); `causalgen-train` runs the trainer's
// commands (kTrainerCommands: BLAS, OpenMP, xtensor, and the CUDA backend
// when asked for), and `causalgen` hands those over to it (main.cpp).
#pragma once
#include <CLI/CLI.hpp>
#include <string_view>

namespace causalgen::cli {

constexpr const char* kAppDescription =
    "causalgen: attention-free, fixed-state character language models";
constexpr const char* kBenchDescription = "Benchmarks (figures for docs/benchmarks.md)";

// The commands causalgen-train runs: parent ("" for a top-level command),
// name and the description both executables' help shows.
struct TrainerCommand {
  const char *parent, *name, *description;
};
constexpr TrainerCommand kTrainerCommands[] = {
    {"", "train",
     "Train a model on a text file (CPU, or CUDA with --device cuda). Writes DIR/ckpt_last.cgc, "
     "DIR/ckpt_best.cgc, DIR/log.csv, DIR/eval.csv, DIR/loss.svg, DIR/config.json"},
    {"", "eval", "Mean cross-entropy of a checkpoint or model file on a split of a text"},
    {"", "export", "Write a checkpoint's model as a model file (.cgm)"},
    {"bench", "train", "Trainer tokens/s and GFLOP/s: CPU (beside BLAS sgemm GFLOP/s) or CUDA"},
};
constexpr const char* trainer_description(const char* parent, const char* name) {
  for (const TrainerCommand& c : kTrainerCommands)
    if (std::string_view(c.parent) == parent && std::string_view(c.name) == name)
      return c.description;
  return "";
}
// The executable that runs them, beside `causalgen`.
constexpr const char* kTrainerExecutable = "causalgen-train";

// `causalgen import-nanogpt` runs a Python script beside `causalgen`
// (tools/import_nanogpt.py: PyTorch reads nanoGPT's checkpoint), with the
// interpreter in $CAUSALGEN_PYTHON if set, else the script's #!.
constexpr const char* kImportNanogptCommand = "import-nanogpt";
constexpr const char* kImportNanogptExecutable = "causalgen-import-nanogpt";
constexpr const char* kImportNanogptDescription =
    "Turn a nanoGPT character-level checkpoint (ckpt.pt + meta.pkl) into a model file (needs "
    "PyTorch; docs/nanogpt.md)";

void add_generate(CLI::App& app, int& exit_code);
void add_info(CLI::App& app, int& exit_code);
// `bench` with `bench generate`; returns `bench`.
CLI::App* add_bench(CLI::App& app, int& exit_code);
void add_convert(CLI::App& app, int& exit_code);
void add_train(CLI::App& app, int& exit_code);
void add_eval(CLI::App& app, int& exit_code);
void add_export(CLI::App& app, int& exit_code);
// `bench train`, a second subcommand of `bench` (cmd_bench_train.cpp).
void add_bench_train(CLI::App* bench, int& exit_code);

// Prints "causalgen: error: <message>" to stderr and returns 1.
int error(const std::string& message);
// Prints a parse failure as "causalgen: error: <CLI11's message> (see
// 'causalgen CMD --help')", or the help asked for, and returns the exit
// status: 0 for --help, 2 for every usage error.
int usage_exit(const CLI::App& app, const CLI::ParseError& e);
// True (after one message naming the word and listing the commands) if a
// word of argv where a command is expected names none ("causalgen frob").
bool unknown_command(const CLI::App& app, int argc, char** argv);
// Parses and runs the command: exit_code as the command set it, 2 for a
// usage error, 1 for any exception (none escapes main), 0 for --help.
int run_main(CLI::App& app, int argc, char** argv, const int& exit_code);

}  // namespace causalgen::cli
