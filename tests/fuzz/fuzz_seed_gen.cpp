// Writes the seed corpus for fuzz_model_file: small valid model files of every
// mixer in the registry, with and without bias and position embedding,
// hybrids, V = 1 and a multi-byte vocabulary, each with f32 weights and with
// int8 weight matrices.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "causalgen/model_file.hpp"
#include "host/random_model.hpp"

using namespace causalgen;

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: fuzz_seed_gen CORPUS_DIR\n");
    return 2;
  }
  std::filesystem::create_directories(argv[1]);
  struct S { std::string name; std::vector<Mixer> mixers; uint32_t V, T, C, H; };
  std::vector<S> shapes = {
      {"min2", {Mixer::min, Mixer::min}, 6, 4, 4, 1},
      {"minavg_max_utf8", {Mixer::min_avg, Mixer::max}, 7, 3, 4, 1},
      {"hybrid", {Mixer::attention, Mixer::max_avg}, 4, 3, 4, 4},
      {"v1", {Mixer::max}, 1, 1, 1, 1},
  };
  for (uint32_t i = 0; i < mixer_count(); ++i)
    shapes.push_back({mixer_name(mixer_at(i)), {mixer_at(i)}, 5, 4, 8, 2});
  int written = 0;
  for (const S& s : shapes)
    for (int bias = 0; bias < 2; ++bias)
      for (int pe = 0; pe < 2; ++pe) {
        Config c;
        c.vocab_size = s.V, c.block_size = s.T, c.n_embd = s.C, c.n_head = s.H;
        c.bias = bias, c.pos_emb = pe;
        c.n_layer = uint32_t(s.mixers.size());
        for (size_t i = 0; i < s.mixers.size(); ++i) {
          c.mixers[i] = s.mixers[i];
          // A window shorter than T, so that the ring buffer wraps.
          if (mixer_takes_window(s.mixers[i])) c.window[i] = s.T > 1 ? s.T - 1 : 1;
        }
        std::vector<uint32_t> cps = host::default_codepoints(c.vocab_size);
        if (s.V == 7) cps = {'\n', 'a', 0xE9, 0x20AC, 0x1F600, 0x10FFFE, 0x10FFFF};
        const std::vector<float> params = host::random_parameters(c, written + 1, 0.5f, 0.2f, 0.1f);
        for (int int8 = 0; int8 < 2; ++int8) {
          WriteOptions o;
          o.matrices = int8 ? DType::int8 : DType::f32;
          o.group_size = 3;  // a partial last group in most rows
          std::vector<uint8_t> bytes(model_file_size(c, o));
          Error e;
          if (write_model(c, cps.data(), params.data(), o, bytes.data(), bytes.size(), &e) != Status::ok) {
            std::fprintf(stderr, "fuzz_seed_gen: %s: %s\n", s.name.c_str(), e.message);
            return 1;
          }
          const std::string path = std::string(argv[1]) + "/seed_" + s.name + (bias ? "_b" : "") +
                                   (pe ? "_pe" : "") + (int8 ? "_q" : "");
          std::ofstream f(path, std::ios::binary);
          f.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
          if (!f) return 1;
          ++written;
        }
      }
  std::printf("fuzz_seed_gen: %d seeds in %s\n", written, argv[1]);
  return 0;
}
