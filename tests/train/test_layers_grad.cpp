// Finite-difference gradient checks of every operation, in double precision
// on small shapes: for a random projection r, L = sum(r * forward(x)), and
// backward(dout = r) must equal the central differences of L.
#include <catch2/catch.hpp>

#include <numeric>

#include <xtensor-blas/xlinalg.hpp>
#include <xtensor/xadapt.hpp>
#include <xtensor/xrandom.hpp>

#include "train/model/gemm.hpp"
#include "train/model/layers.hpp"
#include "train/model/mixers/mixer.hpp"
#include "train/model/rng.hpp"
#include "train_test_util.hpp"

using namespace causalgen;
using namespace causalgen::train;
using namespace causalgen::train::mixers;
using train_test::max_rel_error;
using train_test::randn;

namespace {
double dotv(const std::vector<double>& a, const std::vector<double>& b) {
  return std::inner_product(a.begin(), a.end(), b.begin(), 0.0);
}
constexpr double kTol = 1e-6;  // relative, gradients of size >= 1e-4
}  // namespace

TEST_CASE("gemm: the split BLAS products agree with xtensor-blas", "[train][grad]") {
  set_threads(2);
  xt::random::seed(5);
  const int M = 150, N = 40, K = 33;  // M split over threads
  xt::xtensor<double, 2> A = xt::random::randn<double>({M, K});
  xt::xtensor<double, 2> Bt = xt::random::randn<double>({N, K});
  xt::xtensor<double, 2> Bn = xt::random::randn<double>({K, N});
  xt::xtensor<double, 2> At = xt::transpose(A);
  xt::xtensor<double, 2> ref_nt = xt::linalg::dot(A, xt::transpose(Bt));
  xt::xtensor<double, 2> ref_nn = xt::linalg::dot(A, Bn);
  xt::xtensor<double, 2> C = xt::zeros<double>({M, N});
  gemm_nt<double>(C.data(), A.data(), Bt.data(), M, N, K, 0.0);
  CHECK(xt::allclose(C, ref_nt, 1e-12, 1e-12));
  gemm_nn<double>(C.data(), A.data(), Bn.data(), M, N, K, 0.0);
  CHECK(xt::allclose(C, ref_nn, 1e-12, 1e-12));
  gemm_tn<double>(C.data(), At.data(), Bn.data(), M, N, K, 0.0);  // (A^T)^T Bn
  CHECK(xt::allclose(C, ref_nn, 1e-12, 1e-12));
  const xt::xtensor<double, 2> before = C;
  gemm_nn<double>(C.data(), A.data(), Bn.data(), M, N, K, 1.0);  // beta = 1 accumulates
  CHECK(xt::allclose(C, before + ref_nn, 1e-12, 1e-12));
}

TEST_CASE("grad: dropout is its own backward with a fixed key", "[train][grad]") {
  set_threads(2);
  const size_t n = 200;
  auto x = randn(n, 1);
  auto r = randn(n, 2);
  const float p = 0.3f;
  const uint64_t key = dropout_key(5, 9, 3);
  auto f = [&] {
    auto y = x;
    dropout(y.data(), n, p, key);
    return dotv(y, r);
  };
  auto g = r;
  dropout(g.data(), n, p, key);
  CHECK(max_rel_error(f, x.data(), n, g.data()) < kTol);
  // About p of the elements are dropped, the rest scaled by 1/(1-p).
  auto ones = std::vector<double>(10000, 1.0);
  dropout(ones.data(), ones.size(), p, key);
  size_t zeros = 0;
  for (double v : ones) {
    if (v == 0) ++zeros;
    else CHECK(v == Approx(1.0 / 0.7));
  }
  CHECK(zeros > 2700);
  CHECK(zeros < 3300);
}

TEST_CASE("grad: embedding (wte and wpe)", "[train][grad]") {
  set_threads(2);
  const int B = 2, T = 5, C = 4, V = 6;
  std::vector<uint32_t> tok = {0, 3, 3, 5, 1, 2, 2, 0, 3, 4};
  auto wte = randn(V * C, 1), wpe = randn(T * C, 2), r = randn(B * T * C, 3);
  std::vector<double> out(B * T * C);
  auto f = [&] {
    embedding_forward(out.data(), tok.data(), wte.data(), wpe.data(), B, T, C);
    return dotv(out, r);
  };
  std::vector<double> dwte(V * C, 0.0), dwpe(T * C, 0.0);
  embedding_backward(dwte.data(), dwpe.data(), r.data(), tok.data(), B, T, C);
  CHECK(max_rel_error(f, wte.data(), wte.size(), dwte.data()) < kTol);
  CHECK(max_rel_error(f, wpe.data(), wpe.size(), dwpe.data()) < kTol);
}

