// The local mixer's own promises (lib/core/mixers/local.cpp): generation runs
// far past T in a state of constant size, equal to the sequence form; scores
// depend only on the distance between positions (RoPE's relative property,
// at any absolute position); a position sees exactly the last W positions.
// The shared checks (step == sequence, causality, int8, the reference) run on
// its variants in test_util.hpp's all_variants().
#include <catch2/catch.hpp>

#include <cmath>

#include "test_util.hpp"

using namespace cgtest;

namespace {

// A model of local layers (and a mingru layer when `hybrid`), no position
// embedding: not window-limited.
Config local_config(uint32_t W, bool hybrid) {
  Config c = hybrid ? make_config(19, 16, 24, 3, true, false, {Mixer::mingru, Mixer::local})
                    : make_config(19, 16, 24, 3, true, false, {Mixer::local});
  for (uint32_t l = 0; l < c.n_layer; ++l) c.window[l] = W;
  return c;
}

// Feeds tokens from a fresh state; returns the logits after each (n x V).
std::vector<float> feed(const Model& m, const std::vector<uint32_t>& tokens, State** keep = nullptr,
                        host::OwnedState* owner = nullptr) {
  host::OwnedState local;
  host::OwnedState& st = owner ? *owner : local;
  std::string err;
  REQUIRE(host::make_state(m, &st, &err));
  const uint32_t V = m.config.vocab_size;
  std::vector<float> out;
  for (uint32_t tok : tokens) {
    Error e;
    REQUIRE(state_feed(st.state, tok, &e) == Status::ok);
    out.insert(out.end(), st.state->logits, st.state->logits + V);
  }
  if (keep) *keep = st.state;
  return out;
}

// q . R(angle(a) - angle(b)) k for one head: q rotated at position a, k at b.
double rotated_score(const std::vector<float>& q, const std::vector<float>& k, uint64_t a,
                     uint64_t b) {
  const uint32_t hs = uint32_t(q.size());
  std::vector<float> ca(hs / 2), sa(hs / 2), cb(hs / 2), sb(hs / 2);
  rope_cos_sin(a, hs, ca.data(), sa.data());
  rope_cos_sin(b, hs, cb.data(), sb.data());
  double s = 0;
  for (uint32_t j = 0; j < hs / 2; ++j) {
    const double q0 = q[2 * j] * ca[j] - q[2 * j + 1] * sa[j], q1 = q[2 * j] * sa[j] + q[2 * j + 1] * ca[j];
    const double k0 = k[2 * j] * cb[j] - k[2 * j + 1] * sb[j], k1 = k[2 * j] * sb[j] + k[2 * j + 1] * cb[j];
    s += q0 * k0 + q1 * k1;
  }
  return s;
}

}  // namespace

TEST_CASE("local: generation past 10 T equals the sequence form, in a state of constant size",
          "[local]") {
  for (bool hybrid : {false, true}) {
    SECTION(hybrid ? "mingru + local W=5" : "local W=5") {
      const Config c = local_config(5, hybrid);
      auto tm = make_model(c, 31);
      REQUIRE(tm);
      const Model& m = tm->model;
      REQUIRE_FALSE(m.config.window_limited());
      const uint32_t V = c.vocab_size, n = 10 * c.block_size + 7;
      const auto tokens = random_tokens(n, V, 9);
      const size_t bytes = state_bytes(m.config);
      // 2 W C floats per local layer, whatever the number of positions fed.
      CHECK(layer_state_floats(m.config, c.n_layer - 1) == 2 * 5 * 24);
      State* s = nullptr;
      host::OwnedState owner;
      const std::vector<float> stepped = feed(m, tokens, &s, &owner);
      CHECK(s->position == n);
      CHECK(state_bytes(m.config) == bytes);
      std::vector<float> seq;
      REQUIRE(run_forward(m, tokens, &seq) == Status::ok);
      REQUIRE(seq.size() == stepped.size());
      CHECK(std::memcmp(seq.data(), stepped.data(), seq.size() * sizeof(float)) == 0);
      for (float x : stepped) REQUIRE(std::isfinite(x));
    }
  }
}

