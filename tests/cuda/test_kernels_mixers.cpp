// Each CUDA mixer kernel (cuda/src/mixers/) against a CPU reference: the CPU
// trainer's shift, EMA and minGRU mixers and attention in double
// (lib/train/model/mixers/mixer.hpp), or the formula written out on the host
// where the CPU trainer has no separate function (the softmax backward, the
// head layout). Seeded random inputs, dropout off unless a case says
// otherwise; tolerances as in test_kernels_ops.cpp. Needs a GPU; each case
// exits 77 (skipped) without one, except those tagged [host] (the EMA and
// minGRU kernels' per-thread bodies run on the host, so that their indexing
// and sums are checked on a machine without a GPU) and [registry] (the
// registry, the EMA rates, the block layout).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <type_traits>
#include <vector>

#include "cuda_test_util.hpp"
#include "kernel_test_util.hpp"
#include "gemm.cuh"
#include "layers.cuh"
#include "mixers/attention.cuh"
#include "mixers/ema.cuh"
#include "mixers/mingru.cuh"
#include "mixers/mixer.cuh"
#include "mixers/shift.cuh"
#include "train/model/layers.hpp"
#include "train/model/mixers/mixer.hpp"

using namespace causalgen;
using namespace kernel_test;

namespace {

constexpr cudaStream_t kStream = nullptr;
constexpr Mixer kShiftMixers[] = {Mixer::max, Mixer::min, Mixer::max_avg, Mixer::min_avg};

// The shift mixers' shape: T = 50 gives three full segments of 16 positions
// and a partial one; C = 37 is not a multiple of a warp.
constexpr int kB = 3, kT = 50, kC = 37;

// The three arguments a shift mixer chooses from at (b, t, c), in double:
// 0: h_t, 1: h_{t-1} (h_{-1} := h_0), 2: the running mean of h_0..h_t.
double shift_argument(const std::vector<float>& h, int b, int t, int c, int which) {
  auto at = [&](int s) { return double(h[(size_t(b) * kT + s) * kC + c]); };
  if (which == 0) return at(t);
  if (which == 1) return at(t > 0 ? t - 1 : 0);
  double sum = 0;
  for (int s = 0; s <= t; ++s) sum += at(s);
  return sum / (t + 1);
}

}  // namespace

TEMPLATE_TEST_CASE("cuda kernel: shift mixer forward (max/min select, segmented running mean) "
                   "equals the CPU trainer's",
                   "[cuda][kernel]", float, __nv_bfloat16) {
  using A = TestType;
  require_gpu();
  INFO(Act<A>::name);
  const size_t n = size_t(kB) * kT * kC;
  const auto h = rounded<A>(uniform(n, 201));
  const auto h_d = to_double(h);
  Device<typename Act<A>::Host> d_h(to_act<A>(h)), d_m(n);
  Device<uint8_t> d_sel(n);
  Device<float> d_scratch(cuda::shift_scratch_floats(kB, kT, kC));
  for (const Mixer mixer : kShiftMixers) {
    INFO("mixer " << mixer_name(mixer));
    cuda::shift_mix_forward<A>(d_m.template as<A>(), d_sel.ptr, d_h.template as<A>(),
                               d_scratch.ptr, kB, kT, kC, mixer, kStream);
    wait_for_kernels();
    std::vector<double> m(n);
    std::vector<uint8_t> sel(n);
    train::mixers::shift_mix_forward<double>(mixer, m.data(), sel.data(), h_d.data(), kB, kT, kC);
    // The mean: a segmented f32 prefix sum against a double Kahan sum.
    require_close("m", from_act<A>(d_m.get()), m, Tolerance{1e-5, 1e-5} + Act<A>::rounding);

    // sel must match, except where two arguments are equal to f32 accuracy
    // (a near tie may go either way; m agrees there anyway).
    const auto got = d_sel.get();
    size_t mismatched = 0, chose[3] = {0, 0, 0};
    for (int b = 0; b < kB; ++b)
      for (int t = 0; t < kT; ++t)
        for (int c = 0; c < kC; ++c) {
          const size_t i = (size_t(b) * kT + t) * kC + c;
          REQUIRE(got[i] <= (mixer_uses_avg(mixer) ? 2 : 1));
          ++chose[got[i]];
          if (got[i] == sel[i]) continue;
          const double a = shift_argument(h, b, t, c, got[i]);
          const double w = shift_argument(h, b, t, c, sel[i]);
          if (std::fabs(a - w) > 1e-5 * (1.0 + std::fabs(w))) ++mismatched;
        }
    CHECK(mismatched == 0);
    // The inputs exercise every branch: h_t, h_{t-1} and (with avg) the mean.
    CHECK(chose[0] > 0);
    CHECK(chose[1] > 0);
    CHECK((chose[2] > 0) == mixer_uses_avg(mixer));
  }
}

