// The fixed-size generation state (state.hpp): its size depends on the config
// only, every write stays inside the caller's arena (guard bytes), bad arenas
// are refused with the right status, and the Kahan running mean stays
// accurate over a million positions.
#include <catch2/catch.hpp>

#include <cmath>

#include "block.hpp"
#include "kernels.hpp"
#include "mixers/mixer.hpp"
#include "test_util.hpp"

using namespace cgtest;

namespace {

constexpr size_t kGuard = 256;
constexpr uint8_t kGuardByte = 0xA5;

// An arena of `bytes` at a 64-byte aligned address, with guard bytes on both sides.
struct Guarded {
  host::AlignedBytes mem;
  size_t bytes;
  explicit Guarded(size_t n) : mem(host::aligned_bytes(n + 2 * kGuard)), bytes(n) {
    std::memset(mem.data.get(), kGuardByte, n + 2 * kGuard);
  }
  uint8_t* arena() { return mem.data.get() + kGuard; }
  bool guards_intact() const {
    const uint8_t* p = mem.data.get();
    for (size_t i = 0; i < kGuard; ++i)
      if (p[i] != kGuardByte || p[kGuard + bytes + i] != kGuardByte) return false;
    return true;
  }
};

bool inside(const void* p, size_t n, const uint8_t* base, size_t bytes) {
  const auto* q = static_cast<const uint8_t*>(p);
  return q >= base && q + n <= base + bytes;
}

}  // namespace

TEST_CASE("state_bytes: fixed per config, shift models do not grow with T, attention does", "[state]") {
  Config a = make_config(19, 16, 16, 2, true, false, {Mixer::max_avg, Mixer::min});
  Config b = a;
  b.block_size = 4096;
  CHECK(state_bytes(a) == state_bytes(b));  // no per-position memory
  Config att = make_config(19, 16, 16, 2, true, false, {Mixer::attention, Mixer::min});
  Config att_long = att;
  att_long.block_size = 32;
  // The K/V cache: 2 x T x C floats more per doubling of T (and the history).
  CHECK(state_bytes(att_long) >= state_bytes(att) + 2 * 16 * 16 * 4);
}

TEST_CASE("feeding thousands of tokens stays inside the arena", "[state]") {
  uint64_t seed = 900;
  for (const Variant& v : all_variants()) {
    SECTION(v.name) {
      auto tm = make_model(v.config, ++seed);
      REQUIRE(tm);
      const Model& m = tm->model;
      const size_t need = state_bytes(m.config);
      Guarded g(need);
      State* s = nullptr;
      Error e;
      REQUIRE(state_init(m, g.arena(), need, &s, &e) == Status::ok);
      REQUIRE(reinterpret_cast<void*>(s) == g.arena());
      // Every array the state points to lies inside the arena.
      const size_t C = m.config.n_embd, T = m.config.block_size, V = m.config.vocab_size;
      for (uint32_t l = 0; l < m.config.n_layer; ++l) {
        const size_t floats = layer_state_floats(m.config, l);
        // prev for every shift layer; + sum and its compensation with an
        // average; K and V (T x C each) for attention; the average a for
        // ema, a and prev (each carved in 16-byte units) for max-ema; s for
        // mingru; the K and V rings (W x C each) for local.
        const Mixer mx = m.config.mixers[l];
        const size_t W = m.config.window[l];
        const size_t want = mx == Mixer::attention ? 2 * T * C
                            : mx == Mixer::local    ? 2 * ((W * C + 3) & ~size_t(3))
                            : mixer_uses_avg(mx)    ? 3 * C
                            : mx == Mixer::max_ema  ? 2 * ((C + 3) & ~size_t(3))
                                                    : C;
        CHECK(floats == want);
        CHECK(inside(s->layers[l], floats * 4, g.arena(), need));
      }
      CHECK(inside(s->logits, V * 4, g.arena(), need));
      CHECK(inside(s->probs, V * 4, g.arena(), need));
      CHECK(inside(s->order, V * 4, g.arena(), need));
      CHECK(inside(s->hidden, 4 * C * 4, g.arena(), need));
      if (m.config.window_limited()) CHECK(inside(s->history, T * 4, g.arena(), need));

      const uint32_t n = m.config.window_limited() ? 3 * T + 3 : 5000;
      const auto tokens = random_tokens(n, V, seed);
      Pcg32 rng;
      rng.seed(seed);
      for (uint32_t i = 0; i < n; ++i) {
        REQUIRE(state_feed(s, tokens[i], &e) == Status::ok);
        sample_token(s->logits, V, SamplerParams{1.0f, 5, 0.9f}, &rng, s->probs, s->order);
      }
      CHECK(s->position == n);
      CHECK(state_bytes(m.config) == need);
      CHECK(g.guards_intact());
      for (uint32_t i = 0; i < V; ++i) REQUIRE(std::isfinite(s->logits[i]));
    }
  }
}

