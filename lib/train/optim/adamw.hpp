// AdamW (decoupled weight decay, as torch.optim.AdamW) over the flat
// parameter array, weight decay only on the matrices (TensorRange::decay),
// and global-norm gradient clipping.
//
// Step t (1-based), for each element, in float:
//   p = p * (1 - lr*wd)                      (matrices only)
//   m = b1*m + (1-b1)*g
//   v = b2*v + (1-b2)*g*g
//   p = p - (lr / (1-b1^t)) * m / (sqrt(v) / sqrt(1-b2^t) + eps)
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "train/model/params.hpp"

namespace causalgen::train {

struct AdamWParams {
  double beta1 = 0.9, beta2 = 0.99, eps = 1e-8, weight_decay = 0.1;
};

void adamw_step(const std::vector<TensorRange>& tensors, float* p, const float* g, float* m,
                float* v, double lr, uint64_t t, const AdamWParams& h);
// The same update of elements [first, first + count) of p only, with m and v
// holding just those elements' moments (m[0] is element first's): one rank's
// shard under ZeRO-1. Element for element it computes what adamw_step does.
void adamw_step_range(const std::vector<TensorRange>& tensors, float* p, const float* g, float* m,
                      float* v, size_t first, size_t count, double lr, uint64_t t,
                      const AdamWParams& h);

// sqrt(sum g^2) in double: fixed 4096-element chunks summed in order, so the
// result does not depend on the thread count.
double grad_norm(const float* g, size_t n);
// If norm > max_norm: g *= max_norm / (norm + 1e-6) (torch's clip_grad_norm_).
// Returns the norm before clipping.
double clip_grad_norm(float* g, size_t n, double max_norm);

}  // namespace causalgen::train