TEMPLATE_TEST_CASE("cuda kernel: shift mixer backward (gradient routing, mean suffix sum) "
                   "equals the CPU trainer's",
                   "[cuda][kernel]", float, __nv_bfloat16) {
  using A = TestType;
  require_gpu();
  INFO(Act<A>::name);
  const size_t n = size_t(kB) * kT * kC;
  const auto h_d = to_double(rounded<A>(uniform(n, 211)));
  const auto dm = rounded<A>(uniform(n, 212));
  const auto dm_d = to_double(dm);
  Device<typename Act<A>::Host> d_dm(to_act<A>(dm)), d_dh(n);
  Device<uint8_t> d_sel(n);
  Device<float> d_scratch(cuda::shift_scratch_floats(kB, kT, kC));
  for (const Mixer mixer : kShiftMixers) {
    INFO("mixer " << mixer_name(mixer));
    // The choices of the CPU trainer's forward pass, on the device too.
    std::vector<double> m(n);
    std::vector<uint8_t> sel(n);
    train::mixers::shift_mix_forward<double>(mixer, m.data(), sel.data(), h_d.data(), kB, kT, kC);
    d_sel.put(sel);
    cuda::shift_mix_backward<A>(d_dh.template as<A>(), d_dm.template as<A>(), d_sel.ptr,
                                d_scratch.ptr, kB, kT, kC, mixer, kStream);
    wait_for_kernels();
    std::vector<double> dh(n, 0.0);
    train::mixers::shift_mix_backward<double>(dh.data(), dm_d.data(), sel.data(), kB, kT, kC);
    // The mean's share is a suffix sum of up to 50 terms g_s / (s+1).
    require_close("dh", from_act<A>(d_dh.get()), dh, Tolerance{1e-5, 1e-5} + Act<A>::rounding);
  }
}

namespace {

// Attention's shape: T = 40 rows per head (more than a warp), hs = 12.
constexpr int kAB = 2, kAT = 40, kAC = 48, kAH = 4, kHs = kAC / kAH;

// Index of (b, head, t, d) in a (B, H, T, hs) array, and of channel (part,
// head, d) of row (b, t) in qkv (N, 3C): part 0 q, 1 k, 2 v; head h owns
// channels h*hs .. h*hs + hs-1 of each part (the CPU trainer's layout).
size_t bhtd(int b, int head, int t, int d) {
  return ((size_t(b) * kAH + head) * kAT + t) * kHs + d;
}
size_t qkv_at(int b, int t, int part, int head, int d) {
  return (size_t(b) * kAT + t) * 3 * kAC + part * kAC + head * kHs + d;
}

}  // namespace

TEMPLATE_TEST_CASE("cuda kernel: causal softmax forward equals the CPU trainer's attention "
                   "probabilities",
                   "[cuda][kernel]", float, __nv_bfloat16) {
  using A = TestType;
  require_gpu();
  INFO(Act<A>::name);
  const int BH = kAB * kAH, N = kAB * kAT;
  const auto qkv = uniform(size_t(N) * 3 * kAC, 221, -2.0f, 2.0f);
  const auto qkv_d = to_double(qkv);
  std::vector<double> out(size_t(N) * kAC), att(size_t(BH) * kAT * kAT);
  train::mixers::attention_forward<double>(out.data(), att.data(), qkv_d.data(), kAB, kAT, kAC, kAH, 0.0f,
                                   0);
  // The scores q.k (unscaled, as the GEMM leaves them); NaN above the
  // diagonal, which the kernel must never read.
  std::vector<float> pre(att.size(), NAN);
  for (int b = 0; b < kAB; ++b)
    for (int hd = 0; hd < kAH; ++hd)
      for (int t = 0; t < kAT; ++t)
        for (int s = 0; s <= t; ++s) {
          double dot = 0;
          for (int d = 0; d < kHs; ++d) dot += qkv_d[qkv_at(b, t, 0, hd, d)] * qkv_d[qkv_at(b, s, 1, hd, d)];
          pre[((size_t(b) * kAH + hd) * kAT + t) * kAT + s] = float(dot);
        }
  const float scale = 1.0f / std::sqrt(float(kHs));
  Device<float> d_pre(pre);
  Device<typename Act<A>::Host> d_att(att.size()), d_drop(att.size());
  cuda::causal_softmax_forward<A>(d_att.template as<A>(), d_drop.template as<A>(), d_pre.ptr,
                                  scale, BH, kAT, 0.0f, 7, 0, kStream);
  wait_for_kernels();
  // Probabilities in [0, 1]; exactly 0 above the diagonal (a NaN read fails).
  require_close("att", from_act<A>(d_att.get()), att, Tolerance{1e-6, 1e-5} + Act<A>::rounding);
  CHECK(d_drop.get() == d_att.get());  // p = 0

  SECTION("dropout keeps each probability scaled by 1/(1-p) or zeroes it") {
    cuda::causal_softmax_forward<A>(d_att.template as<A>(), d_drop.template as<A>(), d_pre.ptr,
                                    scale, BH, kAT, 0.5f, 7, 3, kStream);
    wait_for_kernels();
    const auto a = from_act<A>(d_att.get()), dr = from_act<A>(d_drop.get());
    size_t wrong = 0, dropped = 0, nonzero = 0;
    for (size_t i = 0; i < a.size(); ++i) {
      if (a[i] == 0.0f) continue;
      ++nonzero;
      if (dr[i] == 0.0f) ++dropped;
      else if (dr[i] != round_to<A>(a[i] * 2.0f)) ++wrong;
    }
    CHECK(wrong == 0);
    CHECK(dropped > nonzero * 4 / 10);
    CHECK(dropped < nonzero * 6 / 10);
  }
}

