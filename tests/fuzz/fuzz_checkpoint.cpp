// libFuzzer target: training checkpoints from hostile bytes. Each input is
// decoded as is and, so that mutations of the body get past the header's
// size and CRC to cereal and the consistency checks, a second time with the
// header resealed around it. A refusal must be one message naming the file
// and no C++ internals; a checkpoint that decodes must be consistent, export
// as a valid model file, and survive a round trip (encode, decode, encode
// gives the same bytes).
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "causalgen/model_file.hpp"
#include "train/io/checkpoint.hpp"

using namespace causalgen;
using namespace causalgen::train;

namespace {

constexpr const char* kName = "fuzz.cgc";

// C++ internals may show only where the message quotes the input (a key).
void refused_well(const std::string& err, const std::vector<uint8_t>& bytes) {
  const std::string prefix = std::string(kName) + ": ";
  if (err.compare(0, prefix.size(), prefix) != 0 || err.size() <= prefix.size()) std::abort();
  const std::string input(bytes.begin(), bytes.end());
  for (const char* internal : {"basic_string", "std::", "Failed to read", "bad_alloc", "_M_"})
    if (err.find(internal) != std::string::npos && input.find(internal) == std::string::npos) std::abort();
}

void check_state(const TrainState& s) {
  const uint64_t n = s.config.model.parameter_count();
  if (s.vocab.size() != s.config.model.vocab_size || s.params.size() != n || s.m.size() != n ||
      s.v.size() != n || !state_value_problem(s).empty())
    std::abort();
  // What `export` does with it: a model file the core accepts.
  std::vector<uint8_t> model(model_file_size(s.config.model));
  Error e;
  Model m{};
  if (write_model(s.config.model, s.vocab.data(), s.params.data(), model.data(), model.size(), &e) != Status::ok ||
      parse_model(model.data(), model.size(), &m, &e) != Status::ok)
    std::abort();
}

void decode_and_check(const std::vector<uint8_t>& bytes) {
  TrainState s;
  std::string err;
  if (!decode_checkpoint(bytes.data(), bytes.size(), kName, &s, &err)) {
    refused_well(err, bytes);
    return;
  }
  check_state(s);
  const std::vector<uint8_t> once = encode_checkpoint(s);
  TrainState again;
  if (!decode_checkpoint(once.data(), once.size(), kName, &again, &err)) std::abort();
  if (encode_checkpoint(again) != once) std::abort();
}

// The header's body size and CRC made to match the bytes after it.
void reseal(std::vector<uint8_t>& b) {
  const uint64_t body = b.size() - kCheckpointHeader;
  for (int i = 0; i < 8; ++i) b[16 + i] = uint8_t(body >> (8 * i));
  const uint32_t crc = crc32(b.data() + kCheckpointHeader, size_t(body));
  for (int i = 0; i < 4; ++i) b[24 + i] = uint8_t(crc >> (8 * i));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > (1u << 20)) return 0;
  // An exact-size copy, so that ASan sees any read past the end.
  std::vector<uint8_t> bytes(data, data + size);
  decode_and_check(bytes);
  if (size >= kCheckpointHeader) {
    const std::vector<uint8_t> as_given = bytes;
    reseal(bytes);
    if (bytes != as_given) decode_and_check(bytes);
  }
  return 0;
}
