// `causalgen bench train --device cuda`: tokens/s and ms/iteration of a
// training backend (the CUDA one) for a shape and mixer, on random tokens
// (speed does not depend on the text).
#pragma once
#include "train/loop/backend.hpp"

namespace causalgen::cli {

struct CudaBenchResult {
  double tokens_per_s = 0, ms_per_iter = 0, tflops = 0;
  float final_loss = 0;
};

// b was made with options o; random weights, 10 warm-up steps, then iters
// timed steps.
CudaBenchResult bench_train_backend(train::Backend& b, const train::BackendOptions& o,
                                    uint32_t iters);

}  // namespace causalgen::cli
