// ckpt_diff A.cgc B.cgc [TOL]: compares two training checkpoints' contents
// (step, parameters, AdamW moments, the loss and gradient norm of every
// step, every evaluation) and prints the largest differences. Exit 0 when
// every difference is <= TOL (default 0: bit-identical values), 1 otherwise
// or when a file does not load. Used by the multi-process tests.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "train/io/checkpoint.hpp"

namespace {

using causalgen::train::TrainState;

// Largest |a_i - b_i| (infinity when the sizes differ or a value is NaN).
template <class Get>
double max_diff(size_t na, size_t nb, Get get) {
  if (na != nb) return INFINITY;
  double d = 0;
  for (size_t i = 0; i < na; ++i) {
    const auto [a, b] = get(i);
    const double x = std::fabs(double(a) - double(b));
    d = std::isnan(x) ? INFINITY : std::max(d, x);
  }
  return d;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: ckpt_diff A.cgc B.cgc [TOL]\n");
    return 2;
  }
  const double tol = argc > 3 ? std::atof(argv[3]) : 0.0;
  TrainState a, b;
  std::string err;
  if (!causalgen::train::load_checkpoint(argv[1], &a, &err) ||
      !causalgen::train::load_checkpoint(argv[2], &b, &err)) {
    std::fprintf(stderr, "ckpt_diff: %s\n", err.c_str());
    return 1;
  }
  const struct {
    const char* what;
    double diff;
  } rows[] = {
      {"step", a.step == b.step ? 0.0 : INFINITY},
      {"params", max_diff(a.params.size(), b.params.size(),
                          [&](size_t i) { return std::pair(a.params(i), b.params(i)); })},
      {"adam m", max_diff(a.m.size(), b.m.size(), [&](size_t i) { return std::pair(a.m(i), b.m(i)); })},
      {"adam v", max_diff(a.v.size(), b.v.size(), [&](size_t i) { return std::pair(a.v(i), b.v(i)); })},
      {"step losses", max_diff(a.iters.size(), b.iters.size(),
                               [&](size_t i) { return std::pair(a.iters[i].loss, b.iters[i].loss); })},
      {"grad norms", max_diff(a.iters.size(), b.iters.size(), [&](size_t i) {
         return std::pair(a.iters[i].grad_norm, b.iters[i].grad_norm);
       })},
      {"val losses", max_diff(a.evals.size(), b.evals.size(), [&](size_t i) {
         return std::pair(a.evals[i].val_loss, b.evals[i].val_loss);
       })},
  };
  bool ok = true;
  for (const auto& r : rows) {
    std::printf("%-12s max |diff| %.3g\n", r.what, r.diff);
    ok = ok && r.diff <= tol;
  }
  std::printf("%s (tolerance %.3g)\n", ok ? "same" : "DIFFERENT", tol);
  return ok ? 0 : 1;
}
