// Each CUDA operation kernel (cuda/src/ops/) against a CPU reference: the CPU
// trainer's function in double (lib/train/model/layers.hpp, adamw.hpp) where one
// exists, else the formula written out on the host. Seeded random inputs;
// dropout off (p = 0) unless a case says otherwise. Tolerances: what f32
// arithmetic in another order allows, plus half a bf16 ulp (at most 2^-8
// of the value, Act<A>::rounding) where the kernel rounds its output to bf16.
// Needs a GPU; each case exits 77 (skipped) without one.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

#include "cuda_test_util.hpp"
#include "kernel_test_util.hpp"
#include "layers.cuh"
#include "train/optim/adamw.hpp"
#include "train/model/layers.hpp"

using namespace causalgen;
using namespace kernel_test;
using cuda::embed_chunk_size;

namespace {

constexpr cudaStream_t kStream = nullptr;  // the default stream: cudaMemcpy waits for it

// The embedding backward's inputs (layers.cuh): positions bucketed by token
// in position order, each token's run cut into chunks of embed_chunk_size().
struct TokenChunks {
  std::vector<uint32_t> order, token_chunks, start, end;
};
TokenChunks chunk_by_token(const std::vector<uint32_t>& tok, int V) {
  TokenChunks c;
  c.token_chunks.push_back(0);
  for (int v = 0; v < V; ++v) {
    const size_t first = c.order.size();
    for (size_t n = 0; n < tok.size(); ++n)
      if (tok[n] == uint32_t(v)) c.order.push_back(uint32_t(n));
    for (size_t a = first; a < c.order.size(); a += embed_chunk_size()) {
      c.start.push_back(uint32_t(a));
      c.end.push_back(uint32_t(std::min(a + embed_chunk_size(), c.order.size())));
    }
    c.token_chunks.push_back(uint32_t(c.start.size()));
  }
  return c;
}

// Column sums (C) of x (N x C), in double.
std::vector<double> column_sums(const std::vector<float>& x, int N, int C) {
  std::vector<double> s(C, 0.0);
  for (int n = 0; n < N; ++n)
    for (int c = 0; c < C; ++c) s[c] += x[size_t(n) * C + c];
  return s;
}

}  // namespace

TEST_CASE("cuda kernel: embedding forward equals the CPU trainer's", "[cuda][kernel]") {
  require_gpu();
  const int B = 3, T = 20, C = 40, V = 11, N = B * T;
  const auto tok = tokens(N, V, 1);
  const auto wte = uniform(size_t(V) * C, 2), wpe = uniform(size_t(T) * C, 3);
  Device<uint32_t> d_tok(tok);
  Device<float> d_wte(wte), d_wpe(wpe), d_x(size_t(N) * C);
  for (const bool with_wpe : {true, false}) {
    INFO("position embedding: " << with_wpe);
    cuda::embed_forward(d_x.ptr, d_tok.ptr, d_wte.ptr, with_wpe ? d_wpe.ptr : nullptr, B, T, C,
                        0.0f, 7, 0, kStream);
    wait_for_kernels();
    std::vector<double> want(size_t(N) * C);
    const auto wte_d = to_double(wte), wpe_d = to_double(wpe);
    train::embedding_forward<double>(want.data(), tok.data(), wte_d.data(),
                                     with_wpe ? wpe_d.data() : nullptr, B, T, C);
    // One f32 addition: correctly rounded, within 2^-24 of the exact sum.
    require_close("x", d_x.get(), want, {0.0, 1e-7});
  }
  SECTION("dropout keeps each element scaled by 1/(1-p) or zeroes it") {
    cuda::embed_forward(d_x.ptr, d_tok.ptr, d_wte.ptr, d_wpe.ptr, B, T, C, 0.5f, 7, 3, kStream);
    wait_for_kernels();
    const auto x = d_x.get();
    size_t dropped = 0, wrong = 0;
    for (int n = 0; n < N; ++n)
      for (int c = 0; c < C; ++c) {
        const size_t i = size_t(n) * C + c;
        const float kept = (wte[size_t(tok[n]) * C + c] + wpe[size_t(n % T) * C + c]) * 2.0f;
        if (x[i] == 0.0f) ++dropped;
        else if (x[i] != kept) ++wrong;
      }
    CHECK(wrong == 0);
    CHECK(dropped > x.size() * 4 / 10);  // p = 0.5 over 2400 elements
    CHECK(dropped < x.size() * 6 / 10);
  }
}