TEST_CASE("a shift model without position embedding matches the sequence forward after 3000 tokens", "[state]") {
  const Config c = make_config(19, 16, 16, 1, true, false, {Mixer::max_avg, Mixer::min_avg, Mixer::max});
  auto tm = make_model(c, 31);
  REQUIRE(tm);
  const auto tokens = random_tokens(3000, 19, 5);
  std::vector<float> seq;
  REQUIRE(run_forward(tm->model, tokens, &seq) == Status::ok);
  host::OwnedState st;
  std::string err;
  REQUIRE(host::make_state(tm->model, &st, &err));
  Error e;
  for (uint32_t t : tokens) REQUIRE(state_feed(st.state, t, &e) == Status::ok);
  CHECK(bits_equal(st.state->logits, &seq[2999 * 19], 19));
}

TEST_CASE("state_init refuses misaligned or too small memory", "[state]") {
  const Config c = make_config(19, 16, 16, 2, true, true, {Mixer::attention, Mixer::max_avg});
  auto tm = make_model(c, 3);
  REQUIRE(tm);
  const size_t need = state_bytes(c);
  Guarded g(need + 64);
  State* s = nullptr;
  Error e;
  for (size_t shift : {1, 4, 8, 12}) {
    e = Error{};
    CHECK(state_init(tm->model, g.arena() + shift, need + 32, &s, &e) == Status::misaligned);
    CHECK(e.message[0] != 0);
  }
  const Status null_status = state_init(tm->model, nullptr, need, &s, &e);
  CHECK((null_status == Status::misaligned || null_status == Status::bad_argument));
  e = Error{};
  CHECK(state_init(tm->model, g.arena(), need - 1, &s, &e) == Status::arena_too_small);
  CHECK(e.message[0] != 0);
  CHECK(state_init(tm->model, g.arena(), 0, &s, &e) == Status::arena_too_small);
  CHECK(g.guards_intact());  // a refused init writes nothing
  CHECK(state_init(tm->model, g.arena() + 16, need, &s, &e) == Status::ok);  // 16 is enough
}

TEST_CASE("forward_sequence: arena checks and no writes past it", "[state]") {
  const Config c = make_config(19, 16, 24, 3, true, true, {Mixer::attention, Mixer::min_avg});
  auto tm = make_model(c, 4);
  REQUIRE(tm);
  const auto tokens = random_tokens(16, 19, 2);
  const size_t need = forward_arena_bytes(c, 16);
  Guarded g(need);
  std::vector<float> logits(16 * 19 + 1, -7.0f);
  Error e;
  CHECK(forward_sequence(tm->model, tokens.data(), 16, logits.data(), g.arena(), need - 1, &e) == Status::arena_too_small);
  CHECK(e.message[0] != 0);
  CHECK(forward_sequence(tm->model, tokens.data(), 16, logits.data(), g.arena() + 4, need, &e) == Status::misaligned);
  auto bad = tokens;
  bad[7] = 19;
  CHECK(forward_sequence(tm->model, bad.data(), 16, logits.data(), g.arena(), need, &e) == Status::bad_argument);
  CHECK(forward_sequence(tm->model, tokens.data(), 0, logits.data(), g.arena(), need, &e) == Status::ok);
  REQUIRE(forward_sequence(tm->model, tokens.data(), 16, logits.data(), g.arena(), need, &e) == Status::ok);
  CHECK(g.guards_intact());
  CHECK(logits[16 * 19] == -7.0f);
  // A smaller n needs less.
  CHECK(forward_arena_bytes(c, 4) < need);
}

TEST_CASE("Kahan running mean: the max-avg step stays accurate over 1e6 positions", "[state][kahan]") {
  constexpr uint32_t C = 4;
  constexpr uint64_t N = 1000000;
  // The step's state: prev, sum, comp (C each).
  float state[3 * C] = {}, m[C];
  const float* sum = state + C;
  static Model model;  // the step reads only the width
  model.config.n_embd = C;
  double ref[C] = {};
  float naive[C] = {};
  // Values around large offsets: a plain float sum drifts badly here.
  const float offset[C] = {10.0f, -3.0f, 0.1f, 1000.0f};
  uint64_t x = 12345;
  for (uint64_t t = 1; t <= N; ++t) {
    float h[C];
    for (uint32_t i = 0; i < C; ++i) {
      x = x * 6364136223846793005ULL + 1442695040888963407ULL;
      h[i] = offset[i] + float(int32_t(x >> 40) - (1 << 23)) / float(1 << 23);  // +-1
      ref[i] += h[i];
      naive[i] += h[i];
    }
    causalgen::mixers::find(Mixer::max_avg)->step({&model, 0, h, t - 1, state, nullptr, nullptr, m});
  }
  for (uint32_t i = 0; i < C; ++i) {
    const double mean = ref[i] / N, got = double(sum[i]) / N;
    INFO("channel " << i << " mean " << mean << " kahan " << got << " naive " << naive[i] / N);
    CHECK(std::fabs(got - mean) <= 2e-7 * std::fabs(mean) + 1e-9);
  }
  // The test has teeth: the naive float sum is far off for the large offsets.
  CHECK(std::fabs(double(naive[3]) / N - ref[3] / N) > 1e-5 * std::fabs(ref[3] / N));
}

