#include "train/optim/lr_schedule.hpp"

#include <cmath>

namespace causalgen::train {

double LrSchedule::at(uint64_t it) const {
  if (it < warmup_iters) return lr * double(it + 1) / double(warmup_iters + 1);
  if (it > decay_iters || decay_iters <= warmup_iters) return min_lr;
  const double r = double(it - warmup_iters) / double(decay_iters - warmup_iters);
  const double coeff = 0.5 * (1.0 + std::cos(3.141592653589793 * r));
  return min_lr + coeff * (lr - min_lr);
}

}  // namespace causalgen::train