TEST_CASE("cuda kernel: embedding backward equals the CPU trainer's", "[cuda][kernel]") {
  require_gpu();
  // V = 6 with tokens drawn from 0..4: about 77 positions a token (two chunks
  // of 64), and token 5 without any (its row must stay as it was).
  const int B = 4, T = 96, C = 40, V = 6, N = B * T;
  const auto tok = tokens(N, V - 1, 4);
  const auto dx = uniform(size_t(N) * C, 5), dwte0 = uniform(size_t(V) * C, 6);
  const TokenChunks ch = chunk_by_token(tok, V);
  REQUIRE(ch.start.size() <= cuda::embed_chunk_count(N, V));
  REQUIRE(ch.start.size() > size_t(V - 1));  // some token spans several chunks

  Device<float> d_dx(dx), d_dwte(dwte0), d_dwpe(size_t(T) * C),
      d_partial(std::max<size_t>(1, ch.start.size()) * C);
  Device<uint32_t> d_order(ch.order), d_tc(ch.token_chunks), d_start(ch.start), d_end(ch.end);
  cuda::embed_backward(d_dwte.ptr, d_dwpe.ptr, d_dx.ptr, d_order.ptr, d_tc.ptr, d_start.ptr,
                       d_end.ptr, uint32_t(ch.start.size()), d_partial.ptr, B, T, C, V, 0.0f, 7,
                       0, kStream);
  wait_for_kernels();

  std::vector<double> dwte = to_double(dwte0), dwpe(size_t(T) * C, 0.0);
  const auto dx_d = to_double(dx);
  train::embedding_backward<double>(dwte.data(), dwpe.data(), dx_d.data(), tok.data(), B, T, C);
  // Sums of up to ~80 (dwte) or 4 (dwpe) terms of size <= 1 in f32.
  require_close("dwte", d_dwte.get(), dwte, {2e-5, 1e-6});
  require_close("dwpe", d_dwpe.get(), dwpe, {1e-6, 1e-6});
}

TEMPLATE_TEST_CASE("cuda kernel: layernorm forward equals the CPU trainer's", "[cuda][kernel]",
                   float, __nv_bfloat16) {
  using A = TestType;
  require_gpu();
  INFO(Act<A>::name);
  const int N = 37, C = 80;  // C: two and a half warps of columns
  const auto x = uniform(size_t(N) * C, 11, -2.0f, 3.0f), w = uniform(C, 12, 0.5f, 1.5f),
             b = uniform(C, 13);
  Device<float> d_x(x), d_w(w), d_b(b), d_mean(N), d_rstd(N);
  Device<typename Act<A>::Host> d_out(size_t(N) * C);
  cuda::layernorm_forward<A>(d_out.template as<A>(), d_mean.ptr, d_rstd.ptr, d_x.ptr, d_w.ptr,
                             d_b.ptr, N, C, kStream);
  wait_for_kernels();

  std::vector<double> out(size_t(N) * C), mean(N), rstd(N);
  const auto xd = to_double(x), wd = to_double(w), bd = to_double(b);
  train::layernorm_forward<double>(out.data(), mean.data(), rstd.data(), xd.data(), wd.data(),
                                   bd.data(), N, C);
  const Tolerance f32{1e-5, 1e-5};
  require_close("out", from_act<A>(d_out.get()), out, f32 + Act<A>::rounding);
  require_close("mean", d_mean.get(), mean, f32);
  require_close("rstd", d_rstd.get(), rstd, f32);
}

