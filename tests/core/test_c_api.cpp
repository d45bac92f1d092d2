// The C API (causalgen.h): loading into caller memory, states in caller
// memory, feeding text, errors with specific codes and messages, sampling
// determinism; plus c_api_smoke.c, compiled as C.
#include <catch2/catch.hpp>

#include <set>

#include "causalgen/causalgen.h"
#include "test_util.hpp"

using namespace cgtest;

extern "C" int c_api_smoke(const void* bytes, size_t n, uint32_t* out, size_t out_n, char* msg, size_t msg_n);

namespace {

struct CModel {
  host::AlignedBytes bytes;
  cg_model_storage storage;
  cg_model* m = nullptr;
};

// V = 100: '\n', ' '..'~', then U+00C0.. (so 'À' is in, 'é' is not).
std::unique_ptr<CModel> load(const Config& c, uint64_t seed) {
  auto cm = std::make_unique<CModel>();
  const auto file = host::make_model_file(c, host::default_codepoints(c.vocab_size),
                                          host::random_parameters(c, seed, 0.3f, 0.3f, 0.2f));
  cm->bytes = host::aligned_bytes(file.size());
  std::memcpy(cm->bytes.data.get(), file.data(), file.size());
  cg_error err;
  cm->m = cg_model_load(&cm->storage, sizeof cm->storage, cm->bytes.data.get(), cm->bytes.size, &err);
  if (!cm->m) return nullptr;
  return cm;
}

struct CState {
  host::AlignedBytes mem;
  cg_state* s = nullptr;
};
std::unique_ptr<CState> make_state(const cg_model* m, uint64_t seed) {
  auto cs = std::make_unique<CState>();
  cs->mem = host::aligned_bytes(cg_state_bytes(m));
  cg_error err;
  cs->s = cg_state_init(m, cs->mem.data.get(), cs->mem.size, seed, &err);
  if (!cs->s) return nullptr;
  return cs;
}

Config c_config() { return make_config(100, 16, 16, 2, true, false, {Mixer::max_avg, Mixer::min}); }

std::vector<float> logits_of(const cg_model* m, const cg_state* s) {
  const float* l = cg_logits(s);
  return std::vector<float>(l, l + cg_vocab_size(m));
}

}  // namespace

TEST_CASE("C API: load from bytes into cg_model_storage, metadata", "[c_api]") {
  const Config c = make_config(100, 16, 24, 3, true, true, {Mixer::attention, Mixer::max_avg});
  auto cm = load(c, 1);
  REQUIRE(cm);
  CHECK(cg_model_bytes() <= sizeof(cg_model_storage));
  CHECK(reinterpret_cast<void*>(cm->m) == reinterpret_cast<void*>(&cm->storage));
  CHECK(cg_vocab_size(cm->m) == 100);
  CHECK(cg_block_size(cm->m) == 16);
  CHECK(cg_n_layer(cm->m) == 2);
  CHECK(cg_n_embd(cm->m) == 24);
  CHECK(cg_parameter_count(cm->m) == c.parameter_count());
  const auto cps = host::default_codepoints(100);
  for (uint32_t i = 0; i < 100; ++i) CHECK(cg_vocab_codepoint(cm->m, i) == cps[i]);
  CHECK(cg_state_bytes(cm->m) >= state_bytes(c));
}

TEST_CASE("C API: load errors give specific codes and messages", "[c_api]") {
  const Config c = c_config();
  const auto file = host::make_model_file(c, host::default_codepoints(100), host::random_parameters(c, 2));
  auto buf = host::aligned_bytes(file.size() + 64);
  cg_model_storage st;
  auto try_load = [&](const std::vector<uint8_t>& b, size_t shift = 0) {
    std::memcpy(buf.data.get() + shift, b.data(), b.size());
    cg_error err;
    err.code = -1;
    err.message[0] = 0;
    cg_model* m = cg_model_load(&st, sizeof st, buf.data.get() + shift, b.size(), &err);
    CHECK(m == nullptr);
    CHECK(std::strlen(err.message) > 0);
    return err.code;
  };
  auto flipped = file;
  flipped[file.size() / 2] ^= 0x04;
  CHECK(try_load(flipped) == CG_CRC_MISMATCH);
  CHECK(try_load(std::vector<uint8_t>(file.begin(), file.end() - 100)) == CG_TRUNCATED);
  CHECK(try_load(std::vector<uint8_t>(file.begin(), file.begin() + 10)) == CG_TRUNCATED);
  auto magic = file;
  magic[0] = 'X';
  CHECK(try_load(magic) == CG_BAD_MAGIC);
  CHECK(try_load(file, 2) == CG_MISALIGNED);
  // Descriptor memory too small.
  std::memcpy(buf.data.get(), file.data(), file.size());
  cg_error err;
  CHECK(cg_model_load(&st, cg_model_bytes() - 1, buf.data.get(), file.size(), &err) == nullptr);
  CHECK(err.code == CG_ARENA_TOO_SMALL);
  CHECK(cg_model_load(nullptr, sizeof st, buf.data.get(), file.size(), &err) == nullptr);
  CHECK(err.code == CG_MISALIGNED);
  // Descriptor memory that is big enough but misaligned: named as such, not as too small.
  if (alignof(cg_model_storage) > 1) {
    alignas(cg_model_storage) static unsigned char raw[sizeof(cg_model_storage) + 64];
    CHECK(cg_model_load(raw + 1, sizeof raw - 1, buf.data.get(), file.size(), &err) == nullptr);
    CHECK(err.code == CG_MISALIGNED);
  }
  // A null cg_error is allowed.
  CHECK(cg_model_load(&st, sizeof st, buf.data.get(), 10, nullptr) == nullptr);
  // Success clears the error.
  CHECK(cg_model_load(&st, sizeof st, buf.data.get(), file.size(), &err) != nullptr);
  CHECK(err.code == CG_OK);
}

