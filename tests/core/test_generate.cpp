// The generation loop of the C API (cg_generate_begin/next, cg_generate) and
// prompt encoding (cg_encode_text): the text must be the one the lower-level
// calls give (feed the prompt, then sample, emit, feed all but the last), the
// stop conditions must hold, and errors must feed nothing.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "causalgen/causalgen.h"
#include "test_util.hpp"

using namespace cgtest;

namespace {

struct CModel {
  host::AlignedBytes bytes;
  cg_model_storage storage;
  cg_model* m = nullptr;
};

std::unique_ptr<CModel> load(const Config& c, const std::vector<uint32_t>& codepoints, uint64_t seed) {
  auto cm = std::make_unique<CModel>();
  const auto file = host::make_model_file(c, codepoints, host::random_parameters(c, seed, 0.3f, 0.3f, 0.2f));
  cm->bytes = host::aligned_bytes(file.size());
  std::memcpy(cm->bytes.data.get(), file.data(), file.size());
  cg_error err;
  cm->m = cg_model_load(&cm->storage, sizeof cm->storage, cm->bytes.data.get(), cm->bytes.size, &err);
  return cm->m ? std::move(cm) : nullptr;
}
std::unique_ptr<CModel> load(const Config& c, uint64_t seed) {
  return load(c, host::default_codepoints(c.vocab_size), seed);
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
  return cs->s ? std::move(cs) : nullptr;
}

void append_utf8(std::string* out, uint32_t cp) {
  char b[4];
  out->append(b, cg_utf8_encode(cp, b));
}

struct Text {
  std::string text;
  uint64_t position = 0;  // characters in the state afterwards
};

// The loop every front end kept a copy of before cg_generate, built from the
// lower-level calls: the reference the generator must reproduce.
Text reference(const cg_model* m, uint64_t seed, const cg_sampler& p, const std::string& prompt,
               uint32_t tokens) {
  auto st = make_state(m, seed);
  REQUIRE(st);
  cg_error err;
  if (prompt.empty()) {
    uint32_t start = 0;  // a newline, or token 0 without one
    for (uint32_t i = 0; i < cg_vocab_size(m); ++i)
      if (cg_vocab_codepoint(m, i) == '\n') start = i;
    REQUIRE(cg_feed_token(st->s, start, &err) == CG_OK);
  } else {
    REQUIRE(cg_feed_text(st->s, prompt.data(), prompt.size(), &err) == CG_OK);
  }
  Text t;
  for (uint32_t i = 0; i < tokens; ++i) {
    const uint32_t id = cg_sample_token(st->s, &p);
    append_utf8(&t.text, cg_vocab_codepoint(m, id));
    if (i + 1 < tokens) REQUIRE(cg_feed_token(st->s, id, &err) == CG_OK);
  }
  t.position = cg_state_position(st->s);
  return t;
}

Text stepped(const cg_model* m, uint64_t seed, const cg_sampler& p, const std::string& prompt,
             uint32_t tokens, cg_generator* g) {
  auto st = make_state(m, seed);
  REQUIRE(st);
  cg_error err;
  REQUIRE(cg_generate_begin(g, st->s, &p, prompt.data(), prompt.size(), tokens, &err) == CG_OK);
  Text t;
  int32_t cp;
  while ((cp = cg_generate_next(g, &err)) >= 0) append_utf8(&t.text, uint32_t(cp));
  CHECK(cp == CG_GENERATE_END);
  CHECK(err.code == CG_OK);
  CHECK(cg_generate_next(g, &err) == CG_GENERATE_END);  // and stays ended
  t.position = cg_state_position(st->s);
  return t;
}

struct Collected {
  std::string text;
  uint32_t stop_after = 0;  // 0: never stop
  uint32_t calls = 0;
};
int32_t collect(void* user, uint32_t cp, const cg_generator* g) {
  auto* c = static_cast<Collected*>(user);
  append_utf8(&c->text, cp);
  ++c->calls;
  CHECK(g->generated == c->calls);
  return c->stop_after != 0 && c->calls == c->stop_after;
}

const cg_sampler kSamplers[] = {{0.8f, 0, 1.0f}, {0.0f, 0, 1.0f}, {1.2f, 5, 0.9f}};

}  // namespace

TEST_CASE("generate: the same text as sampling and feeding by hand, every variant", "[generate]") {
  for (const Variant& v : all_variants()) {
    auto cm = load(v.config, 21);
    REQUIRE(cm);
    for (const cg_sampler& p : kSamplers)
      for (const std::string prompt : {"#!(", ""}) {
        // 40 characters: past the window of 16, so window-limited models re-encode.
        INFO(v.name << ", T=" << p.temperature << ", prompt '" << prompt << "'");
        const Text want = reference(cm->m, 77, p, prompt, 40);
        cg_generator g;
        const Text got = stepped(cm->m, 77, p, prompt, 40, &g);
        CHECK(got.text == want.text);
        CHECK(got.position == want.position);
        CHECK(g.generated == 40);
        CHECK(g.prompt_chars == (prompt.empty() ? 1u : prompt.size()));

        auto st = make_state(cm->m, 77);
        REQUIRE(st);
        Collected c;
        cg_error err;
        REQUIRE(cg_generate(&g, st->s, &p, prompt.data(), prompt.size(), 40, collect, &c, &err) == CG_OK);
        CHECK(c.text == want.text);
        CHECK(cg_state_position(st->s) == want.position);
      }
  }
}

