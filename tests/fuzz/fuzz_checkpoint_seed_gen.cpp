// Writes the seed corpus and the dictionary for fuzz_checkpoint:
//   fuzz_checkpoint_seed_gen CORPUS_DIR DICT_FILE
// Seeds: small checkpoints of every mixer, with and without bias and position
// embedding, a hybrid, with and without history. Dictionary: the header's
// magic, the body tag and every setting's key from the hyperparameter table
// (each also as cereal writes it: a u64 length, then the bytes), so that the
// table stays the one place that names them.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "train/io/checkpoint.hpp"

using namespace causalgen;
using namespace causalgen::train;

namespace {

// A state as a short run would leave it: small values everywhere.
bool make_state(const MixerList& mixers, bool bias, bool history, TrainState* s, std::string* err) {
  TrainOverrides o;
  o.set("n_layer", uint32_t(mixers.size())), o.set("n_embd", 4), o.set("n_head", 2);
  o.set("block_size", 4), o.set("batch_size", 2), o.set("max_iters", 10);
  o.set("mixer", mixers), o.set("bias", bias);
  if (!resolve_config(o, &s->config, err)) return false;
  s->vocab = {'\n', ' ', 'a', 'b', 0xE9};
  s->config.model.vocab_size = uint32_t(s->vocab.size());
  const size_t n = s->config.model.parameter_count();
  s->params = Flat::from_shape({n});
  s->m = Flat::from_shape({n});
  s->v = Flat::from_shape({n});
  for (size_t i = 0; i < n; ++i)
    s->params(i) = float(int(i % 17) - 8) / 16.0f, s->m(i) = float(i) * 1e-3f, s->v(i) = float(i) * 1e-6f;
  s->step = history ? 3 : 0;
  if (history) {
    s->iters.push_back({0, 4.1f, 1e-4f, 2.0f, 1000.f, 0.5});
    s->iters.push_back({2, 3.9f, 2e-4f, 1.5f, 1100.f, 1.0});
    s->evals.push_back({2, 3.8, 3.9, 1.1});
    s->best_val = 3.9, s->best_step = 2;
  }
  return true;
}

// A dictionary line: the bytes, escaped as libFuzzer reads them.
std::string dict_entry(const std::string& bytes) {
  std::string out = "\"";
  for (unsigned char ch : bytes) {
    char hex[5];
    std::snprintf(hex, sizeof hex, "\\x%02x", ch);
    out += ch >= 0x20 && ch < 0x7F && ch != '"' && ch != '\\' ? std::string(1, char(ch)) : std::string(hex);
  }
  return out + "\"\n";
}

// cereal's portable binary string: u64 little-endian length, then the bytes.
std::string sized(const std::string& s) {
  std::string out;
  for (int i = 0; i < 8; ++i) out += char(uint64_t(s.size()) >> (8 * i));
  return out + s;
}

bool write_dictionary(const std::string& path) {
  std::ofstream f(path);
  f << "# fuzz_checkpoint dictionary, written by fuzz_checkpoint_seed_gen\n";
  f << dict_entry("CGCKPT\r\n") << dict_entry(sized("causalgen-train-state"));
  for (const Hyperparam& p : hyperparams()) f << dict_entry(p.key) << dict_entry(sized(p.key));
  f << dict_entry(std::string("\x00\x00\x00\x00\x00\x00\xf0\x7f", 8));  // +inf as f64
  f << dict_entry(std::string("\x00\x00\xc0\x7f", 4));                  // NaN as f32
  return bool(f);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: fuzz_checkpoint_seed_gen CORPUS_DIR DICT_FILE\n");
    return 2;
  }
  std::filesystem::create_directories(argv[1]);
  std::vector<MixerList> lists;
  for (uint32_t i = 0; i < mixer_count(); ++i) lists.push_back({mixer_at(i)});
  lists.push_back({Mixer::attention, Mixer::max_avg});
  int written = 0;
  for (const MixerList& mixers : lists)
    for (int bias = 0; bias < 2; ++bias) {
      TrainState s;
      std::string err;
      if (!make_state(mixers, bias, bias == 1, &s, &err)) {
        std::fprintf(stderr, "fuzz_checkpoint_seed_gen: %s\n", err.c_str());
        return 1;
      }
      const std::vector<uint8_t> bytes = encode_checkpoint(s);
      const std::string path = std::string(argv[1]) + "/seed_" + std::to_string(written);
      std::ofstream f(path, std::ios::binary);
      f.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
      if (!f) return 1;
      ++written;
    }
  if (!write_dictionary(argv[2])) return 1;
  std::printf("fuzz_checkpoint_seed_gen: %d seeds in %s, dictionary %s\n", written, argv[1], argv[2]);
  return 0;
}