TEST_CASE("C API: state in caller memory, bad memory refused", "[c_api]") {
  auto cm = load(c_config(), 3);
  REQUIRE(cm);
  const size_t need = cg_state_bytes(cm->m);
  auto mem = host::aligned_bytes(need + 64);
  cg_error err;
  CHECK(cg_state_init(cm->m, mem.data.get() + 8, need, 1, &err) == nullptr);
  CHECK(err.code == CG_MISALIGNED);
  CHECK(std::strlen(err.message) > 0);
  CHECK(cg_state_init(cm->m, mem.data.get(), need - 1, 1, &err) == nullptr);
  CHECK(err.code == CG_ARENA_TOO_SMALL);
  CHECK(std::strlen(err.message) > 0);
  CHECK(cg_state_init(cm->m, nullptr, need, 1, &err) == nullptr);
  CHECK(err.code != CG_OK);
  cg_state* s = cg_state_init(cm->m, mem.data.get() + 16, need, 1, &err);
  REQUIRE(s != nullptr);
  CHECK(err.code == CG_OK);
  CHECK(cg_state_position(s) == 0);
}

TEST_CASE("C API: feeding text gives the same logits as the C++ state", "[c_api]") {
  const Config c = c_config();
  auto cm = load(c, 4);
  REQUIRE(cm);
  auto cs = make_state(cm->m, 9);
  REQUIRE(cs);
  const std::string text = "Hello, World!\nÀÁ";
  cg_error err;
  REQUIRE(cg_feed_text(cs->s, text.data(), text.size(), &err) == CG_OK);
  CHECK(cg_state_position(cs->s) == 16);  // code points, not bytes (18 bytes)

  Model m{};
  Error e;
  REQUIRE(parse_model(cm->bytes.data.get(), cm->bytes.size, &m, &e) == Status::ok);
  std::vector<uint32_t> ids(64);
  size_t n = 0;
  REQUIRE(encode_text(m.vocab, text.data(), text.size(), ids.data(), ids.size(), &n, &e) == Status::ok);
  REQUIRE(n == 16);
  host::OwnedState st;
  std::string serr;
  REQUIRE(host::make_state(m, &st, &serr));
  for (size_t i = 0; i < n; ++i) REQUIRE(state_feed(st.state, ids[i], &e) == Status::ok);
  CHECK(bits_equal(cg_logits(cs->s), st.state->logits, 100));

  // cg_feed_char and cg_feed_token reach the same state.
  auto cs2 = make_state(cm->m, 9);
  REQUIRE(cs2);
  for (size_t i = 0; i < n; ++i) {
    if (i % 2) REQUIRE(cg_feed_token(cs2->s, ids[i], &err) == CG_OK);
    else REQUIRE(cg_feed_char(cs2->s, cg_vocab_codepoint(cm->m, ids[i]), &err) == CG_OK);
  }
  CHECK(bits_equal(cg_logits(cs2->s), cg_logits(cs->s), 100));

  // Reset forgets the text.
  cg_state_reset(cs2->s);
  CHECK(cg_state_position(cs2->s) == 0);
  REQUIRE(cg_feed_text(cs2->s, text.data(), text.size(), &err) == CG_OK);
  CHECK(bits_equal(cg_logits(cs2->s), cg_logits(cs->s), 100));
}

