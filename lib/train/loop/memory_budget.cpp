#include "train/loop/memory_budget.hpp"

#include "host/memory_limit.hpp"
#include "train/model/data_parallel.hpp"

namespace causalgen::train {

namespace {

std::string shape(const Config& m, uint32_t batch_size, int threads) {
  return std::to_string(m.n_layer) + " layers x " + std::to_string(m.n_embd) + " (" +
         std::to_string(m.parameter_count()) + " parameters), batch " +
         std::to_string(batch_size) + " x " + std::to_string(m.block_size) + " on " +
         std::to_string(threads) + " thread(s)";
}

}  // namespace

uint64_t training_bytes(const TrainConfig& c, int threads) {
  const uint64_t p = c.model.parameter_count();
  return 4 * p * sizeof(float) +
         DataParallelGpt::bytes(c.model, int(c.batch_size), int(c.model.block_size), threads);
}

uint64_t evaluation_bytes(const Config& m, uint32_t batch_size, int threads) {
  return m.parameter_count() * sizeof(float) +
         DataParallelGpt::bytes(m, int(batch_size), int(m.block_size), threads);
}

bool check_training_memory(const TrainConfig& c, int threads, std::string* err) {
  if (host::check_budget(training_bytes(c, threads),
                         "training " + shape(c.model, c.batch_size, threads), err))
    return true;
  *err += "; use a smaller --n-embd, --n-layer, --batch-size or --block-size";
  return false;
}

bool check_evaluation_memory(const Config& m, uint32_t batch_size, int threads, std::string* err) {
  if (host::check_budget(evaluation_bytes(m, batch_size, threads),
                         "evaluating " + shape(m, batch_size, threads), err))
    return true;
  *err += "; use a smaller --batch-size or fewer --threads";
  return false;
}

}  // namespace causalgen::train
