// causalgen generate: stream characters from a model file.
#include <chrono>
#include <cstdio>
#include <string>

#include "cli_checks.hpp"
#include "commands.hpp"
#include "stdout_check.hpp"
#include "host/model_io.hpp"

namespace causalgen::cli {

namespace {

struct GenerateOptions {
  std::string model;
  std::string prompt;
  uint32_t tokens = 500;
  float temperature = 0.8f;
  uint32_t top_k = 0;
  float top_p = 1.0f;
  uint64_t seed = 1337;
  bool stats = false;
};

int run_generate(const GenerateOptions& o) {
  host::LoadedCModel lm;
  std::string err;
  if (!host::load_c_model(o.model, &lm, &err)) return error(err);
  const cg_sampler sp{o.temperature, o.top_k, o.top_p};
  cg_error e;
  if (cg_sampler_check(&sp, &e) != CG_OK) return error(e.message);
  host::OwnedCState st;
  if (!host::make_c_state(lm.model, o.seed, &st, &err)) return error(err);

  // The prompt is fed (validated whole first) before anything is printed.
  cg_generator g;
  if (cg_generate_begin(&g, st.state, &sp, o.prompt.data(), o.prompt.size(), o.tokens, &e) != CG_OK)
    return error("prompt: " + std::string(e.message));
  std::fwrite(o.prompt.data(), 1, o.prompt.size(), stdout);

  // Each character is flushed as it comes; a failed write ends the run.
  const auto t0 = std::chrono::steady_clock::now();
  int32_t cp;
  while ((cp = cg_generate_next(&g, &e)) >= 0) {
    char utf8[4];
    std::fwrite(utf8, 1, cg_utf8_encode(static_cast<uint32_t>(cp), utf8), stdout);
    if (!stdout_ok(&err)) return error(err);
  }
  if (cp == CG_GENERATE_ERROR) return error(e.message);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::fputc('\n', stdout);
  if (!stdout_ok(&err)) return error(err);
  if (o.stats)
    std::fprintf(stderr, "[%u chars in %.3f s: %.1f chars/s; state %zu bytes, fixed: %s]\n",
                 g.generated, secs, secs > 0 ? g.generated / secs : 0.0, cg_state_bytes(lm.model),
                 cg_window_limited(lm.model) ? "no (window-limited model)" : "yes");
  return 0;
}

}  // namespace

void add_generate(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<GenerateOptions>();
  CLI::App* sub = app.add_subcommand("generate", "Generate text from a model file");
  sub->add_option("--model", o->model, "Model file (.cgm)")->required();
  sub->add_option("--prompt", o->prompt, "Text to start from (UTF-8)");
  sub->add_option("--tokens", o->tokens, "Characters to generate")->check(count_range(0, 100000000));
  sub->add_option("--temperature", o->temperature, "0 = greedy")->check(real_range(0, 100));
  sub->add_option("--top-k", o->top_k, "Keep the k most likely characters (0 = off)")
      ->check(count_range(0, 65536));
  sub->add_option("--top-p", o->top_p, "Nucleus sampling mass (1 = off)")->check(real_range(0, 1));
  add_seed_option(sub, o->seed, "Sampler seed (PCG32)");
  sub->add_flag("--stats", o->stats, "Print chars/s and state bytes to stderr");
  sub->callback([o, &exit_code] { exit_code = run_generate(*o); });
}

}  // namespace causalgen::cli
