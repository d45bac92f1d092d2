// The sampler (sampler.hpp): PCG32 against its published definition and demo
// output, determinism by seed, greedy, top-k, top-p, the distribution itself,
// and parameter validation.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <set>

#include "test_util.hpp"

using namespace cgtest;

namespace {

// pcg32 (XSH-RR, 64-bit LCG) straight from O'Neill's pcg-c-basic definition.
struct RefPcg {
  uint64_t state, inc;
  uint32_t next() {
    const uint64_t old = state;
    state = old * 6364136223846793005ULL + (inc | 1);
    const uint32_t xs = uint32_t(((old >> 18u) ^ old) >> 27u);
    const uint32_t rot = uint32_t(old >> 59u);
    return (xs >> rot) | (xs << ((-rot) & 31));
  }
  void srandom(uint64_t initstate, uint64_t initseq) {
    state = 0;
    inc = (initseq << 1u) | 1u;
    next();
    state += initstate;
    next();
  }
};

std::vector<float> random_logits(uint32_t V, uint64_t seed, float scale) {
  std::vector<float> l(V);
  RefPcg r;
  r.srandom(seed, 7);
  for (auto& x : l) x = scale * (float(r.next() >> 8) / 16777216.0f - 0.5f);
  return l;
}

uint32_t draw(const std::vector<float>& logits, const SamplerParams& p, Pcg32* rng) {
  const uint32_t V = uint32_t(logits.size());
  std::vector<float> probs(V);
  std::vector<uint32_t> order(V);
  return sample_token(logits.data(), V, p, rng, probs.data(), order.data());
}

uint32_t argmax_first(const std::vector<float>& l) {
  return uint32_t(std::max_element(l.begin(), l.end()) - l.begin());  // first maximum
}

// Generates n characters with the model from a fixed start token.
std::string generate(const Model& m, uint64_t seed, uint32_t n, const SamplerParams& p) {
  host::OwnedState st;
  std::string err;
  REQUIRE(host::make_state(m, &st, &err));
  Pcg32 rng;
  rng.seed(seed);
  Error e;
  REQUIRE(state_feed(st.state, 0, &e) == Status::ok);
  std::string out;
  for (uint32_t i = 0; i < n; ++i) {
    const uint32_t id = sample_token(st.state->logits, m.config.vocab_size, p, &rng, st.state->probs,
                                     st.state->order);
    REQUIRE(id < m.config.vocab_size);
    char buf[4];
    out.append(buf, utf8_encode(m.vocab.codepoint(id), buf));
    REQUIRE(state_feed(st.state, id, &e) == Status::ok);
  }
  return out;
}

}  // namespace

TEST_CASE("PCG32 matches pcg32's published demo output and its definition", "[sampler][pcg]") {
  // pcg32-demo (pcg-c-basic), pcg32_srandom_r(&rng, 42u, 54u): first six outputs.
  Pcg32 g;
  g.seed(42, 54);
  const uint32_t demo[6] = {0xa15c02b7, 0x7b47f409, 0xba1d3330, 0x83d2f293, 0xbfa4784b, 0xcbed606e};
  for (uint32_t want : demo) CHECK(g.next_u32() == want);
  // The definition, over many seeds and streams (including the default stream).
  for (uint64_t seed : {0ull, 1ull, 1337ull, 0xdeadbeefcafef00dull, ~0ull}) {
    for (uint64_t stream : {0ull, 54ull, 0xda3e39cb94b95bdbull, ~0ull}) {
      Pcg32 a;
      a.seed(seed, stream);
      RefPcg b;
      b.srandom(seed, stream);
      bool same = true;
      for (int i = 0; i < 1000; ++i) same = same && a.next_u32() == b.next();
      CHECK(same);
    }
    Pcg32 d;
    d.seed(seed);
    RefPcg r;
    r.srandom(seed, 0xda3e39cb94b95bdbULL);  // the documented default stream
    CHECK(d.next_u32() == r.next());
  }
}

