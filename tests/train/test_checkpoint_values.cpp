// Checkpoints whose header, size and CRC are all right but whose contents
// are not what this program writes: bytes after the last field, parameters
// or moments that are not finite. Both are refused at load, naming the
// problem; a state with such values is never saved.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>

#include "causalgen/model_file.hpp"
#include "train/io/checkpoint.hpp"
#include "train/model/gemm.hpp"
#include "checkpoint_fixture.hpp"
#include "train_test_util.hpp"

using namespace causalgen;
using namespace causalgen::train;
using train_test::decode_error;
using train_test::make_state;
using train_test::reseal;

namespace {

std::vector<uint8_t> file_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST_CASE("checkpoint: bytes after the last field, inside a consistent size and CRC, are refused",
          "[train][checkpoint]") {
  set_threads(1);
  const std::vector<uint8_t> good = encode_checkpoint(make_state());
  REQUIRE(decode_error(good).empty());
  for (size_t extra : {1, 8, 1000}) {
    for (uint8_t fill : {0x00, 0xA5}) {
      auto b = good;
      b.insert(b.end(), extra, fill);
      reseal(b);
      const std::string e = decode_error(b);
      INFO(extra << " bytes of " << int(fill) << ": " << e);
      CHECK(e.find("ckpt.cgc: ") == 0);
      CHECK(e.find(std::to_string(extra) + " bytes after the last field") != std::string::npos);
    }
  }
}

TEST_CASE("checkpoint: parameters and moments that are not finite are refused, naming the tensor",
          "[train][checkpoint]") {
  set_threads(1);
  const TrainState good = make_state();
  const Config& c = good.config.model;
  const float bad[] = {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                       -std::numeric_limits<float>::infinity()};
  struct Array {
    const char* label;
    Flat TrainState::*flat;
  };
  const Array arrays[] = {{"params", &TrainState::params}, {"AdamW m", &TrainState::m},
                          {"AdamW v", &TrainState::v}};
  for (const Array& a : arrays)
    for (uint32_t t : {0u, tensor_count(c) / 2, tensor_count(c) - 1}) {
      const TensorSpec spec = tensor_spec(c, t);
      for (float x : bad) {
        TrainState s = good;
        (s.*a.flat)(spec.offset + spec.size() - 1) = x;
        const std::string e = decode_error(encode_checkpoint(s));
        INFO(a.label << " " << spec.name << " = " << x << ": " << e);
        CHECK(e.find("ckpt.cgc: unusable checkpoint: ") == 0);
        CHECK(e.find(std::string(a.label) + ": tensor '" + spec.name + "' value " +
                     std::to_string(spec.size() - 1)) != std::string::npos);
      }
    }
  // AdamW's second moment is a mean of squares: never negative.
  TrainState s = good;
  s.v(3) = -1e-3f;
  CHECK(decode_error(encode_checkpoint(s)).find("AdamW v: tensor 'wte' value 3") != std::string::npos);
  // Extreme but finite values load.
  s = good;
  s.params(0) = std::numeric_limits<float>::max();
  s.m(0) = -std::numeric_limits<float>::max();
  s.v(0) = 0.0f;
  CHECK(decode_error(encode_checkpoint(s)).empty());
}

TEST_CASE("checkpoint: a state with values that are not finite is never saved", "[train][checkpoint]") {
  set_threads(1);
  train_test::TempDir d;
  const std::string path = d.file("ckpt_last.cgc");
  std::string err;
  REQUIRE(save_checkpoint(path, make_state(), &err));
  const auto before = file_bytes(path);
  TrainState s = make_state();
  s.params(s.params.size() - 1) = std::numeric_limits<float>::quiet_NaN();
  CHECK_FALSE(save_checkpoint(path, s, &err));
  CHECK(err.find(path + ": not saved: params: tensor '") == 0);
  CHECK(file_bytes(path) == before);
  CHECK_FALSE(std::filesystem::exists(path + ".tmp"));
}
