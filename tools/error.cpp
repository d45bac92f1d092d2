#include <cstdio>

#include "commands.hpp"

namespace causalgen::cli {

int error(const std::string& message) {
  std::fflush(stdout);
  std::fprintf(stderr, "causalgen: error: %s\n", message.c_str());
  return 1;
}

}  // namespace causalgen::cli