TEST_CASE("next_float is the top 24 bits, 0 <= f < 1", "[sampler][pcg]") {
  Pcg32 a, b;
  a.seed(9);
  b.seed(9);
  for (int i = 0; i < 100000; ++i) {
    const float f = a.next_float();
    const uint32_t u = b.next_u32();
    REQUIRE(f >= 0.0f);
    REQUIRE(f < 1.0f);
    REQUIRE(f == float(u >> 8) / 16777216.0f);
  }
}

TEST_CASE("temperature 0 is argmax (ties to the lowest id) and consumes no randomness", "[sampler]") {
  Pcg32 rng, untouched;
  rng.seed(5);
  untouched.seed(5);
  for (uint64_t s = 0; s < 50; ++s) {
    const auto l = random_logits(23, s, 10.0f);
    CHECK(draw(l, SamplerParams{0.0f, 0, 1.0f}, &rng) == argmax_first(l));
  }
  std::vector<float> ties = {1.0f, 3.0f, -2.0f, 3.0f, 3.0f};
  CHECK(draw(ties, SamplerParams{0.0f, 0, 1.0f}, &rng) == 1);
  CHECK(rng.next_u32() == untouched.next_u32());
}

TEST_CASE("top_k = 1 and a tiny top_p are greedy", "[sampler]") {
  Pcg32 rng;
  rng.seed(11);
  for (uint64_t s = 0; s < 200; ++s) {
    const auto l = random_logits(31, s, 6.0f);
    const uint32_t best = argmax_first(l);
    CHECK(draw(l, SamplerParams{1.0f, 1, 1.0f}, &rng) == best);
    CHECK(draw(l, SamplerParams{2.5f, 1, 1.0f}, &rng) == best);
    CHECK(draw(l, SamplerParams{1.0f, 0, 1e-6f}, &rng) == best);
    CHECK(draw(l, SamplerParams{1.0f, 0, std::numeric_limits<float>::min()}, &rng) == best);
  }
}

TEST_CASE("top_k = k never samples outside the k most likely, and reaches all of them", "[sampler]") {
  for (uint32_t k : {2u, 3u, 5u, 10u}) {
    const auto l = random_logits(40, 100 + k, 3.0f);
    std::vector<uint32_t> idx(l.size());
    std::iota(idx.begin(), idx.end(), 0);
    std::stable_sort(idx.begin(), idx.end(), [&](uint32_t a, uint32_t b) { return l[a] > l[b]; });
    const std::set<uint32_t> top(idx.begin(), idx.begin() + k);
    Pcg32 rng;
    rng.seed(k);
    std::set<uint32_t> seen;
    for (int i = 0; i < 20000; ++i) {
      const uint32_t t = draw(l, SamplerParams{1.5f, k, 1.0f}, &rng);
      if (!top.count(t)) FAIL("top_k=" << k << " sampled id " << t);
      seen.insert(t);
    }
    CHECK(seen == top);
  }
}

TEST_CASE("top_p keeps the smallest most-likely set with mass >= p", "[sampler]") {
  // Probabilities 0.4, 0.3, 0.2, 0.1 (shuffled ids): p = 0.65 keeps {0.4, 0.3}.
  std::vector<float> l = {std::log(0.2f), std::log(0.4f), std::log(0.1f), std::log(0.3f)};
  Pcg32 rng;
  rng.seed(3);
  std::map<uint32_t, int> count;
  for (int i = 0; i < 20000; ++i) ++count[draw(l, SamplerParams{1.0f, 0, 0.65f}, &rng)];
  CHECK(count.size() == 2);
  CHECK(count.count(1));
  CHECK(count.count(3));
  // Renormalised within the nucleus: 0.4/0.7 and 0.3/0.7.
  CHECK(std::fabs(count[1] / 20000.0 - 4.0 / 7.0) < 0.02);
  // p = 0.85 keeps three (0.9 >= 0.85), p = 0.95 all four; top_k = 2 with
  // p = 0.95 keeps two.
  std::set<uint32_t> s3, s4, s2;
  for (int i = 0; i < 5000; ++i) {
    s3.insert(draw(l, SamplerParams{1.0f, 0, 0.85f}, &rng));
    s4.insert(draw(l, SamplerParams{1.0f, 0, 0.95f}, &rng));
    s2.insert(draw(l, SamplerParams{1.0f, 2, 0.95f}, &rng));
  }
  CHECK(s3 == std::set<uint32_t>{0, 1, 3});
  CHECK(s4 == std::set<uint32_t>{0, 1, 2, 3});
  CHECK(s2 == std::set<uint32_t>{1, 3});
}

