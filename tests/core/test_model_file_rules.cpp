// Each rule docs/model-format.md states, broken once in a file whose CRC is
// then recomputed (so that the CRC does not hide it): the validator must
// refuse it with bad_tensor/bad_config/bad_vocab and a message naming it.
// Rules: zero padding in every gap, NUL-padded names, tensors back to back
// in canonical order (no overlap), finite f32 values, int8 values in
// [-127, 127]; and the writer refuses what the reader would.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <string>

#include "test_util.hpp"

using namespace cgtest;

namespace {

void put_u64(Bytes& b, size_t off, uint64_t v) {
  put_u32(b, off, uint32_t(v));
  put_u32(b, off + 4, uint32_t(v >> 32));
}
void fix_crc(Bytes& b) { put_u32(b, b.size() - 4, crc32(b.data(), b.size() - 4)); }

// Attention + max-avg, bias, position embedding: every kind of tensor.
Config rules_config() {
  return make_config(19, 16, 16, 2, true, true, {Mixer::attention, Mixer::max_avg});
}
// The file with f32 or int8 matrices (int8: groups of 5, so rows end in a short group).
Bytes file_as(DType d, const Config& c = rules_config()) {
  WriteOptions o;
  o.matrices = d;
  o.group_size = 5;
  const auto cps = host::default_codepoints(c.vocab_size);
  const auto params = host::random_parameters(c, 7, 0.3f, 0.3f, 0.2f);
  Bytes b(model_file_size(c, o));
  Error e;
  REQUIRE(write_model(c, cps.data(), params.data(), o, b.data(), b.size(), &e) == Status::ok);
  return b;
}

Status parse_copy(const Bytes& b, Error* e) {
  auto buf = host::aligned_bytes(b.size());
  std::memcpy(buf.data.get(), b.data(), b.size());
  Model m{};
  return parse_model(buf.data.get(), buf.size, &m, e);
}

// Parses b after fixing its CRC; the status, and the message in *msg.
Status parse_fixed(Bytes b, std::string* msg) {
  fix_crc(b);
  Error e;
  const Status s = parse_copy(b, &e);
  *msg = e.message;
  return s;
}

struct Entry {
  std::string name;
  uint32_t dtype, rows, cols;
  uint64_t off, nbytes;
  size_t at;  // the entry's own offset
};
std::vector<Entry> directory(const Bytes& b) {
  std::vector<Entry> out;
  const uint32_t n = get_u32(b, 44), dir = get_u32(b, 56);
  for (uint32_t i = 0; i < n; ++i) {
    const size_t e = dir + 64u * i;
    out.push_back({std::string(reinterpret_cast<const char*>(&b[e])), get_u32(b, e + 32),
                   get_u32(b, e + 36), get_u32(b, e + 40), get_u64(b, e + 48), get_u64(b, e + 56), e});
  }
  return out;
}

// Every byte the format says is zero padding: [from, to) ranges.
std::vector<std::pair<size_t, size_t>> gaps(const Bytes& b) {
  const uint32_t L = get_u32(b, 28), V = get_u32(b, 20), nt = get_u32(b, 44);
  const uint32_t mixers = get_u32(b, 48), vocab = get_u32(b, 52), dir = get_u32(b, 56),
                 data = get_u32(b, 60);
  std::vector<std::pair<size_t, size_t>> g = {
      {mixers + L, vocab}, {vocab + 4 * V, dir}, {dir + 64 * nt, data}};
  size_t end = data;
  for (const Entry& e : directory(b)) {
    g.push_back({end, e.off});
    if (e.dtype == 1) {
      const uint64_t values = uint64_t(e.rows) * e.cols;
      g.push_back({e.off + values, e.off + int8_scales_offset(e.rows, e.cols)});
    }
    end = e.off + e.nbytes;
  }
  return g;
}

}  // namespace

TEST_CASE("format rules: every padding byte must be zero", "[model_file][rules]") {
  for (DType d : {DType::f32, DType::int8}) {
    const Bytes good = file_as(d);
    std::string msg;
    REQUIRE(parse_fixed(good, &msg) == Status::ok);
    size_t checked = 0, int8_gaps = 0;
    for (auto [from, to] : gaps(good)) {
      for (size_t i = from; i < to; ++i) {
        Bytes b = good;
        b[i] = 0x01;
        const Status s = parse_fixed(b, &msg);
        INFO("dtype " << (d == DType::int8 ? "int8" : "f32") << ", byte " << i << " in gap [" << from << ", " << to
                      << "): " << status_name(s) << ": " << msg);
        CHECK(s != Status::ok);
        CHECK(msg.find("padding") != std::string::npos);
        ++checked;
      }
      if (d == DType::int8 && to > from) ++int8_gaps;
    }
    INFO("padding bytes checked: " << checked);
    CHECK(checked > 40);
    if (d == DType::int8) CHECK(int8_gaps > 3);
  }
}

