// open_gradient_allreduce() where this CUDA backend was built without NCCL.
#include "gradient_allreduce.hpp"

namespace causalgen::cuda {

std::unique_ptr<GradientAllReduce> open_gradient_allreduce(train::Communicator& comm, float,
                                                           std::string* error) {
  *error = "training on " + std::to_string(comm.size()) +
           " GPUs needs NCCL, and this CUDA backend was built without it (nccl.h and libnccl "
           "were not found)";
  return nullptr;
}

}  // namespace causalgen::cuda
