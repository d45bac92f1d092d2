#include "train/loop/eval.hpp"

#include <omp.h>

#include <cmath>

#include "causalgen/forward.hpp"
#include "causalgen/model_file.hpp"
#include "host/model_io.hpp"
#include "train/model/gemm.hpp"
#include "train/data/text_data.hpp"

namespace causalgen::train {

double estimate_loss(DataParallelGpt& g, const float* params, const std::vector<uint32_t>& split, int B,
                     int T, uint32_t iters, Rng& rng) {
  std::vector<uint32_t> x(size_t(B) * T), y(x.size());
  double total = 0;
  for (uint32_t i = 0; i < iters; ++i) {
    sample_batch(split, uint32_t(B), uint32_t(T), rng, x.data(), y.data());
    total += g.forward(params, x.data(), y.data(), B, T);
  }
  return total / iters;
}

FullPass full_pass_loss(DataParallelGpt& g, const float* params, const std::vector<uint32_t>& split,
                        int B, int T) {
  FullPass r;
  if (split.size() < 2) return r;
  const uint64_t preds = split.size() - 1;
  const uint64_t full = preds / T;  // whole windows
  std::vector<uint32_t> x(size_t(B) * T), y(x.size());
  double sum = 0;
  for (uint64_t w0 = 0; w0 < full; w0 += B) {
    const int nb = int(std::min<uint64_t>(B, full - w0));
    for (int b = 0; b < nb; ++b)
      for (int t = 0; t < T; ++t) {
        const uint64_t i = (w0 + b) * T + t;
        x[size_t(b) * T + t] = split[i];
        y[size_t(b) * T + t] = split[i + 1];
      }
    const double mean = g.forward(params, x.data(), y.data(), nb, T);
    sum += mean * nb * T;
  }
  const int rest = int(preds - full * T);
  if (rest > 0) {
    for (int t = 0; t < rest; ++t) {
      x[t] = split[full * T + t];
      y[t] = split[full * T + t + 1];
    }
    sum += g.forward(params, x.data(), y.data(), 1, rest) * rest;
  }
  r.tokens = preds;
  r.loss = sum / double(preds);
  return r;
}

namespace {

// Sum over windows (start, length) of the summed -log p(next token), by the
// core's forward; windows split over threads, per-window sums added in order.
bool core_window_sums(const Model& m, const std::vector<uint32_t>& split,
                      const std::vector<std::pair<uint64_t, uint32_t>>& windows, double* total,
                      std::string* err) {
  const Config& c = m.config;
  uint32_t maxlen = 1;
  for (auto& w : windows) maxlen = std::max(maxlen, w.second);
  const size_t arena_bytes = forward_arena_bytes(c, maxlen);
  std::vector<double> sums(windows.size(), 0.0);
  std::vector<std::string> errors(size_t(std::max(1, threads())));
  const long nw = long(windows.size());
#pragma omp parallel num_threads(std::max(1, threads()))
  {
    host::AlignedBytes arena = host::aligned_bytes(arena_bytes);
    std::vector<float> logits(size_t(maxlen) * c.vocab_size);
#pragma omp for schedule(static)
    for (long i = 0; i < nw; ++i) {
      const auto [start, len] = windows[size_t(i)];
      Error e;
      if (forward_sequence(m, split.data() + start, len, logits.data(), arena.data.get(),
                           arena.size, &e) != Status::ok) {
        errors[size_t(omp_get_thread_num())] = e.message;
        continue;
      }
      double s = 0;
      for (uint32_t t = 0; t < len; ++t) {
        const float* l = logits.data() + size_t(t) * c.vocab_size;
        double mx = l[0];
        for (uint32_t v = 1; v < c.vocab_size; ++v) mx = std::max(mx, double(l[v]));
        double z = 0;
        for (uint32_t v = 0; v < c.vocab_size; ++v) z += std::exp(double(l[v]) - mx);
        s += std::log(z) + mx - double(l[split[start + t + 1]]);
      }
      sums[size_t(i)] = s;
    }
  }
  for (auto& e : errors)
    if (!e.empty()) {
      *err = "forward: " + e;
      return false;
    }
  double t = 0;
  for (double s : sums) t += s;
  *total = t;
  return true;
}

}  // namespace

double core_estimate_loss(const Model& m, const std::vector<uint32_t>& split, int B, int T,
                          uint32_t iters, Rng& rng, std::string* err) {
  std::vector<std::pair<uint64_t, uint32_t>> windows;
  const uint64_t range = split.size() - uint64_t(T);
  for (uint32_t i = 0; i < iters; ++i)
    for (int b = 0; b < B; ++b) windows.push_back({rng.below(range), uint32_t(T)});
  double total = 0;
  if (!core_window_sums(m, split, windows, &total, err)) return NAN;
  return total / (double(windows.size()) * T);
}

FullPass core_full_pass_loss(const Model& m, const std::vector<uint32_t>& split, int T,
                             std::string* err) {
  FullPass r;
  if (split.size() < 2) return r;
  const uint64_t preds = split.size() - 1;
  std::vector<std::pair<uint64_t, uint32_t>> windows;
  for (uint64_t s = 0; s < preds; s += uint64_t(T))
    windows.push_back({s, uint32_t(std::min<uint64_t>(uint64_t(T), preds - s))});
  double total = 0;
  if (!core_window_sums(m, split, windows, &total, err)) {
    r.loss = NAN;
    return r;
  }
  r.tokens = preds;
  r.loss = total / double(preds);
  return r;
}

}  // namespace causalgen::train
