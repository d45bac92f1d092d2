// Evaluation of a model on a text split, two ways:
//  - nanoGPT's estimate: the mean loss of `iters` batches of B random windows;
//  - a deterministic pass over the whole split: consecutive windows of T
//    inputs (stride T), so every token after the first is predicted exactly
//    once, from the context since the start of its window; the last window
//    may be shorter. Mean over all predicted tokens.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "train/model/data_parallel.hpp"
#include "train/model/rng.hpp"

namespace causalgen::train {

double estimate_loss(DataParallelGpt& g, const float* params, const std::vector<uint32_t>& split, int B,
                     int T, uint32_t iters, Rng& rng);

struct FullPass {
  double loss = 0;
  uint64_t tokens = 0;  // predictions made (split size - 1)
};
// g must hold B windows of T.
FullPass full_pass_loss(DataParallelGpt& g, const float* params, const std::vector<uint32_t>& split,
                        int B, int T);

}  // namespace causalgen::train

namespace causalgen {
struct Model;
}
namespace causalgen::train {

// The same two measures computed by the core's own forward pass
// (forward_sequence, one window at a time, windows spread over threads):
// what a deployed model file computes, f32 or int8. The estimate draws the
// same windows as estimate_loss for the same rng state.
double core_estimate_loss(const Model& m, const std::vector<uint32_t>& split, int B, int T,
                          uint32_t iters, Rng& rng, std::string* err);
FullPass core_full_pass_loss(const Model& m, const std::vector<uint32_t>& split, int T,
                             std::string* err);

}  // namespace causalgen::train
