// Checkpoints whose CRC is valid but whose body is not what this build
// writes (crafted, or from another writer): one message saying what is wrong
// with the file, never C++ internals (std::bad_alloc,
// basic_string::_M_replace_aux, cereal's "Failed to read 8 bytes") and never
// an allocation of a size read from the file before it is checked.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>
#include <fstream>

#include "causalgen/model_file.hpp"
#include "train/io/checkpoint.hpp"
#include "train_test_util.hpp"

using namespace causalgen;
using namespace causalgen::train;

namespace {

std::vector<uint8_t> small_checkpoint() {
  TrainConfig c;
  TrainOverrides o;
  o.set("n_layer", 1), o.set("n_embd", 8), o.set("block_size", 4), o.set("batch_size", 2);
  o.set("n_head", 2);
  std::string err;
  REQUIRE(resolve_config(o, &c, &err));
  TextData d;
  d.vocab = {'a', 'b', 'c'};
  d.train.assign(50, 1);
  d.val.assign(10, 2);
  TrainState s;
  init_state(c, d, &s);
  s.step = 3;
  s.iters.push_back({0, 1.f, 1.f, 1.f, 1.f, 1.0});
  return encode_checkpoint(s);
}

void put_u32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = uint8_t(v >> (8 * i));
}
void put_u64(uint8_t* p, uint64_t v) {
  put_u32(p, uint32_t(v));
  put_u32(p + 4, uint32_t(v >> 32));
}

// The checkpoint with `body` as its body, its size and CRC made consistent.
std::vector<uint8_t> with_body(const std::vector<uint8_t>& ckpt, const std::vector<uint8_t>& body) {
  std::vector<uint8_t> out(ckpt.begin(), ckpt.begin() + kCheckpointHeader);
  out.insert(out.end(), body.begin(), body.end());
  put_u64(out.data() + 16, body.size());
  put_u32(out.data() + 24, crc32(body.data(), body.size()));
  return out;
}

std::string decode_error(const std::vector<uint8_t>& bytes) {
  TrainState out;
  std::string err;
  return decode_checkpoint(bytes.data(), bytes.size(), "c.cgc", &out, &err) ? "" : err;
}

void check_clean(const std::string& e) {
  INFO(e);
  CHECK(e.rfind("c.cgc: ", 0) == 0);
  for (const char* internal : {"bad_alloc", "_M_", "basic_string", "Failed to read", "std::", "vector"})
    CHECK(e.find(internal) == std::string::npos);
}

}  // namespace

TEST_CASE("checkpoint: crafted lengths are refused before they are allocated", "[train][checkpoint]") {
  const auto ck = small_checkpoint();
  const std::vector<uint8_t> body(ck.begin() + kCheckpointHeader, ck.end());
  // Byte 0 is the archive's byte order; bytes 1..8 the body tag's length.
  for (uint64_t n : {uint64_t(1) << 62, uint64_t(1) << 40, uint64_t(body.size())}) {
    auto b = body;
    put_u64(b.data() + 1, n);
    const std::string e = decode_error(with_body(ck, b));
    check_clean(e);
    CHECK(e.find("malformed checkpoint: the body tag declares " + std::to_string(n)) != std::string::npos);
  }
}

TEST_CASE("checkpoint: a body shorter than its fields says so", "[train][checkpoint]") {
  const auto ck = small_checkpoint();
  const std::vector<uint8_t> body(ck.begin() + kCheckpointHeader, ck.end());
  for (size_t keep : {size_t(0), size_t(1), size_t(5), body.size() / 2, body.size() - 1}) {
    INFO("body cut to " << keep);
    const std::string e =
        decode_error(with_body(ck, std::vector<uint8_t>(body.begin(), body.begin() + long(keep))));
    check_clean(e);
    CHECK(e.find("malformed checkpoint") != std::string::npos);
  }
}

TEST_CASE("checkpoint: eight 0xff bytes anywhere in a valid body give a clean message", "[train][checkpoint]") {
  const auto ck = small_checkpoint();
  const std::vector<uint8_t> body(ck.begin() + kCheckpointHeader, ck.end());
  int refused = 0;
  for (size_t at = 0; at + 8 <= body.size(); at += 3) {
    auto b = body;
    std::memset(b.data() + at, 0xff, 8);
    INFO("at " << at);
    const std::string e = decode_error(with_body(ck, b));
    if (!e.empty()) check_clean(e), ++refused;
  }
  CHECK(refused > 0);
}

TEST_CASE("checkpoint: a header that declares more than the file holds is refused unread", "[train][checkpoint]") {
  const auto ck = small_checkpoint();
  train_test::TempDir d;
  auto b = ck;
  put_u64(b.data() + 16, uint64_t(1) << 50);  // 1 PiB declared
  std::ofstream(d.file("big.cgc"), std::ios::binary).write(reinterpret_cast<const char*>(b.data()), long(b.size()));
  TrainState s;
  std::string err;
  CHECK_FALSE(load_checkpoint(d.file("big.cgc"), &s, &err));
  CHECK(err.find("truncated checkpoint (header says 1125899906842624 body bytes") != std::string::npos);
  CHECK_FALSE(load_checkpoint(d.path.string(), &s, &err));
  CHECK(err.find("a directory, not a file") != std::string::npos);
}

TEST_CASE("checkpoint: an unknown setting's key is quoted in printable ASCII, shortened", "[train][checkpoint]") {
  // A hostile key (an escape sequence, invalid UTF-8, 5000 bytes) must not
  // reach the user's terminal as is.
  const auto ck = small_checkpoint();
  std::vector<uint8_t> body(ck.begin() + kCheckpointHeader, ck.end());
  const std::string seed_key = std::string("\x04\0\0\0\0\0\0\0", 8) + "seed";
  const auto at = std::search(body.begin(), body.end(), seed_key.begin(), seed_key.end());
  REQUIRE(at != body.end());
  const size_t key = size_t(at - body.begin()) + 8;
  std::memcpy(body.data() + key, "\x1b[2J", 4);
  CHECK(decode_error(with_body(ck, body)) ==
        "c.cgc: malformed checkpoint: setting \"?[2J\" is unknown to this build (a newer causalgen?)");
  std::vector<uint8_t> long_key = body;
  long_key.insert(long_key.begin() + long(key) + 4, 4996, uint8_t(0xff));
  put_u64(long_key.data() + key - 8, 5000);
  const std::string e = decode_error(with_body(ck, long_key));
  CHECK(e == "c.cgc: malformed checkpoint: setting \"?[2J" + std::string(36, '?') +
                 "...\" is unknown to this build (a newer causalgen?)");
}
