// The f32 reference kernels (DESIGN.md §4, lib/core/kernels.hpp): the
// project's exp/tanh/GELU against the C++ library within stated errors, and
// sum/dot/matvec equal to a lane-ordered reference bit for bit (element i to
// lane i % 8, lanes combined ((l0+l1)+(l2+l3))+((l4+l5)+(l6+l7))).
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "kernels.hpp"
#include "test_util.hpp"

using namespace causalgen::kernels;

namespace {

float lane_sum_ref(const float* a, const float* b, uint32_t n) {  // b null: plain sum
  float lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  for (uint32_t i = 0; i < n; ++i) {
    const float p = b ? a[i] * b[i] : a[i];
    lane[i % 8] = lane[i % 8] + p;
  }
  return ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
}

// Values spanning several orders of magnitude, so summation order shows.
std::vector<float> wide_values(uint32_t n, uint64_t seed) {
  const auto t = cgtest::random_tokens(n, 1u << 20, seed);
  std::vector<float> v(n);
  for (uint32_t i = 0; i < n; ++i) {
    const float mant = float(t[i] & 0xFFFF) / 65536.0f - 0.5f;
    v[i] = std::ldexp(mant, int(t[i] >> 16) - 8);  // 2^-8 .. 2^7
  }
  return v;
}

bool same_bits(float a, float b) { return std::memcmp(&a, &b, 4) == 0; }

}  // namespace

TEST_CASE("exp_f32 is within 2e-7 relative of exp over the normal range", "[kernels]") {
  double worst = 0;
  float at = 0;
  for (double x = -87.0; x <= 88.7; x += 1.7e-4) {
    const float f = float(x);
    const double r = std::exp(double(f));
    const double e = std::fabs(double(exp_f32(f)) - r) / r;
    if (e > worst) worst = e, at = f;
  }
  INFO("worst relative error " << worst << " at " << at);
  CHECK(worst < 2e-7);
  // Subnormal results: absolute error of a few subnormal ulps.
  for (double x = -103.9; x < -87.0; x += 1e-3) {
    const float f = float(x);
    if (std::fabs(double(exp_f32(f)) - std::exp(double(f))) > 4.2e-45) FAIL("exp_f32(" << f << ")");
  }
  CHECK(exp_f32(0.0f) == 1.0f);
  CHECK(exp_f32(-200.0f) == 0.0f);
  CHECK(std::isinf(exp_f32(89.0f)));
  CHECK(std::isinf(exp_f32(std::numeric_limits<float>::infinity())));
  CHECK(exp_f32(-std::numeric_limits<float>::infinity()) == 0.0f);
  CHECK(std::isnan(exp_f32(std::numeric_limits<float>::quiet_NaN())));
  CHECK(exp_f32(88.7f) > 3.0e38f);  // the largest finite results still come out
}

TEST_CASE("tanh_f32: absolute error <= 2e-7 everywhere, relative <= 4e-7 for |x| >= 0.5", "[kernels]") {
  double worst_abs = 0, worst_rel = 0;
  for (double x = -20.0; x <= 20.0; x += 3e-5) {
    const float f = float(x);
    const double r = std::tanh(double(f));
    const double a = std::fabs(double(tanh_f32(f)) - r);
    worst_abs = std::max(worst_abs, a);
    if (std::fabs(f) >= 0.5f) worst_rel = std::max(worst_rel, a / std::fabs(r));
    if (tanh_f32(f) != -tanh_f32(-f)) FAIL("tanh_f32 not odd at " << f);
  }
  INFO("abs " << worst_abs << " rel " << worst_rel);
  CHECK(worst_abs <= 2e-7);
  CHECK(worst_rel <= 4e-7);
  CHECK(tanh_f32(100.0f) == 1.0f);
  CHECK(tanh_f32(-100.0f) == -1.0f);
  CHECK(tanh_f32(0.0f) == 0.0f);
}

