// open_communicator() in a build without MPI (CAUSALGEN_MPI off or no MPI
// found): one process, and a refusal when a launcher started several, which
// would otherwise train N independent copies into the same folder.
#include "train/loop/communicator.hpp"

namespace causalgen::train {

std::unique_ptr<Communicator> open_communicator(std::string* err, bool* quiet) {
  int rank = 0;
  const int n = launcher_ranks(&rank);
  if (n > 1) {
    *err = "started by an MPI launcher as one of " + std::to_string(n) +
           " processes, but this build has no MPI (install OpenMPI, libopenmpi-dev, and "
           "rebuild with -DCAUSALGEN_MPI=ON); refusing to train " + std::to_string(n) +
           " separate copies";
    *quiet = rank != 0;
    return nullptr;
  }
  return std::make_unique<SingleProcess>();
}

}  // namespace causalgen::train