TEST_CASE("grad: layernorm (x, w, b)", "[train][grad]") {
  set_threads(2);
  const int N = 6, C = 10;
  auto x = randn(N * C, 1, 2.0), w = randn(C, 2), b = randn(C, 3), r = randn(N * C, 4);
  std::vector<double> out(N * C), mean(N), rstd(N);
  auto f = [&] {
    layernorm_forward(out.data(), mean.data(), rstd.data(), x.data(), w.data(), b.data(), N, C);
    return dotv(out, r);
  };
  f();
  std::vector<double> dx(N * C, 0.0), dw(C, 0.0), db(C, 0.0);
  layernorm_backward(dx.data(), dw.data(), db.data(), r.data(), x.data(), mean.data(), rstd.data(),
                     w.data(), N, C);
  CHECK(max_rel_error(f, x.data(), x.size(), dx.data()) < kTol);
  CHECK(max_rel_error(f, w.data(), w.size(), dw.data()) < kTol);
  CHECK(max_rel_error(f, b.data(), b.size(), db.data()) < kTol);
  // The statistics: mean and 1/sqrt(biased variance + 1e-5).
  layernorm_forward(out.data(), mean.data(), rstd.data(), x.data(), w.data(), b.data(), N, C);
  double m = 0, v = 0;
  for (int i = 0; i < C; ++i) m += x[i];
  m /= C;
  for (int i = 0; i < C; ++i) v += (x[i] - m) * (x[i] - m);
  v /= C;
  CHECK(mean[0] == Approx(m));
  CHECK(rstd[0] == Approx(1.0 / std::sqrt(v + 1e-5)));
}

TEST_CASE("grad: matmul (input, W, bias) through BLAS", "[train][grad]") {
  set_threads(2);
  const int N = 70, IC = 5, OC = 3;  // N > 64: the product is split across threads
  auto x = randn(N * IC, 1), W = randn(OC * IC, 2), b = randn(OC, 3), r = randn(N * OC, 4);
  std::vector<double> out(N * OC);
  auto f = [&] {
    matmul_forward(out.data(), x.data(), W.data(), b.data(), N, IC, OC);
    return dotv(out, r);
  };
  f();
  // y = W x + b, W out x in.
  for (int o = 0; o < OC; ++o) {
    double s = b[o];
    for (int i = 0; i < IC; ++i) s += W[o * IC + i] * x[IC + i];
    CHECK(out[OC + o] == Approx(s).epsilon(1e-12));
  }
  std::vector<double> dx(N * IC, 0.0), dW(OC * IC, 0.0), db(OC, 0.0);
  matmul_backward(dx.data(), dW.data(), db.data(), r.data(), x.data(), W.data(), N, IC, OC, false);
  CHECK(max_rel_error(f, x.data(), x.size(), dx.data()) < kTol);
  CHECK(max_rel_error(f, W.data(), W.size(), dW.data()) < kTol);
  CHECK(max_rel_error(f, b.data(), b.size(), db.data()) < kTol);
  // accumulate_dinp adds.
  std::vector<double> dx2(N * IC, 1.0);
  matmul_backward(dx2.data(), dW.data(), db.data(), r.data(), x.data(), W.data(), N, IC, OC, true);
  for (size_t i = 0; i < dx.size(); ++i) CHECK(dx2[i] == Approx(dx[i] + 1.0));
}

TEST_CASE("grad: gelu (tanh approximation)", "[train][grad]") {
  set_threads(2);
  const size_t n = 300;
  auto x = randn(n, 1, 3.0), r = randn(n, 2);
  std::vector<double> out(n);
  auto f = [&] {
    gelu_forward(out.data(), x.data(), n);
    return dotv(out, r);
  };
  // Elementwise: check each derivative on its own term (less rounding noise
  // than differencing the sum of all 300).
  for (size_t i = 0; i < n; ++i) {
    double xi = x[i], yi, dyi, one = 1.0;
    auto fi = [&] {
      gelu_forward(&yi, &xi, 1);
      return yi;
    };
    gelu_backward(&dyi, &one, &xi, 1);
    CHECK(max_rel_error(fi, &xi, 1, &dyi) < kTol);
  }
  std::vector<double> dx(n);
  gelu_backward(dx.data(), r.data(), x.data(), n);
  CHECK(max_rel_error(f, x.data(), n, dx.data()) < 1e-5);
  // The float path (a vectorised tanh) agrees with the double one.
  std::vector<float> xf(x.begin(), x.end()), of(n), rf(r.begin(), r.end()), dxf(n);
  gelu_forward(of.data(), xf.data(), n);
  gelu_backward(dxf.data(), rf.data(), xf.data(), n);
  f();
  for (size_t i = 0; i < n; ++i) {
    CHECK(of[i] == Approx(out[i]).margin(2e-6));
    CHECK(dxf[i] == Approx(dx[i]).margin(2e-5));
  }
}

