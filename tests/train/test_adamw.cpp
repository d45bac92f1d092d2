// AdamW against a hand computation, the learning-rate schedule, clipping.
#include <catch2/catch.hpp>

#include <cmath>

#include "train/optim/adamw.hpp"
#include "train/model/gemm.hpp"
#include "train/optim/lr_schedule.hpp"

using namespace causalgen::train;

TEST_CASE("adamw: two steps equal the hand computation, decay on matrices only", "[train][adamw]") {
  set_threads(2);
  // A 2x2 matrix (decayed) and a 1x3 bias (not decayed).
  std::vector<TensorRange> ts = {{"w", 0, 4, 2, 2, causalgen::TensorKind::matrix, false},
                                     {"b", 4, 3, 1, 3, causalgen::TensorKind::bias, false}};
  std::vector<float> p = {0.5f, -1.0f, 2.0f, 0.25f, 0.1f, -0.2f, 0.3f};
  std::vector<float> m(7, 0.0f), v(7, 0.0f);
  const std::vector<std::vector<float>> grads = {{0.1f, -0.2f, 0.3f, 0.0f, 1.0f, -1.0f, 0.5f},
                                                 {-0.3f, 0.1f, 0.2f, 0.4f, 0.5f, 0.5f, -0.5f}};
  const AdamWParams h{0.9, 0.99, 1e-8, 0.1};
  const double lrs[2] = {1e-3, 5e-4};
  std::vector<double> P(p.begin(), p.end()), M(7, 0.0), V(7, 0.0);
  for (int t = 1; t <= 2; ++t) {
    adamw_step(ts, p.data(), grads[t - 1].data(), m.data(), v.data(), lrs[t - 1], uint64_t(t), h);
    const double lr = lrs[t - 1];
    for (int i = 0; i < 7; ++i) {
      const double g = grads[t - 1][i];
      if (i < 4) P[i] *= 1.0 - lr * 0.1;  // decoupled decay, matrix only
      M[i] = 0.9 * M[i] + 0.1 * g;
      V[i] = 0.99 * V[i] + 0.01 * g * g;
      const double mhat = M[i] / (1.0 - std::pow(0.9, t));
      const double vhat = V[i] / (1.0 - std::pow(0.99, t));
      P[i] -= lr * mhat / (std::sqrt(vhat) + 1e-8);
    }
    for (int i = 0; i < 7; ++i) {
      INFO("step " << t << " element " << i);
      CHECK(p[i] == Approx(P[i]).epsilon(1e-6));
      CHECK(m[i] == Approx(M[i]).epsilon(1e-6).margin(1e-12));
      CHECK(v[i] == Approx(V[i]).epsilon(1e-6).margin(1e-12));
    }
  }
  // A zero gradient on the first step moves a decayed weight only by decay.
  std::vector<float> p2 = {1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f}, z(7, 0.0f), m2(7, 0.0f),
                     v2(7, 0.0f);
  adamw_step(ts, p2.data(), z.data(), m2.data(), v2.data(), 1e-2, 1, h);
  CHECK(p2[0] == Approx(1.0 - 1e-3));
  CHECK(p2[4] == 1.0f);
}

TEST_CASE("lr schedule: nanoGPT's warmup and cosine decay", "[train][adamw]") {
  LrSchedule s{1e-3, 1e-4, 100, 2000};
  CHECK(s.at(0) == Approx(1e-3 * 1 / 101));
  CHECK(s.at(99) == Approx(1e-3 * 100 / 101));
  CHECK(s.at(100) == Approx(1e-3));
  CHECK(s.at(1050) == Approx(1e-4 + 0.5 * (1e-3 - 1e-4)));
  CHECK(s.at(2000) == Approx(1e-4));
  CHECK(s.at(5000) == Approx(1e-4));
  for (uint64_t i = 100; i < 2000; ++i) CHECK(s.at(i + 1) <= s.at(i));
}

TEST_CASE("grad clipping: global norm, torch's scale", "[train][adamw]") {
  set_threads(2);
  std::vector<float> g(10000, 0.01f);  // norm 1
  g[5] = 3.0f;
  double ref = 0;
  for (float x : g) ref += double(x) * x;
  ref = std::sqrt(ref);
  CHECK(grad_norm(g.data(), g.size()) == Approx(ref));
  const double n = clip_grad_norm(g.data(), g.size(), 1.0);
  CHECK(n == Approx(ref));
  CHECK(grad_norm(g.data(), g.size()) == Approx(1.0).epsilon(1e-5));
  std::vector<float> small(100, 0.001f);
  clip_grad_norm(small.data(), small.size(), 1.0);
  CHECK(small[0] == 0.001f);  // below the limit: unchanged
  // The norm does not depend on the thread count.
  std::vector<float> r(100003);
  for (size_t i = 0; i < r.size(); ++i) r[i] = float(std::sin(double(i)));
  set_threads(1);
  const double n1 = grad_norm(r.data(), r.size());
  set_threads(2);
  CHECK(grad_norm(r.data(), r.size()) == n1);
}