TEST_CASE("Kahan running mean inside a model over 1e6 characters", "[state][kahan]") {
  // One max-avg layer, no position embedding: the LN1 input is wte[token], so
  // each position's LN1 output is known and can be summed in double.
  const Config c = make_config(10, 8, 8, 1, true, false, {Mixer::max_avg});
  auto tm = make_model(c, 77, 1.0f, 0.3f, 0.5f);
  REQUIRE(tm);
  const Model& m = tm->model;
  std::vector<float> ln(10 * 8);
  for (uint32_t tok = 0; tok < 10; ++tok)
    causalgen::kernels::layernorm(&ln[tok * 8], m.wte + tok * 8, m.layers[0].ln1_w, m.layers[0].ln1_b, 8);
  host::OwnedState st;
  std::string err;
  REQUIRE(host::make_state(m, &st, &err));
  Error e;
  double ref[8] = {};
  // A skewed stream, so the mean is far from zero in most channels.
  const auto tokens = random_tokens(1000000, 10, 8);
  for (uint32_t t : tokens) {
    const uint32_t tok = t < 6 ? 3 : t;
    if (state_feed(st.state, tok, &e) != Status::ok) FAIL(e.message);
    for (uint32_t i = 0; i < 8; ++i) ref[i] += ln[tok * 8 + i];
  }
  REQUIRE(st.state->position == 1000000);
  for (uint32_t i = 0; i < 8; ++i) {
    const double mean = ref[i] / 1e6, got = double(st.state->layers[0][8 + i]) / 1e6;  // sum follows prev
    INFO("channel " << i << " mean " << mean << " got " << got);
    CHECK(std::fabs(got - mean) <= 2e-7 * std::fabs(mean) + 1e-9);
  }
}

TEST_CASE("EMA: the step form does not drift over 1e5 positions", "[state][ema]") {
  // T = 64, C = 8: two channels per scale, rates 2^-1 .. 2^-8 (ema_scales 8).
  constexpr uint32_t C = 8;
  constexpr uint64_t N = 100000;
  static Model model;  // the step reads only the config
  model.config.n_embd = C;
  model.config.block_size = 64;
  REQUIRE(ema_scales(model.config) == 8);
  CHECK(ema_rate_log2(model.config, 0) == 1);
  CHECK(ema_rate_log2(model.config, C - 1) == 8);
  float state[C] = {}, m[C];
  double ref[C] = {};
  double worst_early = 0, worst_late = 0;
  uint64_t x = 999;
  for (uint64_t t = 0; t < N; ++t) {
    float h[C];
    for (uint32_t i = 0; i < C; ++i) {
      x = x * 6364136223846793005ULL + 1442695040888963407ULL;
      h[i] = 100.0f + float(int32_t(x >> 40) - (1 << 23)) / float(1 << 23);  // 100 +- 1
      const double w = std::ldexp(1.0, -int(ema_rate_log2(model.config, i)));
      ref[i] = t == 0 ? h[i] : ref[i] + w * (h[i] - ref[i]);
    }
    causalgen::mixers::find(Mixer::ema)->step({&model, 0, h, t, state, nullptr, nullptr, m});
    for (uint32_t i = 0; i < C; ++i) {
      REQUIRE(m[i] == state[i]);  // ema outputs its average
      const double err = std::fabs(double(m[i]) - ref[i]);
      (t < 1000 ? worst_early : worst_late) = std::max(t < 1000 ? worst_early : worst_late, err);
    }
  }
  // The update contracts, so rounding errors stay bounded by about
  // ulp(100) / w (2^-17 * 2^8 = 2e-3 for the slowest channel) and do not grow.
  INFO("worst |error| in the first 1000 positions " << worst_early << ", after " << worst_late);
  CHECK(worst_late <= 2e-3);
  CHECK(worst_late <= 2 * worst_early + 1e-6);
  // A constant input is a fixed point: the average is exactly the input.
  float c_state[C] = {}, h[C];
  for (uint32_t i = 0; i < C; ++i) h[i] = 0.1f * float(i + 1);
  for (uint64_t t = 0; t < N; ++t)
    causalgen::mixers::find(Mixer::ema)->step({&model, 0, h, t, c_state, nullptr, nullptr, m});
  CHECK(bits_equal(c_state, h, C));
}
