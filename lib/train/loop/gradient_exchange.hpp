// A step's gradient all-reduce overlapped with the backward pass
// (docs/distributed.md): the flat gradient is cut at layer boundaries into
// buckets, and each bucket's weighted sum over the ranks starts as soon as
// the backward pass has finished it (GradsReady, gpt.hpp), last layer
// first; finish() waits for all of them before clipping and AdamW.
//
// Every rank cuts the same buckets from the layout alone and starts them in
// the same order, whatever its thread count or when it learns that they are
// ready, so the ranks' non-blocking collectives always match. Each element
// is scaled and summed exactly as the blocking path does (w * g, one sum
// over the ranks), so with 2 ranks the result is the same bit for bit.
#pragma once
#include <cstddef>
#include <vector>

#include "train/loop/backend.hpp"
#include "train/model/params.hpp"

namespace causalgen::train {

class GradientExchange {
 public:
  // Buckets hold whole layers, merged from the last layer down until they
  // have at least min_floats values (the final LayerNorm alone is tiny).
  GradientExchange(Communicator& comm, const ParamLayout& lay, size_t min_floats = kMinBucket);

  // A step's exchange of grads (the layout's size), each value scaled by
  // weight first (this rank's rows / the global batch).
  void begin(float* grads, float weight);
  // grads[first, end) are final: starts every bucket inside that range not yet
  // started, in order, and lets started ones advance.
  void ready(size_t first);
  // Starts what is left and waits for every bucket.
  void finish();

  struct Bucket {
    size_t first, count;
  };
  // Last layer's first, covering the whole gradient.
  const std::vector<Bucket>& buckets() const { return buckets_; }

  static constexpr size_t kMinBucket = size_t(1) << 16;  // 256 KiB of floats

 private:
  Communicator& comm_;
  std::vector<Bucket> buckets_;
  float* grads_ = nullptr;
  float weight_ = 1.0f;
  size_t started_ = 0;  // buckets started this step
};

}  // namespace causalgen::train
