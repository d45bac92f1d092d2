// What training and evaluation will allocate, computed from their
// configuration before anything is allocated, and checked against the
// machine's memory (host::memory_limit): a shape or batch the flags allow
// but the machine cannot hold is one message with both figures, not
// std::bad_alloc part-way through.
#pragma once
#include <cstdint>
#include <string>

#include "train/loop/train_config.hpp"

namespace causalgen::train {

// Parameters, AdamW's two moments and the gradient (4 per parameter), plus
// the batch's activations on `threads` threads (DataParallelGpt::bytes).
uint64_t training_bytes(const TrainConfig& c, int threads);
// The parameters plus the batch's activations (forward only, same buffers).
uint64_t evaluation_bytes(const Config& m, uint32_t batch_size, int threads);

// False with *err naming the figure, the limit and what to make smaller.
bool check_training_memory(const TrainConfig& c, int threads, std::string* err);
bool check_evaluation_memory(const Config& m, uint32_t batch_size, int threads, std::string* err);

}  // namespace causalgen::train