TEST_CASE("grad: shift mixers (max, min, max-avg, min-avg)", "[train][grad]") {
  set_threads(2);
  const int B = 3, T = 7, C = 5;
  for (Mixer mx : {Mixer::max, Mixer::min, Mixer::max_avg, Mixer::min_avg}) {
    INFO("mixer " << mixer_name(mx));
    auto h = randn(B * T * C, 11 + int(mx)), r = randn(B * T * C, 3);
    std::vector<double> out(B * T * C);
    std::vector<uint8_t> sel(B * T * C);
    auto f = [&] {
      shift_mix_forward(mx, out.data(), sel.data(), h.data(), B, T, C);
      return dotv(out, r);
    };
    f();
    std::vector<double> dh(B * T * C, 0.0);
    shift_mix_backward(dh.data(), r.data(), sel.data(), B, T, C);
    CHECK(max_rel_error(f, h.data(), h.size(), dh.data()) < kTol);
    // Semantics: position 0 is unchanged; the avg mixers choose the mean somewhere.
    f();
    bool chose_avg = false;
    for (int b = 0; b < B; ++b)
      for (int i = 0; i < C; ++i) CHECK(out[(b * T) * C + i] == h[(b * T) * C + i]);
    for (uint8_t s : sel) chose_avg = chose_avg || s == 2;
    CHECK(chose_avg == mixer_uses_avg(mx));
  }
}

TEST_CASE("grad: shift mixer ties go to the first argument (h_t, h_{t-1}, a_t)", "[train][grad]") {
  set_threads(1);
  // All positions equal: every mixer picks h_t (sel 0) everywhere, so the
  // gradient is the identity.
  const int B = 1, T = 4, C = 3;
  std::vector<double> h(B * T * C, 0.5), out(B * T * C), r = randn(B * T * C, 1);
  std::vector<uint8_t> sel(B * T * C);
  for (Mixer mx : {Mixer::max, Mixer::min, Mixer::max_avg, Mixer::min_avg}) {
    shift_mix_forward(mx, out.data(), sel.data(), h.data(), B, T, C);
    for (uint8_t s : sel) CHECK(s == 0);
    std::vector<double> dh(B * T * C, 0.0);
    shift_mix_backward(dh.data(), r.data(), sel.data(), B, T, C);
    for (size_t i = 0; i < dh.size(); ++i) CHECK(dh[i] == r[i]);
  }
  // h_{t-1} == a_t > h_t: the previous position wins the tie with the mean.
  std::vector<double> h2 = {2.0, 1.0};  // T = 2, C = 1: a_1 = 1.5, prev 2.0
  std::vector<double> o2(2);
  std::vector<uint8_t> s2(2);
  shift_mix_forward(Mixer::max_avg, o2.data(), s2.data(), h2.data(), 1, 2, 1);
  CHECK(s2[1] == 1);
  CHECK(o2[1] == 2.0);
}

