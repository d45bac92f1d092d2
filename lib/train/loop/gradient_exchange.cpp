#include "train/loop/gradient_exchange.hpp"

namespace causalgen::train {

namespace {

// Where the backward pass finishes gradients (gpt.hpp's GradsReady), from
// the end: the final LayerNorm, each layer from the last, the embeddings (0).
std::vector<size_t> finish_points(const ParamLayout& lay) {
  std::vector<size_t> at{lay.at(TensorRole::lnf_w)};
  for (size_t l = lay.layers.size(); l-- > 0;) at.push_back(lay.at(TensorRole::ln1_w, uint32_t(l)));
  at.push_back(0);
  return at;
}

}  // namespace

GradientExchange::GradientExchange(Communicator& comm, const ParamLayout& lay, size_t min_floats)
    : comm_(comm) {
  size_t end = lay.total;
  for (size_t first : finish_points(lay)) {
    if (end - first < min_floats && first != 0) continue;  // merge with the next layer down
    if (end > first) buckets_.push_back({first, end - first});
    end = first;
  }
}

void GradientExchange::begin(float* grads, float weight) {
  grads_ = grads;
  weight_ = weight;
  started_ = 0;
}

void GradientExchange::ready(size_t first) {
  for (; started_ < buckets_.size() && buckets_[started_].first >= first; ++started_) {
    float* g = grads_ + buckets_[started_].first;
    const size_t n = buckets_[started_].count;
    for (size_t i = 0; i < n; ++i) g[i] = weight_ * g[i];
    comm_.start_allreduce_sum(g, n);
  }
  comm_.progress();
}

void GradientExchange::finish() {
  ready(0);
  comm_.wait_all();
}

}  // namespace causalgen::train
