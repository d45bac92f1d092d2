// nanoGPT's learning rate: linear warmup, cosine decay to min_lr at
// decay_iters, min_lr after.
//   it <  warmup:        lr * (it + 1) / (warmup + 1)
//   it >  decay_iters:   min_lr
//   otherwise:           min_lr + 0.5 (1 + cos(pi r)) (lr - min_lr),
//                        r = (it - warmup) / (decay_iters - warmup)
#pragma once
#include <cstdint>

namespace causalgen::train {

struct LrSchedule {
  double lr = 1e-3, min_lr = 1e-4;
  uint64_t warmup_iters = 100, decay_iters = 2000;
  double at(uint64_t it) const;
};

}  // namespace causalgen::train