TEMPLATE_TEST_CASE("cuda kernel: layernorm backward equals the CPU trainer's", "[cuda][kernel]",
                   float, __nv_bfloat16) {
  using A = TestType;
  require_gpu();
  INFO(Act<A>::name);
  // N > 1024 rows: the weight gradients' column sums take two partial chunks.
  const int N = 1030, C = 40;
  const auto x = uniform(size_t(N) * C, 21, -2.0f, 3.0f), w = uniform(C, 22, 0.5f, 1.5f);
  const auto dout = rounded<A>(uniform(size_t(N) * C, 23));
  const auto dx0 = uniform(size_t(N) * C, 24);  // the gradient is added to dx
  // The saved statistics, as the forward pass leaves them (f32).
  std::vector<double> ln(size_t(N) * C), mean_d(N), rstd_d(N);
  const auto xd = to_double(x), wd = to_double(w);
  train::layernorm_forward<double>(ln.data(), mean_d.data(), rstd_d.data(), xd.data(), wd.data(),
                                   nullptr, N, C);
  const std::vector<float> mean(mean_d.begin(), mean_d.end()), rstd(rstd_d.begin(), rstd_d.end());

  Device<float> d_x(x), d_w(w), d_mean(mean), d_rstd(rstd), d_dx(dx0), d_dw(C), d_db(C),
      d_partial(cuda::ln_partial_floats(N, C));
  Device<typename Act<A>::Host> d_dout(to_act<A>(dout)), d_dbranch(size_t(N) * C);
  cuda::layernorm_backward<A>(d_dx.ptr, d_dw.ptr, d_db.ptr, d_dout.template as<A>(), d_x.ptr,
                              d_w.ptr, d_mean.ptr, d_rstd.ptr, d_partial.ptr, N, C,
                              d_dbranch.template as<A>(), 0.0f, 7, 0, kStream);
  wait_for_kernels();

  std::vector<double> dx = to_double(dx0), dw(C, 0.0), db(C, 0.0);
  const auto dout_d = to_double(dout), m_d = to_double(mean), r_d = to_double(rstd);
  train::layernorm_backward<double>(dx.data(), dw.data(), db.data(), dout_d.data(), xd.data(),
                                    m_d.data(), r_d.data(), wd.data(), N, C);
  require_close("dx", d_dx.get(), dx, {2e-5, 1e-5});
  // Column sums over 1030 rows in f32.
  require_close("dw", d_dw.get(), dw, {1e-3, 1e-5});
  require_close("db", d_db.get(), db, {1e-3, 1e-5});
  // With p = 0 the residual branch's gradient is dx itself, stored as A.
  require_close("dbranch", from_act<A>(d_dbranch.get()), dx,
                Tolerance{2e-5, 1e-5} + Act<A>::rounding);

  SECTION("without a bias (db null) dw is the same") {
    Device<float> d_dw2(C);
    cuda::layernorm_backward<A>(d_dx.ptr, d_dw2.ptr, nullptr, d_dout.template as<A>(), d_x.ptr,
                                d_w.ptr, d_mean.ptr, d_rstd.ptr, d_partial.ptr, N, C, nullptr,
                                0.0f, 7, 0, kStream);
    wait_for_kernels();
    require_close("dw", d_dw2.get(), dw, {1e-3, 1e-5});
  }
}

TEMPLATE_TEST_CASE("cuda kernel: residual add + layernorm forward equals the CPU reference",
                   "[cuda][kernel]", float, __nv_bfloat16) {
  using A = TestType;
  require_gpu();
  INFO(Act<A>::name);
  const int N = 37, C = 80;
  const auto x = uniform(size_t(N) * C, 31, -2.0f, 2.0f);
  const auto branch = rounded<A>(uniform(size_t(N) * C, 32));
  const auto bias = uniform(C, 33), w = uniform(C, 34, 0.5f, 1.5f), b = uniform(C, 35);
  Device<float> d_x(x), d_bias(bias), d_w(w), d_b(b), d_xout(size_t(N) * C), d_mean(N), d_rstd(N);
  Device<typename Act<A>::Host> d_branch(to_act<A>(branch)), d_ln(size_t(N) * C);
  cuda::residual_layernorm_forward<A>(d_xout.ptr, d_ln.template as<A>(), d_mean.ptr, d_rstd.ptr,
                                      d_x.ptr, d_branch.template as<A>(), d_bias.ptr, d_w.ptr,
                                      d_b.ptr, N, C, 0.0f, 7, 0, kStream);
  wait_for_kernels();

  // x_out = x + (branch + bias), then the CPU trainer's LayerNorm of it.
  std::vector<double> xout(size_t(N) * C), ln(size_t(N) * C), mean(N), rstd(N);
  for (int n = 0; n < N; ++n)
    for (int c = 0; c < C; ++c) {
      const size_t i = size_t(n) * C + c;
      xout[i] = double(x[i]) + (double(branch[i]) + double(bias[c]));
    }
  const auto wd = to_double(w), bd = to_double(b);
  train::layernorm_forward<double>(ln.data(), mean.data(), rstd.data(), xout.data(), wd.data(),
                                   bd.data(), N, C);
  require_close("x_out", d_xout.get(), xout, {1e-6, 1e-6});  // two f32 roundings
  const Tolerance f32{1e-5, 1e-5};
  require_close("ln_out", from_act<A>(d_ln.get()), ln, f32 + Act<A>::rounding);
  require_close("mean", d_mean.get(), mean, f32);
  require_close("rstd", d_rstd.get(), rstd, f32);
}

