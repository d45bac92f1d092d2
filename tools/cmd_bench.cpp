// causalgen bench generate: generation speed and state size by position.
// A benchmark, not a test: it prints figures for docs/benchmarks.md.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "causalgen/tensors.hpp"
#include "cli_checks.hpp"
#include "commands.hpp"
#include "stdout_check.hpp"
#include "host/mixer_names.hpp"
#include "host/model_io.hpp"
#include "host/random_model.hpp"

namespace causalgen::cli {

namespace {

struct BenchOptions {
  std::string model, shape = "tiny", mixer = "max-avg";
  std::vector<uint64_t> positions{1000, 10000, 100000};
  uint32_t vocab = 65;
  double seconds = 1.0;  // measuring time per position
  uint64_t seed = 1;
};

// Matrix-vector and attention FLOPs (multiply and add counted apart) for one
// character at window position w (0-based): every weight matrix of the tensor
// table is one product per character (wte: the logits), except wpe,
// a lookup; attention adds its scores and weighted sum over the positions it sees.
double flops_per_char(const Config& c, uint64_t w) {
  const double C = c.n_embd;
  double f = 0;
  for (uint32_t i = 0; i < tensor_count(c); ++i) {
    const TensorSpec t = tensor_spec(c, i);
    if (t.kind == TensorKind::matrix && t.role != TensorRole::wpe) f += 2.0 * t.rows * t.cols;
  }
  for (uint32_t l = 0; l < c.n_layer; ++l) {
    if (mixer_window_limited(c.mixers[l])) f += 4.0 * C * double(w + 1);
    if (mixer_takes_window(c.mixers[l]))  // the last W positions only, whatever w is
      f += 4.0 * C * double(std::min<uint64_t>(w + 1, c.window[l]));
  }
  return f;
}

// The model to measure: --model's file, or random weights of a named shape.
bool load_bench_model(const BenchOptions& o, host::LoadedModel* lm, std::string* label,
                      std::string* err) {
  if (!o.model.empty()) {
    *label = o.model;
    return host::load_model(o.model, lm, err);
  }
  Mixer mx;
  if (!parse_mixer(o.mixer.c_str(), &mx)) return *err = "unknown mixer '" + o.mixer + "'", false;
  Config c;
  if (!named_config(o.shape.c_str(), mx, &c))
    return *err = "unknown shape '" + o.shape + "' (tiny, small)", false;
  c.vocab_size = o.vocab;
  const std::vector<uint8_t> file = host::make_model_file(
      c, host::default_codepoints(c.vocab_size), host::random_parameters(c, o.seed));
  lm->bytes = host::aligned_bytes(file.size());
  std::copy(file.begin(), file.end(), lm->bytes.data.get());
  Error e;
  if (parse_model(lm->bytes.data.get(), lm->bytes.size, &lm->model, &e) != Status::ok)
    return *err = e.message, false;
  *label = o.shape + " " + o.mixer + " (random weights)";
  return true;
}

void print_bench_header(const std::string& label, const Config& c) {
  std::printf("model: %s\n", label.c_str());
  std::printf("shape: %u layers x %u, vocab %u, mixers", c.n_layer, c.n_embd, c.vocab_size);
  for (uint32_t l = 0; l < c.n_layer; ++l) std::printf(" %s", mixer_name(c.mixers[l]));
  std::printf(", %llu parameters, single thread\n\n", static_cast<unsigned long long>(c.parameter_count()));
  std::printf("| position | chars/s | GFLOP/s | state bytes |\n|---:|---:|---:|---:|\n");
}

// Characters per second at position p (the state already there): runs of up
// to 16 characters from p, restoring a snapshot of the state (one memcpy of
// its arena) and the sampler between runs, so that a window-limited model is
// measured inside its window; for at least `seconds`.
template <class Step>
double chars_per_s_at(uint64_t p, const Config& c, host::OwnedState& st, Pcg32& rng, double seconds,
                      Step step) {
  const uint64_t run = c.window_limited() && p < c.block_size
                           ? std::max<uint64_t>(1, std::min<uint64_t>(16, c.block_size - p))
                           : 16;
  std::vector<uint8_t> snapshot(st.mem.data.get(), st.mem.data.get() + st.mem.size);
  const Pcg32 rng_at_p = rng;
  uint64_t n = 0;
  double secs = 0;
  do {
    std::copy(snapshot.begin(), snapshot.end(), st.mem.data.get());
    rng = rng_at_p;
    const auto t0 = std::chrono::steady_clock::now();
    for (uint64_t i = 0; i < run; ++i) step();
    secs += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    n += run;
  } while (secs < seconds);
  return n / secs;
}

int run_bench_generate(const BenchOptions& o) {
  host::LoadedModel lm;
  std::string err, label;
  if (!load_bench_model(o, &lm, &label, &err)) return error(err);
  const Model& m = lm.model;
  const Config& c = m.config;
  host::OwnedState st;
  if (!host::make_state(m, &st, &err)) return error(err);
  State* s = st.state;
  Pcg32 rng;
  rng.seed(o.seed);
  const SamplerParams sp{1.0f, 0, 1.0f};
  Error e;
  auto step = [&] {
    const uint32_t tok = sample_token(s->logits, c.vocab_size, sp, &rng, s->probs, s->order);
    state_feed(s, tok, &e);
  };
  state_feed(s, 0, &e);
  print_bench_header(label, c);
  for (uint64_t p : o.positions) {
    if (c.window_limited() && p > c.block_size) {
      std::printf("| %llu | (past the window of %u: every character re-encodes %u positions) | | |\n",
                  static_cast<unsigned long long>(p), c.block_size, c.block_size);
    }
    while (s->position < p) step();
    const double cps = chars_per_s_at(p, c, st, rng, o.seconds, step);
    const uint64_t w = c.window_limited() ? std::min<uint64_t>(p, c.block_size - 1) : p;
    std::printf("| %llu | %.0f | %.2f | %zu |\n", static_cast<unsigned long long>(p), cps,
                cps * flops_per_char(c, w) * 1e-9, state_bytes(c));
    if (!stdout_ok(&err)) return error(err);
  }
  return 0;
}

}  // namespace

CLI::App* add_bench(CLI::App& app, int& exit_code) {
  CLI::App* bench = app.add_subcommand("bench", kBenchDescription);
  bench->require_subcommand(1);
  auto o = std::make_shared<BenchOptions>();
  CLI::App* gen = bench->add_subcommand("generate", "Generation chars/s and state bytes by position");
  gen->add_option("--model", o->model, "Model file (else --shape with random weights)");
  gen->add_option("--shape", o->shape, "tiny (4x128) or small (6x384)");
  gen->add_option("--mixer", o->mixer, "One of: " + host::mixer_names());
  gen->add_option("--positions", o->positions, "Positions to measure at")
      ->delimiter(',')
      ->check(count_range(1, 100000000));
  gen->add_option("--vocab", o->vocab, "Vocabulary size for --shape")->check(count_range(2, 65536));
  gen->add_option("--seconds", o->seconds, "Seconds measured at each position")->check(real_range(0.01, 600));
  add_seed_option(gen, o->seed, "Seed for weights and sampling");
  gen->callback([o, &exit_code] { exit_code = run_bench_generate(*o); });
  return bench;
}

}  // namespace causalgen::cli
