// Checkpoints: round trip; corrupt, truncated and foreign files give one
// clear error each (never a crash).
#include <catch2/catch.hpp>

#include <cstring>
#include <filesystem>

#include "host/model_io.hpp"
#include "host/random_model.hpp"
#include "train/io/checkpoint.hpp"
#include "train/model/gemm.hpp"
#include "checkpoint_fixture.hpp"
#include "train_test_util.hpp"

using namespace causalgen;
using namespace causalgen::train;

using train_test::decode_error;
using train_test::make_state;
using train_test::reseal;

TEST_CASE("checkpoint: round trip keeps every field", "[train][checkpoint]") {
  set_threads(1);
  const TrainState s = make_state();
  train_test::TempDir d;
  std::string err;
  REQUIRE(save_checkpoint(d.file("c.cgc"), s, &err));
  CHECK_FALSE(std::filesystem::exists(d.file("c.cgc.tmp")));
  TrainState r;
  REQUIRE(load_checkpoint(d.file("c.cgc"), &r, &err));
  CHECK(r.config.model.n_layer == 2);
  CHECK(r.config.model.mixers[1] == Mixer::attention);
  CHECK(r.config.model.pos_emb);
  CHECK(r.config.max_iters == 10);
  CHECK(r.vocab == s.vocab);
  const bool same_params = r.params == s.params, same_m = r.m == s.m, same_v = r.v == s.v;
  CHECK(same_params);
  CHECK(same_m);
  CHECK(same_v);
  CHECK(r.step == 7);
  CHECK(std::memcmp(r.batch_rng.s, s.batch_rng.s, sizeof s.batch_rng.s) == 0);
  CHECK(r.best_val == 2.5);
  CHECK(r.iters.size() == 1);
  CHECK(r.iters[0].loss == 4.1f);
  CHECK(r.evals[0].val_loss == 4.3);
  CHECK(r.data_crc == 0x1234);
}

TEST_CASE("checkpoint: truncated files are named as such", "[train][checkpoint]") {
  set_threads(1);
  const auto bytes = encode_checkpoint(make_state());
  for (size_t n : {size_t(0), size_t(5), size_t(8), size_t(27), size_t(28), size_t(100),
                   bytes.size() / 2, bytes.size() - 1}) {
    INFO("length " << n);
    const std::string e = decode_error(std::vector<uint8_t>(bytes.begin(), bytes.begin() + long(n)));
    REQUIRE_FALSE(e.empty());
    CHECK(e.rfind("ckpt.cgc: ", 0) == 0);
    if (n >= 8) CHECK(e.find("truncated") != std::string::npos);
  }
  CHECK(decode_error({}).find("empty") != std::string::npos);
  auto longer = bytes;
  longer.push_back(0);
  CHECK(decode_error(longer).find("unexpected bytes") != std::string::npos);
}

TEST_CASE("checkpoint: a changed byte anywhere is caught", "[train][checkpoint]") {
  set_threads(1);
  const auto bytes = encode_checkpoint(make_state());
  // Every byte of the header, and a sample through the body.
  std::vector<size_t> where;
  for (size_t i = 0; i < kCheckpointHeader; ++i) where.push_back(i);
  for (size_t i = kCheckpointHeader; i < bytes.size(); i += 997) where.push_back(i);
  where.push_back(bytes.size() - 1);
  for (size_t i : where) {
    auto b = bytes;
    b[i] ^= 0x10;
    INFO("byte " << i);
    const std::string e = decode_error(b);
    CHECK_FALSE(e.empty());
  }
  auto b = bytes;
  b[kCheckpointHeader + 100] ^= 1;
  CHECK(decode_error(b).find("CRC") != std::string::npos);
  b = bytes;
  b[0] = 'X';
  CHECK(decode_error(b).find("bad magic") != std::string::npos);
  b = bytes;
  b[8] = 3;
  CHECK(decode_error(b).find("version 3") != std::string::npos);
  b[8] = 0;
  CHECK(decode_error(b).find("version 0") != std::string::npos);
}

TEST_CASE("checkpoint: foreign files are not checkpoints", "[train][checkpoint]") {
  set_threads(1);
  // A causalgen model file.
  Config c;
  REQUIRE(named_config("tiny", Mixer::max, &c));
  c.vocab_size = 10;
  const auto model = host::make_model_file(c, host::default_codepoints(10),
                                           host::random_parameters(c, 1));
  CHECK(decode_error(model).find("model file, not a training checkpoint") != std::string::npos);
  // Text, and random bytes.
  const std::string text = "hello, this is not a checkpoint at all";
  CHECK(decode_error(std::vector<uint8_t>(text.begin(), text.end())).find("not a causalgen checkpoint") !=
        std::string::npos);
  std::vector<uint8_t> rnd(5000);
  for (size_t i = 0; i < rnd.size(); ++i) rnd[i] = uint8_t(train::mix64(i));
  CHECK(decode_error(rnd).find("not a causalgen checkpoint") != std::string::npos);
  // A missing file names the file.
  TrainState s;
  std::string err;
  CHECK_FALSE(load_checkpoint("/nonexistent/ckpt_last.cgc", &s, &err));
  CHECK(err.find("/nonexistent/ckpt_last.cgc") != std::string::npos);
}

TEST_CASE("checkpoint: a well-formed file with inconsistent contents is refused", "[train][checkpoint]") {
  set_threads(1);
  // Arrays that do not match the config (the CRC is right: it was written so).
  TrainState s = make_state();
  s.m = Flat::from_shape({10});
  std::string e = decode_error(encode_checkpoint(s));
  CHECK(e.find("AdamW m has 10 values") != std::string::npos);
  s = make_state();
  s.vocab.push_back('z');
  e = decode_error(encode_checkpoint(s));
  CHECK(e.find("vocabulary") != std::string::npos);
  // A body cut short but re-sealed with a valid header and CRC: cereal's
  // own error is reported, not a crash.
  auto bytes = encode_checkpoint(make_state());
  bytes.resize(kCheckpointHeader + 200);
  reseal(bytes);
  e = decode_error(bytes);
  CHECK(e.find("malformed checkpoint") != std::string::npos);
}