TEMPLATE_TEST_CASE("cuda kernel: residual branch bias gradient is the column sum",
                   "[cuda][kernel]", float, __nv_bfloat16) {
  using A = TestType;
  require_gpu();
  INFO(Act<A>::name);
  const int N = 1030, C = 40;  // two partial chunks of rows
  const auto dbranch = rounded<A>(uniform(size_t(N) * C, 41));
  Device<typename Act<A>::Host> d_dbranch(to_act<A>(dbranch));
  Device<float> d_db(C), d_partial(cuda::ln_partial_floats(N, C));
  cuda::bias_grad<A>(d_db.ptr, d_dbranch.template as<A>(), d_partial.ptr, N, C, kStream);
  wait_for_kernels();
  require_close("db", d_db.get(), column_sums(dbranch, N, C), {1e-3, 1e-5});
}

TEMPLATE_TEST_CASE("cuda kernel: bias + GELU forward equals the CPU trainer's", "[cuda][kernel]",
                   float, __nv_bfloat16) {
  using A = TestType;
  require_gpu();
  INFO(Act<A>::name);
  const int N = 33, H = 160;  // H = 4C for C = 40; a multiple of 8 (the kernel's packs)
  const auto in = rounded<A>(uniform(size_t(N) * H, 51, -4.0f, 4.0f));
  const auto b = uniform(H, 52);
  Device<typename Act<A>::Host> d_in(to_act<A>(in)), d_pre(size_t(N) * H), d_out(size_t(N) * H);
  Device<float> d_b(b);
  cuda::bias_gelu_forward<A>(d_pre.template as<A>(), d_out.template as<A>(),
                             d_in.template as<A>(), d_b.ptr, N, H, kStream);
  wait_for_kernels();

  // pre = in + b: one f32 addition, then stored as A: the same bits here.
  std::vector<float> pre(size_t(N) * H);
  for (size_t i = 0; i < pre.size(); ++i) pre[i] = round_to<A>(in[i] + b[i % H]);
  require_close("pre", from_act<A>(d_pre.get()), pre, {0.0, 0.0});
  std::vector<double> out(pre.size());
  const auto pre_d = to_double(pre);
  train::gelu_forward<double>(out.data(), pre_d.data(), pre.size());
  require_close("out", from_act<A>(d_out.get()), out, Tolerance{2e-6, 1e-5} + Act<A>::rounding);
}