TEMPLATE_TEST_CASE("cuda kernel: causal softmax backward equals the CPU reference",
                   "[cuda][kernel]", float, __nv_bfloat16) {
  using A = TestType;
  require_gpu();
  INFO(Act<A>::name);
  const int BH = kAB * kAH;
  // att: causal softmax rows of random scores (0 above the diagonal), as A.
  std::vector<float> att(size_t(BH) * kAT * kAT, 0.0f);
  const auto scores = uniform(att.size(), 231, -3.0f, 3.0f);
  for (int r = 0; r < BH * kAT; ++r) {
    const int t = r % kAT;
    double sum = 0;
    for (int s = 0; s <= t; ++s) sum += std::exp(double(scores[size_t(r) * kAT + s]));
    for (int s = 0; s <= t; ++s)
      att[size_t(r) * kAT + s] =
          round_to<A>(float(std::exp(double(scores[size_t(r) * kAT + s])) / sum));
  }
  const auto datt = uniform(att.size(), 232);
  const float scale = 1.0f / std::sqrt(float(kHs));
  Device<typename Act<A>::Host> d_att(to_act<A>(att)), d_dpre(att.size());
  Device<float> d_datt(datt);
  cuda::causal_softmax_backward<A>(d_dpre.template as<A>(), d_datt.ptr, d_att.template as<A>(),
                                   scale, BH, kAT, 0.0f, 7, 0, kStream);
  wait_for_kernels();
  // dpre_s = scale * att_s * (da_s - sum_r att_r da_r) over s <= t, else 0.
  std::vector<double> dpre(att.size(), 0.0);
  for (int r = 0; r < BH * kAT; ++r) {
    const int t = r % kAT;
    const size_t o = size_t(r) * kAT;
    double dot = 0;
    for (int s = 0; s <= t; ++s) dot += double(att[o + s]) * datt[o + s];
    for (int s = 0; s <= t; ++s) dpre[o + s] = scale * double(att[o + s]) * (datt[o + s] - dot);
  }
  require_close("dpre", from_act<A>(d_dpre.get()), dpre, Tolerance{1e-6, 1e-5} + Act<A>::rounding);
}

TEMPLATE_TEST_CASE("cuda kernel: qkv split (forward, backward with bias gradient) follows the "
                   "CPU trainer's head layout",
                   "[cuda][kernel]", float, __nv_bfloat16) {
  using A = TestType;
  require_gpu();
  INFO(Act<A>::name);
  const int N = kAB * kAT;
  const size_t nh = size_t(kAB) * kAH * kAT * kHs;  // one of q, k, v
  const auto qkv = rounded<A>(uniform(size_t(N) * 3 * kAC, 241));
  const auto bias = uniform(3 * kAC, 242);
  Device<typename Act<A>::Host> d_qkv(to_act<A>(qkv)), d_q(nh), d_k(nh), d_v(nh);
  Device<float> d_bias(bias);
  cuda::qkv_split_forward<A>(d_q.template as<A>(), d_k.template as<A>(), d_v.template as<A>(),
                             d_qkv.template as<A>(), d_bias.ptr, kAB, kAT, kAC, kAH, kStream);
  wait_for_kernels();
  // One f32 addition, stored as A: the same bits on the host.
  std::vector<float> want[3] = {std::vector<float>(nh), std::vector<float>(nh),
                                std::vector<float>(nh)};
  for (int b = 0; b < kAB; ++b)
    for (int t = 0; t < kAT; ++t)
      for (int part = 0; part < 3; ++part)
        for (int hd = 0; hd < kAH; ++hd)
          for (int d = 0; d < kHs; ++d)
            want[part][bhtd(b, hd, t, d)] =
                round_to<A>(qkv[qkv_at(b, t, part, hd, d)] + bias[part * kAC + hd * kHs + d]);
  require_close("q", from_act<A>(d_q.get()), want[0], {0.0, 0.0});
  require_close("k", from_act<A>(d_k.get()), want[1], {0.0, 0.0});
  require_close("v", from_act<A>(d_v.get()), want[2], {0.0, 0.0});

  // Backward: dq, dk, dv (f32) back into dqkv (A), and the bias gradient.
  const auto dq = uniform(nh, 243), dk = uniform(nh, 244), dv = uniform(nh, 245);
  Device<float> d_dq(dq), d_dk(dk), d_dv(dv), d_db(3 * kAC),
      d_partial(cuda::ln_partial_floats(N, 3 * kAC));
  Device<typename Act<A>::Host> d_dqkv(size_t(N) * 3 * kAC);
  cuda::qkv_split_backward<A>(d_dqkv.template as<A>(), d_db.ptr, d_dq.ptr, d_dk.ptr, d_dv.ptr,
                              d_partial.ptr, kAB, kAT, kAC, kAH, kStream);
  wait_for_kernels();
  const std::vector<float>* parts[3] = {&dq, &dk, &dv};
  std::vector<float> dqkv(size_t(N) * 3 * kAC);
  std::vector<double> db(3 * kAC, 0.0);
  for (int b = 0; b < kAB; ++b)
    for (int t = 0; t < kAT; ++t)
      for (int part = 0; part < 3; ++part)
        for (int hd = 0; hd < kAH; ++hd)
          for (int d = 0; d < kHs; ++d) {
            const float g = round_to<A>((*parts[part])[bhtd(b, hd, t, d)]);
            dqkv[qkv_at(b, t, part, hd, d)] = g;
            db[part * kAC + hd * kHs + d] += g;
          }
  require_close("dqkv", from_act<A>(d_dqkv.get()), dqkv, {0.0, 0.0});
  require_close("dbias", d_db.get(), db, {1e-5, 1e-5});  // sums of 80 terms
}

