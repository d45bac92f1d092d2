// causalgen bench train: training throughput of the CPU trainer beside the
// machine's own BLAS sgemm, measured in the same run. A benchmark, not a
// test: it prints figures for docs/benchmarks.md.
#include <cblas.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "bench_train_cuda.hpp"
#include "cli_checks.hpp"
#include "commands.hpp"
#include "host/mixer_names.hpp"
#include "train/loop/backend_library.hpp"
#include "train/loop/memory_budget.hpp"
#include "train/model/gemm.hpp"
#include "train/data/text_data.hpp"
#include "train/loop/trainer.hpp"

namespace causalgen::cli {

namespace {

// --mixer: one mixer (or a per-layer list), or "all": every registered mixer.
std::vector<std::string> mixers_to_bench(const std::string& option) {
  if (option != "all") return {option};
  const std::vector<const char*> all = host::registered_mixers();
  return {all.begin(), all.end()};
}


struct BenchTrainOptions {
  std::string config = "tiny", mixer = "all", data, device = "cpu", precision = "bf16";
  uint32_t threads = 2, steps = 40, warmup = 5;
  uint64_t seed = 1;
};

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string cpu_name() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown CPU";
}

// GFLOP/s of C[M,N] = A[M,K] B[N,K]^T through the trainer's split sgemm.
double sgemm_gflops(int M, int N, int K, double seconds) {
  std::vector<float> A(size_t(M) * K, 0.5f), B(size_t(N) * K, 0.25f), C(size_t(M) * N);
  train::gemm_nt<float>(C.data(), A.data(), B.data(), M, N, K, 0.0f);  // warm
  uint64_t n = 0;
  const double t0 = now_s();
  double t;
  do {
    train::gemm_nt<float>(C.data(), A.data(), B.data(), M, N, K, 0.0f);
    ++n;
    t = now_s() - t0;
  } while (t < seconds);
  return 2.0 * M * N * K * n / t * 1e-9;
}

// Matmul and attention FLOPs of one training step (forward + backward = 3x
// forward), multiply and add counted apart.
double flops_per_step(const Config& c, uint32_t B) {
  const double N = double(B) * c.block_size, C = c.n_embd, T = c.block_size;
  double f = 2.0 * N * c.vocab_size * C;  // logits
  for (uint32_t l = 0; l < c.n_layer; ++l) {
    f += 2.0 * N * 9.0 * C * C;  // wo, fc1, fc2
    if (c.mixers[l] == Mixer::attention)
      f += 2.0 * N * 3.0 * C * C + 2.0 * B * C * T * (T + 1);  // qkv; QK^T and AV
  }
  return 3.0 * f;
}

// --device cuda: the GPU trainer on random tokens (speed does not depend on
// the text), each mixer of the named config.
int run_bench_train_cuda(const BenchTrainOptions& o) {
  const std::vector<std::string> mixers = mixers_to_bench(o.mixer);
  std::printf("CUDA trainer, %s config, %s products, %u timed steps after 10 warm-up, random tokens "
              "(vocab 65)\n\n", o.config.c_str(), o.precision.c_str(), o.steps);
  std::printf("| mixer | params | ms/iter | tokens/s | TFLOP/s |\n|---|---:|---:|---:|---:|\n");
  for (const std::string& mx : mixers) {
    train::TrainOverrides ov;
    ov.set("base", o.config);
    std::vector<Mixer> ms;
    std::string err;
    if (!train::parse_mixer_list(mx, &ms, &err)) return error(err);
    ov.set("mixer", ms);
    train::TrainConfig c;
    if (!train::resolve_config(ov, &c, &err)) return error(err);
    c.model.vocab_size = 65;
    const train::BackendOptions bo = train::backend_options(c, o.precision == "bf16");
    const std::unique_ptr<train::Backend> b = train::open_cuda_backend(bo, &err);
    if (!b) return error(err);
    const CudaBenchResult r = bench_train_backend(*b, bo, o.steps);
    std::printf("| %s | %llu | %.3f | %.0f | %.1f |\n", mx.c_str(),
                static_cast<unsigned long long>(c.model.parameter_count()), r.ms_per_iter,
                r.tokens_per_s, r.tflops);
    std::fflush(stdout);
  }
  std::printf("\nTFLOP/s counts 6 FLOPs per weight per token plus attention's T x T products.\n");
  return 0;
}

// The text to train on: --data, or random characters from a 65-letter vocabulary.
bool bench_data(const BenchTrainOptions& o, train::TextData* data, std::string* err) {
  if (!o.data.empty()) return train::load_text_data(o.data, data, err);
  for (uint32_t i = 0; i < 65; ++i) data->vocab.push_back(i == 0 ? '\n' : ' ' + i);
  train::Rng rng;
  rng.seed(o.seed);
  data->train.resize(200000);
  for (auto& t : data->train) t = uint32_t(rng.below(65));
  data->val = data->train;
  data->path = "(random tokens)";
  return true;
}

void print_sgemm_table(unsigned threads) {
  std::printf("BLAS sgemm (row-major C = A B^T, split over %u threads as the trainer does):\n",
              threads);
  std::printf("| M x N x K | GFLOP/s |\n|---|---:|\n");
  for (auto [M, N, K] : {std::tuple{1024, 1024, 1024}, std::tuple{768, 512, 128},
                         std::tuple{768, 128, 512}, std::tuple{768, 128, 128}}) {
    std::printf("| %d x %d x %d | %.1f |\n", M, N, K, sgemm_gflops(M, N, K, 1.0));
    std::fflush(stdout);
  }
}

// One row of the training table: `mixer` trained for o.steps timed steps.
bool bench_one_mixer(const BenchTrainOptions& o, const std::string& mixer,
                     const train::TextData& data, std::string* err) {
  train::TrainOverrides ov;
  ov.set("base", o.config);
  std::vector<Mixer> ms;
  if (!train::parse_mixer_list(mixer, &ms, err)) return false;
  ov.set("mixer", ms);
  ov.set("seed", o.seed);
  ov.set("threads", o.threads);
  train::TrainConfig c;
  if (!train::resolve_config(ov, &c, err) ||
      !train::check_windows(data, c.model.block_size, err))
    return false;
  c.model.vocab_size = uint32_t(data.vocab.size());
  if (!train::check_training_memory(c, train::threads(), err)) return false;
  train::TrainState s;
  train::init_state(c, data, &s);
  train::Trainer tr(s);
  for (uint32_t i = 0; i < o.warmup; ++i) tr.step(data);
  const double t0 = now_s();
  for (uint32_t i = 0; i < o.steps; ++i) tr.step(data);
  const double dt = (now_s() - t0) / o.steps;
  // Evaluation forward passes: 2 splits x eval_iters batches per eval, at
  // steps 0, interval, ..., max (each about a third of a training step).
  const double evals = double(c.max_iters / c.eval_interval + 1) * 2 * c.eval_iters;
  const double run_s = dt * (c.max_iters + evals / 3.0);
  const double tokens = double(c.batch_size) * c.model.block_size;
  const Config& mc = s.config.model;  // with the data's vocabulary
  std::printf("| %s | %llu | %.1f | %.0f | %.1f | %.0f s |\n", mixer.c_str(),
              static_cast<unsigned long long>(mc.parameter_count()), dt * 1e3, tokens / dt,
              flops_per_step(mc, c.batch_size) / dt * 1e-9, run_s);
  std::fflush(stdout);
  return true;
}

int run_bench_train(const BenchTrainOptions& o) {
  if (o.device == "cuda") return run_bench_train_cuda(o);
  train::set_threads(int(o.threads));
  train::TextData data;
  std::string err;
  if (!bench_data(o, &data, &err)) return error(err);
  std::printf("machine: %s, %d cores online; OpenBLAS %s (core %s)\n", cpu_name().c_str(),
              train::default_threads(), openblas_get_config(), openblas_get_corename());
  std::printf("threads: %u\n\n", o.threads);
  print_sgemm_table(o.threads);
  std::printf("\ntraining steps (%s config, data %s, %u timed steps after %u warm-up):\n",
              o.config.c_str(), o.data.empty() ? "random tokens" : o.data.c_str(), o.steps,
              o.warmup);
  std::printf("| mixer | params | ms/step | tokens/s | GFLOP/s | est. %s run |\n"
              "|---|---:|---:|---:|---:|---:|\n", o.config.c_str());
  for (const std::string& mixer : mixers_to_bench(o.mixer))
    if (!bench_one_mixer(o, mixer, data, &err)) return error(err);
  std::printf("\nGFLOP/s counts the matmul and attention FLOPs of forward + backward (3x forward).\n");
  return 0;
}

}  // namespace

void add_bench_train(CLI::App* bench, int& exit_code) {
  auto o = std::make_shared<BenchTrainOptions>();
  CLI::App* sub = bench->add_subcommand("train", trainer_description("bench", "train"));
  sub->add_option("--device", o->device, "cpu or cuda")->check(CLI::IsMember({"cpu", "cuda"}));
  sub->add_option("--precision", o->precision, "CUDA products: bf16 or f32")
      ->check(CLI::IsMember({"bf16", "f32"}));
  sub->add_option("--config", o->config, "tiny or small")->check(CLI::IsMember({"tiny", "small"}));
  sub->add_option("--mixer", o->mixer, "A mixer (list) or all (every registered mixer, one by one)");
  sub->add_option("--threads", o->threads, "Threads")->check(count_range(1, 1024));
  sub->add_option("--steps", o->steps, "Timed steps per mixer")->check(count_range(1, 100000));
  sub->add_option("--warmup", o->warmup, "Untimed steps first")->check(count_range(0, 100000));
  sub->add_option("--data", o->data, "Train on this text (default: random tokens, vocab 65)");
  add_seed_option(sub, o->seed, "Seed");
  sub->callback([o, &exit_code] { exit_code = run_bench_train(*o); });
}

}  // namespace causalgen::cli