TEMPLATE_TEST_CASE("cuda kernel: GELU backward equals the CPU trainer's", "[cuda][kernel]", float,
                   __nv_bfloat16) {
  using A = TestType;
  require_gpu();
  INFO(Act<A>::name);
  const int N = 1030, H = 160;
  const auto pre = rounded<A>(uniform(size_t(N) * H, 61, -4.0f, 4.0f));
  const auto dout = rounded<A>(uniform(size_t(N) * H, 62));
  Device<typename Act<A>::Host> d_pre(to_act<A>(pre)), d_dout(to_act<A>(dout)),
      d_dpre(size_t(N) * H);
  Device<float> d_db(H), d_partial(cuda::ln_partial_floats(N, H));
  cuda::gelu_backward<A>(d_dpre.template as<A>(), d_db.ptr, d_dout.template as<A>(),
                         d_pre.template as<A>(), d_partial.ptr, N, H, kStream);
  wait_for_kernels();

  std::vector<double> dpre(pre.size());
  const auto pre_d = to_double(pre), dout_d = to_double(dout);
  train::gelu_backward<double>(dpre.data(), dout_d.data(), pre_d.data(), pre.size());
  require_close("dpre", from_act<A>(d_dpre.get()), dpre, Tolerance{2e-6, 1e-5} + Act<A>::rounding);
  // db sums dpre as stored (A): the reference sums its own values rounded to
  // A; a bf16 rounding that falls the other way moves one term by an ulp.
  std::vector<float> dpre_a(dpre.size());
  for (size_t i = 0; i < dpre.size(); ++i) dpre_a[i] = round_to<A>(float(dpre[i]));
  const double slack = std::is_same_v<A, float> ? 0.0 : 1e-2;
  require_close("db", d_db.get(), column_sums(dpre_a, N, H), {1e-3 + slack, 1e-5});
}

TEMPLATE_TEST_CASE("cuda kernel: cross-entropy forward and backward equal the CPU trainer's",
                   "[cuda][kernel]", float, __nv_bfloat16) {
  using A = TestType;
  require_gpu();
  INFO(Act<A>::name);
  const int N = 50, V = 65;  // V: two warps of columns and one more
  const auto logits = uniform(size_t(N) * V, 71, -5.0f, 5.0f);
  const auto targets = tokens(N, V, 72);
  Device<float> d_logits(logits), d_loss(N);
  Device<uint32_t> d_targets(targets);
  const std::vector<typename Act<A>::Host> sentinel(size_t(N) * V, Act<A>::store(7.0f));
  Device<typename Act<A>::Host> d_dlogits(sentinel);

  std::vector<double> probs = to_double(logits), loss(N);
  train::crossentropy_forward<double>(probs.data(), loss.data(), targets.data(), N, V);
  train::crossentropy_backward<double>(probs.data(), targets.data(), N, V, 1.0 / N);
  const Tolerance loss_tol{1e-5, 1e-6};

  // Evaluation (want_grad false): losses only, dlogits untouched.
  cuda::crossentropy_forward_backward<A>(d_loss.ptr, d_dlogits.template as<A>(), d_logits.ptr,
                                         d_targets.ptr, N, V, false, kStream);
  wait_for_kernels();
  require_close("loss (eval)", d_loss.get(), loss, loss_tol);
  CHECK(d_dlogits.get() == sentinel);

  cuda::crossentropy_forward_backward<A>(d_loss.ptr, d_dlogits.template as<A>(), d_logits.ptr,
                                         d_targets.ptr, N, V, true, kStream);
  wait_for_kernels();
  require_close("loss", d_loss.get(), loss, loss_tol);
  // dlogits = (p - onehot) / N: |values| <= 0.02.
  require_close("dlogits", from_act<A>(d_dlogits.get()), probs,
                Tolerance{1e-8, 1e-5} + Act<A>::rounding);
}

TEST_CASE("cuda kernel: mean of the row losses", "[cuda][kernel]") {
  require_gpu();
  for (const int n : {1, 1000, 3000}) {  // fewer and more elements than threads (1024)
    INFO("n = " << n);
    const auto x = uniform(size_t(n), 81, 0.0f, 5.0f);
    Device<float> d_x(x), d_out(1);
    cuda::mean_reduce(d_out.ptr, d_x.ptr, n, kStream);
    wait_for_kernels();
    double mean = 0;
    for (float v : x) mean += v;
    mean /= n;
    require_close("mean", d_out.get(), std::vector<double>{mean}, {1e-6, 1e-6});
  }
}

TEST_CASE("cuda kernel: gradient norm equals the CPU trainer's", "[cuda][kernel]") {
  require_gpu();
  // More elements than the kernel's grid covers in one stride (264 x 512).
  const size_t n = 300001;
  const auto g = uniform(n, 91);
  Device<float> d_g(g), d_norm(1), d_partial(cuda::grad_norm_partial_floats());
  cuda::grad_norm(d_norm.ptr, d_g.ptr, n, d_partial.ptr, kStream);
  wait_for_kernels();
  const double want = train::grad_norm(g.data(), n);  // double, fixed order
  require_close("norm", d_norm.get(), std::vector<double>{want}, {0.0, 1e-5});
}