TEST_CASE("generate: an empty prompt starts from token 0 when there is no newline", "[generate]") {
  const Config c = make_config(19, 16, 16, 1, true, false, {Mixer::max_avg, Mixer::min});
  std::vector<uint32_t> cps;
  for (uint32_t i = 0; i < c.vocab_size; ++i) cps.push_back('A' + i);
  auto cm = load(c, cps, 3);
  REQUIRE(cm);
  const cg_sampler p{1.0f, 0, 1.0f};
  cg_generator g;
  const Text got = stepped(cm->m, 5, p, "", 30, &g);
  CHECK(got.text == reference(cm->m, 5, p, "", 30).text);
  // Token 0 ('A') fed first gives other logits than token 1 ('B').
  auto a = make_state(cm->m, 5), b = make_state(cm->m, 5);
  cg_error err;
  REQUIRE(cg_generate_begin(&g, a->s, &p, nullptr, 0, 1, &err) == CG_OK);
  REQUIRE(cg_feed_token(b->s, 0, &err) == CG_OK);
  CHECK(bits_equal(cg_logits(a->s), cg_logits(b->s), c.vocab_size));
}

TEST_CASE("generate: stop conditions", "[generate]") {
  auto cm = load(make_config(100, 16, 16, 2, true, false, {Mixer::max_avg, Mixer::min}), 6);
  REQUIRE(cm);
  const cg_sampler p{1.0f, 0, 1.0f};
  cg_error err;

  SECTION("tokens = 0 feeds the prompt and generates nothing") {
    cg_generator g;
    const Text got = stepped(cm->m, 1, p, "ABC", 0, &g);
    CHECK(got.text.empty());
    CHECK(got.position == 3);
    CHECK(g.generated == 0);
    CHECK(g.prompt_chars == 3);
  }
  SECTION("the last character is not fed; every other one is") {
    cg_generator g;
    CHECK(stepped(cm->m, 1, p, "ABC", 1, &g).position == 3);
    CHECK(stepped(cm->m, 1, p, "ABC", 25, &g).position == 3 + 24);
  }
  SECTION("a callback that returns nonzero stops after that character") {
    const Text full = reference(cm->m, 9, p, "The ", 60);
    auto st = make_state(cm->m, 9);
    Collected c;
    c.stop_after = 17;
    cg_generator g;
    REQUIRE(cg_generate(&g, st->s, &p, "The ", 4, 60, collect, &c, &err) == CG_OK);
    CHECK(c.calls == 17);
    CHECK(g.generated == 17);
    CHECK(g.tokens == 60);  // generated < tokens: it was stopped
    CHECK(c.text == full.text.substr(0, c.text.size()));
    CHECK(cg_state_position(st->s) == 4 + 16);
    // The stepper carries on where the callback stopped: same text as one run.
    std::string rest = c.text;
    int32_t cp;
    while ((cp = cg_generate_next(&g, &err)) >= 0) append_utf8(&rest, uint32_t(cp));
    CHECK(rest == full.text);
  }
  SECTION("a caller that stops stepping leaves the state at the last fed character") {
    auto st = make_state(cm->m, 9);
    cg_generator g;
    REQUIRE(cg_generate_begin(&g, st->s, &p, "The ", 4, 1000, &err) == CG_OK);
    for (int i = 0; i < 5; ++i) CHECK(cg_generate_next(&g, &err) >= 0);
    CHECK(g.generated == 5);
    CHECK(cg_state_position(st->s) == 4 + 4);
  }
  SECTION("a NULL callback runs to the end") {
    auto st = make_state(cm->m, 9);
    cg_generator g;
    REQUIRE(cg_generate(&g, st->s, &p, "The ", 4, 33, nullptr, nullptr, nullptr) == CG_OK);
    CHECK(g.generated == 33);
  }
}