TEST_CASE("grad: static multi-scale EMA mixers (ema, max-ema), through the registry", "[train][grad]") {
  set_threads(2);
  const int B = 3, Tn = 9, C = 6;
  Config c;
  c.n_embd = C, c.block_size = 8, c.n_layer = 1;  // 5 scales: rates 2^-1 .. 2^-5
  for (Mixer mx : {Mixer::ema, Mixer::max_ema}) {
    INFO("mixer " << mixer_name(mx));
    c.mixers[0] = mx;
    const TrainMixer<double>& tm = find<double>(mx);
    std::vector<uint8_t> saved(tm.saved_bytes(c, B, Tn) + 1);
    const Pass<double> pass{&c, 0, B, Tn, nullptr, nullptr, saved.data(), 0.0f, 0, 0};
    auto h = randn(B * Tn * C, 21 + int(mx)), r = randn(B * Tn * C, 4);
    std::vector<double> out(B * Tn * C);
    auto f = [&] {
      tm.forward(pass, h.data(), out.data());
      return dotv(out, r);
    };
    f();
    // Position 0 is h_0; a slowest-rate channel moves 2^-5 of the way at t = 1.
    for (int i = 0; i < C; ++i) CHECK(out[i] == h[i]);
    if (mx == Mixer::ema) CHECK(out[C + C - 1] == Approx(h[C - 1] + (h[C + C - 1] - h[C - 1]) / 32));
    if (mx == Mixer::max_ema) {  // every argument is chosen somewhere
      bool chose[3] = {};
      for (uint8_t k : saved) chose[k] = true;
      CHECK((chose[0] && chose[1] && chose[2]));
    }
    std::vector<double> dh(B * Tn * C, 7.0);  // backward writes dh
    tm.backward(pass, h.data(), r.data(), dh.data(), nullptr, nullptr, nullptr);
    CHECK(max_rel_error(f, h.data(), h.size(), dh.data()) < kTol);
  }
}

TEST_CASE("grad: minGRU (input, W, bias), through the registry", "[train][grad]") {
  set_threads(2);
  const int B = 3, Tn = 8, C = 5, N = B * Tn;
  Config c;
  c.n_embd = C, c.block_size = Tn, c.n_layer = 1, c.mixers[0] = Mixer::mingru;
  const TrainMixer<double>& tm = find<double>(Mixer::mingru);
  std::vector<uint8_t> saved(tm.saved_bytes(c, B, Tn));
  auto h = randn(N * C, 31), W = randn(2 * C * C, 32), b = randn(2 * C, 33), r = randn(N * C, 34);
  const Pass<double> pass{&c, 0, B, Tn, W.data(), b.data(), saved.data(), 0.0f, 0, 0};
  std::vector<double> out(N * C);
  auto f = [&] {
    tm.forward(pass, h.data(), out.data());
    return dotv(out, r);
  };
  f();
  // s_0 = z c (s_{-1} = 0), s_1 = (1 - z) s_0 + z c, from the rows of W h + b.
  for (int t = 0; t < 2; ++t)
    for (int i = 0; i < C; ++i) {
      double u = b[i], cand = b[C + i];
      for (int k = 0; k < C; ++k) {
        u += W[i * C + k] * h[t * C + k];
        cand += W[(C + i) * C + k] * h[t * C + k];
      }
      const double z = 1 / (1 + std::exp(-u));
      const double before = t == 0 ? 0.0 : out[i];
      CHECK(out[t * C + i] == Approx((1 - z) * before + z * cand).epsilon(1e-12));
    }
  std::vector<double> dh(N * C, 7.0), dW(W.size(), 0.0), db(b.size(), 0.0), scratch(N * 4 * C);
  tm.backward(pass, h.data(), r.data(), dh.data(), dW.data(), db.data(), scratch.data());
  CHECK(max_rel_error(f, h.data(), h.size(), dh.data()) < kTol);
  CHECK(max_rel_error(f, W.data(), W.size(), dW.data()) < kTol);
  CHECK(max_rel_error(f, b.data(), b.size(), db.data()) < kTol);
}

