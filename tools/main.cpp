// causalgen: the command line for generating, inspecting, training,
// evaluating, exporting and benchmarking models. This executable links the
// core only; the trainer's commands (kTrainerCommands) run in
// causalgen-train, which it executes in its place with the same arguments,
// so that generating a character loads no BLAS, OpenMP or CUDA; import-nanogpt
// runs the Python script causalgen-import-nanogpt (PyTorch) the same way.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "commands.hpp"
#include "stdout_check.hpp"
#include "host/executable_dir.hpp"

namespace {

using causalgen::cli::kTrainerCommands;

// True if argv names a command of causalgen-train ("train ...", "bench train ...").
bool is_trainer_command(int argc, char** argv) {
  for (const auto& c : kTrainerCommands) {
    const bool nested = *c.parent != '\0';
    const int at = nested ? 2 : 1;
    if (argc <= at || std::string_view(argv[at]) != c.name) continue;
    if (!nested || std::string_view(argv[1]) == c.parent) return true;
  }
  return false;
}

// Replaces this process by causalgen-train with the same arguments (argv[0]
// too, so usage lines and messages read as before); returns only on failure.
int run_trainer(char** argv) {
  const std::string path =
      causalgen::host::executable_dir() + "/" + causalgen::cli::kTrainerExecutable;
  ::execv(path.c_str(), argv);
  return causalgen::cli::error(std::string(argv[1]) + " runs in " + path + ", which cannot run: " +
                               std::strerror(errno) + " (build the causalgen-train target)");
}

// Replaces this process by the nanoGPT importer (a Python script beside this
// executable) with the arguments after the command: run by $CAUSALGEN_PYTHON
// when set, else by the script's own #!. Returns only on failure.
int run_importer(int argc, char** argv) {
  const std::string script =
      causalgen::host::executable_dir() + "/" + causalgen::cli::kImportNanogptExecutable;
  const char* python = std::getenv("CAUSALGEN_PYTHON");
  std::vector<char*> args;
  if (python && *python) args.push_back(const_cast<char*>(python));
  args.push_back(const_cast<char*>(script.c_str()));
  for (int i = 2; i < argc; ++i) args.push_back(argv[i]);
  args.push_back(nullptr);
  ::execvp(args[0], args.data());
  return causalgen::cli::error(std::string(argv[1]) + " runs " + args[0] + ", which cannot run: " +
                               std::strerror(errno));
}

// The commands run elsewhere, in this executable's help; they never run here.
void add_sibling_listing(CLI::App& app, CLI::App* bench) {
  for (const auto& c : kTrainerCommands)
    (*c.parent ? bench : &app)->add_subcommand(c.name, c.description)->allow_extras();
  app.add_subcommand(causalgen::cli::kImportNanogptCommand,
                     causalgen::cli::kImportNanogptDescription)->allow_extras();
}

}  // namespace

int main(int argc, char** argv) {
  std::atexit(causalgen::cli::check_stdout_at_exit);
  if (is_trainer_command(argc, argv)) return run_trainer(argv);
  if (argc > 1 && std::string_view(argv[1]) == causalgen::cli::kImportNanogptCommand)
    return run_importer(argc, argv);
  CLI::App app{causalgen::cli::kAppDescription};
  app.require_subcommand(1);
  int exit_code = 0;
  causalgen::cli::add_generate(app, exit_code);
  causalgen::cli::add_info(app, exit_code);
  CLI::App* bench = causalgen::cli::add_bench(app, exit_code);
  causalgen::cli::add_convert(app, exit_code);
  add_sibling_listing(app, bench);
  return causalgen::cli::run_main(app, argc, argv, exit_code);
}
