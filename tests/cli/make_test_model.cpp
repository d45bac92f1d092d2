// Writes the model files the CLI tests use into a folder:
//   shift.cgm   max-avg/min, no position embedding (unlimited), V=40
//   window.cgm  attention/max-avg with position embedding, T=16, V=40
//   truncated.cgm, flipped.cgm (one byte flipped), notmodel.cgm, empty.cgm
//   shift.params, window.params: the parameter count, computed here from the
//   shapes of DESIGN.md §1 (not by the library)
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "host/random_model.hpp"

using namespace causalgen;

namespace {

Config make(uint32_t V, uint32_t T, uint32_t C, uint32_t H, bool bias, bool pe, std::vector<Mixer> mixers) {
  Config c;
  c.vocab_size = V, c.block_size = T, c.n_embd = C, c.n_head = H, c.bias = bias, c.pos_emb = pe;
  c.n_layer = uint32_t(mixers.size());
  for (size_t i = 0; i < mixers.size(); ++i) c.mixers[i] = mixers[i];
  return c;
}

// wte, wpe, per layer LN1, [Wqkv], Wo, LN2, W1, W2, final LN.
unsigned long long count_params(const Config& c) {
  const unsigned long long V = c.vocab_size, T = c.block_size, C = c.n_embd, b = c.bias ? 1 : 0;
  unsigned long long n = V * C + (c.pos_emb ? T * C : 0) + C + b * C;
  for (uint32_t l = 0; l < c.n_layer; ++l) {
    n += (C + b * C) * 2;                                          // LN1, LN2
    if (c.mixers[l] == Mixer::attention) n += 3 * C * C + b * 3 * C;  // Wqkv
    n += C * C + b * C;                                            // Wo
    n += 4 * C * C + b * 4 * C;                                    // W1
    n += C * 4 * C + b * C;                                        // W2
  }
  return n;
}

bool write(const std::string& path, const std::vector<uint8_t>& b) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
  return bool(f);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_test_model OUT_DIR\n");
    return 2;
  }
  const std::string dir = argv[1];
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  const Config shift = make(40, 16, 32, 1, true, false, {Mixer::max_avg, Mixer::min});
  const Config window = make(40, 16, 32, 4, true, true, {Mixer::attention, Mixer::max_avg});
  const auto cps = host::default_codepoints(40);  // '\n', ' ' .. 'F'
  const auto a = host::make_model_file(shift, cps, host::random_parameters(shift, 1, 0.5f, 0.2f, 0.1f));
  const auto b = host::make_model_file(window, cps, host::random_parameters(window, 2, 0.5f, 0.2f, 0.1f));
  bool ok = write(dir + "/shift.cgm", a) && write(dir + "/window.cgm", b);
  ok = ok && write(dir + "/truncated.cgm", std::vector<uint8_t>(a.begin(), a.begin() + a.size() / 2));
  auto flipped = a;
  flipped[flipped.size() - 100] ^= 0x20;
  ok = ok && write(dir + "/flipped.cgm", flipped);
  const std::string text = "This is not a model file.\n";
  ok = ok && write(dir + "/notmodel.cgm", std::vector<uint8_t>(text.begin(), text.end()));
  ok = ok && write(dir + "/empty.cgm", {});
  ok = ok && write(dir + "/shift.params", [&] {
    const std::string s = std::to_string(count_params(shift)) + "\n";
    return std::vector<uint8_t>(s.begin(), s.end());
  }());
  ok = ok && write(dir + "/window.params", [&] {
    const std::string s = std::to_string(count_params(window)) + "\n";
    return std::vector<uint8_t>(s.begin(), s.end());
  }());
  if (!ok) {
    std::fprintf(stderr, "make_test_model: cannot write to %s\n", dir.c_str());
    return 1;
  }
  return 0;
}
