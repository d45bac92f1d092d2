// Writes the fixed random-weight models the web tests run on (test-only):
//   make_test_models OUT_DIR
// Each exercises a different path of the core: the tiny shape with max-avg,
// a hybrid window-limited model (attention + position embedding, generated
// past its window), and a model without bias whose width is not a multiple
// of 8, with a vocabulary that includes multi-byte UTF-8 characters.
#include <cstdio>
#include <string>
#include <vector>

#include "causalgen/causalgen.hpp"
#include "host/model_io.hpp"
#include "host/random_model.hpp"

using namespace causalgen;

namespace {

bool write(const std::string& path, const Config& c, uint64_t seed) {
  const std::vector<uint8_t> bytes =
      host::make_model_file(c, host::default_codepoints(c.vocab_size),
                            host::random_parameters(c, seed, 0.15f, 0.1f, 0.05f));
  std::string err;
  if (!host::write_file_atomic(path, bytes.data(), bytes.size(), &err)) {
    std::fprintf(stderr, "make_test_models: %s\n", err.c_str());
    return false;
  }
  std::printf("%s (%zu bytes)\n", path.c_str(), bytes.size());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_test_models OUT_DIR\n");
    return 2;
  }
  const std::string dir = argv[1];
  bool ok = true;

  Config tiny;
  named_config("tiny", Mixer::max_avg, &tiny);
  tiny.vocab_size = 65;
  ok &= write(dir + "/random-tiny-max-avg.cgm", tiny, 1);

  Config hybrid;
  hybrid.vocab_size = 100;  // ASCII, then Latin-1 letters (2-byte UTF-8)
  hybrid.block_size = 24;
  hybrid.n_layer = 3;
  hybrid.n_embd = 64;
  hybrid.n_head = 4;
  hybrid.bias = true;
  hybrid.pos_emb = true;
  hybrid.mixers[0] = Mixer::attention;
  hybrid.mixers[1] = Mixer::max;
  hybrid.mixers[2] = Mixer::min_avg;
  ok &= write(dir + "/random-hybrid-attention.cgm", hybrid, 2);

  Config odd;
  odd.vocab_size = 120;
  odd.block_size = 64;
  odd.n_layer = 2;
  odd.n_embd = 44;
  odd.bias = false;
  odd.mixers[0] = Mixer::min;
  odd.mixers[1] = Mixer::max_avg;
  ok &= write(dir + "/random-nobias-odd-width.cgm", odd, 3);
  return ok ? 0 : 1;
}
