// The CUDA trainer against the CPU trainer (lib/train): per-tensor gradients,
// a few training steps with matching losses, and checkpoints that resume on
// the other device. Needs a GPU; exits 77 (skipped) without one.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "causalgen_cuda/backend.hpp"
#include "cuda_test_util.hpp"
#include "train/io/checkpoint.hpp"
#include "train/model/data_parallel.hpp"
#include "train/loop/trainer.hpp"

using namespace causalgen;

namespace {

// A small text with a 40-odd character vocabulary, written to a temp file.
std::string write_text() {
  const std::string path =
      (std::filesystem::temp_directory_path() / "causalgen_cuda_vs_cpu.txt").string();
  std::ofstream f(path);
  for (int i = 0; i < 400; ++i)
    f << "The quick brown fox jumps over the lazy dog " << i % 17 << ".\nPack my box with five "
      << "dozen liquor jugs!\n";
  return path;
}

train::TrainConfig small_train_config(const std::string& mixer) {
  train::TrainOverrides ov;
  ov.set("base", "tiny");
  std::vector<Mixer> ms;
  std::string err;
  REQUIRE(train::parse_mixer_list(mixer, &ms, &err));
  ov.set("mixer", ms);
  ov.set("n_layer", ms.size() > 1 ? ms.size() : 2);
  ov.set("n_embd", 48);
  ov.set("n_head", 4);
  ov.set("block_size", 32);
  ov.set("batch_size", 4);
  ov.set("max_iters", 20);
  ov.set("warmup_iters", 2);
  ov.set("threads", 1);
  ov.set("dropout", 0.0);
  train::TrainConfig c;
  REQUIRE(train::resolve_config(ov, &c, &err));
  return c;
}

double max_abs_diff(const float* a, const float* b, size_t n) {
  double d = 0;
  for (size_t i = 0; i < n; ++i) d = std::max(d, double(std::fabs(a[i] - b[i])));
  return d;
}

// The CUDA backend for a run's config (the test fails if there is none).
std::unique_ptr<train::Backend> cuda_backend(const train::TrainConfig& c, bool bf16) {
  std::string err;
  auto b = cuda::create_backend(train::backend_options(c, bf16), &err);
  INFO(err);
  REQUIRE(b);
  return b;
}

const char* kMixers[] = {"max", "min", "max-avg", "min-avg", "attention", "attention,max-avg,min",
                         "ema", "max-ema", "mingru", "mingru,max-ema,attention,ema"};

}  // namespace

TEST_CASE("cuda f32 gradients equal the CPU trainer's, tensor by tensor", "[cuda]") {
  require_gpu();
  const std::string path = write_text();
  for (const char* mixer : kMixers) {
    INFO(mixer);
    train::TextData data;
    std::string err;
    REQUIRE(train::load_text_data(path, &data, &err));
    train::TrainState s;
    train::init_state(small_train_config(mixer), data, &s);
    const Config& mc = s.config.model;
    const uint32_t B = s.config.batch_size, T = mc.block_size;
    std::vector<uint32_t> x(B * T), y(B * T);
    train::sample_batch(data.train, B, T, s.batch_rng, x.data(), y.data());

    train::DataParallelGpt cpu(mc, int(B), int(T), 1);
    std::vector<float> g_cpu(s.params.size()), g_gpu(s.params.size());
    const double l_cpu = cpu.forward_backward(s.params.data(), x.data(), y.data(), int(B), int(T),
                                              train::DropoutSpec{}, g_cpu.data());
    auto gpu = cuda::create_backend(train::backend_options(s.config, /*bf16=*/false), &err);
    REQUIRE(gpu);
    gpu->set_parameters(s.params.data());
    gpu->forward_backward(x.data(), y.data(), 0);
    const double l_gpu = gpu->loss();
    gpu->get_gradients(g_gpu.data());
    CHECK(std::fabs(l_cpu - l_gpu) < 1e-5);
    const train::ParamLayout lay(mc);
    for (const auto& t : lay.tensors) {
      double num = 0, den = 0;
      for (size_t i = t.offset; i < t.offset + t.size; ++i) {
        num += double(g_cpu[i] - g_gpu[i]) * (g_cpu[i] - g_gpu[i]);
        den += double(g_cpu[i]) * g_cpu[i];
      }
      INFO("tensor " << t.name << " relative error " << std::sqrt(num / std::max(den, 1e-30)));
      CHECK(std::sqrt(num) <= 1e-4 * std::sqrt(den) + 1e-7);
    }
  }
}

TEST_CASE("cuda and CPU training steps give matching losses", "[cuda]") {
  require_gpu();
  const std::string path = write_text();
  for (const char* mixer : {"max-avg", "attention", "mingru,max-ema"})
    for (bool bf16 : {false, true}) {
      INFO(mixer << (bf16 ? " bf16" : " f32"));
      train::TextData data;
      std::string err;
      REQUIRE(train::load_text_data(path, &data, &err));
      train::TrainState a, b;
      train::init_state(small_train_config(mixer), data, &a);
      b = a;
      train::Trainer cpu(a), gpu(b, cuda_backend(b.config, bf16));
      for (int i = 0; i < 10; ++i) {
        const double lc = cpu.step(data), lg = gpu.step(data);
        CHECK(std::fabs(lc - lg) < (bf16 ? 3e-2 : 1e-4) * std::max(1.0, std::fabs(lc)));
      }
      gpu.sync_to_state();
      // AdamW moves every weight by about lr per step whatever the gradient's
      // size, so where bf16 flips the sign of a tiny gradient the weights can
      // part by up to 2 * lr * steps (0.02 here); f32 stays close.
      CHECK(max_abs_diff(a.params.data(), b.params.data(), a.params.size()) < (bf16 ? 2e-2 : 1e-4));
      CHECK(a.step == b.step);
    }
}

TEST_CASE("checkpoints resume across devices", "[cuda]") {
  require_gpu();
  const std::string path = write_text();
  const std::string ckpt =
      (std::filesystem::temp_directory_path() / "causalgen_cuda_resume.cgc").string();
  train::TextData data;
  std::string err;
  REQUIRE(train::load_text_data(path, &data, &err));
  train::TrainState straight;
  train::init_state(small_train_config("max-avg"), data, &straight);
  train::TrainState start = straight;
  {
    train::Trainer cpu(straight);
    for (int i = 0; i < 8; ++i) cpu.step(data);
  }
  for (bool gpu_first : {true, false}) {
    INFO((gpu_first ? "CUDA then CPU" : "CPU then CUDA"));
    train::TrainState s = start;
    {
      train::Trainer t = gpu_first ? train::Trainer(s, cuda_backend(s.config, false))
                                   : train::Trainer(s);
      for (int i = 0; i < 4; ++i) t.step(data);
      t.sync_to_state();
      REQUIRE(train::save_checkpoint(ckpt, s, &err));
    }
    train::TrainState r;
    REQUIRE(train::load_checkpoint(ckpt, &r, &err));
    REQUIRE(r.step == 4);
    {
      train::Trainer t = gpu_first ? train::Trainer(r)
                                   : train::Trainer(r, cuda_backend(r.config, false));
      for (int i = 0; i < 4; ++i) t.step(data);
      t.sync_to_state();
    }
    CHECK(r.step == straight.step);
    // f32 on both sides: the same batches and updates, different summation orders.
    CHECK(max_abs_diff(r.params.data(), straight.params.data(), r.params.size()) < 1e-4);
    CHECK(max_abs_diff(r.m.data(), straight.m.data(), r.m.size()) < 1e-5);
  }
  std::filesystem::remove(ckpt);
}
