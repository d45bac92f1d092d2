// causalgen generate: stream characters from a model file.
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "commands.hpp"
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
  host::LoadedModel lm;
  std::string err;
  if (!host::load_model(o.model, &lm, &err)) return error(err);
  const Model& m = lm.model;
  SamplerParams sp{o.temperature, o.top_k, o.top_p};
  Error e;
  if (validate_sampler(sp, &e) != Status::ok) return error(e.message);

  // Encode the whole prompt before generating anything.
  std::vector<uint32_t> prompt(o.prompt.size() + 1);
  size_t n_prompt = 0;
  if (encode_text(m.vocab, o.prompt.data(), o.prompt.size(), prompt.data(), prompt.size(),
                  &n_prompt, &e) != Status::ok)
    return error("prompt: " + std::string(e.message));
  if (n_prompt == 0) {
    // No prompt: start from a newline (as nanoGPT does), or token 0 if the
    // vocabulary has none. It is not printed.
    uint32_t nl = 0;
    prompt[0] = m.vocab.find('\n', &nl) ? nl : 0;
    n_prompt = 1;
  } else {
    std::fwrite(o.prompt.data(), 1, o.prompt.size(), stdout);
  }

  host::OwnedState st;
  if (!host::make_state(m, &st, &err)) return error(err);
  State* s = st.state;
  Pcg32 rng;
  rng.seed(o.seed);
  for (size_t i = 0; i < n_prompt; ++i)
    if (state_feed(s, prompt[i], &e) != Status::ok) return error(e.message);

  const auto t0 = std::chrono::steady_clock::now();
  for (uint32_t i = 0; i < o.tokens; ++i) {
    const uint32_t id = sample_token(s->logits, m.config.vocab_size, sp, &rng, s->probs, s->order);
    char utf8[4];
    const size_t len = utf8_encode(m.vocab.codepoint(id), utf8);
    std::fwrite(utf8, 1, len, stdout);
    std::fflush(stdout);
    if (i + 1 < o.tokens && state_feed(s, id, &e) != Status::ok) return error(e.message);
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::fputc('\n', stdout);
  std::fflush(stdout);
  if (o.stats)
    std::fprintf(stderr, "[%u chars in %.3f s: %.1f chars/s; state %zu bytes, fixed: %s]\n",
                 o.tokens, secs, secs > 0 ? o.tokens / secs : 0.0, state_bytes(m.config),
                 m.config.window_limited() ? "no (window-limited model)" : "yes");
  return 0;
}

}  // namespace

void add_generate(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<GenerateOptions>();
  CLI::App* sub = app.add_subcommand("generate", "Generate text from a model file");
  sub->add_option("--model", o->model, "Model file (.cgm)")->required();
  sub->add_option("--prompt", o->prompt, "Text to start from (UTF-8)");
  sub->add_option("--tokens", o->tokens, "Characters to generate")->check(CLI::Range(0u, 100000000u));
  sub->add_option("--temperature", o->temperature, "0 = greedy")->check(CLI::Range(0.0f, 100.0f));
  sub->add_option("--top-k", o->top_k, "Keep the k most likely characters (0 = off)");
  sub->add_option("--top-p", o->top_p, "Nucleus sampling mass (1 = off)")->check(CLI::Range(0.0f, 1.0f));
  sub->add_option("--seed", o->seed, "Sampler seed (PCG32)");
  sub->add_flag("--stats", o->stats, "Print chars/s and state bytes to stderr");
  sub->callback([o, &exit_code] { exit_code = run_generate(*o); });
}

}  // namespace causalgen::cli