TEMPLATE_TEST_CASE("cuda kernel: merge heads (forward, backward) follows the CPU trainer's "
                   "head layout",
                   "[cuda][kernel]", float, __nv_bfloat16) {
  using A = TestType;
  require_gpu();
  INFO(Act<A>::name);
  const int N = kAB * kAT;
  const size_t n = size_t(N) * kAC;
  const auto y = uniform(n, 251);                  // (B, H, T, hs) f32
  const auto dm = rounded<A>(uniform(n, 252));     // (N, C) A
  Device<float> d_y(y);
  Device<typename Act<A>::Host> d_m(n), d_dm(to_act<A>(dm)), d_dy(n);
  cuda::merge_heads_forward<A>(d_m.template as<A>(), d_y.ptr, kAB, kAT, kAC, kAH, kStream);
  cuda::merge_heads_backward<A>(d_dy.template as<A>(), d_dm.template as<A>(), kAB, kAT, kAC, kAH,
                                kStream);
  wait_for_kernels();
  // Row (b, t) of the merged output holds the heads side by side.
  std::vector<float> m(n), dy(n);
  for (int b = 0; b < kAB; ++b)
    for (int t = 0; t < kAT; ++t)
      for (int hd = 0; hd < kAH; ++hd)
        for (int d = 0; d < kHs; ++d) {
          const size_t row = (size_t(b) * kAT + t) * kAC + hd * kHs + d;
          m[row] = round_to<A>(y[bhtd(b, hd, t, d)]);
          dy[bhtd(b, hd, t, d)] = dm[row];
        }
  require_close("m", from_act<A>(d_m.get()), m, {0.0, 0.0});
  require_close("dy", from_act<A>(d_dy.get()), dy, {0.0, 0.0});
}

