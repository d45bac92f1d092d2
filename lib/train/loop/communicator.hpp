// Opening the run's Communicator (backend.hpp): MPI ranks when the process
// was started by mpirun, srun or another MPI launcher and this build has MPI
// (communicator_mpi.cpp), otherwise this process alone. Which file provides
// open_communicator() is chosen by CMake (CAUSALGEN_MPI); the trainer never
// asks which.
#pragma once
#include <memory>
#include <string>

#include "train/loop/backend.hpp"

namespace causalgen::train {

// This process alone: collectives leave data as it is.
class SingleProcess final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  int local_rank() const override { return 0; }
  int local_size() const override { return 1; }
  void allreduce_sum(float*, size_t) override {}
  void allreduce_sum(double*, size_t) override {}
  void broadcast(void*, size_t, int) override {}
  void barrier() override {}
  [[noreturn]] void abort(int code) override;
  std::string description() const override { return "one process"; }
  void start_allreduce_sum(float*, size_t) override {}
  void progress() override {}
  void wait_all() override {}
  void allgather_shards(float*, size_t) override {}
  void gather_shards(const float* shard, float* full, size_t n, int root) override;
};

// The process count an MPI launcher announced in the environment
// (OMPI_COMM_WORLD_SIZE, PMI_SIZE; with only PMIX_RANK > 0 set, 2,
// meaning "more than one"), 1 when none did; *rank: this process's rank there.
int launcher_ranks(int* rank);

// The run's ranks. Null with *err when started by a launcher as one of
// several processes in a build without MPI, or when MPI fails to start.
// *quiet: the error is another rank's to report (this one exits silently).
std::unique_ptr<Communicator> open_communicator(std::string* err, bool* quiet);

}  // namespace causalgen::train
