#include "train/loop/communicator.hpp"

#include <cstdlib>
#include <cstring>

namespace causalgen::train {

void SingleProcess::abort(int code) { std::_Exit(code); }

void SingleProcess::gather_shards(const float* shard, float* full, size_t n, int) {
  if (full != shard) std::memcpy(full, shard, n * sizeof(float));  // one shard: everything
}

namespace {
int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  char* end = nullptr;
  const long n = std::strtol(v, &end, 10);
  return *end == '\0' && n >= 0 && n < (1 << 24) ? int(n) : fallback;
}
}  // namespace

int launcher_ranks(int* rank) {
  // OpenMPI's mpirun, MPICH/Hydra and srun --mpi=pmi2 (PMI), PMIx launchers
  // (srun --mpi=pmix). Not SLURM_NTASKS: a batch script's single process has it.
  const char* sizes[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"};
  const char* ranks[] = {"OMPI_COMM_WORLD_RANK", "PMI_RANK"};
  int n = 1;
  *rank = 0;
  for (int i = 0; i < 2 && n <= 1; ++i) {
    n = env_int(sizes[i], 1);
    *rank = env_int(ranks[i], 0);
  }
  // PMIx announces a rank but not always the size: a rank above 0 means several.
  if (n <= 1 && env_int("PMIX_RANK", 0) > 0) {
    n = 2;
    *rank = env_int("PMIX_RANK", 0);
  }
  return n;
}

}  // namespace causalgen::train
