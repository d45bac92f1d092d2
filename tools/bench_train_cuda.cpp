#include "bench_train_cuda.hpp"

#include <chrono>
#include <random>
#include <vector>

#ifdef CAUSALGEN_HAVE_CUDA
#include "causalgen_cuda/trainer.hpp"
#include "host/random_model.hpp"
#endif

namespace causalgen::cli {

#ifdef CAUSALGEN_HAVE_CUDA
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

bool bench_train_cuda(const Config& c, uint32_t batch, uint32_t block, float dropout, bool bf16,
                      uint32_t iters, CudaBenchResult* out, std::string* error) {
  cuda::TrainerOptions o;
  o.batch_size = batch, o.block_size = block, o.dropout = dropout;
  o.precision = bf16 ? cuda::Precision::bf16 : cuda::Precision::f32;
  auto tr = cuda::Trainer::create(c, o, error);
  if (!tr) return false;
  const auto params = host::random_parameters(c, 1);
  tr->set_parameters(params.data());
  std::mt19937_64 rng(1);
  std::vector<uint32_t> x(size_t(batch) * block), y(x.size());
  auto fill = [&] {
    for (size_t i = 0; i < x.size(); ++i) {
      x[i] = uint32_t(rng() % c.vocab_size);
      y[i] = uint32_t(rng() % c.vocab_size);
    }
  };
  cuda::AdamWParams ap;
  const uint32_t warmup = 10;
  for (uint32_t s = 1; s <= warmup; ++s) {
    fill();
    tr->train_step(x.data(), y.data(), ap, s);
  }
  tr->last_loss();  // wait for the warm-up to finish
  const auto t0 = std::chrono::steady_clock::now();
  for (uint32_t s = 1; s <= iters; ++s) {
    fill();
    tr->train_step(x.data(), y.data(), ap, warmup + s);
  }
  out->final_loss = tr->last_loss();  // waits for the GPU
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  out->ms_per_iter = 1000.0 * secs / iters;
  out->tokens_per_s = double(iters) * batch * block / secs;
  out->tflops = out->tokens_per_s * train_flops_per_token(c, block) * 1e-12;
  return true;
}
#else
bool bench_train_cuda(const Config&, uint32_t, uint32_t, float, bool, uint32_t, CudaBenchResult*,
                      std::string* error) {
  *error = "this build has no CUDA support (configure with nvcc present, CAUSALGEN_CUDA=ON)";
  return false;
}
#endif

}  // namespace causalgen::cli
