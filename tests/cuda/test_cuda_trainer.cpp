// The CUDA trainer against independent references: the core's forward pass
// (logits), finite differences of the core's loss (gradients), its own f32
// mode (bf16 tolerances), and itself (determinism).
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "causalgen/causalgen.hpp"
#include "causalgen_cuda/backend.hpp"
#include "cuda_test_util.hpp"
#include "host/random_model.hpp"

using namespace causalgen;

namespace {

Config small_config(std::vector<Mixer> mixers, bool pos_emb, bool bias = true) {
  Config c;
  c.vocab_size = 23;
  c.block_size = 48;  // several 16-position segments of the shift kernels
  c.n_layer = uint32_t(mixers.size());
  c.n_embd = 32;
  c.n_head = 4;
  c.bias = bias;
  c.pos_emb = pos_emb;
  for (size_t l = 0; l < mixers.size(); ++l) c.mixers[l] = mixers[l];
  return c;
}

struct Batch {
  std::vector<uint32_t> x, y;
};
Batch random_batch(const Config& c, uint32_t B, uint32_t T, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Batch b;
  for (uint32_t i = 0; i < B * T; ++i) {
    b.x.push_back(uint32_t(rng() % c.vocab_size));
    b.y.push_back(uint32_t(rng() % c.vocab_size));
  }
  return b;
}

// Mean cross-entropy of the core's forward over each batch row.
double core_loss(const Config& c, const std::vector<float>& params, const Batch& b, uint32_t B,
                 uint32_t T, std::vector<float>* logits_out = nullptr) {
  auto bytes = host::make_model_file(c, host::default_codepoints(c.vocab_size), params);
  Model m;
  Error e;
  REQUIRE(parse_model(bytes.data(), bytes.size(), &m, &e) == Status::ok);
  std::vector<float> logits(size_t(T) * c.vocab_size);
  std::vector<float> arena(forward_arena_bytes(c, T) / 4 + 16);
  double total = 0;
  for (uint32_t r = 0; r < B; ++r) {
    REQUIRE(forward_sequence(m, b.x.data() + r * T, T, logits.data(), arena.data(),
                             arena.size() * 4, &e) == Status::ok);
    for (uint32_t t = 0; t < T; ++t) {
      const float* l = logits.data() + size_t(t) * c.vocab_size;
      double mx = l[0], s = 0;
      for (uint32_t j = 1; j < c.vocab_size; ++j) mx = std::max<double>(mx, l[j]);
      for (uint32_t j = 0; j < c.vocab_size; ++j) s += std::exp(l[j] - mx);
      total += std::log(s) + mx - l[b.y[r * T + t]];
    }
    if (logits_out) logits_out->insert(logits_out->end(), logits.begin(), logits.end());
  }
  return total / (B * T);
}

const std::vector<std::pair<const char*, std::vector<Mixer>>> kLayouts = {
    {"max", {Mixer::max, Mixer::max}},
    {"min", {Mixer::min, Mixer::min}},
    {"max-avg", {Mixer::max_avg, Mixer::max_avg}},
    {"min-avg", {Mixer::min_avg, Mixer::min_avg}},
    {"attention", {Mixer::attention, Mixer::attention}},
    {"hybrid", {Mixer::attention, Mixer::max_avg, Mixer::min}},
    {"ema", {Mixer::ema, Mixer::ema}},
    {"max-ema", {Mixer::max_ema, Mixer::max_ema}},
    {"mingru", {Mixer::mingru, Mixer::mingru}},
    {"recurrent hybrid", {Mixer::mingru, Mixer::max_ema, Mixer::attention, Mixer::ema}},
};

}  // namespace

TEST_CASE("cuda f32 forward equals the core's forward", "[cuda]") {
  require_gpu();
  for (const auto& [name, mixers] : kLayouts)
    for (bool pos : {false, true}) {
      INFO(name << " pos_emb=" << pos);
      const Config c = small_config(mixers, pos);
      const auto params = host::random_parameters(c, 7, 0.2f, 0.1f, 0.1f);
      const uint32_t B = 3, T = 48;
      train::BackendOptions o;
      o.model = c, o.batch_size = B, o.block_size = T, o.bf16 = false;
      std::string err;
      auto tr = cuda::create_backend(o, &err);
      REQUIRE(tr);
      tr->set_parameters(params.data());
      const Batch b = random_batch(c, B, T, 11);
      const float loss = tr->eval_loss(b.x.data(), b.y.data());
      std::vector<float> ref_logits, gpu_logits(size_t(B) * T * c.vocab_size);
      const double ref = core_loss(c, params, b, B, T, &ref_logits);
      tr->get_logits(gpu_logits.data());
      double worst = 0;
      for (size_t i = 0; i < gpu_logits.size(); ++i)
        worst = std::max(worst, double(std::fabs(gpu_logits[i] - ref_logits[i])));
      CHECK(worst < 2e-4);
      CHECK(std::fabs(loss - ref) < 1e-4);
    }
}

