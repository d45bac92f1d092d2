#include "train/model/data_parallel.hpp"

#include <omp.h>

#include <algorithm>

namespace causalgen::train {

DataParallelGpt::DataParallelGpt(const Config& c, int max_B, int max_T, int parts) {
  const int n = std::max(1, std::min(parts, max_B));
  const int part_B = (max_B + n - 1) / n;  // every part of any B <= max_B fits
  for (int i = 0; i < n; ++i) reps_.push_back(std::make_unique<Gpt<float>>(c, part_B, max_T));
  if (n > 1) grads_.assign(size_t(n), std::vector<float>(reps_[0]->layout().total));
}

uint64_t DataParallelGpt::bytes(const Config& c, int max_B, int max_T, int parts) {
  const int n = std::max(1, std::min(parts, max_B));
  const int part_B = (max_B + n - 1) / n;
  const uint64_t grads = n > 1 ? uint64_t(n) * c.parameter_count() * sizeof(float) : 0;
  return uint64_t(n) * Gpt<float>::buffer_bytes(c, part_B, max_T) + grads;
}

double DataParallelGpt::forward_part(int i, const float* params, const uint32_t* x,
                                     const uint32_t* y, int B, int T, const DropoutSpec& drop) {
  const int lo = b0(i, B), hi = b0(i + 1, B);
  if (hi == lo) return 0.0;
  DropoutSpec d = drop;  // dropout masks follow the window's index in the whole batch
  d.first_window = drop.first_window + uint64_t(lo);
  const size_t off = size_t(lo) * T;
  return reps_[size_t(i)]->forward(params, x + off, y ? y + off : nullptr, hi - lo, T, d) *
         (hi - lo);
}

double DataParallelGpt::forward(const float* params, const uint32_t* x, const uint32_t* y, int B,
                                int T, const DropoutSpec& drop) {
  const int n = parts();
  if (n == 1) return reps_[0]->forward(params, x, y, B, T, drop);
  std::vector<double> loss(size_t(n), 0.0);
#pragma omp parallel for schedule(static) num_threads(n)
  for (int i = 0; i < n; ++i) loss[size_t(i)] = forward_part(i, params, x, y, B, T, drop);
  double total = 0;
  for (double l : loss) total += l;
  return total / B;
}

double DataParallelGpt::forward_backward(const float* params, const uint32_t* x,
                                         const uint32_t* y, int B, int T, const DropoutSpec& drop,
                                         float* grads, const GradsReady& ready) {
  const int n = parts();
  const size_t P = layout().total;
  if (n == 1) {
    const double loss = reps_[0]->forward(params, x, y, B, T, drop);
    reps_[0]->backward(params, grads, ready);
    return loss;
  }
  std::vector<double> loss(size_t(n), 0.0);
  std::vector<float> weight(static_cast<size_t>(n));
  for (int j = 0; j < n; ++j) weight[size_t(j)] = float(double(b0(j + 1, B) - b0(j, B)) / B);
#pragma omp parallel num_threads(n)
  {
#pragma omp for schedule(static)
    for (int i = 0; i < n; ++i) {
      if (b0(i + 1, B) == b0(i, B)) continue;
      loss[size_t(i)] = forward_part(i, params, x, y, B, T, drop);
      reps_[size_t(i)]->backward(params, grads_[size_t(i)].data());
    }
    // (implicit barrier) grads = sum_i (n_i / B) g_i, parts added in order.
#pragma omp for schedule(static)
    for (long k = 0; k < long(P); ++k) {
      float s = 0.0f;
      for (int j = 0; j < n; ++j)
        if (weight[size_t(j)] != 0.0f) s += weight[size_t(j)] * grads_[size_t(j)][size_t(k)];
      grads[k] = s;
    }
  }
  if (ready) ready(0);
  double total = 0;
  for (double l : loss) total += l;
  return total / B;
}

}  // namespace causalgen::train
