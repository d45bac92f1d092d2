// The checkpoint tests' shared fixture: a small trained-looking state, the
// error decode_checkpoint gives for some bytes, and a header resealed around
// edited bytes (body size and CRC made consistent with them).
#pragma once
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "causalgen/model_file.hpp"
#include "train/io/checkpoint.hpp"

namespace train_test {

inline causalgen::train::TrainState make_state() {
  using namespace causalgen;
  using namespace causalgen::train;
  TrainConfig c;
  TrainOverrides o;
  o.set("n_layer", 2), o.set("n_embd", 16), o.set("block_size", 8), o.set("batch_size", 2);
  o.set("max_iters", 10);
  o.set("mixer", MixerList{Mixer::max_avg, Mixer::attention});
  o.set("n_head", 2);
  std::string err;
  REQUIRE(resolve_config(o, &c, &err));
  TextData d;
  d.vocab = {'\n', ' ', 'a', 'b', 'c'};
  d.train.assign(100, 2);
  d.val.assign(20, 3);
  d.text_bytes = 120, d.text_crc = 0x1234;
  TrainState s;
  init_state(c, d, &s);
  for (size_t i = 0; i < s.m.size(); ++i) s.m(i) = float(i) * 1e-3f, s.v(i) = float(i) * 1e-6f;
  s.step = 7;
  s.batch_rng.next();
  s.best_val = 2.5, s.best_step = 5, s.elapsed_s = 12.5;
  s.iters.push_back({0, 4.1f, 1e-4f, 2.0f, 1000.f, 0.5});
  s.evals.push_back({0, 4.2, 4.3, 0.1});
  return s;
}


// "" if the bytes decode; else the message, naming the file "ckpt.cgc".
inline std::string decode_error(const std::vector<uint8_t>& bytes) {
  causalgen::train::TrainState out;
  std::string err;
  const bool ok = causalgen::train::decode_checkpoint(bytes.data(), bytes.size(), "ckpt.cgc", &out, &err);
  return ok ? std::string() : err;
}

// The header's body size and CRC made consistent with the bytes after it.
inline void reseal(std::vector<uint8_t>& b) {
  const uint64_t body = b.size() - causalgen::train::kCheckpointHeader;
  for (int i = 0; i < 8; ++i) b[16 + i] = uint8_t(body >> (8 * i));
  const uint32_t crc = causalgen::crc32(b.data() + causalgen::train::kCheckpointHeader, body);
  for (int i = 0; i < 4; ++i) b[24 + i] = uint8_t(crc >> (8 * i));
}

}  // namespace train_test