TEST_CASE("cuda f32 gradients match finite differences of the core's loss", "[cuda]") {
  require_gpu();
  for (const auto& [name, mixers] : kLayouts) {
    INFO(name);
    const Config c = small_config(mixers, std::string(name) == "attention");
    auto params = host::random_parameters(c, 3, 0.3f, 0.2f, 0.1f);
    const uint32_t B = 2, T = 40;  // a partial last segment
    train::BackendOptions o;
    o.model = c, o.batch_size = B, o.block_size = T, o.bf16 = false;
    std::string err;
    auto tr = cuda::create_backend(o, &err);
    REQUIRE(tr);
    tr->set_parameters(params.data());
    const Batch b = random_batch(c, B, T, 5);
    tr->forward_backward(b.x.data(), b.y.data(), 0);
    std::vector<float> grads(params.size());
    tr->get_gradients(grads.data());
    // A few elements of every tensor, central differences in f32 (eps 2e-3).
    std::mt19937_64 rng(9);
    size_t off = 0;
    int checked = 0;
    for (uint32_t ti = 0; ti < tensor_count(c); ++ti) {
      const TensorSpec t = tensor_spec(c, ti);
      const size_t n = size_t(t.rows) * t.cols;
      for (int k = 0; k < 3; ++k) {
        const size_t i = off + rng() % n;
        const float saved = params[i];
        const float eps = 2e-3f;
        params[i] = saved + eps;
        const double lp = core_loss(c, params, b, B, T);
        params[i] = saved - eps;
        const double lm = core_loss(c, params, b, B, T);
        params[i] = saved;
        const double fd = (lp - lm) / (2 * eps);
        INFO("tensor " << t.name << " element " << (i - off) << " analytic " << grads[i] << " fd " << fd);
        CHECK(std::fabs(grads[i] - fd) <= 2e-3 + 0.05 * std::fabs(fd));
        ++checked;
      }
      off += n;
    }
    CHECK(checked == int(3 * tensor_count(c)));
  }
}

TEST_CASE("cuda bf16 loss and gradients stay close to f32", "[cuda]") {
  require_gpu();
  for (const auto& [name, mixers] : kLayouts) {
    INFO(name);
    const Config c = small_config(mixers, true);
    const auto params = host::random_parameters(c, 21);
    const uint32_t B = 4, T = 48;
    const Batch b = random_batch(c, B, T, 1);
    std::vector<float> g32(params.size()), g16(params.size());
    float l32 = 0, l16 = 0;
    for (bool bf16 : {false, true}) {
      train::BackendOptions o;
      o.model = c, o.batch_size = B, o.block_size = T, o.bf16 = bf16;
      std::string err;
      auto tr = cuda::create_backend(o, &err);
      REQUIRE(tr);
      tr->set_parameters(params.data());
      tr->forward_backward(b.x.data(), b.y.data(), 0);
      const float l = float(tr->loss());
      tr->get_gradients(bf16 ? g16.data() : g32.data());
      (bf16 ? l16 : l32) = l;
    }
    CHECK(std::fabs(l32 - l16) < 1e-2 * std::fabs(l32));
    double dot = 0, n32 = 0, n16 = 0;
    for (size_t i = 0; i < g32.size(); ++i) {
      dot += double(g32[i]) * g16[i];
      n32 += double(g32[i]) * g32[i];
      n16 += double(g16[i]) * g16[i];
    }
    const double cosine = dot / std::sqrt(n32 * n16);
    INFO("gradient cosine similarity " << cosine);
    CHECK(cosine > 0.99);
  }
}

TEST_CASE("cuda training is deterministic for a seed and learns", "[cuda]") {
  require_gpu();
  const Config c = small_config({Mixer::max_avg, Mixer::attention}, true);
  const auto init = host::random_parameters(c, 4);
  const uint32_t B = 8, T = 16;
  std::vector<std::vector<float>> finals;
  std::vector<float> first_loss, last_loss;
  for (int run = 0; run < 2; ++run) {
    train::BackendOptions o;
    o.model = c, o.batch_size = B, o.block_size = T, o.dropout = 0.1f, o.seed = 77;
    std::string err;
    auto tr = cuda::create_backend(o, &err);
    REQUIRE(tr);
    tr->set_parameters(init.data());
    // A learnable stream: each token is the previous plus one.
    std::mt19937_64 rng(123);
    train::OptimizerStep ap;
    ap.lr = 3e-3;
    for (uint64_t step = 1; step <= 60; ++step) {
      Batch b;
      for (uint32_t r = 0; r < B; ++r) {
        uint32_t t0 = uint32_t(rng() % c.vocab_size);
        for (uint32_t t = 0; t < T; ++t) {
          b.x.push_back((t0 + t) % c.vocab_size);
          b.y.push_back((t0 + t + 1) % c.vocab_size);
        }
      }
      tr->forward_backward(b.x.data(), b.y.data(), step - 1);
      ap.t = step;
      tr->optimizer_step(ap);
      if (step == 1) first_loss.push_back(float(tr->loss()));
    }
    last_loss.push_back(float(tr->loss()));
    std::vector<float> p(init.size());
    tr->get_parameters(p.data());
    finals.push_back(p);
  }
  CHECK(finals[0] == finals[1]);
  CHECK(last_loss[0] < 0.5f * first_loss[0]);
}
