#include "stdout_check.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace causalgen::cli {

namespace {
// errno of the first failure seen (a stream's error flag does not keep it).
int g_first_errno = 0;
}  // namespace

bool stdout_ok(std::string* why) {
  errno = 0;
  const bool flushed = std::fflush(stdout) == 0;
  if (flushed && !std::ferror(stdout)) return true;
  // The stream keeps only that a write failed; errno says why when this
  // flush was the failing write.
  if (!g_first_errno) g_first_errno = errno ? errno : -1;
  *why = std::string("standard output: ") +
         (g_first_errno > 0 ? std::strerror(g_first_errno) : "a write failed");
  return false;
}

void check_stdout_at_exit() {
  const bool reported = g_first_errno != 0;  // stdout_ok() told a command, which said so
  std::string why;
  bool ok = stdout_ok(&why);
  errno = 0;
  if (std::fclose(stdout) != 0 && ok) {
    ok = false;
    why = std::string("standard output: ") + (errno ? std::strerror(errno) : "a write failed");
  }
  if (ok) return;
  if (!reported) std::fprintf(stderr, "causalgen: error: %s\n", why.c_str());
  std::fflush(stderr);
  ::_exit(1);
}

}  // namespace causalgen::cli
