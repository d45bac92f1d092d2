#include "train/loop/cpu_backend.hpp"

#include <algorithm>
#include <cstring>

#include "train/loop/progress.hpp"
#include "train/model/gemm.hpp"

namespace causalgen::train {

namespace {
void copy(float* to, const float* from, size_t n) {
  if (n && to != from) std::memcpy(to, from, n * sizeof(float));
}

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
      sharded_(comm_ && o.shard_moments),
      shard_{0, gpt_.layout().total},
      grads_(gpt_.layout().total, 0.0f) {
  if (sharded_) {
    shard_ = shard_of(grads_.size(), comm_->rank(), comm_->size());
    own_m_.assign(shard_.count, 0.0f);
    own_v_.assign(shard_.count, 0.0f);
    m_ = own_m_.data(), v_ = own_v_.data();
  }
  if (comm_ && o.overlap_allreduce) overlap_.emplace(*comm_, gpt_.layout());
}

std::string CpuBackend::description() const {
  if (!comm_) return "CPU, " + std::to_string(threads()) + " threads";
  std::string s = "CPU, " + std::to_string(comm_->size()) + " ranks x " +
                  std::to_string(threads()) + " threads (" + comm_->description() + ")";
  const size_t buckets = overlap_ ? overlap_->buckets().size() : 0;
  s += overlap_ ? "; gradient all-reduce overlapped with the backward pass (" +
                      std::to_string(buckets) + (buckets == 1 ? " bucket)" : " buckets)")
                : "; gradient all-reduce after the backward pass";
  if (sharded_)
    s += "; ZeRO-1: AdamW moments " + with_commas(2 * shard_.count * sizeof(float)) +
         " bytes on this rank (of " + with_commas(2 * grads_.size() * sizeof(float)) + ")";
  return s;
}

void CpuBackend::set_parameters(const float* p) { copy(params_, p, grads_.size()); }
void CpuBackend::get_parameters(float* p) { copy(p, params_, grads_.size()); }
void CpuBackend::set_moments(const float* m, const float* v) {
  copy(m_, m + shard_.first, shard_.count);
  copy(v_, v + shard_.first, shard_.count);
}
void CpuBackend::get_moments(float* m, float* v) {
  if (!sharded_) {
    copy(m, m_, grads_.size());
    copy(v, v_, grads_.size());
    return;
  }
  comm_->gather_shards(m_, m, grads_.size(), 0);
  comm_->gather_shards(v_, v, grads_.size(), 0);
}
void CpuBackend::get_gradients(float* g) { copy(g, grads_.data(), grads_.size()); }

double CpuBackend::global_mean(double local_mean) {
  if (!comm_) return local_mean;
  double sum = local_mean * rows_.count;  // as DataParallelGpt sums its parts
  comm_->allreduce_sum(&sum, 1);
  return sum / opt_.batch_size;
}

double CpuBackend::backward_summed(const uint32_t* x, const uint32_t* y, const DropoutSpec& drop) {
  const int B = int(rows_.count), T = int(opt_.block_size);
  float* g = grads_.data();
  if (!comm_) return gpt_.forward_backward(params_, x, y, B, T, drop, g);
  // sum_r (rows_r / B) g_r: the weights and order of DataParallelGpt's parts.
  const float w = float(double(rows_.count) / opt_.batch_size);
  if (overlap_) {
    overlap_->begin(g, w);
    const double loss = gpt_.forward_backward(params_, x, y, B, T, drop, g,
                                              [&](size_t first) { overlap_->ready(first); });
    overlap_->finish();
    return loss;
  }
  const double loss = gpt_.forward_backward(params_, x, y, B, T, drop, g);
  for (float& v : grads_) v = w * v;
  comm_->allreduce_sum(g, grads_.size());
  return loss;
}

void CpuBackend::forward_backward(const uint32_t* x, const uint32_t* y, uint64_t steps_done) {
  // Dropout masks follow a window's index in the global batch.
  const DropoutSpec drop{opt_.dropout, opt_.seed, steps_done, rows_.first};
  const size_t off = size_t(rows_.first) * opt_.block_size;
  loss_ = global_mean(backward_summed(x + off, y + off, drop));
}

void CpuBackend::optimizer_step(const OptimizerStep& s) {
  // Every rank holds the whole summed gradient, so every rank computes the
  // same norm; each updates its shard of the moments (all, unless ZeRO-1).
  grad_norm_ = clip_grad_norm(grads_.data(), grads_.size(), s.grad_clip);
  adamw_step_range(gpt_.layout().tensors, params_, grads_.data(), m_, v_, shard_.first,
                   shard_.count, s.lr, s.t, s.adamw);
  if (sharded_) comm_->allgather_shards(params_, grads_.size());
}

double CpuBackend::eval_loss(const uint32_t* x, const uint32_t* y) {
  const size_t off = size_t(rows_.first) * opt_.block_size;
  return global_mean(gpt_.forward(params_, x + off, y + off, int(rows_.count), int(opt_.block_size)));
}

}  // namespace causalgen::train
