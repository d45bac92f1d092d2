// Shared helpers for the core tests: random models of small shapes, aligned
// buffers, and the list of model variants every equivalence test runs over.
#pragma once
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "causalgen/causalgen.hpp"
#include "host/model_io.hpp"
#include "host/random_model.hpp"

namespace cgtest {

// Little-endian fields of a model file image, for tests that edit one in place.
using Bytes = std::vector<uint8_t>;
inline uint32_t get_u32(const Bytes& b, size_t off) {
  return uint32_t(b[off]) | uint32_t(b[off + 1]) << 8 | uint32_t(b[off + 2]) << 16 |
         uint32_t(b[off + 3]) << 24;
}
inline uint64_t get_u64(const Bytes& b, size_t off) { return get_u32(b, off) | uint64_t(get_u32(b, off + 4)) << 32; }
inline void put_u32(Bytes& b, size_t off, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[off + i] = uint8_t(v >> (8 * i));
}

using namespace causalgen;

struct Variant {
  std::string name;
  Config config;
};

inline Config make_config(uint32_t V, uint32_t T, uint32_t C, uint32_t H, bool bias, bool pos_emb,
                          std::vector<Mixer> mixers) {
  Config c;
  c.vocab_size = V;
  c.block_size = T;
  c.n_embd = C;
  c.n_head = H;
  c.bias = bias;
  c.pos_emb = pos_emb;
  c.n_layer = static_cast<uint32_t>(mixers.size());
  for (size_t i = 0; i < mixers.size(); ++i) c.mixers[i] = mixers[i], c.window[i] = T;
  return c;
}

// Every mixer alone (2-3 layers), two hybrids, each with position embedding
// on/off and bias on/off. Small shapes: V=19, T=16, C in 16..32.
inline std::vector<Variant> all_variants() {
  std::vector<Variant> out;
  struct Layout {
    const char* name;
    std::vector<Mixer> mixers;
    uint32_t C, H;
    uint32_t window = 0;  // the local layers' W (0: T)
  };
  const std::vector<Layout> layouts = {
      {"max", {Mixer::max, Mixer::max}, 16, 1},
      {"min", {Mixer::min, Mixer::min, Mixer::min}, 24, 1},
      {"max-avg", {Mixer::max_avg, Mixer::max_avg, Mixer::max_avg}, 16, 1},
      {"min-avg", {Mixer::min_avg, Mixer::min_avg}, 20, 1},
      {"attention", {Mixer::attention, Mixer::attention}, 32, 4},
      {"attention/max-avg", {Mixer::attention, Mixer::max_avg, Mixer::attention}, 24, 3},
      {"max/min-avg/min", {Mixer::max, Mixer::min_avg, Mixer::min}, 16, 2},
      {"ema", {Mixer::ema, Mixer::ema}, 20, 1},
      {"attention/ema", {Mixer::attention, Mixer::ema}, 24, 2},
      {"max-ema", {Mixer::max_ema, Mixer::max_ema, Mixer::max_ema}, 16, 1},
      {"max-ema/ema/max", {Mixer::max_ema, Mixer::ema, Mixer::max}, 24, 1},
      {"mingru", {Mixer::mingru, Mixer::mingru}, 20, 1},
      {"mingru/attention/max-ema", {Mixer::mingru, Mixer::attention, Mixer::max_ema}, 16, 2},
      {"local W=5", {Mixer::local, Mixer::local}, 24, 2, 5},
      {"local W=T", {Mixer::local, Mixer::mingru}, 16, 2, 16},
      {"local/attention W=7, odd head size", {Mixer::local, Mixer::attention}, 20, 4, 7},
  };
  for (const auto& l : layouts)
    for (int pe = 0; pe < 2; ++pe)
      for (int bias = 0; bias < 2; ++bias) {
        Variant v;
        v.name = std::string(l.name) + (pe ? " +wpe" : " -wpe") + (bias ? " +bias" : " -bias");
        v.config = make_config(19, 16, l.C, l.H, bias, pe, l.mixers);
        if (l.window)
          for (uint32_t i = 0; i < v.config.n_layer; ++i) v.config.window[i] = l.window;
        out.push_back(v);
      }
  return out;
}

// A parsed random model that owns its bytes (64-byte aligned).
struct TestModel {
  Config config;
  std::vector<uint32_t> codepoints;
  std::vector<float> params;
  host::AlignedBytes bytes;
  Model model{};
};

// Weights N(0, w_std); LayerNorm weights 1 + N(0, ln_std); biases N(0, b_std).
inline std::unique_ptr<TestModel> make_model(const Config& c, uint64_t seed, float w_std = 0.3f,
                                             float ln_std = 0.3f, float b_std = 0.2f) {
  auto t = std::make_unique<TestModel>();
  t->config = c;
  t->codepoints = host::default_codepoints(c.vocab_size);
  t->params = host::random_parameters(c, seed, w_std, ln_std, b_std);
  const std::vector<uint8_t> file = host::make_model_file(c, t->codepoints, t->params);
  t->bytes = host::aligned_bytes(file.size());
  std::memcpy(t->bytes.data.get(), file.data(), file.size());
  Error e;
  if (parse_model(t->bytes.data.get(), t->bytes.size, &t->model, &e) != Status::ok) return nullptr;
  return t;
}

// forward_sequence into a fresh arena; logits n x V. Returns the status.
inline Status run_forward(const Model& m, const std::vector<uint32_t>& tokens,
                          std::vector<float>* logits, Error* err = nullptr) {
  Error local;
  if (!err) err = &local;
  const uint32_t n = static_cast<uint32_t>(tokens.size());
  logits->assign(static_cast<size_t>(n) * m.config.vocab_size, 0.0f);
  host::AlignedBytes arena = host::aligned_bytes(forward_arena_bytes(m.config, n));
  return forward_sequence(m, tokens.data(), n, logits->data(), arena.data.get(), arena.size, err);
}

// Deterministic token stream (xorshift) in 0..V-1.
inline std::vector<uint32_t> random_tokens(uint32_t n, uint32_t V, uint64_t seed) {
  std::vector<uint32_t> t(n);
  uint64_t x = seed * 0x9E3779B97F4A7C15ULL + 1;
  for (auto& v : t) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    v = static_cast<uint32_t>((x >> 11) % V);
  }
  return t;
}

inline bool bits_equal(const float* a, const float* b, size_t n) {
  return std::memcmp(a, b, n * sizeof(float)) == 0;
}

}  // namespace cgtest
