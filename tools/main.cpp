// causalgen: the command line for generating, inspecting, training,
// evaluating, exporting and benchmarking models.
#include <cstdio>

#include "commands.hpp"

int main(int argc, char** argv) {
  CLI::App app{"causalgen: attention-free, fixed-state character language models"};
  app.require_subcommand(1);
  int exit_code = 0;
  causalgen::cli::add_generate(app, exit_code);
  causalgen::cli::add_info(app, exit_code);
  causalgen::cli::add_bench(app, exit_code);
  causalgen::cli::add_convert(app, exit_code);
  causalgen::cli::add_train(app, exit_code);
  causalgen::cli::add_eval(app, exit_code);
  causalgen::cli::add_export(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return exit_code;
}

namespace causalgen::cli {
int error(const std::string& message) {
  std::fflush(stdout);
  std::fprintf(stderr, "causalgen: error: %s\n", message.c_str());
  return 1;
}
}  // namespace causalgen::cli
