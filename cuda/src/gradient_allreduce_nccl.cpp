#include <nccl.h>

#include <cstdio>

#include "gradient_allreduce.hpp"

namespace causalgen::cuda {

namespace {

class NcclAllReduce final : public GradientAllReduce {
 public:
  NcclAllReduce(ncclComm_t comm, ncclRedOp_t op) : comm_(comm), op_(op) {}
  ~NcclAllReduce() override {
    ncclRedOpDestroy(op_, comm_);
    ncclCommDestroy(comm_);
  }
  void sum(float* grads, size_t n, cudaStream_t stream) override {
    // An error here means a peer failed; the launcher ends the job.
    ncclAllReduce(grads, grads, n, ncclFloat32, op_, comm_, stream);
  }

 private:
  ncclComm_t comm_;
  ncclRedOp_t op_;
};

}  // namespace

std::unique_ptr<GradientAllReduce> open_gradient_allreduce(train::Communicator& comm, float weight,
                                                           std::string* error) {
  struct {
    ncclUniqueId id;
    ncclResult_t made;
  } root{};
  if (comm.rank() == 0) root.made = ncclGetUniqueId(&root.id);
  comm.broadcast(&root, sizeof root, 0);
  if (root.made != ncclSuccess) {  // the same answer on every rank
    *error = std::string("NCCL: no unique id: ") + ncclGetErrorString(root.made);
    return nullptr;
  }
  ncclComm_t nc = nullptr;
  ncclResult_t r = ncclCommInitRank(&nc, comm.size(), root.id, comm.rank());
  ncclRedOp_t op{};
  if (r == ncclSuccess)
    r = ncclRedOpCreatePreMulSum(&op, &weight, ncclFloat32, ncclScalarHostImmediate, nc);
  if (r != ncclSuccess) {
    // The other ranks may wait inside NCCL's own collective set-up, where no
    // agreement reaches them: say why here and end the whole run.
    std::fprintf(stderr, "causalgen: error: rank %d: NCCL: %s\n", comm.rank(),
                 ncclGetErrorString(r));
    comm.abort(1);
  }
  return std::make_unique<NcclAllReduce>(nc, op);
}

}  // namespace causalgen::cuda
