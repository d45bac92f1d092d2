// The model file (DESIGN.md §3, layout in model_file.hpp): round trip, and
// corrupt, truncated or hostile files that must give a specific status with a
// message, never a crash. Each hostile edit recomputes the CRC so that the
// check it targets is the one that fires.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <set>

#include "crc32_target.hpp"
#include "test_util.hpp"

using namespace cgtest;

namespace {

void put_u64(Bytes& b, size_t off, uint64_t v) {
  put_u32(b, off, uint32_t(v));
  put_u32(b, off + 4, uint32_t(v >> 32));
}

// CRC-32 (IEEE 802.3, reflected, as zlib), bit by bit: independent of the library's table.
uint32_t ref_crc32(const uint8_t* p, size_t n) {
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; ++i) {
    c ^= p[i];
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
  }
  return ~c;
}
void fix_crc(Bytes& b) { put_u32(b, b.size() - 4, ref_crc32(b.data(), b.size() - 4)); }

// Parses a copy in a heap buffer of exactly n bytes (so a sanitizer sees any
// read past the end). The copy is 16-byte aligned (operator new[]).
Status parse_copy(const uint8_t* data, size_t n, Error* err, Model* out = nullptr) {
  std::unique_ptr<uint8_t[]> buf(new uint8_t[n ? n : 1]);
  if (n) std::memcpy(buf.get(), data, n);
  Model m{};
  const Status s = parse_model(buf.get(), n, &m, err);
  if (out) *out = m;
  return s;
}
Status parse_bytes(const Bytes& b, Error* err) { return parse_copy(b.data(), b.size(), err); }

// A model with every tensor kind: attention + max-avg layers, bias, wpe.
Config full_config() {
  return make_config(19, 16, 16, 2, true, true, {Mixer::attention, Mixer::max_avg});
}
Bytes file_for(const Config& c, uint64_t seed = 1) {
  return host::make_model_file(c, host::default_codepoints(c.vocab_size),
                               host::random_parameters(c, seed, 0.3f, 0.3f, 0.2f));
}

// Header fields (model_file.hpp).
constexpr size_t kVersion = 4, kFileSize = 8, kHeaderSz = 16, kVocab = 20, kBlock = 24,
                 kLayers = 28, kEmbd = 32, kHeads = 36, kFlags = 40, kNTensors = 44,
                 kMixersOff = 48, kVocabOff = 52, kDirOff = 56, kDataOff = 60;
size_t dir_entry(const Bytes& b, uint32_t i) { return get_u32(b, kDirOff) + 64u * i; }

// Applies edit to a fresh file, fixes the CRC, and expects status `want`.
template <class Edit>
void expect_status(Status want, Edit edit, const Config& c = full_config()) {
  Bytes b = file_for(c);
  edit(b);
  fix_crc(b);
  Error e;
  const Status got = parse_bytes(b, &e);
  INFO("got " << status_name(got) << ": " << e.message);
  CHECK(got == want);
  CHECK(std::strlen(e.message) > 0);
}

}  // namespace

TEST_CASE("crc32 is the standard CRC-32 (zlib)", "[model_file]") {
  const char* check = "123456789";
  CHECK(crc32(check, 9) == 0xCBF43926u);  // the published check value
  Bytes b = file_for(full_config());
  CHECK(crc32(b.data(), b.size()) == ref_crc32(b.data(), b.size()));
  // Incremental use gives the same as one call.
  CHECK(crc32(b.data() + 100, b.size() - 100, crc32(b.data(), 100)) == crc32(b.data(), b.size()));
  // Every start offset and length around the 8-byte steps and the byte tail.
  for (size_t start = 0; start < 9; ++start)
    for (size_t n = 0; n < 40; ++n)
      CHECK(crc32(b.data() + start, n) == ref_crc32(b.data() + start, n));
}

