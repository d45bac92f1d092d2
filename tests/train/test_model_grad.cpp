// Finite-difference gradient checks of the whole model (double precision):
// every parameter of small models with each mixer, attention and a hybrid,
// with and without bias, position embedding and dropout. And the float
// model's gradients against the double model's.
#include <catch2/catch.hpp>

#include "train/model/gemm.hpp"
#include "train/model/data_parallel.hpp"
#include "train/model/gpt.hpp"
#include "train/model/params.hpp"
#include "train_test_util.hpp"

using namespace causalgen;
using namespace causalgen::train;

namespace {

Config small_config(std::vector<Mixer> mixers, bool bias, bool pos_emb) {
  Config c;
  c.vocab_size = 7;
  c.block_size = 6;
  c.n_layer = uint32_t(mixers.size());
  c.n_embd = 8;
  c.n_head = 2;
  c.bias = bias;
  c.pos_emb = pos_emb;
  // local layers see the last 4 of the 6 positions (the band matters)
  for (size_t l = 0; l < mixers.size(); ++l) c.mixers[l] = mixers[l], c.window[l] = 4;
  return c;
}

// Random parameters with LayerNorm weights near 1 and non-zero biases, so that
// every path carries gradient.
std::vector<double> random_params(const ParamLayout& lay, uint64_t seed) {
  auto p = train_test::randn(lay.total, seed, 0.5);
  for (const TensorRange& t : lay.tensors)
    if (t.name.find("ln") != std::string::npos && t.name.ends_with(".w"))
      for (size_t i = 0; i < t.size; ++i) p[t.offset + i] = 1.0 + 0.3 * p[t.offset + i];
  return p;
}

struct Batch {
  int B = 2, T = 6;
  std::vector<uint32_t> x = {0, 1, 2, 3, 4, 5, 6, 6, 2, 2, 3, 1};
  std::vector<uint32_t> y = {1, 2, 3, 4, 5, 6, 0, 2, 2, 3, 1, 5};
};

void check_model(const Config& c, float dropout) {
  const ParamLayout lay(c);
  Gpt<double> g(c, 2, 6);
  Batch b;
  auto p = random_params(lay, 42 + c.n_layer);
  const DropoutSpec drop{dropout, 9, 3};
  auto f = [&] { return g.forward(p.data(), b.x.data(), b.y.data(), b.B, b.T, drop); };
  f();
  std::vector<double> grad(lay.total);
  g.backward(p.data(), grad.data());
  // Per tensor, so a failure names it.
  for (const TensorRange& t : lay.tensors) {
    INFO("tensor " << t.name);
    CHECK(train_test::max_rel_error(f, p.data() + t.offset, t.size, grad.data() + t.offset) <
          1e-5);
  }
}

}  // namespace

TEST_CASE("model grad: each registered mixer and a hybrid", "[train][grad]") {
  set_threads(1);
  for (uint32_t i = 0; i < mixer_count(); ++i) {
    const Mixer m = mixer_at(i);
    INFO("mixer " << mixer_name(m));
    check_model(small_config({m, m}, true, m == Mixer::attention), 0.0f);
  }
  INFO("hybrid");
  check_model(small_config({Mixer::max_avg, Mixer::attention, Mixer::min}, true, true), 0.0f);
}

TEST_CASE("model grad: no bias, position embedding, dropout", "[train][grad]") {
  set_threads(1);
  check_model(small_config({Mixer::max_avg, Mixer::max}, false, false), 0.0f);
  check_model(small_config({Mixer::min_avg}, true, true), 0.0f);
  check_model(small_config({Mixer::max_avg, Mixer::attention}, true, true), 0.2f);
}

TEST_CASE("model grad: float model matches the double model", "[train][grad]") {
  set_threads(2);
  const Config c = small_config({Mixer::max_avg, Mixer::attention, Mixer::min}, true, true);
  const ParamLayout lay(c);
  auto pd = random_params(lay, 5);
  for (auto& v : pd) v *= 0.5;
  std::vector<float> pf(pd.begin(), pd.end());
  std::vector<double> pd2(pf.begin(), pf.end());  // the same values exactly
  Batch b;
  Gpt<double> gd(c, 2, 6);
  Gpt<float> gf(c, 2, 6);
  const double ld = gd.forward(pd2.data(), b.x.data(), b.y.data(), b.B, b.T);
  const double lf = gf.forward(pf.data(), b.x.data(), b.y.data(), b.B, b.T);
  CHECK(lf == Approx(ld).epsilon(1e-5));
  std::vector<double> gdv(lay.total);
  std::vector<float> gfv(lay.total);
  gd.backward(pd2.data(), gdv.data());
  gf.backward(pf.data(), gfv.data());
  double scale = 0;
  for (double v : gdv) scale = std::max(scale, std::fabs(v));
  for (size_t i = 0; i < lay.total; ++i) CHECK(gfv[i] == Approx(gdv[i]).margin(1e-4 * scale));
}

TEST_CASE("model: changing later tokens never changes earlier losses (causality)", "[train]") {
  set_threads(2);
  for (uint32_t i = 0; i < mixer_count(); ++i) {
    const Mixer m = mixer_at(i);
    INFO("mixer " << mixer_name(m));
    const Config c = small_config({m, Mixer::max_avg}, true, true);
    const ParamLayout lay(c);
    auto p = random_params(lay, 8);
    Gpt<double> g(c, 1, 6);
    std::vector<uint32_t> x = {1, 2, 3, 4, 5, 6}, y = {2, 3, 4, 5, 6, 0};
    g.forward(p.data(), x.data(), y.data(), 1, 6);
    std::vector<double> before(g.losses(), g.losses() + 6);
    x[4] = 0, y[5] = 1;
    g.forward(p.data(), x.data(), y.data(), 1, 6);
    for (int t = 0; t < 4; ++t) CHECK(g.losses()[t] == before[t]);
    CHECK(g.losses()[4] != before[4]);
  }
}

TEST_CASE("model: a batch split across threads gives the whole batch's loss and gradient",
          "[train][grad]") {
  set_threads(1);
  const Config c = small_config({Mixer::max_avg, Mixer::attention}, true, true);
  const ParamLayout lay(c);
  const auto pd = random_params(lay, 3);
  std::vector<float> p(pd.begin(), pd.end());
  const int B = 5, T = 6;
  std::vector<uint32_t> x(B * T), y(B * T);
  for (int i = 0; i < B * T; ++i) x[i] = uint32_t(i * 5 % 7), y[i] = uint32_t((i * 3 + 1) % 7);
  for (float drop : {0.0f, 0.3f}) {
    INFO("dropout " << drop);
    const DropoutSpec d{drop, 11, 4};
    DataParallelGpt one(c, B, T, 1);
    std::vector<float> g1(lay.total), g3(lay.total);
    const double l1 = one.forward_backward(p.data(), x.data(), y.data(), B, T, d, g1.data());
    set_threads(3);
    DataParallelGpt three(c, B, T, 3);  // parts of 1, 2 and 2 windows
    REQUIRE(three.parts() == 3);
    const double l3 = three.forward_backward(p.data(), x.data(), y.data(), B, T, d, g3.data());
    set_threads(1);
    CHECK(l3 == Approx(l1).epsilon(1e-6));  // the same dropout masks too
    double scale = 0;
    for (float v : g1) scale = std::max(scale, double(std::fabs(v)));
    for (size_t i = 0; i < lay.total; ++i) CHECK(g3[i] == Approx(g1[i]).margin(1e-5 * scale));
    CHECK(three.forward(p.data(), x.data(), y.data(), B, T, d) == Approx(l1).epsilon(1e-6));
  }
}