TEST_CASE("format rules: tensor names are NUL-padded", "[model_file][rules]") {
  const Bytes good = file_as(DType::f32);
  for (const Entry& e : directory(good))
    for (size_t k = e.name.size() + 1; k < 32; k += 7) {
      Bytes b = good;
      b[e.at + k] = 'x';
      std::string msg;
      CHECK(parse_fixed(b, &msg) == Status::bad_tensor);
      CHECK(msg.find("NUL-padded") != std::string::npos);
      CHECK(msg.find(e.name) != std::string::npos);
    }
}

TEST_CASE("a wrong tensor name is quoted in printable ASCII only", "[model_file][rules]") {
  // A hostile name (an escape sequence, invalid UTF-8) must not reach the
  // user's terminal as is (found by the fuzz corpus: messages with raw bytes).
  const Bytes good = file_as(DType::f32);
  const Entry e = directory(good)[1];
  Bytes b = good;
  const char hostile[] = "\x1b[31mw\xff\x01";
  std::memcpy(&b[e.at], hostile, sizeof hostile);
  std::string msg;
  REQUIRE(parse_fixed(b, &msg) == Status::bad_tensor);
  CHECK(msg == "directory entry 1 is '?[31mw?\?', expected '" + e.name + "'");
  for (unsigned char ch : msg) CHECK((ch >= 0x20 && ch < 0x7F));
}

TEST_CASE("format rules: tensors do not overlap and sit where the layout puts them", "[model_file][rules]") {
  const Bytes good = file_as(DType::f32);
  const auto dir = directory(good);
  // Each tensor moved onto its predecessor's data (in bounds, aligned).
  for (size_t k = 1; k < dir.size(); ++k) {
    Bytes b = good;
    put_u64(b, dir[k].at + 48, dir[k - 1].off);
    std::string msg;
    INFO(dir[k].name << ": " << msg);
    CHECK(parse_fixed(b, &msg) == Status::bad_tensor);
    CHECK(msg.find("overlaps") != std::string::npos);
    CHECK(msg.find(dir[k].name) != std::string::npos);
  }
  // Two tensors of one size with their offsets swapped: no overlap, but not
  // the canonical order either.
  size_t a = 0, c = 0;
  for (size_t i = 0; i + 1 < dir.size() && !a; ++i)
    for (size_t j = i + 1; j < dir.size(); ++j)
      if (dir[i].nbytes == dir[j].nbytes) {
        a = i, c = j;
        break;
      }
  REQUIRE(c > a);
  Bytes b = good;
  put_u64(b, dir[a].at + 48, dir[c].off);
  put_u64(b, dir[c].at + 48, dir[a].off);
  std::string msg;
  CHECK(parse_fixed(b, &msg) == Status::bad_tensor);
  CHECK(msg.find("the layout puts it at") != std::string::npos);
}

TEST_CASE("format rules: every f32 value is finite, in every tensor", "[model_file][rules]") {
  const float bad[] = {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                       -std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::quiet_NaN()};
  for (DType d : {DType::f32, DType::int8}) {
    const Bytes good = file_as(d);
    int checked = 0;
    for (const Entry& e : directory(good)) {
      if (e.dtype != 0) continue;
      const uint64_t n = uint64_t(e.rows) * e.cols;
      for (uint64_t k : {uint64_t(0), n / 2, n - 1})
        for (float x : bad) {
          Bytes b = good;
          std::memcpy(&b[e.off + 4 * k], &x, 4);
          std::string msg;
          const Status s = parse_fixed(b, &msg);
          INFO(e.name << "[" << k << "] = " << x << ": " << status_name(s) << ": " << msg);
          CHECK(s == Status::bad_tensor);
          CHECK(msg.find("'" + e.name + "'") != std::string::npos);
          CHECK(msg.find("not finite") != std::string::npos);
          ++checked;
        }
      // The largest finite float is a weight like any other.
      Bytes b = good;
      const float big = -std::numeric_limits<float>::max();
      std::memcpy(&b[e.off + 4 * (n - 1)], &big, 4);
      std::string msg;
      CHECK(parse_fixed(b, &msg) == Status::ok);
    }
    CHECK(checked > 0);
  }
}