TEST_CASE("grad: local attention (input, Wqkv, bias; band of W, RoPE), through the registry",
          "[train][grad][local]") {
  set_threads(2);
  const int B = 2, Tn = 7, C = 8, H = 2, W = 3, N = B * Tn, hs = C / H;
  Config c;
  c.n_embd = C, c.n_head = H, c.block_size = Tn, c.n_layer = 1, c.mixers[0] = Mixer::local;
  c.window[0] = W;
  const TrainMixer<double>& tm = find<double>(Mixer::local);
  for (float p : {0.0f, 0.25f}) {
    INFO("dropout " << p);
    std::vector<uint8_t> saved(tm.saved_bytes(c, B, Tn));
    auto h = randn(N * C, 41), Wq = randn(3 * C * C, 42), b = randn(3 * C, 43), r = randn(N * C, 44);
    const Pass<double> pass{&c, 0, B, Tn, Wq.data(), b.data(), saved.data(), p, dropout_key(4, 5, 6), 0};
    std::vector<double> out(N * C);
    auto f = [&] {
      tm.forward(pass, h.data(), out.data());
      return dotv(out, r);
    };
    f();
    const double* qkv = reinterpret_cast<const double*>(saved.data());
    const double* att = qkv + size_t(N) * 3 * C;
    // The saved q and k are W h + b rotated by the core's angles for their
    // position in the window (pair (2j, 2j+1) of each head).
    for (int row : {0, 3, Tn + 5}) {
      const int t = row % Tn;
      float cs[hs / 2], sn[hs / 2];
      rope_cos_sin(uint64_t(t), hs, cs, sn);
      for (int part = 0; part < 2; ++part)
        for (int i = 0; i < C; i += 2) {
          double u[2];
          for (int e = 0; e < 2; ++e) {
            u[e] = b[part * C + i + e];
            for (int k = 0; k < C; ++k) u[e] += Wq[(part * C + i + e) * C + k] * h[row * C + k];
          }
          const int j = (i % hs) / 2;
          CHECK(qkv[row * 3 * C + part * C + i] == Approx(u[0] * cs[j] - u[1] * sn[j]).epsilon(1e-12));
          CHECK(qkv[row * 3 * C + part * C + i + 1] == Approx(u[0] * sn[j] + u[1] * cs[j]).epsilon(1e-12));
        }
    }
    // The band: position t attends to t - W + 1 .. t only; rows sum to 1.
    for (int j = 0; j < B * H; ++j)
      for (int t = 0; t < Tn; ++t) {
        double sum = 0;
        for (int u = 0; u < Tn; ++u) {
          const double a = att[(j * Tn + t) * Tn + u];
          if (u > t || u <= t - W) CHECK(a == 0.0);
          else CHECK(a > 0.0);
          sum += a;
        }
        CHECK(sum == Approx(1.0));
      }
    std::vector<double> dh(N * C, 7.0), dW(Wq.size(), 0.0), db(b.size(), 0.0), scratch(N * 4 * C);
    tm.backward(pass, h.data(), r.data(), dh.data(), dW.data(), db.data(), scratch.data());
    CHECK(max_rel_error(f, h.data(), h.size(), dh.data()) < kTol);
    CHECK(max_rel_error(f, Wq.data(), Wq.size(), dW.data()) < kTol);
    CHECK(max_rel_error(f, b.data(), b.size(), db.data()) < kTol);
  }
}

TEST_CASE("grad: causal attention (with and without dropout)", "[train][grad]") {
  set_threads(2);
  const int B = 2, T = 5, C = 6, H = 2;
  for (float p : {0.0f, 0.25f}) {
    INFO("dropout " << p);
    auto qkv = randn(B * T * 3 * C, 1), r = randn(B * T * C, 2);
    std::vector<double> out(B * T * C), att(B * H * T * T);
    const uint64_t key = dropout_key(1, 2, 3);
    auto f = [&] {
      attention_forward(out.data(), att.data(), qkv.data(), B, T, C, H, p, key);
      return dotv(out, r);
    };
    f();
    // Causal: probabilities above the diagonal are 0 and rows sum to 1.
    for (int j = 0; j < B * H; ++j)
      for (int t = 0; t < T; ++t) {
        double s = 0;
        for (int u = 0; u < T; ++u) {
          if (u > t) CHECK(att[(j * T + t) * T + u] == 0.0);
          s += att[(j * T + t) * T + u];
        }
        CHECK(s == Approx(1.0));
      }
    std::vector<double> dqkv(B * T * 3 * C);
    attention_backward(dqkv.data(), r.data(), qkv.data(), att.data(), B, T, C, H, p, key);
    CHECK(max_rel_error(f, qkv.data(), qkv.size(), dqkv.data()) < kTol);
  }
}

TEST_CASE("grad: softmax cross-entropy", "[train][grad]") {
  set_threads(2);
  const int N = 6, V = 7;
  auto logits = randn(N * V, 1, 2.0);
  std::vector<uint32_t> tgt = {0, 6, 3, 3, 1, 5};
  std::vector<double> work(N * V), losses(N);
  auto f = [&] {
    work = logits;
    return crossentropy_forward(work.data(), losses.data(), tgt.data(), N, V);
  };
  const double loss = f();
  // Against a direct computation of -log softmax.
  double ref = 0;
  for (int r = 0; r < N; ++r) {
    double z = 0;
    for (int i = 0; i < V; ++i) z += std::exp(logits[r * V + i]);
    ref += -(logits[r * V + tgt[r]] - std::log(z));
  }
  CHECK(loss == Approx(ref / N).epsilon(1e-12));
  crossentropy_backward(work.data(), tgt.data(), N, V, 1.0 / N);
  const std::vector<double> dlogits = work;  // f() overwrites work
  CHECK(max_rel_error(f, logits.data(), logits.size(), dlogits.data()) < kTol);
}
