// Data parallelism for one machine: the batch is split into one contiguous
// part per thread, each thread runs the whole forward and backward of its
// part through its own model replica (Gpt<float>, single-threaded inside, so
// BLAS calls run concurrently), and the parts' gradients are combined in a
// fixed order: sum_i (n_i / B) g_i. One parallel region per step instead of
// one per operation keeps two threads efficient even on a busy machine, and
// the fixed split and order make results reproducible for a thread count.
// Dropout masks are indexed by the whole batch's positions, so they do not
// depend on the split.
#pragma once
#include <memory>
#include <vector>

#include "train/model/gpt.hpp"

namespace causalgen::train {

class DataParallelGpt {
 public:
  // parts: how many threads share a batch (>= 1).
  DataParallelGpt(const Config& c, int max_B, int max_T, int parts);
  // The bytes such a DataParallelGpt allocates: its replicas' buffers and,
  // with more than one part, a gradient per part.
  static uint64_t bytes(const Config& c, int max_B, int max_T, int parts);

  const ParamLayout& layout() const { return reps_[0]->layout(); }
  int parts() const { return int(reps_.size()); }

  // Mean loss over the B*T positions (dropout as given; p = 0 to evaluate).
  double forward(const float* params, const uint32_t* x, const uint32_t* y, int B, int T,
                 const DropoutSpec& drop = {});
  // Forward and backward: writes grads (the mean loss's gradient) and
  // returns the mean loss. `ready` (gpt.hpp) is told as grads become final:
  // layer by layer with one part; with several, once (0) after the parts'
  // gradients are combined (the threads finish their layers at other times).
  double forward_backward(const float* params, const uint32_t* x, const uint32_t* y, int B, int T,
                          const DropoutSpec& drop, float* grads, const GradsReady& ready = {});

 private:
  std::vector<std::unique_ptr<Gpt<float>>> reps_;
  std::vector<std::vector<float>> grads_;  // per part (part 0 included)
  // Part i holds windows [b0(i), b0(i+1)).
  int b0(int i, int B) const { return int(int64_t(B) * i / int64_t(reps_.size())); }
  // Forward of part i on its windows; returns its summed loss (mean x windows), 0 if empty.
  double forward_part(int i, const float* params, const uint32_t* x, const uint32_t* y, int B,
                      int T, const DropoutSpec& drop);
};

}  // namespace causalgen::train
