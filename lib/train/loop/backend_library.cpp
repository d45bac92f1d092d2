#include "train/loop/backend_library.hpp"

#include <dlfcn.h>

#include <filesystem>

#include "host/executable_dir.hpp"

namespace causalgen::train {

std::unique_ptr<Backend> open_cuda_backend(const BackendOptions& o, std::string* error) {
  const std::string path = host::executable_dir() + "/" + kCudaBackendLibrary;
  // Never closed: the backend's code must outlive every object it made.
  void* lib = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    if (!std::filesystem::exists(path))
      *error = "--device cuda: the CUDA backend " + path +
               " is missing (it is built where nvcc is installed, -DCAUSALGEN_CUDA=ON)";
    else
      *error = "--device cuda: cannot load " + path + ": " + ::dlerror();
    return nullptr;
  }
  const auto create = reinterpret_cast<BackendFactory>(::dlsym(lib, kBackendFactorySymbol));
  if (!create) {
    *error = "--device cuda: " + path + " has no " + kBackendFactorySymbol + " (not a causalgen backend)";
    return nullptr;
  }
  std::string why;
  std::unique_ptr<Backend> b(create(kBackendAbiVersion, &o, &why));
  if (!b) *error = "--device cuda: " + why;
  return b;
}

}  // namespace causalgen::train