TEST_CASE("local: a position sees exactly the last W positions", "[local]") {
  // One local layer (W = 4): the logits at t depend on tokens t-3 .. t only.
  const Config c = local_config(4, false);
  auto tm = make_model(c, 32);
  REQUIRE(tm);
  const uint32_t V = c.vocab_size, n = 40;
  const auto a = random_tokens(n, V, 1);
  auto b = a;
  b[30] = (a[30] + 1) % V;  // seen by positions 30 .. 33 only
  const auto la = feed(tm->model, a), lb = feed(tm->model, b);
  for (uint32_t t = 0; t < n; ++t) {
    INFO("position " << t);
    const bool same = std::memcmp(&la[size_t(t) * V], &lb[size_t(t) * V], V * sizeof(float)) == 0;
    CHECK(same == (t < 30 || t > 33));
  }
}

TEST_CASE("local: RoPE scores depend only on the distance, at any absolute position", "[local]") {
  const uint32_t hs = 32;
  const auto qv = host::random_parameters(make_config(2, 1, hs, 1, false, false, {Mixer::max}), 3,
                                          1.0f, 1.0f, 1.0f);
  const std::vector<float> q(qv.begin(), qv.begin() + hs), k(qv.begin() + hs, qv.begin() + 2 * hs);
  for (uint64_t d : {0u, 1u, 7u, 63u}) {
    const double base = rotated_score(q, k, 10 + d, 10);
    for (uint64_t shift : {1000ull, 100000ull, 1000000000ull, 1000000000000ull, ~0ull - 200}) {
      INFO("distance " << d << ", shifted by " << shift);
      CHECK(std::fabs(rotated_score(q, k, 10 + d + shift, 10 + shift) - base) <= 1e-5 * (1 + std::fabs(base)));
    }
  }
  // The angle really turns with the distance (a rotation, not the identity).
  CHECK(std::fabs(rotated_score(q, k, 11, 10) - rotated_score(q, k, 10, 10)) > 1e-3);
  float cs[16], sn[16];
  rope_cos_sin(0, hs, cs, sn);
  for (int j = 0; j < 16; ++j) CHECK((cs[j] == 1.0f && sn[j] == 0.0f));
  rope_cos_sin(1, hs, cs, sn);  // pair 0 turns one radian per position
  CHECK(std::fabs(cs[0] - std::cos(1.0)) < 1e-6);
  CHECK(std::fabs(sn[0] - std::sin(1.0)) < 1e-6);
  // The rates are f32 (relative error ~1e-7), so at position 1000 the angle
  // is within ~1e-4 of the exact product.
  rope_cos_sin(1000, hs, cs, sn);
  for (int j = 0; j < 16; ++j) {
    const double a = std::fmod(1000.0 * std::pow(10000.0, -2.0 * j / hs), 2 * M_PI);
    INFO("pair " << j);
    CHECK(std::fabs(cs[j] - std::cos(a)) < 2e-4);
    CHECK(std::fabs(sn[j] - std::sin(a)) < 2e-4);
  }
}

TEST_CASE("local: the same window far from the start gives the same logits", "[local]") {
  // One local layer, W = 6: after any prefix the logits of the last W tokens
  // equal those from a fresh state, up to rounding (the relative property in
  // the whole model): position 10 T is as good as position W.
  const Config c = local_config(6, false);
  auto tm = make_model(c, 33);
  REQUIRE(tm);
  const uint32_t V = c.vocab_size;
  const auto window = random_tokens(6, V, 2);
  auto longer = random_tokens(10 * c.block_size, V, 3);
  longer.insert(longer.end(), window.begin(), window.end());
  const auto fresh = feed(tm->model, window), late = feed(tm->model, longer);
  double worst = 0, scale = 0;
  for (uint32_t i = 0; i < V; ++i) {
    const float a = fresh[5 * size_t(V) + i], b = late[late.size() - V + i];
    worst = std::max(worst, double(std::fabs(a - b)));
    scale = std::max(scale, double(std::fabs(a)));
  }
  INFO("worst " << worst << " of " << scale);
  CHECK(worst <= 1e-4 * scale);
  CHECK(scale > 0.1);
}
