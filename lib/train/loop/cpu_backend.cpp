#include "train/loop/cpu_backend.hpp"

#include <cstring>

#include "train/model/gemm.hpp"

namespace causalgen::train {

namespace {
void copy(float* to, const float* from, size_t n) {
  if (to != from) std::memcpy(to, from, n * sizeof(float));
}
}  // namespace

CpuBackend::CpuBackend(const BackendOptions& o, float* params, float* m, float* v)
    : opt_(o),
      gpt_(o.model, int(o.batch_size), int(o.block_size), threads()),
      params_(params),
      m_(m),
      v_(v),
      grads_(gpt_.layout().total, 0.0f) {}

std::string CpuBackend::description() const {
  return "CPU, " + std::to_string(threads()) + " threads";
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

void CpuBackend::forward_backward(const uint32_t* x, const uint32_t* y, uint64_t steps_done) {
  const DropoutSpec drop{opt_.dropout, opt_.seed, steps_done};
  loss_ = gpt_.forward_backward(params_, x, y, int(opt_.batch_size), int(opt_.block_size), drop,
                                grads_.data());
}

void CpuBackend::optimizer_step(const OptimizerStep& s) {
  grad_norm_ = clip_grad_norm(grads_.data(), grads_.size(), s.grad_clip);
  adamw_step(gpt_.layout().tensors, params_, grads_.data(), m_, v_, s.lr, s.t, s.adamw);
}

double CpuBackend::eval_loss(const uint32_t* x, const uint32_t* y) {
  return gpt_.forward(params_, x, y, int(opt_.batch_size), int(opt_.block_size));
}

}  // namespace causalgen::train