namespace {

// The EMA mixers' shape: B*C = 185 threads, one full block of 128 and a
// partial one; T = 50 positions, fewer than the model's block size 64, whose
// ema_scales (8 groups over 37 channels, half-lives 1 to 128) sets the rates.
constexpr int kEB = 5, kET = 50, kEC = 37;
constexpr Mixer kEmaMixers[] = {Mixer::ema, Mixer::max_ema};

Config ema_config(Mixer code) {
  Config c;
  c.n_layer = 1;
  c.n_embd = kEC;
  c.n_head = 1;
  c.block_size = 64;
  c.mixers[0] = code;
  return c;
}

// The EMA kernels on the device (gpu) or their per-thread bodies on the
// host: m (as f32) and sel from h, and dh from dm and sel.
template <class A>
std::vector<float> ema_forward_run(bool gpu, const std::vector<float>& h, Mixer mixer,
                                   uint32_t scales, std::vector<uint8_t>* sel) {
  using Host = typename Act<A>::Host;
  const size_t n = h.size();
  if (!gpu) {
    std::vector<Host> h_act = to_act<A>(h), m(n);
    cuda::ema_mix_forward_on_host<A>(reinterpret_cast<A*>(m.data()), sel->data(),
                                     reinterpret_cast<const A*>(h_act.data()), kEB, kET, kEC,
                                     scales, mixer);
    return from_act<A>(m);
  }
  Device<Host> d_h(to_act<A>(h)), d_m(n);
  Device<uint8_t> d_sel(n);
  cuda::ema_mix_forward<A>(d_m.template as<A>(), d_sel.ptr, d_h.template as<A>(), kEB, kET, kEC,
                           scales, mixer, kStream);
  wait_for_kernels();
  *sel = d_sel.get();
  return from_act<A>(d_m.get());
}

template <class A>
std::vector<float> ema_backward_run(bool gpu, const std::vector<float>& dm,
                                    const std::vector<uint8_t>& sel, Mixer mixer,
                                    uint32_t scales) {
  using Host = typename Act<A>::Host;
  const size_t n = dm.size();
  // ema gets no sel at all: it must not read one.
  const bool with_sel = mixer == Mixer::max_ema;
  if (!gpu) {
    std::vector<Host> dm_act = to_act<A>(dm), dh(n);
    cuda::ema_mix_backward_on_host<A>(reinterpret_cast<A*>(dh.data()),
                                      reinterpret_cast<const A*>(dm_act.data()),
                                      with_sel ? sel.data() : nullptr, kEB, kET, kEC, scales,
                                      mixer);
    return from_act<A>(dh);
  }
  Device<Host> d_dm(to_act<A>(dm)), d_dh(n);
  Device<uint8_t> d_sel(sel);
  cuda::ema_mix_backward<A>(d_dh.template as<A>(), d_dm.template as<A>(),
                            with_sel ? d_sel.ptr : nullptr, kEB, kET, kEC, scales, mixer, kStream);
  wait_for_kernels();
  return from_act<A>(d_dh.get());
}

template <class A>
void check_ema_forward(bool gpu) {
  const size_t n = size_t(kEB) * kET * kEC;
  const auto h = rounded<A>(uniform(n, 261));
  const auto h_d = to_double(h);
  // The EMA alone, in double: the third argument max-ema chooses from.
  std::vector<double> ema(n);
  train::mixers::ema_mix_forward<double>(ema_config(Mixer::ema), Mixer::ema, ema.data(), nullptr,
                                         h_d.data(), kEB, kET);
  for (const Mixer mixer : kEmaMixers) {
    INFO("mixer " << mixer_name(mixer));
    const Config c = ema_config(mixer);
    std::vector<uint8_t> got(n, 0);
    const auto m_got = ema_forward_run<A>(gpu, h, mixer, ema_scales(c), &got);
    std::vector<double> m(n);
    std::vector<uint8_t> sel(n, 0);
    train::mixers::ema_mix_forward<double>(c, mixer, m.data(), sel.data(), h_d.data(), kEB, kET);
    // An f32 recurrence against double: the update contracts, so the error
    // stays at a few ulp of the values (|h| < 1).
    require_close("m", m_got, m, Tolerance{1e-5, 1e-5} + Act<A>::rounding);
    if (mixer != Mixer::max_ema) continue;

    // sel must match, except at a near tie (as the shift mixers' check).
    auto argument = [&](size_t i, int t, int which) {
      if (which == 0) return h_d[i];
      if (which == 1) return h_d[t > 0 ? i - kEC : i];
      return ema[i];
    };
    size_t mismatched = 0, chose[3] = {0, 0, 0};
    for (size_t i = 0; i < n; ++i) {
      const int t = int(i / kEC) % kET;
      REQUIRE(got[i] <= 2);
      ++chose[got[i]];
      if (got[i] == sel[i]) continue;
      const double a = argument(i, t, got[i]), w = argument(i, t, sel[i]);
      if (std::fabs(a - w) > 1e-5 * (1.0 + std::fabs(w))) ++mismatched;
    }
    CHECK(mismatched == 0);
    CHECK(chose[0] > 0);
    CHECK(chose[1] > 0);
    CHECK(chose[2] > 0);
  }
}

template <class A>
void check_ema_backward(bool gpu) {
  const size_t n = size_t(kEB) * kET * kEC;
  const auto h_d = to_double(rounded<A>(uniform(n, 271)));
  const auto dm = rounded<A>(uniform(n, 272));
  const auto dm_d = to_double(dm);
  for (const Mixer mixer : kEmaMixers) {
    INFO("mixer " << mixer_name(mixer));
    const Config c = ema_config(mixer);
    // The choices of the CPU trainer's forward pass feed both backwards.
    std::vector<double> m(n);
    std::vector<uint8_t> sel(n, 0);
    train::mixers::ema_mix_forward<double>(c, mixer, m.data(), sel.data(), h_d.data(), kEB, kET);
    const auto dh_got = ema_backward_run<A>(gpu, dm, sel, mixer, ema_scales(c));
    std::vector<double> dh(n);
    train::mixers::ema_mix_backward<double>(c, mixer, dh.data(), dm_d.data(), sel.data(), kEB, kET);
    // The carried gradient sums up to 50 terms (|g| < 1) in f32: a few 1e-6.
    require_close("dh", dh_got, dh, Tolerance{2e-5, 1e-5} + Act<A>::rounding);
  }
}

}  // namespace

TEMPLATE_TEST_CASE("cuda kernel: EMA mixers forward (per-channel decays, max-ema select) equal "
                   "the CPU trainer's",
                   "[cuda][kernel]", float, __nv_bfloat16) {
  require_gpu();
  INFO(Act<TestType>::name);
  check_ema_forward<TestType>(true);
}

TEMPLATE_TEST_CASE("cuda kernel: EMA mixers backward (decayed gradient carried back, max-ema "
                   "routing) equal the CPU trainer's",
                   "[cuda][kernel]", float, __nv_bfloat16) {
  require_gpu();
  INFO(Act<TestType>::name);
  check_ema_backward<TestType>(true);
}

TEMPLATE_TEST_CASE("cuda kernel bodies on the host: EMA mixers forward and backward equal the "
                   "CPU trainer's",
                   "[cuda][host]", float, __nv_bfloat16) {
  INFO(Act<TestType>::name);
  check_ema_forward<TestType>(false);
  check_ema_backward<TestType>(false);
}