TEST_CASE("generate: a prompt outside the vocabulary is an error that feeds nothing", "[generate]") {
  auto cm = load(make_config(100, 16, 16, 2, true, false, {Mixer::max_avg, Mixer::min}), 6);
  REQUIRE(cm);
  auto st = make_state(cm->m, 1);
  const cg_sampler p{1.0f, 0, 1.0f};
  cg_error err;
  cg_generator g;
  const std::string prompt = "AB\xC3\xA9!";  // 'é' (U+00E9) at byte 2; 'À' is in, 'é' is not
  CHECK(cg_generate_begin(&g, st->s, &p, prompt.data(), prompt.size(), 10, &err) == CG_UNKNOWN_CHAR);
  CHECK(err.code == CG_UNKNOWN_CHAR);
  const std::string msg = err.message;
  CHECK(msg.find("'\xC3\xA9'") != std::string::npos);
  CHECK(msg.find("U+00E9") != std::string::npos);
  CHECK(msg.find("byte 2") != std::string::npos);
  CHECK(cg_state_position(st->s) == 0);
  CHECK(cg_generate_next(&g, &err) == CG_GENERATE_END);
  CHECK(g.generated == 0);

  Collected c;
  CHECK(cg_generate(&g, st->s, &p, prompt.data(), prompt.size(), 10, collect, &c, &err) == CG_UNKNOWN_CHAR);
  CHECK(c.calls == 0);
  CHECK(cg_state_position(st->s) == 0);

  CHECK(cg_generate_begin(&g, st->s, &p, "A\xFF", 2, 10, &err) == CG_BAD_ARGUMENT);
  CHECK(std::string(err.message).find("UTF-8 at byte 1") != std::string::npos);
  const cg_sampler bad{1.0f, 0, 0.0f};
  CHECK(cg_generate_begin(&g, st->s, &bad, "AB", 2, 10, &err) == CG_BAD_ARGUMENT);
  CHECK(std::string(err.message).find("top") != std::string::npos);
  CHECK(cg_state_position(st->s) == 0);
  CHECK(cg_generate_next(&g, &err) == CG_GENERATE_END);
}

TEST_CASE("generate: memory too small is refused with its size", "[generate]") {
  auto cm = load(make_config(100, 16, 16, 2, true, false, {Mixer::max_avg, Mixer::min}), 6);
  REQUIRE(cm);
  cg_error err;
  // The state arena.
  host::AlignedBytes mem = host::aligned_bytes(cg_state_bytes(cm->m));
  CHECK(cg_state_init(cm->m, mem.data.get(), cg_state_bytes(cm->m) - 16, 1, &err) == nullptr);
  CHECK(err.code == CG_ARENA_TOO_SMALL);
  CHECK(std::string(err.message).find(std::to_string(cg_state_bytes(cm->m))) != std::string::npos);
  // The prompt's ids.
  uint32_t ids[4];
  size_t n = 0;
  CHECK(cg_encode_text(cm->m, "ABCDE", 5, ids, 4, &n, &err) == CG_ARENA_TOO_SMALL);
  CHECK(std::string(err.message).find("more than 4") != std::string::npos);
  // No ids: only validated and counted.
  CHECK(cg_encode_text(cm->m, "AB\xC3\x80" "DE", 6, nullptr, 0, &n, &err) == CG_OK);
  CHECK(n == 5);
  CHECK(cg_encode_text(cm->m, "AB\xC3\xA9", 4, nullptr, 0, &n, &err) == CG_UNKNOWN_CHAR);
}

TEST_CASE("encode: UTF-8 to the vocabulary's ids", "[generate]") {
  auto cm = load(make_config(100, 16, 16, 2, true, false, {Mixer::max_avg, Mixer::min}), 6);
  REQUIRE(cm);
  cg_error err;
  const std::string text = "A \xC3\x80\n~";  // 'À' (U+00C0) is the first id after '~'
  uint32_t ids[8];
  size_t n = 0;
  REQUIRE(cg_encode_text(cm->m, text.data(), text.size(), ids, 8, &n, &err) == CG_OK);
  REQUIRE(n == 5);
  const uint32_t cps[] = {'A', ' ', 0xC0, '\n', '~'};
  for (size_t i = 0; i < n; ++i) CHECK(cg_vocab_codepoint(cm->m, ids[i]) == cps[i]);
  CHECK(cg_encode_text(cm->m, "", 0, ids, 0, &n, &err) == CG_OK);
  CHECK(n == 0);
  CHECK(cg_encode_text(cm->m, "z\xC3\xA9", 3, ids, 8, &n, &err) == CG_UNKNOWN_CHAR);
  CHECK(std::string(err.message).find("at byte 1") != std::string::npos);
}

TEST_CASE("model info: the fields the web page shows", "[generate]") {
  const Config c = make_config(100, 16, 24, 3, true, true, {Mixer::attention, Mixer::max_avg});
  auto cm = load(c, 1);
  REQUIRE(cm);
  CHECK(cg_n_head(cm->m) == 3);
  CHECK(cg_has_bias(cm->m) == 1);
  CHECK(cg_has_pos_emb(cm->m) == 1);
  CHECK(cg_window_limited(cm->m) == 1);
  CHECK(std::string(cg_mixer_name(cm->m, 0)) == "attention");
  CHECK(std::string(cg_mixer_name(cm->m, 1)) == "max-avg");
  CHECK(std::string(cg_mixer_name(cm->m, 2)) == "?");
  auto shift = load(make_config(100, 16, 16, 1, false, false, {Mixer::min_avg}), 2);
  REQUIRE(shift);
  CHECK(cg_has_bias(shift->m) == 0);
  CHECK(cg_has_pos_emb(shift->m) == 0);
  CHECK(cg_window_limited(shift->m) == 0);
  CHECK(std::string(cg_mixer_name(shift->m, 0)) == "min-avg");
}