TEST_CASE("cuda kernel: AdamW with clipping equals the CPU trainer's", "[cuda][kernel]") {
  require_gpu();
  // Three tensors: two matrices (weight decay) around a bias (none).
  const size_t n = 300001;
  using causalgen::TensorKind;
  std::vector<train::TensorRange> tensors = {{"w1", 0, 200000, 400, 500, TensorKind::matrix, false},
                                             {"b1", 200000, 100, 1, 100, TensorKind::bias, false},
                                             {"w2", 200100, n - 200100, 1, 0, TensorKind::matrix, false}};
  std::vector<uint8_t> decay(n);
  for (const auto& t : tensors)
    std::fill(decay.begin() + t.offset, decay.begin() + t.offset + t.size, uint8_t(t.decay()));
  const train::AdamWParams h;  // beta1 0.9, beta2 0.99, eps 1e-8, weight decay 0.1
  const float lr = 1e-3f, clip = 1.0f;  // |g| ~ 300: every step clips

  std::vector<float> p = uniform(n, 101), m(n, 0.0f), v(n, 0.0f);
  Device<float> d_p(p), d_m(m), d_v(v), d_g(n), d_norm(1),
      d_partial(cuda::grad_norm_partial_floats());
  Device<uint8_t> d_decay(decay);
  for (uint64_t t = 1; t <= 3; ++t) {  // three steps: the bias corrections change
    INFO("step " << t);
    std::vector<float> g = uniform(n, uint32_t(101 + t));
    d_g.put(g);
    cuda::grad_norm(d_norm.ptr, d_g.ptr, n, d_partial.ptr, kStream);
    // The bias corrections as the CUDA trainer computes them (f32).
    const float bc1 = 1.0f - std::pow(float(h.beta1), float(t));
    const float bc2 = 1.0f - std::pow(float(h.beta2), float(t));
    cuda::adamw_update(d_p.ptr, d_m.ptr, d_v.ptr, d_g.ptr, d_decay.ptr, n, lr, float(h.beta1),
                       float(h.beta2), float(h.eps), float(h.weight_decay), bc1, bc2, d_norm.ptr,
                       clip, kStream);
    wait_for_kernels();
    train::clip_grad_norm(g.data(), n, clip);
    train::adamw_step(tensors, p.data(), g.data(), m.data(), v.data(), lr, t, h);
    // The same update in another arrangement of f32 operations (clip factor,
    // bias corrections): the moments agree to a few ulps, the parameters
    // to far below the step size lr.
    require_close("m", d_m.get(), m, {1e-9, 1e-5});  // m ~ 1e-4; terms may cancel
    require_close("v", d_v.get(), v, {1e-14, 1e-5});
    require_close("params", d_p.get(), p, {1e-7, 1e-6});
  }
}

TEMPLATE_TEST_CASE("cuda kernel: f32 to activation cast rounds to nearest", "[cuda][kernel]",
                   float, __nv_bfloat16) {
  using A = TestType;
  require_gpu();
  INFO(Act<A>::name);
  const auto x = uniform(1000, 111, -100.0f, 100.0f);
  Device<float> d_x(x);
  Device<typename Act<A>::Host> d_out(x.size());
  cuda::cast_f32<A>(d_out.template as<A>(), d_x.ptr, x.size(), kStream);
  wait_for_kernels();
  CHECK(d_out.get() == to_act<A>(x));  // round to nearest even, bit for bit
}

TEST_CASE("cuda kernel: bf16 to f32 is exact", "[cuda][kernel]") {
  require_gpu();
  const auto h = to_act<__nv_bfloat16>(uniform(1000, 121, -100.0f, 100.0f));
  Device<uint16_t> d_h(h);
  Device<float> d_out(h.size());
  cuda::to_f32(d_out.ptr, d_h.as<__nv_bfloat16>(), h.size(), kStream);
  wait_for_kernels();
  CHECK(d_out.get() == from_act<__nv_bfloat16>(h));
}
