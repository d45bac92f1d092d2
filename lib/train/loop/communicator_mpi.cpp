// open_communicator() in a build with MPI: MPI ranks when a launcher started
// several processes; a process started alone never initialises MPI (a
// singleton MPI_Init would start a runtime for nothing and fails in some
// containers).
#include <mpi.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "train/loop/communicator.hpp"

namespace causalgen::train {

namespace {

class MpiCommunicator final : public Communicator {
 public:
  MpiCommunicator() {
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &local_);
    MPI_Comm_rank(local_, &local_rank_);
    MPI_Comm_size(local_, &local_size_);
    machines_ = local_rank_ == 0 ? 1 : 0;
    MPI_Allreduce(MPI_IN_PLACE, &machines_, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  }
  ~MpiCommunicator() override {
    MPI_Comm_free(&local_);
    MPI_Finalize();
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int local_rank() const override { return local_rank_; }
  int local_size() const override { return local_size_; }
  void allreduce_sum(float* d, size_t n) override { allreduce(d, n, MPI_FLOAT); }
  void allreduce_sum(double* d, size_t n) override { allreduce(d, n, MPI_DOUBLE); }
  void broadcast(void* data, size_t bytes, int root) override {
    auto* p = static_cast<char*>(data);
    for (size_t done = 0; done < bytes;) {
      const int n = int(std::min<size_t>(bytes - done, kChunk));
      MPI_Bcast(p + done, n, MPI_BYTE, root, MPI_COMM_WORLD);
      done += size_t(n);
    }
  }
  void barrier() override { MPI_Barrier(MPI_COMM_WORLD); }
  [[noreturn]] void abort(int code) override {
    MPI_Abort(MPI_COMM_WORLD, code);
    std::_Exit(code);
  }
  std::string description() const override {
    return "MPI, " + std::to_string(size_) + " ranks on " + std::to_string(machines_) +
           (machines_ == 1 ? " machine" : " machines");
  }

  void start_allreduce_sum(float* d, size_t n) override {
    for (size_t done = 0; done < n;) {
      const int k = int(std::min<size_t>(n - done, kChunk));
      pending_.emplace_back();
      MPI_Iallreduce(MPI_IN_PLACE, d + done, k, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD,
                     &pending_.back());
      done += size_t(k);
    }
  }
  void progress() override {
    int all_done = 0;
    if (!pending_.empty())
      MPI_Testall(int(pending_.size()), pending_.data(), &all_done, MPI_STATUSES_IGNORE);
  }
  void wait_all() override {
    MPI_Waitall(int(pending_.size()), pending_.data(), MPI_STATUSES_IGNORE);
    pending_.clear();
  }

  void allgather_shards(float* d, size_t n) override {
    if (n > size_t(INT_MAX)) {  // offsets beyond an int: each rank broadcasts its shard
      for (int r = 0; r < size_; ++r) {
        const Shard s = shard_of(n, r, size_);
        broadcast(d + s.first, s.count * sizeof(float), r);
      }
      return;
    }
    std::vector<int> counts(static_cast<size_t>(size_)), offsets(static_cast<size_t>(size_));
    for (int r = 0; r < size_; ++r) {
      const Shard s = shard_of(n, r, size_);
      counts[size_t(r)] = int(s.count);
      offsets[size_t(r)] = int(s.first);
    }
    MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, d, counts.data(), offsets.data(), MPI_FLOAT,
                   MPI_COMM_WORLD);
  }
  // Point to point in int-sized pieces: root receives each rank's shard in
  // turn (only at a checkpoint, so simplicity over speed).
  void gather_shards(const float* shard, float* full, size_t n, int root) override {
    if (rank_ != root) {
      transfer(const_cast<float*>(shard), shard_of(n, rank_, size_).count, root, false);
      return;
    }
    for (int r = 0; r < size_; ++r) {
      const Shard s = shard_of(n, r, size_);
      if (r == rank_) std::memcpy(full + s.first, shard, s.count * sizeof(float));
      else transfer(full + s.first, s.count, r, true);
    }
  }

 private:
  static constexpr size_t kChunk = size_t(1) << 30;  // MPI counts are int
  static constexpr int kShardTag = 7;
  void transfer(float* d, size_t n, int peer, bool receive) {
    for (size_t done = 0; done < n;) {
      const int k = int(std::min<size_t>(n - done, kChunk));
      if (receive)
        MPI_Recv(d + done, k, MPI_FLOAT, peer, kShardTag, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      else
        MPI_Send(d + done, k, MPI_FLOAT, peer, kShardTag, MPI_COMM_WORLD);
      done += size_t(k);
    }
  }
  template <class T>
  void allreduce(T* d, size_t n, MPI_Datatype type) {
    for (size_t done = 0; done < n;) {
      const int k = int(std::min<size_t>(n - done, kChunk));
      MPI_Allreduce(MPI_IN_PLACE, d + done, k, type, MPI_SUM, MPI_COMM_WORLD);
      done += size_t(k);
    }
  }
  int rank_ = 0, size_ = 1, local_rank_ = 0, local_size_ = 1, machines_ = 1;
  MPI_Comm local_ = MPI_COMM_NULL;
  std::vector<MPI_Request> pending_;  // started sums (start_allreduce_sum)
};

}  // namespace

std::unique_ptr<Communicator> open_communicator(std::string* err, bool* quiet) {
  int rank = 0;
  if (launcher_ranks(&rank) <= 1) return std::make_unique<SingleProcess>();
  int provided = 0;
  // Only the main thread calls MPI (OpenMP threads never do).
  if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
    *err = "MPI_Init failed (started by an MPI launcher, but MPI could not start)";
    *quiet = rank != 0;
    return nullptr;
  }
  return std::make_unique<MpiCommunicator>();
}

}  // namespace causalgen::train