TEST_CASE("crc32's accelerated form equals the table form at every length and offset", "[model_file]") {
  // Random bytes: lengths across the 64-byte fold, the 16-byte blocks and the
  // byte tail, at every alignment; then a large buffer split anywhere.
  std::vector<uint8_t> r(1 << 16);
  uint64_t x = 0x9E3779B97F4A7C15ull;
  for (auto& v : r) v = uint8_t((x = x * 6364136223846793005ull + 1442695040888963407ull) >> 56);
  for (size_t start = 0; start < 17; ++start)
    for (size_t n = 0; n < 300; ++n) {
      const uint32_t want = ref_crc32(r.data() + start, n);
      REQUIRE(detail::crc32_reference(r.data() + start, n) == want);
      REQUIRE(crc32(r.data() + start, n) == want);
    }
  const uint32_t whole = ref_crc32(r.data(), r.size());
  CHECK(crc32(r.data(), r.size()) == whole);
  for (size_t cut : {size_t(1), size_t(63), size_t(64), size_t(1000), size_t(40000)})
    CHECK(crc32(r.data() + cut, r.size() - cut, crc32(r.data(), cut)) == whole);
#if defined(CAUSALGEN_CRC_PCLMUL)
  // The folding itself, where this CPU has it (crc32 above uses it then).
  if (__builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1"))
    for (size_t n = 64; n <= 4096; n += 16)
      REQUIRE(~detail::crc32_pclmul(r.data() + 3, n, ~0u) == ref_crc32(r.data() + 3, n));
#endif
}

TEST_CASE("write_model then parse_model round-trips config, vocabulary and tensors", "[model_file]") {
  for (const Variant& v : all_variants()) {
    SECTION(v.name) {
      const Config& c = v.config;
      const auto cps = host::default_codepoints(c.vocab_size);
      const auto params = host::random_parameters(c, 5, 0.3f, 0.3f, 0.2f);
      Bytes b(model_file_size(c));
      Error e;
      REQUIRE(write_model(c, cps.data(), params.data(), b.data(), b.size(), &e) == Status::ok);
      // Header as documented.
      CHECK(std::memcmp(b.data(), "CGLM", 4) == 0);
      CHECK(get_u32(b, kVersion) == 1);
      CHECK(get_u64(b, kFileSize) == b.size());
      CHECK(get_u32(b, kHeaderSz) == 64);
      CHECK(get_u32(b, b.size() - 4) == ref_crc32(b.data(), b.size() - 4));
      CHECK(get_u32(b, kDataOff) % 64 == 0);

      auto buf = host::aligned_bytes(b.size());
      std::memcpy(buf.data.get(), b.data(), b.size());
      Model m{};
      REQUIRE(parse_model(buf.data.get(), buf.size, &m, &e) == Status::ok);
      CHECK(m.file_size == b.size());
      CHECK(m.config.vocab_size == c.vocab_size);
      CHECK(m.config.block_size == c.block_size);
      CHECK(m.config.n_layer == c.n_layer);
      CHECK(m.config.n_embd == c.n_embd);
      if (c.has_attention()) CHECK(m.config.n_head == c.n_head);
      CHECK(m.config.bias == c.bias);
      CHECK(m.config.pos_emb == c.pos_emb);
      for (uint32_t l = 0; l < c.n_layer; ++l) {
        CHECK(m.config.mixers[l] == c.mixers[l]);
        // The window table: a local layer's W; 0 for the others (and no table without one).
        CHECK(m.config.window[l] == (mixer_takes_window(c.mixers[l]) ? c.window[l] : 0));
      }
      const bool table = m.config.window[0] != 0 || m.config.window[c.n_layer - 1] != 0;
      const uint32_t windows_at = (64 + c.n_layer + 3) / 4 * 4;
      CHECK(get_u32(b, 52) == windows_at + (table ? 4 * c.n_layer : 0));  // vocab_offset
      if (table)
        for (uint32_t l = 0; l < c.n_layer; ++l) CHECK(get_u32(b, windows_at + 4 * l) == m.config.window[l]);
      CHECK(m.config.parameter_count() == params.size());
      REQUIRE(m.vocab.size == c.vocab_size);
      for (uint32_t i = 0; i < c.vocab_size; ++i) {
        CHECK(m.vocab.codepoint(i) == cps[i]);
        uint32_t id = 99;
        CHECK(m.vocab.find(cps[i], &id));
        CHECK(id == i);
      }
      // Each tensor: directory entry, alignment, and the bytes behind the
      // Model's pointer equal the parameter slice, in canonical order.
      const size_t C = c.n_embd, V = c.vocab_size, T = c.block_size;
      size_t off = 0;
      uint32_t idx = 0;
      auto expect = [&](const char* name, const float* p, size_t rows, size_t cols) {
        INFO("tensor " << name);
        REQUIRE(p != nullptr);
        CHECK(reinterpret_cast<uintptr_t>(p) % 64 == 0);
        CHECK(std::memcmp(p, params.data() + off, rows * cols * 4) == 0);
        const size_t ent = dir_entry(b, idx++);
        CHECK(std::string(reinterpret_cast<const char*>(&b[ent])) == name);
        CHECK(get_u32(b, ent + 32) == 0);
        CHECK(get_u32(b, ent + 36) == rows);
        CHECK(get_u32(b, ent + 40) == cols);
        CHECK(get_u64(b, ent + 56) == rows * cols * 4);
        off += rows * cols;
      };
      expect("wte", m.wte, V, C);
      if (c.pos_emb) expect("wpe", m.wpe, T, C); else CHECK(m.wpe == nullptr);
      for (uint32_t l = 0; l < c.n_layer; ++l) {
        const LayerWeights& w = m.layers[l];
        char pbuf[16];
        std::snprintf(pbuf, sizeof pbuf, "l%u.", l);
        const std::string p = pbuf;
        expect((p + "ln1.w").c_str(), w.ln1_w, 1, C);
        if (c.bias) expect((p + "ln1.b").c_str(), w.ln1_b, 1, C); else CHECK(w.ln1_b == nullptr);
        if (c.mixers[l] == Mixer::attention || c.mixers[l] == Mixer::local) {
          expect((p + "attn.wqkv").c_str(), w.wqkv, 3 * C, C);
          if (c.bias) expect((p + "attn.bqkv").c_str(), w.bqkv, 1, 3 * C);
        }
        if (c.mixers[l] == Mixer::mingru) {
          expect((p + "mingru.w").c_str(), w.wqkv, 2 * C, C);
          if (c.bias) expect((p + "mingru.b").c_str(), w.bqkv, 1, 2 * C);
        }
        expect((p + "wo").c_str(), w.wo, C, C);
        if (c.bias) expect((p + "wo.b").c_str(), w.bo, 1, C); else CHECK(w.bo == nullptr);
        expect((p + "ln2.w").c_str(), w.ln2_w, 1, C);
        if (c.bias) expect((p + "ln2.b").c_str(), w.ln2_b, 1, C);
        expect((p + "fc1.w").c_str(), w.fc1_w, 4 * C, C);
        if (c.bias) expect((p + "fc1.b").c_str(), w.fc1_b, 1, 4 * C);
        expect((p + "fc2.w").c_str(), w.fc2_w, C, 4 * C);
        if (c.bias) expect((p + "fc2.b").c_str(), w.fc2_b, 1, C); else CHECK(w.fc2_b == nullptr);
      }
      expect("lnf.w", m.lnf_w, 1, C);
      if (c.bias) expect("lnf.b", m.lnf_b, 1, C); else CHECK(m.lnf_b == nullptr);
      CHECK(off == params.size());
      CHECK(idx == get_u32(b, kNTensors));
      CHECK(tensor_count(c) == idx);
    }
  }
}

TEST_CASE("write_model rejects bad input", "[model_file]") {
  const Config c = full_config();
  auto cps = host::default_codepoints(c.vocab_size);
  const auto params = host::random_parameters(c, 1);
  Bytes b(model_file_size(c));
  Error e;
  CHECK(write_model(c, cps.data(), params.data(), b.data(), b.size() - 1, &e) == Status::arena_too_small);
  Config bad = c;
  bad.n_embd = 0;
  CHECK(write_model(bad, cps.data(), params.data(), b.data(), b.size(), &e) == Status::bad_config);
  auto swapped = cps;
  std::swap(swapped[2], swapped[3]);
  CHECK(write_model(c, swapped.data(), params.data(), b.data(), b.size(), &e) == Status::bad_vocab);
  // What the reader would refuse, the writer refuses too.
  for (uint32_t cp : {0xD800u, 0xDFFFu, 0x110000u}) {
    auto v = cps;
    v.back() = cp;
    INFO("code point " << cp);
    CHECK(write_model(c, v.data(), params.data(), b.data(), b.size(), &e) == Status::bad_vocab);
  }
}

TEST_CASE("truncation at every length gives 'truncated', never a crash", "[model_file][corrupt]") {
  const Bytes b = file_for(full_config());
  for (size_t n = 0; n < b.size(); ++n) {
    Error e;
    const Status s = parse_copy(b.data(), n, &e);
    if (s != Status::truncated || e.message[0] == 0) {
      INFO("length " << n << " of " << b.size() << ": " << status_name(s) << " " << e.message);
      CHECK(s == Status::truncated);
      CHECK(e.message[0] != 0);
    }
  }
}

TEST_CASE("every single-byte flip in the header, vocabulary and directory is caught", "[model_file][corrupt]") {
  const Bytes good = file_for(full_config());
  const size_t data_off = get_u32(good, kDataOff);
  for (size_t i = 0; i < data_off; ++i)
    for (uint8_t mask : {0x01, 0x80, 0xFF}) {
      Bytes b = good;
      b[i] ^= mask;
      Error e;
      const Status s = parse_bytes(b, &e);
      INFO("byte " << i << " ^ " << int(mask) << ": " << status_name(s) << " " << e.message);
      if (i < 16) {
        // magic, version, file size: these may be reported before the CRC.
        static const std::set<Status> ok_set = {Status::bad_magic, Status::bad_version, Status::truncated,
                                                Status::out_of_bounds, Status::crc_mismatch};
        if (!ok_set.count(s)) CHECK(s == Status::crc_mismatch);
      } else if (s != Status::crc_mismatch) {
        CHECK(s == Status::crc_mismatch);
      }
      if (e.message[0] == 0) CHECK(e.message[0] != 0);
    }
}

TEST_CASE("sampled byte flips in the tensor data and the CRC give crc_mismatch", "[model_file][corrupt]") {
  const Bytes good = file_for(full_config());
  for (size_t i = get_u32(good, kDataOff); i < good.size(); i += (i + 4 >= good.size() ? 1 : 7)) {
    Bytes b = good;
    b[i] ^= 0x10;
    Error e;
    const Status s = parse_bytes(b, &e);
    if (s != Status::crc_mismatch) {
      INFO("byte " << i);
      CHECK(s == Status::crc_mismatch);
    }
  }
}

TEST_CASE("flips with a recomputed CRC: a clear error, or a model that runs", "[model_file][corrupt]") {
  // The CRC no longer protects: every other check must hold its ground.
  const Bytes good = file_for(full_config());
  const size_t data_off = get_u32(good, kDataOff);
  int accepted = 0, refused = 0;
  for (size_t i = 4; i < data_off; ++i)
    for (uint8_t mask : {0x01, 0x02, 0x40, 0x80, 0xFF}) {
      Bytes b = good;
      b[i] ^= mask;
      fix_crc(b);
      auto buf = host::aligned_bytes(b.size());
      std::memcpy(buf.data.get(), b.data(), b.size());
      Model m{};
      Error e;
      const Status s = parse_model(buf.data.get(), buf.size, &m, &e);
      INFO("byte " << i << " ^ " << int(mask) << ": " << status_name(s) << " " << e.message);
      if (s != Status::ok) {
        ++refused;
        if (e.message[0] == 0) CHECK(e.message[0] != 0);
        continue;
      }
      // Every field of the 64-byte header matters: an edit there is refused.
      if (i < 64) FAIL("header byte " << i << " ^ " << int(mask) << " accepted");
      // Accepted (a vocabulary edit that stays ascending): it must run.
      ++accepted;
      std::vector<float> logits;
      const auto tokens = random_tokens(std::min<uint32_t>(4, m.config.block_size), m.config.vocab_size, i);
      REQUIRE(run_forward(m, tokens, &logits) == Status::ok);
      host::OwnedState st;
      std::string err;
      REQUIRE(host::make_state(m, &st, &err));
      for (uint32_t t : tokens) REQUIRE(state_feed(st.state, t, &e) == Status::ok);
    }
  // Vocabulary edits that stay ascending are accepted (padding and the bytes
  // after a name's NUL must be zero: test_model_file_rules.cpp); every header
  // field edit is refused.
  INFO("accepted " << accepted << ", refused " << refused);
  CHECK(refused > 1000);
  CHECK(accepted > 0);
}

TEST_CASE("bad magic and bad version", "[model_file][corrupt]") {
  expect_status(Status::bad_magic, [](Bytes& b) { b[3] = 'X'; });
  expect_status(Status::bad_magic, [](Bytes& b) { std::memcpy(b.data(), "\x7f" "ELF", 4); });
  expect_status(Status::bad_version, [](Bytes& b) { put_u32(b, kVersion, 2); });
  expect_status(Status::bad_version, [](Bytes& b) { put_u32(b, kVersion, 0); });
  Error e;
  Bytes tiny = {'C', 'G'};
  CHECK(parse_bytes(tiny, &e) == Status::truncated);
  Bytes zeros(200, 0);
  CHECK(parse_bytes(zeros, &e) == Status::bad_magic);
}

TEST_CASE("absurd dimensions and flags give bad_config", "[model_file][corrupt]") {
  expect_status(Status::bad_config, [](Bytes& b) { put_u32(b, kHeaderSz, 65); });
  expect_status(Status::bad_config, [](Bytes& b) { put_u32(b, kLayers, 1000); });
  expect_status(Status::bad_config, [](Bytes& b) { put_u32(b, kLayers, 0); });
  expect_status(Status::bad_config, [](Bytes& b) { put_u32(b, kLayers, 0xFFFFFFFFu); });
  expect_status(Status::bad_config, [](Bytes& b) { put_u32(b, kEmbd, 0); });
  expect_status(Status::bad_config, [](Bytes& b) { put_u32(b, kEmbd, 1u << 30); });
  expect_status(Status::bad_config, [](Bytes& b) { put_u32(b, kVocab, 1000000000u); });
  expect_status(Status::bad_config, [](Bytes& b) { put_u32(b, kVocab, 0); });
  expect_status(Status::bad_config, [](Bytes& b) { put_u32(b, kBlock, 0); });
  expect_status(Status::bad_config, [](Bytes& b) { put_u32(b, kBlock, 0xFFFFFFFFu); });
  expect_status(Status::bad_config, [](Bytes& b) { put_u32(b, kHeads, 3); });   // 16 % 3 != 0
  expect_status(Status::bad_config, [](Bytes& b) { put_u32(b, kHeads, 0); });
  expect_status(Status::bad_config, [](Bytes& b) { put_u32(b, kHeads, 32); });  // more heads than channels
  expect_status(Status::bad_config, [](Bytes& b) { put_u32(b, kFlags, 4); });
  // The first code past the registry's, and the largest.
  expect_status(Status::bad_config, [](Bytes& b) { b[get_u32(b, kMixersOff) + 1] = uint8_t(mixer_count()); });
  expect_status(Status::bad_config, [](Bytes& b) { b[get_u32(b, kMixersOff)] = 0xFF; });
}

TEST_CASE("section offsets and sizes that do not fit give out_of_bounds or truncated", "[model_file][corrupt]") {
  expect_status(Status::out_of_bounds, [](Bytes& b) { put_u32(b, kMixersOff, 68); });
  expect_status(Status::out_of_bounds, [](Bytes& b) { put_u32(b, kMixersOff, 0xFFFFFFF0u); });
  expect_status(Status::out_of_bounds, [](Bytes& b) { put_u32(b, kVocabOff, get_u32(b, kVocabOff) + 4); });
  expect_status(Status::out_of_bounds, [](Bytes& b) { put_u32(b, kVocabOff, 0xFFFFFFFCu); });
  expect_status(Status::out_of_bounds, [](Bytes& b) { put_u32(b, kDirOff, get_u32(b, kDirOff) + 64); });
  expect_status(Status::out_of_bounds, [](Bytes& b) { put_u32(b, kDataOff, get_u32(b, kDataOff) + 64); });
  // The header's file size disagrees with the bytes present.
  expect_status(Status::truncated, [](Bytes& b) { put_u64(b, kFileSize, b.size() + 64); });
  expect_status(Status::truncated, [](Bytes& b) { put_u64(b, kFileSize, ~0ull); });
  expect_status(Status::out_of_bounds, [](Bytes& b) { put_u64(b, kFileSize, b.size() - 64); });
  // Bytes appended after the CRC.
  {
    Bytes b = file_for(full_config());
    b.insert(b.end(), 64, 0);
    fix_crc(b);
    Error e;
    CHECK(parse_bytes(b, &e) == Status::out_of_bounds);
    CHECK(e.message[0] != 0);
  }
  // A consistent but different config (one layer more) than the tensors: the
  // layout no longer matches.
  expect_status(Status::bad_tensor, [](Bytes& b) { put_u32(b, kNTensors, get_u32(b, kNTensors) + 1); });
  expect_status(Status::bad_tensor, [](Bytes& b) { put_u32(b, kNTensors, 0); });
}

TEST_CASE("tensor directory: offsets, alignment, names, shapes, dtypes", "[model_file][corrupt]") {
  // Offsets past the end (first, a middle and the last tensor).
  for (uint32_t k : {0u, 5u, 99u}) {
    INFO("entry " << k);
    auto idx = [k](const Bytes& b) { return std::min<uint32_t>(k, get_u32(b, kNTensors) - 1); };
    expect_status(Status::out_of_bounds, [&](Bytes& b) { put_u64(b, dir_entry(b, idx(b)) + 48, b.size()); });
    expect_status(Status::out_of_bounds, [&](Bytes& b) { put_u64(b, dir_entry(b, idx(b)) + 48, 1ull << 63); });
    expect_status(Status::out_of_bounds, [&](Bytes& b) { put_u64(b, dir_entry(b, idx(b)) + 48, ~0ull - 63); });
    expect_status(Status::out_of_bounds, [&](Bytes& b) { put_u64(b, dir_entry(b, idx(b)) + 48, 0); });
  }
  // The last tensor moved one alignment step further runs past the CRC.
  expect_status(Status::out_of_bounds, [](Bytes& b) {
    const size_t e = dir_entry(b, get_u32(b, kNTensors) - 1);
    put_u64(b, e + 48, get_u64(b, e + 48) + 64);
  });
  // Misaligned data offsets (still inside the file).
  expect_status(Status::misaligned, [](Bytes& b) { put_u64(b, dir_entry(b, 0) + 48, get_u64(b, dir_entry(b, 0) + 48) + 4); });
  expect_status(Status::misaligned, [](Bytes& b) { put_u64(b, dir_entry(b, 2) + 48, get_u64(b, dir_entry(b, 2) + 48) + 32); });
  // Names.
  expect_status(Status::bad_tensor, [](Bytes& b) { b[dir_entry(b, 0) + 2] = 'f'; });  // "wtf"
  expect_status(Status::bad_tensor, [](Bytes& b) {  // two entries swapped
    const size_t a = dir_entry(b, 3), c = dir_entry(b, 4);
    std::swap_ranges(b.begin() + a, b.begin() + a + 64, b.begin() + c);
  });
  expect_status(Status::bad_tensor, [](Bytes& b) { std::memset(&b[dir_entry(b, 1)], 'A', 32); });  // no NUL
  expect_status(Status::bad_tensor, [](Bytes& b) { b[dir_entry(b, 1)] = 0; });  // empty name
  // Shapes, dtype, byte count.
  expect_status(Status::bad_tensor, [](Bytes& b) { put_u32(b, dir_entry(b, 0) + 32, 1); });
  expect_status(Status::bad_tensor, [](Bytes& b) { put_u32(b, dir_entry(b, 0) + 32, 0xFFFFFFFFu); });
  expect_status(Status::bad_tensor, [](Bytes& b) { put_u32(b, dir_entry(b, 0) + 36, get_u32(b, dir_entry(b, 0) + 36) + 1); });
  expect_status(Status::bad_tensor, [](Bytes& b) { put_u32(b, dir_entry(b, 3) + 40, 0xFFFFFFFFu); });
  expect_status(Status::bad_tensor, [](Bytes& b) {  // rows and cols swapped (wqkv 48x16 -> 16x48)
    const size_t e = dir_entry(b, 4);
    const uint32_t r = get_u32(b, e + 36), c = get_u32(b, e + 40);
    put_u32(b, e + 36, c);
    put_u32(b, e + 40, r);
  });
  expect_status(Status::bad_tensor, [](Bytes& b) { put_u64(b, dir_entry(b, 0) + 56, get_u64(b, dir_entry(b, 0) + 56) + 4); });
  expect_status(Status::bad_tensor, [](Bytes& b) { put_u64(b, dir_entry(b, 0) + 56, ~0ull); });
}

TEST_CASE("vocabulary must be strictly ascending valid code points", "[model_file][corrupt]") {
  expect_status(Status::bad_vocab, [](Bytes& b) {
    const size_t v = get_u32(b, kVocabOff);
    const uint32_t a = get_u32(b, v + 12), c = get_u32(b, v + 16);
    put_u32(b, v + 12, c);
    put_u32(b, v + 16, a);
  });
  expect_status(Status::bad_vocab, [](Bytes& b) {  // duplicate
    const size_t v = get_u32(b, kVocabOff);
    put_u32(b, v + 8, get_u32(b, v + 4));
  });
  for (uint32_t cp : {0xD800u, 0xDFFFu, 0x110000u, 0xFFFFFFFFu}) {
    INFO("last code point " << cp);
    expect_status(Status::bad_vocab, [cp](Bytes& b) {
      put_u32(b, get_u32(b, kVocabOff) + 4 * (get_u32(b, kVocab) - 1), cp);
    });
  }
}

TEST_CASE("parse_model input buffer: alignment and null", "[model_file]") {
  const Bytes b = file_for(full_config());
  auto buf = host::aligned_bytes(b.size() + 64);
  Model m{};
  Error e;
  for (size_t shift : {1, 2, 3, 5, 6, 7}) {
    std::memcpy(buf.data.get() + shift, b.data(), b.size());
    e = Error{};
    CHECK(parse_model(buf.data.get() + shift, b.size(), &m, &e) == Status::misaligned);
    CHECK(e.message[0] != 0);
  }
  // 4-byte alignment is enough (documented), and the model then runs.
  std::memcpy(buf.data.get() + 4, b.data(), b.size());
  REQUIRE(parse_model(buf.data.get() + 4, b.size(), &m, &e) == Status::ok);
  std::vector<float> logits;
  CHECK(run_forward(m, {1, 2, 3}, &logits) == Status::ok);
  CHECK(parse_model(nullptr, 100, &m, &e) == Status::bad_argument);
}

TEST_CASE("status names and the error message API", "[status]") {
  std::set<std::string> names;
  for (int32_t s = 0; s <= 13; ++s) {
    const char* n = status_name(static_cast<Status>(s));
    REQUIRE(n != nullptr);
    CHECK(std::strlen(n) > 0);
    names.insert(n);
  }
  CHECK(names.size() == 14);  // all distinct
  Error e;
  CHECK(e.ok());
  CHECK(fail(&e, Status::bad_tensor, "tensor '%s' %d", "x", 7) == Status::bad_tensor);
  CHECK(std::string(e.message) == "tensor 'x' 7");
  CHECK_FALSE(e.ok());
  CHECK(fail(nullptr, Status::truncated, "no crash") == Status::truncated);
  // A message longer than the buffer is cut, NUL-terminated.
  std::string longer(500, 'z');
  fail(&e, Status::bad_argument, "%s", longer.c_str());
  CHECK(std::strlen(e.message) == sizeof e.message - 1);
}

TEST_CASE("the core's message formatter: every conversion it documents, as printf prints it") {
  Error e;
  const auto formats = [&](const char* expected, const char* fmt, auto... args) {
    fail(&e, Status::bad_argument, fmt, args...);
    CHECK(std::string(e.message) == expected);
    char libc[256];
    std::snprintf(libc, sizeof libc, fmt, args...);
    CHECK(std::string(e.message) == libc);
  };
  formats("-42|-0042|  -42|7", "%d|%05d|%5d|%i", -42, -42, -42, 7);
  formats("18446744073709551615|4294967295|1234567", "%llu|%lu|%zu", ~0ull, 4294967295ul,
          size_t(1234567));
  formats("ff|FF|000a|-9223372036854775808", "%x|%X|%04x|%lld", 255u, 255u, 10u,
          (-9223372036854775807ll - 1));
  formats("abc|  abc|ab|c|100%", "%s|%5s|%.2s|%c|100%%", "abc", "abc", "abc", 'c');
  // %g and %f print fixed-point with up to 6 decimals (not printf's %g).
  fail(&e, Status::bad_argument, "%g %f %g %g", 1.5, -0.25, 3.0, 1e-7);
  CHECK(std::string(e.message) == "1.5 -0.25 3 0");
  // Malformed formats print what they can (the compiler rightly objects).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat"
  fail(&e, Status::bad_argument, "end %");
  CHECK(std::string(e.message) == "end ");
  fail(&e, Status::bad_argument, "%q");
  CHECK(std::string(e.message) == "%q");
#pragma GCC diagnostic pop
}
