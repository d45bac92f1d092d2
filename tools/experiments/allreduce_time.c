/* Time of one in-place MPI_Allreduce (sum) of N floats, the CPU trainer's
 * per-step gradient reduction (docs/distributed.md's cost model). Median of
 * REPS after 3 warm-ups, printed by rank 0. With BUCKETS > 0: the same sum
 * as BUCKETS MPI_Iallreduce of equal parts started at once, then
 * MPI_Waitall (the overlapped path's calls, without the compute between).
 *   mpicc -O2 -o /tmp/allreduce_time tools/experiments/allreduce_time.c
 *   mpirun -np 2 /tmp/allreduce_time N [REPS] [BUCKETS] */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

static int by_value(const void* a, const void* b) {
  const double x = *(const double*)a, y = *(const double*)b;
  return (x > y) - (x < y);
}

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  const long n = argc > 1 ? atol(argv[1]) : 1000000;
  const int reps = argc > 2 ? atoi(argv[2]) : 20;
  const int buckets = argc > 3 ? atoi(argv[3]) : 0;
  MPI_Request* req = calloc((size_t)(buckets > 0 ? buckets : 1), sizeof(MPI_Request));
  float* buf = calloc((size_t)n, sizeof(float));
  double* t = calloc((size_t)reps, sizeof(double));
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  for (int i = -3; i < reps; ++i) {
    MPI_Barrier(MPI_COMM_WORLD);
    const double t0 = MPI_Wtime();
    if (buckets <= 0) {
      MPI_Allreduce(MPI_IN_PLACE, buf, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    } else {
      for (int b = 0; b < buckets; ++b) {
        const long lo = n * b / buckets, hi = n * (b + 1) / buckets;
        MPI_Iallreduce(MPI_IN_PLACE, buf + lo, (int)(hi - lo), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD,
                       &req[b]);
      }
      MPI_Waitall(buckets, req, MPI_STATUSES_IGNORE);
    }
    if (i >= 0) t[i] = MPI_Wtime() - t0;
  }
  qsort(t, (size_t)reps, sizeof(double), by_value);
  if (rank == 0)
    printf("%d ranks, %ld floats (%.1f MB), %s: median %.3f ms, %.2f GB/s algorithm bandwidth\n",
           size, n, n * 4e-6, buckets > 0 ? "MPI_Iallreduce buckets + MPI_Waitall" : "MPI_Allreduce",
           t[reps / 2] * 1e3, n * 4e-9 / t[reps / 2]);
  free(buf);
  free(t);
  free(req);
  MPI_Finalize();
  return 0;
}
