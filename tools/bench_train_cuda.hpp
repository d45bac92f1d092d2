// `causalgen bench train --device cuda`: tokens/s and ms/iteration of the CUDA
// trainer for a shape and mixer, on random tokens (speed does not depend on
// the text). Declared always; defined only in CUDA builds.
#pragma once
#include <string>

#include "causalgen/config.hpp"

namespace causalgen::cli {

struct CudaBenchResult {
  double tokens_per_s = 0, ms_per_iter = 0, tflops = 0;
  float final_loss = 0;
};

// False with *error when CUDA is not built in or no GPU is present.
bool bench_train_cuda(const Config& c, uint32_t batch, uint32_t block, float dropout, bool bf16,
                      uint32_t iters, CudaBenchResult* out, std::string* error);

}  // namespace causalgen::cli
