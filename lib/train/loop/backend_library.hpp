// Backends that live in shared libraries beside the executable, opened only
// when a run asks for them, so that nothing else pays for their runtimes:
// the CUDA backend is libcausalgen_cuda_backend.so (built from cuda/ when
// nvcc is present), loaded by `--device cuda`.
#pragma once
#include <memory>
#include <string>

#include "train/loop/backend.hpp"

namespace causalgen::train {

// The library's one entry point, extern "C" so that dlsym finds it by this
// name. abi_version guards against a library built from other sources.
constexpr const char* kCudaBackendLibrary = "libcausalgen_cuda_backend.so";
constexpr const char* kBackendFactorySymbol = "causalgen_create_backend";
constexpr unsigned kBackendAbiVersion = 2;  // 2: BackendOptions::comm
using BackendFactory = Backend* (*)(unsigned abi_version, const BackendOptions* options,
                                    std::string* error);

// The CUDA backend from kCudaBackendLibrary in the executable's folder. Null with
// *error ("--device cuda: ...") when the library is missing or unloadable,
// or there is no usable GPU.
std::unique_ptr<Backend> open_cuda_backend(const BackendOptions& o, std::string* error);

}  // namespace causalgen::train
