// The entry point of libcausalgen_cuda_backend.so, which the trainer opens
// with dlopen for `--device cuda` (lib/train/loop/backend_library.hpp).
#include <type_traits>

#include "causalgen_cuda/backend.hpp"
#include "train/loop/backend_library.hpp"

using causalgen::train::Backend;
using causalgen::train::BackendOptions;

extern "C" __attribute__((visibility("default"))) Backend* causalgen_create_backend(
    unsigned abi_version, const BackendOptions* options, std::string* error) {
  if (abi_version != causalgen::train::kBackendAbiVersion) {
    *error = "the CUDA backend library was built from other sources (interface version " +
             std::to_string(causalgen::train::kBackendAbiVersion) + ", asked for " +
             std::to_string(abi_version) + "): rebuild it with the executable";
    return nullptr;
  }
  return causalgen::cuda::create_backend(*options, error).release();
}

static_assert(std::is_same_v<decltype(&causalgen_create_backend), causalgen::train::BackendFactory>);
