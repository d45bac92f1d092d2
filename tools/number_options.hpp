// Number options whose text CLI11 alone would misread: --seed, for every
// command that takes one (decimal digits only, 0..2^64-1: CLI11 reads "-1"
// as 2^64-1 and saturates 2^64 to 2^64-1), and real ranges that must refuse
// NaN (CLI::Range's comparisons are false for NaN, so it passes).
#pragma once
#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <string>

namespace causalgen::cli {

// "" when text is an unsigned 64-bit decimal integer; else what it must be.
inline std::string check_seed_text(const std::string& text) {
  bool digits = !text.empty() && text.size() <= 20;
  for (char c : text) digits = digits && c >= '0' && c <= '9';
  if (digits) {
    errno = 0;
    (void)std::strtoull(text.c_str(), nullptr, 10);
    if (errno == 0) return "";
  }
  return "must be an integer in 0.." + std::to_string(UINT64_MAX) + ", not " + text;
}

inline CLI::Option* add_seed_option(CLI::App* sub, uint64_t& seed, const std::string& help) {
  return sub->add_option("--seed", seed, help)
      ->type_name("UINT64")
      ->check(CLI::Validator([](std::string& text) { return check_seed_text(text); }, ""));
}

// A finite number in [lo, hi]; refuses NaN, unlike CLI::Range.
inline CLI::Validator finite_range(double lo, double hi) {
  return CLI::Validator(
      [lo, hi](std::string& text) {
        char* end = nullptr;
        const double x = std::strtod(text.c_str(), &end);
        if (!text.empty() && end == text.c_str() + text.size() && x >= lo && x <= hi) return std::string();
        return "must be a number in " + CLI::detail::to_string(lo) + ".." + CLI::detail::to_string(hi) +
               ", not " + text;
      },
      "");
}

}  // namespace causalgen::cli
