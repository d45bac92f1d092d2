#include "train/optim/adamw.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace causalgen::train {

void adamw_step(const std::vector<TensorRange>& tensors, float* p, const float* g, float* m,
                float* v, double lr, uint64_t t, const AdamWParams& h) {
  const size_t total = tensors.empty() ? 0 : tensors.back().offset + tensors.back().size;
  adamw_step_range(tensors, p, g, m, v, 0, total, lr, t, h);
}

void adamw_step_range(const std::vector<TensorRange>& tensors, float* p, const float* g, float* m,
                      float* v, size_t first, size_t count, double lr, uint64_t t,
                      const AdamWParams& h) {
  const float b1 = float(h.beta1), b2 = float(h.beta2);
  const float step_size = float(lr / (1.0 - std::pow(h.beta1, double(t))));
  const float bc2_sqrt = float(std::sqrt(1.0 - std::pow(h.beta2, double(t))));
  const float eps = float(h.eps);
  const float decay = float(1.0 - lr * h.weight_decay);
  const size_t end = first + count;
  for (const TensorRange& tr : tensors) {
    // The tensor's elements inside [first, end).
    const size_t lo = std::max(tr.offset, first), hi = std::min(tr.offset + tr.size, end);
    if (lo >= hi) continue;
    float* pp = p + lo;
    const float* gg = g + lo;
    float* mm = m + (lo - first);
    float* vv = v + (lo - first);
    const bool dec = tr.decay() && h.weight_decay != 0.0;
    const long n = long(hi - lo);
#pragma omp parallel for schedule(static) if (n > 16384)
    for (long i = 0; i < n; ++i) {
      float w = pp[i];
      if (dec) w = w * decay;
      const float gi = gg[i];
      const float mi = b1 * mm[i] + (1.0f - b1) * gi;
      const float vi = b2 * vv[i] + (1.0f - b2) * gi * gi;
      mm[i] = mi;
      vv[i] = vi;
      pp[i] = w - step_size * mi / (std::sqrt(vi) / bc2_sqrt + eps);
    }
  }
}

double grad_norm(const float* g, size_t n) {
  constexpr size_t kChunk = 4096;
  const long chunks = long((n + kChunk - 1) / kChunk);
  std::vector<double> part(size_t(chunks), 0.0);
#pragma omp parallel for schedule(static)
  for (long c = 0; c < chunks; ++c) {
    double s = 0;
    const size_t e = std::min(n, size_t(c + 1) * kChunk);
    for (size_t i = size_t(c) * kChunk; i < e; ++i) s += double(g[i]) * double(g[i]);
    part[size_t(c)] = s;
  }
  double total = 0;
  for (double s : part) total += s;
  return std::sqrt(total);
}

double clip_grad_norm(float* g, size_t n, double max_norm) {
  const double norm = grad_norm(g, n);
  if (max_norm > 0 && norm > max_norm) {
    const float s = float(max_norm / (norm + 1e-6));
#pragma omp parallel for schedule(static)
    for (long i = 0; i < long(n); ++i) g[i] *= s;
  }
  return norm;
}

}  // namespace causalgen::train
