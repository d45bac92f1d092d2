// Writes hostile copies of model files and checkpoints for data_safety.sh:
// each breaks one rule behind a valid CRC (recomputed), so that the check
// under test is the one that must fire.
//   hostile_edit model-nan      IN.cgm OUT.cgm TENSOR   a NaN in an f32 tensor
//   hostile_edit model-int8-min IN.cgm OUT.cgm TENSOR   an int8 value of -128
//   hostile_edit model-overlap  IN.cgm OUT.cgm TENSOR   the tensor placed on its predecessor
//   hostile_edit model-padding  IN.cgm OUT.cgm          a nonzero byte before the tensor data
//   hostile_edit ckpt-nan       IN.cgc OUT.cgc params|m|v   a NaN in the last value
//   hostile_edit ckpt-trailing  IN.cgc OUT.cgc N        N bytes after the body, size and CRC fixed
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

#include "causalgen/model_file.hpp"
#include "train/io/checkpoint.hpp"

using namespace causalgen;

namespace {

using Bytes = std::vector<uint8_t>;

uint32_t get_u32(const Bytes& b, size_t o) {
  return uint32_t(b[o]) | uint32_t(b[o + 1]) << 8 | uint32_t(b[o + 2]) << 16 | uint32_t(b[o + 3]) << 24;
}
uint64_t get_u64(const Bytes& b, size_t o) { return get_u32(b, o) | uint64_t(get_u32(b, o + 4)) << 32; }
void put_u32(Bytes& b, size_t o, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[o + i] = uint8_t(v >> (8 * i));
}
void put_u64(Bytes& b, size_t o, uint64_t v) {
  put_u32(b, o, uint32_t(v));
  put_u32(b, o + 4, uint32_t(v >> 32));
}

int die(const std::string& why) {
  std::fprintf(stderr, "hostile_edit: %s\n", why.c_str());
  return 2;
}

// The directory entry (its offset in the file) of the tensor called name; 0 if none.
size_t entry_of(const Bytes& b, const std::string& name) {
  const uint32_t n = get_u32(b, 44), dir = get_u32(b, 56);
  for (uint32_t i = 0; i < n; ++i)
    if (name == reinterpret_cast<const char*>(&b[dir + 64u * i])) return dir + 64u * i;
  return 0;
}

int edit_model(const std::string& how, Bytes& b, const std::string& tensor) {
  if (how == "model-padding") {
    b[get_u32(b, 60) - 1] = 1;
  } else {
    const size_t e = entry_of(b, tensor);
    if (!e) return die("no tensor " + tensor);
    const uint64_t off = get_u64(b, e + 48);
    if (how == "model-nan") {
      const float nan = std::numeric_limits<float>::quiet_NaN();
      std::memcpy(&b[off + 4], &nan, 4);
    } else if (how == "model-int8-min") {
      if (get_u32(b, e + 32) != 1) return die(tensor + " is not int8");
      b[off] = 0x80;
    } else if (how == "model-overlap") {
      if (e == get_u32(b, 56)) return die("the first tensor has no predecessor");
      put_u64(b, e + 48, get_u64(b, e - 64 + 48));
    } else {
      return die("unknown edit " + how);
    }
  }
  put_u32(b, b.size() - 4, crc32(b.data(), b.size() - 4));
  return 0;
}

int edit_checkpoint(const std::string& how, Bytes& b, const std::string& arg) {
  if (how == "ckpt-trailing") {
    b.insert(b.end(), std::stoul(arg), 0);
  } else if (how == "ckpt-nan") {
    train::TrainState s;
    std::string err;
    if (!train::decode_checkpoint(b.data(), b.size(), "input", &s, &err)) return die(err);
    train::Flat& f = arg == "params" ? s.params : arg == "m" ? s.m : s.v;
    f(f.size() - 1) = std::numeric_limits<float>::quiet_NaN();
    b = train::encode_checkpoint(s);
    return 0;
  } else {
    return die("unknown edit " + how);
  }
  const uint64_t body = b.size() - train::kCheckpointHeader;
  put_u64(b, 16, body);
  put_u32(b, 24, crc32(b.data() + train::kCheckpointHeader, body));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) return die("usage: hostile_edit EDIT IN OUT [ARG]");
  const std::string how = argv[1], arg = argc > 4 ? argv[4] : "";
  std::ifstream in(argv[2], std::ios::binary);
  Bytes b{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (b.size() < 68) return die(std::string(argv[2]) + ": too short");
  const int rc = how.rfind("model-", 0) == 0 ? edit_model(how, b, arg) : edit_checkpoint(how, b, arg);
  if (rc) return rc;
  std::ofstream(argv[3], std::ios::binary).write(reinterpret_cast<const char*>(b.data()),
                                                 std::streamsize(b.size()));
  return 0;
}