TEST_CASE("C API: an unknown or malformed character is an error that feeds nothing", "[c_api]") {
  auto cm = load(c_config(), 5);
  REQUIRE(cm);
  auto cs = make_state(cm->m, 1);
  REQUIRE(cs);
  cg_error err;
  REQUIRE(cg_feed_text(cs->s, "abc", 3, &err) == CG_OK);
  const auto before = logits_of(cm->m, cs->s);

  struct Bad {
    std::string text;
    int32_t code;
    std::vector<std::string> in_message;
  };
  const std::vector<Bad> cases = {
      {"xy\xC3\xA9z", CG_UNKNOWN_CHAR, {"\xC3\xA9", "U+00E9", "byte 2"}},  // 'é', 3rd byte
      {"\t", CG_UNKNOWN_CHAR, {"U+0009"}},                                     // control char
      {"ab\xE2\x82\xAC", CG_UNKNOWN_CHAR, {"\xE2\x82\xAC", "U+20AC"}},         // '€'
      {"ab\xC3", CG_BAD_ARGUMENT, {"UTF-8"}},                                   // truncated sequence
      {"a\xFF" "b", CG_BAD_ARGUMENT, {"UTF-8"}},
      {"\xC0\xAF", CG_BAD_ARGUMENT, {"UTF-8"}},                                 // overlong '/'
      {"\xED\xA0\x80", CG_BAD_ARGUMENT, {"UTF-8"}},                             // surrogate
  };
  for (const Bad& b : cases) {
    INFO("text " << b.text);
    err.code = 0;
    err.message[0] = 0;
    CHECK(cg_feed_text(cs->s, b.text.data(), b.text.size(), &err) == b.code);
    CHECK(err.code == b.code);
    for (const auto& part : b.in_message) {
      INFO("message: " << err.message << " should contain " << part);
      CHECK(std::string(err.message).find(part) != std::string::npos);
    }
    CHECK(cg_state_position(cs->s) == 3);
    CHECK(bits_equal(cg_logits(cs->s), before.data(), before.size()));
  }
  CHECK(cg_feed_char(cs->s, 0xE9, &err) == CG_UNKNOWN_CHAR);
  CHECK(std::string(err.message).find("U+00E9") != std::string::npos);
  CHECK(cg_feed_char(cs->s, 0x110000, &err) == CG_UNKNOWN_CHAR);
  CHECK(cg_feed_token(cs->s, 100, &err) == CG_BAD_ARGUMENT);
  CHECK(std::strlen(err.message) > 0);
  CHECK(cg_state_position(cs->s) == 3);
  CHECK(bits_equal(cg_logits(cs->s), before.data(), before.size()));
  // And the state still works.
  CHECK(cg_feed_text(cs->s, "d", 1, &err) == CG_OK);
  CHECK(err.code == CG_OK);
  CHECK(cg_state_position(cs->s) == 4);
}

TEST_CASE("C API: status strings", "[c_api]") {
  std::set<std::string> seen;
  for (int32_t code = CG_OK; code <= CG_WINDOW_EXCEEDED; ++code) {
    const char* s = cg_status_string(code);
    REQUIRE(s != nullptr);
    CHECK(std::strlen(s) > 0);
    CHECK(std::string(s) == status_name(static_cast<Status>(code)));
    seen.insert(s);
  }
  CHECK(seen.size() == 14);
  CHECK(std::string(cg_status_string(CG_CRC_MISMATCH)) == "crc mismatch");
  CHECK(std::strlen(cg_status_string(999)) > 0);
  CHECK(std::strlen(cg_status_string(-1)) > 0);
}

TEST_CASE("C API: sampling is deterministic by seed", "[c_api]") {
  auto cm = load(c_config(), 6);
  REQUIRE(cm);
  const cg_sampler p{1.0f, 0, 1.0f};
  cg_error err;
  REQUIRE(cg_sampler_check(&p, &err) == CG_OK);
  auto run = [&](cg_state* s) {
    std::string out;
    cg_state_reset(s);
    REQUIRE(cg_feed_text(s, "The ", 4, &err) == CG_OK);
    for (int i = 0; i < 200; ++i) {
      const uint32_t cp = cg_sample(s, &p);
      char buf[4];
      out.append(buf, cg_utf8_encode(cp, buf));
      REQUIRE(cg_feed_char(s, cp, &err) == CG_OK);
    }
    return out;
  };
  auto a = make_state(cm->m, 1234), b = make_state(cm->m, 1234), c = make_state(cm->m, 4321);
  REQUIRE(a);
  REQUIRE(b);
  REQUIRE(c);
  const std::string ta = run(a->s);
  CHECK(run(b->s) == ta);
  CHECK(run(c->s) != ta);
  cg_state_seed(c->s, 1234);
  CHECK(run(c->s) == ta);
  // cg_sample_token and cg_sample agree.
  cg_state_seed(a->s, 5);
  cg_state_seed(b->s, 5);
  CHECK(cg_vocab_codepoint(cm->m, cg_sample_token(a->s, &p)) == cg_sample(b->s, &p));

  const cg_sampler bad{-1.0f, 0, 1.0f}, bad_p{1.0f, 0, 0.0f};
  CHECK(cg_sampler_check(&bad, &err) == CG_BAD_ARGUMENT);
  CHECK(std::strlen(err.message) > 0);
  CHECK(cg_sampler_check(&bad_p, &err) == CG_BAD_ARGUMENT);
}