namespace {

// minGRU's shape: B*C = 144 scan threads, one full block of 128 and a
// partial one; T = 50; C = 48 keeps the bf16 products' rows 16-byte aligned.
constexpr int kGB = 3, kGT = 50, kGC = 48, kGH = 4;

// |got - want| <= frac * (max |want| + |want|): the error of a product or a
// scan is relative to the array's scale, not to each (possibly cancelled)
// element.
Tolerance scaled(const std::vector<double>& want, double frac) {
  double big = 0;
  for (const double v : want) big = std::max(big, std::fabs(v));
  return {frac * big, frac};
}

}  // namespace

namespace {

// minGRU's scans alone, on the device (gpu) or their per-thread bodies on the
// host, against the CPU trainer's scans: u (N,2C) A and b (2C) in, m, z, c,
// s out; then du from dm and the CPU's z, c, s.
template <class A>
void check_mingru_scans(bool gpu) {
  using Host = typename Act<A>::Host;
  const int N = kGB * kGT, C = kGC;
  const size_t nc = size_t(N) * C;
  const auto u = rounded<A>(uniform(2 * nc, 291, -3.0f, 3.0f));
  const auto b = uniform(2 * C, 292, -0.5f, 0.5f);
  const auto dm = rounded<A>(uniform(nc, 293));

  // The CPU trainer: zc = u + b in place (the gate becomes z), out = s.
  std::vector<double> zc(2 * nc), s(nc), du(2 * nc);
  for (size_t r = 0; r < size_t(N); ++r)
    for (int j = 0; j < 2 * C; ++j) zc[r * 2 * C + j] = double(u[r * 2 * C + j]) + b[j];
  train::mixers::mingru_scan_forward<double>(s.data(), zc.data(), kGB, kGT, C);
  const auto dm_d = to_double(dm);
  train::mixers::mingru_scan_backward<double>(du.data(), dm_d.data(), zc.data(), s.data(), kGB,
                                              kGT, C);
  std::vector<double> z(nc), c(nc);
  for (size_t r = 0; r < size_t(N); ++r)
    for (int i = 0; i < C; ++i) {
      z[r * C + i] = zc[r * 2 * C + i];
      c[r * C + i] = zc[r * 2 * C + C + i];
    }
  // The backward reads the CPU's z, c, s, so that it is checked on its own.
  std::vector<float> z_in(z.begin(), z.end()), c_in(c.begin(), c.end()), s_in(s.begin(), s.end());

  std::vector<float> m_got, z_got(nc), c_got(nc), s_got(nc), du_got;
  std::vector<Host> u_act = to_act<A>(u), dm_act = to_act<A>(dm);
  if (!gpu) {
    std::vector<Host> m(nc), dus(2 * nc);
    cuda::mingru_scan_forward_on_host<A>(reinterpret_cast<A*>(m.data()), z_got.data(),
                                         c_got.data(), s_got.data(),
                                         reinterpret_cast<const A*>(u_act.data()), b.data(), kGB,
                                         kGT, C);
    cuda::mingru_scan_backward_on_host<A>(reinterpret_cast<A*>(dus.data()),
                                          reinterpret_cast<const A*>(dm_act.data()), z_in.data(),
                                          c_in.data(), s_in.data(), kGB, kGT, C);
    m_got = from_act<A>(m), du_got = from_act<A>(dus);
  } else {
    Device<Host> d_u(u_act), d_dm(dm_act), d_m(nc), d_du(2 * nc);
    Device<float> d_b(b), d_z(nc), d_c(nc), d_s(nc), d_zi(z_in), d_ci(c_in), d_si(s_in);
    cuda::mingru_scan_forward<A>(d_m.template as<A>(), d_z.ptr, d_c.ptr, d_s.ptr,
                                 d_u.template as<A>(), d_b.ptr, kGB, kGT, C, kStream);
    cuda::mingru_scan_backward<A>(d_du.template as<A>(), d_dm.template as<A>(), d_zi.ptr,
                                  d_ci.ptr, d_si.ptr, kGB, kGT, C, kStream);
    wait_for_kernels();
    m_got = from_act<A>(d_m.get()), du_got = from_act<A>(d_du.get());
    z_got = d_z.get(), c_got = d_c.get(), s_got = d_s.get();
  }
  // f32 scans against double: b added in f32 (one rounding), expf (a few
  // ulp), s a convex mix of |c| < 3.5: 1e-5 absolute and relative; m and du
  // are A (bf16 adds its rounding).
  const Tolerance f32{1e-5, 1e-5};
  require_close("z", z_got, z, f32);
  require_close("c", c_got, c, f32);
  require_close("s", s_got, s, f32);
  require_close("m", m_got, s, f32 + Act<A>::rounding);
  // du: the carried gradient sums up to 50 decayed terms: 1e-4 of the scale.
  require_close("du", du_got, du, scaled(du, 1e-4) + Act<A>::rounding);
}

}  // namespace

TEMPLATE_TEST_CASE("cuda kernel: minGRU scans (forward, backward) equal the CPU trainer's",
                   "[cuda][kernel]", float, __nv_bfloat16) {
  require_gpu();
  INFO(Act<TestType>::name);
  check_mingru_scans<TestType>(true);
}

