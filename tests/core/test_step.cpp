// Recurrent generation vs the sequence forward (DESIGN.md §5): step-by-step
// logits equal forward_sequence bit for bit at every position; the sliding
// window equals a fresh forward over the last T tokens; and causality: tokens
// after t never change the logits at t.
#include <catch2/catch.hpp>

#include "test_util.hpp"

using namespace cgtest;

namespace {

// Feeds tokens one at a time and returns every position's logits (n x V).
std::vector<float> feed_all(const Model& m, const std::vector<uint32_t>& tokens) {
  host::OwnedState st;
  std::string err;
  REQUIRE(host::make_state(m, &st, &err));
  const uint32_t V = m.config.vocab_size;
  std::vector<float> out;
  out.reserve(tokens.size() * V);
  for (uint32_t tok : tokens) {
    Error e;
    REQUIRE(state_feed(st.state, tok, &e) == Status::ok);
    out.insert(out.end(), st.state->logits, st.state->logits + V);
  }
  return out;
}

}  // namespace

TEST_CASE("state_feed equals forward_sequence bit for bit at every position", "[step]") {
  uint64_t seed = 100;
  for (const Variant& v : all_variants()) {
    SECTION(v.name) {
      auto tm = make_model(v.config, ++seed);
      REQUIRE(tm);
      const Model& m = tm->model;
      const uint32_t V = m.config.vocab_size, T = m.config.block_size;
      // A shift model without position embedding has no window: test past T too.
      const uint32_t n = m.config.window_limited() ? T : 2 * T + 5;
      const auto tokens = random_tokens(n, V, seed);
      std::vector<float> seq;
      REQUIRE(run_forward(m, tokens, &seq) == Status::ok);
      const std::vector<float> step = feed_all(m, tokens);
      REQUIRE(step.size() == seq.size());
      for (uint32_t t = 0; t < n; ++t) {
        INFO("position " << t);
        CHECK(bits_equal(&step[size_t(t) * V], &seq[size_t(t) * V], V));
      }
      // The logits are not degenerate (all-equal would make the test vacuous).
      float lo = seq[0], hi = seq[0];
      for (float f : seq) lo = f < lo ? f : lo, hi = f > hi ? f : hi;
      CHECK(hi - lo > 1e-3f);
    }
  }
}

TEST_CASE("state_reset starts over: same logits as a fresh state", "[step]") {
  const Config c = make_config(19, 16, 16, 2, true, true, {Mixer::max_avg, Mixer::attention});
  auto tm = make_model(c, 7);
  REQUIRE(tm);
  host::OwnedState st;
  std::string err;
  REQUIRE(host::make_state(tm->model, &st, &err));
  Error e;
  for (uint32_t tok : random_tokens(40, 19, 3)) REQUIRE(state_feed(st.state, tok, &e) == Status::ok);
  state_reset(st.state);
  CHECK(st.state->position == 0);
  const auto tokens = random_tokens(10, 19, 4);
  for (uint32_t tok : tokens) REQUIRE(state_feed(st.state, tok, &e) == Status::ok);
  const std::vector<float> fresh = feed_all(tm->model, tokens);
  CHECK(bits_equal(st.state->logits, &fresh[9 * 19], 19));
}

TEST_CASE("state_feed rejects a token outside the vocabulary without changing the state", "[step]") {
  const Config c = make_config(19, 16, 16, 1, true, false, {Mixer::max_avg});
  auto tm = make_model(c, 8);
  REQUIRE(tm);
  host::OwnedState st;
  std::string err;
  REQUIRE(host::make_state(tm->model, &st, &err));
  Error e;
  REQUIRE(state_feed(st.state, 3, &e) == Status::ok);
  std::vector<float> before(st.state->logits, st.state->logits + 19);
  CHECK(state_feed(st.state, 19, &e) == Status::bad_argument);
  CHECK(e.message[0] != 0);
  CHECK(st.state->position == 1);
  CHECK(bits_equal(before.data(), st.state->logits, 19));
}

TEST_CASE("sliding window: past T, logits equal forward_sequence over the last T tokens", "[step][window]") {
  uint64_t seed = 300;
  for (const Variant& v : all_variants()) {
    if (!v.config.window_limited()) continue;
    SECTION(v.name) {
      auto tm = make_model(v.config, ++seed);
      REQUIRE(tm);
      const Model& m = tm->model;
      const uint32_t V = m.config.vocab_size, T = m.config.block_size;
      const uint32_t n = 2 * T + 7;
      const auto tokens = random_tokens(n, V, seed);
      const std::vector<float> step = feed_all(m, tokens);
      for (uint32_t k = T; k < n; ++k) {
        INFO("after token " << k);
        const std::vector<uint32_t> window(tokens.begin() + (k + 1 - T), tokens.begin() + k + 1);
        std::vector<float> seq;
        REQUIRE(run_forward(m, window, &seq) == Status::ok);
        CHECK(bits_equal(&step[size_t(k) * V], &seq[size_t(T - 1) * V], V));
      }
    }
  }
}

TEST_CASE("forward_sequence refuses more than T positions for a window-limited model", "[step][window]") {
  for (bool pe : {false, true}) {
    const Config c = make_config(19, 8, 16, 2, true, pe,
                                 {pe ? Mixer::max : Mixer::attention, Mixer::min_avg});
    auto tm = make_model(c, 9);
    REQUIRE(tm);
    std::vector<float> logits;
    Error e;
    CHECK(run_forward(tm->model, random_tokens(8, 19, 1), &logits) == Status::ok);
    CHECK(run_forward(tm->model, random_tokens(9, 19, 1), &logits, &e) == Status::window_exceeded);
    CHECK(e.message[0] != 0);
  }
}

TEST_CASE("causality: tokens after t never change logits at positions <= t", "[step][causality]") {
  uint64_t seed = 500;
  for (const Variant& v : all_variants()) {
    SECTION(v.name) {
      auto tm = make_model(v.config, ++seed);
      REQUIRE(tm);
      const Model& m = tm->model;
      const uint32_t V = m.config.vocab_size, T = m.config.block_size;
      const auto base = random_tokens(T, V, seed);
      std::vector<float> ref;
      REQUIRE(run_forward(m, base, &ref) == Status::ok);
      for (uint32_t t = 0; t + 1 < T; ++t) {
        auto other = base;
        for (uint32_t s = t + 1; s < T; ++s) other[s] = (base[s] + 1 + s) % V;  // every later token differs
        std::vector<float> got;
        REQUIRE(run_forward(m, other, &got) == Status::ok);
        INFO("changed positions > " << t);
        CHECK(bits_equal(ref.data(), got.data(), size_t(t + 1) * V));
        // The change is visible right after t (so the comparison has teeth).
        CHECK_FALSE(bits_equal(&ref[size_t(t + 1) * V], &got[size_t(t + 1) * V], V));
      }
    }
  }
}