TEST_CASE("gelu is nanoGPT's tanh approximation within 5e-7 * max(1, |x|)", "[kernels]") {
  const double k = std::sqrt(2.0 / M_PI);
  double worst = 0;
  for (double x = -15.0; x <= 15.0; x += 2e-5) {
    const float f = float(x);
    const double r = 0.5 * f * (1.0 + std::tanh(k * (f + 0.044715 * double(f) * f * f)));
    worst = std::max(worst, std::fabs(double(gelu(f)) - r) / std::max(1.0, std::fabs(double(f))));
  }
  INFO("worst scaled error " << worst);
  CHECK(worst <= 5e-7);
  CHECK(gelu(0.0f) == 0.0f);
  // Not erf-GELU: at x = 1 the two differ in the 4th digit (0.841192 vs 0.841345).
  CHECK(std::fabs(gelu(1.0f) - 0.8411920f) < 2e-6);
}

TEST_CASE("sum and dot equal the lane-ordered reference bit for bit", "[kernels]") {
  for (uint32_t n = 0; n <= 70; ++n) {
    const auto a = wide_values(n, 1000 + n), b = wide_values(n, 2000 + n);
    INFO("n = " << n);
    CHECK(same_bits(sum(a.data(), n), lane_sum_ref(a.data(), nullptr, n)));
    CHECK(same_bits(dot(a.data(), b.data(), n), lane_sum_ref(a.data(), b.data(), n)));
  }
  for (uint32_t n : {127u, 128u, 129u, 1000u, 4099u}) {
    const auto a = wide_values(n, n), b = wide_values(n, n + 1);
    CHECK(same_bits(dot(a.data(), b.data(), n), lane_sum_ref(a.data(), b.data(), n)));
  }
  // The order matters for these inputs (a plain left-to-right sum differs
  // somewhere), so the comparison above has teeth.
  bool differs = false;
  for (uint32_t n = 9; n <= 70 && !differs; ++n) {
    const auto a = wide_values(n, 1000 + n);
    float seq = 0;
    for (float v : a) seq += v;
    differs = !same_bits(seq, sum(a.data(), n));
  }
  CHECK(differs);
}

TEST_CASE("matvec equals dot per row (+ bias) bit for bit, every shape", "[kernels]") {
  for (uint32_t rows = 1; rows <= 11; ++rows)
    for (uint32_t cols : {1u, 3u, 7u, 8u, 9u, 15u, 16u, 17u, 33u, 64u, 100u}) {
      const auto W = wide_values(rows * cols, rows * 131 + cols);
      const auto x = wide_values(cols, cols * 7 + 1);
      const auto b = wide_values(rows, rows + 5);
      std::vector<float> out(rows + 1, 12345.0f), outb(rows + 1, 12345.0f);
      matvec(out.data(), W.data(), nullptr, x.data(), rows, cols);
      matvec(outb.data(), W.data(), b.data(), x.data(), rows, cols);
      INFO(rows << " x " << cols);
      for (uint32_t r = 0; r < rows; ++r) {
        const float ref = lane_sum_ref(W.data() + size_t(r) * cols, x.data(), cols);
        CHECK(same_bits(out[r], ref));
        CHECK(same_bits(outb[r], ref + b[r]));
      }
      CHECK(out[rows] == 12345.0f);  // nothing written past the end
      CHECK(outb[rows] == 12345.0f);
    }
}

TEST_CASE("layernorm: eps 1e-5, biased variance, optional bias", "[kernels]") {
  for (uint32_t n : {1u, 5u, 8u, 16u, 37u, 128u}) {
    const auto x = wide_values(n, n), w = wide_values(n, n + 100), b = wide_values(n, n + 200);
    double mean = 0, var = 0;
    for (float v : x) mean += v;
    mean /= n;
    for (float v : x) var += (v - mean) * (v - mean);
    var /= n;
    std::vector<float> y(n), yb(n);
    layernorm(y.data(), x.data(), w.data(), nullptr, n);
    layernorm(yb.data(), x.data(), w.data(), b.data(), n);
    for (uint32_t i = 0; i < n; ++i) {
      const double r = (x[i] - mean) / std::sqrt(var + 1e-5) * w[i];
      INFO("n " << n << " i " << i);
      CHECK(std::fabs(y[i] - r) <= 1e-5 * (1 + std::fabs(r)));
      CHECK(std::fabs(yb[i] - (r + b[i])) <= 1e-5 * (1 + std::fabs(r + b[i])));
    }
  }
  // Constant input: the eps keeps it finite (all zeros before the bias).
  std::vector<float> c(16, 3.0f), w(16, 1.0f), y(16);
  layernorm(y.data(), c.data(), w.data(), nullptr, 16);
  for (float v : y) CHECK(v == 0.0f);
}
