// Static thread ranges for the layer kernels (layers.cpp, mixers/): results
// are reproducible for a thread count, and a call inside a parallel region
// (the data-parallel trainer) runs serially.
#pragma once
#include <omp.h>

#include <algorithm>
#include <cstddef>

#include "train/model/gemm.hpp"

namespace causalgen::train {

// Splits [0, n) into one contiguous range per thread (static) and runs f(i0, i1).
template <class F>
void parallel_ranges(size_t n, F&& f) {
  const int nt = static_cast<int>(std::min<size_t>(std::max(1, threads()), std::max<size_t>(n, 1)));
  if (nt <= 1 || omp_in_parallel()) {
    f(size_t(0), n);
    return;
  }
#pragma omp parallel for schedule(static) num_threads(nt)
  for (int i = 0; i < nt; ++i) f(n * i / nt, n * (i + 1) / nt);
}

}  // namespace causalgen::train
