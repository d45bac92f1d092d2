#include "train/loop/cpu_backend.hpp"

#include <algorithm>
#include <cstring>

#include "train/model/gemm.hpp"

namespace causalgen::train {

namespace {
void copy(float* to, const float* from, size_t n) {
  if (to != from) std::memcpy(to, from, n * sizeof(float));
}
}  // namespace

namespace {
RowSlice rows_for(const BackendOptions& o) {
  return o.comm ? rows_of_rank(o.batch_size, o.comm->rank(), o.comm->size())
                : RowSlice{0, o.batch_size};
}
}  // namespace

CpuBackend::CpuBackend(const BackendOptions& o, float* params, float* m, float* v)
    : opt_(o),
      gpt_(o.model, int(std::max(1u, rows_for(o).count)), int(o.block_size), threads()),
      params_(params),
      m_(m),
      v_(v),
      comm_(o.comm && o.comm->size() > 1 ? o.comm : nullptr),
      rows_(rows_for(o)),
      grads_(gpt_.layout().total, 0.0f) {}

std::string CpuBackend::description() const {
  if (!comm_) return "CPU, " + std::to_string(threads()) + " threads";
  return "CPU, " + std::to_string(comm_->size()) + " ranks x " + std::to_string(threads()) +
         " threads (" + comm_->description() + ")";
}

void CpuBackend::set_parameters(const float* p) { copy(params_, p, grads_.size()); }
void CpuBackend::get_parameters(float* p) { copy(p, params_, grads_.size()); }
void CpuBackend::set_moments(const float* m, const float* v) {
  copy(m_, m, grads_.size());
  copy(v_, v, grads_.size());
}
void CpuBackend::get_moments(float* m, float* v) {
  copy(m, m_, grads_.size());
  copy(v, v_, grads_.size());
}
void CpuBackend::get_gradients(float* g) { copy(g, grads_.data(), grads_.size()); }

double CpuBackend::global_mean(double local_mean) {
  if (!comm_) return local_mean;
  double sum = local_mean * rows_.count;  // as DataParallelGpt sums its parts
  comm_->allreduce_sum(&sum, 1);
  return sum / opt_.batch_size;
}

void CpuBackend::forward_backward(const uint32_t* x, const uint32_t* y, uint64_t steps_done) {
  // Dropout masks follow a window's index in the global batch.
  const DropoutSpec drop{opt_.dropout, opt_.seed, steps_done, rows_.first};
  const size_t off = size_t(rows_.first) * opt_.block_size;
  const double local = gpt_.forward_backward(params_, x + off, y + off, int(rows_.count),
                                             int(opt_.block_size), drop, grads_.data());
  if (comm_) {
    // sum_r (rows_r / B) g_r: the weights and order of DataParallelGpt's parts.
    const float w = float(double(rows_.count) / opt_.batch_size);
    for (float& g : grads_) g = w * g;
    comm_->allreduce_sum(grads_.data(), grads_.size());
  }
  loss_ = global_mean(local);
}

void CpuBackend::optimizer_step(const OptimizerStep& s) {
  grad_norm_ = clip_grad_norm(grads_.data(), grads_.size(), s.grad_clip);
  adamw_step(gpt_.layout().tensors, params_, grads_.data(), m_, v_, s.lr, s.t, s.adamw);
}

double CpuBackend::eval_loss(const uint32_t* x, const uint32_t* y) {
  const size_t off = size_t(rows_.first) * opt_.block_size;
  return global_mean(gpt_.forward(params_, x + off, y + off, int(rows_.count), int(opt_.block_size)));
}

}  // namespace causalgen::train
