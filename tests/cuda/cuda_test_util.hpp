// Shared by the CUDA tests: Catch2 v2 has no SKIP, so a test without a GPU
// exits with 77, which ctest (SKIP_RETURN_CODE) reports as skipped.
#pragma once
#include <cstdio>
#include <cstdlib>
#include <string>

#include "causalgen_cuda/backend.hpp"

inline void require_gpu() {
  std::string why;
  if (!causalgen::cuda::device_available(&why)) {
    std::printf("SKIPPED: %s\n", why.c_str());
    std::fflush(stdout);
    std::_Exit(77);
  }
}