TEST_CASE("C API: utf8 encoding", "[c_api]") {
  char b[4];
  CHECK(cg_utf8_encode('A', b) == 1);
  CHECK(b[0] == 'A');
  CHECK(cg_utf8_encode(0xE9, b) == 2);
  CHECK(std::string(b, 2) == "\xC3\xA9");
  CHECK(cg_utf8_encode(0x20AC, b) == 3);
  CHECK(std::string(b, 3) == "\xE2\x82\xAC");
  CHECK(cg_utf8_encode(0x1F600, b) == 4);
  CHECK(std::string(b, 4) == "\xF0\x9F\x98\x80");
  CHECK(cg_utf8_encode(0xD800, b) == 0);
  CHECK(cg_utf8_encode(0x110000, b) == 0);
}

TEST_CASE("C API from C: c_api_smoke.c agrees with the C++ greedy generation", "[c_api]") {
  const Config c = make_config(100, 16, 16, 1, true, false, {Mixer::max_avg, Mixer::max});
  auto tm = make_model(c, 8);
  REQUIRE(tm);
  uint32_t out[50];
  char msg[192];
  REQUIRE(c_api_smoke(tm->bytes.data.get(), tm->bytes.size, out, 50, msg, sizeof msg) == 0);
  // The same in C++.
  host::OwnedState st;
  std::string err;
  REQUIRE(host::make_state(tm->model, &st, &err));
  Error e;
  uint32_t id;
  for (char ch : std::string("ab")) {
    REQUIRE(tm->model.vocab.find(uint32_t(ch), &id));
    REQUIRE(state_feed(st.state, id, &e) == Status::ok);
  }
  Pcg32 rng;
  rng.seed(42);
  for (int i = 0; i < 50; ++i) {
    id = sample_token(st.state->logits, 100, SamplerParams{0.0f, 0, 1.0f}, &rng, st.state->probs, st.state->order);
    CHECK(out[i] == tm->model.vocab.codepoint(id));
    REQUIRE(state_feed(st.state, id, &e) == Status::ok);
  }
  // And a corrupt file gives the specific code through C.
  std::vector<uint8_t> bad(tm->bytes.data.get(), tm->bytes.data.get() + tm->bytes.size);
  bad[bad.size() - 1] ^= 1;
  auto badbuf = host::aligned_bytes(bad.size());
  std::memcpy(badbuf.data.get(), bad.data(), bad.size());
  CHECK(c_api_smoke(badbuf.data.get(), badbuf.size, out, 50, msg, sizeof msg) == CG_CRC_MISMATCH);
  CHECK(std::strlen(msg) > 0);
}

TEST_CASE("tokens: UTF-8 decode/encode round trip and encode_text errors", "[tokens]") {
  for (uint32_t cp : {0x0u, 0x7Fu, 0x80u, 0x7FFu, 0x800u, 0xD7FFu, 0xE000u, 0xFFFFu, 0x10000u, 0x10FFFFu}) {
    char b[4];
    const size_t n = utf8_encode(cp, b);
    REQUIRE(n > 0);
    uint32_t back = 0;
    CHECK(utf8_decode(b, n, &back) == n);
    CHECK(back == cp);
    CHECK(utf8_decode(b, n - 1, &back) == 0u);  // cut short
  }
  uint32_t cp;
  CHECK(utf8_decode("\xF4\x90\x80\x80", 4, &cp) == 0);  // > U+10FFFF
  CHECK(utf8_decode("\xE0\x80\x80", 3, &cp) == 0);      // overlong
  CHECK(utf8_decode("\x80", 1, &cp) == 0);              // stray continuation
  const Config c = c_config();
  auto tm = make_model(c, 1);
  REQUIRE(tm);
  std::vector<uint32_t> ids(4);
  size_t n = 0;
  Error e;
  CHECK(encode_text(tm->model.vocab, "hello", 5, ids.data(), ids.size(), &n, &e) == Status::arena_too_small);
  CHECK(encode_text(tm->model.vocab, "hell", 4, ids.data(), ids.size(), &n, &e) == Status::ok);
  CHECK(n == 4);
  CHECK(encode_text(tm->model.vocab, "h\xC3\xA9", 3, ids.data(), ids.size(), &n, &e) == Status::unknown_char);
  CHECK(std::string(e.message).find("\xC3\xA9") != std::string::npos);
}
