#include <cstdio>

#include "commands.hpp"

namespace causalgen::cli {

int error(const std::string& message) {
  std::fflush(stdout);
  std::fprintf(stderr, "causalgen: error: %s\n", message.c_str());
  return 1;
}

int usage_exit(const CLI::App& app, const CLI::ParseError& e) {
  return app.exit(e) == 0 ? 0 : 2;
}

}  // namespace causalgen::cli