TEST_CASE("unfiltered sampling follows softmax(logits / temperature)", "[sampler]") {
  const std::vector<float> l = {0.5f, -1.0f, 2.0f, 0.0f, 1.0f};
  for (float temp : {1.0f, 0.5f, 2.0f}) {
    std::vector<double> p(l.size());
    double z = 0;
    for (size_t i = 0; i < l.size(); ++i) z += p[i] = std::exp(double(l[i]) / temp);
    for (auto& x : p) x /= z;
    Pcg32 rng;
    rng.seed(77);
    const int N = 200000;
    std::vector<int> n(l.size());
    for (int i = 0; i < N; ++i) ++n[draw(l, SamplerParams{temp, 0, 1.0f}, &rng)];
    for (size_t i = 0; i < l.size(); ++i) {
      const double sigma = std::sqrt(p[i] * (1 - p[i]) / N);
      INFO("temperature " << temp << " id " << i << " freq " << n[i] / double(N) << " want " << p[i]);
      CHECK(std::fabs(n[i] / double(N) - p[i]) < 5 * sigma);
    }
  }
}

TEST_CASE("same seed gives the same text, another seed other text", "[sampler]") {
  const Config c = make_config(40, 16, 16, 1, true, false, {Mixer::max_avg, Mixer::min});
  auto tm = make_model(c, 21);
  REQUIRE(tm);
  for (SamplerParams p : {SamplerParams{1.0f, 0, 1.0f}, SamplerParams{0.8f, 10, 0.9f}}) {
    const std::string a = generate(tm->model, 1337, 200, p);
    CHECK(a.size() >= 200);
    CHECK(generate(tm->model, 1337, 200, p) == a);
    CHECK(generate(tm->model, 1338, 200, p) != a);
    CHECK(generate(tm->model, 0, 200, p) != a);
  }
  // Greedy is the same for every seed.
  const SamplerParams g{0.0f, 0, 1.0f};
  CHECK(generate(tm->model, 1, 100, g) == generate(tm->model, 2, 100, g));
}

TEST_CASE("validate_sampler rejects bad values", "[sampler]") {
  Error e;
  CHECK(validate_sampler(SamplerParams{}, &e) == Status::ok);
  CHECK(validate_sampler(SamplerParams{0.0f, 0, 1.0f}, &e) == Status::ok);
  CHECK(validate_sampler(SamplerParams{100.0f, 5, 0.01f}, &e) == Status::ok);
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  for (SamplerParams p : {SamplerParams{-0.1f, 0, 1.0f}, SamplerParams{nan, 0, 1.0f}, SamplerParams{inf, 0, 1.0f},
                          SamplerParams{101.0f, 0, 1.0f}, SamplerParams{1.0f, 0, 0.0f}, SamplerParams{1.0f, 0, -0.5f},
                          SamplerParams{1.0f, 0, 1.01f}, SamplerParams{1.0f, 0, nan}}) {
    e = Error{};
    INFO("temperature " << p.temperature << " top_p " << p.top_p);
    CHECK(validate_sampler(p, &e) == Status::bad_argument);
    CHECK(e.message[0] != 0);
  }
}
