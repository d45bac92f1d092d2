// Checks of numeric options, applied as the command line is parsed: the text
// must be a number of the option's kind within its range, and the message
// names the value and the range. CLI11's own Range lets NaN through (every
// comparison with NaN is false) and reads "-1" into an unsigned as 2^64-1
// in lists; these do not.
#pragma once
#include <CLI/CLI.hpp>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>

namespace causalgen::cli {

// A whole number from lo to hi, written in decimal digits only (no sign).
inline CLI::Validator count_range(uint64_t lo, uint64_t hi) {
  const std::string range = std::to_string(lo) + " to " + std::to_string(hi);
  return CLI::Validator(
      [lo, hi, range](std::string& text) -> std::string {
        const bool digits = !text.empty() && text.size() <= 20 &&
                            text.find_first_not_of("0123456789") == std::string::npos;
        errno = 0;
        const unsigned long long v = digits ? std::strtoull(text.c_str(), nullptr, 10) : 0;
        if (!digits || errno == ERANGE || v < lo || v > hi)
          return "'" + text + "' is not a whole number from " + range;
        return "";
      },
      "INT in " + range);
}

// A finite number from lo to hi (NaN and infinities are refused).
inline CLI::Validator real_range(double lo, double hi) {
  char b[96];
  std::snprintf(b, sizeof b, "%g to %g", lo, hi);
  const std::string range = b;
  return CLI::Validator(
      [lo, hi, range](std::string& text) -> std::string {
        char* end = nullptr;
        const double v = std::strtod(text.c_str(), &end);
        if (text.empty() || *end != '\0' || !std::isfinite(v) || v < lo || v > hi)
          return "'" + text + "' is not a number from " + range;
        return "";
      },
      "NUMBER in " + range);
}

// --seed, for every command that takes one: 0 to 2^64-1 in decimal digits
// (CLI11 alone reads "-1" as 2^64-1 and saturates 2^64 to 2^64-1).
inline CLI::Option* add_seed_option(CLI::App* sub, uint64_t& seed, const std::string& help) {
  return sub->add_option("--seed", seed, help)->check(count_range(0, UINT64_MAX));
}

}  // namespace causalgen::cli
