#include "bench_train_cuda.hpp"

#include <chrono>
#include <random>
#include <vector>

#include "host/random_model.hpp"

namespace causalgen::cli {

// Training FLOPs per token: 6 per weight of every matrix product (forward
// and both backward products) plus attention's scores and mixing.
static double train_flops_per_token(const Config& c, uint32_t T) {
  const double C = c.n_embd;
  double f = 6.0 * c.vocab_size * C;
  for (uint32_t l = 0; l < c.n_layer; ++l) {
    f += 6.0 * 9.0 * C * C;
    if (c.mixers[l] == Mixer::attention) f += 6.0 * 3.0 * C * C + 6.0 * 2.0 * C * T;  // full T x T
  }
  return f;
}

CudaBenchResult bench_train_backend(train::Backend& b, const train::BackendOptions& o,
                                    uint32_t iters) {
  const Config& c = o.model;
  const auto params = host::random_parameters(c, 1);
  b.set_parameters(params.data());
  std::mt19937_64 rng(1);
  std::vector<uint32_t> x(size_t(o.batch_size) * o.block_size), y(x.size());
  auto step = [&](uint64_t done) {
    for (size_t i = 0; i < x.size(); ++i) {
      x[i] = uint32_t(rng() % c.vocab_size);
      y[i] = uint32_t(rng() % c.vocab_size);
    }
    train::OptimizerStep s;
    s.t = done + 1;
    b.forward_backward(x.data(), y.data(), done);
    b.optimizer_step(s);
  };
  const uint32_t warmup = 10;
  for (uint32_t s = 0; s < warmup; ++s) step(s);
  b.loss();  // wait for the warm-up to finish
  const auto t0 = std::chrono::steady_clock::now();
  for (uint32_t s = 0; s < iters; ++s) step(warmup + s);
  CudaBenchResult out;
  out.final_loss = float(b.loss());  // waits for the GPU
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  out.ms_per_iter = 1000.0 * secs / iters;
  out.tokens_per_s = double(iters) * o.batch_size * o.block_size / secs;
  out.tflops = out.tokens_per_s * train_flops_per_token(c, o.block_size) * 1e-12;
  return out;
}

}  // namespace causalgen::cli
