// What the C++ core computes, for tests/format/read_model.py to compare with
// its own reading of docs/model-format.md:
//   emit_logits logits MODEL PROMPT  one line per prompt position: the V
//                                    logits of forward_sequence, as %.9g
//                                    (which round-trips a float exactly)
//   emit_logits models DIR           writes random models with what the
//                                    shipped one lacks: attention, position
//                                    embedding, min/max/min-avg, the EMA
//                                    mixers, no bias, and widths that are
//                                    not multiples of 8
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "host/model_io.hpp"
#include "host/random_model.hpp"

using namespace causalgen;

namespace {

int emit_logits(const std::string& path, const std::string& prompt) {
  host::LoadedModel lm;
  std::string err;
  if (!host::load_model(path, &lm, &err)) {
    std::fprintf(stderr, "emit_logits: %s\n", err.c_str());
    return 1;
  }
  const Model& m = lm.model;
  std::vector<uint32_t> ids(prompt.size() + 1);
  size_t n = 0;
  Error e;
  if (encode_text(m.vocab, prompt.data(), prompt.size(), ids.data(), ids.size(), &n, &e) != Status::ok) {
    std::fprintf(stderr, "emit_logits: prompt: %s\n", e.message);
    return 1;
  }
  const uint32_t V = m.config.vocab_size;
  std::vector<float> logits(n * V);
  host::AlignedBytes arena = host::aligned_bytes(forward_arena_bytes(m.config, uint32_t(n)));
  if (forward_sequence(m, ids.data(), uint32_t(n), logits.data(), arena.data.get(), arena.size, &e) !=
      Status::ok) {
    std::fprintf(stderr, "emit_logits: forward: %s\n", e.message);
    return 1;
  }
  for (size_t t = 0; t < n; ++t)
    for (uint32_t v = 0; v < V; ++v) std::printf("%.9g%c", double(logits[t * V + v]), v + 1 == V ? '\n' : ' ');
  return 0;
}

Config make(uint32_t V, uint32_t T, uint32_t C, uint32_t H, bool bias, bool pe, std::vector<Mixer> mixers) {
  Config c;
  c.vocab_size = V, c.block_size = T, c.n_embd = C, c.n_head = H, c.bias = bias, c.pos_emb = pe;
  c.n_layer = uint32_t(mixers.size());
  for (size_t i = 0; i < mixers.size(); ++i) c.mixers[i] = mixers[i];
  return c;
}

int write_models(const std::string& dir) {
  const Config hybrid = make(40, 8, 32, 4, true, true,
                             {Mixer::attention, Mixer::min, Mixer::max, Mixer::min_avg});
  const Config nobias = make(40, 6, 20, 2, false, false, {Mixer::max, Mixer::attention});
  // Not window-limited: the EMAs run past T = 6 (their slowest rate is 2^-5).
  const Config ema = make(40, 6, 20, 1, true, false, {Mixer::ema, Mixer::max_ema, Mixer::min});
  const Config mingru = make(40, 6, 20, 1, true, false, {Mixer::mingru, Mixer::max, Mixer::mingru});
  // Local attention (W = 3 and 6 = T) around a recurrence, heads of 5 channels
  // (an odd one out, not rotated): not window-limited, so 16 greedy characters
  // run well past T and the windows slide.
  Config local = make(40, 6, 20, 4, true, false, {Mixer::local, Mixer::mingru, Mixer::local});
  local.window[0] = 3, local.window[2] = 6;
  const auto cps = host::default_codepoints(40);
  const struct {
    const char* name;
    const Config& c;
    uint64_t seed;
  } models[] = {{"hybrid.cgm", hybrid, 3}, {"nobias.cgm", nobias, 4}, {"ema.cgm", ema, 5}, {"mingru.cgm", mingru, 6},
                {"local.cgm", local, 7}};
  for (const auto& m : models) {
    const auto bytes = host::make_model_file(m.c, cps, host::random_parameters(m.c, m.seed, 0.5f, 0.2f, 0.1f));
    std::ofstream f(dir + "/" + m.name, std::ios::binary);
    f.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
    if (!f) {
      std::fprintf(stderr, "emit_logits: cannot write %s/%s\n", dir.c_str(), m.name);
      return 1;
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 4 && std::string(argv[1]) == "logits") return emit_logits(argv[2], argv[3]);
  if (argc == 3 && std::string(argv[1]) == "models") return write_models(argv[2]);
  std::fprintf(stderr, "usage: emit_logits logits MODEL PROMPT | emit_logits models DIR\n");
  return 2;
}
