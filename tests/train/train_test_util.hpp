// Helpers for the trainer tests: random arrays, finite differences, temp dirs.
#pragma once
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace train_test {

inline std::vector<double> randn(size_t n, uint64_t seed, double scale = 1.0) {
  std::mt19937_64 g(seed);
  std::normal_distribution<double> d(0.0, scale);
  std::vector<double> v(n);
  for (auto& x : v) x = d(g);
  return v;
}

// Central difference of f around x[i] (restores x[i]).
inline double numeric_grad(const std::function<double()>& f, double* x, double eps = 1e-5) {
  const double x0 = *x;
  *x = x0 + eps;
  const double fp = f();
  *x = x0 - eps;
  const double fm = f();
  *x = x0;
  return (fp - fm) / (2 * eps);
}

// Largest |a - n| / max(|a| + |n|, floor) over all elements of x, where
// analytic[i] is compared with the central difference of f in x[i]. The floor
// keeps gradients that are zero up to rounding (the difference quotient's own
// noise is ~1e-10 here) from counting as relative errors.
inline double max_rel_error(const std::function<double()>& f, double* x, size_t n,
                            const double* analytic, double floor = 1e-4) {
  double worst = 0;
  for (size_t i = 0; i < n; ++i) {
    const double num = numeric_grad(f, x + i);
    const double err = std::fabs(num - analytic[i]) / std::max(std::fabs(num) + std::fabs(analytic[i]), floor);
    worst = std::max(worst, err);
  }
  return worst;
}

// A fresh temporary directory, removed by the destructor.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    char tmpl[] = "/tmp/causalgen_train_test_XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

inline void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// A small deterministic text with some structure (learnable).
inline std::string synthetic_text(size_t n, uint64_t seed = 7) {
  const char* words[] = {"the ", "cat ", "sat ", "on ", "a ", "mat. ", "dog ", "ran ", "to ",
                         "it\n", "and ", "then "};
  std::mt19937_64 g(seed);
  std::string s;
  while (s.size() < n) s += words[g() % 12];
  s.resize(n);
  return s;
}

#ifndef CAUSALGEN_TINY_SHAKESPEARE
#define CAUSALGEN_TINY_SHAKESPEARE ""
#endif
inline std::string shakespeare_path() { return CAUSALGEN_TINY_SHAKESPEARE; }
inline bool have_shakespeare() {
  return !shakespeare_path().empty() && std::filesystem::exists(shakespeare_path());
}

}  // namespace train_test