TEMPLATE_TEST_CASE("cuda kernel bodies on the host: minGRU scans (forward, backward) equal the "
                   "CPU trainer's",
                   "[cuda][host]", float, __nv_bfloat16) {
  INFO(Act<TestType>::name);
  check_mingru_scans<TestType>(false);
}

TEMPLATE_TEST_CASE("cuda mixer: minGRU forward and backward (projection GEMMs, scans, bias "
                   "sums) equal the CPU trainer's",
                   "[cuda][kernel]", float, __nv_bfloat16) {
  using A = TestType;
  using Host = typename Act<A>::Host;
  require_gpu();
  INFO(Act<A>::name);
  const int N = kGB * kGT, C = kGC;
  Config cfg;
  cfg.n_layer = 1;
  cfg.n_embd = C;
  cfg.n_head = kGH;
  cfg.block_size = 64;
  cfg.mixers[0] = Mixer::mingru;
  // h, W as the products read them (A); b in f32, as the trainer keeps it.
  const auto h = rounded<A>(uniform(size_t(N) * C, 281));
  const auto w = rounded<A>(uniform(size_t(2 * C) * C, 282, -0.3f, 0.3f));
  const auto b = uniform(2 * C, 283, -0.5f, 0.5f);
  const auto dm = rounded<A>(uniform(size_t(N) * C, 284));

  // The CPU trainer's registered mixer, in double.
  const auto& cpu = train::mixers::find<double>(Mixer::mingru);
  const auto h_d = to_double(h), w_d = to_double(w), b_d = to_double(b), dm_d = to_double(dm);
  std::vector<uint8_t> cpu_saved(cpu.saved_bytes(cfg, kGB, kGT));
  const train::mixers::Pass<double> cp{&cfg, 0, kGB, kGT, w_d.data(), b_d.data(),
                                       cpu_saved.data(), 0.0f, 0, 0};
  std::vector<double> m(size_t(N) * C), dh(size_t(N) * C), dw(w.size(), 0.0), db(b.size(), 0.0);
  std::vector<double> cpu_scratch(size_t(N) * 4 * C);
  cpu.forward(cp, h_d.data(), m.data());
  cpu.backward(cp, h_d.data(), dm_d.data(), dh.data(), dw.data(), db.data(), cpu_scratch.data());

  // The CUDA descriptor, as the trainer calls it.
  const cuda::mixers::CudaMixer<A>* gpu = cuda::mixers::find<A>(Mixer::mingru);
  REQUIRE(gpu != nullptr);
  const cuda::mixers::Shape shape{kGB, kGT, C, kGH};
  Device<Host> d_h(to_act<A>(h)), d_w(to_act<A>(w)), d_dm(to_act<A>(dm)), d_m(size_t(N) * C),
      d_dh(size_t(N) * C);
  Device<float> d_b(b), d_dw(w.size()), d_db(b.size()),
      d_partial(cuda::ln_partial_floats(N, 4 * C));
  Device<uint8_t> d_saved(gpu->saved_bytes(shape)), d_scratch(gpu->scratch_bytes(shape));
  cuda::Gemm gemm(!std::is_same_v<A, float>);
  cuda::mixers::Pass<A> fwd{};
  fwd.code = Mixer::mingru;
  fwd.config = &cfg;
  fwd.shape = shape;
  fwd.h = d_h.template as<A>();
  fwd.m = d_m.template as<A>();
  fwd.saved = d_saved.ptr;
  fwd.scratch = d_scratch.ptr;
  fwd.partial = d_partial.ptr;
  fwd.w = d_w.template as<A>();
  fwd.b = d_b.ptr;
  fwd.dw = d_dw.ptr;
  fwd.db = d_db.ptr;
  fwd.gemm = &gemm;
  fwd.stream = kStream;
  gpu->forward(fwd);
  cuda::mixers::Pass<A> back = fwd;
  back.m = nullptr;
  back.dm = d_dm.template as<A>();
  back.dh = d_dh.template as<A>();
  gpu->backward(back);
  wait_for_kernels();

  // f32: exact-f32 products and f32 scans against double (expf, sums of 48
  // to 150 terms): 1e-4 of the scale. bf16: u and du are rounded to bf16
  // between the products and the scans (the reference keeps them exact), and
  // m, dh to bf16 at the end: 3e-2 of the scale.
  const double frac = std::is_same_v<A, float> ? 1e-4 : 3e-2;
  require_close("m", from_act<A>(d_m.get()), m, scaled(m, frac));
  require_close("dh", from_act<A>(d_dh.get()), dh, scaled(dh, frac));
  require_close("dW", d_dw.get(), dw, scaled(dw, frac));
  require_close("db", d_db.get(), db, scaled(db, frac));
}

// The core's mixers that have no CUDA kernels yet (they train on the CPU;
// `--device cuda` refuses them by name): `local` today. When a kernel lands,
// its mixer leaves this list and the case below asks for its sizes.
const std::vector<Mixer> kNoCudaKernelsYet = {Mixer::local};

