// Native helper for the firmware tests (test-only):
//   fw_native models OUT_DIR
//       writes the fixed random-weight models the QEMU tests run on
//   fw_native digest MODEL PROMPT_HEX SEED TOKENS TEMPERATURE_BITS TOP_K TOP_P_BITS
//       runs the firmware's generation (the C API's cg_generate) on this
//       machine and prints the FNV-1a 64 digest of the bits of the logits each
//       character is sampled from (the firmware prints the same with --digest):
//       a check that x86-64 and Cortex-M compute the same bits, stricter than
//       comparing sampled text.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "causalgen/causalgen.h"
#include "causalgen/causalgen.hpp"
#include "host/model_io.hpp"
#include "host/random_model.hpp"

using namespace causalgen;

namespace {

bool write_model(const std::string& path, const Config& c, uint64_t seed, float w, float ln, float b) {
  const std::vector<uint8_t> bytes = host::make_model_file(
      c, host::default_codepoints(c.vocab_size), host::random_parameters(c, seed, w, ln, b));
  std::string err;
  if (!host::write_file_atomic(path, bytes.data(), bytes.size(), &err)) {
    std::fprintf(stderr, "fw_native: %s\n", err.c_str());
    return false;
  }
  std::printf("%s (%zu bytes)\n", path.c_str(), bytes.size());
  return true;
}

int models(const std::string& dir) {
  bool ok = true;
  // 1. The shipped model's shape (tiny, max-avg, V = 65): sizes and speed.
  Config tiny;
  named_config("tiny", Mixer::max_avg, &tiny);
  tiny.vocab_size = 65;
  ok &= write_model(dir + "/tiny.cgm", tiny, 11, 0.2f, 0.2f, 0.1f);
  // 2. Window-limited hybrid (attention + position embedding + bias): the
  //    tests generate past its window of 16, so the re-encoding path runs.
  Config hy;
  hy.vocab_size = 40, hy.block_size = 16, hy.n_embd = 32, hy.n_head = 4, hy.bias = true;
  hy.pos_emb = true, hy.n_layer = 3;
  hy.mixers[0] = Mixer::attention, hy.mixers[1] = Mixer::max_avg, hy.mixers[2] = Mixer::min;
  ok &= write_model(dir + "/hybrid.cgm", hy, 12, 0.3f, 0.3f, 0.2f);
  // 3. No bias, width 20 (not a multiple of 8), vocabulary with two-byte
  //    UTF-8 characters (Latin-1 letters after printable ASCII).
  Config nb;
  nb.vocab_size = 110, nb.block_size = 32, nb.n_embd = 20, nb.n_head = 1, nb.bias = false;
  nb.pos_emb = false, nb.n_layer = 2;
  nb.mixers[0] = Mixer::min_avg, nb.mixers[1] = Mixer::max;
  ok &= write_model(dir + "/nobias.cgm", nb, 13, 0.4f, 0.3f, 0.0f);
  return ok ? 0 : 1;
}

uint64_t fnv1a(uint64_t h, const void* p, size_t n) {
  const auto* b = static_cast<const uint8_t*>(p);
  for (size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 0x100000001b3ULL;
  return h;
}

float f32_bits(const char* s) {
  const uint32_t u = static_cast<uint32_t>(std::strtoul(s, nullptr, 16));
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

// cg_generate's per-character callback: folds in the logits the character was
// sampled from.
struct Digest {
  uint64_t hash = 0xcbf29ce484222325ULL;
  size_t logits_bytes = 0;
};
int32_t digest_logits(void* user, uint32_t, const cg_generator* g) {
  auto* d = static_cast<Digest*>(user);
  d->hash = fnv1a(d->hash, cg_logits(g->state), d->logits_bytes);
  return 0;
}

int digest(char** a) {
  host::LoadedCModel lm;
  std::string err;
  if (!host::load_c_model(a[0], &lm, &err)) return std::fprintf(stderr, "%s\n", err.c_str()), 1;
  std::string prompt;
  if (std::strcmp(a[1], "-") != 0)
    for (size_t i = 0; a[1][i] && a[1][i + 1]; i += 2)
      prompt += char(std::strtoul(std::string(a[1] + i, 2).c_str(), nullptr, 16));
  const uint64_t seed = std::strtoull(a[2], nullptr, 10);
  const uint32_t tokens = static_cast<uint32_t>(std::strtoul(a[3], nullptr, 10));
  const cg_sampler sp{f32_bits(a[4]), static_cast<uint32_t>(std::strtoul(a[5], nullptr, 10)), f32_bits(a[6])};
  host::OwnedCState st;
  if (!host::make_c_state(lm.model, seed, &st, &err)) return std::fprintf(stderr, "%s\n", err.c_str()), 1;
  Digest d;
  d.logits_bytes = size_t(cg_vocab_size(lm.model)) * sizeof(float);
  cg_generator g;
  cg_error e;
  if (cg_generate(&g, st.state, &sp, prompt.data(), prompt.size(), tokens, digest_logits, &d, &e) != CG_OK)
    return std::fprintf(stderr, "%s\n", e.message), 1;
  std::printf("%016llx\n", static_cast<unsigned long long>(d.hash));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "models") == 0) return models(argv[2]);
  if (argc == 9 && std::strcmp(argv[1], "digest") == 0) return digest(argv + 2);
  std::fprintf(stderr,
               "usage: fw_native models OUT_DIR\n"
               "       fw_native digest MODEL PROMPT_HEX SEED TOKENS TEMP_BITS TOP_K TOP_P_BITS\n");
  return 2;
}