TEST_CASE("format rules: int8 values lie in [-127, 127]", "[model_file][rules][int8]") {
  const Bytes good = file_as(DType::int8);
  int checked = 0;
  for (const Entry& e : directory(good)) {
    if (e.dtype != 1) continue;
    const uint64_t n = uint64_t(e.rows) * e.cols;
    for (uint64_t k : {uint64_t(0), n - 1}) {
      Bytes b = good;
      b[e.off + k] = 0x80;  // -128
      std::string msg;
      CHECK(parse_fixed(b, &msg) == Status::bad_tensor);
      CHECK(msg.find("'" + e.name + "'") != std::string::npos);
      CHECK(msg.find("-128") != std::string::npos);
      b[e.off + k] = 0x81;  // -127 is allowed
      CHECK(parse_fixed(b, &msg) == Status::ok);
      ++checked;
    }
  }
  CHECK(checked >= 2 * 6);  // wte, wpe, and 2 x (wqkv/wo, fc1, fc2) minus the shift layer's missing wqkv
}

TEST_CASE("format rules: the writer refuses a non-finite value in any tensor", "[model_file][rules]") {
  const Config c = rules_config();
  const auto cps = host::default_codepoints(c.vocab_size);
  const auto good = host::random_parameters(c, 7, 0.3f, 0.3f, 0.2f);
  for (DType d : {DType::f32, DType::int8}) {
    WriteOptions o;
    o.matrices = d;
    Bytes out(model_file_size(c, o));
    for (uint32_t i = 0; i < tensor_count(c); ++i) {
      const TensorSpec t = tensor_spec(c, i);
      auto params = good;
      params[t.offset + t.size() - 1] = std::numeric_limits<float>::quiet_NaN();
      Error e;
      INFO((d == DType::int8 ? "int8" : "f32") << " " << t.name);
      CHECK(write_model(c, cps.data(), params.data(), o, out.data(), out.size(), &e) == Status::bad_argument);
      CHECK(std::string(e.message).find(std::string("'") + t.name + "'") != std::string::npos);
    }
  }
}

TEST_CASE("format rules: a local layer's window lies in 1..T, other layers' entries are 0",
          "[model_file][rules][local]") {
  // max-avg, local (W = 6), mingru: the window table is the 3 u32 after the
  // mixer table (at 68), before the vocabulary.
  Config c = make_config(19, 16, 16, 2, true, false, {Mixer::max_avg, Mixer::local, Mixer::mingru});
  c.window[1] = 6;
  const Bytes good = file_as(DType::f32, c);
  REQUIRE(get_u32(good, 52) == 68 + 12);
  CHECK(get_u32(good, 68) == 0);
  CHECK(get_u32(good, 72) == 6);
  CHECK(get_u32(good, 76) == 0);
  struct Case {
    size_t at;
    uint32_t value;
    const char* message;
  } cases[] = {
      {72, 0, "layer 1 (local): window 0 outside 1..16"},
      {72, 17, "layer 1 (local): window 17 outside 1..16"},
      {72, 0xFFFFFFFFu, "layer 1 (local): window 4294967295 outside 1..16"},
      {68, 3, "layer 0 (max-avg): window 3, must be 0"},
      {76, 16, "layer 2 (mingru): window 16, must be 0"},
  };
  for (const Case& k : cases) {
    INFO(k.message);
    Bytes b = good;
    put_u32(b, k.at, k.value);
    std::string msg;
    CHECK(parse_fixed(b, &msg) == Status::bad_config);
    CHECK(msg.find(k.message) != std::string::npos);
  }
  // The writer refuses what the reader would.
  for (uint32_t w : {0u, 17u}) {
    Config bad = c;
    bad.window[1] = w;
    Bytes out(model_file_size(c));
    Error e;
    CHECK(write_model(bad, host::default_codepoints(19).data(),
                      host::random_parameters(c, 7, 0.3f, 0.3f, 0.2f).data(), out.data(), out.size(),
                      &e) == Status::bad_config);
    CHECK(std::string(e.message).find("layer 1 (local): window") != std::string::npos);
  }
}