TEMPLATE_TEST_CASE("cuda mixer registry: every mixer of the core but those listed as waiting has "
                   "a descriptor under its code, sized for the arrays its launchers carve",
                   "[cuda][registry]", float, __nv_bfloat16) {
  using A = TestType;
  INFO(Act<A>::name);
  const cuda::mixers::Shape s{3, 50, 48, 4};
  const size_t NC = size_t(s.B) * s.T * s.C, BHTT = size_t(s.B) * s.H * s.T * s.T;
  const size_t a = sizeof(A), f = sizeof(float), slack = 255;  // each array's alignment
  for (uint32_t i = 0; i < mixer_count(); ++i) {
    const Mixer code = mixer_at(i);
    INFO("mixer " << mixer_name(code));
    const cuda::mixers::CudaMixer<A>* m = cuda::mixers::find<A>(code);
    if (std::find(kNoCudaKernelsYet.begin(), kNoCudaKernelsYet.end(), code) !=
        kNoCudaKernelsYet.end()) {
      CHECK(m == nullptr);
      continue;
    }
    REQUIRE(m != nullptr);
    CHECK(m->code == code);
    CHECK(m->forward != nullptr);
    CHECK(m->backward != nullptr);
    const size_t saved = m->saved_bytes(s), scratch = m->scratch_bytes(s);
    if (code == Mixer::attention) {
      // Saved: q, k, v and att, att_drop, all A (5 arrays).
      const size_t keep = (3 * NC + 2 * BHTT) * a;
      CHECK(saved >= keep);
      CHECK(saved <= keep + 5 * slack);
      // Scratch, the larger pass: the backward's dy, dpre, dqkv (A) and datt,
      // dv, dq, dk (f32), 7 arrays; the forward's qkv (A), pre, y (f32) fit in it.
      const size_t back = (NC + BHTT + 3 * NC) * a + (BHTT + 3 * NC) * f;
      CHECK(scratch >= back);
      CHECK(scratch <= back + 7 * slack);
      CHECK(scratch >= 3 * NC * a + (BHTT + NC) * f);
    } else if (std::find(std::begin(kShiftMixers), std::end(kShiftMixers), code) !=
               std::end(kShiftMixers)) {
      CHECK(saved == NC);  // sel: one byte per element
      CHECK(scratch == cuda::shift_scratch_floats(s.B, s.T, s.C) * f);
    } else if (code == Mixer::ema || code == Mixer::max_ema) {
      CHECK(saved == (code == Mixer::max_ema ? NC : 0));  // max-ema's sel; ema is linear in h
      CHECK(scratch == 0);
    } else if (code == Mixer::mingru) {
      // Saved: z, c, s (f32, 3 arrays); scratch: u, or du in the backward ((N,2C) A).
      CHECK(saved >= 3 * NC * f);
      CHECK(saved <= 3 * NC * f + 3 * slack);
      CHECK(scratch >= 2 * NC * a);
      CHECK(scratch <= 2 * NC * a + slack);
    } else {
      FAIL_CHECK("a new mixer: state its sizes here (docs/adding-a-mixer.md)");
    }
  }
  CHECK(cuda::mixers::find<A>(static_cast<Mixer>(200)) == nullptr);
  CHECK(cuda::mixers::find<A>(static_cast<Mixer>(255)) == nullptr);
}

TEST_CASE("cuda EMA mixers: the kernels' channel rates are the core's ema_rate_log2 on every "
          "channel",
          "[cuda][registry]") {
  for (const uint32_t T : {1u, 2u, 16u, 50u, 64u, 256u, 1024u})
    for (const uint32_t C : {1u, 2u, 7u, 37u, 48u, 384u}) {
      INFO("block_size " << T << " n_embd " << C);
      Config c;
      c.block_size = T;
      c.n_embd = C;
      const uint32_t scales = ema_scales(c);
      uint32_t wrong = 0;
      for (uint32_t i = 0; i < C; ++i)
        if (cuda::ema_rate_log2_of(i, scales, C) != ema_rate_log2(c, i)) ++wrong;
      CHECK(wrong == 0);
      // The slowest rate is the last group's: S, for every shape.
      CHECK(cuda::ema_rate_log2_of(C - 1, scales, C) <= scales);
    }
}

TEST_CASE("cuda mixers: a Carver lays arrays one after another on 256-byte boundaries, and "
          "counts the same bytes without a base",
          "[cuda][registry]") {
  cuda::mixers::Carver count;
  count.take<float>(3);
  count.take<uint8_t>(300);
  count.take<double>(0);
  count.take<float>(1);
  CHECK(count.bytes() == 256 + 512 + 0 + 256);

  alignas(256) static unsigned char block[1024];
  cuda::mixers::Carver c(block);
  CHECK(static_cast<void*>(c.take<float>(3)) == block);
  CHECK(static_cast<void*>(c.take<uint8_t>(300)) == block + 256);
  CHECK(static_cast<void*>(c.take<double>(0)) == block + 768);  // takes no room
  CHECK(static_cast<void*>(c.take<float>(1)) == block + 768);
  CHECK(c.bytes() == count.bytes());
}
